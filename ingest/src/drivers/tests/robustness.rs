//! No panics on any input: odd JSON values and odd headers through every
//! driver's `verify`, `delivery_id`, `normalize` and `detect`.

use super::{GENERIC_ALERT, JENKINS_FAILURE, Req, value};
use crate::drivers::{Delivery, DriverKind, Normalized, Verifier};
use serde_json::{Value, json};
use vigil_store::SecretValue;

/// Odd values, at the root and in the places drivers look.
fn odd_values() -> Vec<Value> {
    let huge = "\u{10ffff}é\u{0}\"\\".repeat(8_000);
    let mut nested = json!([]);
    for _ in 0..100 {
        nested = json!([nested, {"alerts": nested.clone()}]);
        if nested.to_string().len() > 20_000 {
            break;
        }
    }
    let mut deep = json!({});
    for i in 0..500 {
        deep = if i % 2 == 0 {
            json!([deep])
        } else {
            json!({"alerts": deep})
        };
    }
    let scalars = vec![
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5e308),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(""),
        json!(huge),
        json!([]),
        json!({}),
        nested,
        deep,
    ];
    let mut values = scalars.clone();
    for odd in &scalars {
        for key in [
            "alerts",
            "event",
            "build",
            "object_attributes",
            "workflow_run",
            "check_run",
        ] {
            values.push(json!({ key: odd }));
        }
        values.push(json!({"version": "4", "alerts": [odd], "groupKey": "g"}));
        values.push(
            json!({"alerts": [{"status": "firing", "labels": odd, "annotations": odd,
            "startsAt": odd, "endsAt": odd, "fingerprint": odd, "generatorURL": odd,
            "values": odd, "valueString": odd, "silenceURL": odd}]}),
        );
        values
            .push(json!({"summary": "s", "labels": {"k": odd}, "links": [odd], "starts_at": odd}));
        values.push(
            json!({"event": {"id": odd, "event_type": "incident.triggered",
            "data": {"id": odd, "urgency": odd, "service": odd, "number": odd}}}),
        );
        values.push(json!({"event": {"event_type": "incident.acknowledged", "data": odd}}));
        values.push(
            json!({"name": "j", "build": {"phase": "COMPLETED", "status": "FAILURE",
            "number": odd, "timestamp": odd, "duration": odd, "scm": odd, "full_url": odd}}),
        );
        values.push(
            json!({"action": "completed", "repository": {"full_name": "r"},
            "workflow_run": {"conclusion": "failure", "name": odd, "head_branch": odd},
            "workflow": odd, "check_run": {"name": "n", "check_suite": odd}, "sender": odd}),
        );
        values.push(
            json!({"object_attributes": {"status": "failed", "ref": "r", "id": odd,
            "created_at": odd}, "project": {"path_with_namespace": "p", "web_url": odd},
            "build_name": "b", "ref": "r", "build_status": "failed", "build_id": odd}),
        );
    }
    values
}

/// Header sets: each sender's event and signature headers, well-formed and
/// junk.
fn odd_headers() -> Vec<Req> {
    let base = || Req::raw(b"{}");
    let mut out = vec![base()];
    for event in [
        "workflow_run",
        "check_run",
        "check_suite",
        "push",
        "ping",
        "x",
    ] {
        out.push(
            base()
                .header("X-GitHub-Event", event)
                .header("X-Hub-Signature-256", "sha256="),
        );
    }
    for event in ["Pipeline Hook", "Job Hook", "Push Hook", "Note Hook"] {
        out.push(
            base()
                .header("X-Gitlab-Event", event)
                .header("X-Gitlab-Token", "t"),
        );
    }
    let junk: [&[u8]; 6] = [
        b"",
        b" ",
        b"\xff\xfe",
        b"v1=,,,v1=",
        b"v1, v1,====",
        b"99999999999999999999",
    ];
    for value in junk {
        let mut req = base();
        for name in [
            "X-Hub-Signature-256",
            "X-Grafana-Alerting-Signature",
            "X-Grafana-Alerting-Signature-Timestamp",
            "X-Gitlab-Token",
            "X-Jenkins-Token",
            "X-PagerDuty-Signature",
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
            "X-GitHub-Delivery",
            "Idempotency-Key",
            "X-GitHub-Event",
            "X-Gitlab-Event",
        ] {
            req = req.header_bytes(name, value);
        }
        out.push(req);
    }
    out
}

#[test]
fn odd_input_never_panics_in_any_driver() {
    let values: Vec<(Value, String)> = odd_values()
        .into_iter()
        .map(|v| {
            let body = v.to_string();
            (v, body)
        })
        .collect();
    let verifiers = [
        Verifier::default(),
        Verifier {
            secrets: vec![
                SecretValue::from_string("whsec_AAAA".into()),
                SecretValue::new(vec![0; 3]),
            ],
            tolerance_secs: i64::MAX,
        },
        Verifier {
            secrets: vec![SecretValue::from_string("s".into())],
            tolerance_secs: i64::MIN,
        },
    ];
    for headers in odd_headers() {
        for (json, body) in &values {
            let delivery = |now| Delivery {
                headers: &headers.headers,
                body: body.as_bytes(),
                json,
                now,
            };
            let _ = DriverKind::detect(&headers.headers, json);
            for kind in DriverKind::ALL {
                for now in [0, i64::MIN, i64::MAX] {
                    for verifier in &verifiers {
                        let _ = kind.verify(&delivery(now), verifier);
                    }
                }
                let _ = kind.delivery_id(&delivery(0));
                if let Ok(Normalized::Alerts(alerts)) = kind.normalize("s", &delivery(0)) {
                    assert!(!alerts.is_empty(), "{kind}: Alerts is never empty");
                }
            }
        }
    }
}

#[test]
fn every_driver_refuses_a_body_of_the_wrong_json_type() {
    for json in [json!(null), json!(1), json!("s"), json!([{}]), json!(true)] {
        for kind in DriverKind::ALL {
            let req = Req::json(&json)
                .header("X-GitHub-Event", "push")
                .header("X-Gitlab-Event", "Push Hook");
            let message = req.shape_error(kind);
            // Prometheus pushes an array; every other sender an object.
            let expected = match (kind, json.is_array()) {
                (DriverKind::Prometheus, true) => "body[0].labels: expected at least one label",
                (DriverKind::Prometheus, false) => "body: expected a JSON array of alerts",
                _ => "body: expected a JSON object",
            };
            assert_eq!(message, expected, "{kind}");
        }
    }
}

#[test]
fn extreme_numbers_are_refused_or_ignored_not_overflowed() {
    for (timestamp, duration) in [(i64::MAX, i64::MAX), (i64::MIN, -1), (-1, i64::MIN), (0, 0)] {
        let mut body = value(JENKINS_FAILURE);
        body["build"]["status"] = json!("SUCCESS");
        body["build"]["timestamp"] = json!(timestamp);
        body["build"]["duration"] = json!(duration);
        let alert = Req::json(&body).alert(DriverKind::Jenkins);
        if timestamp == i64::MAX {
            assert_eq!(
                (alert.starts_at, alert.ends_at),
                (None, None),
                "out of range"
            );
        }
    }
    let mut generic = value(GENERIC_ALERT);
    generic["starts_at"] = json!("99999-01-01T00:00:00Z");
    assert!(Req::json(&generic).normalize(DriverKind::Generic).is_err());
}
