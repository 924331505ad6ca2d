//! Live change notifications: one inotify watch per examined directory
//! (never on an excluded one), each event reduced to "look at this path
//! again", and a lost event to "rescan everything".
//!
//! inotify is used directly, not through a general watcher, for its mask:
//! vigild opens every file it hashes, and a mask with `IN_OPEN` (as general
//! watchers set) would wake it once per file it reads, for nothing.

use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask, Watches as Handle};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::collections::{BTreeSet, HashMap};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What the kernel told the collector.
pub enum Notice {
    /// Look at these paths again.
    Paths(Vec<PathBuf>),
    /// Events were lost (queue overflow, a read error): rescan all.
    Lost(String),
}

/// What a change to a directory's entries, or to the directory, raises.
fn mask() -> WatchMask {
    WatchMask::CREATE
        | WatchMask::DELETE
        | WatchMask::MODIFY
        | WatchMask::CLOSE_WRITE
        | WatchMask::ATTRIB
        | WatchMask::MOVED_FROM
        | WatchMask::MOVED_TO
        | WatchMask::DELETE_SELF
        | WatchMask::MOVE_SELF
        | WatchMask::ONLYDIR
        | WatchMask::DONT_FOLLOW
        | WatchMask::EXCL_UNLINK
}

/// Watch descriptor → the directory it watches.
type Directories = Arc<Mutex<HashMap<WatchDescriptor, PathBuf>>>;

/// The watches in place, and the thread reading their events.
pub struct Watches {
    handle: Option<Handle>,
    directories: Directories,
    watched: BTreeSet<PathBuf>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
    /// Directories that could not be watched, with the last error.
    pub failed: Vec<(PathBuf, String)>,
}

impl Watches {
    /// Watches nothing yet; notices go to `send`.
    pub fn new(send: impl Fn(Notice) + Send + 'static) -> Watches {
        let directories: Directories = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let started = Inotify::init().and_then(|inotify| {
            let handle = inotify.watches();
            let (directories, stop) = (directories.clone(), stop.clone());
            std::thread::Builder::new()
                .name("vigil-inotify".into())
                .spawn(move || read(inotify, &directories, &stop, &send))
                .map(|reader| (handle, reader))
        });
        let (handle, reader, failed) = match started {
            Ok((handle, reader)) => (Some(handle), Some(reader), Vec::new()),
            Err(e) => (None, None, vec![(PathBuf::from("/"), e.to_string())]),
        };
        Watches {
            handle,
            directories,
            watched: BTreeSet::new(),
            stop,
            reader,
            failed,
        }
    }

    /// Watches `dir`'s entries: `Ok(true)` when this inode was not
    /// watched at this path before; `Err` says why not (it is then looked
    /// at every minute).
    pub fn add(&mut self, dir: &Path) -> Result<bool, String> {
        let Some(handle) = &mut self.handle else {
            return Err("inotify is unavailable".into());
        };
        // Under the lock: the reader must not see an event of this watch
        // before it knows the directory. Added again even when known: a
        // directory removed and made anew is another inode.
        let mut directories = self.directories.lock().unwrap_or_else(|p| p.into_inner());
        match handle.add(dir, mask()) {
            Ok(wd) => {
                let before = directories.insert(wd, dir.to_path_buf());
                self.watched.insert(dir.to_path_buf());
                Ok(before.as_deref() != Some(dir))
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
        self.watched.retain(|w| !w.starts_with(dir));
        let mut directories = self.directories.lock().unwrap_or_else(|p| p.into_inner());
        let gone: Vec<WatchDescriptor> = directories
            .iter()
            .filter(|(_, d)| d.starts_with(dir))
            .map(|(wd, _)| wd.clone())
            .collect();
        for wd in gone {
            directories.remove(&wd);
            if let Some(handle) = &mut self.handle {
                // Usually gone with the directory already.
                let _ = handle.remove(wd);
            }
        }
    }

    /// Drops every watch (the watched paths changed).
    pub fn clear(&mut self) {
        self.remove_under(Path::new("/"));
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

impl Drop for Watches {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// Reads events until told to stop, checking every quarter second.
fn read(
    mut inotify: Inotify,
    directories: &Directories,
    stop: &AtomicBool,
    send: &impl Fn(Notice),
) {
    let mut buffer = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let ready = {
            let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::from(250u16))
        };
        match ready {
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                send(Notice::Lost(format!(
                    "waiting for change notifications failed: {e}"
                )));
                std::thread::sleep(std::time::Duration::from_secs(1));
                continue;
            }
        }
        let events = match inotify.read_events(&mut buffer) {
            Ok(events) => events,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                send(Notice::Lost(format!(
                    "reading change notifications failed: {e}"
                )));
                std::thread::sleep(std::time::Duration::from_secs(1));
                continue;
            }
        };
        let mut paths = Vec::new();
        let mut lost = false;
        {
            let mut known = directories.lock().unwrap_or_else(|p| p.into_inner());
            for event in events {
                if event.mask.contains(EventMask::Q_OVERFLOW) {
                    lost = true;
                    continue;
                }
                let Some(dir) = known.get(&event.wd) else {
                    continue;
                };
                paths.push(match event.name {
                    Some(name) => dir.join(name),
                    None => dir.clone(),
                });
                if event.mask.contains(EventMask::IGNORED) {
                    known.remove(&event.wd);
                }
            }
        }
        if lost {
            send(Notice::Lost(
                "the kernel's change queue overflowed (fs.inotify.max_queued_events)".into(),
            ));
        }
        if !paths.is_empty() {
            send(Notice::Paths(paths));
        }
    }
}
