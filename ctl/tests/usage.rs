//! `vigilctl` usage and connection errors exit 2 with a message that says
//! what to do.

#![allow(clippy::unwrap_used)]

use std::process::Command;

const VIGILCTL: &str = env!("CARGO_BIN_EXE_vigilctl");

#[test]
fn no_daemon_is_a_connection_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(VIGILCTL)
        .args(["--socket"])
        .arg(dir.path().join("nothing.sock"))
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect") && err.contains("is vigild running"),
        "{err}"
    );
}

#[test]
fn no_socket_anywhere_names_the_places_tried() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(VIGILCTL)
        .arg("status")
        .current_dir(dir.path())
        .env_remove("VIGIL_SOCKET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("./vigil-data/control.sock") && err.contains("VIGIL_SOCKET"),
        "{err}"
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [
        vec!["bogus"],
        vec!["emit"],
        vec!["emit", "-m", "x", "--label", "nokey"],
        vec!["events", "list", "--kind", "nope"],
    ] {
        let out = Command::new(VIGILCTL).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let out = Command::new(VIGILCTL)
        .args(["events", "list", "--kind", "nope"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected one of"));
}

#[test]
fn offline_verify_of_a_missing_store_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(VIGILCTL)
        .args(["verify", "--offline", "--state-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Vigil store"));
}
