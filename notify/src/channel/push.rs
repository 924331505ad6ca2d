//! Self-hosted push: [ntfy] (a topic on the operator's server, optionally
//! with an access token) and [Gotify] (an application token). Both take a
//! title, a message and a priority.
//!
//! [ntfy]: https://docs.ntfy.sh/publish/
//! [Gotify]: https://gotify.net/docs/pushmsg

use super::text::truncate;
use serde_json::json;
use vigil_store::SecretValue;

/// ntfy's limit on a message before it becomes an attachment.
const MAX_MESSAGE: usize = 4096;

/// Why a token cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the push token is empty or holds a control character")]
pub struct BadToken;

fn token(value: &SecretValue) -> Result<&str, BadToken> {
    value
        .expose_str()
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.chars().any(char::is_control))
        .ok_or(BadToken)
}

/// ntfy: the server's root URL, where a JSON message names its topic.
pub fn ntfy_url(server: &str) -> String {
    format!("{}/", server.trim_end_matches('/'))
}

/// ntfy's JSON publish body. `priority` 1 (min) to 5 (max).
pub fn ntfy_body(topic: &str, title: &str, message: &str, priority: u8, tags: &[&str]) -> Vec<u8> {
    json!({
        "topic": topic,
        "title": truncate(title, 250),
        "message": truncate(message, MAX_MESSAGE),
        "priority": priority,
        "tags": tags,
    })
    .to_string()
    .into_bytes()
}

/// ntfy's access token, `Authorization: Bearer <token>`.
///
/// # Errors
///
/// [`BadToken`] when the token cannot be sent in a header.
pub fn ntfy_authorization(value: &SecretValue) -> Result<(&'static str, String), BadToken> {
    Ok(("authorization", format!("Bearer {}", token(value)?)))
}

/// Gotify: `POST <server>/message`.
pub fn gotify_url(server: &str) -> String {
    format!("{}/message", server.trim_end_matches('/'))
}

/// Gotify's application token, `X-Gotify-Key: <token>`.
///
/// # Errors
///
/// [`BadToken`] when the token cannot be sent in a header.
pub fn gotify_key(value: &SecretValue) -> Result<(&'static str, String), BadToken> {
    Ok(("x-gotify-key", token(value)?.to_owned()))
}

/// Gotify's JSON body. `priority` 0 to 10.
pub fn gotify_body(title: &str, message: &str, priority: u8) -> Vec<u8> {
    json!({
        "title": truncate(title, 250),
        "message": truncate(message, MAX_MESSAGE),
        "priority": priority,
    })
    .to_string()
    .into_bytes()
}
