//! What the daemon benchmarks share: a real `vigild` started from a
//! config with an Alertmanager source and rate limits out of the way, an
//! API key, and what `/proc` says about the process.
#![allow(dead_code, clippy::unwrap_used)]

pub mod load;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vigil_proto::{DeliveriesRequest, DeliveryTotals, KeysRequest, Request, Response};
use vigilctl::Client;

const VIGILD: &str = env!("CARGO_BIN_EXE_vigild");

/// A running `vigild` in its own temporary state directory.
pub struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    /// The ingestion address.
    pub addr: SocketAddr,
    /// An API key for every source.
    pub key: String,
}

impl Daemon {
    /// Starts `vigild` with an alertmanager source, high rate limits and
    /// `extra` appended (`[notify]` tables, say); creates an API key.
    pub fn start(extra: &str) -> Daemon {
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
listen = "127.0.0.1:0"
max_connections = 1024
rate_per_key = 10000000
burst_per_key = 10000000
rate_per_ip = 10000000
burst_per_ip = 10000000

[sources.am]
driver = "alertmanager"

{extra}
"#,
                state = dir.path().join("state").display(),
                socket = dir.path().join("control.sock").display(),
            ),
        )
        .unwrap();
        let mut child = Command::new(VIGILD)
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        // Keeps reading to the end, so the daemon never blocks on its log.
        std::thread::spawn(move || {
            let mut addr = None;
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(at) = line.find("listen=") {
                    addr = line[at + 7..]
                        .split_whitespace()
                        .next()
                        .and_then(|a| a.parse().ok());
                }
                if line.contains("vigild ready") {
                    let _ = tx.send(addr);
                }
                if line.contains("ERROR") || line.contains("the notifier cannot") {
                    eprintln!("vigild: {line}");
                }
            }
        });
        let addr: SocketAddr = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap()
            .expect("the daemon logs its ingestion address");
        let mut daemon = Daemon {
            child,
            dir,
            addr,
            key: String::new(),
        };
        daemon.key = match daemon
            .client()
            .call(&Request::Keys(KeysRequest::Create {
                name: "bench".into(),
                sources: vec![],
                scopes: vec![],
                expires_in_secs: None,
            }))
            .unwrap()
        {
            Response::KeyCreated { secret, .. } => serde_json::to_value(&secret)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string(),
            other => panic!("{other:?}"),
        };
        daemon
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("control.sock")
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.socket()).unwrap()
    }

    pub fn totals(&self) -> DeliveryTotals {
        match self
            .client()
            .call(&Request::Deliveries(DeliveriesRequest::List {
                state: None,
                receiver: None,
                limit: Some(1),
            }))
            .unwrap()
        {
            // The first frame of the listing.
            Response::DeliveryTotals(totals) => totals,
            other => panic!("{other:?}"),
        }
    }

    /// Resident memory, MB.
    pub fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS");
        round1(kb / 1024.0)
    }

    /// CPU seconds used so far, user and system (`/proc/PID/stat`, in
    /// USER_HZ = 100 ticks).
    pub fn cpu_s(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after_comm.split_whitespace().collect();
        // Fields 14 and 15 of stat(5); the slice starts at field 3.
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        ticks as f64 / 100.0
    }

    /// Bytes this process caused to be written to storage so far, MB.
    pub fn written_mb(&self) -> f64 {
        let io = std::fs::read_to_string(format!("/proc/{}/io", self.child.id())).unwrap();
        let bytes: f64 = io
            .lines()
            .find_map(|l| l.strip_prefix("write_bytes:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("write_bytes");
        bytes / 1e6
    }

    /// SIGTERM; asserts exit status 0 within two minutes; returns how long
    /// the stop took.
    pub fn stop(mut self) -> Duration {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        let t = Instant::now();
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "vigild exited with {status}");
                return t.elapsed();
            }
            assert!(
                t.elapsed() < Duration::from_secs(120),
                "vigild did not stop within 2 minutes of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
