//! Normalization of the CI senders' fixtures: GitHub, GitLab and Jenkins.
//! A failure fires, a success resolves the same fingerprint, everything
//! else is accepted as `Other`.

use super::{
    GH_CHECK_RUN_FAILURE, GH_PING, GH_PUSH, GH_WORKFLOW_FAILURE, GH_WORKFLOW_SUCCESS,
    GL_JOB_FAILED, GL_PIPELINE_FAILED, GL_PIPELINE_SUCCESS, JENKINS_FAILURE, JENKINS_SUCCESS, Req,
    value,
};
use crate::drivers::DriverKind;
use serde_json::{Value, json};
use vigil_store::{AlertStatus, Severity};

const GH: DriverKind = DriverKind::Github;
const GL: DriverKind = DriverKind::Gitlab;
const JENKINS: DriverKind = DriverKind::Jenkins;

fn github(event: &str, body: &str) -> Req {
    Req::raw(body.as_bytes()).header("X-GitHub-Event", event)
}

fn github_json(event: &str, body: &Value) -> Req {
    Req::json(body).header("X-GitHub-Event", event)
}

fn gitlab(event: &str, body: &str) -> Req {
    Req::raw(body.as_bytes()).header("X-Gitlab-Event", event)
}

#[test]
fn github_failed_workflow_run_fires() {
    let alert = github("workflow_run", GH_WORKFLOW_FAILURE).alert(GH);
    assert_eq!(alert.status, AlertStatus::Firing);
    assert_eq!(alert.severity, Severity::Error);
    assert_eq!(
        alert.fingerprint,
        "github:acme-corp/vigil-demo:workflow_run:CI:main"
    );
    assert_eq!(
        alert.summary,
        "workflow CI failed on main in acme-corp/vigil-demo"
    );
    assert_eq!(alert.labels["repository"], "acme-corp/vigil-demo");
    assert_eq!(alert.labels["branch"], "main");
    assert_eq!(alert.labels["workflow"], "CI");
    assert_eq!(alert.labels["event"], "workflow_run");
    assert_eq!(alert.annotations["conclusion"], "failure");
    assert_eq!(
        alert.annotations["head_sha"],
        "9f2c1e7b4a3d5c6e8f0a1b2c3d4e5f60718293a4"
    );
    assert_eq!(alert.annotations["sender"], "octo-dev");
    assert_eq!(
        alert.links,
        ["https://github.com/acme-corp/vigil-demo/actions/runs/12876543210"]
    );
    assert_eq!(alert.starts_at, Some(1_737_450_670_000_000));
    assert_eq!(alert.ends_at, None);
}

#[test]
fn github_successful_workflow_run_resolves_the_failures_fingerprint() {
    let failure = github("workflow_run", GH_WORKFLOW_FAILURE).alert(GH);
    let success = github("workflow_run", GH_WORKFLOW_SUCCESS).alert(GH);
    assert_eq!(success.status, AlertStatus::Resolved);
    assert_eq!(success.fingerprint, failure.fingerprint);
    assert_eq!(
        success.summary,
        "workflow CI succeeded on main in acme-corp/vigil-demo"
    );
    assert_eq!(success.starts_at, Some(1_737_452_402_000_000));
    assert_eq!(
        success.ends_at,
        Some(1_737_452_671_000_000),
        "workflow_run.updated_at"
    );
}

#[test]
fn github_workflow_run_on_another_branch_is_another_fingerprint() {
    let mut body = value(GH_WORKFLOW_FAILURE);
    body["workflow_run"]["head_branch"] = json!("release/1.x");
    let other = github_json("workflow_run", &body).alert(GH);
    let main = github("workflow_run", GH_WORKFLOW_FAILURE).alert(GH);
    assert_ne!(other.fingerprint, main.fingerprint);
    assert_eq!(
        other.summary,
        "workflow CI failed on release/1.x in acme-corp/vigil-demo"
    );
}

#[test]
fn github_timed_out_check_run_fires() {
    let alert = github("check_run", GH_CHECK_RUN_FAILURE).alert(GH);
    assert_eq!(alert.status, AlertStatus::Firing);
    assert_eq!(
        alert.fingerprint,
        "github:acme-corp/vigil-demo:check_run:lint:main"
    );
    assert_eq!(
        alert.summary,
        "check run lint timed out on main in acme-corp/vigil-demo"
    );
    assert_eq!(alert.labels["check"], "lint");
    assert_eq!(alert.annotations["conclusion"], "timed_out");
    assert_eq!(alert.starts_at, Some(1_737_450_675_000_000));
    assert_eq!(alert.links.len(), 1);
    assert!(alert.links[0].ends_with("/job/34012345678"));
}

