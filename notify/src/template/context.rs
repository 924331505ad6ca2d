//! The fixed data a template sees: one notification about a group of
//! alerts, shaped like Alertmanager's webhook payload.
//!
//! Everything here is plain data (strings, maps, lists, numbers), which is
//! what keeps templates from reaching anything but these fields. `Debug`
//! is written by hand and shows only shapes, since alert text may hold
//! secrets even after redaction.

use serde::Serialize;
use std::fmt;
use vigil_store::{Alert, AlertStatus, Labels, Severity};

/// Everything a template can refer to.
///
/// The field names are the contract with operators' templates; they are
/// listed in [`Context::FIELDS`].
#[derive(Clone, PartialEq, Serialize)]
pub struct Context {
    /// Name of the receiver the notification goes to.
    pub receiver: String,
    /// `firing` if any alert in the group fires, else `resolved`.
    pub status: AlertStatus,
    /// The labels the route grouped by, with their values for this group.
    pub group_labels: Labels,
    /// The group's identity as Alertmanager spells it (`{}:{alertname="X"}`):
    /// receivers written for Alertmanager key their deduplication on it.
    pub group_key: String,
    /// Labels every alert of the group carries with the same value.
    pub common_labels: Labels,
    /// Annotations every alert of the group carries with the same value.
    pub common_annotations: Labels,
    /// The alerts, in the order given.
    pub alerts: Vec<AlertContext>,
    /// The incident the group belongs to, if the daemon tracks one.
    pub incident: Option<IncidentContext>,
    /// Where Vigil's own UI or API can be reached, if configured.
    pub external_url: Option<String>,
    /// How many alerts fire and how many resolved.
    pub counts: Counts,
}

/// One alert as templates see it.
#[derive(Clone, PartialEq, Serialize)]
pub struct AlertContext {
    /// `firing` or `resolved`.
    pub status: AlertStatus,
    /// `info`, `warning`, `error` or `critical`.
    pub severity: Severity,
    /// One-line summary.
    pub summary: String,
    /// Identifying labels.
    pub labels: Labels,
    /// Descriptive annotations.
    pub annotations: Labels,
    /// Start as RFC 3339 (UTC), if known.
    pub starts_at: Option<String>,
    /// End as RFC 3339 (UTC), for a resolved alert.
    pub ends_at: Option<String>,
    /// Stable identity of the alert.
    pub fingerprint: String,
    /// Links back to the source.
    pub links: Vec<String>,
}

/// The incident a notification is about.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct IncidentContext {
    /// Incident id.
    pub id: String,
    /// `open`, `acked` or `resolved` (the daemon's incident states).
    pub state: String,
    /// The source that raised it.
    pub source: String,
    /// One-line summary.
    pub summary: String,
}

/// Alert counts of a group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Alerts firing.
    pub firing: usize,
    /// Alerts resolved.
    pub resolved: usize,
    /// Both (before a receiver's `max_alerts` cut the list short).
    pub total: usize,
}

impl Context {
    /// The top-level names a template may use; kept in step with the
    /// struct by a test. Used to tell an operator which name was wrong.
    pub const FIELDS: &'static [&'static str] = &[
        "receiver",
        "status",
        "group_labels",
        "group_key",
        "common_labels",
        "common_annotations",
        "alerts",
        "incident",
        "external_url",
        "counts",
    ];

    /// Builds the context for `alerts` grouped under `group_labels`.
    ///
    /// Common labels and annotations follow Alertmanager: a pair is common
    /// when every alert carries that name with that value (none when there
    /// are no alerts). The group fires when any alert fires.
    pub fn from_alerts(
        receiver: impl Into<String>,
        group_labels: Labels,
        alerts: &[Alert],
    ) -> Context {
        let firing = alerts
            .iter()
            .filter(|alert| alert.status == AlertStatus::Firing)
            .count();
        Context {
            receiver: receiver.into(),
            status: if firing > 0 {
                AlertStatus::Firing
            } else {
                AlertStatus::Resolved
            },
            group_key: group_key(&group_labels),
            group_labels,
            common_labels: common(alerts.iter().map(|alert| &alert.labels)),
            common_annotations: common(alerts.iter().map(|alert| &alert.annotations)),
            alerts: alerts.iter().map(AlertContext::from).collect(),
            incident: None,
            external_url: None,
            counts: Counts {
                firing,
                resolved: alerts.len() - firing,
                total: alerts.len(),
            },
        }
    }

    /// Sets the incident.
    #[must_use]
    pub fn with_incident(mut self, incident: IncidentContext) -> Context {
        self.incident = Some(incident);
        self
    }

    /// Sets the external URL.
    #[must_use]
    pub fn with_external_url(mut self, url: impl Into<String>) -> Context {
        self.external_url = Some(url.into());
        self
    }

    /// A made-up group to preview templates with (and the one
    /// [`TemplateSet::compile`](super::TemplateSet::compile) renders them
    /// against): firing with an incident and an external URL, or resolved
    /// without either, so both branches of `{% if incident %}` are tried.
    pub fn sample(status: AlertStatus) -> Context {
        super::sample::context(status)
    }
}

/// Alertmanager's group key for a group under the root route: the route's
/// matchers (`{}`), a colon, and the group labels as a label set, sorted,
/// values quoted as Go's `%q` quotes them.
fn group_key(labels: &Labels) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{}}:{{{}}}", pairs.join(", "))
}

impl From<&Alert> for AlertContext {
    fn from(alert: &Alert) -> AlertContext {
        AlertContext {
            status: alert.status,
            severity: alert.severity,
            summary: alert.summary.clone(),
            labels: alert.labels.clone(),
            annotations: alert.annotations.clone(),
            starts_at: alert.starts_at.and_then(rfc3339),
            // A firing alert's end is only when it would expire unless
            // sent again (Prometheus's endsAt), not when it ended: as in
            // Alertmanager's notifications, only a resolved alert has one.
            ends_at: alert
                .ends_at
                .filter(|_| alert.status == AlertStatus::Resolved)
                .and_then(rfc3339),
            fingerprint: alert.fingerprint.clone(),
            links: alert.links.clone(),
        }
    }
}

/// Formats UTC microseconds as RFC 3339; a time outside jiff's range is
/// dropped rather than failing the notification.
fn rfc3339(micros: i64) -> Option<String> {
    jiff::Timestamp::from_microsecond(micros)
        .ok()
        .map(|time| time.to_string())
}

/// The pairs present with equal values in every set.
fn common<'a>(mut sets: impl Iterator<Item = &'a Labels>) -> Labels {
    let Some(first) = sets.next() else {
        return Labels::new();
    };
    let mut common = first.clone();
    for set in sets {
        if common.is_empty() {
            break;
        }
        common.retain(|name, value| set.get(name) == Some(value));
    }
    common
}

// Debug shows shapes only: alert text may carry secrets.

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("status", &self.status)
            .field("alerts", &self.alerts.len())
            .field("counts", &self.counts)
            .field("incident", &self.incident.is_some())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AlertContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertContext")
            .field("status", &self.status)
            .field("severity", &self.severity)
            .field("labels", &self.labels.len())
            .field("annotations", &self.annotations.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for IncidentContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncidentContext").finish_non_exhaustive()
    }
}
