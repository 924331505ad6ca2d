//! Bringing the daemon up, running it, and taking it down.
//!
//! Up ([`main`], [`run`]): the configuration (a file, or development
//! mode's embedded one), the state directory, the store (created on first
//! start), a fresh epoch, views restored, the control socket, every task
//! ([`stop::Tasks`]), `READY=1`. Down (SIGTERM, SIGINT, or a fatal store
//! error): stop accepting, let in-flight requests finish, stop the tasks in
//! order, record the stop, snapshot the views, close the log after it has
//! persisted everything.

mod dev;
pub mod reload;
mod start;
mod stop;
pub mod tasks;

use crate::config::{Config, ConfigError};
use crate::control;
use crate::state::messages::ScanProgress;
use crate::state::{FilesChannel, Parts, Shared};
use crate::sys::systemd::{self, Activation};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use stop::{Stage, Tasks};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use vigil_store::{Hash, Phase};

/// sysexits.h: configuration error. The unit's RestartPreventExitStatus.
const EX_CONFIG: u8 = 78;

/// How the daemon was started (its command line).
pub struct Launch {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--check-config`: check and exit.
    pub check_config: bool,
    /// `--dev`.
    pub dev: bool,
    /// `--state-dir` (development mode).
    pub state_dir: Option<PathBuf>,
    /// `--listen` (development mode).
    pub listen: Option<SocketAddr>,
    /// `--accept-truncation`.
    pub accept_truncation: bool,
}

/// A loaded configuration, where it came from, and its bytes (digested
/// into the `ConfigLoaded` event).
struct Loaded {
    config: Config,
    path: Option<PathBuf>,
    bytes: Vec<u8>,
}

/// Loads the configuration `launch` asks for.
fn load(launch: &Launch) -> Result<Loaded, ConfigError> {
    if launch.dev && launch.config.is_none() {
        let uid = nix::unistd::getuid();
        let me = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map_or_else(|| uid.to_string(), |u| u.name);
        let config = Config::dev(launch.state_dir.as_deref(), launch.listen, me)?;
        return Ok(Loaded {
            config,
            path: None,
            bytes: crate::config::DEV_TOML.as_bytes().to_vec(),
        });
    }
    let path = launch
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_PATH));
    let (config, bytes) = Config::load(&path)?;
    Ok(Loaded {
        config,
        path: Some(path),
        bytes,
    })
}

/// Runs the daemon as `launch` asks; the exit status says how it ended
/// (0, 1 for failures a restart may cure, 78 for configuration errors).
pub fn main(launch: Launch) -> ExitCode {
    let loaded = match load(&launch) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("vigild: {e}");
            // 78 (EX_CONFIG) tells systemd not to restart: only a fix helps.
            return ExitCode::from(if launch.check_config { 1 } else { EX_CONFIG });
        }
    };
    if launch.check_config {
        println!(
            "{}: ok",
            loaded
                .path
                .as_deref()
                .map_or_else(|| "<embedded>".into(), |p| p.display().to_string())
        );
        return ExitCode::SUCCESS;
    }
    // Before any thread starts: takes the sockets systemd passed.
    let activation = match Activation::from_env() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("vigild: cannot take the sockets systemd passed: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = crate::sys::logging::init(&loaded.config.daemon.log_level) {
        eprintln!("vigild: cannot set up logging: {e}");
        return ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("vigild")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vigild: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(loaded, &launch, activation)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("vigild: {e:#}");
            if e.downcast_ref::<crate::secrets::StartError>().is_some()
                || e.downcast_ref::<crate::intake::spool::SpoolError>()
                    .is_some()
                || e.downcast_ref::<crate::intake::http::TlsError>().is_some()
            {
                ExitCode::from(EX_CONFIG)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// Runs until told to stop; `Ok(false)` means a fatal store error stopped it.
async fn run(loaded: Loaded, launch: &Launch, activation: Activation) -> anyhow::Result<bool> {
    // Handlers first: a SIGTERM that arrives during start-up must still mean
    // a clean stop, not the default instant death.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let config = loaded.config;
    let state_dir = start::prepare_state_dir(&config.daemon.state_dir)?;
    let (head_tx, head_rx) = watch::channel(vigil_store::Head::EMPTY);
    let log = start::open_store(&config, head_tx, launch.accept_truncation)?;
    let secrets = crate::secrets::Secrets::start(&config, launch.dev, &log)?;
    let tls = if config.http.enabled {
        crate::intake::http::tls_acceptor(&config.http)?
    } else {
        None
    };
    let spool = if config.spool.enabled {
        Some(crate::intake::spool::SpoolDirs::prepare(
            &config.spool_dir(),
        )?)
    } else {
        None
    };
    tasks::advance_epoch(&log, "start")
        .await
        .context("starting a new sealing epoch")?;

    let log_for_views = log.clone();
    let (views, restore) =
        tokio::task::spawn_blocking(move || crate::state::replay::restore(&log_for_views))
            .await?
            .context("replaying the log into the views")?;
    tracing::info!(replayed = restore.replayed, snapshot_as_of = ?restore.snapshot_as_of, "views ready");

    let config_label = loaded
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from("<embedded>"));
    let digest = Hash::sha256(&loaded.bytes);
    log.append_all_async(&[
        reload::loaded_event(&config_label, digest, "start", None),
        start::lifecycle(Phase::Started, String::new()),
    ])
    .await?;

    let listener = match activation.control {
        Some(socket) => {
            tracing::info!("serving the control socket systemd passed in");
            control::listener::adopt(socket)?
        }
        None => control::listener::bind(&config.daemon)?,
    };
    let socket = listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(Path::to_path_buf))
        .unwrap_or_else(|| config.daemon.socket.clone());
    let ingest = crate::state::intake::IngestState::new(
        &config.http,
        vigil_ingest::redact::Redactor::new(&config.redaction_patterns())
            .context("compiling the redaction patterns")?,
        views.delivery_ids.clone(),
    );
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (reload_tx, reload_rx) = mpsc::channel(8);
    let (notifier_tx, notifier_rx) = mpsc::channel(8);
    let (files_tx, files_rx) = mpsc::channel(4);
    let (progress_tx, progress_rx) = watch::channel(ScanProgress::default());
    let (logs_error_tx, logs_error_rx) = watch::channel(None);
    let shared = Shared::new(Parts {
        config,
        config_path: loaded.path.clone(),
        dev: launch.dev,
        log: log.clone(),
        views,
        restore,
        head: head_rx,
        socket: socket.clone(),
        shutdown: shutdown_rx,
        reload: reload_tx.clone(),
        secrets,
        ingest,
        notifier: notifier_tx,
        files: FilesChannel {
            commands: files_tx,
            progress: progress_rx,
        },
        logs_store_error: logs_error_rx,
    });

    let (fatal_tx, mut fatal_rx) = watch::channel(None);
    let mut running = Tasks::default();
    running.spawn(
        Stage::Doors,
        "control server",
        control::serve(shared.clone(), listener),
    );
    running.spawn(
        Stage::Doors,
        "file integrity",
        crate::intake::files::run(shared.clone(), files_rx, progress_tx),
    );
    running.spawn(
        Stage::Doors,
        "log collection",
        crate::intake::logs::run(shared.clone(), logs_error_tx),
    );
    let http_config = shared.config().http.clone();
    let mut http_addr = None;
    if http_config.enabled {
        let listener = crate::intake::http::listener(&shared, activation.http).await?;
        tracing::info!(
            listen = %listener.local_addr().map_or_else(|_| http_config.listen.to_string(), |a| a.to_string()),
            tls = http_config.tls(),
            "ingestion listening"
        );
        http_addr = listener.local_addr().ok();
        running.spawn(
            Stage::Doors,
            "ingestion server",
            crate::intake::http::serve(shared.clone(), listener, tls),
        );
    }
    if let Some(dirs) = spool {
        tracing::info!(dir = %dirs.incoming.display(), "spool watched");
        running.spawn(
            Stage::Doors,
            "spool",
            crate::intake::spool::run(shared.clone(), dirs),
        );
    }
    running.spawn(
        Stage::Notifier,
        "notifier",
        crate::notifier::run(shared.clone(), notifier_rx),
    );
    running.spawn(
        Stage::Notifier,
        "forwarder",
        crate::forward::run(shared.clone()),
    );
    running.spawn(
        Stage::Upkeep,
        "ingestion housekeeping",
        tasks::ingest_housekeeping(shared.clone()),
    );
    running.spawn(
        Stage::Upkeep,
        "alert lifetimes",
        crate::intake::lifetimes::run(shared.clone()),
    );
    running.spawn(Stage::Upkeep, "epochs", tasks::epochs(shared.clone()));
    running.spawn(Stage::Upkeep, "view upkeep", tasks::views(shared.clone()));
    running.spawn(
        Stage::Upkeep,
        "retention",
        crate::retention::schedule(shared.clone()),
    );
    running.spawn(Stage::Upkeep, "denials", tasks::denials(shared.clone()));
    running.spawn(
        Stage::Upkeep,
        "health",
        tasks::health(shared.clone(), fatal_tx),
    );
    running.spawn(
        Stage::Upkeep,
        "reload",
        reload::run(shared.clone(), reload_rx, digest),
    );
    let _watcher = match &loaded.path {
        Some(path) => Some(
            reload::watch(path.clone(), reload_tx.clone())
                .context("watching the configuration file")?,
        ),
        None => None,
    };
    running.spawn(
        Stage::Upkeep,
        "start-up verification",
        tasks::first_verify(shared.clone()),
    );

    // Before "ready": whoever waits for it finds the key's event in place.
    let dev_key = if launch.dev {
        match dev::api_key(&shared, &state_dir).await {
            Ok(key) => Some(key),
            Err(e) => {
                tracing::warn!("no development API key: {e:#}");
                None
            }
        }
    } else {
        None
    };
    let head = log.head();
    systemd::ready(&format!(
        "serving; head {} in epoch {}",
        head.seq, head.epoch
    ));
    tracing::info!(state_dir = %state_dir.display(), socket = %socket.display(), "vigild ready");
    if launch.dev {
        dev::banner(&shared, &state_dir, &socket, dev_key.as_deref(), http_addr);
    }

    let healthy = loop {
        tokio::select! {
            _ = term.recv() => break true,
            _ = int.recv() => break true,
            _ = hup.recv() => {
                let _ = reload_tx.send(crate::state::messages::ReloadRequest { trigger: "sighup", reply: None }).await;
            }
            _ = fatal_rx.changed() => break false,
        }
    };

    systemd::stopping();
    tracing::info!("stopping: finishing in-flight requests");
    let _ = shutdown_tx.send(true);
    running.stop().await;
    if healthy {
        stop::close_store(&shared).await;
    }
    Ok(healthy)
}
