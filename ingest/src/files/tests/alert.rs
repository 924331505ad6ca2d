//! The alert's fingerprint, summary, labels and annotations.

use std::collections::BTreeMap;

use vigil_store::{AlertStatus, FileChangeKind, FileType, Hash, Labels, Severity};

use super::{ctx, file, modified, record, team_ops};
use crate::files::{RuleConfig, RuleSet, fingerprint};

/// The defaults plus an operator rule `web` over `/srv/web/**` with labels
/// `team=web`, `tier=front`.
fn rules() -> RuleSet {
    let web = RuleConfig {
        name: "web".into(),
        paths: vec!["/srv/web/**".into()],
        changes: None,
        setuid: false,
        severity: None,
        labels: BTreeMap::from([
            ("team".into(), "web".into()),
            ("tier".into(), "front".into()),
        ]),
        alert: true,
    };
    RuleSet::compile(&[web], true).expect("compiles")
}

/// `key=value` pairs as labels.
fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn a_modified_file_under_a_rule() {
    let set_labels = team_ops();
    let mut change = modified("/etc/ssh/sshd_config");
    change.diff = Some("--- a\n+++ a\n".into());
    let alert = rules()
        .alert_for(&change, &ctx(&set_labels))
        .expect("alerts");
    assert_eq!(
        alert.fingerprint,
        fingerprint("ssh-config", "/etc/ssh/sshd_config")
    );
    assert_eq!(alert.status, AlertStatus::Firing);
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.summary, "/etc/ssh/sshd_config modified (ssh-config)");
    assert_eq!(
        alert.labels,
        labels(&[
            ("alertname", "FileChanged"),
            ("path", "/etc/ssh/sshd_config"),
            ("change", "modified"),
            ("rule", "ssh-config"),
            ("set", "etc"),
            ("host", "web1"),
            ("severity", "critical"),
            ("team", "ops"),
        ])
    );
    assert_eq!(
        alert.annotations,
        labels(&[
            ("old_sha256", &Hash::sha256(b"a").to_hex()),
            ("new_sha256", &Hash::sha256(b"b").to_hex()),
            ("diff", "--- a\n+++ a\n"),
        ])
    );
    assert_eq!((alert.starts_at, alert.ends_at), (None, None));
    assert!(alert.links.is_empty());
}

#[test]
fn fingerprints_are_per_path_and_rule() {
    let fp = fingerprint("ssh-config", "/etc/ssh/sshd_config");
    assert_eq!(fp.len(), 32);
    assert!(fp.chars().all(|c| c.is_ascii_hexdigit()));
    let digest = Hash::sha256(b"files\0ssh-config\0/etc/ssh/sshd_config").to_hex();
    assert_eq!(fp, digest[..32]);
    assert_ne!(fp, fingerprint("ssh-config", "/etc/ssh/ssh_config"));
    assert_ne!(fp, fingerprint("default", "/etc/ssh/sshd_config"));
    // The change and the severity do not enter it: one file, one incident.
    let set_labels = team_ops();
    let set = rules();
    let created = record(
        "/etc/hosts",
        FileChangeKind::Created,
        None,
        Some(file(0o644, b"x")),
    );
    let deleted = record(
        "/etc/hosts",
        FileChangeKind::Deleted,
        Some(file(0o644, b"x")),
        None,
    );
    let a = set.alert_for(&created, &ctx(&set_labels)).expect("alerts");
    let b = set.alert_for(&deleted, &ctx(&set_labels)).expect("alerts");
    assert_eq!(a.fingerprint, b.fingerprint);
}

#[test]
fn labels_merge_set_then_rule_then_ours() {
    let set_labels = labels(&[
        ("team", "ops"),
        ("env", "prod"),
        ("rule", "spoofed"),
        ("host", "spoofed"),
    ]);
    let alert = rules()
        .alert_for(&modified("/srv/web/index.html"), &ctx(&set_labels))
        .expect("alerts");
    assert_eq!(
        alert.labels["team"], "web",
        "the rule's label wins over the set's"
    );
    assert_eq!(alert.labels["tier"], "front");
    assert_eq!(alert.labels["env"], "prod", "the set's label is kept");
    assert_eq!(alert.labels["rule"], "web", "ours win over both");
    assert_eq!(alert.labels["host"], "web1");
    assert_eq!(
        alert.severity,
        Severity::Warning,
        "no severity in the rule: the set's"
    );
    assert_eq!(alert.labels["severity"], "warning");
}

#[test]
fn no_rule_means_the_set_decides() {
    let set_labels = team_ops();
    let alert = rules()
        .alert_for(&modified("/opt/app/app.conf"), &ctx(&set_labels))
        .expect("alerts");
    assert_eq!(alert.labels["rule"], "default");
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(alert.summary, "/opt/app/app.conf modified (etc)");
    assert_eq!(
        alert.fingerprint,
        fingerprint("default", "/opt/app/app.conf")
    );
}

