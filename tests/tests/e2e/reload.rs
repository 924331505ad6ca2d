//! Reloading the configuration: a broken file is refused with its location
//! and the running configuration stays in force; a good one applies, whether
//! asked by `vigilctl reload`, SIGHUP, or simply saving the file.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};
use vigil_tests::*;

const USER: u32 = 4545;

fn config(state: &Path, socket: &Path, role: &str, extra: &str) -> String {
    format!(
        "[daemon]\nstate_dir = \"{}\"\nsocket = \"{}\"\nsocket_mode = \"0666\"\n{extra}\n[http]\nlisten = \"127.0.0.1:0\"\n[access.users]\n\"{USER}\" = \"{role}\"\n",
        state.display(),
        socket.display()
    )
}

/// Replaces the file the way editors do: write aside, rename over.
fn save(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn config_events(daemon: &Daemon) -> Vec<serde_json::Value> {
    json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "config", "--limit", "100",
    ])))
    .into_iter()
    .map(|e| e["event"]["config_loaded"].clone())
    .collect()
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn a_broken_config_is_refused_and_a_good_one_applies() {
    let tmp = shared_tempdir();
    let run = open_dir(tmp.path(), "run");
    let (state, socket, path) = (
        tmp.path().join("state"),
        run.join("control.sock"),
        tmp.path().join("vigil.toml"),
    );
    std::fs::write(&path, config(&state, &socket, "viewer", "")).unwrap();
    let daemon = Daemon::with_config(&path, &socket, &state);
    assert!(ok(&daemon.ctl_as(USER, USER, &[], &["status"])).contains("as viewer"));

    // Broken: an unknown key. Refused with its location; nothing changes.
    save(
        &path,
        &config(&state, &socket, "operator", "listen = \"0.0.0.0:1\""),
    );
    let out = daemon.ctl(&["reload"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("vigil.toml:5:1")
            && err.contains("unknown field `listen`")
            && err.contains("unchanged"),
        "{err}"
    );
    assert!(
        ok(&daemon.ctl_as(USER, USER, &[], &["status"])).contains("as viewer"),
        "the old config stays in force"
    );
    daemon.signal(nix::sys::signal::Signal::SIGHUP);
    eventually("the SIGHUP reload to be refused and recorded", || {
        config_events(&daemon)
            .iter()
            .any(|c| c["trigger"] == "sighup" && c["applied"] == false)
    });
    let refused = config_events(&daemon)
        .into_iter()
        .find(|c| c["trigger"] == "control")
        .unwrap();
    assert_eq!(refused["applied"], false);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `listen`")
    );
    // The daemon's log is read by another thread: wait for the line.
    wait_for("the refusal in the daemon's log", || {
        daemon
            .stderr()
            .contains("configuration NOT reloaded")
            .then_some(())
    });

    // Good: saving the file is enough.
    save(&path, &config(&state, &socket, "operator", ""));
    eventually("the saved file to apply", || {
        let out = daemon.ctl_as(USER, USER, &[], &["status"]);
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("as operator")
    });
    ok(&daemon.ctl_as(USER, USER, &[], &["emit", "-m", "now an operator"]));
    assert!(
        config_events(&daemon)
            .iter()
            .any(|c| c["trigger"] == "file-changed" && c["applied"] == true)
    );
    assert!(ok(&daemon.ctl(&["reload"])).contains("reloaded"));

    // Settings wired at start are accepted, with a word that they wait.
    save(
        &path,
        &format!(
            "{}[spool]\nmax_file = 2048\n",
            config(&state, &socket, "operator", "")
        ),
    );
    eventually(
        "the spool change to be reported as pending a restart",
        || {
            daemon
                .stderr()
                .contains("[spool] changes take effect at the next restart")
        },
    );
    assert!(daemon.stop().success());
}

#[test]
fn the_daemon_refuses_to_start_on_a_broken_config() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vigil.toml");
    std::fs::write(&path, "[daemon]\nstate_dir = 5\n").unwrap();
    let out = std::process::Command::new(bin("vigild"))
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    // EX_CONFIG: the unit's RestartPreventExitStatus, no restart loop.
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("vigil.toml:2:13"), "{err}");
    assert!(!tmp.path().join("state").exists());
}

