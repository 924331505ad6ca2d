//! Before serving: the state directory, the store (created on first
//! start), and the lifecycle events that bracket a run.

use anyhow::Context;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;
use vigil_store::{Event, Lifecycle, Log, LogOptions, Phase, StoreError};

use crate::config::Config;

/// A lifecycle event of this process.
pub fn lifecycle(phase: Phase, detail: String) -> Event {
    Event::Lifecycle(Lifecycle {
        phase,
        version: env!("CARGO_PKG_VERSION").into(),
        pid: std::process::id(),
        detail,
    })
}

/// Creates the state directory (mode 0700) and returns its absolute path.
pub fn prepare_state_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    if !dir.exists() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the state directory {}", dir.display()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let abs = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let mode = std::fs::metadata(&abs)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            "state directory {} is mode {mode:04o}; others can read the store (chmod 0700)",
            abs.display()
        );
    }
    Ok(abs)
}

/// Opens the store, creating it (and writing the verification key) on first start.
pub fn open_store(
    config: &Config,
    head: watch::Sender<vigil_store::Head>,
    accept_truncation: bool,
) -> anyhow::Result<Log> {
    let dir = config.store_dir();
    let options = LogOptions {
        on_commit: Some(Arc::new(move |h: &vigil_store::Head| {
            head.send_replace(*h);
        })),
        accept_truncation,
        ..LogOptions::default()
    };
    let log = if dir.exists() {
        Log::open(&dir, options)
    } else {
        let vk = config.verification_key_path();
        let log = Log::create(&dir, &vk, options);
        if log.is_ok() {
            tracing::warn!(
                "created a new store; its verification key K(0) is at {}: copy it to offline storage and delete it from this host",
                vk.display()
            );
        }
        log
    };
    log.map_err(|e| match e {
        StoreError::Locked { .. } | StoreError::Truncated { .. } => anyhow::anyhow!("{e}"),
        other => {
            anyhow::Error::new(other).context(format!("opening the store at {}", dir.display()))
        }
    })
}
