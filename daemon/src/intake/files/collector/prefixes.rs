//! Sets of recorded paths asked "is this path one of you, or below one of
//! you?": the unreadable directories of a walk, the directories a look
//! already covered. A set, asked once per ancestor of the path, so a burst
//! of many paths costs a few lookups each rather than a scan of the set.

use std::collections::BTreeSet;

/// Recorded paths (keys), each standing for itself and what is below it.
#[derive(Default)]
pub struct Prefixes {
    keys: BTreeSet<String>,
}

impl Prefixes {
    /// Adds `key` (and so what is below it).
    pub fn insert(&mut self, key: String) {
        self.keys.insert(key);
    }

    /// Whether `key` or a directory above it was added.
    pub fn holds(&self, key: &str) -> bool {
        !self.keys.is_empty() && at_and_above(key).any(|k| self.keys.contains(k))
    }
}

impl FromIterator<String> for Prefixes {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        Prefixes {
            keys: iter.into_iter().collect(),
        }
    }
}

/// `key`, then each directory above it up to `/`.
pub fn at_and_above(key: &str) -> impl Iterator<Item = &str> {
    let above = key
        .char_indices()
        .filter(|(_, c)| *c == '/')
        .map(|(i, _)| if i == 0 { "/" } else { &key[..i] });
    // `key` first, then nearest first: the slashes from the right.
    let mut above: Vec<&str> = above.filter(|a| *a != key).collect();
    above.reverse();
    std::iter::once(key).chain(above)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_held_by_itself_and_its_ancestors_by_component() {
        let p: Prefixes = ["/etc/a".to_string()].into_iter().collect();
        assert!(p.holds("/etc/a"));
        assert!(p.holds("/etc/a/b/c"));
        assert!(!p.holds("/etc/ab"));
        assert!(!p.holds("/etc"));
        let root: Prefixes = ["/".to_string()].into_iter().collect();
        assert!(root.holds("/etc/x"));
        assert!(!Prefixes::default().holds("/etc"));
        let all: Vec<&str> = at_and_above("/etc/a/b").collect();
        assert_eq!(all, ["/etc/a/b", "/etc/a", "/etc", "/"]);
        assert_eq!(at_and_above("/").collect::<Vec<_>>(), ["/"]);
    }

    #[test]
    fn many_paths_against_many_prefixes_take_no_time() {
        // Quadratic, this is 10^10 comparisons; by ancestors, a few
        // hundred thousand lookups.
        let n = 100_000;
        let p: Prefixes = (0..n).map(|i| format!("/w/d{i}")).collect();
        let started = std::time::Instant::now();
        let held = (0..n)
            .filter(|i| p.holds(&format!("/w/d{i}/f")) && !p.holds(&format!("/w/e{i}")))
            .count();
        assert_eq!(held, n);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
