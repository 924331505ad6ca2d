//! Prometheus pushing alerts: the Alertmanager v2 API's `POST /api/v2/alerts`
//! body, which Prometheus (its `alerting.alertmanagers`) and `amtool alert
//! add` send (<https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml>,
//! `postableAlerts`).
//!
//! The body is a JSON array of alerts:
//! `[{"labels":{…},"annotations":{…},"startsAt":…,"endsAt":…,"generatorURL":…}]`.
//! There is no status: an alert whose `endsAt` has passed is resolved, any
//! other is firing. Prometheus sends a firing alert again every evaluation
//! round (or every `resend_delay`) with `endsAt` a few rounds ahead, and a
//! resolved one with `endsAt` the time it stopped; the same labels give the
//! same fingerprint, so a resend refreshes its incident instead of opening
//! another.
//!
//! Prometheus cannot sign; it sends the API key (its `authorization`).

use super::shape::{self, err, object};
use super::{Delivery, DriverKind, Normalized, ShapeError};
use serde_json::Value;
use vigil_store::{Alert, AlertStatus};

/// Whether the body looks like a push of alerts: an array whose first item
/// is an object with a `labels` object.
pub(super) fn looks_like(body: &Value) -> bool {
    body.as_array()
        .and_then(|items| items.first())
        .and_then(|first| first.get("labels"))
        .is_some_and(Value::is_object)
}

/// See [`DriverKind::normalize`].
pub(super) fn normalize(delivery: &Delivery<'_>) -> Result<Normalized, ShapeError> {
    let items = delivery
        .json
        .as_array()
        .ok_or_else(|| err("body", "expected a JSON array of alerts"))?;
    let items = shape::alert_items(items, "body")?;
    // The receive time is whole seconds (rounded down); Prometheus resolves
    // an alert with `endsAt` the evaluation that found it gone and sends it
    // within that same second. Any end before the next second may have
    // passed already, so it counts as passed (a firing alert's end is
    // minutes ahead: several evaluation or resend intervals).
    let passed = delivery.now.saturating_add(1).saturating_mul(1_000_000);
    let mut alerts = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = shape::index("", i);
        let obj = object(item, path.clone())?;
        obj.deny_unknown(&[
            "labels",
            "annotations",
            "startsAt",
            "endsAt",
            "generatorURL",
        ])?;
        let labels = obj.labels("labels")?;
        if labels.is_empty() {
            return Err(err(&obj.at("labels"), "expected at least one label"));
        }
        let annotations = obj.labels("annotations")?;
        let starts_at = obj.opt_time("startsAt")?;
        let ends_at = obj.opt_time("endsAt")?;
        // Alertmanager's rule: resolved once its end has passed.
        let status = match ends_at {
            Some(end) if end < passed => AlertStatus::Resolved,
            _ => AlertStatus::Firing,
        };
        let summary = shape::alert_summary(&annotations, &labels, DriverKind::Prometheus.name());
        let mut links = Vec::new();
        shape::push_link(&mut links, obj.opt_str("generatorURL")?);
        alerts.push(Alert {
            fingerprint: shape::fingerprint(DriverKind::Prometheus.name(), &labels, &[]),
            status,
            severity: shape::severity_label(&labels),
            summary,
            // A firing alert's `endsAt` is when it expires unless resent
            // (the daemon resolves it then), not when it ended.
            ends_at,
            labels,
            annotations,
            starts_at,
            links,
        });
    }
    Ok(Normalized::Alerts(alerts))
}
