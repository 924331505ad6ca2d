//! Live change notifications: one inotify watch per examined directory
//! (never on an excluded one), each event reduced to "look at this path
//! again", and a lost event to "rescan everything".

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What the kernel told the collector.
pub enum Notice {
    /// Look at these paths again.
    Paths(Vec<PathBuf>),
    /// Events were lost (queue overflow, a read error): rescan all.
    Lost(String),
}

/// Reduces one notification to a [`Notice`], or nothing worth a look
/// (reads: vigild's own hashing opens every file it examines).
pub fn notice(event: notify::Result<notify::Event>) -> Option<Notice> {
    let event = match event {
        Ok(event) => event,
        Err(e) => {
            return Some(Notice::Lost(format!(
                "reading change notifications failed: {e}"
            )));
        }
    };
    if event.need_rescan() {
        return Some(Notice::Lost(
            "the kernel's change queue overflowed (fs.inotify.max_queued_events)".into(),
        ));
    }
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return None,
        _ => {}
    }
    (!event.paths.is_empty()).then_some(Notice::Paths(event.paths))
}

/// The watches in place.
pub struct Watches {
    watcher: Option<notify::RecommendedWatcher>,
    watched: BTreeSet<PathBuf>,
    /// Directories that could not be watched, with the last error.
    pub failed: Vec<(PathBuf, String)>,
}

impl Watches {
    /// Watches nothing yet; events go to `send`.
    pub fn new(send: impl Fn(Notice) + Send + 'static) -> Watches {
        let watcher = notify::recommended_watcher(move |event| {
            if let Some(notice) = notice(event) {
                send(notice);
            }
        });
        let (watcher, failed) = match watcher {
            Ok(w) => (Some(w), Vec::new()),
            Err(e) => (None, vec![(PathBuf::from("/"), e.to_string())]),
        };
        Watches {
            watcher,
            watched: BTreeSet::new(),
            failed,
        }
    }

    /// Watches `dir`'s entries; `Err` says why not (it is then scanned on
    /// schedule).
    pub fn add(&mut self, dir: &Path) -> Result<(), String> {
        let Some(watcher) = &mut self.watcher else {
            return Err("change notifications are unavailable".into());
        };
        // Added again even when known: a directory removed and made anew
        // lost its watch with its inode.
        match watcher.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.watched.insert(dir.to_path_buf());
                Ok(())
            }
            Err(e) => {
                let error = e.to_string();
                self.failed.retain(|(d, _)| d != dir);
                self.failed.push((dir.to_path_buf(), error.clone()));
                Err(error)
            }
        }
    }

    /// Forgets `dir` and every watch below it (they were deleted).
    pub fn remove_under(&mut self, dir: &Path) {
        let gone: Vec<PathBuf> = self
            .watched
            .iter()
            .filter(|w| w.starts_with(dir))
            .cloned()
            .collect();
        for w in gone {
            if let Some(watcher) = &mut self.watcher {
                // Already gone with the directory, usually.
                let _ = watcher.unwatch(&w);
            }
            self.watched.remove(&w);
        }
    }

    /// Drops every watch (the watched paths changed).
    pub fn clear(&mut self) {
        let all: Vec<PathBuf> = self.watched.iter().cloned().collect();
        for w in all {
            if let Some(watcher) = &mut self.watcher {
                let _ = watcher.unwatch(&w);
            }
        }
        self.watched.clear();
        self.failed.clear();
    }

    /// Directories watched.
    pub fn count(&self) -> usize {
        self.watched.len()
    }

    /// Takes the directories that could not be watched, to try again.
    pub fn take_failed(&mut self) -> Vec<(PathBuf, String)> {
        std::mem::take(&mut self.failed)
    }
}
