//! Doctor checks about file integrity monitoring (`[[collect.files]]`):
//! configured paths vigild cannot see or read, what the last finished scan
//! could not read or stopped short of, directories not watched live, and
//! notifications the kernel dropped. Silent when nothing is configured.

use super::finding;
use crate::state::Shared;
use crate::state::messages::ScanProgress;
use nix::fcntl::{AT_FDCWD, AtFlags};
use nix::unistd::AccessFlags;
use std::io::ErrorKind;
use std::path::Path;
use vigil_proto::{Finding, FindingSeverity as Sev};
use vigil_views::ScanDone;

/// Unreadable paths a finding names (the rest are counted).
const NAMED: usize = 5;

/// What lets the service read files only root may read (operations.md,
/// "What vigild can read").
pub(super) const CAPABILITY: &str = "give vigild the capability to read what only root may: `systemctl edit vigild` and add under [Service] \
     AmbientCapabilities=CAP_DAC_READ_SEARCH and CapabilityBoundingSet=CAP_DAC_READ_SEARCH \
     (operations.md, \"What vigild can read\")";

/// The trees the unit's `ProtectHome=yes` hides.
pub(super) const HOME_TREES: &[&str] = &["/home", "/root", "/run/user"];
/// The trees the unit's `PrivateTmp=yes` replaces with vigild's own.
pub(super) const TMP_TREES: &[&str] = &["/tmp", "/var/tmp"];

/// Every file integrity check, when `[[collect.files]]` is configured;
/// one `ok` finding when none has anything to say. Blocking (reads the
/// views).
pub fn files(shared: &Shared, out: &mut Vec<Finding>) {
    let config = shared.config();
    if !config.collect.watches_files() {
        return;
    }
    let mut found = Vec::new();
    // The collector's end of the channel is dropped when it could not
    // start (its error is in the daemon's log) or has stopped.
    if shared.files.commands.is_closed() {
        found.push(finding(
            "files",
            Sev::Error,
            "[[collect.files]] is configured but the file integrity collector is not running: nothing is being watched",
            "look for \"file integrity monitoring\" errors in the daemon's log (journalctl -u vigild), fix the cause, restart vigild",
        ));
    }
    let mut paths = 0usize;
    for set in &config.collect.files {
        let set = set.get_ref();
        for path in &set.paths {
            paths += 1;
            found.extend(configured_path(set.name(), path.get_ref()));
        }
    }
    let last = shared.with_views(|v| v.files.last_scan.clone());
    let scan = match last {
        Ok(Some(done)) => {
            found.extend(last_scan(&done));
            Some(done.scan)
        }
        Ok(None) => {
            found.push(finding(
                "files-scan",
                Sev::Info,
                "no file integrity scan has finished yet: what it cannot read is known after it",
                "`vigilctl status` shows the scan under way; run vigilctl doctor again after it",
            ));
            None
        }
        Err(e) => {
            found.push(finding(
                "files-scan",
                Sev::Warning,
                format!("cannot read the file integrity view: {e}"),
                "see the daemon's log",
            ));
            None
        }
    };
    let progress = shared.files.progress.borrow().clone();
    found.extend(watching(&progress));
    if found.is_empty() {
        found.push(finding(
            "files",
            Sev::Ok,
            format!(
                "{paths} watched path(s) readable; scan {} read every path; {} directories watched live",
                scan.unwrap_or_default(),
                progress.watched_dirs
            ),
            "",
        ));
    }
    out.extend(found);
}

/// A configured path vigild cannot see or read (as its effective user,
/// capabilities included), or `None`.
fn configured_path(set: &str, path: &str) -> Option<Finding> {
    // Links followed: the collector watches the path they resolve to.
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Some(missing(set, path)),
        Err(e) => return Some(unreadable(set, path, &e.to_string())),
    };
    // A directory is listed, then entered to look at its entries.
    let wanted = if meta.is_dir() {
        AccessFlags::R_OK | AccessFlags::X_OK
    } else {
        AccessFlags::R_OK
    };
    // As the effective user with its capabilities (`AT_EACCESS`, the
    // faccessat2 system call): `access` checks the real uid and drops the
    // capabilities of any uid but root, and glibc's `eaccess` compares
    // mode bits, so both would call unreadable what CAP_DAC_READ_SEARCH
    // (the fix given) lets vigild read.
    match nix::unistd::faccessat(AT_FDCWD, path, wanted, AtFlags::AT_EACCESS) {
        Ok(()) => None,
        Err(e) => Some(unreadable(set, path, e.desc())),
    }
}

/// Whether `path` is `tree` or below it.
fn under(path: &str, tree: &str) -> bool {
    Path::new(path).starts_with(tree)
}

pub(super) fn under_any(path: &str, trees: &[&str]) -> bool {
    trees.iter().any(|t| under(path, t))
}

