//! Jenkins Notification plugin, JSON format over HTTP
//! (<https://plugins.jenkins.io/notification/>):
//! `{"name","url","build":{"full_url","number","phase","status","url",
//! "scm":{"url","branch","commit"},…}}`.
//!
//! Authentication: the plugin cannot sign. Vigil expects a shared token in
//! `X-Jenkins-Token`, equal to one of the source's secrets; send it from the
//! job (e.g. a custom-header capable notifier) or rely on the API key alone
//! with `verify = "none"`.
//!
//! Phases `COMPLETED` and `FINALIZED` carry the result: `FAILURE` (error),
//! `UNSTABLE` (warning) and `ABORTED` (info) fire, `SUCCESS` resolves
//! `jenkins:<job name>`. The fingerprint is the job alone, not the branch:
//! `scm` is not sent in every phase, and a fingerprint that changed with it
//! would leave incidents open forever. `QUEUED`, `STARTED` and other results
//! (`NOT_BUILT`) are [`Normalized::Other`].

use super::shape::{self, Obj, object};
use super::signature;
use super::{Delivery, Normalized, Rejection, ShapeError, Verifier};
use serde_json::Value;
use vigil_store::{Alert, AlertStatus, Labels, Severity};

/// The token header.
pub(super) const TOKEN_HEADER: &str = "X-Jenkins-Token";

/// The phases the plugin sends.
const PHASES: [&str; 4] = ["QUEUED", "STARTED", "COMPLETED", "FINALIZED"];

/// Whether the body is a Notification plugin message.
pub(super) fn looks_like(body: &Value) -> bool {
    let build = body.get("build");
    body.get("name").is_some_and(Value::is_string)
        && build
            .and_then(|b| b.get("phase"))
            .and_then(Value::as_str)
            .is_some_and(|p| PHASES.contains(&p))
        && build
            .and_then(|b| b.get("number"))
            .is_some_and(Value::is_u64)
}

/// See [`super::DriverKind::verify`].
pub(super) fn verify(delivery: &Delivery<'_>, verifier: &Verifier) -> Result<(), Rejection> {
    signature::verify_token(delivery.headers, TOKEN_HEADER, verifier)
}

/// See [`super::DriverKind::normalize`].
pub(super) fn normalize(delivery: &Delivery<'_>) -> Result<Normalized, ShapeError> {
    let root = object(delivery.json, "")?;
    let name = root.str("name")?;
    let build = root.obj("build")?;
    let phase = build.str("phase")?;
    let result = build.opt_text("status")?;
    let number = build.opt_id("number")?;
    let run = number
        .as_deref()
        .map(|n| format!(" #{n}"))
        .unwrap_or_default();
    let finished = matches!(phase, "COMPLETED" | "FINALIZED");
    let outcome = if finished {
        result.and_then(outcome)
    } else {
        None
    };
    let Some((status, severity, verb)) = outcome else {
        let result = result.map(|r| format!(" ({r})")).unwrap_or_default();
        // The event type is ours, from a known phase: payload text would be
        // unbounded.
        let event_type = match PHASES.iter().find(|p| **p == phase) {
            Some(p) => format!("build.{}", p.to_ascii_lowercase()),
            None => "build".to_owned(),
        };
        return Ok(Normalized::Other {
            event_type,
            summary: shape::summary(&format!(
                "{name}{run} {}{result}",
                phase.to_ascii_lowercase()
            )),
        });
    };
    let scm = build.opt_obj("scm")?;
    let mut labels = Labels::new();
    shape::put(&mut labels, "job", name);
    let mut annotations = Labels::new();
    shape::put(
        &mut annotations,
        "build_number",
        number.as_deref().unwrap_or_default(),
    );
    shape::put(&mut annotations, "result", result.unwrap_or_default());
    shape::put(&mut annotations, "phase", phase);
    if let Some(scm) = &scm {
        shape::put(
            &mut annotations,
            "branch",
            scm.opt_text("branch")?.unwrap_or_default(),
        );
        shape::put(
            &mut annotations,
            "commit",
            scm.opt_text("commit")?.unwrap_or_default(),
        );
    }
    let mut links = Vec::new();
    shape::push_link(&mut links, build.opt_text("full_url")?);
    let (starts_at, ends_at) = times(&build, status)?;
    Ok(Normalized::Alerts(vec![Alert {
        fingerprint: shape::readable_fingerprint(&["jenkins", name]),
        status,
        severity,
        summary: shape::summary(&format!("{name}{run} {verb}")),
        labels,
        annotations,
        starts_at,
        ends_at,
        links,
    }]))
}

/// A finished build's result: fires (with severity) or resolves.
fn outcome(result: &str) -> Option<(AlertStatus, Severity, &'static str)> {
    match result {
        "FAILURE" => Some((AlertStatus::Firing, Severity::Error, "failed")),
        "UNSTABLE" => Some((AlertStatus::Firing, Severity::Warning, "is unstable")),
        "ABORTED" => Some((AlertStatus::Firing, Severity::Info, "was aborted")),
        // A resolution keeps the severity of the failure it most likely
        // closes.
        "SUCCESS" => Some((AlertStatus::Resolved, Severity::Error, "succeeded")),
        _ => None,
    }
}

/// Start from `build.timestamp` (unix ms, newer plugin versions), end from
/// it plus `build.duration` (ms) for resolved builds.
fn times(build: &Obj<'_>, status: AlertStatus) -> Result<(Option<i64>, Option<i64>), ShapeError> {
    let Some(start_ms) = build.opt_i64("timestamp")? else {
        return Ok((None, None));
    };
    let end = match (status, build.opt_i64("duration")?) {
        (AlertStatus::Resolved, Some(duration)) => start_ms
            .checked_add(duration)
            .and_then(shape::millis_to_micros),
        _ => None,
    };
    Ok((shape::millis_to_micros(start_ms), end))
}
