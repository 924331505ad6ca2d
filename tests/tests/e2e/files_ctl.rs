//! `vigilctl files …` against a daemon without file integrity monitoring
//! (no `[[collect.files]]`): the listing is empty but answers, a path has
//! no record, a scan is refused as not configured (and leaves no "allowed"
//! entry, since nothing was scanned), status says so; a role without
//! `files.write` is refused a scan whatever the configuration, and the
//! refusal is recorded. (With the collector running, its own module.)
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Output;
use vigil_tests::{Daemon, json_lines, ok, open_dir, shared_tempdir};

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
