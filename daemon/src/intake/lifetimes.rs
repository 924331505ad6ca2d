//! Alert lifetimes: a firing alert with an end (Prometheus's `endsAt`, or
//! the `resolve_timeout` its source gives alerts without one) resolves at
//! that end unless a fresh copy moves it, as in Alertmanager.
//!
//! The resolution is an event like any other alert: an `AlertsIngested`
//! from [`LIFETIME_DRIVER`] by the daemon, carrying the end it saw. Every
//! view and the notifier apply it only if no copy moved the end since (the
//! incident view's index says what is due), so an alert refreshed at the
//! last moment stays firing, and a restart loses no expiry: the ends are in
//! the log.

use crate::state::Shared;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use vigil_store::{Actor, Alert, AlertStatus, AlertsIngested, Event, now_micros};
use vigil_views::incidents::LIFETIME_DRIVER;

/// The longest wait between looks (an earlier end may arrive meanwhile).
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// Resolutions appended together, at most.
const BATCH: usize = 512;
/// Wait after the log refused an append.
const AFTER_FAILURE: Duration = Duration::from_secs(5);

/// Resolves expired alerts until the daemon stops.
pub async fn run(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        let wait = match step(&shared).await {
            Ok(true) => Duration::ZERO,
            Ok(false) => LOOK_EVERY,
            Err(e) => {
                tracing::error!("cannot resolve expired alerts: {e}; retrying");
                AFTER_FAILURE
            }
        };
        tokio::select! {
            _ = shutdown.changed() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Appends the resolutions due now; true if there may be more.
async fn step(shared: &Arc<Shared>) -> anyhow::Result<bool> {
    let now = now_micros();
    let s = shared.clone();
    let due = tokio::task::spawn_blocking(move || {
        s.with_views(|v| {
            v.incidents
                .expired(now)
                .take(BATCH)
                .map(|i| (i.source.to_string(), resolution(i)))
                .collect::<Vec<_>>()
        })
    })
    .await??;
    if due.is_empty() {
        return Ok(false);
    }
    let more = due.len() == BATCH;
    let resolved = due.len();
    let mut by_source: BTreeMap<String, Vec<Alert>> = BTreeMap::new();
    for (source, alert) in due {
        by_source.entry(source).or_default().push(alert);
    }
    let events: Vec<Event> = by_source
        .into_iter()
        .map(|(source, alerts)| {
            Event::AlertsIngested(AlertsIngested {
                source,
                driver: LIFETIME_DRIVER.into(),
                delivery_id: None,
                actor: Actor::Daemon,
                alerts,
                raw: None,
            })
        })
        .collect();
    shared.log.append_all_async(&events).await?;
    tracing::info!(resolved, "alerts resolved at the end of their lifetime");
    Ok(more)
}

/// The resolved copy of an incident's alert, ending where it was due.
fn resolution(incident: &vigil_views::Incident) -> Alert {
    Alert {
        fingerprint: incident.fingerprint.to_string(),
        status: AlertStatus::Resolved,
        severity: incident.severity,
        summary: incident.summary.to_string(),
        labels: incident.labels.to_labels(),
        annotations: Default::default(),
        starts_at: Some(incident.opened_at),
        ends_at: incident.expires_at.get(),
        links: Vec::new(),
    }
}
