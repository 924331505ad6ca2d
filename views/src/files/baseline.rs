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
//!
//! Neighbouring paths share most of their bytes (`/etc/ssh/ssh_config`,
//! `/etc/ssh/sshd_config`), so the table keeps each path as the length of
//! the prefix it shares with the one before and the rest, as an sorted
//! string table does; every [`RESTART`]th path is whole, so a lookup is a
//! binary search over those and a short walk.

use super::BaselineEntry;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;

/// Changes held in front of the table before a merge: at least this many,
/// or an eighth of the table.
const MIN_RECENT: usize = 1024;

/// Every this many slots, a path is kept whole.
const RESTART: usize = 16;

/// Every recorded path's entry, in path order.
#[derive(Clone, Default)]
pub struct Baseline {
    /// Sorted by path; paths in `paths`.
    table: Vec<Slot>,
    /// What each slot's path adds to the prefix it shares with the one
    /// before, concatenated.
    paths: String,
    /// Changes not merged yet: an entry, or `None` for a path removed.
    /// Also the rare path too long for a slot, which stays here.
    recent: BTreeMap<Box<str>, Option<BaselineEntry>>,
    /// Paths recorded.
    len: usize,
}

/// One path of the table: `shared` bytes of the path before it, then
/// `len` bytes of `paths` from `at`.
#[derive(Clone)]
struct Slot {
    at: u32,
    shared: u16,
    len: u16,
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
        match self.recent.get(path) {
            Some(entry) => entry.as_ref(),
            None => self.find(path).ok().map(|i| &self.table[i].entry),
        }
    }

    /// Whether `path` is recorded.
    pub fn contains_key(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// `path`, if recorded, and its entry, as iterating yields them.
    pub fn get_key_value<'a>(&'a self, path: &'a str) -> Option<(Cow<'a, str>, &'a BaselineEntry)> {
        self.get(path).map(|e| (Cow::Borrowed(path), e))
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
    pub fn iter(&self) -> impl Iterator<Item = (Cow<'_, str>, &BaselineEntry)> {
        self.range_from(Bound::Unbounded)
    }

    /// The paths from `from` on, in path order.
    pub fn range_from<'a>(
        &'a self,
        from: Bound<&str>,
    ) -> impl Iterator<Item = (Cow<'a, str>, &'a BaselineEntry)> + use<'a> {
        let start = match from {
            Bound::Unbounded => 0,
            Bound::Included(p) => self.find(p).unwrap_or_else(|i| i),
            Bound::Excluded(p) => self.find(p).map_or_else(|i| i, |i| i + 1),
        };
        let mut path = String::new();
        if start < self.table.len() {
            self.path_into(start, &mut path);
        }
        Merged {
            baseline: self,
            table: start,
            path,
            recent: self
                .recent
                .range::<str, _>((from, Bound::Unbounded))
                .peekable(),
        }
    }

    /// Folds the changes held in front into the table, as after a scan,
    /// which leaves the baseline as small as it gets.
    pub fn compact(&mut self) {
        if self.recent.keys().any(|p| fits(p)) {
            self.merge();
        }
    }

    /// The entries, in path order.
    pub fn values(&self) -> impl Iterator<Item = &BaselineEntry> {
        self.iter().map(|(_, e)| e)
    }

    /// The bytes slot `i` adds to its shared prefix; a whole path at a
    /// restart.
    fn suffix(&self, i: usize) -> &str {
        let slot = &self.table[i];
        &self.paths[slot.at as usize..slot.at as usize + slot.len as usize]
    }

    /// Puts slot `i`'s path in `out`.
    fn path_into(&self, i: usize, out: &mut String) {
        out.clear();
        for j in i - i % RESTART..=i {
            self.next_path(j, out);
        }
    }

    /// Turns slot `j - 1`'s path in `out` into slot `j`'s.
    fn next_path(&self, j: usize, out: &mut String) {
        out.truncate(usize::from(self.table[j].shared));
        out.push_str(self.suffix(j));
    }

    /// Where `path` is in the table, or where it would go.
    fn find(&self, path: &str) -> Result<usize, usize> {
        // The restart blocks, by their whole first path: the last block
        // starting at or before `path` holds it, if anything does.
        let (mut lo, mut hi) = (0, self.table.len().div_ceil(RESTART));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.suffix(mid * RESTART).cmp(path) {
                Ordering::Equal => return Ok(mid * RESTART),
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
            }
        }
        let Some(block) = lo.checked_sub(1) else {
            return Err(0);
        };
        let start = block * RESTART;
        let end = (start + RESTART).min(self.table.len());
        // Walked without rebuilding paths: `common` is how many bytes the
        // last path compared shares with `path` (it was below it).
        let query = path.as_bytes();
        let mut common = 0;
        for j in start..end {
            let shared = usize::from(self.table[j].shared);
            if shared > common {
                // It agrees with the path before past where that one fell
                // below `path`: below it too.
                continue;
            }
            let suffix = self.suffix(j).as_bytes();
            let rest = &query[shared..];
            common = shared + suffix.iter().zip(rest).take_while(|(a, b)| a == b).count();
            match suffix.cmp(rest) {
                Ordering::Less => {}
                Ordering::Equal => return Ok(j),
                Ordering::Greater => return Err(j),
            }
        }
        Err(end)
    }

    fn merge_if_due(&mut self) {
        if self.recent.len() > MIN_RECENT.max(self.table.len() / 8) {
            self.merge();
        }
    }

    /// Folds the recent changes into a new table.
    fn merge(&mut self) {
        let mut packer = Packer::with_capacity(self.len, self.paths.len());
        let mut long = BTreeMap::new();
        for (path, entry) in self.iter() {
            if fits(&path) {
                packer.push(&path, entry.clone());
            } else {
                long.insert(path.into(), Some(entry.clone()));
            }
        }
        (self.table, self.paths) = packer.finish();
        self.recent = long;
    }
}

