//! Log collection, end to end: real files, real rotation (Debian's
//! logrotate), the real daemon killed with SIGKILL. Every line is kept
//! exactly once whatever happens to the file or the daemon; long lines are
//! cut, links are refused, threshold counts survive a restart.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use vigil_tests::{Daemon, json_lines, ok, wait_for, write_config};

/// A line kept in the log.
#[derive(Debug, Clone)]
struct Kept {
    path: String,
    text: String,
    truncated: bool,
    alerts: usize,
}

/// Everything log collection recorded, in log order: kept lines and
/// source changes (path, change).
struct Recorded {
    lines: Vec<Kept>,
    changes: Vec<(String, String)>,
    /// Lines the entries say were read, kept or not.
    read: u64,
}

fn recorded(daemon: &Daemon) -> Recorded {
    let out = ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "collect", "--limit", "1000000",
    ]));
    let mut rec = Recorded {
        lines: Vec::new(),
        changes: Vec::new(),
        read: 0,
    };
    for entry in json_lines(&out) {
        let event = &entry["event"]["logs"];
        if let Some(lines) = event.get("lines") {
            rec.read += lines["read"].as_u64().unwrap();
            for line in lines["lines"].as_array().unwrap() {
                rec.lines.push(Kept {
                    path: lines["path"].as_str().unwrap().into(),
                    text: line["text"].as_str().unwrap().into(),
                    truncated: line["truncated"].as_bool().unwrap(),
                    alerts: line["matches"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|m| !m["alert"].is_null())
                        .count(),
                });
            }
        } else if let Some(change) = event.get("source") {
            rec.changes.push((
                change["path"].as_str().unwrap().into(),
                change["change"].as_str().unwrap().into(),
            ));
        }
    }
    rec
}

/// Waits until `n` lines are kept; fails if more are.
fn kept(daemon: &Daemon, n: usize) -> Recorded {
    let rec = wait_for(&format!("{n} kept lines"), || {
        let rec = recorded(daemon);
        (rec.lines.len() >= n).then_some(rec)
    });
    assert_eq!(
        rec.lines.len(),
        n,
        "more lines than written: {:?}",
        texts(&rec)
    );
    rec
}

fn texts(rec: &Recorded) -> Vec<&str> {
    rec.lines.iter().map(|l| l.text.as_str()).collect()
}

/// `DIR/logs` (the only allowed root), the path of `DIR/logs/NAME`, and
/// the configuration with what `sets` writes for that path appended.
fn setup(dir: &Path, name: &str, sets: impl FnOnce(&Path) -> String) -> (PathBuf, PathBuf) {
    let logs = dir.join("logs");
    fs::create_dir_all(&logs).unwrap();
    let path = logs.canonicalize().unwrap().join(name);
    let config = write_config(
        dir,
        &format!(
            "[http]\nenabled = false\n\n[collect]\nallowed_roots = [\"{}\"]\n\n{}",
            path.parent().unwrap().display(),
            sets(&path)
        ),
    );
    (path, config)
}

/// Waits until a change of kind `change` is recorded.
fn change_recorded(daemon: &Daemon, change: &str) -> Recorded {
    wait_for(&format!("a `{change}` change"), || {
        let rec = recorded(daemon);
        rec.changes.iter().any(|(_, c)| c == change).then_some(rec)
    })
}

/// A set keeping every line of `path`, from the beginning.
fn keep_all(path: &Path) -> String {
    format!(
        "[[collect.logs]]\nname = \"app\"\npath = \"{}\"\nstore = \"all\"\nstart_at = \"beginning\"\n",
        path.display()
    )
}

fn append(path: &Path, lines: impl IntoIterator<Item = String>) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for line in lines {
        writeln!(f, "{line}").unwrap();
    }
}

fn numbered(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix} {i}")).collect()
}

