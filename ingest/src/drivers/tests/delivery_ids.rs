//! Delivery ids for duplicate detection: which header (or body field) each
//! driver reads, and what is refused.

use super::{PD_TRIGGERED, Req, sample, value};
use crate::drivers::DriverKind;
use serde_json::json;

/// A delivery carrying every sender's id header at once.
fn all_id_headers() -> Req {
    Req::raw(PD_TRIGGERED.as_bytes())
        .header("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
        .header("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
        .header("Idempotency-Key", "0f5c4c0e-8d44-4c8a-9d6b-6f1f6c5f8a21")
        .header(
            "X-Gitlab-Event-UUID",
            "13792a34-cac6-4fda-95a8-c58e00a3954e",
        )
}

#[test]
fn each_driver_reads_its_own_senders_delivery_id() {
    let req = all_id_headers();
    let id = |kind: DriverKind| kind.delivery_id(&req.delivery());
    assert_eq!(
        id(DriverKind::Github).as_deref(),
        Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    );
    assert_eq!(
        id(DriverKind::Generic).as_deref(),
        Some("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
    );
    assert_eq!(
        id(DriverKind::Gitlab).as_deref(),
        Some("0f5c4c0e-8d44-4c8a-9d6b-6f1f6c5f8a21"),
        "Idempotency-Key is preferred: it is stable across retries"
    );
    assert_eq!(
        id(DriverKind::Pagerduty).as_deref(),
        Some("01FJ7ZQ3V9R8X2M4K6T0B5N1CW")
    );
}

#[test]
fn alertmanager_grafana_and_jenkins_have_no_delivery_id() {
    let req = all_id_headers();
    for kind in [
        DriverKind::Alertmanager,
        DriverKind::Grafana,
        DriverKind::Jenkins,
    ] {
        assert_eq!(kind.delivery_id(&req.delivery()), None, "{kind}");
    }
}

#[test]
fn gitlab_falls_back_to_the_event_uuid() {
    let req = sample(DriverKind::Gitlab).header(
        "X-Gitlab-Event-UUID",
        "13792a34-cac6-4fda-95a8-c58e00a3954e",
    );
    assert_eq!(
        DriverKind::Gitlab.delivery_id(&req.delivery()).as_deref(),
        Some("13792a34-cac6-4fda-95a8-c58e00a3954e")
    );
    // An unusable Idempotency-Key does not hide a good event UUID.
    let req = sample(DriverKind::Gitlab)
        .header("Idempotency-Key", &"k".repeat(201))
        .header(
            "X-Gitlab-Event-UUID",
            "13792a34-cac6-4fda-95a8-c58e00a3954e",
        );
    assert_eq!(
        DriverKind::Gitlab.delivery_id(&req.delivery()).as_deref(),
        Some("13792a34-cac6-4fda-95a8-c58e00a3954e")
    );
    assert_eq!(
        DriverKind::Gitlab.delivery_id(&sample(DriverKind::Gitlab).delivery()),
        None
    );
}

#[test]
fn header_delivery_ids_are_trimmed_and_kept_up_to_200_printable_characters() {
    for (kind, header) in [
        (DriverKind::Github, "X-GitHub-Delivery"),
        (DriverKind::Generic, "webhook-id"),
        (DriverKind::Gitlab, "Idempotency-Key"),
        (DriverKind::Gitlab, "X-Gitlab-Event-UUID"),
    ] {
        let id = |value: &[u8]| {
            let req = sample(kind).header_bytes(header, value);
            kind.delivery_id(&req.delivery())
        };
        assert_eq!(id(b"  abc-123 ").as_deref(), Some("abc-123"), "{header}");
        let longest = "x".repeat(200);
        assert_eq!(id(longest.as_bytes()), Some(longest), "{header}");
        assert_eq!(id("x".repeat(201).as_bytes()), None, "{header}: too long");
        assert_eq!(id(b""), None, "{header}: empty");
        assert_eq!(id(b"   "), None, "{header}: blank");
        assert_eq!(id(b"abc\tdef"), None, "{header}: tab");
        assert_eq!(
            id("d\u{e9}j\u{e0}-vu".as_bytes()),
            None,
            "{header}: non-ASCII"
        );
        assert_eq!(id(b"\xff\xfe"), None, "{header}: not UTF-8");
        // Repeated: which one is the id?
        let twice = sample(kind).header(header, "a").header(header, "b");
        assert_eq!(
            kind.delivery_id(&twice.delivery()),
            None,
            "{header}: repeated"
        );
    }
}

#[test]
fn pagerduty_delivery_id_is_event_id_and_refuses_junk() {
    let id =
        |body: serde_json::Value| DriverKind::Pagerduty.delivery_id(&Req::json(&body).delivery());
    let mut fixture = value(PD_TRIGGERED);
    assert_eq!(
        id(fixture.clone()).as_deref(),
        Some("01FJ7ZQ3V9R8X2M4K6T0B5N1CW")
    );
    fixture["event"]["id"] = json!(" 01FJ7ZQ3V9R8X2M4K6T0B5N1CW\n");
    assert_eq!(id(fixture).as_deref(), Some("01FJ7ZQ3V9R8X2M4K6T0B5N1CW"));
    assert_eq!(
        id(json!({"event": {"id": "x".repeat(200)}})),
        Some("x".repeat(200))
    );
    for junk in [
        json!({"event": {"id": "x".repeat(201)}}),
        json!({"event": {"id": "bell\u{7}"}}),
        json!({"event": {"id": "del\u{7f}"}}),
        json!({"event": {"id": "caf\u{e9}"}}),
        json!({"event": {"id": ""}}),
        json!({"event": {"id": 12345}}),
        json!({"event": {"id": null}}),
        json!({"event": "01FJ7ZQ3V9R8X2M4K6T0B5N1CW"}),
        json!({"id": "01FJ7ZQ3V9R8X2M4K6T0B5N1CW"}),
        json!([1, 2, 3]),
        json!(null),
    ] {
        assert_eq!(id(junk.clone()), None, "{junk}");
    }
}

#[test]
fn pagerduty_ignores_id_headers() {
    let req = Req::json(&json!({"event": {}})).header("webhook-id", "msg_1");
    assert_eq!(DriverKind::Pagerduty.delivery_id(&req.delivery()), None);
}
