//! Auto-detection: a sender's own header decides, else the body's shape;
//! anything ambiguous is `None`.

use super::{
    AM_FIRING, GENERIC_ALERT, GRAFANA_FIRING, JENKINS_FAILURE, PD_TRIGGERED, PROM_ALERTS, Req,
    fixtures, value,
};
use crate::drivers::DriverKind;
use serde_json::json;

fn detect(req: &Req) -> Option<DriverKind> {
    DriverKind::detect(&req.headers, &req.json)
}

/// The headers a sender sets besides any event header.
fn sender_headers(kind: DriverKind, req: Req) -> Req {
    match kind {
        DriverKind::Pagerduty => req.header("X-PagerDuty-Signature", "v1=00"),
        DriverKind::Generic => req
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", "1737540000")
            .header("webhook-signature", "v1,AAAA"),
        _ => req,
    }
}

#[test]
fn every_fixture_with_its_senders_headers_detects_its_driver() {
    for fixture in fixtures() {
        let req = sender_headers(fixture.kind, fixture.req());
        assert_eq!(detect(&req), Some(fixture.kind), "{}", fixture.name);
    }
}

#[test]
fn every_fixture_signed_by_its_sender_detects_its_driver() {
    for fixture in fixtures() {
        let req = fixture.req().signed(fixture.kind, "secret");
        assert_eq!(detect(&req), Some(fixture.kind), "{}", fixture.name);
    }
}

#[test]
fn body_shape_alone_detects_alertmanager_grafana_jenkins_and_prometheus_only() {
    let body = |text: &str| Req::raw(text.as_bytes());
    assert_eq!(detect(&body(PROM_ALERTS)), Some(DriverKind::Prometheus));
    assert_eq!(detect(&body(AM_FIRING)), Some(DriverKind::Alertmanager));
    assert_eq!(detect(&body(GRAFANA_FIRING)), Some(DriverKind::Grafana));
    assert_eq!(detect(&body(JENKINS_FAILURE)), Some(DriverKind::Jenkins));
    // Without their headers, these bodies are not recognized.
    for fixture in fixtures() {
        if matches!(
            fixture.kind,
            DriverKind::Github | DriverKind::Gitlab | DriverKind::Pagerduty | DriverKind::Generic
        ) {
            assert_eq!(detect(&body(fixture.text)), None, "{}", fixture.name);
        }
    }
}

#[test]
fn unknown_or_empty_bodies_without_headers_are_none() {
    for body in [
        json!(null),
        json!({}),
        json!([]),
        json!("alerts"),
        json!({"alerts": []}),
        json!({"version": "4", "alerts": []}), // no groupKey
        json!({"name": "job", "build": {"phase": "DONE", "number": 1}}),
        json!({"name": "job", "build": {"phase": "COMPLETED", "number": "1"}}),
        json!({"orgId": "1", "alerts": [], "title": "t"}),
        json!({"orgId": 1, "alerts": []}), // neither state nor title
    ] {
        assert_eq!(detect(&Req::json(&body)), None, "{body}");
    }
}

#[test]
fn two_candidates_are_none() {
    let req = Req::raw(AM_FIRING.as_bytes())
        .header("X-GitHub-Event", "push")
        .header("X-Gitlab-Event", "Push Hook");
    assert_eq!(detect(&req), None, "two senders' headers");
    let req = Req::raw(GENERIC_ALERT.as_bytes())
        .header("X-Jenkins-Token", "t")
        .header("X-Grafana-Alerting-Signature", "00");
    assert_eq!(detect(&req), None, "two senders' headers");
    // A body that looks like both Alertmanager and Jenkins.
    let mut both = value(AM_FIRING);
    both["name"] = json!("payments-api-release");
    both["build"] = json!({"phase": "COMPLETED", "number": 231});
    assert_eq!(detect(&Req::json(&both)), None, "two shapes");
}

#[test]
fn a_senders_header_outweighs_the_body() {
    let req = Req::raw(GRAFANA_FIRING.as_bytes()).header("X-GitHub-Event", "push");
    assert_eq!(detect(&req), Some(DriverKind::Github));
    let req = Req::raw(AM_FIRING.as_bytes()).header("X-PagerDuty-Signature", "v1=00");
    assert_eq!(detect(&req), Some(DriverKind::Pagerduty));
}

#[test]
fn generic_needs_both_id_and_signature_headers() {
    let id_only = Req::raw(GENERIC_ALERT.as_bytes()).header("webhook-id", "msg_1");
    assert_eq!(detect(&id_only), None);
    let sig_only = Req::raw(GENERIC_ALERT.as_bytes()).header("webhook-signature", "v1,AAAA");
    assert_eq!(detect(&sig_only), None);
}

#[test]
fn alertmanager_lookalike_with_an_org_id_is_not_alertmanager() {
    let mut body = value(AM_FIRING);
    body["orgId"] = json!(1);
    assert_eq!(
        detect(&Req::json(&body)),
        None,
        "orgId without state or title"
    );
    body["title"] = json!("[FIRING:3]");
    assert_eq!(detect(&Req::json(&body)), Some(DriverKind::Grafana));
}

#[test]
fn pagerduty_body_with_a_junk_signature_still_detects_and_then_fails_verification() {
    // Detection only picks the driver; its verification still runs.
    let req = Req::raw(PD_TRIGGERED.as_bytes()).header("X-PagerDuty-Signature", "v1=00");
    let kind = detect(&req).unwrap();
    assert_eq!(kind, DriverKind::Pagerduty);
    assert!(req.verify(kind, &["secret"]).is_err());
}

#[test]
fn a_driver_choice_is_auto_or_a_driver_and_names_them_all() {
    use crate::drivers::DriverChoice;
    let kinds: Vec<&str> = DriverKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(DriverChoice::NAMES[0], "auto");
    assert_eq!(DriverChoice::NAMES[1..], kinds[..]);
    for name in DriverChoice::NAMES {
        let choice: DriverChoice = name.parse().unwrap();
        assert_eq!(choice.name(), name);
        assert_eq!(choice.to_string(), name);
    }
    assert_eq!("auto".parse(), Ok(DriverChoice::Auto));
    assert_eq!("github".parse(), Ok(DriverChoice::Kind(DriverKind::Github)));
    let err = "nagios".parse::<DriverChoice>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown driver `nagios`; expected one of auto, alertmanager, grafana, github, gitlab, jenkins, pagerduty, generic, prometheus"
    );
    assert!(!DriverChoice::Kind(DriverKind::Alertmanager).may_sign());
    assert!(!DriverChoice::Kind(DriverKind::Prometheus).may_sign());
    assert!(DriverChoice::Auto.may_sign());
    let headers = http::HeaderMap::new();
    let body = serde_json::json!({});
    assert_eq!(
        DriverChoice::Kind(DriverKind::Jenkins).for_delivery(&headers, &body),
        Some(DriverKind::Jenkins)
    );
    assert_eq!(DriverChoice::Auto.for_delivery(&headers, &body), None);
}
