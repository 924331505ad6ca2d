//! Retention and erasure through the real daemon: status and runs as an
//! operator sees them, kill -9 in the middle of runs under load, views
//! that equal a third party's rebuild from an export, and an erased canary
//! gone from every file of the store.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vigil_store::export::{ExportFilter, ExportRange, export_to, plan};
use vigil_store::{Event, Log, Seal, ViewState};
use vigil_tests::*;
use vigil_views::{Start, Starts, View, Views};

fn config(dir: &Path, retention: &str) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n\n[retention]\nschedule = \"1h\"\n{retention}\n"
        ),
    )
}

fn json(out: &std::process::Output) -> serde_json::Value {
    json_lines(&ok(out)).remove(0)
}

#[test]
fn status_dry_run_and_run_as_an_operator_sees_them() {
    let tmp = tempfile::tempdir().unwrap();
    let path = config(tmp.path(), "custom = \"2s\"\ntruncate_at_least = 5");
    let daemon = Daemon::in_dir(&path, tmp.path());
    for i in 0..12 {
        ok(&daemon.ctl(&["emit", "--message", &format!("old {i}")]));
    }
    std::thread::sleep(Duration::from_millis(2_500));
    ok(&daemon.ctl(&["emit", "--message", "young"]));

    let status = json(&daemon.ctl(&["--json", "retention", "status"]));
    let custom = status["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "custom")
        .unwrap()
        .clone();
    assert_eq!(custom["count"], 13, "{status}");
    assert_eq!(custom["rule"], "custom 2s truncate");
    let text = ok(&daemon.ctl(&["retention", "status"]));
    assert!(
        text.contains("KIND") && text.contains("a run now would"),
        "{text}"
    );

    let kept = |d: &Daemon| {
        let s = json(&d.ctl(&["--json", "retention", "status"]));
        let custom = s["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kind"] == "custom")
            .map(|k| k["count"].clone());
        (s["first_seq"].clone(), custom)
    };
    let before = kept(&daemon);
    let dry = json(&daemon.ctl(&["--json", "retention", "run", "--dry-run"]));
    assert_eq!(dry["dry_run"], true);
    assert!(
        dry["counts"]["pruned"].as_u64().unwrap() + dry["counts"]["truncated"].as_u64().unwrap()
            >= 12,
        "{dry}"
    );
    assert_eq!(kept(&daemon), before, "a dry run changes nothing");

    let ran = json(&daemon.ctl(&["--json", "retention", "run"]));
    assert_eq!(ran["dry_run"], false);
    let seq = ran["recorded"].as_u64().unwrap();
    let record = json(&daemon.ctl(&["--json", "events", "show", &seq.to_string()]));
    assert!(record["event"]["retention_applied"].is_object(), "{record}");
    // The young event is still there, with its body; the old ones are not.
    let listed = ok(&daemon.ctl(&["--json", "events", "list", "--kind", "custom", "--all"]));
    let messages: Vec<String> = json_lines(&listed)
        .iter()
        .filter_map(|e| e["event"]["custom"]["message"].as_str().map(str::to_string))
        .collect();
    assert_eq!(messages, vec!["young".to_string()], "{listed}");
    let key = daemon.state_dir.join("verification.key");
    let verified = ok(&daemon.ctl(&["verify", "--key", key.to_str().unwrap()]));
    // Whatever lost its body is named by the run and rule that dropped it.
    // Rule-less entries (the configuration load, logins) come first, so
    // nothing could be truncated: the old bodies were dropped, and verify
    // names the run and rule that dropped them.
    assert!(ran["counts"]["pruned"].as_u64().unwrap() >= 12, "{ran}");
    assert!(
        verified.contains("by retention run of") && verified.contains("custom 2s truncate"),
        "{verified}"
    );
    // No second record of the same work.
    let again = json(&daemon.ctl(&["--json", "retention", "run"]));
    assert_eq!(again["counts"]["pruned"], 0, "{again}");
    assert_eq!(again["counts"]["truncated"], 0, "{again}");
}

