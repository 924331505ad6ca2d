//! View snapshots: after a million events, a restart replays only the tail;
//! a corrupt or unknown-version snapshot falls back to a full replay that
//! yields the same views. Assertions are on what was replayed, not on time.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use vigil_tests::*;

const EVENTS: u64 = 1_000_000;

fn status(daemon: &Daemon) -> serde_json::Value {
    json_lines(&ok(&daemon.ctl(&["--json", "status"]))).remove(0)
}

fn tool(args: &[&str]) {
    let out = Command::new(bin("store-tool")).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "store-tool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_restart_after_a_million_events_replays_only_the_tail() {
    let _exclusive = crate::exclusive();
    let cwd = tempfile::tempdir().unwrap();
    let store = cwd.path().join("vigil-data/store");
    let store = store.to_str().unwrap();
    // Create the store, then fill it while the daemon is stopped.
    assert!(Daemon::dev(cwd.path(), None).stop().success());
    tool(&["fill", store, &EVENTS.to_string()]);

    // The snapshot from the first run predates the fill: the whole tail replays.
    let daemon = Daemon::dev(cwd.path(), None);
    let first = status(&daemon);
    assert!(
        first["replayed_at_start"].as_u64().unwrap() >= EVENTS,
        "{first}"
    );
    let counts = first["counts"].clone();
    assert!(counts["custom"].as_u64().unwrap() >= EVENTS);
    assert!(daemon.stop().success());

    // Now the snapshot is at the head: a handful of entries replay.
    let daemon = Daemon::dev(cwd.path(), None);
    let second = status(&daemon);
    let replayed = second["replayed_at_start"].as_u64().unwrap();
    assert!(replayed <= 3, "replayed {replayed} entries: {second}");
    assert!(second["snapshot_as_of"].as_u64().unwrap() > EVENTS);
    assert_eq!(second["counts"]["custom"], counts["custom"]);
    assert!(daemon.stop().success());

    // A corrupt snapshot, then an unknown-version one: full replay, same views.
    for damage in ["garbage", "version=999"] {
        tool(&["snapshot", store, "status", damage]);
        let daemon = Daemon::dev(cwd.path(), None);
        let s = status(&daemon);
        assert!(
            s["replayed_at_start"].as_u64().unwrap() > EVENTS,
            "{damage}: {s}"
        );
        assert_eq!(s["counts"]["custom"], counts["custom"], "{damage}");
        assert!(daemon.stop().success());
    }
}
