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
    /// The signing secret (`whsec_…` or raw bytes).
    pub secret: SecretRef,
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
}

impl<'a> Integration<'a> {
    /// Whether it wants a notification whose alerts all resolved.
    pub fn send_resolved(self) -> bool {
        match self {
            Integration::Webhook(c) => c.send_resolved,
            Integration::Slack(c) => c.send_resolved,
            Integration::Email(c) => c.send_resolved,
            Integration::PagerDuty(c) => c.send_resolved,
        }
    }

    /// Its extra CA file, if any.
    pub fn ca_file(self) -> Option<&'a PathBuf> {
        match self {
            Integration::Webhook(c) => c.ca_file.as_ref(),
            Integration::Slack(c) => c.ca_file.as_ref(),
            Integration::Email(c) => c.ca_file.as_ref(),
            Integration::PagerDuty(c) => c.ca_file.as_ref(),
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

/// A `[notify]` mistake, with the byte offset it is best reported at.
#[derive(Debug)]
pub struct NotifyError {
    /// Where in the file (0 when unknown: see `near`).
    pub offset: usize,
    /// Text to look for when the offset is unknown.
    pub near: &'static str,
    /// What is wrong.
    pub message: String,
}

impl NotifyError {
    fn at(offset: usize, message: impl Into<String>) -> Self {
        NotifyError {
            offset,
            near: "[notify",
            message: message.into(),
        }
    }
}

/// `[notify]` compiled: what the notifier runs on.
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
        let ssrf = self.policy().map_err(|e| NotifyError {
            near: "allow",
            ..NotifyError::at(0, e.to_string())
        })?;
        let templates = self.templates()?;
        let mut receivers = BTreeMap::new();
        for spanned in &self.receivers {
            let receiver = spanned.get_ref();
            let at = spanned.span().start;
            check_receiver(receiver, &templates).map_err(|m| NotifyError::at(at, m))?;
            if receivers
                .insert(receiver.name.clone(), receiver.clone())
                .is_some()
            {
                return Err(NotifyError::at(
                    at,
                    format!("receiver `{}` is defined twice", receiver.name),
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
                    format!(
                        "receiver `{}`: fallback `{fallback}` must name another receiver",
                        receiver.name
                    ),
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
                    .map_err(|e| NotifyError::at(route.span().start, format!("notify: {e}")))?;
                Some(policy)
            }
        };
        let retry = self.retry;
        if retry.max_attempts == 0 || retry.initial_backoff.0 > retry.max_backoff.0 {
            return Err(NotifyError {
                near: "[notify.retry]",
                ..NotifyError::at(
                    0,
                    "notify.retry: max_attempts must be at least 1 and initial_backoff at most max_backoff",
                )
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
            let offset = self.templates.get(&e.name).map_or(0, |t| t.span().start);
            NotifyError::at(offset, format!("notify.templates: {e}"))
        })
    }
}

/// A receiver's own rules: a name, a bounded set of integrations, templates
/// that exist with the escaping their channel needs, readable CA files.
fn check_receiver(r: &ReceiverConfig, templates: &TemplateSet) -> Result<(), String> {
    let name = &r.name;
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err("a receiver needs a name of 1 to 128 printable characters".into());
    }
    let integrations = r.integrations();
    if integrations.len() > MAX_INTEGRATIONS {
        return Err(format!(
            "receiver `{name}` has {} integrations; at most {MAX_INTEGRATIONS}",
            integrations.len()
        ));
    }
    if !(1..=64).contains(&r.max_concurrency) {
        return Err(format!(
            "receiver `{name}`: max_concurrency must be 1 to 64"
        ));
    }
    let want = |key: &str, chosen: &Option<String>, default: &str, escape: Escape| {
        let t = chosen.as_deref().unwrap_or(default);
        match templates.escape(t) {
            None => Err(format!(
                "receiver `{name}`: {key} template `{t}` is not defined (built in: {})",
                builtin_names()
            )),
            Some(e) if e != escape => Err(format!(
                "receiver `{name}`: {key} template `{t}` escapes as {e:?}; this field needs {escape:?}"
            )),
            Some(_) => Ok(()),
        }
    };
    for (label, integration) in integrations {
        match integration {
            Integration::Webhook(c) => {
                want("webhook", &c.template, template::WEBHOOK_JSON, Escape::Json)?;
                check_url_ref(name, &label, "url", &c.url)?;
            }
            Integration::Slack(c) => {
                want("text", &c.text, template::SLACK_TEXT, Escape::SlackMrkdwn)?;
                check_url_ref(name, &label, "api_url", &c.api_url)?;
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
                    check_url(name, &label, "url", url.as_bytes())?;
                }
            }
        }
        if let Some(path) = integration.ca_file() {
            let pem = std::fs::read(path).map_err(|e| {
                format!(
                    "receiver `{name}` {label}: cannot read ca_file {}: {e}",
                    path.display()
                )
            })?;
            // Parsed now, as the sender will: a file with no certificate
            // must not pass the check and then disable every channel.
            vigil_notify::channel::check_roots(&pem).map_err(|e| {
                format!("receiver `{name}` {label}: ca_file {}: {e}", path.display())
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
    ]
    .join(", ")
}

/// An HTTP channel's URL field: written inline, it must parse as an
/// `https` or `http` URL; a reference is resolved, and checked, at send
/// time. `file://…` reads as a `file:` reference to the path `//…`, but
/// whoever wrote it meant a URL: it is refused by its scheme.
fn check_url_ref(receiver: &str, label: &str, field: &str, url: &SecretRef) -> Result<(), String> {
    match url {
        SecretRef::Inline(value) => check_url(receiver, label, field, value.expose()),
        SecretRef::File(path) if path.as_os_str().as_encoded_bytes().starts_with(b"//") => {
            Err(format!(
                "receiver `{receiver}` {label} {field}: scheme `file` is not supported; {HTTP_SCHEMES} (to read the URL from a file, write file:/absolute/path)"
            ))
        }
        _ => Ok(()),
    }
}

/// What an HTTP channel's URL may start with.
const HTTP_SCHEMES: &str =
    "an HTTP receiver takes https (or http to a destination in notify.allow)";

/// A URL written in the file must at least parse, with a scheme its
/// channel speaks; whether it is reachable is decided at send time (DNS
/// may change), and `doctor` asks then.
fn check_url(receiver: &str, label: &str, field: &str, url: &[u8]) -> Result<(), String> {
    use vigil_notify::ssrf::{Blocked, Destination, Scheme};
    let at = format!("receiver `{receiver}` {label} {field}");
    let text = std::str::from_utf8(url).map_err(|_| format!("{at}: the URL is not UTF-8"))?;
    let scheme = match Destination::parse(text) {
        Ok(destination) if matches!(destination.scheme(), Scheme::Https | Scheme::Http) => {
            return Ok(());
        }
        Ok(destination) => destination.scheme().as_str().to_string(),
        Err(Blocked::Scheme { scheme }) => scheme,
        Err(e) => return Err(format!("{at}: {e}")),
    };
    Err(format!(
        "{at}: scheme `{scheme}` is not supported; {HTTP_SCHEMES}"
    ))
}

fn check_email(receiver: &str, c: &EmailConfig) -> Result<(), String> {
    if c.to.0.is_empty() {
        return Err(format!("receiver `{receiver}`: email `to` is empty"));
    }
    let (host, port) = c
        .smarthost
        .rsplit_once(':')
        .ok_or_else(|| format!("receiver `{receiver}`: smarthost must be host:port"))?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!(
            "receiver `{receiver}`: smarthost must be host:port"
        ));
    }
    if !c.require_tls && c.auth_password.is_some() && port != "465" {
        return Err(format!(
            "receiver `{receiver}`: a password is never sent without TLS; keep require_tls = true"
        ));
    }
    Ok(())
}

impl NotifyConfig {
    /// Receiver credentials written inline: (where) for `doctor`.
    pub fn inline_secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.receivers {
            let r = r.get_ref();
            for (label, integration) in r.integrations() {
                let inline = match &integration {
                    Integration::Webhook(c) => c.secret.is_inline(),
                    Integration::Slack(c) => c.api_url.is_inline(),
                    Integration::Email(c) => {
                        c.auth_password.as_ref().is_some_and(SecretRef::is_inline)
                    }
                    Integration::PagerDuty(c) => c.routing_key.is_inline(),
                };
                if inline {
                    out.push(format!("notify.receivers.{}.{label}", r.name));
                }
            }
        }
        out
    }
}
