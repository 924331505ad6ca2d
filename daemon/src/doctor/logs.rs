//! Doctor checks about log collection (`[[collect.logs]]`,
//! `[[collect.journal]]`): every followed source the logs view holds an
//! error for (removed, a link, outside the allowed roots, unreadable), and
//! every configured file (or a glob's directory, or a journal directory)
//! that does not exist. Silent when nothing is configured or recorded.

use super::files::{CAPABILITY, HOME_TREES, TMP_TREES, shown, under_any};
use super::finding;
use crate::config::CollectConfig;
use crate::state::Shared;
use crate::state::log_sources::{Recorded, Sources, configured};
use std::io::ErrorKind;
use std::path::Path;
use vigil_proto::{Finding, FindingSeverity as Sev};
use vigil_store::LogChangeKind;

/// A source that cannot be read now, as the view has it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failing {
    set: String,
    path: String,
    error: String,
    change: Option<LogChangeKind>,
}

/// Every log collection check, when something is configured or was
/// followed; one `ok` finding when none has anything to say. Blocking
/// (reads the views and the disk).
pub fn logs(shared: &Shared, out: &mut Vec<Finding>) {
    let config = shared.config();
    let sets = configured(&config.collect);
    let read = shared.with_views(|v| {
        let sources = Sources::new(&v.logs.sources, &sets, None);
        let failing: Vec<Failing> = sources
            .failing()
            .map(|(set, path, f)| Failing {
                set: set.to_string(),
                path: path.to_string(),
                error: f.error.clone().unwrap_or_default(),
                change: f.last_change.map(|(kind, _)| kind),
            })
            .collect();
        (failing, sources.status(), read_count(&v.logs.sources))
    });
    let (failing, status, read) = match read {
        Ok(read) => read,
        Err(e) => {
            out.push(finding(
                "logs",
                Sev::Warning,
                format!("cannot read the logs view: {e}"),
                "see the daemon's log",
            ));
            return;
        }
    };
    // Nothing configured, nothing ever followed: nothing to say.
    let Some(status) = status else { return };
    let mut found: Vec<Finding> = failing.iter().map(failing_source).collect();
    found.extend(
        shared
            .logs_store_error
            .borrow()
            .as_deref()
            .map(store_refused),
    );
    let reported = |set: &str, path: &str| failing.iter().any(|f| f.set == set && f.path == path);
    found.extend(
        missing_paths(&config.collect)
            .into_iter()
            .filter(|(set, path, _)| !reported(set, path))
            .map(|(set, path, what)| missing(&set, &path, what)),
    );
    if found.is_empty() {
        found.push(finding(
            "logs",
            Sev::Ok,
            format!(
                "{} set(s) configured; {} file(s) and {} journal(s) followed without errors; {read} lines read",
                status.sets, status.files, status.journals
            ),
            "",
        ));
    }
    out.extend(found);
}

/// The finding while the log refuses log collection's appends.
fn store_refused(error: &str) -> Finding {
    finding(
        "logs-store",
        Sev::Error,
        format!(
            "log collection cannot record what it reads: {}; it tries again, waiting up to a minute",
            shown(error)
        ),
        "free space on the store's file system (or fix what the error names); nothing is lost: reading resumes from the last recorded position of each file once the store accepts again",
    )
}

/// Lines read from every source recorded.
fn read_count(recorded: &Recorded) -> u64 {
    recorded
        .values()
        .flat_map(|paths| paths.values())
        .map(|f| f.lines)
        .sum()
}

/// The finding for a source the view holds an error for.
fn failing_source(f: &Failing) -> Finding {
    let set = shown(&f.set);
    let fix = match f.change {
        Some(LogChangeKind::Gone) => format!(
            "it was removed: reading resumes from its beginning when it comes back; if it moved for good, correct the path of `{set}` in the configuration"
        ),
        Some(LogChangeKind::Refused) => format!(
            "vigild follows no symbolic link, nothing outside [collect] allowed_roots, and nothing it cannot read: point `{set}` at the file itself under allowed_roots, make it readable by vigild's user, or {CAPABILITY}"
        ),
        _ => "`vigilctl logs list` shows its last change; the daemon's log (journalctl -u vigild) says more".to_string(),
    };
    finding(
        "logs-source",
        Sev::Warning,
        format!(
            "{} (set `{set}`) cannot be read: {}; lines written there are not seen",
            shown(&f.path),
            shown(&f.error)
        ),
        fix,
    )
}

/// What a configured path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Configured {
    /// A `[[collect.logs]]` file.
    File,
    /// The directory a `[[collect.logs]]` glob lists.
    GlobDirectory,
    /// A `[[collect.journal]]` directory.
    JournalDirectory,
}

/// Configured paths that do not exist: set, path, what it is.
fn missing_paths(collect: &CollectConfig) -> Vec<(String, String, Configured)> {
    let gone = |path: &Path| matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == ErrorKind::NotFound);
    let mut out = Vec::new();
    for set in &collect.logs {
        let set = set.get_ref();
        let (path, what) = match set.glob() {
            Some((dir, _)) => (dir.to_path_buf(), Configured::GlobDirectory),
            None => (
                Path::new(set.path.get_ref()).to_path_buf(),
                Configured::File,
            ),
        };
        if gone(&path) {
            out.push((set.name().to_string(), path.display().to_string(), what));
        }
    }
    for set in &collect.journal {
        let set = set.get_ref();
        if let Some(dir) = &set.directory
            && gone(Path::new(dir.get_ref()))
        {
            out.push((
                set.name.clone(),
                dir.get_ref().clone(),
                Configured::JournalDirectory,
            ));
        }
    }
    out
}

