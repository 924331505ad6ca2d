//! Every way of altering a closed store is caught at the right seq.
//!
//! The attacker here has the store's files, and for some cases the current
//! sealing key (root on the host today), but never the verification key.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::path::PathBuf;
use tempfile::TempDir;
use vigil_store::*;

struct Tampered {
    _tmp: TempDir,
    dir: PathBuf,
    vk: PathBuf,
    head_before: Head,
}

/// 40 entries over three epochs; epoch 2 starts at seq 15, epoch 3 at 30.
fn store() -> Tampered {
    let s = TestStore::new();
    for i in 2..=40u64 {
        if i == 15 || i == 30 {
            s.log.advance_epoch("test").unwrap();
        } else {
            s.log.append(&custom(&format!("entry {i}"))).unwrap();
        }
    }
    let head_before = s.log.head();
    assert_eq!(head_before.seq, 40);
    assert_eq!(head_before.epoch, 3);
    let (tmp, dir, vk) = s.close();
    Tampered {
        _tmp: tmp,
        dir,
        vk,
        head_before,
    }
}

impl Tampered {
    fn edit(&self, f: impl FnOnce(&fjall::Keyspace, &fjall::Keyspace)) {
        let (db, log, meta) = raw_db(&self.dir);
        f(&log, &meta);
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }

    /// Verifies in the store and as a stream (as `vigilctl verify --key`
    /// does over the socket), and checks both find the same first failure.
    fn verify_with(&self, keyed: bool, anchor: Option<(u64, Hash)>) -> VerifyReport {
        let log = Log::open_read_only(&self.dir).unwrap();
        let key = read_verification_key(&self.vk).unwrap();
        let key = keyed.then_some(&key);
        let report = log
            .verify(&VerifyOptions {
                key,
                anchor,
                ..Default::default()
            })
            .unwrap();
        let checkpoint = log.cut().and_then(|c| log.get(c.checkpoint_seq).unwrap());
        // The store checks its own record of the head when given no anchor.
        let anchor = anchor.or(log.recorded_head().unwrap());
        let mut stream = StreamVerifier::new(
            log.store_id(),
            key,
            false,
            log.cut(),
            checkpoint.as_ref().map(|e| (e.seal(), e.body())),
        )
        .unwrap()
        .with_anchor(anchor)
        .prunes_accounted(log.format() >= 2);
        // Every stored entry in order, as the daemon streams them (gaps and all).
        for e in log.entries(1) {
            let e = e.unwrap();
            stream.push(e.seal(), e.body());
        }
        let streamed = stream.finish(log.head());
        assert_eq!(
            streamed.failure, report.failure,
            "stream and store verifiers disagree"
        );
        report
    }

    /// Rewrites the store's record of its head to match the log, as an
    /// attacker who edits the log would (the record is a tripwire, not proof).
    fn rerecord_head(&self) {
        let (_db, log, _meta) = raw_db(&self.dir);
        let (k, v) = log.last_key_value().unwrap().into_inner().unwrap();
        let e = Entry::decode(&k, v).unwrap();
        head_file::write(
            &self.dir,
            &head_file::RecordedHead::from(&Head::from(e.seal())),
        )
        .unwrap();
    }

    fn keyed(&self) -> VerifyReport {
        self.verify_with(true, None)
    }

    fn unkeyed(&self) -> VerifyReport {
        self.verify_with(false, None)
    }
}

fn failure(report: &VerifyReport) -> (u64, Problem) {
    let f = report
        .failure
        .clone()
        .unwrap_or_else(|| panic!("tampering not detected: {report:?}"));
    assert!(!report.ok);
    (f.seq, f.problem)
}

fn put(log: &fjall::Keyspace, seal: &Seal, body: Option<&[u8]>) {
    log.insert(entry_key(seal.seq), encode_entry_value(seal, body))
        .unwrap();
}

fn body_of(message: &str) -> Vec<u8> {
    custom(message).encode()
}