fn logrotate(dir: &Path, log: &Path, how: &str) {
    let conf = dir.join(format!("logrotate-{how}.conf"));
    fs::write(
        &conf,
        format!(
            "{} {{\n  rotate 5\n  {how}\n  missingok\n  nocompress\n}}\n",
            log.display()
        ),
    )
    .unwrap();
    let out = Command::new("/usr/sbin/logrotate")
        .arg("-f")
        .arg("-s")
        .arg(dir.join("logrotate.state"))
        .arg(&conf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn verified(daemon: &Daemon) {
    let key = daemon.state_dir.join("verification.key");
    let out = ok(&daemon.ctl(&["verify", "--key", key.to_str().unwrap()]));
    assert!(out.contains("chain OK"), "{out}");
}

#[test]
fn every_line_is_kept_once_through_logrotate_create_copytruncate_and_recreation() {
    let dir = tempfile::tempdir().unwrap();
    let (log, config) = setup(dir.path(), "app.log", keep_all);
    let mut written = numbered("first", 0..100);
    append(&log, written.clone());
    let daemon = Daemon::in_dir(&config, dir.path());
    kept(&daemon, 100);

    // logrotate's `create`: the file is renamed away and a new one made;
    // the writer keeps writing to the old one until it reopens.
    let mut old = OpenOptions::new().append(true).open(&log).unwrap();
    logrotate(dir.path(), &log, "create");
    for line in numbered("late", 0..10) {
        writeln!(old, "{line}").unwrap();
        written.push(line);
    }
    drop(old);
    let reopened = numbered("second", 0..10);
    append(&log, reopened.clone());
    written.extend(reopened);
    let rec = kept(&daemon, 120);
    assert_eq!(
        texts(&rec),
        written,
        "the old file to its end, then the new one"
    );
    assert!(
        rec.lines.iter().all(|l| Path::new(&l.path) == log),
        "kept under the followed name"
    );

    // copytruncate: copied away, then cut to nothing under the writer.
    let more = numbered("third", 0..20);
    append(&log, more.clone());
    written.extend(more);
    kept(&daemon, 140);
    logrotate(dir.path(), &log, "copytruncate");
    let after = numbered("fourth", 0..5);
    append(&log, after.clone());
    written.extend(after);
    kept(&daemon, 145);

    // Deleted, then made anew.
    fs::remove_file(&log).unwrap();
    change_recorded(&daemon, "gone");
    let anew = numbered("fifth", 0..7);
    append(&log, anew.clone());
    written.extend(anew);
    let rec = kept(&daemon, 152);
    assert_eq!(texts(&rec), written);
    let changes: Vec<&str> = rec.changes.iter().map(|(_, c)| c.as_str()).collect();
    for expected in ["started", "rotated", "truncated", "gone", "resumed"] {
        assert!(changes.contains(&expected), "{expected} in {changes:?}");
    }
    verified(&daemon);
}

#[test]
fn a_file_rotated_while_vigild_was_stopped_is_finished_before_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let (log, config) = setup(dir.path(), "app.log", keep_all);
    append(&log, numbered("a", 0..3));
    let daemon = Daemon::in_dir(&config, dir.path());
    kept(&daemon, 3);
    daemon.stop();

    append(&log, numbered("b", 0..4));
    logrotate(dir.path(), &log, "create");
    append(&log, numbered("c", 0..2));
    let daemon = Daemon::in_dir(&config, dir.path());
    let rec = kept(&daemon, 9);
    let mut expected = numbered("a", 0..3);
    expected.extend(numbered("b", 0..4));
    expected.extend(numbered("c", 0..2));
    assert_eq!(texts(&rec), expected);
}

#[test]
fn a_file_truncated_while_stopped_and_grown_past_the_offset_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let (log, config) = setup(dir.path(), "app.log", keep_all);
    append(&log, numbered("old", 0..3));
    let daemon = Daemon::in_dir(&config, dir.path());
    kept(&daemon, 3);
    daemon.stop();

    // Same inode, cut, then more written than there was (loki #924).
    let f = OpenOptions::new().write(true).open(&log).unwrap();
    f.set_len(0).unwrap();
    drop(f);
    let new = numbered("new and longer", 0..6);
    append(&log, new.clone());
    let daemon = Daemon::in_dir(&config, dir.path());
    let rec = kept(&daemon, 9);
    assert_eq!(
        texts(&rec)[3..],
        new.iter().map(String::as_str).collect::<Vec<_>>()[..]
    );
    assert!(
        rec.changes.iter().any(|(_, c)| c == "truncated"),
        "{:?}",
        rec.changes
    );
}

