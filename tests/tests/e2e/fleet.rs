//! Fleet forwarding as an operator runs it: several vigild forwarding to
//! Debian's `nats-server -js` on 127.0.0.1, the broker and the daemons
//! killed mid-stream, and `vigilctl fleet verify` reading the stream back
//! with the hosts' keys. Afterwards every acknowledged entry is on the
//! stream exactly once, in order, and every chain verifies.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use vigil_tests::nats::{NatsOptions, NatsServer};
use vigil_tests::{Daemon, bin, emit_acknowledged, ok, wait_for, write_config};

/// `DIR/vigil.toml` for a host forwarding to `url` as `host`.
fn host_config(dir: &Path, url: &str, host: &str, extra: &str) -> PathBuf {
    write_config(
        dir,
        &format!(
            "[http]\nenabled = false\n\n[forward]\nservers = [\"{url}\"]\nhost = \"{host}\"\n{extra}"
        ),
    )
}

fn json(out: &Output) -> Value {
    serde_json::from_str(ok(out).trim()).unwrap()
}

fn forward_status(daemon: &Daemon) -> Value {
    json(&daemon.ctl(&["--json", "forward", "status"]))
}

/// Waits until the broker holds everything up to the head; the head.
fn wait_forwarded(daemon: &Daemon) -> u64 {
    wait_for("the broker to hold every entry", || {
        let s = forward_status(daemon);
        (s["lag_entries"] == 0 && s["acked_seq"].as_u64() > Some(0))
            .then(|| s["head_seq"].as_u64().unwrap())
    })
}

/// Copies a host's verification key into `keys/<store id>.key`.
fn keep_key(daemon: &Daemon, dir: &Path, keys: &Path) {
    let status = json(&daemon.ctl(&["--json", "status"]));
    let store = status["store_id"].as_str().unwrap();
    std::fs::create_dir_all(keys).unwrap();
    std::fs::copy(
        dir.join("state/verification.key"),
        keys.join(format!("{store}.key")),
    )
    .unwrap();
}

/// `vigilctl fleet verify --json` against `url`.
fn fleet_verify(url: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
    let out = Command::new(bin("vigilctl"))
        .args(["--json", "fleet", "verify", "--servers", url])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let report = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (
        out.status.code(),
        report,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Every custom event's message on the stream, by (host, seq).
fn stream_messages(url: &str) -> BTreeMap<(String, u64), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let reader = vigil_fleet::StreamReader::new(client, Duration::from_secs(5), "VIGIL");
        let mut out = BTreeMap::new();
        reader
            .each(false, |m| {
                if m.record.as_deref() == Some("entry") {
                    let record: Value = serde_json::from_slice(&m.payload).unwrap();
                    if let Some(message) = record["event"]["custom"]["message"].as_str() {
                        let key = (m.host.clone().unwrap(), record["seq"].as_u64().unwrap());
                        assert!(
                            out.insert(key.clone(), message.to_string()).is_none(),
                            "{key:?} twice on the stream"
                        );
                    }
                }
                ControlFlow::Continue(())
            })
            .await
            .unwrap();
        out
    })
}

