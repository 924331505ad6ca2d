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

mod intent;
mod outbox;
mod send;

use crate::config::Config;
use crate::state::Shared;
use crate::state::messages::{Command, TestRefusal};
use intent::Draft;
use outbox::{Job, Outbox, Outcome, Retry, Verdict};
use send::{AttemptError, Channels};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use vigil_notify::route::{Dispatcher, GroupKey, Silence};
use vigil_store::{
    Actor, Alert, AlertStatus, DeliveryState, Event, EventKind, IntentCause, Labels, Log,
    Notification, NotificationIntent, Severity, ViewSnapshot, now_micros,
};

/// Snapshot name of the aggregation groups.
const SNAPSHOT: &str = "notifier";
/// Its format version.
const SNAPSHOT_VERSION: u32 = 1;
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

/// The saved state.
#[derive(Default, Deserialize)]
struct Saved {
    dispatcher: Dispatcher,
}

/// [`Saved`], borrowed: encoding it copies nothing (postcard writes a
/// reference exactly as the value).
#[derive(Serialize)]
struct SavedRef<'a> {
    dispatcher: &'a Dispatcher,
}

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
        match Notifier::start(shared.clone(), settled_tx.clone()).await {
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
    ) -> Result<Notifier, String> {
        let config = shared.config();
        let backoff = retry(&config);
        let log = shared.log.clone();
        let (saved, as_of) = tokio::task::spawn_blocking(move || load(&log))
            .await
            .map_err(|e| e.to_string())?;
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
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
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

    /// Feeds the entries after the cursor to the groups.
    async fn follow(&mut self) {
        let head = self.shared.log.head().seq;
        // Without channels nothing can be routed: keep the alerts for when
        // they can be (the cursor stays).
        while self.cursor < head && self.channels.is_some() {
            // In bounded chunks: after a long time without a snapshot the
            // range can be the whole log.
            let to = head.min(self.cursor.saturating_add(FOLLOW_CHUNK));
            if !self.follow_chunk(to).await {
                return;
            }
        }
    }

    /// Feeds the entries after the cursor up to `to`; false if the log
    /// could not be read.
    async fn follow_chunk(&mut self, head: u64) -> bool {
        let log = self.shared.log.clone();
        let from = self.cursor + 1;
        let read = tokio::task::spawn_blocking(move || relevant(&log, from, head)).await;
        let events = match read {
            Ok(Ok(events)) => events,
            Ok(Err(e)) => {
                tracing::error!("the notifier cannot read the log: {e}");
                return false;
            }
            Err(e) => {
                tracing::error!("the notifier cannot read the log: {e}");
                return false;
            }
        };
        self.cursor = head;
        if events
            .iter()
            .any(|(_, _, e)| matches!(e, Event::Silence(_) | Event::SilenceExpired(_)))
        {
            self.silences = None;
        }
        let Some(channels) = self.channels.clone() else {
            return true;
        };
        let Some(policy) = channels.notify.policy.as_ref() else {
            return true;
        };
        for (seq, time, event) in events {
            let at = timestamp(time);
            match event {
                Event::AlertsIngested(batch) => {
                    for alert in &batch.alerts {
                        for route in policy.route(&alert.labels) {
                            self.dispatcher.observe(&route, alert, at);
                            self.dirty = true;
                        }
                    }
                }
                // Only intents from before this start: the live ones were
                // recorded by the tick that decided them (and an intent
                // carries at most MAX_ALERTS alerts, not the whole group).
                Event::NotificationIntended(intent)
                    if intent.cause == IntentCause::Group && seq <= self.started_at =>
                {
                    let (firing, resolved): (Vec<&Alert>, Vec<&Alert>) = intent
                        .alerts
                        .iter()
                        .partition(|a| a.status == AlertStatus::Firing);
                    self.dispatcher.record(
                        &group_key(&intent),
                        firing.into_iter().map(|a| a.fingerprint.clone()),
                        resolved.into_iter().map(|a| a.fingerprint.clone()),
                        at,
                    );
                    self.dirty = true;
                }
                _ => {}
            }
        }
        true
    }

    /// Processes the due groups and records their intents.
    async fn tick(&mut self) {
        let Some(channels) = self.channels.clone() else {
            return;
        };
        let Some(policy) = channels.notify.policy.as_ref() else {
            return;
        };
        let now = jiff::Timestamp::now();
        if self.dispatcher.next_due().is_none_or(|due| due > now) {
            return;
        }
        let silences = match &self.silences {
            Some(silences) => silences.clone(),
            None => match self.load_silences().await {
                Some(loaded) => {
                    let loaded = Arc::new(loaded);
                    self.silences = Some(loaded.clone());
                    loaded
                }
                // Unreadable now (the store is failing): decide nothing
                // rather than send what a silence may mute.
                None => return,
            },
        };
        let flushes = self.dispatcher.due_gated(now, &policy.gate(&silences));
        self.dirty = true;
        // In bounded batches: a burst of 100 000 due groups must not hold
        // 100 000 intents (and their encodings) in memory at once.
        for batch in flushes.chunks(INTENT_BATCH) {
            let intents: Vec<NotificationIntent> = batch
                .iter()
                .filter_map(|flush| {
                    let receiver = channels.notify.receivers.get(&flush.receiver)?;
                    Draft::from_flush(flush).intent(receiver, intent::new_id())
                })
                .collect();
            let keys: Vec<GroupKey> = intents.iter().map(group_key).collect();
            if self.record_intents(intents, false).await.is_err() {
                // Not recorded, so not notified: the next tick decides again.
                for key in &keys {
                    self.dispatcher.forget_notified(key);
                }
            }
        }
    }

    /// Appends intents and queues their deliveries.
    async fn record_intents(
        &mut self,
        intents: Vec<NotificationIntent>,
        is_fallback: bool,
    ) -> Result<(), vigil_store::StoreError> {
        self.record_intents_after(Vec::new(), intents, is_fallback)
            .await
    }

    /// Appends `before` and the intents in one durable batch (all or
    /// nothing), then queues the intents' deliveries.
    async fn record_intents_after(
        &mut self,
        before: Vec<Event>,
        intents: Vec<NotificationIntent>,
        is_fallback: bool,
    ) -> Result<(), vigil_store::StoreError> {
        if intents.is_empty() && before.is_empty() {
            return Ok(());
        }
        let skip = before.len();
        let events: Vec<Event> = before
            .into_iter()
            .chain(intents.iter().cloned().map(Event::NotificationIntended))
            .collect();
        let heads = self
            .shared
            .log
            .append_all_async(&events)
            .await
            .inspect_err(|e| tracing::error!("cannot record notification intents: {e}"))?;
        for (intent, head) in intents.iter().zip(heads.into_iter().skip(skip)) {
            for planned in &intent.deliveries {
                self.outbox.push(Job {
                    delivery: planned.delivery.clone(),
                    intent_seq: head.seq,
                    receiver: intent.receiver.clone(),
                    integration: planned.integration.clone(),
                    attempts: 0,
                    created_at: head.time,
                    not_before: 0,
                    is_fallback,
                });
            }
        }
        Ok(())
    }

    /// The silences, as the gate reads them.
    async fn load_silences(&self) -> Option<Vec<Silence>> {
        let s = self.shared.clone();
        let records = tokio::task::spawn_blocking(move || {
            s.with_views(|v| v.silences.silences.values().cloned().collect::<Vec<_>>())
        })
        .await;
        let Ok(Ok(records)) = records else {
            tracing::error!(
                "cannot read the silences; no group is notified until they can be read"
            );
            return None;
        };
        let silences = records
            .into_iter()
            .filter_map(|r| {
                let matchers = vigil_notify::route::Matchers::parse_all(&r.matchers).ok()?;
                Silence::new(
                    r.id,
                    matchers,
                    timestamp(r.starts_at),
                    timestamp(r.ends_at),
                    r.comment,
                    r.created_by,
                )
                .ok()
            })
            .collect();
        Some(silences)
    }

    /// Gives up the deliveries that waited too long.
    async fn expire(&mut self) {
        let expired = self.outbox.expired(now_micros());
        for job in expired {
            let detail = format!(
                "given up after {} attempts: not delivered within give_up_after",
                job.attempts
            );
            self.give_up(job, detail).await;
        }
    }

    /// Starts the attempts that may start.
    fn pump(&mut self) {
        let Some(channels) = self.channels.clone() else {
            return;
        };
        let ready = self
            .outbox
            .ready(now_micros(), |receiver| channels.concurrency(receiver));
        for job in ready {
            let shared = self.shared.clone();
            let channels = channels.clone();
            let tx = self.settled_tx.clone();
            tokio::spawn(async move {
                let run = {
                    let (shared, job) = (shared.clone(), job.clone());
                    tokio::spawn(async move { attempt(&shared, &channels, &job).await })
                };
                // A panicking attempt still settles, or its lane would
                // count it in flight forever.
                let result = run.await.unwrap_or_else(|e| {
                    Err(AttemptError::Unconfigured(format!(
                        "the attempt failed: {e}"
                    )))
                });
                let _ = tx.send(Settled { job, result });
            });
        }
    }

    /// Records how an attempt ended and what happens next.
    async fn settle(&mut self, settled: Settled) {
        let Settled { job, result } = settled;
        let now = now_micros();
        match result {
            Ok(_) => {
                self.outbox.settle(job, Outcome::Sent, now, 0.0);
            }
            Err(error) => {
                let outcome = if error.retryable() {
                    Outcome::Retryable
                } else {
                    Outcome::Permanent
                };
                let attempts = job.attempts;
                match self.outbox.settle(job.clone(), outcome, now, jitter()) {
                    Verdict::RetryAt(at) => {
                        let detail = format!("{error} (retry in {}s)", (at - now) / 1_000_000);
                        self.record_step(&job, DeliveryState::Failed, attempts, detail)
                            .await;
                    }
                    Verdict::GiveUp => {
                        let why = if outcome == Outcome::Permanent {
                            "not retryable"
                        } else {
                            "no attempts left"
                        };
                        let detail = format!("{error} (given up after attempt {attempts}: {why})");
                        self.give_up(job, detail).await;
                    }
                    Verdict::Done => {}
                }
            }
        }
    }

    /// Records a give-up and notifies the receiver's fallback, once.
    async fn give_up(&mut self, job: Job, detail: String) {
        let given_up = step(&job, DeliveryState::GivenUp, job.attempts, detail);
        // The give-up and its fallback's intent are one append: a crash
        // cannot keep the first and lose the second.
        let (fallback, notification) = self.fallback_for(&job).await;
        let fell_back = fallback.is_some();
        let recorded = self
            .record_intents_after(vec![given_up], fallback.into_iter().collect(), true)
            .await;
        if recorded.is_ok() && fell_back {
            if self.fallen_back.len() >= FALLEN_BACK_MEMORY {
                self.fallen_back.clear();
            }
            self.fallen_back.insert(notification);
        }
    }

    /// The fallback intent for a delivery being given up, if its receiver
    /// has a fallback that has not heard of this notification yet; and the
    /// notification's id.
    async fn fallback_for(&self, job: &Job) -> (Option<NotificationIntent>, String) {
        // Once per notification, however many of its integrations gave up.
        let notification = intent::notification_of(&job.delivery).to_string();
        if job.is_fallback || self.fallen_back.contains(&notification) {
            return (None, notification);
        }
        let Some(channels) = self.channels.clone() else {
            return (None, notification);
        };
        let Some(fallback) = channels
            .notify
            .receivers
            .get(&job.receiver)
            .and_then(|r| r.fallback.clone())
        else {
            return (None, notification);
        };
        let Some(receiver) = channels.notify.receivers.get(&fallback) else {
            return (None, notification);
        };
        let original = match load_intent(&self.shared.log, job.intent_seq).await {
            Ok(intent) => intent,
            Err(e) => {
                tracing::warn!(delivery = %job.delivery, "no fallback: {e}");
                return (None, notification);
            }
        };
        let draft = Draft {
            receiver: &fallback,
            route: &original.route,
            group_key: &original.group_key,
            group_labels: &original.group_labels,
            alerts: &original.alerts,
            omitted: original.omitted,
            cause: IntentCause::Fallback {
                delivery: job.delivery.clone(),
            },
        };
        let intent = draft.intent(receiver, intent::new_id());
        if intent.is_some() {
            tracing::warn!(delivery = %job.delivery, fallback = %fallback, "delivery given up; notifying the fallback receiver");
        }
        (intent, notification)
    }

    async fn record_step(&self, job: &Job, state: DeliveryState, attempt: u32, detail: String) {
        if let Err(e) = self
            .shared
            .log
            .append_async(&step(job, state, attempt, detail))
            .await
        {
            tracing::error!(delivery = %job.delivery, "cannot record a delivery step: {e}");
        }
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
        let alerts = [alert];
        let draft = Draft {
            receiver,
            route: "",
            group_key: "test",
            group_labels: &labels,
            alerts: &alerts,
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
            .map_err(|e| TestRefusal::Store(e.to_string()))?;
        Ok((id, deliveries))
    }

    /// Saves the groups as of the cursor.
    async fn save(&mut self) {
        self.outbox.shrink();
        tracing::debug!(
            groups = self.dispatcher.len(),
            queued = self.outbox.queued(),
            in_flight = self.outbox.in_flight(),
            "notifier state saved"
        );
        let state = match postcard::to_allocvec(&SavedRef {
            dispatcher: &self.dispatcher,
        }) {
            Ok(state) => state,
            Err(e) => {
                tracing::error!("cannot encode the notifier state: {e}");
                return;
            }
        };
        let snapshot = ViewSnapshot {
            version: SNAPSHOT_VERSION,
            as_of: self.cursor,
            state,
        };
        let log = self.shared.log.clone();
        match tokio::task::spawn_blocking(move || log.save_snapshot(SNAPSHOT, &snapshot)).await {
            Ok(Ok(())) => {
                self.dirty = false;
                self.saved_at = Instant::now();
            }
            Ok(Err(e)) => tracing::warn!("cannot save the notifier state: {e}"),
            Err(e) => tracing::warn!("cannot save the notifier state: {e}"),
        }
    }
}

/// One attempt: load the intent, record the attempt, send, record success.
async fn attempt(
    shared: &Arc<Shared>,
    channels: &Channels,
    job: &Job,
) -> Result<String, AttemptError> {
    let intent = load_intent(&shared.log, job.intent_seq)
        .await
        .map_err(AttemptError::Unconfigured)?;
    let start = step(job, DeliveryState::Attempting, job.attempts, String::new());
    shared
        .log
        .append_async(&start)
        .await
        .map_err(|e| AttemptError::Secret(format!("cannot record the attempt: {e}")))?;
    let detail = channels
        .attempt(shared, &intent, &job.delivery, &job.integration)
        .await?;
    let sent = step(job, DeliveryState::Sent, job.attempts, detail.clone());
    if let Err(e) = shared.log.append_async(&sent).await {
        // The receiver has it; a restart resends under the same key.
        tracing::error!(delivery = %job.delivery, "sent, but cannot record it: {e}");
    }
    Ok(detail)
}

fn step(job: &Job, state: DeliveryState, attempt: u32, detail: String) -> Event {
    Event::Notification(Notification {
        delivery: job.delivery.clone(),
        receiver: job.receiver.clone(),
        integration: job.integration.clone(),
        state,
        attempt,
        incidents: Vec::new(),
        detail,
    })
}

async fn load_intent(log: &Log, seq: u64) -> Result<NotificationIntent, String> {
    let log = log.clone();
    let read = tokio::task::spawn_blocking(move || {
        log.get(seq)
            .and_then(|e| e.map(|e| e.event()).transpose())
            .map(Option::flatten)
    })
    .await
    .map_err(|e| e.to_string())?;
    match read {
        Ok(Some(Event::NotificationIntended(intent))) => Ok(intent),
        Ok(_) => Err(format!(
            "the intent (seq {seq}) is no longer in the log (retention removed it)"
        )),
        Err(e) => Err(format!("cannot read the intent (seq {seq}): {e}")),
    }
}

/// The alerts, intents and silence changes in `from..=to`, with their
/// seqs and entry times.
fn relevant(log: &Log, from: u64, to: u64) -> vigil_store::Result<Vec<(u64, i64, Event)>> {
    let mut out = Vec::new();
    for entry in log.entries_between(from, to) {
        let entry = entry?;
        if !matches!(
            entry.kind(),
            Some(EventKind::Ingest | EventKind::Notify | EventKind::Silence)
        ) {
            continue;
        }
        if let Some(
            event @ (Event::AlertsIngested(_)
            | Event::NotificationIntended(_)
            | Event::Silence(_)
            | Event::SilenceExpired(_)),
        ) = entry.event()?
        {
            out.push((entry.seq(), entry.time(), event));
        }
    }
    Ok(out)
}

/// The saved groups and the seq they are as of.
fn load(log: &Log) -> (Saved, u64) {
    let floor = log.first_seq().saturating_sub(1);
    match log.load_snapshot(SNAPSHOT) {
        Ok(Some(snap)) if snap.version == SNAPSHOT_VERSION && snap.as_of <= log.head().seq => {
            match postcard::from_bytes::<Saved>(&snap.state) {
                Ok(saved) => return (saved, snap.as_of.max(floor)),
                Err(e) => {
                    tracing::warn!("notifier state unreadable ({e}); rebuilding from the log")
                }
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("notifier state unreadable ({e}); rebuilding from the log"),
    }
    (Saved::default(), floor)
}

fn channels(config: &Config) -> Option<Arc<Channels>> {
    let compiled = match config.notify.compile() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("[notify] does not compile: {}", e.message);
            return None;
        }
    };
    match Channels::new(compiled) {
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

/// A number in [0, 1) for backoff jitter.
fn jitter() -> f64 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    f64::from(u16::from_le_bytes(b)) / 65536.0
}
