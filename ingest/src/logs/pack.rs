//! The built-in rules: what an administrator wants from sshd, sudo, su,
//! systemd and the kernel without writing a regex. Patterns match the
//! message wherever it is in the line, so they fit a syslog file line
//! (`Dec  6 10:00:01 host sshd[42]: ...`) and a journal `MESSAGE` alike.

use super::rules::{LineRuleConfig, ThresholdConfig};
use std::collections::BTreeMap;

/// An address as sshd prints it (IPv4 or IPv6).
const ADDRESS: &str = r"(?P<src_ip>[0-9A-Fa-f:.]+)";

fn rule(
    programs: &[&str],
    name: &str,
    pattern: &str,
    severity: &str,
    summary: &str,
) -> LineRuleConfig {
    LineRuleConfig {
        name: name.into(),
        pattern: pattern.into(),
        severity: Some(severity.into()),
        summary: Some(summary.into()),
        labels: BTreeMap::new(),
        threshold: None,
        alert: true,
        programs: programs.iter().map(|p| p.to_string()).collect(),
    }
}

/// sshd, and the per-connection process newer OpenSSH logs as.
const SSHD: &[&str] = &["sshd", "sshd-session"];

fn per_address(count: u32, within: &str, cooldown: &str) -> Option<ThresholdConfig> {
    Some(ThresholdConfig {
        count,
        within: within.into(),
        same: vec!["src_ip".into()],
        cooldown: Some(cooldown.into()),
    })
}

