//! The log's contract: creation, durable appends, group commit, epochs, reads.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigil_store::*;

#[test]
fn create_writes_genesis_and_hands_out_k0_once() {
    let s = TestStore::new();
    let head = s.log.head();
    assert_eq!(head.seq, 1);
    assert_eq!(head.epoch, 1, "the store never seals with K(0)");
    let genesis = s.log.get(1).unwrap().unwrap();
    match genesis.event().unwrap().unwrap() {
        Event::Genesis(g) => assert_eq!(g.store_id, s.log.store_id()),
        other => panic!("seq 1 is {other:?}"),
    }
    let mode = std::fs::metadata(&s.vk_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let key = s.key();
    assert_eq!(key.store_id(), s.log.store_id());

    // K(0) appears nowhere in the store directory, raw or hex.
    let text = std::fs::read_to_string(&s.vk_path).unwrap();
    let k0_hex = text.trim().rsplit(':').next().unwrap().to_string();
    let k0 = hex::decode(&k0_hex).unwrap();
    for (path, bytes) in snapshot_files(&s.dir) {
        assert!(
            !bytes.windows(32).any(|w| w == k0.as_slice()),
            "K(0) in {path:?}"
        );
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&k0_hex),
            "K(0) hex in {path:?}"
        );
    }

    // Neither the store nor the key is ever overwritten.
    let again = Log::create(
        &s.dir,
        &s.tmp.path().join("other.key"),
        LogOptions::default(),
    );
    assert!(
        matches!(again, Err(StoreError::AlreadyExists { .. })),
        "{again:?}"
    );
    let other_dir = s.tmp.path().join("store2");
    let again = Log::create(&other_dir, &s.vk_path, LogOptions::default());
    assert!(
        matches!(again, Err(StoreError::AlreadyExists { .. })),
        "{again:?}"
    );
    assert!(
        !other_dir.exists(),
        "a refused create leaves nothing behind"
    );
    assert_eq!(std::fs::read_to_string(&s.vk_path).unwrap(), text);
}

#[test]
fn appends_are_contiguous_and_survive_reopen() {
    let s = TestStore::new();
    let mut seqs = Vec::new();
    for i in 0..50 {
        seqs.push(s.log.append(&custom(&format!("event {i}"))).unwrap().seq);
    }
    assert_eq!(seqs, (2..52).collect::<Vec<_>>());
    let head = s.log.head();
    let (_tmp, dir, _vk) = s.close();

    let log = Log::open(&dir, LogOptions::default()).unwrap();
    assert_eq!(log.head(), head);
    let next = log.append(&custom("after reopen")).unwrap();
    assert_eq!(next.seq, 52);
    let messages: Vec<String> = log
        .entries(2)
        .map(|e| match e.unwrap().event().unwrap().unwrap() {
            Event::Custom(c) => c.message,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(messages.len(), 51);
    assert_eq!(messages[0], "event 0");
    assert_eq!(messages[50], "after reopen");
    assert!(log.verify(&VerifyOptions::default()).unwrap().ok);
}

#[test]
fn append_all_is_atomic_and_ordered() {
    let s = TestStore::new();
    let heads = s
        .log
        .append_all(&[custom("a"), custom("b"), custom("c")])
        .unwrap();
    assert_eq!(
        heads.iter().map(|h| h.seq).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    assert!(matches!(
        s.log.append_all(&[]),
        Err(StoreError::InvalidRequest(_))
    ));
}

#[test]
fn concurrent_appenders_share_batches_and_get_unique_seqs() {
    let s = TestStore::new();
    let log = s.log.clone();
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                (0..100)
                    .map(|i| log.append(&custom(&format!("{t}-{i}"))).unwrap().seq)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let all: BTreeSet<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(all.len(), 1600);
    assert_eq!(all.first(), Some(&2));
    assert_eq!(all.last(), Some(&1601));
    assert!(s.verify().ok);
}

/// A store whose commit listener notes every head it is told of.
fn listened() -> (TestStore, Arc<Mutex<Vec<u64>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let s = TestStore::with_options(LogOptions {
        on_commit: Some(Arc::new(move |h: &Head| sink.lock().unwrap().push(h.seq))),
        ..Default::default()
    });
    (s, seen)
}

#[test]
fn an_append_is_answered_only_once_the_head_covers_it() {
    // The writer seals and writes the next batches while one is being
    // synced; the head (what readers and listeners see) moves only as
    // batches become durable, in order, and never past an unanswered one.
    let (s, seen) = listened();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = s.log.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let head = log.append(&custom(&format!("{t}-{i}"))).unwrap();
                    assert!(log.head().seq >= head.seq);
                    assert!(log.get(head.seq).unwrap().is_some());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "heads went back");
    assert_eq!(seen.last(), Some(&1601));
    assert_eq!(s.log.head().seq, 1601);
    // Groups formed: fewer fdatasyncs than appends.
    let stats = s.log.stats();
    assert!(stats.syncs < 1600, "{stats:?}");
    assert!(stats.sync_ns > 0 && stats.write_ns > 0 && stats.seal_ns > 0);
}

#[test]
fn the_head_stays_put_while_a_sync_settles_other_work() {
    // Non-append work (epoch, sync, prune) waits for the batches in
    // flight, so the head it publishes comes after theirs.
    let (s, seen) = listened();
    let appenders: Vec<_> = (0..4)
        .map(|t| {
            let log = s.log.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    log.append(&custom(&format!("{t}-{i}"))).unwrap();
                }
            })
        })
        .collect();
    for _ in 0..5 {
        s.log.advance_epoch("test").unwrap();
        s.log.sync().unwrap();
    }
    for a in appenders {
        a.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "heads went back");
    assert_eq!(s.log.head().seq, 1 + 400 + 5);
    assert!(s.verify().ok);
}

