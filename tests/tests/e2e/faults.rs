//! The real daemon on a failing disk: the `vigil-faults` preload library
//! fails or crashes chosen writes, fsyncs, renames and directory fsyncs.
//!
//! * A failed write or fsync of the log, transient or persistent: the
//!   daemon acknowledges nothing after it, says so in its log and exits 1
//!   (systemd restarts it), and a restart on a healthy disk holds every
//!   acknowledged event, once, in a chain that verifies.
//! * A crash at every fsync, directory fsync, rename and write of a start
//!   after a SIGKILL (recovery of the journal, the sealing key's
//!   replacement for the new epoch, the head record, the engine's own table
//!   and version files): the next start recovers, verifies, and holds every
//!   acknowledged event.
//! * A failed (EIO) fsync, directory fsync, rename or write at every step of
//!   a start: the start stops with a message and exit 1, never a panic, or
//!   goes on if it can; either way the next start recovers everything.
//! * A crash at every step of `secrets rewrap`: every secret still opens,
//!   with whichever master key the key file then holds.
//! * A disk that fails from the first call: vigild refuses to start with
//!   a message, not a panic, and the store is untouched for the next start.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use vigil_store::{Event, Log, VerifyOptions, read_verification_key};
use vigil_tests::faults::Faults;
use vigil_tests::*;
use vigilctl::Client;

/// Acknowledged emits: seq → message.
type Acked = BTreeMap<u64, String>;

const STATE: &str = "vigil-data";

