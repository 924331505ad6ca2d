//! Every recorded path and its entry, in path order, packed.
//!
//! A host may watch hundreds of thousands of paths, almost all recorded
//! once by a scan and rarely changed. A search tree spends a heap
//! allocation on each path and leaves its nodes about half full, which
//! more than doubles what the entries need. Here the bulk is a sorted
//! table: the entries side by side, every path in one string. Changes
//! since the last merge sit in a small tree in front of it and are merged
//! in once they grow past a fraction of the table, so a change costs a
//! tree insert and, amortized, a few copies of its slot.

use super::BaselineEntry;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;

/// Changes held in front of the table before a merge: at least this many,
/// or an eighth of the table.
const MIN_RECENT: usize = 1024;

/// Every recorded path's entry, in path order.
#[derive(Clone, Default)]
pub struct Baseline {
    /// Sorted by path; paths in `paths`.
    table: Vec<Slot>,
    /// The paths of `table`, concatenated.
    paths: String,
    /// Changes not merged yet: an entry, or `None` for a path removed.
    recent: BTreeMap<Box<str>, Option<BaselineEntry>>,
    /// Paths recorded.
    len: usize,
}

#[derive(Clone)]
struct Slot {
    at: u32,
    len: u32,
    entry: BaselineEntry,
}

impl Baseline {
    /// Paths recorded.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What is recorded for `path`.
    pub fn get(&self, path: &str) -> Option<&BaselineEntry> {
        self.get_key_value(path).map(|(_, e)| e)
    }

    /// Whether `path` is recorded.
    pub fn contains_key(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// `path` as stored, and its entry.
    pub fn get_key_value(&self, path: &str) -> Option<(&str, &BaselineEntry)> {
        match self.recent.get_key_value(path) {
            Some((p, Some(e))) => Some((p, e)),
            Some((_, None)) => None,
            None => self
                .find(path)
                .ok()
                .map(|i| (self.path(&self.table[i]), &self.table[i].entry)),
        }
    }

    /// Records `entry` for `path`, replacing what was recorded.
    pub fn insert(&mut self, path: &str, entry: BaselineEntry) {
        if !self.contains_key(path) {
            self.len += 1;
        }
        match self.recent.get_mut(path) {
            Some(slot) => *slot = Some(entry),
            None => {
                self.recent.insert(path.into(), Some(entry));
            }
        }
        self.merge_if_due();
    }

    /// Forgets `path`.
    pub fn remove(&mut self, path: &str) {
        if !self.contains_key(path) {
            return;
        }
        self.len -= 1;
        if self.find(path).is_ok() {
            // Hides the table's entry until the next merge.
            match self.recent.get_mut(path) {
                Some(slot) => *slot = None,
                None => {
                    self.recent.insert(path.into(), None);
                }
            }
        } else {
            self.recent.remove(path);
        }
        self.merge_if_due();
    }

    /// Every path and its entry, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &BaselineEntry)> {
        self.range_from(Bound::Unbounded)
    }

    /// The paths from `from` on, in path order.
    pub fn range_from<'a>(
        &'a self,
        from: Bound<&str>,
    ) -> impl Iterator<Item = (&'a str, &'a BaselineEntry)> + use<'a> {
        let start = match from {
            Bound::Unbounded => 0,
            Bound::Included(p) => self.table.partition_point(|s| self.path(s) < p),
            Bound::Excluded(p) => self.table.partition_point(|s| self.path(s) <= p),
        };
        Merged {
            baseline: self,
            table: start,
            recent: self
                .recent
                .range::<str, _>((from, Bound::Unbounded))
                .peekable(),
        }
    }

    /// The entries, in path order.
    pub fn values(&self) -> impl Iterator<Item = &BaselineEntry> {
        self.iter().map(|(_, e)| e)
    }

    fn path(&self, slot: &Slot) -> &str {
        &self.paths[slot.at as usize..slot.at as usize + slot.len as usize]
    }

    fn find(&self, path: &str) -> Result<usize, usize> {
        self.table.binary_search_by(|s| self.path(s).cmp(path))
    }

    fn merge_if_due(&mut self) {
        if self.recent.len() > MIN_RECENT.max(self.table.len() / 8) {
            self.merge();
        }
    }

    /// Folds the recent changes into a new table.
    fn merge(&mut self) {
        let mut table = Vec::with_capacity(self.len);
        let mut paths = String::with_capacity(self.paths.len());
        for (path, entry) in self.iter() {
            table.push(Slot {
                at: u32::try_from(paths.len()).expect("paths under 4 GiB"),
                len: u32::try_from(path.len()).expect("a path under 4 GiB"),
                entry: entry.clone(),
            });
            paths.push_str(path);
        }
        paths.shrink_to_fit();
        self.table = table;
        self.paths = paths;
        self.recent.clear();
    }
}

/// The table and the recent changes, merged in path order.
struct Merged<'a, R: Iterator<Item = (&'a Box<str>, &'a Option<BaselineEntry>)>> {
    baseline: &'a Baseline,
    table: usize,
    recent: std::iter::Peekable<R>,
}

