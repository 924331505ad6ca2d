//! Secrets end to end: values enter through stdin only, never appear in
//! any file, log, event or error, survive rotation, rewrap and restarts
//! (also SIGKILL in the middle of either), and the daemon refuses to start
//! when it cannot open secrets that exist.

#![allow(clippy::unwrap_used)]

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use vigil_tests::*;

fn key_file(path: &Path, byte: u8) -> PathBuf {
    std::fs::write(path, hex_key(byte)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.to_path_buf()
}

fn hex_key(byte: u8) -> String {
    format!("{byte:02x}").repeat(32)
}

fn config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("vigil.toml");
    let text = format!(
        r#"[daemon]
state_dir = "{state}"
socket = "{socket}"
socket_mode = "0600"

[http]
enabled = false

[secrets]
master_key_file = "{key}"
master_key_env = "VIGIL_TEST_MASTER_KEY_UNSET"
{extra}"#,
        state = dir.join("state").display(),
        socket = dir.join("control.sock").display(),
        key = dir.join("master.key").display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn canaries_never_leave_the_vault() {
    let tmp = tempfile::tempdir().unwrap();
    let canaries: Vec<(String, String)> = (0..3)
        .map(|i| (format!("canary-{i}"), format!("CANARY-{i}-7d1e0f2b9a")))
        .collect();
    let mut transcript = String::new();
    fn record(transcript: &mut String, out: &std::process::Output) {
        transcript.push_str(&String::from_utf8_lossy(&out.stdout));
        transcript.push_str(&String::from_utf8_lossy(&out.stderr));
    }

    let daemon = Daemon::dev(tmp.path(), None);
    assert!(
        daemon
            .stdout_until(banner_end)
            .join("\n")
            .contains("master key")
    );
    for (name, value) in &canaries {
        let out = daemon.ctl_stdin(&["secrets", "set", name], format!("{value}\n").as_bytes());
        record(&mut transcript, &out);
        assert!(ok(&out).contains("stored"));
    }
    // There is no argv form: a value on the command line is refused before
    // anything is sent, so it cannot linger in /proc/PID/cmdline of a
    // running vigilctl or in shell history as a working command.
    let out = daemon.ctl(&["secrets", "set", "argv", "CANARY-argv-9c1d"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // Values come on stdin.
    let out = daemon.ctl_stdin(&["secrets", "set", "pending"], b"CANARY-pending-55aa");
    record(&mut transcript, &out);
    ok(&out);
    let mut canaries = canaries;
    canaries.push(("pending".into(), "CANARY-pending-55aa".into()));

    // Errors about a value never quote it.
    let out = daemon.ctl_stdin(&["secrets", "set", "bad name"], b"CANARY-bad-name-value");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid secret name"));
    record(&mut transcript, &out);

    let list = ok(&daemon.ctl(&["--json", "secrets", "list"]));
    let rows = json_lines(&list);
    assert_eq!(rows.len(), 4, "the argv form stored nothing: {list}");
    assert!(rows.iter().all(|r| r["key_id"] == 1));
    transcript.push_str(&list);
    record(&mut transcript, &daemon.ctl(&["secrets", "rotate"]));
    let stderr_before = daemon.stderr();
    assert!(daemon.stop().success());

    let daemon = Daemon::dev(tmp.path(), None);
    let out = daemon.ctl(&["secrets", "rotate"]);
    assert!(ok(&out).contains("data key 3 is active"), "{}", ok(&out));
    record(&mut transcript, &out);
    let new_key = key_file(&tmp.path().join("new.key"), 0x5c);
    let out = daemon.ctl(&[
        "secrets",
        "rewrap",
        "--new-key-file",
        new_key.to_str().unwrap(),
    ]);
    assert!(ok(&out).contains("replaced"), "{}", ok(&out));
    record(&mut transcript, &out);
    let events = ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "secret", "--limit", "100",
    ]));
    let kinds: Vec<String> = json_lines(&events)
        .iter()
        .map(|e| {
            e["event"]["secret"]["action"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "set",
            "set",
            "set",
            "set",
            "rotated",
            "rotated",
            "rewrapped"
        ]
    );
    transcript.push_str(&events);
    transcript.push_str(&ok(
        &daemon.ctl(&["--json", "events", "list", "--limit", "1000"])
    ));
    transcript.push_str(&String::from_utf8_lossy(
        &daemon.ctl(&["--json", "doctor"]).stdout,
    ));
    let logs = format!("{stderr_before}{}", daemon.stderr());
    assert!(daemon.stop().success());

    let state = tmp.path().join("vigil-data");
    let master = state.join("master.key");
    assert_eq!(
        std::fs::read_to_string(&master).unwrap().trim(),
        hex_key(0x5c)
    );
    assert_eq!(secret_digests(&state, &master), expected_digests(&canaries));
    for (_, value) in &canaries {
        let hits = files_containing(&state, value.as_bytes());
        assert!(hits.is_empty(), "{value} found in {hits:?}");
        assert!(
            !transcript.contains(value.as_str()),
            "{value} in vigilctl output"
        );
        assert!(!logs.contains(value.as_str()), "{value} in daemon logs");
    }
}

#[test]
fn references_show_in_the_listing_and_block_deletion() {
    let tmp = tempfile::tempdir().unwrap();
    key_file(&tmp.path().join("master.key"), 0x11);
    let config = config(
        tmp.path(),
        r#"
[sources.gh]
driver = "github"
secret = "secret:gh-hook"
"#,
    );
    let daemon = Daemon::in_dir(&config, tmp.path());
    // Doctor exits 1 on an error finding; the findings are on stdout.
    let doctor = String::from_utf8_lossy(&daemon.ctl(&["--json", "doctor"]).stdout).into_owned();
    let unresolved = json_lines(&doctor)
        .into_iter()
        .find(|f| f["check"] == "source-secret")
        .expect("doctor flags the missing secret");
    assert!(
        unresolved["message"]
            .as_str()
            .unwrap()
            .contains("vigilctl secrets set gh-hook")
    );

    ok(&daemon.ctl_stdin(&["secrets", "set", "gh-hook"], b"hook-secret"));
    let list = json_lines(&ok(&daemon.ctl(&["--json", "secrets", "list"])));
    assert_eq!(list[0]["used_by"], serde_json::json!(["sources.gh.secret"]));
    let doctor = String::from_utf8_lossy(&daemon.ctl(&["--json", "doctor"]).stdout).into_owned();
    assert!(!doctor.contains("source-secret"), "{doctor}");

    let out = daemon.ctl(&["secrets", "delete", "gh-hook"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("referenced by sources.gh.secret"));
    assert_eq!(
        json_lines(&ok(&daemon.ctl(&["--json", "secrets", "list"]))).len(),
        1
    );
    assert!(ok(&daemon.ctl(&["secrets", "delete", "--force", "gh-hook"])).contains("deleted"));
    let out = daemon.ctl(&["secrets", "delete", "gh-hook"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("referenced"));
    let out = daemon.ctl(&["secrets", "delete", "--force", "gh-hook"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no secret named gh-hook"));
    assert!(daemon.stop().success());
}

#[test]
fn the_daemon_refuses_to_start_when_existing_secrets_cannot_be_opened() {
    let tmp = tempfile::tempdir().unwrap();
    let key = key_file(&tmp.path().join("master.key"), 0x22);
    let config = config(tmp.path(), "");
    let daemon = Daemon::in_dir(&config, tmp.path());
    ok(&daemon.ctl_stdin(&["secrets", "set", "smtp"], b"pw"));
    assert!(daemon.stop().success());
    let args = [OsStr::new("--config"), config.as_os_str()];

    // No key anywhere: exit 78, every place named.
    std::fs::remove_file(&key).unwrap();
    let (code, err) = vigild_fails(&args, &[]);
    assert_eq!(code, Some(78), "{err}");
    assert!(err.contains("no master key was found"), "{err}");
    assert!(err.contains("vigil-master-key"), "{err}");
    assert!(err.contains(&key.display().to_string()), "{err}");
    assert!(err.contains("VIGIL_TEST_MASTER_KEY_UNSET"), "{err}");

    // A different key: a clear error, not garbage.
    key_file(&key, 0x23);
    let (code, err) = vigild_fails(&args, &[]);
    assert_eq!(code, Some(78), "{err}");
    assert!(err.contains("wrapped under master key"), "{err}");
    assert!(!err.contains(&hex_key(0x23)), "{err}");

    // The right key, readable by others: refused.
    key_file(&key, 0x22);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, err) = vigild_fails(&args, &[]);
    assert_eq!(code, Some(78), "{err}");
    assert!(err.contains("0644") && err.contains("chmod 0600"), "{err}");

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
    let daemon = Daemon::in_dir(&config, tmp.path());
    assert_eq!(
        json_lines(&ok(&daemon.ctl(&["--json", "secrets", "list"]))).len(),
        1
    );
    assert!(daemon.stop().success());
}

#[test]
fn without_a_master_key_secrets_are_refused_with_directions() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path(), "");
    let daemon = Daemon::in_dir(&config, tmp.path());
    let out = daemon.ctl_stdin(&["secrets", "set", "x"], b"v");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no master key") && err.contains("master.key"),
        "{err}"
    );
    let doctor = json_lines(&String::from_utf8_lossy(
        &daemon.ctl(&["--json", "doctor"]).stdout,
    ));
    assert!(
        doctor
            .iter()
            .any(|f| f["check"] == "master-key" && f["severity"] == "info")
    );
    assert!(daemon.stop().success());
}

#[test]
fn sigkill_during_rotation_or_rewrap_loses_no_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("vigil-data");
    let secrets: Vec<(String, String)> = (0..12)
        .map(|i| (format!("s{i}"), format!("value-{i}-{}", "x".repeat(i * 7))))
        .collect();
    let daemon = Daemon::dev(tmp.path(), None);
    for (n, v) in &secrets {
        ok(&daemon.ctl_stdin(&["secrets", "set", n], v.as_bytes()));
    }
    assert!(daemon.stop().success());

    for round in 0..8u8 {
        let daemon = Daemon::dev(tmp.path(), None);
        let socket = daemon.socket.clone();
        let keys = tmp.path().to_path_buf();
        let done = Arc::new(AtomicU32::new(0));
        let counter = done.clone();
        let worker = std::thread::spawn(move || {
            for i in 0..1000u32 {
                let mut cmd = std::process::Command::new(bin("vigilctl"));
                cmd.arg("--socket").arg(&socket);
                if round % 2 == 0 {
                    cmd.args(["secrets", "rotate"]);
                } else {
                    let path = keys.join(format!("k-{round}-{i}"));
                    key_file(&path, round.wrapping_mul(31).wrapping_add(i as u8) | 1);
                    cmd.args(["secrets", "rewrap", "--new-key-file"]).arg(&path);
                }
                if !cmd.output().map(|o| o.status.success()).unwrap_or(false) {
                    break;
                }
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        // The kill lands while changes are under way: after the first one
        // has been acknowledged (a loaded machine may take a while to get
        // there), then a different delay each round.
        let deadline = Instant::now() + Duration::from_secs(60);
        while done.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(20 + 97 * u64::from(round)));
        daemon.kill9();
        worker.join().unwrap();
        assert!(
            done.load(Ordering::SeqCst) > 0,
            "round {round} changed nothing before the kill"
        );
        // It must come back with every secret readable.
        let daemon = Daemon::dev(tmp.path(), None);
        assert_eq!(
            json_lines(&ok(&daemon.ctl(&["--json", "secrets", "list"]))).len(),
            secrets.len()
        );
        assert!(daemon.stop().success());
        assert_eq!(
            secret_digests(&state, &state.join("master.key")),
            expected_digests(&secrets),
            "round {round}"
        );
        assert!(!state.join("master.key.next").exists());
    }
}

/// HMAC-SHA256 of `body` under `secret`, as GitHub signs it.
fn github_signature(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut m = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

#[test]
fn a_vault_secret_verifies_deliveries_through_rotation_and_restart_and_never_leaks() {
    let tmp = tempfile::tempdir().unwrap();
    key_file(&tmp.path().join("master.key"), 0x21);
    let plain = config(tmp.path(), "");
    // Start without the source, store the secret, then configure its use.
    let daemon = Daemon::in_dir(&plain, tmp.path());
    let canary = "CANARY-hook-3b9f01d2e4";
    ok(&daemon.ctl_stdin(&["secrets", "set", "gh-hook"], canary.as_bytes()));
    assert!(daemon.stop().success());
    let text = std::fs::read_to_string(&plain).unwrap().replace(
        "[http]\nenabled = false\n",
        "[http]\nlisten = \"127.0.0.1:0\"\n",
    );
    std::fs::write(
        &plain,
        format!("{text}\n[sources.gh]\ndriver = \"github\"\nsecret = \"secret:gh-hook\"\n"),
    )
    .unwrap();

    let body = br#"{"zen":"Keep it logically awesome.","hook_id":1}"#;
    let mut logs = String::new();
    let mut answers = String::new();
    for round in 0..3 {
        let daemon = Daemon::in_dir(&plain, tmp.path());
        let created = ok(&daemon.ctl(&["--json", "keys", "create", "--name", "gh"]));
        let key: serde_json::Value = serde_json::from_str(created.trim()).unwrap();
        let key = key["secret"].as_str().unwrap().to_string();
        let delivery = format!("round-{round}");
        let signed = github_signature(canary, body);
        let forged = github_signature("not-the-secret", body);
        let post = |signature: &str, id: &str| {
            http::ingest(
                daemon.http_addr(),
                "gh",
                &key,
                &[
                    ("X-GitHub-Event", "ping"),
                    ("X-GitHub-Delivery", id),
                    ("X-Hub-Signature-256", signature),
                ],
                body,
            )
        };
        let r = post(&forged, &format!("{delivery}-forged"));
        assert_eq!(r.status, 403, "{}", r.body);
        answers.push_str(&r.body);
        let r = post(&signed, &delivery);
        assert_eq!(r.status, 202, "round {round}: {}", r.body);
        answers.push_str(&r.body);
        // Rotation re-encrypts the secret; the next round uses it again.
        answers.push_str(&ok(&daemon.ctl(&["secrets", "rotate"])));
        answers.push_str(&ok(
            &daemon.ctl(&["--json", "events", "list", "--limit", "1000"])
        ));
        answers.push_str(&ok(&daemon.ctl(&["--json", "secrets", "list"])));
        logs.push_str(&daemon.stderr());
        assert!(daemon.stop().success());
    }
    let state = tmp.path().join("state");
    let hits = files_containing(&state, canary.as_bytes());
    assert!(hits.is_empty(), "the secret is in {hits:?}");
    assert!(!logs.contains(canary), "the secret is in the daemon's log");
    assert!(
        !answers.contains(canary),
        "the secret is in vigilctl's output"
    );
}
