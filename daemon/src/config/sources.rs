//! `[http]` and `[sources.NAME]`: the ingestion listener and what may post to it.

use super::values::{ByteSize, Interval};
use crate::config::SecretRef;
use crate::config::secret_ref::NOT_A_STRING;
use serde::{Deserialize, Deserializer};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use vigil_ingest::drivers::DriverChoice;

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Serve ingestion at all.
    pub enabled: bool,
    /// Address and port (loopback by default).
    pub listen: SocketAddr,
    /// PEM certificate chain; with `tls_key`, turns TLS on.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    pub tls_key: Option<PathBuf>,
    /// Allow plaintext on a non-loopback address (doctor flags it).
    pub insecure_plaintext: bool,
    /// Largest request body.
    pub max_body: ByteSize,
    /// Deepest JSON nesting accepted.
    pub max_json_depth: usize,
    /// Time allowed to send the request headers.
    pub header_timeout: Interval,
    /// Time allowed to send the body.
    pub body_timeout: Interval,
    /// Concurrent connections.
    pub max_connections: usize,
    /// Requests per second per API key (sustained) ...
    pub rate_per_key: u32,
    /// ... and the burst above it.
    pub burst_per_key: u32,
    /// Requests per second per client address (sustained) ...
    pub rate_per_ip: u32,
    /// ... and the burst above it.
    pub burst_per_ip: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 9470)),
            tls_cert: None,
            tls_key: None,
            insecure_plaintext: false,
            max_body: ByteSize(1024 * 1024),
            max_json_depth: 32,
            header_timeout: Interval(Duration::from_secs(10)),
            body_timeout: Interval(Duration::from_secs(30)),
            max_connections: 1024,
            rate_per_key: 2000,
            burst_per_key: 4000,
            rate_per_ip: 4000,
            burst_per_ip: 8000,
        }
    }
}

impl HttpConfig {
    /// Whether TLS is configured.
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }

    /// Whether the listener is reachable from the network in the clear.
    pub fn plaintext_exposed(&self) -> bool {
        self.enabled && !self.listen.ip().is_loopback() && !self.tls()
    }

    /// Why this listener may not start: exposed in the clear without
    /// `insecure_plaintext = true`.
    pub fn refusal(&self) -> Option<String> {
        (self.plaintext_exposed() && !self.insecure_plaintext).then(|| {
            format!(
                "{} is not a loopback address: configure tls_cert and tls_key, or set insecure_plaintext = true to accept webhooks and API keys in the clear",
                self.listen
            )
        })
    }
}

/// How a source's deliveries are verified beyond the API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Verify {
    /// The driver's signature or token scheme (required when it has one).
    #[default]
    Signature,
    /// None: the API key alone (doctor flags it for drivers that can sign).
    None,
}

/// `[sources.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Which sender this is, or `auto` to detect it per delivery.
    pub driver: DriverChoice,
    /// Signature secret(s): one, or a list while rotating (any may match).
    #[serde(default)]
    pub secret: SecretList,
    /// Signature verification.
    #[serde(default)]
    pub verify: Verify,
    /// Keep the (redacted) raw payload in the event.
    #[serde(default)]
    pub store_raw: bool,
    /// Replay window for timestamped signatures.
    #[serde(default = "default_tolerance")]
    pub tolerance: Interval,
    /// How long a firing alert without an end stays firing unless sent
    /// again (Alertmanager's `resolve_timeout`); `0s` never. Default: 5m
    /// for `driver = "prometheus"`, never for the rest.
    #[serde(default)]
    pub resolve_timeout: Option<Interval>,
}

/// Alertmanager's default `resolve_timeout`.
const PROMETHEUS_RESOLVE_TIMEOUT: Duration = Duration::from_secs(300);

impl SourceConfig {
    /// The lifetime given to firing alerts without an end, if any.
    pub fn resolve_timeout(&self) -> Option<Duration> {
        let prometheus =
            self.driver == DriverChoice::Kind(vigil_ingest::drivers::DriverKind::Prometheus);
        match self.resolve_timeout {
            Some(Interval(d)) if d.is_zero() => None,
            Some(Interval(d)) => Some(d),
            None => prometheus.then_some(PROMETHEUS_RESOLVE_TIMEOUT),
        }
    }
}

fn default_tolerance() -> Interval {
    Interval(Duration::from_secs(300))
}

/// One secret reference or several.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretList(pub Vec<SecretRef>);

impl<'de> Deserialize<'de> for SecretList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = SecretList;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a secret reference, or a list of them")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretList, E> {
                SecretRef::parse(v)
                    .map(|r| SecretList(vec![r]))
                    .map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<SecretList, E> {
                Err(E::custom(NOT_A_STRING))
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<SecretList, E> {
                Err(E::custom(NOT_A_STRING))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<SecretList, E> {
                Err(E::custom(NOT_A_STRING))
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<SecretList, E> {
                Err(E::custom(NOT_A_STRING))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<SecretList, A::Error> {
                let mut out = Vec::new();
                while let Some(r) = seq.next_element::<SecretRef>()? {
                    out.push(r);
                }
                Ok(SecretList(out))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Whether a source name is acceptable (it is part of the URL path).
pub fn valid_source_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'))
}
