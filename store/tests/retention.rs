//! Retention mechanisms: dropping bodies, truncating behind a checkpoint,
//! and really giving the space back.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use vigil_store::*;

fn filled(n: u64) -> TestStore {
    let s = TestStore::new();
    let events: Vec<Event> = (0..n).map(|i| custom(&format!("entry {i}"))).collect();
    s.log.append_all(&events).unwrap();
    s
}

#[test]
fn pruned_bodies_keep_the_chain_verifiable() {
    let s = filled(20);
    let out = s.log.prune(vec![5, 6, 7, 7, 1, 500], "test").unwrap();
    assert_eq!(
        out,
        PruneOutcome {
            pruned: 3,
            already: 0,
            protected: 1,
            missing: 1
        }
    );
    for seq in 5..=7 {
        let e = s.log.get(seq).unwrap().unwrap();
        assert!(e.is_pruned());
        assert_eq!(e.event().unwrap(), None);
    }
    assert!(s.log.get(8).unwrap().unwrap().body().is_some());
    // The drop is accounted for by a sealed record at the head, written first.
    assert_eq!(s.log.head().seq, 22);
    let record = s.log.get(22).unwrap().unwrap().event().unwrap();
    assert_eq!(
        record,
        Some(Event::BodiesPruned(BodiesPruned {
            ranges: vec![SeqRange { first: 5, last: 7 }],
            reason: "test".into()
        }))
    );
    let report = s.verify();
    assert!(report.ok, "{report:?}");
    assert!(report.prunes_accounted);
    assert_eq!(report.bodies_pruned, 3);
    assert_eq!(report.bodies_checked, 19);
    // The report says who dropped them: the record's reason.
    assert_eq!(
        report.prune_accounts,
        vec![PruneAccount {
            reason: "test".into(),
            first_record: 22,
            records: 1,
            bodies: 3
        }]
    );
    // Nothing to drop: no record.
    assert_eq!(s.log.prune(vec![5], "test").unwrap().already, 1);
    assert_eq!(s.log.head().seq, 22);
    // A record is never pruned: it is what accounts for the others.
    assert_eq!(s.log.prune(vec![22], "test").unwrap().protected, 1);
}

#[test]
fn truncation_leaves_a_checkpoint_that_the_chain_verifies_from() {
    let s = filled(100); // seqs 1..=101
    let state = vec![ViewState {
        view: "status".into(),
        version: 1,
        state: b"as of 50".to_vec(),
    }];
    let cp = s.log.truncate(50, state.clone()).unwrap();
    assert_eq!(cp.seq, 102);
    assert_eq!(s.log.first_seq(), 51);
    assert_eq!(
        s.log.cut(),
        Some(Cut {
            cut_seq: 50,
            checkpoint_seq: 102
        })
    );
    assert!(s.log.get(50).unwrap().is_none());
    assert_eq!(s.log.entries(1).next().unwrap().unwrap().seq(), 51);
    match s.log.get(102).unwrap().unwrap().event().unwrap().unwrap() {
        Event::Checkpoint(c) => {
            assert_eq!(c.cut_seq, 50);
            assert_eq!(c.views, state);
            assert_eq!(c.previous, None);
        }
        other => panic!("{other:?}"),
    }
    let report = s.verify();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.first_seq, 51);
    assert_eq!(report.entries, 52);

    // Appends continue; a second cut supersedes the first.
    s.log.append(&custom("after")).unwrap();
    let cp2 = s.log.truncate(102, vec![]).unwrap();
    match s
        .log
        .get(cp2.seq)
        .unwrap()
        .unwrap()
        .event()
        .unwrap()
        .unwrap()
    {
        Event::Checkpoint(c) => assert_eq!(c.previous, Some(102)),
        other => panic!("{other:?}"),
    }
    assert!(s.verify().ok);

    // Survives a reopen.
    let (_tmp, dir, vk) = s.close();
    let log = Log::open(&dir, LogOptions::default()).unwrap();
    assert_eq!(log.first_seq(), 103);
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
fn invalid_truncations_are_refused_and_change_nothing() {
    let s = filled(10);
    s.log.truncate(5, vec![]).unwrap();
    let head = s.log.head();
    for upto in [0, 3, 5, 999] {
        let err = s.log.truncate(upto, vec![]).unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidRequest(_)),
            "{upto}: {err}"
        );
    }
    assert_eq!(s.log.head(), head);
    // The writer is still alive after refusing.
    s.log.append(&custom("still writable")).unwrap();
    assert!(s.verify().ok);
}

