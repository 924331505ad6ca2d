//! The spool directory, end to end: scripts rename files into
//! `incoming/`; each is ingested once and moved to `done/`, or refused into
//! `failed/` with a reason; a crash loses no file and duplicates none.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vigil_tests::{Daemon, json_lines, ok, vigild_fails};

fn spool(daemon: &Daemon) -> PathBuf {
    daemon.state_dir.join("spool")
}

/// Writes `bytes` in `tmp/`, then renames it into `incoming/`, as a script
/// should.
fn drop_file(spool: &Path, name: &str, bytes: &[u8]) {
    let staged = spool.join("tmp").join(name);
    fs::write(&staged, bytes).unwrap();
    fs::rename(&staged, spool.join("incoming").join(name)).unwrap();
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for {what}");
}

fn count(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |d| d.count())
}

fn ingested(daemon: &Daemon) -> Vec<serde_json::Value> {
    json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "ingest", "--limit", "5000",
    ])))
}

/// The distinct delivery ids of ingest events.
fn delivery_ids(events: &[serde_json::Value]) -> HashSet<&str> {
    events
        .iter()
        .map(|e| {
            e["event"]["alerts_ingested"]["delivery_id"]
                .as_str()
                .unwrap()
        })
        .collect()
}

fn alert(n: usize) -> Vec<u8> {
    format!(
        r#"{{"summary":"disk almost full on host-{n}","status":"firing","severity":"warning","labels":{{"host":"host-{n}","check":"disk"}}}}"#
    )
    .into_bytes()
}

#[test]
fn a_renamed_file_is_ingested_once_and_moved_to_done() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let spool = spool(&daemon);
    let body = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/webhooks/generic/alert.json"),
    )
    .unwrap();
    drop_file(&spool, "backup.json", &body);
    wait_for("done/backup.json", || {
        spool.join("done/backup.json").exists()
    });
    assert_eq!(count(&spool.join("incoming")), 0);

    let events = ingested(&daemon);
    assert_eq!(events.len(), 1, "{events:?}");
    let stored = &events[0]["event"]["alerts_ingested"];
    assert_eq!(stored["source"], "spool");
    assert_eq!(stored["driver"], "generic");
    assert!(
        stored["delivery_id"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"),
        "{stored}"
    );
    let me = fs::metadata(&spool).unwrap().uid();
    assert_eq!(stored["actor"]["spool"]["uid"], me);
    assert_eq!(stored["actor"]["spool"]["file"], "backup.json");
    let incidents = json_lines(&ok(&daemon.ctl(&["--json", "incidents", "list"])));
    assert!(
        incidents
            .iter()
            .any(|i| i["source"] == "spool" && i["state"] == "open"),
        "{incidents:?}"
    );

    // The same bytes again (a script's retry, or the state a crash between
    // the append and the move leaves): moved, not stored twice.
    drop_file(&spool, "backup.json", &body);
    wait_for("done/backup.json.1", || {
        spool.join("done/backup.json.1").exists()
    });
    assert_eq!(ingested(&daemon).len(), 1);
    assert!(daemon.stop().success());
}

