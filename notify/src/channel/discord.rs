//! Discord through a channel webhook: `{"content": …}`, at most 2000
//! characters as Discord requires, with an optional username.

use super::text::truncate;
use serde_json::{Map, Value};

/// Discord's limit on `content`.
const MAX_CONTENT: usize = 2000;

/// The JSON body. Mentions are disabled: an alert's text must not ping
/// `@everyone`.
pub fn body(content: &str, username: Option<&str>) -> Vec<u8> {
    let mut object = Map::new();
    object.insert(
        "content".to_owned(),
        Value::from(truncate(content, MAX_CONTENT)),
    );
    if let Some(username) = username {
        object.insert("username".to_owned(), Value::from(username));
    }
    object.insert(
        "allowed_mentions".to_owned(),
        serde_json::json!({ "parse": [] }),
    );
    Value::Object(object).to_string().into_bytes()
}
