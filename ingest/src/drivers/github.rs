//! GitHub webhooks
//! (<https://docs.github.com/en/webhooks/webhook-events-and-payloads>).
//!
//! Signing (<https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries>):
//! `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. The
//! legacy SHA-1 `X-Hub-Signature` is never accepted.
//!
//! Completed `workflow_run`, `check_run` and `check_suite` events become
//! alerts: a failing conclusion fires, `success` resolves the same
//! fingerprint, `github:<repo>:<kind>:<name>:<branch>`, so the incident a
//! failure opened closes when the branch is green again. Everything else
//! (push, ping, issues, runs still in progress, neutral or skipped
//! conclusions) is accepted as [`Normalized::Other`].

use super::shape::{self, Obj, object};
use super::signature::{self, any_mac_matches};
use super::{Delivery, Normalized, Rejection, ShapeError, Verifier};
use vigil_store::{Alert, AlertStatus, Labels, Severity};

/// The signature header.
pub(super) const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";
/// The event name header.
pub(super) const EVENT_HEADER: &str = "X-GitHub-Event";
/// The delivery id header (a GUID, the same on redelivery).
const DELIVERY_HEADER: &str = "X-GitHub-Delivery";

/// See [`super::DriverKind::verify`].
pub(super) fn verify(delivery: &Delivery<'_>, verifier: &Verifier) -> Result<(), Rejection> {
    let keys = signature::keys(verifier)?;
    let value = signature::required(delivery.headers, SIGNATURE_HEADER)?;
    let hex = value
        .strip_prefix("sha256=")
        .ok_or(Rejection::MalformedSignature(SIGNATURE_HEADER))?;
    let tag = signature::hex_tag(hex, SIGNATURE_HEADER)?;
    if any_mac_matches(&keys, &[delivery.body], &[tag]) {
        Ok(())
    } else {
        Err(Rejection::BadSignature)
    }
}

/// See [`super::DriverKind::delivery_id`].
pub(super) fn delivery_id(delivery: &Delivery<'_>) -> Option<String> {
    signature::header_delivery_id(delivery.headers, DELIVERY_HEADER)
}

/// See [`super::DriverKind::normalize`].
pub(super) fn normalize(delivery: &Delivery<'_>) -> Result<Normalized, ShapeError> {
    let event = shape::event_header(delivery.headers, EVENT_HEADER, b".")?;
    let root = object(delivery.json, "")?;
    let kind = match event.as_str() {
        "workflow_run" => Kind::WorkflowRun,
        "check_run" => Kind::CheckRun,
        "check_suite" => Kind::CheckSuite,
        _ => return other(&event, &root),
    };
    // Requested and in-progress runs carry no outcome yet.
    if root.text("action") != Some("completed") {
        return other(&event, &root);
    }
    let repo = root.obj("repository")?.str("full_name")?;
    let run = Run::read(kind, &root)?;
    let Some((status, verb)) = outcome(run.conclusion) else {
        let summary = format!(
            "{} {} completed ({}) in {repo}",
            kind.noun(),
            run.name,
            run.conclusion.unwrap_or("no conclusion")
        );
        return Ok(Normalized::Other {
            event_type: event,
            summary: shape::summary(&summary),
        });
    };
    Ok(Normalized::Alerts(vec![
        run.alert(&root, repo, status, verb)?,
    ]))
}

/// A conclusion that fires (with how to say it) or resolves; `None` for
/// neutral, skipped, stale and anything newer we do not know.
fn outcome(conclusion: Option<&str>) -> Option<(AlertStatus, &'static str)> {
    let verb = match conclusion? {
        "failure" => "failed",
        "timed_out" => "timed out",
        "cancelled" => "was cancelled",
        "action_required" => "requires action",
        "startup_failure" => "failed to start",
        "success" => return Some((AlertStatus::Resolved, "succeeded")),
        _ => return None,
    };
    Some((AlertStatus::Firing, verb))
}

#[derive(Clone, Copy)]
enum Kind {
    WorkflowRun,
    CheckRun,
    CheckSuite,
}

impl Kind {
    fn event(self) -> &'static str {
        match self {
            Kind::WorkflowRun => "workflow_run",
            Kind::CheckRun => "check_run",
            Kind::CheckSuite => "check_suite",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::WorkflowRun => "workflow",
            Kind::CheckRun => "check run",
            Kind::CheckSuite => "check suite",
        }
    }

    /// The label naming the workflow or check.
    fn name_label(self) -> &'static str {
        match self {
            Kind::WorkflowRun => "workflow",
            Kind::CheckRun | Kind::CheckSuite => "check",
        }
    }
}

/// A completed run, reduced to what an alert needs.
struct Run<'a> {
    kind: Kind,
    name: String,
    branch: Option<&'a str>,
    conclusion: Option<&'a str>,
    url: Option<&'a str>,
    started: Option<i64>,
    finished: Option<i64>,
    head_sha: Option<&'a str>,
}

