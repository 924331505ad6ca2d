//! Wrong-shaped payloads: a `ShapeError` names the JSON path and what was
//! expected, never the offending value (payloads may carry secrets). The
//! bad values below contain `CANARY-4242`, which no message may repeat.

use super::{
    AM_FIRING, GENERIC_ALERT, GENERIC_BATCH, GH_CHECK_RUN_FAILURE, GH_WORKFLOW_FAILURE,
    GL_JOB_FAILED, GL_PIPELINE_FAILED, GRAFANA_FIRING, JENKINS_FAILURE, PD_TRIGGERED, Req, value,
};
use crate::drivers::DriverKind;
use serde_json::{Value, json};

const CANARY: &str = "CANARY-4242";

/// `text` parsed, edited by `f`.
fn edit(text: &str, f: impl FnOnce(&mut Value)) -> Value {
    let mut body = value(text);
    f(&mut body);
    body
}

/// Asserts that `req` is refused by `kind` with a message starting with
/// `expected` that does not quote the canary.
fn assert_refused(kind: DriverKind, req: &Req, expected: &str) {
    let message = req.shape_error(kind);
    assert!(
        message.starts_with(expected),
        "{kind}: `{message}` should start with `{expected}`"
    );
    assert!(
        !message.contains(CANARY),
        "{kind}: `{message}` quotes the payload"
    );
    assert!(
        !message.contains("4242"),
        "{kind}: `{message}` quotes the payload"
    );
}

fn am(f: impl FnOnce(&mut Value)) -> Req {
    Req::json(&edit(AM_FIRING, f))
}

#[test]
fn alertmanager_shape_errors_name_the_path() {
    let kind = DriverKind::Alertmanager;
    let cases: Vec<(Req, &str)> = vec![
        (
            am(|b| b["alerts"] = json!(CANARY)),
            "alerts: expected an array",
        ),
        (
            am(|b| b["alerts"][1]["status"] = json!(CANARY)),
            "alerts[1].status: expected \"firing\" or \"resolved\"",
        ),
        (
            am(|b| b["alerts"][0]["status"] = json!("bogus")),
            "alerts[0].status: expected \"firing\" or \"resolved\"",
        ),
        (
            am(|b| b["version"] = json!(CANARY)),
            "version: expected \"4\"",
        ),
        (
            am(|b| b["alerts"][0]["labels"] = json!({CANARY: 7})),
            "alerts[0].labels: values must be strings",
        ),
        (
            am(|b| b["alerts"][2]["annotations"] = json!(CANARY)),
            "alerts[2].annotations: expected a JSON object",
        ),
        (
            am(|b| b["alerts"][0]["startsAt"] = json!(CANARY)),
            "alerts[0].startsAt: expected an RFC 3339 time",
        ),
        (
            am(|b| b["alerts"][0]["endsAt"] = json!(CANARY)),
            "alerts[0].endsAt: expected an RFC 3339 time",
        ),
        (
            am(|b| b["alerts"][0]["fingerprint"] = json!("CANARY 4242")),
            "alerts[0].fingerprint: expected 1 to 256 printable ASCII",
        ),
        (
            am(|b| b["alerts"][0]["generatorURL"] = json!([CANARY])),
            "alerts[0].generatorURL: expected a string",
        ),
        (
            am(|b| b["alerts"][2] = json!(CANARY)),
            "alerts[2]: expected a JSON object",
        ),
        (
            am(|b| b["alerts"] = json!([])),
            "alerts: expected at least one alert",
        ),
        (
            am(|b| drop(b.as_object_mut().unwrap().remove("alerts"))),
            "alerts: missing (expected an array)",
        ),
        (Req::json(&json!(CANARY)), "body: expected a JSON object"),
        (Req::json(&json!([CANARY])), "body: expected a JSON object"),
    ];
    for (req, expected) in &cases {
        assert_refused(kind, req, expected);
    }
}

#[test]
fn grafana_shape_errors_name_the_path() {
    let kind = DriverKind::Grafana;
    let grafana = |f: fn(&mut Value)| Req::json(&edit(GRAFANA_FIRING, f));
    assert_refused(
        kind,
        &grafana(|b| b["alerts"][0]["silenceURL"] = json!([CANARY])),
        "alerts[0].silenceURL: expected a string",
    );
    assert_refused(
        kind,
        &grafana(|b| b["alerts"][1]["endsAt"] = json!(CANARY)),
        "alerts[1].endsAt: expected an RFC 3339 time",
    );
    assert_refused(
        kind,
        &grafana(|b| b["alerts"][1]["values"] = json!(CANARY)),
        "alerts[1].values: expected a JSON object",
    );
    assert_refused(
        kind,
        &grafana(|b| b["alerts"][0]["status"] = json!(CANARY)),
        "alerts[0].status: expected",
    );
}

