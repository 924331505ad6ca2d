//! Driver tests, most driven by `tests/fixtures/webhooks/` (see its
//! README): the fixtures are the senders' published shapes, and the tests
//! sign their exact bytes.
//!
//! * Verification per driver (valid, wrong secret, missing, malformed, no
//!   secret, rotation) in [`signatures`]; each scheme's details and the
//!   published test vectors in [`signature_schemes`] and, for the generic
//!   driver's Standard Webhooks, [`standard_webhooks`].
//! * Duplicate-detection ids in [`delivery_ids`].
//! * Every fixture normalized, field by field, in [`normalize_alerting`] and
//!   [`normalize_ci`].
//! * Wrong-shaped payloads (the message names the JSON path, never a value)
//!   in [`shape_errors`]; alert counts, map sizes and truncation in
//!   [`limits`].
//! * Auto-detection in [`detect`], and odd input that must never panic in
//!   [`robustness`].

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod delivery_ids;
mod detect;
mod limits;
mod normalize_alerting;
mod normalize_ci;
mod robustness;
mod shape_errors;
mod signature_schemes;
mod signatures;
mod standard_webhooks;
mod times;

use super::{Delivery, DriverKind, Normalized, Rejection, ShapeError, Verifier};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use sha2::Sha256;
use vigil_store::{Alert, SecretValue};

/// A fixed receive time (2025-01-22T10:00:00Z) for signature tests.
const NOW: i64 = 1_737_540_000;

/// A fixture's text, by path under `tests/fixtures/webhooks/`.
macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!("../../../../tests/fixtures/webhooks/", $path))
    };
}

const AM_FIRING: &str = fixture!("alertmanager/firing.json");
const AM_RESOLVED: &str = fixture!("alertmanager/resolved.json");
const GRAFANA_FIRING: &str = fixture!("grafana/firing.json");
const GH_WORKFLOW_FAILURE: &str = fixture!("github/workflow_run_failure.json");
const GH_WORKFLOW_SUCCESS: &str = fixture!("github/workflow_run_success.json");
const GH_CHECK_RUN_FAILURE: &str = fixture!("github/check_run_failure.json");
const GH_PUSH: &str = fixture!("github/push.json");
const GH_PING: &str = fixture!("github/ping.json");
const GL_PIPELINE_FAILED: &str = fixture!("gitlab/pipeline_failed.json");
const GL_PIPELINE_SUCCESS: &str = fixture!("gitlab/pipeline_success.json");
const GL_JOB_FAILED: &str = fixture!("gitlab/job_failed.json");
const JENKINS_FAILURE: &str = fixture!("jenkins/failure.json");
const JENKINS_SUCCESS: &str = fixture!("jenkins/success.json");
const PD_TRIGGERED: &str = fixture!("pagerduty/incident_triggered.json");
const PD_RESOLVED: &str = fixture!("pagerduty/incident_resolved.json");
const GENERIC_ALERT: &str = fixture!("generic/alert.json");
const GENERIC_BATCH: &str = fixture!("generic/batch.json");
const PROM_ALERTS: &str = fixture!("prometheus/alerts.json");

/// One fixture: its name, driver, and the event header its sender would add
/// (GitHub and GitLab select the payload's shape by it).
struct Fixture {
    name: &'static str,
    kind: DriverKind,
    event: Option<(&'static str, &'static str)>,
    text: &'static str,
}

impl Fixture {
    /// The delivery as its sender would make it, unsigned.
    fn req(&self) -> Req {
        Req::fixture(self.text, self.event)
    }
}