#[test]
fn changed_while_stopped() {
    let set_labels = labels(&[("changed_while_stopped", "true")]);
    let mut change = modified("/etc/passwd");
    let alert = rules()
        .alert_for(&change, &ctx(&set_labels))
        .expect("alerts");
    assert!(
        !alert.labels.contains_key("changed_while_stopped"),
        "not claimed by a set label"
    );
    change.while_stopped = true;
    let alert = rules()
        .alert_for(&change, &ctx(&set_labels))
        .expect("alerts");
    assert_eq!(
        alert.summary,
        "/etc/passwd modified (accounts) while vigild was stopped"
    );
    assert_eq!(alert.labels["changed_while_stopped"], "true");
}

#[test]
fn a_chmod_shows_modes_in_octal() {
    let chmod = record(
        "/usr/bin/find",
        FileChangeKind::Metadata,
        Some(file(0o755, b"elf")),
        Some(file(0o4755, b"elf")),
    );
    let alert = rules()
        .alert_for(&chmod, &ctx(&team_ops()))
        .expect("alerts");
    assert_eq!(alert.summary, "/usr/bin/find metadata changed (setuid)");
    assert_eq!(alert.annotations["old_mode"], "0755");
    assert_eq!(alert.annotations["new_mode"], "4755");
    assert!(
        !alert.annotations.contains_key("old_owner"),
        "owner unchanged"
    );
    assert!(!alert.annotations.contains_key("old_size"));
}

#[test]
fn a_chown_shows_owners() {
    let mut new = file(0o640, b"x");
    new.uid = 1000;
    new.gid = 42;
    let chown = record(
        "/etc/shadow",
        FileChangeKind::Metadata,
        Some(file(0o640, b"x")),
        Some(new),
    );
    let alert = rules()
        .alert_for(&chown, &ctx(&team_ops()))
        .expect("alerts");
    assert_eq!(alert.annotations["old_owner"], "0:0");
    assert_eq!(alert.annotations["new_owner"], "1000:42");
    assert!(
        !alert.annotations.contains_key("old_mode"),
        "mode unchanged"
    );
}

#[test]
fn a_creation_shows_the_new_side_and_a_deletion_the_old() {
    let created = record(
        "/etc/cron.d/job",
        FileChangeKind::Created,
        None,
        Some(file(0o644, b"job")),
    );
    let alert = rules()
        .alert_for(&created, &ctx(&team_ops()))
        .expect("alerts");
    assert_eq!(
        alert.annotations,
        labels(&[
            ("new_sha256", &Hash::sha256(b"job").to_hex()),
            ("new_mode", "0644"),
            ("new_type", "file"),
            ("new_owner", "0:0"),
            ("new_size", "3"),
        ])
    );
    let deleted = record(
        "/etc/cron.d/job",
        FileChangeKind::Deleted,
        Some(file(0o644, b"job")),
        None,
    );
    let alert = rules()
        .alert_for(&deleted, &ctx(&team_ops()))
        .expect("alerts");
    assert_eq!(alert.summary, "/etc/cron.d/job deleted (cron)");
    assert_eq!(alert.annotations["old_mode"], "0644");
    assert!(alert.annotations.keys().all(|k| k.starts_with("old_")));
}

#[test]
fn a_rename_names_where_it_came_from() {
    let mut moved = record(
        "/etc/sudoers.d/zz",
        FileChangeKind::Renamed,
        Some(file(0o440, b"ALL")),
        Some(file(0o440, b"ALL")),
    );
    moved.from = Some("/tmp/zz".into());
    let alert = rules()
        .alert_for(&moved, &ctx(&team_ops()))
        .expect("alerts");
    assert_eq!(
        alert.summary,
        "/etc/sudoers.d/zz renamed from /tmp/zz (sudoers)"
    );
    assert_eq!(alert.annotations["from"], "/tmp/zz");
    assert_eq!(alert.labels["change"], "renamed");
}

#[test]
fn symlinks_and_xattrs() {
    let mut old = file(0o777, b"");
    old.file_type = FileType::Symlink;
    old.sha256 = None;
    old.link_target = Some("/usr/lib/libc.so".into());
    let mut new = old.clone();
    new.link_target = Some("/tmp/evil.so".into());
    new.xattrs = vec![("security.capability".into(), Hash::sha256(b"cap"))];
    let change = record(
        "/etc/ld.so.preload",
        FileChangeKind::Metadata,
        Some(old),
        Some(new),
    );
    let alert = rules()
        .alert_for(&change, &ctx(&team_ops()))
        .expect("alerts");
    assert_eq!(alert.annotations["old_link_target"], "/usr/lib/libc.so");
    assert_eq!(alert.annotations["new_link_target"], "/tmp/evil.so");
    assert_eq!(alert.annotations["changed_xattrs"], "security.capability");
    assert!(!alert.annotations.contains_key("old_sha256"));
}

#[test]
fn a_newline_in_a_path_stays_out_of_the_summary() {
    let alert = rules()
        .alert_for(&modified("/tmp/a\nb"), &ctx(&team_ops()))
        .expect("alerts");
    assert_eq!(alert.summary, "/tmp/a\\nb modified (etc)");
    assert_eq!(
        alert.labels["path"], "/tmp/a\nb",
        "labels keep the exact path"
    );
}