/// Whether a path can sit in the table (a slot's lengths are 16 bits;
/// Linux paths are at most 4 KiB, anything longer stays in front).
fn fits(path: &str) -> bool {
    path.len() <= usize::from(u16::MAX)
}

/// Builds a table from paths in order.
struct Packer {
    table: Vec<Slot>,
    paths: String,
    last: String,
}

impl Packer {
    fn with_capacity(slots: usize, bytes: usize) -> Packer {
        Packer {
            table: Vec::with_capacity(slots),
            paths: String::with_capacity(bytes),
            last: String::new(),
        }
    }

    /// Appends `path` (after every path pushed before, and [`fits`]).
    fn push(&mut self, path: &str, entry: BaselineEntry) {
        let shared = if self.table.len().is_multiple_of(RESTART) {
            0
        } else {
            let common = self
                .last
                .bytes()
                .zip(path.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            // Never inside a character: the rest must be a `str`.
            (0..=common)
                .rev()
                .find(|n| path.is_char_boundary(*n))
                .unwrap_or(0)
        };
        let rest = &path[shared..];
        self.table.push(Slot {
            at: u32::try_from(self.paths.len()).expect("paths under 4 GiB"),
            shared: u16::try_from(shared).expect("a path that fits"),
            len: u16::try_from(rest.len()).expect("a path that fits"),
            entry,
        });
        self.paths.push_str(rest);
        self.last.clear();
        self.last.push_str(path);
    }

    fn finish(mut self) -> (Vec<Slot>, String) {
        self.paths.shrink_to_fit();
        self.table.shrink_to_fit();
        (self.table, self.paths)
    }
}

/// The table and the recent changes, merged in path order.
struct Merged<'a, R: Iterator<Item = (&'a Box<str>, &'a Option<BaselineEntry>)>> {
    baseline: &'a Baseline,
    /// The next slot of the table, and its path.
    table: usize,
    path: String,
    recent: std::iter::Peekable<R>,
}