#[test]
fn history_before_the_first_start_is_skipped_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let (log, config) = setup(dir.path(), "app.log", |log| {
        format!(
            "[[collect.logs]]\npath = \"{}\"\nstore = \"all\"\n",
            log.display()
        )
    });
    append(&log, numbered("history", 0..50));
    let daemon = Daemon::in_dir(&config, dir.path());
    change_recorded(&daemon, "started");
    append(&log, numbered("news", 0..2));
    let rec = kept(&daemon, 2);
    assert_eq!(texts(&rec), ["news 0", "news 1"]);
}

#[test]
fn sigkill_under_a_steady_writer_loses_and_repeats_no_line() {
    let dir = tempfile::tempdir().unwrap();
    let (log, config) = setup(dir.path(), "app.log", |log| {
        format!(
            "[[collect.log_rules]]\nname = \"numbered\"\npattern = '^line (?P<n>\\d+)$'\nalert = false\n\n[[collect.logs]]\npath = \"{}\"\nrules = [\"numbered\"]\nstart_at = \"beginning\"\n",
            log.display()
        )
    });
    fs::write(&log, "").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (log, stop) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut f = OpenOptions::new().append(true).open(&log).unwrap();
            let mut n = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Now and then a line and a piece of the next: a crash
                // between them must not make the piece a line.
                write!(f, "line {n}\nnoise that matches nothing\n").unwrap();
                n += 1;
                std::thread::sleep(Duration::from_micros(300));
            }
            n
        })
    };
    let mut daemon = Daemon::in_dir(&config, dir.path());
    for round in 0..24u64 {
        std::thread::sleep(Duration::from_millis(60 + (round * 37) % 250));
        daemon.kill9();
        daemon = Daemon::in_dir(&config, dir.path());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let pairs = writer.join().unwrap();
    assert!(
        pairs > 1000,
        "the writer wrote through the crashes: {pairs}"
    );
    // A last kept line commits the noise before it at once.
    append(&log, [format!("line {pairs}")]);
    let written = pairs + 1;
    // Every line read once, the noise the rules' scan passes over too.
    let read = 2 * pairs as u64 + 1;
    let rec = wait_for(&format!("{written} lines kept of {read} read"), || {
        let rec = recorded(&daemon);
        (rec.lines.len() >= written && rec.read >= read).then_some(rec)
    });
    assert_eq!(rec.read, read, "lines read more than once");
    let mut seen = vec![0u32; written];
    for line in &rec.lines {
        let n: usize = line.text.strip_prefix("line ").unwrap().parse().unwrap();
        seen[n] += 1;
    }
    let wrong: Vec<(usize, u32)> = seen
        .iter()
        .enumerate()
        .filter(|(_, c)| **c != 1)
        .map(|(n, c)| (n, *c))
        .collect();
    assert!(
        wrong.is_empty(),
        "lines kept other than once (line, times): {wrong:?}"
    );
    verified(&daemon);
}

