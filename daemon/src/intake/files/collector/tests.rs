//! The collector on a real store, real files and real inotify, driven a
//! step at a time (a scan, a notice, a look) or on its own thread: what
//! it records in each case the review found wrong.
#![allow(clippy::unwrap_used)]

use super::*;
use std::path::Path;
use vigil_store::Event;

/// A store and a watched tree in a temporary directory.
struct Bench {
    _dir: tempfile::TempDir,
    tree: PathBuf,
    shared: Arc<Shared>,
    /// Keeps the collector's queue open (a test sends on it).
    send: flume::Sender<Input>,
    inputs: flume::Receiver<Input>,
}

impl Bench {
    /// `[[collect.files]]` on `tree` (with `extra` in its table), and
    /// `files` written in it first.
    fn new(extra: &str, files: &[(&str, &str)]) -> Bench {
        Bench::with("", extra, files)
    }

    /// The same with `top` in `[collect]` itself.
    fn with(top: &str, extra: &str, files: &[(&str, &str)]) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().canonicalize().unwrap().join("w");
        std::fs::create_dir(&tree).unwrap();
        for (name, content) in files {
            let path = tree.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        let me = nix::unistd::getuid().to_string();
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        let mut config = Config::dev(Some(&state), None, me).unwrap();
        config.collect = toml::from_str(&format!(
            "{top}\n[[files]]\npaths = [\"{}\"]\n{extra}",
            tree.display()
        ))
        .unwrap();
        let shared = Shared::new(crate::state::testing::parts(
            config,
            dir.path().join("control.sock"),
        ));
        let (send, inputs) = flume::bounded(QUEUE);
        Bench {
            _dir: dir,
            tree,
            shared,
            send,
            inputs,
        }
    }

    /// A collector, as vigild starts one.
    fn collector(&self) -> Collector {
        let progress = watch::channel(ScanProgress::default()).0;
        Collector::new(
            self.shared.clone(),
            self.inputs.clone(),
            self.send.clone(),
            progress,
        )
        .unwrap()
    }

    /// Every file record in the log, in order.
    fn records(&self) -> Vec<FileRecord> {
        let head = self.shared.log.head().seq;
        let mut out = Vec::new();
        for entry in self.shared.log.entries_between(1, head) {
            if let Ok(Some(Event::FileIntegrity(FileIntegrity::Records { files, .. }))) =
                entry.unwrap().event()
            {
                out.extend(files);
            }
        }
        out
    }

    /// The reasons of the scans started, in order.
    fn scans(&self) -> Vec<String> {
        let head = self.shared.log.head().seq;
        let mut out = Vec::new();
        for entry in self.shared.log.entries_between(1, head) {
            if let Ok(Some(Event::FileIntegrity(FileIntegrity::ScanStarted { reason, .. }))) =
                entry.unwrap().event()
            {
                out.push(reason.name().to_string());
            }
        }
        out
    }

    /// The records of `path` (below the tree).
    fn of(&self, path: &str) -> Vec<FileRecord> {
        let key = self.key(path);
        self.records()
            .into_iter()
            .filter(|r| r.path == key)
            .collect()
    }

    fn key(&self, path: &str) -> String {
        path_key(&self.tree.join(path))
    }