/// The pack, in the order it is tried.
pub fn builtin_rules() -> Vec<LineRuleConfig> {
    let mut failed = rule(
        SSHD,
        "sshd-failed-password",
        &format!(
            r"Failed (?:password|publickey|keyboard-interactive/pam) for (?:invalid user )?(?P<user>\S+) from {ADDRESS} port \d+"
        ),
        "error",
        "repeated failed SSH logins from {src_ip} (last as {user})",
    );
    failed.threshold = per_address(5, "60s", "10m");
    let mut invalid = rule(
        SSHD,
        "sshd-invalid-user",
        &format!(r"Invalid user (?P<user>\S*) from {ADDRESS}"),
        "warning",
        "SSH logins as unknown users from {src_ip} (last {user})",
    );
    invalid.threshold = per_address(5, "60s", "10m");
    let mut su = rule(
        &["su"],
        "su-auth-failure",
        r"pam_unix\(su(?:-l)?:auth\): authentication failure;.*?\bruser=(?P<ruser>\S*).*\buser=(?P<user>\S+)",
        "warning",
        "su to {user} failed for {ruser}",
    );
    su.threshold = Some(ThresholdConfig {
        count: 3,
        within: "5m".into(),
        same: vec!["ruser".into()],
        cooldown: Some("15m".into()),
    });
    vec![
        failed,
        invalid,
        rule(
            SSHD,
            "sshd-max-auth-attempts",
            &format!(
                r"maximum authentication attempts exceeded for (?:invalid user )?(?P<user>\S+) from {ADDRESS}"
            ),
            "error",
            "too many SSH authentication attempts for {user} from {src_ip}",
        ),
        rule(
            &["sudo"],
            "sudo-auth-failure",
            r"pam_unix\(sudo(?:-i)?:auth\): authentication failure;.*\buser=(?P<user>\S+)",
            "warning",
            "sudo password failed for {user}",
        ),
        rule(
            &["sudo"],
            "sudo-incorrect-password",
            r"(?P<user>\S+) : (?P<attempts>\d+) incorrect password attempts? ;.*COMMAND=(?P<command>.*)$",
            "error",
            "{user} failed sudo {attempts} times for {command}",
        ),
        rule(
            &["sudo"],
            "sudo-not-in-sudoers",
            r"(?P<user>\S+) : (?:user NOT in sudoers|user NOT authorized on host) ;.*COMMAND=(?P<command>.*)$",
            "critical",
            "{user} is not allowed to sudo and tried {command}",
        ),
        su,
        rule(
            &["su"],
            "su-failed",
            r"FAILED SU \(to (?P<user>\S+)\) (?P<ruser>\S+) on",
            "warning",
            "su to {user} failed for {ruser}",
        ),
        rule(
            &["systemd"],
            "systemd-unit-failed",
            r"(?P<unit>[\w@.:\\-]+\.(?:service|socket|timer|mount|path|target)): Failed with result '(?P<result>[^']+)'",
            "error",
            "{unit} failed ({result})",
        ),
        rule(
            &["kernel"],
            "kernel-oom-kill",
            r"Out of memory: Killed process (?P<pid>\d+) \((?P<process>[^)]+)\)",
            "error",
            "the kernel killed {process} (pid {pid}): out of memory",
        ),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::logs::LineRules;

    /// A line, the rule it must match, and captures it must give.
    type Sample = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    );

    /// Lines as Debian 12 writes them: the journal's message, and the same
    /// through rsyslog's file format.
    const SAMPLES: &[Sample] = &[
        (
            "Dec  6 10:00:01 bastion sshd[4242]: Failed password for invalid user admin from 203.0.113.5 port 51234 ssh2",
            "sshd-failed-password",
            &[("user", "admin"), ("src_ip", "203.0.113.5")],
        ),
        (
            "sshd[77]: Failed password for root from 2001:db8::7 port 40022 ssh2",
            "sshd-failed-password",
            &[("user", "root"), ("src_ip", "2001:db8::7")],
        ),
        (
            "sshd-session[78]: Failed publickey for deploy from 198.51.100.9 port 2222 ssh2: ED25519 SHA256:abc",
            "sshd-failed-password",
            &[("user", "deploy")],
        ),
        (
            "Dec  6 10:00:01 bastion sshd[4242]: Invalid user oracle from 203.0.113.5 port 51234",
            "sshd-invalid-user",
            &[("user", "oracle"), ("src_ip", "203.0.113.5")],
        ),
        (
            "sshd[79]: error: maximum authentication attempts exceeded for root from 203.0.113.5 port 51234 ssh2 [preauth]",
            "sshd-max-auth-attempts",
            &[("user", "root")],
        ),
        (
            "sudo[990]: pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=alice",
            "sudo-auth-failure",
            &[("user", "alice")],
        ),
        (
            "Dec  6 10:02:11 web sudo[991]:    alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx",
            "sudo-incorrect-password",
            &[
                ("user", "alice"),
                ("attempts", "3"),
                ("command", "/usr/bin/systemctl restart nginx"),
            ],
        ),
        (
            "sudo[992]:      bob : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/id",
            "sudo-not-in-sudoers",
            &[("user", "bob"), ("command", "/usr/bin/id")],
        ),
        (
            "su[1201]: pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=root",
            "su-auth-failure",
            &[("user", "root"), ("ruser", "alice")],
        ),
        (
            "Dec  6 10:03:00 web su[1200]: FAILED SU (to root) alice on pts/0",
            "su-failed",
            &[("user", "root"), ("ruser", "alice")],
        ),
        (
            "Dec  6 10:04:00 web systemd[1]: nginx.service: Failed with result 'exit-code'.",
            "systemd-unit-failed",
            &[("unit", "nginx.service"), ("result", "exit-code")],
        ),
        (
            "systemd[1]: getty@tty1.service: Failed with result 'timeout'.",
            "systemd-unit-failed",
            &[("unit", "getty@tty1.service")],
        ),
        (
            "Dec  6 10:05:00 db kernel: [123456.789] Out of memory: Killed process 3141 (postgres) total-vm:8123456kB, anon-rss:7000000kB, file-rss:0kB, shmem-rss:0kB, UID:105 pgtables:14000kB oom_score_adj:0",
            "kernel-oom-kill",
            &[("pid", "3141"), ("process", "postgres")],
        ),
    ];

    #[test]
    fn every_builtin_rule_matches_real_lines_and_captures_their_fields() {
        let rules = LineRules::compile(&builtin_rules()).unwrap();
        for (line, rule, captures) in SAMPLES {
            let found = rules.matches(line);
            assert_eq!(found.len(), 1, "{line}: {found:#?}");
            assert_eq!(found[0].name, *rule, "{line}");
            for (name, value) in *captures {
                assert_eq!(found[0].captures[*name], *value, "{line}: {name}");
            }
        }
        let covered: std::collections::BTreeSet<&str> = SAMPLES.iter().map(|s| s.1).collect();
        for rule in builtin_rules() {
            assert!(
                covered.contains(rule.name.as_str()),
                "{} has no sample",
                rule.name
            );
        }
    }

    #[test]
    fn five_failed_ssh_logins_from_one_address_in_a_minute_make_one_alert() {
        use vigil_views::logs::{Counted, Thresholds};
        let rules = LineRules::compile(&builtin_rules()).unwrap();
        let mut state = Thresholds::default();
        let mut reached = Vec::new();
        for (i, ip) in [
            "203.0.113.5",
            "203.0.113.5",
            "198.51.100.1",
            "203.0.113.5",
            "203.0.113.5",
            "203.0.113.5",
            "203.0.113.5",
        ]
        .iter()
        .enumerate()
        {
            let line = format!("sshd[42]: Failed password for root from {ip} port 22 ssh2");
            let found = &rules.matches(&line)[0];
            let rule = &rules.rules()[found.rule];
            let counted = rule.threshold.as_ref().unwrap().count_for(&found.captures);
            let at = i64::try_from(i).unwrap() * 5_000_000;
            if let Counted::Reached { count } = state.observe(&rule.name, &counted, at) {
                reached.push((i, counted.key, count));
            }
        }
        assert_eq!(reached, [(5, "203.0.113.5".to_string(), 5)]);
    }

    #[test]
    fn ordinary_lines_match_nothing() {
        let rules = LineRules::compile(&builtin_rules()).unwrap();
        for line in [
            "Accepted publickey for deploy from 198.51.100.9 port 2222 ssh2: ED25519 SHA256:abc",
            "pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
            "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
            "nginx.service: Deactivated successfully.",
            // The right words from the wrong program: anyone can `logger` them.
            "Dec  6 10:00:01 bastion myapp[7]: Failed password for root from 203.0.113.5 port 22 ssh2",
            "Failed password for root from 203.0.113.5 port 22 ssh2",
            "alice: nginx.service: Failed with result 'exit-code'.",
            "Started nginx.service - A high performance web server.",
            "",
        ] {
            assert!(rules.matches(line).is_empty(), "{line}");
        }
    }

    /// The pack is tried on many lines at once, and that passes over no
    /// line it matches: each sample, amid ordinary lines, is tried alone.
    #[test]
    fn the_pack_scans_whole_runs_of_lines_and_passes_over_no_match() {
        let rules = LineRules::compile(&builtin_rules()).unwrap();
        let scan = rules.scan().expect("the pack has no absolute anchors");
        let ordinary = "Dec  6 10:00:00 bastion CRON[1]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)";
        let mut text = String::new();
        for (line, _, _) in SAMPLES {
            text.push_str(ordinary);
            text.push('\n');
            text.push_str(line);
            text.push('\n');
        }
        let mut tried = Vec::new();
        let mut at = 0;
        while let Some(start) = scan.first_candidate(&text[at..]) {
            let line_start = at + start;
            let end = line_start + text[line_start..].find('\n').unwrap();
            tried.push(&text[line_start..end]);
            at = end + 1;
        }
        let samples: Vec<&str> = SAMPLES.iter().map(|s| s.0).collect();
        assert_eq!(tried, samples);
        for line in tried {
            assert_eq!(rules.matches_found(line), rules.matches(line), "{line}");
        }
    }
}
