//! Fleet forwarding benchmark: one host's chain forwarded to NATS
//! JetStream, and the fleet's verification of it, against raw async-nats
//! clients on the same server in the same run.
//!
//! `cargo bench -p vigild --bench forward [-- ENTRIES] [--lag-secs=S]
//! [--rate=R] [--clients=C]` (default 1,000,000 events; 20 s at 5,000
//! emits/s from 16 clients). It starts its own `nats-server` (Debian's, with
//! JetStream in a temporary store directory) on a free 127.0.0.1 port and
//! kills it, by its pid, at the end. Progress on stderr; the last stdout
//! line is JSON:
//!
//! * `forward_eps`: a store of ENTRIES custom events (~340 bytes encoded,
//!   alert-shaped, with labels; `events` in the output, and `entries`
//!   with the store's own first entry), written with
//!   `Durability::Buffered`, its backlog drained
//!   to stream `VIGIL` on `vigil.bench.entries` the daemon's way: after
//!   `ensure_stream` and `publish_start`, `vigil_fleet::forward_range`
//!   (what vigild's forwarder runs: batches of 1024 read and rendered on the
//!   blocking pool while the previous batch is published with at most 256
//!   acknowledgements awaited); from the first read to the last
//!   acknowledgement (`forward_s`);
//! * `raw_publish_eps`: a plain async-nats JetStream publisher sending the
//!   same payload bytes and the same headers (`Nats-Msg-Id` included),
//!   built in memory beforehand, to a fresh stream with the same settings
//!   (`RAW` on `raw.bench.entries`), at most 256 acknowledgements awaited,
//!   in order (`raw_publish_s`). `forward_vs_raw` = forward / raw (target
//!   ≥ 0.7). Best of two alternating rounds each, every round on a fresh
//!   stream (no deduplication across rounds);
//! * `verify_eps`: `vigilctl fleet verify`'s work over the forwarded
//!   stream (`StreamReader::each` on a current-thread runtime, every
//!   message to `FleetCheck` with the host's verification key, seals
//!   checked); `raw_consume_eps`: the same kind of ordered pull consumer
//!   over the same stream, touching only each payload's length.
//!   `verify_vs_raw` = verify / raw consume (target ≥ 0.5). Best of two
//!   alternating rounds each;
//! * `lag_p50_ms`, `lag_p99_ms` (target ≤ 1000), `lag_max_ms`: the real
//!   `vigild` (no HTTP listener, `[forward]` to the same server, host
//!   `bench`, on a fresh `VIGIL` stream) under steady emits through the
//!   control socket (C clients, each paced to R/C per second, durable as
//!   `vigilctl emit` is); per entry appended during the load, the time a
//!   core NATS subscriber on `vigil.bench.entries` received it minus the
//!   entry's own `time` (both this host's clock). `ingest_rate`: the emit
//!   rate reached (`ingest_target_rate`: R); `lag_entries`: the entries
//!   measured (an emit appends two); `lag_missing`: entries never received
//!   (must be 0);
//! * `payload_bytes`: the mean record size on the wire; `rounds`: each
//!   round's rate; `cpu_s`: CPU seconds of this process (`bench`) and of
//!   `nats-server` (`nats`) in each phase's best round (the lag phase's
//!   `bench` excludes the daemon);
//! * `targets`: each target, met or not; `targets_met`: all of them.

#![allow(missing_docs, clippy::unwrap_used)]

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};
use vigil_fleet::check::FleetCheck;
use vigil_fleet::wire::{self, StreamStart};
use vigil_fleet::{Endpoint, Login, Outgoing, Publisher, StreamReader, StreamSettings};
use vigil_proto::{EventsRequest, Request, Response};
use vigil_store::{Durability, Event, Log, LogOptions, Severity, VerificationKey, now_micros};
use vigil_tests::nats::{NatsOptions, NatsServer};
use vigilctl::Client;