fn missing(set: &str, path: &str) -> Finding {
    let mut fix = format!(
        "correct the path (a typo?) or remove it from the paths of [[collect.files]] `{}`, or create it",
        shown(set)
    );
    // The tree may exist on the host and still be out of the service's
    // sight.
    if under_any(path, TMP_TREES) {
        fix.push_str("; under systemd, the unit's PrivateTmp=yes gives vigild a /tmp and /var/tmp of its own, so the host's are out of its sight: watch a path elsewhere");
    } else if under_any(path, HOME_TREES) {
        fix.push_str("; under systemd, the unit's ProtectHome=yes hides /home, /root and /run/user: `systemctl edit vigild` and set ProtectHome=read-only under [Service]");
    }
    finding(
        "files-path",
        Sev::Warning,
        format!(
            "{} (set `{}`) does not exist: nothing is monitored there",
            shown(path),
            shown(set)
        ),
        fix,
    )
}

fn unreadable(set: &str, path: &str, why: &str) -> Finding {
    let uid = nix::unistd::geteuid();
    let fix = if under_any(path, HOME_TREES) {
        format!(
            "under systemd, the unit's ProtectHome=yes hides /home, /root and /run/user: `systemctl edit vigild` and set ProtectHome=read-only under [Service]; for files only root may read, also {CAPABILITY}"
        )
    } else {
        format!("make it readable by vigild's user, or {CAPABILITY}")
    };
    finding(
        "files-path",
        Sev::Warning,
        format!(
            "vigild (uid {uid}) cannot read {} (set `{}`): {}; it is not monitored",
            shown(path),
            shown(set),
            shown(why)
        ),
        fix,
    )
}

/// What the last finished scan could not read, and where it stopped short.
fn last_scan(done: &ScanDone) -> Vec<Finding> {
    let totals = &done.totals;
    let mut out = Vec::new();
    if totals.errors > 0 {
        let named: Vec<String> = totals
            .unreadable
            .iter()
            .take(NAMED)
            .map(|(path, why)| format!("{}: {}", shown(path), shown(why)))
            .collect();
        let more = totals.errors.saturating_sub(named.len() as u64);
        let more = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        out.push(finding(
            "files-scan",
            Sev::Warning,
            format!(
                "scan {} could not read {} path(s), which are not monitored: {}{more}",
                done.scan,
                totals.errors,
                named.join("; ")
            ),
            format!(
                "`vigilctl files scan` names up to 20 (so does the scan's end in `vigilctl --json events list --kind collect`); {CAPABILITY}; or leave them out with `exclude`"
            ),
        ));
    }
    if !totals.over_limit.is_empty() {
        let roots: Vec<String> = totals.over_limit.iter().map(|r| shown(r)).collect();
        out.push(finding(
            "files-scan",
            Sev::Warning,
            format!(
                "scan {} found more paths than max_files under {}: the rest was neither examined nor watched",
                done.scan,
                roots.join(", ")
            ),
            "raise max_files in its [[collect.files]], or leave out what need not be watched with `exclude`",
        ));
    }
    out
}

/// Directories not watched live, and notifications the kernel dropped.
fn watching(progress: &ScanProgress) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(error) = &progress.store_error {
        out.push(finding(
            "files-store",
            Sev::Error,
            format!(
                "file integrity cannot record what it finds: {}; it tries again, waiting up to a minute, then rescans every watched path",
                shown(error)
            ),
            "free space on the store's file system (or fix what the error names); nothing is lost: the rescan after the store accepts again compares every watched path with its baseline",
        ));
    }
    if progress.unwatched_dirs > 0 {
        out.push(finding(
            "files-watch",
            Sev::Warning,
            format!(
                "{} director(ies) could not be watched live: a change there is seen only when vigild looks at them, every minute",
                progress.unwatched_dirs
            ),
            // The count comes without the kernel's reasons: the log has them.
            "`vigilctl events list --kind collect` names them in scans with reason watch_failed, with the kernel's error. A directory that does not exist (the parent of a missing watched path: see files-path) cannot be watched; otherwise raise fs.inotify.max_user_watches (sysctl -w fs.inotify.max_user_watches=524288, and in /etc/sysctl.d/ to keep it). vigild tries again every minute",
        ));
    }
    if progress.overflows > 0 {
        out.push(finding(
            "files-watch",
            Sev::Info,
            format!(
                "the kernel's change queue overflowed {} time(s) since vigild started: notifications were lost, and each time every watched path was rescanned",
                progress.overflows
            ),
            "raise fs.inotify.max_queued_events (sysctl -w fs.inotify.max_queued_events=65536, and in /etc/sysctl.d/ to keep it), then restart vigild: the queue's size is fixed when it opens",
        ));
    }
    out
}

