//! Scans: every path under the roots against the baseline, a chunk at a
//! time, and then what the baseline holds that the disk no longer does.

use super::prefixes::Prefixes;
use super::{CHUNK, Collector, Interrupted, NAMED_ERRORS, deleted};
use crate::intake::files::beneath::{open_dir_path, replaced_or_gone, stat_at};
use crate::intake::files::compare::pair_renames;
use crate::intake::files::walk::{Found, Walker};
use crate::state::messages::FilesRefusal;
use std::collections::HashSet;
use std::time::Instant;
use tokio::sync::oneshot;
use vigil_store::{FileChangeKind, FileIntegrity, FileRecord, ScanReason, ScanTotals};

impl Collector {
    /// Scans `only` these roots (all when `None`).
    pub(super) fn scan(
        &mut self,
        only: Option<Vec<String>>,
        reason: ScanReason,
        mut replies: Option<Vec<oneshot::Sender<Result<u64, FilesRefusal>>>>,
    ) -> Result<(), Interrupted> {
        let started = Instant::now();
        let roots: Vec<String> = match &only {
            Some(keys) => keys.clone(),
            None => self.sets.keys(),
        };
        let while_stopped = reason == ScanReason::Start;
        let reason_name = reason.name().to_string();
        let id = match self.record(FileIntegrity::ScanStarted {
            reason,
            roots: roots.clone(),
        }) {
            Ok(id) => id,
            Err(e) => {
                for reply in replies.take().into_iter().flatten() {
                    let _ = reply.send(Err(FilesRefusal::Store(e.to_string())));
                }
                return Err(e);
            }
        };
        for reply in replies.take().into_iter().flatten() {
            let _ = reply.send(Ok(id));
        }
        let expected = self
            .shared
            .with_views(|v| {
                roots
                    .iter()
                    .map(|r| v.files.under(r).count() as u64)
                    .sum::<u64>()
            })
            .unwrap_or(0);
        self.progress.send_modify(|p| {
            p.scan = Some(id);
            p.reason = reason_name;
            p.examined = 0;
            p.expected = expected;
            p.bytes = 0;
        });
        let mut totals = ScanTotals::default();
        for key in &roots {
            let Some(index) = self.sets.roots.iter().position(|r| &r.key == key) else {
                continue;
            };
            self.scan_root(index, id, while_stopped, &mut totals)?;
            let interval = self.sets.roots[index].interval;
            self.next_scan
                .insert(key.clone(), Instant::now() + interval);
        }
        totals.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.record(FileIntegrity::ScanFinished {
            scan: id,
            roots,
            totals: totals.clone(),
        })?;
        self.progress.send_modify(|p| {
            p.scan = None;
            p.finished = Some(id);
            p.store_error = None;
        });
        // The log accepts again: the next refusal waits a second.
        self.store_failures.succeeded();
        self.publish_watches();
        tracing::info!(
            scan = id,
            files = totals.files,
            changes = totals.changes,
            baselined = totals.baselined,
            errors = totals.errors,
            "file integrity scan finished"
        );
        Ok(())
    }

