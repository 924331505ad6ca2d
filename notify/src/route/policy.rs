//! The notification policy as one configuration: the route tree, the
//! inhibit rules and the time intervals, validated together so every
//! name a route uses exists.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use vigil_store::{Alert, Labels};

use super::dispatch::Gate;
use super::inhibit::{InhibitError, InhibitRuleConfig, Inhibitor};
use super::silence::Silence;
use super::time::{TimeIntervalConfig, TimeIntervalError, TimeIntervals};
use super::tree::{MatchedRoute, RouteConfig, RouteError, RouteTree};

/// The policy as configured. The daemon reads these fields from its
/// `[notify]` table (next to its receivers); the field names are
/// Alertmanager's, so a ported YAML config maps key for key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// The root route.
    pub route: RouteConfig,
    /// Inhibit rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// Named time intervals routes may refer to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time_intervals: Vec<TimeIntervalConfig>,
}

/// A policy that does not validate.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PolicyError {
    /// In the route tree.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// In an inhibit rule.
    #[error(transparent)]
    Inhibit(#[from] InhibitError),
    /// In a time interval.
    #[error(transparent)]
    TimeInterval(#[from] TimeIntervalError),
}

/// A validated policy.
#[derive(Clone, Debug)]
pub struct Policy {
    tree: RouteTree,
    inhibitor: Inhibitor,
    intervals: TimeIntervals,
}

impl Policy {
    /// Validates a policy against the configured receiver names.
    pub fn compile(config: &PolicyConfig, receivers: &[&str]) -> Result<Self, PolicyError> {
        let intervals = TimeIntervals::compile(&config.time_intervals)?;
        let names: Vec<&str> = intervals.names().collect();
        let tree = RouteTree::compile(&config.route, receivers, &names)?;
        let inhibitor = Inhibitor::compile(&config.inhibit_rules)?;
        Ok(Self {
            tree,
            inhibitor,
            intervals,
        })
    }

    /// The routes that take an alert with these labels.
    pub fn route(&self, labels: &Labels) -> Vec<MatchedRoute> {
        self.tree.matches(labels)
    }

    /// Whether `route` sends nothing at `now`: inside one of its mute
    /// intervals, or outside all of its active ones (if it has any).
    pub fn route_muted(&self, route: &MatchedRoute, now: Timestamp) -> bool {
        let muted = route
            .mute_time_intervals
            .iter()
            .any(|n| self.intervals.contains(n, now));
        let inactive = !route.active_time_intervals.is_empty()
            && !route
                .active_time_intervals
                .iter()
                .any(|n| self.intervals.contains(n, now));
        muted || inactive
    }

    /// Whether an alert is inhibited by one of the `firing` alerts' labels.
    pub fn inhibited<'a>(
        &self,
        labels: &Labels,
        firing: impl IntoIterator<Item = &'a Labels>,
    ) -> bool {
        self.inhibitor.is_inhibited(labels, firing)
    }

    /// The [`Gate`] for [`Dispatcher::due_gated`](super::Dispatcher::due_gated):
    /// this policy's time intervals and inhibit rules, and `silences`.
    pub fn gate<'a>(&'a self, silences: &'a [Silence]) -> PolicyGate<'a> {
        PolicyGate {
            policy: self,
            silences,
        }
    }

    /// The route tree.
    pub fn tree(&self) -> &RouteTree {
        &self.tree
    }

    /// The inhibit rules.
    pub fn inhibitor(&self) -> &Inhibitor {
        &self.inhibitor
    }

    /// The time intervals.
    pub fn intervals(&self) -> &TimeIntervals {
        &self.intervals
    }
}

/// Why an alert is held back now, as Alertmanager's API reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Suppression {
    /// Ids of the active silences that mute it.
    pub silenced_by: Vec<String>,
    /// Fingerprints of the firing alerts that inhibit it.
    pub inhibited_by: Vec<String>,
}

impl Suppression {
    /// Whether anything holds the alert back.
    pub fn is_suppressed(&self) -> bool {
        !self.silenced_by.is_empty() || !self.inhibited_by.is_empty()
    }
}

impl Policy {
    /// Which silences and which of `firing` hold `alert` back at `now`:
    /// the same decision [`PolicyGate`] makes at a tick, with its reasons.
    pub fn suppression<'a>(
        &self,
        silences: &[Silence],
        alert: &Alert,
        firing: impl IntoIterator<Item = &'a Alert>,
        now: Timestamp,
    ) -> Suppression {
        let silenced_by = silences
            .iter()
            .filter(|s| s.mutes_at(&alert.labels, now))
            .map(|s| s.id().to_string())
            .collect();
        // Only rules whose target side takes this alert can apply: found
        // once, then each firing alert is tried against them alone.
        let rules: Vec<_> = self
            .inhibitor
            .rules()
            .iter()
            .filter(|r| r.target().matches(&alert.labels))
            .collect();
        let inhibited_by = if rules.is_empty() {
            Vec::new()
        } else {
            firing
                .into_iter()
                .filter(|source| {
                    rules
                        .iter()
                        .any(|r| r.inhibits(&alert.labels, &source.labels))
                })
                .map(|source| source.fingerprint.clone())
                .collect()
        };
        Suppression {
            silenced_by,
            inhibited_by,
        }
    }
}

/// Mutes by a policy's time intervals and inhibit rules and by silences.
#[derive(Clone, Copy, Debug)]
pub struct PolicyGate<'a> {
    policy: &'a Policy,
    silences: &'a [Silence],
}

impl Gate for PolicyGate<'_> {
    fn route_muted(&self, route: &MatchedRoute, now: Timestamp) -> bool {
        self.policy.route_muted(route, now)
    }

    fn alert_muted(&self, alert: &Alert, firing: &[&Labels], now: Timestamp) -> bool {
        self.silences.iter().any(|s| s.mutes_at(&alert.labels, now))
            || self.policy.inhibited(&alert.labels, firing.iter().copied())
    }

    fn uses_firing(&self) -> bool {
        !self.policy.inhibitor.is_empty()
    }
}
