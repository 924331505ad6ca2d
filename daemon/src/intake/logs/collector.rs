//! The collector's loop, on its own thread: polls every followed file
//! when woken (inotify) or every second, turns lines into events with the
//! position after them, and appends them in one durable append each, so
//! the position commits with what its lines produced.

use super::appender::Appender;
use super::journal::JournalTail;
use super::lines;
use super::matcher::SetRules;
use super::source::Source;
use super::tail::{Start, Step, Tail};
use super::wake::Wake;
use crate::config::{Config, StartAt, resolved};
use crate::state::Shared;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use vigil_ingest::files::Glob;
use vigil_store::{
    Event, FilePosition, LogEvent, LogLine, LogLines, LogPosition, LogSourceChange, StoreError,
};
use vigil_views::logs::Thresholds;

/// What reaches the collector's thread.
pub enum Input {
    /// Something changed in a watched directory.
    Wake,
    /// vigild is stopping.
    Stop,
}

/// How often files are looked at without being woken.
const POLL: Duration = Duration::from_secs(1);
/// How often globs are listed again without being woken.
const RELIST: Duration = Duration::from_secs(5);
/// A position read past and not yet committed (no line kept since) is
/// committed after this long...
const COMMIT_AFTER: Duration = Duration::from_secs(30);
/// ... or this many bytes.
const COMMIT_BYTES: u64 = 16 << 20;
/// Lines per log entry.
const LINES_PER_ENTRY: usize = 1000;
/// The longest wait between tries after the store refused an append.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Read, not committed: no line of it was kept yet.
struct Pending {
    position: LogPosition,
    read: u64,
    bytes: u64,
    since: Instant,
}

/// A followed source and the set it belongs to.
struct Followed {
    /// Index in `sets`: `[[collect.logs]]` first, then `[[collect.journal]]`.
    set: usize,
    source: Source,
    pending: Option<Pending>,
}

/// The collector's state.
pub struct Collector {
    shared: Arc<Shared>,
    inputs: flume::Receiver<Input>,
    config: Arc<Config>,
    sets: Vec<SetRules>,
    /// `[[collect.logs]]` index → (directory, glob) for globbed sets.
    globs: Vec<(usize, PathBuf, Glob)>,
    followed: Vec<Followed>,
    roots: Vec<PathBuf>,
    thresholds: Thresholds,
    wake: Wake,
    woken: Arc<AtomicBool>,
    /// A name appeared in a watched directory since globs were listed.
    appeared: Arc<AtomicBool>,
    /// Where batches are made durable, behind the reading.
    appender: Appender,
    /// Wakes the collector (for journal entries).
    waker: Arc<dyn Fn() + Send + Sync>,
    listed: Instant,
    backoff: Option<(Instant, Duration)>,
    /// Why the last append was refused, for doctor (none once one is
    /// accepted).
    store_error: tokio::sync::watch::Sender<Option<String>>,
    host: String,
}

impl Collector {
    /// A collector on the configuration in force.
    pub fn new(
        shared: Arc<Shared>,
        inputs: flume::Receiver<Input>,
        sender: flume::Sender<Input>,
        store_error: tokio::sync::watch::Sender<Option<String>>,
    ) -> Collector {
        let woken = Arc::new(AtomicBool::new(false));
        let waker: Arc<dyn Fn() + Send + Sync> = {
            let woken = woken.clone();
            Arc::new(move || {
                if !woken.swap(true, Ordering::AcqRel) {
                    let _ = sender.send(Input::Wake);
                }
            })
        };
        let appeared = Arc::new(AtomicBool::new(false));
        let wake = {
            let (waker, appeared) = (waker.clone(), appeared.clone());
            Wake::new(
                move || appeared.store(true, Ordering::Release),
                move || waker(),
            )
        };
        let config = shared.config();
        let appender = Appender::new(shared.clone());
        let mut collector = Collector {
            appender,
            shared,
            inputs,
            config: config.clone(),
            sets: Vec::new(),
            globs: Vec::new(),
            followed: Vec::new(),
            roots: Vec::new(),
            thresholds: Thresholds::default(),
            wake,
            woken,
            appeared,
            waker,
            listed: Instant::now(),
            backoff: None,
            store_error,
            host: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default(),
        };
        collector.configure(&config);
        collector
    }

