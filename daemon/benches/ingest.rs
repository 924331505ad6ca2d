//! Ingestion load generator: Alertmanager payloads over 64 keep-alive
//! connections to the real `vigild`, every answer a durable `202`.
//!
//! `cargo bench -p vigild --bench ingest [-- REQUESTS]` (default 100,000).
//! Progress on stderr; the last stdout line is JSON:
//!
//! * `ingest_rps`, `p50_ms`, `p99_ms`: `POST /v1/ingest/am` with an API key,
//!   one alert per request, acknowledged after fdatasync;
//! * `hello_rps`, `hello_p50_ms`, `hello_p99_ms`: a trivial hyper server
//!   answering `200 hello` in this process, driven by the same client code
//!   on the same machine in the same run (the baseline);
//! * `ratio`: `ingest_rps / hello_rps` (target ≥ 0.3), `p99_ms` target ≤ 20.

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use common::load::{CONNECTIONS, drive, hello_server};

fn payload(i: u64) -> String {
    format!(
        r#"{{"version":"4","groupKey":"{{}}:{{alertname=\"HighLoad\"}}","status":"firing","receiver":"vigil","groupLabels":{{"alertname":"HighLoad"}},"commonLabels":{{"alertname":"HighLoad"}},"commonAnnotations":{{}},"externalURL":"http://alertmanager:9093","truncatedAlerts":0,"alerts":[{{"status":"firing","labels":{{"alertname":"HighLoad","instance":"node-{n}:9100","job":"node","severity":"warning"}},"annotations":{{"summary":"Load above 4 on node-{n}","description":"load1 is 5.2 for 10m"}},"startsAt":"2026-11-23T07:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=node_load1","fingerprint":"{i:016x}"}}]}}"#,
        n = i % 500
    )
}

fn main() {
    let total: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let daemon = common::Daemon::start("");
    let (addr, key) = (daemon.addr, daemon.key.clone());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    eprintln!("ingest: {total} requests over {CONNECTIONS} connections");
    let (ingest_rps, p50, p99) =
        runtime.block_on(drive(addr, "/v1/ingest/am", &key, total, payload));
    eprintln!("ingest: {ingest_rps} rps, p50 {p50} ms, p99 {p99} ms");
    daemon.stop();

    let hello = runtime.block_on(hello_server());
    let (hello_rps, hp50, hp99) = runtime.block_on(drive(hello, "/", "none", total, payload));
    eprintln!("hello: {hello_rps} rps, p50 {hp50} ms, p99 {hp99} ms");
    println!(
        "{}",
        serde_json::json!({
            "requests": total,
            "connections": CONNECTIONS,
            "ingest_rps": ingest_rps,
            "p50_ms": p50,
            "p99_ms": p99,
            "hello_rps": hello_rps,
            "hello_p50_ms": hp50,
            "hello_p99_ms": hp99,
            "ratio": (ingest_rps / hello_rps * 1000.0).round() / 1000.0,
        })
    );
}
