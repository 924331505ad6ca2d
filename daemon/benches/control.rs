//! Daemon benchmark: the real `vigild` against the store it sits on.
//!
//! `cargo bench -p vigild --bench control [-- EVENTS]` (default 1,000,000
//! for the cold starts). Progress on stderr; the last stdout line is JSON:
//!
//! * `emit_eps`: durable `emit`s per second through the control socket,
//!   16 concurrent clients; `store_durable_eps`: the store's own group
//!   commit with 16 concurrent appenders, same machine, same run;
//! * `cold_start_full_ms` / `cold_start_snapshot_ms`: process start to
//!   "ready" with EVENTS events in the log, without and with view snapshots;
//! * `idle_rss_mb`: the daemon's resident memory, idle after start.

#![allow(missing_docs, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use vigil_proto::{DaemonRequest, EventsRequest, Request, Response};
use vigil_store::{Actor, Custom, Durability, Event, Log, LogOptions, Severity};
use vigilctl::Client;

const VIGILD: &str = env!("CARGO_BIN_EXE_vigild");
const CLIENTS: u64 = 16;

fn event(i: u64) -> Event {
    Event::Custom(Custom {
        actor: Actor::Daemon,
        severity: Severity::Info,
        message: format!(
            "benchmark event {i}: disk pressure on db-{} above threshold",
            i % 50
        ),
        labels: [("job".to_string(), "node".to_string())].into(),
    })
}

struct Running {
    child: Child,
    ready_after: Duration,
}

/// Starts `vigild --dev` and waits for its ready line.
fn start(state: &Path) -> Running {
    let started = Instant::now();
    let mut child = Command::new(VIGILD)
        .args(["--dev", "--listen", "127.0.0.1:0"])
        .arg("--state-dir")
        .arg(state)
        .env("VIGIL_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("vigild ready") {
                let _ = tx.send(started.elapsed());
            }
        }
    });
    let ready_after = rx
        .recv_timeout(Duration::from_secs(300))
        .expect("vigild became ready");
    Running { child, ready_after }
}

fn stop(mut r: Running) {
    let pid = nix::unistd::Pid::from_raw(r.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(r.child.wait().unwrap().success());
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    (kb / 1024.0 * 10.0).round() / 10.0
}

fn settle() {
    let _ = Command::new("sync").status();
}

/// 16 threads appending one event at a time straight to a store.
fn store_durable(dir: &Path, n: u64) -> f64 {
    let log = Log::create(&dir.join("store"), &dir.join("vk"), LogOptions::default()).unwrap();
    settle();
    let start = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..n / CLIENTS {
                    log.append(&event(t * n + i)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let eps = (n / CLIENTS * CLIENTS) as f64 / start.elapsed().as_secs_f64();
    log.close().unwrap();
    eps.round()
}

/// 16 clients emitting one event at a time through the socket.
fn emits(socket: &Path, n: u64) -> f64 {
    settle();
    let start = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let socket = socket.to_path_buf();
            std::thread::spawn(move || {
                let mut client = Client::connect(&socket).unwrap();
                for i in 0..n / CLIENTS {
                    let request = Request::Events(EventsRequest::Emit {
                        message: format!("benchmark emit {t}-{i}: disk pressure above threshold"),
                        severity: Severity::Info,
                        labels: [("job".to_string(), "node".to_string())].into(),
                    });
                    match client.call(&request).unwrap() {
                        Response::Appended { .. } => {}
                        other => panic!("{other:?}"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    ((n / CLIENTS * CLIENTS) as f64 / start.elapsed().as_secs_f64()).round()
}

fn main() {
    let events: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let durable = 20_000u64;
    let tmp = tempfile::tempdir().unwrap();

    // Throughput: the store alone, then the daemon; best of two each.
    let mut store_eps = 0f64;
    let mut emit_eps = 0f64;
    let mut idle_rss_mb = 0f64;
    let state = tmp.path().join("state");
    for round in 0..2 {
        store_eps = store_eps.max(store_durable(
            &tmp.path().join(format!("raw{round}")),
            durable,
        ));
        let daemon = start(&state);
        std::thread::sleep(Duration::from_secs(2));
        idle_rss_mb = if round == 0 {
            rss_mb(daemon.child.id())
        } else {
            idle_rss_mb
        };
        emit_eps = emit_eps.max(emits(&state.join("control.sock"), durable));
        if let Ok(Response::Status(s)) = Client::connect(&state.join("control.sock"))
            .and_then(|mut c| c.call(&Request::Daemon(DaemonRequest::Status)))
        {
            eprintln!(
                "daemon writer: {} entries in {} commits, {} fsyncs",
                s.writer.entries, s.writer.commits, s.writer.syncs
            );
        }
        eprintln!(
            "round {round}: store {store_eps} appends/s, daemon {emit_eps} emits/s (16 clients, durable)"
        );
        stop(daemon);
    }

    // Cold starts over `events` events.
    let store = state.join("store");
    {
        let log = Log::open(
            &store,
            LogOptions {
                durability: Durability::Buffered,
                ..Default::default()
            },
        )
        .unwrap();
        let mut done = 0;
        while done < events {
            let batch: Vec<Event> = (done..(done + 1000).min(events)).map(event).collect();
            done += batch.len() as u64;
            log.append_all(&batch).unwrap();
        }
        log.sync().unwrap();
        log.reclaim().unwrap();
        log.close().unwrap();
    }
    settle();
    // The snapshot predates the fill: everything replays.
    let full = start(&state);
    let cold_start_full_ms = full.ready_after.as_millis() as u64;
    let loaded_rss_mb = rss_mb(full.child.id());
    stop(full);
    settle();
    let snap = start(&state);
    let cold_start_snapshot_ms = snap.ready_after.as_millis() as u64;
    stop(snap);
    eprintln!(
        "cold start over {events} events: full replay {cold_start_full_ms} ms, from snapshot {cold_start_snapshot_ms} ms; idle RSS {idle_rss_mb} MB"
    );

    let ratio = |a: f64, b: f64| ((a / b) * 1000.0).round() / 1000.0;
    let emit_vs_store = ratio(emit_eps, store_eps);
    let snapshot_vs_full = ratio(cold_start_snapshot_ms as f64, cold_start_full_ms as f64);
    let met = emit_vs_store >= 0.5 && snapshot_vs_full <= 0.1 && idle_rss_mb <= 30.0;
    println!(
        "{{\"events\":{events},\"durable_events\":{durable},\"clients\":{CLIENTS},\"emit_eps\":{emit_eps},\"store_durable_eps\":{store_eps},\"emit_vs_store\":{emit_vs_store},\"cold_start_full_ms\":{cold_start_full_ms},\"cold_start_snapshot_ms\":{cold_start_snapshot_ms},\"snapshot_vs_full\":{snapshot_vs_full},\"idle_rss_mb\":{idle_rss_mb},\"loaded_rss_mb\":{loaded_rss_mb},\"targets_met\":{met}}}"
    );
}