#[test]
fn erasing_a_canary_leaves_it_in_no_file_of_the_state_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let path = config(tmp.path(), "");
    let daemon = Daemon::in_dir(&path, tmp.path());
    let canary = "person-4c1f0e-canary";
    ok(&daemon.ctl(&[
        "emit",
        "--message",
        "about them",
        "--label",
        &format!("user={canary}"),
    ]));
    ok(&daemon.ctl(&["emit", "--message", "unrelated", "--label", "user=bob"]));
    assert!(!files_containing(&daemon.state_dir, canary.as_bytes()).is_empty());

    let out = daemon.ctl(&["erase", "--match", "user=nobody", "--reason", "test"]);
    assert!(ok(&out).contains("nothing matched"));
    let out = daemon.ctl(&["erase", "--match", &format!("user={canary}")]);
    assert_eq!(out.status.code(), Some(2), "--reason is required");

    let erased = json(&daemon.ctl(&[
        "--json",
        "erase",
        "--match",
        &format!("user={canary}"),
        "--reason",
        "GDPR request 17",
    ]));
    assert_eq!(erased["erased"], 1, "{erased}");
    let record = erased["recorded"].as_u64().unwrap();
    let shown = ok(&daemon.ctl(&["--json", "events", "show", &record.to_string()]));
    assert!(
        shown.contains("GDPR request 17") && !shown.contains(canary),
        "{shown}"
    );
    let holding = files_containing(&daemon.state_dir, canary.as_bytes());
    assert!(holding.is_empty(), "the canary is still in {holding:?}");
    let key = daemon.state_dir.join("verification.key");
    ok(&daemon.ctl(&["verify", "--key", key.to_str().unwrap()]));
    // Who did it is in the log too.
    let auth = ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "auth", "--limit", "50",
    ]));
    assert!(auth.contains("\"erase\""), "{auth}");
}

/// One acknowledged emit: when it was sent, its seq, its message.
struct Acked {
    sent: Instant,
    seq: u64,
    message: String,
}

/// Emits until told to stop; keeps what the daemon acknowledged.
fn load(
    socket: std::path::PathBuf,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Acked>>>,
    round: usize,
) {
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let message = format!("r{round}-{i}");
        i += 1;
        let sent = Instant::now();
        let out = Command::new(bin("vigilctl"))
            .arg("--socket")
            .arg(&socket)
            .args(["--json", "emit", "--message", &message])
            .output()
            .unwrap();
        if out.status.success()
            && let Some(seq) = json_lines(&String::from_utf8_lossy(&out.stdout))
                .first()
                .and_then(|v| v["seq"].as_u64())
        {
            acked.lock().unwrap().push(Acked { sent, seq, message });
        }
    }
}

