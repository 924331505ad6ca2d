//! `[notify]`: where notifications go and how.
//!
//! The routing keys (`route`, `inhibit_rules`, `time_intervals`) and the
//! receiver keys (`webhook_configs`, `slack_configs`, `email_configs`,
//! `pagerduty_configs` and their fields) are Alertmanager's, so a ported
//! configuration reads the same in TOML. Everything is compiled when the
//! file is loaded ([`NotifyConfig::compile`]): a misspelt receiver, a
//! template that does not render or a CA file that cannot be read is a
//! configuration error, never a surprise at send time.

use super::values::Interval;
use crate::config::SecretRef;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;
use vigil_notify::route::{
    InhibitRuleConfig, Policy, PolicyConfig, RouteConfig, TimeIntervalConfig,
};
use vigil_notify::template::{self, Escape, TemplateSet, TemplateSource};

/// Most integrations one receiver may have.
pub const MAX_INTEGRATIONS: usize = 16;

/// `[notify]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// The only way to reach internal destinations (and plain `http`):
    /// IP addresses, CIDR ranges, host names, `*.domain` wildcards. Checked
    /// by the SSRF guard (`vigil_notify::ssrf`).
    pub allow: Vec<String>,
    /// Where Vigil can be reached, for links in messages.
    pub external_url: Option<String>,
    /// Retries of failed deliveries.
    pub retry: RetryConfig,
    /// The route tree; without one nothing is notified.
    pub route: Option<Spanned<RouteConfig>>,
    /// Inhibit rules.
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// Named time intervals.
    pub time_intervals: Vec<TimeIntervalConfig>,
    /// Receivers, by name.
    pub receivers: Vec<Spanned<ReceiverConfig>>,
    /// Operator templates, by name.
    pub templates: BTreeMap<String, Spanned<TemplateConfig>>,
}

/// `[notify.retry]`: how a failed delivery is retried.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// The first wait after a failure; it doubles with each failure.
    pub initial_backoff: Interval,
    /// The longest wait between attempts.
    pub max_backoff: Interval,
    /// Attempts before a delivery is given up.
    pub max_attempts: u32,
    /// A delivery not sent this long after it was intended is given up.
    pub give_up_after: Interval,
    /// One attempt's time limit (connect, send, answer).
    pub timeout: Interval,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_backoff: Interval(Duration::from_secs(10)),
            max_backoff: Interval(Duration::from_secs(600)),
            max_attempts: 10,
            give_up_after: Interval(Duration::from_secs(24 * 3600)),
            timeout: Interval(Duration::from_secs(10)),
        }
    }
}

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

/// `[notify.templates.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// `json` (webhook bodies), `html` (email), `slack_mrkdwn`, `text`.
    pub escape: Escape,
    /// The minijinja source.
    pub source: String,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        Ok(OneOrMany(match Raw::deserialize(d)? {
            Raw::One(s) => vec![s],
            Raw::Many(v) => v,
        }))
    }
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

/// Where a `[notify]` mistake is best reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyPlace {
    /// This byte offset in the file.
    Offset(usize),
    /// This key under `[notify]` (its table, or its value), wherever it is
    /// in the file; `[notify]` itself when it is not written.
    Key(&'static str),
    /// Element `index` of `notify.allow`.
    Allowed(usize),
}

/// A `[notify]` mistake, with where it is best reported.
#[derive(Debug, thiserror::Error)]
#[error("{problem}")]
pub struct NotifyError {
    /// Where in the file.
    pub place: NotifyPlace,
    /// What is wrong.
    pub problem: Box<NotifyProblem>,
}

