//! Grouping: which labels put alerts of one route into the same
//! notification, and the key naming that group.
//!
//! As in Alertmanager, only labels the alert has are group labels, so
//! alerts lacking a `group_by` label group together. Unlike Alertmanager,
//! a label whose value is empty is treated as missing, matching how
//! matchers read labels.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vigil_store::{LabelSet, Labels};

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
///
/// The groups do not hold it: it is made from their route and labels when
/// a flush or a listing names them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupKey(#[serde(with = "super::held::shared_str")] Arc<str>);

impl GroupKey {
    /// The key of `route_id`'s group with these group labels.
    pub fn new(route_id: &str, group_labels: &Labels) -> Self {
        let pairs = group_labels.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        Self::of_pairs(route_id, pairs, group_labels.len())
    }

    /// The key of `route_id`'s group with these group labels, packed.
    pub fn of(route_id: &str, group_labels: &LabelSet) -> Self {
        Self::of_pairs(route_id, group_labels.iter(), 4)
    }

    fn of_pairs<'a>(
        route_id: &str,
        pairs: impl Iterator<Item = (&'a str, &'a str)>,
        guess: usize,
    ) -> Self {
        let mut key = String::with_capacity(route_id.len() + 2 + 32 * guess);
        key.push_str(route_id);
        key.push_str(":{");
        for (i, (name, value)) in pairs.enumerate() {
            if i > 0 {
                key.push_str(", ");
            }
            escape_into(&mut key, name, false);
            key.push('=');
            escape_into(&mut key, value, true);
        }
        key.push('}');
        Self(key.into())
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

/// Appends `s`, quoted if asked; quotes, backslashes and control
/// characters are escaped so no label can forge a separator. Names are
/// escaped too (a UTF-8 name may hold `=` or `,`), and quoted when they
/// hold anything but `[A-Za-z0-9_]`.
fn escape_into(out: &mut String, s: &str, always_quote: bool) {
    let quote =
        always_quote || s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if quote {
        out.push('"');
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    if quote {
        out.push('"');
    }
}
