//! `[forward]`: this host's chain forwarded to a NATS JetStream stream.
//!
//! ```toml
//! [forward]
//! servers = ["tls://nats1.example:4222", "tls://nats2.example:4222"]
//! stream = "VIGIL"                  # created if absent
//! subject = "vigil.{host}.entries"  # {host}: the host's name
//! host = "db1"                      # default: the machine's host name
//! replicas = 3                      # when the stream is created
//! max_age = "400d"                  # when the stream is created; absent: forever
//!
//! [forward.tls]
//! ca = "/etc/vigil/nats-ca.pem"
//! cert = "/etc/vigil/nats-client.pem"
//! key = "cred:nats-client-key"
//!
//! [forward.auth]
//! user = "vigil-db1"
//! password = "secret:nats-password"  # or token = "..."; or a client certificate
//! ```
//!
//! Credentials are references only (`secret:`, `cred:`, `file:`, `env:`):
//! a password written inline is refused here.

use super::SecretRef;
use super::values::Interval;
use serde::{Deserialize, Deserializer};
use std::path::PathBuf;
use std::time::Duration;

/// `[forward]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardConfig {
    /// `nats://host:port` or `tls://host:port`, at least one.
    pub servers: Vec<String>,
    /// The JetStream stream.
    #[serde(default = "default_stream")]
    pub stream: String,
    /// The subject, `{host}` replaced by the host's name.
    #[serde(default = "default_subject")]
    pub subject: String,
    /// The host's name (default: the machine's).
    #[serde(default)]
    pub host: Option<String>,
    /// Replicas of a stream this host creates.
    #[serde(default = "default_replicas")]
    pub replicas: usize,
    /// Age limit of a stream this host creates (absent: none).
    #[serde(default)]
    pub max_age: Option<Interval>,
    /// How long the broker remembers message ids to drop a resend.
    #[serde(default = "default_duplicate_window")]
    pub duplicate_window: Interval,
    /// Entries read from the log and published per round.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Publications awaiting their acknowledgement at once.
    #[serde(default = "default_in_flight")]
    pub max_in_flight: usize,
    /// How long a connection attempt or an acknowledgement may take.
    #[serde(default = "default_timeout")]
    pub timeout: Interval,
    /// How long the broker may be unreachable (with entries waiting)
    /// before an alert is raised.
    #[serde(default = "default_alert_after")]
    pub alert_after: Interval,
    /// TLS toward the servers.
    #[serde(default)]
    pub tls: Option<ForwardTls>,
    /// The login.
    #[serde(default)]
    pub auth: ForwardAuth,
}

/// `[forward.tls]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardTls {
    /// CA certificates (PEM) the servers must chain to (default: the system's).
    pub ca: Option<PathBuf>,
    /// A client certificate chain (PEM).
    pub cert: Option<PathBuf>,
    /// Its private key (PEM), as a reference.
    pub key: Option<Referenced>,
}

/// `[forward.auth]`: at most one of the logins.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardAuth {
    /// User name (with `password`).
    pub user: Option<String>,
    /// Password.
    pub password: Option<Referenced>,
    /// Token.
    pub token: Option<Referenced>,
}

/// A secret given by reference, never inline.
#[derive(Debug, Clone, PartialEq)]
pub struct Referenced(pub SecretRef);

impl<'de> Deserialize<'de> for Referenced {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let reference = SecretRef::deserialize(d)?;
        if reference.is_inline() {
            return Err(serde::de::Error::custom(
                "forwarding credentials are never written inline: use secret:NAME (the vault), cred:NAME, file:/PATH or env:VAR",
            ));
        }
        Ok(Referenced(reference))
    }
}

fn default_stream() -> String {
    "VIGIL".into()
}
/// `[forward] subject` unless set.
pub const DEFAULT_SUBJECT: &str = "vigil.{host}.entries";

