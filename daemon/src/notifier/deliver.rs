//! Delivering: the outbox's ready jobs are attempted (each attempt and
//! outcome recorded), retried with backoff, or given up, and a give-up
//! notifies the receiver's fallback once per notification.

use super::error::IntentError;
use super::intent::{self, Draft};
use super::outbox::{Job, Outcome, Verdict};
use super::send::{AttemptError, Channels};
use super::{FALLEN_BACK_MEMORY, Notifier, Settled};
use crate::state::Shared;
use std::sync::Arc;
use vigil_store::{
    DeliveryState, Event, IntentCause, Log, Notification, NotificationIntent, now_micros,
};

impl Notifier {
    /// Gives up the deliveries that waited too long.
    pub(super) async fn expire(&mut self) {
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
    pub(super) fn pump(&mut self) {
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
                let result = run.await.unwrap_or_else(|e| Err(AttemptError::Panicked(e)));
                let _ = tx.send(Settled { job, result });
            });
        }
    }

    /// Records how an attempt ended and what happens next.
    pub(super) async fn settle(&mut self, settled: Settled) {
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
    pub(super) async fn give_up(&mut self, job: Job, detail: String) {
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
    pub(super) async fn fallback_for(&self, job: &Job) -> (Option<NotificationIntent>, String) {
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
            .get(&*job.receiver)
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
            alerts: std::borrow::Cow::Borrowed(&original.alerts),
            omitted: original.omitted,
            cause: IntentCause::Fallback {
                delivery: job.delivery.to_string(),
            },
        };
        let intent = draft.intent(receiver, intent::new_id());
        if intent.is_some() {
            tracing::warn!(delivery = %job.delivery, fallback = %fallback, "delivery given up; notifying the fallback receiver");
        }
        (intent, notification)
    }

    pub(super) async fn record_step(
        &self,
        job: &Job,
        state: DeliveryState,
        attempt: u32,
        detail: String,
    ) {
        if let Err(e) = self
            .shared
            .log
            .append_async(&step(job, state, attempt, detail))
            .await
        {
            tracing::error!(delivery = %job.delivery, "cannot record a delivery step: {e}");
        }
    }
}

/// One attempt: load the intent, record the attempt, send, record success.
pub(super) async fn attempt(
    shared: &Arc<Shared>,
    channels: &Channels,
    job: &Job,
) -> Result<String, AttemptError> {
    let intent = load_intent(&shared.log, job.intent_seq).await?;
    let start = step(job, DeliveryState::Attempting, job.attempts, String::new());
    shared
        .log
        .append_async(&start)
        .await
        .map_err(AttemptError::Record)?;
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

pub(super) fn step(job: &Job, state: DeliveryState, attempt: u32, detail: String) -> Event {
    Event::Notification(Notification {
        delivery: job.delivery.to_string(),
        receiver: job.receiver.to_string(),
        integration: job.integration.to_string(),
        state,
        attempt,
        incidents: Vec::new(),
        detail,
    })
}

/// The intent recorded at `seq`.
pub(super) async fn load_intent(log: &Log, seq: u64) -> Result<NotificationIntent, IntentError> {
    let log = log.clone();
    let read = tokio::task::spawn_blocking(move || {
        log.get(seq)
            .and_then(|e| e.map(|e| e.event()).transpose())
            .map(Option::flatten)
    })
    .await
    .map_err(|source| IntentError::Task { seq, source })?;
    match read {
        Ok(Some(Event::NotificationIntended(intent))) => Ok(intent),
        Ok(_) => Err(IntentError::Gone(seq)),
        Err(source) => Err(IntentError::Read { seq, source }),
    }
}

/// A number in [0, 1) for backoff jitter.
pub(super) fn jitter() -> f64 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    f64::from(u16::from_le_bytes(b)) / 65536.0
}