#[test]
fn a_10_mb_line_is_cut_and_flagged_and_the_next_line_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (log, config) = setup(dir.path(), "app.log", |log| {
        format!("{}max_line_bytes = \"4KiB\"\n", keep_all(log))
    });
    fs::write(&log, "before\n").unwrap();
    let daemon = Daemon::in_dir(&config, dir.path());
    kept(&daemon, 1);
    let mut f = OpenOptions::new().append(true).open(&log).unwrap();
    let chunk = "x".repeat(1 << 20);
    for _ in 0..10 {
        f.write_all(chunk.as_bytes()).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    f.write_all(b"\nafter\n").unwrap();
    let rec = kept(&daemon, 3);
    let long = &rec.lines[1];
    assert!(long.truncated);
    assert_eq!(long.text.len(), 4096);
    assert_eq!(
        (rec.lines[2].text.as_str(), rec.lines[2].truncated),
        ("after", false)
    );
}

#[test]
fn a_file_replaced_by_a_link_out_of_the_roots_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (log, config) = setup(dir.path(), "app.log", keep_all);
    fs::write(&log, "one\n").unwrap();
    let outside = dir.path().join("outside");
    fs::write(&outside, "root:$6$secret-hash:19000:0:99999:7:::\n").unwrap();
    let daemon = Daemon::in_dir(&config, dir.path());
    kept(&daemon, 1);

    fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink(&outside, &log).unwrap();
    change_recorded(&daemon, "refused");
    append(&outside, ["more secrets".to_string()]);
    std::thread::sleep(Duration::from_millis(1500));
    let rec = recorded(&daemon);
    assert!(
        rec.lines.iter().all(|l| !l.text.contains("secret")),
        "{:?}",
        texts(&rec)
    );

    // A regular file again: followed again, from its beginning.
    fs::remove_file(&log).unwrap();
    fs::write(&log, "two\n").unwrap();
    let rec = kept(&daemon, 2);
    assert_eq!(texts(&rec), ["one", "two"]);
    assert!(
        rec.changes.iter().any(|(_, c)| c == "resumed"),
        "{:?}",
        rec.changes
    );
}

#[test]
fn a_threshold_counts_across_a_restart_and_alerts_once() {
    let dir = tempfile::tempdir().unwrap();
    let (log, config) = setup(dir.path(), "auth.log", |log| {
        format!(
            "[[collect.logs]]\nname = \"auth\"\npath = \"{}\"\nrules = [\"builtin\"]\n",
            log.display()
        )
    });
    fs::write(&log, "").unwrap();
    let failed = |n: usize| {
        (0..n)
            .map(|i| {
                format!(
                    "Dec  6 10:00:0{i} bastion sshd[4242]: Failed password for root from 203.0.113.5 port 5123{i} ssh2"
                )
            })
            .collect::<Vec<_>>()
    };
    let daemon = Daemon::in_dir(&config, dir.path());
    change_recorded(&daemon, "started");
    append(&log, failed(3));
    // The same words from another program count for nothing.
    append(
        &log,
        ["Dec  6 10:00:09 bastion myapp[7]: Failed password for root from 203.0.113.5 port 1 ssh2".to_string()],
    );
    let rec = kept(&daemon, 3);
    assert_eq!(rec.lines.iter().map(|l| l.alerts).sum::<usize>(), 0);
    daemon.stop();

    let daemon = Daemon::in_dir(&config, dir.path());
    append(&log, failed(3));
    let rec = kept(&daemon, 6);
    let alerts: Vec<usize> = rec.lines.iter().map(|l| l.alerts).collect();
    assert_eq!(
        alerts,
        [0, 0, 0, 0, 1, 0],
        "the fifth alerts, the sixth cools down"
    );
    let incidents = json_lines(&ok(&daemon.ctl(&["--json", "incidents", "list"])));
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let incident: &Value = &incidents[0];
    assert_eq!(incident["source"], "logs");
    assert!(incident.to_string().contains("203.0.113.5"), "{incident}");
}

