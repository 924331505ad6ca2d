//! The JSON bodies of Slack and PagerDuty, parsed back and checked field
//! by field.

use serde_json::{Value, json};
use vigil_store::{SecretValue, Severity};

use crate::channel::pagerduty::{self, Action};
use crate::channel::slack;

fn parse(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

#[test]
fn slack_takes_text_as_is_and_optional_channel_and_username() {
    let text = "&lt;disk&gt; \"full\" on *db-1* ✓\nline two";
    let body = parse(&slack::body(text, None, None));
    assert_eq!(body, json!({ "text": text }));
    let body = parse(&slack::body(text, Some("#ops"), Some("Vigil")));
    assert_eq!(
        body,
        json!({ "text": text, "channel": "#ops", "username": "Vigil" })
    );
}

fn key() -> SecretValue {
    SecretValue::from_string("R0UTINGKEY0123456789abcdef012345".into())
}

#[test]
fn a_trigger_carries_payload_and_links() {
    let details = json!({ "host": "db-1", "alerts": 3 });
    let links = ["https://vigil.example/g/1".to_owned()];
    let body = parse(&pagerduty::body(
        &key(),
        Action::Trigger,
        "vigil-abc",
        "Disk full on db-1",
        "db-1",
        Severity::Critical,
        details.clone(),
        &links,
    ));
    assert_eq!(
        body,
        json!({
            "routing_key": "R0UTINGKEY0123456789abcdef012345",
            "event_action": "trigger",
            "dedup_key": "vigil-abc",
            "payload": {
                "summary": "Disk full on db-1",
                "source": "db-1",
                "severity": "critical",
                "custom_details": details,
            },
            "links": [{ "href": "https://vigil.example/g/1" }],
        })
    );
}

#[test]
fn a_resolve_carries_only_the_key_action_and_dedup_key() {
    let body = parse(&pagerduty::body(
        &key(),
        Action::Resolve,
        "vigil-abc",
        "Disk full on db-1",
        "db-1",
        Severity::Critical,
        json!({ "x": 1 }),
        &["https://vigil.example".to_owned()],
    ));
    assert_eq!(
        body,
        json!({
            "routing_key": "R0UTINGKEY0123456789abcdef012345",
            "event_action": "resolve",
            "dedup_key": "vigil-abc",
        })
    );
}

#[test]
fn severities_map_to_pagerdutys_words_and_empty_fields_get_placeholders() {
    for (severity, word) in [
        (Severity::Critical, "critical"),
        (Severity::Error, "error"),
        (Severity::Warning, "warning"),
        (Severity::Info, "info"),
    ] {
        let body = parse(&pagerduty::body(
            &key(),
            Action::Trigger,
            "k",
            "",
            " ",
            severity,
            Value::Null,
            &[],
        ));
        assert_eq!(body["payload"]["severity"], word);
        assert_eq!(body["payload"]["summary"], "(no summary)");
        assert_eq!(body["payload"]["source"], "vigil");
        assert!(body.get("links").is_none(), "no links, no field");
        assert!(
            body["payload"].get("custom_details").is_none(),
            "null, no field"
        );
    }
}

#[test]
fn a_long_summary_is_cut_at_a_character_boundary() {
    // One ASCII byte, then two-byte characters: byte 1024 falls inside one.
    let summary = format!("a{}", "é".repeat(700));
    let body = parse(&pagerduty::body(
        &key(),
        Action::Trigger,
        "k",
        &summary,
        "s",
        Severity::Info,
        Value::Null,
        &[],
    ));
    let cut = body["payload"]["summary"].as_str().unwrap();
    assert!(cut.len() <= 1024, "{}", cut.len());
    assert!(cut.len() >= 1020, "{}", cut.len());
    assert!(cut.ends_with('…'));
    assert!(summary.starts_with(cut.trim_end_matches('…')));

    let exact = "x".repeat(1024);
    let body = parse(&pagerduty::body(
        &key(),
        Action::Trigger,
        "k",
        &exact,
        "s",
        Severity::Info,
        Value::Null,
        &[],
    ));
    assert_eq!(
        body["payload"]["summary"],
        exact.as_str(),
        "1024 fits whole"
    );
}

#[test]
fn dedup_keys_are_stable_distinct_and_short() {
    let group = "{}/{alertname=\"DiskFull\",instance=\"db-1\"}".repeat(40);
    let a = pagerduty::dedup_key(&group);
    assert_eq!(
        a,
        pagerduty::dedup_key(&group),
        "the resolve matches the trigger"
    );
    assert_ne!(a, pagerduty::dedup_key("{}/{alertname=\"DiskFull\"}"));
    assert!(a.len() <= 255);
    assert!(
        !a.contains("DiskFull"),
        "label values stay out of PagerDuty"
    );
    assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    assert_eq!(
        pagerduty::EVENTS_URL,
        "https://events.pagerduty.com/v2/enqueue"
    );
}
