//! Walking a watched tree: every path under a root (never through a
//! symbolic link), to a depth, leaving out what is excluded, up to a
//! number of paths.
//!
//! The walk goes by open directories (see [`super::beneath`]): each
//! directory is listed through its own descriptor, opened by its name in
//! its parent's and checked to be the directory that was listed there
//! (device and inode), and each path found is read later by its name in
//! that descriptor. A directory swapped for a link during a walk is not
//! entered, and nothing behind it is named or read.

use super::beneath::{
    Dir, FileId, list, open_dir_beneath, open_dir_path, replaced_or_gone, stat_at,
};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vigil_store::FileType;

/// The part of the disk one `[[collect.files]]` path covers.
pub trait Scope {
    /// The configured path, as recorded.
    fn root(&self) -> &str;
    /// How many levels below the root are examined (1: its entries only).
    fn max_depth(&self) -> usize;
    /// Whether an `exclude` glob matches the path.
    fn excluded(&self, path: &str) -> bool;
}

/// A path found (what it is now is read when it is examined).
pub struct Found {
    /// As recorded (see [`path_key`]).
    pub key: String,
    /// The directory it was found in, open: it is read by its name there.
    pub parent: Arc<Dir>,
    /// Its name in `parent` (`.` for `/` itself).
    pub name: OsString,
}

/// A directory found and not yet listed.
struct Pending {
    parent: Arc<Dir>,
    name: OsString,
    path: PathBuf,
    depth: usize,
    /// Device and inode as found: what is listed must be this directory.
    id: FileId,
}

/// Directories listed for one chunk, at most (see [`Walker::next_chunk`]).
const OPEN_DIRS: usize = 64;

/// Why a directory found is not listed: something else is there now.
const REPLACED: &str = "replaced while being walked";

/// Walks a tree a chunk at a time, so a large tree is never held whole.
pub struct Walker<'a, S: Scope> {
    scope: &'a S,
    /// Directories still to list.
    pending: Vec<Pending>,
    /// Found and not yet handed out.
    ready: Vec<Found>,
    limit: usize,
    found: usize,
    /// Directories listed whole, open: the ones to watch (taken by the
    /// caller as they come). One whose entries went past the limit is
    /// not among them: what is not examined is not watched either.
    pub dirs: Vec<Arc<Dir>>,
    /// Paths that could not be read, with why.
    pub errors: Vec<(String, String)>,
    /// More than `limit` paths: the rest was not examined.
    pub over_limit: bool,
}

impl<'a, S: Scope> Walker<'a, S> {
    /// Starts at `start` (the scope's root or a path below it), to find at
    /// most `limit` paths.
    pub fn new(scope: &'a S, start: &Path, limit: usize) -> Walker<'a, S> {
        let mut walker = Walker {
            scope,
            pending: Vec::new(),
            ready: Vec::new(),
            limit,
            found: 0,
            dirs: Vec::new(),
            errors: Vec::new(),
            over_limit: false,
        };
        let key = path_key(start);
        let Some(depth) = depth_below(scope.root(), &key) else {
            return walker;
        };
        if depth > scope.max_depth() || scope.excluded(&key) {
            return walker;
        }
        // Its parent, opened without following a link anywhere: a link
        // on the way means the path, as recorded, is not there.
        let (parent, name) = match (start.parent(), start.file_name()) {
            (Some(parent), Some(name)) => (open_dir_path(parent), name.to_os_string()),
            _ => (open_dir_path(start), OsString::from(".")),
        };
        let parent = match parent {
            Ok(parent) => Arc::new(parent),
            Err(e) if replaced_or_gone(&e) => return walker,
            Err(e) => {
                walker.errors.push((key, e.to_string()));
                return walker;
            }
        };
        match stat_at(&parent, &name) {
            Ok(meta) => {
                if meta.file_type == FileType::Dir && depth < scope.max_depth() {
                    walker.pending.push(Pending {
                        parent: parent.clone(),
                        name: name.clone(),
                        path: start.to_path_buf(),
                        depth,
                        id: meta.id(),
                    });
                }
                walker.push(key, parent, name);
            }
            Err(e) if replaced_or_gone(&e) => {}
            Err(e) => walker.errors.push((key, e.to_string())),
        }
        walker
    }

    /// The start alone, not what is below it (a directory chmod'ed).
    pub fn itself_only(mut self) -> Walker<'a, S> {
        self.pending.clear();
        self
    }

    fn push(&mut self, key: String, parent: Arc<Dir>, name: OsString) {
        self.found += 1;
        self.ready.push(Found { key, parent, name });
    }

