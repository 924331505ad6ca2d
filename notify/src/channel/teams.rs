//! Microsoft Teams through a workflow webhook ("When a Teams webhook
//! request is received"): one Adaptive Card with a title and the text,
//! the message shape those workflows post to a channel. (Office 365
//! connectors, the older incoming webhooks, are retired by Microsoft.)

use super::text::truncate;
use serde_json::json;

/// Teams refuses messages past about 28 KB; the text stays well under.
const MAX_TEXT: usize = 20_000;

/// The JSON body: a message with one Adaptive Card.
pub fn body(title: &str, text: &str) -> Vec<u8> {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": truncate(title, 200), "weight": "Bolder",
                     "size": "Medium", "wrap": true},
                    {"type": "TextBlock", "text": truncate(text, MAX_TEXT), "wrap": true}
                ]
            }
        }]
    })
    .to_string()
    .into_bytes()
}
