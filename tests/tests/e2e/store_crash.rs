//! The store under SIGKILL: every acknowledged append survives, seqs stay
//! contiguous, and the chain verifies, round after round on the same store.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use vigil_store::*;

const APPENDER: &str = env!("CARGO_BIN_EXE_store-tool");

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

/// Reads the child's lines on a thread, so the parent can stop at any time.
fn lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// `Child::kill` is SIGKILL on Unix: no chance to flush anything.
fn kill9(child: &mut Child) {
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn every_acknowledged_append_survives_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let key = tmp.path().join("vk");
    let mut rng = seed();
    eprintln!("crash test seed {rng}");
    let mut acked: Vec<(u64, String)> = Vec::new();
    let rounds = 20;

    for round in 0..rounds {
        let mut child = Command::new(APPENDER)
            .args([
                "append",
                store.to_str().unwrap(),
                key.to_str().unwrap(),
                &format!("r{round}"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let rx = lines(&mut child);
        assert_eq!(rx.recv_timeout(Duration::from_secs(30)).unwrap(), "ready");
        let run_for = Duration::from_millis(20 + next(&mut rng) % 300);
        let start = Instant::now();
        while start.elapsed() < run_for {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(5)) {
                let (seq, message) = line.split_once(' ').unwrap();
                acked.push((seq.parse().unwrap(), message.to_string()));
            }
        }
        kill9(&mut child);
        // Lines already written before the kill were acknowledged too.
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let (seq, message) = line.split_once(' ').unwrap();
            acked.push((seq.parse().unwrap(), message.to_string()));
        }

        let log = Log::open_read_only(&store).unwrap();
        let head = log.head().seq;
        for (seq, message) in &acked {
            let entry = log
                .get(*seq)
                .unwrap()
                .unwrap_or_else(|| panic!("round {round}: acked seq {seq} is gone (head {head})"));
            match entry.event().unwrap().unwrap() {
                Event::Custom(c) => {
                    assert_eq!(&c.message, message, "round {round}: seq {seq} changed")
                }
                other => panic!("round {round}: seq {seq} is {other:?}"),
            }
        }
        let seqs: Vec<u64> = log.entries(1).map(|e| e.unwrap().seq()).collect();
        assert_eq!(
            seqs,
            (1..=head).collect::<Vec<_>>(),
            "round {round}: seqs not contiguous"
        );
        let vk = read_verification_key(&key).unwrap();
        let report = log
            .verify(&VerifyOptions {
                key: Some(&vk),
                ..Default::default()
            })
            .unwrap();
        assert!(report.ok, "round {round}: {report:?}");
    }
    assert!(
        acked.len() > rounds * 10,
        "the appender made progress ({} acks)",
        acked.len()
    );
}

#[test]
fn a_store_held_by_another_process_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    Log::create(&store, &tmp.path().join("vk"), LogOptions::default())
        .unwrap()
        .close()
        .unwrap();
    let mut child = Command::new(APPENDER)
        .args(["hold", store.to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines(&mut child);
    assert_eq!(rx.recv_timeout(Duration::from_secs(30)).unwrap(), "ready");
    let err = Log::open(&store, LogOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    let err = Log::open_read_only(&store).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    kill9(&mut child);
    assert!(
        Log::open(&store, LogOptions::default()).is_ok(),
        "the lock goes with the process"
    );
}