#[test]
fn github_shape_errors_name_the_path() {
    let kind = DriverKind::Github;
    let run = |f: fn(&mut Value)| {
        Req::json(&edit(GH_WORKFLOW_FAILURE, f)).header("X-GitHub-Event", "workflow_run")
    };
    assert_refused(
        kind,
        &run(|b| drop(b.as_object_mut().unwrap().remove("repository"))),
        "repository: missing (expected a JSON object)",
    );
    assert_refused(
        kind,
        &run(|b| b["repository"]["full_name"] = json!([CANARY])),
        "repository.full_name: expected a string",
    );
    assert_refused(
        kind,
        &run(|b| b["workflow_run"]["conclusion"] = json!({CANARY: 1})),
        "workflow_run.conclusion: expected a string",
    );
    assert_refused(
        kind,
        &run(|b| b["workflow_run"]["run_started_at"] = json!(CANARY)),
        "workflow_run.run_started_at: expected an RFC 3339 time",
    );
    let check = Req::json(&edit(GH_CHECK_RUN_FAILURE, |b| {
        drop(b["check_run"].as_object_mut().unwrap().remove("name"));
    }))
    .header("X-GitHub-Event", "check_run");
    assert_refused(kind, &check, "check_run.name: missing (expected a string)");
    let no_event = Req::raw(GH_WORKFLOW_FAILURE.as_bytes());
    assert_refused(kind, &no_event, "X-GitHub-Event header: missing");
    for event in [
        "CANARY-4242 workflow",
        "CANARY/4242",
        "CANARY-4242".repeat(7).as_str(),
    ] {
        let req = Req::raw(GH_WORKFLOW_FAILURE.as_bytes()).header("X-GitHub-Event", event);
        assert_refused(kind, &req, "X-GitHub-Event header: expected an event name");
    }
}

#[test]
fn gitlab_shape_errors_name_the_path() {
    let kind = DriverKind::Gitlab;
    let pipeline = |f: fn(&mut Value)| {
        Req::json(&edit(GL_PIPELINE_FAILED, f)).header("X-Gitlab-Event", "Pipeline Hook")
    };
    let job =
        |f: fn(&mut Value)| Req::json(&edit(GL_JOB_FAILED, f)).header("X-Gitlab-Event", "Job Hook");
    assert_refused(
        kind,
        &pipeline(|b| b["object_attributes"]["status"] = json!({"x": CANARY})),
        "object_attributes.status: expected a string",
    );
    assert_refused(
        kind,
        &pipeline(|b| b["object_attributes"]["created_at"] = json!(CANARY)),
        "object_attributes.created_at: expected an RFC 3339 time",
    );
    assert_refused(
        kind,
        &pipeline(|b| b["project"]["path_with_namespace"] = json!([CANARY])),
        "project.path_with_namespace: expected a string",
    );
    assert_refused(
        kind,
        &pipeline(|b| b["object_attributes"]["id"] = json!([CANARY])),
        "object_attributes.id: expected an integer or a string id",
    );
    assert_refused(
        kind,
        &job(|b| drop(b.as_object_mut().unwrap().remove("build_name"))),
        "build_name: missing (expected a string)",
    );
    assert_refused(
        kind,
        &job(|b| b["build_started_at"] = json!(CANARY)),
        "build_started_at: expected an RFC 3339 time",
    );
    let bad_event =
        Req::raw(GL_JOB_FAILED.as_bytes()).header("X-Gitlab-Event", "CANARY-4242: Hook");
    assert_refused(
        kind,
        &bad_event,
        "X-Gitlab-Event header: expected an event name",
    );
}

#[test]
fn jenkins_shape_errors_name_the_path() {
    let kind = DriverKind::Jenkins;
    let jenkins = |f: fn(&mut Value)| Req::json(&edit(JENKINS_FAILURE, f));
    assert_refused(
        kind,
        &jenkins(|b| b["build"] = json!(CANARY)),
        "build: expected a JSON object",
    );
    assert_refused(
        kind,
        &jenkins(|b| b["name"] = json!({CANARY: 1})),
        "name: expected a string",
    );
    assert_refused(
        kind,
        &jenkins(|b| drop(b["build"].as_object_mut().unwrap().remove("phase"))),
        "build.phase: missing (expected a string)",
    );
    assert_refused(
        kind,
        &jenkins(|b| b["build"]["number"] = json!([CANARY])),
        "build.number: expected an integer or a string id",
    );
    assert_refused(
        kind,
        &jenkins(|b| b["build"]["timestamp"] = json!(CANARY)),
        "build.timestamp: expected an integer",
    );
    assert_refused(
        kind,
        &jenkins(|b| b["build"]["scm"] = json!(CANARY)),
        "build.scm: expected a JSON object",
    );
}

