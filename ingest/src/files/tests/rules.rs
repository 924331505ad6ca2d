//! `RuleConfig` as TOML, `RuleSet::compile`'s checks and errors, and the
//! order rules are tried in.

use std::collections::BTreeMap;

use vigil_store::{FileChangeKind, Severity};

use super::{ctx, file, modified, record, team_ops};
use crate::files::{RuleConfig, RuleSet};

/// The `[[collect.file_rules]]` tables in `text`.
fn parse(text: &str) -> Result<Vec<RuleConfig>, toml::de::Error> {
    #[derive(serde::Deserialize)]
    struct Collect {
        file_rules: Vec<RuleConfig>,
    }
    #[derive(serde::Deserialize)]
    struct Config {
        collect: Collect,
    }
    toml::from_str::<Config>(text).map(|c| c.collect.file_rules)
}

/// A rule alerting on every change to `paths`, with no severity.
fn rule(name: &str, paths: &[&str]) -> RuleConfig {
    RuleConfig {
        name: name.into(),
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        changes: None,
        setuid: false,
        severity: None,
        labels: BTreeMap::new(),
        alert: true,
    }
}

/// The error `compile` gives for `rules` alone.
fn error(rules: &[RuleConfig]) -> String {
    RuleSet::compile(rules, false)
        .expect_err("should not compile")
        .to_string()
}

#[test]
fn toml_defaults_and_every_field() {
    let rules = parse(
        r#"
        [[collect.file_rules]]
        name = "app"
        paths = ["/srv/app/**"]

        [[collect.file_rules]]
        name = "tmp-setuid"
        paths = ["/tmp/**"]
        changes = ["created", "metadata"]
        setuid = true
        severity = "critical"
        labels = { team = "sec" }
        alert = false
        "#,
    )
    .expect("parses");
    assert_eq!(rules[0], rule("app", &["/srv/app/**"]));
    assert_eq!(
        rules[1],
        RuleConfig {
            name: "tmp-setuid".into(),
            paths: vec!["/tmp/**".into()],
            changes: Some(vec!["created".into(), "metadata".into()]),
            setuid: true,
            severity: Some("critical".into()),
            labels: BTreeMap::from([("team".into(), "sec".into())]),
            alert: false,
        }
    );
    RuleSet::compile(&rules, true).expect("compiles");
}

#[test]
fn toml_unknown_and_missing_fields_are_refused() {
    let unknown = parse("[[collect.file_rules]]\nname = \"a\"\npaths = [\"/a\"]\npath = \"/b\"\n")
        .expect_err("unknown field");
    assert!(
        unknown.to_string().contains("unknown field `path`"),
        "{unknown}"
    );
    let missing = parse("[[collect.file_rules]]\nname = \"a\"\n").expect_err("no paths");
    assert!(
        missing.to_string().contains("missing field `paths`"),
        "{missing}"
    );
}

#[test]
fn errors_name_the_rule_and_the_field() {
    let mut rules = vec![
        rule("a", &["/a"]),
        rule("b", &["/b"]),
        rule("ssh", &["/etc/ssh/**", "/etc/[ssh"]),
    ];
    assert_eq!(
        error(&rules),
        "rule \"ssh\" (file_rules[2]): paths[1]: unclosed character class (at byte 5 of `/etc/[ssh`)"
    );
    rules[2].paths = vec![];
    assert_eq!(
        error(&rules),
        "rule \"ssh\" (file_rules[2]): paths: empty: name at least one glob"
    );
    rules[2].paths = vec!["etc/ssh".into()];
    assert_eq!(
        error(&rules),
        "rule \"ssh\" (file_rules[2]): paths[0]: not an absolute path (a pattern starts with `/`) (at byte 0 of `etc/ssh`)"
    );
}

#[test]
fn bad_names_are_refused() {
    assert_eq!(
        error(&[rule("a", &["/a"]), rule("a", &["/b"])]),
        "rule \"a\" (file_rules[1]): name: the same as file_rules[0]'s"
    );
    assert_eq!(
        error(&[rule("", &["/a"])]),
        "rule \"\" (file_rules[0]): name: empty"
    );
    assert_eq!(
        error(&[rule("default", &["/a"])]),
        "rule \"default\" (file_rules[0]): name: `default` is reserved for changes no rule matches"
    );
    assert_eq!(
        error(&[rule("a\nb", &["/a"])]),
        "rule \"a\\nb\" (file_rules[0]): name: holds a control character"
    );
}

#[test]
fn bad_changes_are_refused() {
    let mut bad = rule("r", &["/a"]);
    bad.changes = Some(vec!["created".into(), "chmod".into()]);
    assert_eq!(
        error(&[bad.clone()]),
        "rule \"r\" (file_rules[0]): changes[1]: unknown change `chmod`; expected created, modified, deleted, metadata or renamed"
    );
    bad.changes = Some(vec!["baseline".into()]);
    assert!(error(&[bad.clone()]).contains("changes[0]: `baseline` never alerts"));
    bad.changes = Some(vec![]);
    assert_eq!(
        error(&[bad]),
        "rule \"r\" (file_rules[0]): changes: empty: leave it out to match every change"
    );
}

