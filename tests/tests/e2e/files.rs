//! File integrity monitoring, end to end: real files in temporary
//! directories, real inotify, the real daemon. Every change kind is
//! recorded once, with its hashes; an editor's save is one modification;
//! changes made while vigild was stopped are reported at the next start;
//! links never lead out of the allowed roots; lost notifications lead to
//! a rescan that misses nothing; a crash during the first baseline loses
//! and repeats nothing.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vigil_tests::{Daemon, json_lines, ok, wait_for, write_config};

/// One recorded path, as `events list --kind collect` shows it.
#[derive(Debug, Clone)]
struct Record {
    seq: u64,
    scan: Option<u64>,
    path: String,
    change: String,
    from: Option<String>,
    while_stopped: bool,
    old_sha: Option<String>,
    new_sha: Option<String>,
    raw: Value,
}

/// Scans started and finished, and every record, in log order.
struct Collected {
    started: Vec<(u64, Value)>,
    finished: Vec<Value>,
    records: Vec<Record>,
}

fn collected(daemon: &Daemon) -> Collected {
    let lines = json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "collect", "--limit", "100000",
    ])));
    let mut out = Collected {
        started: Vec::new(),
        finished: Vec::new(),
        records: Vec::new(),
    };
    for line in lines {
        let seq = line["seq"].as_u64().unwrap();
        let event = &line["event"]["file_integrity"];
        if let Some(started) = event.get("scan_started") {
            out.started.push((seq, started.clone()));
        } else if let Some(finished) = event.get("scan_finished") {
            out.finished.push(finished.clone());
        } else if let Some(records) = event.get("records") {
            for file in records["files"].as_array().unwrap() {
                let sha = |side: &str| file[side]["sha256"].as_str().map(str::to_string);
                out.records.push(Record {
                    seq,
                    scan: records["scan"].as_u64(),
                    path: file["path"].as_str().unwrap().to_string(),
                    change: file["change"].as_str().unwrap().to_string(),
                    from: file["from"].as_str().map(str::to_string),
                    while_stopped: file["while_stopped"].as_bool().unwrap(),
                    old_sha: sha("old"),
                    new_sha: sha("new"),
                    raw: file.clone(),
                });
            }
        }
    }
    out
}

/// Waits until `n` scans have finished.
fn scans_finished(daemon: &Daemon, n: usize) -> Collected {
    wait_for(&format!("{n} finished scan(s)"), || {
        let c = collected(daemon);
        (c.finished.len() >= n).then_some(c)
    })
}

/// The records after `seq` whose path is `path`.
fn changes_of<'a>(c: &'a Collected, after: u64, path: &Path) -> Vec<&'a Record> {
    let path = path.to_str().unwrap();
    c.records
        .iter()
        .filter(|r| r.seq > after && (r.path == path || r.from.as_deref() == Some(path)))
        .collect()
}

/// Waits until the records after `after` satisfy `done`.
fn wait_records(
    daemon: &Daemon,
    what: &str,
    after: u64,
    done: impl Fn(&[&Record]) -> bool,
) -> Collected {
    wait_for(what, || {
        let c = collected(daemon);
        let later: Vec<&Record> = c.records.iter().filter(|r| r.seq > after).collect();
        done(&later).then_some(c)
    })
}

fn last_seq(c: &Collected) -> u64 {
    c.records.iter().map(|r| r.seq).max().unwrap_or(0)
}

/// A watched tree `DIR/w` (the only allowed root) and its configuration.
fn watched(dir: &Path, extra: &str) -> (PathBuf, PathBuf) {
    let tree = dir.join("w");
    fs::create_dir_all(&tree).unwrap();
    let tree = tree.canonicalize().unwrap();
    let config = write_config(
        dir,
        &format!(
            "[http]\nenabled = false\n\n[collect]\nallowed_roots = [\"{root}\"]\n\n[[collect.files]]\nname = \"w\"\npaths = [\"{root}\"]\n{extra}",
            root = tree.display()
        ),
    );
    (tree, config)
}

