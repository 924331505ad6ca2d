//! The made-up groups templates are test-rendered against at compile time.
//!
//! Two samples cover both sides of the optional fields: the firing one has
//! an incident, an external URL and an alert without an end; the resolved
//! one has neither. A template that uses `incident.id` without
//! `{% if incident %}` therefore fails at config load, not at 3 a.m.
//!
//! Labels and annotations are deliberately few (`alertname`, `instance`,
//! `job`; `summary`, `description`): a template that relies on a key real
//! alerts may lack should guard it, and the sample cannot promise more.

use super::context::{Context, IncidentContext};
use vigil_store::{Alert, AlertStatus, Labels, Severity};

/// 2024-05-01T12:00:00Z in microseconds.
const T0: i64 = 1_714_564_800_000_000;
/// Ten minutes, in microseconds.
const TEN_MINUTES: i64 = 600_000_000;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn alert(status: AlertStatus, severity: Severity, instance: &str, ends: bool) -> Alert {
    Alert {
        fingerprint: format!("sample-{instance}"),
        status,
        severity,
        summary: format!("Disk almost full on {instance}"),
        labels: labels(&[
            ("alertname", "DiskFull"),
            ("instance", instance),
            ("job", "node"),
        ]),
        annotations: labels(&[
            ("summary", "Disk almost full"),
            (
                "description",
                "Less than 5% of the root filesystem is free.",
            ),
        ]),
        starts_at: Some(T0),
        ends_at: ends.then_some(T0 + TEN_MINUTES),
        links: vec!["https://monitoring.example/graph?g0.expr=disk".to_owned()],
    }
}

/// The sample for `status`.
pub(super) fn context(status: AlertStatus) -> Context {
    let group = labels(&[("alertname", "DiskFull")]);
    match status {
        AlertStatus::Firing => {
            let alerts = [
                alert(AlertStatus::Firing, Severity::Critical, "db1", false),
                alert(AlertStatus::Resolved, Severity::Warning, "db2", true),
            ];
            Context::from_alerts("sample", group, &alerts)
                .with_incident(IncidentContext {
                    id: "inc-1".to_owned(),
                    state: "open".to_owned(),
                    source: "prometheus".to_owned(),
                    summary: "Disk almost full on db1".to_owned(),
                })
                .with_external_url("https://vigil.example")
        }
        AlertStatus::Resolved => {
            let alerts = [alert(AlertStatus::Resolved, Severity::Warning, "db1", true)];
            Context::from_alerts("sample", group, &alerts)
        }
    }
}

/// Both samples, in the order compile tries them.
pub(super) fn contexts() -> [Context; 2] {
    [context(AlertStatus::Firing), context(AlertStatus::Resolved)]
}
