//! Specifications of the template module, one concern per file, with the
//! shared fixtures here.

mod builtin;
mod compile;
mod context;
mod errors;
mod escape;
mod ssti;

use super::{Context, Escape, TemplateSet, TemplateSource};
use vigil_store::{Alert, AlertStatus, Labels, Severity};

/// A value that must never appear in an error or a `Debug` output.
const CANARY: &str = "CANARY-s3cr3t-7f3a";

/// Alert text an attacker controls, covering each channel's specials.
const HOSTILE: &str = "\"quoted\" \\ back\nnew\rline\ttab </script><script>alert(1)</script> \
                       <!channel> <https://evil.example|click> & {{ 7*7 }} {% if 1 %}x{% endif %} \
                       ' \u{2028} \u{0}";

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn alert(status: AlertStatus, summary: &str, extra: &[(&str, &str)]) -> Alert {
    let mut alert_labels = labels(&[("alertname", "DiskFull"), ("instance", "db1")]);
    alert_labels.extend(labels(extra));
    Alert {
        fingerprint: "fp-1".to_owned(),
        status,
        severity: Severity::Critical,
        summary: summary.to_owned(),
        labels: alert_labels,
        annotations: labels(&[("description", summary)]),
        starts_at: Some(1_714_564_800_000_000),
        ends_at: None,
        links: vec!["https://source.example/alert/1".to_owned()],
    }
}

/// A firing group whose free-text fields are hostile: the summary, the
/// description, the `instance` label (which the samples have, so templates
/// using it compile) and the group label.
fn hostile_context() -> Context {
    let alert = alert(
        AlertStatus::Firing,
        HOSTILE,
        &[("instance", HOSTILE), ("canary", CANARY)],
    );
    Context::from_alerts("team", labels(&[("alertname", HOSTILE)]), &[alert])
}

/// A firing group whose text fields hold the canary.
fn canary_context(alerts: usize) -> Context {
    let summary = format!("{CANARY} {CANARY}");
    let alerts: Vec<Alert> = (0..alerts)
        .map(|_| {
            alert(
                AlertStatus::Firing,
                &summary,
                &[("canary", CANARY), ("n", "31337")],
            )
        })
        .collect();
    Context::from_alerts("team", labels(&[("canary", CANARY)]), &alerts)
}

/// Compiles one template named `t`.
fn one(escape: Escape, source: &str) -> TemplateSet {
    TemplateSet::compile(&[TemplateSource::new("t", escape, source)])
        .unwrap_or_else(|err| panic!("{source:?} should compile: {err}"))
}
