//! Normalization of the alerting senders' fixtures: Alertmanager, Grafana,
//! PagerDuty and Vigil's own format. Expected times are UTC microseconds
//! computed independently of the drivers.

use super::{
    AM_FIRING, AM_RESOLVED, GENERIC_ALERT, GENERIC_BATCH, GRAFANA_FIRING, PD_RESOLVED,
    PD_TRIGGERED, PROM_ALERTS, Req, value,
};
use crate::drivers::{DriverKind, Normalized, fingerprint};
use serde_json::json;
use vigil_store::{AlertStatus, Labels, Severity};

const AM: DriverKind = DriverKind::Alertmanager;

#[test]
fn alertmanager_firing_group_becomes_three_firing_alerts() {
    let alerts = Req::raw(AM_FIRING.as_bytes()).alerts(AM);
    assert_eq!(alerts.len(), 3);
    assert!(alerts.iter().all(|a| a.status == AlertStatus::Firing));
    assert!(
        alerts.iter().all(|a| a.ends_at.is_none()),
        "firing alerts have not ended"
    );

    let disk = &alerts[0];
    assert_eq!(
        disk.fingerprint, "5f1c3b8a9e0d2c47",
        "the sender's fingerprint is kept"
    );
    assert_eq!(disk.severity, Severity::Critical);
    assert_eq!(
        disk.summary,
        "Disk /var/lib/postgresql on db-1 will fill within 4 hours"
    );
    assert_eq!(disk.labels.len(), 7);
    assert_eq!(disk.labels["alertname"], "DiskWillFillIn4Hours");
    assert_eq!(disk.labels["mountpoint"], "/var/lib/postgresql");
    assert_eq!(
        disk.annotations["runbook_url"],
        "https://runbooks.example.com/node/disk-will-fill"
    );
    assert_eq!(disk.starts_at, Some(1_741_944_413_125_000));
    assert_eq!(disk.links.len(), 1);
    assert!(disk.links[0].starts_with("http://prometheus.prod-eu.example.internal:9090/graph?"));

    let latency = &alerts[1];
    assert_eq!(latency.severity, Severity::Warning);
    assert_eq!(
        latency.summary, "p99 request latency on api-2 has been above 500ms for 10 minutes.",
        "without a summary annotation the description is the summary"
    );
    assert_eq!(
        latency.starts_at,
        Some(1_741_944_600_500_000),
        "+01:00 offset applied"
    );

    let backup = &alerts[2];
    assert_eq!(
        backup.severity,
        Severity::Warning,
        "unknown severity `page` is warning"
    );
    assert_eq!(
        backup.summary, "BackupJobStale",
        "without annotations, the alert name"
    );
    assert!(backup.annotations.is_empty());
    assert!(backup.links.is_empty(), "an empty generatorURL is no link");
    assert_eq!(backup.starts_at, Some(1_741_939_200_000_000));
}

#[test]
fn alertmanager_blank_summary_falls_back_to_description_then_alert_name() {
    let summary = |annotations: serde_json::Value, labels: serde_json::Value| {
        let mut body = value(AM_FIRING);
        body["alerts"][0]["annotations"] = annotations;
        body["alerts"][0]["labels"] = labels;
        Req::json(&body).alerts(AM).remove(0).summary
    };
    let name = json!({"alertname": "DiskWillFillIn4Hours"});
    let described = json!({"summary": " \n", "description": "Disk fills within 4 hours"});
    assert_eq!(
        summary(described, name.clone()),
        "Disk fills within 4 hours"
    );
    let blank = json!({"summary": "", "description": "  "});
    assert_eq!(summary(blank.clone(), name), "DiskWillFillIn4Hours");
    assert_eq!(
        summary(blank, json!({"alertname": " "})),
        "alertmanager alert"
    );
}

#[test]
fn alertmanager_resolved_alert_closes_the_same_fingerprint() {
    let firing = Req::raw(AM_FIRING.as_bytes()).alerts(AM);
    let resolved = Req::raw(AM_RESOLVED.as_bytes()).alert(AM);
    assert_eq!(resolved.status, AlertStatus::Resolved);
    assert_eq!(resolved.fingerprint, firing[0].fingerprint);
    assert_eq!(resolved.labels, firing[0].labels);
    assert_eq!(resolved.severity, Severity::Critical);
    assert_eq!(resolved.ends_at, Some(1_741_950_128_500_000));
}

