//! The identity of a control-socket peer.

use nix::unistd::{Gid, Group, Uid, User};

/// A connected process, as the kernel vouches for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// uid from `SO_PEERCRED`.
    pub uid: u32,
    /// Primary gid from `SO_PEERCRED`.
    pub gid: u32,
    /// pid from `SO_PEERCRED`.
    pub pid: u32,
    /// User name, if the uid resolves.
    pub user: Option<String>,
    /// Primary and supplementary groups, with names where they resolve.
    pub groups: Vec<(u32, Option<String>)>,
}

impl Peer {
    /// Looks up names and supplementary groups (blocking: NSS and /proc).
    pub fn lookup(uid: u32, gid: u32, pid: u32) -> Peer {
        let user = User::from_uid(Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.name);
        let mut gids = vec![gid];
        gids.extend(supplementary_groups(pid, uid).unwrap_or_default());
        gids.sort_unstable();
        gids.dedup();
        let groups = gids
            .into_iter()
            .map(|g| {
                (
                    g,
                    Group::from_gid(Gid::from_raw(g))
                        .ok()
                        .flatten()
                        .map(|g| g.name),
                )
            })
            .collect();
        Peer {
            uid,
            gid,
            pid,
            user,
            groups,
        }
    }

    /// `uid 1000 (alice)`.
    pub fn describe(&self) -> String {
        match &self.user {
            Some(name) => format!("uid {} ({name})", self.uid),
            None => format!("uid {}", self.uid),
        }
    }
}

/// The `Groups:` of `/proc/<pid>/status`, if that process still has `uid`
/// (guards against the pid having been reused since it connected).
fn supplementary_groups(pid: u32, uid: u32) -> Option<Vec<u32>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    let real_uid: u32 = field("Uid:")?.split_whitespace().next()?.parse().ok()?;
    if real_uid != uid {
        return None;
    }
    Some(
        field("Groups:")?
            .split_whitespace()
            .filter_map(|g| g.parse().ok())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_resolves() {
        let me = Peer::lookup(
            Uid::current().as_raw(),
            Gid::current().as_raw(),
            std::process::id(),
        );
        assert_eq!(me.uid, Uid::current().as_raw());
        assert!(me.groups.iter().any(|(g, _)| *g == Gid::current().as_raw()));
        assert!(me.describe().starts_with("uid "));
    }

    #[test]
    fn a_pid_of_another_uid_contributes_no_groups() {
        assert_eq!(
            supplementary_groups(std::process::id(), Uid::current().as_raw() + 1),
            None
        );
    }
}
