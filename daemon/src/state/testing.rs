//! Test fixture: a daemon's shared parts on a new store, as vigild starts
//! them, for tests that need the real log, views and control socket
//! without the whole daemon. Callers replace the parts they drive
//! (`Parts { shutdown, files, ..parts(config, socket) }`).

use super::Parts;
use super::messages::ScanProgress;
use crate::config::Config;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use vigil_store::{Head, Log, LogOptions};

/// Every part, on a new store where `config` says (or the one a previous
/// call left there, as a restart finds it), with channels nobody listens
/// to (a dropped shutdown sender means "stop" to whoever waits).
pub fn parts(config: Config, socket: PathBuf) -> Parts {
    let (head_tx, head_rx) = watch::channel(Head::EMPTY);
    let options = LogOptions {
        on_commit: Some(Arc::new(move |h: &Head| {
            head_tx.send_replace(*h);
        })),
        ..LogOptions::default()
    };
    let log = if config.store_dir().exists() {
        Log::open(&config.store_dir(), options).expect("the store reopened")
    } else {
        Log::create(
            &config.store_dir(),
            &config.verification_key_path(),
            options,
        )
        .expect("a new store")
    };
    let (views, restore) = super::replay::restore(&log).expect("the views restored");
    let secrets = crate::secrets::Secrets::start(&config, true, &log).expect("the secrets vault");
    let redactor = vigil_ingest::redact::Redactor::new(&config.redaction_patterns())
        .expect("the redaction patterns");
    let ingest =
        super::intake::IngestState::new(&config.http, redactor, views.delivery_ids.clone());
    Parts {
        config,
        config_path: None,
        dev: true,
        log,
        views,
        restore,
        head: head_rx,
        socket,
        shutdown: watch::channel(false).1,
        reload: mpsc::channel(1).0,
        secrets,
        ingest,
        notifier: mpsc::channel(1).0,
        files: super::FilesChannel {
            commands: mpsc::channel(1).0,
            progress: watch::channel(ScanProgress::default()).1,
        },
        logs_store_error: watch::channel(None).1,
    }
}
