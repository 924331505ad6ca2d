//! File integrity monitoring against `sha256sum` and AIDE on the same
//! trees, in the same run, on a warm page cache.
//!
//! `cargo bench -p vigild --bench files [-- SMALL_FILES]` (default 100,000).
//! Progress on stderr; the last stdout line is JSON:
//!
//! * `small` (SMALL_FILES files of 1–4 KiB in ~1000 directories) and
//!   `large` (1,000 files of 1 MiB): the real `vigild` (fresh state,
//!   `hash_threads = 2`, no read limit) from process start to its first
//!   scan's `scan_finished` entry, against `find | xargs -P2 sha256sum` and
//!   `aide --init` (`num_workers = 2`, sha256 and the same stat attributes);
//!   `vs_sha256sum` (target ≥ 0.8) and `vs_aide` (target ≥ 1.5) compare
//!   wall-clock times;
//! * `latency`: 1,000 appends to distinct files at 100/s into the running
//!   small-tree daemon, each from just before the write to the `time` of
//!   the first live `records` entry naming the file (p99 target ≤ 100 ms,
//!   `lost` must be 0);
//! * `rss_above_idle_mb`: VmRSS after the small baseline minus an idle
//!   daemon's with the same config minus `[[collect.files]]` (target ≤ 64);
//!   `bytes_per_file`: that per baselined path (target ≤ 300).

#![allow(missing_docs, clippy::unwrap_used)]

#[path = "common/collecting.rs"]
mod collecting;

use collecting::{Collecting, percentile, round};

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use vigil_store::{Event, FileIntegrity, ScanReason, ScanTotals, now_micros};

/// Files per leaf directory of the small tree.
const PER_DIR: usize = 100;
const LARGE_FILES: usize = 1000;
const LARGE_SIZE: usize = 1 << 20;
const CHANGES: usize = 1000;
const CHANGE_EVERY: Duration = Duration::from_millis(10);
const THREADS: usize = 2;

// ---------------------------------------------------------------- trees

/// xorshift64*: content that does not compress and differs per file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// A generated tree: its root (no links in it) and its files.
struct Tree {
    root: PathBuf,
    files: Vec<PathBuf>,
    bytes: u64,
    dirs: usize,
}

/// `count` files of 1–4 KiB, 100 per directory, in 10 top directories.
fn small_tree(root: &Path, count: usize) -> Tree {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut buf = vec![0u8; 4096];
    let mut files = Vec::with_capacity(count);
    let mut bytes = 0u64;
    let leaves = count.div_ceil(PER_DIR);
    let mut dirs = 1;
    for leaf in 0..leaves {
        let top = root.join(format!("d{:02}", leaf / 100));
        if leaf % 100 == 0 {
            std::fs::create_dir_all(&top).unwrap();
            dirs += 1;
        }
        let dir = top.join(format!("s{:02}", leaf % 100));
        std::fs::create_dir(&dir).unwrap();
        dirs += 1;
        for i in 0..PER_DIR.min(count - leaf * PER_DIR) {
            let size = 1024 + (rng.next() % 3073) as usize;
            rng.fill(&mut buf[..size]);
            let path = dir.join(format!("f{i:03}.dat"));
            std::fs::write(&path, &buf[..size]).unwrap();
            bytes += size as u64;
            files.push(path);
        }
    }
    Tree {
        root: root.to_path_buf(),
        files,
        bytes,
        dirs,
    }
}