/// Every fixture.
fn fixtures() -> Vec<Fixture> {
    use DriverKind::*;
    let gh = |event| Some(("X-GitHub-Event", event));
    let gl = |event| Some(("X-Gitlab-Event", event));
    let f = |name, kind, event, text| Fixture {
        name,
        kind,
        event,
        text,
    };
    vec![
        f("alertmanager/firing", Alertmanager, None, AM_FIRING),
        f("alertmanager/resolved", Alertmanager, None, AM_RESOLVED),
        f("grafana/firing", Grafana, None, GRAFANA_FIRING),
        f(
            "github/workflow_run_failure",
            Github,
            gh("workflow_run"),
            GH_WORKFLOW_FAILURE,
        ),
        f(
            "github/workflow_run_success",
            Github,
            gh("workflow_run"),
            GH_WORKFLOW_SUCCESS,
        ),
        f(
            "github/check_run_failure",
            Github,
            gh("check_run"),
            GH_CHECK_RUN_FAILURE,
        ),
        f("github/push", Github, gh("push"), GH_PUSH),
        f("github/ping", Github, gh("ping"), GH_PING),
        f(
            "gitlab/pipeline_failed",
            Gitlab,
            gl("Pipeline Hook"),
            GL_PIPELINE_FAILED,
        ),
        f(
            "gitlab/pipeline_success",
            Gitlab,
            gl("Pipeline Hook"),
            GL_PIPELINE_SUCCESS,
        ),
        f("gitlab/job_failed", Gitlab, gl("Job Hook"), GL_JOB_FAILED),
        f("jenkins/failure", Jenkins, None, JENKINS_FAILURE),
        f("jenkins/success", Jenkins, None, JENKINS_SUCCESS),
        f(
            "pagerduty/incident_triggered",
            Pagerduty,
            None,
            PD_TRIGGERED,
        ),
        f("pagerduty/incident_resolved", Pagerduty, None, PD_RESOLVED),
        f("generic/alert", Generic, None, GENERIC_ALERT),
        f("generic/batch", Generic, None, GENERIC_BATCH),
        f("prometheus/alerts", Prometheus, None, PROM_ALERTS),
    ]
}

/// An owned delivery under construction.
struct Req {
    headers: HeaderMap,
    body: Vec<u8>,
    json: Value,
    now: i64,
}

impl Req {
    /// A delivery of exactly `body` (parsed as JSON, `null` if it is not).
    fn raw(body: &[u8]) -> Req {
        Req {
            headers: HeaderMap::new(),
            body: body.to_vec(),
            json: serde_json::from_slice(body).unwrap_or(Value::Null),
            now: NOW,
        }
    }

    /// A delivery of `value`, serialized.
    fn json(value: &Value) -> Req {
        Req::raw(&serde_json::to_vec(value).unwrap())
    }

    /// A fixture with its sender's event header, if any.
    fn fixture(text: &str, event: Option<(&'static str, &'static str)>) -> Req {
        let req = Req::raw(text.as_bytes());
        match event {
            Some((name, value)) => req.header(name, value),
            None => req,
        }
    }

    /// Appends a header (a second call with the same name repeats it).
    fn header(self, name: &str, value: &str) -> Req {
        self.header_bytes(name, value.as_bytes())
    }

    /// Appends a header with arbitrary bytes as its value.
    fn header_bytes(mut self, name: &str, value: &[u8]) -> Req {
        let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
        self.headers
            .append(name, HeaderValue::from_bytes(value).unwrap());
        self
    }

    /// Sets the receive time.
    fn at(mut self, now: i64) -> Req {
        self.now = now;
        self
    }

