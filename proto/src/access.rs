//! Roles and permissions.
//!
//! A permission is an area and an access level, written `area.read` or
//! `area.write`; `write` implies `read`. A role is a set of permissions;
//! `admin` holds them all. Built-in roles cover the usual split of duties,
//! and the daemon's configuration may define more.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// What a permission is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// Daemon status.
    Status,
    /// The event log (read it; write = emit events).
    Events,
    /// Audit material: logins, verification, export, posture.
    Audit,
    /// Configuration (write = reload).
    Config,
    /// Incidents (write = ack, resolve).
    Incidents,
    /// Silences.
    Silences,
    /// API keys.
    Keys,
    /// Secrets (never their values).
    Secrets,
    /// Retention.
    Retention,
    /// Ingestion sources.
    Sources,
    /// Notifications: deliveries (read) and test notifications (write).
    Notifications,
    /// File integrity: the baseline and its history (read), scans on
    /// demand (write).
    Files,
    /// Log collection: the followed sources, and rules tried on lines
    /// (read).
    Logs,
}

impl Area {
    /// Every area.
    pub const ALL: [Area; 13] = [
        Area::Status,
        Area::Events,
        Area::Audit,
        Area::Config,
        Area::Incidents,
        Area::Silences,
        Area::Keys,
        Area::Secrets,
        Area::Retention,
        Area::Sources,
        Area::Notifications,
        Area::Files,
        Area::Logs,
    ];

    fn name(self) -> &'static str {
        match self {
            Area::Status => "status",
            Area::Events => "events",
            Area::Audit => "audit",
            Area::Config => "config",
            Area::Incidents => "incidents",
            Area::Silences => "silences",
            Area::Keys => "keys",
            Area::Secrets => "secrets",
            Area::Retention => "retention",
            Area::Sources => "sources",
            Area::Notifications => "notifications",
            Area::Files => "files",
            Area::Logs => "logs",
        }
    }
}

/// Read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Look.
    Read,
    /// Change (implies read).
    Write,
}

/// One permission, `area.read` or `area.write`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    /// The area.
    pub area: Area,
    /// The level.
    pub access: Access,
}

impl Permission {
    /// `area.read`.
    pub const fn read(area: Area) -> Permission {
        Permission {
            area,
            access: Access::Read,
        }
    }

    /// `area.write`.
    pub const fn write(area: Area) -> Permission {
        Permission {
            area,
            access: Access::Write,
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.access {
            Access::Read => "read",
            Access::Write => "write",
        };
        write!(f, "{}.{level}", self.area.name())
    }
}

impl FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (area, level) = s.split_once('.').ok_or_else(|| {
            format!("permission `{s}` is not of the form area.read or area.write")
        })?;
        let area = Area::ALL
            .into_iter()
            .find(|a| a.name() == area)
            .ok_or_else(|| {
                let names: Vec<_> = Area::ALL.iter().map(|a| a.name()).collect();
                format!(
                    "unknown permission area `{area}`; expected one of {}",
                    names.join(", ")
                )
            })?;
        let access = match level {
            "read" => Access::Read,
            "write" => Access::Write,
            _ => return Err(format!("permission level `{level}` must be read or write")),
        };
        Ok(Permission { area, access })
    }
}

impl Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A set of permissions, closed under "write implies read".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionSet {
    all: bool,
    grants: BTreeSet<Permission>,
}

impl PermissionSet {
    /// Every permission.
    pub fn all() -> PermissionSet {
        PermissionSet {
            all: true,
            grants: BTreeSet::new(),
        }
    }

    /// Exactly these grants (and the reads their writes imply).
    pub fn of(grants: impl IntoIterator<Item = Permission>) -> PermissionSet {
        PermissionSet {
            all: false,
            grants: grants.into_iter().collect(),
        }
    }

    /// Everything either set grants.
    pub fn union(&self, other: &PermissionSet) -> PermissionSet {
        PermissionSet {
            all: self.all || other.all,
            grants: self.grants.union(&other.grants).copied().collect(),
        }
    }

    /// Whether `p` is granted.
    pub fn allows(&self, p: Permission) -> bool {
        self.all
            || self.grants.contains(&p)
            || (p.access == Access::Read && self.grants.contains(&Permission::write(p.area)))
    }
}

/// A named role and what it may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Its name.
    pub name: String,
    /// Its permissions.
    pub permissions: PermissionSet,
}

