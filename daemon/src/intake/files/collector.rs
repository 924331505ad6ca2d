//! The collector's loop, on its own thread: scans (at start, on schedule,
//! on request, after lost events) and live changes, both compared with
//! the baseline view and recorded through [`admit`](crate::intake::admit).

use super::compare::pair_renames;
use super::examine::{Examined, Examiner};
use super::sets::Sets;
use super::walk::{Found, Walker, path_key, walk};
use super::watch::{Notice, Watches};
use crate::config::Config;
use crate::intake::{Intake, admit};
use crate::state::Shared;
use crate::state::messages::{FilesCommand, FilesRefusal, ScanProgress};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};
use vigil_store::{FileChangeKind, FileIntegrity, FileRecord, ScanReason, ScanTotals, StoreError};

/// What reaches the collector's thread.
pub enum Input {
    /// From the kernel.
    Notice(Notice),
    /// From the control socket.
    Command(FilesCommand),
    /// vigild is stopping.
    Stop,
}

/// Records per log entry.
const CHUNK: usize = 512;
/// A burst of changes is looked at once it has been quiet this long...
const QUIET: Duration = Duration::from_millis(20);
/// ... or this long after its first change, whichever is first.
const MAX_DELAY: Duration = Duration::from_millis(60);
/// How often directories that could not be watched are tried again.
const RETRY_WATCHES: Duration = Duration::from_secs(60);
/// How often a reloaded configuration is looked for.
const CONFIG_CHECK: Duration = Duration::from_secs(1);
/// Unreadable paths named in a scan's totals (the rest are counted).
const NAMED_ERRORS: usize = 20;

