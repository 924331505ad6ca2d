//! What every part of the running daemon shares: [`Shared`], the views
//! kept current with the log ([`replay`]), and the messages tasks send each
//! other ([`messages`]).

pub mod forward;
pub mod intake;
pub mod log_sources;
pub mod messages;
pub mod replay;
#[cfg(test)]
pub mod testing;

use crate::access::audit::Auditor;
use crate::config::Config;
use crate::secrets::Secrets;
use crate::state::replay::Restore;
use intake::IngestState;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;
use tokio::sync::{mpsc, watch};
use vigil_proto::VerifySummary;
use vigil_store::{Head, Log, StoreError};
use vigil_views::{ApiKey, Views};

/// The daemon's shared state.
pub struct Shared {
    config: RwLock<Arc<Config>>,
    /// The configuration file, when not running on the embedded one.
    pub config_path: Option<PathBuf>,
    /// Development mode.
    pub dev: bool,
    /// The event log.
    pub log: Log,
    views: Mutex<Views>,
    /// Records authorization decisions.
    pub auditor: Auditor,
    /// The newest committed head.
    pub head: watch::Receiver<Head>,
    /// When the daemon started (monotonic, and UTC micros).
    pub started: (Instant, i64),
    /// How the views came up.
    pub restore: Restore,
    /// The control socket's path.
    pub socket: PathBuf,
    /// The last verification the daemon ran.
    pub last_verify: Mutex<Option<VerifySummary>>,
    /// Becomes true when the daemon is stopping.
    pub shutdown: watch::Receiver<bool>,
    /// Asks the reload task to re-read the configuration.
    pub reload: mpsc::Sender<messages::ReloadRequest>,
    /// The secrets vault and its master key.
    pub secrets: Secrets,
    /// Ingestion endpoint state.
    pub ingest: IngestState,
    /// Requests to the notifier.
    pub notifier: mpsc::Sender<messages::Command>,
    /// Requests to the file integrity collector, and its progress.
    pub files: FilesChannel,
    /// Why the log refused log collection's last append, while it does.
    pub logs_store_error: watch::Receiver<Option<String>>,
    /// What the forwarder is doing.
    pub forward: forward::Live,
    /// Held by a retention run or an erasure: one at a time.
    pub retention: Mutex<()>,
    /// While set, view snapshots are not saved (retention is dropping
    /// bodies they would be made from).
    snapshots_paused: std::sync::atomic::AtomicBool,
    /// API keys, as the HTTP listener checks them: a copy of the key view,
    /// republished under the views lock whenever its generation moves, so
    /// a revocation can never be overwritten by an older copy.
    keys: RwLock<PublishedKeys>,
}

/// The key table the HTTP listener reads without touching the views.
struct PublishedKeys {
    generation: u64,
    keys: Arc<BTreeMap<String, ApiKey>>,
}

/// Everything [`Shared::new`] needs.
pub struct Parts {
    /// Configuration in force.
    pub config: Config,
    /// Its file, if any.
    pub config_path: Option<PathBuf>,
    /// Development mode.
    pub dev: bool,
    /// The log.
    pub log: Log,
    /// Restored views.
    pub views: Views,
    /// How they were restored.
    pub restore: Restore,
    /// Head updates.
    pub head: watch::Receiver<Head>,
    /// The control socket.
    pub socket: PathBuf,
    /// Shutdown signal.
    pub shutdown: watch::Receiver<bool>,
    /// Reload requests.
    pub reload: mpsc::Sender<messages::ReloadRequest>,
    /// Secrets.
    pub secrets: Secrets,
    /// Ingestion endpoint state.
    pub ingest: IngestState,
    /// Requests to the notifier.
    pub notifier: mpsc::Sender<messages::Command>,
    /// The file integrity collector's channel.
    pub files: FilesChannel,
    /// Log collection's store trouble.
    pub logs_store_error: watch::Receiver<Option<String>>,
}