#[test]
fn an_untouched_store_verifies_with_and_without_the_key() {
    let t = store();
    let report = t.keyed();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries, 40);
    assert_eq!(report.sealed_up_to, Some(40));
    assert_eq!(report.bodies_checked, 40);
    assert_eq!(report.head, t.head_before);
    assert!(t.unkeyed().ok);
    assert_eq!(t.unkeyed().sealed_up_to, None);
}

#[test]
fn a_flipped_body_byte_is_a_bad_digest() {
    let t = store();
    t.edit(|log, _| {
        let mut value = log.get(entry_key(10)).unwrap().unwrap().to_vec();
        *value.last_mut().unwrap() ^= 0x01;
        log.insert(entry_key(10), value).unwrap();
    });
    assert_eq!(failure(&t.keyed()), (10, Problem::BadDigest));
    assert_eq!(failure(&t.unkeyed()), (10, Problem::BadDigest));
}

#[test]
fn a_changed_digest_is_caught() {
    let t = store();
    t.edit(|log, _| {
        let e = raw_entry(log, 10);
        let mut seal = *e.seal();
        seal.digest = Hash::sha256(b"something else");
        put(log, &seal, e.body());
    });
    assert_eq!(failure(&t.unkeyed()).0, 10);
    // Even with the body dropped (so no digest check), the link no longer matches.
    t.edit(|log, _| {
        let e = raw_entry(log, 10);
        put(log, e.seal(), None);
    });
    assert_eq!(failure(&t.unkeyed()), (10, Problem::BrokenLink));
}

#[test]
fn a_deleted_entry_is_a_gap() {
    let t = store();
    t.edit(|log, _| log.remove(entry_key(10)).unwrap());
    assert_eq!(failure(&t.keyed()), (10, Problem::Gap { expected: 10 }));
}

#[test]
fn an_inserted_entry_is_caught_at_its_seq() {
    let t = store();
    t.edit(|log, _| {
        // Shift 10..=40 up by one, then forge a well-linked entry at 10.
        for seq in (10..=40).rev() {
            let value = log.get(entry_key(seq)).unwrap().unwrap();
            log.insert(entry_key(seq + 1), value).unwrap();
        }
        let prev = raw_entry(log, 9);
        let body = body_of("forged");
        let digest = Hash::sha256(&body);
        let s = prev.seal();
        let link = chain::link(&s.link, 10, s.time, EventKind::Custom.code(), &digest);
        let forged = Seal {
            seq: 10,
            time: s.time,
            kind: EventKind::Custom.code(),
            epoch: s.epoch,
            digest,
            link,
            tag: Hash([0xEE; 32]),
        };
        put(log, &forged, Some(&body));
    });
    assert_eq!(failure(&t.keyed()), (10, Problem::BadTag));
    // Without the key the forged entry links fine, but the shifted one cannot.
    assert_eq!(failure(&t.unkeyed()), (11, Problem::BrokenLink));
}

#[test]
fn swapped_entries_break_the_link() {
    let t = store();
    t.edit(|log, _| {
        let a = log.get(entry_key(10)).unwrap().unwrap();
        let b = log.get(entry_key(11)).unwrap().unwrap();
        log.insert(entry_key(10), b).unwrap();
        log.insert(entry_key(11), a).unwrap();
    });
    assert_eq!(failure(&t.keyed()), (10, Problem::BrokenLink));
}

/// Rewrites bodies from `from` to the head, recomputing digests and links,
/// and re-tagging with `retag` (or keeping the old tags).
fn rewrite_suffix(log: &fjall::Keyspace, from: u64, retag: Option<(&EpochKey, bool)>) {
    let mut prev = *raw_entry(log, from - 1).seal();
    for seq in from..=40 {
        let e = raw_entry(log, seq);
        let s = *e.seal();
        let body = if s.kind == EventKind::Custom.code() {
            body_of(&format!("rewritten {seq}"))
        } else {
            e.body().unwrap().to_vec()
        };
        let digest = Hash::sha256(&body);
        let link = chain::link(&prev.link, seq, s.time, s.kind, &digest);
        let (epoch, tag) = match retag {
            Some((key, claim_key_epoch)) => (
                if claim_key_epoch {
                    key.epoch()
                } else {
                    s.epoch
                },
                key.tag(&link),
            ),
            None => (s.epoch, s.tag),
        };
        let new = Seal {
            seq,
            time: s.time,
            kind: s.kind,
            epoch,
            digest,
            link,
            tag,
        };
        put(log, &new, Some(&body));
        prev = new;
    }
}

