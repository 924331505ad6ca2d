//! Access control end to end: the login is the socket peer's credentials,
//! unmapped callers are refused and recorded, roles limit requests,
//! supplementary groups count, break-glass works and is loud, and a flood
//! of denials is counted rather than logged one by one.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use vigil_store::{Event, Log};
use vigil_tests::*;

const NOBODY: u32 = 65534;
const VIEWER: u32 = 4242;
const GROUPED: u32 = 4343;
const OPS_GID: u32 = 777;

struct Setup {
    _tmp: tempfile::TempDir,
    config: PathBuf,
    socket: PathBuf,
    state: PathBuf,
}

fn setup() -> Setup {
    let tmp = shared_tempdir();
    let run = open_dir(tmp.path(), "run");
    let state = tmp.path().join("state");
    let socket = run.join("control.sock");
    let config = tmp.path().join("vigil.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[daemon]
state_dir = "{state}"
socket = "{socket}"
socket_mode = "0666"

[http]
listen = "127.0.0.1:0"

[access]
break_glass_root = true

[access.users]
"{VIEWER}" = "viewer"

[access.groups]
"{OPS_GID}" = "operator"
"#,
            state = state.display(),
            socket = socket.display()
        ),
    )
    .unwrap();
    Setup {
        _tmp: tmp,
        config,
        socket,
        state,
    }
}

fn start(s: &Setup) -> Daemon {
    Daemon::with_config(&s.config, &s.socket, &s.state)
}

fn err(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn unmapped_callers_are_refused_and_the_refusal_is_in_the_log() {
    let s = setup();
    let daemon = start(&s);
    let out = daemon.ctl_as(NOBODY, NOBODY, &[], &["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err(&out).contains(&format!("uid {NOBODY}")) && err(&out).contains("has no role"),
        "{}",
        err(&out)
    );

    // Root gets in by break-glass, loudly, and sees the denial.
    let logins = ok(&daemon.ctl(&["--json", "logins"]));
    let records = json_lines(&logins);
    let denial = records
        .iter()
        .find(|r| r["type"] == "denial")
        .expect("a denial record");
    assert!(
        denial["record"]["who"]
            .as_str()
            .unwrap()
            .contains(&format!("uid {NOBODY}"))
    );
    assert_eq!(denial["record"]["action"], "connect");
    let root = records.iter().find(|r| r["type"] == "login").unwrap();
    assert_eq!(root["record"]["break_glass"], true);
    // The daemon's log is read by another thread: wait for the line.
    let stderr = vigil_tests::wait_for("the break-glass warning in the daemon's log", || {
        let stderr = daemon.stderr();
        stderr
            .contains("break-glass access by uid 0")
            .then_some(stderr)
    });
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("break-glass access by uid 0") && l.contains("WARN")),
        "break-glass is logged at warning level: {stderr}"
    );

    let auth = json_lines(&ok(
        &daemon.ctl(&["--json", "events", "list", "--kind", "auth"])
    ));
    assert!(auth.iter().any(|e| e["event"]["auth"]["decision"] == "deny"
        && e["event"]["auth"]["actor"]["local"]["uid"] == NOBODY));
    assert!(
        auth.iter()
            .any(|e| e["event"]["auth"]["break_glass"] == true)
    );
    assert!(daemon.stop().success());
}

#[test]
fn roles_limit_requests_and_every_denial_and_change_is_recorded() {
    let s = setup();
    let daemon = start(&s);
    // The viewer may look...
    let status = ok(&daemon.ctl_as(VIEWER, VIEWER, &[], &["status"]));
    assert!(status.contains("as viewer"), "{status}");
    ok(&daemon.ctl_as(VIEWER, VIEWER, &[], &["events", "list"]));
    // ...but not change or audit.
    let out = daemon.ctl_as(VIEWER, VIEWER, &[], &["emit", "-m", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err(&out).contains("may not emit") && err(&out).contains("events.write"),
        "{}",
        err(&out)
    );
    let out = daemon.ctl_as(VIEWER, VIEWER, &[], &["logins"]);
    assert!(err(&out).contains("audit.read"), "{}", err(&out));

    // Supplementary groups count: GROUPED is an operator through gid 777.
    let seq = ok(&daemon.ctl_as(
        GROUPED,
        GROUPED,
        &[GROUPED, OPS_GID],
        &["emit", "-m", "from ops"],
    ));
    let seq: u64 = seq.trim().parse().unwrap();
    // Without the group, the same uid is a stranger.
    let out = daemon.ctl_as(GROUPED, GROUPED, &[], &["status"]);
    assert!(err(&out).contains("has no role"), "{}", err(&out));

    let auth = json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "auth", "--limit", "100",
    ])));
    let denied: Vec<_> = auth
        .iter()
        .filter(|e| e["event"]["auth"]["decision"] == "deny")
        .map(|e| e["event"]["auth"]["action"].as_str().unwrap().to_string())
        .collect();
    assert!(
        denied.contains(&"emit".to_string()) && denied.contains(&"logins".to_string()),
        "{denied:?}"
    );
    // The emit is recorded with who allowed it, right before the event itself.
    let before = json_lines(&ok(&daemon.ctl(&[
        "--json",
        "events",
        "show",
        &(seq - 1).to_string(),
    ])));
    assert_eq!(before[0]["event"]["auth"]["action"], "emit");
    assert_eq!(before[0]["event"]["auth"]["role"], "operator");
    assert_eq!(before[0]["event"]["auth"]["actor"]["local"]["uid"], GROUPED);
    assert!(daemon.stop().success());
}

#[test]
fn a_denial_flood_is_counted_not_logged_one_by_one() {
    let s = setup();
    let daemon = start(&s);
    let attempts = 40;
    for _ in 0..attempts {
        let out = daemon.ctl_as(NOBODY, NOBODY, &[], &["status"]);
        assert_eq!(out.status.code(), Some(2));
    }
    assert!(daemon.stop().success());
    // At shutdown the counted repeats are written as one event.
    let log = Log::open_read_only(&s.state.join("store")).unwrap();
    let mut individual = 0;
    let mut counted = 0;
    for e in log.entries(1) {
        match e.unwrap().event().unwrap() {
            Some(Event::Auth(a))
                if a.action == "connect" && a.decision == vigil_store::Decision::Deny =>
            {
                individual += 1
            }
            Some(Event::AuthRejections(r)) => counted += r.count,
            _ => {}
        }
    }
    assert_eq!(
        individual, 1,
        "only the first denial of the window is its own event"
    );
    assert_eq!(counted, attempts - 1, "every other attempt is counted");
}

#[test]
fn root_without_break_glass_needs_a_mapping() {
    let s = setup();
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("break_glass_root = true", "break_glass_root = false");
    std::fs::write(&s.config, text).unwrap();
    let daemon = start(&s);
    let out = daemon.ctl(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err(&out).contains("uid 0") && err(&out).contains("has no role"),
        "{}",
        err(&out)
    );
    let _ = daemon.stop();
}
