//! The fleet's records on a real JetStream (Debian's `nats-server`): a
//! store published with [`Publisher`] reads back as a verified chain, and
//! every way of changing the stream afterwards is caught at the host and
//! seq it touches.

#![allow(clippy::unwrap_used)]

use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;
use vigil_fleet::check::FleetCheck;
use vigil_fleet::wire::{self, StreamStart};
use vigil_fleet::{
    Endpoint, FleetReport, Login, Outgoing, Position, Publisher, StreamReader, StreamSettings,
};
use vigil_store::{Actor, Custom, Event, Log, LogOptions, Severity, VerificationKey};
use vigil_tests::nats::{NatsOptions, NatsServer};

const STREAM: &str = "VIGIL";
const TIMEOUT: Duration = Duration::from_secs(5);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn custom(message: &str) -> Event {
    Event::Custom(Custom {
        actor: Actor::Daemon,
        severity: Severity::Info,
        message: message.into(),
        labels: Default::default(),
    })
}

/// A store of `n` custom events over two epochs, and its verification key.
fn store(dir: &Path, n: u64) -> (Log, VerificationKey) {
    let key_path = dir.join("verification.key");
    let log = Log::create(&dir.join("store"), &key_path, LogOptions::default()).unwrap();
    for i in 0..n {
        log.append(&custom(&format!("entry {i}"))).unwrap();
        if i == n / 2 {
            log.advance_epoch("test").unwrap();
        }
    }
    let key = vigil_store::read_verification_key(&key_path).unwrap();
    (log, key)
}

fn endpoint(server: &NatsServer) -> Endpoint {
    Endpoint {
        servers: vec![server.url()],
        tls: None,
        login: Login::Anonymous,
        name: "vigil-test".into(),
        timeout: TIMEOUT,
    }
}

fn settings() -> StreamSettings {
    StreamSettings {
        name: STREAM.into(),
        subjects: vec![wire::stream_subject(wire::DEFAULT_SUBJECT)],
        max_age: None,
        replicas: 1,
        duplicate_window: Duration::from_secs(120),
    }
}

/// Publishes all of `log` as `host`.
async fn forward_all(server: &NatsServer, log: &Log, host: &str) -> Publisher {
    let client = endpoint(server).connect().await.unwrap();
    let subject = wire::subject_for(wire::DEFAULT_SUBJECT, host);
    let publisher = Publisher::new(client, TIMEOUT, STREAM, &subject, log.store_id(), host);
    publisher.ensure_stream(&settings()).await.unwrap();
    assert_eq!(publisher.position().await.unwrap(), Position::Empty);
    let start = StreamStart::of(log, 1, host, "test").unwrap();
    publisher.publish_start(&start).await.unwrap();
    let entries: Vec<Outgoing> = log
        .entries_between(1, log.head().seq)
        .map(|e| Outgoing::of(&e.unwrap()))
        .collect();
    let acked = publisher.publish(&entries, 64).await.unwrap().unwrap();
    assert_eq!(acked.seq, log.head().seq);
    publisher
}

async fn check(server: &NatsServer, keys: Option<Vec<VerificationKey>>) -> FleetReport {
    let client = endpoint(server).connect().await.unwrap();
    let reader = StreamReader::new(client, TIMEOUT, STREAM);
    let mut check = FleetCheck::new(keys);
    reader
        .each(false, |m| {
            check.take(m);
            ControlFlow::Continue(())
        })
        .await
        .unwrap();
    check.report(true)
}

