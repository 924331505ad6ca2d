//! The alert the notify bench's pending phase makes the daemon store, for
//! the footprint tests of the views and of the notifier's groups
//! (`#[path]`-included).

use std::collections::BTreeMap;
use vigil_store::{Alert, AlertStatus, Severity};

/// The alert the daemon stores for the notify bench's `am_alert("pend", i)`.
pub fn bench_alert(i: u64) -> Alert {
    let instance = format!("pend-{i}");
    let labels: BTreeMap<String, String> = [
        ("alertname", "HighLoad"),
        ("instance", instance.as_str()),
        ("job", "node"),
        ("severity", "warning"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Alert {
        fingerprint: format!("pend{i:016x}"),
        status: AlertStatus::Firing,
        severity: Severity::Warning,
        summary: format!("Load above 4 on {instance}"),
        labels,
        annotations: BTreeMap::from([(
            "description".to_string(),
            "load1 is 5.2 for 10m".to_string(),
        )]),
        starts_at: Some(1_795_417_200_000_000),
        ends_at: None,
        links: vec!["http://prometheus:9090/graph?g0.expr=node_load1".into()],
    }
}
