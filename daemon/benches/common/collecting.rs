//! A `vigild` that collects on its own host (`[collect]`, no HTTP
//! listener), for the file integrity and log collection benchmarks: its
//! collect entries through the control socket, and what `/proc` says of
//! its memory and CPU.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use vigil_proto::{EventRecord, Listed, Request};
use vigil_store::{EventKind, now_micros};
use vigilctl::Client;

const VIGILD: &str = env!("CARGO_BIN_EXE_vigild");

/// A running `vigild` in its own temporary state directory.
pub struct Collecting {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// UTC microseconds just before the spawn.
    pub spawned_us: i64,
}

impl Collecting {
    /// Starts `vigild` with `collect` (the `[collect]` table and what
    /// follows it) and waits until it is ready. Every line it logs goes to
    /// `on_line` (its warnings and errors to stderr too).
    pub fn start(collect: &str, on_line: impl Fn(&str) + Send + 'static) -> Collecting {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("vigil.toml");
        std::fs::write(
            &config,
            format!(
                r#"[daemon]
state_dir = "{state}"
socket = "{socket}"
socket_mode = "0600"
log_level = "info"

[access.users]
root = "admin"

[http]
enabled = false

{collect}"#,
                state = dir.path().join("state").display(),
                socket = dir.path().join("control.sock").display(),
            ),
        )
        .unwrap();
        let spawned_us = now_micros();
        let mut child = Command::new(VIGILD)
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (ready_tx, ready) = mpsc::channel();
        // Reads to the end, so the daemon never blocks on its log.
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if line.contains("vigild ready") {
                    let _ = ready_tx.send(());
                }
                if line.contains("ERROR") || line.contains("WARN") {
                    eprintln!("vigild: {line}");
                }
                on_line(&line);
            }
        });
        let daemon = Collecting {
            child: Some(child),
            dir,
            spawned_us,
        };
        ready
            .recv_timeout(Duration::from_secs(120))
            .expect("vigild ready within 2 minutes");
        daemon
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Its state directory's parent.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A control connection.
    pub fn client(&self) -> Client {
        Client::connect(&self.dir.path().join("control.sock")).unwrap()
    }

    /// Collect entries from `from` on (all when `None`).
    pub fn collect_events(&self, from: Option<u64>) -> Vec<EventRecord> {
        let mut client = self.client();
        let listing = Request::events_list(Some(EventKind::Collect), from, None);
        client.send(listing.request()).unwrap();
        let mut out = Vec::new();
        loop {
            match listing.read(client.receive().unwrap()).unwrap() {
                Listed::Page(page) => out.extend(page),
                Listed::End(_) => return out,
                Listed::Header(()) => {}
            }
        }
    }

    /// `VmRSS` and `VmHWM`, MB.
    pub fn rss_mb(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let field = |name: &str| -> f64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
                .expect(name)
                / 1024.0
        };
        (round(field("VmRSS:"), 1), round(field("VmHWM:"), 1))
    }

    /// CPU seconds used so far (USER_HZ = 100).
    pub fn cpu_s(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
            .split_whitespace()
            .collect();
        (fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()) as f64 / 100.0
    }

    /// SIGTERM; asserts exit 0 within two minutes.
    pub fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
        let t = Instant::now();
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "vigild exited with {status}");
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(120),
                "vigild did not stop within 2 minutes of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Collecting {
    fn drop(&mut self) {
        // Only when stop() did not run (a panic): this child, by its handle.
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `x` rounded to `digits` decimals.
pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// Installs Debian's `package` (a peer tool a benchmark compares with),
/// updating the package lists once if the first try fails; as root only.
pub fn apt_install(package: &str) -> bool {
    if !nix::unistd::geteuid().is_root() {
        return false;
    }
    eprintln!("{package}: not installed; apt-get install -y {package}");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends", package])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if install() {
        return true;
    }
    let _ = Command::new("apt-get")
        .args(["update", "-qq"])
        .stdout(Stdio::null())
        .status();
    install()
}

/// The `p` quantile of `sorted`; 0 for no samples (JSON has no NaN).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}
