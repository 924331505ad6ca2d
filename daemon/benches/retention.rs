//! Retention benchmark: the real `vigild` truncating the older half of a
//! store while clients keep appending.
//!
//! `cargo bench -p vigild --bench retention [-- EVENTS]` (default 1,000,000:
//! the store holds 2 × EVENTS events, and the older EVENTS are due).
//! Progress on stderr; the last stdout line is JSON:
//!
//! * `run_ms`: `vigilctl retention run` from request to answer (plan,
//!   truncate behind a checkpoint, reclaim, rebuild the views);
//! * `bytes_before`, `bytes_after`: the store on disk around the run;
//! * `emit_p99_ms` and `emit_p99_during_run_ms`: latency of durable emits
//!   from 4 clients, with no run and during the run (target: at most 2×).

#![allow(missing_docs, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use vigil_proto::{EventsRequest, Request, Response, RetentionRequest};
use vigil_store::{Actor, Custom, Durability, Event, Log, LogOptions, Severity};
use vigilctl::Client;

const VIGILD: &str = env!("CARGO_BIN_EXE_vigild");
const CLIENTS: usize = 4;
/// The retention period: the older half is older than this at the run,
/// the newer half is not.
const KEEP_SECS: u64 = 30;

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

fn fill(store: &Path, from: u64, n: u64) {
    let log = Log::open(
        store,
        LogOptions {
            durability: Durability::Buffered,
            ..Default::default()
        },
    )
    .unwrap();
    let mut done = 0;
    while done < n {
        let batch: Vec<Event> = (from + done..from + (done + 1000).min(n))
            .map(event)
            .collect();
        done += batch.len() as u64;
        log.append_all(&batch).unwrap();
    }
    log.sync().unwrap();
    log.close().unwrap();
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_unstable();
    let at = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
    (samples[at].as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

/// Emit latencies from `CLIENTS` clients until `stop`.
fn emit_latencies(socket: &Path, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let threads: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let socket = socket.to_path_buf();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut client = Client::connect(&socket).unwrap();
                let mut out = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let request = Request::Events(EventsRequest::Emit {
                        message: format!("during {t}-{i}"),
                        severity: Severity::Info,
                        labels: Default::default(),
                    });
                    i += 1;
                    let start = Instant::now();
                    match client.call(&request).unwrap() {
                        Response::Appended { .. } => out.push(start.elapsed()),
                        other => panic!("{other:?}"),
                    }
                    // A steady load, not a flood: the question is latency.
                    std::thread::sleep(Duration::from_millis(2));
                }
                out
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect()
}

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let store = state.join("store");
    Log::create(
        &store,
        &state.join("verification.key"),
        LogOptions::default(),
    )
    .unwrap()
    .close()
    .unwrap();
    eprintln!("filling the older {n} events");
    fill(&store, 0, n);
    let older_done = Instant::now();
    std::thread::sleep(Duration::from_secs(KEEP_SECS + 1));
    eprintln!("filling the newer {n} events");
    fill(&store, n, n);
    assert!(older_done.elapsed() > Duration::from_secs(KEEP_SECS));

    let config = tmp.path().join("vigil.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate_dir = \"{}\"\nsocket = \"{}\"\nsocket_mode = \"0600\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n[retention]\nschedule = \"1h\"\ncustom = \"{KEEP_SECS}s\"\n",
            state.display(),
            tmp.path().join("control.sock").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(VIGILD)
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("vigild ready") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(300))
        .expect("vigild ready");
    let socket = tmp.path().join("control.sock");

    eprintln!("emit latency with no run");
    let stop = Arc::new(AtomicBool::new(false));
    let idle = {
        let (socket, stop) = (socket.clone(), stop.clone());
        std::thread::spawn(move || emit_latencies(&socket, stop))
    };
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    let mut idle = idle.join().unwrap();

    eprintln!("retention run under the same load");
    let stop = Arc::new(AtomicBool::new(false));
    let during = {
        let (socket, stop) = (socket.clone(), stop.clone());
        std::thread::spawn(move || emit_latencies(&socket, stop))
    };
    let started = Instant::now();
    let ran = match Client::connect(&socket)
        .unwrap()
        .call(&Request::Retention(RetentionRequest::Run {
            dry_run: false,
        }))
        .unwrap()
    {
        Response::RetentionRan(r) => r,
        other => panic!("{other:?}"),
    };
    let run_ms = started.elapsed().as_millis();
    stop.store(true, Ordering::Relaxed);
    let mut during = during.join().unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());

    let p99_idle = percentile(&mut idle, 0.99);
    let p99_during = percentile(&mut during, 0.99);
    let ratio = ((p99_during / p99_idle) * 100.0).round() / 100.0;
    eprintln!(
        "truncated {} entries in {run_ms} ms; {} -> {} bytes; emit p99 {p99_idle} ms idle, {p99_during} ms during ({} samples)",
        ran.counts.truncated,
        ran.bytes_before,
        ran.bytes_after,
        during.len()
    );
    assert!(
        ran.counts.truncated >= n,
        "the older half was truncated: {ran:?}"
    );
    println!(
        "{{\"events\":{},\"truncated\":{},\"run_ms\":{run_ms},\"bytes_before\":{},\"bytes_after\":{},\"emit_p99_ms\":{p99_idle},\"emit_p99_during_run_ms\":{p99_during},\"emit_samples_during_run\":{},\"p99_during_vs_idle\":{{\"value\":{ratio},\"target\":2.0,\"met\":{}}}}}",
        2 * n,
        ran.counts.truncated,
        ran.bytes_before,
        ran.bytes_after,
        during.len(),
        ratio <= 2.0
    );
}
