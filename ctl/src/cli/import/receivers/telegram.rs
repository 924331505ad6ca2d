//! `telegram_configs`: the bot token as a reference (its own, else the
//! global one of Alertmanager 0.31+), the API from
//! `global.telegram_api_url`, `chat_id`, `disable_notifications`,
//! `message` as a translated template. Vigil sends plain text, so a
//! `parse_mode` is reported.

use super::super::emit::{Table, Toml};
use super::super::error::ImportError;
use super::super::global;
use super::super::yaml::{Fields, Node, Value};
use super::urls::api_url;
use super::{Conv, Site, extras, http_ca, send_resolved, text_template};

/// Telegram's Bot API, Alertmanager's default (and Vigil's).
const TELEGRAM_API: &str = "https://api.telegram.org";

/// Telegram settings Vigil does not have, with Alertmanager's defaults.
const TELEGRAM_EXTRAS: [(&str, &str); 1] = [("message_thread_id", "0")];

/// One `telegram_configs` entry, or `None` when it cannot be carried (noted).
pub(super) fn convert(
    conv: &mut Conv<'_>,
    site: &Site<'_>,
    node: &Node,
) -> Result<Option<Table>, ImportError> {
    let mut f = Fields::new(node, site.path.as_str())?;
    let mut t = Table::array("notify.receivers.telegram_configs");
    let index = site.index.to_string();
    let own = global::credential(&mut f, "bot_token", conv.files, conv.report)?;
    let token = match (own, &conv.global.telegram_bot_token) {
        (Some(c), _) => c.reference(conv.report, &site.secret_parts(&index, "bot_token")),
        (None, Some(c)) => c.reference(conv.report, &["telegram", "bot_token"]),
        (None, None) => {
            return Err(ImportError::Invalid {
                line: node.line,
                path: site.path.clone(),
                why: "Telegram needs bot_token or bot_token_file".into(),
            });
        }
    };
    let chat_id = match f.node("chat_id") {
        Some(Node {
            value: Value::Int(id),
            ..
        }) if *id != 0 => *id,
        Some(Node {
            value: Value::Int(_),
            line,
        }) => {
            return Err(ImportError::Invalid {
                line: *line,
                path: f.at("chat_id"),
                why: "Telegram needs a chat_id other than 0".into(),
            });
        }
        Some(other) => {
            return Err(ImportError::Type {
                line: other.line,
                path: f.at("chat_id"),
                expected: "an integer",
                found: other.value.kind(),
            });
        }
        None if f.node("chat_id_file").is_some() => {
            conv.report.note(
                f.at("chat_id_file"),
                f.line_of("chat_id_file"),
                "Vigil's chat_id is written in its configuration, not read from a file; this Telegram integration is not carried",
            );
            return Ok(None);
        }
        None => {
            return Err(ImportError::Invalid {
                line: node.line,
                path: site.path.clone(),
                why: "Telegram needs chat_id".into(),
            });
        }
    };
    t.str("bot_token", token);
    t.set("chat_id", Toml::Int(chat_id));
    let url = match f.str("api_url")? {
        Some(url) => Some((url, f.at("api_url"), f.line_of("api_url"))),
        None => conv
            .global
            .telegram_api_url
            .clone()
            .map(|(url, line)| (url, "global.telegram_api_url".to_string(), line)),
    };
    if let Some((url, at, line)) = url {
        t.opt_str("api_url", api_url(&url, TELEGRAM_API, &at, line, conv));
    }
    let message = f.str("message")?;
    text_template(conv, site, &mut f, &mut t, "message", "message")?;
    let carried = t.entries.iter().any(|(key, _)| key == "message");
    if f.bool("disable_notifications")? == Some(true) {
        t.set("disable_notifications", Toml::Bool(true));
    }
    match f.str("parse_mode")? {
        Some(mode) if !mode.is_empty() => conv.report.note(
            f.at("parse_mode"),
            f.line_of("parse_mode"),
            "Vigil sends Telegram messages as plain text: markup in the message shows as written; not carried",
        ),
        Some(_) => {}
        None => {
            // Alertmanager parses messages as HTML unless told otherwise.
            if carried && message.is_some_and(|m| m.contains('<') || m.contains('&')) {
                conv.report.note(
                    f.at("message"),
                    f.line_of("message"),
                    "Alertmanager read this message as HTML (parse_mode's default); Vigil sends plain text, so its tags and entities show as written",
                );
            }
        }
    }
    send_resolved(&mut f, &mut t, true)?;
    t.opt_str("ca_file", http_ca(&mut f, conv, "Telegram")?);
    extras(
        &mut f,
        conv.report,
        &TELEGRAM_EXTRAS,
        "Vigil posts to the chat itself, not to a topic's thread; not carried",
    );
    conv.report
        .unread(&f, "not an Alertmanager Telegram setting; ignored");
    Ok(Some(t))
}
