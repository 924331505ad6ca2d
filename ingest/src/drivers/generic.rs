//! Vigil's own alert format, signed per Standard Webhooks
//! (<https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>).
//!
//! Signing: `webhook-id`, `webhook-timestamp` (unix seconds) and
//! `webhook-signature`, a space-separated list of `v1,<base64>` where each
//! signature is HMAC-SHA256 of `{id}.{timestamp}.{body}`. The key is the
//! base64-decoded remainder of a `whsec_…` secret, or the secret's raw bytes
//! otherwise (a `whsec_` secret that does not decode never matches). The
//! timestamp must be within the tolerance in both directions; `webhook-id`
//! is the delivery id.
//!
//! Body: the Standard Webhooks envelope
//! `{"type": "…", "timestamp": "RFC 3339", "data": {…}}` (`type` and `data`
//! required), whose `data` is Vigil's body below when it has `summary` or
//! `alerts` (then it is alerts) and anything else otherwise (then it is a
//! webhook event of that `type`, stored with its summary `TYPE at
//! TIMESTAMP`); or Vigil's body itself, `{"alerts":[ALERT,…]}` or one
//! ALERT, where ALERT is
//!
//! ```json
//! {
//!   "summary": "required string",
//!   "status": "firing | resolved (default firing)",
//!   "severity": "info | warning | error | critical (default warning)",
//!   "fingerprint": "optional; else computed from the labels and summary",
//!   "labels": {"string": "string"},
//!   "annotations": {"string": "string"},
//!   "starts_at": "optional RFC 3339",
//!   "ends_at": "optional RFC 3339",
//!   "links": ["string"]
//! }
//! ```
//!
//! Strict: unknown fields (of the envelope, and of Vigil's body) are
//! refused, so a typo (`"lables"`) is an error rather than an alert
//! silently missing its labels. What an envelope's other `data` holds is
//! not read.

use super::shape::{self, Obj, err, object};
use super::signature::{self, any_mac_matches};
use super::{Delivery, DriverKind, Normalized, Rejection, ShapeError, Verifier};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use vigil_store::{Alert, AlertStatus, Severity};

/// The delivery id header.
pub(super) const ID_HEADER: &str = "webhook-id";
/// The timestamp header.
const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The signature header.
pub(super) const SIGNATURE_HEADER: &str = "webhook-signature";
/// Prefix of a base64-encoded secret.
const SECRET_PREFIX: &str = "whsec_";
/// Most signatures considered in one header.
const MAX_SIGNATURES: usize = 16;
/// The fields of a Standard Webhooks envelope.
const ENVELOPE: [&str; 3] = ["type", "timestamp", "data"];
/// Longest envelope `type`, in bytes.
const MAX_TYPE_BYTES: usize = 128;
/// The fields of one alert.
const FIELDS: [&str; 9] = [
    "summary",
    "status",
    "severity",
    "fingerprint",
    "labels",
    "annotations",
    "starts_at",
    "ends_at",
    "links",
];

/// See [`super::DriverKind::verify`].
pub(super) fn verify(delivery: &Delivery<'_>, verifier: &Verifier) -> Result<(), Rejection> {
    let keys: Vec<Vec<u8>> = verifier
        .secrets
        .iter()
        .filter_map(|s| signing_key(s.expose()))
        .collect();
    if keys.is_empty() {
        return Err(Rejection::NoSecret);
    }
    let headers = delivery.headers;
    let id = signature::required(headers, ID_HEADER)?;
    let timestamp = signature::required(headers, TIMESTAMP_HEADER)?;
    let seconds = signature::unix_seconds(timestamp, TIMESTAMP_HEADER)?;
    let tags = tags(signature::required(headers, SIGNATURE_HEADER)?)?;
    let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    if !any_mac_matches(&keys, &signed_content(id, timestamp, delivery.body), &tags) {
        return Err(Rejection::BadSignature);
    }
    // After the MAC: "stale" is only said of authentic deliveries.
    signature::within_tolerance(seconds, delivery.now, verifier.tolerance_secs)
}

/// What is signed: `id.timestamp.body`.
fn signed_content<'a>(id: &'a str, timestamp: &'a str, body: &'a [u8]) -> [&'a [u8]; 5] {
    [id.as_bytes(), b".", timestamp.as_bytes(), b".", body]
}

