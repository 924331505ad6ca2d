//! systemd integration without systemd as PID 1: readiness, watchdog and
//! stopping notifications on a fake `NOTIFY_SOCKET`, and socket activation
//! through `systemd-socket-activate` (from Debian's systemd package).

#![allow(clippy::unwrap_used)]

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vigil_tests::*;

fn datagrams(
    socket: &UnixDatagram,
    until: Duration,
    mut stop: impl FnMut(&[String]) -> bool,
) -> Vec<String> {
    let mut got = Vec::new();
    let deadline = Instant::now() + until;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !stop(&got) {
        if let Ok(n) = socket.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    got
}

#[test]
fn readiness_watchdog_and_stopping_are_notified() {
    let tmp = tempfile::tempdir().unwrap();
    let notify = UnixDatagram::bind(tmp.path().join("notify.sock")).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut child = Command::new(bin("vigild"))
        .args(["--dev", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(tmp.path().join("state"))
        .env("NOTIFY_SOCKET", tmp.path().join("notify.sock"))
        .env("WATCHDOG_USEC", "400000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let got = datagrams(&notify, Duration::from_secs(30), |got| {
        got.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 3
    });
    let ready = got
        .iter()
        .position(|m| m.contains("READY=1"))
        .expect("READY=1 sent");
    assert!(got[ready].contains("STATUS=serving"), "{got:?}");
    let pings = got.iter().filter(|m| m.contains("WATCHDOG=1")).count();
    assert!(
        pings >= 3,
        "watchdog pinged within the 0.4s interval: {got:?}"
    );
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let got = datagrams(&notify, Duration::from_secs(30), |got| {
        got.iter().any(|m| m.contains("STOPPING=1"))
    });
    assert!(got.iter().any(|m| m.contains("STOPPING=1")), "{got:?}");
    assert!(child.wait().unwrap().success());
}

#[test]
fn the_control_socket_can_be_socket_activated() {
    let tmp = tempfile::tempdir().unwrap();
    let socket = tmp.path().join("activated.sock");
    let state = tmp.path().join("state");
    let config = tmp.path().join("vigil.toml");
    // The configured socket path is never bound: systemd's wins.
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate_dir = \"{}\"\nsocket = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n",
            state.display(),
            tmp.path().join("unused.sock").display()
        ),
    )
    .unwrap();
    let activator = Command::new("systemd-socket-activate")
        .arg("--listen")
        .arg(&socket)
        .arg("--fdname=control")
        .arg(bin("vigild"))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut activator =
        activator.expect("systemd-socket-activate must be installed (apt-get install systemd)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The first connection starts the daemon, which serves it on the passed socket.
    let out = Command::new(bin("vigilctl"))
        .arg("--socket")
        .arg(&socket)
        .args(["--json", "status"])
        .output()
        .unwrap();
    let status = json_lines(&ok(&out));
    assert_eq!(status[0]["socket"], socket.display().to_string());
    assert!(!tmp.path().join("unused.sock").exists());
    let pid = nix::unistd::Pid::from_raw(status[0]["pid"].as_u64().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(activator.wait().unwrap().success());
}