impl Role {
    /// The built-in roles: `viewer`, `operator`, `auditor`, `admin`.
    pub fn builtin(name: &str) -> Option<Role> {
        use Area::*;
        let permissions = match name {
            "viewer" => PermissionSet::of([
                Permission::read(Status),
                Permission::read(Events),
                Permission::read(Incidents),
                Permission::read(Silences),
                Permission::read(Sources),
                Permission::read(Notifications),
                Permission::read(Files),
                Permission::read(Logs),
            ]),
            "operator" => PermissionSet::of([
                Permission::read(Status),
                Permission::write(Events),
                Permission::write(Incidents),
                Permission::write(Silences),
                Permission::read(Sources),
                Permission::write(Notifications),
                Permission::write(Files),
                Permission::read(Logs),
            ]),
            "auditor" => PermissionSet::of([
                Permission::read(Status),
                Permission::read(Events),
                Permission::read(Audit),
                Permission::read(Config),
                Permission::read(Incidents),
                Permission::read(Silences),
                Permission::read(Keys),
                Permission::read(Secrets),
                Permission::read(Retention),
                Permission::read(Sources),
                Permission::read(Notifications),
                Permission::read(Files),
                Permission::read(Logs),
            ]),
            "admin" => PermissionSet::all(),
            _ => return None,
        };
        Some(Role {
            name: name.to_string(),
            permissions,
        })
    }

    /// Names of the built-in roles.
    pub const BUILTIN: [&'static str; 4] = ["viewer", "operator", "auditor", "admin"];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_implies_read_and_admin_implies_all() {
        let set = PermissionSet::of([Permission::write(Area::Events)]);
        assert!(set.allows(Permission::read(Area::Events)));
        assert!(set.allows(Permission::write(Area::Events)));
        assert!(!set.allows(Permission::read(Area::Audit)));
        let admin = Role::builtin("admin").unwrap();
        for area in Area::ALL {
            assert!(admin.permissions.allows(Permission::write(area)));
        }
    }

    #[test]
    fn builtin_roles_split_duties() {
        let viewer = Role::builtin("viewer").unwrap().permissions;
        let operator = Role::builtin("operator").unwrap().permissions;
        let auditor = Role::builtin("auditor").unwrap().permissions;
        assert!(!viewer.allows(Permission::write(Area::Events)));
        assert!(operator.allows(Permission::write(Area::Events)));
        assert!(!operator.allows(Permission::read(Area::Audit)));
        assert!(auditor.allows(Permission::read(Area::Audit)));
        assert!(!auditor.allows(Permission::write(Area::Events)));
        assert!(Role::builtin("root").is_none());
    }

    #[test]
    fn notifications_follow_silences_in_the_builtin_roles() {
        for name in Role::BUILTIN {
            let role = Role::builtin(name).unwrap().permissions;
            for access in [Access::Read, Access::Write] {
                let p = |area| Permission { area, access };
                assert_eq!(
                    role.allows(p(Area::Notifications)),
                    role.allows(p(Area::Silences)),
                    "{name} {access:?}"
                );
            }
        }
        let viewer = Role::builtin("viewer").unwrap().permissions;
        assert!(viewer.allows(Permission::read(Area::Notifications)));
        assert!(!viewer.allows(Permission::write(Area::Notifications)));
        assert_eq!(
            "notifications.write".parse::<Permission>().unwrap(),
            Permission::write(Area::Notifications)
        );
    }

    #[test]
    fn files_are_read_by_whoever_reads_events_and_scanned_by_operators() {
        for name in Role::BUILTIN {
            let role = Role::builtin(name).unwrap().permissions;
            assert_eq!(
                role.allows(Permission::read(Area::Files)),
                role.allows(Permission::read(Area::Events)),
                "{name}"
            );
        }
        let can_scan = |name| {
            Role::builtin(name)
                .unwrap()
                .permissions
                .allows(Permission::write(Area::Files))
        };
        assert!(can_scan("operator") && can_scan("admin"));
        assert!(!can_scan("viewer") && !can_scan("auditor"));
    }

    #[test]
    fn logs_are_read_by_whoever_reads_events() {
        for name in Role::BUILTIN {
            let role = Role::builtin(name).unwrap().permissions;
            assert_eq!(
                role.allows(Permission::read(Area::Logs)),
                role.allows(Permission::read(Area::Events)),
                "{name}"
            );
        }
        // Nothing about logs changes anything yet: only admin holds the
        // write, as it holds every permission.
        for name in ["viewer", "operator", "auditor"] {
            let role = Role::builtin(name).unwrap().permissions;
            assert!(!role.allows(Permission::write(Area::Logs)), "{name}");
        }
        assert_eq!(
            "logs.read".parse::<Permission>().unwrap(),
            Permission::read(Area::Logs)
        );
        assert_eq!(Permission::read(Area::Logs).to_string(), "logs.read");
    }

    #[test]
    fn permissions_parse_and_errors_name_the_choices() {
        assert_eq!(
            "events.write".parse::<Permission>().unwrap(),
            Permission::write(Area::Events)
        );
        assert_eq!(Permission::read(Area::Audit).to_string(), "audit.read");
        assert!(
            "events"
                .parse::<Permission>()
                .unwrap_err()
                .contains("area.read")
        );
        assert!(
            "bogus.read"
                .parse::<Permission>()
                .unwrap_err()
                .contains("status")
        );
        assert!(
            "events.admin"
                .parse::<Permission>()
                .unwrap_err()
                .contains("read or write")
        );
    }
}
