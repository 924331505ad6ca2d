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
use std::collections::BTreeMap;
use std::time::Duration;
use vigil_notify::route::Dispatcher;
use vigil_notify::route::tree::{GroupBy, MatchedRoute, Timings};
use vigil_store::{Alert, AlertStatus, Severity};

#[path = "../../views/tests/support/counting.rs"]
mod counting;

/// The alert the daemon stores for the notify bench's `am_alert("pend", i)`.
fn bench_alert(i: u64) -> Alert {
    let instance = format!("pend-{i}");
    let labels: BTreeMap<String, String> = [
        ("alertname", "HighLoad"),
        ("instance", instance.as_str()),
        ("job", "node"),
        ("severity", "warning"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Alert {
        fingerprint: format!("pend{i:016x}"),
        status: AlertStatus::Firing,
        severity: Severity::Warning,
        summary: format!("Load above 4 on {instance}"),
        labels,
        annotations: BTreeMap::from([(
            "description".to_string(),
            "load1 is 5.2 for 10m".to_string(),
        )]),
        starts_at: Some(1_795_417_200_000_000),
        ends_at: None,
        links: vec!["http://prometheus:9090/graph?g0.expr=node_load1".into()],
    }
}

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
