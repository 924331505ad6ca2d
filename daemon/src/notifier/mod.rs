//! The notifier: from alerts in the log to notifications delivered.
//!
//! One task follows the log. Alerts go through the route tree into
//! aggregation groups ([`vigil_notify::route::Dispatcher`]); when a group
//! is due and not muted (silences, inhibit rules, time intervals), the
//! decision is recorded as a `NotificationIntended` entry, durably, before
//! anything is sent. The outbox ([`outbox`]) then attempts each planned
//! delivery, recording every attempt and outcome; after a crash the
//! deliveries view lists what is still pending and it resumes under the
//! same idempotency keys. A recorded `sent` is never sent again.
//!
//! The groups themselves are not in the log (when a tick ran is not an
//! event), so they are snapshotted beside the views; after a restart the
//! snapshot is brought forward by replaying the alerts and the recorded
//! intents that came after it, so a notification already recorded is not
//! decided a second time.
//!
//! Here: the task's loop, its start and the commands it serves. Beside it:
//! [`follow`] (the log into the groups), [`decide`] (ticks, silences,
//! intents), [`deliver`] (attempts, retries, give-ups, fallbacks),
//! [`snapshot`] (the groups saved and loaded), [`outbox`] (the pure state
//! machine of pending deliveries), [`intent`] (what a notification plans)
//! and [`send`] (the channels an attempt goes through).

#[cfg(test)]
mod crash_tests;
mod decide;
mod deliver;
mod error;
mod follow;
mod intent;
mod messages;
mod outbox;
mod query;
mod send;
mod snapshot;

use crate::config::Config;
use crate::state::Shared;
use crate::state::messages::{Command, TestRefusal};
use error::StartError;
use intent::Draft;
use outbox::{Job, Outbox, Retry};
use send::{AttemptError, Channels};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use vigil_notify::route::{Dispatcher, GroupKey, Silence};
use vigil_store::{
    Actor, Alert, AlertStatus, DeliveryState, Event, IntentCause, Labels, NotificationIntent,
    Severity, now_micros,
};

/// Snapshot name of the aggregation groups.
const SNAPSHOT: &str = "notifier";
/// Its format version. 2: groups saved compactly (version 1 still read).
const SNAPSHOT_VERSION: u32 = 2;
/// How often changed groups are saved.
const SAVE_EVERY: Duration = Duration::from_secs(10);
/// Entries the notifier reads from the log at a time.
const FOLLOW_CHUNK: u64 = 10_000;
/// Wait between attempts to start the notifier.
const START_RETRY: Duration = Duration::from_secs(5);
/// Notifications remembered as having had their fallback notified.
const FALLEN_BACK_MEMORY: usize = 100_000;
/// Intents appended together, at most.
const INTENT_BATCH: usize = 512;
/// Longest sleep; the loop re-checks the clock at least this often.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// An attempt that ended.
struct Settled {
    job: Job,
    result: Result<String, AttemptError>,
}

struct Notifier {
    shared: Arc<Shared>,
    config: Arc<Config>,
    channels: Option<Arc<Channels>>,
    dispatcher: Dispatcher,
    cursor: u64,
    outbox: Outbox,
    settled_tx: mpsc::UnboundedSender<Settled>,
    /// The head when the notifier started: intents up to it are replayed.
    started_at: u64,
    /// Notifications whose fallback was already notified.
    fallen_back: std::collections::HashSet<String>,
    /// The silences, read from their view when a silence changed.
    silences: Option<Arc<Vec<Silence>>>,
    dirty: bool,
    saved_at: Instant,
}

