//! Shared helpers for the store's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use tempfile::TempDir;
use vigil_store::*;

/// A fresh store in a temporary directory.
pub struct TestStore {
    pub tmp: TempDir,
    pub dir: PathBuf,
    pub vk_path: PathBuf,
    pub log: Log,
}

impl TestStore {
    pub fn new() -> TestStore {
        Self::with_options(LogOptions::default())
    }

    pub fn with_options(options: LogOptions) -> TestStore {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        let vk_path = tmp.path().join("verification.key");
        let log = Log::create(&dir, &vk_path, options).unwrap();
        TestStore {
            tmp,
            dir,
            vk_path,
            log,
        }
    }

    pub fn key(&self) -> VerificationKey {
        read_verification_key(&self.vk_path).unwrap()
    }

    /// Closes the log and returns the paths, so the store can be reopened or tampered with.
    pub fn close(self) -> (TempDir, PathBuf, PathBuf) {
        self.log.close().unwrap();
        (self.tmp, self.dir, self.vk_path)
    }

    pub fn verify(&self) -> VerifyReport {
        let key = self.key();
        self.log
            .verify(&VerifyOptions {
                key: Some(&key),
                ..Default::default()
            })
            .unwrap()
    }
}

pub fn custom(message: &str) -> Event {
    Event::Custom(Custom {
        actor: Actor::Daemon,
        severity: Severity::Info,
        message: message.to_string(),
        labels: Default::default(),
    })
}

#[allow(unused_imports)]
pub use vigil_store::examples::alert_shaped as alert_event;

/// Opens the raw fjall database of a closed store, as an attacker with file access would.
pub fn raw_db(dir: &Path) -> (fjall::Database, fjall::Keyspace, fjall::Keyspace) {
    let db = fjall::Database::builder(dir.join("db")).open().unwrap();
    let log = db
        .keyspace("log", fjall::KeyspaceCreateOptions::default)
        .unwrap();
    let meta = db
        .keyspace("meta", fjall::KeyspaceCreateOptions::default)
        .unwrap();
    (db, log, meta)
}

/// Reads a raw entry from a raw keyspace.
pub fn raw_entry(log: &fjall::Keyspace, seq: u64) -> Entry {
    Entry::decode_value(seq, log.get(entry_key(seq)).unwrap().unwrap()).unwrap()
}

/// Every file under `dir` with its bytes, for "nothing changed" checks.
pub fn snapshot_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Runs `body` on its own thread and fails the test if it has not finished
/// after `limit`: a writer that never answers must fail CI, not hang it.
/// The stuck thread is left behind; the test binary exits without it.
pub fn within<T: Send + 'static>(
    limit: std::time::Duration,
    what: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, finished) = std::sync::mpsc::channel();
    let worker = std::thread::Builder::new()
        .name(what.into())
        .spawn(move || {
            let result = body();
            let _ = done.send(());
            result
        })
        .unwrap();
    match finished.recv_timeout(limit) {
        // Finished, or panicked (the sender dropped): join to pass either on.
        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!(
            "{what} did not finish within {limit:?}: a call into the log is blocked \
             (an append never answered, or drop waiting for the writer); \
             run the test binary alone and take a backtrace with gdb -p"
        ),
    }
}
