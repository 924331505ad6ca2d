//! What makes an offset mean the same thing after a restart: the file's
//! device and inode, a hash of its first bytes (inode numbers are reused)
//! and a hash of the bytes just before the offset (a file truncated and
//! written again past the old offset has the same size story but other
//! bytes there).

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use vigil_store::{FilePosition, Hash};

/// Bytes the head hash covers, at most.
const HEAD: u64 = 1024;
/// Bytes the tail hash covers, at most.
const TAIL: u64 = 256;

/// The position `offset` in `file`, with its hashes.
pub fn at(file: &File, offset: u64) -> std::io::Result<FilePosition> {
    let meta = file.metadata()?;
    let head_len = offset.min(HEAD);
    let tail_len = offset.min(TAIL);
    Ok(FilePosition {
        dev: meta.dev(),
        inode: meta.ino(),
        offset,
        head: hash_range(file, 0, head_len)?,
        head_len: head_len as u32,
        tail: hash_range(file, offset - tail_len, tail_len)?,
        tail_len: tail_len as u32,
    })
}

/// How a recorded position compares with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Same file, the offset still good: resume there.
    Resume,
    /// Another file (device, inode or first bytes differ).
    Other,
    /// The same file, cut shorter or rewritten before the offset: read it
    /// again from its beginning.
    Truncated,
}

/// Compares `recorded` with `file`.
pub fn compare(file: &File, recorded: &FilePosition) -> std::io::Result<Verdict> {
    let meta = file.metadata()?;
    if (meta.dev(), meta.ino()) != (recorded.dev, recorded.inode) {
        return Ok(Verdict::Other);
    }
    let size = meta.len();
    let head_len = u64::from(recorded.head_len);
    if size < head_len {
        return Ok(Verdict::Truncated);
    }
    if hash_range(file, 0, head_len)? != recorded.head {
        // The first bytes differ: a new file on a reused inode, or this one
        // rewritten; either way nothing of it was read.
        return Ok(Verdict::Truncated);
    }
    still_there(file, recorded, size)
}

/// Whether the bytes before the offset are still the ones read (`size`
/// is the file's size now).
pub fn still_there(file: &File, recorded: &FilePosition, size: u64) -> std::io::Result<Verdict> {
    let tail_len = u64::from(recorded.tail_len);
    if size < recorded.offset {
        return Ok(Verdict::Truncated);
    }
    if hash_range(file, recorded.offset - tail_len, tail_len)? != recorded.tail {
        return Ok(Verdict::Truncated);
    }
    Ok(Verdict::Resume)
}

fn hash_range(file: &File, from: u64, len: u64) -> std::io::Result<Hash> {
    let mut buf = vec![0u8; len as usize];
    file.read_exact_at(&mut buf, from)?;
    Ok(Hash::sha256(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    #[test]
    fn an_appended_file_resumes_and_a_rewritten_one_does_not() {
        let (_dir, path) = file_with(b"one\ntwo\n");
        let pos = at(&File::open(&path).unwrap(), 8).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"three\n")
            .unwrap();
        assert_eq!(
            compare(&File::open(&path).unwrap(), &pos).unwrap(),
            Verdict::Resume
        );
        // copytruncate, then more lines than before: same inode, bigger.
        std::fs::write(&path, b"one\nTWO\nfour\nfive\n").unwrap();
        assert_eq!(
            compare(&File::open(&path).unwrap(), &pos).unwrap(),
            Verdict::Truncated
        );
        std::fs::write(&path, b"on").unwrap();
        assert_eq!(
            compare(&File::open(&path).unwrap(), &pos).unwrap(),
            Verdict::Truncated
        );
    }

    #[test]
    fn another_inode_is_another_file() {
        let (dir, path) = file_with(b"one\n");
        let pos = at(&File::open(&path).unwrap(), 4).unwrap();
        let other = dir.path().join("other");
        std::fs::write(&other, b"one\n").unwrap();
        assert_eq!(
            compare(&File::open(&other).unwrap(), &pos).unwrap(),
            Verdict::Other
        );
    }
}
