//! `events tail --follow` streams new events as they commit and ends
//! cleanly when the daemon stops; `doctor` flags a loose deployment.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use vigil_tests::*;

#[test]
fn follow_streams_new_events_and_ends_with_the_daemon() {
    let cwd = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(cwd.path(), None);
    ok(&daemon.ctl(&["emit", "-m", "before following"]));
    let mut follower = Command::new(bin("vigilctl"))
        .arg("--socket")
        .arg(&daemon.socket)
        .args(["events", "tail", "--follow", "--kind", "custom", "-n", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(first.contains("before following"), "{first}");
    for i in 0..3 {
        ok(&daemon.ctl(&["emit", "-m", &format!("live {i}")]));
    }
    for i in 0..3 {
        let line = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(line.contains(&format!("live {i}")), "{line}");
    }
    // Only custom events were asked for: the auth events in between are not shown.
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    assert!(daemon.stop().success());
    assert!(
        follower.wait().unwrap().success(),
        "the follower ends cleanly when the daemon stops"
    );
}

#[test]
fn doctor_flags_a_loose_deployment_and_fails_on_errors() {
    let tmp = shared_tempdir();
    let run = open_dir(tmp.path(), "run");
    let (state, socket, config) = (
        tmp.path().join("state"),
        run.join("control.sock"),
        tmp.path().join("vigil.toml"),
    );
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate_dir = \"{}\"\nsocket = \"{}\"\nsocket_mode = \"0666\"\n[http]\nlisten = \"127.0.0.1:0\"\n[notify]\nallow = [\"10.0.0.0/8\", \"hooks.internal\"]\n",
            state.display(),
            socket.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let daemon = Daemon::with_config(&config, &socket, &state);
    let out = daemon.ctl(&["--json", "doctor"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an error finding fails the check"
    );
    let findings = json_lines(&String::from_utf8_lossy(&out.stdout));
    let find = |check: &str| {
        findings
            .iter()
            .find(|f| f["check"] == check)
            .unwrap_or_else(|| panic!("no {check} finding: {findings:?}"))
            .clone()
    };
    assert_eq!(
        find("socket")["severity"],
        "error",
        "a world-connectable socket"
    );
    assert_eq!(
        find("config")["severity"],
        "warning",
        "a world-readable config"
    );
    assert!(
        find("config")["fix"]
            .as_str()
            .unwrap()
            .contains("chmod 0640")
    );
    assert_eq!(
        find("verification-key")["severity"],
        "warning",
        "K(0) left on the host"
    );
    assert_eq!(find("access")["severity"], "warning", "nobody mapped");
    let allow = find("notify-allow");
    assert_eq!(allow["severity"], "warning", "a /8 in the SSRF allowlist");
    assert!(
        allow["message"].as_str().unwrap().contains("10.0.0.0/8"),
        "{allow}"
    );
    assert_eq!(
        findings
            .iter()
            .filter(|f| f["check"] == "notify-allow")
            .count(),
        1,
        "a single host name is not broad"
    );
    assert_eq!(find("state-dir")["severity"], "ok");
    assert_eq!(findings[0]["severity"], "error", "worst first");

    // Fix them: the doctor is satisfied.
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o660)).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::rename(
        state.join("verification.key"),
        tmp.path().join("offline.key"),
    )
    .unwrap();
    let human = ok(&daemon.ctl(&["doctor"]));
    assert!(!human.contains("ERROR"), "{human}");
    assert!(human.contains("fix:"), "findings come with fixes: {human}");
    assert!(daemon.stop().success());
}
