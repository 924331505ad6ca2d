//! Vigil's end-to-end tests, as one test binary (one link instead of one per
//! file), with a module per area. They run the real `vigild` and `vigilctl`
//! (found next to this executable, see `vigil_tests::bin`), each test in its
//! own temporary directory with its own daemon, socket and ports, so they
//! share no state and can run side by side under the default test threading.
//!
//! One thing the old one-binary-per-file layout gave for free has to be
//! said here: a file's tests used to run only beside tests of the same file.
//! Now any two tests may overlap, so the few that load the machine for a
//! long time (100 000-item listings, a million-event store) and the few that
//! assert on elapsed time (a cut-off within seconds, an answer within two)
//! take [`exclusive`] first and never overlap one another. The million-event
//! snapshot test stays in this binary: under [`exclusive`] it costs one
//! thread of the run, not a link of its own.

mod access;
mod alertmanager_api;
mod clap_help;
mod ctl_output;
mod daemon_crash;
mod deliveries_cli;
mod dev_mode;
mod export;
mod faults;
mod files;
mod files_ctl;
mod fleet;
mod fleet_stream;
mod follow_and_doctor;
mod import_alertmanager;
mod ingest;
mod listings;
mod logs;
mod logs_ctl;
mod notify;
mod protocol;
mod redaction;
mod reload;
mod retention;
mod secrets;
mod security_doc;
mod silences;
mod snapshots;
mod spool;
mod store_crash;
mod store_truncation;
mod systemd_integration;
mod systemd_units;

use std::sync::{Mutex, MutexGuard};

/// Held by the tests that must not overlap: those that keep both cores busy
/// for long (bulk listings, a million-event replay) and those whose
/// assertions are on elapsed time. A test that panics while holding it
/// poisons nothing that matters: the next one takes it anyway.
pub fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
