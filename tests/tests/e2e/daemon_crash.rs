//! The daemon under SIGKILL: clients emit concurrently, the daemon is
//! killed at random moments, restarted; every emit it acknowledged is in the
//! log, unchanged, and the chain verifies with the verification key.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigil_store::{Event, Log, VerifyOptions, read_verification_key};
use vigil_tests::*;
use vigilctl::Client;

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    (nanos as u64) | 1
}

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn every_acknowledged_emit_survives_sigkill() {
    let cwd = tempfile::tempdir().unwrap();
    let acked: Arc<Mutex<BTreeMap<u64, String>>> = Arc::default();
    let mut rng = seed();
    eprintln!("daemon crash test seed {rng}");
    let rounds = 12;
    for round in 0..rounds {
        let daemon = Daemon::dev(cwd.path(), None);
        let clients: Vec<_> = (0..8)
            .map(|t| {
                let (socket, acked) = (daemon.socket.clone(), acked.clone());
                std::thread::spawn(move || {
                    let Ok(mut client) = Client::connect(&socket) else {
                        return;
                    };
                    for i in 0.. {
                        let message = format!("r{round}-t{t}-{i}");
                        let Some(seq) = emit_acknowledged(&mut client, &message) else {
                            return;
                        };
                        acked.lock().unwrap().insert(seq, message);
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50 + next(&mut rng) % 400));
        daemon.kill9();
        for c in clients {
            c.join().unwrap();
        }
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > rounds * 10,
        "clients made progress ({} acks)",
        acked.len()
    );

    // One more start: the daemon recovers and verifies itself at start.
    let daemon = Daemon::dev(cwd.path(), None);
    let mut verified = false;
    for _ in 0..100 {
        let status = json_lines(&ok(&daemon.ctl(&["--json", "status"])));
        if let Some(v) = status[0]["last_verify"].as_object() {
            assert_eq!(v["ok"], true, "{v:?}");
            verified = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(verified, "the start-up verification ran");
    assert!(daemon.stop().success());

    let state = cwd.path().join("vigil-data");
    let log = Log::open_read_only(&state.join("store")).unwrap();
    for (seq, message) in &acked {
        let entry = log
            .get(*seq)
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged seq {seq} is gone"));
        match entry.event().unwrap().unwrap() {
            Event::Custom(c) => assert_eq!(&c.message, message, "seq {seq} changed"),
            other => panic!("seq {seq} is {other:?}"),
        }
    }
    let key = read_verification_key(&state.join("verification.key")).unwrap();
    let report = log
        .verify(&VerifyOptions {
            key: Some(&key),
            ..Default::default()
        })
        .unwrap();
    assert!(report.ok, "{report:?}");
    assert!(
        report.head.epoch as usize > rounds,
        "each start opened an epoch"
    );
}