/// Appends entries (unit, identifier, message) to `DIR/remote.journal`
/// with Debian's systemd-journal-remote, as journald would have.
fn journal_write(dir: &Path, entries: &[(&str, &str, String)]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let mut export = String::new();
    for (i, (unit, identifier, message)) in entries.iter().enumerate() {
        export.push_str(&format!(
            "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n_SYSTEMD_UNIT={unit}\nSYSLOG_IDENTIFIER={identifier}\n_PID=42\nPRIORITY=6\nMESSAGE={message}\n\n",
            now + i as u128,
            now + i as u128,
        ));
    }
    let mut child = Command::new("/lib/systemd/systemd-journal-remote")
        .arg(format!("--output={}", dir.join("remote.journal").display()))
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(export.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pids of processes whose command line names `path`.
fn processes_naming(path: &Path) -> Vec<u32> {
    let needle = path.to_str().unwrap().as_bytes();
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

fn ssh(message: &str) -> (&'static str, &'static str, String) {
    ("ssh.service", "sshd", message.to_string())
}

#[test]
fn the_journal_is_followed_from_its_cursor_across_a_restart_and_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, config) = setup(dir.path(), "journal", |journal| {
        format!(
            "[[collect.journal]]\nname = \"ssh\"\ndirectory = \"{}\"\nmatches = [\"_SYSTEMD_UNIT=ssh.service\"]\nstore = \"all\"\n",
            journal.display()
        )
    });
    fs::create_dir(&journal).unwrap();
    journal_write(&journal, &[ssh("history before the first start")]);
    let daemon = Daemon::in_dir(&config, dir.path());
    change_recorded(&daemon, "started");
    journal_write(
        &journal,
        &[
            ssh("one"),
            ("cron.service", "CRON", "another unit".into()),
            ssh("two"),
        ],
    );
    let rec = kept(&daemon, 2);
    assert_eq!(texts(&rec), ["sshd[42]: one", "sshd[42]: two"]);
    daemon.stop();

    journal_write(&journal, &[ssh("three, while stopped")]);
    let daemon = Daemon::in_dir(&config, dir.path());
    kept(&daemon, 3);
    journal_write(&journal, &[ssh("four")]);
    kept(&daemon, 4);
    daemon.kill9();
    wait_for("journalctl gone with the killed vigild", || {
        processes_naming(&journal).is_empty().then_some(())
    });
    journal_write(&journal, &[ssh("five, after a crash")]);
    let daemon = Daemon::in_dir(&config, dir.path());
    let rec = kept(&daemon, 5);
    assert_eq!(
        texts(&rec),
        [
            "sshd[42]: one",
            "sshd[42]: two",
            "sshd[42]: three, while stopped",
            "sshd[42]: four",
            "sshd[42]: five, after a crash"
        ]
    );
    verified(&daemon);
}

#[test]
fn failed_ssh_logins_in_the_journal_raise_one_alert() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, config) = setup(dir.path(), "journal", |journal| {
        format!(
            "[[collect.journal]]\ndirectory = \"{}\"\nstart_at = \"beginning\"\n",
            journal.display()
        )
    });
    fs::create_dir(&journal).unwrap();
    let failed: Vec<_> = (0..6)
        .map(|i| {
            ssh(&format!(
                "Failed password for invalid user admin from 198.51.100.7 port 4000{i} ssh2"
            ))
        })
        .collect();
    journal_write(&journal, &failed);
    let daemon = Daemon::in_dir(&config, dir.path());
    let rec = kept(&daemon, 6);
    assert_eq!(rec.lines.iter().map(|l| l.alerts).sum::<usize>(), 1);
    let incidents = json_lines(&ok(&daemon.ctl(&["--json", "incidents", "list"])));
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert!(incidents[0].to_string().contains("198.51.100.7"));
}

