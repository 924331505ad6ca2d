//! One webhook driver against one delivery ([`crate::delivery`] format):
//! its signature check, its delivery id, its normalization and detection,
//! each held to what `vigil_ingest::drivers` documents.
//!
//! Signatures are checked against an independent implementation of each
//! sender's scheme (written here from the schemes' documentation, not from
//! the drivers' code):
//!
//! * a delivery accepted as it came, or refused as *stale*, must carry a
//!   correct signature or token for its body under one of the secrets;
//! * the same body signed here with the source's secret must be accepted,
//!   signed with another secret refused as a bad signature, and signed too
//!   long ago refused as stale.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use sha2::Sha256;
use vigil_ingest::drivers::{
    DEFAULT_TOLERANCE_SECS, Delivery, DriverKind, MAX_ALERTS, MAX_KEY_BYTES, MAX_LINKS,
    MAX_MAP_ENTRIES, MAX_SUMMARY_BYTES, MAX_VALUE_BYTES, Normalized, Rejection, ShapeError,
    Verifier,
};
use vigil_ingest::redact::Redactor;
use vigil_store::{Labels, SecretValue};

/// The receive time of every delivery (2025-01-22T10:00:00Z).
pub const NOW: i64 = 1_737_540_000;
/// The source's current secret.
pub const SECRET: &str = "fuzz-secret";
/// A secret from before a rotation, still accepted.
pub const OLD_SECRET: &str = "old-secret";
/// A Standard Webhooks secret (`whsec_` and base64 of the key).
pub const WHSEC: &str = "whsec_ZnV6ei1nZW5lcmljLWtleQ==";
/// The secret a forger guesses.
const WRONG_SECRET: &str = "not-the-secret";
/// The delivery id of re-signed Standard Webhooks deliveries.
const MESSAGE_ID: &str = "msg_fuzz";

/// The source's secrets: an empty one (which must never match), the old
/// one, the current one and a `whsec_` one.
pub fn secrets() -> Vec<&'static str> {
    vec!["", OLD_SECRET, SECRET, WHSEC]
}

fn verifier(secrets: &[&str]) -> Verifier {
    Verifier {
        secrets: secrets
            .iter()
            .map(|s| SecretValue::new(s.as_bytes().to_vec()))
            .collect(),
        tolerance_secs: DEFAULT_TOLERANCE_SECS,
    }
}

/// Runs every check of driver `kind` on `data`.
pub fn run(kind: DriverKind, data: &[u8]) {
    let (headers, body) = crate::delivery::parse(data);
    // The daemon parses JSON (at most 32 levels deep) before any driver
    // runs; serde_json's own limit of 128 levels stands in for that here.
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let json = parsed.clone().unwrap_or(Value::Null);
    let delivery = Delivery {
        headers: &headers,
        body,
        json: &json,
        now: NOW,
    };

    check_signature(kind, &delivery);
    if parsed.is_some() {
        check_delivery_id(kind, &delivery);
        check_normalize(kind, &delivery);
        let detected = DriverKind::detect(&headers, &json);
        assert_eq!(detected, DriverKind::detect(&headers, &json));
    }
}