    /// Runs until vigild stops.
    pub fn run(mut self) {
        loop {
            self.follow_config();
            let mut more = false;
            if self
                .backoff
                .is_none_or(|(until, _)| Instant::now() >= until)
            {
                if self.listed.elapsed() >= RELIST {
                    self.list_globs();
                }
                more = self.poll_all();
                // Caught up: what is in flight is known durable (or
                // refused, and read again) before waiting, not at the
                // next append, which a quiet file may never make.
                if !more {
                    let _ = self.settle();
                }
            }
            // A file with more to read is read on at once; the rest wait
            // for a change or the next second.
            let wait = if more { Duration::ZERO } else { POLL };
            match self.inputs.recv_timeout(wait) {
                Ok(Input::Wake) => {
                    self.woken.store(false, Ordering::Release);
                    // Listed when a name appeared, not at every write.
                    if self.appeared.swap(false, Ordering::AcqRel) {
                        self.list_globs();
                    }
                }
                Ok(Input::Stop) | Err(flume::RecvTimeoutError::Disconnected) => break,
                Err(flume::RecvTimeoutError::Timeout) => {}
            }
        }
        // What was read and not committed is committed now: the next start
        // does not read it again.
        self.poll_all();
        self.flush(true);
        let _ = self.settle();
    }

    /// Compiles the sets of `config` and follows their files from the
    /// positions the log holds.
    fn configure(&mut self, config: &Config) {
        let collect = &config.collect;
        if !collect.follows_logs() {
            self.followed.clear();
            self.globs.clear();
            self.sets.clear();
            return;
        }
        let mut sets = Vec::new();
        let compiled =
            collect
                .logs
                .iter()
                .map(|set| SetRules::of_logs(set.get_ref(), &collect.log_rules, &self.host))
                .chain(collect.journal.iter().map(|set| {
                    SetRules::of_journal(set.get_ref(), &collect.log_rules, &self.host)
                }));
        for rules in compiled {
            match rules {
                Ok(rules) => sets.push(rules),
                Err(e) => {
                    tracing::error!(
                        "log collection: a set does not compile ({e}); keeping the previous configuration"
                    );
                    return;
                }
            }
        }
        self.sets = sets;
        self.roots = collect
            .allowed_roots
            .iter()
            .map(|r| resolved(std::path::Path::new(r.get_ref())))
            .collect();
        // What is in flight is durable first: the positions read below
        // must be the last ones.
        if self.settle().is_err() {
            return;
        }
        let recorded = match self.shared.with_views(|v| v.logs.clone()) {
            Ok(view) => view,
            Err(e) => {
                tracing::error!("log collection cannot read its positions: {e}");
                return;
            }
        };
        self.thresholds = recorded.thresholds.clone();
        self.followed.clear();
        self.globs.clear();
        for (index, set) in collect.logs.iter().enumerate() {
            let set = set.get_ref();
            match set.glob() {
                Some((dir, glob)) => {
                    self.wake.watch(dir);
                    self.globs.push((index, dir.to_path_buf(), glob));
                }
                None => {
                    let path = PathBuf::from(set.path.get_ref());
                    if let Some(dir) = path.parent() {
                        self.wake.watch(dir);
                    }
                    self.follow(index, path, &recorded);
                }
            }
        }
        for (j, set) in collect.journal.iter().enumerate() {
            let index = collect.logs.len() + j;
            let name = &self.sets[index].name;
            let cursor = recorded
                .get(name, super::source::JOURNAL_PATH)
                .and_then(|f| match &f.position {
                    Some(LogPosition::Journal { cursor }) => Some(cursor.clone()),
                    _ => None,
                });
            let start = match (recorded.sources.get(name), set.get_ref().reading().start_at) {
                (None, StartAt::End) => Start::End,
                _ => Start::Beginning,
            };
            self.followed.push(Followed {
                set: index,
                source: Source::Journal(JournalTail::new(
                    set.get_ref().clone(),
                    cursor,
                    start,
                    self.waker.clone(),
                )),
                pending: None,
            });
        }
        // Files a glob named before, gone or not, keep their positions.
        for (index, _, _) in self.globs.clone() {
            let name = &self.sets[index].name;
            if let Some(paths) = recorded.sources.get(name) {
                for path in paths.keys() {
                    self.follow(index, PathBuf::from(path), &recorded);
                }
            }
        }
        self.list_globs();
    }

