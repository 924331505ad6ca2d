//! The spool's directories: created and checked at start, and the durable
//! moves that end a file's stay in `incoming/`.

use crate::sys::files::sync_dir;
use std::ffi::{OsStr, OsString};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The spool cannot be used safely.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// A directory could not be created or inspected.
    #[error("spool directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Anyone could drop alerts into it.
    #[error(
        "spool directory {0} is writable by every user, so anyone could inject alerts; \
         remove the permission (chmod o-w) or disable [spool]"
    )]
    WorldWritable(PathBuf),
    /// Not a directory (a symlink is refused too: it could point anywhere).
    #[error("spool path {0} is not a directory")]
    NotADirectory(PathBuf),
}

/// `<dir>/{incoming,done,failed,tmp}`.
#[derive(Debug, Clone)]
pub struct SpoolDirs {
    /// Where writers rename finished files.
    pub incoming: PathBuf,
    /// Ingested files.
    pub done: PathBuf,
    /// Refused files, each beside `<name>.reason`.
    pub failed: PathBuf,
    /// Where writers should write before renaming (same file system).
    pub tmp: PathBuf,
}

impl SpoolDirs {
    /// Creates the directories (mode 0770 before the umask) and refuses
    /// any that every user could write to.
    pub fn prepare(root: &Path) -> Result<SpoolDirs, SpoolError> {
        let dirs = SpoolDirs {
            incoming: root.join("incoming"),
            done: root.join("done"),
            failed: root.join("failed"),
            tmp: root.join("tmp"),
        };
        for dir in [root, &dirs.incoming, &dirs.done, &dirs.failed, &dirs.tmp] {
            let io = |source| SpoolError::Io {
                path: dir.to_path_buf(),
                source,
            };
            DirBuilder::new()
                .recursive(true)
                .mode(0o770)
                .create(dir)
                .map_err(io)?;
            let meta = fs::symlink_metadata(dir).map_err(io)?;
            if !meta.is_dir() {
                return Err(SpoolError::NotADirectory(dir.to_path_buf()));
            }
            if meta.permissions().mode() & 0o002 != 0 {
                return Err(SpoolError::WorldWritable(dir.to_path_buf()));
            }
        }
        Ok(dirs)
    }

    /// The names waiting in `incoming/`, in name order; dot files are
    /// skipped (writers may use them while writing in place).
    pub fn waiting(&self) -> std::io::Result<Vec<OsString>> {
        let mut names: Vec<OsString> = fs::read_dir(&self.incoming)?
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .filter(|n| !n.as_encoded_bytes().starts_with(b"."))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Moves `name` from `incoming/` to `done/`, durably.
    pub fn done(&self, name: &OsStr) -> std::io::Result<PathBuf> {
        let to = free_name(&self.done, name);
        fs::rename(self.incoming.join(name), &to)?;
        sync_dir(&self.done)?;
        sync_dir(&self.incoming)?;
        Ok(to)
    }

    /// Moves `name` to `failed/`, after writing why beside it.
    ///
    /// The reason is written first: a crash in between leaves the file in
    /// `incoming/`, where it fails again the same way.
    pub fn failed(&self, name: &OsStr, reason: &str) -> std::io::Result<PathBuf> {
        let to = free_name(&self.failed, name);
        let mut reason_name = to.clone().into_os_string();
        reason_name.push(".reason");
        let reason_path = PathBuf::from(reason_name);
        let partial = self
            .failed
            .join(format!(".reason.{}.partial", std::process::id()));
        {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o660)
                .open(&partial)?;
            file.write_all(reason.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
        }
        fs::rename(&partial, &reason_path)?;
        fs::rename(self.incoming.join(name), &to)?;
        sync_dir(&self.failed)?;
        sync_dir(&self.incoming)?;
        Ok(to)
    }
}

/// `dir/name`, or `dir/name.N` for the first free N when a file of that
/// name already finished (scripts reuse names).
fn free_name(dir: &Path, name: &OsStr) -> PathBuf {
    let plain = dir.join(name);
    if fs::symlink_metadata(&plain).is_err() {
        return plain;
    }
    (1u64..)
        .map(|n| {
            let mut numbered = name.to_os_string();
            numbered.push(format!(".{n}"));
            dir.join(numbered)
        })
        .find(|p| fs::symlink_metadata(p).is_err())
        .unwrap_or(plain)
}

/// Why an open file is not taken from the spool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotRegular {
    /// `fstat` failed.
    #[error("its metadata cannot be read")]
    Metadata,
    /// A directory, FIFO, device or socket.
    #[error("not a regular file")]
    NotAFile,
}

/// The owner and size of an open file, refusing anything but a regular
/// file.
pub fn regular(file: &File) -> Result<(u32, u64), NotRegular> {
    let meta = file.metadata().map_err(|_| NotRegular::Metadata)?;
    if !meta.is_file() {
        return Err(NotRegular::NotAFile);
    }
    Ok((meta.uid(), meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_creates_the_tree_and_refuses_world_writable_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("spool");
        let dirs = SpoolDirs::prepare(&root).unwrap();
        assert!(dirs.incoming.is_dir() && dirs.done.is_dir() && dirs.failed.is_dir());
        fs::set_permissions(&dirs.incoming, fs::Permissions::from_mode(0o777)).unwrap();
        let e = SpoolDirs::prepare(&root).unwrap_err();
        assert!(
            matches!(e, SpoolError::WorldWritable(ref p) if p == &dirs.incoming),
            "{e}"
        );
    }

    #[test]
    fn finished_files_never_overwrite_each_other() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = SpoolDirs::prepare(tmp.path()).unwrap();
        for round in 0..3 {
            fs::write(dirs.incoming.join("a.json"), format!("{round}")).unwrap();
            fs::write(dirs.incoming.join(".partial"), "x").unwrap();
            assert_eq!(dirs.waiting().unwrap(), vec![OsString::from("a.json")]);
            dirs.failed(OsStr::new("a.json"), "bad shape").unwrap();
        }
        let mut names: Vec<String> = fs::read_dir(&dirs.failed)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "a.json",
                "a.json.1",
                "a.json.1.reason",
                "a.json.2",
                "a.json.2.reason",
                "a.json.reason"
            ]
        );
        assert_eq!(
            fs::read_to_string(dirs.failed.join("a.json.2")).unwrap(),
            "2"
        );
        assert_eq!(
            fs::read_to_string(dirs.failed.join("a.json.reason")).unwrap(),
            "bad shape\n"
        );
    }
}
