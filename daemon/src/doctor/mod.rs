//! Posture checks for `vigilctl doctor`: each finding has a severity and a fix.

mod files;
mod forward;
mod logs;
mod notify;
mod retention;
mod secrets;
mod spool;

use crate::state::Shared;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;
use vigil_proto::{Finding, FindingSeverity as Sev};

/// A finding: what was checked, how bad, what was seen, how to fix it.
pub fn finding(
    check: &str,
    severity: Sev,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        check: check.into(),
        severity,
        message: message.into(),
        fix: fix.into(),
    }
}

/// Runs every check, worst findings first.
pub async fn run(shared: &Arc<Shared>) -> Vec<Finding> {
    let shared = shared.clone();
    let mut findings = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        socket(&shared, &mut out);
        state_dir(&shared, &mut out);
        verification_key(&shared, &mut out);
        config_file(&shared, &mut out);
        access(&shared, &mut out);
        verification(&shared, &mut out);
        tail_lost(&shared, &mut out);
        secrets::master_key(&shared, &mut out);
        secrets::sources(&shared, &mut out);
        spool::spool(&shared, &mut out);
        notify::allowlist(&shared, &mut out);
        notify::unsigned(&shared, &mut out);
        notify::deliveries(&shared, &mut out);
        files::files(&shared, &mut out);
        logs::logs(&shared, &mut out);
        retention::retention(&shared, &mut out);
        forward::forward(&shared, &mut out);
        out
    })
    .await
    .unwrap_or_else(|e| {
        vec![finding(
            "doctor",
            Sev::Error,
            format!("the checks crashed: {e}"),
            "report a bug",
        )]
    });
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
}

fn socket(shared: &Shared, out: &mut Vec<Finding>) {
    let path = &shared.socket;
    match std::fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o007 != 0 {
                out.push(finding(
                    "socket",
                    Sev::Error,
                    format!(
                        "{} is mode {mode:04o}: anyone on the host can connect",
                        path.display()
                    ),
                    format!(
                        "chmod o-rwx {} (and set SocketMode=0660 / socket_mode = \"0660\")",
                        path.display()
                    ),
                ));
            } else {
                out.push(finding(
                    "socket",
                    Sev::Ok,
                    format!("{} is mode {mode:04o}", path.display()),
                    "",
                ));
            }
        }
        Err(e) => out.push(finding(
            "socket",
            Sev::Warning,
            format!("cannot inspect {}: {e}", path.display()),
            "check the socket path in [daemon] socket or vigild.socket",
        )),
    }
}

fn state_dir(shared: &Shared, out: &mut Vec<Finding>) {
    let dir = shared.config().daemon.state_dir.clone();
    match std::fs::metadata(&dir) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            let me = nix::unistd::geteuid().as_raw();
            if mode & 0o077 != 0 {
                out.push(finding(
                    "state-dir",
                    Sev::Error,
                    format!(
                        "{} is mode {mode:04o}: others can read the store",
                        dir.display()
                    ),
                    format!("chmod 0700 {}", dir.display()),
                ));
            } else if meta.uid() != me {
                out.push(finding(
                    "state-dir",
                    Sev::Warning,
                    format!(
                        "{} is owned by uid {}, not the daemon's uid {me}",
                        dir.display(),
                        meta.uid()
                    ),
                    format!("chown {me} {}", dir.display()),
                ));
            } else {
                out.push(finding(
                    "state-dir",
                    Sev::Ok,
                    format!("{} is mode {mode:04o}, owned by the daemon", dir.display()),
                    "",
                ));
            }
        }
        Err(e) => out.push(finding(
            "state-dir",
            Sev::Error,
            format!("cannot inspect {}: {e}", dir.display()),
            "check [daemon] state_dir",
        )),
    }
}

fn verification_key(shared: &Shared, out: &mut Vec<Finding>) {
    let config = shared.config();
    let path = config.verification_key_path();
    if !path.exists() {
        out.push(finding(
            "verification-key",
            Sev::Ok,
            "the verification key is not on this host",
            "",
        ));
    } else if shared.dev {
        out.push(finding(
            "verification-key",
            Sev::Info,
            format!(
                "the verification key is at {} (fine in development mode)",
                path.display()
            ),
            "",
        ));
    } else {
        out.push(finding(
            "verification-key",
            Sev::Warning,
            format!("the verification key is still at {}: whoever takes this host can forge the whole log with it", path.display()),
            format!("copy {} to offline storage, then delete it here", path.display()),
        ));
    }
}