    /// Follows `path` of set `index`, from its recorded position.
    fn follow(&mut self, index: usize, path: PathBuf, recorded: &vigil_views::LogsView) {
        let (known, position) = recorded_for(recorded, &self.sets[index].name, &path);
        self.follow_from(index, path, known, position);
    }

    /// Follows `path` of set `index` from `position`; `known`: whether
    /// the set was followed before.
    fn follow_from(
        &mut self,
        index: usize,
        path: PathBuf,
        known: bool,
        position: Option<FilePosition>,
    ) {
        if self
            .followed
            .iter()
            .any(|f| f.set == index && f.source.is_file(&path))
        {
            return;
        }
        let set = self.config.collect.logs[index].get_ref();
        // A set never followed starts where it says; a file that appeared
        // in a set already followed is news from its first line.
        let start = match (known, set.reading().start_at) {
            (false, StartAt::End) => Start::End,
            _ => Start::Beginning,
        };
        self.followed.push(Followed {
            set: index,
            source: Source::File(Tail::new(path, set.max_line_bytes.0, position, start)),
            pending: None,
        });
    }

    /// Follows the files globs name now that are not followed yet (the
    /// view is read only when there is one).
    fn list_globs(&mut self) {
        self.listed = Instant::now();
        let mut fresh = Vec::new();
        for (index, dir, glob) in &self.globs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let followed = self
                    .followed
                    .iter()
                    .any(|f| f.set == *index && f.source.is_file(&path));
                if !followed && path.to_str().is_some_and(|p| glob.matches(p)) {
                    fresh.push((*index, path));
                }
            }
        }
        if fresh.is_empty() || self.settle().is_err() {
            return;
        }
        let sets = &self.sets;
        let found = self.shared.with_views(|v| {
            fresh
                .into_iter()
                .map(|(index, path)| {
                    let (known, position) = recorded_for(&v.logs, &sets[index].name, &path);
                    (index, path, known, position)
                })
                .collect::<Vec<_>>()
        });
        match found {
            Ok(found) => {
                for (index, path, known, position) in found {
                    self.follow_from(index, path, known, position);
                }
            }
            Err(e) => tracing::error!("log collection cannot read its positions: {e}"),
        }
    }

    /// Applies a reloaded `[collect]` when its logs changed.
    fn follow_config(&mut self) {
        let config = self.shared.config();
        if Arc::ptr_eq(&config, &self.config) {
            return;
        }
        let old = std::mem::replace(&mut self.config, config.clone());
        let changed = old.collect.logs != config.collect.logs
            || old.collect.journal != config.collect.journal
            || old.collect.log_rules != config.collect.log_rules
            || old.collect.allowed_roots != config.collect.allowed_roots;
        if changed {
            // Committed first: the new tails resume from the log.
            self.flush(true);
            self.configure(&config);
        }
    }

    /// Polls every followed file and records what it found; whether one
    /// has more to read now (it is polled again at once, not in a second).
    fn poll_all(&mut self) -> bool {
        let mut more = false;
        for i in 0..self.followed.len() {
            let at = now_micros();
            let mut steps = Vec::new();
            let followed = &mut self.followed[i];
            let path = followed.source.path();
            let rules = &self.sets[followed.set];
            let thresholds = &mut self.thresholds;
            let mut keep = |line: lines::Line<'_>| rules.line(&path, line, at, thresholds);
            let mut sink = lines::Sink {
                keep: &mut keep,
                scan: rules.scan(),
            };
            more |= followed.source.poll(&self.roots, &mut sink, &mut steps);
            if steps.is_empty() {
                continue;
            }
            let events = self.events(i, at, steps);
            if !events.is_empty() && self.append(events).is_err() {
                return false;
            }
        }
        self.flush(false);
        self.backoff = None;
        more
    }

    /// The events `steps` of followed file `i`, read at `at`, make.
    fn events(&mut self, i: usize, at: i64, steps: Vec<Step>) -> Vec<Event> {
        let set = self.followed[i].set;
        let path = self.followed[i].source.path();
        let name = self.sets[set].name.clone();
        let mut events = Vec::new();
        for step in steps {
            match step {
                Step::Lines {
                    kept,
                    read,
                    position,
                    bytes,
                } => {
                    let followed = &mut self.followed[i];
                    let pending = followed.pending.get_or_insert(Pending {
                        position: position.clone(),
                        read: 0,
                        bytes: 0,
                        since: Instant::now(),
                    });
                    pending.position = position;
                    pending.read += read;
                    pending.bytes += bytes;
                    if kept.is_empty() && pending.bytes < COMMIT_BYTES {
                        continue;
                    }
                    let pending = followed.pending.take().expect("just set");
                    push_lines(&mut events, &name, &path, at, pending, kept);
                }
                Step::Change {
                    change,
                    position,
                    detail,
                } => {
                    if let Some(pending) = self.followed[i].pending.take() {
                        push_lines(&mut events, &name, &path, at, pending, Vec::new());
                    }
                    let level = if matches!(change, vigil_store::LogChangeKind::Refused) {
                        tracing::Level::WARN
                    } else {
                        tracing::Level::INFO
                    };
                    if level == tracing::Level::WARN {
                        tracing::warn!(path = %path, "log collection: {}: {detail}", change.name());
                    } else {
                        tracing::info!(path = %path, "log collection: {}: {detail}", change.name());
                    }
                    events.push(Event::Logs(LogEvent::Source(LogSourceChange {
                        set: name.clone(),
                        path: path.clone(),
                        change,
                        position,
                        detail,
                    })));
                }
            }
        }
        events
    }

    /// Commits positions read past with no line kept: those waiting long
    /// enough, or all of them (`all`: vigild stops, or the configuration
    /// changes).
    fn flush(&mut self, all: bool) {
        let at = now_micros();
        let mut events = Vec::new();
        for followed in &mut self.followed {
            let due = followed
                .pending
                .as_ref()
                .is_some_and(|p| all || p.since.elapsed() >= COMMIT_AFTER);
            if due && let Some(pending) = followed.pending.take() {
                let name = &self.sets[followed.set].name;
                let path = followed.source.path();
                push_lines(&mut events, name, &path, at, pending, Vec::new());
            }
        }
        if !events.is_empty() {
            let _ = self.append(events);
        }
    }

    /// Appends `events` in one durable, all-or-nothing append, redacted.
    /// Refused: every file goes back to its committed position, the
    /// counts to the log's, and polling waits a while.
    fn append(&mut self, events: Vec<Event>) -> Result<(), StoreError> {
        let submitted = self.appender.submit(events);
        self.after(submitted)
    }

    /// Waits until what was handed to the appender is durable.
    fn settle(&mut self) -> Result<(), StoreError> {
        let settled = self.appender.settle();
        self.after(settled)
    }

    /// What an append's outcome means: a refusal rewinds every source to
    /// the log's position and waits before reading on.
    fn after(&mut self, outcome: Result<(), StoreError>) -> Result<(), StoreError> {
        match outcome {
            Ok(()) => {
                self.store_error.send_if_modified(|e| e.take().is_some());
                Ok(())
            }
            Err(e) => {
                self.store_error.send_replace(Some(e.to_string()));
                let wait = self
                    .backoff
                    .map_or(Duration::from_secs(1), |(_, d)| (d * 2).min(MAX_BACKOFF));
                tracing::error!(
                    "log collection cannot record lines ({e}); reading again from the last recorded positions in {}s",
                    wait.as_secs()
                );
                self.backoff = Some((Instant::now() + wait, wait));
                self.rewind();
                Err(e)
            }
        }
    }

    /// Every file back to the position the log holds.
    fn rewind(&mut self) {
        let Ok(recorded) = self.shared.with_views(|v| v.logs.clone()) else {
            return;
        };
        self.thresholds = recorded.thresholds.clone();
        for followed in &mut self.followed {
            followed.pending = None;
            let name = &self.sets[followed.set].name;
            let position = recorded
                .get(name, &followed.source.path())
                .and_then(|f| f.position.as_ref());
            followed.source.reset(position);
        }
    }
}

