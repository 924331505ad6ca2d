//! `[[collect.logs]]`, `[[collect.journal]]` and `[[collect.log_rules]]`:
//! the log files and journal vigild follows, and the rules that turn
//! their lines into alerts. A file (or the directory a glob lists) must
//! lie under `[collect] allowed_roots`, as written and resolved.

use super::collect::{CollectProblem, plain_absolute};
use super::values::ByteSize;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;
use vigil_ingest::files::Glob;
use vigil_ingest::logs::{LineRuleConfig, LineRules, builtin_rules};
use vigil_store::Severity;

/// `rules` unless set: every `[[collect.log_rules]]` and the built-in pack.
pub const EVERY_RULE: &str = "all";
/// In `rules`: the whole built-in pack.
pub const BUILTIN: &str = "builtin";

/// `[[collect.logs]]`: one log file, or the files a glob names.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSet {
    /// Its name in alerts and `vigilctl` (default: its path).
    #[serde(default)]
    pub name: Option<String>,
    /// An absolute path; its last component may be a glob
    /// (`/var/log/nginx/*.log`).
    pub path: Spanned<String>,
    /// How a line is read.
    #[serde(default)]
    pub format: LogFormat,
    /// With `format = "json"`: the field whose text the rules see.
    #[serde(default = "default_message_field")]
    pub message_field: String,
    // What is done with the lines; the same keys as [[collect.journal]]
    // (serde's `flatten` would lose `deny_unknown_fields`).
    /// The rules tried, by name: `all` (default), `builtin`, or names of
    /// `[[collect.log_rules]]` and built-in rules.
    #[serde(default = "default_rules")]
    pub rules: Vec<Spanned<String>>,
    /// Which lines are stored: those a rule matched, or all.
    #[serde(default)]
    pub store: StoreLines,
    /// Longer lines are cut here (the rest is skipped, the line flagged).
    #[serde(default = "default_max_line")]
    pub max_line_bytes: ByteSize,
    /// Where a source first seen at vigild's first start is read from.
    #[serde(default)]
    pub start_at: StartAt,
    /// Severity of alerts whose rule sets none.
    #[serde(default, deserialize_with = "severity")]
    pub severity: Option<Severity>,
    /// Labels on every alert from this set.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `[[collect.journal]]`: the systemd journal, or part of it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalSet {
    /// Its name in alerts and `vigilctl` (default `journal`).
    #[serde(default = "default_journal_name")]
    pub name: String,
    /// journalctl matches, `FIELD=value` (`_SYSTEMD_UNIT=ssh.service`);
    /// different fields must all match, one field's values any.
    #[serde(default)]
    pub matches: Vec<Spanned<String>>,
    /// Only entries this important or more: `emerg` .. `debug`, or 0-7.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Read the journal files in this directory instead of the system's
    /// (`journalctl --directory`).
    #[serde(default)]
    pub directory: Option<Spanned<String>>,
    // What is done with the lines; the same keys as [[collect.logs]].
    /// The rules tried, by name: `all` (default), `builtin`, or names of
    /// `[[collect.log_rules]]` and built-in rules.
    #[serde(default = "default_rules")]
    pub rules: Vec<Spanned<String>>,
    /// Which lines are stored: those a rule matched, or all.
    #[serde(default)]
    pub store: StoreLines,
    /// Longer lines are cut here (the rest is skipped, the line flagged).
    #[serde(default = "default_max_line")]
    pub max_line_bytes: ByteSize,
    /// Where a source first seen at vigild's first start is read from.
    #[serde(default)]
    pub start_at: StartAt,
    /// Severity of alerts whose rule sets none.
    #[serde(default, deserialize_with = "severity")]
    pub severity: Option<Severity>,
    /// Labels on every alert from this set.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// What `[[collect.logs]]` and `[[collect.journal]]` say to do with the
/// lines they read.
#[derive(Debug, Clone, Copy)]
pub struct Reading<'a> {
    /// The rules' names.
    pub rules: &'a [Spanned<String>],
    /// Which lines are stored.
    pub store: StoreLines,
    /// Where lines are cut.
    pub max_line_bytes: u64,
    /// Where a source never read starts.
    pub start_at: StartAt,
    /// Severity of alerts whose rule sets none.
    pub severity: Option<Severity>,
    /// Labels on every alert.
    pub labels: &'a BTreeMap<String, String>,
}

/// The keys both tables share, borrowed.
macro_rules! reading {
    ($set:expr) => {
        Reading {
            rules: &$set.rules,
            store: $set.store,
            max_line_bytes: $set.max_line_bytes.0,
            start_at: $set.start_at,
            severity: $set.severity,
            labels: &$set.labels,
        }
    };
}

