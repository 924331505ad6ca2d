//! `vigild`: the Vigil daemon.
//!
//! Wires the event log (`vigil-store`) to its sources, views and control
//! socket: `runtime` brings everything up and down, `control` serves
//! `vigilctl`, `access` decides who may do what, `views` derive state by
//! replaying the log, `tasks` run epochs, snapshots and the watchdog.

mod access;
mod audit;
mod config;
mod control;
mod doctor;
mod doctor_notify;
mod doctor_secrets;
mod doctor_spool;
mod files;
mod http;
mod intake;
mod logging;
mod notifier;
mod reload;
mod replay;
mod runtime;
mod secrets;
mod spool;
mod state;
mod systemd;
mod tasks;

use clap::Parser;
use config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

/// sysexits.h: configuration error. The unit's RestartPreventExitStatus.
const EX_CONFIG: u8 = 78;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Vigil monitoring and alerting daemon.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Configuration file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check the configuration and exit (0 valid, 1 not).
    #[arg(long)]
    check_config: bool,
    /// Development mode: embedded configuration, state in ./vigil-data (or
    /// --state-dir), control socket inside it, the invoking user is admin.
    #[arg(long)]
    dev: bool,
    /// State directory (development mode).
    #[arg(long, value_name = "DIR", requires = "dev")]
    state_dir: Option<PathBuf>,
    /// Ingestion address (development mode; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", requires = "dev")]
    listen: Option<std::net::SocketAddr>,
    /// Open a store whose newest entries are gone (it ends before the head
    /// it recorded) and go on from there, recording the loss in the log.
    /// Without it such a store is refused.
    #[arg(long)]
    accept_truncation: bool,
}

/// Loads the configuration the arguments ask for.
fn load(args: &Args) -> Result<(Config, Option<PathBuf>, Vec<u8>), config::ConfigError> {
    if args.dev && args.config.is_none() {
        let mut config = Config::parse("<embedded dev.toml>", config::DEV_TOML)?;
        if let Some(dir) = &args.state_dir {
            config.daemon.state_dir = dir.clone();
        }
        // Absolute, so what the banner prints works from any directory.
        if let Ok(cwd) = std::env::current_dir() {
            let joined = cwd.join(&config.daemon.state_dir);
            config.daemon.state_dir = joined
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect();
        }
        config.daemon.socket = config.daemon.state_dir.join("control.sock");
        if let Some(listen) = args.listen {
            config.http.listen = listen;
            // The same rule as a config file's `listen` (dev mode has no TLS).
            if let Some(refusal) = config.http.refusal() {
                return Err(config::ConfigError {
                    path: "--listen".into(),
                    line: 0,
                    column: 0,
                    message: refusal,
                });
            }
        }
        config.store.verification_key = Some(config.daemon.state_dir.join("verification.key"));
        let uid = nix::unistd::getuid();
        let me = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map_or_else(|| uid.to_string(), |u| u.name);
        config
            .access
            .users
            .insert(me, toml::Spanned::new(0..0, "admin".to_string()));
        return Ok((config, None, config::DEV_TOML.as_bytes().to_vec()));
    }
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH));
    let (config, bytes) = Config::load(&path)?;
    Ok((config, Some(path), bytes))
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Nothing vigild creates is for anyone else.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let (config, config_path, config_bytes) = match load(&args) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("vigild: {e}");
            // 78 (EX_CONFIG) tells systemd not to restart: only a fix helps.
            return ExitCode::from(if args.check_config { 1 } else { EX_CONFIG });
        }
    };
    if args.check_config {
        println!(
            "{}: ok",
            config_path
                .as_deref()
                .map_or_else(|| "<embedded>".into(), |p| p.display().to_string())
        );
        return ExitCode::SUCCESS;
    }
    // Before any thread starts: takes the sockets systemd passed.
    let activation = match systemd::Activation::from_env() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("vigild: cannot take the sockets systemd passed: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = logging::init(&config.daemon.log_level) {
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
    let options = runtime::Options {
        config,
        config_path,
        config_bytes,
        dev: args.dev,
        accept_truncation: args.accept_truncation,
    };
    match runtime.block_on(runtime::run(options, activation)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("vigild: {e:#}");
            if e.downcast_ref::<secrets::StartError>().is_some()
                || e.downcast_ref::<spool::SpoolError>().is_some()
                || e.downcast_ref::<http::TlsError>().is_some()
            {
                ExitCode::from(EX_CONFIG)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