/// Whether set `name` was followed before, and the position of `path`
/// in it.
fn recorded_for(
    view: &vigil_views::LogsView,
    name: &str,
    path: &std::path::Path,
) -> (bool, Option<FilePosition>) {
    let known = view.sources.get(name);
    let position = known
        .and_then(|paths| paths.get(path.to_str().unwrap_or_default()))
        .and_then(|f| match &f.position {
            Some(LogPosition::File(p)) => Some(p.clone()),
            _ => None,
        });
    (known.is_some(), position)
}

/// Appends `LogLines` events for `kept` (at most [`LINES_PER_ENTRY`]
/// each); the counts ride on the last, and all carry the position after
/// the last line (they are appended together).
fn push_lines(
    events: &mut Vec<Event>,
    set: &str,
    path: &str,
    at: i64,
    pending: Pending,
    kept: Vec<LogLine>,
) {
    let mut chunks: Vec<Vec<LogLine>> = Vec::new();
    let mut kept = kept.into_iter().peekable();
    while kept.peek().is_some() {
        chunks.push(kept.by_ref().take(LINES_PER_ENTRY).collect());
    }
    if chunks.is_empty() {
        chunks.push(Vec::new());
    }
    let last = chunks.len() - 1;
    for (n, lines) in chunks.into_iter().enumerate() {
        let (read, bytes) = if n == last {
            (pending.read, pending.bytes)
        } else {
            (0, 0)
        };
        events.push(Event::Logs(LogEvent::Lines(LogLines {
            set: set.to_string(),
            path: path.to_string(),
            at,
            position: pending.position.clone(),
            read,
            bytes,
            lines,
        })));
    }
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Every kept line's text in the log, in order.
    fn kept(shared: &Shared) -> Vec<String> {
        let head = shared.log.head().seq;
        let mut out = Vec::new();
        for entry in shared.log.entries_between(1, head) {
            if let Ok(Some(Event::Logs(LogEvent::Lines(lines)))) = entry.unwrap().event() {
                out.extend(lines.lines.into_iter().map(|l| l.text));
            }
        }
        out
    }

    fn wait(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_refused_append_reads_again_from_the_recorded_position_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().canonicalize().unwrap().join("logs");
        std::fs::create_dir(&logs).unwrap();
        let log = logs.join("app.log");
        std::fs::write(&log, "one\n").unwrap();
        let me = nix::unistd::getuid().to_string();
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        let mut config = Config::dev(Some(&state), None, me).unwrap();
        config.collect = toml::from_str(&format!(
            "allowed_roots = [\"{}\"]\n[[logs]]\npath = \"{}\"\nstore = \"all\"\nstart_at = \"beginning\"\n",
            logs.display(),
            log.display()
        ))
        .unwrap();
        let shared = Shared::new(crate::state::testing::parts(
            config,
            dir.path().join("control.sock"),
        ));
        let (send, inputs) = flume::unbounded();
        let (error_tx, error) = tokio::sync::watch::channel(None);
        let collector = Collector::new(shared.clone(), inputs, send.clone(), error_tx);
        // The first append (the file followed, and `one`) is refused.
        collector
            .appender
            .refuse
            .store(1, std::sync::atomic::Ordering::SeqCst);
        let refuse = collector.appender.refuse.clone();
        let thread = std::thread::spawn(move || collector.run());
        wait("the refusal, published", || {
            refuse.load(std::sync::atomic::Ordering::SeqCst) == 0 && error.borrow().is_some()
        });
        // Written while nothing could be recorded.
        writeln!(
            std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
            "two"
        )
        .unwrap();
        wait("both lines kept after the wait", || {
            kept(&shared).len() >= 2
        });
        assert_eq!(kept(&shared), ["one", "two"], "each once, in order");
        assert_eq!(*error.borrow(), None, "cleared once the store accepts");
        send.send(Input::Stop).unwrap();
        thread.join().unwrap();
        assert_eq!(kept(&shared), ["one", "two"]);
    }
}
