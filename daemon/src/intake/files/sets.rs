//! The configured `[[collect.files]]`, compiled: one [`Root`] per watched
//! path, each carrying its set's settings, and the rules.

use super::beneath::{Dir, open_dir_path};
use super::compare::Checked;
use super::walk::{Scope, depth_below, path_key};
use crate::config::CollectConfig;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vigil_ingest::files::GlobSet;
use vigil_ingest::files::RuleSet;
use vigil_store::{Labels, Severity};

/// One watched path and how it is watched.
pub struct Root {
    /// Its set's name.
    pub set: String,
    /// The path with every link in it resolved: the recorded key of the
    /// root and the prefix of every path below it.
    pub key: String,
    /// The same, as a path.
    pub path: PathBuf,
    depth: usize,
    exclude: GlobSet,
    /// Attributes that count as a change.
    pub checked: Checked,
    /// Severity when no rule gives one.
    pub severity: Severity,
    /// Labels on its alerts.
    pub labels: Labels,
    /// The largest file whose text is kept (`report_changes`).
    pub keep_text: Option<u64>,
    /// Between scheduled scans.
    pub interval: Duration,
    /// Most paths examined.
    pub max_files: usize,
}

impl Scope for Root {
    fn root(&self) -> &str {
        &self.key
    }
    fn max_depth(&self) -> usize {
        self.depth
    }
    fn excluded(&self, path: &str) -> bool {
        self.exclude.matches(path)
    }
}

impl Root {
    /// Whether `key` is this root or below it, within depth, and neither
    /// it nor a directory between it and the root is excluded (the walk
    /// never enters an excluded directory, so what is below one is not
    /// this root's, even when a more specific root inside it exists).
    pub fn covers(&self, key: &str) -> bool {
        depth_below(&self.key, key).is_some_and(|d| d <= self.depth)
            && !self.excluded(key)
            && !ancestors_below(&self.key, key).any(|a| self.excluded(a))
    }

    /// The directories whose events concern this root, open: itself
    /// when it is a directory, and its parent (a file replaced by a
    /// rename, or a directory removed and made anew, keeps no watch of its
    /// own). Neither is reached through a link.
    pub fn watch_dirs(&self) -> Vec<Dir> {
        let mut dirs = Vec::new();
        dirs.extend(open_dir_path(&self.path).ok());
        dirs.extend(self.path.parent().and_then(|p| open_dir_path(p).ok()));
        dirs
    }
}

/// The directories strictly between `root` and `key` (both excluded),
/// nearest the root first.
fn ancestors_below<'a>(root: &'a str, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let start = if root.ends_with('/') {
        root.len()
    } else {
        root.len() + 1
    };
    key.char_indices()
        .filter(move |(i, c)| *c == '/' && *i > start)
        .map(move |(i, _)| &key[..i])
}

/// Everything the collector runs on, from one configuration.
pub struct Sets {
    /// Every watched path; the most specific covering root decides.
    pub roots: Vec<Root>,
    /// The rules.
    pub rules: RuleSet,
}

impl Sets {
    /// Compiles `[collect]` (already checked at load, so failures here
    /// are unexpected and reported as such).
    pub fn compile(collect: &CollectConfig) -> Result<Sets, String> {
        let mut roots = Vec::new();
        for set in &collect.files {
            let set = set.get_ref();
            let exclude = GlobSet::new(
                &set.exclude
                    .iter()
                    .map(|g| g.get_ref().as_str())
                    .collect::<Vec<_>>(),
            )
            .map_err(|e| e.to_string())?;
            let checked = Checked::of(set.attributes.iter().map(|a| a.get_ref().as_str()))?;
            for path in &set.paths {
                let written = Path::new(path.get_ref());
                let resolved = crate::config::resolved(written);
                roots.push(Root {
                    set: set.name().to_string(),
                    key: path_key(&resolved),
                    path: resolved,
                    depth: set.recursive.0,
                    exclude: exclude.clone(),
                    checked,
                    severity: set.severity,
                    labels: set.labels.clone(),
                    keep_text: set.report_changes.then_some(set.report_changes_max.0),
                    interval: set.scan_interval.0,
                    max_files: usize::try_from(set.max_files).unwrap_or(usize::MAX),
                });
            }
        }
        // Most specific first: the first covering root decides.
        roots.sort_by_key(|r| std::cmp::Reverse(r.key.len()));
        let rules = RuleSet::compile(&collect.file_rules, collect.default_rules)
            .map_err(|e| e.to_string())?;
        Ok(Sets { roots, rules })
    }

    /// Every root's key.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.roots.iter().map(|r| r.key.clone()).collect();
        keys.sort();
        keys
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn root(key: &str, exclude: &[&str], depth: usize) -> Root {
        Root {
            set: "s".into(),
            key: key.into(),
            path: PathBuf::from(key),
            depth,
            exclude: GlobSet::new(exclude).unwrap(),
            checked: Checked::of(["sha256"]).unwrap(),
            severity: Severity::Warning,
            labels: Labels::default(),
            keep_text: None,
            interval: Duration::from_secs(60),
            max_files: 100,
        }
    }

    #[test]
    fn a_path_below_an_excluded_directory_is_not_covered() {
        let w = root("/w", &["/w/cache"], 10);
        assert!(w.covers("/w"));
        assert!(w.covers("/w/a/b"));
        assert!(!w.covers("/w/cache"), "excluded itself");
        assert!(!w.covers("/w/cache/x"), "below an excluded directory");
        assert!(!w.covers("/w/cache/deeper/x"));
        assert!(w.covers("/w/cachex/y"), "by component");
        assert!(!w.covers("/wx"));
        let slash = root("/", &["/tmp"], 10);
        assert!(!slash.covers("/tmp/a"));
        assert!(slash.covers("/etc/a"));
    }

    #[test]
    fn ancestors_are_the_directories_between_the_root_and_the_path() {
        let a: Vec<&str> = ancestors_below("/w", "/w/a/b/c").collect();
        assert_eq!(a, ["/w/a", "/w/a/b"]);
        assert_eq!(ancestors_below("/w", "/w/a").count(), 0);
        assert_eq!(ancestors_below("/w", "/w").count(), 0);
        let a: Vec<&str> = ancestors_below("/", "/etc/x").collect();
        assert_eq!(a, ["/etc"]);
    }
}
