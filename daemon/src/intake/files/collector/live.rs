//! The paths notified live while the start scan runs. The start scan
//! marks what differs from the baseline `while_stopped`; a path the kernel
//! named meanwhile changed after vigild started (its directory was
//! watched already), so its change is not marked so.

use super::prefixes::Prefixes;
use std::collections::HashSet;
use vigil_store::FileRecord;

/// Paths named live, and trees named whole (a directory made or removed).
#[derive(Default)]
pub struct Live {
    paths: HashSet<String>,
    trees: Prefixes,
}

impl Live {
    /// The kernel named `key` (and what is below it, when `tree`).
    pub fn saw(&mut self, key: String, tree: bool) {
        if tree {
            self.trees.insert(key);
        } else {
            self.paths.insert(key);
        }
    }

    /// Whether `key` was named.
    pub fn named(&self, key: &str) -> bool {
        self.paths.contains(key) || self.trees.holds(key)
    }

    /// Unmarks the records of paths named live.
    pub fn relabel(&self, records: &mut [FileRecord]) {
        for record in records {
            if record.while_stopped
                && (self.named(&record.path)
                    || record.from.as_deref().is_some_and(|f| self.named(f)))
            {
                record.while_stopped = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_or_a_tree_named_live_is_not_changed_while_stopped() {
        let mut live = Live::default();
        live.saw("/w/f".into(), false);
        live.saw("/w/new".into(), true);
        assert!(live.named("/w/f"));
        assert!(!live.named("/w/f/x"), "a path named is not its tree");
        assert!(live.named("/w/new/deep/x"));
        assert!(!live.named("/w/g"));
    }
}