/// Runs the notifier until the daemon stops.
pub async fn run(shared: Arc<Shared>, mut commands: mpsc::Receiver<Command>) {
    let (settled_tx, mut settled_rx) = mpsc::unbounded_channel();
    let mut shutdown = shared.shutdown.clone();
    // A store hiccup at start must not silence notifications for the
    // daemon's lifetime: try again until it works or the daemon stops.
    let mut notifier = loop {
        // A stop during the first pass over a long log ends it (nothing
        // was saved yet, so nothing is lost) rather than waiting for it.
        let started = tokio::select! {
            started = Notifier::start(shared.clone(), settled_tx.clone()) => started,
            _ = shutdown.changed() => return,
        };
        match started {
            Ok(n) => break n,
            Err(e) => {
                tracing::error!("the notifier cannot start: {e}; trying again in {START_RETRY:?}");
                tokio::select! {
                    _ = shutdown.changed() => return,
                    () = tokio::time::sleep(START_RETRY) => {}
                }
            }
        }
    };
    let mut head = shared.head.clone();
    loop {
        notifier.step().await;
        let sleep = notifier.sleep();
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = head.changed() => {}
            Some(command) = commands.recv() => notifier.command(command).await,
            Some(settled) = settled_rx.recv() => {
                notifier.settle(settled).await;
                // Every attempt that ended, not one per turn: under load the
                // log head moves constantly and would starve the outbox.
                while let Ok(more) = settled_rx.try_recv() {
                    notifier.settle(more).await;
                }
            }
            () = tokio::time::sleep(sleep) => {}
        }
    }
    notifier.save().await;
}

impl Notifier {
    async fn start(
        shared: Arc<Shared>,
        settled_tx: mpsc::UnboundedSender<Settled>,
    ) -> Result<Notifier, StartError> {
        let config = shared.config();
        let backoff = retry(&config);
        let log = shared.log.clone();
        let (saved, as_of) = tokio::task::spawn_blocking(move || snapshot::load(&log)).await?;
        let mut notifier = Notifier {
            channels: channels(&config),
            config,
            dispatcher: saved.dispatcher,
            cursor: as_of,
            outbox: Outbox::new(backoff),
            settled_tx,
            started_at: shared.log.head().seq,
            fallen_back: std::collections::HashSet::new(),
            silences: None,
            dirty: false,
            saved_at: Instant::now(),
            shared,
        };
        // Bring the groups forward, then take up what the outbox owes.
        notifier.follow().await;
        let s = notifier.shared.clone();
        let pending = tokio::task::spawn_blocking(move || {
            s.with_views(|v| {
                let pending = v
                    .deliveries
                    .pending()
                    .map(|d| (d.clone(), d.fallback_for.is_some()))
                    .collect::<Vec<_>>();
                // Which notifications already had their fallback notified.
                let fallen_back = v
                    .deliveries
                    .pending()
                    .chain(v.deliveries.finished())
                    .filter_map(|d| d.fallback_for.as_deref())
                    .map(|of| intent::notification_of(of).to_string())
                    .collect::<std::collections::HashSet<_>>();
                (pending, fallen_back)
            })
        })
        .await??;
        let (pending, fallen_back) = pending;
        notifier.fallen_back = fallen_back;
        let resumed = pending.len();
        for (d, is_fallback) in pending {
            let not_before = if d.state == DeliveryState::Failed {
                d.updated_at
                    .saturating_add(backoff.backoff(d.attempts, 1.0))
            } else {
                0
            };
            notifier.outbox.push(Job {
                delivery: d.id,
                intent_seq: d.intent_seq,
                receiver: d.receiver,
                integration: d.integration,
                attempts: d.attempts,
                created_at: d.created_at,
                not_before,
                is_fallback,
            });
        }
        tracing::info!(
            groups = notifier.dispatcher.len(),
            resumed,
            from_seq = as_of,
            "notifier ready"
        );
        Ok(notifier)
    }

    /// How long to sleep before the next due group, retry or save.
    fn sleep(&self) -> Duration {
        let now = now_micros();
        let mut wake = now.saturating_add(micros(MAX_SLEEP));
        if let Some(channels) = &self.channels {
            if channels.notify.policy.is_some()
                && let Some(next) = self.dispatcher.next_due()
            {
                wake = wake.min(next.as_microsecond());
            }
            if let Some(next) = self.outbox.next_wake(|r| channels.concurrency(r)) {
                wake = wake.min(next);
            }
        }
        if self.dirty {
            let save =
                now.saturating_add(micros(SAVE_EVERY.saturating_sub(self.saved_at.elapsed())));
            wake = wake.min(save);
        }
        Duration::from_micros(u64::try_from(wake.saturating_sub(now)).unwrap_or(0))
    }

