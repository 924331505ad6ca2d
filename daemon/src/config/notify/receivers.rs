//! `[[notify.receivers]]`: a receiver and its integrations, each with the
//! keys Alertmanager gives it (where it has one), and the list of
//! integrations a receiver's deliveries name (`webhook/0`, `ntfy/1`).

use crate::config::SecretRef;
use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

use super::{NotifyConfig, OneOrMany};

/// `[[notify.receivers]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    /// Name routes refer to.
    pub name: String,
    /// Receiver to notify instead when a delivery is given up.
    #[serde(default)]
    pub fallback: Option<String>,
    /// Deliveries in flight to this receiver at once.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: usize,
    /// Signed JSON webhooks.
    #[serde(default)]
    pub webhook_configs: Vec<WebhookConfig>,
    /// Slack incoming webhooks.
    #[serde(default)]
    pub slack_configs: Vec<SlackConfig>,
    /// Email over SMTP.
    #[serde(default)]
    pub email_configs: Vec<EmailConfig>,
    /// PagerDuty Events API v2.
    #[serde(default)]
    pub pagerduty_configs: Vec<PagerDutyConfig>,
    /// Opsgenie's Alert API.
    #[serde(default)]
    pub opsgenie_configs: Vec<OpsgenieConfig>,
    /// Microsoft Teams workflow webhooks.
    #[serde(default)]
    pub teams_configs: Vec<TeamsConfig>,
    /// Discord channel webhooks.
    #[serde(default)]
    pub discord_configs: Vec<DiscordConfig>,
    /// Telegram bots.
    #[serde(default)]
    pub telegram_configs: Vec<TelegramConfig>,
    /// ntfy topics (self-hosted push).
    #[serde(default)]
    pub ntfy_configs: Vec<NtfyConfig>,
    /// Gotify applications (self-hosted push).
    #[serde(default)]
    pub gotify_configs: Vec<GotifyConfig>,
}

fn default_concurrency() -> usize {
    4
}

fn yes() -> bool {
    true
}

/// `webhook_configs`: a JSON body signed per Standard Webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST (https, or http to an allowlisted destination):
    /// inline, or a secret reference when it embeds a credential.
    pub url: SecretRef,
    /// The signing secret (`whsec_…` or raw bytes); required unless
    /// `sign = false`.
    #[serde(default)]
    pub secret: Option<SecretRef>,
    /// Sign each delivery (Standard Webhooks). Off only for a receiver that
    /// cannot check signatures (an Alertmanager-format receiver); doctor
    /// names every unsigned webhook.
    #[serde(default = "yes")]
    pub sign: bool,
    /// An `Authorization` header, as Alertmanager's `http_config.authorization`.
    #[serde(default)]
    pub authorization: Option<Authorization>,
    /// HTTP basic authentication, as Alertmanager's `http_config.basic_auth`.
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// Also notify when alerts resolve.
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Most alerts in one body (0: all the notification carries).
    #[serde(default)]
    pub max_alerts: usize,
    /// Body template (JSON escaping); default `vigil.webhook.json`.
    #[serde(default)]
    pub template: Option<String>,
    /// Extra PEM roots to trust (an internal CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// `authorization = { type = "Bearer", credentials = "secret:NAME" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme (default `Bearer`).
    #[serde(default = "bearer", rename = "type")]
    pub scheme: String,
    /// The credentials: a secret reference.
    pub credentials: SecretRef,
}

fn bearer() -> String {
    "Bearer".into()
}

/// `basic_auth = { username = "vigil", password = "secret:NAME" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name.
    pub username: String,
    /// The password: a secret reference.
    pub password: SecretRef,
}

