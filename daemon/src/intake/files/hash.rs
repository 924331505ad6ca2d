//! Reading a file's content for its hash, safely and within a budget.
//!
//! A file is opened by its name in the directory the walk found it in
//! (see [`super::beneath`]), without following a link, without blocking
//! on a fifo put in its place, and is checked to be the very file the walk
//! saw (same device and inode), so a directory swapped for a link during a
//! scan cannot make vigild read outside the watched roots.

use super::beneath::{Dir, Meta, open_file_beneath};
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use vigil_store::{FileType, Hash};

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

/// Hashes the regular file `name` in `parent` that the walk saw as
/// `seen`; keeps its text when `keep_text` is the largest size to keep.
/// Also gives the file's attributes as of its opening, fresher than the
/// walk's.
pub fn hash_file(
    parent: &Dir,
    name: &OsStr,
    seen: &Meta,
    budget: &ReadBudget,
    keep_text: Option<u64>,
) -> Result<(Hashed, Meta), HashError> {
    let file = match open_file_beneath(parent, name) {
        Ok(file) => file,
        // A link where the walk saw a file.
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(HashError::Replaced),
        Err(e) => return Err(HashError::Io(e)),
    };
    let opened = Meta::of(&rustix::fs::fstat(&file).map_err(io::Error::from)?);
    if opened.file_type != FileType::File || opened.id() != seen.id() {
        return Err(HashError::Replaced);
    }
    let keep_text = keep_text.filter(|max| opened.size <= *max);
    Ok((read_all(file, budget, keep_text)?, opened))
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

    /// `path`'s directory, open, and its name there.
    fn at(path: &std::path::Path) -> (Dir, &OsStr) {
        let parent = super::super::beneath::open_dir_path(path.parent().unwrap()).unwrap();
        (parent, path.file_name().unwrap())
    }

    fn seen(path: &std::path::Path) -> Meta {
        let (parent, name) = at(path);
        super::super::beneath::stat_at(&parent, name).unwrap()
    }

    fn hash(
        path: &std::path::Path,
        seen: &Meta,
        budget: &ReadBudget,
        keep_text: Option<u64>,
    ) -> Result<(Hashed, Meta), HashError> {
        let (parent, name) = at(path);
        hash_file(&parent, name, seen, budget, keep_text)
    }

    #[test]
    fn hashes_the_content_and_keeps_text_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().canonicalize().unwrap().join("a");
        std::fs::write(&path, "hello\n").unwrap();
        let seen = seen(&path);
        let budget = ReadBudget::new(None);
        let h = hash(&path, &seen, &budget, Some(100)).unwrap().0;
        assert_eq!(h.sha256, sha(b"hello\n"));
        assert_eq!(h.text.as_deref(), Some("hello\n"));
        assert_eq!(hash(&path, &seen, &budget, Some(3)).unwrap().0.text, None);
        assert_eq!(hash(&path, &seen, &budget, None).unwrap().0.text, None);
    }

    #[test]
    fn binary_content_is_no_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().canonicalize().unwrap().join("b");
        std::fs::write(&path, b"a\0b").unwrap();
        let h = hash(&path, &seen(&path), &ReadBudget::new(None), Some(100))
            .unwrap()
            .0;
        assert_eq!((h.text, h.bytes), (None, 3));
    }

    #[test]
    fn a_large_file_hashes_across_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().canonicalize().unwrap().join("big");
        let content: Vec<u8> = (0..BUFFER * 2 + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let h = hash(&path, &seen(&path), &ReadBudget::new(None), Some(10))
            .unwrap()
            .0;
        assert_eq!(h.sha256, sha(&content));
        assert_eq!(h.bytes, content.len() as u64);
    }

    #[test]
    fn a_link_or_a_replaced_file_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let target = root.join("t");
        std::fs::write(&target, "x").unwrap();
        let link = root.join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let seen_target = seen(&target);
        let budget = ReadBudget::new(None);
        // The link is refused even though its target is the file the walk saw.
        assert!(matches!(
            hash(&link, &seen_target, &budget, None),
            Err(HashError::Replaced)
        ));
        // A name is one name: nothing is reached through a directory.
        std::fs::create_dir(root.join("real")).unwrap();
        std::fs::write(root.join("real/f"), "y").unwrap();
        let inner = seen(&root.join("real/f"));
        let parent = super::super::beneath::open_dir_path(&root).unwrap();
        assert!(hash_file(&parent, OsStr::new("real/f"), &inner, &budget, None).is_err());
        assert!(hash(&root.join("real/f"), &inner, &budget, None).is_ok());
        // Another file at the path than the one the walk saw.
        let other = root.join("o");
        std::fs::write(&other, "y").unwrap();
        assert!(matches!(
            hash(&other, &seen_target, &budget, None),
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