impl<'a, R> Iterator for Merged<'a, R>
where
    R: Iterator<Item = (&'a Box<str>, &'a Option<BaselineEntry>)>,
{
    type Item = (&'a str, &'a BaselineEntry);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let b = self.baseline;
            let in_table = b.table.get(self.table).map(|s| (b.path(s), s));
            let order = match (in_table, self.recent.peek()) {
                (None, None) => return None,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((p, _)), Some((r, _))) => p.cmp(r),
            };
            if order != Ordering::Greater {
                self.table += 1;
            }
            if order == Ordering::Less {
                let (path, slot) = in_table.expect("compared");
                return Some((path, &slot.entry));
            }
            // The recent change wins over the table's entry for its path.
            let (path, entry) = self.recent.next().expect("compared");
            if let Some(entry) = entry {
                return Some((path, entry));
            }
        }
    }
}

impl FromIterator<(Box<str>, BaselineEntry)> for Baseline {
    fn from_iter<I: IntoIterator<Item = (Box<str>, BaselineEntry)>>(iter: I) -> Self {
        let mut sorted: Vec<_> = iter.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        sorted.dedup_by(|later, earlier| later.0 == earlier.0);
        let mut baseline = Baseline {
            len: sorted.len(),
            ..Baseline::default()
        };
        baseline
            .paths
            .reserve(sorted.iter().map(|(p, _)| p.len()).sum());
        for (path, entry) in sorted {
            baseline.table.push(Slot {
                at: u32::try_from(baseline.paths.len()).expect("paths under 4 GiB"),
                len: u32::try_from(path.len()).expect("a path under 4 GiB"),
                entry,
            });
            baseline.paths.push_str(&path);
        }
        baseline
    }
}

impl PartialEq for Baseline {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for Baseline {}

impl std::fmt::Debug for Baseline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::ops::Index<&str> for Baseline {
    type Output = BaselineEntry;

    fn index(&self, path: &str) -> &BaselineEntry {
        self.get(path).expect("a recorded path")
    }
}

// Stored as a map of path to entry, as the tree it replaces was.
impl Serialize for Baseline {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.len))?;
        for (path, entry) in self.iter() {
            map.serialize_entry(path, entry)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Baseline {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Baseline;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of path to baseline entry")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Baseline, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1 << 16));
                while let Some((path, entry)) = map.next_entry::<Box<str>, BaselineEntry>()? {
                    entries.push((path, entry));
                }
                Ok(entries.into_iter().collect())
            }
        }
        d.deserialize_map(Entries)
    }
}

/// A tree's entries, for a migration.
impl From<BTreeMap<Box<str>, BaselineEntry>> for Baseline {
    fn from(tree: BTreeMap<Box<str>, BaselineEntry>) -> Self {
        tree.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::{FileAttrs, FileType, Hash};

    fn entry(n: u64) -> BaselineEntry {
        let attrs = FileAttrs {
            file_type: FileType::File,
            sha256: Some(Hash([n as u8; 32])),
            size: n,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            mtime: 0,
            inode: n,
            dev: 1,
            link_target: None,
            xattrs: vec![],
        };
        BaselineEntry::new(&attrs, None, n, 0)
    }

    /// The same operations on the packed baseline and on a plain tree give
    /// the same contents, lookups and ordered ranges, across merges.
    #[test]
    fn behaves_as_a_sorted_map_across_merges() {
        let mut packed = Baseline::default();
        let mut tree: BTreeMap<String, BaselineEntry> = BTreeMap::new();
        // A deterministic mix: inserts (new and replacing) and removals,
        // enough of them to merge several times.
        let mut x: u64 = 7;
        for step in 0..20_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let path = format!("/etc/d{}/f{}", (x >> 33) % 40, (x >> 40) % 200);
            if (x >> 20).is_multiple_of(5) {
                packed.remove(&path);
                tree.remove(&path);
            } else {
                packed.insert(&path, entry(step));
                tree.insert(path.clone(), entry(step));
            }
            assert_eq!(packed.len(), tree.len(), "step {step}");
            if step.is_multiple_of(997) {
                let all: Vec<_> = packed
                    .iter()
                    .map(|(p, e)| (p.to_string(), e.clone()))
                    .collect();
                let want: Vec<_> = tree.iter().map(|(p, e)| (p.clone(), e.clone())).collect();
                assert_eq!(all, want, "step {step}");
            }
        }
        for (path, e) in &tree {
            assert_eq!(packed.get(path), Some(e));
        }
        assert!(!packed.contains_key("/etc/none"));
        for from in ["/etc/d1", "/etc/d1/f3", "/etc/d39/f199", "/", "/zzz"] {
            for bound in [Bound::Included(from), Bound::Excluded(from)] {
                let got: Vec<&str> = packed.range_from(bound).map(|(p, _)| p).collect();
                let want: Vec<&str> = tree
                    .range::<str, _>((bound, Bound::Unbounded))
                    .map(|(p, _)| p.as_str())
                    .collect();
                assert_eq!(got, want, "{bound:?}");
            }
        }
    }

    #[test]
    fn it_is_stored_as_a_map_and_reads_back_equal() {
        let mut packed = Baseline::default();
        for i in 0..3000u64 {
            packed.insert(&format!("/srv/{i:05}"), entry(i));
        }
        packed.remove("/srv/00007");
        let as_tree: BTreeMap<Box<str>, BaselineEntry> =
            packed.iter().map(|(p, e)| (p.into(), e.clone())).collect();
        let bytes = postcard::to_allocvec(&packed).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&as_tree).unwrap());
        let back: Baseline = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, packed);
        assert_eq!(back.len(), 2999);
        assert!(back.recent.is_empty(), "read back packed");
    }
}
