//! A rule's threshold, compiled: N matches within a window, counted per
//! group of captured fields (`same = ["src_ip"]`), then quiet for a
//! cooldown. The counting itself is a view's (`vigil_views::logs`): each
//! match records the [`ThresholdCount`] made here, so a replay counts as
//! the collector did.

use std::collections::BTreeMap;
use vigil_store::ThresholdCount;

/// A compiled threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Threshold {
    /// Matches that make an alert.
    pub count: u32,
    /// The window they must fall in, microseconds.
    pub within: i64,
    /// Captures whose values make a group.
    pub same: Vec<String>,
    /// Quiet after an alert, microseconds.
    pub cooldown: i64,
}

impl Threshold {
    /// The group of a match (the `same` captures' values, in order) and
    /// this threshold, as the match records them.
    pub fn count_for(&self, captures: &BTreeMap<String, String>) -> ThresholdCount {
        let mut key = String::new();
        for (i, name) in self.same.iter().enumerate() {
            if i > 0 {
                key.push('\u{1f}');
            }
            key.push_str(captures.get(name).map_or("", String::as_str));
        }
        ThresholdCount {
            key,
            count: self.count,
            within: self.within,
            cooldown: self.cooldown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_joins_the_same_captures_in_order() {
        let t = Threshold {
            count: 5,
            within: 60_000_000,
            same: vec!["user".into(), "src_ip".into()],
            cooldown: 600_000_000,
        };
        let captures = BTreeMap::from([
            ("src_ip".to_string(), "198.51.100.7".to_string()),
            ("user".to_string(), "root".to_string()),
        ]);
        let counted = t.count_for(&captures);
        assert_eq!(counted.key, "root\u{1f}198.51.100.7");
        assert_eq!(
            (counted.count, counted.within, counted.cooldown),
            (5, 60_000_000, 600_000_000)
        );
        let none = Threshold { same: vec![], ..t };
        assert_eq!(none.count_for(&captures).key, "");
    }
}
