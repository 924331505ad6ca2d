//! GitLab project and group webhooks
//! (<https://docs.gitlab.com/user/project/integrations/webhook_events/>).
//!
//! Authentication: the webhook's secret token arrives verbatim in
//! `X-Gitlab-Token` and must equal one of the source's secrets.
//!
//! `Pipeline Hook`: `object_attributes.status` `failed` fires and `success`
//! resolves `gitlab:<project>:pipeline:<ref>`; other statuses (running,
//! pending, canceled, …) are [`Normalized::Other`]. `Job Hook`: the same with
//! `build_status`, per job name and ref. Other events are accepted as
//! [`Normalized::Other`].

use super::shape::{self, Obj, object};
use super::signature;
use super::{Delivery, Normalized, Rejection, ShapeError, Verifier};
use vigil_store::{Alert, AlertStatus, Labels, Severity};

/// The token header.
pub(super) const TOKEN_HEADER: &str = "X-Gitlab-Token";
/// The event name header (`Pipeline Hook`, `Job Hook`, `Push Hook`, …).
pub(super) const EVENT_HEADER: &str = "X-Gitlab-Event";
/// Stable across retries of one event (GitLab 17.4+): the better dedup key.
const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// Unique per event; older GitLab sends only this one.
const EVENT_UUID_HEADER: &str = "X-Gitlab-Event-UUID";

/// See [`super::DriverKind::verify`].
pub(super) fn verify(delivery: &Delivery<'_>, verifier: &Verifier) -> Result<(), Rejection> {
    signature::verify_token(delivery.headers, TOKEN_HEADER, verifier)
}

/// See [`super::DriverKind::delivery_id`].
pub(super) fn delivery_id(delivery: &Delivery<'_>) -> Option<String> {
    signature::header_delivery_id(delivery.headers, IDEMPOTENCY_HEADER)
        .or_else(|| signature::header_delivery_id(delivery.headers, EVENT_UUID_HEADER))
}

/// See [`super::DriverKind::normalize`].
pub(super) fn normalize(delivery: &Delivery<'_>) -> Result<Normalized, ShapeError> {
    let event = shape::event_header(delivery.headers, EVENT_HEADER, b" ")?;
    let root = object(delivery.json, "")?;
    match event.as_str() {
        "Pipeline Hook" => pipeline(&event, &root),
        "Job Hook" => job(&event, &root),
        _ => other(&event, &root),
    }
}

/// `failed` fires, `success` resolves, anything else is no alert.
fn outcome(status: &str) -> Option<(AlertStatus, &'static str)> {
    match status {
        "failed" => Some((AlertStatus::Firing, "failed")),
        "success" => Some((AlertStatus::Resolved, "succeeded")),
        _ => None,
    }
}

fn pipeline(event: &str, root: &Obj<'_>) -> Result<Normalized, ShapeError> {
    let attrs = root.obj("object_attributes")?;
    let project = root.obj("project")?;
    let project_path = project.str("path_with_namespace")?;
    let git_ref = attrs.str("ref")?;
    let status = attrs.str("status")?;
    let id = attrs.opt_id("id")?;
    let Some((alert_status, verb)) = outcome(status) else {
        let number = id.as_deref().map(|i| format!(" #{i}")).unwrap_or_default();
        return Ok(Normalized::Other {
            event_type: event.to_owned(),
            summary: shape::summary(&format!(
                "pipeline{number} {status} on {git_ref} in {project_path}"
            )),
        });
    };
    let mut labels = Labels::new();
    shape::put(&mut labels, "project", project_path);
    shape::put(&mut labels, "ref", git_ref);
    shape::put(&mut labels, "event", "pipeline");
    let mut annotations = Labels::new();
    shape::put(
        &mut annotations,
        "pipeline_id",
        id.as_deref().unwrap_or_default(),
    );
    shape::put(&mut annotations, "status", status);
    shape::put(
        &mut annotations,
        "sha",
        attrs.opt_text("sha")?.unwrap_or_default(),
    );
    shape::put(
        &mut annotations,
        "source",
        attrs.opt_text("source")?.unwrap_or_default(),
    );
    shape::put(
        &mut annotations,
        "name",
        attrs.opt_text("name")?.unwrap_or_default(),
    );
    let mut links = Vec::new();
    match attrs.opt_text("url")? {
        Some(url) => shape::push_link(&mut links, Some(url)),
        None => push_project_link(&mut links, &project, "pipelines", id.as_deref())?,
    }
    Ok(Normalized::Alerts(vec![Alert {
        fingerprint: shape::readable_fingerprint(&["gitlab", project_path, "pipeline", git_ref]),
        status: alert_status,
        severity: Severity::Error,
        summary: shape::summary(&format!("pipeline {verb} on {git_ref} in {project_path}")),
        labels,
        annotations,
        starts_at: attrs.opt_time("created_at")?,
        ends_at: match alert_status {
            AlertStatus::Resolved => attrs.opt_time("finished_at")?,
            AlertStatus::Firing => None,
        },
        links,
    }]))
}

