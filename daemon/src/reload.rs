//! Re-reading the configuration: on SIGHUP, when the file changes, or on
//! request. A file that does not load is refused and the running
//! configuration kept; both outcomes are logged and recorded as events.

use crate::config::Config;
use crate::state::{ReloadRequest, Shared};
use crate::systemd;
use notify_debouncer_full::notify::RecursiveMode;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use vigil_store::{ConfigLoaded, Event, Hash};

/// Serves reload requests one at a time.
pub async fn run(shared: Arc<Shared>, mut requests: mpsc::Receiver<ReloadRequest>) {
    while let Some(request) = requests.recv().await {
        let result = reload(&shared, request.trigger).await;
        if let Some(reply) = request.reply {
            let _ = reply.send(result);
        }
    }
}

async fn reload(shared: &Arc<Shared>, trigger: &'static str) -> Result<String, String> {
    let Some(path) = shared.config_path.clone() else {
        return Err(
            "vigild runs on its embedded development configuration: there is no file to reload"
                .into(),
        );
    };
    systemd::reloading();
    let loaded = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || (Config::load(&path), std::fs::read(&path).ok())).await
    };
    let (loaded, bytes) = loaded.map_err(|e| format!("reload failed: {e}"))?;
    let digest = bytes.as_deref().map_or(Hash::ZERO, Hash::sha256);
    let (event, result) = match loaded {
        Ok((config, _)) => {
            let old = shared.config();
            let mut notes = Vec::new();
            if old.daemon.state_dir != config.daemon.state_dir
                || old.daemon.socket != config.daemon.socket
            {
                notes.push("state_dir and socket changes take effect at the next restart");
            }
            if old.daemon.log_level != config.daemon.log_level {
                notes.push("log_level changes take effect at the next restart");
            }
            // Sources, keys and secrets apply at once; these are wired at start.
            if old.http != config.http {
                notes.push("[http] listener changes take effect at the next restart");
            }
            if old.spool != config.spool {
                notes.push("[spool] changes take effect at the next restart");
            }
            if old.redaction != config.redaction {
                notes.push("[redaction] changes take effect at the next restart");
            }
            shared.set_config(config);
            let mut message = format!("configuration {} reloaded", path.display());
            for note in notes {
                message.push_str("; ");
                message.push_str(note);
            }
            tracing::info!(trigger, "{message}");
            (loaded_event(&path, digest, trigger, None), Ok(message))
        }
        Err(e) => {
            tracing::error!(
                trigger,
                "configuration NOT reloaded, the running one stays in force: {e}"
            );
            let message = format!("{e}; the running configuration is unchanged");
            (
                loaded_event(&path, digest, trigger, Some(e.to_string())),
                Err(message),
            )
        }
    };
    if let Err(e) = shared.log.append_async(&event).await {
        tracing::error!("cannot record the configuration load: {e}");
    }
    systemd::ready("serving");
    result
}

/// The `ConfigLoaded` event for a load of `path`.
pub fn loaded_event(
    path: &std::path::Path,
    digest: Hash,
    trigger: &str,
    error: Option<String>,
) -> Event {
    Event::ConfigLoaded(ConfigLoaded {
        path: path.display().to_string(),
        digest,
        trigger: trigger.to_string(),
        applied: error.is_none(),
        error,
    })
}

/// Watches the configuration file and asks for a reload when it changes.
/// Watches the directory, so editors that save by renaming are seen too.
pub fn watch(path: PathBuf, requests: mpsc::Sender<ReloadRequest>) -> anyhow::Result<impl Drop> {
    let dir = path
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let name = path.file_name().map(|n| n.to_os_string());
    let mut debouncer = notify_debouncer_full::new_debouncer(
        Duration::from_millis(500),
        None,
        move |result: notify_debouncer_full::DebounceEventResult| {
            let Ok(events) = result else { return };
            let touched = events.iter().any(|e| {
                e.paths
                    .iter()
                    .any(|p| p.file_name().map(|n| n.to_os_string()) == name)
            });
            if touched {
                let _ = requests.blocking_send(ReloadRequest {
                    trigger: "file-changed",
                    reply: None,
                });
            }
        },
    )?;
    debouncer.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(debouncer)
}
