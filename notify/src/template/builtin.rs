//! Built-in templates, one per channel, used when a receiver names none.
//!
//! They list at most 20 alerts and say how many more there are, so a
//! large group stays readable and far below the output cap. The sources
//! live next to this file as `builtin/*.j2`.

use super::escape::Escape;
use super::set::TemplateSource;

/// Webhook body (JSON), modelled on Alertmanager's webhook payload.
pub const WEBHOOK_JSON: &str = "vigil.webhook.json";
/// Webhook body (JSON) exactly as Alertmanager's webhook sends it (payload
/// version 4), for receivers written for Alertmanager.
pub const ALERTMANAGER_V4_JSON: &str = "alertmanager.v4.json";
/// Slack message text (`mrkdwn`).
pub const SLACK_TEXT: &str = "vigil.slack.text";
/// Email subject (one line, plain text).
pub const EMAIL_SUBJECT: &str = "vigil.email.subject";
/// Email body (HTML).
pub const EMAIL_HTML: &str = "vigil.email.html";
/// Email body (plain text alternative).
pub const EMAIL_TEXT: &str = "vigil.email.text";
/// PagerDuty event summary (one line, at most 1024 characters).
pub const PAGERDUTY_SUMMARY: &str = "vigil.pagerduty.summary";
/// A chat or push message's title (one line, plain text): Teams, ntfy,
/// Gotify, Opsgenie's message. The email subject's wording.
pub const MESSAGE_TITLE: &str = "vigil.message.title";
/// A chat or push message's text (plain): Teams, Discord, Telegram, ntfy,
/// Gotify, Opsgenie's description. The plain email body's wording.
pub const MESSAGE_TEXT: &str = "vigil.message.text";

/// The built-in template sources.
pub fn builtin_sources() -> Vec<TemplateSource> {
    [
        (
            WEBHOOK_JSON,
            Escape::Json,
            include_str!("builtin/webhook.json.j2"),
        ),
        (
            ALERTMANAGER_V4_JSON,
            Escape::Json,
            include_str!("builtin/alertmanager_v4.json.j2"),
        ),
        (
            SLACK_TEXT,
            Escape::SlackMrkdwn,
            include_str!("builtin/slack.j2"),
        ),
        (
            EMAIL_SUBJECT,
            Escape::Text,
            include_str!("builtin/email_subject.j2"),
        ),
        (
            EMAIL_HTML,
            Escape::Html,
            include_str!("builtin/email.html.j2"),
        ),
        (
            EMAIL_TEXT,
            Escape::Text,
            include_str!("builtin/email.txt.j2"),
        ),
        (
            PAGERDUTY_SUMMARY,
            Escape::Text,
            include_str!("builtin/pagerduty_summary.j2"),
        ),
        (
            MESSAGE_TITLE,
            Escape::Text,
            include_str!("builtin/email_subject.j2"),
        ),
        (
            MESSAGE_TEXT,
            Escape::Text,
            include_str!("builtin/email.txt.j2"),
        ),
    ]
    .into_iter()
    .map(|(name, escape, source)| TemplateSource::new(name, escape, source))
    .collect()
}