fn job(event: &str, root: &Obj<'_>) -> Result<Normalized, ShapeError> {
    let project = root.obj("project")?;
    let project_path = project.str("path_with_namespace")?;
    let name = root.str("build_name")?;
    let git_ref = root.str("ref")?;
    let status = root.str("build_status")?;
    let id = root.opt_id("build_id")?;
    let Some((alert_status, verb)) = outcome(status) else {
        return Ok(Normalized::Other {
            event_type: event.to_owned(),
            summary: shape::summary(&format!(
                "job {name} {status} on {git_ref} in {project_path}"
            )),
        });
    };
    let allowed_to_fail = root.get("build_allow_failure").and_then(|v| v.as_bool()) == Some(true);
    let mut labels = Labels::new();
    shape::put(&mut labels, "project", project_path);
    shape::put(&mut labels, "ref", git_ref);
    shape::put(&mut labels, "job", name);
    shape::put(
        &mut labels,
        "stage",
        root.opt_text("build_stage")?.unwrap_or_default(),
    );
    shape::put(&mut labels, "event", "job");
    let mut annotations = Labels::new();
    shape::put(
        &mut annotations,
        "job_id",
        id.as_deref().unwrap_or_default(),
    );
    shape::put(
        &mut annotations,
        "pipeline_id",
        root.opt_id("pipeline_id")?.as_deref().unwrap_or_default(),
    );
    shape::put(&mut annotations, "status", status);
    shape::put(
        &mut annotations,
        "sha",
        root.opt_text("sha")?.unwrap_or_default(),
    );
    if alert_status == AlertStatus::Firing {
        shape::put(
            &mut annotations,
            "failure_reason",
            root.opt_text("build_failure_reason")?.unwrap_or_default(),
        );
    }
    let mut links = Vec::new();
    push_project_link(&mut links, &project, "jobs", id.as_deref())?;
    let starts_at = match root.opt_time("build_started_at")? {
        Some(t) => Some(t),
        None => root.opt_time("build_created_at")?,
    };
    Ok(Normalized::Alerts(vec![Alert {
        fingerprint: shape::readable_fingerprint(&["gitlab", project_path, "job", name, git_ref]),
        status: alert_status,
        // A job allowed to fail does not fail its pipeline.
        severity: if allowed_to_fail {
            Severity::Warning
        } else {
            Severity::Error
        },
        summary: shape::summary(&format!("job {name} {verb} on {git_ref} in {project_path}")),
        labels,
        annotations,
        starts_at,
        ends_at: match alert_status {
            AlertStatus::Resolved => root.opt_time("build_finished_at")?,
            AlertStatus::Firing => None,
        },
        links,
    }]))
}

/// `<project web_url>/-/<what>/<id>`, when both are known.
fn push_project_link(
    links: &mut Vec<String>,
    project: &Obj<'_>,
    what: &str,
    id: Option<&str>,
) -> Result<(), ShapeError> {
    if let (Some(base), Some(id)) = (project.opt_text("web_url")?, id) {
        let url = format!("{}/-/{what}/{id}", base.trim_end_matches('/'));
        shape::push_link(links, Some(&url));
    }
    Ok(())
}

/// An event that carries no alert. Summarized leniently: fields of events
/// Vigil does not interpret never fail a delivery.
fn other(event: &str, root: &Obj<'_>) -> Result<Normalized, ShapeError> {
    let project = root.child("project");
    let in_project = project
        .as_ref()
        .and_then(|p| p.text("path_with_namespace"))
        .map(|p| format!(" in {p}"))
        .unwrap_or_default();
    let summary = match event {
        "Push Hook" | "Tag Push Hook" => {
            let git_ref = root.text("ref").unwrap_or("a ref");
            format!("push of {git_ref}{in_project}")
        }
        _ => {
            let kind = root.text("object_kind").unwrap_or(event);
            let action = root
                .child("object_attributes")
                .and_then(|attrs| attrs.text("action").map(|a| format!(" {a}")))
                .unwrap_or_default();
            format!("{kind}{action}{in_project}")
        }
    };
    Ok(Normalized::Other {
        event_type: event.to_owned(),
        summary: shape::summary(&summary),
    })
}