#[test]
fn alertmanager_computed_fingerprints_are_stable_distinct_and_survive_resolution() {
    let strip = |text: &str| {
        let mut body = value(text);
        for alert in body["alerts"].as_array_mut().unwrap() {
            alert.as_object_mut().unwrap().remove("fingerprint");
        }
        Req::json(&body)
    };
    let firing = strip(AM_FIRING).alerts(AM);
    assert_eq!(
        firing,
        strip(AM_FIRING).alerts(AM),
        "same delivery, same result"
    );
    assert_ne!(firing[0].fingerprint, firing[1].fingerprint);
    assert_ne!(firing[1].fingerprint, firing[2].fingerprint);
    assert_ne!(firing[0].fingerprint, firing[2].fingerprint);
    assert_eq!(
        firing[0].fingerprint.len(),
        32,
        "16 bytes of SHA-256 in hex"
    );
    assert_eq!(
        firing[0].fingerprint,
        fingerprint("alertmanager", &firing[0].labels, &[])
    );
    let resolved = strip(AM_RESOLVED).alert(AM);
    assert_eq!(
        resolved.fingerprint, firing[0].fingerprint,
        "labels alone identify it"
    );
}

#[test]
fn fingerprint_encoding_is_unambiguous() {
    let labels = |pairs: &[(&str, &str)]| -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let a = fingerprint("alertmanager", &labels(&[("ab", "c")]), &[]);
    let b = fingerprint("alertmanager", &labels(&[("a", "bc")]), &[]);
    let c = fingerprint("grafana", &labels(&[("ab", "c")]), &[]);
    let d = fingerprint("alertmanager", &labels(&[]), &["ab", "c"]);
    let e = fingerprint("alertmanager", &labels(&[]), &["abc"]);
    let all = [&a, &b, &c, &d, &e];
    for (i, x) in all.iter().enumerate() {
        for y in &all[i + 1..] {
            assert_ne!(x, y);
        }
    }
}

#[test]
fn grafana_alerts_carry_links_and_values() {
    let alerts = Req::raw(GRAFANA_FIRING.as_bytes()).alerts(DriverKind::Grafana);
    assert_eq!(alerts.len(), 2);

    let memory = &alerts[0];
    assert_eq!(memory.status, AlertStatus::Firing);
    assert_eq!(memory.fingerprint, "7a41c0f2d9e83b56");
    assert_eq!(memory.severity, Severity::Error);
    assert_eq!(
        memory.summary,
        "Cache nodes in eu-west-1a are close to running out of memory"
    );
    assert_eq!(memory.labels["team"], "platform");
    assert_eq!(memory.labels["zone"], "eu-west-1a");
    assert_eq!(memory.starts_at, Some(1_738_587_900_000_000));
    assert_eq!(memory.ends_at, None);
    assert_eq!(
        memory.links.len(),
        4,
        "generator, silence, dashboard, panel"
    );
    assert!(memory.links[0].contains("/alerting/grafana/cdx1w2a3b4c5d/view"));
    assert!(memory.links[1].contains("/alerting/silence/new"));
    assert_eq!(
        memory.links[2],
        "https://grafana.example.com/d/cache-overview?orgId=1"
    );
    assert!(memory.links[3].ends_with("viewPanel=4"));
    assert!(memory.annotations["value"].starts_with("[ var='A' labels={zone=eu-west-1a}"));

    let lag = &alerts[1];
    assert_eq!(lag.status, AlertStatus::Resolved);
    assert_eq!(lag.fingerprint, "2e6b9d04c1f7a835");
    assert_eq!(lag.severity, Severity::Warning, "no severity label");
    assert_eq!(lag.summary, "Replica lag above 30s");
    assert_eq!(lag.ends_at, Some(1_738_587_600_000_000));
    assert_eq!(
        lag.links.len(),
        2,
        "empty dashboard and panel URLs are no links"
    );
    assert_eq!(
        lag.annotations["value"], "B=4.5",
        "empty valueString: values rendered"
    );
}

#[test]
fn grafana_values_skip_entries_that_are_not_numbers() {
    let mut body = value(GRAFANA_FIRING);
    body["alerts"][0]["valueString"] = json!("");
    body["alerts"][0]["values"] = json!({"A": 1.5, "B": null, "C": "x", "D": 2});
    let alerts = Req::json(&body).alerts(DriverKind::Grafana);
    assert_eq!(alerts[0].annotations["value"], "A=1.5 D=2");
}

