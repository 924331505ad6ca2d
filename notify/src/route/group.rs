//! Grouping: which labels put alerts of one route into the same
//! notification, and the key naming that group.
//!
//! As in Alertmanager, only labels the alert has are group labels, so
//! alerts lacking a `group_by` label group together. Unlike Alertmanager,
//! a label whose value is empty is treated as missing, matching how
//! matchers read labels.

use std::fmt;

use serde::{Deserialize, Serialize};
use vigil_store::Labels;

use super::syntax::{quote, quote_name};
use super::tree::{GroupBy, MatchedRoute};

/// The labels of `labels` that `route` groups by.
pub fn group_labels(route: &MatchedRoute, labels: &Labels) -> Labels {
    labels
        .iter()
        .filter(|(name, value)| {
            !value.is_empty()
                && match &route.group_by {
                    GroupBy::All => true,
                    GroupBy::Labels(by) => by.iter().any(|b| b == *name),
                }
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

/// Names one aggregation group: `0.1:{alertname="DiskFull", env="prod"}`,
/// the route id, a colon, and the group labels sorted by name with values
/// quoted and escaped, so the key is unambiguous and identical across
/// restarts for the same route tree and labels.
///
/// Alertmanager's key starts with the route's matchers instead of its
/// position (`{}/{team="db"}:{...}`), so two sibling routes with the same
/// matchers share groups there; the position keeps them apart here, at
/// the price that reordering routes starts new groups.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupKey(String);

impl GroupKey {
    /// The key of `route_id`'s group with these group labels.
    pub fn new(route_id: &str, group_labels: &Labels) -> Self {
        let mut key = String::with_capacity(route_id.len() + 2 + 32 * group_labels.len());
        key.push_str(route_id);
        key.push_str(":{");
        for (i, (name, value)) in group_labels.iter().enumerate() {
            if i > 0 {
                key.push_str(", ");
            }
            // The matcher syntax's own quoting: no value can forge a
            // separator, and the key reads like the labels it groups.
            key.push_str(&quote_name(name));
            key.push('=');
            key.push_str(&quote(value));
        }
        key.push('}');
        Self(key)
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
