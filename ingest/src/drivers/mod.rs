//! Source drivers: verify a delivery's signature or token, then validate and
//! normalize its payload to [`Alert`](vigil_store::Alert)s.
//!
//! Each configured source names a [`DriverKind`]. The daemon calls, in this
//! order and only after the API key, size and JSON checks:
//!
//! 1. [`DriverKind::verify`] (when the driver [supports
//!    signatures](DriverKind::supports_signature) and the source does not say
//!    `verify = "none"`),
//! 2. [`DriverKind::delivery_id`] for duplicate detection,
//! 3. [`DriverKind::normalize`].
//!
//! Everything here is a pure function of the [`Delivery`]: no I/O, no clock
//! (the receive time comes in [`Delivery::now`]), no panics on any input.
//!
//! # How each sender signs
//!
//! | driver | header(s) | check |
//! | --- | --- | --- |
//! | `alertmanager` | none | Alertmanager cannot sign; its `http_config` sends the API key |
//! | `prometheus` | none | Prometheus cannot sign; its `authorization` sends the API key |
//! | `grafana` | `X-Grafana-Alerting-Signature`, optional `X-Grafana-Alerting-Signature-Timestamp` | hex HMAC-SHA256 of the body, or of `timestamp + ":" + body` when the timestamp header is present (then the timestamp must be within the tolerance) |
//! | `github` | `X-Hub-Signature-256: sha256=<hex>` | HMAC-SHA256 of the raw body |
//! | `gitlab` | `X-Gitlab-Token` | equals the secret |
//! | `jenkins` | `X-Jenkins-Token` | equals the secret (set it as a custom header on the sender) |
//! | `pagerduty` | `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>…]` | HMAC-SHA256 of the raw body; any listed signature may match |
//! | `generic` | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> …` | [Standard Webhooks](https://www.standardwebhooks.com/): HMAC-SHA256 of `id.timestamp.body`, key from `whsec_<base64>` or the raw secret; timestamp within the tolerance |
//!
//! A source may hold several secrets during rotation: a delivery is accepted
//! when any secret matches. Empty secrets are ignored, so an empty secret can
//! never match an empty token. Comparisons are constant-time, and rejections
//! name headers, never their values.
//!
//! To sign a test delivery by hand (GitHub shown; PagerDuty is the same with
//! `v1=` and Grafana the same without a prefix):
//!
//! ```text
//! printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.* /sha256=/'
//! ```
//!
//! # Limits
//!
//! [`DriverKind::normalize`] refuses more than [`MAX_ALERTS`] alerts, label or
//! annotation maps with more than [`MAX_MAP_ENTRIES`] entries and keys longer
//! than [`MAX_KEY_BYTES`]; it truncates values to [`MAX_VALUE_BYTES`] and
//! summaries to [`MAX_SUMMARY_BYTES`] (at a character boundary, ending in
//! `…`). A [`ShapeError`] names the JSON path and what was expected, never a
//! payload value: payloads may carry secrets, and errors reach logs and
//! callers.

mod alertmanager;
mod detect;
mod generic;
mod github;
mod gitlab;
mod grafana;
mod jenkins;
mod pagerduty;
mod prometheus;
mod shape;
mod signature;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;
use vigil_store::SecretValue;

/// Standard Webhooks signing, shared with Vigil's own outbound webhooks.
pub mod standard_webhooks {
    pub use super::generic::{sign, signing_key};
}

pub use shape::{
    MAX_ALERTS, MAX_KEY_BYTES, MAX_LINKS, MAX_MAP_ENTRIES, MAX_SUMMARY_BYTES, MAX_VALUE_BYTES,
    fingerprint,
};

