//! `vigilctl files scan`: the collector is asked for a scan (it records
//! the scan; this side has recorded who allowed it), and its progress is
//! relayed until the scan's end is durable, then what it found is sent.

use super::finished;
use crate::control::conn::{Conn, Fail, Served, blocking, refuse};
use crate::state::messages::{FilesCommand, FilesRefusal};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use vigil_proto::{Answer, ErrorCode, FinishedScan, ScanProgress};
use vigil_store::{Event, EventKind, FileIntegrity, Log, StoreError};
use vigil_views::ScanDone;

/// How long the collector has to record a scan's start.
const COLLECTOR_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a scan's progress is looked at (and sent, when it moved).
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// The totals of scan `id`: from the view when it is the last one that
/// finished, else from its `ScanFinished` in the log (a later scan has
/// finished since).
fn totals_of(
    log: &Log,
    view: Option<ScanDone>,
    id: u64,
) -> Result<Option<FinishedScan>, StoreError> {
    if let Some(done) = view.filter(|d| d.scan == id) {
        return Ok(Some(finished(&done)));
    }
    for entry in log.entries(id) {
        let entry = entry?;
        if entry.kind() != Some(EventKind::Collect) {
            continue;
        }
        if let Ok(Some(Event::FileIntegrity(FileIntegrity::ScanFinished { scan, totals, .. }))) =
            entry.event()
            && scan == id
        {
            return Ok(Some(FinishedScan {
                scan,
                finished_at: entry.time(),
                totals,
            }));
        }
    }
    Ok(None)
}

/// The class of a refusal from the collector.
fn collector_error_code(refusal: &FilesRefusal) -> ErrorCode {
    match refusal {
        FilesRefusal::NotConfigured | FilesRefusal::Store(_) => ErrorCode::Unavailable,
    }
}

impl Conn<'_> {
    pub(super) async fn files_scan(&mut self) -> Served {
        let commands = self.shared.files.commands.clone();
        // Refused before the decision is recorded: no "allowed" entry for
        // a scan that cannot start.
        if commands.is_closed() || !self.shared.config().collect.watches_files() {
            return Err(refuse(
                ErrorCode::Unavailable,
                FilesRefusal::NotConfigured.to_string(),
            ));
        }
        self.record_decision("files.scan").await?;
        let mut progress = self.shared.files.progress.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let started = tokio::time::timeout(COLLECTOR_TIMEOUT, async move {
            if commands
                .send(FilesCommand::Scan { reply: tx })
                .await
                .is_err()
            {
                return None;
            }
            rx.await.ok()
        })
        .await;
        let id = match started {
            Ok(Some(Ok(id))) => id,
            Ok(Some(Err(refusal))) => {
                return Err(refuse(collector_error_code(&refusal), refusal.to_string()));
            }
            Ok(None) => {
                return Err(refuse(
                    ErrorCode::Unavailable,
                    FilesRefusal::NotConfigured.to_string(),
                ));
            }
            Err(_) => {
                return Err(refuse(
                    ErrorCode::Unavailable,
                    format!(
                        "the file integrity collector did not start the scan within {}s; it may still: `vigilctl status` shows the scan under way",
                        COLLECTOR_TIMEOUT.as_secs()
                    ),
                ));
            }
        };
        let mut shutdown = self.shared.shutdown.clone();
        let mut ticker = tokio::time::interval(PROGRESS_EVERY);
        let mut sent: Option<ScanProgress> = None;
        let mut probe = [0u8; 1];
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = shutdown.changed() => {
                    return Err(refuse(
                        ErrorCode::Unavailable,
                        format!("vigild is stopping before scan {id} finished; the scan at the next start takes over"),
                    ));
                }
                // The client sends nothing while it waits: any read result
                // means it is gone (the scan goes on without it).
                _ = self.rd.read(&mut probe) => return Err(Fail::Gone),
            }
            // Closed: the collector stopped (its last word is still read).
            let closed = progress.has_changed().is_err();
            let now = progress.borrow_and_update().clone();
            if now.finished == Some(id) {
                break;
            }
            // The log refused the scan's records: the collector waits,
            // then rescans under another id. Said as it is, not as a scan
            // that finished without an end.
            if now.scan != Some(id)
                && let Some(error) = &now.store_error
            {
                return Err(refuse(
                    ErrorCode::Unavailable,
                    format!(
                        "scan {id} stopped: {error}; file integrity rescans every watched path once the store accepts again (`vigilctl doctor` shows it)"
                    ),
                ));
            }
            if now.finished.is_some_and(|f| f > id) {
                return Err(refuse(
                    ErrorCode::Unavailable,
                    format!(
                        "scan {id} did not finish: a later scan took over; `vigilctl files list` shows what it recorded"
                    ),
                ));
            }
            if closed {
                return Err(refuse(
                    ErrorCode::Unavailable,
                    format!(
                        "the file integrity collector stopped before scan {id} finished; see the daemon's log"
                    ),
                ));
            }
            let step = ScanProgress {
                scan: id,
                examined: now.examined,
                expected: now.expected,
                bytes: now.bytes,
            };
            if now.scan == Some(id) && sent != Some(step) {
                self.send(&Answer::files_scan_progress(step)).await?;
                sent = Some(step);
            }
        }
        let last = self.view(|v| v.files.last_scan.clone()).await?;
        let log = self.shared.log.clone();
        match blocking(move || totals_of(&log, last, id)).await? {
            Some(done) => self.send(&Answer::files_scan(Box::new(done))).await,
            None => Err(refuse(
                ErrorCode::Internal,
                format!("scan {id} is said to have finished but its end is not in the log"),
            )),
        }
    }
}
