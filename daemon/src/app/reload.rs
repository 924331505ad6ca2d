//! Re-reading the configuration: on SIGHUP, when the file changes, or on
//! request. A file that does not load is refused and the running
//! configuration kept; both outcomes are logged and recorded as events.

use crate::config::{Config, ConfigError};
use crate::state::Shared;
use crate::state::messages::{ReloadError, ReloadRequest};
use crate::sys::systemd;
use notify_debouncer_full::notify::event::{AccessKind, AccessMode};
use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use vigil_store::{ConfigLoaded, Event, Hash};

/// What the file watcher's requests are called.
pub const FILE_CHANGED: &str = "file-changed";

/// Serves reload requests one at a time. `loaded` is the digest of the
/// bytes last read from the file (applied or refused): the watcher's
/// requests reload only when the content differs from them (a touch, an
/// identical rewrite or a mere read changes nothing, and a refused file is
/// not refused again until it changes); asked-for reloads (`vigilctl
/// reload`, SIGHUP) always re-read.
pub async fn run(
    shared: Arc<Shared>,
    mut requests: mpsc::Receiver<ReloadRequest>,
    mut loaded: Hash,
) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        let request = tokio::select! {
            request = requests.recv() => request,
            _ = shutdown.changed() => None,
        };
        let Some(request) = request else { return };
        let result = reload(&shared, request.trigger, &mut loaded).await;
        if let (Some(reply), Some(result)) = (request.reply, result) {
            let _ = reply.send(result);
        }
    }
}

/// `None` when the watcher saw no change of content.
async fn reload(
    shared: &Arc<Shared>,
    trigger: &'static str,
    last: &mut Hash,
) -> Option<Result<String, ReloadError>> {
    let Some(path) = shared.config_path.clone() else {
        return Some(Err(ReloadError::NoFile));
    };
    let previous = *last;
    let read = {
        let path = path.clone();
        // One read: the digest recorded is that of the bytes checked.
        tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&path);
            let digest = bytes.as_deref().map_or(Hash::ZERO, Hash::sha256);
            if trigger == FILE_CHANGED && digest == previous {
                return None;
            }
            let loaded = bytes
                .map_err(|e| ConfigError::unreadable(&path, &e))
                .and_then(|bytes| Config::from_bytes(&path, &bytes));
            Some((digest, loaded))
        })
        .await
    };
    let (digest, loaded) = match read {
        Ok(Some(read)) => read,
        Ok(None) => {
            tracing::debug!("configuration file seen but its content is unchanged: not reloaded");
            return None;
        }
        Err(e) => return Some(Err(ReloadError::Task(e))),
    };
    *last = digest;
    systemd::reloading();
    let (event, result) = match loaded {
        Ok(config) => {
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
            (
                loaded_event(&path, digest, trigger, Some(e.to_string())),
                Err(ReloadError::Refused(e)),
            )
        }
    };
    if let Err(e) = shared.log.append_async(&event).await {
        tracing::error!("cannot record the configuration load: {e}");
    }
    systemd::ready("serving");
    Some(result)
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
/// Only events that can change the content count: the daemon's own reads
/// of the file (open, access, close) would otherwise ask for a reload that
/// reads it again, forever.
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
                may_change_content(&e.kind)
                    && e.paths
                        .iter()
                        .any(|p| p.file_name().map(|n| n.to_os_string()) == name)
            });
            if touched {
                let _ = requests.blocking_send(ReloadRequest {
                    trigger: FILE_CHANGED,
                    reply: None,
                });
            }
        },
    )?;
    debouncer.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(debouncer)
}

/// Whether a file event can mean new content: created, written (or
/// closed after writing), renamed or removed. Not a read, which is all the
/// daemon itself does to the file.
fn may_change_content(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Any
            | EventKind::Create(_)
            | EventKind::Modify(_)
            | EventKind::Remove(_)
            | EventKind::Access(AccessKind::Close(AccessMode::Write))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_debouncer_full::notify::event::{
        CreateKind, DataChange, MetadataKind, ModifyKind, RemoveKind, RenameMode,
    };

    #[test]
    fn only_what_can_change_the_content_asks_for_a_reload() {
        for read in [
            EventKind::Access(AccessKind::Open(AccessMode::Read)),
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Read),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Any),
            EventKind::Other,
        ] {
            assert!(!may_change_content(&read), "{read:?}");
        }
        for change in [
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::WriteTime)),
            EventKind::Remove(RemoveKind::File),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
        ] {
            assert!(may_change_content(&change), "{change:?}");
        }
    }
}
