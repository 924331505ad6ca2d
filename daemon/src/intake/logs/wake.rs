//! Waking the collector when a followed file's directory changes: one
//! inotify watch per directory, every event reduced to "look again".
//! Looking costs an `fstat` per file, so a burst of writes is one look,
//! and a lost event is no loss: the collector also looks every second.

use inotify::{EventMask, Inotify, WatchMask, Watches};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The watches, and the thread turning their events into wake-ups.
pub struct Wake {
    handle: Option<Watches>,
    watched: BTreeSet<PathBuf>,
}

impl Wake {
    /// Calls `wake` after changes (it coalesces them), and first
    /// `entries` when a name appeared in a directory (a glob may now match
    /// one more file: the directory is listed only then).
    pub fn new(entries: impl Fn() + Send + 'static, wake: impl Fn() + Send + 'static) -> Wake {
        let started = Inotify::init().and_then(|mut inotify| {
            let handle = inotify.watches();
            std::thread::Builder::new()
                .name("vigil-logs-inotify".into())
                .spawn(move || {
                    let mut buffer = [0u8; 16 << 10];
                    // Ends when the collector drops the watches' descriptor
                    // (read then fails) or the process ends.
                    while let Ok(events) = inotify.read_events_blocking(&mut buffer) {
                        let appeared =
                            EventMask::CREATE | EventMask::MOVED_TO | EventMask::Q_OVERFLOW;
                        if events.into_iter().any(|e| e.mask.intersects(appeared)) {
                            entries();
                        }
                        wake();
                    }
                })
                .map(|_| handle)
        });
        match started {
            Ok(handle) => Wake {
                handle: Some(handle),
                watched: BTreeSet::new(),
            },
            Err(e) => {
                tracing::warn!(
                    "log collection: inotify is unavailable ({e}); looking every second instead"
                );
                Wake {
                    handle: None,
                    watched: BTreeSet::new(),
                }
            }
        }
    }

    /// Watches `dir` (once; a failure means the second's look only).
    pub fn watch(&mut self, dir: &Path) {
        let Some(handle) = &mut self.handle else {
            return;
        };
        if self.watched.contains(dir) {
            return;
        }
        let mask = WatchMask::MODIFY
            | WatchMask::CREATE
            | WatchMask::DELETE
            | WatchMask::MOVED_FROM
            | WatchMask::MOVED_TO
            | WatchMask::CLOSE_WRITE
            | WatchMask::ATTRIB
            | WatchMask::ONLYDIR;
        match handle.add(dir, mask) {
            Ok(_) => {
                self.watched.insert(dir.to_path_buf());
            }
            Err(e) => tracing::debug!(dir = %dir.display(), "log collection: cannot watch ({e})"),
        }
    }
}
