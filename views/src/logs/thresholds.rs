//! Threshold counts as Wazuh and fail2ban users know them: N matches of a
//! rule within a window, counted per group of captured fields, one alert
//! when the count is reached, then quiet for a cooldown.
//!
//! The state is rebuilt from the log: each counted match records its
//! group and the threshold as it was ([`ThresholdCount`]), and the time
//! it was read, so replaying the log counts exactly as the collector did
//! and a restart does not reset a count.

use serde::{Deserialize, Serialize, Serializer};
use std::collections::{BTreeMap, HashMap, VecDeque};
use vigil_store::ThresholdCount;

/// Most groups kept across every rule: a flood of distinct addresses
/// evicts the groups seen least recently rather than growing the state.
pub const MAX_GROUPS: usize = 10_000;

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
    /// The window its threshold had at the newest match.
    within: i64,
}

/// Every rule's groups.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Rule → group key → its matches. A rule's groups are hashed: with
    /// thousands of addresses, a B-tree's walk missed the cache at every
    /// level of every match. Saved sorted, so equal states encode alike.
    #[serde(serialize_with = "sorted")]
    groups: BTreeMap<String, HashMap<String, Group>>,
    /// When quiet groups were last forgotten.
    tidied: i64,
}

/// How often quiet groups are forgotten, microseconds.
const TIDY_EVERY: i64 = 60_000_000;

impl Thresholds {
    /// Counts a match of `rule` in the group and threshold `counted` at
    /// `at` (UTC microseconds).
    pub fn observe(&mut self, rule: &str, counted: &ThresholdCount, at: i64) -> Counted {
        // Looked up before inserting: a known group costs no allocation.
        let groups = match self.groups.get_mut(rule) {
            Some(groups) => groups,
            None => self.groups.entry(rule.to_string()).or_default(),
        };
        let group = match groups.get_mut(&counted.key) {
            Some(group) => group,
            None => groups.entry(counted.key.clone()).or_default(),
        };
        group.last = group.last.max(at);
        group.within = counted.within;
        while group
            .hits
            .front()
            .is_some_and(|first| *first <= at.saturating_sub(counted.within))
        {
            group.hits.pop_front();
        }
        if at < group.quiet_until {
            return Counted::Cooling;
        }
        group.hits.push_back(at);
        let count = u32::try_from(group.hits.len()).unwrap_or(u32::MAX);
        let outcome = if count >= counted.count {
            group.hits.clear();
            group.quiet_until = at.saturating_add(counted.cooldown);
            Counted::Reached { count }
        } else {
            Counted::Below { count }
        };
        if self.len() > MAX_GROUPS {
            self.evict();
        }
        if at >= self.tidied.saturating_add(TIDY_EVERY) {
            self.tidied = at;
            self.expire(at);
        }
        outcome
    }

    /// Groups kept.
    pub fn len(&self) -> usize {
        self.groups.values().map(HashMap::len).sum()
    }

    /// Whether no group is kept.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Matches counted in `rule`'s group `key` and still in its window
    /// as of the last match (for `vigilctl logs list`).
    pub fn count(&self, rule: &str, key: &str) -> usize {
        self.groups
            .get(rule)
            .and_then(|g| g.get(key))
            .map_or(0, |g| g.hits.len())
    }

    /// Forgets groups with nothing in their window and no cooldown left
    /// (done by [`observe`](Self::observe) once a minute of match time).
    pub fn expire(&mut self, now: i64) {
        self.retain(|g| g.quiet_until > now || g.last > now.saturating_sub(g.within));
    }