#[test]
fn a_rewritten_suffix_with_recomputed_links_fails_only_on_seals() {
    let t = store();
    t.edit(|log, _| rewrite_suffix(log, 20, None));
    assert_eq!(failure(&t.keyed()), (20, Problem::BadTag));
    // The store's record of its head no longer matches the rewritten tail...
    assert!(matches!(
        failure(&t.unkeyed()),
        (40, Problem::AnchorMismatch { .. })
    ));
    // ...but that record is on the host too. Rewritten as well, linkage
    // alone cannot see it: that is what the verification key is for.
    t.rerecord_head();
    assert!(t.unkeyed().ok);
    assert_eq!(failure(&t.keyed()), (20, Problem::BadTag));
}

#[test]
fn resealing_old_entries_with_the_current_key_is_caught() {
    // journald's CVE-2023-31439: old entries re-sealed under a newer key.
    let t = store();
    let current = key_file::load(&t.dir).unwrap();
    assert_eq!(current.epoch(), 3);
    t.edit(|log, _| rewrite_suffix(log, 5, Some((&current, false))));
    assert_eq!(failure(&t.keyed()), (5, Problem::BadTag));

    // Claiming the current epoch for the old entries instead is an epoch jump.
    let t = store();
    t.edit(|log, _| rewrite_suffix(log, 5, Some((&current, true))));
    assert_eq!(
        failure(&t.keyed()),
        (
            5,
            Problem::EpochGap {
                previous: 1,
                found: 3
            }
        )
    );
    assert_eq!(
        failure(&t.unkeyed()),
        (
            5,
            Problem::EpochGap {
                previous: 1,
                found: 3
            }
        )
    );
}

#[test]
fn epochs_that_go_backwards_are_reported() {
    let t = store();
    t.edit(|log, _| {
        // Entry 31 (epoch 3) claims epoch 2; the epoch is not in the link, so only it is wrong.
        let e = raw_entry(log, 31);
        let mut seal = *e.seal();
        seal.epoch = 2;
        put(log, &seal, e.body());
    });
    assert_eq!(
        failure(&t.unkeyed()),
        (
            31,
            Problem::EpochRegression {
                previous: 3,
                found: 2
            }
        )
    );
}

#[test]
fn a_removed_epoch_entry_is_reported_not_skipped() {
    // journald's CVE-2023-31438: a gap in epochs must not be skipped over.
    let t = store();
    t.edit(|log, _| {
        // Replace the epoch-opening entry 15 by a relinked ordinary entry.
        let prev = raw_entry(log, 14);
        let e = raw_entry(log, 15);
        let body = body_of("not an epoch entry");
        let digest = Hash::sha256(&body);
        let s = e.seal();
        let link = chain::link(
            &prev.seal().link,
            15,
            s.time,
            EventKind::Custom.code(),
            &digest,
        );
        let seal = Seal {
            kind: EventKind::Custom.code(),
            digest,
            link,
            ..*s
        };
        put(log, &seal, Some(&body));
    });
    assert_eq!(
        failure(&t.unkeyed()),
        (15, Problem::EpochNotOpened { epoch: 2 })
    );
}

