//! The shipped systemd units, sysusers and tmpfiles snippets are checked by
//! systemd's own tools: `systemd-analyze verify` (any warning fails, since a
//! misspelt key only warns), `systemd-analyze security` (exposure at most
//! 1.5), `systemd-sysusers` and `systemd-tmpfiles` into a scratch root.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use vigil_tests::*;

fn systemd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../systemd")
}

fn unit(name: &str) -> String {
    std::fs::read_to_string(systemd_dir().join(name)).unwrap()
}

/// Copies the units into `dir` with `/usr/bin/vigild` replaced by the
/// binary under test, so verify can check that ExecStart= exists.
fn staged_units(dir: &Path) -> (PathBuf, PathBuf) {
    let vigild = bin("vigild");
    let service = dir.join("vigild.service");
    let socket = dir.join("vigild.socket");
    std::fs::write(
        &service,
        unit("vigild.service").replace("/usr/bin/vigild", vigild.to_str().unwrap()),
    )
    .unwrap();
    std::fs::write(&socket, unit("vigild.socket")).unwrap();
    (service, socket)
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (install Debian's systemd package): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The value(s) of `key=` in a unit, in order.
fn directive<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn units_verify_without_a_single_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let (service, socket) = staged_units(tmp.path());
    let (ok, text) = run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(&service)
        .arg(&socket)
        .current_dir(tmp.path()));
    assert!(ok, "systemd-analyze verify failed:\n{text}");
    assert!(
        text.trim().is_empty(),
        "systemd-analyze verify warned:\n{text}"
    );
}

#[test]
fn a_misspelt_directive_is_caught_by_the_same_check() {
    // Proves the check above can fail: verify only warns on unknown keys.
    let tmp = tempfile::tempdir().unwrap();
    let (service, socket) = staged_units(tmp.path());
    let text = std::fs::read_to_string(&service).unwrap();
    std::fs::write(
        &service,
        text.replace("ProtectSystem=strict", "ProtectSytem=strict"),
    )
    .unwrap();
    let (_, text) = run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(&service)
        .arg(&socket)
        .current_dir(tmp.path()));
    assert!(text.contains("ProtectSytem"), "no warning:\n{text}");
}

#[test]
fn service_exposure_is_within_threshold() {
    let tmp = tempfile::tempdir().unwrap();
    let (service, _) = staged_units(tmp.path());
    let (ok, text) = run(Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=15", "--no-pager"])
        .arg(&service)
        .current_dir(tmp.path()));
    assert!(ok, "exposure above 1.5:\n{text}");
    assert!(text.contains("Overall exposure level"), "{text}");
}

#[test]
fn service_keeps_what_vigild_needs_from_its_sandbox() {
    let service = unit("vigild.service");
    for (key, want) in [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("User", "vigil"),
        ("Group", "vigil"),
        ("StateDirectory", "vigil"),
        ("StateDirectoryMode", "0700"),
        ("RuntimeDirectory", "vigil"),
        ("RuntimeDirectoryPreserve", "yes"),
        ("UMask", "0077"),
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("MemoryDenyWriteExecute", "yes"),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("RestartPreventExitStatus", "78"),
    ] {
        assert_eq!(directive(&service, key), [want], "{key}=");
    }
    assert!(!directive(&service, "WatchdogSec").is_empty());
    assert!(directive(&service, "SystemCallFilter").contains(&"@system-service"));
    // PrivateUsers= would make every vigilctl peer uid 65534, and
    // ProtectProc=invisible would hide peers' /proc/PID/status (their groups).
    assert!(directive(&service, "PrivateUsers").is_empty());
    assert!(directive(&service, "ProtectProc").is_empty());
    // The TPM-sealed master key is one uncomment away.
    assert!(service.contains("#LoadCredentialEncrypted=vigil-master-key"));
}

#[test]
fn socket_and_service_agree_with_the_packaged_config() {
    let socket = unit("vigild.socket");
    let service = unit("vigild.service");
    let config = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/vigil.toml"),
    )
    .unwrap();
    let listen = directive(&socket, "ListenStream");
    assert_eq!(listen, ["/run/vigil/control.sock"]);
    assert!(config.contains(&format!("socket = \"{}\"", listen[0])));
    assert_eq!(directive(&socket, "SocketMode"), ["0660"]);
    assert_eq!(directive(&socket, "SocketGroup"), ["vigil"]);
    // vigild picks its control socket out of LISTEN_FDS by this name.
    assert_eq!(directive(&socket, "FileDescriptorName"), ["control"]);
    assert!(directive(&service, "ExecStart")[0].ends_with("--config /etc/vigil/vigil.toml"));

    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(bin("vigild"))
        .args(["--check-config", "--config"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/vigil.toml"))
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sysusers_and_tmpfiles_apply_to_a_scratch_root() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    let mut root_arg = std::ffi::OsString::from("--root=");
    root_arg.push(root.path());
    let (ok, text) = run(Command::new("systemd-sysusers")
        .arg(&root_arg)
        .arg(systemd_dir().join("vigil.sysusers")));
    assert!(ok, "{text}");
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    let vigil = passwd.lines().find(|l| l.starts_with("vigil:")).unwrap();
    assert!(
        vigil.ends_with(":/var/lib/vigil:/usr/sbin/nologin"),
        "{vigil}"
    );
    let group = std::fs::read_to_string(root.path().join("etc/group")).unwrap();
    assert!(group.lines().any(|l| l.starts_with("vigil:")));

    let (ok, text) = run(Command::new("systemd-tmpfiles")
        .arg(&root_arg)
        .arg("--create")
        .arg(systemd_dir().join("vigil.tmpfiles")));
    assert!(ok, "{text}");
    use std::os::unix::fs::PermissionsExt;
    for (dir, mode) in [
        ("var/lib/vigil", 0o700),
        ("run/vigil", 0o750),
        ("etc/vigil", 0o750),
    ] {
        let meta = std::fs::metadata(root.path().join(dir)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, mode, "{dir}");
    }
}