#[test]
fn three_hosts_forward_every_acknowledged_entry_once_through_broker_and_daemon_kills() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker =
        NatsServer::start(&dir.path().join("nats").tap_mkdir(), NatsOptions::default());
    let url = broker.url();
    let hosts = ["alpha", "beta", "gamma"];
    let dirs: Vec<PathBuf> = hosts
        .iter()
        .map(|h| dir.path().join(h).tap_mkdir())
        .collect();
    let configs: Vec<PathBuf> = hosts
        .iter()
        .zip(&dirs)
        .map(|(h, d)| host_config(d, &url, h, ""))
        .collect();
    let mut daemons: Vec<Daemon> = configs
        .iter()
        .zip(&dirs)
        .map(|(c, d)| Daemon::in_dir(c, d))
        .collect();
    let keys = dir.path().join("keys");
    for (daemon, d) in daemons.iter().zip(&dirs) {
        keep_key(daemon, d, &keys);
    }
    let mut acknowledged: Vec<(String, u64, String)> = Vec::new();
    // `count` events on each host (`only`: on that one).
    let emit = |round: usize,
                count: usize,
                only: Option<usize>,
                acknowledged: &mut Vec<(String, u64, String)>| {
        for i in 0..hosts.len() {
            if only.is_some_and(|o| o != i) {
                continue;
            }
            let mut client = vigilctl::Client::connect(&dirs[i].join("control.sock")).unwrap();
            for n in 0..count {
                let message = format!("{} round {round} event {n}", hosts[i]);
                if let Some(seq) = emit_acknowledged(&mut client, &message) {
                    acknowledged.push((hosts[i].to_string(), seq, message));
                }
            }
        }
    };
    emit(0, 20, None, &mut acknowledged);
    // The broker dies mid-stream (right after a burst) and comes back on
    // the same store; meanwhile the hosts go on acknowledging.
    emit(1, 200, None, &mut acknowledged);
    broker.kill();
    emit(2, 20, None, &mut acknowledged);
    broker.restart();
    // A host dies mid-forward (right after a burst) and comes back.
    emit(3, 300, Some(1), &mut acknowledged);
    daemons.remove(1).kill9();
    daemons.insert(1, Daemon::in_dir(&configs[1], &dirs[1]));
    emit(4, 20, None, &mut acknowledged);
    // Both at once.
    emit(5, 300, Some(2), &mut acknowledged);
    broker.kill();
    daemons.remove(2).kill9();
    broker.restart();
    daemons.insert(2, Daemon::in_dir(&configs[2], &dirs[2]));
    emit(6, 20, None, &mut acknowledged);

    let heads: Vec<u64> = daemons.iter().map(wait_forwarded).collect();
    let keys_arg = keys.display().to_string();
    let (code, report, stderr) = fleet_verify(&url, &["--keys", &keys_arg]);
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    let reported = report["hosts"].as_array().unwrap();
    assert_eq!(reported.len(), 3, "{report:#}");
    for (host, head) in hosts.iter().zip(&heads) {
        let h = reported.iter().find(|h| h["host"] == *host).unwrap();
        assert_eq!(h["first"], 1, "{h:#}");
        assert!(h["head_seq"].as_u64().unwrap() >= *head, "{h:#}");
        assert_eq!(h["entries"], h["head_seq"], "every entry once: {h:#}");
        assert_eq!(h["keyed"], true);
        assert!(h["failure"].is_null(), "{h:#}");
    }
    let on_stream = stream_messages(&url);
    assert_eq!(
        acknowledged.len(),
        4 * 3 * 20 + 3 * 200 + 2 * 300,
        "every emit was acknowledged"
    );
    for (host, seq, message) in &acknowledged {
        assert_eq!(
            on_stream.get(&(host.clone(), *seq)),
            Some(message),
            "{host} seq {seq}"
        );
    }
    // The acknowledged position is recorded in each log.
    for daemon in &daemons {
        let status = wait_for("the position recorded", || {
            let s = forward_status(daemon);
            (s["recorded_seq"].as_u64().unwrap() > 0).then_some(s)
        });
        assert!(status["connected"].as_bool().unwrap());
        assert!(status["halted"].is_null());
    }
    // `fleet status` lists each host's last-seen head.
    let out = Command::new(bin("vigilctl"))
        .args(["--json", "fleet", "status", "--servers", &url])
        .output()
        .unwrap();
    let seen = vigil_tests::json_lines(&ok(&out));
    assert_eq!(seen.len(), 3, "{seen:#?}");
    for s in &seen {
        assert!(hosts.contains(&s["host"].as_str().unwrap()), "{s:#}");
        assert!(s["seq"].as_u64().unwrap() > 0);
    }
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}
