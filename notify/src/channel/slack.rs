//! The body of a Slack incoming webhook: `{"text": …}` with an optional
//! channel and username override.
//!
//! The text comes from the Slack template, which already escaped `&`, `<`
//! and `>` the way Slack's mrkdwn wants; only JSON encoding happens here.
//! Slack answers `200 ok`, or 4xx with a word such as `invalid_payload`
//! (never read: see [`HttpClient`](super::HttpClient)).

use serde_json::{Map, Value};

/// The JSON body for `text`, posting as `username` to `channel` when given
/// (webhooks created as legacy integrations honour them; newer ones post
/// where they were created and ignore both).
pub fn body(text: &str, channel: Option<&str>, username: Option<&str>) -> Vec<u8> {
    let mut object = Map::new();
    object.insert("text".to_owned(), Value::from(text));
    if let Some(channel) = channel {
        object.insert("channel".to_owned(), Value::from(channel));
    }
    if let Some(username) = username {
        object.insert("username".to_owned(), Value::from(username));
    }
    Value::Object(object).to_string().into_bytes()
}
