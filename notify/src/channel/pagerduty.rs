//! Events for the [PagerDuty Events API v2]: a trigger when an alert group
//! fires and a resolve when it clears, tied together by a dedup key.
//!
//! The routing key is the integration's secret; it travels in the body,
//! as the API wants, over HTTPS to [`EVENTS_URL`]. PagerDuty answers 202
//! for an accepted event, 400 for an invalid one (permanent) and 429 when
//! it throttles (retried).
//!
//! [PagerDuty Events API v2]: https://developer.pagerduty.com/docs/events-api-v2/overview/

use super::text::truncate;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use vigil_store::{SecretValue, Severity};

/// Where events are sent.
pub const EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// The longest summary PagerDuty takes.
const MAX_SUMMARY: usize = 1024;

/// What an event does to the incident its dedup key names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Open (or add to) the incident.
    Trigger,
    /// Resolve it.
    Resolve,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Trigger => "trigger",
            Self::Resolve => "resolve",
        }
    }
}

/// The JSON body of one event.
///
/// A trigger carries the payload (summary, source, severity, details) and
/// the links; a resolve carries only the routing key, the action and the
/// dedup key, as the API documents; `custom_details` of `null` is left
/// out. An empty `summary` or `source`, which
/// PagerDuty would refuse for good, is replaced by a placeholder: a page
/// with a poor summary beats no page.
#[allow(clippy::too_many_arguments)] // mirrors the API's fields one to one
pub fn body(
    routing_key: &SecretValue,
    action: Action,
    dedup_key: &str,
    summary: &str,
    source: &str,
    severity: Severity,
    custom_details: Value,
    links: &[String],
) -> Vec<u8> {
    let mut event = Map::new();
    event.insert(
        "routing_key".to_owned(),
        Value::from(String::from_utf8_lossy(routing_key.expose()).into_owned()),
    );
    event.insert("event_action".to_owned(), Value::from(action.as_str()));
    event.insert("dedup_key".to_owned(), Value::from(dedup_key));
    if action == Action::Trigger {
        let summary = if summary.trim().is_empty() {
            "(no summary)"
        } else {
            summary
        };
        let source = if source.trim().is_empty() {
            "vigil"
        } else {
            source
        };
        let mut payload = json!({
            "summary": truncate(summary, MAX_SUMMARY),
            "source": source,
            "severity": severity_word(severity),
        });
        // No details is no field: the API wants an object when present.
        if !custom_details.is_null() {
            payload["custom_details"] = custom_details;
        }
        event.insert("payload".to_owned(), payload);
        if !links.is_empty() {
            let links: Vec<Value> = links.iter().map(|href| json!({ "href": href })).collect();
            event.insert("links".to_owned(), Value::Array(links));
        }
    }
    Value::Object(event).to_string().into_bytes()
}

/// The dedup key for an alert group: the same group always gives the same
/// key, so its resolve closes the incident its trigger opened. A digest
/// rather than the group key itself, which can exceed PagerDuty's 255
/// characters and would show label values in PagerDuty's UI.
pub fn dedup_key(group_key: &str) -> String {
    let mut hasher = Sha256::new();
    // A fixed prefix keeps these digests apart from any other use of
    // SHA-256 over group keys.
    hasher.update(b"vigil pagerduty dedup key\0");
    hasher.update(group_key.as_bytes());
    format!("vigil-{}", hex::encode(hasher.finalize()))
}

/// PagerDuty's severity words are Vigil's.
fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}
