//! Notification benchmark: alerts ingested over HTTP by the real `vigild`,
//! routed, recorded and delivered as signed webhooks to a receiver in this
//! process; then a dead receiver with a large backlog.
//!
//! `cargo bench -p vigild --bench notify [-- ALERTS [PENDING [INCIDENTS]]]
//! [--only=PHASE,...]` (defaults 20,000, 100,000 and 500,000; every phase
//! unless `--only` names some of `fanout`, `paced`, `pending`,
//! `incidents`). Progress on stderr; the last stdout line is JSON:
//!
//! * fan-out: ALERTS alerts, one per ingest request over 32 keep-alive
//!   connections, each its own group (`group_by = ["..."]`, `group_wait =
//!   "0s"`), one webhook with `max_concurrency = 64`.
//!   `deliveries_per_s` is ALERTS / (first ingest sent → last webhook
//!   received); `e2e_p50_ms` / `e2e_p99_ms` the time from an alert's
//!   ingest request to its webhook's arrival; `duplicates` and `missing`
//!   count alerts received more than once or never (by their `instance`
//!   label);
//! * paced: PACED_ALERTS alerts at PACED_RATE per second into a fresh
//!   daemon configured the same way: `paced_e2e_p50_ms` /
//!   `paced_e2e_p99_ms`, the pipeline's latency when it is not saturated;
//! * baseline, same run: ALERTS posts to the same receiver code by 64
//!   tasks in this process doing what the outbox does minus the log (render
//!   the built-in webhook template, sign per Standard Webhooks, POST through
//!   `vigil_notify`'s `HttpClient`), best of 2: `raw_posts_per_s`; `ratio` =
//!   `deliveries_per_s / raw_posts_per_s`;
//! * pending: a second daemon whose webhook points at a closed port gets
//!   PENDING distinct alerts (100 per request); `pending_intents_s` until
//!   every delivery is pending; its RSS idle (`idle_rss_mb`), then
//!   (`rss_mb_pending`), and every 5 s for 30 s while the outbox probes the
//!   dead receiver (`rss_mb_after_30s`, `rss_mb_max_30s`);
//!   `failed_attempts_30s` the attempts that failed in those 30 s and
//!   `probes_per_s` their rate after the first 5 s; `cpu_s_30s` and
//!   `write_mb_30s` what the daemon spent meanwhile (`/proc/PID/stat`,
//!   `/proc/PID/io`); `pending_bytes` = (`rss_mb_median_30s` −
//!   `idle_rss_mb`) / PENDING, the median of the seven RSS readings (at
//!   once and every 5 s): one reading may fall on a snapshot being saved,
//!   tens of MB for a few seconds; `pending_bytes_at_once` the same of
//!   the first reading alone;
//! * incidents: a third daemon, without routes, gets INCIDENTS distinct
//!   alerts, one per request over 32 connections: `incident_bytes` = (RSS
//!   once all are open − RSS idle) / open incidents; `incidents_list_s`
//!   and `events_list_s` the best of two whole listings, streamed through
//!   the control socket, of every incident and of as many log entries
//!   (`incidents_list_ratio` the first over the second).
//!
//! Targets: `ratio ≥ 0.2`, `paced_e2e_p99_ms ≤ 250`, no duplicate or missing
//! delivery, `rss_growth_30s ≤ 1.10`, `failed_attempts_30s ≤ 100`,
//! `pending_bytes ≤ 1024`, `incident_bytes ≤ 1024`, `incidents_list_ratio ≤
//! 2`, every alert an open incident and listed.

#![allow(missing_docs, clippy::unwrap_used)]

mod common;
#[path = "notify/incidents.rs"]
mod incidents;

use bytes::Bytes;
use common::Daemon;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vigil_notify::channel::{HttpClient, webhook};
use vigil_notify::template::{self, Context, TemplateSet};
use vigil_store::{Alert, AlertStatus, SecretValue, Severity};

