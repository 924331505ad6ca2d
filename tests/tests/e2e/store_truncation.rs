//! A store whose newest entries were removed is refused, not silently
//! reused: vigild names both heads and starts only when told to accept the
//! loss, which it records in the log and doctor reports.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use vigil_tests::*;

/// Removes the newest `n` entries of a stopped daemon's store, as someone
/// with the files (or a stale backup) would.
fn drop_newest(store: &Path, n: u64) -> (u64, u64) {
    let db = fjall::Database::builder(store.join("db")).open().unwrap();
    let log = db
        .keyspace("log", fjall::KeyspaceCreateOptions::default)
        .unwrap();
    let last = log.last_key_value().unwrap().key().unwrap();
    let head = u64::from_be_bytes(last[..].try_into().unwrap());
    for seq in head - n + 1..=head {
        log.remove(seq.to_be_bytes()).unwrap();
    }
    db.persist(fjall::PersistMode::SyncAll).unwrap();
    (head, head - n)
}

fn events(daemon: &Daemon) -> Vec<serde_json::Value> {
    json_lines(&ok(
        &daemon.ctl(&["--json", "events", "list", "--limit", "1000"])
    ))
}

#[test]
fn a_truncated_store_is_refused_until_the_loss_is_accepted_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let state = Path::new("state");
    let daemon = Daemon::dev_with(tmp.path(), state, &[]);
    for i in 0..5 {
        ok(&daemon.ctl(&["emit", "--message", &format!("before {i}")]));
    }
    assert!(daemon.stop().success());

    let store = tmp.path().join("state/store");
    let (recorded, found) = drop_newest(&store, 3);

    // Refused, naming both heads; nothing appended.
    let out = Command::new(bin("vigild"))
        .args(["--dev", "--listen", "127.0.0.1:0", "--state-dir", "state"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("seq {recorded}"))
            && stderr.contains(&format!("seq {found}"))
            && stderr.contains("--accept-truncation"),
        "{stderr}"
    );
    let db = fjall::Database::builder(store.join("db")).open().unwrap();
    let log = db
        .keyspace("log", fjall::KeyspaceCreateOptions::default)
        .unwrap();
    let head = log.last_key_value().unwrap().key().unwrap();
    assert_eq!(u64::from_be_bytes(head[..].try_into().unwrap()), found);
    drop(log);
    drop(db);

    // Accepted: the first new entry says what was lost.
    let daemon = Daemon::dev_with(tmp.path(), state, &["--accept-truncation"]);
    let listed = events(&daemon);
    let lost: Vec<_> = listed
        .iter()
        .filter(|e| e["event"].get("tail_lost").is_some())
        .collect();
    assert_eq!(lost.len(), 1, "{listed:?}");
    assert_eq!(lost[0]["seq"], found + 1, "{:?}", lost[0]);
    assert_eq!(lost[0]["event"]["tail_lost"]["recorded_seq"], recorded);
    let plain = ok(&daemon.ctl(&["events", "list"]));
    assert!(plain.contains(&format!("TAIL LOST: the store recorded its head at seq {recorded} but was found ending at seq {found}")), "{plain}");
    let doctor = String::from_utf8_lossy(&daemon.ctl(&["doctor"]).stdout).into_owned();
    assert!(
        doctor.contains("--accept-truncation") && doctor.contains(&format!("seq {found}")),
        "{doctor}"
    );
    let verify = ok(&daemon.ctl(&["verify"]));
    assert!(verify.contains("chain OK"), "{verify}");
    assert!(daemon.stop().success());

    // From then on the store starts normally, with no second record.
    let daemon = Daemon::dev_with(tmp.path(), state, &[]);
    let again = events(&daemon);
    assert_eq!(
        again
            .iter()
            .filter(|e| e["event"].get("tail_lost").is_some())
            .count(),
        1
    );
    assert!(daemon.stop().success());
}