    /// Waits up to `secs` for `done`.
    fn wait(&self, secs: u64, what: &str, done: impl Fn(&Bench) -> bool) {
        let until = Instant::now() + Duration::from_secs(secs);
        while !done(self) {
            assert!(Instant::now() < until, "waited {secs}s for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A notice of `path` with these events, as the reader sends it.
fn notice(path: &Path, mask: EventMask) -> Input {
    Input::Notice(Notice::Paths(vec![(path.to_path_buf(), mask)]))
}

#[test]
fn a_change_notified_after_start_is_not_marked_changed_while_stopped() {
    let bench = Bench::new("", &[("before", "1"), ("after", "1")]);
    let mut first = bench.collector();
    first.scan(None, ScanReason::Start, None).unwrap();
    drop(first);
    // vigild stopped: `before` changes unseen.
    std::fs::write(bench.tree.join("before"), "2").unwrap();
    // vigild started again: `after` changes and the kernel says so
    // before the start scan reaches it.
    let mut again = bench.collector();
    std::fs::write(bench.tree.join("after"), "2").unwrap();
    again
        .take(notice(&bench.tree.join("after"), EventMask::MODIFY))
        .unwrap();
    again.scan(None, ScanReason::Start, None).unwrap();
    let before = bench.of("before");
    let after = bench.of("after");
    assert_eq!(before.len(), 2);
    assert_eq!(after.len(), 2);
    assert_eq!(
        (before[1].change, before[1].while_stopped),
        (FileChangeKind::Modified, true)
    );
    assert_eq!(
        (after[1].change, after[1].while_stopped),
        (FileChangeKind::Modified, false),
        "seen live, after the start"
    );
    let label = |r: &FileRecord| {
        r.alert
            .as_ref()
            .and_then(|a| a.labels.get("changed_while_stopped").cloned())
    };
    assert_eq!(label(&before[1]).as_deref(), Some("true"));
    assert_ne!(label(&after[1]).as_deref(), Some("true"));
}

#[test]
fn a_chmod_of_a_directory_examines_the_directory_not_its_tree() {
    // 2 MiB beneath the directory at 1 MiB/s: re-reading it takes seconds.
    let big = "x".repeat(2 * 1024 * 1024);
    let bench = Bench::with(
        "read_rate = \"1MiB\"",
        "",
        &[("d/big", &big), ("d/e/small", "s")],
    );
    let mut collector = bench.collector();
    collector.scan(None, ScanReason::Start, None).unwrap();
    let d = bench.tree.join("d");
    std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    collector
        .take(notice(&d, EventMask::ATTRIB | EventMask::ISDIR))
        .unwrap();
    let started = Instant::now();
    collector.look().unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "the files beneath were read again: {:?}",
        started.elapsed()
    );
    let records = bench.of("d");
    assert_eq!(records.last().unwrap().change, FileChangeKind::Metadata);
    // A directory made is walked whole: its files may predate its watch.
    std::fs::create_dir(bench.tree.join("n")).unwrap();
    std::fs::write(bench.tree.join("n/f"), "f").unwrap();
    collector
        .take(notice(
            &bench.tree.join("n"),
            EventMask::CREATE | EventMask::ISDIR,
        ))
        .unwrap();
    collector.look().unwrap();
    assert_eq!(bench.of("n/f")[0].change, FileChangeKind::Created);
}

#[test]
fn a_nested_path_added_on_reload_records_creations_not_baselines() {
    let bench = Bench::new("", &[("app/x", "x")]);
    let mut collector = bench.collector();
    collector.scan(None, ScanReason::Start, None).unwrap();
    // `app` becomes a watched path of its own, not yet scanned as one.
    let mut config = (*bench.shared.config()).clone();
    config.collect = toml::from_str(&format!(
        "[[files]]\npaths = [\"{0}\"]\n\n[[files]]\nname = \"app\"\npaths = [\"{0}/app\"]\n",
        bench.tree.display()
    ))
    .unwrap();
    let sets = Sets::compile(&config.collect).unwrap();
    collector.sets = Arc::new(sets);
    std::fs::write(bench.tree.join("app/new"), "n").unwrap();
    collector
        .take(notice(&bench.tree.join("app/new"), EventMask::CREATE))
        .unwrap();
    collector.look().unwrap();
    let new = bench.of("app/new");
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].change, FileChangeKind::Created);
    assert!(new[0].alert.is_some());
}

#[test]
fn a_refused_append_is_retried_and_followed_by_a_rescan_that_misses_nothing() {
    let bench = Bench::new("", &[("a", "1")]);
    let collector = bench.collector();
    let refuse = collector.refuse_appends.clone();
    let progress = collector.progress.subscribe();
    let thread = std::thread::spawn(move || collector.run());
    bench.wait(10, "the start scan", |b| b.of("a").len() == 1);
    // The disk is full for the next append: the look's.
    refuse.store(1, std::sync::atomic::Ordering::SeqCst);
    std::fs::write(bench.tree.join("a"), "2").unwrap();
    bench.wait(10, "the refusal, published for doctor", |_| {
        refuse.load(std::sync::atomic::Ordering::SeqCst) == 0
            && progress.borrow().store_error.is_some()
    });
    // Changed while nothing could be recorded.
    std::fs::write(bench.tree.join("b"), "new").unwrap();
    // The rescan's records are in the log a moment before its end clears
    // the error: wait for both.
    bench.wait(10, "the rescan after the wait, clearing the error", |b| {
        b.scans().last().map(String::as_str) == Some("overflow")
            && b.of("a").len() == 2
            && b.of("b").len() == 1
            && progress.borrow().store_error.is_none()
    });
    assert_eq!(bench.of("a")[1].change, FileChangeKind::Modified);
    assert_eq!(bench.of("b")[0].change, FileChangeKind::Created);
    // And it goes on: a change after is seen live.
    std::fs::write(bench.tree.join("a"), "3").unwrap();
    bench.wait(10, "a change after", |b| b.of("a").len() == 3);
    bench.send.send(Input::Stop).unwrap();
    thread.join().unwrap();
}

#[test]
fn an_excluded_directory_inside_a_nested_path_is_the_outer_paths() {
    let bench = Bench::new("", &[("app/cache/junk", "j"), ("app/conf", "c")]);
    let mut config = (*bench.shared.config()).clone();
    // `app` is watched on its own, without its cache; `w` watches all.
    config.collect = toml::from_str(&format!(
        "[[files]]\npaths = [\"{0}\"]\n\n[[files]]\nname = \"app\"\npaths = [\"{0}/app\"]\nexclude = [\"{0}/app/cache\"]\n",
        bench.tree.display()
    ))
    .unwrap();
    bench.shared.set_config(config);
    let mut collector = bench.collector();
    collector.scan(None, ScanReason::Start, None).unwrap();
    let junk = bench.of("app/cache/junk");
    assert_eq!(junk.len(), 1, "recorded once, by the outer path");
    let outer = collector.sets.roots.iter().position(|r| r.set != "app");
    assert_eq!(collector.owner(&bench.key("app/cache/junk")), outer);
    assert_eq!(bench.of("app/cache").len(), 1);
    assert_eq!(bench.of("app/conf").len(), 1);
}

#[test]
fn a_flood_beyond_the_queue_becomes_a_rescan_that_finds_every_file() {
    let bench = Bench::new("", &[]);
    let mut collector = bench.collector();
    collector.scan(None, ScanReason::Start, None).unwrap();
    // The collector busy: nothing taken while the files are made.
    let files = 3000;
    for i in 0..files {
        std::fs::write(bench.tree.join(format!("f{i:04}")), format!("{i}")).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(bench.inputs.len() <= QUEUE, "{}", bench.inputs.len());
    // Taken again: what fitted is looked at, and the rescan owed for what
    // did not finds the rest.
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        while let Ok(input) = bench.inputs.try_recv() {
            collector.take(input).unwrap();
        }
        collector.due().unwrap();
        let recorded: std::collections::BTreeSet<String> =
            bench.records().into_iter().map(|r| r.path).collect();
        if bench.scans().contains(&"overflow".to_string()) && recorded.len() > files {
            break;
        }
        assert!(Instant::now() < until, "{} recorded", recorded.len());
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut first: BTreeMap<String, FileChangeKind> = BTreeMap::new();
    for record in bench.records() {
        first.entry(record.path).or_insert(record.change);
    }
    for i in 0..files {
        let key = bench.key(&format!("f{i:04}"));
        assert_eq!(first.get(&key), Some(&FileChangeKind::Created), "{key}");
    }
}