const VIGILD: &str = env!("CARGO_BIN_EXE_vigild");
/// The daemon's defaults: `[forward] batch` and `max_in_flight`.
const BATCH: u64 = 1024;
const IN_FLIGHT: usize = 256;
const HOST: &str = "bench";
/// The forwarded stream: the daemon's default name and subjects.
const STREAM: &str = "VIGIL";
/// The raw baseline's stream, its subjects apart from the forwarded one's.
const RAW_STREAM: &str = "RAW";
const RAW_SUBJECT: &str = "raw.bench.entries";
const TIMEOUT: Duration = Duration::from_secs(30);
/// Rounds of each throughput phase; the best of each counts.
const ROUNDS: usize = 2;
const TARGET_FORWARD_VS_RAW: f64 = 0.7;
const TARGET_VERIFY_VS_RAW: f64 = 0.5;
const TARGET_LAG_P99_MS: f64 = 1000.0;

// ------------------------------------------------------------- helpers

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn eps(n: u64, d: Duration) -> f64 {
    (n as f64 / d.as_secs_f64()).round()
}

/// The `p` quantile of `sorted`; 0 for no samples (JSON has no NaN).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at]
}

/// CPU seconds of process `pid` so far, user and system (USER_HZ = 100).
fn cpu_s(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(at) = stat.rfind(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = stat[at + 2..].split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (tick(11) + tick(12)) as f64 / 100.0
}

/// CPU seconds of this process and of the server over `f`.
struct Cpu {
    bench: f64,
    nats: f64,
}

fn measured<T>(nats: &Nats, f: impl FnOnce() -> T) -> (T, Cpu) {
    let (b, n) = (cpu_s("self"), nats.cpu_s());
    let out = f();
    let cpu = Cpu {
        bench: round(cpu_s("self") - b, 2),
        nats: round(nats.cpu_s() - n, 2),
    };
    (out, cpu)
}

impl Cpu {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({"bench": self.bench, "nats": self.nats})
    }
}

/// Flushes what earlier phases left dirty, so it is not written back
/// during the next.
fn settle() {
    nix::unistd::sync();
    std::thread::sleep(Duration::from_millis(500));
}

