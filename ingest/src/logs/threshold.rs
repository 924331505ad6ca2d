//! Thresholds as Wazuh and fail2ban users know them: N matches of a rule
//! within a window, counted per group of captured fields (`same =
//! ["src_ip"]`), one alert when the count is reached, then quiet for a
//! cooldown. The state is plain data the daemon keeps in a view, so a
//! restart does not reset a count. Times are UTC microseconds, given by
//! the caller (the entries' times), never read from a clock here.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Most groups kept across every rule: a flood of distinct addresses
/// evicts the groups seen least recently rather than growing the state.
pub const MAX_GROUPS: usize = 10_000;

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

/// What one more match did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    /// The count was reached: alert now.
    Reached {
        /// Matches in the window.
        count: u32,
    },
    /// Not yet.
    Below {
        /// Matches in the window.
        count: u32,
    },
    /// Reached already and cooling down: no alert.
    Cooling,
}

/// One group's recent matches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Group {
    /// Times of the matches within the window, oldest first.
    hits: VecDeque<i64>,
    /// No alert before this time.
    quiet_until: i64,
    /// The newest match (for eviction).
    last: i64,
}

/// Every rule's groups.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Rule → group key → its matches.
    groups: BTreeMap<String, BTreeMap<String, Group>>,
}

impl Thresholds {
    /// The group key of a match: the `same` captures' values, in order.
    pub fn key(threshold: &Threshold, captures: &BTreeMap<String, String>) -> String {
        threshold
            .same
            .iter()
            .map(|name| captures.get(name).map_or("", String::as_str))
            .collect::<Vec<_>>()
            .join("\u{1f}")
    }

    /// Counts a match of `rule` in group `key` at `at`.
    pub fn observe(&mut self, rule: &str, threshold: &Threshold, key: &str, at: i64) -> Counted {
        let group = self
            .groups
            .entry(rule.to_string())
            .or_default()
            .entry(key.to_string())
            .or_default();
        group.last = group.last.max(at);
        while group
            .hits
            .front()
            .is_some_and(|first| *first <= at - threshold.within)
        {
            group.hits.pop_front();
        }
        if at < group.quiet_until {
            return Counted::Cooling;
        }
        group.hits.push_back(at);
        let count = u32::try_from(group.hits.len()).unwrap_or(u32::MAX);
        let outcome = if count >= threshold.count {
            group.hits.clear();
            group.quiet_until = at.saturating_add(threshold.cooldown);
            Counted::Reached { count }
        } else {
            Counted::Below { count }
        };
        if self.len() > MAX_GROUPS {
            self.evict();
        }
        outcome
    }

    /// Forgets groups with nothing in their window and no cooldown left.
    pub fn expire(&mut self, now: i64, longest_window: i64) {
        self.retain(|g| g.quiet_until > now || g.last > now - longest_window);
    }

    /// Groups kept.
    pub fn len(&self) -> usize {
        self.groups.values().map(BTreeMap::len).sum()
    }

    fn retain(&mut self, keep: impl Fn(&Group) -> bool) {
        for groups in self.groups.values_mut() {
            groups.retain(|_, g| keep(g));
        }
        self.groups.retain(|_, groups| !groups.is_empty());
    }

    /// Whether no group is kept.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Drops the least recently seen tenth of the groups.
    fn evict(&mut self) {
        let mut lasts: Vec<i64> = self
            .groups
            .values()
            .flat_map(|g| g.values())
            .map(|g| g.last)
            .collect();
        lasts.sort_unstable();
        let cut = lasts[lasts.len() / 10];
        self.retain(|g| g.last > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    fn five_in_a_minute() -> Threshold {
        Threshold {
            count: 5,
            within: 60 * S,
            same: vec!["src_ip".into()],
            cooldown: 600 * S,
        }
    }

    #[test]
    fn the_fifth_match_in_the_window_alerts_once_then_it_cools_down() {
        let t = five_in_a_minute();
        let mut state = Thresholds::default();
        for i in 0..4 {
            assert_eq!(
                state.observe("ssh", &t, "203.0.113.5", i * S),
                Counted::Below {
                    count: i as u32 + 1
                }
            );
        }
        assert_eq!(
            state.observe("ssh", &t, "203.0.113.5", 4 * S),
            Counted::Reached { count: 5 }
        );
        // Ten more within the cooldown: no second alert.
        for i in 5..15 {
            assert_eq!(
                state.observe("ssh", &t, "203.0.113.5", i * S),
                Counted::Cooling
            );
        }
        // After the cooldown, counting starts afresh.
        assert_eq!(
            state.observe("ssh", &t, "203.0.113.5", 700 * S),
            Counted::Below { count: 1 }
        );
    }

    #[test]
    fn matches_outside_the_window_do_not_count_and_groups_are_apart() {
        let t = five_in_a_minute();
        let mut state = Thresholds::default();
        for i in 0..4 {
            state.observe("ssh", &t, "a", i * 20 * S);
        }
        // 0, 20, 40, 60: the first has left the window when the fourth comes.
        assert_eq!(
            state.observe("ssh", &t, "a", 61 * S),
            Counted::Below { count: 4 }
        );
        assert_eq!(
            state.observe("ssh", &t, "b", 61 * S),
            Counted::Below { count: 1 }
        );
        assert_eq!(
            state.observe("other", &t, "a", 61 * S),
            Counted::Below { count: 1 }
        );
    }

    #[test]
    fn the_key_joins_the_same_captures_and_state_survives_encoding() {
        let t = Threshold {
            same: vec!["user".into(), "src_ip".into()],
            ..five_in_a_minute()
        };
        let captures = BTreeMap::from([
            ("src_ip".to_string(), "198.51.100.7".to_string()),
            ("user".to_string(), "root".to_string()),
        ]);
        assert_eq!(Thresholds::key(&t, &captures), "root\u{1f}198.51.100.7");
        let mut state = Thresholds::default();
        for i in 0..3 {
            state.observe("ssh", &t, "k", i * S);
        }
        let json = serde_json::to_string(&state).expect("encodes");
        let mut back: Thresholds = serde_json::from_str(&json).expect("decodes");
        assert_eq!(back, state, "a restart resumes the count");
        assert_eq!(
            back.observe("ssh", &t, "k", 3 * S),
            Counted::Below { count: 4 }
        );
    }

    #[test]
    fn a_flood_of_groups_is_bounded_and_quiet_groups_expire() {
        let t = five_in_a_minute();
        let mut state = Thresholds::default();
        for i in 0..(MAX_GROUPS as i64 * 2) {
            state.observe("ssh", &t, &format!("10.0.{}.{}", i / 256, i % 256), i);
        }
        assert!(state.len() <= MAX_GROUPS, "{}", state.len());
        state.expire(1_000 * S, 60 * S);
        assert!(state.is_empty());
    }
}
