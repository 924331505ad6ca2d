//! `[collect]`: what vigild watches on its own host. `[[collect.files]]`
//! is file integrity monitoring: every path must lie under one of
//! `allowed_roots`, as written and once every link in it is resolved.

use super::logs::{JournalSet, LogSet};
use super::values::{ByteSize, Interval};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use toml::Spanned;
use vigil_ingest::files::GlobSet;
use vigil_ingest::files::RuleConfig;
use vigil_ingest::logs::LineRuleConfig;
use vigil_store::Severity;

/// `[collect]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectConfig {
    /// The only trees file integrity monitoring may read.
    pub allowed_roots: Vec<Spanned<String>>,
    /// Threads hashing files during a scan.
    pub hash_threads: usize,
    /// Most bytes read per second while hashing.
    pub read_rate: ReadRate,
    /// Whether the built-in rules (sshd, sudoers, accounts, PAM, setuid
    /// files, system binaries, ...) apply after the operator's.
    pub default_rules: bool,
    /// The watched paths.
    pub files: Vec<Spanned<FileSet>>,
    /// Rules turning a change into an alert, first match wins.
    pub file_rules: Vec<RuleConfig>,
    /// The followed log files.
    pub logs: Vec<Spanned<LogSet>>,
    /// The followed journal (or journals).
    pub journal: Vec<Spanned<JournalSet>>,
    /// Rules turning a log line into a match, an alert, a count.
    pub log_rules: Vec<LineRuleConfig>,
}

/// `allowed_roots` unless set.
pub const DEFAULT_ROOTS: &[&str] = &[
    "/etc",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib/systemd",
    "/var/log",
    "/var/www",
];

impl Default for CollectConfig {
    fn default() -> Self {
        CollectConfig {
            allowed_roots: DEFAULT_ROOTS
                .iter()
                .map(|r| Spanned::new(0..0, r.to_string()))
                .collect(),
            hash_threads: 2,
            read_rate: ReadRate(Some(64 << 20)),
            default_rules: true,
            files: Vec::new(),
            file_rules: Vec::new(),
            logs: Vec::new(),
            journal: Vec::new(),
            log_rules: Vec::new(),
        }
    }
}

/// `read_rate`: bytes per second, written as a size (`"64MiB"`), or
/// `"unlimited"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRate(pub Option<u64>);

impl<'de> Deserialize<'de> for ReadRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        let size = match Raw::deserialize(d)? {
            Raw::Text(t) if t == "unlimited" => return Ok(ReadRate(None)),
            Raw::Number(n) => ByteSize(n),
            Raw::Text(t) => ByteSize::deserialize(serde::de::value::StrDeserializer::<
                serde::de::value::Error,
            >::new(&t))
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "read_rate `{t}` is not a rate; write a size per second such as \"64MiB\", or \"unlimited\""
                ))
            })?,
        };
        if size.0 < 1 << 20 {
            return Err(serde::de::Error::custom(
                "read_rate must be at least 1MiB (per second), or \"unlimited\"",
            ));
        }
        Ok(ReadRate(Some(size.0)))
    }
}

/// How deep below a watched directory to look: `recursive = true` (no
/// limit), `false` (its entries only) or a number of levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Depth(pub usize);

/// The deepest `recursive = true` goes.
pub const MAX_DEPTH: usize = 64;

impl<'de> Deserialize<'de> for Depth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Levels(i64),
        }
        match Raw::deserialize(d)? {
            Raw::Flag(true) => Ok(Depth(MAX_DEPTH)),
            Raw::Flag(false) => Ok(Depth(1)),
            Raw::Levels(n) if (1..=MAX_DEPTH as i64).contains(&n) => Ok(Depth(n as usize)),
            Raw::Levels(n) => Err(serde::de::Error::custom(format!(
                "recursive = {n}: write true, false, or a depth from 1 to {MAX_DEPTH}"
            ))),
        }
    }
}

