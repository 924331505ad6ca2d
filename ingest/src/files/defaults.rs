//! The built-in rule pack: the paths whose change means someone gained or
//! kept access, appended after the operator's rules (which therefore win).
//!
//! Order matters only where paths overlap: `setuid` comes first so that
//! `chmod u+s /usr/bin/x` is reported as a new setuid file, not as one more
//! change to a system binary.

use std::collections::BTreeMap;

use super::rules::RuleConfig;

/// The built-in rules, in the order they are tried (after the operator's).
///
/// | rule | paths | severity |
/// | --- | --- | --- |
/// | `setuid` | a regular file anywhere that gained setuid or setgid, or was created with it | critical |
/// | `ssh-config` | `/etc/ssh/**` | critical |
/// | `sudoers` | `/etc/sudoers`, `/etc/sudoers.d/**` | critical |
/// | `accounts` | `/etc/passwd`, `/etc/shadow`, `/etc/group`, `/etc/gshadow` | critical |
/// | `pam` | `/etc/pam.d/**` | critical |
/// | `preload` | `/etc/ld.so.preload` | critical |
/// | `system-binaries` | `/usr/bin/**`, `/usr/sbin/**`, `/bin/**`, `/sbin/**` | error |
/// | `systemd-units` | `/usr/lib/systemd/**`, `/lib/systemd/**`, `/etc/systemd/**` | error |
/// | `cron` | `/etc/cron*/**` (`/etc/crontab` included), `/var/spool/cron/**` | error |
/// | `name-resolution` | `/etc/hosts`, `/etc/resolv.conf` | warning |
///
/// `setuid` comes first so that `chmod u+s /usr/bin/x` is reported as a new
/// setuid file rather than one more change to a system binary. The rules
/// apply only to what the `[[collect.files]]` entries watch.
pub fn default_rules() -> Vec<RuleConfig> {
    vec![
        // Anywhere: a setuid or setgid file is a way to root.
        rule("setuid", &["/**"], "critical").setuid(),
        rule("ssh-config", &["/etc/ssh/**"], "critical"),
        rule(
            "sudoers",
            &["/etc/sudoers", "/etc/sudoers.d/**"],
            "critical",
        ),
        rule(
            "accounts",
            &["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"],
            "critical",
        ),
        rule("pam", &["/etc/pam.d/**"], "critical"),
        // Libraries listed here are loaded into every process.
        rule("preload", &["/etc/ld.so.preload"], "critical"),
        // `/bin` and `/sbin` for systems whose /usr is not merged.
        rule(
            "system-binaries",
            &["/usr/bin/**", "/usr/sbin/**", "/bin/**", "/sbin/**"],
            "error",
        ),
        rule(
            "systemd-units",
            &["/usr/lib/systemd/**", "/lib/systemd/**", "/etc/systemd/**"],
            "error",
        ),
        // `/etc/cron*/**` covers /etc/crontab, /etc/cron.allow and every
        // /etc/cron.d, cron.daily... with what is in them.
        rule("cron", &["/etc/cron*/**", "/var/spool/cron/**"], "error"),
        rule(
            "name-resolution",
            &["/etc/hosts", "/etc/resolv.conf"],
            "warning",
        ),
    ]
}

/// A rule that alerts on every change to `paths`.
fn rule(name: &str, paths: &[&str], severity: &str) -> RuleConfig {
    RuleConfig {
        name: name.to_owned(),
        paths: paths.iter().map(|path| (*path).to_owned()).collect(),
        changes: None,
        setuid: false,
        severity: Some(severity.to_owned()),
        labels: BTreeMap::new(),
        alert: true,
    }
}

impl RuleConfig {
    /// The same rule, matching only files that gained setuid or setgid.
    fn setuid(mut self) -> RuleConfig {
        self.setuid = true;
        self
    }
}
