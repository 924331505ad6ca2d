//! `vigilctl files …`, `status` and `doctor` on file integrity.
//!
//! Against a daemon without file integrity monitoring (no
//! `[[collect.files]]`): the listing is empty but answers, a path has no
//! record, a scan is refused as not configured (and leaves no "allowed"
//! entry, since nothing was scanned), status says so; a role without
//! `files.write` is refused a scan whatever the configuration, and the
//! refusal is recorded.
//!
//! Against a running collector on a temporary tree: the listing shows
//! every path with its type, mode and digest, `--path` only a subtree;
//! `show` a path's baseline and its modification with the diff; a scan on
//! request ends with its summary, recorded as reason `operator` with who
//! allowed it; status has the file integrity lines; and `doctor` names a
//! watched path that does not exist and a tree over its `max_files`.
//! (What the collector records, change by change: `files.rs`.)
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use vigil_tests::{Daemon, json_lines, ok, open_dir, shared_tempdir, wait_for, write_config};

const VIEWER: u32 = 4242;
/// A uid whose role may read file records but not scan.
const READER: u32 = 4343;

struct Setup {
    _tmp: tempfile::TempDir,
    daemon: Daemon,
}

/// A daemon with no file integrity monitoring: root is admin, uid
/// [`VIEWER`] a viewer, uid [`READER`] a custom role with `files.read`.
fn start() -> Setup {
    let tmp = shared_tempdir();
    let dir = tmp.path().to_path_buf();
    let run = open_dir(&dir, "run");
    let socket: PathBuf = run.join("control.sock");
    let config = dir.join("vigil.toml");
    std::fs::write(
        &config,
        format!(
            r#"[daemon]
state_dir = "{state}"
socket = "{socket}"
socket_mode = "0666"

[http]
listen = "127.0.0.1:0"

[access.users]
"0" = "admin"
"{VIEWER}" = "viewer"
"{READER}" = "reader"

[roles.reader]
permissions = ["status.read", "files.read", "events.read"]
"#,
            state = dir.join("state").display(),
            socket = socket.display(),
        ),
    )
    .unwrap();
    let daemon = Daemon::with_config(&config, &socket, &dir.join("state"));
    Setup { _tmp: tmp, daemon }
}

/// The stderr of a command that must have failed with exit status 2.
fn refused(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected a refusal: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The decisions recorded for `action`, oldest first.
fn decisions(daemon: &Daemon, action: &str) -> Vec<String> {
    let auth = json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "auth", "--limit", "1000",
    ])));
    auth.iter()
        .filter(|e| e["event"]["auth"]["action"] == action)
        .map(|e| e["event"]["auth"]["decision"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn without_file_integrity_the_listing_is_empty_and_a_scan_is_refused() {
    let Setup { _tmp, daemon: d } = start();

    // An empty listing, with its header; nothing at all with --json.
    let human = ok(&d.ctl(&["files", "list"]));
    assert!(
        human.starts_with("PATH  TYPE  MODE  OWNER  SIZE  SHA256  CHANGES\n"),
        "{human}"
    );
    assert!(
        human.contains("0 paths recorded; nothing baselined yet"),
        "{human}"
    );
    assert!(human.contains("no scan has finished"), "{human}");
    assert!(ok(&d.ctl(&["--json", "files", "list"])).is_empty());
    assert!(ok(&d.ctl(&["--json", "files", "list", "--path", "/etc"])).is_empty());

    // No record of any path.
    let e = refused(&d.ctl(&["files", "show", "/etc/passwd"]));
    assert!(e.contains("nothing is recorded for /etc/passwd"), "{e}");

    // A scan: refused, not configured, and not recorded as allowed.
    for args in [["files", "scan"].as_slice(), &["--json", "files", "scan"]] {
        let out = d.ctl(args);
        assert!(out.stdout.is_empty(), "{args:?}");
        let e = refused(&out);
        assert!(
            e.contains("file integrity monitoring is not configured")
                && e.contains("[[collect.files]]"),
            "{e}"
        );
    }
    assert!(decisions(&d, "files.scan").is_empty());

    // Status says so, in both forms.
    let status = ok(&d.ctl(&["status"]));
    assert!(
        status
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["files", "not", "configured"]),
        "{status}"
    );
    let json = json_lines(&ok(&d.ctl(&["--json", "status"])));
    assert_eq!(json[0]["files"], serde_json::Value::Null, "{json:?}");
    assert!(d.stop().success());
}

#[test]
fn a_role_without_files_write_may_look_but_not_scan() {
    let Setup { _tmp, daemon: d } = start();
    for uid in [VIEWER, READER] {
        // Looking is allowed...
        let listed = ok(&d.ctl_as(uid, uid, &[], &["--json", "files", "list"]));
        assert!(listed.is_empty(), "{listed}");
        // ...scanning is not, before anything else is looked at.
        let e = refused(&d.ctl_as(uid, uid, &[], &["files", "scan"]));
        assert!(
            e.contains("may not files.scan") && e.contains("files.write"),
            "uid {uid}: {e}"
        );
    }
    assert_eq!(
        decisions(&d, "files.scan"),
        ["deny", "deny"],
        "each caller's refusal is recorded"
    );
    assert!(d.stop().success());
}

/// A daemon watching `DIR/w` (the only allowed root) with `sets` as its
/// `[[collect.files]]` tables (`{root}` in them stands for the tree).
fn collecting(dir: &Path, sets: &str) -> (PathBuf, Daemon) {
    let tree = dir.join("w");
    fs::create_dir_all(&tree).unwrap();
    let tree = tree.canonicalize().unwrap();
    let config = write_config(
        dir,
        &format!(
            "[http]\nenabled = false\n\n[collect]\nallowed_roots = [\"{root}\"]\n\n{sets}",
            root = tree.display(),
            sets = sets.replace("{root}", &tree.display().to_string()),
        ),
    );
    (tree, Daemon::in_dir(&config, dir))
}

/// The collector's entries (`event.file_integrity`) with their seqs.
fn collect_events(daemon: &Daemon) -> Vec<(u64, Value)> {
    let lines = json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "collect", "--limit", "10000",
    ])));
    lines
        .into_iter()
        .map(|l| {
            (
                l["seq"].as_u64().unwrap(),
                l["event"]["file_integrity"].clone(),
            )
        })
        .collect()
}

