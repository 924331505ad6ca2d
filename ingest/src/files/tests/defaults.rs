//! What the built-in pack decides for the usual paths.

use vigil_store::{FileChangeKind, FileType, Severity};

use super::{ctx, file, modified, record, team_ops};
use crate::files::{RuleSet, default_rules};

/// The rule and severity the default pack gives `record`.
fn decide(record: &vigil_store::FileRecord) -> Option<(String, Severity)> {
    let set = RuleSet::compile(&[], true).expect("the default pack compiles");
    let labels = team_ops();
    set.alert_for(record, &ctx(&labels))
        .map(|alert| (alert.labels["rule"].clone(), alert.severity))
}

/// `decide` for a content change to `path`.
fn decide_modified(path: &str) -> (String, Severity) {
    decide(&modified(path)).expect("every change alerts")
}

#[test]
fn the_pack_compiles_with_unique_names() {
    let rules = default_rules();
    RuleSet::compile(&rules, false).expect("compiles as operator rules too");
    let mut names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), rules.len());
}

#[test]
fn sensitive_paths() {
    let cases = [
        ("/etc/ssh/sshd_config", "ssh-config", Severity::Critical),
        (
            "/etc/ssh/sshd_config.d/50-cloud.conf",
            "ssh-config",
            Severity::Critical,
        ),
        ("/etc/ssh", "ssh-config", Severity::Critical),
        ("/etc/sudoers", "sudoers", Severity::Critical),
        ("/etc/sudoers.d/90-admins", "sudoers", Severity::Critical),
        ("/etc/passwd", "accounts", Severity::Critical),
        ("/etc/shadow", "accounts", Severity::Critical),
        ("/etc/group", "accounts", Severity::Critical),
        ("/etc/gshadow", "accounts", Severity::Critical),
        ("/etc/pam.d/common-auth", "pam", Severity::Critical),
        ("/etc/ld.so.preload", "preload", Severity::Critical),
        ("/usr/bin/ls", "system-binaries", Severity::Error),
        ("/usr/sbin/sshd", "system-binaries", Severity::Error),
        ("/sbin/init", "system-binaries", Severity::Error),
        (
            "/usr/lib/systemd/system/ssh.service",
            "systemd-units",
            Severity::Error,
        ),
        (
            "/etc/systemd/system/backdoor.service",
            "systemd-units",
            Severity::Error,
        ),
        ("/etc/crontab", "cron", Severity::Error),
        ("/etc/cron.d/job", "cron", Severity::Error),
        ("/etc/cron.daily/logrotate", "cron", Severity::Error),
        ("/var/spool/cron/crontabs/root", "cron", Severity::Error),
        ("/etc/hosts", "name-resolution", Severity::Warning),
        ("/etc/resolv.conf", "name-resolution", Severity::Warning),
    ];
    for (path, rule, severity) in cases {
        assert_eq!(decide_modified(path), (rule.to_owned(), severity), "{path}");
    }
}

#[test]
fn near_misses_fall_to_the_set() {
    for path in [
        "/etc/passwd-",
        "/etc/sshd",
        "/etc/hostname",
        "/usr/local/lib/x.so",
        "/etc/sudoers.bak",
    ] {
        assert_eq!(
            decide_modified(path),
            ("default".to_owned(), Severity::Warning),
            "{path}"
        );
    }
}

#[test]
fn a_new_setuid_file_anywhere_is_critical() {
    for mode in [0o4755, 0o2755, 0o6711] {
        let created = record(
            "/tmp/.x/sh",
            FileChangeKind::Created,
            None,
            Some(file(mode, b"elf")),
        );
        assert_eq!(
            decide(&created),
            Some(("setuid".to_owned(), Severity::Critical)),
            "{mode:o}"
        );
    }
    // The same file without the bits is just a new file.
    let created = record(
        "/tmp/.x/sh",
        FileChangeKind::Created,
        None,
        Some(file(0o755, b"elf")),
    );
    assert_eq!(
        decide(&created),
        Some(("default".to_owned(), Severity::Warning))
    );
}

#[test]
fn chmod_u_s_on_an_existing_binary_is_the_setuid_rule() {
    let chmod = record(
        "/usr/bin/find",
        FileChangeKind::Metadata,
        Some(file(0o755, b"elf")),
        Some(file(0o4755, b"elf")),
    );
    assert_eq!(
        decide(&chmod),
        Some(("setuid".to_owned(), Severity::Critical))
    );
    // Gaining setuid while already setgid counts.
    let more = record(
        "/usr/bin/x",
        FileChangeKind::Metadata,
        Some(file(0o2755, b"e")),
        Some(file(0o6755, b"e")),
    );
    assert_eq!(decide(&more).map(|d| d.0), Some("setuid".to_owned()));
}

#[test]
fn an_already_setuid_binary_updated_is_a_system_binary_change() {
    let update = record(
        "/usr/bin/passwd",
        FileChangeKind::Modified,
        Some(file(0o4755, b"v1")),
        Some(file(0o4755, b"v2")),
    );
    assert_eq!(
        decide(&update),
        Some(("system-binaries".to_owned(), Severity::Error))
    );
    // Losing the bit is not gaining it.
    let dropped = record(
        "/usr/bin/passwd",
        FileChangeKind::Metadata,
        Some(file(0o4755, b"v")),
        Some(file(0o755, b"v")),
    );
    assert_eq!(
        decide(&dropped).map(|d| d.0),
        Some("system-binaries".to_owned())
    );
}

#[test]
fn only_regular_files_count_as_setuid() {
    let mut dir = file(0o2775, b"");
    dir.file_type = FileType::Dir;
    dir.sha256 = None;
    let created = record(
        "/srv/shared",
        FileChangeKind::Created,
        None,
        Some(dir.clone()),
    );
    assert_eq!(decide(&created).map(|d| d.0), Some("default".to_owned()));
    // A directory replaced by a setgid file: the file gained the bit.
    let replaced = record(
        "/srv/shared",
        FileChangeKind::Modified,
        Some(dir),
        Some(file(0o2755, b"elf")),
    );
    assert_eq!(decide(&replaced).map(|d| d.0), Some("setuid".to_owned()));
}

#[test]
fn a_baseline_never_alerts() {
    let baseline = record(
        "/etc/shadow",
        FileChangeKind::Baseline,
        None,
        Some(file(0o640, b"root:*")),
    );
    assert_eq!(decide(&baseline), None);
    let setuid = record(
        "/usr/bin/su",
        FileChangeKind::Baseline,
        None,
        Some(file(0o4755, b"elf")),
    );
    assert_eq!(decide(&setuid), None);
    let set = RuleSet::compile(&[], true).expect("compiles");
    assert!(set.rule_for(&setuid).is_none());
}