impl<'a> Run<'a> {
    fn read(kind: Kind, root: &Obj<'a>) -> Result<Run<'a>, ShapeError> {
        match kind {
            Kind::WorkflowRun => {
                let run = root.obj("workflow_run")?;
                let workflow = root.opt_obj("workflow")?;
                // `workflow_run.name` may be empty; the workflow's own name
                // or file path identifies it too.
                let workflow_name = match &workflow {
                    Some(w) => w.opt_text("name")?.or(w.opt_text("path")?),
                    None => None,
                };
                let name = run
                    .opt_text("name")?
                    .or(workflow_name)
                    .or(run.opt_text("path")?)
                    .unwrap_or("workflow");
                Ok(Run {
                    kind,
                    name: shape::clip(name),
                    branch: run.opt_text("head_branch")?,
                    conclusion: run.opt_text("conclusion")?,
                    url: run.opt_text("html_url")?,
                    started: match run.opt_time("run_started_at")? {
                        Some(t) => Some(t),
                        None => run.opt_time("created_at")?,
                    },
                    finished: run.opt_time("updated_at")?,
                    head_sha: run.opt_text("head_sha")?,
                })
            }
            Kind::CheckRun => {
                let check = root.obj("check_run")?;
                let suite = check.opt_obj("check_suite")?;
                Ok(Run {
                    kind,
                    name: shape::clip(check.str("name")?),
                    branch: match &suite {
                        Some(s) => s.opt_text("head_branch")?,
                        None => None,
                    },
                    conclusion: check.opt_text("conclusion")?,
                    url: match check.opt_text("html_url")? {
                        Some(url) => Some(url),
                        None => check.opt_text("details_url")?,
                    },
                    started: check.opt_time("started_at")?,
                    finished: check.opt_time("completed_at")?,
                    head_sha: check.opt_text("head_sha")?,
                })
            }
            Kind::CheckSuite => {
                let suite = root.obj("check_suite")?;
                // A suite has no name of its own: the app that runs it is
                // what a person recognizes.
                let name = match suite.opt_obj("app")? {
                    Some(app) => app.opt_text("name")?.or(app.opt_text("slug")?),
                    None => None,
                };
                Ok(Run {
                    kind,
                    name: shape::clip(name.unwrap_or("check suite")),
                    branch: suite.opt_text("head_branch")?,
                    conclusion: suite.opt_text("conclusion")?,
                    // Suites have no page; the repository is the next best.
                    url: root.obj("repository")?.opt_text("html_url")?,
                    started: suite.opt_time("created_at")?,
                    finished: suite.opt_time("updated_at")?,
                    head_sha: suite.opt_text("head_sha")?,
                })
            }
        }
    }

    fn alert(
        &self,
        root: &Obj<'_>,
        repo: &str,
        status: AlertStatus,
        verb: &str,
    ) -> Result<Alert, ShapeError> {
        let branch = self.branch.unwrap_or_default();
        let mut labels = Labels::new();
        shape::put(&mut labels, "repository", repo);
        shape::put(&mut labels, "branch", branch);
        shape::put(&mut labels, self.kind.name_label(), &self.name);
        shape::put(&mut labels, "event", self.kind.event());
        let mut annotations = Labels::new();
        shape::put(
            &mut annotations,
            "conclusion",
            self.conclusion.unwrap_or_default(),
        );
        shape::put(
            &mut annotations,
            "head_sha",
            self.head_sha.unwrap_or_default(),
        );
        if let Some(sender) = root.opt_obj("sender")? {
            shape::put(
                &mut annotations,
                "sender",
                sender.opt_text("login")?.unwrap_or_default(),
            );
        }
        let on_branch = self.branch.map(|b| format!(" on {b}")).unwrap_or_default();
        let mut links = Vec::new();
        shape::push_link(&mut links, self.url);
        Ok(Alert {
            fingerprint: shape::readable_fingerprint(&[
                "github",
                repo,
                self.kind.event(),
                &self.name,
                branch,
            ]),
            status,
            // Every failing conclusion is a broken build; resolved alerts
            // keep the severity of the incident they close.
            severity: Severity::Error,
            summary: shape::summary(&format!(
                "{} {} {verb}{on_branch} in {repo}",
                self.kind.noun(),
                self.name
            )),
            labels,
            annotations,
            starts_at: self.started,
            ends_at: match status {
                AlertStatus::Resolved => self.finished,
                AlertStatus::Firing => None,
            },
            links,
        })
    }
}

/// An event that carries no alert. Summarized leniently: fields of events
/// Vigil does not interpret never fail a delivery.
fn other(event: &str, root: &Obj<'_>) -> Result<Normalized, ShapeError> {
    let repo = root.child("repository");
    let repo = repo.as_ref().and_then(|r| r.text("full_name"));
    let summary = match event {
        "ping" => match root.get("hook_id").and_then(serde_json::Value::as_u64) {
            Some(id) => format!("ping from GitHub (hook {id})"),
            None => "ping from GitHub".to_owned(),
        },
        "push" => {
            let git_ref = root
                .text("ref")
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            format!("push to {}{git_ref}", repo.unwrap_or("a repository"))
        }
        _ => {
            let action = root
                .text("action")
                .map(|a| format!(" {a}"))
                .unwrap_or_default();
            let in_repo = repo.map(|r| format!(" in {r}")).unwrap_or_default();
            format!("{event}{action}{in_repo}")
        }
    };
    Ok(Normalized::Other {
        event_type: event.to_owned(),
        summary: shape::summary(&summary),
    })
}