#[test]
fn pagerduty_triggered_high_urgency_incident_is_critical() {
    let alert = Req::raw(PD_TRIGGERED.as_bytes()).alert(DriverKind::Pagerduty);
    assert_eq!(alert.status, AlertStatus::Firing);
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.fingerprint, "pagerduty:Q2KQ7ZPL4XBN0R");
    assert_eq!(alert.summary, "Checkout error rate above 5% in eu-west-1");
    assert_eq!(alert.labels["incident_id"], "Q2KQ7ZPL4XBN0R");
    assert_eq!(alert.labels["service"], "Checkout API");
    assert_eq!(alert.labels["urgency"], "high");
    assert_eq!(alert.annotations["incident_number"], "1187");
    assert_eq!(alert.annotations["priority"], "P1");
    assert_eq!(alert.annotations["escalation_policy"], "Payments on-call");
    assert_eq!(alert.annotations["status"], "triggered");
    assert_eq!(
        alert.links,
        ["https://acme.pagerduty.com/incidents/Q2KQ7ZPL4XBN0R"]
    );
    assert_eq!(alert.starts_at, Some(1_737_598_449_000_000));
    assert_eq!(alert.ends_at, None);
}

#[test]
fn pagerduty_resolved_incident_closes_the_same_fingerprint() {
    let triggered = Req::raw(PD_TRIGGERED.as_bytes()).alert(DriverKind::Pagerduty);
    let resolved = Req::raw(PD_RESOLVED.as_bytes()).alert(DriverKind::Pagerduty);
    assert_eq!(resolved.status, AlertStatus::Resolved);
    assert_eq!(resolved.fingerprint, triggered.fingerprint);
    assert_eq!(
        resolved.ends_at,
        Some(1_737_600_704_918_000),
        "event.occurred_at"
    );
}

#[test]
fn pagerduty_low_urgency_is_warning_and_reopened_fires() {
    let mut body = value(PD_TRIGGERED);
    body["event"]["event_type"] = json!("incident.reopened");
    body["event"]["data"]["urgency"] = json!("low");
    let alert = Req::json(&body).alert(DriverKind::Pagerduty);
    assert_eq!(alert.status, AlertStatus::Firing);
    assert_eq!(alert.severity, Severity::Warning);
}

#[test]
fn pagerduty_other_events_are_summarized_not_alerts() {
    let mut body = value(PD_TRIGGERED);
    body["event"]["event_type"] = json!("incident.acknowledged");
    let (event_type, summary) = Req::json(&body).other(DriverKind::Pagerduty);
    assert_eq!(event_type, "incident.acknowledged");
    assert_eq!(
        summary,
        "incident.acknowledged: Checkout error rate above 5% in eu-west-1"
    );
}

#[test]
fn generic_single_alert() {
    let alert = Req::raw(GENERIC_ALERT.as_bytes()).alert(DriverKind::Generic);
    assert_eq!(alert.status, AlertStatus::Firing);
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.summary, "Nightly backup of db-1 did not complete");
    assert_eq!(alert.labels.len(), 3);
    assert_eq!(alert.labels["host"], "db-1");
    assert_eq!(alert.annotations["last_success"], "2025-01-21T01:03:00Z");
    assert_eq!(alert.starts_at, Some(1_737_595_800_000_000));
    assert_eq!(
        alert.links,
        ["https://backups.example.com/jobs/db-1/2025-01-23"]
    );
    assert_eq!(
        alert.fingerprint,
        fingerprint("generic", &alert.labels, &[&alert.summary]),
        "computed from the labels and summary"
    );
}

#[test]
fn generic_batch_of_three() {
    let alerts = Req::raw(GENERIC_BATCH.as_bytes()).alerts(DriverKind::Generic);
    assert_eq!(alerts.len(), 3);

    let tls = &alerts[0];
    assert_eq!(tls.status, AlertStatus::Firing, "status defaults to firing");
    assert_eq!(tls.severity, Severity::Warning);
    assert_eq!(tls.starts_at, Some(1_737_608_400_000_000));
    assert!(tls.links.is_empty());

    let backup = &alerts[1];
    assert_eq!(backup.status, AlertStatus::Resolved);
    assert_eq!(backup.ends_at, Some(1_737_601_965_000_000));
    let single = Req::raw(GENERIC_ALERT.as_bytes()).alert(DriverKind::Generic);
    assert_eq!(
        backup.fingerprint, single.fingerprint,
        "same labels and summary"
    );

    let disk = &alerts[2];
    assert_eq!(
        disk.fingerprint, "host-7:disk:/srv",
        "the sender's fingerprint is kept"
    );
    assert_eq!(
        disk.severity,
        Severity::Warning,
        "severity defaults to warning"
    );
    assert!(disk.annotations.is_empty());

    assert_ne!(tls.fingerprint, backup.fingerprint);
}

