//! Rules: which changes to which paths alert, how severely, with which
//! labels, and which are only recorded.
//!
//! Operators write `[[collect.file_rules]]` tables ([`RuleConfig`]);
//! [`RuleSet::compile`] checks them once, at load, and appends the built-in
//! pack ([`default_rules`](super::default_rules)) when asked. For each
//! record the first rule that matches decides, so an operator's rule
//! overrides a default one about the same path.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use vigil_store::{Alert, FileAttrs, FileChangeKind, FileRecord, FileType, Labels, Severity};

use super::alert::{self, AlertContext, RESERVED_LABELS};
use super::glob::{Glob, GlobSet};

/// The setuid (`0o4000`) and setgid (`0o2000`) bits of `st_mode`.
const SET_ID_BITS: u32 = 0o6000;

/// The changes a rule may name, in the order errors list them.
const CHANGES: [FileChangeKind; 5] = [
    FileChangeKind::Created,
    FileChangeKind::Modified,
    FileChangeKind::Deleted,
    FileChangeKind::Metadata,
    FileChangeKind::Renamed,
];

/// The rule name used in labels and fingerprints when no rule matched, so
/// no rule may take it.
pub const NO_RULE: &str = "default";

/// One `[[collect.file_rules]]` table, as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique among the operator's rules; in the alert's `rule` label and
    /// its fingerprint.
    pub name: String,
    /// Globs (see [`Glob`]); at least one.
    pub paths: Vec<String>,
    /// Any of `created`, `modified`, `deleted`, `metadata`, `renamed`;
    /// absent means all.
    #[serde(default)]
    pub changes: Option<Vec<String>>,
    /// Match only a regular file that gained the setuid or setgid bit (or
    /// was created with one).
    #[serde(default)]
    pub setuid: bool,
    /// `info`, `warning`, `error` or `critical`; absent means the watched
    /// set's severity.
    #[serde(default)]
    pub severity: Option<String>,
    /// Added to the alert's labels (over the set's).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `false` silences matching changes: they are recorded, not alerted.
    #[serde(default = "yes")]
    pub alert: bool,
}

/// Serde's default for [`RuleConfig::alert`].
fn yes() -> bool {
    true
}

/// A rule that cannot be used: which one, which field, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rule {name:?} ({list}[{index}]): {field}: {reason}")]
pub struct RuleError {
    /// `file_rules` (the operator's) or `default_rules` (the built-in pack).
    pub list: &'static str,
    /// The rule's position in its list.
    pub index: usize,
    /// The rule's name, as written.
    pub name: String,
    /// The field at fault, e.g. `paths[0]`.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub struct Rule {
    name: String,
    paths: GlobSet,
    /// `None` is every change.
    changes: Option<Vec<FileChangeKind>>,
    setuid: bool,
    severity: Option<Severity>,
    labels: Labels,
    alert: bool,
    builtin: bool,
}

impl Rule {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its severity, when it sets one.
    pub fn severity(&self) -> Option<Severity> {
        self.severity
    }

    /// Its labels.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// Whether a matching change alerts (`false`: only recorded).
    pub fn alerts(&self) -> bool {
        self.alert
    }

    /// Whether it comes from the built-in pack.
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }

    /// Whether it applies to `record` (baselines included; [`RuleSet`]
    /// leaves them out).
    pub fn matches(&self, record: &FileRecord) -> bool {
        if let Some(changes) = &self.changes
            && !changes.contains(&record.change)
        {
            return false;
        }
        if self.setuid && !gained_set_id(record.old.as_ref(), record.new.as_ref()) {
            return false;
        }
        // A file moved out of a watched tree changed that tree as much as
        // one moved in.
        self.paths.matches(&record.path)
            || (record.change == FileChangeKind::Renamed
                && record
                    .from
                    .as_deref()
                    .is_some_and(|from| self.paths.matches(from)))
    }
}

/// Whether `new` is a regular file with a setuid or setgid bit that `old`
/// lacked (every bit counts as lacked when there was no regular file).
fn gained_set_id(old: Option<&FileAttrs>, new: Option<&FileAttrs>) -> bool {
    let bits = |attrs: Option<&FileAttrs>| match attrs {
        Some(attrs) if attrs.file_type == FileType::File => attrs.mode & SET_ID_BITS,
        _ => 0,
    };
    bits(new) & !bits(old) != 0
}

