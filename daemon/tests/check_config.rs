//! `vigild --check-config`: a valid file exits 0, an invalid one exits 1
//! naming file, line and column, and nothing is started either way.

#![allow(clippy::unwrap_used)]

use std::process::Command;

const VIGILD: &str = env!("CARGO_BIN_EXE_vigild");

fn check(text: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.toml");
    std::fs::write(&path, text).unwrap();
    Command::new(VIGILD)
        .arg("--check-config")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap()
}

#[test]
fn the_shipped_config_checks_clean() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../packaging/vigil.toml");
    let out = Command::new(VIGILD)
        .args(["--check-config", "--config", shipped])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok"));
}

#[test]
fn an_unknown_key_fails_with_its_location() {
    let out = check("[daemon]\nstate_dir = \"/tmp/x\"\nlisten = \"0.0.0.0\"\n");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("vigil.toml:3:1:") && err.contains("unknown field `listen`"),
        "{err}"
    );
}

#[test]
fn a_bad_type_fails_with_its_location() {
    let out = check("[daemon]\n\nsnapshot_every = \"often\"\n");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("vigil.toml:3:18:"), "{err}");
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = Command::new(VIGILD)
        .args(["--check-config", "--config", "/nonexistent/vigil.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/vigil.toml"));
}

#[test]
fn the_embedded_dev_config_checks_clean() {
    let out = Command::new(VIGILD)
        .args(["--dev", "--check-config"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
