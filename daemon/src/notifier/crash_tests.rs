//! The outbox's promise, at least once, under crashes at random points.
//!
//! Alerts are appended to a real store in a temporary directory; the real
//! notifier loop ([`run`]) routes them, records intents and delivers them
//! to a webhook receiver on 127.0.0.1 that answers as the case says. Each
//! life of the daemon ends at a random point: some milliseconds after its
//! alerts were appended, when the receiver takes its n-th request of that
//! life (answered 200 or 503 first, or held unanswered), or by a clean
//! stop. A crash stops the receiver taking requests and the store taking
//! appends at one instant, then drops the runtime, so every task stops at
//! whatever await it had reached and nothing is saved; the next life
//! rebuilds the notifier from what it finds in the store. After a last life
//! that runs until nothing is pending:
//!
//! * every delivery a recorded intent planned was answered 2xx at least
//!   once, and every alert appended was carried by a recorded intent, one
//!   only (a restart does not decide again what was recorded);
//! * no delivery was recorded `sent` before the receiver answered it 2xx;
//! * nothing was given up (retries are plentiful here);
//! * a restart then sends nothing more.
//!
//! Closing a store persists what was already queued to its writer, so these
//! crashes keep every append a task had issued before the crash; a real
//! crash may also lose unacknowledged ones, which leaves fewer records and
//! so more to redo after the restart, the same recovery path.
//!
//! Threads decide the finer interleaving: a failing case proptest saves
//! (under `daemon/proptest-regressions/`) replays the same crash points,
//! not always the same race, so replay it a few times.

use super::run;
use crate::config::{Config, Interval};
use crate::state::testing::parts;
use crate::state::{Parts, Shared};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use vigil_store::{
    Actor, Alert, AlertStatus, AlertsIngested, DeliveryState, Event, IntentCause, Labels, Log,
    Severity,
};

/// Longest a life may take to settle: far beyond what a healthy notifier
/// needs, so reaching it means something stopped delivering.
const STUCK: Duration = Duration::from_secs(10);

/// How the receiver answers a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Ok,
    Unavailable,
}

/// How a life ends.
#[derive(Clone, Copy, Debug)]
enum End {
    /// A crash this long after its alerts were appended.
    After { millis: u64 },
    /// A crash when the receiver takes this life's `nth` request, once it
    /// has answered it (`None`: while holding it unanswered). A life that
    /// settles first crashes then.
    OnRequest { nth: usize, answer: Option<Answer> },
    /// A clean stop once nothing is pending (the groups are saved).
    Stop,
}

#[derive(Clone, Debug)]
struct Life {
    /// Alerts appended, in batches (one entry each).
    batches: Vec<usize>,
    end: End,
}

// ---------------------------------------------------------------- receiver

/// What the receiver does and did.
#[derive(Default)]
struct Script {
    /// Requests taken so far.
    taken: usize,
    /// How the next requests are answered (200 once it runs out).
    answers: VecDeque<Answer>,
    /// The request after which the daemon dies, and how it is answered.
    crash_at: Option<(usize, Option<Answer>)>,
    /// That request was taken (and answered, if it is to be).
    crashed: bool,
    /// The daemon is dead: requests from its dying tasks are not taken.
    down: bool,
    /// 2xx answers given, by delivery id (`webhook-id`), counted before
    /// the answer leaves.
    ok: BTreeMap<String, usize>,
}

/// A webhook receiver on 127.0.0.1 running on its own threads, so it lives
/// on while the daemon's runtime dies.
struct Receiver {
    port: u16,
    script: Arc<Mutex<Script>>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    fn start(answers: Vec<Answer>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let script = Arc::new(Mutex::new(Script {
            answers: answers.into(),
            ..Script::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping) = (script.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(conn) = conn {
                    let script = shared.clone();
                    std::thread::spawn(move || serve(conn, &script));
                }
            }
        });
        Receiver { port, script, stop }
    }

    /// The daemon dies once the receiver takes the `nth` request from now.
    fn crash_on(&self, nth: usize, answer: Option<Answer>) {
        let mut s = self.script.lock().unwrap();
        s.crash_at = Some((s.taken + nth, answer));
        s.crashed = false;
    }

    fn crashed(&self) -> bool {
        self.script.lock().unwrap().crashed
    }

    /// From now on the daemon is dead (`true`), or alive again.
    fn down(&self, down: bool) {
        let mut s = self.script.lock().unwrap();
        s.down = down;
        s.crash_at = None;
        s.crashed = false;
    }

    fn taken(&self) -> usize {
        self.script.lock().unwrap().taken
    }

