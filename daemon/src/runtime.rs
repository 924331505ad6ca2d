//! Bringing the daemon up, running it, and taking it down.
//!
//! Up: state directory, store (created on first start), a fresh epoch,
//! views restored, the control socket, background tasks, `READY=1`.
//! Down (SIGTERM, SIGINT, or a fatal store error): stop accepting, let
//! in-flight requests finish, record the stop, snapshot the views, close
//! the log after it has persisted everything.

use crate::config::Config;
use crate::control;
use crate::reload;
use crate::state::{Parts, Shared};
use crate::systemd::{self, Activation};
use crate::tasks;
use anyhow::Context;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use vigil_store::{Event, Hash, Lifecycle, Log, LogOptions, Phase, StoreError};

/// How the daemon was asked to run.
pub struct Options {
    /// The configuration.
    pub config: Config,
    /// Its file, if not embedded.
    pub config_path: Option<PathBuf>,
    /// Its bytes, for the `ConfigLoaded` digest.
    pub config_bytes: Vec<u8>,
    /// Development mode.
    pub dev: bool,
    /// `--accept-truncation`: open a store that lost its tail, and record it.
    pub accept_truncation: bool,
}

/// Runs until told to stop; `Ok(false)` means a fatal store error stopped it.
pub async fn run(options: Options, activation: Activation) -> anyhow::Result<bool> {
    // Handlers first: a SIGTERM that arrives during start-up must still mean
    // a clean stop, not the default instant death.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let config = options.config;
    let state_dir = prepare_state_dir(&config.daemon.state_dir)?;
    let (head_tx, head_rx) = watch::channel(vigil_store::Head::EMPTY);
    let log = open_store(&config, head_tx, options.accept_truncation)?;
    let secrets = crate::secrets::Secrets::start(&config, options.dev, &log)?;
    let tls = if config.http.enabled {
        crate::http::tls_acceptor(&config.http)?
    } else {
        None
    };
    let spool = if config.spool.enabled {
        Some(crate::spool::SpoolDirs::prepare(&config.spool_dir())?)
    } else {
        None
    };
    tasks::advance_epoch(&log, "start")
        .await
        .context("starting a new sealing epoch")?;

    let log_for_views = log.clone();
    let (views, restore) =
        tokio::task::spawn_blocking(move || crate::replay::restore(&log_for_views))
            .await?
            .context("replaying the log into the views")?;
    tracing::info!(replayed = restore.replayed, snapshot_as_of = ?restore.snapshot_as_of, "views ready");

    let config_label = options
        .config_path
        .clone()
        .unwrap_or_else(|| PathBuf::from("<embedded>"));
    let digest = Hash::sha256(&options.config_bytes);
    log.append_all_async(&[
        reload::loaded_event(&config_label, digest, "start", None),
        lifecycle(Phase::Started, String::new()),
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
    let ingest = crate::http::IngestState::new(
        &config.http,
        vigil_ingest::redact::Redactor::new(&config.redaction_patterns())
            .context("compiling the redaction patterns")?,
        views.delivery_ids.clone(),
    );
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (reload_tx, reload_rx) = mpsc::channel(8);
    let (notifier_tx, notifier_rx) = mpsc::channel(8);
    let shared = Shared::new(Parts {
        config,
        config_path: options.config_path.clone(),
        dev: options.dev,
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
    });

    let (fatal_tx, mut fatal_rx) = watch::channel(None);
    let server = tokio::spawn(control::serve(shared.clone(), listener));
    let http_config = shared.config().http.clone();
    let mut http_addr = None;
    let http_server = if http_config.enabled {
        let listener = crate::http::listener(&shared, activation.http).await?;
        tracing::info!(
            listen = %listener.local_addr().map_or_else(|_| http_config.listen.to_string(), |a| a.to_string()),
            tls = http_config.tls(),
            "ingestion listening"
        );
        http_addr = listener.local_addr().ok();
        Some(tokio::spawn(crate::http::serve(
            shared.clone(),
            listener,
            tls,
        )))
    } else {
        None
    };
    tokio::spawn(tasks::ingest_housekeeping(shared.clone()));
    if let Some(dirs) = spool {
        tracing::info!(dir = %dirs.incoming.display(), "spool watched");
        tokio::spawn(crate::spool::run(shared.clone(), dirs));
    }
    let notifier = tokio::spawn(crate::notifier::run(shared.clone(), notifier_rx));
    tokio::spawn(tasks::epochs(shared.clone()));
    tokio::spawn(tasks::views(shared.clone()));
    tokio::spawn(tasks::denials(shared.clone()));
    tokio::spawn(tasks::health(shared.clone(), fatal_tx));
    tokio::spawn(reload::run(shared.clone(), reload_rx, digest));
    let _watcher = match &options.config_path {
        Some(path) => Some(
            reload::watch(path.clone(), reload_tx.clone())
                .context("watching the configuration file")?,
        ),
        None => None,
    };
    let verifier = shared.clone();
    tokio::spawn(async move {
        // A first verification at start, so doctor and status have one.
        if let Err(e) = control::verify_now(&verifier, false, None, None).await {
            tracing::warn!("start-up verification failed to run: {e}");
        }
    });

    // Before "ready": whoever waits for it finds the key's event in place.
    let dev_key = if options.dev {
        match dev_api_key(&shared, &state_dir).await {
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
    if options.dev {
        banner(&shared, &state_dir, &socket, dev_key.as_deref(), http_addr);
    }

    let healthy = loop {
        tokio::select! {
            _ = term.recv() => break true,
            _ = int.recv() => break true,
            _ = hup.recv() => {
                let _ = reload_tx.send(crate::state::ReloadRequest { trigger: "sighup", reply: None }).await;
            }
            _ = fatal_rx.changed() => break false,
        }
    };

    systemd::stopping();
    tracing::info!("stopping: finishing in-flight requests");
    let _ = shutdown_tx.send(true);
    let _ = server.await;
    if let Some(http_server) = http_server {
        let _ = http_server.await;
    }
    // The notifier saves its groups on the way out.
    let _ = notifier.await;
    if healthy {
        shutdown_store(&shared).await;
    }
    Ok(healthy)
}

fn lifecycle(phase: Phase, detail: String) -> Event {
    Event::Lifecycle(Lifecycle {
        phase,
        version: env!("CARGO_PKG_VERSION").into(),
        pid: std::process::id(),
        detail,
    })
}

/// Records the stop, snapshots the views, closes the log.
async fn shutdown_store(shared: &Arc<Shared>) {
    tasks::flush_rejections(shared).await;
    if let Err(e) = shared.auditor.flush(true).await {
        tracing::error!("cannot record counted denials: {e}");
    }
    if let Err(e) = shared
        .log
        .append_async(&lifecycle(Phase::Stopping, "signal".into()))
        .await
    {
        tracing::error!("cannot record the stop: {e}");
    }
    let s = shared.clone();
    match tokio::task::spawn_blocking(move || s.with_views(|v| crate::replay::snapshot(v, &s.log)))
        .await
    {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e)) | Err(e)) => tracing::warn!("final view snapshot failed: {e}"),
        Err(e) => tracing::warn!("final view snapshot failed: {e}"),
    }
    let head = shared.log.head();
    tasks::anchor(&head, "stop");
    let log = shared.log.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || log.sync()).await {
        tracing::error!("final sync failed: {e}");
    }
    tracing::info!(seq = head.seq, "stopped cleanly");
}

