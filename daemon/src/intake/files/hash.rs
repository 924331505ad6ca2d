//! Reading a file's content for its hash, safely and within a budget.
//!
//! A file is opened without following a symbolic link anywhere in its
//! path, without blocking on a fifo put in its place, and is checked to be
//! the very file the walk saw (same device and inode), so a directory
//! swapped for a link during a scan cannot make vigild read outside the
//! watched roots.

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, OFlag, OpenHow, ResolveFlag, openat2};
use sha2::{Digest, Sha256};
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use vigil_store::Hash;

/// What reading a file gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    /// SHA-256 of the content.
    pub sha256: Hash,
    /// Bytes read.
    pub bytes: u64,
    /// The content as text, when asked for and it is text within the limit.
    pub text: Option<String>,
}

/// Why a file was not hashed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The kernel refused (permission denied, gone, ...).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Something else is at the path now: the caller looks again.
    #[error("replaced while being read")]
    Replaced,
}

/// A shared read-rate limit for hashing (`[collect] read_rate`).
pub struct ReadBudget {
    /// Bytes per second; `None` is unlimited.
    rate: Option<f64>,
    /// Bytes that may be read now (negative: owed), as of the instant.
    tokens: Mutex<(f64, Instant)>,
}

impl ReadBudget {
    /// At most `bytes_per_s` (unlimited when `None`).
    pub fn new(bytes_per_s: Option<u64>) -> ReadBudget {
        ReadBudget {
            rate: bytes_per_s.map(|r| r.max(1) as f64),
            tokens: Mutex::new((0.0, Instant::now())),
        }
    }

    /// Takes `bytes` from the budget, sleeping first while it is owed.
    fn take(&self, bytes: usize) {
        let Some(rate) = self.rate else { return };
        let wait = {
            let mut state = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            // At most one second of burst.
            let refilled = (state.0 + now.duration_since(state.1).as_secs_f64() * rate).min(rate);
            state.0 = refilled - bytes as f64;
            state.1 = now;
            if state.0 < 0.0 {
                Duration::from_secs_f64(-state.0 / rate)
            } else {
                Duration::ZERO
            }
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

const BUFFER: usize = 256 * 1024;

/// Hashes the regular file at `path` that the walk saw as `seen`; keeps its
/// text when `keep_text` is the largest size to keep. Also gives the
/// file's metadata as of its opening, fresher than the walk's.
pub fn hash_file(
    path: &Path,
    seen: &Metadata,
    budget: &ReadBudget,
    keep_text: Option<u64>,
) -> Result<(Hashed, Metadata), HashError> {
    let file = open_without_links(path)?;
    let opened = file.metadata()?;
    if !opened.is_file() || opened.ino() != seen.ino() || opened.dev() != seen.dev() {
        return Err(HashError::Replaced);
    }
    let keep_text = keep_text.filter(|max| opened.len() <= *max);
    Ok((read_all(file, budget, keep_text)?, opened))
}

/// Opens `path` for reading without following a link anywhere in it
/// (`openat2` with `RESOLVE_NO_SYMLINKS`); on a kernel without `openat2`,
/// opens it without following a last link and checks the kernel's name
/// for the descriptor instead.
fn open_without_links(path: &Path) -> Result<File, HashError> {
    static NO_OPENAT2: AtomicBool = AtomicBool::new(false);
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        let how = OpenHow::new()
            .flags(flags)
            .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS);
        match openat2(AT_FDCWD, path, how) {
            Ok(fd) => return Ok(File::from(fd)),
            // A link where the walk saw a directory or a file.
            Err(Errno::ELOOP) => return Err(HashError::Replaced),
            // No openat2 here (or a filter forbids it): the older way.
            Err(Errno::ENOSYS | Errno::EPERM) => NO_OPENAT2.store(true, Ordering::Relaxed),
            Err(e) => return Err(HashError::Io(e.into())),
        }
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    // A parent directory replaced by a link since the walk shows here.
    let actual = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()));
    if actual.is_ok_and(|actual| actual != path) {
        return Err(HashError::Replaced);
    }
    Ok(file)
}

thread_local! {
    /// Each hashing thread's read buffer, reused from file to file.
    static BUFFER_OF_THREAD: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; BUFFER]);
}

