//! Opsgenie's Alert API: create an alert when a group fires, close it when
//! the group resolves, tied together by an alias (as PagerDuty's dedup
//! key). The API key travels as `Authorization: GenieKey <key>`.

use super::text::truncate;
use serde_json::json;
use vigil_store::{SecretValue, Severity};

/// Opsgenie's API (`https://api.eu.opsgenie.com` in the EU).
pub const API_URL: &str = "https://api.opsgenie.com";

/// Opsgenie's limits.
const MAX_MESSAGE: usize = 130;
const MAX_DESCRIPTION: usize = 15_000;

/// Why an API key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Opsgenie API key is empty or holds a control character")]
pub struct BadKey;

/// `Authorization: GenieKey <key>`.
///
/// # Errors
///
/// [`BadKey`] when the key cannot be sent in a header.
pub fn authorization(key: &SecretValue) -> Result<(&'static str, String), BadKey> {
    let key = key
        .expose_str()
        .map(str::trim)
        .filter(|k| !k.is_empty() && !k.chars().any(char::is_control))
        .ok_or(BadKey)?;
    Ok(("authorization", format!("GenieKey {key}")))
}

/// `P1` (critical) to `P4` (info), unless the receiver sets one.
pub fn priority(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "P1",
        Severity::Error => "P2",
        Severity::Warning => "P3",
        Severity::Info => "P4",
    }
}

/// Where a new alert is created.
pub fn create_url(api: &str) -> String {
    format!("{}/v2/alerts", api.trim_end_matches('/'))
}

/// Where the alert `alias` is closed (the alias is hex: no escaping).
pub fn close_url(api: &str, alias: &str) -> String {
    format!(
        "{}/v2/alerts/{alias}/close?identifierType=alias",
        api.trim_end_matches('/')
    )
}

/// The body that creates an alert.
pub fn create(
    alias: &str,
    message: &str,
    description: &str,
    priority: &str,
    tags: &[String],
    source: &str,
) -> Vec<u8> {
    let message = if message.trim().is_empty() {
        "(no summary)"
    } else {
        message
    };
    json!({
        "message": truncate(message, MAX_MESSAGE),
        "alias": alias,
        "description": truncate(description, MAX_DESCRIPTION),
        "priority": priority,
        "tags": tags,
        "source": source,
    })
    .to_string()
    .into_bytes()
}

/// The body that closes it.
pub fn close(source: &str) -> Vec<u8> {
    json!({ "source": source, "note": "resolved" })
        .to_string()
        .into_bytes()
}
