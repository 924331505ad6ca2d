//! Looks: the paths the kernel named, each compared with the baseline
//! (below a directory made, moved or removed, everything; a directory
//! chmod'ed, itself), and directories that could not be watched, looked
//! at every minute instead.

use super::prefixes::Prefixes;
use super::scan::count;
use super::{CHUNK, Collector, Interrupted, deleted};
use crate::intake::files::beneath::open_dir_path;
use crate::intake::files::compare::pair_renames;
use crate::intake::files::walk::{Walker, path_key};
use crate::intake::files::watch::{EventMask, whole_tree};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Instant;
use vigil_store::{FileIntegrity, FileRecord, ScanReason, ScanTotals};
use vigil_views::BaselineEntry;

impl Collector {
    /// Looks again at the paths the kernel named: each one, and below a
    /// directory made, moved or removed everything (a new directory's
    /// files may predate its watch); a directory only chmod'ed is looked
    /// at itself.
    pub(super) fn look(&mut self) -> Result<(), Interrupted> {
        self.first_dirty = None;
        // Sorted: a directory comes before what is below it.
        let dirty = std::mem::take(&mut self.dirty);
        let mut records = Vec::new();
        // The trees each root looked at whole in this round: each root
        // examines only the paths it owns, so a path is looked at by every
        // root covering it, unless that root looked at a directory above
        // it already.
        let mut looked: HashMap<usize, Prefixes> = HashMap::new();
        for (path, mask) in dirty {
            let key = path_key(&path);
            let tree = whole_tree(mask);
            let covering: Vec<usize> = (0..self.sets.roots.len())
                .filter(|i| self.sets.roots[*i].covers(&key))
                .collect();
            for index in covering {
                let done = looked.entry(index).or_default();
                if done.holds(&key) {
                    continue;
                }
                if tree {
                    done.insert(key.clone());
                }
                records.extend(self.look_at(index, &path, &key, tree)?);
            }
        }
        let mut records = pair_renames(records);
        for record in &mut records {
            if let Some(index) = self.owner(&record.path) {
                self.alert(index, std::slice::from_mut(record));
            }
        }
        self.record_all(None, records)
    }

    /// The records for one changed path, and for what is below it when
    /// `tree`.
    pub(super) fn look_at(
        &mut self,
        index: usize,
        path: &std::path::Path,
        key: &str,
        tree: bool,
    ) -> Result<Vec<FileRecord>, Interrupted> {
        let sets = self.sets.clone();
        let root = &sets.roots[index];
        let root_key = root.key.clone();
        let baselined = self
            .shared
            .with_views(|v| v.files.is_baselined(&root_key))?;
        let mut walker = Walker::new(root, path, root.max_files);
        if !tree {
            walker = walker.itself_only();
        }
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut unreadable = Prefixes::default();
        let mut records = Vec::new();
        // A chunk at a time: what is found holds its directory open.
        loop {
            let chunk = walker.next_chunk(CHUNK);
            for dir in std::mem::take(&mut walker.dirs) {
                // Listed before it was watched: what was written into it
                // in between is found by one more look, now that it is.
                if self.watch(&dir) {
                    self.dirty.insert(dir.path.clone(), EventMask::CREATE);
                    self.first_dirty.get_or_insert_with(Instant::now);
                }
            }
            if chunk.is_empty() {
                break;
            }
            // A path under a more specific root is that root's.
            let mine: Vec<_> = chunk
                .into_iter()
                .filter(|f| self.owner(&f.key) == Some(index))
                .collect();
            seen.extend(mine.iter().map(|f| f.key.clone()));
            let examined = self.examine(index, mine, baselined, false)?;
            for key in &examined.gone {
                seen.remove(key);
            }
            for (path, _) in examined.errors {
                unreadable.insert(path);
            }
            records.extend(examined.records);
        }
        for (path, _) in std::mem::take(&mut walker.errors) {
            unreadable.insert(path);
        }
        if walker.over_limit {
            self.over_limit(index);
        }
        let complete = !walker.over_limit;
        let owner = |path: &str| self.owner(path);
        let gone: Vec<FileRecord> = self.shared.with_views(|v| {
            let recorded: Box<dyn Iterator<Item = (Cow<'_, str>, &BaselineEntry)>> = if tree {
                Box::new(v.files.under(key))
            } else {
                Box::new(v.files.files.get_key_value(key).into_iter())
            };
            recorded
                .filter(|(p, _)| {
                    complete
                        && !seen.contains(p.as_ref())
                        && owner(p) == Some(index)
                        && !unreadable.holds(p)
                })
                .map(|(p, entry)| deleted(&p, entry, false))
                .collect()
        })?;
        // Watches of directories gone are forgotten, not left to name a
        // path that is something else now.
        for g in &gone {
            if g.old
                .as_ref()
                .is_some_and(|o| o.file_type == vigil_store::FileType::Dir)
            {
                self.watches.remove_under(std::path::Path::new(&g.path));
            }
        }
        records.extend(gone);
        Ok(records)
    }

    /// Tries the directories that could not be watched again. One that
    /// fails for the first time gets a recorded rescan of its tree (reason
    /// `watch_failed`, with the kernel's error); one still failing since
    /// is looked at, recording only changes; one gone is forgotten.
    pub(super) fn retry_watches(&mut self) -> Result<(), Interrupted> {
        let failed = self.watches.take_failed();
        let (mut new, mut old) = (Vec::new(), Vec::new());
        for (dir, _) in failed {
            // Opened without following a link: one that is gone or is
            // something else now is forgotten.
            let Ok(opened) = open_dir_path(&dir) else {
                self.reported.remove(&dir);
                continue;
            };
            match self.watches.add(&opened) {
                Ok(_) => {
                    self.reported.remove(&dir);
                }
                Err(error) if self.reported.insert(dir.clone()) => new.push((dir, error)),
                Err(_) => old.push(dir),
            }
        }
        if let Some((first, error)) = new.first().cloned() {
            let dirs: Vec<PathBuf> = new.into_iter().map(|(d, _)| d).collect();
            let id = self.record(FileIntegrity::ScanStarted {
                reason: ScanReason::WatchFailed {
                    path: path_key(&first),
                    error,
                },
                roots: dirs.iter().map(|d| path_key(d)).collect(),
            })?;
            let started = Instant::now();
            let records = self.look_at_dirs(&dirs)?;
            let mut totals = ScanTotals::default();
            count(&mut totals, &records);
            totals.files = records.len() as u64;
            self.record_all(Some(id), records)?;
            totals.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.record(FileIntegrity::ScanFinished {
                scan: id,
                roots: Vec::new(),
                totals,
            })?;
        }
        if !old.is_empty() {
            let records = self.look_at_dirs(&old)?;
            self.record_all(None, records)?;
        }
        self.publish_watches();
        Ok(())
    }

    /// The records for directories looked at whole, with their alerts.
    fn look_at_dirs(&mut self, dirs: &[PathBuf]) -> Result<Vec<FileRecord>, Interrupted> {
        let mut records = Vec::new();
        for dir in dirs {
            let key = path_key(dir);
            if let Some(index) = self.owner(&key) {
                records.extend(self.look_at(index, dir, &key, true)?);
            }
        }
        let mut records = pair_renames(records);
        for record in &mut records {
            if let Some(index) = self.owner(&record.path) {
                self.alert(index, std::slice::from_mut(record));
            }
        }
        Ok(records)
    }
}