/// Default replay window for timestamped schemes, in seconds.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// A source's driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriverKind {
    /// Prometheus Alertmanager `webhook_config` (payload version 4).
    Alertmanager,
    /// Grafana-managed alerting, webhook contact point.
    Grafana,
    /// GitHub repository or organization webhooks.
    Github,
    /// GitLab project or group webhooks.
    Gitlab,
    /// Jenkins Notification plugin.
    Jenkins,
    /// PagerDuty v3 webhook subscriptions.
    Pagerduty,
    /// Standard Webhooks: its envelope (alerts when `data` is Vigil's alert
    /// JSON, else a webhook event of its `type`) or Vigil's alert JSON.
    Generic,
    /// Prometheus (or `amtool alert add`) pushing alerts: the Alertmanager
    /// v2 API's `POST /api/v2/alerts` body.
    Prometheus,
}

impl DriverKind {
    /// Every driver, in documentation order.
    pub const ALL: [DriverKind; 8] = [
        DriverKind::Alertmanager,
        DriverKind::Grafana,
        DriverKind::Github,
        DriverKind::Gitlab,
        DriverKind::Jenkins,
        DriverKind::Pagerduty,
        DriverKind::Generic,
        DriverKind::Prometheus,
    ];

    /// The name used in configuration and events (`"alertmanager"`, …).
    pub fn name(self) -> &'static str {
        match self {
            DriverKind::Alertmanager => "alertmanager",
            DriverKind::Grafana => "grafana",
            DriverKind::Github => "github",
            DriverKind::Gitlab => "gitlab",
            DriverKind::Jenkins => "jenkins",
            DriverKind::Pagerduty => "pagerduty",
            DriverKind::Generic => "generic",
            DriverKind::Prometheus => "prometheus",
        }
    }

    /// Whether the sender can sign/authenticate deliveries itself (then a
    /// secret is required unless the operator says `verify = "none"`).
    ///
    /// Alertmanager and Prometheus cannot: they authenticate with the API
    /// key only.
    pub fn supports_signature(self) -> bool {
        !matches!(self, DriverKind::Alertmanager | DriverKind::Prometheus)
    }

    /// Header names that carry this driver's signature or token (for docs and
    /// for refusing to log them).
    pub fn signature_headers(self) -> &'static [&'static str] {
        match self {
            DriverKind::Alertmanager | DriverKind::Prometheus => &[],
            DriverKind::Grafana => &[grafana::SIGNATURE_HEADER],
            // The legacy SHA-1 header is never checked, but it is still a MAC
            // of the body under the secret: keep it out of logs too.
            DriverKind::Github => &[github::SIGNATURE_HEADER, "X-Hub-Signature"],
            DriverKind::Gitlab => &[gitlab::TOKEN_HEADER],
            DriverKind::Jenkins => &[jenkins::TOKEN_HEADER],
            DriverKind::Pagerduty => &[pagerduty::SIGNATURE_HEADER],
            DriverKind::Generic => &[generic::SIGNATURE_HEADER],
        }
    }

    /// Auto-detection from headers and body; `None` when unsure.
    ///
    /// Conservative: a sender's own header decides (`X-GitHub-Event`,
    /// `X-Gitlab-Event`, `X-PagerDuty-Signature`, `webhook-id` with
    /// `webhook-signature`, `X-Grafana-Alerting-Signature`,
    /// `X-Jenkins-Token`); without one, the body's shape does (Alertmanager
    /// version 4, Grafana's `orgId`/`state`/`title` with `alerts`, the Jenkins
    /// Notification plugin's `build.phase`, a Prometheus push's array of
    /// alerts with `labels`). Two candidates mean `None`.
    /// Detection never replaces verification: the detected driver's signature
    /// is checked like a configured one.
    pub fn detect(headers: &http::HeaderMap, body: &serde_json::Value) -> Option<DriverKind> {
        detect::detect(headers, body)
    }

    /// Verifies the delivery's signature or token against the source's
    /// secrets (several during rotation: any may match).
    ///
    /// Alertmanager and Prometheus have nothing to verify and always pass.
    pub fn verify(self, delivery: &Delivery<'_>, verifier: &Verifier) -> Result<(), Rejection> {
        match self {
            DriverKind::Alertmanager | DriverKind::Prometheus => Ok(()),
            DriverKind::Grafana => grafana::verify(delivery, verifier),
            DriverKind::Github => github::verify(delivery, verifier),
            DriverKind::Gitlab => gitlab::verify(delivery, verifier),
            DriverKind::Jenkins => jenkins::verify(delivery, verifier),
            DriverKind::Pagerduty => pagerduty::verify(delivery, verifier),
            DriverKind::Generic => generic::verify(delivery, verifier),
        }
    }

    /// The sender's delivery id for duplicate detection, if it sends one:
    /// GitHub `X-GitHub-Delivery`, generic `webhook-id`, GitLab
    /// `Idempotency-Key` (stable across retries) or else
    /// `X-Gitlab-Event-UUID`, PagerDuty `event.id` in the body.
    ///
    /// Trimmed; `None` unless 1 to 200 printable ASCII characters.
    pub fn delivery_id(self, delivery: &Delivery<'_>) -> Option<String> {
        match self {
            DriverKind::Alertmanager
            | DriverKind::Grafana
            | DriverKind::Jenkins
            | DriverKind::Prometheus => None,
            DriverKind::Github => github::delivery_id(delivery),
            DriverKind::Gitlab => gitlab::delivery_id(delivery),
            DriverKind::Pagerduty => pagerduty::delivery_id(delivery),
            DriverKind::Generic => generic::delivery_id(delivery),
        }
    }

    /// Validates the payload's shape and normalizes it.
    ///
    /// `source` is the configured source name; drivers do not put it in
    /// fingerprints (the daemon scopes incidents), it is accepted so that a
    /// driver may mention it.
    pub fn normalize(
        self,
        source: &str,
        delivery: &Delivery<'_>,
    ) -> Result<Normalized, ShapeError> {
        let _ = source;
        match self {
            DriverKind::Alertmanager => alertmanager::normalize(delivery),
            DriverKind::Grafana => grafana::normalize(delivery),
            DriverKind::Github => github::normalize(delivery),
            DriverKind::Gitlab => gitlab::normalize(delivery),
            DriverKind::Jenkins => jenkins::normalize(delivery),
            DriverKind::Pagerduty => pagerduty::normalize(delivery),
            DriverKind::Generic => generic::normalize(delivery),
            DriverKind::Prometheus => prometheus::normalize(delivery),
        }
    }
}