fn runtime_multi() -> tokio::runtime::Runtime {
    // Like vigild's: a worker per core.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn runtime_single() -> tokio::runtime::Runtime {
    // Like vigilctl's.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------- the server

/// A `nats-server` with JetStream, started here (the tests' helper).
struct Nats(NatsServer);

impl Nats {
    fn start(dir: &Path) -> Nats {
        Nats(NatsServer::start(dir, NatsOptions::default()))
    }

    fn url(&self) -> String {
        self.0.url()
    }

    fn cpu_s(&self) -> f64 {
        cpu_s(&self.0.pid().to_string())
    }

    fn endpoint(&self, name: &str) -> Endpoint {
        Endpoint {
            servers: vec![self.url()],
            tls: None,
            login: Login::Anonymous,
            name: name.into(),
            timeout: TIMEOUT,
        }
    }

    /// Stops it (by its pid, through the helper).
    fn stop(self) {
        drop(self.0);
    }
}

fn delete_stream(nats: &Nats, name: &str) {
    runtime_single().block_on(async {
        let client = nats.endpoint("bench").connect().await.unwrap();
        async_nats::jetstream::new(client)
            .delete_stream(name)
            .await
            .unwrap();
    });
}

fn settings(name: &str, subject: &str) -> StreamSettings {
    StreamSettings {
        name: name.into(),
        subjects: vec![subject.into()],
        max_age: None,
        replicas: 1,
        duplicate_window: Duration::from_secs(120),
    }
}

// ----------------------------------------------------------- the store

/// An alert-shaped custom event of ~340 encoded bytes: repeated label
/// names, varied values, words and ids.
fn event(i: u64) -> Event {
    vigil_store::examples::alert_shaped(i, 340)
}

/// A store of `n` events and its verification key file.
fn fill(dir: &Path, n: u64) -> (PathBuf, PathBuf) {
    let store = dir.join("store");
    let key = dir.join("verification.key");
    let options = LogOptions {
        durability: Durability::Buffered,
        ..Default::default()
    };
    let log = Log::create(&store, &key, options).unwrap();
    let mut done = 0;
    while done < n {
        let batch: Vec<Event> = (done..(done + 1000).min(n)).map(event).collect();
        done += batch.len() as u64;
        log.append_all(&batch).unwrap();
    }
    log.sync().unwrap();
    log.close().unwrap();
    (store, key)
}

// ------------------------------------------------------- phase 1: publish

/// The raw baseline's messages: the records and headers the forwarder
/// sends, built before the clock starts.
fn raw_messages(log: &Log) -> (Vec<(Bytes, HeaderMap)>, u64) {
    let store = log.store_id();
    let store_hex = store.to_hex();
    let mut bytes = 0u64;
    let messages = log
        .entries_between(1, log.head().seq)
        .map(|e| {
            let out = Outgoing::of(&e.unwrap());
            bytes += out.payload.len() as u64;
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", wire::entry_msg_id(store, out.seq).as_str());
            headers.insert(wire::STORE, store_hex.as_str());
            headers.insert(wire::HOST, HOST);
            headers.insert(wire::RECORD, wire::RecordKind::Entry.name());
            headers.insert(wire::SEQ, out.seq.to_string().as_str());
            (out.payload, headers)
        })
        .collect();
    (messages, bytes)
}

/// Messages a stream holds now.
async fn stream_messages(js: &async_nats::jetstream::Context, name: &str) -> u64 {
    js.get_stream(name)
        .await
        .unwrap()
        .info()
        .await
        .unwrap()
        .state
        .messages
}

/// The raw JetStream publisher: every message, at most IN_FLIGHT
/// acknowledgements outstanding, awaited in order.
async fn raw_publish(nats: &Nats, log: &Log, messages: Vec<(Bytes, HeaderMap)>) -> Duration {
    let client = nats.endpoint("raw publisher").connect().await.unwrap();
    // The same stream settings as the forwarder's stream, under another name.
    Publisher::new(
        client.clone(),
        TIMEOUT,
        RAW_STREAM,
        RAW_SUBJECT,
        log.store_id(),
        HOST,
    )
    .ensure_stream(&settings(RAW_STREAM, "raw.*.entries"))
    .await
    .unwrap();
    let js = async_nats::jetstream::ContextBuilder::new()
        .timeout(TIMEOUT)
        .build(client);
    let subject = async_nats::Subject::from(RAW_SUBJECT);
    let n = messages.len() as u64;
    let started = Instant::now();
    let mut pending = VecDeque::with_capacity(IN_FLIGHT);
    for (payload, headers) in messages {
        if pending.len() >= IN_FLIGHT {
            let ack: async_nats::jetstream::context::PublishAckFuture =
                pending.pop_front().unwrap();
            ack.await.unwrap();
        }
        let publish = PublishMessage::build().payload(payload).headers(headers);
        pending.push_back(js.send_publish(subject.clone(), publish).await.unwrap());
    }
    while let Some(ack) = pending.pop_front() {
        ack.await.unwrap();
    }
    let took = started.elapsed();
    assert_eq!(stream_messages(&js, RAW_STREAM).await, n);
    js.delete_stream(RAW_STREAM).await.unwrap();
    took
}

/// The daemon's forwarding path over the whole backlog.
async fn forward(nats: &Nats, log: &Log) -> Duration {
    let client = nats.endpoint("vigild bench").connect().await.unwrap();
    let subject = wire::subject_for(wire::DEFAULT_SUBJECT, HOST);
    let publisher = Publisher::new(
        client.clone(),
        TIMEOUT,
        STREAM,
        &subject,
        log.store_id(),
        HOST,
    );
    publisher
        .ensure_stream(&settings(
            STREAM,
            &wire::stream_subject(wire::DEFAULT_SUBJECT),
        ))
        .await
        .unwrap();
    let start = {
        let log = log.clone();
        tokio::task::spawn_blocking(move || StreamStart::of(&log, 1, HOST, "vigild bench"))
            .await
            .unwrap()
            .unwrap()
    };
    publisher.publish_start(&start).await.unwrap();
    let last = log.head().seq;
    let started = Instant::now();
    let next =
        vigil_fleet::forward_range(&publisher, log, 1, last, BATCH as usize, IN_FLIGHT, |_| {})
            .await
            .unwrap();
    assert_eq!(next, last + 1);
    let took = started.elapsed();
    let js = async_nats::jetstream::new(client);
    assert_eq!(stream_messages(&js, STREAM).await, last + 1);
    took
}

// -------------------------------------------------------- phase 3: read

/// `vigilctl fleet verify --keys`: every message through FleetCheck.
fn verify(nats: &Nats, key: &Path, entries: u64) -> Duration {
    let key: VerificationKey = vigil_store::read_verification_key(key).unwrap();
    runtime_single().block_on(async {
        let client = nats.endpoint("vigilctl fleet").connect().await.unwrap();
        let started = Instant::now();
        let reader = StreamReader::new(client, TIMEOUT, STREAM);
        let mut check = FleetCheck::new(Some(vec![key]));
        reader
            .each(false, |m| {
                check.take(m);
                ControlFlow::Continue(())
            })
            .await
            .unwrap();
        let report = check.report(true);
        let took = started.elapsed();
        assert!(report.ok(), "{report:#?}");
        assert_eq!(report.hosts.len(), 1);
        assert_eq!(report.hosts[0].entries, entries);
        assert!(report.hosts[0].keyed);
        took
    })
}

/// The same kind of ordered consumer, touching only each payload's length.
fn raw_consume(nats: &Nats, entries: u64) -> Duration {
    runtime_single().block_on(async {
        let client = nats.endpoint("raw consumer").connect().await.unwrap();
        let started = Instant::now();
        let js = async_nats::jetstream::ContextBuilder::new()
            .timeout(TIMEOUT)
            .build(client);
        let mut stream = js.get_stream(STREAM).await.unwrap();
        let total = stream.info().await.unwrap().state.messages;
        let consumer = stream
            .create_consumer(OrderedConfig {
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut messages = consumer.messages().await.unwrap();
        let (mut read, mut bytes) = (0u64, 0u64);
        while let Some(message) = messages.next().await {
            bytes += message.unwrap().payload.len() as u64;
            read += 1;
            if read == total {
                break;
            }
        }
        let took = started.elapsed();
        assert_eq!(read, entries + 1);
        assert!(bytes > 0);
        took
    })
}

// --------------------------------------------------------- phase 2: lag

/// The integer after `"name":` near the start of a record.
fn field(payload: &[u8], name: &[u8]) -> Option<i64> {
    let head = &payload[..payload.len().min(160)];
    let at = head.windows(name.len()).position(|w| w == name)? + name.len();
    let digits = head[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'-')
        .count();
    std::str::from_utf8(&head[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

struct Lag {
    /// Per entry: (seq, its time, when it was received), UTC micros.
    samples: Vec<(u64, i64, i64)>,
}

/// Subscribes to the host's subject on a thread of its own; runs until
/// `until` (a seq) is set and received, or `deadline` after it was set.
fn subscriber(
    url: String,
    until: Arc<AtomicU64>,
) -> (mpsc::Receiver<()>, std::thread::JoinHandle<Lag>) {
    let (ready_tx, ready) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        runtime_single().block_on(async move {
            let client = async_nats::connect(url).await.unwrap();
            let mut sub = client
                .subscribe(wire::subject_for(wire::DEFAULT_SUBJECT, HOST))
                .await
                .unwrap();
            client.flush().await.unwrap();
            ready_tx.send(()).unwrap();
            let mut samples = Vec::new();
            let mut highest = 0u64;
            let mut waiting_since: Option<Instant> = None;
            loop {
                let wanted = until.load(Ordering::Relaxed);
                if wanted != 0 {
                    if highest >= wanted {
                        break;
                    }
                    let since = *waiting_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_secs(60) {
                        eprintln!("lag: stopped waiting for seq {wanted} (at {highest})");
                        break;
                    }
                }
                let message =
                    match tokio::time::timeout(Duration::from_millis(100), sub.next()).await {
                        Ok(Some(m)) => m,
                        Ok(None) => break,
                        Err(_) => continue,
                    };
                let received = now_micros();
                let entry = message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(wire::RECORD))
                    .is_some_and(|v| v.as_str() == "entry");
                if !entry {
                    continue;
                }
                let (Some(seq), Some(time)) = (
                    field(&message.payload, b"\"seq\":"),
                    field(&message.payload, b"\"time\":"),
                ) else {
                    continue;
                };
                let seq = seq as u64;
                highest = highest.max(seq);
                samples.push((seq, time, received));
            }
            Lag { samples }
        })
    });
    (ready, handle)
}

/// `clients` threads emitting `rate` events a second in all until
/// `until`; returns the emits and the highest seq appended.
fn emit_load(socket: &Path, rate: f64, clients: usize, secs: f64) -> (u64, u64, Duration) {
    let started = Instant::now();
    let period = Duration::from_secs_f64(clients as f64 / rate);
    let until = started + Duration::from_secs_f64(secs);
    let threads: Vec<_> = (0..clients)
        .map(|t| {
            let socket = socket.to_path_buf();
            std::thread::spawn(move || {
                let mut client = Client::connect(&socket).unwrap();
                // Staggered, so the clients' emits interleave.
                let mut at = started + period.mul_f64(t as f64 / clients as f64);
                let (mut emits, mut highest) = (0u64, 0u64);
                while at < until {
                    if let Some(wait) = at.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let request = Request::Events(EventsRequest::Emit {
                        message: format!(
                            "bench load {t}-{emits}: disk pressure on db-{} above threshold",
                            emits % 50
                        ),
                        severity: Severity::Info,
                        labels: [("job".to_string(), "node".to_string())].into(),
                    });
                    match client.call(&request).unwrap() {
                        Response::Appended { head } => highest = highest.max(head.seq),
                        other => panic!("{other:?}"),
                    }
                    emits += 1;
                    at += period;
                }
                (emits, highest)
            })
        })
        .collect();
    let (mut emits, mut highest) = (0, 0);
    for t in threads {
        let (e, h) = t.join().unwrap();
        emits += e;
        highest = highest.max(h);
    }
    (emits, highest, started.elapsed())
}

struct LagResult {
    p50: f64,
    p99: f64,
    max: f64,
    entries: usize,
    missing: u64,
    ingest_rate: f64,
}

fn lag_phase(nats: &Nats, dir: &Path, secs: f64, rate: f64, clients: usize) -> LagResult {
    let state = dir.join("state");
    let socket = dir.join("control.sock");
    let config = dir.join("vigil.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate_dir = \"{}\"\nsocket = \"{}\"\nsocket_mode = \"0600\"\n\n[access.users]\nroot = \"admin\"\n\n[http]\nenabled = false\n\n[forward]\nservers = [\"{}\"]\nhost = \"{HOST}\"\n",
            state.display(),
            socket.display(),
            nats.url()
        ),
    )
    .unwrap();
    let until = Arc::new(AtomicU64::new(0));
    let (ready, sub) = subscriber(nats.url(), until.clone());
    ready.recv_timeout(Duration::from_secs(30)).unwrap();
    let mut child = Command::new(VIGILD)
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("vigild ready") {
                let _ = tx.send(());
            }
            if line.contains("ERROR") || line.contains("WARN") {
                eprintln!("vigild: {line}");
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("vigild ready");
    // The forwarder connects, creates the stream and sends what the start
    // appended; the load starts after.
    std::thread::sleep(Duration::from_secs(2));
    let load_from = now_micros();
    eprintln!("lag: {rate} emits/s from {clients} clients for {secs} s");
    let (emits, highest, took) = emit_load(&socket, rate, clients, secs);
    until.store(highest, Ordering::Relaxed);
    let lag = sub.join().unwrap();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());

    let mut ms: Vec<f64> = lag
        .samples
        .iter()
        .filter(|(seq, time, _)| *time >= load_from && *seq <= highest)
        .map(|(_, time, received)| (received - time) as f64 / 1000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    // Every seq from the first measured to the highest emitted arrived once.
    let mut seqs: Vec<u64> = lag
        .samples
        .iter()
        .filter(|(_, time, _)| *time >= load_from)
        .map(|s| s.0)
        .filter(|s| *s <= highest)
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    let missing = match (seqs.first(), seqs.last()) {
        (Some(first), Some(_)) => highest - first + 1 - seqs.len() as u64,
        _ => highest,
    };
    LagResult {
        p50: round(percentile(&ms, 0.5), 1),
        p99: round(percentile(&ms, 0.99), 1),
        max: round(ms.last().copied().unwrap_or(0.0), 1),
        entries: ms.len(),
        missing,
        ingest_rate: eps(emits, took),
    }
}

// ---------------------------------------------------------------- main

fn main() {
    let mut events: u64 = 1_000_000;
    let mut lag_secs = 20.0;
    let mut rate = 5000.0;
    let mut clients = 16usize;
    for arg in std::env::args().skip(1) {
        if let Some(v) = arg.strip_prefix("--lag-secs=") {
            lag_secs = v.parse().expect("--lag-secs=SECONDS");
        } else if let Some(v) = arg.strip_prefix("--rate=") {
            rate = v.parse().expect("--rate=EMITS_PER_SECOND");
        } else if let Some(v) = arg.strip_prefix("--clients=") {
            clients = v.parse().expect("--clients=N");
        } else if let Ok(n) = arg.parse() {
            events = n;
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let nats = Nats::start(&tmp.path().join("nats").tap_mkdir());
    eprintln!("nats-server {} (pid {})", nats.url(), nats.0.pid());

    eprintln!("filling a store of {events} events");
    let host = tmp.path().join("host").tap_mkdir();
    let (store, key) = fill(&host, events);
    let log = Log::open(
        &store,
        LogOptions {
            durability: Durability::Buffered,
            ..Default::default()
        },
    )
    .unwrap();
    // The events and what the store's creation recorded before them.
    let entries = log.head().seq;
    assert!(entries > events);

    // Phase 1: the backlog drained, raw then forwarded, best of two
    // alternating rounds; each on a fresh stream. The raw stream is
    // deleted after each round, the forwarded one before the next (the
    // last is read in phase 3).
    let (mut messages, payload_bytes) = raw_messages(&log);
    let payload_mean = round(payload_bytes as f64 / entries as f64, 0);
    let rt = runtime_multi();
    let (mut raw_t, mut fwd_t) = (Duration::MAX, Duration::MAX);
    let (mut raw_cpu, mut fwd_cpu) = (None, None);
    let (mut raw_rounds, mut fwd_rounds) = (Vec::new(), Vec::new());
    for round_no in 1..=ROUNDS {
        if round_no > 1 {
            delete_stream(&nats, STREAM);
        }
        let messages = if round_no < ROUNDS {
            messages.clone()
        } else {
            std::mem::take(&mut messages)
        };
        settle();
        eprintln!(
            "round {round_no}: raw JetStream publisher, {entries} messages of ~{payload_mean} bytes"
        );
        let (t, cpu) = measured(&nats, || rt.block_on(raw_publish(&nats, &log, messages)));
        eprintln!("  {} msgs/s ({:.2} s)", eps(entries, t), t.as_secs_f64());
        raw_rounds.push(eps(entries, t));
        if t < raw_t {
            (raw_t, raw_cpu) = (t, Some(cpu));
        }
        settle();
        eprintln!("round {round_no}: forwarding {entries} entries the daemon's way");
        let (t, cpu) = measured(&nats, || rt.block_on(forward(&nats, &log)));
        eprintln!("  {} entries/s ({:.2} s)", eps(entries, t), t.as_secs_f64());
        fwd_rounds.push(eps(entries, t));
        if t < fwd_t {
            (fwd_t, fwd_cpu) = (t, Some(cpu));
        }
    }
    let raw_publish_eps = eps(entries, raw_t);
    let forward_eps = eps(entries, fwd_t);
    let forward_vs_raw = round(forward_eps / raw_publish_eps, 3);
    eprintln!("forward {forward_eps}/s, raw publish {raw_publish_eps}/s: {forward_vs_raw}");
    drop(rt);
    log.close().unwrap();
    settle();

    // Phase 3: reading the forwarded stream back, best of two alternating.
    let (mut verify_t, mut consume_t) = (Duration::MAX, Duration::MAX);
    let (mut verify_cpu, mut consume_cpu) = (None, None);
    let (mut verify_rounds, mut consume_rounds) = (Vec::new(), Vec::new());
    for round_no in 1..=ROUNDS {
        eprintln!("round {round_no}: raw ordered consumer");
        let (t, cpu) = measured(&nats, || raw_consume(&nats, entries));
        eprintln!("  {} msgs/s", eps(entries + 1, t));
        consume_rounds.push(eps(entries + 1, t));
        if t < consume_t {
            consume_t = t;
            consume_cpu = Some(cpu);
        }
        eprintln!("round {round_no}: fleet verify with the host's key");
        let (t, cpu) = measured(&nats, || verify(&nats, &key, entries));
        eprintln!("  {} msgs/s", eps(entries + 1, t));
        verify_rounds.push(eps(entries + 1, t));
        if t < verify_t {
            verify_t = t;
            verify_cpu = Some(cpu);
        }
    }
    let verify_eps = eps(entries + 1, verify_t);
    let raw_consume_eps = eps(entries + 1, consume_t);
    let verify_vs_raw = round(verify_eps / raw_consume_eps, 3);
    eprintln!("verify {verify_eps}/s, raw consume {raw_consume_eps}/s: {verify_vs_raw}");

    // Phase 2: the real daemon under a steady load, on a fresh stream.
    delete_stream(&nats, STREAM);
    settle();
    let daemon_dir = tmp.path().join("daemon").tap_mkdir();
    let (lag, lag_cpu) = measured(&nats, || {
        lag_phase(&nats, &daemon_dir, lag_secs, rate, clients)
    });
    eprintln!(
        "lag: p50 {} ms, p99 {} ms, max {} ms over {} entries ({} missing); {} emits/s",
        lag.p50, lag.p99, lag.max, lag.entries, lag.missing, lag.ingest_rate
    );
    nats.stop();

    let targets = serde_json::json!({
        "forward_vs_raw": forward_vs_raw >= TARGET_FORWARD_VS_RAW,
        "lag_p99_ms": lag.p99 <= TARGET_LAG_P99_MS && lag.missing == 0 && lag.entries > 0,
        "verify_vs_raw": verify_vs_raw >= TARGET_VERIFY_VS_RAW,
    });
    let targets_met = targets
        .as_object()
        .unwrap()
        .values()
        .all(|v| v.as_bool() == Some(true));
    println!(
        "{}",
        serde_json::json!({
            "events": events,
            "entries": entries,
            "payload_bytes": payload_mean,
            "forward_eps": forward_eps,
            "forward_s": round(fwd_t.as_secs_f64(), 2),
            "raw_publish_eps": raw_publish_eps,
            "raw_publish_s": round(raw_t.as_secs_f64(), 2),
            "forward_vs_raw": forward_vs_raw,
            "lag_p50_ms": lag.p50,
            "lag_p99_ms": lag.p99,
            "lag_max_ms": lag.max,
            "lag_entries": lag.entries,
            "lag_missing": lag.missing,
            "ingest_rate": lag.ingest_rate,
            "ingest_target_rate": rate,
            "lag_secs": lag_secs,
            "verify_eps": verify_eps,
            "raw_consume_eps": raw_consume_eps,
            "verify_vs_raw": verify_vs_raw,
            "rounds": {
                "forward_eps": fwd_rounds,
                "raw_publish_eps": raw_rounds,
                "verify_eps": verify_rounds,
                "raw_consume_eps": consume_rounds,
            },
            "cpu_s": {
                "forward": fwd_cpu.unwrap().json(),
                "raw_publish": raw_cpu.unwrap().json(),
                "verify": verify_cpu.unwrap().json(),
                "raw_consume": consume_cpu.unwrap().json(),
                "lag": lag_cpu.json(),
            },
            "targets": targets,
            "targets_met": targets_met,
        })
    );
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}