#[test]
fn async_appends_work_without_blocking_the_runtime() {
    let s = TestStore::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let log = s.log.clone();
    let seqs = rt.block_on(async move {
        let mut tasks = Vec::new();
        for i in 0..64 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                log.append_async(&custom(&format!("{i}")))
                    .await
                    .unwrap()
                    .seq
            }));
        }
        let mut seqs = BTreeSet::new();
        for t in tasks {
            seqs.insert(t.await.unwrap());
        }
        seqs
    });
    assert_eq!(seqs, (2..66).collect());
}

#[test]
fn commit_listener_sees_every_new_head() {
    let (s, seen) = listened();
    s.log.append(&custom("x")).unwrap();
    s.log.advance_epoch("test").unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![2, 3]);
}

#[test]
fn appends_racing_a_close_are_all_answered() {
    // Other clones keep appending while one closes the log, and go on
    // after their first refusal: each call must be answered (with Closed
    // once the writer has stopped), including those queued just as the
    // writer stopped, which used to wait forever.
    within(Duration::from_secs(60), "appending during close", || {
        for _ in 0..10 {
            let s = TestStore::with_options(LogOptions {
                durability: Durability::Buffered,
                ..Default::default()
            });
            let appenders: Vec<_> = (0..4)
                .map(|_| {
                    let log = s.log.clone();
                    std::thread::spawn(move || {
                        let mut refused = Vec::new();
                        while refused.len() < 50 {
                            if let Err(e) = log.append(&custom("x")) {
                                refused.push(e);
                            }
                        }
                        refused
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_millis(2));
            let (_tmp, _dir, _vk) = s.close();
            for appender in appenders {
                for err in appender.join().unwrap() {
                    assert!(matches!(err, StoreError::Closed), "{err}");
                }
            }
        }
    });
}

#[test]
fn a_panicking_commit_listener_fails_the_writer_without_stranding_callers() {
    let armed = Arc::new(AtomicBool::new(false));
    let trigger = armed.clone();
    let s = TestStore::with_options(LogOptions {
        on_commit: Some(Arc::new(move |_: &Head| {
            assert!(!trigger.load(Ordering::SeqCst), "listener bug");
        })),
        ..Default::default()
    });
    s.log.append(&custom("before")).unwrap();
    armed.store(true, Ordering::SeqCst);
    within(
        Duration::from_secs(60),
        "appending after a panic",
        move || {
            // The caller whose commit panicked learns of the failure as soon
            // as its reply is dropped, possibly before the writer records it.
            let err = s.log.append(&custom("panics")).unwrap_err();
            assert!(
                matches!(err, StoreError::WriterFailed(_) | StoreError::Closed),
                "{err}"
            );
            for _ in 0..3 {
                let err = s.log.append(&custom("after")).unwrap_err();
                assert!(
                    matches!(&err, StoreError::WriterFailed(r) if r.contains("panicked")),
                    "{err}"
                );
            }
            assert!(s.log.failure().unwrap().contains("listener bug"));
            assert!(matches!(s.log.sync(), Err(StoreError::WriterFailed(_))));
            assert!(matches!(s.log.close(), Err(StoreError::WriterFailed(_))));
        },
    );
}

#[test]
fn advancing_the_epoch_replaces_the_key_and_opens_the_epoch() {
    let s = TestStore::new();
    s.log.append(&custom("in epoch 1")).unwrap();
    let head = s.log.advance_epoch("timer").unwrap();
    assert_eq!(head.epoch, 2);
    let entry = s.log.get(head.seq).unwrap().unwrap();
    assert_eq!(entry.kind(), Some(EventKind::Epoch));
    match entry.event().unwrap().unwrap() {
        Event::EpochStarted(e) => {
            assert_eq!(e.epoch, 2);
            assert_eq!(e.reason, "timer");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.log.append(&custom("in epoch 2")).unwrap().epoch, 2);

    // On disk there is only K(2), and K(1) is gone from every file.
    let k1 = s.key().initial().evolve();
    let k1_bytes: Vec<u8> = {
        // Derive the tag of a known link to compare keys without exposing bytes.
        let link = Hash::sha256(b"probe");
        k1.tag(&link).0.to_vec()
    };
    let on_disk = key_file::load(&s.dir).unwrap();
    assert_eq!(on_disk.epoch(), 2);
    assert_ne!(on_disk.tag(&Hash::sha256(b"probe")).0.to_vec(), k1_bytes);
    assert_eq!(
        on_disk.tag(&Hash::sha256(b"probe")),
        s.key()
            .initial()
            .evolve_to(2)
            .unwrap()
            .tag(&Hash::sha256(b"probe"))
    );

    let report = s.verify();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.sealed_up_to, Some(s.log.head().seq));
}

#[test]
fn a_crash_between_key_replacement_and_epoch_entry_is_recovered() {
    let s = TestStore::new();
    s.log.append(&custom("x")).unwrap();
    let (_tmp, dir, vk) = s.close();
    // Simulate the crash: the key file moved on, the log did not.
    let current = key_file::load(&dir).unwrap();
    key_file::replace(&dir, &current.evolve()).unwrap();

    let log = Log::open(&dir, LogOptions::default()).unwrap();
    let head = log.head();
    assert_eq!(head.epoch, 2);
    match log
        .get(head.seq)
        .unwrap()
        .unwrap()
        .event()
        .unwrap()
        .unwrap()
    {
        Event::EpochStarted(e) => assert_eq!(e.reason, "recovered"),
        other => panic!("{other:?}"),
    }
    let key = read_verification_key(&vk).unwrap();
    assert!(
        log.verify(&VerifyOptions {
            key: Some(&key),
            ..Default::default()
        })
        .unwrap()
        .ok
    );
}

#[test]
fn a_key_file_two_epochs_ahead_is_refused() {
    let s = TestStore::new();
    let (_tmp, dir, _vk) = s.close();
    let current = key_file::load(&dir).unwrap();
    key_file::replace(&dir, &current.evolve().evolve()).unwrap();
    let err = Log::open(&dir, LogOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("epoch 3"), "{err}");
}

#[test]
fn buffered_mode_acknowledges_and_sync_persists() {
    let s = TestStore::with_options(LogOptions {
        durability: Durability::Buffered,
        ..Default::default()
    });
    for i in 0..100 {
        s.log.append(&custom(&i.to_string())).unwrap();
    }
    s.log.sync().unwrap();
    let (_tmp, dir, _) = s.close();
    assert_eq!(
        Log::open(&dir, LogOptions::default()).unwrap().head().seq,
        101
    );
}

#[test]
fn reads_by_seq_and_range() {
    let s = TestStore::new();
    for i in 0..10 {
        s.log.append(&custom(&i.to_string())).unwrap();
    }
    assert!(s.log.get(0).unwrap().is_none());
    assert!(s.log.get(12).unwrap().is_none());
    assert_eq!(s.log.get(5).unwrap().unwrap().seq(), 5);
    let seqs: Vec<u64> = s
        .log
        .entries_between(3, 6)
        .map(|e| e.unwrap().seq())
        .collect();
    assert_eq!(seqs, vec![3, 4, 5, 6]);
    let last: Vec<u64> = s
        .log
        .entries(1)
        .rev()
        .take(2)
        .map(|e| e.unwrap().seq())
        .collect();
    assert_eq!(last, vec![11, 10]);
}

#[test]
fn view_snapshots_round_trip_and_bad_ones_are_errors() {
    let s = TestStore::new();
    assert_eq!(s.log.load_snapshot("status").unwrap(), None);
    let snap = ViewSnapshot {
        version: 3,
        as_of: 1,
        state: vec![1, 2, 3],
    };
    s.log.save_snapshot("status", &snap).unwrap();
    assert_eq!(s.log.load_snapshot("status").unwrap(), Some(snap.clone()));
    // Encoded straight from the state: read back as the snapshot of its
    // encoding, in a buffer of exactly its size.
    let state = (vec!["a".to_string(); 300], 7u64);
    let encoded = EncodedSnapshot::new(4, u64::MAX, &state).unwrap();
    let want = ViewSnapshot {
        version: 4,
        as_of: u64::MAX,
        state: postcard::to_allocvec(&state).unwrap(),
    };
    assert_eq!(
        encoded.len(),
        1 + postcard::to_allocvec(&want).unwrap().len()
    );
    s.log.save_encoded_snapshot("status", encoded).unwrap();
    assert_eq!(s.log.load_snapshot("status").unwrap(), Some(want));
    // Large ones are kept in parts; a smaller one after a larger leaves no
    // part of it behind.
    let large = ViewSnapshot {
        version: 5,
        as_of: 9,
        state: (0..1_000_000u32).map(|i| (i % 251) as u8).collect(),
    };
    s.log.save_snapshot("large", &large).unwrap();
    assert_eq!(s.log.load_snapshot("large").unwrap(), Some(large.clone()));
    let smaller = ViewSnapshot {
        state: large.state[..300_000].to_vec(),
        ..large.clone()
    };
    s.log.save_snapshot("large", &smaller).unwrap();
    assert_eq!(s.log.load_snapshot("large").unwrap(), Some(smaller));
    s.log.save_snapshot("status", &snap).unwrap();
    let (_tmp, dir, _) = s.close();
    {
        let (_db, _, _) = raw_db(&dir);
        let views = _db
            .keyspace("views", fjall::KeyspaceCreateOptions::default)
            .unwrap();
        let keys: Vec<Vec<u8>> = views
            .iter()
            .map(|g| g.key().unwrap().to_vec())
            .filter(|k| k.starts_with(b"large"))
            .collect();
        // The count, then two parts of 256 KiB for 300,000 bytes.
        assert_eq!(keys.len(), 3, "{keys:?}");
        views.insert("status", vec![99u8, 1, 2]).unwrap();
        // Kept whole, as stores before parts did.
        let mut whole = vec![1u8];
        whole.extend(postcard::to_allocvec(&snap).unwrap());
        views.insert("whole", whole).unwrap();
        // A part lost: unreadable, not half read.
        let mut part = b"large".to_vec();
        part.extend_from_slice(&[0, 0, 0, 0, 1]);
        views.remove(part).unwrap();
    }
    let log = Log::open(&dir, LogOptions::default()).unwrap();
    assert!(log.load_snapshot("status").is_err());
    assert!(log.load_snapshot("large").is_err());
    assert_eq!(log.load_snapshot("whole").unwrap(), Some(snap));
}

#[test]
fn a_read_only_log_reads_and_verifies_but_does_not_append() {
    let s = TestStore::new();
    s.log.append(&custom("x")).unwrap();
    let (_tmp, dir, _) = s.close();
    let before = snapshot_files(&dir)
        .into_iter()
        .filter(|(p, _)| p.ends_with("seal.key"))
        .collect::<Vec<_>>();
    let log = Log::open_read_only(&dir).unwrap();
    assert_eq!(log.head().seq, 2);
    assert!(log.verify(&VerifyOptions::default()).unwrap().ok);
    assert!(matches!(
        log.append(&custom("y")),
        Err(StoreError::InvalidRequest(_))
    ));
    let after = snapshot_files(&dir)
        .into_iter()
        .filter(|(p, _)| p.ends_with("seal.key"))
        .collect::<Vec<_>>();
    assert_eq!(before, after);
}
