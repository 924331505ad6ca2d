//! The alert a file record raises: fingerprint, summary, labels and the
//! annotations that say what changed.

use std::borrow::Cow;

use vigil_store::{
    Alert, AlertStatus, FileAttrs, FileChangeKind, FileRecord, Hash, Labels, Severity,
};

use super::one_line;
use super::rules::{NO_RULE, Rule};

/// Labels every file alert sets itself; entry labels cannot override them
/// and rules may not name them.
pub const RESERVED_LABELS: [&str; 8] = [
    "alertname",
    "path",
    "change",
    "rule",
    "set",
    "host",
    "severity",
    "changed_while_stopped",
];

/// The `alertname` label of every file alert.
pub const ALERT_NAME: &str = "FileChanged";

/// What the watched set (`[[collect.files]]` entry) a record belongs to
/// adds to its alert.
#[derive(Clone, Copy, Debug)]
pub struct AlertContext<'a> {
    /// The entry's name.
    pub set: &'a str,
    /// The entry's severity: used when no rule matches or the rule sets
    /// none.
    pub severity: Severity,
    /// The entry's labels (a matching rule's win over them).
    pub labels: &'a Labels,
    /// This host's name.
    pub host: &'a str,
}

/// The fingerprint of alerts about `path` from `rule` (`default` when no
/// rule matched): the first 16 bytes of SHA-256 of
/// `files\0{rule}\0{path}`, in hex.
///
/// Stable across restarts and hosts' configurations, so repeated changes to
/// one file under one rule are one incident; the severity, the change and
/// the set are left out so that they may change without starting another.
pub fn fingerprint(rule: &str, path: &str) -> String {
    let digest = Hash::sha256(format!("files\0{rule}\0{path}").as_bytes());
    hex::encode(&digest.0[..16])
}

/// Builds the alert for a record that is not a baseline, from the rule
/// that matched it, if any.
pub(super) fn build(record: &FileRecord, rule: Option<&Rule>, ctx: &AlertContext<'_>) -> Alert {
    let rule_name = rule.map_or(NO_RULE, Rule::name);
    let severity = rule.and_then(Rule::severity).unwrap_or(ctx.severity);

    // The set's labels, then the rule's over them, then ours over both.
    let mut labels = ctx.labels.clone();
    if let Some(rule) = rule {
        labels.extend(rule.labels().iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let mut set = |key: &str, value: &str| labels.insert(key.to_owned(), value.to_owned());
    set("alertname", ALERT_NAME);
    set("path", &record.path);
    set("change", record.change.name());
    set("rule", rule_name);
    set("set", ctx.set);
    set("host", ctx.host);
    set("severity", &severity.to_string());
    if record.while_stopped {
        set("changed_while_stopped", "true");
    } else {
        // An entry label of that name must not claim what did not happen.
        labels.remove("changed_while_stopped");
    }

    Alert {
        fingerprint: fingerprint(rule_name, &record.path),
        status: AlertStatus::Firing,
        severity,
        summary: summary(record, rule.map_or(ctx.set, Rule::name)),
        labels,
        annotations: annotations(record),
        starts_at: None,
        ends_at: None,
        links: Vec::new(),
    }
}

/// `/etc/ssh/sshd_config modified (ssh-config)`: the path, what happened,
/// and the rule (or, when none matched, the watched set) in parentheses.
fn summary(record: &FileRecord, why: &str) -> String {
    let what: Cow<'_, str> = match record.change {
        FileChangeKind::Baseline => "recorded".into(),
        FileChangeKind::Created => "created".into(),
        FileChangeKind::Modified => "modified".into(),
        FileChangeKind::Deleted => "deleted".into(),
        FileChangeKind::Metadata => "metadata changed".into(),
        FileChangeKind::Renamed => match &record.from {
            Some(from) => format!("renamed from {}", one_line(from)).into(),
            None => "renamed".into(),
        },
    };
    let mut summary = format!("{} {what} ({})", one_line(&record.path), one_line(why));
    if record.while_stopped {
        summary.push_str(" while vigild was stopped");
    }
    summary
}

/// What changed, attribute by attribute: for each one whose two sides
/// differ, the side(s) present (a creation shows only `new_…`, a deletion
/// only `old_…`). Hashes are shown whenever known.
fn annotations(record: &FileRecord) -> Labels {
    let (old, new) = (record.old.as_ref(), record.new.as_ref());
    let mut out = Labels::new();
    if let Some(hash) = old.and_then(|a| a.sha256) {
        out.insert("old_sha256".into(), hash.to_hex());
    }
    if let Some(hash) = new.and_then(|a| a.sha256) {
        out.insert("new_sha256".into(), hash.to_hex());
    }
    // Permission bits only: a change of type is `old_type`/`new_type`.
    both_sides(&mut out, "mode", old, new, |a| {
        Some(format!("{:04o}", a.mode & 0o7777))
    });
    both_sides(&mut out, "type", old, new, |a| {
        Some(a.file_type.name().to_owned())
    });
    both_sides(&mut out, "owner", old, new, |a| {
        Some(format!("{}:{}", a.uid, a.gid))
    });
    both_sides(&mut out, "size", old, new, |a| Some(a.size.to_string()));
    both_sides(&mut out, "link_target", old, new, |a| a.link_target.clone());
    let xattrs = changed_xattrs(old, new);
    if !xattrs.is_empty() {
        out.insert("changed_xattrs".into(), xattrs.join(", "));
    }
    if let Some(from) = &record.from {
        out.insert("from".into(), from.clone());
    }
    if let Some(diff) = &record.diff {
        out.insert("diff".into(), diff.clone());
    }
    out
}

/// Inserts `old_{name}` and `new_{name}` (those that exist) when they
/// differ.
fn both_sides(
    out: &mut Labels,
    name: &str,
    old: Option<&FileAttrs>,
    new: Option<&FileAttrs>,
    value: impl Fn(&FileAttrs) -> Option<String>,
) {
    let (old, new) = (old.and_then(&value), new.and_then(&value));
    if old == new {
        return;
    }
    if let Some(old) = old {
        out.insert(format!("old_{name}"), old);
    }
    if let Some(new) = new {
        out.insert(format!("new_{name}"), new);
    }
}

/// Names of the extended attributes added, removed or changed, sorted (a
/// new `security.capability` grants privileges as setuid does).
fn changed_xattrs(old: Option<&FileAttrs>, new: Option<&FileAttrs>) -> Vec<String> {
    fn list(attrs: Option<&FileAttrs>) -> &[(String, Hash)] {
        attrs.map(|a| a.xattrs.as_slice()).unwrap_or_default()
    }
    let (old, new) = (list(old), list(new));
    let mut names: Vec<String> = old
        .iter()
        .filter(|entry| !new.contains(entry))
        .chain(new.iter().filter(|entry| !old.contains(entry)))
        .map(|(name, _)| name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}