fn default_subject() -> String {
    DEFAULT_SUBJECT.into()
}
fn default_replicas() -> usize {
    1
}
fn default_duplicate_window() -> Interval {
    Interval(Duration::from_secs(120))
}
fn default_batch() -> usize {
    1024
}
fn default_in_flight() -> usize {
    256
}
fn default_timeout() -> Interval {
    Interval(Duration::from_secs(5))
}
fn default_alert_after() -> Interval {
    Interval(Duration::from_secs(300))
}

/// A `[forward]` mistake: which key, and what.
pub struct ForwardProblem {
    /// The key under `[forward]` (a dotted path below it).
    pub key: &'static [&'static str],
    /// What is wrong.
    pub message: String,
}

impl ForwardConfig {
    /// What the types cannot check.
    pub fn check(&self) -> Result<(), ForwardProblem> {
        let problem = |key, message: String| Err(ForwardProblem { key, message });
        if self.servers.is_empty() {
            return problem(&["servers"], "name at least one server".into());
        }
        for server in &self.servers {
            let rest = server
                .strip_prefix("nats://")
                .or_else(|| server.strip_prefix("tls://"));
            if rest.is_none_or(|r| r.is_empty() || r.contains('/')) {
                return problem(
                    &["servers"],
                    format!("`{server}` is not nats://HOST:PORT or tls://HOST:PORT"),
                );
            }
            if server.starts_with("tls://") && self.tls.is_none() {
                return problem(
                    &["servers"],
                    format!(
                        "`{server}` asks for TLS: add [forward.tls] (ca = \"...\" unless the system's CAs apply)"
                    ),
                );
            }
        }
        let valid_stream = !self.stream.is_empty()
            && self.stream.len() <= 255
            && self
                .stream
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_stream {
            return problem(
                &["stream"],
                format!(
                    "stream name `{}` must be 1 to 255 of A-Z a-z 0-9 - _",
                    self.stream
                ),
            );
        }
        if let Err(e) = check_subject(&self.subject) {
            return problem(&["subject"], e);
        }
        if !(1..=5).contains(&self.replicas) {
            return problem(&["replicas"], "replicas must be 1 to 5".into());
        }
        if !(1..=65_536).contains(&self.batch) {
            return problem(&["batch"], "batch must be 1 to 65536".into());
        }
        if !(1..=65_536).contains(&self.max_in_flight) {
            return problem(
                &["max_in_flight"],
                "max_in_flight must be 1 to 65536".into(),
            );
        }
        let auth = &self.auth;
        if (auth.user.is_some() || auth.password.is_some()) && auth.token.is_some() {
            return problem(
                &["auth"],
                "give one login: user and password, or token".into(),
            );
        }
        if auth.user.is_some() != auth.password.is_some() {
            return problem(&["auth"], "give both user and password".into());
        }
        if let Some(tls) = &self.tls
            && tls.cert.is_some() != tls.key.is_some()
        {
            return problem(&["tls"], "give both cert and key, or neither".into());
        }
        Ok(())
    }
}

/// Whether a subject template is usable: non-empty tokens, no wildcards,
/// and `{host}` a whole token (or absent).
fn check_subject(template: &str) -> Result<(), String> {
    if template.is_empty() {
        return Err("the subject is empty".into());
    }
    for token in template.split('.') {
        if token.is_empty() {
            return Err(format!(
                "`{template}` has an empty token (`..`, or a dot at an end)"
            ));
        }
        if token == "{host}" {
            continue;
        }
        if token.contains("{host}") {
            return Err("`{host}` must be a whole token, like `vigil.{host}.entries`".into());
        }
        if token
            .chars()
            .any(|c| c == '*' || c == '>' || c.is_whitespace())
        {
            return Err(format!(
                "`{template}`: a subject to publish on cannot hold `*`, `>` or spaces"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_templates_are_checked() {
        assert!(check_subject(DEFAULT_SUBJECT).is_ok());
        assert!(check_subject("audit.chains").is_ok());
        for bad in ["", "vigil..x", "vigil.*", "vigil.>", "vigil.x{host}", "a b"] {
            assert!(check_subject(bad).is_err(), "{bad}");
        }
    }
}