/// Creates the state directory (mode 0700) and returns its absolute path.
fn prepare_state_dir(dir: &Path) -> anyhow::Result<PathBuf> {
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
fn open_store(
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

/// Development mode's API key: created on first start, kept (0600) in the
/// state directory so every start can print it.
async fn dev_api_key(shared: &Arc<Shared>, state_dir: &Path) -> anyhow::Result<String> {
    let path = state_dir.join("dev-api-key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(key.trim().to_string());
    }
    let taken = shared.keys();
    let (id, raw) = crate::http::mint_key(|id| taken.contains_key(id))?;
    shared
        .log
        .append_async(&Event::ApiKey(vigil_store::ApiKeyChange::Created {
            id: id.clone(),
            name: "development".into(),
            prefix: format!("vgl_{id}"),
            digest: Hash::sha256(raw.as_bytes()),
            sources: Vec::new(),
            expires_at: None,
            actor: vigil_store::Actor::Daemon,
        }))
        .await?;
    shared.refresh_keys().await;
    crate::files::create_private(&path, raw.as_bytes())?;
    Ok(raw)
}

fn banner(
    shared: &Shared,
    state_dir: &Path,
    socket: &Path,
    key: Option<&str>,
    http: Option<std::net::SocketAddr>,
) {
    let config = shared.config();
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name);
    println!("vigild {} in development mode", env!("CARGO_PKG_VERSION"));
    println!("  state directory   {}", state_dir.display());
    println!("  control socket    {}", socket.display());
    println!(
        "  verification key  {} (K(0): it proves the log untouched; keep a copy off this host)",
        config.verification_key_path().display()
    );
    if let Some(source) = shared.secrets.source() {
        println!("  master key        {source} (wraps the secrets keyring)");
    }
    println!("  you ({}) are admin", me.as_deref().unwrap_or("this user"));
    if let (Some(key), Some(addr)) = (key, http) {
        println!(
            "  ingestion         http://{addr}/v1/ingest/<source> (sources: alertmanager, grafana, github, gitlab, jenkins, pagerduty, generic)"
        );
        println!(
            "  API key           {key} (development only; `vigilctl keys create` makes real ones)"
        );
        println!("send a first alert:");
        println!(
            "  curl -sS -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' --data '{{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"vigil\",\"groupKey\":\"{{}}:{{}}\",\"alerts\":[{{\"status\":\"firing\",\"labels\":{{\"alertname\":\"DiskFull\",\"severity\":\"critical\",\"instance\":\"db1\"}},\"annotations\":{{\"summary\":\"Disk full on db1\"}},\"startsAt\":\"2026-01-01T00:00:00Z\"}}]}}' http://{addr}/v1/ingest/alertmanager"
        );
    }
    println!("ready: in another terminal, run");
    println!(
        "  cargo run -p vigilctl -- --socket {} status",
        socket.display()
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
}
