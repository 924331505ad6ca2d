//! The collector's loop, on its own thread: scans (at start, on schedule,
//! on request, after lost events) and live changes, both compared with
//! the baseline view and recorded through [`admit`](crate::intake::admit).

mod live;
mod look;
mod prefixes;
mod scan;
#[cfg(test)]
mod tests;

use super::backoff::Backoff;
use super::beneath::Dir;
use super::examine::{Examined, Examiner};
use super::sets::Sets;
use super::walk::Found;
use super::walk::path_key;
use super::watch::{EventMask, Notice, Sent, Watches, whole_tree};
use crate::config::Config;
use crate::intake::{Intake, admit};
use crate::state::Shared;
use crate::state::messages::{FilesCommand, FilesRefusal, ScanProgress};
use live::Live;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};
use vigil_store::{FileChangeKind, FileIntegrity, FileRecord, ScanReason, StoreError};

/// What reaches the collector's thread.
pub enum Input {
    /// From the kernel.
    Notice(Notice),
    /// From the control socket.
    Command(FilesCommand),
    /// vigild is stopping.
    Stop,
}

/// Inputs queued for the collector, at most: a flood of notifications
/// beyond it becomes a rescan, not memory.
pub const QUEUE: usize = 64;
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
    /// Paths to look at, with the events that named them.
    dirty: BTreeMap<PathBuf, EventMask>,
    first_dirty: Option<Instant>,
    last_notice: Instant,
    rescan: Option<String>,
    scan_requests: Vec<oneshot::Sender<Result<u64, FilesRefusal>>>,
    next_scan: BTreeMap<String, Instant>,
    next_retry: Instant,
    /// Directories whose failure to be watched was recorded.
    reported: BTreeSet<PathBuf>,
    /// The log's refusals in a row: the wait before trying again.
    store_failures: Backoff,
    /// Until the start scan finishes, the paths notified live: a change
    /// the start scan finds there happened after vigild started, not
    /// while it was stopped.
    live: Option<Live>,
    /// Test hook: appends to refuse, as a full disk would.
    #[cfg(test)]
    refuse_appends: Arc<std::sync::atomic::AtomicU32>,
    /// Roots whose walk went past `max_files`, said once in the log
    /// (each scan's end records it too), until a scan fits again.
    over_limit_said: BTreeSet<String>,
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
        let watches = Watches::new(move |notice| match sender.try_send(Input::Notice(notice)) {
            Err(flume::TrySendError::Full(_)) => Sent::Full,
            // Sent, or the collector is gone: nothing more to do.
            _ => Sent::Delivered,
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
            dirty: BTreeMap::new(),
            first_dirty: None,
            last_notice: Instant::now(),
            rescan: None,
            scan_requests: Vec::new(),
            next_scan: BTreeMap::new(),
            next_retry: Instant::now() + RETRY_WATCHES,
            reported: BTreeSet::new(),
            over_limit_said: BTreeSet::new(),
            store_failures: Backoff::default(),
            live: Some(Live::default()),
            #[cfg(test)]
            refuse_appends: Arc::default(),
            host: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default(),
        })
    }

    /// Runs until vigild stops.
    ///
    /// The log refusing an append (a full disk, say) does not end it: it
    /// says so, waits (1 s, doubling to a minute while it keeps failing),
    /// and then rescans every watched path, so nothing that changed while
    /// nothing could be recorded is lost. A start scan that did not finish
    /// is taken up again as the start scan.
    pub fn run(mut self) {
        let mut first = ScanReason::Start;
        loop {
            let error = match self.serve(first) {
                Ok(()) | Err(Interrupted::Stopping) => break,
                Err(error) => error,
            };
            // The chunk being appended failed too, or will be rescanned.
            let _ = self.settle();
            let shown = error.to_string();
            self.progress.send_modify(|p| {
                p.scan = None;
                p.store_error = Some(shown);
            });
            let wait = self.store_failures.failed();
            // The error names the store's trouble, never a file's content.
            tracing::error!(
                failures = self.store_failures.failures,
                "file integrity: {error}; trying again in {}s, then rescanning every watched path",
                wait.as_secs()
            );
            if self.pause(wait).is_err() {
                break;
            }
            first = if self.live.is_some() {
                ScanReason::Start
            } else {
                ScanReason::Overflow
            };
        }
        // A chunk still being appended finishes before the store closes.
        if let Err(e) = self.settle() {
            tracing::error!("file integrity monitoring stopped: {e}");
        }
        for reply in self.scan_requests.drain(..) {
            let _ = reply.send(Err(FilesRefusal::NotConfigured));
        }
    }

    /// Scans (for `first`), then follows changes until stopped or the log
    /// refuses an append.
    fn serve(&mut self, first: ScanReason) -> Result<(), Interrupted> {
        if !self.sets.roots.is_empty() {
            self.scan(None, first, None)?;
        }
        self.live = None;
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

    /// Waits `wait` after the log refused an append, answering commands
    /// and stopping when told to. Notifications are dropped: the rescan
    /// that follows covers them.
    fn pause(&mut self, wait: Duration) -> Result<(), Interrupted> {
        let until = Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.inputs.recv_timeout(left) {
                Ok(Input::Notice(_)) => {}
                Ok(input) => self.take(input)?,
                Err(flume::RecvTimeoutError::Timeout) => break,
                Err(flume::RecvTimeoutError::Disconnected) => return Err(Interrupted::Stopping),
            }
        }
        self.dirty.clear();
        self.first_dirty = None;
        self.rescan = None;
        Ok(())
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
                for (path, mask) in paths {
                    if let Some(live) = &mut self.live {
                        live.saw(path_key(&path), whole_tree(mask));
                    }
                    *self.dirty.entry(path).or_insert(EventMask::empty()) |= mask;
                }
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
        self.refused()?;
        let admitted = admit(&self.shared.ingest.redactor, Intake::Files(event));
        Ok(self.shared.log.append(&admitted.event)?.seq)
    }

    /// An append refused by the test hook (never, outside tests).
    #[cfg(test)]
    fn refused(&self) -> Result<(), Interrupted> {
        use std::sync::atomic::Ordering;
        let refuse = self
            .refuse_appends
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        match refuse {
            Ok(_) => Err(StoreError::Engine("No space left on device (os error 28)".into()).into()),
            Err(_) => Ok(()),
        }
    }

    #[cfg(not(test))]
    fn refused(&self) -> Result<(), Interrupted> {
        Ok(())
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
        self.refused()?;
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
                .map(|k| v.files.files.get(k.as_str()).cloned())
                .collect::<Vec<_>>()
        })?;
        let redactor = &self.shared.ingest.redactor;
        Ok(self
            .examiner
            .examine(root, found, recorded, baselined, while_stopped, redactor))
    }

    /// The root a path belongs to: the most specific one covering it
    /// (roots are sorted so), so overlapping roots examine a path once.
    fn owner(&self, key: &str) -> Option<usize> {
        self.sets.roots.iter().position(|r| r.covers(key))
    }

    /// Publishes how many directories are watched and how many could not be.
    fn publish_watches(&self) {
        let watched = self.watches.count() as u64;
        let unwatched = self.watches.failed.len() as u64;
        self.progress.send_modify(|p| {
            p.watched_dirs = watched;
            p.unwatched_dirs = unwatched;
        });
    }

    /// A walk of the root went past its `max_files`: said once.
    fn over_limit(&mut self, index: usize) {
        let root = &self.sets.roots[index];
        if self.over_limit_said.insert(root.key.clone()) {
            tracing::error!(
                root = %root.key,
                max_files = root.max_files,
                "file integrity: more paths than max_files; the rest is neither examined nor watched"
            );
        }
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
    /// Whether the watch is new (see [`Watches::add`]).
    fn watch(&mut self, dir: &Dir) -> bool {
        match self.watches.add(dir) {
            Ok(new) => new,
            Err(error) => {
                // A first failure's recorded rescan comes with the next
                // retry, now; a known one waits its minute.
                if !self.reported.contains(&dir.path) {
                    self.next_retry = self.next_retry.min(Instant::now() + Duration::from_secs(1));
                    tracing::warn!(dir = %dir.path.display(), "file integrity: cannot watch ({error}); it is looked at every minute instead");
                }
                false
            }
        }
    }
}

/// The record of a path the baseline holds and the disk no longer does.
fn deleted(path: &str, entry: &vigil_views::BaselineEntry, while_stopped: bool) -> FileRecord {
    FileRecord {
        path: path.to_string(),
        change: FileChangeKind::Deleted,
        from: None,
        old: Some(entry.attrs()),
        new: None,
        while_stopped,
        diff: None,
        content: None,
        alert: None,
    }
}
