//! The control socket under bad input: oversized, garbage and truncated
//! frames, wrong protocol versions, silent clients. Each gets a clear error
//! (on both sides) and the daemon keeps serving everyone else.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;
use vigil_proto::frame;
use vigil_proto::{
    DaemonRequest, ErrorCode, EventsRequest, Hello, HelloReply, PROTOCOL_VERSION, Request, Response,
};
use vigil_tests::*;

fn connect(daemon: &Daemon) -> UnixStream {
    let s = UnixStream::connect(&daemon.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

fn hello(s: &mut UnixStream, protocol: u32) -> HelloReply {
    frame::write(
        s,
        &Hello {
            protocol,
            client: "test".into(),
        },
    )
    .unwrap();
    frame::read(s).unwrap()
}

fn closed(s: &mut UnixStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(s.read(&mut buf), Ok(0) | Err(_))
}

fn start() -> (tempfile::TempDir, Daemon) {
    let cwd = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(cwd.path(), None);
    (cwd, daemon)
}

#[test]
fn a_version_mismatch_is_refused_clearly_by_the_server() {
    let (_cwd, daemon) = start();
    let mut s = connect(&daemon);
    match hello(&mut s, PROTOCOL_VERSION + 1) {
        HelloReply::Rejected { error } => {
            assert_eq!(error.code, ErrorCode::VersionMismatch);
            assert!(
                error
                    .message
                    .contains(&format!("control protocol {PROTOCOL_VERSION}"))
                    && error
                        .message
                        .contains(&format!("test speaks {}", PROTOCOL_VERSION + 1)),
                "{}",
                error.message
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(closed(&mut s));
    ok(&daemon.ctl(&["status"]));
}

#[test]
fn a_version_mismatch_is_refused_clearly_by_the_client() {
    // A fake server that speaks the next protocol.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let _: Hello = frame::read(&mut s).unwrap();
        let identity = vigil_proto::Identity {
            uid: 0,
            gid: 0,
            pid: 1,
            user: None,
            role: "admin".into(),
            break_glass: false,
        };
        frame::write(
            &mut s,
            &HelloReply::Welcome {
                protocol: PROTOCOL_VERSION + 1,
                server: "vigild 9.0".into(),
                identity,
            },
        )
        .unwrap();
    });
    let out = std::process::Command::new(bin("vigilctl"))
        .arg("--socket")
        .arg(&path)
        .arg("status")
        .output()
        .unwrap();
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "vigild 9.0 speaks control protocol {}",
            PROTOCOL_VERSION + 1
        )) && err.contains(&format!("speaks {PROTOCOL_VERSION}")),
        "{err}"
    );
}

