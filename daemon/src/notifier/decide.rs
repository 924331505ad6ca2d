//! Deciding: on each tick the due groups pass the gate (silences, inhibit
//! rules, time intervals), and what is to be notified is recorded as
//! intents, durably, before any delivery is queued.

use super::intent::{self, Draft};
use super::outbox::Job;
use super::{INTENT_BATCH, Notifier, group_key, timestamp};
use std::sync::Arc;
use vigil_notify::route::{GroupKey, Silence};
use vigil_store::{Event, NotificationIntent};

impl Notifier {
    /// Processes the due groups and records their intents.
    pub(super) async fn tick(&mut self) {
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
        // Unreadable now (the store is failing): decide nothing rather
        // than send what a silence may mute.
        let Some(silences) = self.silences().await else {
            return;
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
    pub(super) async fn record_intents(
        &mut self,
        intents: Vec<NotificationIntent>,
        is_fallback: bool,
    ) -> Result<(), vigil_store::StoreError> {
        self.record_intents_after(Vec::new(), intents, is_fallback)
            .await
    }

    /// Appends `before` and the intents in one durable batch (all or
    /// nothing), then queues the intents' deliveries.
    pub(super) async fn record_intents_after(
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
                    delivery: planned.delivery.as_str().into(),
                    intent_seq: head.seq,
                    receiver: intent.receiver.as_str().into(),
                    integration: planned.integration.as_str().into(),
                    attempts: 0,
                    created_at: head.time,
                    not_before: 0,
                    is_fallback,
                });
            }
        }
        Ok(())
    }

    /// The silences, read from their view when one changed since.
    pub(super) async fn silences(&mut self) -> Option<Arc<Vec<Silence>>> {
        if let Some(silences) = &self.silences {
            return Some(silences.clone());
        }
        let loaded = Arc::new(self.load_silences().await?);
        self.silences = Some(loaded.clone());
        Some(loaded)
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
}