    /// The next (at most) `n` paths; empty when the walk is done.
    pub fn next_chunk(&mut self, n: usize) -> Vec<Found> {
        let mut listed = 0;
        while self.ready.len() < n && !self.over_limit {
            // Each path found holds its directory open until examined:
            // a chunk of small directories stops short of `n`, rather
            // than hold hundreds of descriptors.
            if listed >= OPEN_DIRS && !self.ready.is_empty() {
                break;
            }
            let Some(dir) = self.pending.pop() else {
                break;
            };
            self.list(dir);
            listed += 1;
        }
        let take = self.ready.len().min(n);
        self.ready.drain(..take).collect()
    }

    /// Opens one directory by its name in its parent, checks it is the
    /// one found there, and lists its entries.
    fn list(&mut self, pending: Pending) {
        let key = path_key(&pending.path);
        let dir = match open_dir_beneath(&pending.parent, &pending.name) {
            Ok(dir) => dir,
            // Removed since it was found: examined, it is found gone.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            // A link or a file in its place: not entered. Its change is
            // looked at (the swap raised a notification) or seen by the
            // next scan; until then what was recorded below it stands.
            Err(e) if replaced_or_gone(&e) => {
                self.errors.push((key, REPLACED.into()));
                return;
            }
            Err(e) => {
                self.errors.push((key, e.to_string()));
                return;
            }
        };
        if dir.id != pending.id {
            self.errors.push((key, REPLACED.into()));
            return;
        }
        let dir = Arc::new(dir.at(pending.path));
        let mut entries = match list(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                self.errors.push((key, e.to_string()));
                return;
            }
        };
        entries.sort();
        for (name, id) in entries {
            let path = dir.path.join(&name);
            let key = path_key(&path);
            if self.scope.excluded(&key) {
                continue;
            }
            if self.found >= self.limit {
                self.over_limit = true;
                return;
            }
            if let Some(id) = id
                && pending.depth + 1 < self.scope.max_depth()
            {
                self.pending.push(Pending {
                    parent: dir.clone(),
                    name: name.clone(),
                    path: path.clone(),
                    depth: pending.depth + 1,
                    id,
                });
            }
            self.push(key, dir.clone(), name);
        }
        self.dirs.push(dir);
    }
}

/// What a whole walk found.
#[cfg(test)]
#[derive(Default)]
pub struct Walk {
    /// Every included path, the start included when it exists.
    pub found: Vec<Found>,
    /// Directories listed whole, open: the ones to watch.
    pub dirs: Vec<Arc<Dir>>,
    /// More than `limit` paths: the rest was not examined.
    pub over_limit: bool,
}