#[test]
fn a_published_store_verifies_and_a_changed_or_repeated_entry_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start(dir.path(), NatsOptions::default());
    let (log_a, key_a) = store(&dir.path().join("a").tap_mkdir(), 40);
    let (log_b, key_b) = store(&dir.path().join("b").tap_mkdir(), 25);
    let rt = runtime();
    rt.block_on(async {
        let publisher_a = forward_all(&server, &log_a, "alpha").await;
        forward_all(&server, &log_b, "beta").await;
        // Resuming finds the last entry.
        let Position::Entry { seq, link, .. } = publisher_a.position().await.unwrap() else {
            panic!("an entry position")
        };
        assert_eq!((seq, link), (log_a.head().seq, log_a.head().link));

        let report = check(&server, Some(vec![key_a, key_b])).await;
        assert!(report.ok(), "{report:#?}");
        assert_eq!(report.hosts.len(), 2);
        let alpha = &report.hosts[0];
        assert_eq!(alpha.host, "alpha");
        assert_eq!(alpha.head_seq, log_a.head().seq);
        assert_eq!(alpha.entries, log_a.head().seq);
        assert!(alpha.keyed);
        assert_eq!(report.hosts[1].head_seq, log_b.head().seq);

        // An entry of alpha's changed and republished under a new subject:
        // the same seq twice.
        let entry = log_a.get(10).unwrap().unwrap();
        let record = String::from_utf8(Outgoing::of(&entry).payload.to_vec()).unwrap();
        let time = entry.time().to_string();
        let forged = record.replace(&time, &(entry.time() + 1).to_string());
        assert_ne!(forged, record);
        let client = endpoint(&server).connect().await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(wire::STORE, log_a.store_id().to_hex().as_str());
        headers.insert(wire::HOST, "alpha");
        headers.insert(wire::RECORD, "entry");
        js.publish_with_headers("vigil.mallory.entries", headers, forged.into())
            .await
            .unwrap()
            .await
            .unwrap();
        let report = check(&server, None).await;
        assert!(!report.ok());
        let alpha = report.hosts.iter().find(|h| h.host == "alpha").unwrap();
        let (seq, reason) = alpha.failure.clone().unwrap();
        assert_eq!(seq, 10, "{reason}");
        assert!(reason.contains("vigil.mallory.entries"), "{reason}");
        assert!(report.hosts.iter().find(|h| h.host == "beta").unwrap().ok());
    });
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

#[test]
fn a_following_reader_sees_messages_published_after_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start(dir.path(), NatsOptions::default());
    let (log, _key) = store(&dir.path().join("a").tap_mkdir(), 10);
    let rt = runtime();
    rt.block_on(async {
        let publisher = forward_all(&server, &log, "alpha").await;
        let client = endpoint(&server).connect().await.unwrap();
        let reader = StreamReader::new(client, TIMEOUT, STREAM);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let follower = tokio::spawn(async move {
            reader
                .each(true, |m| {
                    let _ = tx.send(m.sequence);
                    ControlFlow::Continue(())
                })
                .await
        });
        let before = log.head().seq + 1;
        for _ in 0..before {
            tokio::time::timeout(TIMEOUT, rx.recv())
                .await
                .unwrap()
                .unwrap();
        }
        log.append(&custom("later")).unwrap();
        let entry = log.get(log.head().seq).unwrap().unwrap();
        publisher.publish(&[Outgoing::of(&entry)], 1).await.unwrap();
        let next = tokio::time::timeout(TIMEOUT, rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(next, before + 1);
        follower.abort();
    });
}

#[test]
fn entries_pruned_before_they_were_forwarded_go_as_pruned_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start(dir.path(), NatsOptions::default());
    let (log, key) = store(&dir.path().join("a").tap_mkdir(), 20);
    // Retention drops three bodies (sealing the record that names them)
    // before anything is forwarded.
    log.prune(vec![5, 6, 7], "test retention").unwrap();
    let rt = runtime();
    rt.block_on(async {
        forward_all(&server, &log, "alpha").await;
        let client = endpoint(&server).connect().await.unwrap();
        let reader = StreamReader::new(client, TIMEOUT, STREAM);
        let mut pruned = Vec::new();
        reader
            .each(false, |m| {
                let record: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
                if record["pruned"] == true {
                    assert!(record.get("body").is_none(), "{record}");
                    pruned.push(record["seq"].as_u64().unwrap());
                }
                ControlFlow::Continue(())
            })
            .await
            .unwrap();
        assert_eq!(pruned, vec![5, 6, 7]);
        let report = check(&server, Some(vec![key])).await;
        assert!(report.ok(), "{report:#?}");
        assert_eq!(report.hosts[0].head_seq, log.head().seq);
    });
}