/// The signature checks (see the module documentation).
fn check_signature(kind: DriverKind, delivery: &Delivery<'_>) {
    let secrets = secrets();
    let result = kind.verify(delivery, &verifier(&secrets));
    if !kind.supports_signature() {
        assert_eq!(result, Ok(()), "{kind} has nothing to verify");
        return;
    }
    match &result {
        Ok(()) | Err(Rejection::StaleTimestamp(_)) => assert!(
            authentic(kind, delivery.headers, delivery.body, &secrets),
            "{kind}: {result:?} for a delivery without a valid signature"
        ),
        Err(_) => {}
    }
    if let Err(rejection) = &result {
        // A stable reason for counters and logs; the message names no value.
        assert!(!rejection.reason().is_empty());
    }

    // Signed here with the current secret: accepted.
    let signed = resign(kind, delivery.headers, delivery.body, SECRET, NOW);
    let good = Delivery {
        headers: &signed,
        ..*delivery
    };
    assert_eq!(
        kind.verify(&good, &verifier(&secrets)),
        Ok(()),
        "{kind} refused a delivery signed with its secret"
    );
    // Also with the old secret, during a rotation.
    let old = resign(kind, delivery.headers, delivery.body, OLD_SECRET, NOW);
    assert_eq!(
        kind.verify(
            &Delivery {
                headers: &old,
                ..*delivery
            },
            &verifier(&secrets)
        ),
        Ok(()),
        "{kind} refused a delivery signed with its previous secret"
    );
    // With no usable secret, nothing is accepted.
    assert_eq!(
        kind.verify(&good, &verifier(&[""])),
        Err(Rejection::NoSecret),
        "{kind} without a secret"
    );
    // Signed with another secret: refused.
    let forged = resign(kind, delivery.headers, delivery.body, WRONG_SECRET, NOW);
    assert_eq!(
        kind.verify(
            &Delivery {
                headers: &forged,
                ..*delivery
            },
            &verifier(&secrets)
        ),
        Err(Rejection::BadSignature),
        "{kind} and a signature under another secret"
    );
    // Signed too long ago (timestamped schemes only): refused as stale.
    if matches!(kind, DriverKind::Grafana | DriverKind::Generic) {
        let then = NOW - DEFAULT_TOLERANCE_SECS - 1;
        let stale = resign(kind, delivery.headers, delivery.body, SECRET, then);
        assert_eq!(
            kind.verify(
                &Delivery {
                    headers: &stale,
                    ..*delivery
                },
                &verifier(&secrets)
            ),
            Err(Rejection::StaleTimestamp(DEFAULT_TOLERANCE_SECS)),
            "{kind} and a replayed delivery"
        );
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The Standard Webhooks key of a secret: base64 after `whsec_`, else the
/// secret's bytes.
fn standard_key(secret: &str) -> Option<Vec<u8>> {
    match secret.strip_prefix("whsec_") {
        Some(encoded) => STANDARD.decode(encoded).ok(),
        None => Some(secret.as_bytes().to_vec()),
    }
    .filter(|key| !key.is_empty())
}

/// Every value of header `name` that is text, trimmed.
fn values<'h>(headers: &'h HeaderMap, name: &str) -> Vec<&'h str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .collect()
}

/// Whether `headers` carry a correct signature or token for `body` under
/// one of the non-empty `secrets`, by each sender's published scheme (and
/// leniently: anywhere in the header).
fn authentic(kind: DriverKind, headers: &HeaderMap, body: &[u8], secrets: &[&str]) -> bool {
    let secrets: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    let contains = |name: &str, needle: &str| {
        values(headers, name).iter().any(|v| {
            v.to_ascii_lowercase()
                .contains(&needle.to_ascii_lowercase())
        })
    };
    match kind {
        DriverKind::Alertmanager | DriverKind::Prometheus => true,
        DriverKind::Github => secrets.iter().any(|s| {
            let tag = hex::encode(mac(s.as_bytes(), &[body]));
            contains("X-Hub-Signature-256", &format!("sha256={tag}"))
        }),
        DriverKind::Pagerduty => secrets.iter().any(|s| {
            let tag = hex::encode(mac(s.as_bytes(), &[body]));
            contains("X-PagerDuty-Signature", &format!("v1={tag}"))
        }),
        DriverKind::Grafana => secrets.iter().any(|s| {
            let plain = hex::encode(mac(s.as_bytes(), &[body]));
            let timed = values(headers, "X-Grafana-Alerting-Signature-Timestamp")
                .into_iter()
                .map(|t| hex::encode(mac(s.as_bytes(), &[t.as_bytes(), b":", body])));
            std::iter::once(plain)
                .chain(timed)
                .any(|tag| contains("X-Grafana-Alerting-Signature", &tag))
        }),
        DriverKind::Gitlab | DriverKind::Jenkins => {
            let name = if kind == DriverKind::Gitlab {
                "X-Gitlab-Token"
            } else {
                "X-Jenkins-Token"
            };
            values(headers, name).iter().any(|v| secrets.contains(v))
        }
        DriverKind::Generic => secrets.iter().filter_map(|s| standard_key(s)).any(|key| {
            values(headers, "webhook-id").iter().any(|id| {
                values(headers, "webhook-timestamp").iter().any(|ts| {
                    let tag = mac(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
                    let tag = STANDARD.encode(tag);
                    values(headers, "webhook-signature")
                        .iter()
                        .any(|v| v.contains(&format!("v1,{tag}")))
                })
            })
        }),
    }
}

/// Every header a driver reads for its signature, token or timestamp.
const SIGNING_HEADERS: [&str; 8] = [
    "X-Hub-Signature-256",
    "X-PagerDuty-Signature",
    "X-Grafana-Alerting-Signature",
    "X-Grafana-Alerting-Signature-Timestamp",
    "X-Gitlab-Token",
    "X-Jenkins-Token",
    "webhook-signature",
    "webhook-timestamp",
];

/// `headers` with the signing headers replaced by ones a sender holding
/// `secret` would send at `time` (the other headers kept).
pub fn resign(
    kind: DriverKind,
    headers: &HeaderMap,
    body: &[u8],
    secret: &str,
    time: i64,
) -> HeaderMap {
    let mut out = headers.clone();
    for name in SIGNING_HEADERS.iter().chain(&["webhook-id"]) {
        out.remove(*name);
    }
    for (name, value) in signing_headers(kind, body, secret, time) {
        out.append(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).expect("a header value"),
        );
    }
    out
}