impl<'a, R> Iterator for Merged<'a, R>
where
    R: Iterator<Item = (&'a Box<str>, &'a Option<BaselineEntry>)>,
{
    type Item = (Cow<'a, str>, &'a BaselineEntry);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let b = self.baseline;
            let in_table = self.table < b.table.len();
            let order = match (in_table, self.recent.peek()) {
                (false, None) => return None,
                (true, None) => Ordering::Less,
                (false, Some(_)) => Ordering::Greater,
                (true, Some((r, _))) => self.path.as_str().cmp(r),
            };
            let mut taken = None;
            if order != Ordering::Greater {
                if order == Ordering::Less {
                    taken = Some((self.path.clone(), &b.table[self.table].entry));
                }
                self.table += 1;
                if self.table < b.table.len() {
                    b.next_path(self.table, &mut self.path);
                }
            }
            if let Some((path, entry)) = taken {
                return Some((Cow::Owned(path), entry));
            }
            // The recent change wins over the table's entry for its path.
            let (path, entry) = self.recent.next().expect("compared");
            if let Some(entry) = entry {
                return Some((Cow::Borrowed(path), entry));
            }
        }
    }
}

impl FromIterator<(Box<str>, BaselineEntry)> for Baseline {
    fn from_iter<I: IntoIterator<Item = (Box<str>, BaselineEntry)>>(iter: I) -> Self {
        let mut sorted: Vec<_> = iter.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        sorted.dedup_by(|later, earlier| later.0 == earlier.0);
        let len = sorted.len();
        let mut packer = Packer::with_capacity(len, 0);
        let mut recent = BTreeMap::new();
        for (path, entry) in sorted {
            if fits(&path) {
                packer.push(&path, entry);
            } else {
                recent.insert(path, Some(entry));
            }
        }
        let (table, paths) = packer.finish();
        Baseline {
            table,
            paths,
            recent,
            len,
        }
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
            map.serialize_entry(&*path, entry)?;
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
            // Names that part inside a character (é and è share a byte),
            // and now and then one too long for a slot.
            let accent = ["e", "é", "è"][((x >> 50) % 3) as usize];
            let mut path = format!("/etc/d{}{accent}/f{}", (x >> 33) % 40, (x >> 40) % 200);
            if (x >> 45).is_multiple_of(997) {
                path.push_str(&"x".repeat(70_000));
            }
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
        let check = |packed: &Baseline| {
            for path in tree.keys() {
                // Near misses: between and beside recorded paths.
                let shorter: String = path.chars().take(path.chars().count() - 1).collect();
                for probe in [format!("{path}0"), format!("{path}/"), shorter] {
                    assert_eq!(packed.get(&probe), tree.get(&probe), "{probe}");
                }
            }
            for (path, e) in &tree {
                assert_eq!(packed.get(path), Some(e));
                assert_eq!(
                    packed.get_key_value(path),
                    Some((Cow::Borrowed(path.as_str()), e))
                );
            }
            let all: Vec<_> = packed.iter().map(|(p, e)| (p.into_owned(), e)).collect();
            assert_eq!(
                all,
                tree.iter().map(|(p, e)| (p.clone(), e)).collect::<Vec<_>>()
            );
        };
        check(&packed);
        assert!(tree.keys().any(|p| p.len() > 70_000), "a long path");
        packed.compact();
        assert!(
            packed.recent.keys().all(|p| !fits(p)),
            "only paths too long for a slot stay in front"
        );
        check(&packed);
        assert!(!packed.contains_key("/etc/none"));
        for from in ["/etc/d1", "/etc/d1/f3", "/etc/d39/f199", "/", "/zzz"] {
            for bound in [Bound::Included(from), Bound::Excluded(from)] {
                let got: Vec<Cow<str>> = packed.range_from(bound).map(|(p, _)| p).collect();
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