/// `[[collect.files]]`: paths watched together, with the same settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSet {
    /// Its name in alerts and `vigilctl` (default: its first path).
    #[serde(default)]
    pub name: Option<String>,
    /// Files or directories, absolute.
    pub paths: Vec<Spanned<String>>,
    /// How deep below a directory to look.
    #[serde(default = "default_depth")]
    pub recursive: Depth,
    /// Globs of paths left out (and not descended into).
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    /// Which attributes count as a change.
    #[serde(default = "default_attributes")]
    pub attributes: Vec<Spanned<String>>,
    /// Severity of alerts no rule sets one for.
    #[serde(default = "default_severity", deserialize_with = "severity")]
    pub severity: Severity,
    /// Labels on every alert from this set.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Keep the text of small text files, redacted, and record a diff with
    /// each change.
    #[serde(default)]
    pub report_changes: bool,
    /// Largest file whose text is kept.
    #[serde(default = "default_report_max")]
    pub report_changes_max: ByteSize,
    /// How often the whole set is scanned besides live watching.
    #[serde(default = "default_scan_interval")]
    pub scan_interval: Interval,
    /// Most paths examined; the rest is reported, not watched.
    #[serde(default = "default_max_files")]
    pub max_files: u64,
}

fn default_depth() -> Depth {
    Depth(MAX_DEPTH)
}

fn default_attributes() -> Vec<Spanned<String>> {
    DEFAULT_ATTRIBUTES
        .iter()
        .map(|n| Spanned::new(0..0, n.to_string()))
        .collect()
}

/// Every attribute `attributes` may name; `xattrs` last.
pub const ATTRIBUTES: &[&str] = &[
    "sha256", "size", "mode", "uid", "gid", "mtime", "inode", "type", "link", "xattrs",
];

/// The attributes checked unless `attributes` is set: all but `xattrs`.
const DEFAULT_ATTRIBUTES: &[&str] = ATTRIBUTES.split_last().expect("attributes").1;

fn default_severity() -> Severity {
    Severity::Warning
}

fn severity<'de, D: Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

fn default_report_max() -> ByteSize {
    ByteSize(64 << 10)
}

fn default_scan_interval() -> Interval {
    Interval(Duration::from_secs(12 * 3600))
}

fn default_max_files() -> u64 {
    200_000
}

