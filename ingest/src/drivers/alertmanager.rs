//! Prometheus Alertmanager, `webhook_config`, payload version 4
//! (<https://prometheus.io/docs/alerting/latest/configuration/#webhook_config>).
//!
//! One request carries a group of alerts:
//! `{"version":"4","groupKey":…,"status":…,"receiver":…,"groupLabels":…,
//! "commonLabels":…,"commonAnnotations":…,"externalURL":…,"truncatedAlerts":…,
//! "alerts":[{"status","labels","annotations","startsAt","endsAt",
//! "generatorURL","fingerprint"}]}`. Grafana sends the same `alerts[]`, so
//! [`alert_group`] serves both.
//!
//! Alertmanager cannot sign deliveries; it authenticates with the API key
//! (its `http_config.authorization`).

use super::shape::{self, Obj, err, object};
use super::{Delivery, DriverKind, Normalized, ShapeError};
use serde_json::Value;
use vigil_store::{Alert, AlertStatus};

/// Whether the body is an Alertmanager version 4 payload (and not Grafana's
/// look-alike, which carries `orgId`).
pub(super) fn looks_like(body: &Value) -> bool {
    body.get("version").and_then(Value::as_str) == Some("4")
        && body.get("alerts").is_some_and(Value::is_array)
        && body.get("groupKey").is_some_and(Value::is_string)
        && body.get("orgId").is_none()
}

/// See [`DriverKind::normalize`].
pub(super) fn normalize(delivery: &Delivery<'_>) -> Result<Normalized, ShapeError> {
    let root = object(delivery.json, "")?;
    // Another version would mean another format: refuse rather than guess.
    if root.str("version")? != "4" {
        return Err(err(
            "version",
            "expected \"4\" (Alertmanager webhook payload version 4)",
        ));
    }
    alert_group(&root, DriverKind::Alertmanager, |_, _| Ok(()))
}

/// Normalizes `root.alerts[]`, calling `extra` on each alert for the
/// sender's additional fields.
pub(super) fn alert_group(
    root: &Obj<'_>,
    driver: DriverKind,
    extra: impl Fn(&Obj<'_>, &mut Alert) -> Result<(), ShapeError>,
) -> Result<Normalized, ShapeError> {
    let path = root.at("alerts");
    let items = shape::alert_items(root.array("alerts")?, &path)?;
    let mut alerts = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let obj = object(item, shape::index(&path, i))?;
        let mut alert = one(&obj, driver)?;
        extra(&obj, &mut alert)?;
        alerts.push(alert);
    }
    Ok(Normalized::Alerts(alerts))
}

fn one(obj: &Obj<'_>, driver: DriverKind) -> Result<Alert, ShapeError> {
    let status = shape::status(obj.str("status")?, &obj.at("status"))?;
    let labels = obj.labels("labels")?;
    let annotations = obj.labels("annotations")?;
    let starts_at = obj.opt_time("startsAt")?;
    // For a firing alert `endsAt` is zero or an expiry guess, not an end.
    let ends_at = match status {
        AlertStatus::Resolved => obj.opt_time("endsAt")?,
        AlertStatus::Firing => {
            obj.opt_time("endsAt")?;
            None
        }
    };
    let fingerprint = match obj.opt_str("fingerprint")? {
        Some(fp) => shape::sender_fingerprint(fp, &obj.at("fingerprint"))?,
        None => shape::fingerprint(driver.name(), &labels, &[]),
    };
    let summary = shape::alert_summary(&annotations, &labels, driver.name());
    let mut links = Vec::new();
    shape::push_link(&mut links, obj.opt_str("generatorURL")?);
    Ok(Alert {
        fingerprint,
        status,
        severity: shape::severity_label(&labels),
        summary,
        labels,
        annotations,
        starts_at,
        ends_at,
        links,
    })
}
