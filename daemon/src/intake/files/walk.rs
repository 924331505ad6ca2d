//! Walking a watched tree: every path under a root (never through a
//! symbolic link), to a depth, leaving out what is excluded, up to a
//! number of paths.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

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
    /// As on disk.
    pub path: PathBuf,
}

/// Walks a tree a chunk at a time, so a large tree is never held whole.
pub struct Walker<'a, S: Scope> {
    scope: &'a S,
    /// Directories still to list, with their depth below the root.
    pending: Vec<(PathBuf, usize)>,
    /// Found and not yet handed out.
    ready: Vec<Found>,
    limit: usize,
    found: usize,
    /// Directories whose entries are examined: the ones to watch (taken
    /// by the caller as they come).
    pub dirs: Vec<PathBuf>,
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
        match std::fs::symlink_metadata(start) {
            Ok(meta) => {
                if meta.is_dir() && depth < scope.max_depth() {
                    walker.pending.push((start.to_path_buf(), depth));
                }
                walker.push(key, start.to_path_buf());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => walker.errors.push((key, e.to_string())),
        }
        walker
    }

    fn push(&mut self, key: String, path: PathBuf) {
        self.found += 1;
        self.ready.push(Found { key, path });
    }

    /// The next (at most) `n` paths; empty when the walk is done.
    pub fn next_chunk(&mut self, n: usize) -> Vec<Found> {
        while self.ready.len() < n && !self.over_limit {
            let Some((dir, depth)) = self.pending.pop() else {
                break;
            };
            self.list(&dir, depth);
        }
        let take = self.ready.len().min(n);
        self.ready.drain(..take).collect()
    }

    /// Lists one directory's entries (their type from the directory
    /// itself: a link is a link, never followed).
    fn list(&mut self, dir: &Path, depth: usize) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                self.errors.push((path_key(dir), e.to_string()));
                return;
            }
        };
        self.dirs.push(dir.to_path_buf());
        let mut names: Vec<(PathBuf, bool)> = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => {
                    let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                    names.push((entry.path(), is_dir));
                }
                Err(e) => self.errors.push((path_key(dir), e.to_string())),
            }
        }
        names.sort();
        for (path, is_dir) in names {
            let key = path_key(&path);
            if self.scope.excluded(&key) {
                continue;
            }
            if self.found >= self.limit {
                self.over_limit = true;
                return;
            }
            if is_dir && depth + 1 < self.scope.max_depth() {
                self.pending.push((path.clone(), depth + 1));
            }
            self.push(key, path);
        }
    }
}

/// What a whole walk found (for the small walks of a live change).
#[derive(Default)]
pub struct Walk {
    /// Every included path, the start included when it exists.
    pub found: Vec<Found>,
    /// Directories whose entries are examined: the ones to watch.
    pub dirs: Vec<PathBuf>,
    /// Paths that could not be read, with why.
    pub errors: Vec<(String, String)>,
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
        errors: walker.errors,
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
            link.path
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