/// 1,000 files of 1 MiB, 100 per directory.
fn large_tree(root: &Path) -> Tree {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut buf = vec![0u8; LARGE_SIZE];
    let mut files = Vec::with_capacity(LARGE_FILES);
    let mut dirs = 1;
    for i in 0..LARGE_FILES {
        let dir = root.join(format!("d{:02}", i / 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(&dir).unwrap();
            dirs += 1;
        }
        rng.fill(&mut buf);
        let path = dir.join(format!("f{:03}.bin", i % 100));
        std::fs::write(&path, &buf).unwrap();
        files.push(path);
    }
    Tree {
        root: root.to_path_buf(),
        files,
        bytes: (LARGE_FILES * LARGE_SIZE) as u64,
        dirs,
    }
}

// ---------------------------------------------------------- baselines

/// CPU seconds of the waited-for children (and their descendants) so far.
fn children_cpu_s() -> f64 {
    // cutime and cstime, fields 16 and 17 of stat(5), in USER_HZ = 100.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    (fields[13].parse::<u64>().unwrap() + fields[14].parse::<u64>().unwrap()) as f64 / 100.0
}

/// A command's wall-clock seconds and CPU seconds; panics unless it exits 0.
fn timed(what: &str, command: &mut Command) -> (f64, f64, String) {
    let cpu = children_cpu_s();
    let t = Instant::now();
    let out = command.stderr(Stdio::inherit()).output().unwrap();
    let wall = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "{what} exited with {}", out.status);
    (
        wall,
        children_cpu_s() - cpu,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `xargs -n`: at most 1000 paths per `sha256sum`, few enough that both
/// processes get work on a tree of 1,000 files.
fn per_call(tree: &Tree) -> usize {
    (tree.files.len() / 16).clamp(1, 1000)
}

fn sha256sum(tree: &Tree) -> (f64, f64) {
    let (wall, cpu, _) = timed(
        "sha256sum",
        Command::new("sh").args([
            "-c",
            &format!(
                r#"find "$1" -type f -print0 | xargs -0 -P{THREADS} -n {} sha256sum > /dev/null"#,
                per_call(tree)
            ),
            "sh",
            tree.root.to_str().unwrap(),
        ]),
    );
    (wall, cpu)
}

fn aide_binary() -> Option<PathBuf> {
    ["/usr/bin/aide", "/usr/sbin/aide", "/bin/aide", "/sbin/aide"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// AIDE, installed from the distribution when missing and we are root.
fn ensure_aide() -> PathBuf {
    if let Some(aide) = aide_binary() {
        return aide;
    }
    if collecting::apt_install("aide")
        && let Some(aide) = aide_binary()
    {
        return aide;
    }
    eprintln!(
        "files bench: AIDE is the baseline and is not installed; install it first (Debian/Ubuntu: `apt-get install aide`) and run again"
    );
    std::process::exit(2);
}

/// Escapes a path for an AIDE selection line (a PCRE2 regex).
fn aide_regex(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_str().unwrap().chars() {
        if !(c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `aide --init` on the tree: sha256 and the attributes Vigil records
/// (permissions, owner, group, size, mtime, inode, link count, link
/// target, file type), 2 workers, database uncompressed in `work` and
/// only its SHA-256 reported (the default digests it with ten algorithms).
/// Wall and CPU seconds, and the entries AIDE says it recorded.
fn aide(aide: &Path, tree: &Tree, work: &Path, name: &str) -> (f64, f64, u64) {
    let config = work.join(format!("aide-{name}.conf"));
    let db = work.join(format!("aide-{name}.db"));
    let _ = std::fs::remove_file(&db);
    std::fs::write(
        &config,
        format!(
            "database_out=file:{db}\ngzip_dbout=no\nnum_workers={THREADS}\ndatabase_attrs=sha256\n\
             Bench = p+u+g+s+m+i+n+l+ftype+sha256\n{root} Bench\n",
            db = db.display(),
            root = aide_regex(&tree.root),
        ),
    )
    .unwrap();
    let (wall, cpu, stdout) = timed(
        "aide --init",
        Command::new(aide)
            .arg("--init")
            .arg("--config")
            .arg(&config),
    );
    let entries = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Number of entries:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let _ = std::fs::remove_file(&db);
    (wall, cpu, entries)
}

// --------------------------------------------------------------- vigild

/// A collecting `vigild`, and word that its scans finished.
struct Vigild {
    daemon: Collecting,
    scan_finished: mpsc::Receiver<()>,
}

impl std::ops::Deref for Vigild {
    type Target = Collecting;
    fn deref(&self) -> &Collecting {
        &self.daemon
    }
}

impl Vigild {
    /// `[collect]` on `tree`; `[[collect.files]]` on it unless `idle`.
    fn start(tree: &Path, idle: bool) -> Vigild {
        let tree = tree.to_str().unwrap();
        let files = if idle {
            String::new()
        } else {
            format!("[[collect.files]]\nname = \"bench\"\npaths = [\"{tree}\"]\n")
        };
        let (finished_tx, scan_finished) = mpsc::channel();
        let finished_tx = std::sync::Mutex::new(finished_tx);
        let daemon = Collecting::start(
            &format!(
                // No way to say "unlimited" but saying it: an absent key is 64MiB.
                "[collect]\nallowed_roots = [\"{tree}\"]\nhash_threads = {THREADS}\nread_rate = \"unlimited\"\n\n{files}"
            ),
            move |line| {
                if line.contains("file integrity scan finished") {
                    let _ = finished_tx.lock().unwrap().send(());
                }
            },
        );
        Vigild {
            daemon,
            scan_finished,
        }
    }

    /// SIGTERM; asserts exit 0 within two minutes.
    fn stop(self) {
        self.daemon.stop();
    }
}

/// What the first scan of a fresh daemon took.
struct Scan {
    /// Process start to the `scan_finished` entry's time.
    wall_s: f64,
    /// `scan_finished`'s own `duration_ms`.
    duration_ms: u64,
    totals: ScanTotals,
    /// Scans other than the start's (an inotify overflow forces one).
    rescans: Vec<String>,
    cpu_s: f64,
    /// The last collect entry's seq.
    last_seq: u64,
    rss_mb: f64,
    hwm_mb: f64,
}

/// Starts a daemon on `tree` and waits for its baseline; measures RSS two
/// seconds after it, before any listing.
fn vigil_scan(tree: &Tree) -> (Vigild, Scan) {
    let daemon = Vigild::start(&tree.root, false);
    daemon
        .scan_finished
        .recv_timeout(Duration::from_secs(3600))
        .expect("the first scan finishes within an hour");
    let cpu_s = daemon.cpu_s();
    std::thread::sleep(Duration::from_secs(2));
    let (rss_mb, hwm_mb) = daemon.rss_mb();
    let events = daemon.collect_events(None);
    let mut finished = None;
    let mut rescans = Vec::new();
    for record in &events {
        match &record.event {
            Some(Event::FileIntegrity(FileIntegrity::ScanFinished { totals, .. }))
                if finished.is_none() =>
            {
                finished = Some((record.time, totals.clone()));
            }
            Some(Event::FileIntegrity(FileIntegrity::ScanStarted { reason, .. }))
                if *reason != ScanReason::Start =>
            {
                rescans.push(reason.name().to_string());
            }
            _ => {}
        }
    }
    let (time, totals) = finished.expect("a scan_finished entry");
    let scan = Scan {
        wall_s: (time - daemon.spawned_us) as f64 / 1e6,
        duration_ms: totals.duration_ms,
        totals,
        rescans,
        cpu_s,
        last_seq: events.last().map_or(0, |e| e.seq),
        rss_mb,
        hwm_mb,
    };
    (daemon, scan)
}

// ------------------------------------------------------------- latency

struct Latency {
    ms: Vec<f64>,
    lost: usize,
    batches: usize,
    rescans: usize,
    late_writes: usize,
}

/// Appends a line to `CHANGES` distinct files, one every 10 ms, then finds
/// each in the live `records` entries after `cursor`.
fn latency(daemon: &Vigild, tree: &Tree, cursor: u64) -> Latency {
    let count = CHANGES.min(tree.files.len());
    let stride = tree.files.len() / count;
    let picks: Vec<&PathBuf> = (0..count).map(|i| &tree.files[i * stride]).collect();
    let mut writes: Vec<(String, i64)> = Vec::with_capacity(count);
    let mut late_writes = 0;
    let start = Instant::now();
    for (i, path) in picks.iter().enumerate() {
        let due = start + CHANGE_EVERY * i as u32;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        } else if now - due > CHANGE_EVERY {
            late_writes += 1;
        }
        let at = now_micros();
        let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        file.write_all(format!("change {i}\n").as_bytes()).unwrap();
        drop(file);
        writes.push((path.to_str().unwrap().to_string(), at));
    }
    eprintln!(
        "latency: {count} writes in {:.2} s; reading the records",
        start.elapsed().as_secs_f64()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    std::thread::sleep(Duration::from_millis(500));
    loop {
        let events = daemon.collect_events(Some(cursor + 1));
        // path -> the times of the live records entries naming it.
        let mut seen: HashMap<&str, Vec<i64>> = HashMap::new();
        let (mut batches, mut rescans) = (0, 0);
        for record in &events {
            match &record.event {
                Some(Event::FileIntegrity(FileIntegrity::Records { scan: None, files })) => {
                    batches += 1;
                    for f in files {
                        seen.entry(f.path.as_str()).or_default().push(record.time);
                    }
                }
                Some(Event::FileIntegrity(FileIntegrity::ScanStarted { .. })) => rescans += 1,
                _ => {}
            }
        }
        let mut ms = Vec::with_capacity(count);
        let mut lost = 0;
        for (path, at) in &writes {
            match seen
                .get(path.as_str())
                .and_then(|times| times.iter().find(|t| **t >= *at))
            {
                Some(t) => ms.push((t - at) as f64 / 1000.0),
                None => lost += 1,
            }
        }
        if lost == 0 || Instant::now() >= deadline {
            return Latency {
                ms,
                lost,
                batches,
                rescans,
                late_writes,
            };
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

// ---------------------------------------------------------------- main

struct Compared {
    json: serde_json::Value,
    vs_sha256sum: f64,
    vs_aide: f64,
}

fn compare(
    name: &str,
    tree: &Tree,
    vigil: &Scan,
    sha: (f64, f64),
    aide: (f64, f64, u64),
) -> Compared {
    let files = tree.files.len() as f64;
    let mb = tree.bytes as f64 / 1e6;
    let scan_s = vigil.duration_ms as f64 / 1000.0;
    let vs_sha256sum = round(sha.0 / vigil.wall_s, 3);
    let vs_aide = round(aide.0 / vigil.wall_s, 3);
    eprintln!(
        "{name}: vigil {:.2} s (scan {:.2} s, {:.1} CPU s), sha256sum {:.2} s ({:.1} CPU s), aide {:.2} s ({:.1} CPU s): vs_sha256sum {vs_sha256sum}, vs_aide {vs_aide}",
        vigil.wall_s, scan_s, vigil.cpu_s, sha.0, sha.1, aide.0, aide.1
    );
    let json = serde_json::json!({
        "files": tree.files.len(),
        "dirs": tree.dirs,
        "bytes": tree.bytes,
        "vigil_s": round(vigil.wall_s, 3),
        "vigil_scan_ms": vigil.duration_ms,
        "vigil_cpu_s": round(vigil.cpu_s, 2),
        "vigil_files_per_s": round(files / vigil.wall_s, 0),
        "vigil_mb_per_s": round(mb / vigil.wall_s, 1),
        "vigil_scan_files_per_s": round(files / scan_s.max(0.001), 0),
        "vigil_scan_mb_per_s": round(mb / scan_s.max(0.001), 1),
        "vigil_paths": vigil.totals.files,
        "vigil_baselined": vigil.totals.baselined,
        "vigil_errors": vigil.totals.errors,
        "vigil_rescans": vigil.rescans,
        "sha256sum_s": round(sha.0, 3),
        "sha256sum_cpu_s": round(sha.1, 2),
        "sha256sum_files_per_s": round(files / sha.0, 0),
        "sha256sum_mb_per_s": round(mb / sha.0, 1),
        "sha256sum_per_call": per_call(tree),
        "aide_s": round(aide.0, 3),
        "aide_cpu_s": round(aide.1, 2),
        "aide_files_per_s": round(files / aide.0, 0),
        "aide_mb_per_s": round(mb / aide.0, 1),
        "aide_entries": aide.2,
        "vs_sha256sum": vs_sha256sum,
        "vs_aide": vs_aide,
    });
    Compared {
        json,
        vs_sha256sum,
        vs_aide,
    }
}

fn main() {
    let small_files: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    assert!(small_files > 0, "SMALL_FILES must be at least 1");
    let aide_bin = ensure_aide();
    let work = tempfile::tempdir().unwrap();
    // The trees' own paths, links resolved (allowed_roots compares both).
    let base = std::fs::canonicalize(work.path()).unwrap();
    let (small_root, large_root) = (base.join("small"), base.join("large"));

    let t = Instant::now();
    eprintln!("trees: generating {small_files} small files and {LARGE_FILES} files of 1 MiB");
    std::fs::create_dir(&small_root).unwrap();
    std::fs::create_dir(&large_root).unwrap();
    let small = small_tree(&small_root, small_files);
    let large = large_tree(&large_root);
    let _ = Command::new("sync").status();
    eprintln!(
        "trees: {} + {} files, {:.0} + {:.0} MB, {} + {} dirs in {:.1} s",
        small.files.len(),
        large.files.len(),
        small.bytes as f64 / 1e6,
        large.bytes as f64 / 1e6,
        small.dirs,
        large.dirs,
        t.elapsed().as_secs_f64()
    );
    // Every measured run follows an unmeasured read of its tree, so each
    // tool reads from a warm page cache (this machine's kernel pages out
    // what is not touched for a minute).
    let warm = sha256sum;
    warm(&small);
    let small_sha = sha256sum(&small);
    eprintln!("sha256sum small: {:.2} s", small_sha.0);
    warm(&large);
    let large_sha = sha256sum(&large);
    eprintln!("sha256sum large: {:.2} s", large_sha.0);
    warm(&small);
    let small_aide = aide(&aide_bin, &small, &base, "small");
    eprintln!(
        "aide small: {:.2} s, {} entries",
        small_aide.0, small_aide.2
    );
    warm(&large);
    let large_aide = aide(&aide_bin, &large, &base, "large");
    eprintln!(
        "aide large: {:.2} s, {} entries",
        large_aide.0, large_aide.2
    );

    eprintln!("vigil: idle daemon");
    let idle = Vigild::start(&small.root, true);
    std::thread::sleep(Duration::from_secs(2));
    let (idle_rss, _) = idle.rss_mb();
    idle.stop();
    eprintln!("vigil: idle RSS {idle_rss} MB");

    eprintln!("vigil: large tree");
    warm(&large);
    let (daemon, large_vigil) = vigil_scan(&large);
    daemon.stop();
    eprintln!("vigil: small tree");
    warm(&small);
    let (daemon, small_vigil) = vigil_scan(&small);
    eprintln!(
        "vigil: RSS {} MB after the baseline (peak {} MB); latency: {CHANGES} changes at 100/s",
        small_vigil.rss_mb, small_vigil.hwm_mb
    );
    let lat = latency(&daemon, &small, small_vigil.last_seq);
    daemon.stop();

    let small_cmp = compare("small", &small, &small_vigil, small_sha, small_aide);
    let large_cmp = compare("large", &large, &large_vigil, large_sha, large_aide);
    let mut ms = lat.ms.clone();
    ms.sort_by(f64::total_cmp);
    let (p50, p99, max) = (
        round(percentile(&ms, 0.5), 1),
        round(percentile(&ms, 0.99), 1),
        round(ms.last().copied().unwrap_or(f64::NAN), 1),
    );
    eprintln!(
        "latency: p50 {p50} ms, p99 {p99} ms, max {max} ms, lost {}, {} batches",
        lat.lost, lat.batches
    );
    let above = round(small_vigil.rss_mb - idle_rss, 1);
    let paths = small_vigil.totals.files.max(1) as f64;
    let bytes_per_file = (above * 1024.0 * 1024.0 / paths).round();
    let targets_met = small_cmp.vs_sha256sum >= 0.8
        && large_cmp.vs_sha256sum >= 0.8
        && small_cmp.vs_aide >= 1.5
        && large_cmp.vs_aide >= 1.5
        && p99 <= 100.0
        && lat.lost == 0
        && above <= 64.0
        && bytes_per_file <= 300.0;
    println!(
        "{}",
        serde_json::json!({
            "threads": THREADS,
            "small": small_cmp.json,
            "large": large_cmp.json,
            "latency": {
                "changes": lat.ms.len() + lat.lost,
                "per_s": 1000 / CHANGE_EVERY.as_millis(),
                "p50_ms": p50,
                "p99_ms": p99,
                "max_ms": max,
                "lost": lat.lost,
                "batches": lat.batches,
                "rescans": lat.rescans,
                "late_writes": lat.late_writes,
            },
            "rss_idle_mb": idle_rss,
            "rss_small_mb": small_vigil.rss_mb,
            "rss_small_peak_mb": small_vigil.hwm_mb,
            "rss_above_idle_mb": above,
            "bytes_per_file": bytes_per_file,
            "targets_met": targets_met,
        })
    );
}