#[test]
fn kill_9_during_retention_runs_under_load_loses_nothing_still_within_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let keep = Duration::from_secs(3);
    let path = config(tmp.path(), "custom = \"3s\"\ntruncate_at_least = 20");
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut last_run = None;
    for round in 0..10 {
        let daemon = Daemon::in_dir(&path, tmp.path());
        let stop = Arc::new(AtomicBool::new(false));
        let loader = {
            let (socket, stop, acked) = (daemon.socket.clone(), stop.clone(), acked.clone());
            std::thread::spawn(move || load(socket, stop, acked, round))
        };
        std::thread::sleep(Duration::from_millis(700));
        last_run = Some(Instant::now());
        let run = Command::new(bin("vigilctl"))
            .arg("--socket")
            .arg(&daemon.socket)
            .args(["retention", "run"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Somewhere in the run: planning, dropping, truncating, reclaiming.
        std::thread::sleep(Duration::from_millis(20 + 37 * round as u64));
        daemon.kill9();
        stop.store(true, Ordering::Relaxed);
        loader.join().unwrap();
        let _ = run.wait_with_output();
    }
    let daemon = Daemon::in_dir(&path, tmp.path());
    let key = daemon.state_dir.join("verification.key");
    ok(&daemon.ctl(&["verify", "--key", key.to_str().unwrap()]));
    let listed = ok(&daemon.ctl(&["--json", "events", "list", "--kind", "custom", "--all"]));
    let present: std::collections::BTreeMap<u64, String> = json_lines(&listed)
        .iter()
        .filter_map(|e| {
            let message = e["event"]["custom"]["message"].as_str()?;
            Some((e["seq"].as_u64().unwrap(), message.to_string()))
        })
        .collect();
    let acked = acked.lock().unwrap();
    assert!(
        acked.len() > 50,
        "the load ran ({} acknowledged)",
        acked.len()
    );
    let last_run = last_run.unwrap();
    let mut must_keep = 0;
    for a in acked.iter() {
        // Not yet due at the last run that could have removed it.
        if a.sent + keep > last_run + Duration::from_millis(300) {
            must_keep += 1;
            assert_eq!(
                present.get(&a.seq),
                Some(&a.message),
                "acknowledged seq {} lost",
                a.seq
            );
        } else if let Some(m) = present.get(&a.seq) {
            assert_eq!(m, &a.message, "seq {} holds another event", a.seq);
        }
    }
    assert!(must_keep > 0);
    let removed = acked
        .iter()
        .filter(|a| !present.contains_key(&a.seq))
        .count();
    assert!(removed > 0, "the runs removed due events");
    // After a crash, no duplicate: every message at most once.
    let mut messages: Vec<&String> = present.values().collect();
    let all = messages.len();
    messages.sort();
    messages.dedup();
    assert_eq!(messages.len(), all, "a message appears twice");
    assert!(daemon.stop().success());
    views_equal_a_rebuild_from_an_export(&tmp.path().join("state/store"));
}

/// Where each view starts in an export: the state its checkpoint carries.
struct FromCheckpoint(Vec<ViewState>, u64);

impl Starts for FromCheckpoint {
    fn start<V: View>(&self) -> Start<V> {
        let view = self
            .0
            .iter()
            .find(|s| s.view == V::NAME && s.version == V::VERSION)
            .map(|s| vigil_views::decode::<V>(&s.state).unwrap())
            .unwrap_or_default();
        Start {
            view,
            as_of: self.1,
            from_snapshot: false,
        }
    }
}

/// The views the stopped daemon saved equal those a third party rebuilds
/// from an export of its store: the checkpoint's carried state, then
/// every entry line.
fn views_equal_a_rebuild_from_an_export(store: &Path) {
    let log = Log::open_read_only(store).unwrap();
    let header = plan(
        &log,
        &ExportRange::default(),
        ExportFilter::default(),
        "test",
    )
    .unwrap();
    let text = String::from_utf8(export_to(&log, &header, Vec::new(), |_| {}).unwrap()).unwrap();
    let lines: Vec<serde_json::Value> = json_lines(&text);
    let entries: Vec<(Seal, Option<Event>)> = lines
        .iter()
        .filter(|l| l["record"] == "entry")
        .map(|l| {
            let seal = Seal {
                seq: l["seq"].as_u64().unwrap(),
                time: l["time"].as_i64().unwrap(),
                kind: l["kind_code"].as_u64().unwrap() as u16,
                epoch: l["epoch"].as_u64().unwrap(),
                digest: vigil_store::Hash::ZERO,
                link: vigil_store::Hash::ZERO,
                tag: vigil_store::Hash::ZERO,
            };
            let body = l["body"].as_str().map(|b| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(b).unwrap()
            });
            (seal, body.map(|b| Event::decode(&b).unwrap()))
        })
        .collect();
    let checkpoint = entries.iter().rev().find_map(|(_, e)| match e {
        Some(Event::Checkpoint(cp)) => Some(cp.clone()),
        _ => None,
    });
    let start = match &checkpoint {
        Some(cp) => FromCheckpoint(cp.views.clone(), cp.cut_seq),
        None => FromCheckpoint(Vec::new(), 0),
    };
    assert_eq!(header.first, start.1 + 1, "the export starts after the cut");
    let mut resume = Views::resume(&start);
    for (seal, event) in &entries {
        resume.apply(seal, event.as_ref());
    }
    let reference = resume.finish(header.last);
    // The daemon's saved views, as of its last entry.
    let saved = vigil_views::Views::resume(&Saved(&log));
    let saved = saved.finish(header.last);
    assert_eq!(saved.differing(&reference), Vec::<&str>::new());
}

/// The snapshots the daemon saved at its stop.
struct Saved<'a>(&'a Log);

impl Starts for Saved<'_> {
    fn start<V: View>(&self) -> Start<V> {
        let snapshot = self
            .0
            .load_snapshot(V::NAME)
            .unwrap()
            .expect("a snapshot per view");
        assert_eq!(
            snapshot.as_of,
            self.0.head().seq,
            "{} saved at the stop",
            V::NAME
        );
        Start {
            view: vigil_views::decode::<V>(&snapshot.state).unwrap(),
            as_of: snapshot.as_of,
            from_snapshot: true,
        }
    }
}