/// What is wrong with `[notify]`.
#[derive(Debug, thiserror::Error)]
pub enum NotifyProblem {
    /// An `allow` entry cannot be used.
    #[error("{0}")]
    Allow(vigil_notify::ssrf::PolicyError),
    /// An operator template does not compile.
    #[error("notify.templates: {0}")]
    Template(vigil_notify::template::TemplateError),
    /// A receiver breaks its own rules.
    #[error("{0}")]
    Receiver(#[from] ReceiverError),
    /// Two receivers share a name.
    #[error("receiver `{0}` is defined twice")]
    Duplicate(String),
    /// A fallback names no other receiver.
    #[error("receiver `{receiver}`: fallback `{fallback}` must name another receiver")]
    Fallback {
        /// The receiver.
        receiver: String,
        /// Its fallback.
        fallback: String,
    },
    /// The route tree, inhibit rules or time intervals do not compile.
    #[error("notify: {0}")]
    Route(vigil_notify::route::PolicyError),
    /// `[notify.retry]` cannot work.
    #[error(
        "notify.retry: max_attempts must be at least 1 and initial_backoff at most max_backoff"
    )]
    Retry,
}

/// Which receiver, integration and field a URL mistake is in
/// (`receiver `ops` webhook/0 url`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("receiver `{receiver}` {label} {field}")]
pub struct UrlField {
    /// The receiver.
    pub receiver: String,
    /// The integration (`webhook/0`).
    pub label: String,
    /// The key (`url`, `api_url`).
    pub field: &'static str,
}

/// A receiver that breaks its own rules. Each message names the receiver
/// and says what to write instead.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    /// No usable name.
    #[error("a receiver needs a name of 1 to 128 printable characters")]
    Name,
    /// More integrations than [`MAX_INTEGRATIONS`].
    #[error("receiver `{receiver}` has {count} integrations; at most {MAX_INTEGRATIONS}")]
    TooManyIntegrations {
        /// The receiver.
        receiver: String,
        /// How many it has.
        count: usize,
    },
    /// `max_concurrency` out of bounds.
    #[error("receiver `{0}`: max_concurrency must be 1 to 64")]
    Concurrency(String),
    /// A template that is not defined.
    #[error(
        "receiver `{receiver}`: {key} template `{template}` is not defined (built in: {builtin})",
        builtin = builtin_names()
    )]
    NoTemplate {
        /// The receiver.
        receiver: String,
        /// The template field (`webhook`, `subject`, ...).
        key: &'static str,
        /// The template named.
        template: String,
    },
    /// A template whose escaping is not the one its field needs.
    #[error(
        "receiver `{receiver}`: {key} template `{template}` escapes as {found:?}; this field needs {needed:?}"
    )]
    WrongEscape {
        /// The receiver.
        receiver: String,
        /// The template field.
        key: &'static str,
        /// The template named.
        template: String,
        /// How it escapes.
        found: Escape,
        /// How the field needs it to.
        needed: Escape,
    },
    /// `file://…`: meant as a URL, read as a `file:` reference.
    #[error(
        "{0}: scheme `file` is not supported; {HTTP_SCHEMES} (to read the URL from a file, write file:/absolute/path)"
    )]
    FileUrl(UrlField),
    /// The URL is not UTF-8.
    #[error("{0}: the URL is not UTF-8")]
    UrlNotUtf8(UrlField),
    /// The URL does not parse.
    #[error("{field}: {reason}")]
    BadUrl {
        /// Where.
        field: UrlField,
        /// Why.
        reason: Box<vigil_notify::ssrf::Blocked>,
    },
    /// A scheme the channel does not speak.
    #[error("{field}: scheme `{scheme}` is not supported; {HTTP_SCHEMES}")]
    Scheme {
        /// Where.
        field: UrlField,
        /// The scheme written.
        scheme: String,
    },
    /// Email without recipients.
    #[error("receiver `{0}`: email `to` is empty")]
    NoRecipient(String),
    /// A setting of one integration is out of its range.
    #[error("receiver `{receiver}` {label}: {problem}")]
    Setting {
        /// The receiver.
        receiver: String,
        /// The integration (`ntfy/0`).
        label: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A webhook's signing settings disagree.
    #[error("receiver `{receiver}` {label}: {problem}")]
    Signing {
        /// The receiver.
        receiver: String,
        /// The integration (`webhook/0`).
        label: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A smarthost that is not `host:port`.
    #[error("receiver `{0}`: smarthost must be host:port")]
    Smarthost(String),
    /// A password that could go out in the clear.
    #[error("receiver `{0}`: a password is never sent without TLS; keep require_tls = true")]
    PasswordWithoutTls(String),
    /// A `ca_file` that cannot be read.
    #[error("receiver `{receiver}` {label}: cannot read ca_file {}: {source}", path.display())]
    CaUnreadable {
        /// The receiver.
        receiver: String,
        /// The integration.
        label: String,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A `ca_file` without a usable certificate.
    #[error("receiver `{receiver}` {label}: ca_file {}: {reason}", path.display())]
    CaInvalid {
        /// The receiver.
        receiver: String,
        /// The integration.
        label: String,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: Box<vigil_notify::channel::SendError>,
    },
}

impl NotifyError {
    fn at(offset: usize, problem: impl Into<NotifyProblem>) -> Self {
        NotifyError {
            place: NotifyPlace::Offset(offset),
            problem: Box::new(problem.into()),
        }
    }
}

/// `[notify]` compiled when the configuration is loaded: what the notifier
/// runs on, kept with the configuration it came from.
pub struct CompiledNotify {
    /// The outbound guard.
    pub ssrf: vigil_notify::ssrf::Policy,
    /// The routing policy; `None` when no route is configured.
    pub policy: Option<Policy>,
    /// Built-in and operator templates.
    pub templates: TemplateSet,
    /// Receivers by name.
    pub receivers: BTreeMap<String, ReceiverConfig>,
    /// Retries.
    pub retry: RetryConfig,
    /// Link target for messages.
    pub external_url: Option<String>,
}

impl std::fmt::Debug for CompiledNotify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledNotify")
            .field("routed", &self.policy.is_some())
            .field("receivers", &self.receivers)
            .field("retry", &self.retry)
            .field("external_url", &self.external_url)
            .finish_non_exhaustive()
    }
}