#[test]
fn github_runs_without_a_failing_or_passing_outcome_are_other() {
    for (field, new) in [
        ("action", "in_progress"),
        ("action", "requested"),
        ("conclusion", "skipped"),
        ("conclusion", "neutral"),
    ] {
        let mut body = value(GH_WORKFLOW_FAILURE);
        if field == "action" {
            body["action"] = json!(new);
        } else {
            body["workflow_run"]["conclusion"] = json!(new);
        }
        let (event_type, summary) = github_json("workflow_run", &body).other(GH);
        assert_eq!(event_type, "workflow_run", "{new}");
        assert!(summary.contains("acme-corp/vigil-demo"), "{new}: {summary}");
        if field == "conclusion" {
            assert_eq!(
                summary,
                format!("workflow CI completed ({new}) in acme-corp/vigil-demo")
            );
        }
    }
}

#[test]
fn github_push_and_ping_are_other() {
    let (event_type, summary) = github("push", GH_PUSH).other(GH);
    assert_eq!(event_type, "push");
    assert_eq!(summary, "push to acme-corp/vigil-demo (refs/heads/main)");
    let (event_type, summary) = github("ping", GH_PING).other(GH);
    assert_eq!(event_type, "ping");
    assert_eq!(summary, "ping from GitHub (hook 498765432)");
    // Events Vigil does not interpret are accepted whatever their fields.
    let (event_type, summary) =
        github_json("issues", &json!({"action": "opened", "repository": 5})).other(GH);
    assert_eq!(
        (event_type.as_str(), summary.as_str()),
        ("issues", "issues opened")
    );
}

#[test]
fn gitlab_failed_pipeline_fires() {
    let alert = gitlab("Pipeline Hook", GL_PIPELINE_FAILED).alert(GL);
    assert_eq!(alert.status, AlertStatus::Firing);
    assert_eq!(alert.severity, Severity::Error);
    assert_eq!(alert.fingerprint, "gitlab:acme/payments-api:pipeline:main");
    assert_eq!(
        alert.summary,
        "pipeline failed on main in acme/payments-api"
    );
    assert_eq!(alert.labels["project"], "acme/payments-api");
    assert_eq!(alert.labels["ref"], "main");
    assert_eq!(alert.labels["event"], "pipeline");
    assert_eq!(alert.annotations["pipeline_id"], "98123");
    assert_eq!(alert.annotations["status"], "failed");
    assert_eq!(alert.annotations["source"], "push");
    assert!(
        !alert.annotations.contains_key("name"),
        "a null name is no annotation"
    );
    assert_eq!(
        alert.links,
        ["https://gitlab.example.com/acme/payments-api/-/pipelines/98123"]
    );
    assert_eq!(
        alert.starts_at,
        Some(1_737_532_682_000_000),
        "`… UTC` time format"
    );
    assert_eq!(alert.ends_at, None);
}

#[test]
fn gitlab_successful_pipeline_resolves_the_failures_fingerprint() {
    let failed = gitlab("Pipeline Hook", GL_PIPELINE_FAILED).alert(GL);
    let success = gitlab("Pipeline Hook", GL_PIPELINE_SUCCESS).alert(GL);
    assert_eq!(success.status, AlertStatus::Resolved);
    assert_eq!(success.fingerprint, failed.fingerprint);
    assert_eq!(
        success.summary,
        "pipeline succeeded on main in acme/payments-api"
    );
    assert_eq!(success.starts_at, Some(1_737_537_118_000_000));
    assert_eq!(success.ends_at, Some(1_737_537_690_000_000));
}

#[test]
fn gitlab_running_pipeline_and_push_are_other() {
    let mut body = value(GL_PIPELINE_FAILED);
    body["object_attributes"]["status"] = json!("running");
    let (event_type, summary) = Req::json(&body)
        .header("X-Gitlab-Event", "Pipeline Hook")
        .other(GL);
    assert_eq!(event_type, "Pipeline Hook");
    assert_eq!(
        summary,
        "pipeline #98123 running on main in acme/payments-api"
    );
    let push = json!({"object_kind": "push", "ref": "refs/heads/main",
        "project": {"path_with_namespace": "acme/payments-api"}});
    let (event_type, summary) = Req::json(&push)
        .header("X-Gitlab-Event", "Push Hook")
        .other(GL);
    assert_eq!(event_type, "Push Hook");
    assert_eq!(summary, "push of refs/heads/main in acme/payments-api");
}

