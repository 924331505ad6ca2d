//! Prometheus's push, `POST /api/v2/alerts` with one alert per request over
//! 64 keep-alive connections, against Vigil and against Debian's real
//! Alertmanager in the same run.
//!
//! `cargo bench -p vigild --bench alertmanager [-- REQUESTS]` (default
//! 100,000). Progress on stderr; the last stdout line is JSON:
//!
//! * `vigil_rps`, `vigil_p50_ms`, `vigil_p99_ms`, `vigil_rss_mb`: Vigil, every
//!   alert durable (fdatasync) before its `200`; RSS right after the load;
//! * `am_rps`, `am_p50_ms`, `am_p99_ms`, `am_rss_mb`: `alertmanager` from
//!   `PATH` (Debian's `prometheus-alertmanager`), alerts in memory only;
//! * `rps_ratio` (target ≥ 1.0), `p99_ratio` (Vigil's over Alertmanager's,
//!   target ≤ 1.0), `rss_ratio` (target ≤ 0.5).
//!
//! Without `alertmanager` installed the `am_*` fields are null.

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use common::load::{CONNECTIONS, drive};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One alert, as Prometheus sends it; every request a new series (the
/// memory of a large backlog, as the issue measured Alertmanager).
fn payload(i: u64) -> String {
    format!(
        r#"[{{"labels":{{"alertname":"HighLoad","instance":"node-{n}:9100","job":"node","severity":"warning"}},"annotations":{{"summary":"Load above 4 on node-{n}","description":"load1 is 5.2 for 10m"}},"startsAt":"2026-11-23T07:00:00Z","endsAt":"2099-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=node_load1"}}]"#,
        n = i
    )
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    (kb / 102.4).round() / 10.0
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the load against the real Alertmanager; `None` if not installed.
fn alertmanager(runtime: &tokio::runtime::Runtime, total: u64) -> Option<(f64, f64, f64, f64)> {
    let binary = ["/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alertmanager.yml");
    // The same work as Vigil's run: group and hold the alerts, notify no one.
    std::fs::write(
        &config,
        "route:\n  receiver: none\n  group_by: [alertname]\nreceivers:\n- name: none\n",
    )
    .unwrap();
    let port = free_port();
    let mut child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let t = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "alertmanager did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("alertmanager: {total} requests over {CONNECTIONS} connections");
    let (rps, p50, p99) = runtime.block_on(drive(addr, "/api/v2/alerts", "none", total, payload));
    let rss = rss_mb(child.id());
    eprintln!("alertmanager: {rps} rps, p50 {p50} ms, p99 {p99} ms, rss {rss} MB");
    let _ = child.kill();
    let _ = child.wait();
    Some((rps, p50, p99, rss))
}

fn ratio(a: f64, b: f64) -> f64 {
    (a / b * 1000.0).round() / 1000.0
}

fn main() {
    let total: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let daemon = common::Daemon::start("[sources.prometheus]\ndriver = \"prometheus\"\n");
    let (addr, key) = (daemon.addr, daemon.key.clone());
    eprintln!("vigil: {total} requests over {CONNECTIONS} connections");
    let (rps, p50, p99) = runtime.block_on(drive(addr, "/api/v2/alerts", &key, total, payload));
    let rss = daemon.rss_mb();
    eprintln!("vigil: {rps} rps, p50 {p50} ms, p99 {p99} ms, rss {rss} MB");
    daemon.stop();

    let am = alertmanager(&runtime, total);
    println!(
        "{}",
        serde_json::json!({
            "requests": total,
            "connections": CONNECTIONS,
            "vigil_rps": rps,
            "vigil_p50_ms": p50,
            "vigil_p99_ms": p99,
            "vigil_rss_mb": rss,
            "am_rps": am.map(|a| a.0),
            "am_p50_ms": am.map(|a| a.1),
            "am_p99_ms": am.map(|a| a.2),
            "am_rss_mb": am.map(|a| a.3),
            "rps_ratio": am.map(|a| ratio(rps, a.0)),
            "p99_ratio": am.map(|a| ratio(p99, a.2)),
            "rss_ratio": am.map(|a| ratio(rss, a.3)),
        })
    );
}
