//! States and kinds on the wire: enums that serialize as their snake_case
//! names, so a peer gets a name it can read and this side a value it can
//! match on (never a string compared by hand).

/// A name that is none of an enum's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is not one of {}", allowed.join(", "))]
pub struct UnknownName {
    /// What was given.
    pub given: String,
    /// The names there are.
    pub allowed: Vec<&'static str>,
}

/// Declares an enum whose wire form and `Display` are the names given,
/// with `ALL`, `name()` and `FromStr`.
macro_rules! named {
    (
        $(#[$meta:meta])*
        pub enum $enum:ident {
            $($(#[$vmeta:meta])* $variant:ident = $name:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $enum {
            $($(#[$vmeta])* #[serde(rename = $name)] $variant,)+
        }

        impl $enum {
            /// Every value, in declaration order.
            pub const ALL: &[$enum] = &[$($enum::$variant,)+];

            /// Its name on the wire.
            pub fn name(self) -> &'static str {
                match self {
                    $($enum::$variant => $name,)+
                }
            }
        }

        impl std::fmt::Display for $enum {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $enum {
            type Err = $crate::names::UnknownName;

            fn from_str(s: &str) -> Result<$enum, Self::Err> {
                $enum::ALL
                    .iter()
                    .copied()
                    .find(|v| v.name() == s)
                    .ok_or_else(|| $crate::names::UnknownName {
                        given: s.to_string(),
                        allowed: $enum::ALL.iter().map(|v| v.name()).collect(),
                    })
            }
        }
    };
}

pub(crate) use named;
