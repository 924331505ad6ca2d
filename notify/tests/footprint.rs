//! What the aggregation groups cost in memory per group, counted by a
//! global allocator as the daemon's mimalloc would hold them, so the
//! figures are close to the daemon's RSS growth.
//!
//! The groups are the notify bench's pending phase
//! (`daemon/benches/notify.rs`): `group_by = ["..."]`, one alert each (four
//! labels, one distinct, a 20-character fingerprint), notified once.

// A counting allocator cannot be written without `unsafe`: it forwards to
// the system allocator unchanged.
#![allow(missing_docs, clippy::unwrap_used, unsafe_code)]

use jiff::Timestamp;
use std::time::Duration;
use vigil_notify::route::Dispatcher;
use vigil_notify::route::tree::{GroupBy, MatchedRoute, Timings};

#[path = "../../views/tests/support/counting.rs"]
mod counting;

#[path = "../../views/tests/support/bench_alert.rs"]
mod alerts;
use alerts::bench_alert;

const GROUPS: u64 = 20_000;

/// Measured, for the notify bench's `pending_bytes` (target: a pending
/// delivery, all it holds, at most 1 KB).
#[test]
fn a_one_alert_group_notified_once() {
    let route = MatchedRoute {
        route_id: "0".into(),
        receiver: "bench".into(),
        group_by: GroupBy::All,
        timings: Timings {
            group_wait: Duration::ZERO,
            group_interval: Duration::from_secs(600),
            repeat_interval: Duration::from_secs(86_400),
        },
        mute_time_intervals: Vec::new(),
        active_time_intervals: Vec::new(),
    };
    let now = Timestamp::from_second(1_795_417_300).unwrap();
    let before = counting::live();
    let mut d = Dispatcher::new();
    for i in 0..GROUPS {
        d.observe(&route, &bench_alert(i), now);
    }
    let observed = counting::live();
    let flushes = d.due(now);
    assert_eq!(flushes.len() as u64, GROUPS);
    drop(flushes);
    let after = counting::live();
    assert_eq!(d.len() as u64, GROUPS);
    let per = |bytes: isize| bytes as i64 / GROUPS as i64;
    eprintln!(
        "dispatcher: {} bytes per group observed, {} once notified",
        per(observed - before),
        per(after - before)
    );
}
