//! Following the log: the alerts feed the aggregation groups, silence
//! changes invalidate the cached silences, and after a restart the intents
//! recorded before it bring the groups forward.

use super::{FOLLOW_CHUNK, Notifier, group_key, timestamp};
use vigil_store::{Actor, Alert, AlertStatus, Event, EventKind, FileIntegrity, IntentCause, Log};
use vigil_views::incidents::LIFETIME_DRIVER;

impl Notifier {
    /// Feeds the entries after the cursor to the groups.
    pub(super) async fn follow(&mut self) {
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
    pub(super) async fn follow_chunk(&mut self, head: u64) -> bool {
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
                // The end of an alert's lifetime: resolves the copy held,
                // unless a fresh one moved its end since.
                Event::AlertsIngested(expiry)
                    if expiry.driver == LIFETIME_DRIVER && expiry.actor == Actor::Daemon =>
                {
                    for alert in &expiry.alerts {
                        self.dirty |= self.dispatcher.expire(alert);
                    }
                }
                Event::AlertsIngested(_) | Event::FileIntegrity(_) | Event::Logs(_) => {
                    for alert in alerts_of(&event) {
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
}

/// The alerts, intents and silence changes in `from..=to`, with their
/// seqs and entry times.
pub(super) fn relevant(
    log: &Log,
    from: u64,
    to: u64,
) -> vigil_store::Result<Vec<(u64, i64, Event)>> {
    let mut out = Vec::new();
    for entry in log.entries_between(from, to) {
        let entry = entry?;
        if !matches!(
            entry.kind(),
            Some(EventKind::Ingest | EventKind::Collect | EventKind::Notify | EventKind::Silence)
        ) {
            continue;
        }
        match entry.event()? {
            Some(
                event @ (Event::AlertsIngested(_)
                | Event::NotificationIntended(_)
                | Event::Silence(_)
                | Event::SilenceExpired(_)),
            ) => out.push((entry.seq(), entry.time(), event)),
            // Only the records that alert: a scan's chunk of baselines is
            // hundreds of records and no alert.
            Some(Event::FileIntegrity(FileIntegrity::Records { scan, mut files })) => {
                files.retain(|f| f.alert.is_some());
                if !files.is_empty() {
                    let event = Event::FileIntegrity(FileIntegrity::Records { scan, files });
                    out.push((entry.seq(), entry.time(), event));
                }
            }
            // Only lines whose rules alerted: most entries carry none.
            Some(Event::Logs(logs)) if logs.alerts().next().is_some() => {
                out.push((entry.seq(), entry.time(), Event::Logs(logs)));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The alerts an ingested or collected event carries.
fn alerts_of(event: &Event) -> Vec<&Alert> {
    match event {
        Event::AlertsIngested(batch) => batch.alerts.iter().collect(),
        Event::FileIntegrity(FileIntegrity::Records { files, .. }) => {
            files.iter().filter_map(|f| f.alert.as_ref()).collect()
        }
        Event::Logs(logs) => logs.alerts().collect(),
        _ => Vec::new(),
    }
}
