//! Grafana-managed alerting, webhook contact point
//! (<https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/>).
//!
//! The body is Alertmanager's `alerts[]` plus `orgId`, `state`, `title`,
//! `message` (payload `version` is `"1"`), and per alert `values`,
//! `valueString`, `silenceURL`, `dashboardURL`, `panelURL`, `imageURL`.
//!
//! Signing (Grafana 12 "HMAC Signature" settings): hex HMAC-SHA256 in the
//! signature header, `X-Grafana-Alerting-Signature` by default. When a
//! timestamp header is configured, Grafana puts unix seconds in it and signs
//! `timestamp + ":" + body`. Grafana has no default name for the timestamp
//! header; Vigil reads `X-Grafana-Alerting-Signature-Timestamp`, so set that
//! name in the contact point (any other name is not seen, and the check then
//! fails closed because the MAC covers the timestamp). Without a timestamp
//! header there is no replay window: prefer configuring one.

use super::alertmanager::alert_group;
use super::shape::{self, Obj, object};
use super::signature::{self, any_mac_matches};
use super::{Delivery, DriverKind, Normalized, Rejection, ShapeError, Verifier};
use serde_json::Value;
use vigil_store::Alert;

/// Grafana's default signature header.
pub(super) const SIGNATURE_HEADER: &str = "X-Grafana-Alerting-Signature";
/// The timestamp header Vigil expects (configure it in Grafana).
pub(super) const TIMESTAMP_HEADER: &str = "X-Grafana-Alerting-Signature-Timestamp";

/// Whether the body has Grafana's shape: `orgId` and `alerts[]` with
/// `state` or `title`.
pub(super) fn looks_like(body: &Value) -> bool {
    body.get("orgId").is_some_and(Value::is_number)
        && body.get("alerts").is_some_and(Value::is_array)
        && (body.get("state").is_some_and(Value::is_string)
            || body.get("title").is_some_and(Value::is_string))
}

/// See [`DriverKind::verify`].
pub(super) fn verify(delivery: &Delivery<'_>, verifier: &Verifier) -> Result<(), Rejection> {
    let keys = signature::keys(verifier)?;
    let tag = signature::hex_tag(
        signature::required(delivery.headers, SIGNATURE_HEADER)?,
        SIGNATURE_HEADER,
    )?;
    let timestamp = signature::header(delivery.headers, TIMESTAMP_HEADER)?;
    let seconds = timestamp
        .map(|t| signature::unix_seconds(t, TIMESTAMP_HEADER))
        .transpose()?;
    let matched = match timestamp {
        Some(t) => any_mac_matches(&keys, &[t.as_bytes(), b":", delivery.body], &[tag]),
        None => any_mac_matches(&keys, &[delivery.body], &[tag]),
    };
    if !matched {
        return Err(Rejection::BadSignature);
    }
    // Checked after the MAC so that "stale" is only ever said of authentic
    // deliveries (a replay or a skewed clock), not of forgeries.
    match seconds {
        Some(s) => signature::within_tolerance(s, delivery.now, verifier.tolerance_secs),
        None => Ok(()),
    }
}

/// See [`DriverKind::normalize`].
pub(super) fn normalize(delivery: &Delivery<'_>) -> Result<Normalized, ShapeError> {
    let root = object(delivery.json, "")?;
    // `version` is "1" today; not checked, since Grafana documents the
    // fields rather than the version.
    alert_group(&root, DriverKind::Grafana, extras)
}

/// Grafana's per-alert additions: more links, and the values that fired.
fn extras(obj: &Obj<'_>, alert: &mut Alert) -> Result<(), ShapeError> {
    for key in ["silenceURL", "dashboardURL", "panelURL", "imageURL"] {
        shape::push_link(&mut alert.links, obj.opt_str(key)?);
    }
    if let Some(value) = obj.opt_text("valueString")? {
        shape::put(&mut alert.annotations, "value", value);
    } else if let Some(values) = obj.opt_obj("values")? {
        shape::put(&mut alert.annotations, "value", &render_values(&values));
    }
    Ok(())
}

/// `values` as `B=44.2 C=1`. Informational only, so entries that are not
/// numbers (Grafana sends `null` for "no data") are skipped, not refused.
fn render_values(values: &Obj<'_>) -> String {
    values
        .entries()
        .filter_map(|(key, value)| value.as_f64().map(|n| format!("{key}={n}")))
        .collect::<Vec<_>>()
        .join(" ")
}
