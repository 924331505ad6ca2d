//! [`SecretRef`]: how the configuration names a sensitive value.
//!
//! Wherever a setting is sensitive (a webhook secret, a password, a
//! token), the file may say `secret:NAME` (the vault), `env:VAR`,
//! `file:/abs/path` or `cred:NAME` (a systemd credential) instead of the
//! value itself. A value written inline is accepted but `doctor` flags it.
//! Nothing here ever prints a value: not `Debug`, not a parse error.

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::path::PathBuf;
use vigil_store::SecretValue;
use vigil_store::vault::valid_name;

/// A sensitive configuration value, or where to find it.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `secret:NAME`: in the vault.
    Vault(String),
    /// `env:VAR`: an environment variable of the daemon.
    Env(String),
    /// `file:PATH`: a file's contents (one trailing newline dropped).
    File(PathBuf),
    /// `cred:NAME`: `$CREDENTIALS_DIRECTORY/NAME` (systemd `LoadCredential=`).
    Credential(String),
    /// The value itself, written in the configuration file.
    Inline(SecretValue),
}

/// A reference that could not be resolved. Says where it looked, never what
/// it found.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The vault has no such secret.
    #[error("secret `{0}` is not in the vault; set it with `vigilctl secrets set {0}`")]
    NotInVault(String),
    /// The vault cannot be used.
    #[error("secret `{name}`: {reason}")]
    Vault {
        /// Secret name.
        name: String,
        /// Why.
        reason: VaultFailure,
    },
    /// The environment variable is unset or empty.
    #[error("environment variable {0} is not set")]
    EnvMissing(String),
    /// The file cannot be read.
    #[error("cannot read {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// No credentials directory, or no such credential.
    #[error(
        "credential {0} not found (is it in the unit's LoadCredential= / LoadCredentialEncrypted=?)"
    )]
    CredentialMissing(String),
    /// The value is empty.
    #[error("{0} is empty")]
    Empty(String),
}

/// Why the vault could not answer a lookup (it is not open, or it cannot
/// be read), as the vault's owner says it.
pub type VaultFailure = Box<dyn std::error::Error + Send + Sync>;

/// A secret reference written in a form that is not accepted. Describes the
/// form only, never the text: it may be the secret itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretRefError {
    /// `secret:` or `cred:` without a valid name after it.
    #[error("`{prefix}:` must be followed by a name of 1 to 128 characters from A-Z a-z 0-9 . _ -")]
    BadName {
        /// `secret` or `cred`.
        prefix: &'static str,
    },
    /// `env:` without a valid variable name after it.
    #[error("`env:` must be followed by a variable name (A-Z a-z 0-9 _)")]
    BadVariable,
    /// `file:` with a relative path.
    #[error("`file:` must be followed by an absolute path")]
    RelativePath,
    /// An empty string.
    #[error("a secret value cannot be empty")]
    Empty,
}

impl SecretRef {
    /// Parses the configuration text. Errors describe the form only.
    pub fn parse(text: &str) -> Result<SecretRef, SecretRefError> {
        let named = |prefix: &'static str, name: &str| {
            if valid_name(name) {
                Ok(name.to_string())
            } else {
                Err(SecretRefError::BadName { prefix })
            }
        };
        if let Some(name) = text.strip_prefix("secret:") {
            return named("secret", name).map(SecretRef::Vault);
        }
        if let Some(var) = text.strip_prefix("env:") {
            let ok = !var.is_empty() && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            return if ok {
                Ok(SecretRef::Env(var.to_string()))
            } else {
                Err(SecretRefError::BadVariable)
            };
        }
        if let Some(path) = text.strip_prefix("file:") {
            let path = PathBuf::from(path);
            return if path.is_absolute() {
                Ok(SecretRef::File(path))
            } else {
                Err(SecretRefError::RelativePath)
            };
        }
        if let Some(name) = text.strip_prefix("cred:") {
            return named("cred", name).map(SecretRef::Credential);
        }
        if text.is_empty() {
            return Err(SecretRefError::Empty);
        }
        Ok(SecretRef::Inline(SecretValue::from_string(
            text.to_string(),
        )))
    }

    /// Whether the value is written in the configuration file.
    pub fn is_inline(&self) -> bool {
        matches!(self, SecretRef::Inline(_))
    }

    /// Reads the value now. `vault` looks a name up in the vault; its
    /// error (no vault, or a vault that cannot be read) is kept as the cause.
    pub fn resolve<E>(
        &self,
        vault: impl FnOnce(&str) -> Result<Option<SecretValue>, E>,
    ) -> Result<SecretValue, ResolveError>
    where
        E: Into<VaultFailure>,
    {
        let value = match self {
            SecretRef::Inline(v) => v.clone(),
            SecretRef::Vault(name) => match vault(name) {
                Ok(Some(v)) => v,
                Ok(None) => return Err(ResolveError::NotInVault(name.clone())),
                Err(reason) => {
                    return Err(ResolveError::Vault {
                        name: name.clone(),
                        reason: reason.into(),
                    });
                }
            },
            SecretRef::Env(var) => match std::env::var_os(var) {
                Some(v) => SecretValue::new(v.into_encoded_bytes()),
                None => return Err(ResolveError::EnvMissing(var.clone())),
            },
            SecretRef::File(path) => read_trimmed(path).map_err(|e| ResolveError::File {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?,
            SecretRef::Credential(name) => {
                let dir = std::env::var_os("CREDENTIALS_DIRECTORY")
                    .ok_or_else(|| ResolveError::CredentialMissing(name.clone()))?;
                read_trimmed(&PathBuf::from(dir).join(name))
                    .map_err(|_| ResolveError::CredentialMissing(name.clone()))?
            }
        };
        if value.is_empty() {
            return Err(ResolveError::Empty(self.to_string()));
        }
        Ok(value)
    }
}

/// A file's bytes without one trailing newline (as `echo` leaves).
fn read_trimmed(path: &std::path::Path) -> std::io::Result<SecretValue> {
    let mut bytes = std::fs::read(path)?;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    Ok(SecretValue::new(bytes))
}

/// How the reference is written (inline values as `an inline value`).
impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Vault(n) => write!(f, "secret:{n}"),
            SecretRef::Env(v) => write!(f, "env:{v}"),
            SecretRef::File(p) => write!(f, "file:{}", p.display()),
            SecretRef::Credential(n) => write!(f, "cred:{n}"),
            SecretRef::Inline(_) => f.write_str("an inline value"),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Inline(v) => write!(f, "Inline({v:?})"),
            other => write!(f, "SecretRef({other})"),
        }
    }
}