impl JournalSet {
    /// What it does with its lines.
    pub fn reading(&self) -> Reading<'_> {
        reading!(self)
    }
}

/// `format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// A line is text.
    #[default]
    Plain,
    /// A line is a JSON object; the rules see its `message_field`.
    Json,
}

/// `store`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreLines {
    /// Only lines a rule matched.
    #[default]
    Matches,
    /// Every line.
    All,
}

/// `start_at`: for a source vigild has never read. One that appears
/// later (a new file, a rotation) is always read from its beginning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartAt {
    /// From its end: what was there before is history, not news.
    #[default]
    End,
    /// From its beginning.
    Beginning,
}

/// A journal priority, 0 (`emerg`) to 7 (`debug`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority(pub u8);

/// The journal's priority names, by value.
pub const PRIORITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

impl<'de> Deserialize<'de> for Priority {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Name(String),
        }
        let found = match Raw::deserialize(d)? {
            Raw::Number(n) => u8::try_from(n).ok().filter(|n| *n < 8),
            Raw::Name(name) => PRIORITIES
                .iter()
                .position(|p| *p == name)
                .and_then(|p| u8::try_from(p).ok()),
        };
        found.map(Priority).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "priority must be 0 to 7 or one of {}",
                PRIORITIES.join(", ")
            ))
        })
    }
}

fn default_message_field() -> String {
    "message".into()
}

fn default_journal_name() -> String {
    "journal".into()
}

fn default_rules() -> Vec<Spanned<String>> {
    vec![Spanned::new(0..0, EVERY_RULE.to_string())]
}

/// Lines up to 64 KiB are whole.
fn default_max_line() -> ByteSize {
    ByteSize(64 << 10)
}

/// The shortest and longest `max_line_bytes`.
const MAX_LINE_BOUNDS: (u64, u64) = (256, 16 << 20);

fn severity<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Severity>, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

impl LogSet {
    /// What it does with its lines.
    pub fn reading(&self) -> Reading<'_> {
        reading!(self)
    }

    /// Its name: as configured, or its path.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(self.path.get_ref())
    }

    /// The directory listed and the glob its entries' paths must match,
    /// when the last component is one.
    pub fn glob(&self) -> Option<(&Path, Glob)> {
        let path = Path::new(self.path.get_ref());
        let name = path.file_name()?.to_str()?;
        if !name.contains(['*', '?', '[']) {
            return None;
        }
        Some((path.parent()?, Glob::new(self.path.get_ref()).ok()?))
    }
}

/// Every log rule configured and built in, by name, in the order tried.
pub fn every_rule(configured: &[LineRuleConfig]) -> Vec<LineRuleConfig> {
    let mut all = configured.to_vec();
    all.extend(
        builtin_rules()
            .into_iter()
            .filter(|b| !configured.iter().any(|c| c.name == b.name)),
    );
    all
}

impl Reading<'_> {
    /// The rules it names, in the order tried, with the set's severity
    /// on those that set none; an unknown name is an error naming it.
    pub fn rules(&self, configured: &[LineRuleConfig]) -> Result<Vec<LineRuleConfig>, String> {
        let every = every_rule(configured);
        let builtin: Vec<String> = builtin_rules().into_iter().map(|r| r.name).collect();
        let mut chosen: Vec<LineRuleConfig> = Vec::new();
        for name in self.rules {
            let name = name.get_ref().as_str();
            let picked: Vec<&LineRuleConfig> = match name {
                EVERY_RULE => every.iter().collect(),
                BUILTIN => every.iter().filter(|r| builtin.contains(&r.name)).collect(),
                _ => match every.iter().find(|r| r.name == name) {
                    Some(rule) => vec![rule],
                    None => {
                        return Err(format!(
                            "no log rule is named `{name}`: write `all`, `builtin`, or the name of a [[collect.log_rules]] or built-in rule ({})",
                            builtin.join(", ")
                        ));
                    }
                },
            };
            for rule in picked {
                if !chosen.iter().any(|c| c.name == rule.name) {
                    chosen.push(rule.clone());
                }
            }
        }
        if let Some(severity) = self.severity {
            for rule in chosen.iter_mut().filter(|r| r.severity.is_none()) {
                rule.severity = Some(severity.to_string());
            }
        }
        Ok(chosen)
    }

    fn check(
        &self,
        what: &str,
        configured: &[LineRuleConfig],
        at: usize,
    ) -> Result<(), CollectProblem> {
        let (low, high) = MAX_LINE_BOUNDS;
        if !(low..=high).contains(&self.max_line_bytes) {
            return Err(CollectProblem::at(
                at,
                format!("{what}: max_line_bytes must be {low} bytes to 16MiB"),
            ));
        }
        if self.rules.is_empty() {
            return Err(CollectProblem::at(
                at,
                format!("{what}: rules is empty; leave it out to use every rule"),
            ));
        }
        let rules = self.rules(configured).map_err(|e| {
            let offset = self
                .rules
                .iter()
                .find(|r| e.contains(&format!("`{}`", r.get_ref())))
                .map_or(at, |r| r.span().start);
            CollectProblem::at(offset, format!("{what}: {e}"))
        })?;
        LineRules::compile(&rules).map_err(|e| CollectProblem::at(at, format!("{what}: {e}")))?;
        Ok(())
    }
}

