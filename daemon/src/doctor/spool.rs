//! Doctor checks about the spool directory: who can write into it, files
//! refused, files stuck.

use super::finding;
use crate::state::Shared;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};
use vigil_proto::{Finding, FindingSeverity as Sev};

/// A file still in `incoming/` after this long was not taken.
const STUCK: Duration = Duration::from_secs(60);

/// The spool's permissions and backlog.
pub fn spool(shared: &Shared, out: &mut Vec<Finding>) {
    let config = shared.config();
    if !config.spool.enabled {
        return;
    }
    let root = config.spool_dir();
    let incoming = root.join("incoming");
    for dir in [&root, &incoming, &root.join("tmp")] {
        if let Ok(meta) = std::fs::metadata(dir)
            && meta.permissions().mode() & 0o002 != 0
        {
            out.push(finding(
                "spool",
                Sev::Error,
                format!(
                    "{} is writable by every user: anyone can inject alerts",
                    dir.display()
                ),
                format!("chmod o-w {}", dir.display()),
            ));
            return;
        }
    }
    let refused = files(&root.join("failed"), |name, _| {
        !name.ends_with(".reason") && !name.starts_with('.')
    });
    let stuck = files(&incoming, |name, age| !name.starts_with('.') && age > STUCK);
    if stuck > 0 {
        out.push(finding(
            "spool",
            Sev::Warning,
            format!(
                "{stuck} file(s) in {} for over a minute: vigild cannot store or move them",
                incoming.display()
            ),
            "look for \"spool file\" errors in the log (journalctl -u vigild)",
        ));
    }
    if refused > 0 {
        out.push(finding(
            "spool",
            Sev::Warning,
            format!("{refused} spool file(s) were refused"),
            format!(
                "read {}/*.reason, fix the writer, then remove the files",
                root.join("failed").display()
            ),
        ));
    }
    if stuck == 0 && refused == 0 {
        out.push(finding(
            "spool",
            Sev::Ok,
            format!(
                "{} is drained and not writable by every user",
                incoming.display()
            ),
            "",
        ));
    }
}

/// How many entries of `dir` match `keep(name, age)`.
fn files(dir: &Path, keep: impl Fn(&str, Duration) -> bool) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            // ctime, not mtime: the rename into incoming/ sets it, while
            // `mv` keeps the file's old mtime.
            let changed = e
                .metadata()
                .map_or(now, |m| u64::try_from(m.ctime()).unwrap_or(now));
            let age = Duration::from_secs(now.saturating_sub(changed));
            keep(&e.file_name().to_string_lossy(), age)
        })
        .count()
}