#[test]
fn gitlab_failed_job_fires_per_job_and_ref() {
    let alert = gitlab("Job Hook", GL_JOB_FAILED).alert(GL);
    assert_eq!(alert.status, AlertStatus::Firing);
    assert_eq!(alert.severity, Severity::Error);
    assert_eq!(
        alert.fingerprint,
        "gitlab:acme/payments-api:job:unit-tests:main"
    );
    assert_eq!(
        alert.summary,
        "job unit-tests failed on main in acme/payments-api"
    );
    assert_eq!(alert.labels["job"], "unit-tests");
    assert_eq!(alert.labels["stage"], "test");
    assert_eq!(alert.labels["event"], "job");
    assert_eq!(alert.annotations["job_id"], "551202");
    assert_eq!(alert.annotations["pipeline_id"], "98123");
    assert_eq!(alert.annotations["failure_reason"], "script_failure");
    assert_eq!(
        alert.links,
        ["https://gitlab.example.com/acme/payments-api/-/jobs/551202"]
    );
    assert_eq!(
        alert.starts_at,
        Some(1_737_532_814_902_000),
        "build_started_at"
    );
    let pipeline = gitlab("Pipeline Hook", GL_PIPELINE_FAILED).alert(GL);
    assert_ne!(alert.fingerprint, pipeline.fingerprint);
}

#[test]
fn gitlab_job_allowed_to_fail_is_only_a_warning() {
    let mut body = value(GL_JOB_FAILED);
    body["build_allow_failure"] = json!(true);
    let alert = Req::json(&body)
        .header("X-Gitlab-Event", "Job Hook")
        .alert(GL);
    assert_eq!(alert.severity, Severity::Warning);
}

#[test]
fn jenkins_failed_build_fires() {
    let alert = Req::raw(JENKINS_FAILURE.as_bytes()).alert(JENKINS);
    assert_eq!(alert.status, AlertStatus::Firing);
    assert_eq!(alert.severity, Severity::Error);
    assert_eq!(alert.fingerprint, "jenkins:payments-api-release");
    assert_eq!(alert.summary, "payments-api-release #231 failed");
    assert_eq!(alert.labels.len(), 1, "the job alone identifies it");
    assert_eq!(alert.labels["job"], "payments-api-release");
    assert_eq!(alert.annotations["build_number"], "231");
    assert_eq!(alert.annotations["result"], "FAILURE");
    assert_eq!(alert.annotations["branch"], "origin/main");
    assert_eq!(
        alert.links,
        ["https://jenkins.example.com/job/payments-api-release/231/"]
    );
    assert_eq!(alert.starts_at, Some(1_737_536_400_000_000));
    assert_eq!(alert.ends_at, None);
}

#[test]
fn jenkins_successful_build_resolves_the_failures_fingerprint() {
    let failed = Req::raw(JENKINS_FAILURE.as_bytes()).alert(JENKINS);
    let success = Req::raw(JENKINS_SUCCESS.as_bytes()).alert(JENKINS);
    assert_eq!(success.status, AlertStatus::Resolved);
    assert_eq!(success.fingerprint, failed.fingerprint);
    assert_eq!(success.summary, "payments-api-release #232 succeeded");
    assert_eq!(success.starts_at, Some(1_737_540_000_000_000));
    assert_eq!(
        success.ends_at,
        Some(1_737_540_241_020_000),
        "timestamp + duration"
    );
}

#[test]
fn jenkins_results_map_to_severities_and_unfinished_phases_are_other() {
    for (status, severity) in [
        ("UNSTABLE", Severity::Warning),
        ("ABORTED", Severity::Info),
        ("FAILURE", Severity::Error),
    ] {
        let mut body = value(JENKINS_FAILURE);
        body["build"]["status"] = json!(status);
        assert_eq!(
            Req::json(&body).alert(JENKINS).severity,
            severity,
            "{status}"
        );
    }
    for (phase, status, expected) in [
        ("STARTED", Some("FAILURE"), "build.started"),
        ("QUEUED", None, "build.queued"),
        ("COMPLETED", Some("NOT_BUILT"), "build.completed"),
        ("SOMETHING_NEW", Some("FAILURE"), "build"),
    ] {
        let mut body = value(JENKINS_FAILURE);
        body["build"]["phase"] = json!(phase);
        body["build"]["status"] = json!(status);
        let (event_type, summary) = Req::json(&body).other(JENKINS);
        assert_eq!(event_type, expected, "{phase}");
        assert!(
            summary.starts_with("payments-api-release #231 "),
            "{summary}"
        );
    }
}

#[test]
fn readable_fingerprints_escape_separators() {
    let fp = |name: &str| {
        let mut body = value(JENKINS_FAILURE);
        body["name"] = json!(name);
        Req::json(&body).alert(JENKINS).fingerprint
    };
    assert_eq!(fp("a:b"), "jenkins:a%3Ab");
    assert_ne!(fp("a:b"), fp("a%3Ab"), "escaping is itself escaped");
    let long = fp(&"j".repeat(400));
    assert!(long.starts_with("jenkins:sha256:"), "{long}");
    assert!(long.len() <= 256);
    assert_ne!(long, fp(&"j".repeat(401)));
}