pub(crate) const NOT_A_STRING: &str =
    "expected a string: secret:NAME, env:VAR, file:PATH, cred:NAME or the value in quotes";

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SecretRef, D::Error> {
        // Not `String::deserialize`: its type error would quote the value.
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SecretRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string: secret:NAME, env:VAR, file:PATH, cred:NAME or the value")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretRef, E> {
                SecretRef::parse(v).map_err(E::custom)
            }
            // serde's default type errors quote the value; a PIN is a number.
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<SecretRef, E> {
                Err(E::custom(NOT_A_STRING))
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<SecretRef, E> {
                Err(E::custom(NOT_A_STRING))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<SecretRef, E> {
                Err(E::custom(NOT_A_STRING))
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<SecretRef, E> {
                Err(E::custom(NOT_A_STRING))
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses_and_inline_values_never_print() {
        assert_eq!(
            SecretRef::parse("secret:gh").unwrap(),
            SecretRef::Vault("gh".into())
        );
        assert_eq!(
            SecretRef::parse("env:HOOK_KEY").unwrap(),
            SecretRef::Env("HOOK_KEY".into())
        );
        assert_eq!(
            SecretRef::parse("file:/etc/vigil/k").unwrap(),
            SecretRef::File("/etc/vigil/k".into())
        );
        assert_eq!(
            SecretRef::parse("cred:smtp").unwrap(),
            SecretRef::Credential("smtp".into())
        );
        let inline = SecretRef::parse("canary-1nline").unwrap();
        assert!(inline.is_inline());
        assert!(!format!("{inline:?}{inline}").contains("canary"));
        for bad in [
            "secret:",
            "secret:a b",
            "env:",
            "env:A-B",
            "file:rel/path",
            "cred:",
            "",
        ] {
            assert!(SecretRef::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            SecretRef::parse("cred:").unwrap_err().to_string(),
            "`cred:` must be followed by a name of 1 to 128 characters from A-Z a-z 0-9 . _ -"
        );
        assert_eq!(
            SecretRef::parse("env:A-B").unwrap_err(),
            SecretRefError::BadVariable
        );
    }

    #[test]
    fn a_mistyped_value_is_not_quoted_in_the_error() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            s: SecretRef,
        }
        // Config errors carry the message only (the Display form quotes the line).
        let err = toml::from_str::<T>("s = 123456789")
            .unwrap_err()
            .message()
            .to_string();
        assert!(!err.contains("123456789"), "{err}");
        let err = toml::from_str::<T>("s = \"file:canary-rel\"")
            .unwrap_err()
            .message()
            .to_string();
        assert!(err.contains("absolute path"), "{err}");
    }

    #[test]
    fn resolution_reads_each_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v");
        std::fs::write(&path, "from-file\n").unwrap();
        let got = SecretRef::File(path)
            .resolve(|_| Ok::<_, VaultFailure>(None))
            .unwrap();
        assert_eq!(got.expose(), b"from-file");
        let got = SecretRef::Vault("a".into())
            .resolve(|n| {
                Ok::<_, VaultFailure>(Some(SecretValue::from_string(format!("vault-{n}"))))
            })
            .unwrap();
        assert_eq!(got.expose(), b"vault-a");
        let err = SecretRef::Vault("a".into())
            .resolve(|_| Ok::<_, VaultFailure>(None))
            .unwrap_err();
        assert!(err.to_string().contains("vigilctl secrets set a"));
        let err = SecretRef::Vault("a".into())
            .resolve(|_| Err("no master key, so no secrets can be stored"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "secret `a`: no master key, so no secrets can be stored"
        );
        assert!(matches!(
            SecretRef::Env("VIGIL_TEST_SURELY_UNSET".into())
                .resolve(|_| Ok::<_, VaultFailure>(None)),
            Err(ResolveError::EnvMissing(_))
        ));
    }
}