/// The headers a sender holding `secret` adds to `body` at `time`.
pub fn signing_headers(
    kind: DriverKind,
    body: &[u8],
    secret: &str,
    time: i64,
) -> Vec<(&'static str, String)> {
    let ts = time.to_string();
    match kind {
        DriverKind::Alertmanager | DriverKind::Prometheus => vec![],
        DriverKind::Github => vec![(
            "x-hub-signature-256",
            format!("sha256={}", hex::encode(mac(secret.as_bytes(), &[body]))),
        )],
        DriverKind::Pagerduty => vec![(
            "x-pagerduty-signature",
            format!("v1={}", hex::encode(mac(secret.as_bytes(), &[body]))),
        )],
        DriverKind::Grafana => vec![
            (
                "x-grafana-alerting-signature",
                hex::encode(mac(secret.as_bytes(), &[ts.as_bytes(), b":", body])),
            ),
            ("x-grafana-alerting-signature-timestamp", ts),
        ],
        DriverKind::Gitlab => vec![("x-gitlab-token", secret.to_owned())],
        DriverKind::Jenkins => vec![("x-jenkins-token", secret.to_owned())],
        DriverKind::Generic => {
            let key = standard_key(secret).expect("a usable secret");
            let tag = mac(
                &key,
                &[MESSAGE_ID.as_bytes(), b".", ts.as_bytes(), b".", body],
            );
            vec![
                ("webhook-id", MESSAGE_ID.to_owned()),
                ("webhook-timestamp", ts),
                ("webhook-signature", format!("v1,{}", STANDARD.encode(tag))),
            ]
        }
    }
}

/// A delivery id is trimmed and 1 to 200 printable ASCII characters.
fn check_delivery_id(kind: DriverKind, delivery: &Delivery<'_>) {
    if let Some(id) = kind.delivery_id(delivery) {
        assert!(
            (1..=200).contains(&id.len())
                && id.bytes().all(|b| (0x20..=0x7e).contains(&b))
                && id.trim() == id,
            "{kind}: delivery id {id:?}"
        );
    }
}

