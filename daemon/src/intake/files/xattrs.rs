//! Extended attributes (`attributes = [..., "xattrs"]`): each one's name
//! and the SHA-256 of its value, read without following a link. A
//! `security.capability` added to a binary grants privilege the way a
//! setuid bit does, and shows here.
//!
//! The file is reached by its name in the directory the walk found it in,
//! as a handle that reads nothing (`O_PATH | O_NOFOLLOW`, so a device or a
//! fifo is not opened) checked to be the file the walk saw; its attributes
//! are read through `/proc/self/fd/N`, which is that very file (a link
//! included), since the kernel refuses `flistxattr` on such a handle.

use super::beneath::{Dir, FileId, handle_beneath};
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::io;
use std::os::fd::AsRawFd;
use vigil_store::Hash;

/// The largest list of names and the largest value the kernel allows.
const MAX: usize = 64 * 1024;

/// The extended attributes of `name` in `parent`, which the walk saw with
/// device and inode `seen`, sorted by name (none where the file system
/// has no extended attributes).
pub fn xattrs_of(parent: &Dir, name: &OsStr, seen: FileId) -> io::Result<Vec<(String, Hash)>> {
    let handle = handle_beneath(parent, name, seen)?;
    let path = format!("/proc/self/fd/{}", handle.as_raw_fd());
    let mut names = vec![0u8; MAX];
    let listed = match rustix::fs::listxattr(path.as_str(), &mut names[..]) {
        Ok(n) => n,
        Err(rustix::io::Errno::NOTSUP) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut value = vec![0u8; MAX];
    let mut out = Vec::new();
    for name in names[..listed].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let len = match rustix::fs::getxattr(path.as_str(), name, &mut value[..]) {
            Ok(len) => len,
            // Removed since it was listed.
            Err(rustix::io::Errno::NODATA) => continue,
            Err(e) => return Err(e.into()),
        };
        let hash = Hash(Sha256::digest(&value[..len]).into());
        out.push((String::from_utf8_lossy(name).into_owned(), hash));
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use crate::intake::files::beneath::{open_dir_path, stat_at};

    fn xattrs(path: &std::path::Path) -> io::Result<Vec<(String, Hash)>> {
        let parent = open_dir_path(path.parent().unwrap()).unwrap();
        let name = path.file_name().unwrap();
        let seen = stat_at(&parent, name).unwrap().id();
        xattrs_of(&parent, name, seen)
    }

    #[test]
    fn lists_user_attributes_with_the_hash_of_their_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().canonicalize().unwrap().join("f");
        std::fs::write(&path, "x").unwrap();
        if rustix::fs::lsetxattr(&path, "user.vigil", b"one", rustix::fs::XattrFlags::empty())
            .is_err()
        {
            // This file system keeps no user attributes: nothing to list.
            assert!(
                xattrs(&path)
                    .unwrap()
                    .iter()
                    .all(|(n, _)| !n.starts_with("user."))
            );
            return;
        }
        let found = xattrs(&path).unwrap();
        let user: Vec<_> = found.iter().filter(|(n, _)| n == "user.vigil").collect();
        assert_eq!(user.len(), 1);
        assert_eq!(user[0].1, Hash(Sha256::digest(b"one").into()));
    }
}

#[cfg(test)]
mod links {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::intake::files::beneath::{open_dir_path, stat_at};

    #[test]
    fn a_link_is_read_as_itself_and_a_replaced_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("t"), "x").unwrap();
        let _ = rustix::fs::setxattr(
            root.join("t").as_path(),
            "user.vigil",
            b"one",
            rustix::fs::XattrFlags::empty(),
        );
        std::os::unix::fs::symlink("t", root.join("l")).unwrap();
        let parent = open_dir_path(&root).unwrap();
        let link = stat_at(&parent, OsStr::new("l")).unwrap();
        let found = xattrs_of(&parent, OsStr::new("l"), link.id()).unwrap();
        assert!(found.iter().all(|(n, _)| n != "user.vigil"), "{found:?}");
        // Something else at the name than what the walk saw.
        assert!(xattrs_of(&parent, OsStr::new("t"), link.id()).is_err());
        assert!(xattrs_of(&parent, OsStr::new("../t"), link.id()).is_err());
    }
}
