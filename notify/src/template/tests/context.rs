//! The context is built from alerts the way Alertmanager builds its
//! payload, and never shows its values in `Debug`.

use super::super::*;
use super::{CANARY, alert, canary_context, labels};
use vigil_store::{AlertStatus, Labels};

#[test]
fn common_labels_are_those_equal_in_every_alert() {
    let mut a = alert(AlertStatus::Firing, "a", &[("job", "node"), ("team", "db")]);
    let mut b = alert(
        AlertStatus::Resolved,
        "b",
        &[("job", "node"), ("team", "web")],
    );
    a.annotations = labels(&[("runbook", "r1"), ("owner", "x")]);
    b.annotations = labels(&[("runbook", "r1")]);
    b.labels.remove("instance");
    let context = Context::from_alerts("team", Labels::new(), &[a, b]);
    assert_eq!(
        context.common_labels,
        labels(&[("alertname", "DiskFull"), ("job", "node")])
    );
    assert_eq!(context.common_annotations, labels(&[("runbook", "r1")]));
}

#[test]
fn status_and_counts_follow_the_alerts() {
    let firing = alert(AlertStatus::Firing, "a", &[]);
    let resolved = alert(AlertStatus::Resolved, "b", &[]);
    let context = Context::from_alerts("r", Labels::new(), &[resolved.clone(), firing]);
    assert_eq!(context.status, AlertStatus::Firing);
    assert_eq!(
        context.counts,
        Counts {
            firing: 1,
            resolved: 1,
            total: 2
        }
    );

    let context = Context::from_alerts("r", Labels::new(), &[resolved]);
    assert_eq!(context.status, AlertStatus::Resolved);

    let empty = Context::from_alerts("r", Labels::new(), &[]);
    assert_eq!(empty.status, AlertStatus::Resolved);
    assert!(empty.common_labels.is_empty());
}

#[test]
fn times_are_rfc3339_and_out_of_range_times_are_dropped() {
    let mut a = alert(AlertStatus::Resolved, "a", &[]);
    a.starts_at = Some(1_714_564_800_250_000);
    a.ends_at = Some(i64::MAX);
    let context = Context::from_alerts("r", Labels::new(), &[a]);
    assert_eq!(
        context.alerts[0].starts_at.as_deref(),
        Some("2024-05-01T12:00:00.25Z")
    );
    assert_eq!(context.alerts[0].ends_at, None);
}

#[test]
fn fields_list_matches_the_serialized_context() {
    let json = serde_json::to_value(Context::sample(AlertStatus::Firing)).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut fields = Context::FIELDS.to_vec();
    keys.sort_unstable();
    fields.sort_unstable();
    assert_eq!(keys, fields);
    let alert = json["alerts"][0].as_object().unwrap();
    for field in [
        "status",
        "severity",
        "summary",
        "labels",
        "annotations",
        "starts_at",
        "ends_at",
        "fingerprint",
        "links",
    ] {
        assert!(alert.contains_key(field), "{field}");
    }
}

#[test]
fn debug_shows_no_values() {
    let context = canary_context(2).with_incident(IncidentContext {
        id: CANARY.to_owned(),
        state: CANARY.to_owned(),
        source: CANARY.to_owned(),
        summary: CANARY.to_owned(),
    });
    for debug in [
        format!("{context:?}"),
        format!("{context:#?}"),
        format!("{:?}", context.alerts[0]),
        format!("{:?}", context.incident),
    ] {
        assert!(!debug.contains(CANARY), "{debug}");
    }
    assert!(format!("{context:?}").contains("alerts: 2"));
}

#[test]
fn only_a_resolved_alert_has_an_end() {
    let mut alert = vigil_store::Alert {
        fingerprint: "fp".into(),
        status: vigil_store::AlertStatus::Firing,
        severity: vigil_store::Severity::Warning,
        summary: "load".into(),
        labels: Default::default(),
        annotations: Default::default(),
        starts_at: Some(1_700_000_000_000_000),
        // Prometheus's endsAt on a firing alert: when it would expire.
        ends_at: Some(1_700_000_240_000_000),
        links: vec![],
    };
    assert_eq!(AlertContext::from(&alert).ends_at, None);
    alert.status = vigil_store::AlertStatus::Resolved;
    assert_eq!(
        AlertContext::from(&alert).ends_at.as_deref(),
        Some("2023-11-14T22:17:20Z")
    );
}