/// Waits for the first finished scan; its totals.
fn first_scan(daemon: &Daemon) -> Value {
    wait_for("the first scan to finish", || {
        collect_events(daemon)
            .into_iter()
            .find_map(|(_, e)| e.get("scan_finished").map(|f| f["totals"].clone()))
    })
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// The table rows of a `files list`, by path: the other columns.
fn rows(listing: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    listing
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with('/'))
        .map(|l| {
            let cells: Vec<String> = l
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect();
            (cells[0].clone(), cells[1..].to_vec())
        })
        .collect()
}

#[test]
fn files_list_show_scan_and_status_with_the_collector_running() {
    let tmp = shared_tempdir();
    let dir = tmp.path();
    let tree = dir.join("w");
    fs::create_dir_all(tree.join("sub")).unwrap();
    // Modes set, not left to the umask: the listing shows them.
    for (path, text, mode) in [
        ("conf", "port = 22\n", 0o644),
        ("sub/a", "alpha\n", 0o644),
        ("sub/b", "beta\n", 0o600),
    ] {
        fs::write(tree.join(path), text).unwrap();
        fs::set_permissions(tree.join(path), fs::Permissions::from_mode(mode)).unwrap();
    }
    for d in [&tree, &tree.join("sub")] {
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::os::unix::fs::symlink("conf", tree.join("link")).unwrap();
    let (tree, d) = collecting(
        dir,
        "[[collect.files]]\nname = \"w\"\npaths = [\"{root}\"]\nreport_changes = true\n",
    );
    let totals = first_scan(&d);
    assert_eq!(totals["baselined"], 6, "{totals}");
    let at = |p: &str| format!("{}{p}", tree.display());

    // Every path, with its type, mode and digest.
    let human = ok(&d.ctl(&["files", "list"]));
    assert!(human.starts_with("PATH "), "{human}");
    let listed = rows(&human);
    let short = |text: &str| sha256(text.as_bytes())[..12].to_string();
    let expect = [
        (at(""), "dir", "0755", "-".to_string()),
        (at("/conf"), "file", "0644", short("port = 22\n")),
        (
            format!("{} -> conf", at("/link")),
            "symlink",
            "0777",
            "-".into(),
        ),
        (at("/sub"), "dir", "0755", "-".into()),
        (at("/sub/a"), "file", "0644", short("alpha\n")),
        (at("/sub/b"), "file", "0600", short("beta\n")),
    ];
    assert_eq!(listed.len(), expect.len(), "{human}");
    for (path, kind, mode, sha) in &expect {
        let row = listed
            .get(path)
            .unwrap_or_else(|| panic!("{path} not in\n{human}"));
        // TYPE MODE OWNER SIZE SHA256 CHANGES
        assert_eq!(
            (row[0].as_str(), row[1].as_str()),
            (*kind, *mode),
            "{path}: {row:?}"
        );
        assert_eq!(row[4], *sha, "{path}: {row:?}");
        assert_eq!(row[5], "0", "{path}: no change yet");
    }
    assert!(
        human.contains(&format!("6 paths recorded; baselined: {}\n", at(""))),
        "{human}"
    );
    assert!(human.contains("\nlast scan "), "{human}");
    let json = json_lines(&ok(&d.ctl(&["--json", "files", "list"])));
    assert_eq!(json.len(), 6);
    let conf = json.iter().find(|f| f["path"] == at("/conf")).unwrap();
    assert_eq!(conf["file_type"], "file");
    assert_eq!(conf["sha256"], sha256(b"port = 22\n"));
    assert_eq!(conf["size"], 10);
    assert_eq!(conf["mode"].as_u64().unwrap() & 0o7777, 0o644);
    let link = json.iter().find(|f| f["path"] == at("/link")).unwrap();
    assert_eq!(
        (link["file_type"].as_str(), link["link_target"].as_str()),
        (Some("symlink"), Some("conf"))
    );

    // A subtree only.
    let sub = at("/sub");
    let human = ok(&d.ctl(&["files", "list", "--path", &sub]));
    let paths: Vec<String> = rows(&human).into_keys().collect();
    assert_eq!(paths, [at("/sub"), at("/sub/a"), at("/sub/b")], "{human}");
    assert!(human.contains("3 paths recorded;"), "{human}");
    let json = json_lines(&ok(&d.ctl(&["--json", "files", "list", "--path", &sub])));
    let paths: Vec<&str> = json.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, [at("/sub"), at("/sub/a"), at("/sub/b")]);

    // A modification, then its record.
    fs::write(tree.join("conf"), "port = 22\nPermitRootLogin yes\n").unwrap();
    let new_sha = sha256(b"port = 22\nPermitRootLogin yes\n");
    let conf = at("/conf");
    let shown = wait_for("the modification's record", || {
        let detail = json_lines(&ok(&d.ctl(&["--json", "files", "show", &conf])));
        let history = detail[0]["history"].as_array().unwrap();
        history
            .iter()
            .any(|h| h["change"] == "modified" && h["new"]["sha256"] == new_sha)
            .then(|| detail[0].clone())
    });
    assert_eq!(shown["current"]["sha256"], new_sha);
    let changes: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["baseline", "modified"]);
    assert!(
        shown["history"][1]["diff"]
            .as_str()
            .unwrap()
            .contains("+PermitRootLogin yes")
    );
    let human = ok(&d.ctl(&["files", "show", &conf]));
    for line in [
        format!("{conf}\n"),
        "  type      file\n".into(),
        "  mode      0644\n".into(),
        "  size      30 bytes\n".into(),
        format!("  sha256    {new_sha}\n"),
        "  changes   1 (last recorded at seq ".into(),
        "history (2 records, oldest first)\n".into(),
        format!(
            "    file 0644 root:root 10 bytes sha256 {}\n",
            short("port = 22\n")
        ),
        format!(
            "    sha256: {} → {}\n",
            short("port = 22\n"),
            &new_sha[..12]
        ),
        "    size: 10 → 30\n".into(),
        "    diff:\n".into(),
        " port = 22\n+PermitRootLogin yes\n".into(),
    ] {
        assert!(human.contains(&line), "{line:?} not in\n{human}");
    }
    let baseline = human.find(" baseline\n").unwrap();
    let modified = human.find(" modified\n").unwrap();
    assert!(baseline < modified, "oldest first:\n{human}");

    // A scan on request: no progress bar off a terminal, its summary, and
    // in the log with who allowed it.
    let out = d.ctl(&["files", "scan"]);
    let summary = ok(&out);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(summary.starts_with("scan "), "{summary}");
    assert!(
        summary.contains(": 6 paths, 0 changes, 0 baselined, 0 errors, "),
        "{summary}"
    );
    let id: u64 = summary["scan ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let events = collect_events(&d);
    let started = events
        .iter()
        .find(|(seq, _)| *seq == id)
        .and_then(|(_, e)| e.get("scan_started"))
        .unwrap_or_else(|| panic!("no scan_started at seq {id}: {events:?}"));
    assert_eq!(started["reason"], "operator");
    assert_eq!(started["roots"], serde_json::json!([at("")]));
    assert_eq!(decisions(&d, "files.scan"), ["allow"]);
    let out = d.ctl(&["--json", "files", "scan"]);
    let json = json_lines(&ok(&out));
    assert!(out.stderr.is_empty());
    assert_eq!(json.len(), 1, "one line: no progress in JSON");
    assert!(json[0]["scan"].as_u64().unwrap() > id);
    assert_eq!(json[0]["totals"]["files"], 6);
    assert_eq!(json[0]["totals"]["errors"], 0);
    assert_eq!(decisions(&d, "files.scan"), ["allow", "allow"]);

    // Status: the file integrity lines.
    let status = ok(&d.ctl(&["status"]));
    let line = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no `{name}` line in\n{status}"))
            .split_whitespace()
            .skip(name.split_whitespace().count())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(line("files"), "6 recorded, 1 changes since the log began");
    // The tree's two directories and the tree's parent (where the tree
    // itself would be seen made anew).
    assert_eq!(
        line("watching"),
        "3 dirs, 0 unwatched (scanned on schedule), 0 queue overflows"
    );
    let last = line("last scan");
    assert!(
        last.starts_with(&format!("scan {} finished at ", json[0]["scan"])),
        "{last}"
    );
    let status = json_lines(&ok(&d.ctl(&["--json", "status"])));
    let files = &status[0]["files"];
    assert_eq!(files["files"], 6, "{files}");
    assert_eq!(files["changes"], 1);
    assert_eq!(
        files["watched_dirs"], 3,
        "the tree's two directories and its parent"
    );
    assert_eq!(files["last_scan"]["scan"], json[0]["scan"]);
    assert!(files["scanning"].is_null());

    // The doctor has nothing against it.
    let findings = json_lines(&String::from_utf8_lossy(
        &d.ctl(&["--json", "doctor"]).stdout,
    ));
    let mine: Vec<&Value> = findings
        .iter()
        .filter(|f| f["check"].as_str().unwrap().starts_with("files"))
        .collect();
    assert_eq!(mine.len(), 1, "{mine:#?}");
    assert_eq!(mine[0]["severity"], "ok");
    assert_eq!(
        mine[0]["message"],
        format!(
            "1 watched path(s) readable; scan {} read every path; 3 directories watched live",
            json[0]["scan"]
        )
    );
    assert!(d.stop().success());
}