    fn delivery(&self) -> Delivery<'_> {
        Delivery {
            headers: &self.headers,
            body: &self.body,
            json: &self.json,
            now: self.now,
        }
    }

    fn verify(&self, kind: DriverKind, secrets: &[&str]) -> Result<(), Rejection> {
        kind.verify(&self.delivery(), &verifier(secrets))
    }

    fn normalize(&self, kind: DriverKind) -> Result<Normalized, ShapeError> {
        kind.normalize("test-source", &self.delivery())
    }

    /// The alerts, failing the test on anything else.
    fn alerts(&self, kind: DriverKind) -> Vec<Alert> {
        match self.normalize(kind) {
            Ok(Normalized::Alerts(alerts)) => alerts,
            Ok(Normalized::Other { event_type, .. }) => {
                panic!("{kind}: expected alerts, got Other({event_type})")
            }
            Err(e) => panic!("{kind}: expected alerts, got {e}"),
        }
    }

    /// The one alert, failing the test on anything else.
    fn alert(&self, kind: DriverKind) -> Alert {
        let mut alerts = self.alerts(kind);
        assert_eq!(alerts.len(), 1, "{kind}: expected exactly one alert");
        alerts.remove(0)
    }

    /// `(event_type, summary)` of an accepted delivery without alerts.
    fn other(&self, kind: DriverKind) -> (String, String) {
        match self.normalize(kind) {
            Ok(Normalized::Other {
                event_type,
                summary,
            }) => (event_type, summary),
            Ok(Normalized::Alerts(alerts)) => {
                panic!("{kind}: expected Other, got {} alert(s)", alerts.len())
            }
            Err(e) => panic!("{kind}: expected Other, got {e}"),
        }
    }

    /// The shape error's message, failing the test if there is none.
    fn shape_error(&self, kind: DriverKind) -> String {
        match self.normalize(kind) {
            Err(ShapeError(message)) => message,
            Ok(_) => panic!("{kind}: expected a shape error"),
        }
    }

    /// Signs (or authenticates) the delivery as `kind`'s sender would
    /// under `secret`. Grafana signs with a timestamp header (the
    /// recommended configuration); the generic driver with id `msg_test`.
    fn signed(self, kind: DriverKind, secret: &str) -> Req {
        let now = self.now.to_string();
        let body = self.body.clone();
        match kind {
            DriverKind::Alertmanager | DriverKind::Prometheus => self,
            DriverKind::Grafana => {
                let sig = hex::encode(hmac(secret.as_bytes(), &[now.as_bytes(), b":", &body]));
                self.header("X-Grafana-Alerting-Signature", &sig)
                    .header("X-Grafana-Alerting-Signature-Timestamp", &now)
            }
            DriverKind::Github => {
                let sig = hex::encode(hmac(secret.as_bytes(), &[&body]));
                self.header("X-Hub-Signature-256", &format!("sha256={sig}"))
            }
            DriverKind::Gitlab => self.header("X-Gitlab-Token", secret),
            DriverKind::Jenkins => self.header("X-Jenkins-Token", secret),
            DriverKind::Pagerduty => {
                let sig = hex::encode(hmac(secret.as_bytes(), &[&body]));
                self.header("X-PagerDuty-Signature", &format!("v1={sig}"))
            }
            DriverKind::Generic => {
                let sig = standard_webhooks_signature(secret, "msg_test", &now, &body);
                self.header("webhook-id", "msg_test")
                    .header("webhook-timestamp", &now)
                    .header("webhook-signature", &sig)
            }
        }
    }
}

/// A verifier holding `secrets`, default tolerance.
fn verifier(secrets: &[&str]) -> Verifier {
    Verifier {
        secrets: secrets
            .iter()
            .map(|s| SecretValue::from_string((*s).to_owned()))
            .collect(),
        ..Verifier::default()
    }
}

/// HMAC-SHA256 of the concatenated `parts`.
fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `v1,<base64>` over `id.timestamp.body`, key per Standard Webhooks.
fn standard_webhooks_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = match secret.strip_prefix("whsec_") {
        Some(encoded) => STANDARD.decode(encoded).unwrap(),
        None => secret.as_bytes().to_vec(),
    };
    let tag = hmac(
        &key,
        &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    );
    format!("v1,{}", STANDARD.encode(tag))
}

/// The drivers whose senders sign or authenticate deliveries.
fn signing_drivers() -> impl Iterator<Item = DriverKind> {
    DriverKind::ALL
        .into_iter()
        .filter(|kind| kind.supports_signature())
}

/// A body fit for `kind` (its first fixture) with the event header.
fn sample(kind: DriverKind) -> Req {
    fixtures()
        .into_iter()
        .find(|f| f.kind == kind)
        .map(|f| f.req())
        .unwrap()
}

/// Parses a fixture to edit it.
fn value(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}
