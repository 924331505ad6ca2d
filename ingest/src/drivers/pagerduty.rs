//! PagerDuty v3 webhook subscriptions
//! (<https://developer.pagerduty.com/docs/webhooks-overview>).
//!
//! Signing (<https://developer.pagerduty.com/docs/verifying-signatures>):
//! `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>…]`, hex HMAC-SHA256 of the raw
//! body, one signature per subscription secret while PagerDuty rotates it.
//! Accepted when any listed `v1` signature matches any configured secret;
//! other versions are ignored.
//!
//! Body: `{"event":{"id","event_type","resource_type","occurred_at","agent",
//! "client","data":{…}}}`. `incident.triggered`, `incident.reopened` and
//! `incident.escalated` fire (urgency `high` is critical, otherwise warning),
//! `incident.resolved` resolves `pagerduty:<incident id>`; other events
//! (acknowledged, annotated, service changes, …) are [`Normalized::Other`].

use super::shape::{self, Obj, err, object};
use super::signature::{self, any_mac_matches};
use super::{Delivery, Normalized, Rejection, ShapeError, Verifier};
use vigil_store::{Alert, AlertStatus, Labels, Severity};

/// The signature header.
pub(super) const SIGNATURE_HEADER: &str = "X-PagerDuty-Signature";

/// Most signatures considered in one header (rotation needs two).
const MAX_SIGNATURES: usize = 16;

/// See [`super::DriverKind::verify`].
pub(super) fn verify(delivery: &Delivery<'_>, verifier: &Verifier) -> Result<(), Rejection> {
    let keys = signature::keys(verifier)?;
    let value = signature::required(delivery.headers, SIGNATURE_HEADER)?;
    let entries: Vec<&str> = value.split(',').map(str::trim).collect();
    if entries.len() > MAX_SIGNATURES {
        return Err(Rejection::MalformedSignature(SIGNATURE_HEADER));
    }
    // Other versions, and v1 entries that are not a tag, are skipped like a
    // signature that does not match: one odd entry must not hide a good one.
    let tags: Vec<Vec<u8>> = entries
        .iter()
        .filter_map(|e| e.strip_prefix("v1="))
        .filter_map(|hex| signature::hex_tag(hex, SIGNATURE_HEADER).ok())
        .collect();
    if tags.is_empty() {
        return Err(Rejection::MalformedSignature(SIGNATURE_HEADER));
    }
    if any_mac_matches(&keys, &[delivery.body], &tags) {
        Ok(())
    } else {
        Err(Rejection::BadSignature)
    }
}

/// See [`super::DriverKind::delivery_id`]: `event.id` in the body.
pub(super) fn delivery_id(delivery: &Delivery<'_>) -> Option<String> {
    let id = delivery.json.get("event")?.get("id")?.as_str()?;
    signature::clean_delivery_id(id)
}

/// See [`super::DriverKind::normalize`].
pub(super) fn normalize(delivery: &Delivery<'_>) -> Result<Normalized, ShapeError> {
    let root = object(delivery.json, "")?;
    let event = root.obj("event")?;
    let event_type = event.str("event_type")?;
    let fits = (1..=64).contains(&event_type.len())
        && event_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
    if !fits {
        return Err(err(
            &event.at("event_type"),
            "expected an event type such as incident.triggered",
        ));
    }
    match event_type {
        "incident.triggered" | "incident.reopened" | "incident.escalated" => {
            incident(&event, AlertStatus::Firing)
        }
        "incident.resolved" => incident(&event, AlertStatus::Resolved),
        _ => Ok(other(event_type, &event)),
    }
}

fn incident(event: &Obj<'_>, status: AlertStatus) -> Result<Normalized, ShapeError> {
    let data = event.obj("data")?;
    let id = data.str("id")?.trim();
    if id.is_empty() {
        return Err(err(&data.at("id"), "expected a non-empty incident id"));
    }
    let urgency = data.opt_text("urgency")?;
    let service = match data.opt_obj("service")? {
        Some(s) => s.opt_text("summary")?,
        None => None,
    };
    let mut labels = Labels::new();
    shape::put(&mut labels, "incident_id", id);
    shape::put(&mut labels, "service", service.unwrap_or_default());
    shape::put(&mut labels, "urgency", urgency.unwrap_or_default());
    let mut annotations = Labels::new();
    shape::put(
        &mut annotations,
        "status",
        data.opt_text("status")?.unwrap_or_default(),
    );
    shape::put(
        &mut annotations,
        "incident_number",
        data.opt_id("number")?.as_deref().unwrap_or_default(),
    );
    if let Some(priority) = data.opt_obj("priority")? {
        shape::put(
            &mut annotations,
            "priority",
            priority.opt_text("summary")?.unwrap_or_default(),
        );
    }
    if let Some(policy) = data.opt_obj("escalation_policy")? {
        shape::put(
            &mut annotations,
            "escalation_policy",
            policy.opt_text("summary")?.unwrap_or_default(),
        );
    }
    let title = data.opt_text("title")?;
    let mut links = Vec::new();
    shape::push_link(&mut links, data.opt_text("html_url")?);
    Ok(Normalized::Alerts(vec![Alert {
        fingerprint: shape::readable_fingerprint(&["pagerduty", id]),
        status,
        severity: match urgency {
            Some("high") => Severity::Critical,
            _ => Severity::Warning,
        },
        summary: shape::summary(title.unwrap_or(&format!("PagerDuty incident {id}"))),
        labels,
        annotations,
        starts_at: data.opt_time("created_at")?,
        ends_at: match status {
            AlertStatus::Resolved => event.opt_time("occurred_at")?,
            AlertStatus::Firing => None,
        },
        links,
    }]))
}

/// An event that carries no alert, summarized leniently.
fn other(event_type: &str, event: &Obj<'_>) -> Normalized {
    let data = event.child("data");
    let subject = data.as_ref().and_then(|d| {
        d.text("title")
            .or_else(|| d.child("incident").and_then(|i| i.text("summary")))
            .or_else(|| d.text("summary"))
    });
    let summary = match subject {
        Some(subject) => format!("{event_type}: {subject}"),
        None => event_type.to_owned(),
    };
    Normalized::Other {
        event_type: event_type.to_owned(),
        summary: shape::summary(&summary),
    }
}