/// The recorded form of a path: itself when it is UTF-8 without a `\`,
/// otherwise each `\` written `\\` and each byte that is not UTF-8
/// written `\xNN` (so such a name is reported, not skipped). The
/// backslash is escaped too so that no two paths share a key: the UTF-8
/// name `a\xffb` is not the name with the byte 0xff.
pub fn path_key(path: &Path) -> String {
    let bytes = path.as_os_str().as_bytes();
    if let Some(s) = path.to_str()
        && !s.contains('\\')
    {
        return s.to_string();
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// How many levels `path` is below `root` (0: the root itself).
pub fn depth_below(root: &str, path: &str) -> Option<usize> {
    if path == root {
        return Some(0);
    }
    let rest = path.strip_prefix(root)?;
    let rest = if root.ends_with('/') {
        rest
    } else {
        rest.strip_prefix('/')?
    };
    Some(rest.split('/').filter(|c| !c.is_empty()).count())
}

/// Walks `start` (the scope's root or a path below it) whole, finding
/// at most `limit` paths.
#[cfg(test)]
pub fn walk(scope: &impl Scope, start: &Path, limit: usize) -> Walk {
    let mut walker = Walker::new(scope, start, limit);
    let mut found = Vec::new();
    loop {
        let chunk = walker.next_chunk(4096);
        if chunk.is_empty() {
            break;
        }
        found.extend(chunk);
    }
    Walk {
        found,
        dirs: walker.dirs,
        over_limit: walker.over_limit,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    struct Tree {
        root: String,
        depth: usize,
    }

    impl Scope for Tree {
        fn root(&self) -> &str {
            &self.root
        }
        fn max_depth(&self) -> usize {
            self.depth
        }
        fn excluded(&self, path: &str) -> bool {
            path.ends_with(".swp") || path.ends_with("/skip")
        }
    }

    fn keys(walk: &Walk, root: &str) -> Vec<String> {
        let mut keys: Vec<String> = walk
            .found
            .iter()
            .map(|f| f.key.strip_prefix(root).unwrap().to_string())
            .collect();
        keys.sort();
        keys
    }

    #[test]
    fn walks_to_the_depth_without_excluded_paths_or_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b/c")).unwrap();
        std::fs::create_dir_all(root.join("skip")).unwrap();
        std::fs::write(root.join("skip/hidden"), "x").unwrap();
        std::fs::write(root.join("a/f"), "x").unwrap();
        std::fs::write(root.join("a/.f.swp"), "x").unwrap();
        std::fs::write(root.join("a/b/c/deep"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("out")).unwrap();
        let key = path_key(root);
        let tree = Tree {
            root: key.clone(),
            depth: 3,
        };
        let walk = walk(&tree, root, 100);
        assert_eq!(
            keys(&walk, &key),
            ["", "/a", "/a/b", "/a/b/c", "/a/f", "/out"]
        );
        let link = walk.found.iter().find(|f| f.key.ends_with("/out")).unwrap();
        assert!(
            link.parent
                .path
                .join(&link.name)
                .symlink_metadata()
                .unwrap()
                .file_type()
                .is_symlink(),
            "the link itself"
        );
        assert_eq!(walk.dirs.len(), 3, "root, a, a/b: c is at the depth limit");
        let shallow = Tree {
            root: key.clone(),
            depth: 1,
        };
        assert_eq!(
            keys(&super::walk(&shallow, root, 100), &key),
            ["", "/a", "/out"]
        );
        let limited = super::walk(&tree, root, 3);
        assert!(limited.over_limit);
        assert_eq!(limited.found.len(), 3);
        // `a` was listed past the limit: not watched, as not examined.
        assert!(limited.dirs.iter().all(|d| d.path != root.join("a")));
        assert!(limited.dirs.iter().any(|d| d.path == root));
    }

    #[test]
    fn a_directory_swapped_for_a_link_between_listing_and_entering_is_not_entered() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        std::fs::create_dir(outside.path().join("other")).unwrap();
        std::fs::write(outside.path().join("other/secret2"), "x").unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::create_dir(root.join("sub2")).unwrap();
        std::fs::write(root.join("sub/inside"), "x").unwrap();
        let key = path_key(&root);
        let tree = Tree {
            root: key.clone(),
            depth: 5,
        };
        let mut walker = Walker::new(&tree, &root, 100);
        // The root, then its entries: `sub` and `sub2` are listed, not
        // yet entered.
        assert_eq!(walker.next_chunk(1).len(), 1);
        let listed: Vec<String> = walker.next_chunk(2).into_iter().map(|f| f.key).collect();
        assert_eq!(listed, [format!("{key}/sub"), format!("{key}/sub2")]);
        // `sub` becomes a link out; `sub2` another directory from outside.
        std::fs::remove_dir_all(root.join("sub")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("sub")).unwrap();
        std::fs::remove_dir(root.join("sub2")).unwrap();
        std::fs::rename(outside.path().join("other"), root.join("sub2")).unwrap();
        let rest = walker.next_chunk(100);
        assert!(
            rest.is_empty(),
            "{:?}",
            rest.iter().map(|f| &f.key).collect::<Vec<_>>()
        );
        let mut errors = walker.errors.clone();
        errors.sort();
        assert_eq!(
            errors,
            [
                (format!("{key}/sub"), REPLACED.to_string()),
                (format!("{key}/sub2"), REPLACED.to_string())
            ]
        );
        assert!(
            walker.dirs.iter().all(|d| d.path == root),
            "only the root is watched"
        );
    }

    #[test]
    fn non_utf8_names_are_recorded_escaped() {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(b"/etc/a\xffb"));
        assert_eq!(path_key(p), "/etc/a\\xffb");
    }

    #[test]
    fn keys_are_injective_a_backslash_is_escaped_too() {
        use std::os::unix::ffi::OsStrExt;
        let byte = Path::new(std::ffi::OsStr::from_bytes(b"/etc/a\xffb"));
        let spelled = Path::new("/etc/a\\xffb");
        assert_ne!(path_key(byte), path_key(spelled));
        assert_eq!(path_key(spelled), "/etc/a\\\\xffb");
        assert_eq!(path_key(Path::new("/etc/plain")), "/etc/plain");
        let both = Path::new(std::ffi::OsStr::from_bytes(b"/e\\\xfe"));
        assert_eq!(path_key(both), "/e\\\\\\xfe");
    }

    #[test]
    fn depth_is_counted_from_the_root() {
        assert_eq!(depth_below("/etc", "/etc"), Some(0));
        assert_eq!(depth_below("/etc", "/etc/a/b"), Some(2));
        assert_eq!(depth_below("/etc", "/etcx/a"), None);
        assert_eq!(depth_below("/", "/etc/a"), Some(2));
    }
}