/// The chain verifies, seals included.
fn verified(daemon: &Daemon) {
    let key = daemon.state_dir.join("verification.key");
    let out = ok(&daemon.ctl(&["verify", "--key", key.to_str().unwrap()]));
    assert!(out.contains("chain OK"), "{out}");
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn the_first_scan_baselines_and_every_change_kind_is_recorded_once() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, config) = watched(dir.path(), "report_changes = true\n");
    fs::create_dir(tree.join("sub")).unwrap();
    fs::write(tree.join("conf"), "port = 22\n").unwrap();
    fs::write(tree.join("sub/keep"), "keep\n").unwrap();
    fs::write(tree.join("sub/mode"), "mode\n").unwrap();
    fs::write(tree.join("sub/gone"), "gone\n").unwrap();
    fs::write(tree.join("sub/moved"), "moved\n").unwrap();
    let daemon = Daemon::in_dir(&config, dir.path());

    let first = scans_finished(&daemon, 1);
    assert_eq!(first.started[0].1["reason"], "start");
    let baseline: Vec<&str> = first.records.iter().map(|r| r.change.as_str()).collect();
    assert_eq!(baseline, ["baseline"; 7], "the tree, sub and five files");
    assert!(first.records.iter().all(|r| r.raw["alert"].is_null()));
    let incidents = ok(&daemon.ctl(&["--json", "incidents", "list"]));
    assert!(
        json_lines(&incidents).is_empty(),
        "a baseline raises nothing"
    );
    let mark = last_seq(&first);

    // Appended to in place.
    fs::write(tree.join("conf"), "port = 22\nPermitRootLogin yes\n").unwrap();
    // An editor's save: a temporary file renamed over the original.
    let saved = tree.join("sub/keep");
    fs::write(tree.join("sub/.keep.swp"), "kept, edited\n").unwrap();
    fs::rename(tree.join("sub/.keep.swp"), &saved).unwrap();
    // A directory and a file in it, at once.
    fs::create_dir(tree.join("new")).unwrap();
    fs::write(tree.join("new/file"), "fresh\n").unwrap();
    fs::set_permissions(tree.join("sub/mode"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::remove_file(tree.join("sub/gone")).unwrap();
    fs::rename(tree.join("sub/moved"), tree.join("sub/renamed")).unwrap();

    let c = wait_records(&daemon, "every change", mark, |later| later.len() >= 7);
    // Give a duplicate time to show up before counting.
    std::thread::sleep(Duration::from_millis(500));
    let c2 = collected(&daemon);
    assert_eq!(last_seq(&c2), last_seq(&c), "nothing recorded twice");

    let one = |path: &Path| {
        let found = changes_of(&c, mark, path);
        assert_eq!(found.len(), 1, "{}: {found:#?}", path.display());
        found[0].clone()
    };
    let conf = one(&tree.join("conf"));
    assert_eq!(conf.change, "modified");
    assert_eq!(
        conf.old_sha.as_deref(),
        Some(sha256(b"port = 22\n").as_str())
    );
    assert_eq!(
        conf.new_sha.as_deref(),
        Some(sha256(b"port = 22\nPermitRootLogin yes\n").as_str())
    );
    let diff = conf.raw["diff"].as_str().unwrap();
    assert!(diff.contains("+PermitRootLogin yes"), "{diff}");

    let keep = one(&saved);
    assert_eq!(keep.change, "modified", "the save is one modification");
    assert_eq!(keep.old_sha.as_deref(), Some(sha256(b"keep\n").as_str()));
    assert_eq!(
        keep.new_sha.as_deref(),
        Some(sha256(b"kept, edited\n").as_str())
    );
    assert!(
        changes_of(&c, mark, &tree.join("sub/.keep.swp")).is_empty(),
        "the temporary file is not reported"
    );

    assert_eq!(one(&tree.join("new")).change, "created");
    let fresh = one(&tree.join("new/file"));
    assert_eq!(fresh.change, "created");
    assert_eq!(fresh.new_sha.as_deref(), Some(sha256(b"fresh\n").as_str()));

    let mode = one(&tree.join("sub/mode"));
    assert_eq!(mode.change, "metadata");
    assert_eq!(mode.raw["new"]["mode"].as_u64().unwrap() & 0o777, 0o600);
    assert_eq!(one(&tree.join("sub/gone")).change, "deleted");
    let renamed = one(&tree.join("sub/renamed"));
    assert_eq!(renamed.change, "renamed");
    assert_eq!(
        renamed.from.as_deref(),
        Some(tree.join("sub/moved").to_str().unwrap())
    );
    assert!(
        c.records
            .iter()
            .filter(|r| r.seq > mark)
            .all(|r| !r.while_stopped)
    );

    // Each change is an alert, and so an incident of source `files`.
    let incidents = json_lines(&ok(&daemon.ctl(&["--json", "incidents", "list"])));
    assert_eq!(incidents.len(), 7, "{incidents:#?}");
    assert!(incidents.iter().all(|i| i["source"] == "files"));
}

#[test]
fn changes_made_while_vigild_was_stopped_are_reported_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, config) = watched(dir.path(), "");
    for name in ["edit", "remove", "chmod"] {
        fs::write(tree.join(name), name).unwrap();
    }
    let daemon = Daemon::in_dir(&config, dir.path());
    let first = scans_finished(&daemon, 1);
    let mark = last_seq(&first);
    daemon.stop();

    fs::write(tree.join("edit"), "edited while stopped").unwrap();
    fs::remove_file(tree.join("remove")).unwrap();
    fs::write(tree.join("created"), "new").unwrap();
    fs::set_permissions(tree.join("chmod"), fs::Permissions::from_mode(0o4755)).unwrap();

    let daemon = Daemon::in_dir(&config, dir.path());
    let c = scans_finished(&daemon, 2);
    let expect = [
        ("edit", "modified"),
        ("remove", "deleted"),
        ("created", "created"),
        ("chmod", "metadata"),
    ];
    for (name, change) in expect {
        let found = changes_of(&c, mark, &tree.join(name));
        assert_eq!(found.len(), 1, "{name}: {found:#?}");
        assert_eq!(found[0].change, change, "{name}");
        assert!(
            found[0].while_stopped,
            "{name} is marked as changed while stopped"
        );
        let labels = &found[0].raw["alert"]["labels"];
        assert_eq!(labels["changed_while_stopped"], "true", "{name}");
    }
    let later: Vec<&Record> = c.records.iter().filter(|r| r.seq > mark).collect();
    assert_eq!(later.len(), 4, "nothing else: {later:#?}");
    // The file that gained the setuid bit is critical under the built-in rules.
    let chmod = changes_of(&c, mark, &tree.join("chmod"))[0];
    assert_eq!(
        chmod.raw["alert"]["severity"], "critical",
        "{:#?}",
        chmod.raw
    );
    verified(&daemon);
}