    fn ok(&self) -> BTreeMap<String, usize> {
        self.script.lock().unwrap().ok.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so it sees the stop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Takes one request (the notifier's client is told to close after it).
fn serve(mut conn: TcpStream, script: &Mutex<Script>) {
    let _ = conn.set_read_timeout(Some(STUCK));
    let Some(id) = read_request(&mut conn) else {
        return;
    };
    let (answer, crash) = {
        let mut s = script.lock().unwrap();
        if s.down {
            // Closed unanswered: a dead process sent nothing.
            return;
        }
        s.taken += 1;
        let (answer, crash) = match s.crash_at {
            Some((at, answer)) if at == s.taken => (answer, true),
            _ => (Some(s.answers.pop_front().unwrap_or(Answer::Ok)), false),
        };
        if answer == Some(Answer::Ok) {
            *s.ok.entry(id).or_default() += 1;
        }
        if crash && answer.is_none() {
            s.crashed = true;
        }
        (answer, crash)
    };
    let status = match answer {
        Some(Answer::Ok) => "200 OK",
        Some(Answer::Unavailable) => "503 Service Unavailable",
        None => {
            // Held until the client goes away: the crash.
            let _ = conn.read(&mut [0u8; 1]);
            return;
        }
    };
    let reply = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    let _ = conn.write_all(reply.as_bytes());
    let _ = conn.flush();
    if crash {
        // Only now: the answer has left, the notifier may act on it.
        script.lock().unwrap().crashed = true;
    }
}

/// Reads a request's head and body; returns its `webhook-id`.
fn read_request(conn: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let length: usize = header("content-length")?.parse().ok()?;
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).ok()?;
    header("webhook-id")
}

// ------------------------------------------------------------------ daemon

/// One receiver with two webhooks (two lanes), every alert its own group,
/// notified at once, retries every few milliseconds and never given up.
fn config(dir: &Path, port: u16) -> Config {
    let text = format!(
        r#"
[daemon]
state_dir = "{dir}/state"

[store]
verification_key = "{dir}/verification.key"

[notify]
allow = ["127.0.0.1"]

[notify.route]
receiver = "ops"
group_by = ["..."]
group_wait = "0s"
group_interval = "1m"
repeat_interval = "1h"

[[notify.receivers]]
name = "ops"
max_concurrency = 2

[[notify.receivers.webhook_configs]]
url = "http://127.0.0.1:{port}/a"
sign = false

[[notify.receivers.webhook_configs]]
url = "http://127.0.0.1:{port}/b"
sign = false

[notify.retry]
max_attempts = 1000000
give_up_after = "1d"
timeout = "20s"
"#,
        dir = dir.display()
    );
    let mut config = Config::parse("crash_tests.toml", &text).expect("the test configuration");
    // Below the 1s a configuration may say, so a case takes milliseconds.
    config.notify.retry.initial_backoff = Interval(Duration::from_millis(2));
    config.notify.retry.max_backoff = Interval(Duration::from_millis(20));
    config
}

fn alerts(fingerprints: &[String]) -> Event {
    Event::AlertsIngested(AlertsIngested {
        source: "am".into(),
        driver: "alertmanager".into(),
        delivery_id: None,
        actor: Actor::Source { name: "am".into() },
        alerts: fingerprints
            .iter()
            .map(|fp| Alert {
                fingerprint: fp.clone(),
                status: AlertStatus::Firing,
                severity: Severity::Error,
                summary: format!("{fp} is down"),
                labels: Labels::from([("alertname".to_string(), fp.clone())]),
                annotations: Labels::new(),
                starts_at: None,
                ends_at: None,
                links: Vec::new(),
            })
            .collect(),
        raw: None,
    })
}

/// What the log says happened.
#[derive(Default)]
struct Record {
    /// Every delivery a recorded intent planned.
    planned: BTreeSet<String>,
    /// Alerts recorded (group) intents carried, and how many carried each.
    carried: BTreeMap<String, usize>,
    sent: BTreeSet<String>,
    given_up: BTreeSet<String>,
    intents: usize,
    /// Each delivery's steps as recorded, to explain a failure.
    steps: BTreeMap<String, Vec<String>>,
}

fn record(log: &Log) -> Record {
    let mut r = Record::default();
    for entry in log.entries(1) {
        match entry.unwrap().event().unwrap() {
            Some(Event::NotificationIntended(intent)) => {
                r.intents += 1;
                r.planned
                    .extend(intent.deliveries.iter().map(|d| d.delivery.clone()));
                if intent.cause == IntentCause::Group {
                    for a in &intent.alerts {
                        *r.carried.entry(a.fingerprint.clone()).or_default() += 1;
                    }
                }
            }
            Some(Event::Notification(n)) => {
                r.steps.entry(n.delivery.clone()).or_default().push(format!(
                    "{} #{} {}",
                    n.state.name(),
                    n.attempt,
                    n.detail
                ));
                match n.state {
                    DeliveryState::Sent => r.sent.insert(n.delivery),
                    DeliveryState::GivenUp => r.given_up.insert(n.delivery),
                    _ => false,
                };
            }
            _ => {}
        }
    }
    r
}

/// Nothing pending and every alert appended so far notified.
fn settled(shared: &Shared, appended: &BTreeSet<String>) -> bool {
    // The log is read only once nothing is pending: polled, it is the
    // dearer question.
    shared.with_views(|v| v.deliveries.pending_len()).unwrap() == 0 && {
        let carried = record(&shared.log).carried;
        appended.iter().all(|fp| carried.contains_key(fp))
    }
}

/// Waits for `done`, polling; panics when the notifier is stuck.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + STUCK;
    while !done() {
        assert!(Instant::now() < deadline, "stuck waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One life of the daemon: the notifier started on the store as the last
/// life left it, this life's alerts appended, then its end.
fn live(config: &Config, receiver: &Receiver, life: &Life, appended: &mut BTreeSet<String>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (stop, stopping) = watch::channel(false);
    let socket = config.daemon.state_dir.join("control.sock");
    let shared = Shared::new(Parts {
        shutdown: stopping,
        ..parts(config.clone(), socket)
    });
    if let End::OnRequest { nth, answer } = life.end {
        receiver.crash_on(nth, answer);
    }
    let (_commands, commands) = mpsc::channel(1);
    let notifier = rt.spawn(run(shared.clone(), commands));
    rt.block_on(async {
        for &n in &life.batches {
            let fps: Vec<String> = (appended.len()..appended.len() + n)
                .map(|i| format!("alert-{i:03}"))
                .collect();
            shared.log.append_async(&alerts(&fps)).await.unwrap();
            appended.extend(fps);
        }
        match life.end {
            End::After { millis } => tokio::time::sleep(Duration::from_millis(millis)).await,
            End::OnRequest { .. } => {
                until("the crash request", || {
                    receiver.crashed() || settled(&shared, appended)
                })
                .await;
            }
            End::Stop => {
                until("every delivery", || settled(&shared, appended)).await;
                stop.send_replace(true);
                notifier.await.unwrap();
            }
        }
    });
    // The crash, at this instant: the receiver takes nothing more and the
    // store stops taking appends (keeping what was queued), so whatever the
    // tasks do while the runtime is torn down is neither sent nor kept.
    receiver.down(true);
    shared.log.clone().close().unwrap();
    drop(rt);
    receiver.down(false);
    assert_eq!(Arc::strong_count(&shared), 1, "a task outlived its runtime");
}

fn run_case(answers: Vec<Answer>, lives: Vec<Life>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(answers);
    let config = config(dir.path(), receiver.port);
    let mut appended = BTreeSet::new();
    let last = Life {
        batches: Vec::new(),
        end: End::Stop,
    };
    for life in lives.iter().chain([&last]) {
        live(&config, &receiver, life, &mut appended);
    }

    let log = Log::open_read_only(&config.store_dir()).unwrap();
    let done = record(&log);
    drop(log);
    let ok = receiver.ok();
    let answered: BTreeSet<String> = ok.keys().cloned().collect();
    let carried: BTreeSet<String> = done.carried.keys().cloned().collect();
    prop_assert!(
        carried.is_superset(&appended),
        "alerts never notified: {:?}",
        appended.difference(&carried).collect::<Vec<_>>()
    );
    // Each alert is its own group and never changes: a restart replays the
    // intents recorded before it rather than deciding them again.
    prop_assert!(
        done.carried.values().all(|&n| n == 1),
        "decided more than once: {:?}",
        done.carried
    );
    let explain = |ids: Vec<&String>| -> Vec<(String, Vec<String>)> {
        ids.into_iter()
            .map(|id| (id.clone(), done.steps.get(id).cloned().unwrap_or_default()))
            .collect()
    };
    prop_assert!(
        answered.is_superset(&done.planned),
        "deliveries never sent: {:?}",
        explain(done.planned.difference(&answered).collect())
    );
    prop_assert!(
        answered.is_superset(&done.sent),
        "recorded sent without a 2xx: {:?}",
        explain(done.sent.difference(&answered).collect())
    );
    prop_assert_eq!(&done.sent, &done.planned, "every delivery recorded sent");
    prop_assert!(done.given_up.is_empty(), "given up: {:?}", done.given_up);

    // Everything sent and recorded: a restart has nothing to send.
    let taken = receiver.taken();
    let quiet = Life {
        batches: Vec::new(),
        end: End::After { millis: 100 },
    };
    live(&config, &receiver, &quiet, &mut appended);
    prop_assert_eq!(receiver.taken(), taken, "sent again after a restart");
    let log = Log::open_read_only(&config.store_dir()).unwrap();
    prop_assert_eq!(record(&log).intents, done.intents, "decided again");
    Ok(())
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![3 => Just(Answer::Ok), 1 => Just(Answer::Unavailable)]
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        1 => (0u64..15).prop_map(|millis| End::After { millis }),
        4 => (1usize..6, prop::option::of(answer()))
            .prop_map(|(nth, answer)| End::OnRequest { nth, answer }),
        1 => Just(End::Stop),
    ]
}

fn life() -> impl Strategy<Value = Life> {
    let batches = prop_oneof![
        1 => Just(Vec::new()),
        4 => prop::collection::vec(1usize..4, 1..3),
    ];
    (batches, end()).prop_map(|(batches, end)| Life { batches, end })
}

proptest! {
    // Each case starts the daemon up to six times on a real store.
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_delivery_is_sent_at_least_once_whatever_the_crashes(
        answers in prop::collection::vec(answer(), 0..16),
        lives in prop::collection::vec(life(), 1..5),
    ) {
        run_case(answers, lives)?;
    }
}