impl NotifyConfig {
    /// The outbound policy these settings describe.
    pub fn policy(&self) -> Result<vigil_notify::ssrf::Policy, vigil_notify::ssrf::PolicyError> {
        vigil_notify::ssrf::Policy::new(&self.allow)
    }

    /// Checks everything and builds what the notifier needs.
    ///
    /// # Errors
    ///
    /// The first mistake, located at the key it concerns.
    pub fn compile(&self) -> Result<CompiledNotify, NotifyError> {
        let ssrf = self.policy().map_err(|e| {
            let place = match &e {
                vigil_notify::ssrf::PolicyError::Entry { index, .. } => {
                    NotifyPlace::Allowed(*index)
                }
                _ => NotifyPlace::Key("allow"),
            };
            NotifyError {
                place,
                problem: Box::new(NotifyProblem::Allow(e)),
            }
        })?;
        let templates = self.templates()?;
        let mut receivers = BTreeMap::new();
        for spanned in &self.receivers {
            let receiver = spanned.get_ref();
            let at = spanned.span().start;
            check_receiver(receiver, &templates).map_err(|e| NotifyError::at(at, e))?;
            if receivers
                .insert(receiver.name.clone(), receiver.clone())
                .is_some()
            {
                return Err(NotifyError::at(
                    at,
                    NotifyProblem::Duplicate(receiver.name.clone()),
                ));
            }
        }
        for spanned in &self.receivers {
            let receiver = spanned.get_ref();
            if let Some(fallback) = &receiver.fallback
                && (fallback == &receiver.name || !receivers.contains_key(fallback))
            {
                return Err(NotifyError::at(
                    spanned.span().start,
                    NotifyProblem::Fallback {
                        receiver: receiver.name.clone(),
                        fallback: fallback.clone(),
                    },
                ));
            }
        }
        let policy = match &self.route {
            None => None,
            Some(route) => {
                let names: Vec<&str> = receivers.keys().map(String::as_str).collect();
                let config = PolicyConfig {
                    route: route.get_ref().clone(),
                    inhibit_rules: self.inhibit_rules.clone(),
                    time_intervals: self.time_intervals.clone(),
                };
                let policy = Policy::compile(&config, &names)
                    .map_err(|e| NotifyError::at(route.span().start, NotifyProblem::Route(e)))?;
                Some(policy)
            }
        };
        let retry = self.retry;
        if retry.max_attempts == 0 || retry.initial_backoff.0 > retry.max_backoff.0 {
            return Err(NotifyError {
                place: NotifyPlace::Key("retry"),
                problem: Box::new(NotifyProblem::Retry),
            });
        }
        Ok(CompiledNotify {
            ssrf,
            policy,
            templates,
            receivers,
            retry,
            external_url: self.external_url.clone(),
        })
    }

