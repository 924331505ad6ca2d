//! Forwarding: this host's chain, entry by entry, to the fleet's NATS
//! JetStream stream (`[forward]`).
//!
//! The log is the buffer: the forwarder reads behind the head and never
//! holds ingestion up. Each entry goes once, in order, under the message
//! id `<store id>:<seq>`, and is acknowledged by the broker; after a
//! restart of vigild or of the broker, the stream itself says where to go
//! on (its last message of this host), so nothing is skipped and nothing
//! stored twice. The acknowledged position is recorded in the log now and
//! then (`Forwarded`), for status, lag and retention's `wait_for_forward`.
//!
//! The fleet's copy is also this host's tail anchor: a local log that ends
//! before what the stream holds, or differs from it, was truncated or
//! replaced, and forwarding stops with that finding ([`Halt`]).

mod session;

use crate::config::ForwardConfig;
use crate::state::Shared;
use crate::state::forward::{ForwardState, subject};
use std::sync::Arc;
use std::time::Duration;

/// Shortest wait before reconnecting after a failure; it doubles up to
/// [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often the acknowledged position is recorded in the log, at most.
pub const RECORD_EVERY: Duration = Duration::from_secs(10);
/// Alert fingerprint of a forwarding outage.
const OUTAGE_FINGERPRINT: &str = "vigil-forward-outage";

/// Why a session ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The daemon is stopping.
    Shutdown,
    /// `[forward]` changed: start over with the new one.
    Reconfigured,
    /// Something failed; try again later.
    Failed(String),
    /// The local log cannot go on the stream (see the module docs).
    Halt(String),
}

/// Runs the forwarder for as long as the daemon runs.
pub async fn run(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let mut backoff = MIN_BACKOFF;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let config = shared.config().forward.clone();
        let Some(config) = config else {
            shared.forward.update(|s| *s = ForwardState::default());
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                _ = shutdown.changed() => return,
            }
        };
        let ended = session::run(&shared, &config).await;
        shared.forward.update(|s| s.connected = false);
        let wait = match ended {
            Ended::Shutdown => return,
            Ended::Reconfigured => {
                backoff = MIN_BACKOFF;
                continue;
            }
            Ended::Failed(reason) => {
                failed(&shared, &config, reason).await;
                let wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                wait
            }
            Ended::Halt(reason) => {
                tracing::error!("forwarding stopped: {reason}");
                shared.forward.update(|s| s.halted = Some(reason.clone()));
                failed(&shared, &config, reason).await;
                // Looked at again now and then: an operator may fix the
                // stream or give this host another subject.
                Duration::from_secs(60)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Notes a failure, and raises the outage alert once it has lasted
/// `alert_after` with entries waiting.
async fn failed(shared: &Arc<Shared>, config: &ForwardConfig, reason: String) {
    let now = vigil_store::now_micros();
    tracing::warn!("forwarding to {}: {reason}", config.servers.join(","));
    let mut raise = false;
    shared.forward.update(|s| {
        s.last_error = Some((now, reason.clone()));
        let since = *s.failing_since.get_or_insert(now);
        let waiting = s.acked.map_or(0, |a| a.seq) < shared.log.head().seq;
        let long =
            now - since >= i64::try_from(config.alert_after.0.as_micros()).unwrap_or(i64::MAX);
        if long && waiting && !s.alerting {
            s.alerting = true;
            raise = true;
        }
    });
    if raise {
        let summary = format!(
            "forwarding the chain to {} has failed since {}: {reason}",
            config.servers.join(","),
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH
                    + Duration::from_micros(
                        shared.forward.get().failing_since.unwrap_or(now).max(0) as u64
                    )
            )
        );
        outage_alert(shared, config, vigil_store::AlertStatus::Firing, summary).await;
    }
}

/// Forwarding works again: the outage (if any) is over.
async fn recovered(shared: &Arc<Shared>, config: &ForwardConfig) {
    let mut resolve = false;
    shared.forward.update(|s| {
        s.failing_since = None;
        s.halted = None;
        if s.alerting {
            s.alerting = false;
            resolve = true;
        }
    });
    if resolve {
        outage_alert(
            shared,
            config,
            vigil_store::AlertStatus::Resolved,
            "forwarding the chain works again".into(),
        )
        .await;
    }
}

async fn outage_alert(
    shared: &Arc<Shared>,
    config: &ForwardConfig,
    status: vigil_store::AlertStatus,
    summary: String,
) {
    use vigil_store::{Actor, Alert, AlertsIngested, Event, Severity};
    let labels = [
        ("alertname", "VigilForwardFailing".to_string()),
        ("stream", config.stream.clone()),
        ("subject", subject(config)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let now = vigil_store::now_micros();
    let event = Event::AlertsIngested(AlertsIngested {
        source: "vigild".into(),
        driver: "forward".into(),
        delivery_id: None,
        actor: Actor::Daemon,
        alerts: vec![Alert {
            fingerprint: OUTAGE_FINGERPRINT.into(),
            status,
            severity: Severity::Critical,
            summary,
            labels,
            annotations: Default::default(),
            starts_at: shared.forward.get().failing_since.or(Some(now)),
            ends_at: (status == vigil_store::AlertStatus::Resolved).then_some(now),
            links: Vec::new(),
        }],
        raw: None,
    });
    if let Err(e) = shared.log.append_async(&event).await {
        tracing::error!("cannot record the forwarding alert: {e}");
    }
}