/// The compiled rules: the operator's `[[collect.file_rules]]` in the
/// order written, then the built-in pack ([`default_rules`]) when enabled.
///
/// For each record the first rule that matches decides, so an operator's
/// rule overrides a default one about the same path, and a rule with
/// `alert = false` placed first silences it. A record no rule matches
/// still alerts, with its watched set's severity: every change to a
/// watched file is an alert unless a rule says otherwise.
///
/// [`default_rules`]: super::default_rules
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// Checks and compiles the operator's `rules`, then the built-in pack
    /// when `with_defaults`.
    pub fn compile(rules: &[RuleConfig], with_defaults: bool) -> Result<RuleSet, RuleError> {
        let mut compiled = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (index, config) in rules.iter().enumerate() {
            if let Some(first) = seen.insert(&config.name, index) {
                return Err(RuleError {
                    list: "file_rules",
                    index,
                    name: config.name.clone(),
                    field: "name".into(),
                    reason: format!("the same as file_rules[{first}]'s"),
                });
            }
            compiled.push(compile_one(config, "file_rules", index)?);
        }
        if with_defaults {
            for (index, config) in super::default_rules().iter().enumerate() {
                let mut rule = compile_one(config, "default_rules", index)?;
                rule.builtin = true;
                compiled.push(rule);
            }
        }
        Ok(RuleSet { rules: compiled })
    }

    /// The rules, in the order they are tried.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first rule that applies to `record`, if any (baselines never
    /// match).
    pub fn rule_for(&self, record: &FileRecord) -> Option<&Rule> {
        if record.change == FileChangeKind::Baseline {
            return None;
        }
        self.rules.iter().find(|rule| rule.matches(record))
    }

    /// The alert `record` raises: `None` for a baseline and when the first
    /// matching rule silences it; otherwise that rule's alert, or the
    /// watched set's when no rule matches (every change to a watched file
    /// alerts).
    pub fn alert_for(&self, record: &FileRecord, ctx: &AlertContext<'_>) -> Option<Alert> {
        if record.change == FileChangeKind::Baseline {
            return None;
        }
        let rule = self.rule_for(record);
        if rule.is_some_and(|rule| !rule.alert) {
            return None;
        }
        Some(alert::build(record, rule, ctx))
    }
}

/// Checks and compiles one rule, `list[index]`.
fn compile_one(config: &RuleConfig, list: &'static str, index: usize) -> Result<Rule, RuleError> {
    let fail = |field: String, reason: String| RuleError {
        list,
        index,
        name: config.name.clone(),
        field,
        reason,
    };
    check_name(&config.name).map_err(|reason| fail("name".into(), reason))?;
    if config.paths.is_empty() {
        return Err(fail("paths".into(), "empty: name at least one glob".into()));
    }
    let paths = config
        .paths
        .iter()
        .enumerate()
        .map(|(at, path)| {
            Glob::new(path).map_err(|error| fail(format!("paths[{at}]"), error.to_string()))
        })
        .collect::<Result<GlobSet, _>>()?;
    let changes = match &config.changes {
        None => None,
        Some(names) if names.is_empty() => {
            return Err(fail(
                "changes".into(),
                "empty: leave it out to match every change".into(),
            ));
        }
        Some(names) => Some(
            names
                .iter()
                .enumerate()
                .map(|(at, name)| {
                    change(name).map_err(|reason| fail(format!("changes[{at}]"), reason))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let severity = config
        .severity
        .as_deref()
        .map(Severity::from_str)
        .transpose()
        .map_err(|reason| fail("severity".into(), reason))?;
    for key in config.labels.keys() {
        check_label(key).map_err(|reason| fail(format!("labels.{key:?}"), reason))?;
    }
    Ok(Rule {
        name: config.name.clone(),
        paths,
        changes,
        setuid: config.setuid,
        severity,
        labels: config.labels.clone(),
        alert: config.alert,
        builtin: false,
    })
}

/// A rule's name is printed in summaries and labels and keys fingerprints.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty".into());
    }
    if name == NO_RULE {
        return Err(format!(
            "`{NO_RULE}` is reserved for changes no rule matches"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("holds a control character".into());
    }
    Ok(())
}

/// A change's name, as `FileChangeKind::name` spells it.
fn change(name: &str) -> Result<FileChangeKind, String> {
    if name == FileChangeKind::Baseline.name() {
        return Err("`baseline` never alerts: a first scan records files, nothing changed".into());
    }
    CHANGES
        .into_iter()
        .find(|kind| kind.name() == name)
        .ok_or_else(|| {
            format!(
                "unknown change `{name}`; expected created, modified, deleted, metadata or renamed"
            )
        })
}

/// Label names as Prometheus and Alertmanager accept them, and none that
/// every file alert sets itself (a rule relabelling `path` or `severity`
/// would make alerts lie about what they are).
fn check_label(key: &str) -> Result<(), String> {
    let mut chars = key.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(
            "not a label name (ASCII letters, digits and `_`, not starting with a digit)".into(),
        );
    }
    if RESERVED_LABELS.contains(&key) {
        return Err("reserved: every file alert sets it".into());
    }
    Ok(())
}
