//! The README's run command: `vigild --dev` starts a daemon that a second
//! terminal talks to with `vigilctl`, no root and no configuration needed.

#![allow(clippy::unwrap_used)]

use vigil_tests::*;

#[test]
fn a_dev_daemon_serves_a_second_terminal_and_restarts_from_its_snapshot() {
    let cwd = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(cwd.path(), None);
    let banner = daemon.stdout_until(banner_end).join("\n");
    assert!(
        banner.contains("development mode")
            && banner.contains("control.sock")
            && banner.contains("ready"),
        "{banner}"
    );
    let key = cwd.path().join("vigil-data/verification.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A second terminal in the same directory finds ./vigil-data/control.sock itself.
    let ctl = |args: &[&str]| {
        std::process::Command::new(bin("vigilctl"))
            .args(args)
            .current_dir(cwd.path())
            .env_remove("VIGIL_SOCKET")
            .output()
            .unwrap()
    };
    let status = ok(&ctl(&["status"]));
    assert!(
        status.contains("development mode") && status.contains("as admin"),
        "{status}"
    );
    let seq: u64 = ok(&ctl(&[
        "emit",
        "--message",
        "first alert",
        "--severity",
        "warning",
        "--label",
        "host=db1",
    ]))
    .trim()
    .parse()
    .unwrap();
    let listed = ok(&ctl(&["events", "list", "--kind", "custom"]));
    assert!(
        listed.contains("first alert") && listed.contains("host=db1"),
        "{listed}"
    );
    let shown = json_lines(&ok(&ctl(&["--json", "events", "show", &seq.to_string()])));
    assert_eq!(shown[0]["event"]["custom"]["message"], "first alert");

    let verified = json_lines(&ok(&ctl(&[
        "--json",
        "verify",
        "--key",
        key.to_str().unwrap(),
    ])));
    assert_eq!(verified[0]["ok"], true);
    assert_eq!(verified[0]["keyed"], true);
    assert_eq!(verified[0]["first_bad_seq"], serde_json::Value::Null);

    assert!(daemon.stop().success());
    // Stopped: offline verification works on the state directory.
    let offline = json_lines(&ok(&ctl(&[
        "--json",
        "verify",
        "--offline",
        "--state-dir",
        "vigil-data",
        "--key",
        key.to_str().unwrap(),
    ])));
    assert_eq!(offline[0]["ok"], true);
    let stopped_head = offline[0]["head_seq"].as_u64().unwrap();

    // Restart: the views come from the snapshot taken at stop.
    let daemon = Daemon::dev(cwd.path(), None);
    let status = json_lines(&ok(&ctl(&["--json", "status"])));
    assert_eq!(status[0]["snapshot_as_of"].as_u64(), Some(stopped_head));
    assert!(
        status[0]["replayed_at_start"].as_u64().unwrap() <= 2,
        "{status:?}"
    );
    assert!(
        status[0]["head"]["epoch"].as_u64().unwrap() >= 3,
        "every start opens a new epoch"
    );
    let listed = ok(&ctl(&["events", "list", "--kind", "custom"]));
    assert!(listed.contains("first alert"));
    assert!(daemon.stop().success());
}

#[test]
fn offline_verify_refuses_a_store_in_use_and_touches_nothing() {
    let cwd = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(cwd.path(), Some(std::path::Path::new("state")));
    let out = std::process::Command::new(bin("vigilctl"))
        .args(["verify", "--offline", "--state-dir"])
        .arg(cwd.path().join("state"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in use by a running vigild") && err.contains("nothing was touched"),
        "{err}"
    );
    // The daemon is unaffected.
    ok(&daemon.ctl(&["status"]));
    assert!(daemon.stop().success());
}
