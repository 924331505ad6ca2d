//! Reaching paths through open directories, never through a symbolic
//! link. Every path the walk finds is read relative to the descriptor of
//! the directory it was listed from, by its one name there: a directory
//! swapped for a link to elsewhere after it was listed cannot make vigild
//! list, stat, read or watch anything outside the watched roots.
//!
//! A directory is opened with `openat2(parent, name, O_DIRECTORY |
//! O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`; on a kernel
//! without `openat2` (or a filter forbidding it), with `openat` and
//! `O_NOFOLLOW`, which is as safe for a single name.

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use vigil_store::FileType;

/// Set once `openat2` is found missing: the older way from then on.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// A device and an inode: which file a path is.
pub type FileId = (u64, u64);

/// An open directory and where it is.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    /// As on disk, for the records and the log.
    pub path: PathBuf,
    /// Its device and inode, as opened.
    pub id: FileId,
}

impl Dir {
    /// Its descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The same directory, known by `path` (as the walk names it).
    pub fn at(self, path: PathBuf) -> Dir {
        Dir { path, ..self }
    }

    fn new(fd: OwnedFd, path: PathBuf) -> io::Result<Dir> {
        let stat = rustix::fs::fstat(&fd)?;
        Ok(Dir {
            id: (stat.st_dev, stat.st_ino),
            fd,
            path,
        })
    }
}

/// What `lstat` says of a path, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Its type.
    pub file_type: FileType,
    /// The whole `st_mode`.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Bytes.
    pub size: u64,
    /// Modification time, UTC microseconds.
    pub mtime: i64,
    /// Inode.
    pub ino: u64,
    /// Device.
    pub dev: u64,
}

impl Meta {
    /// From the kernel's answer.
    pub fn of(stat: &Stat) -> Meta {
        let file_type = match rustix::fs::FileType::from_raw_mode(stat.st_mode) {
            rustix::fs::FileType::RegularFile => FileType::File,
            rustix::fs::FileType::Directory => FileType::Dir,
            rustix::fs::FileType::Symlink => FileType::Symlink,
            _ => FileType::Other,
        };
        // i64 with rustix's libc backend (see daemon/Cargo.toml).
        let nanos: i64 = stat.st_mtime_nsec;
        Meta {
            file_type,
            mode: stat.st_mode,
            uid: stat.st_uid,
            gid: stat.st_gid,
            size: u64::try_from(stat.st_size).unwrap_or(0),
            mtime: stat
                .st_mtime
                .saturating_mul(1_000_000)
                .saturating_add(nanos / 1_000),
            ino: stat.st_ino,
            dev: stat.st_dev,
        }
    }

    /// Its device and inode.
    pub fn id(&self) -> FileId {
        (self.dev, self.ino)
    }
}

/// Whether an error means "not the directory or file that was there":
/// gone, replaced by a link (`ELOOP`, or `EXDEV` from `RESOLVE_BENEATH`),
/// or by something that is not a directory.
pub fn replaced_or_gone(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(Errno::from_raw_os_error),
        Some(Errno::NOENT | Errno::LOOP | Errno::NOTDIR | Errno::XDEV)
    )
}

/// Opens the directory at the absolute `path`, refusing a link anywhere
/// in it (a watched path is recorded with its links resolved, so a link
/// in it now is a change, not a way in).
pub fn open_dir_path(path: &Path) -> io::Result<Dir> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        match rustix::fs::openat2(
            rustix::fs::CWD,
            path,
            flags,
            Mode::empty(),
            ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => return Dir::new(fd, path.to_path_buf()),
            Err(Errno::NOSYS | Errno::PERM) => NO_OPENAT2.store(true, Ordering::Relaxed),
            Err(e) => return Err(e.into()),
        }
    }
    // One name at a time from `/`, none of them followed.
    let mut dir = File::open("/")?;
    for component in path.components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(name) => {
                dir = File::from(rustix::fs::openat(&dir, name, flags, Mode::empty())?);
            }
            Component::ParentDir | Component::Prefix(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a plain absolute path",
                ));
            }
        }
    }
    Dir::new(dir.into(), path.to_path_buf())
}

/// `name` if it is one name in a directory (never `..` nor a path).
fn single(name: &OsStr) -> io::Result<&OsStr> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes == b".." || bytes.contains(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a single name",
        ));
    }
    Ok(name)
}