    fn templates(&self) -> Result<TemplateSet, NotifyError> {
        let sources: Vec<TemplateSource> = self
            .templates
            .iter()
            .map(|(name, t)| TemplateSource::new(name, t.get_ref().escape, &t.get_ref().source))
            .collect();
        TemplateSet::compile_with_builtins(&sources, template::Limits::default()).map_err(|e| {
            let place = self
                .templates
                .get(&e.name)
                .map_or(NotifyPlace::Key("templates"), |t| {
                    NotifyPlace::Offset(t.span().start)
                });
            NotifyError {
                place,
                problem: Box::new(NotifyProblem::Template(e)),
            }
        })
    }
}

/// A receiver's own rules: a name, a bounded set of integrations, templates
/// that exist with the escaping their channel needs, readable CA files.
fn check_receiver(r: &ReceiverConfig, templates: &TemplateSet) -> Result<(), ReceiverError> {
    let name = &r.name;
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(ReceiverError::Name);
    }
    let integrations = r.integrations();
    if integrations.len() > MAX_INTEGRATIONS {
        return Err(ReceiverError::TooManyIntegrations {
            receiver: name.clone(),
            count: integrations.len(),
        });
    }
    if !(1..=64).contains(&r.max_concurrency) {
        return Err(ReceiverError::Concurrency(name.clone()));
    }
    let want = |key: &'static str, chosen: &Option<String>, default: &str, needed: Escape| {
        let t = chosen.as_deref().unwrap_or(default);
        match templates.escape(t) {
            None => Err(ReceiverError::NoTemplate {
                receiver: name.clone(),
                key,
                template: t.to_string(),
            }),
            Some(found) if found != needed => Err(ReceiverError::WrongEscape {
                receiver: name.clone(),
                key,
                template: t.to_string(),
                found,
                needed,
            }),
            Some(_) => Ok(()),
        }
    };
    for (label, integration) in integrations {
        let field = |field: &'static str| UrlField {
            receiver: name.clone(),
            label: label.clone(),
            field,
        };
        let setting = |problem: &'static str| ReceiverError::Setting {
            receiver: name.clone(),
            label: label.clone(),
            problem,
        };
        match integration {
            Integration::Webhook(c) => {
                want("webhook", &c.template, template::WEBHOOK_JSON, Escape::Json)?;
                check_url_ref(field("url"), &c.url)?;
                check_webhook_auth(c).map_err(|problem| ReceiverError::Signing {
                    receiver: name.clone(),
                    label: label.clone(),
                    problem,
                })?;
            }
            Integration::Slack(c) => {
                want("text", &c.text, template::SLACK_TEXT, Escape::SlackMrkdwn)?;
                check_url_ref(field("api_url"), &c.api_url)?;
            }
            Integration::Email(c) => {
                want("subject", &c.subject, template::EMAIL_SUBJECT, Escape::Text)?;
                want("html", &c.html, template::EMAIL_HTML, Escape::Html)?;
                want("text", &c.text, template::EMAIL_TEXT, Escape::Text)?;
                check_email(name, c)?;
            }
            Integration::PagerDuty(c) => {
                want(
                    "summary",
                    &c.summary,
                    template::PAGERDUTY_SUMMARY,
                    Escape::Text,
                )?;
                if let Some(url) = &c.url {
                    check_url(field("url"), url.as_bytes())?;
                }
            }
            Integration::Opsgenie(c) => {
                want("message", &c.message, template::MESSAGE_TITLE, Escape::Text)?;
                want(
                    "description",
                    &c.description,
                    template::MESSAGE_TEXT,
                    Escape::Text,
                )?;
                if let Some(url) = &c.api_url {
                    check_url(field("api_url"), url.as_bytes())?;
                }
                if let Some(p) = &c.priority
                    && !matches!(p.as_str(), "P1" | "P2" | "P3" | "P4" | "P5")
                {
                    return Err(setting("opsgenie priority must be P1 to P5"));
                }
            }
            Integration::Teams(c) => {
                want("title", &c.title, template::MESSAGE_TITLE, Escape::Text)?;
                want("text", &c.text, template::MESSAGE_TEXT, Escape::Text)?;
                check_url_ref(field("webhook_url"), &c.webhook_url)?;
            }
            Integration::Discord(c) => {
                want("message", &c.message, template::MESSAGE_TEXT, Escape::Text)?;
                check_url_ref(field("webhook_url"), &c.webhook_url)?;
            }
            Integration::Telegram(c) => {
                want("message", &c.message, template::MESSAGE_TEXT, Escape::Text)?;
                if let Some(url) = &c.api_url {
                    check_url(field("api_url"), url.as_bytes())?;
                }
            }
            Integration::Ntfy(c) => {
                want("title", &c.title, template::MESSAGE_TITLE, Escape::Text)?;
                want("message", &c.message, template::MESSAGE_TEXT, Escape::Text)?;
                check_url(field("url"), c.url.as_bytes())?;
                let topic_char = |ch: char| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_';
                if c.topic.is_empty() || c.topic.len() > 64 || !c.topic.chars().all(topic_char) {
                    return Err(setting(
                        "ntfy topic must be 1 to 64 letters, digits, - or _",
                    ));
                }
                if c.priority.is_some_and(|p| !(1..=5).contains(&p)) {
                    return Err(setting("ntfy priority must be 1 to 5"));
                }
            }
            Integration::Gotify(c) => {
                want("title", &c.title, template::MESSAGE_TITLE, Escape::Text)?;
                want("message", &c.message, template::MESSAGE_TEXT, Escape::Text)?;
                check_url(field("url"), c.url.as_bytes())?;
                if c.priority.is_some_and(|p| p > 10) {
                    return Err(setting("gotify priority must be 0 to 10"));
                }
            }
        }
        if let Some(path) = integration.ca_file() {
            let pem = std::fs::read(path).map_err(|source| ReceiverError::CaUnreadable {
                receiver: name.clone(),
                label: label.clone(),
                path: path.clone(),
                source,
            })?;
            // Parsed now, as the sender will: a file with no certificate
            // must not pass the check and then disable every channel.
            vigil_notify::channel::check_roots(&pem).map_err(|reason| {
                ReceiverError::CaInvalid {
                    receiver: name.clone(),
                    label: label.clone(),
                    path: path.clone(),
                    reason: Box::new(reason),
                }
            })?;
        }
    }
    Ok(())
}