#[test]
fn links_are_recorded_and_never_lead_out_of_the_allowed_roots() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), "not to be read").unwrap();
    let (tree, config) = watched(dir.path(), "");
    fs::write(tree.join("target"), "t").unwrap();
    std::os::unix::fs::symlink(outside.path(), tree.join("out")).unwrap();
    std::os::unix::fs::symlink("target", tree.join("inner")).unwrap();
    let daemon = Daemon::in_dir(&config, dir.path());
    let c = scans_finished(&daemon, 1);
    let link = changes_of(&c, 0, &tree.join("out"));
    assert_eq!(link.len(), 1);
    assert_eq!(link[0].raw["new"]["file_type"], "symlink");
    assert_eq!(
        link[0].raw["new"]["link_target"].as_str(),
        Some(outside.path().to_str().unwrap())
    );
    assert!(
        c.records.iter().all(|r| !r.path.contains("secret")),
        "the link was not followed"
    );
    let inner = changes_of(&c, 0, &tree.join("inner"));
    assert_eq!(inner[0].raw["new"]["link_target"], "target");
    daemon.stop();

    // A watched path that is a link out of the roots is refused at load,
    // at its line.
    let escape = dir.path().join("escape.toml");
    fs::write(
        &escape,
        format!(
            "[collect]\nallowed_roots = [\"{root}\"]\n\n[[collect.files]]\npaths = [\n  \"{root}/out\",\n]\n",
            root = tree.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(vigil_tests::bin("vigild"))
        .arg("--config")
        .arg(&escape)
        .arg("--check-config")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("{}:6:3:", escape.display()))
            && stderr.contains("outside the allowed roots"),
        "{stderr}"
    );
}

