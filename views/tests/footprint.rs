//! What the views cost in memory per item, counted by a global allocator
//! as the daemon's mimalloc would hold them, so the figures are close to
//! the daemon's RSS growth.
//!
//! The alerts are the notify bench's (`daemon/benches/notify.rs`): four
//! labels, one distinct, a 20-character fingerprint.

// A counting allocator cannot be written without `unsafe`: it forwards to
// the system allocator unchanged.
#![allow(missing_docs, clippy::unwrap_used, unsafe_code)]

use std::sync::Mutex;
use vigil_store::{
    Actor, Alert, AlertsIngested, Event, Hash, IntentCause, NotificationIntent, PlannedDelivery,
    Seal,
};
use vigil_views::{DeliveriesView, IncidentView, View};

#[path = "support/counting.rs"]
mod counting;

/// The tests measure one at a time: the counter is global.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn seal(seq: u64) -> Seal {
    Seal {
        seq,
        time: 1_795_417_200_000_000 + seq as i64,
        kind: 0,
        epoch: 1,
        digest: Hash::ZERO,
        link: Hash::ZERO,
        tag: Hash::ZERO,
    }
}

#[path = "support/bench_alert.rs"]
mod alerts;
use alerts::bench_alert;

fn ingest(alerts: Vec<Alert>) -> Event {
    Event::AlertsIngested(AlertsIngested {
        source: "am".into(),
        driver: "alertmanager".into(),
        delivery_id: None,
        actor: Actor::Daemon,
        alerts,
        raw: None,
    })
}

/// Live bytes per item after `build` made `items` of them (the events it
/// folds in are dropped before counting).
fn per_item<V>(items: u64, build: impl FnOnce() -> V) -> (V, i64) {
    let before = counting::live();
    let view = build();
    let after = counting::live();
    (view, ((after - before) as i64) / items as i64)
}

const ITEMS: u64 = 20_000;

/// Target: an open incident costs at most 1 KB.
#[test]
fn an_open_incident_costs_under_a_kilobyte() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    let (view, bytes) = per_item(ITEMS, || {
        let mut v = IncidentView::default();
        // 100 alerts per entry, as the bench sends them.
        for batch in 0..ITEMS / 100 {
            let alerts = (batch * 100..(batch + 1) * 100).map(bench_alert).collect();
            v.apply(&seal(batch + 1), Some(&ingest(alerts)));
        }
        v
    });
    eprintln!("incident view: {bytes} bytes per open incident");
    assert_eq!(view.len() as u64, ITEMS);
    assert!(bytes <= 1024, "{bytes} bytes per open incident");
}

/// Measured only (see the notify bench for the target).
#[test]
fn a_pending_delivery_in_the_deliveries_view() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    let (view, bytes) = per_item(ITEMS, || {
        let mut v = DeliveriesView::default();
        for i in 0..ITEMS {
            let id = format!("ntf_{i:016x}");
            let intent = Event::NotificationIntended(NotificationIntent {
                id: id.clone(),
                receiver: "bench".into(),
                route: "0".into(),
                group_key: format!("0:{{instance=\"pend-{i}\"}}"),
                group_labels: Default::default(),
                deliveries: vec![PlannedDelivery {
                    delivery: format!("{id}-0"),
                    integration: "webhook/0".into(),
                }],
                alerts: vec![bench_alert(i)],
                firing: 1,
                omitted: 0,
                cause: IntentCause::Group,
            });
            v.apply(&seal(i + 1), Some(&intent));
        }
        v
    });
    eprintln!("deliveries view: {bytes} bytes per pending delivery");
    assert_eq!(view.pending_len() as u64, ITEMS);
}

/// The files bench's small tree: 100 files in each of 1,000 directories
/// two levels down a temporary directory, as one scan records them.
fn bench_path(i: u64) -> String {
    let leaf = i / 100;
    format!(
        "/tmp/.tmpQx3vZa/small/d{:02}/s{:02}/f{:03}.dat",
        leaf / 100,
        leaf % 100,
        i % 100
    )
}

/// Target (for the files bench's `bytes_per_file`, everything a path costs
/// the daemon, ≤ 300): the view's share stays well under it.
#[test]
fn a_baselined_file_in_the_files_view() {
    use vigil_store::{FileAttrs, FileChangeKind, FileIntegrity, FileRecord, FileType, Hash};
    use vigil_views::FilesView;
    let _one = ONE_AT_A_TIME.lock().unwrap();
    const FILES: u64 = 100_000;
    let record = |i: u64| FileRecord {
        path: bench_path(i),
        change: FileChangeKind::Baseline,
        from: None,
        old: None,
        new: Some(FileAttrs {
            file_type: FileType::File,
            sha256: Some(Hash([i as u8; 32])),
            size: 1024 + i % 3072,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            mtime: 1_795_417_200_000_000 + i as i64,
            inode: 1_000_000 + i,
            dev: 2049,
            link_target: None,
            xattrs: vec![],
        }),
        while_stopped: false,
        diff: None,
        content: None,
        alert: None,
    };
    let (view, bytes) = per_item(FILES, || {
        let mut v = FilesView::default();
        v.apply(
            &seal(1),
            Some(&Event::FileIntegrity(FileIntegrity::ScanStarted {
                reason: vigil_store::ScanReason::Start,
                roots: vec!["/tmp/.tmpQx3vZa/small".into()],
            })),
        );
        // The collector's batches: 256 records an entry.
        for batch in 0..FILES.div_ceil(256) {
            let files = (batch * 256..((batch + 1) * 256).min(FILES))
                .map(record)
                .collect();
            v.apply(
                &seal(batch + 2),
                Some(&Event::FileIntegrity(FileIntegrity::Records {
                    scan: Some(1),
                    files,
                })),
            );
        }
        v.apply(
            &seal(FILES + 10),
            Some(&Event::FileIntegrity(FileIntegrity::ScanFinished {
                scan: 1,
                roots: vec!["/tmp/.tmpQx3vZa/small".into()],
                totals: Default::default(),
            })),
        );
        v
    });
    eprintln!(
        "files view: {bytes} bytes per baselined path ({}-byte paths)",
        bench_path(0).len()
    );
    assert_eq!(view.files.len() as u64, FILES);
    assert!(bytes <= 200, "{bytes} bytes per baselined path");
}