/// Why a scan or a look did not finish.
#[derive(Debug, thiserror::Error)]
pub enum Interrupted {
    /// vigild is stopping.
    #[error("vigild is stopping")]
    Stopping,
    /// The log refused an append.
    #[error("cannot record file changes: {0}")]
    Store(#[from] StoreError),
    /// The thread appending a scan's records could not run.
    #[error("cannot record file changes: the appending thread {0}")]
    Appender(&'static str),
}

/// The collector's state.
pub struct Collector {
    shared: Arc<Shared>,
    inputs: flume::Receiver<Input>,
    progress: watch::Sender<ScanProgress>,
    config: Arc<Config>,
    sets: Arc<Sets>,
    examiner: Examiner,
    /// The append of the last scan chunk, still being made durable.
    in_flight: Option<std::thread::JoinHandle<Result<(), Interrupted>>>,
    watches: Watches,
    dirty: BTreeSet<PathBuf>,
    first_dirty: Option<Instant>,
    last_notice: Instant,
    rescan: Option<String>,
    scan_requests: Vec<oneshot::Sender<Result<u64, FilesRefusal>>>,
    next_scan: BTreeMap<String, Instant>,
    next_retry: Instant,
    host: String,
}

impl Collector {
    /// A collector on the configuration in force.
    pub fn new(
        shared: Arc<Shared>,
        inputs: flume::Receiver<Input>,
        sender: flume::Sender<Input>,
        progress: watch::Sender<ScanProgress>,
    ) -> Result<Collector, String> {
        let config = shared.config();
        let sets = Arc::new(Sets::compile(&config.collect)?);
        let examiner = Examiner::new(&config.collect)?;
        let watches = Watches::new(move |notice| {
            let _ = sender.send(Input::Notice(notice));
        });
        Ok(Collector {
            shared,
            inputs,
            progress,
            config,
            sets,
            examiner,
            in_flight: None,
            watches,
            dirty: BTreeSet::new(),
            first_dirty: None,
            last_notice: Instant::now(),
            rescan: None,
            scan_requests: Vec::new(),
            next_scan: BTreeMap::new(),
            next_retry: Instant::now() + RETRY_WATCHES,
            host: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default(),
        })
    }

    /// Runs until vigild stops.
    pub fn run(mut self) {
        match self.serve() {
            Ok(()) | Err(Interrupted::Stopping) => {}
            Err(e) => tracing::error!("file integrity monitoring stopped: {e}"),
        }
        for reply in self.scan_requests.drain(..) {
            let _ = reply.send(Err(FilesRefusal::NotConfigured));
        }
    }

    fn serve(&mut self) -> Result<(), Interrupted> {
        if !self.sets.roots.is_empty() {
            self.scan(None, ScanReason::Start, None)?;
        }
        loop {
            let wait = self.next_wake().saturating_duration_since(Instant::now());
            match self.inputs.recv_timeout(wait) {
                Ok(input) => self.take(input)?,
                Err(flume::RecvTimeoutError::Timeout) => {}
                Err(flume::RecvTimeoutError::Disconnected) => return Err(Interrupted::Stopping),
            }
            while let Ok(input) = self.inputs.try_recv() {
                self.take(input)?;
            }
            self.follow_config()?;
            self.due()?;
        }
    }

    /// When something is due next (at least once a second: a reloaded
    /// configuration is noticed by looking).
    fn next_wake(&self) -> Instant {
        let mut at = self.next_retry.min(Instant::now() + CONFIG_CHECK);
        if let Some(first) = self.first_dirty {
            at = at.min((self.last_notice + QUIET).min(first + MAX_DELAY));
        }
        if let Some(next) = self.next_scan.values().min() {
            at = at.min(*next);
        }
        if self.rescan.is_some() || !self.scan_requests.is_empty() {
            at = Instant::now();
        }
        at
    }

    /// Takes one input; a scan or a look run only from [`Collector::due`].
    fn take(&mut self, input: Input) -> Result<(), Interrupted> {
        match input {
            Input::Stop => return Err(Interrupted::Stopping),
            Input::Command(FilesCommand::Scan { reply }) => {
                if self.sets.roots.is_empty() {
                    let _ = reply.send(Err(FilesRefusal::NotConfigured));
                } else {
                    self.scan_requests.push(reply);
                }
            }
            Input::Notice(Notice::Lost(why)) => {
                tracing::warn!("file integrity: {why}; rescanning every watched path");
                self.progress.send_modify(|p| p.overflows += 1);
                self.rescan = Some(why);
            }
            Input::Notice(Notice::Paths(paths)) => {
                let now = Instant::now();
                self.first_dirty.get_or_insert(now);
                self.last_notice = now;
                self.dirty.extend(paths);
            }
        }
        Ok(())
    }

    /// Runs what is due: a requested or forced scan, scheduled scans, a
    /// look at changed paths, another try at failed watches.
    fn due(&mut self) -> Result<(), Interrupted> {
        let now = Instant::now();
        if self.rescan.take().is_some() {
            self.dirty.clear();
            self.first_dirty = None;
            self.scan(None, ScanReason::Overflow, None)?;
        }
        if !self.scan_requests.is_empty() {
            let requests: Vec<_> = self.scan_requests.drain(..).collect();
            self.scan(None, ScanReason::Operator, Some(requests))?;
        }
        let scheduled: Vec<String> = self
            .next_scan
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        if !scheduled.is_empty() {
            self.scan(Some(scheduled), ScanReason::Schedule, None)?;
        }
        if let Some(first) = self.first_dirty
            && (now >= self.last_notice + QUIET || now >= first + MAX_DELAY)
        {
            self.look()?;
        }
        if now >= self.next_retry {
            self.next_retry = now + RETRY_WATCHES;
            self.retry_watches()?;
        }
        Ok(())
    }

    /// Applies a reloaded `[collect]` when it changed: every watched path
    /// is scanned again (a new one baselined, not alerted) and watched
    /// anew; the rules apply from the next change.
    fn follow_config(&mut self) -> Result<(), Interrupted> {
        let config = self.shared.config();
        if Arc::ptr_eq(&config, &self.config) {
            return Ok(());
        }
        let changed = config.collect != self.config.collect;
        self.config = config;
        if !changed {
            return Ok(());
        }
        match (
            Sets::compile(&self.config.collect),
            Examiner::new(&self.config.collect),
        ) {
            (Ok(sets), Ok(examiner)) => {
                self.settle()?;
                self.sets = Arc::new(sets);
                self.examiner = examiner;
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(
                    "file integrity: the reloaded [collect] does not compile ({e}); keeping the previous one"
                );
                return Ok(());
            }
        }
        self.watches.clear();
        self.next_scan.clear();
        if !self.sets.roots.is_empty() {
            self.scan(None, ScanReason::Reload, None)?;
        }
        Ok(())
    }

    /// Appends one file integrity event, redacted; its seq.
    fn record(&mut self, event: FileIntegrity) -> Result<u64, Interrupted> {
        self.settle()?;
        let admitted = admit(&self.shared.ingest.redactor, Intake::Files(event));
        Ok(self.shared.log.append(&admitted.event)?.seq)
    }

    /// Waits for the chunk being appended, if any.
    fn settle(&mut self) -> Result<(), Interrupted> {
        match self.in_flight.take().map(std::thread::JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(Interrupted::Appender("panicked")),
        }
    }

    /// Appends a scan's chunk while the next one is examined: the hashing
    /// threads do not wait for each fsync. Its records' paths are not the
    /// next chunk's, and anything that reads what it records settles it
    /// first (every other append does).
    fn record_behind(&mut self, scan: u64, records: Vec<FileRecord>) -> Result<(), Interrupted> {
        self.settle()?;
        if records.is_empty() {
            return Ok(());
        }
        let shared = self.shared.clone();
        let thread = std::thread::Builder::new()
            .name("vigil-files-append".into())
            .spawn(move || {
                let event = FileIntegrity::Records {
                    scan: Some(scan),
                    files: records,
                };
                let admitted = admit(&shared.ingest.redactor, Intake::Files(event));
                shared.log.append(&admitted.event)?;
                Ok(())
            });
        match thread {
            Ok(thread) => self.in_flight = Some(thread),
            Err(_) => return Err(Interrupted::Appender("could not start")),
        }
        Ok(())
    }

    /// Appends records in entries of at most [`CHUNK`].
    fn record_all(
        &mut self,
        scan: Option<u64>,
        records: Vec<FileRecord>,
    ) -> Result<(), Interrupted> {
        let mut records = records.into_iter().peekable();
        while records.peek().is_some() {
            let files: Vec<FileRecord> = records.by_ref().take(CHUNK).collect();
            self.record(FileIntegrity::Records { scan, files })?;
        }
        Ok(())
    }

    /// Handles whatever arrived while a scan runs; only stopping stops it.
    fn between_chunks(&mut self) -> Result<(), Interrupted> {
        while let Ok(input) = self.inputs.try_recv() {
            self.take(input)?;
        }
        let now = Instant::now();
        if let Some(first) = self.first_dirty
            && (now >= self.last_notice + QUIET || now >= first + MAX_DELAY)
        {
            self.settle()?;
            self.look()?;
        }
        Ok(())
    }

    /// Scans `only` these roots (all when `None`).
    fn scan(
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
        let watched = self.watches.count() as u64;
        let unwatched = self.watches.failed.len() as u64;
        self.progress.send_modify(|p| {
            p.scan = None;
            p.finished = Some(id);
            p.watched_dirs = watched;
            p.unwatched_dirs = unwatched;
        });
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
        let baselined = self
            .shared
            .with_views(|v| v.files.baselined.contains(&key))?;
        if let Some(dir) = root.watch_dir().map(std::path::Path::to_path_buf) {
            self.watch(&dir);
        }
        let mut walker = Walker::new(root, &root.path, root.max_files);
        let mut unreadable: BTreeSet<String> = BTreeSet::new();
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
            for found in &chunk {
                seen.insert(&found.key);
            }
            let examined = self.examine(index, chunk, baselined, while_stopped)?;
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
            note_error(totals, path, error);
            unreadable.insert(path.clone());
        }
        let over_limit = walker.over_limit;
        if over_limit {
            tracing::error!(
                root = %key,
                max_files = root.max_files,
                "file integrity: more paths than max_files; the rest is not examined"
            );
            totals.over_limit.push(key.clone());
        }
        // Gone from the disk: unless the walk stopped early or could not
        // read where it was.
        let mut gone = Vec::new();
        if !over_limit {
            gone = self.shared.with_views(|v| {
                v.files
                    .under(&key)
                    .filter(|(path, _)| {
                        !seen.contains(path)
                            && root.covers(path)
                            && !unreadable.iter().any(|u| below_or_at(u, path))
                    })
                    .map(|(path, entry)| FileRecord {
                        path: path.clone(),
                        change: FileChangeKind::Deleted,
                        from: None,
                        old: Some(entry.attrs.clone()),
                        new: None,
                        while_stopped,
                        diff: None,
                        content: None,
                        alert: None,
                    })
                    .collect::<Vec<_>>()
            })?;
        }
        // The walk is older than what was looked at live meanwhile: a path
        // recorded since is not created again, and the disk has the last
        // word on what is there.
        let recorded = self.shared.with_views(|v| {
            created
                .iter()
                .map(|r| v.files.files.contains_key(&r.path))
                .collect::<Vec<bool>>()
        })?;
        let mut recorded = recorded.into_iter();
        created.retain(|r| !recorded.next().unwrap_or(false) && on_disk(&r.path) != Some(false));
        gone.retain(|r| on_disk(&r.path) != Some(true));
        created.extend(gone);
        let mut records = pair_renames(created);
        self.alert(index, &mut records);
        count(totals, &records);
        self.record_all(Some(scan), records)?;
        Ok(())
    }

    /// Looks again at the paths the kernel named: each one, and below a
    /// directory everything (a new directory's files may predate its
    /// watch).
    fn look(&mut self) -> Result<(), Interrupted> {
        self.first_dirty = None;
        let dirty: Vec<PathBuf> = std::mem::take(&mut self.dirty).into_iter().collect();
        let mut records = Vec::new();
        let mut looked: Vec<String> = Vec::new();
        for path in dirty {
            let key = path_key(&path);
            // Inside a directory looked at already in this round.
            if looked.iter().any(|l| below_or_at(l, &key)) {
                continue;
            }
            let Some(index) = self.sets.roots.iter().position(|r| r.covers(&key)) else {
                continue;
            };
            // The most specific root decides.
            let index = self
                .sets
                .root_of(&key)
                .and_then(|r| self.sets.roots.iter().position(|x| std::ptr::eq(x, r)))
                .unwrap_or(index);
            looked.push(key.clone());
            records.extend(self.look_at(index, &path, &key)?);
        }
        let mut records = pair_renames(records);
        for record in &mut records {
            if let Some(index) = self.sets.roots.iter().position(|r| r.covers(&record.path)) {
                self.alert(index, std::slice::from_mut(record));
            }
        }
        self.record_all(None, records)
    }

    /// The records for one changed path (and what is below it).
    fn look_at(
        &mut self,
        index: usize,
        path: &std::path::Path,
        key: &str,
    ) -> Result<Vec<FileRecord>, Interrupted> {
        let root = &self.sets.roots[index];
        let root_key = root.key.clone();
        let baselined = self
            .shared
            .with_views(|v| v.files.baselined.contains(&root_key))?;
        let found = walk(root, path, root.max_files);
        for dir in &found.dirs {
            self.watch(dir);
        }
        let complete = !found.over_limit;
        let unreadable: Vec<String> = found.errors.iter().map(|(p, _)| p.clone()).collect();
        let seen: BTreeSet<String> = found.found.iter().map(|f| f.key.clone()).collect();
        let examined = self.examine(index, found.found, baselined, false)?;
        let mut records = examined.records;
        let unreadable: Vec<String> = unreadable
            .into_iter()
            .chain(examined.errors.into_iter().map(|(p, _)| p))
            .collect();
        let root = &self.sets.roots[index];
        let gone: Vec<FileRecord> = self.shared.with_views(|v| {
            v.files
                .under(key)
                .filter(|(p, _)| {
                    complete
                        && !seen.contains(*p)
                        && root.covers(p)
                        && !unreadable.iter().any(|u| below_or_at(u, p))
                })
                .map(|(p, entry)| FileRecord {
                    path: p.clone(),
                    change: FileChangeKind::Deleted,
                    from: None,
                    old: Some(entry.attrs.clone()),
                    new: None,
                    while_stopped: false,
                    diff: None,
                    content: None,
                    alert: None,
                })
                .collect()
        })?;
        if gone.iter().any(|g| g.path == key) {
            self.watches.remove_under(path);
        }
        records.extend(gone);
        Ok(records)
    }

    /// Hashes and compares found paths with their baseline.
    fn examine(
        &mut self,
        index: usize,
        found: Vec<Found>,
        baselined: bool,
        while_stopped: bool,
    ) -> Result<Examined, Interrupted> {
        let root = &self.sets.roots[index];
        let keys: Vec<String> = found.iter().map(|f| f.key.clone()).collect();
        let recorded = self.shared.with_views(|v| {
            keys.iter()
                .map(|k| v.files.files.get(k).cloned())
                .collect::<Vec<_>>()
        })?;
        let redactor = &self.shared.ingest.redactor;
        Ok(self
            .examiner
            .examine(root, found, recorded, baselined, while_stopped, redactor))
    }

    /// Puts the rules' alert on each change.
    fn alert(&self, index: usize, records: &mut [FileRecord]) {
        let root = &self.sets.roots[index];
        let ctx = vigil_ingest::files::AlertContext {
            set: &root.set,
            severity: root.severity,
            labels: &root.labels,
            host: &self.host,
        };
        for record in records {
            if record.change != FileChangeKind::Baseline && record.alert.is_none() {
                record.alert = self.sets.rules.alert_for(record, &ctx);
            }
        }
    }

    /// Watches a directory; one that cannot be is scanned instead, and
    /// that is recorded.
    fn watch(&mut self, dir: &std::path::Path) {
        if let Err(error) = self.watches.add(dir) {
            tracing::warn!(dir = %dir.display(), "file integrity: cannot watch ({error}); it is scanned every minute instead");
        }
    }

    /// Tries failed watches again; what still fails is looked at now.
    fn retry_watches(&mut self) -> Result<(), Interrupted> {
        let failed = self.watches.take_failed();
        if failed.is_empty() {
            return Ok(());
        }
        let first = failed[0].clone();
        let mut still = Vec::new();
        for (dir, _) in failed {
            if self.watches.add(&dir).is_err() {
                still.push(dir);
            }
        }
        if still.is_empty() {
            return Ok(());
        }
        let id = self.record(FileIntegrity::ScanStarted {
            reason: ScanReason::WatchFailed {
                path: path_key(&first.0),
                error: first.1,
            },
            roots: still.iter().map(|d| path_key(d)).collect(),
        })?;
        let started = Instant::now();
        let mut records = Vec::new();
        for dir in &still {
            let key = path_key(dir);
            if let Some(index) = self.sets.roots.iter().position(|r| r.covers(&key)) {
                records.extend(self.look_at(index, dir, &key)?);
            }
        }
        let records = pair_renames(records);
        let mut totals = ScanTotals::default();
        count(&mut totals, &records);
        self.record_all(Some(id), records)?;
        totals.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.record(FileIntegrity::ScanFinished {
            scan: id,
            roots: Vec::new(),
            totals,
        })?;
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

    fn contains(&self, key: &str) -> bool {
        let hash = std::hash::BuildHasher::hash_one(&self.hasher, key);
        self.hashes.contains(&hash)
    }
}

/// Whether something is at the recorded path now (`None`: a name that is
/// not UTF-8, recorded escaped, cannot be looked up by its record).
fn on_disk(key: &str) -> Option<bool> {
    if key.contains("\\x") {
        return None;
    }
    Some(std::fs::symlink_metadata(key).is_ok())
}

/// Whether `path` is `dir` or below it.
fn below_or_at(dir: &str, path: &str) -> bool {
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/') || dir.ends_with('/'))
}

fn note_error(totals: &mut ScanTotals, path: &str, error: &str) {
    totals.errors += 1;
    if totals.unreadable.len() < NAMED_ERRORS {
        totals
            .unreadable
            .push((path.to_string(), error.to_string()));
    }
}

fn count(totals: &mut ScanTotals, records: &[FileRecord]) {
    for record in records {
        if record.change == FileChangeKind::Baseline {
            totals.baselined += 1;
        } else {
            totals.changes += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::below_or_at;

    #[test]
    fn below_or_at_respects_components() {
        assert!(below_or_at("/etc/a", "/etc/a"));
        assert!(below_or_at("/etc/a", "/etc/a/b"));
        assert!(!below_or_at("/etc/a", "/etc/ab"));
        assert!(below_or_at("/", "/etc"));
    }
}