const SECRET: &str = "whsec_dGVzdC1vbmx5LXdlYmhvb2stc2lnbmluZy1rZXk=";
/// Ingest connections of the fan-out phase.
const INGEST_CONNECTIONS: u64 = 32;
/// Ingest connections of the pending phase (100 alerts per request).
const PENDING_CONNECTIONS: u64 = 8;
const PENDING_BATCH: u64 = 100;
/// The receiver's `max_concurrency`, and the baseline's tasks.
const CONCURRENCY: u64 = 64;
/// How long the pending phase watches the outbox probe a dead receiver.
/// The paced phase: alerts at this many per second.
const PACED_RATE: f64 = 500.0;
/// The paced phase's length in alerts (10 s).
const PACED_ALERTS: u64 = 5_000;
const WATCH: Duration = Duration::from_secs(30);
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------- payloads

fn am_alert(prefix: &str, i: u64) -> String {
    format!(
        r#"{{"status":"firing","labels":{{"alertname":"HighLoad","instance":"{prefix}-{i}","job":"node","severity":"warning"}},"annotations":{{"summary":"Load above 4 on {prefix}-{i}","description":"load1 is 5.2 for 10m"}},"startsAt":"2026-11-23T07:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=node_load1","fingerprint":"{prefix}{i:016x}"}}"#
    )
}

/// An Alertmanager webhook v4 payload carrying `alerts`.
fn am_payload(alerts: &[String]) -> String {
    format!(
        r#"{{"version":"4","groupKey":"{{}}:{{alertname=\"HighLoad\"}}","status":"firing","receiver":"vigil","groupLabels":{{"alertname":"HighLoad"}},"commonLabels":{{"alertname":"HighLoad"}},"commonAnnotations":{{}},"externalURL":"http://alertmanager:9093","truncatedAlerts":0,"alerts":[{}]}}"#,
        alerts.join(",")
    )
}

// ---------------------------------------------------------------- receiver

/// What the receiver saw of one alert.
#[derive(Clone, Copy, Default)]
struct Seen {
    count: u32,
    first: Option<Instant>,
}

struct HookState {
    /// By alert index (the number in `instance="node-<i>"`).
    seen: Mutex<Vec<Seen>>,
    received: AtomicU64,
    bytes: AtomicU64,
    /// Bodies without a recognizable `instance` label.
    unknown: AtomicU64,
    last: Mutex<Option<Instant>>,
}

#[derive(Deserialize)]
struct Body {
    alerts: Vec<BodyAlert>,
}

#[derive(Deserialize)]
struct BodyAlert {
    labels: BTreeMap<String, String>,
}

impl HookState {
    fn record(&self, body: &[u8], at: Instant) {
        self.received.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        let index = serde_json::from_slice::<Body>(body).ok().and_then(|b| {
            b.alerts
                .first()?
                .labels
                .get("instance")?
                .strip_prefix("node-")?
                .parse::<usize>()
                .ok()
        });
        let mut seen = self.seen.lock().unwrap();
        match index.and_then(|i| seen.get_mut(i)) {
            Some(s) => {
                s.count += 1;
                s.first.get_or_insert(at);
            }
            None => {
                self.unknown.fetch_add(1, Ordering::Relaxed);
            }
        }
        drop(seen);
        let mut last = self.last.lock().unwrap();
        if last.is_none_or(|l| l < at) {
            *last = Some(at);
        }
    }
}

