//! Who is calling, and in which role.
//!
//! The login is the peer's credentials on the control socket: uid, gid and
//! pid from `SO_PEERCRED`, supplementary groups from `/proc/<pid>/status`.
//! Resolution order: the user's own entry in `[access.users]`; then the
//! break-glass rule (root, or the emergency group), which works even when
//! the mapping is broken and is loudly logged; then every group's entry in
//! `[access.groups]`, added up. Anyone else is refused.

pub mod audit;
mod peer;

pub use peer::Peer;

use crate::config::Config;
use vigil_proto::{PermissionSet, Role};

/// What a caller was granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The role (for several groups, their union, named `a+b`).
    pub role: Role,
    /// Whether the break-glass rule granted it.
    pub break_glass: bool,
    /// Why, in words, for the audit record.
    pub reason: String,
}

/// A peer that neither a user entry, a group entry nor break-glass maps to
/// a role.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{peer} has no role: map the user or one of its groups in [access]")]
pub struct NoRole {
    /// The peer, described (uid, user, pid).
    pub peer: String,
}

/// Resolves a peer's role, or says why it has none.
pub fn resolve(config: &Config, peer: &Peer) -> Result<Grant, NoRole> {
    let access = &config.access;
    let user_entry = peer
        .user
        .as_deref()
        .and_then(|name| access.users.get(name))
        .or_else(|| access.users.get(&peer.uid.to_string()));
    if let Some(role) = user_entry.and_then(|r| config.role(r.get_ref())) {
        return Ok(Grant {
            reason: format!("user entry grants {}", role.name),
            role,
            break_glass: false,
        });
    }
    let emergency = access.emergency_group.as_deref().filter(|g| {
        peer.groups
            .iter()
            .any(|(gid, name)| name.as_deref() == Some(*g) || gid.to_string() == *g)
    });
    if peer.uid == 0 && access.break_glass_root {
        return Ok(break_glass("root"));
    }
    if let Some(group) = emergency {
        return Ok(break_glass(&format!("member of emergency group {group}")));
    }
    let mut roles: Vec<Role> = Vec::new();
    for (gid, name) in &peer.groups {
        let entry = name
            .as_deref()
            .and_then(|n| access.groups.get(n))
            .or_else(|| access.groups.get(&gid.to_string()));
        if let Some(role) = entry.and_then(|r| config.role(r.get_ref()))
            && !roles.iter().any(|r| r.name == role.name)
        {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        return Err(NoRole {
            peer: peer.describe(),
        });
    }
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    let name = names.join("+");
    let permissions = roles
        .iter()
        .fold(PermissionSet::default(), |acc, r| acc.union(&r.permissions));
    Ok(Grant {
        reason: format!("group entries grant {name}"),
        role: Role { name, permissions },
        break_glass: false,
    })
}

fn break_glass(why: &str) -> Grant {
    Grant {
        role: Role::builtin("admin").expect("admin is built in"),
        break_glass: true,
        reason: format!("break-glass: {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_proto::{Area, Permission};

    fn peer(uid: u32, user: &str, groups: &[(u32, &str)]) -> Peer {
        Peer {
            uid,
            gid: groups.first().map_or(uid, |g| g.0),
            pid: 42,
            user: Some(user.into()),
            groups: groups
                .iter()
                .map(|(g, n)| (*g, Some(n.to_string())))
                .collect(),
        }
    }

    fn config(text: &str) -> Config {
        Config::parse("t", text).unwrap()
    }

    #[test]
    fn a_user_entry_wins_over_groups_and_break_glass() {
        let c = config(
            "[access.users]\nalice = \"viewer\"\nroot = \"auditor\"\n[access.groups]\nops = \"admin\"\n",
        );
        let g = resolve(&c, &peer(1000, "alice", &[(1000, "alice"), (50, "ops")])).unwrap();
        assert_eq!(g.role.name, "viewer");
        let g = resolve(&c, &peer(0, "root", &[(0, "root")])).unwrap();
        assert_eq!((g.role.name.as_str(), g.break_glass), ("auditor", false));
    }

    #[test]
    fn numeric_ids_work_as_keys() {
        let c = config(
            "[access.users]\n\"1234\" = \"operator\"\n[access.groups]\n\"77\" = \"auditor\"\n",
        );
        assert_eq!(
            resolve(&c, &peer(1234, "x", &[(1234, "x")]))
                .unwrap()
                .role
                .name,
            "operator"
        );
        assert_eq!(
            resolve(&c, &peer(5, "y", &[(5, "y"), (77, "z")]))
                .unwrap()
                .role
                .name,
            "auditor"
        );
    }

    #[test]
    fn supplementary_groups_add_up() {
        let c = config("[access.groups]\nops = \"operator\"\naudit = \"auditor\"\n");
        let g = resolve(
            &c,
            &peer(1001, "bob", &[(1001, "bob"), (60, "ops"), (61, "audit")]),
        )
        .unwrap();
        assert_eq!(g.role.name, "operator+auditor");
        assert!(g.role.permissions.allows(Permission::write(Area::Events)));
        assert!(g.role.permissions.allows(Permission::read(Area::Audit)));
        assert!(!g.role.permissions.allows(Permission::write(Area::Config)));
    }

    #[test]
    fn break_glass_covers_root_and_the_emergency_group_even_when_unmapped() {
        let c = config("[access]\nemergency_group = \"sos\"\n");
        let g = resolve(&c, &peer(0, "root", &[(0, "root")])).unwrap();
        assert!(g.break_glass && g.role.name == "admin" && g.reason.contains("root"));
        let g = resolve(&c, &peer(1002, "carol", &[(1002, "carol"), (99, "sos")])).unwrap();
        assert!(g.break_glass && g.reason.contains("sos"));
        let c = config("[access]\nbreak_glass_root = false\n");
        assert!(resolve(&c, &peer(0, "root", &[(0, "root")])).is_err());
    }

    #[test]
    fn strangers_are_refused_with_a_reason() {
        let c = config("[access.users]\nalice = \"admin\"\n");
        let why = resolve(&c, &peer(1003, "mallory", &[(1003, "mallory")]))
            .unwrap_err()
            .to_string();
        assert!(
            why.contains("uid 1003 (mallory)") && why.contains("[access]"),
            "{why}"
        );
    }
}
