//! Stores written by format 1 (no prune records, no recorded head) still
//! verify, are upgraded to format 2 the first time they are opened for
//! writing, and a format 2 store cannot pass itself off as format 1.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use vigil_store::*;

/// What format 1 wrote: a genesis of format 1, no `seal.head`, the marker
/// at 1, and bodies pruned without a record. Built by re-sealing a fresh
/// store in its first epoch (whose key the store still holds).
fn format_1_store(pruned: &[u64]) -> (TempDir, PathBuf, PathBuf) {
    let s = TestStore::new();
    for i in 0..10 {
        s.log.append(&custom(&format!("entry {i}"))).unwrap();
    }
    let store_id = s.log.store_id();
    let (tmp, dir, vk) = s.close();
    let key = key_file::load(&dir).unwrap();
    assert_eq!(key.epoch(), 1);
    {
        let (db, log, _) = raw_db(&dir);
        let mut prev = Head::EMPTY;
        for seq in 1..=11 {
            let e = raw_entry(&log, seq);
            let body = if seq == 1 {
                Event::Genesis(Genesis {
                    store_id,
                    format: 1,
                    software: "vigil-store 0.1.0".into(),
                })
                .encode()
            } else {
                e.body().unwrap().to_vec()
            };
            let seal = prev.seal_next(e.time(), e.seal().kind, Hash::sha256(&body), &key);
            let keep = if pruned.contains(&seq) {
                None
            } else {
                Some(&body[..])
            };
            log.insert(entry_key(seq), encode_entry_value(&seal, keep))
                .unwrap();
            prev = Head::from(&seal);
        }
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    std::fs::remove_file(dir.join(head_file::HEAD_FILE)).unwrap();
    set_marker_format(&dir, store_id, 1);
    (tmp, dir, vk)
}

fn set_marker_format(dir: &Path, store_id: StoreId, format: u32) {
    std::fs::write(
        dir.join(layout::MARKER),
        format!("vigil-store\nformat {format}\nid {}\n", store_id.to_hex()),
    )
    .unwrap();
}

fn verify(dir: &Path, vk: &Path) -> VerifyReport {
    let key = read_verification_key(vk).unwrap();
    Log::open_read_only(dir)
        .unwrap()
        .verify(&VerifyOptions {
            key: Some(&key),
            deep: true,
            ..Default::default()
        })
        .unwrap()
}

#[test]
fn a_format_1_store_verifies_as_it_was_written() {
    let (_tmp, dir, vk) = format_1_store(&[4, 5]);
    let report = verify(&dir, &vk);
    assert!(report.ok, "{report:?}");
    assert!(!report.prunes_accounted);
    assert_eq!(report.bodies_pruned, 2);
    assert_eq!(Log::open_read_only(&dir).unwrap().format(), 1);
}

#[test]
fn opening_a_format_1_store_for_writing_upgrades_it_and_accounts_for_old_prunes() {
    let (_tmp, dir, vk) = format_1_store(&[4, 5, 8]);
    let log = Log::open(&dir, LogOptions::default()).unwrap();
    assert_eq!(log.format(), 2);
    // One record names what format 1 had pruned.
    let record = log.get(12).unwrap().unwrap().event().unwrap();
    let Some(Event::BodiesPruned(r)) = record else {
        panic!("expected the upgrade's prune record, got {record:?}");
    };
    assert_eq!(
        r.ranges,
        [
            SeqRange { first: 4, last: 5 },
            SeqRange { first: 8, last: 8 }
        ]
    );
    log.close().unwrap();
    assert_eq!(layout::read_marker(&dir).unwrap().format, 2);
    assert!(head_file::read(&dir).unwrap().is_some());
    let report = verify(&dir, &vk);
    assert!(report.ok, "{report:?}");
    assert!(report.prunes_accounted);
    // From now on a body removed outside retention is caught.
    {
        let (db, log, _) = raw_db(&dir);
        let e = raw_entry(&log, 9);
        log.insert(entry_key(9), encode_entry_value(e.seal(), None))
            .unwrap();
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    let f = verify(&dir, &vk).failure.unwrap();
    assert_eq!((f.seq, f.problem), (9, Problem::UnaccountedPrune));
    // And reopening does not upgrade (or vouch for anything) again.
    let log = Log::open(&dir, LogOptions::default()).unwrap();
    assert_eq!(log.head().seq, 12);
}

#[test]
fn a_format_2_store_rewritten_to_claim_format_1_is_caught() {
    let s = TestStore::new();
    for i in 0..10 {
        s.log.append(&custom(&format!("entry {i}"))).unwrap();
    }
    let store_id = s.log.store_id();
    let (_tmp, dir, vk) = s.close();
    // Drop a body, and make the store look like format 1 so that the
    // missing record would be excused.
    {
        let (db, log, _) = raw_db(&dir);
        let e = raw_entry(&log, 6);
        log.insert(entry_key(6), encode_entry_value(e.seal(), None))
            .unwrap();
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    std::fs::remove_file(dir.join(head_file::HEAD_FILE)).unwrap();
    set_marker_format(&dir, store_id, 1);
    // Its genesis says format 2: the rules of format 2 apply.
    let report = verify(&dir, &vk);
    assert!(report.prunes_accounted);
    let f = report.failure.unwrap();
    assert_eq!((f.seq, f.problem), (6, Problem::UnaccountedPrune));
    // And no upgrade vouches for the missing body.
    let before = snapshot_files(&dir);
    let err = Log::open(&dir, LogOptions::default()).unwrap_err();
    assert!(err.to_string().contains("marker was rewritten"), "{err}");
    assert_eq!(snapshot_files(&dir), before);
}
