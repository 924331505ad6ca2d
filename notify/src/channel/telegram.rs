//! Telegram through a bot: `POST {api}/bot<token>/sendMessage` with the
//! chat id and plain text (no parse mode, so nothing in an alert is read as
//! markup). The token is in the URL, so the URL is never logged; errors
//! name the origin only (see [`HttpClient`](super::HttpClient)).

use super::text::truncate;
use serde_json::json;
use vigil_store::SecretValue;

/// Telegram's API.
pub const API_URL: &str = "https://api.telegram.org";

/// Telegram's limit on a message's text.
const MAX_TEXT: usize = 4096;

/// Why a bot token cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Telegram bot token is empty or holds characters a token never has")]
pub struct BadToken;

/// The `sendMessage` URL under `api` for the bot `token`.
///
/// # Errors
///
/// [`BadToken`] for a token that is not `digits:letters` safe in a path.
pub fn url(api: &str, token: &SecretValue) -> Result<String, BadToken> {
    let token = token.expose_str().map(str::trim).ok_or(BadToken)?;
    let safe = |c: char| c.is_ascii_alphanumeric() || c == ':' || c == '_' || c == '-';
    if token.is_empty() || !token.chars().all(safe) {
        return Err(BadToken);
    }
    Ok(format!(
        "{}/bot{token}/sendMessage",
        api.trim_end_matches('/')
    ))
}

/// The JSON body.
pub fn body(chat_id: i64, text: &str, silent: bool) -> Vec<u8> {
    json!({
        "chat_id": chat_id,
        "text": truncate(text, MAX_TEXT),
        "disable_notification": silent,
        "disable_web_page_preview": true,
    })
    .to_string()
    .into_bytes()
}
