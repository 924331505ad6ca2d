//! The checks a receiver passes when the configuration is loaded, and the
//! errors that name the receiver, integration and field a mistake is in.

use super::MAX_INTEGRATIONS;
use super::receivers::{EmailConfig, Integration, ReceiverConfig, WebhookConfig};
use crate::config::SecretRef;
use std::path::PathBuf;
use vigil_notify::template::{self, Escape, TemplateSet};

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

/// A receiver's own rules: a name, a bounded set of integrations, templates
/// that exist with the escaping their channel needs, readable CA files.
pub(super) fn check_receiver(
    r: &ReceiverConfig,
    templates: &TemplateSet,
) -> Result<(), ReceiverError> {
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