/// Opens `name` in `parent` with `flags` (plus `O_NOFOLLOW | O_CLOEXEC`),
/// never leaving `parent` and never through a link.
fn open_beneath(parent: &Dir, name: &OsStr, flags: OFlags) -> io::Result<OwnedFd> {
    let name = single(name)?;
    let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        match rustix::fs::openat2(
            parent.fd(),
            name,
            flags,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => return Ok(fd),
            Err(Errno::NOSYS | Errno::PERM) => NO_OPENAT2.store(true, Ordering::Relaxed),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(rustix::fs::openat(parent.fd(), name, flags, Mode::empty())?)
}

/// Opens the directory `name` in `parent`, never through a link.
pub fn open_dir_beneath(parent: &Dir, name: &OsStr) -> io::Result<Dir> {
    let fd = open_beneath(parent, name, OFlags::RDONLY | OFlags::DIRECTORY)?;
    Dir::new(fd, parent.path.join(name))
}

/// Opens the file `name` in `parent` for reading (without blocking on a
/// fifo put in its place), never through a link.
pub fn open_file_beneath(parent: &Dir, name: &OsStr) -> io::Result<File> {
    open_beneath(parent, name, OFlags::RDONLY | OFlags::NONBLOCK).map(File::from)
}

/// `lstat` of `name` in `parent`.
pub fn stat_at(parent: &Dir, name: &OsStr) -> io::Result<Meta> {
    let stat = rustix::fs::statat(parent.fd(), single(name)?, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(Meta::of(&stat))
}

/// The target of the link `name` in `parent`.
pub fn read_link_at(parent: &Dir, name: &OsStr) -> io::Result<PathBuf> {
    let target = rustix::fs::readlinkat(parent.fd(), single(name)?, Vec::new())?;
    Ok(PathBuf::from(OsString::from_vec(target.into_bytes())))
}

/// A handle on `name` in `parent` itself (a link is the link), that reads
/// nothing: for its extended attributes, through `/proc/self/fd`. `Err`
/// with `ELOOP`-like [`replaced_or_gone`] when it is no longer `seen`.
pub fn handle_beneath(parent: &Dir, name: &OsStr, seen: FileId) -> io::Result<OwnedFd> {
    let fd = open_beneath(parent, name, OFlags::PATH)?;
    let stat = rustix::fs::fstat(&fd)?;
    if (stat.st_dev, stat.st_ino) != seen {
        return Err(Errno::NOENT.into());
    }
    Ok(fd)
}

/// Entries of an open directory (not `.` nor `..`), each with whether it
/// is a directory and, if so, its device and inode (read from the
/// directory, not from a path).
pub fn list(dir: &Dir) -> io::Result<Vec<(OsString, Option<FileId>)>> {
    let mut out = Vec::new();
    for entry in rustix::fs::Dir::read_from(dir.fd())? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let name = OsString::from_vec(name.to_vec());
        let maybe_dir = matches!(
            entry.file_type(),
            rustix::fs::FileType::Directory | rustix::fs::FileType::Unknown
        );
        let id = if maybe_dir {
            match stat_at(dir, &name) {
                Ok(meta) if meta.file_type == FileType::Dir => Some(meta.id()),
                Ok(_) => None,
                // Gone since it was listed: found, and then found gone.
                Err(e) if replaced_or_gone(&e) => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        out.push((name, id));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_directory_swapped_for_a_link_is_not_opened_nor_listed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        let parent = open_dir_path(&root).unwrap();
        // Listed as a directory...
        let listed = list(&parent).unwrap();
        let (_, id) = listed.iter().find(|(n, _)| n == "sub").unwrap();
        assert!(id.is_some());
        // ... and swapped for a link before it is entered.
        std::fs::remove_dir(root.join("sub")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("sub")).unwrap();
        let err = open_dir_beneath(&parent, OsStr::new("sub")).unwrap_err();
        assert!(replaced_or_gone(&err), "{err}");
        // Nor is a path through it reached by name.
        let through = root.join("sub");
        assert!(open_dir_path(&through).is_err());
        assert!(stat_at(&parent, OsStr::new("sub/secret")).is_err());
        assert!(open_file_beneath(&parent, OsStr::new("sub/secret")).is_err());
        assert!(open_file_beneath(&parent, OsStr::new("..")).is_err());
        // The link itself is what is read there.
        let meta = stat_at(&parent, OsStr::new("sub")).unwrap();
        assert_eq!(meta.file_type, FileType::Symlink);
        assert_eq!(
            read_link_at(&parent, OsStr::new("sub")).unwrap(),
            outside.path()
        );
        assert!(open_file_beneath(&parent, OsStr::new("sub")).is_err());
    }

    #[test]
    fn the_older_way_refuses_links_too() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("real")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
        NO_OPENAT2.store(true, Ordering::Relaxed);
        let by_path = open_dir_path(&root.join("link"));
        let parent = open_dir_path(&root).unwrap();
        let beneath = open_dir_beneath(&parent, OsStr::new("link"));
        let real = open_dir_beneath(&parent, OsStr::new("real"));
        NO_OPENAT2.store(false, Ordering::Relaxed);
        assert!(by_path.is_err());
        assert!(beneath.is_err());
        assert!(real.is_ok());
    }
}
