//! `vigilctl files …`: the file integrity baseline, one path's history,
//! and a scan on demand; and the file-integrity lines of `vigilctl status`.

use super::output::{Out, Table, time};
use super::{Failure, listing_with_header};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vigil_proto::{
    FileDetail, FileHistory, FileListing, FileState, FilesHeader, FilesStatus, FinishedScan,
    Request, RunningScan, Step,
};
use vigil_store::{FileChangeKind, Hash};
use vigilctl::Client;

#[derive(Subcommand, Debug)]
pub enum FilesCommand {
    /// Recorded paths: type, mode, owner, size, digest, changes.
    List {
        /// Only this path and what is below it.
        #[arg(long, value_name = "PATH")]
        path: Option<PathBuf>,
    },
    /// One path: its attributes as last recorded and its recorded changes.
    Show {
        /// The path (a relative one is taken from the current directory).
        path: PathBuf,
    },
    /// Scan every watched path now, and say what the scan found.
    Scan,
}

/// Runs one `files` command.
pub fn files(client: &mut Client, command: FilesCommand, out: &Out) -> Result<(), Failure> {
    match command {
        FilesCommand::List { path } => {
            list(client, path.as_deref().map(absolute).transpose()?, out)
        }
        FilesCommand::Show { path } => show(client, absolute(&path)?, out),
        FilesCommand::Scan => scan(client, out),
    }
}

/// `path` as the daemon records paths: absolute (from the current
/// directory, symbolic links not followed: a link is recorded as itself).
fn absolute(path: &Path) -> Result<String, Failure> {
    let path = std::path::absolute(path)
        .map_err(|e| Failure::Error(format!("cannot make {} absolute: {e}", path.display())))?;
    Ok(path.to_string_lossy().into_owned())
}

/// `text` with the control characters a terminal would act on (escape
/// sequences, carriage returns) shown as `\x1b`…: a watched file's name or
/// content is written by whoever can write it, and must not drive the
/// terminal of whoever reads it. Newlines and tabs stay (a diff's lines).
fn printable(text: &str) -> Cow<'_, str> {
    escaped(text, |c| c == '\n' || c == '\t')
}

/// [`printable`] for a table cell or a heading: newlines and tabs escaped
/// too (a file name may hold them).
pub(super) fn one_line(text: &str) -> Cow<'_, str> {
    escaped(text, |_| false)
}