    /// Scans one root: every path on disk against the baseline, then what
    /// the baseline holds that the disk no longer does.
    fn scan_root(
        &mut self,
        index: usize,
        scan: u64,
        while_stopped: bool,
        totals: &mut ScanTotals,
    ) -> Result<(), Interrupted> {
        let sets = self.sets.clone();
        let root = &sets.roots[index];
        let key = root.key.clone();
        let baselined = self.shared.with_views(|v| v.files.is_baselined(&key))?;
        // Its parent too: a watched directory removed and made anew is
        // seen there (events of its siblings cover no root).
        for dir in root.watch_dirs() {
            self.watch(&dir);
        }
        let mut walker = Walker::new(root, &root.path, root.max_files);
        let mut unreadable = Prefixes::default();
        let mut seen = Seen::default();
        let mut created = Vec::new();
        loop {
            let chunk = walker.next_chunk(CHUNK);
            // Watched as soon as found: a change after this is seen live.
            for dir in std::mem::take(&mut walker.dirs) {
                self.watch(&dir);
            }
            if chunk.is_empty() {
                break;
            }
            // A path under a more specific root is that root's.
            let chunk: Vec<Found> = chunk
                .into_iter()
                .filter(|f| self.owner(&f.key) == Some(index))
                .collect();
            for found in &chunk {
                seen.insert(&found.key);
            }
            let examined = self.examine(index, chunk, baselined, while_stopped)?;
            // Gone since the walk: not seen, so the baseline's record of
            // it is found gone at the end.
            for key in &examined.gone {
                seen.remove(key);
            }
            totals.files += examined.examined;
            totals.bytes += examined.bytes;
            for (path, error) in &examined.errors {
                note_error(totals, path, error);
                unreadable.insert(path.clone());
            }
            let (mut now, later): (Vec<FileRecord>, Vec<FileRecord>) = examined
                .records
                .into_iter()
                .partition(|r| r.change != FileChangeKind::Created);
            // Creations wait for the deletions found at the end: the two
            // halves of a move become one rename.
            created.extend(later);
            if let Some(live) = &self.live {
                live.relabel(&mut now);
            }
            self.alert(index, &mut now);
            count(totals, &now);
            self.record_behind(scan, now)?;
            let (files, bytes) = (examined.examined, examined.bytes);
            self.progress.send_modify(|p| {
                p.examined += files;
                p.bytes += bytes;
            });
            self.between_chunks()?;
        }
        self.settle()?;
        for (path, error) in &walker.errors {
            if self.owner(path) == Some(index) {
                note_error(totals, path, error);
            }
            unreadable.insert(path.clone());
        }
        let over_limit = walker.over_limit;
        if over_limit {
            self.over_limit(index);
            totals.over_limit.push(key.clone());
        } else {
            self.over_limit_said.remove(&key);
        }
        // Gone from the disk: unless the walk stopped early or could not
        // read where it was.
        let mut gone = Vec::new();
        if !over_limit {
            let owner = |path: &str| self.owner(path);
            gone = self.shared.with_views(|v| {
                v.files
                    .under(&key)
                    .filter(|(path, _)| {
                        !seen.contains(path)
                            && owner(path) == Some(index)
                            && !unreadable.holds(path)
                    })
                    .map(|(path, entry)| deleted(&path, entry, while_stopped))
                    .collect::<Vec<_>>()
            })?;
        }
        // The walk is older than what was looked at live meanwhile: a path
        // recorded since is not created again, and the disk has the last
        // word on what is there.
        let recorded = self.shared.with_views(|v| {
            created
                .iter()
                .map(|r| v.files.files.contains_key(r.path.as_str()))
                .collect::<Vec<bool>>()
        })?;
        let mut recorded = recorded.into_iter();
        created.retain(|r| !recorded.next().unwrap_or(false) && on_disk(&r.path) != Some(false));
        gone.retain(|r| on_disk(&r.path) != Some(true));
        created.extend(gone);
        let mut records = pair_renames(created);
        if let Some(live) = &self.live {
            live.relabel(&mut records);
        }
        self.alert(index, &mut records);
        count(totals, &records);
        self.record_all(Some(scan), records)?;
        Ok(())
    }
}

/// The paths a scan found, as keyed hashes rather than copies: a
/// hundred thousand paths cost 1.6 MB, not 10. The key is random per scan,
/// so no one can make a deleted path's hash equal a found one's on
/// purpose; by chance it is 1 in 2^64 per pair.
#[derive(Default)]
struct Seen {
    hasher: std::hash::RandomState,
    hashes: HashSet<u64>,
}

impl Seen {
    fn insert(&mut self, key: &str) {
        let hash = std::hash::BuildHasher::hash_one(&self.hasher, key);
        self.hashes.insert(hash);
    }

    fn remove(&mut self, key: &str) {
        let hash = std::hash::BuildHasher::hash_one(&self.hasher, key);
        self.hashes.remove(&hash);
    }

    fn contains(&self, key: &str) -> bool {
        let hash = std::hash::BuildHasher::hash_one(&self.hasher, key);
        self.hashes.contains(&hash)
    }
}

/// Whether something is at the recorded path now, looked up without
/// following a link on the way (`None`: a key that is not the path
/// itself, a name that is not UTF-8 or holds a `\\`, or the kernel would
/// not say).
fn on_disk(key: &str) -> Option<bool> {
    if key.contains('\\') {
        return None;
    }
    let path = std::path::Path::new(key);
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Some(true);
    };
    let known = |e: std::io::Error| replaced_or_gone(&e).then_some(false);
    match open_dir_path(parent) {
        Ok(parent) => match stat_at(&parent, name) {
            Ok(_) => Some(true),
            Err(e) => known(e),
        },
        Err(e) => known(e),
    }
}

fn note_error(totals: &mut ScanTotals, path: &str, error: &str) {
    totals.errors += 1;
    if totals.unreadable.len() < NAMED_ERRORS {
        totals
            .unreadable
            .push((path.to_string(), error.to_string()));
    }
}

pub(super) fn count(totals: &mut ScanTotals, records: &[FileRecord]) {
    for record in records {
        if record.change == FileChangeKind::Baseline {
            totals.baselined += 1;
        } else {
            totals.changes += 1;
        }
    }
}