/// Emits from `clients` connections until the daemon refuses or goes away
/// or each has sent `limit`; what was acknowledged.
fn emit(daemon: &Daemon, tag: &str, clients: usize, limit: usize) -> Acked {
    let acked: Arc<Mutex<Acked>> = Arc::default();
    let threads: Vec<_> = (0..clients)
        .map(|t| {
            let (socket, acked, tag) = (daemon.socket.clone(), acked.clone(), tag.to_string());
            std::thread::spawn(move || {
                let Ok(mut client) = Client::connect(&socket) else {
                    return;
                };
                for i in 0..limit {
                    let message = format!("{tag}-{t}-{i}");
                    let Some(seq) = emit_acknowledged(&mut client, &message) else {
                        return;
                    };
                    acked.lock().unwrap().insert(seq, message);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    acked.lock().unwrap().clone()
}

/// Starts a daemon on a healthy disk, checks it verified itself at start,
/// stops it, then checks offline that every acknowledged event is there,
/// once and unchanged, and the chain verifies with the verification key.
fn recovers_with(cwd: &Path, acked: &Acked, context: &str) {
    let daemon = Daemon::try_dev_env(cwd, Path::new(STATE), &[])
        .unwrap_or_else(|e| panic!("{context}: no restart on a healthy disk: {e:?}"));
    let verified = wait_for("the start-up verification", || {
        let status = json_lines(&ok(&daemon.ctl(&["--json", "status"])));
        status[0]["last_verify"].as_object().cloned()
    });
    assert_eq!(verified["ok"], true, "{context}: {verified:?}");
    assert!(daemon.stop().success(), "{context}");

    let state = cwd.join(STATE);
    let log = Log::open_read_only(&state.join("store")).unwrap();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for entry in log.entries(log.first_seq()) {
        let entry = entry.unwrap();
        if let Ok(Some(Event::Custom(c))) = entry.event() {
            let seq = entry.seq();
            if let Some(first) = seen.insert(c.message.clone(), seq) {
                panic!("{context}: `{}` at seq {first} and {seq}", c.message);
            }
        }
    }
    for (seq, message) in acked {
        assert_eq!(
            seen.get(message),
            Some(seq),
            "{context}: acknowledged `{message}` (seq {seq}) is not where it was"
        );
    }
    let key = read_verification_key(&state.join("verification.key")).unwrap();
    let report = log
        .verify(&VerifyOptions {
            key: Some(&key),
            ..Default::default()
        })
        .unwrap();
    assert!(report.ok, "{context}: {report:?}");
}

/// A daemon with `n` acknowledged events.
fn with_events(cwd: &Path, n: usize) -> (Daemon, Acked) {
    let daemon = Daemon::dev(cwd, None);
    let acked = emit(&daemon, "base", 2, n / 2);
    assert_eq!(acked.len(), n / 2 * 2);
    (daemon, acked)
}

/// A state directory with `n` acknowledged events, the daemon stopped.
fn baseline(cwd: &Path, n: usize) -> Acked {
    let (daemon, acked) = with_events(cwd, n);
    assert!(daemon.stop().success());
    acked
}

/// The same, the daemon killed: the next start recovers from the journal.
fn killed_baseline(cwd: &Path, n: usize) -> Acked {
    let (daemon, acked) = with_events(cwd, n);
    daemon.kill9();
    acked
}

/// `cp -a FROM TO` (TO must not exist).
fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status();
    assert!(status.unwrap().success(), "cp -a {}", from.display());
}

#[test]
fn a_failed_log_write_or_fsync_stops_the_daemon_and_loses_nothing_acknowledged() {
    // (op, errno, times: 1 transient, 0 persistent, nth)
    let cases = [
        ("fsync", "eio", 1, 1),
        ("fsync", "eio", 0, 4),
        ("fsync", "enospc", 1, 9),
        ("write", "eio", 1, 1),
        ("write", "enospc", 0, 3),
        ("write", "eio", 1, 12),
    ];
    for (op, errno, times, nth) in cases {
        let context = format!("{op} {errno} times={times} nth={nth}");
        let tmp = tempfile::tempdir().unwrap();
        let mut acked = baseline(tmp.path(), 20);
        let db = tmp.path().join(STATE).join("store/db/");
        let faults = Faults::later(
            tmp.path(),
            format!(
                "op={op},path={},nth={nth},times={times},do={errno}",
                db.display()
            ),
        );
        let daemon = Daemon::try_dev_env(tmp.path(), Path::new(STATE), &faults.env()).unwrap();
        faults.arm();
        let during = emit(&daemon, "load", 2, 2_000);
        let (status, stderr) = daemon.exited();
        let injected = faults.injected();
        assert!(!injected.is_empty(), "{context}: no fault was injected");
        assert_eq!(status.code(), Some(1), "{context}: {status}\n{stderr}");
        assert!(
            stderr.contains("the event log failed"),
            "{context}: the log does not say why:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{context}:\n{stderr}");
        assert!(
            during.len() < 4_000,
            "{context}: every emit was acknowledged despite the fault"
        );
        acked.extend(during);
        recovers_with(tmp.path(), &acked, &context);
    }
}

/// Which of `calls` calls to crash at: every one, or for the many writes
/// of the engine's compactions an even spread of 24 and the last.
fn crash_points(calls: usize) -> Vec<usize> {
    const MOST: usize = 24;
    let step = calls.div_ceil(MOST).max(1);
    let mut points: Vec<usize> = (1..=calls).step_by(step).collect();
    if points.last() != Some(&calls) {
        points.push(calls);
    }
    points
}

/// How many calls of each op a start makes under `dir` until it is ready.
fn calls_of_a_start(cwd: &Path, dir: &Path, ops: &[&str]) -> BTreeMap<String, usize> {
    let plan: Vec<String> = ops
        .iter()
        .map(|op| format!("op={op},path={},times=0,do=note", dir.display()))
        .collect();
    let faults = Faults::now(cwd, plan.join(";"));
    let daemon = Daemon::try_dev_env(cwd, Path::new(STATE), &faults.env()).unwrap();
    let injected = faults.injected();
    assert!(daemon.stop().success());
    let mut counts = BTreeMap::new();
    for line in injected {
        let op = line.split(' ').next().unwrap_or_default().to_string();
        *counts.entry(op).or_insert(0) += 1;
    }
    counts
}

/// The report names ops as the library's `Op` does.
const OPS: [(&str, &str); 4] = [
    ("fsync", "Sync"),
    ("dirsync", "DirSync"),
    ("rename", "Rename"),
    ("write", "Write"),
];

/// Starts the daemon on a copy of a store that was killed under load, once
/// for each call of a start (spread, for writes) with `action` on that
/// call; `judge` says whether the start stopped at the fault, then the next
/// start on a healthy disk must recover everything. Most starts must stop
/// at their fault.
fn sweep_a_start(action: &str, judge: impl Fn(Result<Daemon, NotReady>, &str) -> bool) {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    std::fs::create_dir(&base).unwrap();
    // Killed, so that every start below first recovers from a crash.
    let acked = killed_baseline(&base, 40);
    let store = |cwd: &Path| cwd.join(STATE).join("store");
    let counted = tmp.path().join("counted");
    copy_dir(&base, &counted);
    let ops: Vec<&str> = OPS.iter().map(|(op, _)| *op).collect();
    let counts = calls_of_a_start(&counted, &store(&counted), &ops);
    let (mut stopped, mut tried) = (0, 0);
    for (op, name) in OPS {
        let calls = counts.get(name).copied().unwrap_or(0);
        assert!(calls > 0, "a start makes no {op}: {counts:?}");
        for nth in crash_points(calls) {
            let context = format!("{action} at {op} #{nth} of {calls}");
            let cwd = tmp.path().join(format!("{op}-{nth}"));
            copy_dir(&base, &cwd);
            tried += 1;
            let faults = Faults::now(
                &cwd,
                format!(
                    "op={op},path={},nth={nth},do={action}",
                    store(&cwd).display()
                ),
            );
            let started = Daemon::try_dev_env(&cwd, Path::new(STATE), &faults.env());
            if judge(started, &context) {
                assert_eq!(faults.injected().len(), 1, "{context}");
                stopped += 1;
            }
            recovers_with(&cwd, &acked, &context);
            std::fs::remove_dir_all(&cwd).unwrap();
        }
    }
    eprintln!("a start ({action}): {counts:?}; {stopped} of {tried} starts stopped at the fault");
    assert!(
        stopped * 2 > tried,
        "only {stopped} of {tried} starts stopped at their fault"
    );
}

#[test]
fn a_crash_at_any_step_of_a_start_leaves_a_store_the_next_start_recovers() {
    sweep_a_start("crash", |started, context| match started {
        Err(e) => {
            assert_eq!(e.status.signal(), Some(9), "{context}: {e:?}");
            true
        }
        // Background work runs in its own order: this call came after the
        // daemon was ready, or not at all this time.
        Ok(daemon) => {
            daemon.kill9();
            false
        }
    });
}

/// A start refused as an operator needs it: exit 1, no panic, and a last
/// line that says what failed, naming the OS error once.
fn refused_with_a_message(e: &NotReady, context: &str) {
    assert_eq!(e.status.code(), Some(1), "{context}: {e:?}");
    assert!(!e.stderr.contains("panicked"), "{context}: {}", e.stderr);
    let last = e.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("rror") && last.len() > 20,
        "{context}: no message: {}",
        e.stderr
    );
    assert!(
        last.matches("os error").count() <= 1,
        "{context}: the cause is said twice: {last}"
    );
}

#[test]
fn a_failure_at_any_step_of_a_start_is_refused_with_a_message_or_survived() {
    sweep_a_start("eio", |started, context| match started {
        Err(e) => {
            refused_with_a_message(&e, context);
            true
        }
        // A failure the daemon can take (it retries, or the call was not
        // the log's): it runs on, and must stop cleanly.
        Ok(daemon) => {
            let stopped = daemon.stop();
            assert!(
                matches!(stopped.code(), Some(0 | 1)),
                "{context}: stopped with {stopped}"
            );
            false
        }
    });
}

#[test]
fn a_disk_failing_from_the_first_call_stops_the_start_with_a_message() {
    for (op, errno) in [("fsync", "eio"), ("write", "enospc"), ("rename", "eio")] {
        let context = format!("every {op} fails with {errno}");
        let tmp = tempfile::tempdir().unwrap();
        let acked = baseline(tmp.path(), 10);
        let faults = Faults::now(
            tmp.path(),
            format!(
                "op={op},path={},times=0,do={errno}",
                tmp.path().join(STATE).display()
            ),
        );
        let e = match Daemon::try_dev_env(tmp.path(), Path::new(STATE), &faults.env()) {
            Err(e) => e,
            Ok(daemon) => panic!("{context}: started anyway:\n{}", daemon.stderr()),
        };
        assert!(!faults.injected().is_empty(), "{context}");
        refused_with_a_message(&e, &context);
        recovers_with(tmp.path(), &acked, &context);
    }
}

#[test]
fn a_crash_at_any_step_of_a_rewrap_loses_no_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    std::fs::create_dir(&base).unwrap();
    let secrets: Vec<(String, String)> = (0..3)
        .map(|i| (format!("s{i}"), format!("value-{i}")))
        .collect();
    let daemon = Daemon::dev(&base, None);
    for (name, value) in &secrets {
        ok(&daemon.ctl_stdin(&["secrets", "set", name], value.as_bytes()));
    }
    assert!(daemon.stop().success());

    let new_key = tmp.path().join("new.key");
    std::fs::write(&new_key, "5a".repeat(32)).unwrap();
    std::fs::set_permissions(
        &new_key,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let rewrap = |daemon: &Daemon| {
        daemon.ctl(&[
            "secrets",
            "rewrap",
            "--new-key-file",
            new_key.to_str().unwrap(),
        ])
    };
    let state = |cwd: &Path| cwd.join(STATE);

    // How many calls a rewrap makes, once.
    let counted = tmp.path().join("counted");
    copy_dir(&base, &counted);
    let plan: Vec<String> = OPS
        .iter()
        .map(|(op, _)| {
            let dir = state(&counted);
            format!("op={op},path={},times=0,do=note", dir.display())
        })
        .collect();
    let faults = Faults::later(&counted, plan.join(";"));
    let daemon = Daemon::try_dev_env(&counted, Path::new(STATE), &faults.env()).unwrap();
    faults.arm();
    ok(&rewrap(&daemon));
    let injected = faults.injected();
    assert!(daemon.stop().success());

    let (mut crashed, mut tried) = (0, 0);
    for (op, name) in OPS {
        let calls = injected.iter().filter(|l| l.starts_with(name)).count();
        assert!(calls > 0, "a rewrap makes no {op}: {injected:?}");
        for nth in crash_points(calls) {
            let context = format!("crash at {op} #{nth} of {calls} of a rewrap");
            let cwd = tmp.path().join(format!("{op}-{nth}"));
            copy_dir(&base, &cwd);
            tried += 1;
            let faults = Faults::later(
                &cwd,
                format!("op={op},path={},nth={nth},do=crash", state(&cwd).display()),
            );
            let daemon = Daemon::try_dev_env(&cwd, Path::new(STATE), &faults.env()).unwrap();
            faults.arm();
            let acknowledged = rewrap(&daemon).status.success();
            if faults.injected().is_empty() {
                // The call comes after the answer (background work), or
                // not at all this time.
                assert!(acknowledged, "{context}");
                daemon.kill9();
            } else {
                let (status, _) = daemon.exited();
                assert_eq!(status.signal(), Some(9), "{context}");
                crashed += 1;
            }
            let daemon = Daemon::try_dev_env(&cwd, Path::new(STATE), &[])
                .unwrap_or_else(|e| panic!("{context}: no restart: {e:?}"));
            let listed = json_lines(&ok(&daemon.ctl(&["--json", "secrets", "list"])));
            assert_eq!(listed.len(), secrets.len(), "{context}");
            assert!(daemon.stop().success(), "{context}");
            let key = state(&cwd).join("master.key");
            assert_eq!(
                secret_digests(&state(&cwd), &key),
                expected_digests(&secrets),
                "{context}"
            );
            assert!(
                !state(&cwd).join("master.key.next").exists(),
                "{context}: the staged key was left behind"
            );
            if acknowledged {
                let installed = std::fs::read_to_string(&key).unwrap();
                assert_eq!(installed.trim(), "5a".repeat(32), "{context}");
            }
            std::fs::remove_dir_all(&cwd).unwrap();
        }
    }
    eprintln!(
        "a rewrap: {} calls; {crashed} of {tried} crash points crashed it",
        injected.len()
    );
    assert!(
        crashed * 2 > tried,
        "only {crashed} of {tried} rewraps crashed"
    );
}
