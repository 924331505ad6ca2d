//! Live change notifications: one inotify watch per examined directory
//! (never on an excluded one), each event reduced to "look at this path
//! again", and a lost event to "rescan everything".
//!
//! inotify is used directly, not through a general watcher, for its mask:
//! vigild opens every file it hashes, and a mask with `IN_OPEN` (as general
//! watchers set) would wake it once per file it reads, for nothing.

use super::backoff::Backoff;
use super::beneath::{Dir, open_dir_path};
pub use inotify::EventMask;
use inotify::{Inotify, WatchDescriptor, WatchMask, Watches as Handle};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the kernel told the collector.
#[derive(Debug)]
pub enum Notice {
    /// Look at these paths again (each once, with the events it had).
    Paths(Vec<(PathBuf, EventMask)>),
    /// Events were lost (queue overflow, a read error, the collector's
    /// queue full): rescan all.
    Lost(String),
}

/// Whether a notice reached the collector's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Queued (or the collector is gone: nothing to do).
    Delivered,
    /// The queue is full: the collector is behind.
    Full,
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
    /// Watches nothing yet; notices go to `send`, which must not block
    /// (a full queue is a rescan owed, see [`Sent`]).
    pub fn new(send: impl Fn(Notice) -> Sent + Send + 'static) -> Watches {
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

    /// Watches the entries of `dir`, the very directory opened (through
    /// `/proc/self/fd`, so a directory swapped for a link since it was
    /// listed is not what is watched): `Ok(true)` when this inode was not
    /// watched at this path before; `Err` says why not (it is then looked
    /// at every minute).
    pub fn add(&mut self, dir: &Dir) -> Result<bool, String> {
        let Some(handle) = &mut self.handle else {
            return Err("inotify is unavailable".into());
        };
        // Under the lock: the reader must not see an event of this watch
        // before it knows the directory. Added again even when known: a
        // directory removed and made anew is another inode.
        let mut directories = self.directories.lock().unwrap_or_else(|p| p.into_inner());
        let by_fd = PathBuf::from(format!("/proc/self/fd/{}", dir.fd().as_raw_fd()));
        let added = match handle.add(&by_fd, mask()) {
            // Without /proc: by its path, not following a last link, and
            // then checked to be the directory listed.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => handle
                .add(&dir.path, mask() | WatchMask::DONT_FOLLOW)
                .and_then(|wd| match open_dir_path(&dir.path) {
                    Ok(now) if now.id == dir.id => Ok(wd),
                    _ => {
                        let _ = handle.remove(wd);
                        Err(std::io::Error::other("replaced while being watched"))
                    }
                }),
            added => added,
        };
        match added {
            Ok(wd) => {
                let before = directories.insert(wd, dir.path.clone());
                self.watched.insert(dir.path.clone());
                Ok(before.as_deref() != Some(dir.path.as_path()))
            }
            Err(e) => {
                let error = e.to_string();
                self.failed.retain(|(d, _)| *d != dir.path);
                self.failed.push((dir.path.clone(), error.clone()));
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
    send: &impl Fn(Notice) -> Sent,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut reader = Reader::default();
    while !stop.load(Ordering::Relaxed) {
        reader.catch_up(send);
        let ready = {
            let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::from(250u16))
        };
        match ready {
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                let wait = reader.failed(
                    send,
                    format!("waiting for change notifications failed: {e}"),
                );
                pause(wait, stop);
                continue;
            }
        }
        let events = match inotify.read_events(&mut buffer) {
            Ok(events) => events,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                let wait = reader.failed(send, format!("reading change notifications failed: {e}"));
                pause(wait, stop);
                continue;
            }
        };
        reader.failures.succeeded();
        // One look per path per read, however many events it had.
        let mut paths: BTreeMap<PathBuf, EventMask> = BTreeMap::new();
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
                let path = match event.name {
                    Some(name) => dir.join(name),
                    None => dir.clone(),
                };
                *paths.entry(path).or_insert(EventMask::empty()) |= event.mask;
                if event.mask.contains(EventMask::IGNORED) {
                    known.remove(&event.wd);
                }
            }
        }
        if lost {
            reader.lost(
                send,
                "the kernel's change queue overflowed (fs.inotify.max_queued_events)".into(),
            );
        }
        if !paths.is_empty() {
            reader.paths(send, paths.into_iter().collect());
        }
    }
}

/// Sleeps `wait`, a quarter second at a time, unless told to stop.
fn pause(wait: Duration, stop: &AtomicBool) {
    let until = Instant::now() + wait;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(250).min(until - Instant::now()));
    }
}

/// What the reader owes the collector: the queue to the collector is
/// bounded, and a batch that does not fit is dropped for a rescan, owed
/// until it fits.
#[derive(Default)]
struct Reader {
    /// Why a rescan is owed (a batch was dropped, or lost otherwise).
    owed: Option<String>,
    /// Reading failed this many times in a row: waits grow.
    failures: Backoff,
}

/// What the collector's queue was full of, said when a batch is dropped.
const BEHIND: &str =
    "the file integrity collector fell behind the change notifications (its queue was full)";

impl Reader {
    /// Sends the rescan owed, if any and if it fits now.
    fn catch_up(&mut self, send: &impl Fn(Notice) -> Sent) {
        if let Some(why) = self.owed.take()
            && send(Notice::Lost(why.clone())) == Sent::Full
        {
            self.owed = Some(why);
        }
    }