#[test]
fn doctor_names_a_missing_path_and_a_tree_over_its_limit() {
    let tmp = shared_tempdir();
    let dir = tmp.path();
    let big = dir.join("w/big");
    fs::create_dir_all(&big).unwrap();
    for i in 0..10 {
        fs::write(big.join(format!("f{i}")), format!("{i}")).unwrap();
    }
    // The missing path's parent exists: the only trouble is the path.
    let (tree, d) = collecting(
        dir,
        "[[collect.files]]\nname = \"big\"\npaths = [\"{root}/big\"]\nmax_files = 3\n\n\
         [[collect.files]]\nname = \"gone\"\npaths = [\"{root}/missing\"]\n",
    );
    let totals = first_scan(&d);
    assert_eq!(
        totals["over_limit"],
        serde_json::json!([format!("{}/big", tree.display())])
    );
    let missing = format!("{}/missing", tree.display());
    let big = format!("{}/big", tree.display());

    let out = d.ctl(&["doctor"]);
    let human = String::from_utf8_lossy(&out.stdout);
    let squeezed: Vec<String> = human
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let said = |text: &str| {
        assert!(
            squeezed.iter().any(|l| l.contains(text)),
            "{text:?} not in\n{human}"
        );
    };
    said(&format!(
        "WARNING files-path {missing} (set `gone`) does not exist: nothing is monitored there"
    ));
    said(
        "fix: correct the path (a typo?) or remove it from the paths of [[collect.files]] `gone`, or create it",
    );
    let over = format!(
        "found more paths than max_files under {big}: the rest was neither examined nor watched"
    );
    assert!(
        squeezed
            .iter()
            .any(|l| l.starts_with("WARNING files-scan scan ") && l.ends_with(&over)),
        "{over:?} not in\n{human}"
    );
    said(
        "fix: raise max_files in its [[collect.files]], or leave out what need not be watched with `exclude`",
    );

    let findings = json_lines(&String::from_utf8_lossy(
        &d.ctl(&["--json", "doctor"]).stdout,
    ));
    let mine: Vec<(&str, &str, &str)> = findings
        .iter()
        .filter(|f| f["check"].as_str().unwrap().starts_with("files"))
        .map(|f| {
            (
                f["check"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        mine.len(),
        2,
        "the path and the limit, nothing else: {mine:#?}"
    );
    assert!(mine.iter().all(|(_, severity, _)| *severity == "warning"));
    assert!(
        mine.iter()
            .any(|(check, _, m)| *check == "files-path" && m.starts_with(&missing))
    );
    assert!(
        mine.iter()
            .any(|(check, _, m)| *check == "files-scan" && m.contains(&big))
    );
    // Warnings, not errors: the doctor does not fail on them.
    assert!(
        findings.iter().all(|f| f["severity"] != "error"),
        "{findings:#?}"
    );
    assert!(out.status.success(), "{human}");
    assert!(d.stop().success());
}