/// Checks the log sets, journal sets and rules; `allowed` checks a path
/// against the allowed roots.
pub(super) fn check(
    logs: &[Spanned<LogSet>],
    journal: &[Spanned<JournalSet>],
    rules: &[LineRuleConfig],
    allowed: &dyn Fn(&str, usize) -> Result<(), CollectProblem>,
) -> Result<(), CollectProblem> {
    let mut names = BTreeMap::new();
    for (i, rule) in rules.iter().enumerate() {
        if names.insert(rule.name.as_str(), i).is_some() {
            return Err(CollectProblem {
                offset: 0,
                element: Some(("log_rules", i)),
                message: format!(
                    "collect.log_rules[{i}] is named `{}` like an earlier one; give each a distinct name",
                    rule.name
                ),
            });
        }
    }
    LineRules::compile(rules).map_err(|e| CollectProblem {
        offset: 0,
        element: Some(("log_rules", e.index)),
        message: format!("collect.log_rules[{}]: {e}", e.index),
    })?;
    let mut names = BTreeMap::new();
    for (i, set) in logs.iter().enumerate() {
        let at = set.span().start;
        let what = format!("collect.logs[{i}]");
        let set = set.get_ref();
        let path = set.path.get_ref();
        if !plain_absolute(path) || path.ends_with('/') {
            return Err(CollectProblem::at(
                set.path.span().start,
                format!("{what}: `{path}` must be an absolute path to a file, without `.` or `..`"),
            ));
        }
        let listed = match set.glob() {
            Some((dir, _)) => dir.to_string_lossy().into_owned(),
            None => {
                let parent = Path::new(path).parent().map(Path::to_path_buf);
                if parent
                    .as_deref()
                    .is_some_and(|p| p.to_str().is_some_and(|p| p.contains(['*', '?', '['])))
                {
                    return Err(CollectProblem::at(
                        set.path.span().start,
                        format!("{what}: only the last component of `{path}` may be a glob"),
                    ));
                }
                path.clone()
            }
        };
        if set.glob().is_none()
            && let Some(name) = path
                .rsplit('/')
                .next()
                .filter(|n| n.contains(['*', '?', '[']))
        {
            let reason = Glob::new(path)
                .err()
                .map_or_else(String::new, |e| format!(": {e}"));
            return Err(CollectProblem::at(
                set.path.span().start,
                format!("{what}: `{name}` is not a valid glob{reason}"),
            ));
        }
        allowed(&listed, set.path.span().start)?;
        if set.format == LogFormat::Json && set.message_field.is_empty() {
            return Err(CollectProblem::at(
                at,
                format!("{what}: message_field is empty"),
            ));
        }
        set.reading().check(&what, rules, at)?;
        if let Some(other) = names.insert(set.name().to_string(), what.clone()) {
            return Err(CollectProblem::at(
                at,
                format!(
                    "{what} is named `{}` like {other}; give each a distinct name",
                    set.name()
                ),
            ));
        }
    }
    for (i, set) in journal.iter().enumerate() {
        let at = set.span().start;
        let what = format!("collect.journal[{i}]");
        let set = set.get_ref();
        for m in &set.matches {
            let valid = m.get_ref().split_once('=').is_some_and(|(field, _)| {
                !field.is_empty()
                    && field
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            });
            if !valid {
                return Err(CollectProblem::at(
                    m.span().start,
                    format!(
                        "{what}: match `{}` must be FIELD=value with an upper-case field name (e.g. _SYSTEMD_UNIT=ssh.service)",
                        m.get_ref()
                    ),
                ));
            }
        }
        if let Some(dir) = &set.directory {
            if !plain_absolute(dir.get_ref()) {
                return Err(CollectProblem::at(
                    dir.span().start,
                    format!("{what}: directory must be an absolute path without `.` or `..`"),
                ));
            }
            allowed(dir.get_ref(), dir.span().start)?;
        }
        set.reading().check(&what, rules, at)?;
        if let Some(other) = names.insert(set.name.clone(), what.clone()) {
            return Err(CollectProblem::at(
                at,
                format!(
                    "{what} is named `{}` like {other}; give each a distinct name",
                    set.name
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