fn escaped(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let acts = |c: char| c.is_control() && !keep(c);
    if !text.chars().any(acts) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if acts(c) {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

const HEADER: [&str; 7] = ["PATH", "TYPE", "MODE", "OWNER", "SIZE", "SHA256", "CHANGES"];

/// Users' and groups' names, looked up once each (behind a `RefCell`: a
/// listing's rows are made by a `Fn`).
#[derive(Default)]
struct Names {
    users: RefCell<HashMap<u32, String>>,
    groups: RefCell<HashMap<u32, String>>,
}

impl Names {
    /// `user:group`, by name where this host has one.
    fn owner(&self, uid: u32, gid: u32) -> String {
        use nix::unistd::{Gid, Group, Uid, User};
        let mut users = self.users.borrow_mut();
        let user = users
            .entry(uid)
            .or_insert_with(|| match User::from_uid(Uid::from_raw(uid)) {
                Ok(Some(u)) => u.name,
                _ => uid.to_string(),
            });
        let mut groups = self.groups.borrow_mut();
        let group =
            groups
                .entry(gid)
                .or_insert_with(|| match Group::from_gid(Gid::from_raw(gid)) {
                    Ok(Some(g)) => g.name,
                    _ => gid.to_string(),
                });
        format!("{user}:{group}")
    }
}

/// Permission bits in octal, as `chmod` takes them.
fn mode(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// The first 12 hex digits of a digest, or `-`.
fn short(sha256: Option<Hash>) -> String {
    sha256.map_or_else(|| "-".into(), |h| h.to_hex()[..12].to_string())
}

fn row(f: &FileListing, names: &Names) -> Vec<String> {
    let path = match &f.link_target {
        Some(target) => format!("{} -> {}", one_line(&f.path), one_line(target)),
        None => one_line(&f.path).into_owned(),
    };
    vec![
        path,
        f.file_type.name().into(),
        mode(f.mode),
        names.owner(f.uid, f.gid),
        f.size.to_string(),
        short(f.sha256),
        f.changes.to_string(),
    ]
}

/// One line on a finished scan.
fn scan_line(s: &FinishedScan) -> String {
    let t = &s.totals;
    format!(
        "scan {} finished at {}: {} paths, {} changes, {} baselined, {} errors, {} bytes hashed in {}",
        s.scan,
        time(s.finished_at),
        t.files,
        t.changes,
        t.baselined,
        t.errors,
        t.bytes,
        humantime::format_duration(Duration::from_millis(t.duration_ms))
    )
}

/// One line on a scan under way.
fn running_line(s: &RunningScan) -> String {
    format!(
        "scan {} ({}) under way: {}/{} paths examined",
        s.scan, s.reason, s.examined, s.expected
    )
}

/// What the header of a listing says, after the table.
fn header_lines(h: &FilesHeader) -> String {
    let baselined = if h.baselined.is_empty() {
        "nothing baselined yet".to_string()
    } else {
        format!("baselined: {}", h.baselined.join(", "))
    };
    let mut text = format!("{} paths recorded; {baselined}\n", h.count);
    text.push_str(&match &h.last_scan {
        Some(s) => format!("last {}\n", scan_line(s)),
        None => "no scan has finished\n".into(),
    });
    if let Some(s) = &h.scanning {
        text.push_str(&format!("{}\n", running_line(s)));
    }
    text
}

fn list(client: &mut Client, path: Option<String>, out: &Out) -> Result<(), Failure> {
    let mut table = Table::new(&HEADER);
    let names = Names::default();
    let mut header = None;
    listing_with_header(
        client,
        Request::files_list(path),
        out,
        "paths",
        "",
        |h| header = Some(h),
        |files| out.page(&files, &mut table, |f| row(f, &names)),
    )?;
    if out.json() {
        return Ok(());
    }
    let header = header.ok_or_else(|| Failure::Error("vigild sent no files header".into()))?;
    out.print(&format!("{}{}", table.finish(), header_lines(&header)))
}

/// A path's attributes on one line: `file 0644 root:root 12 bytes sha256 …`.
fn state_line(s: &FileState, names: &Names) -> String {
    let mut line = format!(
        "{} {} {} {} bytes",
        s.file_type.name(),
        mode(s.mode),
        names.owner(s.uid, s.gid),
        s.size
    );
    if let Some(h) = s.sha256 {
        line.push_str(&format!(" sha256 {}", short(Some(h))));
    }
    if let Some(t) = &s.link_target {
        line.push_str(&format!(" -> {}", one_line(t)));
    }
    line
}

/// What differs between two states, one `what: old → new` line each.
fn differences(old: &FileState, new: &FileState, names: &Names) -> Vec<String> {
    let mut lines = Vec::new();
    let mut differ = |what: &str, a: String, b: String| {
        if a != b {
            lines.push(format!("{what}: {a} → {b}"));
        }
    };
    differ(
        "type",
        old.file_type.name().into(),
        new.file_type.name().into(),
    );
    differ("sha256", short(old.sha256), short(new.sha256));
    differ("size", old.size.to_string(), new.size.to_string());
    differ("mode", mode(old.mode), mode(new.mode));
    differ(
        "owner",
        names.owner(old.uid, old.gid),
        names.owner(new.uid, new.gid),
    );
    let target = |t: &Option<String>| {
        t.as_deref()
            .map_or_else(|| "-".into(), |t| one_line(t).into_owned())
    };
    differ("target", target(&old.link_target), target(&new.link_target));
    lines
}

/// One history record: its line, what changed, and its diff as is.
fn history_block(h: &FileHistory, shown: &str, names: &Names) -> String {
    let moved = match &h.from {
        Some(from) if h.path == shown => format!(" from {}", one_line(from)),
        Some(_) => format!(" to {}", one_line(&h.path)),
        None => String::new(),
    };
    let stopped = if h.while_stopped {
        " (while vigild was stopped)"
    } else {
        ""
    };
    let mut text = format!(
        "#{} {} {}{moved}{stopped}\n",
        h.seq,
        time(h.time),
        h.change.name()
    );
    let details = match (&h.old, &h.new, h.change) {
        (Some(old), Some(new), _) => differences(old, new, names),
        (None, Some(new), _) => vec![state_line(new, names)],
        (Some(old), None, FileChangeKind::Deleted) => {
            vec![format!("was {}", state_line(old, names))]
        }
        (Some(old), None, _) => vec![state_line(old, names)],
        (None, None, _) => vec![],
    };
    for line in details {
        text.push_str(&format!("    {line}\n"));
    }
    if let Some(diff) = &h.diff {
        text.push_str("    diff:\n");
        text.push_str(&printable(diff));
        if !diff.ends_with('\n') {
            text.push('\n');
        }
    }
    text
}

fn show(client: &mut Client, path: String, out: &Out) -> Result<(), Failure> {
    let detail: Box<FileDetail> = client.ask(Request::files_show(path))?;
    if out.json() {
        return out.json_line(&detail);
    }
    let names = Names::default();
    let mut text = format!("{}\n", one_line(&detail.path));
    match &detail.current {
        Some(f) => {
            let mut rows = vec![
                ("type", f.file_type.name().to_string()),
                ("mode", mode(f.mode)),
                (
                    "owner",
                    format!("{} ({}:{})", names.owner(f.uid, f.gid), f.uid, f.gid),
                ),
                ("size", format!("{} bytes", f.size)),
                (
                    "sha256",
                    f.sha256.map_or_else(|| "-".into(), |h| h.to_hex()),
                ),
                ("modified", time(f.mtime)),
                (
                    "changes",
                    format!("{} (last recorded at seq {})", f.changes, f.seq),
                ),
            ];
            if let Some(t) = &f.link_target {
                rows.insert(1, ("target", one_line(t).into_owned()));
            }
            for (k, v) in rows {
                text.push_str(&format!("  {k:<9} {v}\n"));
            }
        }
        None => text.push_str("  not recorded now (deleted, renamed away, or no longer watched)\n"),
    }
    text.push_str(&match (detail.history.len(), detail.older) {
        (0, _) => "history: none in the log\n".to_string(),
        (1, 0) => "history (1 record)\n".to_string(),
        (n, 0) => format!("history ({n} records, oldest first)\n"),
        (n, older) => {
            format!("history (the newest {n} records, oldest first; {older} older not shown)\n")
        }
    });
    for h in &detail.history {
        text.push_str(&history_block(h, &detail.path, &names));
    }
    out.print(&text)
}

/// A bar on a terminal (not with `--json`): against the paths expected,
/// or a spinner counting them before the first baseline.
fn bar(out: &Out, expected: u64) -> Option<ProgressBar> {
    if out.json() || !std::io::stderr().is_terminal() {
        return None;
    }
    let (bar, template) = if expected == 0 {
        (
            ProgressBar::new_spinner(),
            "scanning {spinner} {pos} paths ({per_sec})",
        )
    } else {
        (
            ProgressBar::new(expected),
            "scanning {bar:40} {pos}/{len} paths ({per_sec}, eta {eta})",
        )
    };
    bar.set_style(ProgressStyle::with_template(template).ok()?);
    Some(bar)
}

fn scan(client: &mut Client, out: &Out) -> Result<(), Failure> {
    let scan = Request::files_scan();
    client.send(scan.request())?;
    let mut progress: Option<Option<ProgressBar>> = None;
    let finished = loop {
        match scan
            .read(client.receive()?)
            .map_err(|other| super::unexpected(&other))?
        {
            Step::Progress(p) => {
                let bar = progress.get_or_insert_with(|| bar(out, p.expected));
                if let Some(bar) = bar {
                    // New paths can make a scan examine more than expected.
                    if p.expected > 0 {
                        bar.set_length(p.expected.max(p.examined));
                    }
                    bar.set_position(p.examined);
                }
            }
            Step::Done(finished) => break finished,
        }
    };
    if let Some(Some(bar)) = progress {
        bar.finish_and_clear();
    }
    if out.json() {
        return out.json_line(&finished);
    }
    let mut text = format!("{}\n", scan_line(&finished));
    for (path, why) in &finished.totals.unreadable {
        text.push_str(&format!(
            "  cannot read {}: {}\n",
            one_line(path),
            one_line(why)
        ));
    }
    let unlisted = finished
        .totals
        .errors
        .saturating_sub(finished.totals.unreadable.len() as u64);
    if unlisted > 0 {
        text.push_str(&format!("  and {unlisted} more unreadable paths\n"));
    }
    for root in &finished.totals.over_limit {
        text.push_str(&format!(
            "  {root} holds more than its max_files: the rest was not examined\n"
        ));
    }
    out.print(&text)
}

/// The lines `vigilctl status` prints on file integrity (its first column
/// no wider than the others', so the old lines keep their alignment).
pub fn status_rows(files: Option<&FilesStatus>) -> Vec<Vec<String>> {
    let Some(f) = files else {
        return vec![vec!["files".into(), "not configured".into()]];
    };
    let scan = match (&f.scanning, &f.last_scan) {
        (Some(s), _) => vec!["file scan".into(), running_line(s)],
        (None, Some(s)) => vec!["last scan".into(), scan_line(s)],
        (None, None) => vec!["last scan".into(), "none has finished".into()],
    };
    vec![
        vec![
            "files".into(),
            format!(
                "{} recorded, {} changes since the log began",
                f.files, f.changes
            ),
        ],
        vec![
            "watching".into(),
            format!(
                "{} dirs, {} unwatched (scanned on schedule), {} queue overflows",
                f.watched_dirs, f.unwatched_dirs, f.overflows
            ),
        ],
        scan,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::FileType;

    fn state(fill: u8, mode: u32) -> FileState {
        FileState {
            file_type: FileType::File,
            sha256: Some(Hash([fill; 32])),
            size: u64::from(fill),
            mode,
            uid: 0,
            gid: 0,
            mtime: 0,
            link_target: None,
        }
    }

    #[test]
    fn a_path_is_one_row_with_octal_mode_and_a_short_digest() {
        let f = FileListing {
            path: "/etc/hosts".into(),
            file_type: FileType::File,
            sha256: Some(Hash([0xab; 32])),
            size: 12,
            mode: 0o100644,
            uid: 4_000_000,
            gid: 4_000_001,
            mtime: 0,
            link_target: None,
            changes: 2,
            seq: 9,
        };
        let row = row(&f, &Names::default());
        assert_eq!(row.len(), HEADER.len());
        assert_eq!(row[1], "file");
        assert_eq!(row[2], "0644");
        assert_eq!(row[3], "4000000:4000001", "no such user: numbers");
        assert_eq!(row[5], "abababababab");
        assert_eq!(row[6], "2");
        let link = FileListing {
            file_type: FileType::Symlink,
            sha256: None,
            link_target: Some("/x".into()),
            ..f
        };
        let row = super::row(&link, &Names::default());
        assert_eq!(
            (row[0].as_str(), row[5].as_str()),
            ("/etc/hosts -> /x", "-")
        );
    }

    #[test]
    fn a_record_shows_what_changed_and_its_diff_as_is() {
        let h = FileHistory {
            seq: 7,
            time: 0,
            path: "/etc/hosts".into(),
            change: FileChangeKind::Modified,
            while_stopped: true,
            from: None,
            old: Some(state(1, 0o100644)),
            new: Some(state(2, 0o100600)),
            diff: Some("--- a\n+++ b\n-x\n+y".into()),
        };
        let text = history_block(&h, "/etc/hosts", &Names::default());
        assert!(text.starts_with("#7 "), "{text}");
        assert!(
            text.contains("modified (while vigild was stopped)"),
            "{text}"
        );
        assert!(
            text.contains("    sha256: 010101010101 → 020202020202\n"),
            "{text}"
        );
        assert!(text.contains("    mode: 0644 → 0600\n"), "{text}");
        assert!(!text.contains("owner"), "unchanged: not shown: {text}");
        assert!(
            text.ends_with("    diff:\n--- a\n+++ b\n-x\n+y\n"),
            "{text}"
        );
        // Renamed away from the path shown.
        let renamed = FileHistory {
            path: "/etc/hosts.old".into(),
            change: FileChangeKind::Renamed,
            from: Some("/etc/hosts".into()),
            diff: None,
            while_stopped: false,
            ..h
        };
        let text = history_block(&renamed, "/etc/hosts", &Names::default());
        assert!(text.contains("renamed to /etc/hosts.old\n"), "{text}");
    }

    #[test]
    fn what_a_terminal_would_act_on_is_shown_not_sent() {
        assert_eq!(printable("a\tb\nc"), "a\tb\nc");
        assert_eq!(printable("x\u{1b}[2Jy\r"), "x\\x1b[2Jy\\x0d");
        assert_eq!(printable("\u{9b}31m"), "\\x9b31m");
        assert_eq!(one_line("/etc/a\nb"), "/etc/a\\x0ab");
    }

    #[test]
    fn status_says_not_configured_or_how_the_scans_go() {
        assert_eq!(
            status_rows(None),
            [["files".to_string(), "not configured".to_string()]]
        );
        let rows = status_rows(Some(&FilesStatus {
            files: 3,
            scanning: Some(RunningScan {
                scan: 5,
                reason: "operator".into(),
                started_at: None,
                examined: 1,
                expected: 3,
                bytes: 0,
            }),
            ..FilesStatus::default()
        }));
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[2][1],
            "scan 5 (operator) under way: 1/3 paths examined"
        );
        // No first column wider than `last verify`: the old lines stay aligned.
        assert!(rows.iter().all(|r| r[0].len() <= "last verify".len()));
    }
}