#[test]
fn bad_severities_and_labels_are_refused() {
    let mut bad = rule("r", &["/a"]);
    bad.severity = Some("urgent".into());
    assert_eq!(
        error(&[bad]),
        "rule \"r\" (file_rules[0]): severity: unknown severity `urgent`; expected info, warning, error or critical"
    );
    let mut bad = rule("r", &["/a"]);
    bad.labels.insert("my-team".into(), "x".into());
    assert_eq!(
        error(&[bad]),
        "rule \"r\" (file_rules[0]): labels.\"my-team\": not a label name (ASCII letters, digits and `_`, not starting with a digit)"
    );
    let mut bad = rule("r", &["/a"]);
    bad.labels.insert("path".into(), "/elsewhere".into());
    assert_eq!(
        error(&[bad]),
        "rule \"r\" (file_rules[0]): labels.\"path\": reserved: every file alert sets it"
    );
}

#[test]
fn the_first_matching_rule_wins_and_operator_rules_come_first() {
    let mut mine = rule("my-ssh", &["/etc/ssh/sshd_config"]);
    mine.severity = Some("info".into());
    let set = RuleSet::compile(&[mine], true).expect("compiles");
    assert_eq!(set.rules()[0].name(), "my-ssh");
    assert!(!set.rules()[0].is_builtin());
    assert!(set.rules()[1..].iter().all(|r| r.is_builtin()));

    let labels = team_ops();
    let alert = set
        .alert_for(&modified("/etc/ssh/sshd_config"), &ctx(&labels))
        .expect("alerts");
    assert_eq!(alert.severity, Severity::Info);
    assert_eq!(alert.labels["rule"], "my-ssh");
    // The rest of /etc/ssh still falls to the default rule.
    let alert = set
        .alert_for(&modified("/etc/ssh/ssh_config"), &ctx(&labels))
        .expect("alerts");
    assert_eq!(
        (alert.severity, alert.labels["rule"].as_str()),
        (Severity::Critical, "ssh-config")
    );
}

#[test]
fn without_defaults_only_the_operator_rules_apply() {
    let set = RuleSet::compile(&[], false).expect("compiles");
    assert!(set.rules().is_empty());
    let labels = team_ops();
    let alert = set
        .alert_for(&modified("/etc/shadow"), &ctx(&labels))
        .expect("alerts");
    assert_eq!(
        (alert.severity, alert.labels["rule"].as_str()),
        (Severity::Warning, "default")
    );
}

#[test]
fn changes_restrict_a_rule() {
    let mut deletions = rule("keep", &["/srv/**"]);
    deletions.changes = Some(vec!["deleted".into()]);
    deletions.severity = Some("error".into());
    let set = RuleSet::compile(&[deletions], false).expect("compiles");
    let gone = record(
        "/srv/a",
        FileChangeKind::Deleted,
        Some(file(0o644, b"a")),
        None,
    );
    assert_eq!(set.rule_for(&gone).map(|r| r.name()), Some("keep"));
    assert!(set.rule_for(&modified("/srv/a")).is_none());
}

#[test]
fn a_silencing_rule_records_without_alerting() {
    let mut quiet = rule("logs", &["/etc/app/*.log"]);
    quiet.alert = false;
    let set = RuleSet::compile(&[quiet], true).expect("compiles");
    let labels = team_ops();
    let change = modified("/etc/app/x.log");
    assert_eq!(set.rule_for(&change).map(|r| r.alerts()), Some(false));
    assert_eq!(set.alert_for(&change, &ctx(&labels)), None);
    // It silences only what it covers.
    assert!(
        set.alert_for(&modified("/etc/app/x.conf"), &ctx(&labels))
            .is_some()
    );
}

#[test]
fn a_silencing_rule_before_a_default_silences_it() {
    let mut quiet = rule("resolv", &["/etc/resolv.conf"]);
    quiet.alert = false;
    let set = RuleSet::compile(&[quiet], true).expect("compiles");
    assert_eq!(
        set.alert_for(&modified("/etc/resolv.conf"), &ctx(&team_ops())),
        None
    );
}

#[test]
fn a_rename_matches_on_either_path() {
    let set = RuleSet::compile(&[], true).expect("compiles");
    let mut moved = record(
        "/tmp/sshd_config",
        FileChangeKind::Renamed,
        Some(file(0o600, b"a")),
        Some(file(0o600, b"a")),
    );
    moved.from = Some("/etc/ssh/sshd_config".into());
    assert_eq!(set.rule_for(&moved).map(|r| r.name()), Some("ssh-config"));
    // `from` counts only for a rename.
    let mut odd = modified("/tmp/x");
    odd.from = Some("/etc/ssh/sshd_config".into());
    assert!(set.rule_for(&odd).is_none());
}