fn config_file(shared: &Shared, out: &mut Vec<Finding>) {
    let Some(path) = &shared.config_path else {
        out.push(finding(
            "config",
            Sev::Info,
            "running on the embedded development configuration",
            "",
        ));
        return;
    };
    match std::fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            let fix = format!("chown root:vigil {p} && chmod 0640 {p}", p = path.display());
            if mode & 0o002 != 0 {
                out.push(finding(
                    "config",
                    Sev::Error,
                    format!("{} is world-writable (mode {mode:04o})", path.display()),
                    fix,
                ));
            } else if mode & 0o004 != 0 {
                out.push(finding(
                    "config",
                    Sev::Warning,
                    format!("{} is world-readable (mode {mode:04o})", path.display()),
                    fix,
                ));
            } else if mode & 0o020 != 0 {
                out.push(finding(
                    "config",
                    Sev::Warning,
                    format!("{} is group-writable (mode {mode:04o})", path.display()),
                    fix,
                ));
            } else {
                out.push(finding(
                    "config",
                    Sev::Ok,
                    format!("{} is mode {mode:04o}", path.display()),
                    "",
                ));
            }
        }
        Err(e) => out.push(finding(
            "config",
            Sev::Error,
            format!("cannot inspect {}: {e}", path.display()),
            "check --config",
        )),
    }
}

fn access(shared: &Shared, out: &mut Vec<Finding>) {
    let config = shared.config();
    if config.access.break_glass_root {
        out.push(finding(
            "break-glass",
            Sev::Info,
            "root may always connect as admin (each use is logged at warning level)",
            "set [access] break_glass_root = false to require an explicit mapping",
        ));
    }
    if config.access.users.is_empty() && config.access.groups.is_empty() && !shared.dev {
        out.push(finding(
            "access",
            Sev::Warning,
            "no user or group is mapped to a role: only break-glass access works",
            "map operators in [access.users] or [access.groups]",
        ));
    }
}

fn tail_lost(shared: &Shared, out: &mut Vec<Finding>) {
    let Ok(Some(lost)) = shared.with_views(|v| v.status.tail_lost) else {
        return;
    };
    let detail = if lost.recorded_seq == 0 {
        "its record of the head was missing".to_string()
    } else {
        format!(
            "entries after seq {} up to {} are gone, and seqs from {} on now name other entries",
            lost.found_seq,
            lost.recorded_seq,
            lost.found_seq + 1
        )
    };
    out.push(finding(
        "truncation",
        Sev::Warning,
        format!(
            "the store was opened with --accept-truncation (seq {}): it ended at seq {}, before the head it recorded; {detail}",
            lost.seq, lost.found_seq
        ),
        "find out who removed them (restored backup, disk repair, intrusion); journal anchors past the loss no longer verify: vigilctl events show the tail_lost entry",
    ));
}

fn verification(shared: &Shared, out: &mut Vec<Finding>) {
    let last = shared.last_verify.lock().expect("verify lock").clone();
    let day = 24 * 3600 * 1_000_000;
    match last {
        None => out.push(finding(
            "verify",
            Sev::Warning,
            "the chain has not been verified since the daemon started",
            "vigilctl verify (with --key on a machine that holds the verification key)",
        )),
        Some(v) if !v.ok => out.push(finding(
            "verify",
            Sev::Error,
            format!(
                "the last verification FAILED: {}",
                v.problem.unwrap_or_default()
            ),
            "investigate: vigilctl verify --json; compare the head with the anchors in the journal",
        )),
        Some(v) if vigil_store::now_micros() - v.at > day => out.push(finding(
            "verify",
            Sev::Warning,
            "the last verification is more than a day old",
            "vigilctl verify",
        )),
        Some(v) => out.push(finding(
            "verify",
            Sev::Ok,
            format!("verified {} entries recently", v.entries),
            "",
        )),
    }
    if let Some(reason) = shared.log.failure() {
        out.push(finding(
            "store",
            Sev::Error,
            format!("the log writer stopped: {reason}"),
            "restart vigild; check the disk (dmesg, df)",
        ));
    }
}