#[test]
fn oversized_frames_are_refused_without_reading_them() {
    let (_cwd, daemon) = start();
    let mut s = connect(&daemon);
    assert!(matches!(
        hello(&mut s, PROTOCOL_VERSION),
        HelloReply::Welcome { .. }
    ));
    // Announce 16 MiB; send nothing more.
    s.write_all(&(16u32 << 20).to_be_bytes()).unwrap();
    match frame::read::<_, Response>(&mut s).unwrap() {
        Response::Error(e) => {
            assert_eq!(e.code, ErrorCode::FrameTooLarge);
            assert!(e.message.contains("exceeds"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    assert!(closed(&mut s));
    // An oversized hello is refused too.
    let mut s = connect(&daemon);
    s.write_all(&u32::MAX.to_be_bytes()).unwrap();
    match frame::read::<_, HelloReply>(&mut s).unwrap() {
        HelloReply::Rejected { error } => assert_eq!(error.code, ErrorCode::FrameTooLarge),
        other => panic!("{other:?}"),
    }
    ok(&daemon.ctl(&["status"]));
}

#[test]
fn garbage_frames_close_the_connection_with_an_error() {
    let (_cwd, daemon) = start();
    for garbage in [
        &b"{not json"[..],
        b"\xff\xfe\x00",
        br#"{"family":"daemon","request":"launch_missiles"}"#,
        br#"{"family":"missiles","request":"launch"}"#,
        br#"{"family":"events","request":"show","seq":"x"}"#,
        // Protocol 2's flat form is not a request any more.
        br#"{"request":"status"}"#,
    ] {
        let mut s = connect(&daemon);
        assert!(matches!(
            hello(&mut s, PROTOCOL_VERSION),
            HelloReply::Welcome { .. }
        ));
        s.write_all(&(garbage.len() as u32).to_be_bytes()).unwrap();
        s.write_all(garbage).unwrap();
        match frame::read::<_, Response>(&mut s).unwrap() {
            Response::Error(e) => assert_eq!(e.code, ErrorCode::Malformed, "{garbage:?}"),
            other => panic!("{other:?}"),
        }
        assert!(closed(&mut s));
    }
    // Garbage instead of a hello.
    let mut s = connect(&daemon);
    s.write_all(&5u32.to_be_bytes()).unwrap();
    s.write_all(b"hello").unwrap();
    assert!(matches!(
        frame::read::<_, HelloReply>(&mut s).unwrap(),
        HelloReply::Rejected { .. }
    ));
    // A truncated frame and a vanished client leave the daemon serving.
    let mut s = connect(&daemon);
    s.write_all(&100u32.to_be_bytes()).unwrap();
    s.write_all(b"{\"proto").unwrap();
    drop(s);
    ok(&daemon.ctl(&["status"]));
    let logs = daemon.stderr();
    assert!(!logs.contains("panicked"), "{logs}");
    assert!(daemon.stop().success());
}

#[test]
fn a_silent_client_is_dropped_after_the_hello_timeout() {
    let (_cwd, daemon) = start();
    let mut s = connect(&daemon);
    let started = std::time::Instant::now();
    match frame::read::<_, HelloReply>(&mut s).unwrap() {
        HelloReply::Rejected { error } => {
            assert!(error.message.contains("no hello"), "{}", error.message)
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_secs(4));
    ok(&daemon.ctl(&["status"]));
}

#[test]
fn bad_requests_get_errors_and_the_connection_stays_usable() {
    let (_cwd, daemon) = start();
    let mut s = connect(&daemon);
    assert!(matches!(
        hello(&mut s, PROTOCOL_VERSION),
        HelloReply::Welcome { .. }
    ));
    let cases = [
        (
            Request::Events(EventsRequest::Show { seq: 999_999 }),
            ErrorCode::NotFound,
        ),
        (
            Request::Events(EventsRequest::Emit {
                message: "  ".into(),
                severity: vigil_store::Severity::Info,
                labels: Default::default(),
            }),
            ErrorCode::BadRequest,
        ),
        (
            Request::Events(EventsRequest::Emit {
                message: "x".repeat(5000),
                severity: vigil_store::Severity::Info,
                labels: Default::default(),
            }),
            ErrorCode::BadRequest,
        ),
        (
            Request::Events(EventsRequest::Emit {
                message: "m".into(),
                severity: vigil_store::Severity::Info,
                labels: [("bad key!".to_string(), "v".to_string())].into(),
            }),
            ErrorCode::BadRequest,
        ),
        (
            Request::Daemon(DaemonRequest::Reload),
            ErrorCode::BadRequest,
        ),
    ];
    for (request, code) in cases {
        frame::write(&mut s, &request).unwrap();
        match frame::read::<_, Response>(&mut s).unwrap() {
            Response::Error(e) => assert_eq!(e.code, code, "{request:?}: {}", e.message),
            other => panic!("{request:?}: {other:?}"),
        }
    }
    frame::write(&mut s, &Request::Daemon(DaemonRequest::Status)).unwrap();
    assert!(matches!(
        frame::read::<_, Response>(&mut s).unwrap(),
        Response::Status(_)
    ));
    // Nothing was appended by the refused emits.
    let custom = ok(&daemon.ctl(&["events", "list", "--kind", "custom"]));
    assert!(custom.trim().is_empty(), "{custom}");
}

/// The uid that hogs the socket, and another user who must still get in.
const HOG: u32 = 4545;
const OTHER: u32 = 4546;

/// A daemon whose socket any local user may open (mode 0666), with
/// `OTHER` a viewer; `extra` goes in `[daemon]`.
fn open_to_all(extra: &str) -> (tempfile::TempDir, Daemon) {
    let tmp = shared_tempdir();
    let run = open_dir(tmp.path(), "run");
    let (state, socket, path) = (
        tmp.path().join("state"),
        run.join("control.sock"),
        tmp.path().join("vigil.toml"),
    );
    std::fs::write(
        &path,
        format!(
            "[daemon]\nstate_dir = \"{}\"\nsocket = \"{}\"\nsocket_mode = \"0666\"\n{extra}\n[http]\nlisten = \"127.0.0.1:0\"\n[access.users]\n\"{OTHER}\" = \"viewer\"\n",
            state.display(),
            socket.display()
        ),
    )
    .unwrap();
    let daemon = Daemon::with_config(&path, &socket, &state);
    (tmp, daemon)
}

/// `socket-hold` as `HOG`, opening `n` connections that never say hello;
/// returns once they are all open, with the rest of its output to come.
fn hog(
    daemon: &Daemon,
    n: usize,
) -> (
    std::process::Child,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    use std::io::BufRead;
    let mut child = as_user(HOG, HOG, &[])
        .arg(bin("socket-hold"))
        .arg(&daemon.socket)
        .arg(n.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert_eq!(first, format!("connected {n}"));
    (child, lines)
}

/// What each of the hog's connections got: (held until the hello
/// timeout, refused at once with this message).
fn outcomes(
    mut child: std::process::Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) -> (usize, Vec<String>) {
    let (mut held, mut refused) = (0, Vec::new());
    for line in lines {
        let line = line.unwrap();
        let fields: Vec<&str> = line.splitn(3, '\t').collect();
        match fields[..] {
            [_, "Malformed", m] if m.contains("no hello within 5s") => held += 1,
            [_, "Unavailable", m] => refused.push(m.to_string()),
            _ => panic!("unexpected outcome: {line}"),
        }
    }
    assert!(child.wait().unwrap().success());
    (held, refused)
}

/// Served within a second, long before the hog's connections time out.
fn served_at_once(what: &str, out: impl FnOnce() -> std::process::Output) -> String {
    let started = std::time::Instant::now();
    let text = ok(&out());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{what} waited {:?}",
        started.elapsed()
    );
    text
}

#[test]
fn one_users_idle_connections_cannot_lock_the_others_out() {
    let _exclusive = crate::exclusive();
    let (_tmp, daemon) = open_to_all("");
    // More than the whole connection pool, from one unprivileged uid.
    let (child, lines) = hog(&daemon, 300);
    let status = served_at_once("root", || daemon.ctl(&["status"]));
    assert!(status.contains("as admin"), "{status}");
    let status = served_at_once("another user", || {
        daemon.ctl_as(OTHER, OTHER, &[], &["status"])
    });
    assert!(status.contains("as viewer"), "{status}");

    // The default cap held; every connection past it was told why.
    let (held, refused) = outcomes(child, lines);
    assert_eq!(held, 32, "the default max_connections_per_uid");
    assert_eq!(refused.len(), 300 - 32);
    for message in &refused {
        assert!(
            message.contains(&format!(
                "uid {HOG} already has 32 control connections open"
            )) && message.contains("daemon.max_connections_per_uid"),
            "{message}"
        );
    }
    ok(&daemon.ctl_as(OTHER, OTHER, &[], &["status"]));
    assert!(daemon.stop().success());
}

#[test]
fn root_keeps_a_reserved_slot_when_everyone_elses_are_taken() {
    let _exclusive = crate::exclusive();
    // One uid may take the whole pool others share: only root gets in.
    let (_tmp, daemon) = open_to_all("max_connections_per_uid = 256");
    let (child, lines) = hog(&daemon, 260);
    let status = served_at_once("root", || daemon.ctl(&["status"]));
    assert!(status.contains("as admin"), "{status}");
    let out = daemon.ctl_as(OTHER, OTHER, &[], &["status"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("all 252 connections open to users other than root are in use"),
        "{err}"
    );

    let (held, refused) = outcomes(child, lines);
    assert_eq!(held, 252);
    assert_eq!(refused.len(), 8);
    for message in &refused {
        assert!(
            message.contains("all 252 connections open to users other than root are in use"),
            "{message}"
        );
    }
    // The timeouts freed the pool.
    ok(&daemon.ctl_as(OTHER, OTHER, &[], &["status"]));
    assert!(daemon.stop().success());
}