/// `text` with control characters written `\xNN`: paths and errors come
/// from the watched trees, where anyone who may create a file chooses its
/// name, and must not drive the terminal `vigilctl doctor` prints to.
pub(super) fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::ScanTotals;

    fn done(totals: ScanTotals) -> ScanDone {
        ScanDone {
            scan: 7,
            finished_at: 0,
            totals,
        }
    }

    #[test]
    fn a_clean_scan_and_quiet_watches_say_nothing() {
        assert!(last_scan(&done(ScanTotals::default())).is_empty());
        let progress = ScanProgress {
            watched_dirs: 12,
            ..ScanProgress::default()
        };
        assert!(watching(&progress).is_empty());
    }

    #[test]
    fn unreadable_paths_are_named_up_to_five_and_counted() {
        let unreadable: Vec<(String, String)> = (0..8)
            .map(|i| (format!("/etc/p{i}"), "permission denied".to_string()))
            .collect();
        let found = last_scan(&done(ScanTotals {
            errors: 30,
            unreadable,
            ..ScanTotals::default()
        }));
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert_eq!((f.check.as_str(), f.severity), ("files-scan", Sev::Warning));
        assert!(
            f.message.starts_with(
                "scan 7 could not read 30 path(s), which are not monitored: /etc/p0: permission denied; "
            ),
            "{}",
            f.message
        );
        assert!(f.message.contains("/etc/p4: permission denied"));
        assert!(!f.message.contains("/etc/p5"), "{}", f.message);
        assert!(f.message.ends_with("; and 25 more"), "{}", f.message);
        assert!(f.fix.contains("CAP_DAC_READ_SEARCH"), "{}", f.fix);
        assert!(f.fix.contains("vigilctl files scan"), "{}", f.fix);
    }

    #[test]
    fn a_root_over_its_limit_is_named_with_the_way_out() {
        let found = last_scan(&done(ScanTotals {
            over_limit: vec!["/srv/a".into(), "/srv/b".into()],
            ..ScanTotals::default()
        }));
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("under /srv/a, /srv/b"));
        assert!(found[0].fix.contains("max_files") && found[0].fix.contains("exclude"));
    }

    #[test]
    fn a_refused_append_is_an_error_until_a_scan_finishes() {
        let progress = ScanProgress {
            store_error: Some("cannot write to the store: No space left on device".into()),
            ..ScanProgress::default()
        };
        let found = watching(&progress);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].check, "files-store");
        assert_eq!(found[0].severity, Sev::Error);
        assert!(found[0].message.contains("No space left"), "{:?}", found[0]);
    }

    #[test]
    fn unwatched_directories_warn_and_overflows_inform() {
        let found = watching(&ScanProgress {
            unwatched_dirs: 3,
            overflows: 2,
            ..ScanProgress::default()
        });
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].severity, Sev::Warning);
        assert!(
            found[0]
                .message
                .starts_with("3 director(ies) could not be watched")
        );
        assert!(found[0].fix.contains("fs.inotify.max_user_watches"));
        assert_eq!(found[1].severity, Sev::Info);
        assert!(found[1].message.contains("overflowed 2 time(s)"));
        assert!(found[1].fix.contains("fs.inotify.max_queued_events"));
    }

    #[test]
    fn a_missing_path_is_named_with_the_fix_its_tree_needs() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().to_str().unwrap();
        assert!(configured_path("w", here).is_none(), "exists, readable");
        let gone = format!("{here}/nothing");
        let f = configured_path("w", &gone).unwrap();
        assert_eq!((f.check.as_str(), f.severity), ("files-path", Sev::Warning));
        assert_eq!(
            f.message,
            format!("{gone} (set `w`) does not exist: nothing is monitored there")
        );
        assert!(
            missing("web", "/srv/x")
                .fix
                .contains("[[collect.files]] `web`"),
            "anywhere else: the configuration"
        );
        assert!(
            missing("h", "/home/a/x")
                .fix
                .contains("ProtectHome=read-only")
        );
        assert!(missing("t", "/var/tmp/x").fix.contains("PrivateTmp"));
        assert!(
            !missing("t", "/tmpx").fix.contains("PrivateTmp"),
            "by component"
        );
    }

    #[test]
    fn an_unreadable_path_says_who_cannot_read_it_and_how_to_allow_it() {
        let f = unreadable("system", "/etc/shadow", "Permission denied");
        assert!(
            f.message.ends_with(
                "cannot read /etc/shadow (set `system`): Permission denied; it is not monitored"
            ),
            "{}",
            f.message
        );
        assert!(f.fix.contains("AmbientCapabilities=CAP_DAC_READ_SEARCH"));
        assert!(
            unreadable("h", "/root/x", "denied")
                .fix
                .contains("ProtectHome")
        );
        // Checked as the daemon's effective user with its capabilities: the
        // finding agrees with what opening the file does (root, or a user
        // with CAP_DAC_READ_SEARCH, reads a mode-000 file; others do not).
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        std::fs::write(&locked, "x").unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let opens = std::fs::File::open(&locked).is_ok();
        let found = configured_path("w", locked.to_str().unwrap());
        assert_eq!(found.is_none(), opens, "{found:?}");
        if let Some(f) = found {
            assert!(f.message.contains("cannot read"), "{}", f.message);
        }
    }

    #[test]
    fn names_cannot_drive_the_terminal() {
        assert_eq!(shown("/etc/a\u{1b}[2Jb\n"), "/etc/a\\x1b[2Jb\\x0a");
        let found = last_scan(&done(ScanTotals {
            errors: 1,
            unreadable: vec![("/etc/\u{1b}]0;x\u{7}".into(), "denied".into())],
            ..ScanTotals::default()
        }));
        assert!(!found[0].message.contains('\u{1b}'), "{}", found[0].message);
    }
}