/// Where a `[collect]` mistake is, and what it is.
#[derive(Debug)]
pub struct CollectProblem {
    /// Byte offset in the file (0: unknown).
    pub offset: usize,
    /// The `[[collect.file_rules]]` or `[[collect.log_rules]]` element
    /// at fault, if it is one: the list's key and the index.
    pub element: Option<(&'static str, usize)>,
    /// What is wrong.
    pub message: String,
}

impl CollectProblem {
    pub(super) fn at(offset: usize, message: impl Into<String>) -> CollectProblem {
        CollectProblem {
            offset,
            element: None,
            message: message.into(),
        }
    }
}

/// A path made of normal components only, absolute.
pub(super) fn plain_absolute(path: &str) -> bool {
    let p = Path::new(path);
    p.is_absolute()
        && p.components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
}

/// `path` with every link resolved, as far as it exists: the existing
/// ancestor resolved, the rest appended.
pub fn resolved(path: &Path) -> PathBuf {
    let mut missing = Vec::new();
    let mut at = path;
    loop {
        if let Ok(real) = std::fs::canonicalize(at) {
            return missing.iter().rev().fold(real, |p, m| p.join(m));
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                at = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Checks that `text` lies under one of `roots` (resolved, written), as
/// written and once every link in it is resolved.
fn under_roots(
    roots: &[(PathBuf, PathBuf)],
    text: &str,
    offset: usize,
    shown: &dyn Fn() -> String,
) -> Result<(), CollectProblem> {
    let written = Path::new(text);
    if !roots.iter().any(|(_, root)| written.starts_with(root)) {
        return Err(CollectProblem::at(
            offset,
            format!(
                "`{text}` is not under an allowed root ({}); add its tree to [collect] allowed_roots",
                shown()
            ),
        ));
    }
    let real = resolved(written);
    if !roots.iter().any(|(root, _)| real.starts_with(root)) {
        return Err(CollectProblem::at(
            offset,
            format!(
                "`{text}` resolves to `{}`, outside the allowed roots ({}): a link may not lead out of them",
                real.display(),
                shown()
            ),
        ));
    }
    Ok(())
}

impl CollectConfig {
    /// The checks the types cannot make: roots, every path under them
    /// (as written and resolved), globs, attributes, rules, bounds.
    pub fn check(&self) -> Result<(), CollectProblem> {
        if !(1..=32).contains(&self.hash_threads) {
            return Err(CollectProblem::at(
                0,
                "collect.hash_threads must be 1 to 32",
            ));
        }
        let mut roots = Vec::new();
        for root in &self.allowed_roots {
            if !plain_absolute(root.get_ref()) {
                return Err(CollectProblem::at(
                    root.span().start,
                    format!(
                        "allowed root `{}` must be an absolute path without `.` or `..`",
                        root.get_ref()
                    ),
                ));
            }
            let written = PathBuf::from(root.get_ref());
            roots.push((resolved(&written), written));
        }
        let shown = || {
            self.allowed_roots
                .iter()
                .map(|r| r.get_ref().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut names = BTreeMap::new();
        for (i, set) in self.files.iter().enumerate() {
            let at = set.span().start;
            let set = set.get_ref();
            if set.paths.is_empty() {
                return Err(CollectProblem::at(
                    at,
                    format!("collect.files[{i}] has no paths"),
                ));
            }
            if set.max_files == 0 {
                return Err(CollectProblem::at(
                    at,
                    format!("collect.files[{i}]: max_files must be at least 1"),
                ));
            }
            let name = set.name();
            if let Some(other) = names.insert(name.to_string(), i) {
                return Err(CollectProblem::at(
                    at,
                    format!(
                        "collect.files[{i}] is named `{name}` like collect.files[{other}]; give each a distinct name"
                    ),
                ));
            }
            for path in &set.paths {
                let offset = path.span().start;
                let text = path.get_ref();
                if !plain_absolute(text) {
                    return Err(CollectProblem::at(
                        offset,
                        format!("`{text}` must be an absolute path without `.` or `..`"),
                    ));
                }
                under_roots(&roots, text, offset, &shown)?;
            }
            for glob in &set.exclude {
                if let Err(e) = GlobSet::new(&[glob.get_ref()]) {
                    return Err(CollectProblem::at(
                        glob.span().start,
                        format!("exclude: {e}"),
                    ));
                }
            }
            for attribute in &set.attributes {
                if !ATTRIBUTES.contains(&attribute.get_ref().as_str()) {
                    return Err(CollectProblem::at(
                        attribute.span().start,
                        format!(
                            "unknown attribute `{}`; expected any of {}",
                            attribute.get_ref(),
                            ATTRIBUTES.join(", ")
                        ),
                    ));
                }
            }
        }
        vigil_ingest::files::RuleSet::compile(&self.file_rules, self.default_rules).map_err(
            |e| CollectProblem {
                offset: 0,
                element: (e.list == "file_rules").then_some(("file_rules", e.index)),
                message: e.to_string(),
            },
        )?;
        let allowed = |text: &str, offset: usize| under_roots(&roots, text, offset, &shown);
        super::logs::check(&self.logs, &self.journal, &self.log_rules, &allowed)?;
        Ok(())
    }
}

impl CollectConfig {
    /// Whether file integrity monitoring has anything to watch.
    pub fn watches_files(&self) -> bool {
        !self.files.is_empty()
    }

    /// Whether log collection has anything to follow.
    pub fn follows_logs(&self) -> bool {
        !self.logs.is_empty() || !self.journal.is_empty()
    }
}

impl FileSet {
    /// Its name: as configured, or its first path.
    pub fn name(&self) -> &str {
        self.name
            .as_deref()
            .or_else(|| self.paths.first().map(|p| p.get_ref().as_str()))
            .unwrap_or("files")
    }
}