#[test]
fn generic_standard_webhooks_envelope() {
    const G: DriverKind = DriverKind::Generic;
    // The spec's example: not an alert, a webhook event of its type.
    let example = json!({
        "type": "user.created",
        "timestamp": "2022-11-03T20:26:10.344522Z",
        "data": {"id": "1f81eb52-5198-4599-803e-771906343485", "type": "user", "nested": {"a": [1]}},
    });
    assert_eq!(
        Req::json(&example).other(G),
        (
            "user.created".to_string(),
            "user.created at 2022-11-03T20:26:10.344522Z".to_string()
        )
    );
    let untimed = json!({"type": "invoice.paid", "data": {}});
    assert_eq!(Req::json(&untimed).other(G).1, "invoice.paid");
    // Alerts when `data` is Vigil's body: one alert or a batch, the same
    // alerts as without the envelope.
    let one =
        json!({"type": "alert", "timestamp": "2025-01-23T01:30:00Z", "data": value(GENERIC_ALERT)});
    assert_eq!(
        Req::json(&one).alert(G),
        Req::raw(GENERIC_ALERT.as_bytes()).alert(G)
    );
    let batch = json!({"type": "alerts", "data": value(GENERIC_BATCH)});
    assert_eq!(
        Req::json(&batch).alerts(G),
        Req::raw(GENERIC_BATCH.as_bytes()).alerts(G)
    );
    // Strict where it reads: the envelope's fields, the alert in `data`.
    let cases = [
        (
            json!({"type": "a.b", "data": {}, "extra": 1}),
            "body: unknown field",
        ),
        (json!({"data": {}}), "type: missing"),
        (
            json!({"type": "a b", "data": {}}),
            "type: expected an event type",
        ),
        (
            json!({"type": "", "data": {}}),
            "type: expected an event type",
        ),
        (json!({"type": 7, "data": {}}), "type: expected a string"),
        (json!({"type": "a.b"}), "data: missing"),
        (
            json!({"type": "a.b", "data": [1]}),
            "data: expected a JSON object",
        ),
        (
            json!({"type": "a.b", "timestamp": "yesterday", "data": {}}),
            "timestamp: expected an RFC 3339 time",
        ),
        (
            json!({"type": "a.b", "data": {"summary": "x", "lables": {}}}),
            "data: unknown field",
        ),
        (
            json!({"type": "a.b", "data": {"summary": ""}}),
            "data.summary: expected a non-empty string",
        ),
    ];
    for (body, expected) in cases {
        let message = Req::json(&body).shape_error(G);
        assert!(message.starts_with(expected), "{body}: {message}");
    }
}

#[test]
fn every_fixture_normalizes_identically_twice_with_meaningful_summaries() {
    for fixture in super::fixtures() {
        let first = fixture.req().normalize(fixture.kind);
        let second = fixture.req().normalize(fixture.kind);
        assert_eq!(first, second, "{}", fixture.name);
        match first {
            Ok(crate::drivers::Normalized::Alerts(alerts)) => {
                assert!(!alerts.is_empty(), "{}", fixture.name);
                for alert in &alerts {
                    assert!(
                        alert.summary.len() >= 10,
                        "{}: {}",
                        fixture.name,
                        alert.summary
                    );
                    assert!(!alert.fingerprint.is_empty(), "{}", fixture.name);
                }
            }
            Ok(crate::drivers::Normalized::Other { summary, .. }) => {
                assert!(summary.len() >= 10, "{}: {summary}", fixture.name);
            }
            Err(e) => panic!("{}: {e}", fixture.name),
        }
    }
}