/// A webhook receiver on 127.0.0.1 answering `200` to every POST.
async fn hook_server(alerts: usize) -> (SocketAddr, Arc<HookState>) {
    let state = Arc::new(HookState {
        seen: Mutex::new(vec![Seen::default(); alerts]),
        received: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        unknown: AtomicU64::new(0),
        last: Mutex::new(None),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let st = state.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let st = st.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<_>| {
                    let st = st.clone();
                    async move {
                        let body: hyper::body::Incoming = req.into_body();
                        if let Ok(body) = body.collect().await {
                            let at = Instant::now();
                            st.record(&body.to_bytes(), at);
                        }
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from_static(b"ok"),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, state)
}

// ---------------------------------------------------------------- daemon

fn notify_config(webhook_url: &str, retry: &str) -> String {
    format!(
        r#"[notify]
allow = ["127.0.0.1"]

[notify.route]
receiver = "bench"
group_by = ["..."]
group_wait = "0s"
group_interval = "10m"
repeat_interval = "24h"

[[notify.receivers]]
name = "bench"
max_concurrency = {CONCURRENCY}

[[notify.receivers.webhook_configs]]
url = "{webhook_url}"
secret = "{SECRET}"
{retry}"#
    )
}

// ---------------------------------------------------------------- ingest

/// POSTs `requests` bodies (`payload(j)`) over `connections` keep-alive
/// connections; returns each request's index and send instant.
async fn ingest(
    addr: SocketAddr,
    key: &str,
    requests: u64,
    connections: u64,
    payload: Arc<dyn Fn(u64) -> String + Send + Sync>,
    rate: Option<f64>,
) -> Vec<(u64, Instant)> {
    let next = Arc::new(AtomicU64::new(0));
    let begin = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (next, key, payload) = (next.clone(), key.to_string(), payload.clone());
        tasks.push(tokio::spawn(async move {
            let mut send = common::load::connection(addr).await;
            let mut sent = Vec::new();
            loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                if j >= requests {
                    break;
                }
                // Paced: request j leaves at j / rate seconds, no earlier.
                if let Some(rate) = rate {
                    tokio::time::sleep_until(begin + Duration::from_secs_f64(j as f64 / rate))
                        .await;
                }
                let req = common::load::post(addr, "/v1/ingest/am", &key, payload(j));
                let t = Instant::now();
                let res = send.send_request(req).await.unwrap();
                let status = res.status();
                let _ = res.into_body().collect().await.unwrap();
                assert_eq!(status.as_u16(), 202, "ingest answered {status}");
                sent.push((j, t));
            }
            sent
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

// ---------------------------------------------------------------- baseline

/// The alert the daemon stores for `am_alert("node", i)`.
fn stored_alert(i: u64) -> Alert {
    let instance = format!("node-{i}");
    let labels: BTreeMap<String, String> = [
        ("alertname", "HighLoad"),
        ("instance", instance.as_str()),
        ("job", "node"),
        ("severity", "warning"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let annotations: BTreeMap<String, String> = [
        ("summary", format!("Load above 4 on {instance}")),
        ("description", "load1 is 5.2 for 10m".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Alert {
        fingerprint: format!("node{i:016x}"),
        status: AlertStatus::Firing,
        severity: Severity::Warning,
        summary: format!("Load above 4 on {instance}"),
        labels,
        annotations,
        starts_at: Some(1_795_417_200_000_000),
        ends_at: None,
        links: vec!["http://prometheus:9090/graph?g0.expr=node_load1".into()],
    }
}

/// What the outbox does for each delivery, minus the log: render the
/// built-in webhook body, sign it, POST it through the SSRF-guarded client;
/// `total` of them by CONCURRENCY tasks. Returns posts per second.
async fn raw_posts(url: String, total: u64) -> f64 {
    let policy = vigil_notify::ssrf::Policy::new(["127.0.0.1"]).unwrap();
    let client = Arc::new(HttpClient::new(policy, None).unwrap());
    let templates = Arc::new(TemplateSet::builtin());
    let secret = Arc::new(SecretValue::from_string(SECRET.to_string()));
    let url = Arc::new(url);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, templates, secret, url, next) = (
            client.clone(),
            templates.clone(),
            secret.clone(),
            url.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let alert = stored_alert(i);
                let context = Context::from_alerts("bench", alert.labels.clone(), &[alert]);
                let body = templates
                    .render(template::WEBHOOK_JSON, &context)
                    .unwrap()
                    .into_bytes();
                let delivery = format!("ntf_{i:016x}-0");
                let now = vigil_store::now_micros() / 1_000_000;
                let headers = webhook::signed_headers(&secret, &delivery, now, &body).unwrap();
                client
                    .post(&url, &headers, body, Duration::from_secs(10))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

// ---------------------------------------------------------------- phases

struct FanOut {
    deliveries_per_s: f64,
    e2e_p50_ms: f64,
    e2e_p99_ms: f64,
    duplicates: u64,
    missing: u64,
    unknown: u64,
    body_bytes: u64,
    sent_recorded: u64,
    ingest_s: f64,
    cpu_s: f64,
}

fn fan_out(runtime: &tokio::runtime::Runtime, alerts: u64, rate: Option<f64>) -> FanOut {
    let (hook, state) = runtime.block_on(hook_server(usize::try_from(alerts).unwrap()));
    let daemon = Daemon::start(&notify_config(&format!("http://{hook}/hook"), ""));
    eprintln!(
        "fan-out: {alerts} alerts over {INGEST_CONNECTIONS} connections, one group each, webhook max_concurrency {CONCURRENCY}"
    );
    let payload: Arc<dyn Fn(u64) -> String + Send + Sync> =
        Arc::new(|i| am_payload(&[am_alert("node", i)]));
    let start = Instant::now();
    let sent = runtime.block_on(ingest(
        daemon.addr,
        &daemon.key,
        alerts,
        INGEST_CONNECTIONS,
        payload,
        rate,
    ));
    let ingest_s = start.elapsed().as_secs_f64();
    eprintln!(
        "fan-out: ingested in {ingest_s:.2} s ({:.0}/s), {} delivered so far",
        alerts as f64 / ingest_s,
        state.received.load(Ordering::Relaxed)
    );
    // Until every alert arrived, or nothing arrived for 60 s.
    let (mut progress_at, mut last_count, mut said) = (Instant::now(), 0, Instant::now());
    loop {
        let n = state.received.load(Ordering::Relaxed);
        if n >= alerts {
            break;
        }
        if n != last_count {
            (progress_at, last_count) = (Instant::now(), n);
        }
        if progress_at.elapsed() > Duration::from_secs(60) {
            eprintln!("fan-out: no delivery for 60 s; giving up at {n}");
            break;
        }
        if said.elapsed() > Duration::from_secs(2) {
            eprintln!("fan-out: {n} delivered");
            said = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Stragglers would be duplicates.
    std::thread::sleep(Duration::from_secs(2));
    let totals = daemon.totals();
    let cpu_s = daemon.cpu_s();
    eprintln!("fan-out: daemon totals {totals:?}, {cpu_s:.1} s of CPU");
    let stopped = daemon.stop();
    eprintln!("fan-out: vigild stopped in {} ms", stopped.as_millis());

    let seen = state.seen.lock().unwrap().clone();
    let last = state.last.lock().unwrap().unwrap_or(start);
    let mut latencies = Vec::with_capacity(sent.len());
    for (i, t) in &sent {
        if let Some(first) = seen[usize::try_from(*i).unwrap()].first {
            latencies.push(first.saturating_duration_since(*t));
        }
    }
    latencies.sort();
    let pct = |p: f64| {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 * p) as usize).min(latencies.len() - 1);
        round2(latencies[i].as_secs_f64() * 1000.0)
    };
    let received = state.received.load(Ordering::Relaxed);
    FanOut {
        deliveries_per_s: (alerts as f64 / (last - start).as_secs_f64()).round(),
        e2e_p50_ms: pct(0.5),
        e2e_p99_ms: pct(0.99),
        duplicates: seen
            .iter()
            .map(|s| u64::from(s.count.saturating_sub(1)))
            .sum(),
        missing: seen.iter().filter(|s| s.count == 0).count() as u64,
        unknown: state.unknown.load(Ordering::Relaxed),
        body_bytes: state.bytes.load(Ordering::Relaxed) / received.max(1),
        sent_recorded: totals.sent,
        ingest_s,
        cpu_s: round1(cpu_s),
    }
}

struct Baseline {
    raw_posts_per_s: f64,
    raw_body_bytes: u64,
}

/// Best of two runs, each against a fresh receiver.
fn baseline(runtime: &tokio::runtime::Runtime, alerts: u64) -> Baseline {
    let mut best = Baseline {
        raw_posts_per_s: 0.0,
        raw_body_bytes: 0,
    };
    for run in 1..=2 {
        let (hook, state) = runtime.block_on(hook_server(usize::try_from(alerts).unwrap()));
        eprintln!("baseline {run}/2: {alerts} rendered, signed posts by {CONCURRENCY} tasks");
        let rate = runtime.block_on(raw_posts(format!("http://{hook}/hook"), alerts));
        let seen = state.seen.lock().unwrap();
        assert!(
            seen.iter().all(|s| s.count == 1),
            "the baseline receiver got every post once"
        );
        let received = state.received.load(Ordering::Relaxed);
        eprintln!("baseline {run}/2: {rate:.0} posts/s");
        if rate > best.raw_posts_per_s {
            best = Baseline {
                raw_posts_per_s: rate.round(),
                raw_body_bytes: state.bytes.load(Ordering::Relaxed) / received.max(1),
            };
        }
    }
    best
}

struct Pending {
    pending_intents_s: f64,
    ingest_s: f64,
    idle_rss_mb: f64,
    rss_mb_pending: f64,
    rss_mb_after_30s: f64,
    rss_mb_max_30s: f64,
    rss_mb_median_30s: f64,
    failed_attempts_30s: u64,
    probes_per_s: f64,
    cpu_s_30s: f64,
    write_mb_30s: f64,
    stop_ms: u128,
}

fn pending(runtime: &tokio::runtime::Runtime, pending: u64) -> Pending {
    // A port nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let retry = r#"
[notify.retry]
initial_backoff = "1s"
max_backoff = "2s"
max_attempts = 1000000
give_up_after = "24h"
"#;
    let daemon = Daemon::start(&notify_config(&format!("http://{dead}/hook"), retry));
    std::thread::sleep(Duration::from_secs(2));
    let idle_rss_mb = daemon.rss_mb();
    let requests = pending.div_ceil(PENDING_BATCH);
    eprintln!(
        "pending: idle RSS {idle_rss_mb} MB; {pending} alerts, {PENDING_BATCH} per request, webhook to dead {dead}"
    );
    let payload: Arc<dyn Fn(u64) -> String + Send + Sync> = Arc::new(move |j| {
        let alerts: Vec<String> = (j * PENDING_BATCH..((j + 1) * PENDING_BATCH).min(pending))
            .map(|i| am_alert("pend", i))
            .collect();
        am_payload(&alerts)
    });
    let start = Instant::now();
    runtime.block_on(ingest(
        daemon.addr,
        &daemon.key,
        requests,
        PENDING_CONNECTIONS,
        payload,
        None,
    ));
    let ingest_s = start.elapsed().as_secs_f64();
    eprintln!("pending: ingested in {ingest_s:.2} s");
    let mut said = Instant::now();
    let totals = loop {
        let totals = daemon.totals();
        if totals.pending >= pending {
            break totals;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1800),
            "intents still not recorded after 30 min: {totals:?}"
        );
        if said.elapsed() > Duration::from_secs(5) {
            eprintln!(
                "pending: {} pending after {:.1} s, RSS {} MB",
                totals.pending,
                start.elapsed().as_secs_f64(),
                daemon.rss_mb()
            );
            said = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let pending_intents_s = start.elapsed().as_secs_f64();
    let rss_mb_pending = daemon.rss_mb();
    eprintln!(
        "pending: all {} pending after {pending_intents_s:.1} s, RSS {rss_mb_pending} MB, {totals:?}",
        totals.pending
    );
    let (cpu_before, written_before) = (daemon.cpu_s(), daemon.written_mb());
    let watch = Instant::now();
    let mut rss_mb_max_30s = rss_mb_pending;
    let mut rss = rss_mb_pending;
    let mut samples = vec![rss_mb_pending];
    let mut step = 1;
    let mut failed_at_first_sample = totals.failed_attempts;
    while watch.elapsed() < WATCH {
        let due = SAMPLE_EVERY * step;
        std::thread::sleep(due.saturating_sub(watch.elapsed()));
        rss = daemon.rss_mb();
        rss_mb_max_30s = rss_mb_max_30s.max(rss);
        samples.push(rss);
        let asked = Instant::now();
        let now = daemon.totals();
        eprintln!(
            "pending: +{:.0} s RSS {rss} MB, failed attempts {} (+{}), pending {} (listed in {} ms)",
            watch.elapsed().as_secs_f64(),
            now.failed_attempts,
            now.failed_attempts - totals.failed_attempts,
            now.pending,
            asked.elapsed().as_millis()
        );
        if step == 1 {
            failed_at_first_sample = now.failed_attempts;
        }
        step += 1;
    }
    let after = daemon.totals();
    let cpu_s_30s = daemon.cpu_s() - cpu_before;
    let write_mb_30s = daemon.written_mb() - written_before;
    eprintln!(
        "pending: in those 30 s vigild used {cpu_s_30s:.1} s of CPU and wrote {write_mb_30s:.0} MB"
    );
    let stop = daemon.stop();
    eprintln!("pending: vigild stopped in {} ms", stop.as_millis());
    samples.sort_by(f64::total_cmp);
    Pending {
        rss_mb_median_30s: samples[samples.len() / 2],
        pending_intents_s: round2(pending_intents_s),
        ingest_s,
        idle_rss_mb,
        rss_mb_pending,
        rss_mb_after_30s: rss,
        rss_mb_max_30s,
        failed_attempts_30s: after.failed_attempts - totals.failed_attempts,
        probes_per_s: round2(
            (after.failed_attempts - failed_at_first_sample) as f64
                / (WATCH - SAMPLE_EVERY).as_secs_f64(),
        ),
        cpu_s_30s: round1(cpu_s_30s),
        write_mb_30s: write_mb_30s.round(),
        stop_ms: stop.as_millis(),
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `--only=PHASE,...` (`fanout`, `paced`, `pending`, `incidents`; the
/// baseline runs with the fan-out): the phases to run, every one without it.
fn phases() -> impl Fn(&str) -> bool {
    let only: Option<Vec<String>> = std::env::args().find_map(|a| {
        let list = a.strip_prefix("--only=")?;
        Some(list.split(',').map(str::to_string).collect())
    });
    move |phase| only.as_ref().is_none_or(|o| o.iter().any(|p| p == phase))
}

fn main() {
    let mut numbers = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<u64>().ok());
    let alerts = numbers.next().unwrap_or(20_000);
    let pending_alerts = numbers.next().unwrap_or(100_000);
    let incident_count = numbers.next().unwrap_or(500_000);
    let runs = phases();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut out = serde_json::Map::new();
    let mut targets_met = true;
    // Of the fan-out and paced phases together.
    let (mut duplicates, mut missing) = (0, 0);
    let mut put = |fields: serde_json::Value| {
        if let serde_json::Value::Object(fields) = fields {
            out.extend(fields);
        }
    };

    if runs("fanout") {
        let f = fan_out(&runtime, alerts, None);
        eprintln!(
            "fan-out: {} deliveries/s, e2e p50 {} ms p99 {} ms, {} duplicates, {} missing",
            f.deliveries_per_s, f.e2e_p50_ms, f.e2e_p99_ms, f.duplicates, f.missing
        );
        let b = baseline(&runtime, alerts);
        let ratio = round3(f.deliveries_per_s / b.raw_posts_per_s);
        targets_met &= ratio >= 0.2;
        (duplicates, missing) = (duplicates + f.duplicates, missing + f.missing);
        put(serde_json::json!({
            "alerts": alerts,
            "ingest_connections": INGEST_CONNECTIONS,
            "ingest_s": round2(f.ingest_s),
            "deliveries_per_s": f.deliveries_per_s,
            "e2e_p50_ms": f.e2e_p50_ms,
            "e2e_p99_ms": f.e2e_p99_ms,
            "unrecognized_bodies": f.unknown,
            "sent_recorded": f.sent_recorded,
            "fanout_cpu_s": f.cpu_s,
            "body_bytes": f.body_bytes,
            "raw_posts_per_s": b.raw_posts_per_s,
            "raw_body_bytes": b.raw_body_bytes,
            "ratio": ratio,
        }));
    }
    if runs("paced") {
        // Latency at a steady rate the outbox keeps up with (a burst
        // measures the backlog, not the pipeline).
        let paced = fan_out(&runtime, PACED_ALERTS, Some(PACED_RATE));
        eprintln!(
            "paced: {PACED_RATE}/s, e2e p50 {} ms p99 {} ms, {} duplicates, {} missing",
            paced.e2e_p50_ms, paced.e2e_p99_ms, paced.duplicates, paced.missing
        );
        targets_met &= paced.e2e_p99_ms <= 250.0;
        (duplicates, missing) = (duplicates + paced.duplicates, missing + paced.missing);
        put(serde_json::json!({
            "paced_rate": PACED_RATE,
            "paced_alerts": PACED_ALERTS,
            "paced_e2e_p50_ms": paced.e2e_p50_ms,
            "paced_e2e_p99_ms": paced.e2e_p99_ms,
        }));
    }
    if runs("fanout") || runs("paced") {
        targets_met &= duplicates == 0 && missing == 0;
        put(serde_json::json!({"duplicates": duplicates, "missing": missing}));
    }
    if runs("pending") {
        let p = pending(&runtime, pending_alerts);
        let rss_growth_30s = round3(p.rss_mb_after_30s / p.rss_mb_pending);
        let rss_growth_max_30s = round3(p.rss_mb_max_30s / p.rss_mb_pending);
        let per_pending =
            |rss: f64| ((rss - p.idle_rss_mb) * 1024.0 * 1024.0 / pending_alerts as f64).round();
        let pending_bytes = per_pending(p.rss_mb_median_30s);
        targets_met &=
            rss_growth_30s <= 1.10 && p.failed_attempts_30s <= 100 && pending_bytes <= 1024.0;
        put(serde_json::json!({
            "pending": pending_alerts,
            "pending_ingest_s": round2(p.ingest_s),
            "pending_intents_s": p.pending_intents_s,
            "idle_rss_mb": p.idle_rss_mb,
            "rss_mb_pending": p.rss_mb_pending,
            "pending_bytes": pending_bytes,
            "pending_bytes_at_once": per_pending(p.rss_mb_pending),
            "rss_mb_median_30s": p.rss_mb_median_30s,
            "rss_mb_after_30s": p.rss_mb_after_30s,
            "rss_mb_max_30s": p.rss_mb_max_30s,
            "rss_growth_30s": rss_growth_30s,
            "rss_growth_max_30s": rss_growth_max_30s,
            "failed_attempts_30s": p.failed_attempts_30s,
            "probes_per_s": p.probes_per_s,
            "cpu_s_30s": p.cpu_s_30s,
            "write_mb_30s": p.write_mb_30s,
            "pending_stop_ms": p.stop_ms,
        }));
    }
    if runs("incidents") {
        let i = incidents::run(&runtime, incident_count);
        let list_ratio = round3(i.incidents_list_s / i.events_list_s);
        targets_met &= i.incident_bytes <= 1024
            && list_ratio <= 2.0
            && i.listed_incidents == i.open
            && i.open == incident_count;
        put(serde_json::json!({
            "incidents": incident_count,
            "incidents_ingest_s": i.ingest_s,
            "incidents_idle_rss_mb": i.idle_rss_mb,
            "incidents_rss_mb": i.rss_mb,
            "incident_bytes": i.incident_bytes,
            "incidents_list_s": i.incidents_list_s,
            "events_list_s": i.events_list_s,
            "listed_incidents": i.listed_incidents,
            "listed_events": i.listed_events,
            "incidents_list_ratio": list_ratio,
        }));
    }
    out.insert("targets_met".into(), targets_met.into());
    println!("{}", serde_json::Value::Object(out));
}