fn read_all(file: File, budget: &ReadBudget, keep_text: Option<u64>) -> Result<Hashed, HashError> {
    BUFFER_OF_THREAD.with(|buffer| read_with(file, budget, keep_text, &mut buffer.borrow_mut()))
}

fn read_with(
    mut file: File,
    budget: &ReadBudget,
    keep_text: Option<u64>,
    buffer: &mut [u8],
) -> Result<Hashed, HashError> {
    let mut hasher = Sha256::new();
    let mut kept = keep_text.map(|_| Vec::new());
    let mut bytes = 0u64;
    loop {
        let n = match file.read(buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        budget.take(n);
        hasher.update(&buffer[..n]);
        bytes += n as u64;
        // Grown past the limit while being read: no text.
        if keep_text.is_some_and(|max| bytes > max) {
            kept = None;
        }
        if let Some(kept) = &mut kept {
            kept.extend_from_slice(&buffer[..n]);
        }
    }
    let text = kept
        .and_then(|k| String::from_utf8(k).ok())
        .filter(|t| !t.contains('\0'));
    Ok(Hashed {
        sha256: finish(hasher),
        bytes,
        text,
    })
}

fn finish(hasher: Sha256) -> Hash {
    Hash(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sha(bytes: &[u8]) -> Hash {
        Hash(Sha256::digest(bytes).into())
    }

    #[test]
    fn hashes_the_content_and_keeps_text_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, "hello\n").unwrap();
        let seen = std::fs::symlink_metadata(&path).unwrap();
        let budget = ReadBudget::new(None);
        let h = hash_file(&path, &seen, &budget, Some(100)).unwrap().0;
        assert_eq!(h.sha256, sha(b"hello\n"));
        assert_eq!(h.text.as_deref(), Some("hello\n"));
        assert_eq!(
            hash_file(&path, &seen, &budget, Some(3)).unwrap().0.text,
            None
        );
        assert_eq!(hash_file(&path, &seen, &budget, None).unwrap().0.text, None);
    }

    #[test]
    fn binary_content_is_no_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        std::fs::write(&path, b"a\0b").unwrap();
        let seen = std::fs::symlink_metadata(&path).unwrap();
        let h = hash_file(&path, &seen, &ReadBudget::new(None), Some(100))
            .unwrap()
            .0;
        assert_eq!((h.text, h.bytes), (None, 3));
    }

    #[test]
    fn a_large_file_hashes_across_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let content: Vec<u8> = (0..BUFFER * 2 + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let seen = std::fs::symlink_metadata(&path).unwrap();
        let h = hash_file(&path, &seen, &ReadBudget::new(None), Some(10))
            .unwrap()
            .0;
        assert_eq!(h.sha256, sha(&content));
        assert_eq!(h.bytes, content.len() as u64);
    }

    #[test]
    fn a_link_anywhere_in_the_path_or_a_replaced_file_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        std::fs::write(&target, "x").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let seen = std::fs::symlink_metadata(&target).unwrap();
        let budget = ReadBudget::new(None);
        // The link is refused even though its target is the file the walk saw.
        assert!(hash_file(&link, &seen, &budget, None).is_err());
        // A directory swapped for a link: the file behind it is not read.
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("f"), "y").unwrap();
        let seen_inner = std::fs::symlink_metadata(real.join("f")).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("swapped")).unwrap();
        assert!(hash_file(&dir.path().join("swapped/f"), &seen_inner, &budget, None).is_err());
        assert!(hash_file(&real.join("f"), &seen_inner, &budget, None).is_ok());
        // Another file at the path than the one the walk saw.
        let other = dir.path().join("o");
        std::fs::write(&other, "y").unwrap();
        assert!(matches!(
            hash_file(&other, &seen, &budget, None),
            Err(HashError::Replaced)
        ));
    }

    #[test]
    fn the_budget_paces_reads() {
        let budget = ReadBudget::new(Some(1000));
        let started = Instant::now();
        budget.take(1000); // the first second's worth is owed at once
        budget.take(500);
        assert!(started.elapsed() >= Duration::from_millis(400));
    }
}