#[test]
fn a_truncated_tail_shows_in_the_head_and_against_an_anchor() {
    let t = store();
    t.edit(|log, _| {
        for seq in 36..=40 {
            log.remove(entry_key(seq)).unwrap();
        }
    });
    // A shorter log is still a valid chain, but not the log the store
    // recorded at its stop...
    let report = t.keyed();
    assert_eq!(report.head.seq, 35);
    assert_ne!(report.head.link, t.head_before.link);
    assert_eq!(
        failure(&report),
        (
            36,
            Problem::Truncated {
                anchored: 40,
                head: 35
            }
        )
    );
    // ...nor may it be opened and appended to, reusing seqs 36..=40.
    let err = Log::open(&t.dir, LogOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Truncated { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("seq 40") && message.contains("seq 35"),
        "{message}"
    );
    // With the record gone as well, an external anchor exposes it.
    std::fs::remove_file(t.dir.join(head_file::HEAD_FILE)).unwrap();
    assert!(t.keyed().ok);
    let anchored = t.verify_with(true, Some((t.head_before.seq, t.head_before.link)));
    assert_eq!(
        failure(&anchored),
        (
            36,
            Problem::Truncated {
                anchored: 40,
                head: 35
            }
        )
    );
    let wrong = t.verify_with(true, Some((30, Hash([1; 32]))));
    assert_eq!(failure(&wrong).0, 30);
    // Cutting back past an epoch start also leaves the key file (epoch 3)
    // ahead of the log, which opening for writing refuses:
    t.edit(|log, _| {
        for seq in 15..=35 {
            log.remove(entry_key(seq)).unwrap();
        }
    });
    // Not even --accept-truncation can go on from there: the log would
    // have to skip an epoch.
    let accept = LogOptions {
        accept_truncation: true,
        ..LogOptions::default()
    };
    let err = Log::open(&t.dir, accept).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[test]
fn a_removed_prefix_without_checkpoint_is_reported() {
    let t = store();
    t.edit(|log, _| {
        for seq in 1..=10 {
            log.remove(entry_key(seq)).unwrap();
        }
    });
    assert!(matches!(
        failure(&t.unkeyed()),
        (1, Problem::MissingCheckpoint { .. })
    ));
}

#[test]
fn a_key_for_another_store_is_refused_clearly() {
    let t = store();
    let other = TestStore::new();
    let log = Log::open_read_only(&t.dir).unwrap();
    let key = other.key();
    let err = log
        .verify(&VerifyOptions {
            key: Some(&key),
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.to_string().contains("belongs to store"), "{err}");
}

#[test]
fn an_undecodable_body_is_found_by_a_deep_verify() {
    let t = store();
    t.edit(|log, _| {
        // A body that hashes and links correctly but is not an event.
        let mut prev = *raw_entry(log, 9).seal();
        for seq in 10..=40 {
            let e = raw_entry(log, seq);
            let s = *e.seal();
            let body = if seq == 10 {
                vec![1, 200, 7]
            } else {
                e.body().unwrap().to_vec()
            };
            let digest = Hash::sha256(&body);
            let link = chain::link(&prev.link, seq, s.time, s.kind, &digest);
            let new = Seal { digest, link, ..s };
            put(log, &new, Some(&body));
            prev = new;
        }
    });
    let log = Log::open_read_only(&t.dir).unwrap();
    let deep = log
        .verify(&VerifyOptions {
            deep: true,
            ..Default::default()
        })
        .unwrap();
    assert!(
        matches!(failure(&deep), (10, Problem::Undecodable { .. })),
        "{deep:?}"
    );
    // A default verify trusts the digest for ordinary entries (once the
    // record of the head is rewritten to the relinked tail too).
    drop(log);
    t.rerecord_head();
    let log = Log::open_read_only(&t.dir).unwrap();
    assert!(log.verify(&VerifyOptions::default()).unwrap().ok);
}

/// Drops a body the way retention does, but without its record.
fn prune_raw(log: &fjall::Keyspace, seq: u64) {
    let e = raw_entry(log, seq);
    put(log, e.seal(), None);
}

#[test]
fn a_body_removed_outside_retention_is_unaccounted() {
    let t = store();
    t.edit(|log, _| prune_raw(log, 10));
    assert_eq!(failure(&t.keyed()), (10, Problem::UnaccountedPrune));
    assert_eq!(failure(&t.unkeyed()), (10, Problem::UnaccountedPrune));
    let log = Log::open_read_only(&t.dir).unwrap();
    let deep = log
        .verify(&VerifyOptions {
            deep: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(failure(&deep), (10, Problem::UnaccountedPrune));
}

#[test]
fn the_chains_own_entries_cannot_lose_their_bodies() {
    for (seq, kind) in [(1, EventKind::Genesis), (15, EventKind::Epoch)] {
        let t = store();
        t.edit(|log, _| prune_raw(log, seq));
        let expected = (seq, Problem::PrunedChainEntry { kind: kind.code() });
        assert_eq!(failure(&t.keyed()), expected);
        assert_eq!(failure(&t.unkeyed()), expected);
    }
}

#[test]
fn retention_prunes_verify_and_removing_their_record_does_not() {
    let t = store();
    {
        let log = Log::open(&t.dir, LogOptions::default()).unwrap();
        let out = log.prune(vec![5, 6, 7, 20], "test policy").unwrap();
        assert_eq!(out.pruned, 4);
        assert_eq!(log.head().seq, 41);
        log.close().unwrap();
    }
    let report = t.keyed();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.bodies_pruned, 4);
    assert!(report.prunes_accounted);
    // An unnamed body beside the named ones is still caught.
    t.edit(|log, _| prune_raw(log, 8));
    assert_eq!(failure(&t.keyed()), (8, Problem::UnaccountedPrune));
    // Dropping the record's own body is caught at the record: nothing may
    // prune retention's records.
    let t2 = store();
    {
        let log = Log::open(&t2.dir, LogOptions::default()).unwrap();
        log.prune(vec![5, 6], "test policy").unwrap();
        log.close().unwrap();
    }
    t2.edit(|log, _| prune_raw(log, 41));
    let dropped = Problem::PrunedChainEntry {
        kind: EventKind::Retention.code(),
    };
    assert_eq!(failure(&t2.keyed()), (41, dropped.clone()));
    assert_eq!(failure(&t2.unkeyed()), (41, dropped));
}

#[test]
fn an_entry_inserted_from_an_older_epoch_is_blamed_with_or_without_the_key() {
    // An epoch-2 entry copied to a new seq after the epoch-3 head: the key
    // must not change which seq is blamed.
    let t = store();
    t.edit(|log, _| {
        let old = raw_entry(log, 20);
        let s = *old.seal();
        let head = raw_entry(log, 40);
        let link = chain::link(&head.seal().link, 41, head.time(), s.kind, &s.digest);
        let copied = Seal {
            seq: 41,
            time: head.time(),
            link,
            ..s
        };
        put(log, &copied, old.body());
    });
    let expected = (
        41,
        Problem::EpochRegression {
            previous: 3,
            found: 2,
        },
    );
    assert_eq!(failure(&t.unkeyed()), expected);
    assert_eq!(failure(&t.keyed()), expected);
    // Everything before it is vouched for, nothing after.
    assert_eq!(t.keyed().sealed_up_to, Some(40));
}

#[test]
fn an_entry_claiming_an_epoch_beyond_its_seq_is_refused_without_deriving_keys() {
    let t = store();
    t.edit(|log, _| {
        let e = raw_entry(log, 40);
        let mut seal = *e.seal();
        seal.epoch = u64::MAX;
        put(log, &seal, e.body());
    });
    let expected = (
        40,
        Problem::EpochGap {
            previous: 3,
            found: u64::MAX,
        },
    );
    assert_eq!(failure(&t.keyed()), expected);
    assert_eq!(failure(&t.unkeyed()), expected);
    let rules = EntryRules::new(
        Log::open_read_only(&t.dir).unwrap().store_id(),
        Some(&read_verification_key(&t.vk).unwrap()),
        false,
    );
    let e = {
        let (_db, log, _) = raw_db(&t.dir);
        raw_entry(&log, 40)
    };
    assert_eq!(rules.check_tag(e.seal()), Err(Problem::BadTag));
}

fn accept() -> LogOptions {
    LogOptions {
        accept_truncation: true,
        ..LogOptions::default()
    }
}

#[test]
fn accepting_a_truncation_records_it_and_goes_on() {
    let t = store();
    t.edit(|log, _| {
        for seq in 36..=40 {
            log.remove(entry_key(seq)).unwrap();
        }
    });
    let found = {
        let (_db, log, _) = raw_db(&t.dir);
        Head::from(raw_entry(&log, 35).seal())
    };
    let log = Log::open(&t.dir, accept()).unwrap();
    // The first entry after the loss says what was lost.
    assert_eq!(log.head().seq, 36);
    let lost = log.get(36).unwrap().unwrap().event().unwrap();
    assert_eq!(
        lost,
        Some(Event::TailLost(TailLost {
            recorded_seq: 40,
            recorded_link: t.head_before.link,
            found_seq: 35,
            found_link: found.link,
            actor: Actor::Daemon,
        }))
    );
    log.append(&custom("after")).unwrap();
    log.close().unwrap();
    // From here on the store is whole again: it opens without the flag,
    // and verifies against its new record.
    let log = Log::open(&t.dir, LogOptions::default()).unwrap();
    assert_eq!(log.head().seq, 37);
    log.close().unwrap();
    let report = t.keyed();
    assert!(report.ok, "{report:?}");
}

#[test]
fn a_removed_current_epoch_is_not_recovered_silently() {
    // The key file is one epoch ahead of the shortened log: without the
    // record this looked like a crash during an epoch advance.
    let t = store();
    t.edit(|log, _| {
        for seq in 30..=40 {
            log.remove(entry_key(seq)).unwrap();
        }
    });
    let err = Log::open(&t.dir, LogOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Truncated { .. }), "{err}");
    assert_eq!(Log::open_read_only(&t.dir).unwrap().head().seq, 29);
    let log = Log::open(&t.dir, accept()).unwrap();
    let kinds: Vec<EventKind> = log
        .entries(30)
        .map(|e| e.unwrap().kind().unwrap())
        .collect();
    assert_eq!(kinds, [EventKind::Epoch, EventKind::System]);
    log.close().unwrap();
    assert!(t.keyed().ok);
}

#[test]
fn a_missing_record_of_the_head_is_refused_too() {
    let t = store();
    std::fs::remove_file(t.dir.join(head_file::HEAD_FILE)).unwrap();
    let err = Log::open(&t.dir, LogOptions::default()).unwrap_err();
    assert!(err.to_string().contains("is missing"), "{err}");
    let log = Log::open(&t.dir, accept()).unwrap();
    assert!(matches!(
        log.get(41).unwrap().unwrap().event().unwrap(),
        Some(Event::TailLost(TailLost {
            recorded_seq: 0,
            found_seq: 40,
            ..
        }))
    ));
}

#[test]
fn a_prune_record_naming_itself_or_later_seqs_is_a_bad_body() {
    // With the current sealing key an attacker can append a well-sealed
    // record; one that names entries not before it accounts for nothing.
    let t = store();
    let key = key_file::load(&t.dir).unwrap();
    t.edit(|log, _| {
        let head = Head::from(raw_entry(log, 40).seal());
        let body = Event::BodiesPruned(BodiesPruned {
            ranges: vec![SeqRange {
                first: 41,
                last: 41,
            }],
            reason: "forged".into(),
        })
        .encode();
        let seal = head.seal_next(
            head.time,
            EventKind::Retention.code(),
            Hash::sha256(&body),
            &key,
        );
        put(log, &seal, Some(&body));
    });
    for report in [t.keyed(), t.unkeyed()] {
        assert!(
            matches!(failure(&report), (41, Problem::BadBody { .. })),
            "{report:?}"
        );
    }
}