/// `slack_configs`: an incoming webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The incoming webhook URL: it is the credential, so a secret.
    pub api_url: SecretRef,
    /// Channel override.
    #[serde(default)]
    pub channel: Option<String>,
    /// User name override.
    #[serde(default)]
    pub username: Option<String>,
    /// Text template (Slack escaping); default `vigil.slack.text`.
    #[serde(default)]
    pub text: Option<String>,
    /// Also notify when alerts resolve.
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Extra PEM roots to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// `email_configs`: SMTP, STARTTLS required unless told otherwise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Recipients.
    pub to: OneOrMany,
    /// Sender address.
    pub from: String,
    /// `host:port`; port 465 means TLS from the first byte (smtps).
    pub smarthost: String,
    /// EHLO name.
    #[serde(default)]
    pub hello: Option<String>,
    /// SMTP user.
    #[serde(default)]
    pub auth_username: Option<String>,
    /// SMTP password.
    #[serde(default)]
    pub auth_password: Option<SecretRef>,
    /// Refuse to send without STARTTLS (`false` only to an allowlisted
    /// relay, and never with a password).
    #[serde(default = "yes")]
    pub require_tls: bool,
    /// Subject template (no escaping); default `vigil.email.subject`.
    #[serde(default)]
    pub subject: Option<String>,
    /// HTML body template; default `vigil.email.html`.
    #[serde(default)]
    pub html: Option<String>,
    /// Text body template; default `vigil.email.text`.
    #[serde(default)]
    pub text: Option<String>,
    /// Also notify when alerts resolve.
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Extra PEM roots to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// `pagerduty_configs`: Events API v2, trigger and resolve by dedup key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// The integration's routing key.
    pub routing_key: SecretRef,
    /// Events API endpoint (default PagerDuty's).
    #[serde(default)]
    pub url: Option<String>,
    /// `payload.source` (default: this host's name).
    #[serde(default)]
    pub source: Option<String>,
    /// Summary template (no escaping); default `vigil.pagerduty.summary`.
    #[serde(default)]
    pub summary: Option<String>,
    /// Resolve the PagerDuty incident when the group resolves.
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Extra PEM roots to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// `opsgenie_configs`: an alert per group, closed when it resolves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieConfig {
    /// The API integration's key.
    pub api_key: SecretRef,
    /// The API (default `https://api.opsgenie.com`; the EU's is
    /// `https://api.eu.opsgenie.com`).
    #[serde(default)]
    pub api_url: Option<String>,
    /// Message template (text, cut to 130); default `vigil.message.title`.
    #[serde(default)]
    pub message: Option<String>,
    /// Description template (text); default `vigil.message.text`.
    #[serde(default)]
    pub description: Option<String>,
    /// `P1`..`P5` (default: from the worst severity).
    #[serde(default)]
    pub priority: Option<String>,
    /// Tags on the alert.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Close the Opsgenie alert when the group resolves.
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Extra PEM roots to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// `teams_configs`: a Teams workflow webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsConfig {
    /// The workflow's URL: it is the credential, so a secret.
    pub webhook_url: SecretRef,
    /// Title template (text); default `vigil.message.title`.
    #[serde(default)]
    pub title: Option<String>,
    /// Text template (text); default `vigil.message.text`.
    #[serde(default)]
    pub text: Option<String>,
    /// Also notify when alerts resolve.
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Extra PEM roots to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// `discord_configs`: a Discord channel webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The webhook URL: it is the credential, so a secret.
    pub webhook_url: SecretRef,
    /// Message template (text, cut to 2000); default `vigil.message.text`.
    #[serde(default)]
    pub message: Option<String>,
    /// User name override.
    #[serde(default)]
    pub username: Option<String>,
    /// Also notify when alerts resolve.
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Extra PEM roots to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// `telegram_configs`: a bot posting to a chat.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The bot's token.
    pub bot_token: SecretRef,
    /// The chat to post to.
    pub chat_id: i64,
    /// The Bot API (default `https://api.telegram.org`; a local Bot API
    /// server elsewhere).
    #[serde(default)]
    pub api_url: Option<String>,
    /// Message template (text, cut to 4096); default `vigil.message.text`.
    #[serde(default)]
    pub message: Option<String>,
    /// Deliver without a sound.
    #[serde(default)]
    pub disable_notifications: bool,
    /// Also notify when alerts resolve.
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Extra PEM roots to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// `ntfy_configs`: a topic on an ntfy server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NtfyConfig {
    /// The server's root URL (`https://ntfy.example.internal`).
    pub url: String,
    /// The topic.
    pub topic: String,
    /// An access token, if the topic needs one.
    #[serde(default)]
    pub token: Option<SecretRef>,
    /// 1 (min) to 5 (max); default: from the worst severity.
    #[serde(default)]
    pub priority: Option<u8>,
    /// Title template (text); default `vigil.message.title`.
    #[serde(default)]
    pub title: Option<String>,
    /// Message template (text); default `vigil.message.text`.
    #[serde(default)]
    pub message: Option<String>,
    /// Also notify when alerts resolve.
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Extra PEM roots to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// `gotify_configs`: an application on a Gotify server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GotifyConfig {
    /// The server's root URL.
    pub url: String,
    /// The application's token.
    pub token: SecretRef,
    /// 0 to 10; default: from the worst severity.
    #[serde(default)]
    pub priority: Option<u8>,
    /// Title template (text); default `vigil.message.title`.
    #[serde(default)]
    pub title: Option<String>,
    /// Message template (text); default `vigil.message.text`.
    #[serde(default)]
    pub message: Option<String>,
    /// Also notify when alerts resolve.
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Extra PEM roots to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// One integration of a receiver (named `webhook/0` and so on by
/// [`ReceiverConfig::integrations`]), borrowed from its configuration.
#[derive(Debug, Clone, Copy)]
pub enum Integration<'a> {
    /// A webhook.
    Webhook(&'a WebhookConfig),
    /// A Slack incoming webhook.
    Slack(&'a SlackConfig),
    /// Email.
    Email(&'a EmailConfig),
    /// PagerDuty.
    PagerDuty(&'a PagerDutyConfig),
    /// Opsgenie.
    Opsgenie(&'a OpsgenieConfig),
    /// Microsoft Teams.
    Teams(&'a TeamsConfig),
    /// Discord.
    Discord(&'a DiscordConfig),
    /// Telegram.
    Telegram(&'a TelegramConfig),
    /// ntfy.
    Ntfy(&'a NtfyConfig),
    /// Gotify.
    Gotify(&'a GotifyConfig),
}

impl<'a> Integration<'a> {
    /// Whether it wants a notification whose alerts all resolved.
    pub fn send_resolved(self) -> bool {
        match self {
            Integration::Webhook(c) => c.send_resolved,
            Integration::Slack(c) => c.send_resolved,
            Integration::Email(c) => c.send_resolved,
            Integration::PagerDuty(c) => c.send_resolved,
            Integration::Opsgenie(c) => c.send_resolved,
            Integration::Teams(c) => c.send_resolved,
            Integration::Discord(c) => c.send_resolved,
            Integration::Telegram(c) => c.send_resolved,
            Integration::Ntfy(c) => c.send_resolved,
            Integration::Gotify(c) => c.send_resolved,
        }
    }

    /// Its extra CA file, if any.
    pub fn ca_file(self) -> Option<&'a PathBuf> {
        match self {
            Integration::Webhook(c) => c.ca_file.as_ref(),
            Integration::Slack(c) => c.ca_file.as_ref(),
            Integration::Email(c) => c.ca_file.as_ref(),
            Integration::PagerDuty(c) => c.ca_file.as_ref(),
            Integration::Opsgenie(c) => c.ca_file.as_ref(),
            Integration::Teams(c) => c.ca_file.as_ref(),
            Integration::Discord(c) => c.ca_file.as_ref(),
            Integration::Telegram(c) => c.ca_file.as_ref(),
            Integration::Ntfy(c) => c.ca_file.as_ref(),
            Integration::Gotify(c) => c.ca_file.as_ref(),
        }
    }
}

impl ReceiverConfig {
    /// The integrations, named `kind/index`, in a fixed order.
    pub fn integrations(&self) -> Vec<(String, Integration<'_>)> {
        fn named<'a, C>(
            kind: &'static str,
            configs: &'a [C],
            wrap: fn(&'a C) -> Integration<'a>,
        ) -> impl Iterator<Item = (String, Integration<'a>)> {
            configs
                .iter()
                .enumerate()
                .map(move |(i, c)| (format!("{kind}/{i}"), wrap(c)))
        }
        named("webhook", &self.webhook_configs, Integration::Webhook)
            .chain(named("slack", &self.slack_configs, Integration::Slack))
            .chain(named("email", &self.email_configs, Integration::Email))
            .chain(named(
                "pagerduty",
                &self.pagerduty_configs,
                Integration::PagerDuty,
            ))
            .chain(named(
                "opsgenie",
                &self.opsgenie_configs,
                Integration::Opsgenie,
            ))
            .chain(named("teams", &self.teams_configs, Integration::Teams))
            .chain(named(
                "discord",
                &self.discord_configs,
                Integration::Discord,
            ))
            .chain(named(
                "telegram",
                &self.telegram_configs,
                Integration::Telegram,
            ))
            .chain(named("ntfy", &self.ntfy_configs, Integration::Ntfy))
            .chain(named("gotify", &self.gotify_configs, Integration::Gotify))
            .collect()
    }

    /// One integration by name.
    pub fn integration(&self, name: &str) -> Option<Integration<'_>> {
        self.integrations()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, integration)| integration)
    }
}

impl NotifyConfig {
    /// Webhooks that send unsigned deliveries (`sign = false`), for `doctor`.
    pub fn unsigned_webhooks(&self) -> Vec<String> {
        self.receivers
            .iter()
            .map(Spanned::get_ref)
            .flat_map(|r| {
                r.integrations()
                    .into_iter()
                    .filter(|(_, i)| matches!(i, Integration::Webhook(c) if !c.sign))
                    .map(|(label, _)| format!("notify.receivers.{}.{label}", r.name))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Receiver credentials written inline: (where) for `doctor`.
    pub fn inline_secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.receivers {
            let r = r.get_ref();
            for (label, integration) in r.integrations() {
                let inline = match &integration {
                    Integration::Webhook(c) => {
                        c.secret.as_ref().is_some_and(SecretRef::is_inline)
                            || c.authorization
                                .as_ref()
                                .is_some_and(|a| a.credentials.is_inline())
                            || c.basic_auth
                                .as_ref()
                                .is_some_and(|b| b.password.is_inline())
                    }
                    Integration::Slack(c) => c.api_url.is_inline(),
                    Integration::Email(c) => {
                        c.auth_password.as_ref().is_some_and(SecretRef::is_inline)
                    }
                    Integration::PagerDuty(c) => c.routing_key.is_inline(),
                    Integration::Opsgenie(c) => c.api_key.is_inline(),
                    Integration::Teams(c) => c.webhook_url.is_inline(),
                    Integration::Discord(c) => c.webhook_url.is_inline(),
                    Integration::Telegram(c) => c.bot_token.is_inline(),
                    Integration::Ntfy(c) => c.token.as_ref().is_some_and(SecretRef::is_inline),
                    Integration::Gotify(c) => c.token.is_inline(),
                };
                if inline {
                    out.push(format!("notify.receivers.{}.{label}", r.name));
                }
            }
        }
        out
    }
}