    /// Events were lost: a rescan, now or as soon as it fits.
    fn lost(&mut self, send: &impl Fn(Notice) -> Sent, why: String) {
        self.owed.get_or_insert(why);
        self.catch_up(send);
    }

    /// Paths to look at; dropped (for a rescan) when the queue is full or
    /// a rescan is owed already, which covers them.
    fn paths(&mut self, send: &impl Fn(Notice) -> Sent, paths: Vec<(PathBuf, EventMask)>) {
        if self.owed.is_some() {
            self.catch_up(send);
            return;
        }
        if send(Notice::Paths(paths)) == Sent::Full {
            self.lost(send, BEHIND.into());
        }
    }

    /// Reading failed: a rescan (what happened meanwhile is unknown), and
    /// how long to wait before reading again.
    fn failed(&mut self, send: &impl Fn(Notice) -> Sent, why: String) -> Duration {
        let wait = self.failures.failed();
        // A failure that persists is said once per wait, not per second.
        self.lost(send, format!("{why}; reading again in {}s", wait.as_secs()));
        wait
    }
}

/// Whether a look at a path with these events must walk what is below
/// it: a directory made or moved in (its entries may predate its watch),
/// or a path deleted or moved away (what was below it went with it).
/// Otherwise (a chmod, a write) the path itself is looked at, and a
/// directory's chmod does not re-read everything beneath it.
pub fn whole_tree(mask: EventMask) -> bool {
    mask.intersects(
        EventMask::CREATE
            | EventMask::MOVED_TO
            | EventMask::MOVED_FROM
            | EventMask::DELETE
            | EventMask::DELETE_SELF
            | EventMask::MOVE_SELF
            | EventMask::IGNORED
            | EventMask::Q_OVERFLOW,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_chmod_or_a_write_is_a_look_at_the_path_itself() {
        assert!(!whole_tree(EventMask::ATTRIB | EventMask::ISDIR));
        assert!(!whole_tree(EventMask::MODIFY | EventMask::CLOSE_WRITE));
        assert!(whole_tree(EventMask::CREATE | EventMask::ISDIR));
        assert!(whole_tree(EventMask::MOVED_TO | EventMask::ISDIR));
        assert!(whole_tree(EventMask::ATTRIB | EventMask::DELETE_SELF));
    }

    /// A reader on a watched `dir` whose notices go to a queue of `cap`.
    fn reading(dir: &Path, cap: usize) -> (Watches, flume::Receiver<Notice>) {
        let (tx, rx) = flume::bounded(cap);
        let mut watches = Watches::new(move |n| match tx.try_send(n) {
            Err(flume::TrySendError::Full(_)) => Sent::Full,
            _ => Sent::Delivered,
        });
        let opened = open_dir_path(dir).unwrap();
        assert!(watches.add(&opened).unwrap());
        (watches, rx)
    }

    #[test]
    fn a_flood_is_bounded_and_what_does_not_fit_becomes_a_rescan() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let cap = 4;
        let (_watches, rx) = reading(&root, cap);
        // The collector busy: nothing taken while 3000 files are made.
        let mut longest = 0;
        for i in 0..3000 {
            std::fs::write(root.join(format!("f{i}")), "x").unwrap();
            if i % 100 == 0 {
                std::thread::sleep(Duration::from_millis(5));
                longest = longest.max(rx.len());
            }
        }
        std::thread::sleep(Duration::from_millis(300));
        assert!(rx.len() <= cap && longest <= cap, "{longest}");
        // Taken again: the rescan owed arrives, after what fitted.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut lost = None;
        while lost.is_none() && Instant::now() < deadline {
            if let Ok(Notice::Lost(why)) = rx.recv_timeout(Duration::from_millis(100)) {
                lost = Some(why);
            }
        }
        assert_eq!(lost.as_deref(), Some(BEHIND));
    }

    #[test]
    fn one_notice_per_path_per_read_with_its_events() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (_watches, rx) = reading(&root, 64);
        std::fs::create_dir(root.join("d")).unwrap();
        std::fs::set_permissions(
            root.join("d"),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let mut masks = EventMask::empty();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !masks.contains(EventMask::ATTRIB) && Instant::now() < deadline {
            if let Ok(Notice::Paths(paths)) = rx.recv_timeout(Duration::from_millis(100)) {
                for (path, mask) in paths {
                    assert_eq!(path, root.join("d"));
                    masks |= mask;
                }
            }
        }
        assert!(masks.contains(EventMask::CREATE | EventMask::ISDIR | EventMask::ATTRIB));
    }

    #[test]
    fn a_persistent_read_failure_is_retried_ever_more_slowly() {
        let (tx, rx) = flume::bounded(64);
        let send = move |n| {
            let _ = tx.try_send(n);
            Sent::Delivered
        };
        let mut reader = Reader::default();
        let waits: Vec<u64> = (0..8)
            .map(|_| reader.failed(&send, "reading failed".into()).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        // One rescan per wait.
        assert_eq!(rx.len(), 8);
        reader.failures.succeeded();
        assert_eq!(reader.failed(&send, "again".into()).as_secs(), 1);
    }
}