#[test]
fn pagerduty_shape_errors_name_the_path() {
    let kind = DriverKind::Pagerduty;
    let pd = |f: fn(&mut Value)| Req::json(&edit(PD_TRIGGERED, f));
    assert_refused(
        kind,
        &pd(|b| b["event"]["event_type"] = json!("CANARY-4242 triggered")),
        "event.event_type: expected an event type",
    );
    assert_refused(
        kind,
        &pd(|b| b["event"]["event_type"] = json!("CANARY-4242".repeat(6))),
        "event.event_type: expected an event type",
    );
    assert_refused(
        kind,
        &pd(|b| b["event"]["data"]["id"] = json!("   ")),
        "event.data.id: expected a non-empty incident id",
    );
    assert_refused(
        kind,
        &pd(|b| b["event"]["data"]["urgency"] = json!([CANARY])),
        "event.data.urgency: expected a string",
    );
    assert_refused(
        kind,
        &pd(|b| b["event"]["data"]["created_at"] = json!(CANARY)),
        "event.data.created_at: expected an RFC 3339 time",
    );
    assert_refused(
        kind,
        &pd(|b| drop(b["event"].as_object_mut().unwrap().remove("data"))),
        "event.data: missing (expected a JSON object)",
    );
    assert_refused(
        kind,
        &pd(|b| b["event"] = json!(CANARY)),
        "event: expected a JSON object",
    );
}

#[test]
fn generic_shape_errors_name_the_path() {
    let kind = DriverKind::Generic;
    let one = |f: fn(&mut Value)| Req::json(&edit(GENERIC_ALERT, f));
    let batch = |f: fn(&mut Value)| Req::json(&edit(GENERIC_BATCH, f));
    assert_refused(
        kind,
        &one(|b| drop(b.as_object_mut().unwrap().remove("summary"))),
        "summary: missing (expected a string)",
    );
    assert_refused(
        kind,
        &batch(|b| drop(b["alerts"][2].as_object_mut().unwrap().remove("summary"))),
        "alerts[2].summary: missing (expected a string)",
    );
    assert_refused(
        kind,
        &one(|b| b["summary"] = json!(" \n ")),
        "summary: expected a non-empty string",
    );
    assert_refused(
        kind,
        &one(|b| b["status"] = json!(CANARY)),
        "status: expected \"firing\" or \"resolved\"",
    );
    assert_refused(
        kind,
        &one(|b| b["severity"] = json!(CANARY)),
        "severity: expected \"info\", \"warning\", \"error\" or \"critical\"",
    );
    assert_refused(
        kind,
        &one(|b| b["fingerprint"] = json!("CANARY 4242")),
        "fingerprint: expected 1 to 256 printable ASCII",
    );
    assert_refused(
        kind,
        &one(|b| b["starts_at"] = json!(CANARY)),
        "starts_at: expected an RFC 3339 time",
    );
    assert_refused(
        kind,
        &one(|b| b["links"] = json!(CANARY)),
        "links: expected an array of strings",
    );
    assert_refused(
        kind,
        &one(|b| b["links"] = json!([CANARY, 4242])),
        "links[1]: expected a non-empty string",
    );
    assert_refused(
        kind,
        &one(|b| b["labels"]["host"] = json!(4242)),
        "labels: values must be strings",
    );
    // Unknown fields are refused without naming them (the key is payload too).
    assert_refused(
        kind,
        &one(|b| b[CANARY] = json!("x")),
        "body: unknown field; allowed fields are summary, status",
    );
    assert_refused(
        kind,
        &batch(|b| b[CANARY] = json!(1)),
        "body: unknown field; allowed fields are alerts",
    );
    assert_refused(
        kind,
        &batch(|b| b["alerts"][1]["lables"] = json!({})),
        "alerts[1]: unknown field",
    );
    assert_refused(
        kind,
        &batch(|b| b["alerts"] = json!({CANARY: 1})),
        "alerts: expected an array",
    );
    assert_refused(
        kind,
        &batch(|b| b["alerts"][0] = json!(null)),
        "alerts[0]: expected a JSON object",
    );
}

#[test]
fn shape_error_displays_its_message() {
    let req = am(|b| b["alerts"][1]["status"] = json!("bogus"));
    let err = DriverKind::Alertmanager
        .normalize("src", &req.delivery())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "alerts[1].status: expected \"firing\" or \"resolved\""
    );
}
