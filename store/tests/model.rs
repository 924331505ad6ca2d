//! Property: any sequence of appends, epoch advances, prunes, truncations,
//! reclaims and reopens leaves a store that verifies with the key and
//! replays exactly the surviving entries.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::BTreeMap;
use vigil_store::*;

#[derive(Debug, Clone)]
enum Op {
    Append(usize),
    Advance,
    Prune(Vec<Index>),
    Truncate(Index),
    Reclaim,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1usize..30).prop_map(Op::Append),
        1 => Just(Op::Advance),
        2 => prop::collection::vec(any::<Index>(), 1..8).prop_map(Op::Prune),
        1 => any::<Index>().prop_map(Op::Truncate),
        1 => Just(Op::Reclaim),
        1 => Just(Op::Reopen),
    ]
}

/// What the model expects at a seq: the kind, and the body if it must survive.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    kind: EventKind,
    event: Option<Event>,
}

fn protected(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Genesis | EventKind::Epoch | EventKind::Checkpoint | EventKind::Retention
    )
}

fn run(ops: Vec<Op>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let vk_path = tmp.path().join("vk");
    let mut log = Log::create(&dir, &vk_path, LogOptions::default()).unwrap();
    let mut model: BTreeMap<u64, Expected> = BTreeMap::new();
    model.insert(
        1,
        Expected {
            kind: EventKind::Genesis,
            event: None,
        },
    );
    let mut counter = 0;
    let mut cut = 0;

    for op in ops {
        match op {
            Op::Append(n) => {
                let events: Vec<Event> = (0..n)
                    .map(|_| {
                        counter += 1;
                        custom(&format!("event {counter}"))
                    })
                    .collect();
                let heads = log.append_all(&events).unwrap();
                for (h, e) in heads.iter().zip(events) {
                    model.insert(
                        h.seq,
                        Expected {
                            kind: EventKind::Custom,
                            event: Some(e),
                        },
                    );
                }
            }
            Op::Advance => {
                let h = log.advance_epoch("test").unwrap();
                model.insert(
                    h.seq,
                    Expected {
                        kind: EventKind::Epoch,
                        event: None,
                    },
                );
            }
            Op::Prune(picks) => {
                let seqs: Vec<u64> = model.keys().copied().collect();
                let chosen: Vec<u64> = picks.iter().map(|i| *i.get(&seqs)).collect();
                let before = log.head().seq;
                let out = log.prune(chosen.clone(), "model").unwrap();
                let mut dropped = 0;
                for seq in chosen {
                    let e = model.get_mut(&seq).unwrap();
                    if !protected(e.kind) && e.event.is_some() {
                        e.event = None;
                        dropped += 1;
                    }
                }
                assert_eq!(out.pruned, dropped);
                // One sealed record accounts for the drop, if anything was dropped.
                let records = log.head().seq - before;
                assert_eq!(records, u64::from(dropped > 0));
                for seq in before + 1..=log.head().seq {
                    model.insert(
                        seq,
                        Expected {
                            kind: EventKind::Retention,
                            event: None,
                        },
                    );
                }
            }
            Op::Truncate(pick) => {
                let head = log.head().seq;
                let candidates: Vec<u64> = model
                    .keys()
                    .copied()
                    .filter(|&s| s > cut && s <= head)
                    .collect();
                let upto = *pick.get(&candidates);
                let h = log.truncate(upto, vec![]).unwrap();
                model.retain(|&seq, _| seq > upto);
                model.insert(
                    h.seq,
                    Expected {
                        kind: EventKind::Checkpoint,
                        event: None,
                    },
                );
                cut = upto;
            }
            Op::Reclaim => log.reclaim().unwrap(),
            Op::Reopen => {
                log.close().unwrap();
                log = Log::open(&dir, LogOptions::default()).unwrap();
            }
        }
    }

    let key = read_verification_key(&vk_path).unwrap();
    let report = log
        .verify(&VerifyOptions {
            key: Some(&key),
            ..Default::default()
        })
        .unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries, model.len() as u64);

    let replayed: BTreeMap<u64, Expected> = log
        .entries(1)
        .map(|e| {
            let e = e.unwrap();
            let kind = e.kind().unwrap();
            let event = if kind == EventKind::Custom {
                e.event().unwrap()
            } else {
                None
            };
            (e.seq(), Expected { kind, event })
        })
        .collect();
    assert_eq!(replayed, model);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_history_verifies_and_replays_what_survived(ops in prop::collection::vec(op(), 1..14)) {
        run(ops);
    }
}