    /// Everything that is due now.
    async fn step(&mut self) {
        self.refresh_config();
        self.follow().await;
        self.tick().await;
        self.expire().await;
        self.pump();
        if self.dirty && self.saved_at.elapsed() >= SAVE_EVERY {
            self.save().await;
        }
    }

    /// Rebuilds the channels when the configuration was reloaded.
    fn refresh_config(&mut self) {
        let config = self.shared.config();
        if Arc::ptr_eq(&config, &self.config) {
            return;
        }
        match channels(&config) {
            Some(built) => self.channels = Some(built),
            // Keep notifying with what worked (reload checked the file,
            // but a CA file can change under it).
            None if self.channels.is_some() => {
                tracing::error!(
                    "the new [notify] channels cannot be built; keeping the previous ones"
                );
            }
            None => {}
        }
        self.outbox.set_retry(retry(&config));
        self.config = config;
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Test {
                receiver,
                actor,
                allowed,
                reply,
            } => {
                let _ = reply.send(self.test(&receiver, actor, *allowed).await);
            }
            Command::Held { reply } => {
                let _ = reply.send(self.held().await);
            }
        }
    }

    /// Queues a test notification to `receiver`.
    async fn test(
        &mut self,
        receiver: &str,
        actor: Actor,
        allowed: Event,
    ) -> Result<(String, Vec<String>), TestRefusal> {
        let channels = self.channels.clone().ok_or(TestRefusal::Unavailable)?;
        let config = channels.notify.receivers.get(receiver).ok_or_else(|| {
            let known: Vec<&str> = channels
                .notify
                .receivers
                .keys()
                .map(String::as_str)
                .collect();
            TestRefusal::NoReceiver {
                receiver: receiver.to_string(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            }
        })?;
        let mut labels = Labels::new();
        labels.insert("alertname".into(), "VigilTest".into());
        labels.insert("receiver".into(), receiver.into());
        let alert = Alert {
            fingerprint: "vigil-test".into(),
            status: AlertStatus::Firing,
            severity: Severity::Info,
            summary: format!("Test notification to {receiver} from vigilctl"),
            labels: labels.clone(),
            annotations: Labels::new(),
            starts_at: Some(now_micros()),
            ends_at: None,
            links: Vec::new(),
        };
        let draft = Draft {
            receiver,
            route: "",
            group_key: "test",
            group_labels: &labels,
            alerts: std::borrow::Cow::Owned(vec![alert]),
            omitted: 0,
            cause: IntentCause::Test { actor },
        };
        let id = intent::new_id();
        let intent = draft
            .intent(config, id.clone())
            .ok_or_else(|| TestRefusal::NoIntegration(receiver.to_string()))?;
        let deliveries = intent
            .deliveries
            .iter()
            .map(|d| format!("{} ({})", d.delivery, d.integration))
            .collect();
        self.record_intents_after(vec![allowed], vec![intent], false)
            .await
            .map_err(TestRefusal::Store)?;
        Ok((id, deliveries))
    }
}

/// The channels for a configuration: its `[notify]`, compiled when it was
/// loaded, with the HTTP clients it needs.
fn channels(config: &Config) -> Option<Arc<Channels>> {
    match Channels::new(config.compiled_notify.clone()) {
        Ok(c) => Some(Arc::new(c)),
        Err(e) => {
            tracing::error!("cannot set up the notification channels: {e}");
            None
        }
    }
}

fn retry(config: &Config) -> Retry {
    let r = &config.notify.retry;
    Retry::new(
        r.initial_backoff.0,
        r.max_backoff.0,
        r.max_attempts,
        r.give_up_after.0,
    )
}

fn group_key(intent: &NotificationIntent) -> GroupKey {
    GroupKey::new(&intent.route, &intent.group_labels)
}

fn timestamp(micros: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(micros).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