/// The `webhook-signature` value a Standard Webhooks sender sends:
/// `v1,<base64 HMAC-SHA256 of id.timestamp.body>` under `key` (from
/// [`signing_key`]). Vigil's notifier signs its own webhooks with it.
pub fn sign(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> String {
    let tag = signature::mac(key, &signed_content(id, timestamp, body));
    format!("v1,{}", STANDARD.encode(tag))
}

/// The HMAC key of a secret: base64 after `whsec_`, else the raw bytes;
/// `None` for an empty key or a `whsec_` secret that is not base64.
pub fn signing_key(secret: &[u8]) -> Option<Vec<u8>> {
    let key = match secret.strip_prefix(SECRET_PREFIX.as_bytes()) {
        Some(encoded) => STANDARD.decode(encoded).ok()?,
        None => secret.to_vec(),
    };
    (!key.is_empty()).then_some(key)
}

/// The `v1` signatures of the header. Other versions (such as asymmetric
/// `v1a`) and `v1` entries that are not a 32-byte tag are skipped like a
/// signature that does not match; none left is malformed.
fn tags(value: &str) -> Result<Vec<Vec<u8>>, Rejection> {
    let malformed = Rejection::MalformedSignature(SIGNATURE_HEADER);
    let entries: Vec<&str> = value.split(' ').filter(|e| !e.is_empty()).collect();
    if entries.len() > MAX_SIGNATURES {
        return Err(malformed);
    }
    let tags: Vec<Vec<u8>> = entries
        .iter()
        .filter_map(|e| e.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .filter(|tag| tag.len() == signature::TAG_LEN)
        .collect();
    if tags.is_empty() {
        return Err(malformed);
    }
    Ok(tags)
}

/// See [`super::DriverKind::delivery_id`]: `webhook-id`.
pub(super) fn delivery_id(delivery: &Delivery<'_>) -> Option<String> {
    signature::header_delivery_id(delivery.headers, ID_HEADER)
}

/// See [`super::DriverKind::normalize`].
pub(super) fn normalize(delivery: &Delivery<'_>) -> Result<Normalized, ShapeError> {
    let root = object(delivery.json, "")?;
    // Neither field is one of Vigil's own: a body with either is an
    // envelope (and says so in its errors).
    if root.entries().any(|(k, _)| k == "type" || k == "data") {
        return envelope(&root);
    }
    alerts(&root)
}

/// Vigil's own body: `{"alerts":[ALERT,…]}` or one ALERT.
fn alerts(obj: &Obj<'_>) -> Result<Normalized, ShapeError> {
    if obj.get("alerts").is_none() {
        return Ok(Normalized::Alerts(vec![alert(obj)?]));
    }
    obj.deny_unknown(&["alerts"])?;
    let path = obj.at("alerts");
    let items = shape::alert_items(obj.array("alerts")?, &path)?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| alert(&object(item, shape::index(&path, i))?))
        .collect::<Result<Vec<_>, _>>()
        .map(Normalized::Alerts)
}

/// The Standard Webhooks envelope, `{"type", "timestamp", "data"}`: alerts
/// when `data` is Vigil's body (it has `summary` or `alerts`), otherwise
/// a webhook event of that type.
fn envelope(root: &Obj<'_>) -> Result<Normalized, ShapeError> {
    root.deny_unknown(&ENVELOPE)?;
    let event_type = event_type(root)?;
    // Checked as the spec's RFC 3339 time; the sender's text is kept.
    let timestamp = root.opt_text("timestamp")?;
    root.opt_time("timestamp")?;
    let data = root.obj("data")?;
    if data.entries().any(|(k, _)| k == "summary" || k == "alerts") {
        return alerts(&data);
    }
    let summary = match timestamp {
        Some(at) => format!("{event_type} at {at}"),
        None => event_type.clone(),
    };
    Ok(Normalized::Other {
        event_type,
        summary,
    })
}

/// The envelope's `type`: 1 to [`MAX_TYPE_BYTES`] printable ASCII
/// characters without spaces (`user.created`, `invoice.paid`).
fn event_type(root: &Obj<'_>) -> Result<String, ShapeError> {
    let value = root.str("type")?.trim();
    let fits =
        (1..=MAX_TYPE_BYTES).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic());
    if fits {
        Ok(value.to_owned())
    } else {
        Err(err(
            &root.at("type"),
            &format!(
                "expected an event type of 1 to {MAX_TYPE_BYTES} printable ASCII characters without spaces"
            ),
        ))
    }
}

fn alert(obj: &Obj<'_>) -> Result<Alert, ShapeError> {
    obj.deny_unknown(&FIELDS)?;
    let summary = shape::summary(obj.str("summary")?);
    if summary.is_empty() {
        return Err(err(&obj.at("summary"), "expected a non-empty string"));
    }
    let status = match obj.opt_str("status")? {
        Some(s) => shape::status(s, &obj.at("status"))?,
        None => AlertStatus::Firing,
    };
    let severity = match obj.opt_str("severity")? {
        Some(s) => s.parse::<Severity>().map_err(|_| {
            err(
                &obj.at("severity"),
                "expected \"info\", \"warning\", \"error\" or \"critical\"",
            )
        })?,
        None => Severity::Warning,
    };
    let labels = obj.labels("labels")?;
    let fingerprint = match obj.opt_str("fingerprint")? {
        Some(fp) => shape::sender_fingerprint(fp, &obj.at("fingerprint"))?,
        None => shape::fingerprint(DriverKind::Generic.name(), &labels, &[&summary]),
    };
    Ok(Alert {
        fingerprint,
        status,
        severity,
        summary,
        labels,
        annotations: obj.labels("annotations")?,
        starts_at: obj.opt_time("starts_at")?,
        ends_at: obj.opt_time("ends_at")?,
        links: links(obj)?,
    })
}

/// `links`: at most [`shape::MAX_LINKS`] non-empty strings within
/// [`shape::MAX_VALUE_BYTES`] (strict here: the sender is ours to fix).
fn links(obj: &Obj<'_>) -> Result<Vec<String>, ShapeError> {
    let path = obj.at("links");
    let items = match obj.get("links") {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(err(&path, "expected an array of strings")),
    };
    if items.len() > shape::MAX_LINKS {
        return Err(err(&path, &format!("more than {} links", shape::MAX_LINKS)));
    }
    let mut links = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = shape::index(&path, i);
        let url = item.as_str().map(str::trim).unwrap_or_default();
        if item.as_str().is_none() || url.is_empty() || url.len() > shape::MAX_VALUE_BYTES {
            return Err(err(
                &at,
                &format!(
                    "expected a non-empty string of at most {} bytes",
                    shape::MAX_VALUE_BYTES
                ),
            ));
        }
        shape::push_link(&mut links, Some(url));
    }
    Ok(links)
}