impl fmt::Display for DriverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A driver name that is not one of [`DriverKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown driver; expected one of alertmanager, grafana, github, gitlab, jenkins, pagerduty, generic, prometheus"
)]
pub struct UnknownDriver;

impl FromStr for DriverKind {
    type Err = UnknownDriver;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DriverKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or(UnknownDriver)
    }
}

/// What a source says about its driver, decided when the configuration is
/// loaded: one driver, or `auto` to detect one per delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DriverChoice {
    /// `auto`: detect the sender from each delivery ([`DriverKind::detect`]).
    Auto,
    /// One driver for every delivery.
    Kind(DriverKind),
}

impl DriverChoice {
    /// The names a configuration may write, `auto` first.
    pub const NAMES: [&'static str; 9] = [
        "auto",
        "alertmanager",
        "grafana",
        "github",
        "gitlab",
        "jenkins",
        "pagerduty",
        "generic",
        "prometheus",
    ];

    /// The name as configured.
    pub fn name(self) -> &'static str {
        match self {
            DriverChoice::Auto => "auto",
            DriverChoice::Kind(kind) => kind.name(),
        }
    }

    /// Whether deliveries may carry a signature to verify: every choice but
    /// a driver that cannot sign (`auto` may detect one that can).
    pub fn may_sign(self) -> bool {
        match self {
            DriverChoice::Auto => true,
            DriverChoice::Kind(kind) => kind.supports_signature(),
        }
    }

    /// The driver for one delivery: the configured one, or the detected
    /// one (`None` when detection is unsure).
    pub fn for_delivery(
        self,
        headers: &http::HeaderMap,
        body: &serde_json::Value,
    ) -> Option<DriverKind> {
        match self {
            DriverChoice::Auto => DriverKind::detect(headers, body),
            DriverChoice::Kind(kind) => Some(kind),
        }
    }
}

impl fmt::Display for DriverChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A configured driver name that is neither `auto` nor a driver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown driver `{0}`; expected one of {names}", names = DriverChoice::NAMES.join(", "))]
pub struct UnknownChoice(pub String);

impl FromStr for DriverChoice {
    type Err = UnknownChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            return Ok(DriverChoice::Auto);
        }
        s.parse::<DriverKind>()
            .map(DriverChoice::Kind)
            .map_err(|UnknownDriver| UnknownChoice(s.to_string()))
    }
}

impl<'de> serde::Deserialize<'de> for DriverChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// One received delivery, as the drivers see it.
///
/// No `Debug`: the headers hold signatures and tokens.
#[derive(Clone, Copy)]
pub struct Delivery<'a> {
    /// Request headers.
    pub headers: &'a http::HeaderMap,
    /// The raw body, exactly as received (signatures cover these bytes).
    pub body: &'a [u8],
    /// The body parsed as JSON.
    pub json: &'a serde_json::Value,
    /// Receive time, unix seconds.
    pub now: i64,
}

/// What a source verifies deliveries with.
#[derive(Clone, Debug)]
pub struct Verifier {
    /// The source's secrets; several during rotation, any may match.
    pub secrets: Vec<SecretValue>,
    /// Replay window for timestamped schemes, seconds (default 300), in both
    /// directions.
    pub tolerance_secs: i64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            secrets: Vec::new(),
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
        }
    }
}

/// Why a delivery's signature or token was refused. Names headers, never
/// their values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The header that carries the signature, token or timestamp is absent
    /// or empty.
    #[error("missing {0} header")]
    MissingSignature(&'static str),
    /// The header is present but not in the sender's format (or repeated).
    #[error("malformed {0} header")]
    MalformedSignature(&'static str),
    /// No configured secret produces the presented signature or token.
    #[error("signature does not match")]
    BadSignature,
    /// The signed timestamp is further from the receive time than the
    /// tolerance (in seconds), either way.
    #[error("timestamp outside the {0}s tolerance")]
    StaleTimestamp(i64),
    /// The source has no usable (non-empty) secret.
    #[error("no secret is configured for this source")]
    NoSecret,
}

impl Rejection {
    /// A stable reason code for counters and the log.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::MissingSignature(_) => "missing_signature",
            Rejection::MalformedSignature(_) => "malformed_signature",
            Rejection::BadSignature => "bad_signature",
            Rejection::StaleTimestamp(_) => "stale_timestamp",
            Rejection::NoSecret => "no_secret",
        }
    }
}

/// A normalized delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalized {
    /// One or more alerts (never empty).
    Alerts(Vec<vigil_store::Alert>),
    /// An accepted delivery that carries no alert (a push, a ping, a
    /// pipeline still running, …).
    Other {
        /// The sender's event type (e.g. `push`, `Pipeline Hook`,
        /// `incident.acknowledged`).
        event_type: String,
        /// One-line summary.
        summary: String,
    },
}

impl Normalized {
    /// Gives every firing alert that has no end one, `lifetime` micros
    /// after `now` (micros): Alertmanager's `resolve_timeout`. The daemon
    /// resolves a firing alert whose end passes without a fresh copy.
    pub fn end_unended(&mut self, now: i64, lifetime: i64) {
        if let Normalized::Alerts(alerts) = self {
            for alert in alerts {
                if alert.status == vigil_store::AlertStatus::Firing && alert.ends_at.is_none() {
                    alert.ends_at = Some(now.saturating_add(lifetime));
                }
            }
        }
    }
}

/// The payload does not have the shape the driver expects.
///
/// The message names the JSON path and what was expected, e.g.
/// `alerts[2].status: expected "firing" or "resolved"`; it never quotes a
/// payload value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShapeError(pub String);