#[test]
fn a_lost_notification_leads_to_a_rescan_that_misses_nothing() {
    let _alone = crate::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let (tree, config) = watched(dir.path(), "");
    let daemon = Daemon::in_dir(&config, dir.path());
    let first = scans_finished(&daemon, 1);
    let mark = last_seq(&first);

    // vigild is stopped while the files are written, each raising three
    // events (create, modify, close): more than the kernel queues.
    let queue: usize = fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        queue <= 100_000,
        "max_queued_events {queue}: too large to flood here"
    );
    let files = queue / 3 + 1000;
    daemon.signal(nix::sys::signal::Signal::SIGSTOP);
    for i in 0..files {
        fs::write(tree.join(format!("f{i:05}")), format!("{i}")).unwrap();
    }
    daemon.signal(nix::sys::signal::Signal::SIGCONT);
    // Every file recorded, and the rescan the overflow caused finished
    // (it may come after the live looks caught up).
    let c = wait_for("every file and the overflow's rescan", || {
        let c = collected(&daemon);
        let created = c
            .records
            .iter()
            .filter(|r| r.seq > mark && r.change == "created")
            .count();
        let rescans: Vec<u64> = c
            .started
            .iter()
            .filter(|(_, s)| s["reason"] == "overflow")
            .map(|(seq, _)| *seq)
            .collect();
        let finished = |scan: &u64| c.finished.iter().any(|f| f["scan"] == *scan);
        (created >= files && !rescans.is_empty() && rescans.iter().all(finished)).then_some(c)
    });
    // Each file created once; a look may have caught one between its
    // creation and its write, so a modification may follow, never precede.
    let mut seen: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in c.records.iter().filter(|r| r.seq > mark) {
        seen.entry(&r.path).or_default().push(&r.change);
    }
    assert_eq!(seen.len(), files);
    for (path, changes) in &seen {
        assert_eq!(changes[0], "created", "{path}: {changes:?}");
        assert!(
            changes[1..].iter().all(|c| *c == "modified"),
            "{path}: {changes:?}"
        );
    }
    // And the baseline ends with every file's content.
    let last: BTreeMap<&str, &Record> = c
        .records
        .iter()
        .filter(|r| r.seq > mark)
        .map(|r| (r.path.as_str(), r))
        .collect();
    for i in 0..files {
        let path = tree.join(format!("f{i:05}"));
        let record = last[path.to_str().unwrap()];
        assert_eq!(
            record.new_sha,
            Some(sha256(format!("{i}").as_bytes())),
            "{}",
            path.display()
        );
    }
}

#[test]
fn a_crash_during_the_first_baseline_loses_and_repeats_nothing() {
    let _alone = crate::exclusive();
    let dir = tempfile::tempdir().unwrap();
    // Slow hashing (4 KiB files at 2 MiB/s: about 500 files a second), so
    // the kill lands in the middle.
    let (tree, config) = watched(dir.path(), "");
    let text = fs::read_to_string(&config).unwrap();
    let slow = text.replace("[collect]\n", "[collect]\nread_rate = \"2MiB\"\n");
    fs::write(&config, slow).unwrap();
    const FILES: usize = 3000;
    let block = vec![b'x'; 4096];
    for d in 0..30 {
        fs::create_dir(tree.join(format!("d{d:02}"))).unwrap();
        for f in 0..FILES / 30 {
            fs::write(tree.join(format!("d{d:02}/f{f:03}")), &block).unwrap();
        }
    }
    let daemon = Daemon::in_dir(&config, dir.path());
    wait_for("part of the baseline", || {
        let c = collected(&daemon);
        (c.records.len() >= 600 && c.finished.is_empty()).then_some(())
    });
    daemon.kill9();

    fs::write(&config, text).unwrap();
    let daemon = Daemon::in_dir(&config, dir.path());
    let c = scans_finished(&daemon, 1);
    assert_eq!(c.started.len(), 2, "the interrupted scan and the next");
    let mut seen: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in &c.records {
        seen.entry(&r.path).or_default().push(&r.change);
    }
    assert_eq!(seen.len(), FILES + 31, "every path");
    for (path, changes) in &seen {
        assert_eq!(changes, &["baseline"], "{path} recorded once, as baseline");
    }
    assert!(c.records.iter().all(|r| r.scan.is_some()));
    verified(&daemon);
}