#[test]
fn a_reload_under_a_steady_writer_keeps_every_line_once_and_applies_the_new_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rules = |pattern: &str| {
        format!(
            "[[collect.log_rules]]\nname = \"numbered\"\npattern = '{pattern}'\nalert = false\n"
        )
    };
    let set = |log: &Path| {
        format!(
            "[[collect.logs]]\npath = \"{}\"\nrules = [\"numbered\"]\nstart_at = \"beginning\"\n",
            log.display()
        )
    };
    let (log, config) = setup(dir.path(), "app.log", |log| {
        format!("{}\n{}", rules(r"^line (?P<n>\d+)$"), set(log))
    });
    fs::write(&log, "").unwrap();
    let daemon = Daemon::in_dir(&config, dir.path());
    change_recorded(&daemon, "started");
    let mut f = OpenOptions::new().append(true).open(&log).unwrap();
    for n in 0..300 {
        writeln!(f, "line {n}").unwrap();
        if n == 150 {
            // The same set, a wider rule: lines from here on also match
            // `other ...`; nothing read before is read again.
            setup(dir.path(), "app.log", |log| {
                format!("{}\n{}", rules(r"^(?:line|other) (?P<n>\d+)$"), set(log))
            });
            ok(&daemon.ctl(&["reload"]));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    writeln!(f, "other 300").unwrap();
    let rec = kept(&daemon, 301);
    let mut expected = numbered("line", 0..300);
    expected.push("other 300".into());
    assert_eq!(texts(&rec), expected);
}

#[test]
fn long_journal_messages_are_kept_up_to_max_line_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, config) = setup(dir.path(), "journal", |journal| {
        format!(
            "[[collect.journal]]\ndirectory = \"{}\"\nstart_at = \"beginning\"\nstore = \"all\"\nmax_line_bytes = \"8KiB\"\n",
            journal.display()
        )
    });
    fs::create_dir(&journal).unwrap();
    // journalctl sends fields over 4096 bytes as null unless asked.
    journal_write(
        &journal,
        &[ssh(&"a".repeat(6000)), ssh(&"b".repeat(20_000))],
    );
    let daemon = Daemon::in_dir(&config, dir.path());
    let rec = kept(&daemon, 2);
    let whole = format!("sshd[42]: {}", "a".repeat(6000));
    assert_eq!(
        (rec.lines[0].text.as_str(), rec.lines[0].truncated),
        (whole.as_str(), false)
    );
    assert!(rec.lines[1].truncated);
    assert_eq!(rec.lines[1].text.len(), 8192);
    assert!(rec.lines[1].text.ends_with('b'));
}

#[test]
fn a_glob_follows_each_matching_file_once_including_new_ones_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (first, config) = setup(dir.path(), "a.log", |log| {
        format!(
            "[[collect.logs]]\nname = \"app\"\npath = \"{}\"\nstore = \"all\"\nstart_at = \"beginning\"\n",
            log.with_file_name("*.log").display()
        )
    });
    append(&first, numbered("a", 0..2));
    let other = first.with_file_name("notes.txt");
    append(&other, ["not a log".to_string()]);
    let daemon = Daemon::in_dir(&config, dir.path());
    kept(&daemon, 2);

    // A file made after the start is news from its first line.
    let second = first.with_file_name("b.log");
    append(&second, numbered("b", 0..3));
    append(&first, numbered("a", 2..3));
    let rec = kept(&daemon, 6);
    let of = |path: &Path| -> Vec<&str> {
        rec.lines
            .iter()
            .filter(|l| Path::new(&l.path) == path)
            .map(|l| l.text.as_str())
            .collect()
    };
    assert_eq!(of(&first), ["a 0", "a 1", "a 2"]);
    assert_eq!(of(&second), ["b 0", "b 1", "b 2"]);
    assert!(of(&other).is_empty());

    // After a restart, each file resumes where it was: nothing again.
    daemon.stop();
    append(&second, numbered("b", 3..4));
    let daemon = Daemon::in_dir(&config, dir.path());
    let rec = kept(&daemon, 7);
    assert_eq!(rec.lines[6].text, "b 3");
}
