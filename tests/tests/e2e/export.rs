//! `vigilctl export` as an auditor uses it: from the running daemon and
//! from a stopped one's store, verified with `vigilctl verify --export` and
//! with the standard-library Python verifier, refused cleanly when asked
//! for something impossible, and recorded in the log as an access.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use vigil_tests::*;

fn python_verifier() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/verify_export.py")
}

fn python(file: &Path, key: &Path) -> (bool, String) {
    let out = Command::new("python3")
        .arg(python_verifier())
        .arg(file)
        .arg("--key")
        .arg(key)
        .output()
        .expect("python3 must be installed to run the reference verifier");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn emit_some(daemon: &Daemon, n: usize) {
    for i in 0..n {
        ok(&daemon.ctl(&[
            "emit",
            "--message",
            &format!("audit me {i}"),
            "--label",
            &format!("n={i}"),
        ]));
    }
}

#[test]
fn an_export_from_the_daemon_verifies_in_rust_and_in_python() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    emit_some(&daemon, 20);
    let file = tmp.path().join("all.jsonl");
    let out = daemon.ctl(&["export", "--output", file.to_str().unwrap()]);
    ok(&out);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("exported") && said.contains("entries"),
        "{said}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let lines = json_lines(&text);
    assert_eq!(lines[0]["record"], "header");
    assert_eq!(lines.last().unwrap()["record"], "trailer");
    let messages: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["event"]["custom"]["message"].as_str())
        .collect();
    assert_eq!(messages.len(), 20, "{messages:?}");

    let key = daemon.state_dir.join("verification.key");
    let key = key.to_str().unwrap();
    let verified = ok(&daemon.ctl(&["verify", "--export", file.to_str().unwrap(), "--key", key]));
    assert!(verified.contains("export OK"), "{verified}");
    assert!(verified.contains("intact up to seq"), "{verified}");
    let (good, said) = python(&file, Path::new(key));
    assert!(good, "{said}");

    // One altered line: both verifiers name its seq.
    let seq = lines[5]["seq"].as_u64().unwrap();
    let mut tampered: Vec<String> = text.lines().map(str::to_string).collect();
    let mut line: serde_json::Value = serde_json::from_str(text.lines().nth(5).unwrap()).unwrap();
    line["time"] = (line["time"].as_i64().unwrap() + 1).into();
    tampered[5] = line.to_string();
    let bad = tmp.path().join("bad.jsonl");
    std::fs::write(&bad, tampered.join("\n") + "\n").unwrap();
    let out = daemon.ctl(&["verify", "--export", bad.to_str().unwrap(), "--key", key]);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("DAMAGED at seq {seq}")), "{said}");
    let (good, said) = python(&bad, Path::new(key));
    assert!(!good);
    assert!(said.contains(&format!("FAILED at seq {seq}")), "{said}");

    // The export itself is in the log: who took a copy.
    let events = ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "auth", "--limit", "100",
    ]));
    assert!(events.contains("\"export\""), "{events}");
}

#[test]
fn filters_and_ranges_through_the_daemon_and_offline_give_the_same_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let state = Path::new("state");
    let daemon = Daemon::dev_with(tmp.path(), state, &[]);
    emit_some(&daemon, 10);
    let online = ok(&daemon.ctl(&["export", "--kind", "custom", "--from", "3"]));
    let lines = json_lines(&online);
    assert_eq!(lines[0]["first"], 3);
    assert_eq!(lines[0]["filter"]["kinds"], serde_json::json!(["custom"]));
    assert!(lines.iter().any(|l| l["omitted"] == true), "{online}");
    let last = lines[0]["last"].as_u64().unwrap();
    assert!(daemon.stop().success());

    // The same range from the stopped daemon's store: identical entry lines.
    let state_dir = tmp.path().join("state");
    let out = Command::new(bin("vigilctl"))
        .args(["export", "--offline", "--state-dir"])
        .arg(&state_dir)
        .args(["--kind", "custom", "--from", "3", "--to", &last.to_string()])
        .output()
        .unwrap();
    let offline = ok(&out);
    let entries = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains("\"record\":\"entry\""))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(entries(&online), entries(&offline));
    let file = tmp.path().join("offline.jsonl");
    std::fs::write(&file, &offline).unwrap();
    let key = state_dir.join("verification.key");
    let out = Command::new(bin("vigilctl"))
        .args(["--json", "verify", "--export"])
        .arg(&file)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    // An offline export is not sealed: refused unless the auditor says so.
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-unsealed"));
    let out = Command::new(bin("vigilctl"))
        .args(["--json", "verify", "--allow-unsealed", "--export"])
        .arg(&file)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    let report = &json_lines(&ok(&out))[0];
    assert_eq!(report["header_sealed"], false, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["bodies_omitted"].as_u64().unwrap() > 0, "{report}");
}

#[test]
fn impossible_exports_are_refused_and_leave_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let file = tmp.path().join("x.jsonl");
    let path = file.to_str().unwrap();

    let out = daemon.ctl(&["export", "--from", "9", "--to", "3", "--output", path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("the range starts at seq 9, after its end at seq 3")
    );
    assert!(!file.exists(), "a refused export leaves no file");
    // The same refusal offline: no empty file passed off as an export.
    let stopped = Command::new(bin("vigilctl"))
        .args(["export", "--offline", "--state-dir"])
        .arg(tmp.path().join("nowhere"))
        .args(["--from", "9", "--to", "3"])
        .output()
        .unwrap();
    assert_eq!(stopped.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&stopped.stderr)
            .contains("the range starts at seq 9, after its end at seq 3")
    );

    let out = daemon.ctl(&["export", "--since", "yesterday-ish"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither an RFC 3339 time"));

    std::fs::write(&file, "keep me").unwrap();
    let out = daemon.ctl(&["export", "--output", path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");

    // Offline on a running daemon's store: refused, nothing touched.
    let out = Command::new(bin("vigilctl"))
        .args(["export", "--offline", "--state-dir"])
        .arg(&daemon.state_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use by a running vigild"));

    // Verifying something that is not an export fails, it does not crash.
    let out = daemon.ctl(&["verify", "--export", path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("REFUSED"));
}