/// How the control socket reaches the file integrity collector.
#[derive(Clone)]
pub struct FilesChannel {
    /// Requests (closed when no `[[collect.files]]` is configured).
    pub commands: mpsc::Sender<messages::FilesCommand>,
    /// What it is doing.
    pub progress: watch::Receiver<messages::ScanProgress>,
}

impl Shared {
    /// Assembles the shared state.
    pub fn new(p: Parts) -> Arc<Shared> {
        let keys = PublishedKeys {
            generation: p.views.keys.generation(),
            keys: Arc::new(p.views.keys.keys.clone()),
        };
        Arc::new(Shared {
            config: RwLock::new(Arc::new(p.config)),
            config_path: p.config_path,
            dev: p.dev,
            auditor: Auditor::new(p.log.clone()),
            log: p.log,
            views: Mutex::new(p.views),
            head: p.head,
            started: (Instant::now(), vigil_store::now_micros()),
            restore: p.restore,
            socket: p.socket,
            last_verify: Mutex::new(None),
            shutdown: p.shutdown,
            reload: p.reload,
            secrets: p.secrets,
            ingest: p.ingest,
            notifier: p.notifier,
            files: p.files,
            logs_store_error: p.logs_store_error,
            forward: forward::Live::default(),
            keys: RwLock::new(keys),
            retention: Mutex::new(()),
            snapshots_paused: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.config.read().expect("config lock").clone()
    }

    /// Replaces the configuration in force.
    pub fn set_config(&self, config: Config) {
        *self.config.write().expect("config lock") = Arc::new(config);
    }

    /// API keys by id.
    pub fn keys(&self) -> Arc<BTreeMap<String, ApiKey>> {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys
            .clone()
    }

    /// Brings the views (and so the published key table) up to date with
    /// the log: call after appending a key change.
    pub async fn refresh_keys(self: &Arc<Self>) {
        let shared = self.clone();
        match tokio::task::spawn_blocking(move || shared.with_views(|_| ())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("cannot refresh API keys: {e}"),
            Err(e) => tracing::error!("cannot refresh API keys: {e}"),
        }
    }

    /// Stops view snapshots until the guard is dropped.
    pub fn pause_snapshots(&self) -> SnapshotsPaused<'_> {
        self.snapshots_paused
            .store(true, std::sync::atomic::Ordering::SeqCst);
        SnapshotsPaused(self)
    }

    /// Saves the views' snapshots, unless retention paused them.
    pub fn snapshot(&self, views: &mut Views) -> Result<(), StoreError> {
        if self
            .snapshots_paused
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Ok(());
        }
        crate::state::replay::snapshot(views, &self.log)
    }

    /// Puts views rebuilt from the log in place of the live ones (after
    /// retention dropped bodies they were made from), caught up with the
    /// log, and republishes the key table. Blocking.
    pub fn replace_views(&self, rebuilt: Views) -> Result<(), StoreError> {
        let mut views = self.views.lock().expect("views lock");
        *views = rebuilt;
        crate::state::replay::catch_up(&mut views, &self.log)?;
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = PublishedKeys {
            generation: views.keys.generation(),
            keys: Arc::new(views.keys.keys.clone()),
        };
        Ok(())
    }

    /// Runs `f` on the views once they have caught up with the log.
    /// Blocking (reads the store): call from a blocking context.
    pub fn with_views<R>(&self, f: impl FnOnce(&mut Views) -> R) -> Result<R, StoreError> {
        let mut views = self.views.lock().expect("views lock");
        crate::state::replay::catch_up(&mut views, &self.log)?;
        // Still under the views lock: publications happen in log order.
        let generation = views.keys.generation();
        let mut published = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if published.generation != generation {
            *published = PublishedKeys {
                generation,
                keys: Arc::new(views.keys.keys.clone()),
            };
        }
        drop(published);
        Ok(f(&mut views))
    }
}

/// Snapshots resume when this is dropped (see [`Shared::pause_snapshots`]).
pub struct SnapshotsPaused<'a>(&'a Shared);

impl Drop for SnapshotsPaused<'_> {
    fn drop(&mut self) {
        self.0
            .snapshots_paused
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }
}
