//! Extended attributes (`attributes = [..., "xattrs"]`): each one's name
//! and the SHA-256 of its value, read without following a link. A
//! `security.capability` added to a binary grants privilege the way a
//! setuid bit does, and shows here.

use sha2::{Digest, Sha256};
use std::io;
use std::path::Path;
use vigil_store::Hash;

/// The largest list of names and the largest value the kernel allows.
const MAX: usize = 64 * 1024;

/// `path`'s extended attributes, sorted by name (none where the file
/// system has no extended attributes).
pub fn xattrs_of(path: &Path) -> io::Result<Vec<(String, Hash)>> {
    let mut names = vec![0u8; MAX];
    let listed = match rustix::fs::llistxattr(path, &mut names[..]) {
        Ok(n) => n,
        Err(rustix::io::Errno::NOTSUP) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut value = vec![0u8; MAX];
    let mut out = Vec::new();
    for name in names[..listed].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let len = match rustix::fs::lgetxattr(path, name, &mut value[..]) {
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

    #[test]
    fn lists_user_attributes_with_the_hash_of_their_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "x").unwrap();
        if rustix::fs::lsetxattr(&path, "user.vigil", b"one", rustix::fs::XattrFlags::empty())
            .is_err()
        {
            // This file system keeps no user attributes: nothing to list.
            assert!(
                xattrs_of(&path)
                    .unwrap()
                    .iter()
                    .all(|(n, _)| !n.starts_with("user."))
            );
            return;
        }
        let found = xattrs_of(&path).unwrap();
        let user: Vec<_> = found.iter().filter(|(n, _)| n == "user.vigil").collect();
        assert_eq!(user.len(), 1);
        assert_eq!(user[0].1, Hash(Sha256::digest(b"one").into()));
    }
}