fn builtin_names() -> String {
    [
        template::WEBHOOK_JSON,
        template::SLACK_TEXT,
        template::EMAIL_SUBJECT,
        template::EMAIL_HTML,
        template::EMAIL_TEXT,
        template::PAGERDUTY_SUMMARY,
        template::MESSAGE_TITLE,
        template::MESSAGE_TEXT,
    ]
    .join(", ")
}

/// An HTTP channel's URL field: written inline, it must parse as an
/// `https` or `http` URL; a reference is resolved, and checked, at send
/// time. `file://…` reads as a `file:` reference to the path `//…`, but
/// whoever wrote it meant a URL: it is refused by its scheme.
fn check_url_ref(field: UrlField, url: &SecretRef) -> Result<(), ReceiverError> {
    match url {
        SecretRef::Inline(value) => check_url(field, value.expose()),
        SecretRef::File(path) if path.as_os_str().as_encoded_bytes().starts_with(b"//") => {
            Err(ReceiverError::FileUrl(field))
        }
        _ => Ok(()),
    }
}

/// A webhook signs with a secret unless told not to, and authenticates in
/// at most one way.
fn check_webhook_auth(c: &WebhookConfig) -> Result<(), &'static str> {
    match (c.sign, &c.secret) {
        (true, None) => {
            return Err(
                "a signing `secret` is required (or `sign = false` for a receiver \
                        that cannot check signatures)",
            );
        }
        (false, Some(_)) => return Err("`secret` is set but `sign = false`: remove one"),
        _ => {}
    }
    if c.authorization.is_some() && c.basic_auth.is_some() {
        return Err("set `authorization` or `basic_auth`, not both");
    }
    if let Some(a) = &c.authorization {
        let token_char = |ch: char| ch.is_ascii_alphanumeric() || "-._~+".contains(ch);
        if a.scheme.is_empty() || !a.scheme.chars().all(token_char) {
            return Err("authorization `type` must be one word, such as Bearer");
        }
        if a.scheme.eq_ignore_ascii_case("basic") {
            return Err("for `type = \"Basic\"` use `basic_auth = { username, password }`");
        }
    }
    if let Some(b) = &c.basic_auth
        && (b.username.is_empty()
            || b.username.contains(':')
            || b.username.chars().any(char::is_control))
    {
        return Err("basic_auth `username` must be non-empty, without `:` or control characters");
    }
    Ok(())
}

