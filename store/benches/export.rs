//! Export benchmark: writing and verifying an export against a raw scan of
//! the same store, same run.
//!
//! `cargo bench -p vigil-store --bench export [-- EVENTS]` (default
//! 1,000,000 events of ~300 bytes). Progress goes to stderr; the last line
//! on stdout is one JSON object.
//!
//! * `raw_scan_eps`: every entry of the store read in order (headers
//!   decoded, bodies not): the floor any export stands on.
//! * `export_eps`: `vigilctl export`'s writer over the whole store into a
//!   file (JSON lines, base64 bodies, decoded events).
//! * `verify_export_eps`: `vigilctl verify --export` with the key over
//!   that file.
//!
//! Targets: both at least half the raw scan's rate.

#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{BufReader, BufWriter};
use std::time::{Duration, Instant};
use vigil_store::export::{ExportFilter, ExportRange, export_to, plan, verify_export};
use vigil_store::*;

fn eps(n: u64, d: Duration) -> f64 {
    (n as f64 / d.as_secs_f64()).round()
}

/// Resident set size now, in MB: the export streams, so it must not grow
/// with the store.
fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| (kb / 1024.0 * 10.0).round() / 10.0)
}

fn ratio(a: f64, b: f64) -> f64 {
    ((a / b) * 100.0).round() / 100.0
}

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let vk = tmp.path().join("vk");
    let options = LogOptions {
        durability: Durability::Buffered,
        ..Default::default()
    };
    let log = Log::create(&dir, &vk, options).unwrap();
    eprintln!("filling {n} events");
    let mut i = 0;
    while i < n {
        let batch: Vec<Event> = (i..(i + 4096).min(n))
            .map(|j| common::alert_event(j, 300))
            .collect();
        i += batch.len() as u64;
        log.append_all(&batch).unwrap();
    }
    log.sync().unwrap();
    log.reclaim().unwrap();
    log.close().unwrap();

    let log = Log::open_read_only(&dir).unwrap();
    let entries = log.head().seq;

    // Best of three for each, alternating, so no phase gets a warmer cache.
    let (mut scan_t, mut export_t, mut verify_t) = (Duration::MAX, Duration::MAX, Duration::MAX);
    let file = tmp.path().join("export.jsonl");
    let key = read_verification_key(&vk).unwrap();
    let mut export_bytes = 0;
    let rss_before_mb = rss_mb();
    let mut rss_after_export_mb = 0.0;
    for round in 0..3 {
        eprintln!("round {round}");
        let start = Instant::now();
        let (mut scanned, mut bytes) = (0u64, 0usize);
        for e in log.entries(1) {
            let e = e.unwrap();
            bytes += e.body().map_or(0, <[u8]>::len);
            scanned += 1;
        }
        scan_t = scan_t.min(start.elapsed());
        assert!(scanned == entries && bytes > 0);

        let start = Instant::now();
        let header = plan(
            &log,
            &ExportRange::default(),
            ExportFilter::default(),
            "bench",
        )
        .unwrap();
        let out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&file).unwrap());
        export_to(&log, &header, out, |_| {}).unwrap();
        export_t = export_t.min(start.elapsed());
        export_bytes = std::fs::metadata(&file).unwrap().len();
        rss_after_export_mb = f64::max(rss_after_export_mb, rss_mb());

        let start = Instant::now();
        let input = BufReader::with_capacity(1 << 20, std::fs::File::open(&file).unwrap());
        let report = verify_export(input, Some(&key), None).unwrap();
        verify_t = verify_t.min(start.elapsed());
        assert!(report.report.ok, "{report:?}");
        assert_eq!(report.report.entries, entries);
    }
    let raw_scan_eps = eps(entries, scan_t);
    let export_eps = eps(entries, export_t);
    let verify_export_eps = eps(entries, verify_t);
    eprintln!(
        "raw scan {raw_scan_eps} e/s, export {export_eps} e/s, verify export {verify_export_eps} e/s, {export_bytes} bytes"
    );
    let targets = [
        ("export_vs_scan", ratio(export_eps, raw_scan_eps), 0.5),
        (
            "verify_export_vs_scan",
            ratio(verify_export_eps, raw_scan_eps),
            0.5,
        ),
    ];
    let checks: Vec<String> = targets
        .iter()
        .map(|(name, value, target)| {
            format!(
                "\"{name}\":{{\"value\":{value},\"target\":{target},\"met\":{}}}",
                value >= target
            )
        })
        .collect();
    println!(
        "{{\"entries\":{entries},\"raw_scan_eps\":{raw_scan_eps},\"export_eps\":{export_eps},\"verify_export_eps\":{verify_export_eps},\"export_bytes\":{export_bytes},\"rss_before_mb\":{rss_before_mb},\"rss_after_export_mb\":{rss_after_export_mb},{}}}",
        checks.join(",")
    );
}
