//! Tests of the notification policy, written as its specification. Every
//! instant is a fixed timestamp, so each test means the same on any day.

mod dispatch;
mod example;
mod inhibit;
mod matchers;
mod policy;
mod silence;
mod time;
mod tree;

use jiff::Timestamp;
use vigil_store::{Alert, AlertStatus, Labels, Severity};

use super::{RouteConfig, RouteTree};

/// Monday 2 March 2026, 10:00 UTC: the origin of the dispatcher tests.
const T0: &str = "2026-03-02T10:00:00Z";

/// An instant by its RFC 3339 text.
fn ts(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

/// `secs` seconds after [`T0`].
fn at(secs: i64) -> Timestamp {
    ts(T0)
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .expect("in range")
}

/// A label set.
fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A firing alert with these labels; the fingerprint is the label set.
fn firing(pairs: &[(&str, &str)]) -> Alert {
    let labels = labels(pairs);
    Alert {
        fingerprint: format!("{labels:?}"),
        status: AlertStatus::Firing,
        severity: Severity::Warning,
        summary: "test".into(),
        labels,
        annotations: Labels::new(),
        starts_at: None,
        ends_at: None,
        links: Vec::new(),
    }
}

/// The same alert, resolved.
fn resolved(alert: &Alert) -> Alert {
    Alert {
        status: AlertStatus::Resolved,
        ..alert.clone()
    }
}

/// A route config from JSON (the same shape TOML gives).
fn route_config(json: &str) -> RouteConfig {
    serde_json::from_str(json).expect("route config")
}

/// A route tree from JSON, with receivers `a` to `e` and intervals
/// `nights` and `office`.
fn tree(json: &str) -> RouteTree {
    RouteTree::compile(
        &route_config(json),
        &["a", "b", "c", "d", "e"],
        &["nights", "office"],
    )
    .expect("route tree")
}