    fn retain(&mut self, keep: impl Fn(&Group) -> bool) {
        for groups in self.groups.values_mut() {
            groups.retain(|_, g| keep(g));
        }
        self.groups.retain(|_, groups| !groups.is_empty());
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

/// The groups, each rule's in key order.
fn sorted<S: Serializer>(
    groups: &BTreeMap<String, HashMap<String, Group>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(
        groups
            .iter()
            .map(|(rule, groups)| (rule, groups.iter().collect::<BTreeMap<_, _>>())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    fn five_in_a_minute(key: &str) -> ThresholdCount {
        ThresholdCount {
            key: key.into(),
            count: 5,
            within: 60 * S,
            cooldown: 600 * S,
        }
    }

    #[test]
    fn the_fifth_match_in_the_window_alerts_once_then_it_cools_down() {
        let t = five_in_a_minute("203.0.113.5");
        let mut state = Thresholds::default();
        for i in 0..4 {
            assert_eq!(
                state.observe("ssh", &t, i * S),
                Counted::Below {
                    count: i as u32 + 1
                }
            );
        }
        assert_eq!(
            state.observe("ssh", &t, 4 * S),
            Counted::Reached { count: 5 }
        );
        // Ten more within the cooldown: no second alert.
        for i in 5..15 {
            assert_eq!(state.observe("ssh", &t, i * S), Counted::Cooling);
        }
        // After the cooldown, counting starts afresh.
        assert_eq!(
            state.observe("ssh", &t, 700 * S),
            Counted::Below { count: 1 }
        );
    }

    #[test]
    fn matches_outside_the_window_do_not_count_and_groups_are_apart() {
        let mut state = Thresholds::default();
        for i in 0..4 {
            state.observe("ssh", &five_in_a_minute("a"), i * 20 * S);
        }
        // 0, 20, 40, 60: the first has left the window when the fourth comes.
        assert_eq!(
            state.observe("ssh", &five_in_a_minute("a"), 61 * S),
            Counted::Below { count: 4 }
        );
        assert_eq!(
            state.observe("ssh", &five_in_a_minute("b"), 61 * S),
            Counted::Below { count: 1 }
        );
        assert_eq!(
            state.observe("other", &five_in_a_minute("a"), 61 * S),
            Counted::Below { count: 1 }
        );
        assert_eq!(state.count("ssh", "a"), 4);
    }

    #[test]
    fn state_survives_encoding_so_a_restart_resumes_the_count() {
        let t = five_in_a_minute("k");
        let mut state = Thresholds::default();
        for i in 0..3 {
            state.observe("ssh", &t, i * S);
        }
        let bytes = postcard::to_allocvec(&state).expect("encodes");
        let mut back: Thresholds = postcard::from_bytes(&bytes).expect("decodes");
        assert_eq!(back, state);
        assert_eq!(back.observe("ssh", &t, 3 * S), Counted::Below { count: 4 });
    }

    #[test]
    fn groups_encode_sorted_as_the_b_tree_they_replace() {
        // The encoding snapshots saved before: a B-tree of B-trees.
        #[derive(Serialize)]
        struct Before {
            groups: BTreeMap<String, BTreeMap<String, Group>>,
            tidied: i64,
        }
        let mut state = Thresholds::default();
        for (i, key) in ["c", "a", "e", "b", "d"].iter().enumerate() {
            state.observe("ssh", &five_in_a_minute(key), i as i64 * S);
            state.observe("su", &five_in_a_minute(key), i as i64 * S);
        }
        let before = Before {
            groups: state
                .groups
                .iter()
                .map(|(rule, g)| (rule.clone(), g.clone().into_iter().collect()))
                .collect(),
            tidied: state.tidied,
        };
        let bytes = postcard::to_allocvec(&state).expect("encodes");
        assert_eq!(bytes, postcard::to_allocvec(&before).expect("encodes"));
        let back: Thresholds = postcard::from_bytes(&bytes).expect("decodes");
        assert_eq!(back, state);
        assert_eq!(postcard::to_allocvec(&back).expect("encodes"), bytes);
    }

    #[test]
    fn a_flood_of_groups_is_bounded_and_quiet_groups_expire() {
        let mut state = Thresholds::default();
        for i in 0..(MAX_GROUPS as i64 * 2) {
            let key = format!("10.0.{}.{}", i / 256, i % 256);
            state.observe("ssh", &five_in_a_minute(&key), i);
        }
        assert!(state.len() <= MAX_GROUPS, "{}", state.len());
        state.expire(1_000 * S);
        assert!(state.is_empty());
        // A group past its window is forgotten by the next match a minute on.
        state.observe("ssh", &five_in_a_minute("old"), 2_000 * S);
        state.observe("ssh", &five_in_a_minute("new"), 2_100 * S);
        assert_eq!(
            (state.count("ssh", "old"), state.count("ssh", "new")),
            (0, 1)
        );
        assert_eq!(state.len(), 1);
    }
}