#[test]
fn refused_files_go_to_failed_with_a_reason_and_store_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let spool = spool(&daemon);
    let before = ingested(&daemon).len();

    fs::write(spool.join("incoming/.partial.json"), b"{\"summ").unwrap();
    drop_file(
        &spool,
        "broken.json",
        b"{\"summary\": \"CANARY-SPOOL-1\" oops",
    );
    drop_file(
        &spool,
        "shape.json",
        br#"{"summary":"x","status":"CANARY-SPOOL-2"}"#,
    );
    let big = format!("{{\"summary\":\"{}\"}}", "x".repeat(2 << 20));
    drop_file(&spool, "big.json", big.as_bytes());
    drop_file(
        &spool,
        "deep.json",
        ("[".repeat(200) + &"]".repeat(200)).as_bytes(),
    );
    std::os::unix::fs::symlink("/etc/passwd", spool.join("tmp/link.json")).unwrap();
    fs::rename(
        spool.join("tmp/link.json"),
        spool.join("incoming/link.json"),
    )
    .unwrap();

    // A FIFO could block a reader forever: refused without waiting.
    nix::unistd::mkfifo(
        &spool.join("tmp/pipe.json"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    fs::rename(
        spool.join("tmp/pipe.json"),
        spool.join("incoming/pipe.json"),
    )
    .unwrap();

    let reason = |name: &str| {
        let path = spool.join("failed").join(format!("{name}.reason"));
        wait_for(&format!("failed/{name}.reason"), || {
            spool.join("failed").join(name).symlink_metadata().is_ok()
        });
        fs::read_to_string(path).unwrap()
    };
    assert!(reason("broken.json").contains("not valid JSON"));
    let shape = reason("shape.json");
    assert!(shape.contains("status"), "{shape}");
    assert!(reason("big.json").contains("max_file"));
    assert!(reason("deep.json").contains("nests deeper"));
    assert!(reason("link.json").contains("symbolic link"));
    assert!(reason("pipe.json").contains("not a regular file"));
    for name in ["broken.json", "shape.json"] {
        let text = fs::read_to_string(spool.join("failed").join(format!("{name}.reason"))).unwrap();
        assert!(
            !text.contains("CANARY"),
            "a reason quotes the payload: {text}"
        );
    }
    assert!(
        !daemon.stderr().contains("CANARY"),
        "the log quotes a payload"
    );
    // The symlink was moved, not followed: its target is untouched.
    assert!(
        fs::symlink_metadata(spool.join("failed/link.json"))
            .unwrap()
            .is_symlink()
    );
    // Dot files are a writer's work in progress: left alone.
    assert!(spool.join("incoming/.partial.json").exists());
    assert_eq!(
        ingested(&daemon).len(),
        before,
        "a refused file stored something"
    );
    let doctor = daemon.ctl(&["--json", "doctor"]);
    let findings = json_lines(&String::from_utf8_lossy(&doctor.stdout));
    assert!(
        findings.iter().any(|f| f["check"] == "spool"
            && f["severity"] == "warning"
            && f["message"]
                .as_str()
                .unwrap()
                .contains("6 spool file(s) were refused")),
        "{findings:?}"
    );
    assert!(daemon.stop().success());
}

#[test]
fn sigkill_while_draining_loses_no_file_and_stores_none_twice() {
    const FILES: usize = 600;
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let spool = spool(&daemon);
    assert!(daemon.stop().success());
    for n in 0..FILES {
        drop_file(&spool, &format!("alert-{n:04}.json"), &alert(n));
    }

    let daemon = Daemon::dev(tmp.path(), None);
    let done = spool.join("done");
    wait_for("some files done", || count(&done) >= 50);
    daemon.kill9();
    let moved = count(&done);
    assert!(
        moved < FILES,
        "everything finished before the kill; raise FILES"
    );

    let daemon = Daemon::dev(tmp.path(), None);
    wait_for("the spool to drain", || count(&spool.join("incoming")) == 0);
    assert_eq!(count(&done), FILES);
    assert_eq!(count(&spool.join("failed")), 0);
    let events = ingested(&daemon);
    let ids = delivery_ids(&events);
    assert_eq!(events.len(), FILES, "a file was stored twice or lost");
    assert_eq!(ids.len(), FILES);
    let verified = json_lines(&ok(&daemon.ctl(&["--json", "verify"])));
    assert_eq!(verified[0]["ok"], true, "{verified:?}");
    assert!(daemon.stop().success());
}

#[test]
fn a_world_writable_spool_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let incoming = spool(&daemon).join("incoming");
    let state = daemon.state_dir.clone();
    assert!(daemon.stop().success());
    fs::set_permissions(&incoming, fs::Permissions::from_mode(0o777)).unwrap();
    let (code, stderr) = vigild_fails(
        &[
            "--dev".as_ref(),
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--state-dir".as_ref(),
            state.as_os_str(),
        ],
        &[],
    );
    assert_eq!(code, Some(78), "{stderr}");
    assert!(stderr.contains("writable by every user"), "{stderr}");
}

#[test]
fn a_failed_or_crashed_move_to_done_loses_no_file_and_stores_none_twice() {
    use vigil_tests::faults::Faults;
    const FILES: usize = 12;
    for (action, nth) in [("crash", 1), ("crash", 7), ("eio", 1), ("eio", 5)] {
        let context = format!("{action} at the move to done #{nth}");
        let tmp = tempfile::tempdir().unwrap();
        let state = std::path::Path::new("vigil-data");
        let daemon = Daemon::dev(tmp.path(), Some(state));
        let spool = spool(&daemon);
        assert!(daemon.stop().success());
        for n in 0..FILES {
            drop_file(&spool, &format!("alert-{n:04}.json"), &alert(n));
        }
        let faults = Faults::now(
            tmp.path(),
            format!(
                "op=rename,path={},nth={nth},do={action}",
                spool.join("done").display()
            ),
        );
        // The spool drains at start, so the fault may land before "ready".
        match Daemon::try_dev_env(tmp.path(), state, &faults.env()) {
            Ok(daemon) => {
                wait_for("the fault", || !faults.injected().is_empty());
                if action == "crash" {
                    let (status, _) = daemon.exited();
                    assert_eq!(status.signal(), Some(9), "{context}");
                } else {
                    assert!(daemon.stop().code().is_some(), "{context}");
                }
            }
            Err(e) => assert!(!faults.injected().is_empty(), "{context}: {e:?}"),
        }

        let daemon = Daemon::dev(tmp.path(), Some(state));
        wait_for("the spool to drain", || count(&spool.join("incoming")) == 0);
        let (done, failed) = (count(&spool.join("done")), count(&spool.join("failed")));
        assert_eq!(
            done + failed,
            FILES,
            "{context}: {done} done, {failed} failed"
        );
        let events = ingested(&daemon);
        let ids = delivery_ids(&events);
        assert_eq!(
            events.len(),
            FILES,
            "{context}: a file was stored twice or lost"
        );
        assert_eq!(ids.len(), FILES, "{context}");
        assert!(daemon.stop().success());
    }
}