fn missing(set: &str, path: &str, what: Configured) -> Finding {
    let (set, shown_path) = (shown(set), shown(path));
    let (message, mut fix) = match what {
        Configured::File => (
            format!(
                "{shown_path} (set `{set}`) does not exist: nothing is read there until it does"
            ),
            format!(
                "correct the path of [[collect.logs]] `{set}` (a typo?), or leave it: it is read from its beginning once it appears"
            ),
        ),
        Configured::GlobDirectory => (
            format!(
                "{shown_path}, the directory of set `{set}`'s glob, does not exist: no file of it is read"
            ),
            format!("correct the path of [[collect.logs]] `{set}`, or create the directory"),
        ),
        Configured::JournalDirectory => (
            format!("{shown_path}, the directory of [[collect.journal]] `{set}`, does not exist"),
            format!(
                "correct the directory of [[collect.journal]] `{set}`, or leave it out to read the system's journal"
            ),
        ),
    };
    // The path may exist on the host and still be out of the service's
    // sight.
    if under_any(path, TMP_TREES) {
        fix.push_str("; under systemd, the unit's PrivateTmp=yes gives vigild a /tmp and /var/tmp of its own, so the host's are out of its sight");
    } else if under_any(path, HOME_TREES) {
        fix.push_str("; under systemd, the unit's ProtectHome=yes hides /home, /root and /run/user: `systemctl edit vigild` and set ProtectHome=read-only under [Service]");
    }
    finding("logs-path", Sev::Warning, message, fix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn collect(dir: &Path) -> CollectConfig {
        let root = dir.display();
        Config::parse(
            "t.toml",
            &format!(
                "[collect]\nallowed_roots = [\"{root}\"]\n\n\
                 [[collect.logs]]\nname = \"here\"\npath = \"{root}/here.log\"\n\n\
                 [[collect.logs]]\nname = \"gone\"\npath = \"{root}/gone.log\"\n\n\
                 [[collect.logs]]\nname = \"web\"\npath = \"{root}/nginx/*.log\"\n\n\
                 [[collect.journal]]\nname = \"j\"\ndirectory = \"{root}/journal\"\n"
            ),
        )
        .unwrap()
        .collect
    }

    #[test]
    fn configured_paths_that_do_not_exist_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("here.log"), "").unwrap();
        let found = missing_paths(&collect(dir.path()));
        let root = dir.path().display();
        assert_eq!(
            found,
            [
                (
                    "gone".to_string(),
                    format!("{root}/gone.log"),
                    Configured::File
                ),
                (
                    "web".to_string(),
                    format!("{root}/nginx"),
                    Configured::GlobDirectory
                ),
                (
                    "j".to_string(),
                    format!("{root}/journal"),
                    Configured::JournalDirectory
                ),
            ]
        );
        let f = missing("gone", "/var/log/gone.log", Configured::File);
        assert_eq!((f.check.as_str(), f.severity), ("logs-path", Sev::Warning));
        assert_eq!(
            f.message,
            "/var/log/gone.log (set `gone`) does not exist: nothing is read there until it does"
        );
        assert!(f.fix.contains("[[collect.logs]] `gone`"), "{}", f.fix);
        assert!(
            missing("t", "/tmp/x.log", Configured::File)
                .fix
                .contains("PrivateTmp")
        );
    }

    #[test]
    fn a_refusing_store_is_an_error_that_says_nothing_is_lost() {
        let f = store_refused("cannot write to the store: No space left on device\x1b[2J");
        assert_eq!((f.check.as_str(), f.severity), ("logs-store", Sev::Error));
        assert!(f.message.contains("No space left"), "{f:?}");
        assert!(
            !f.message.contains('\x1b'),
            "shown, not sent to the terminal"
        );
        assert!(f.fix.contains("nothing is lost"), "{f:?}");
    }

    #[test]
    fn a_failing_source_is_named_with_its_error_and_the_fix_its_change_needs() {
        let f = failing_source(&Failing {
            set: "auth".into(),
            path: "/var/log/auth.log".into(),
            error: "a symbolic link: not followed".into(),
            change: Some(LogChangeKind::Refused),
        });
        assert_eq!(
            (f.check.as_str(), f.severity),
            ("logs-source", Sev::Warning)
        );
        assert_eq!(
            f.message,
            "/var/log/auth.log (set `auth`) cannot be read: a symbolic link: not followed; lines written there are not seen"
        );
        assert!(f.fix.contains("allowed_roots") && f.fix.contains("CAP_DAC_READ_SEARCH"));
        let gone = failing_source(&Failing {
            set: "auth".into(),
            path: "/var/log/auth.log".into(),
            error: "removed".into(),
            change: Some(LogChangeKind::Gone),
        });
        assert!(gone.fix.starts_with("it was removed"), "{}", gone.fix);
        // Names come from the disk and the configuration: escaped.
        let odd = failing_source(&Failing {
            set: "s".into(),
            path: "/var/log/a\u{1b}[2J".into(),
            error: "e".into(),
            change: None,
        });
        assert!(!odd.message.contains('\u{1b}'), "{}", odd.message);
    }
}
