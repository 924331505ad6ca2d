//! Opening a followed file without being led anywhere else: never
//! through a link at its name, only a regular file, and only where the
//! allowed roots are once every link on the way is resolved (a parent
//! directory swapped for a link out of them is refused too).

use rustix::fs::{Mode, OFlags};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Why a file is not followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Nothing is there (yet).
    #[error("it does not exist")]
    Missing,
    /// A symbolic link: not followed.
    #[error("it is a symbolic link; logs are read only where they are")]
    Link,
    /// A directory, fifo, device or socket.
    #[error("it is not a regular file")]
    NotAFile,
    /// Its real place is outside the allowed roots.
    #[error("it resolves to {0}, outside [collect] allowed_roots")]
    Outside(String),
    /// Anything else (permissions, ...).
    #[error("cannot open it: {0}")]
    Io(String),
}

/// Opens `path` for reading if it is a regular file under `roots` (each
/// resolved).
pub fn open(path: &Path, roots: &[PathBuf]) -> Result<File, Refusal> {
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(|e| match e {
        rustix::io::Errno::NOENT => Refusal::Missing,
        rustix::io::Errno::LOOP => Refusal::Link,
        e => Refusal::Io(std::io::Error::from(e).to_string()),
    })?;
    let file = File::from(fd);
    let meta = file.metadata().map_err(|e| Refusal::Io(e.to_string()))?;
    if !meta.file_type().is_file() {
        return Err(Refusal::NotAFile);
    }
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    let real = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map_err(|e| Refusal::Io(e.to_string()))?;
    if !roots.iter().any(|root| real.starts_with(root)) {
        return Err(Refusal::Outside(real.display().to_string()));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_other_files_and_places_outside_the_roots_are_refused() {
        let inside = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let roots = [inside.path().canonicalize().unwrap()];
        let log = inside.path().join("app.log");
        std::fs::write(&log, b"x\n").unwrap();
        assert!(open(&log, &roots).is_ok());
        let secret = outside.path().join("shadow");
        std::fs::write(&secret, b"root:x\n").unwrap();
        let link = inside.path().join("link.log");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        assert_eq!(open(&link, &roots).unwrap_err(), Refusal::Link);
        assert_eq!(open(inside.path(), &roots).unwrap_err(), Refusal::NotAFile);
        assert_eq!(
            open(&inside.path().join("none"), &roots).unwrap_err(),
            Refusal::Missing
        );
        // A parent directory that leads out of the roots.
        let dir_link = inside.path().join("sub");
        std::os::unix::fs::symlink(outside.path(), &dir_link).unwrap();
        assert!(matches!(
            open(&dir_link.join("shadow"), &roots).unwrap_err(),
            Refusal::Outside(_)
        ));
    }
}