#[test]
fn prometheus_push_is_firing_until_its_end_has_passed() {
    const PROM: DriverKind = DriverKind::Prometheus;
    // The fixture's receive time is 10:00: the first alert ends at 10:04
    // (an expiry: firing), the second ended at 09:59:30 (resolved).
    let alerts = Req::raw(PROM_ALERTS.as_bytes()).alerts(PROM);
    assert_eq!(alerts.len(), 2);
    let errors = &alerts[0];
    assert_eq!(errors.status, AlertStatus::Firing);
    assert_eq!(
        errors.ends_at,
        Some(1_737_540_240_000_000),
        "a firing alert keeps its endsAt: its expiry"
    );
    assert_eq!(errors.severity, Severity::Critical);
    assert_eq!(errors.summary, "5xx rate on api-1 above 5% for 5 minutes");
    assert_eq!(errors.starts_at, Some(1_737_539_700_000_000));
    assert!(errors.links[0].starts_with("http://prometheus.example.internal:9090/graph?"));
    assert_eq!(
        errors.fingerprint,
        fingerprint("prometheus", &errors.labels, &[])
    );
    let down = &alerts[1];
    assert_eq!(down.status, AlertStatus::Resolved);
    assert_eq!(down.ends_at, Some(1_737_539_970_000_000));
    assert_eq!(down.severity, Severity::Warning, "no severity label");
    assert_eq!(
        down.summary,
        "api-2:8080 has been down for more than 1 minute."
    );

    // The same push a minute after the first alert's end: resolved too.
    let later = Req::raw(PROM_ALERTS.as_bytes())
        .at(1_737_540_000 + 300)
        .alerts(PROM);
    assert_eq!(later[0].status, AlertStatus::Resolved);
    assert_eq!(later[0].ends_at, Some(1_737_540_240_000_000));
    // Resolved within the second it is received (the receive time is
    // whole seconds): an end 10:00:00.960 received "at 10:00:00" has passed.
    let mut just_now = value(PROM_ALERTS);
    just_now[0]["endsAt"] = json!("2025-01-22T10:00:00.960Z");
    assert_eq!(
        Req::json(&just_now).alerts(PROM)[0].status,
        AlertStatus::Resolved
    );
    just_now[0]["endsAt"] = json!("2025-01-22T10:00:01.000Z");
    assert_eq!(
        Req::json(&just_now).alerts(PROM)[0].status,
        AlertStatus::Firing
    );
    // A resend with a later end keeps the fingerprint: same incident.
    let mut resent = value(PROM_ALERTS);
    resent[0]["endsAt"] = json!("2025-01-22T10:08:00.000Z");
    let resent = Req::json(&resent).alerts(PROM);
    assert_eq!(resent[0].fingerprint, errors.fingerprint);
    assert_eq!(resent[0].status, AlertStatus::Firing);
}

#[test]
fn prometheus_push_refuses_what_alertmanager_would() {
    const PROM: DriverKind = DriverKind::Prometheus;
    for (body, path) in [
        (json!({"alerts": []}), "body"),
        (json!([]), "body"),
        (json!([{"labels": {}}]), "body[0].labels"),
        (json!([{"annotations": {"a": "b"}}]), "body[0].labels"),
        (json!([{"labels": {"a": 1}}]), "body[0].labels"),
        (
            json!([{"labels": {"a": "b"}, "status": "firing"}]),
            "body[0]",
        ),
        (
            json!([{"labels": {"a": "b"}, "endsAt": "yesterday"}]),
            "body[0].endsAt",
        ),
    ] {
        let e = Req::json(&body).shape_error(PROM);
        assert!(e.starts_with(&format!("{path}: ")), "{body}: {e}");
    }
}

#[test]
fn end_unended_gives_only_firing_alerts_without_an_end_a_lifetime() {
    let mut normalized =
        Normalized::Alerts(Req::raw(PROM_ALERTS.as_bytes()).alerts(DriverKind::Prometheus));
    let Normalized::Alerts(alerts) = &mut normalized else {
        unreachable!()
    };
    alerts[0].ends_at = None;
    let resolved_end = alerts[1].ends_at;
    normalized.end_unended(1_000, 300);
    let Normalized::Alerts(alerts) = &normalized else {
        unreachable!()
    };
    assert_eq!(
        alerts[0].ends_at,
        Some(1_300),
        "firing, no end: now + lifetime"
    );
    assert_eq!(
        alerts[1].ends_at, resolved_end,
        "a resolved alert keeps its end"
    );
}