#[test]
fn tampering_with_the_cut_is_detected() {
    let s = filled(30);
    s.log.truncate(10, vec![]).unwrap();
    let (_tmp, dir, vk) = s.close();
    let key = read_verification_key(&vk).unwrap();
    let verify = || {
        Log::open_read_only(&dir)
            .unwrap()
            .verify(&VerifyOptions {
                key: Some(&key),
                ..Default::default()
            })
            .unwrap()
    };
    assert!(verify().ok);

    // Claim a later cut to hide entries 11..=20.
    {
        let (db, log, meta) = raw_db(&dir);
        let forged = postcard::to_allocvec(&Cut {
            cut_seq: 20,
            checkpoint_seq: 32,
        })
        .unwrap();
        meta.insert("cut", forged).unwrap();
        for seq in 11..=20 {
            log.remove(entry_key(seq)).unwrap();
        }
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    let report = verify();
    // No entry was examined, so no seal is vouched for past the start.
    assert_eq!(report.entries, 0);
    assert!(
        report.sealed_up_to.unwrap() < report.first_seq,
        "{report:?}"
    );
    let f = report.failure.unwrap();
    assert_eq!(f.seq, 32);
    assert!(matches!(f.problem, Problem::BadCheckpoint { .. }), "{f:?}");

    // Drop the cut record entirely.
    {
        let (db, _log, meta) = raw_db(&dir);
        meta.remove("cut").unwrap();
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    // Entries 1..=10 are still on disk (never compacted away), so the hole is a gap.
    let f = verify().failure.unwrap();
    assert_eq!(
        f,
        Failure {
            seq: 11,
            problem: Problem::Gap { expected: 11 }
        }
    );
}

#[test]
fn reclaiming_after_truncation_frees_disk_space() {
    let s = TestStore::with_options(LogOptions {
        durability: Durability::Buffered,
        ..Default::default()
    });
    for chunk in 0..40u64 {
        let events: Vec<Event> = (0..5_000)
            .map(|i| alert_event(chunk * 5_000 + i, 300))
            .collect();
        s.log.append_all(&events).unwrap();
    }
    s.log.sync().unwrap();
    s.log.reclaim().unwrap();
    let before = s.log.disk_usage();
    assert!(
        before > 30_000_000,
        "expected a large store, got {before} bytes"
    );
    let sample = alert_event(7, 300).encode().len();
    assert!(
        (280..=320).contains(&sample),
        "events are ~300 bytes, got {sample}"
    );

    s.log.truncate(190_000, vec![]).unwrap();
    s.log.reclaim().unwrap();
    let after = s.log.disk_usage();
    assert!(
        after * 4 < before,
        "truncating 95% should free most space: {before} -> {after}"
    );
    let report = s.verify();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.first_seq, 190_001);

    // Pruning bodies frees space too.
    let seqs: Vec<u64> = (190_001..=200_000).collect();
    let head = s.log.head().seq;
    let out = s.log.prune(seqs, "space").unwrap();
    assert_eq!(out.pruned, 10_000);
    // Batches of 8192: two records.
    assert_eq!(s.log.head().seq, head + 2);
    s.log.reclaim().unwrap();
    let pruned = s.log.disk_usage();
    assert!(
        pruned < after,
        "pruning bodies should shrink the store: {after} -> {pruned}"
    );
    assert!(s.verify().ok);
}