#[test]
fn a_capability_added_to_a_file_is_a_change_when_xattrs_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, config) = watched(
        dir.path(),
        "attributes = [\"sha256\", \"mode\", \"uid\", \"gid\", \"type\", \"xattrs\"]\n",
    );
    let binary = tree.join("tool");
    fs::write(&binary, "#!/bin/sh\n").unwrap();
    let daemon = Daemon::in_dir(&config, dir.path());
    let mark = last_seq(&scans_finished(&daemon, 1));
    // cap_net_raw+ep, as `setcap` writes it (VFS_CAP_REVISION_2).
    let cap: [u8; 20] = [
        0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0,
        0, 0,
    ];
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import os; os.setxattr({:?}, 'security.capability', bytes({:?}))",
            binary.to_str().unwrap(),
            cap.to_vec()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let c = wait_records(&daemon, "the capability", mark, |later| !later.is_empty());
    let found = changes_of(&c, mark, &binary);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].change, "metadata");
    let names: Vec<&str> = found[0].raw["new"]["xattrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[0].as_str().unwrap())
        .collect();
    assert_eq!(names, ["security.capability"]);
    let annotations = &found[0].raw["alert"]["annotations"];
    assert!(
        annotations["changed_xattrs"]
            .as_str()
            .is_some_and(|c| c.contains("security.capability")),
        "{annotations:#?}"
    );
}

#[test]
fn a_reload_that_adds_a_path_baselines_it_and_watches_it() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, config) = watched(dir.path(), "");
    let more = dir.path().join("more");
    fs::create_dir(&more).unwrap();
    let more = more.canonicalize().unwrap();
    fs::write(more.join("a"), "a").unwrap();
    let daemon = Daemon::in_dir(&config, dir.path());
    scans_finished(&daemon, 1);
    let text = fs::read_to_string(&config).unwrap().replace(
        &format!("allowed_roots = [\"{}\"]", tree.display()),
        &format!(
            "allowed_roots = [\"{}\", \"{}\"]",
            tree.display(),
            more.display()
        ),
    ) + &format!(
        "\n[[collect.files]]\nname = \"more\"\npaths = [\"{}\"]\n",
        more.display()
    );
    fs::write(&config, text).unwrap();
    ok(&daemon.ctl(&["reload"]));
    let c = scans_finished(&daemon, 2);
    assert_eq!(c.started[1].1["reason"], "reload");
    let a = changes_of(&c, 0, &more.join("a"));
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0].change, "baseline",
        "a new path is baselined, not alerted"
    );
    let mark = last_seq(&c);
    fs::write(more.join("a"), "changed").unwrap();
    let c = wait_records(&daemon, "the change under the new path", mark, |later| {
        !later.is_empty()
    });
    assert_eq!(changes_of(&c, mark, &more.join("a"))[0].change, "modified");
    // A second reload of the same file changes nothing: no second scan.
    ok(&daemon.ctl(&["reload"]));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(collected(&daemon).started.len(), 2);
}

#[test]
fn overlapping_paths_record_each_file_once_and_a_missing_path_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, config) = watched(dir.path(), "");
    fs::create_dir(tree.join("sub")).unwrap();
    fs::write(tree.join("sub/f"), "f").unwrap();
    let text = fs::read_to_string(&config).unwrap().replace(
        &format!("paths = [\"{}\"]", tree.display()),
        &format!(
            "paths = [\"{0}\", \"{0}/sub\", \"{0}/missing/deeper\"]",
            tree.display()
        ),
    );
    fs::write(&config, text).unwrap();
    let daemon = Daemon::in_dir(&config, dir.path());
    let c = scans_finished(&daemon, 1);
    assert_eq!(
        changes_of(&c, 0, &tree.join("sub/f")).len(),
        1,
        "baselined once"
    );
    assert_eq!(changes_of(&c, 0, &tree.join("sub")).len(), 1);
    let mark = last_seq(&c);
    fs::write(tree.join("sub/f"), "changed").unwrap();
    let c = wait_records(&daemon, "the change", mark, |later| !later.is_empty());
    std::thread::sleep(Duration::from_millis(1500));
    let c2 = collected(&daemon);
    assert_eq!(changes_of(&c, mark, &tree.join("sub/f")).len(), 1);
    assert_eq!(last_seq(&c2), last_seq(&c), "recorded once");
    // The missing path is the doctor's to report: no scan is recorded for
    // its missing parent, now or every minute.
    assert_eq!(c2.started.len(), 1, "{:#?}", c2.started);
}