/// Normalization stays within the documented limits, is deterministic,
/// and its errors quote nothing from the payload. Then the alerts are
/// redacted as the daemon stores them, and redaction is idempotent.
fn check_normalize(kind: DriverKind, delivery: &Delivery<'_>) {
    let result = kind.normalize("fuzz", delivery);
    assert_eq!(
        result,
        kind.normalize("fuzz", delivery),
        "{kind}: not deterministic"
    );
    match result {
        Err(ShapeError(message)) => check_shape_error(kind, &message),
        Ok(Normalized::Other {
            event_type,
            summary,
        }) => {
            assert!(
                !event_type.is_empty() && event_type.len() <= 128 && crate::no_control(&event_type),
                "{kind}: event type {event_type:?}"
            );
            check_summary(kind, &summary);
        }
        Ok(Normalized::Alerts(mut alerts)) => {
            assert!(
                !alerts.is_empty() && alerts.len() <= MAX_ALERTS,
                "{kind}: {} alerts",
                alerts.len()
            );
            for alert in &alerts {
                check_summary(kind, &alert.summary);
                check_map(kind, "labels", &alert.labels);
                check_map(kind, "annotations", &alert.annotations);
                let fp = &alert.fingerprint;
                assert!(
                    !fp.is_empty() && fp.len() <= 256,
                    "{kind}: fingerprint of {} bytes",
                    fp.len()
                );
                assert!(alert.links.len() <= MAX_LINKS, "{kind}: links");
                for (i, link) in alert.links.iter().enumerate() {
                    assert!(
                        !link.is_empty()
                            && link.len() <= MAX_VALUE_BYTES
                            && link.trim() == link
                            && !alert.links[..i].contains(link),
                        "{kind}: link {link:?}"
                    );
                }
            }
            let redactor = Redactor::default();
            for alert in &mut alerts {
                redactor.redact_alert(alert);
            }
            let once = alerts.clone();
            for alert in &mut alerts {
                redactor.redact_alert(alert);
            }
            assert_eq!(once, alerts, "{kind}: redacting an alert twice changed it");
        }
    }
}

/// A shape error is `path: expected …` built from the drivers' own ASCII
/// literals, never from payload text (keys included): so it is printable
/// ASCII whatever the payload holds.
fn check_shape_error(kind: DriverKind, message: &str) {
    assert!(
        !message.is_empty() && message.bytes().all(|b| (0x20..=0x7e).contains(&b)),
        "{kind}: shape error quotes something: {message:?}"
    );
    assert!(message.contains(": "), "{kind}: shape error {message:?}");
}

/// A summary is one line of at most [`MAX_SUMMARY_BYTES`].
fn check_summary(kind: DriverKind, summary: &str) {
    assert!(
        summary.len() <= MAX_SUMMARY_BYTES && crate::no_control(summary),
        "{kind}: summary {summary:?}"
    );
}

/// At most [`MAX_MAP_ENTRIES`] entries, keys of 1 to [`MAX_KEY_BYTES`],
/// values of at most [`MAX_VALUE_BYTES`].
fn check_map(kind: DriverKind, what: &str, map: &Labels) {
    assert!(map.len() <= MAX_MAP_ENTRIES, "{kind}: {} {what}", map.len());
    for (key, value) in map {
        assert!(
            (1..=MAX_KEY_BYTES).contains(&key.len()),
            "{kind}: {what} key of {} bytes",
            key.len()
        );
        assert!(
            value.len() <= MAX_VALUE_BYTES,
            "{kind}: {what} value of {} bytes",
            value.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every committed seed of a signing driver verifies as it is, so the
    /// fuzzer starts from accepted deliveries.
    #[test]
    fn signed_seeds_verify() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        for kind in DriverKind::ALL {
            let dir = corpus.join(format!("driver_{}", kind.name()));
            let mut seen = 0;
            for file in std::fs::read_dir(&dir).expect("a seed directory") {
                let data = std::fs::read(file.expect("an entry").path()).expect("a seed");
                let (headers, body) = crate::delivery::parse(&data);
                let json: Value = serde_json::from_slice(body).expect("a JSON body");
                let delivery = Delivery {
                    headers: &headers,
                    body,
                    json: &json,
                    now: NOW,
                };
                assert_eq!(
                    kind.verify(&delivery, &verifier(&secrets())),
                    Ok(()),
                    "{kind}"
                );
                assert!(authentic(kind, &headers, body, &secrets()), "{kind}");
                assert!(kind.normalize("fuzz", &delivery).is_ok(), "{kind}");
                run(kind, &data);
                seen += 1;
            }
            assert!(seen > 0, "no seed for {kind}");
        }
    }
}