#[test]
fn a_refusal_names_the_key_not_an_earlier_mention_of_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vigil.toml");
    let state = tmp.path().join("state");
    std::fs::write(
        &path,
        format!(
            "# max_connections_per_uid: raise it on busy hosts\n[daemon]\nstate_dir = \"{}\"\nmax_connections_per_uid = 0\n",
            state.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(bin("vigild"))
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("vigil.toml:4:1: max_connections_per_uid must be 1 to 256"),
        "{err}"
    );
    assert!(!state.exists());
}

/// The `config` events so far, oldest first: (seq, trigger).
fn config_triggers(daemon: &Daemon) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "config", "--limit", "1000",
    ])))
    .into_iter()
    .map(|e| {
        (
            e["seq"].as_u64().unwrap(),
            e["event"]["config_loaded"]["trigger"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    })
    .collect();
    out.sort();
    out
}

fn triggers(daemon: &Daemon) -> Vec<String> {
    config_triggers(daemon)
        .into_iter()
        .map(|(_, t)| t)
        .collect()
}

/// How many reloads the daemon logged.
fn reloads_logged(daemon: &Daemon) -> usize {
    daemon.stderr().matches("reloaded").count()
}

/// Nothing more is reloaded or recorded for `QUIET`: the loop this guards
/// against reloaded about 8 times a second.
const QUIET: Duration = Duration::from_secs(3);

fn stays_quiet(daemon: &Daemon, after: &str, events: &[&str], logged: usize) {
    std::thread::sleep(QUIET);
    assert_eq!(triggers(daemon), events, "config events after {after}");
    assert_eq!(
        reloads_logged(daemon),
        logged,
        "reloads logged after {after}:\n{}",
        daemon.stderr()
    );
}

#[test]
fn every_trigger_reloads_once_and_only_a_changed_file_reloads_by_itself() {
    let tmp = shared_tempdir();
    let run = open_dir(tmp.path(), "run");
    let (state, socket, path) = (
        tmp.path().join("state"),
        run.join("control.sock"),
        tmp.path().join("vigil.toml"),
    );
    let text = config(&state, &socket, "viewer", "");
    std::fs::write(&path, &text).unwrap();
    let daemon = Daemon::with_config(&path, &socket, &state);
    let mut events = vec!["start"];
    stays_quiet(&daemon, "start", &events, 0);

    // Asked: one reload each, even though the file did not change.
    assert!(ok(&daemon.ctl(&["reload"])).contains("reloaded"));
    events.push("control");
    stays_quiet(&daemon, "vigilctl reload", &events, 1);

    daemon.signal(nix::sys::signal::Signal::SIGHUP);
    eventually("the SIGHUP reload", || triggers(&daemon).len() == 3);
    events.push("sighup");
    stays_quiet(&daemon, "SIGHUP", &events, 2);

    // Saved by renaming over (as editors do), with new content.
    let text = config(&state, &socket, "operator", "");
    save(&path, &text);
    eventually("the renamed-over file to reload", || {
        triggers(&daemon).len() == 4
    });
    events.push("file-changed");
    stays_quiet(&daemon, "an editor-style save", &events, 3);
    assert!(ok(&daemon.ctl_as(USER, USER, &[], &["status"])).contains("as operator"));

    // Written in place, with new content.
    let text = config(&state, &socket, "viewer", "");
    std::fs::write(&path, &text).unwrap();
    eventually("the rewritten file to reload", || {
        triggers(&daemon).len() == 5
    });
    events.push("file-changed");
    stays_quiet(&daemon, "an in-place write", &events, 4);
    assert!(ok(&daemon.ctl_as(USER, USER, &[], &["status"])).contains("as viewer"));

    // The same content again, touched, read: nothing to reload.
    save(&path, &text);
    std::fs::write(&path, &text).unwrap();
    std::fs::File::options()
        .append(true)
        .open(&path)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    std::fs::read(&path).unwrap();
    stays_quiet(&daemon, "identical rewrites and a touch", &events, 4);

    // And a change after all that is still seen.
    save(&path, &config(&state, &socket, "operator", ""));
    eventually("the next change to reload", || triggers(&daemon).len() == 6);
    events.push("file-changed");
    stays_quiet(&daemon, "the last save", &events, 5);
    assert!(daemon.stop().success());
}