#[test]
fn a_burst_across_nested_paths_and_a_watched_directory_made_anew_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, config) = watched(dir.path(), "");
    let app = tree.join("app");
    fs::create_dir(&app).unwrap();
    fs::write(app.join("x"), "x").unwrap();
    // `app` is a watched path of its own, inside the watched tree.
    let text = fs::read_to_string(&config).unwrap().replace(
        &format!("paths = [\"{}\"]", tree.display()),
        &format!("paths = [\"{0}\", \"{0}/app\"]", tree.display()),
    );
    fs::write(&config, text).unwrap();
    let daemon = Daemon::in_dir(&config, dir.path());
    let mark = last_seq(&scans_finished(&daemon, 1));

    // The outer directory's change and the inner file's, in one burst.
    fs::set_permissions(&tree, fs::Permissions::from_mode(0o750)).unwrap();
    fs::write(app.join("x"), "evil").unwrap();
    let c = wait_records(&daemon, "both changes", mark, |later| later.len() >= 2);
    assert_eq!(changes_of(&c, mark, &app.join("x"))[0].change, "modified");
    assert_eq!(changes_of(&c, mark, &tree)[0].change, "metadata");
    let mark = last_seq(&c);

    // The inner watched directory removed, then made anew with a file.
    fs::remove_dir_all(&app).unwrap();
    let c = wait_records(&daemon, "the removal", mark, |later| later.len() >= 2);
    let mark = last_seq(&c);
    fs::create_dir(&app).unwrap();
    fs::write(app.join("y"), "y").unwrap();
    let c = wait_records(&daemon, "the new directory's file", mark, |later| {
        later.iter().any(|r| r.path.ends_with("/app/y"))
    });
    assert_eq!(changes_of(&c, mark, &app.join("y"))[0].change, "created");
    // And it is watched again: a change in it is seen live.
    let mark = last_seq(&c);
    fs::write(app.join("y"), "y2").unwrap();
    let c = wait_records(&daemon, "a change in it", mark, |later| !later.is_empty());
    assert_eq!(changes_of(&c, mark, &app.join("y"))[0].change, "modified");
}

#[test]
fn a_watched_directory_swapped_for_a_link_out_records_the_link_and_nothing_behind_it() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), "not to be read").unwrap();
    fs::create_dir(outside.path().join("deeper")).unwrap();
    fs::write(outside.path().join("deeper/secret2"), "nor this").unwrap();
    let (tree, config) = watched(dir.path(), "");
    fs::create_dir(tree.join("sub")).unwrap();
    fs::write(tree.join("sub/f"), "f").unwrap();
    let daemon = Daemon::in_dir(&config, dir.path());
    let mark = last_seq(&scans_finished(&daemon, 1));

    // The directory, watched and baselined, becomes a link out of the root.
    fs::remove_dir_all(tree.join("sub")).unwrap();
    std::os::unix::fs::symlink(outside.path(), tree.join("sub")).unwrap();
    let c = wait_records(&daemon, "the swap", mark, |later| {
        later
            .iter()
            .any(|r| r.path.ends_with("/sub") && r.raw["new"]["file_type"] == "symlink")
            && later
                .iter()
                .any(|r| r.path.ends_with("/sub/f") && r.change == "deleted")
    });
    // A full scan too: nothing behind the link is named or read.
    ok(&daemon.ctl(&["files", "scan"]));
    let c2 = scans_finished(&daemon, 2);
    assert!(
        c.records
            .iter()
            .chain(&c2.records)
            .all(|r| !r.path.contains("secret") && !r.path.contains("deeper")),
        "{:#?}",
        c2.records
    );
    let files = ok(&daemon.ctl(&["--json", "files", "list"]));
    assert!(!files.contains("secret"), "{files}");
}