/// What an HTTP channel's URL may start with.
const HTTP_SCHEMES: &str =
    "an HTTP receiver takes https (or http to a destination in notify.allow)";

/// A URL written in the file must at least parse, with a scheme its
/// channel speaks; whether it is reachable is decided at send time (DNS
/// may change), and `doctor` asks then.
fn check_url(field: UrlField, url: &[u8]) -> Result<(), ReceiverError> {
    use vigil_notify::ssrf::{Blocked, Destination, Scheme};
    let Ok(text) = std::str::from_utf8(url) else {
        return Err(ReceiverError::UrlNotUtf8(field));
    };
    let scheme = match Destination::parse(text) {
        Ok(destination) if matches!(destination.scheme(), Scheme::Https | Scheme::Http) => {
            return Ok(());
        }
        Ok(destination) => destination.scheme().as_str().to_string(),
        Err(Blocked::Scheme { scheme }) => scheme,
        Err(reason) => {
            return Err(ReceiverError::BadUrl {
                field,
                reason: Box::new(reason),
            });
        }
    };
    Err(ReceiverError::Scheme { field, scheme })
}

fn check_email(receiver: &str, c: &EmailConfig) -> Result<(), ReceiverError> {
    if c.to.0.is_empty() {
        return Err(ReceiverError::NoRecipient(receiver.to_string()));
    }
    let smarthost = || ReceiverError::Smarthost(receiver.to_string());
    let (host, port) = c.smarthost.rsplit_once(':').ok_or_else(smarthost)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(smarthost());
    }
    if !c.require_tls && c.auth_password.is_some() && port != "465" {
        return Err(ReceiverError::PasswordWithoutTls(receiver.to_string()));
    }
    Ok(())
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
