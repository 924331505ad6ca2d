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

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const CONNECTIONS: u64 = 64;

fn payload(i: u64) -> String {
    format!(
        r#"{{"version":"4","groupKey":"{{}}:{{alertname=\"HighLoad\"}}","status":"firing","receiver":"vigil","groupLabels":{{"alertname":"HighLoad"}},"commonLabels":{{"alertname":"HighLoad"}},"commonAnnotations":{{}},"externalURL":"http://alertmanager:9093","truncatedAlerts":0,"alerts":[{{"status":"firing","labels":{{"alertname":"HighLoad","instance":"node-{n}:9100","job":"node","severity":"warning"}},"annotations":{{"summary":"Load above 4 on node-{n}","description":"load1 is 5.2 for 10m"}},"startsAt":"2026-11-23T07:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=node_load1","fingerprint":"{i:016x}"}}]}}"#,
        n = i % 500
    )
}

/// Drives `total` POSTs over CONNECTIONS connections; returns (rps, p50, p99).
async fn drive(addr: SocketAddr, path: &str, key: &str, total: u64) -> (f64, f64, f64) {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (next, path, key) = (next.clone(), path.to_string(), key.to_string());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut send, conn) =
                hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(conn);
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let req = Request::post(format!("http://{addr}{path}"))
                    .header("host", addr.to_string())
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {key}"))
                    .body(Full::new(Bytes::from(payload(i))))
                    .unwrap();
                let t = Instant::now();
                let res = send.send_request(req).await.unwrap();
                let status = res.status();
                let _ = res.into_body().collect().await.unwrap();
                assert!(status.is_success(), "status {status}");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let rps = all.len() as f64 / start.elapsed().as_secs_f64();
    all.sort();
    let pct =
        |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    (
        rps.round(),
        (pct(0.5) * 100.0).round() / 100.0,
        (pct(0.99) * 100.0).round() / 100.0,
    )
}

/// The baseline: a hyper server that answers every request `200 hello`.
async fn hello_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                        let _ = req.into_body().collect().await;
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from_static(b"hello"),
                        )))
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
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
    let (ingest_rps, p50, p99) = runtime.block_on(drive(addr, "/v1/ingest/am", &key, total));
    eprintln!("ingest: {ingest_rps} rps, p50 {p50} ms, p99 {p99} ms");
    daemon.stop();

    let hello = runtime.block_on(hello_server());
    let (hello_rps, hp50, hp99) = runtime.block_on(drive(hello, "/", "none", total));
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
