//! One spool file: read it safely, ingest it once, say what became of it.
//!
//! The file's SHA-256 is its delivery id. It is claimed before the append
//! and remembered by the delivery-id view, so a file found again in
//! `incoming/` (a crash between the append and the move, or a script that
//! sends the same file twice) is moved to `done/` without a second event.

use crate::config::SpoolConfig;
use crate::intake::{self, Admitted, Intake, Origin};
use crate::state::Shared;
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use vigil_ingest::drivers::Delivery;
use vigil_store::{Actor, now_micros};

/// What became of a file.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored at this sequence number, with this many alerts.
    Ingested {
        /// The event's sequence number.
        seq: u64,
        /// Alerts in it (1 for a non-alert delivery).
        alerts: usize,
    },
    /// The same bytes were ingested before.
    AlreadyIngested,
    /// Refused for good; the reason goes beside it in `failed/`.
    Failed(String),
    /// Could not be stored now; it stays in `incoming/` for the next scan.
    Retry(String),
}

/// The longest file name recorded in the event.
const MAX_NAME_CHARS: usize = 200;

/// Ingests `incoming/name` with the `[spool]` settings.
pub async fn ingest(shared: &Shared, path: &Path, name: &OsStr, spool: &SpoolConfig) -> Outcome {
    let limit = spool.max_file.0;
    let owned = path.to_path_buf();
    let read = tokio::task::spawn_blocking(move || read_bounded(&owned, limit)).await;
    let (bytes, uid) = match read {
        Ok(Ok(read)) => read,
        Ok(Err(reason)) => return Outcome::Failed(reason.to_string()),
        Err(_) => return Outcome::Retry("the reader task failed".into()),
    };
    let id = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
    let source = spool.source.as_str();
    let Some(claim) = shared.ingest.claim(source, &id) else {
        return Outcome::AlreadyIngested;
    };
    let max_depth = shared.config().http.max_json_depth;
    let json = match intake::parse_json(&bytes, max_depth) {
        Ok(json) => json,
        Err(reason) => return Outcome::Failed(reason.to_string()),
    };
    let headers = http::HeaderMap::new();
    // Decided at load: one driver, or `auto` (detected from this file).
    let Some(driver) = spool.driver.for_delivery(&headers, &json) else {
        return Outcome::Failed(
            "cannot tell which sender this payload is from; set [spool] driver".into(),
        );
    };
    let delivery = Delivery {
        headers: &headers,
        body: &bytes,
        json: &json,
        now: now_micros() / 1_000_000,
    };
    // No signature: whoever may write into `incoming/` is trusted, as
    // the directory's permissions say; the owner is recorded as the author.
    let normalized = match driver.normalize(source, &delivery) {
        Ok(normalized) => normalized,
        Err(e) => return Outcome::Failed(format!("{driver} payload: {e}")),
    };
    let file: String = name
        .to_string_lossy()
        .chars()
        .take(MAX_NAME_CHARS)
        .collect();
    let origin = Origin {
        source,
        driver,
        delivery_id: Some(id),
        actor: Actor::Spool { uid, file },
    };
    let Admitted { event, alerts } = intake::admit(
        &shared.ingest.redactor,
        Intake::Delivery {
            origin,
            normalized,
            raw: None,
        },
    );
    match shared.log.append_async(&event).await {
        Ok(head) => {
            claim.accepted();
            Outcome::Ingested {
                seq: head.seq,
                alerts,
            }
        }
        Err(e) => Outcome::Retry(format!("the event could not be stored: {e}")),
    }
}

/// Why a spool file cannot be read (said beside it in `failed/`).
#[derive(Debug, thiserror::Error)]
enum Unreadable {
    /// `O_NOFOLLOW` refused it.
    #[error("a symbolic link; spool files must be regular files")]
    Symlink,
    /// Any other failure to open.
    #[error("cannot be opened: {0}")]
    Open(std::io::Error),
    /// Not a regular file, or its owner cannot be told.
    #[error("{0}")]
    NotRegular(#[from] super::dirs::NotRegular),
    /// Larger than `[spool] max_file`.
    #[error("{len} bytes is larger than [spool] max_file ({limit} bytes)")]
    TooLarge {
        /// Its size.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// Reading failed.
    #[error("cannot be read: {0}")]
    Read(std::io::Error),
    /// It grew past the limit while being read.
    #[error("larger than [spool] max_file ({limit} bytes)")]
    Grew {
        /// The limit.
        limit: u64,
    },
}

/// Reads a regular file of at most `limit` bytes without following a
/// symlink or blocking on a FIFO; returns its bytes and owner.
fn read_bounded(path: &Path, limit: u64) -> Result<(Vec<u8>, u32), Unreadable> {
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags((nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK).bits())
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if code == nix::errno::Errno::ELOOP as i32 => Unreadable::Symlink,
            _ => Unreadable::Open(e),
        })?;
    let (uid, len) = super::dirs::regular(&file).map_err(Unreadable::NotRegular)?;
    if len > limit {
        return Err(Unreadable::TooLarge { len, limit });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(Unreadable::Read)?;
    if bytes.len() as u64 > limit {
        return Err(Unreadable::Grew { limit });
    }
    Ok((bytes, uid))
}
