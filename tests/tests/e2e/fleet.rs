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

/// A current-thread runtime for the tests' own NATS clients.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A broker in `dir/nats` and one host, `alpha`, in `dir/alpha`
/// forwarding to it: the broker, the host's directory, its configuration
/// and the running daemon.
fn one_host(dir: &Path) -> (NatsServer, PathBuf, PathBuf, Daemon) {
    let broker = NatsServer::start(&dir.join("nats").tap_mkdir(), NatsOptions::default());
    let host = dir.join("alpha").tap_mkdir();
    let config = host_config(&host, &broker.url(), "alpha", "");
    let daemon = Daemon::in_dir(&config, &host);
    (broker, host, config, daemon)
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
    let rt = runtime();
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

/// Emits `count` events; their (seq, message).
fn emit_many(dir: &Path, prefix: &str, count: usize) -> Vec<(u64, String)> {
    let mut client = vigilctl::Client::connect(&dir.join("control.sock")).unwrap();
    (0..count)
        .map(|n| {
            let message = format!("{prefix} {n}");
            let seq = emit_acknowledged(&mut client, &message).expect("acknowledged");
            (seq, message)
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_host_whose_log_falls_behind_the_fleets_copy_is_reported_and_stops_forwarding() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, host, config, daemon) = one_host(dir.path());
    let url = broker.url();
    emit_many(&host, "before the backup", 5);
    wait_forwarded(&daemon);
    daemon.stop();
    let backup = dir.path().join("backup");
    copy_dir(&host.join("state"), &backup);
    let daemon = Daemon::in_dir(&config, &host);
    emit_many(&host, "after the backup", 10);
    let forwarded = wait_forwarded(&daemon);
    daemon.stop();
    // The host is restored from the older copy: its log now ends before
    // what the fleet holds.
    std::fs::remove_dir_all(host.join("state")).unwrap();
    copy_dir(&backup, &host.join("state"));
    let daemon = Daemon::in_dir(&config, &host);
    let status = wait_for("forwarding to stop", || {
        let s = forward_status(&daemon);
        s["halted"].as_str().map(str::to_string)
    });
    assert!(
        status.contains("lost entries") && status.contains(&format!("seq {forwarded}")),
        "{status}"
    );
    let findings = vigil_tests::json_lines(&String::from_utf8_lossy(
        &daemon.ctl(&["--json", "doctor"]).stdout,
    ));
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == "forward" && f["severity"] == "error"),
        "{findings:#?}"
    );
    // The fleet's copy is intact, and nothing of the restored log went on it.
    emit_many(&host, "after the restore", 5);
    std::thread::sleep(Duration::from_secs(2));
    let (code, report, stderr) = fleet_verify(&url, &[]);
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    assert_eq!(report["hosts"][0]["head_seq"], forwarded, "{report:#}");
    assert!(
        !stream_messages(&url)
            .values()
            .any(|m| m.starts_with("after the restore")),
        "the restored log must not go on the stream"
    );
}

#[test]
fn wrong_credentials_are_a_clear_error_and_nothing_acknowledged_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let broker = NatsServer::start(
        &dir.path().join("nats").tap_mkdir(),
        NatsOptions {
            user: Some(("vigil".into(), "right-password-71".into())),
            ..NatsOptions::default()
        },
    );
    let url = broker.url();
    let host = dir.path().join("alpha").tap_mkdir();
    let password = host.join("nats-password");
    std::fs::write(&password, "wrong-password-42\n").unwrap();
    let config = host_config(
        &host,
        &url,
        "alpha",
        &format!(
            "\n[forward.auth]\nuser = \"vigil\"\npassword = \"file:{}\"\n",
            password.display()
        ),
    );
    let daemon = Daemon::in_dir(&config, &host);
    let emitted = emit_many(&host, "while refused", 30);
    let error = wait_for("the login to be refused", || {
        let s = forward_status(&daemon);
        s["last_error"][1].as_str().map(str::to_string)
    });
    assert!(error.to_lowercase().contains("authorization"), "{error}");
    assert!(!error.contains("wrong-password-42"), "{error}");
    let status = forward_status(&daemon);
    assert_eq!(status["connected"], false);
    assert_eq!(status["acked_seq"], 0);
    let findings = vigil_tests::json_lines(&String::from_utf8_lossy(
        &daemon.ctl(&["--json", "doctor"]).stdout,
    ));
    assert!(
        findings.iter().any(|f| f["check"] == "forward"),
        "{findings:#?}"
    );
    assert!(!daemon.stderr().contains("wrong-password-42"));
    // The operator fixes the password: everything acknowledged meanwhile goes.
    std::fs::write(&password, "right-password-71\n").unwrap();
    wait_forwarded(&daemon);
    let out = Command::new(bin("vigilctl"))
        .env("VIGIL_NATS_PASSWORD", "right-password-71")
        .args([
            "--json",
            "fleet",
            "verify",
            "--servers",
            &url,
            "--user",
            "vigil",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rt = runtime();
    let on_stream: Vec<String> = rt.block_on(async {
        let client = async_nats::ConnectOptions::with_user_and_password(
            "vigil".into(),
            "right-password-71".into(),
        )
        .connect(url.as_str())
        .await
        .unwrap();
        let reader = vigil_fleet::StreamReader::new(client, Duration::from_secs(5), "VIGIL");
        let mut out = Vec::new();
        reader
            .each(false, |m| {
                let record: Value = serde_json::from_slice(&m.payload).unwrap();
                if let Some(text) = record["event"]["custom"]["message"].as_str() {
                    out.push(text.to_string());
                }
                ControlFlow::Continue(())
            })
            .await
            .unwrap();
        out
    });
    let expected: Vec<String> = emitted.into_iter().map(|(_, m)| m).collect();
    assert_eq!(on_stream, expected);
    // A wrong password for `fleet verify` is a clear error too.
    let out = Command::new(bin("vigilctl"))
        .env("VIGIL_NATS_PASSWORD", "nope")
        .args(["fleet", "verify", "--servers", &url, "--user", "vigil"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.to_lowercase().contains("authorization"), "{stderr}");
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in `dir`.
fn test_pki(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=vigil test CA",
    ]);
    for (name, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth",
        ),
        ("client", "extendedKeyUsage=clientAuth"),
    ] {
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        run(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
        ]);
    }
}

#[test]
fn forwarding_over_tls_with_a_test_ca_and_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki").tap_mkdir();
    test_pki(&pki);
    let broker = NatsServer::start(
        &dir.path().join("nats").tap_mkdir(),
        NatsOptions {
            tls: Some((
                pki.join("server.pem"),
                pki.join("server.key"),
                Some(pki.join("ca.pem")),
            )),
            ..NatsOptions::default()
        },
    );
    let url = broker.url();
    assert!(url.starts_with("tls://"));
    let host = dir.path().join("alpha").tap_mkdir();
    let config = host_config(
        &host,
        &url,
        "alpha",
        &format!(
            "\n[forward.tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"file:{}\"\n",
            pki.join("ca.pem").display(),
            pki.join("client.pem").display(),
            pki.join("client.key").display()
        ),
    );
    let daemon = Daemon::in_dir(&config, &host);
    emit_many(&host, "over tls", 10);
    let head = wait_forwarded(&daemon);
    let ca = pki.join("ca.pem").display().to_string();
    let cert = pki.join("client.pem").display().to_string();
    let key = pki.join("client.key").display().to_string();
    let (code, report, stderr) = fleet_verify(&url, &["--ca", &ca, "--cert", &cert, "--key", &key]);
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    assert!(report["hosts"][0]["head_seq"].as_u64().unwrap() >= head);
    // Without a client certificate the broker refuses, and says so.
    let (code, _, stderr) = fleet_verify(&url, &["--ca", &ca]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot connect to NATS"), "{stderr}");
    // Without the test CA the server is not trusted.
    let (code, _, stderr) = fleet_verify(&url, &["--cert", &cert, "--key", &key]);
    assert_eq!(code, Some(2), "{stderr}");
}

#[test]
fn a_rewritten_stream_is_caught_at_the_host_and_seq_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, host, _, daemon) = one_host(dir.path());
    let url = broker.url();
    let emitted = emit_many(&host, "original", 20);
    wait_forwarded(&daemon);
    let keys = dir.path().join("keys");
    keep_key(&daemon, &host, &keys);
    daemon.stop();
    let keys_arg = keys.display().to_string();
    let (code, report, _) = fleet_verify(&url, &["--keys", &keys_arg]);
    assert_eq!(code, Some(0), "{report:#}");
    // Purge the host's subject and publish it again with one event changed
    // (its body, its rendering and its digest made consistent: only the
    // chain can tell).
    let target = emitted[7].0;
    let rt = runtime();
    rt.block_on(async {
        let client = async_nats::connect(url.as_str()).await.unwrap();
        let reader =
            vigil_fleet::StreamReader::new(client.clone(), Duration::from_secs(5), "VIGIL");
        let mut messages = Vec::new();
        reader
            .each(false, |m| {
                messages.push(m);
                ControlFlow::Continue(())
            })
            .await
            .unwrap();
        let js = async_nats::jetstream::new(client);
        let stream = js.get_stream("VIGIL").await.unwrap();
        stream.purge().filter("vigil.alpha.entries").await.unwrap();
        for m in messages {
            let mut payload = m.payload.to_vec();
            let mut record: Value = serde_json::from_slice(&payload).unwrap();
            if record["seq"] == target {
                use base64::Engine as _;
                let b64 = base64::engine::general_purpose::STANDARD;
                let body = b64.decode(record["body"].as_str().unwrap()).unwrap();
                let mut event = vigil_store::Event::decode(&body).unwrap();
                let vigil_store::Event::Custom(custom) = &mut event else {
                    panic!()
                };
                custom.message = "forged".into();
                let body = event.encode();
                record["body"] = b64.encode(&body).into();
                record["digest"] = vigil_store::Hash::sha256(&body).to_string().into();
                record["event"] = serde_json::to_value(&event).unwrap();
                payload = serde_json::to_vec(&record).unwrap();
            }
            let mut headers = async_nats::HeaderMap::new();
            for name in ["Vigil-Store", "Vigil-Host", "Vigil-Record", "Vigil-Seq"] {
                headers.insert(name, m_header(&m, name).as_str());
            }
            js.publish_with_headers(m.subject.clone(), headers, payload.into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    });
    let (code, report, _) = fleet_verify(&url, &["--keys", &keys_arg]);
    assert_eq!(code, Some(1), "{report:#}");
    let alpha = &report["hosts"][0];
    assert_eq!(alpha["host"], "alpha");
    assert_eq!(alpha["failure"][0], target, "{alpha:#}");
    // The text output names the host and the seq.
    let out = Command::new(bin("vigilctl"))
        .args(["fleet", "verify", "--servers", &url, "--keys", &keys_arg])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("alpha") && text.contains(&format!("FAILED at seq {target}")),
        "{text}"
    );
}

fn m_header(m: &vigil_fleet::check::Delivered, name: &str) -> String {
    match name {
        "Vigil-Store" => m.store.clone(),
        "Vigil-Host" => m.host.clone(),
        "Vigil-Record" => m.record.clone(),
        _ => serde_json::from_slice::<Value>(&m.payload)
            .ok()
            .and_then(|r| r["seq"].as_u64().or(r["first"].as_u64()))
            .map(|s| s.to_string()),
    }
    .unwrap_or_default()
}

/// A broker that ran once in `dir` (so its address is known) and is down:
/// a host starts forwarding into an outage.
fn broker_down(dir: &Path) -> (NatsServer, String) {
    let mut broker = NatsServer::start(&dir.join("nats").tap_mkdir(), NatsOptions::default());
    let url = broker.url();
    broker.kill();
    (broker, url)
}

#[test]
fn an_outage_past_alert_after_raises_an_alert_and_resolves_it_when_forwarding_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut broker, url) = broker_down(dir.path());
    let host = dir.path().join("alpha").tap_mkdir();
    let config = host_config(&host, &url, "alpha", "alert_after = \"2s\"\n");
    let daemon = Daemon::in_dir(&config, &host);
    emit_many(&host, "during the outage", 5);
    let incident = wait_for("the outage alert", || {
        let out = daemon.ctl(&["--json", "incidents", "list"]);
        vigil_tests::json_lines(&String::from_utf8_lossy(&out.stdout))
            .into_iter()
            .find(|i| i.to_string().contains("VigilForwardFailing"))
    });
    assert!(
        incident.to_string().contains("firing") || incident.to_string().contains("open"),
        "{incident:#}"
    );
    broker.restart();
    wait_forwarded(&daemon);
    wait_for("the outage alert to resolve", || {
        let out = daemon.ctl(&["--json", "incidents", "list", "--state", "resolved"]);
        vigil_tests::json_lines(&String::from_utf8_lossy(&out.stdout))
            .into_iter()
            .find(|i| i.to_string().contains("VigilForwardFailing"))
    });
}

#[test]
fn retention_does_not_truncate_what_the_broker_has_not_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut broker, url) = broker_down(dir.path());
    let host = dir.path().join("alpha").tap_mkdir();
    let config = write_config(
        &host,
        &format!(
            "[http]\nenabled = false\n\n[retention]\nschedule = \"1h\"\ndefault = \"1s\"\ntruncate_at_least = 1\n\n[forward]\nservers = [\"{url}\"]\nhost = \"alpha\"\n"
        ),
    );
    let daemon = Daemon::in_dir(&config, &host);
    emit_many(&host, "not forwarded yet", 20);
    std::thread::sleep(Duration::from_millis(1500));
    ok(&daemon.ctl(&["retention", "run"]));
    let status = json(&daemon.ctl(&["--json", "status"]));
    assert_eq!(
        status["first_seq"], 1,
        "nothing unforwarded may go: {status:#}"
    );
    broker.restart();
    wait_for("the position recorded", || {
        let s = forward_status(&daemon);
        (s["recorded_seq"].as_u64().unwrap() > 0).then_some(())
    });
    std::thread::sleep(Duration::from_millis(1500));
    ok(&daemon.ctl(&["retention", "run"]));
    let status = json(&daemon.ctl(&["--json", "status"]));
    assert!(
        status["first_seq"].as_u64().unwrap() > 20,
        "forwarded entries may go: {status:#}"
    );
    wait_forwarded(&daemon);
    let (code, report, stderr) = fleet_verify(&url, &[]);
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    assert_eq!(
        report["hosts"][0]["first"], 1,
        "the fleet keeps what the host truncated"
    );
}

#[test]
fn forward_settings_are_checked_and_credentials_are_never_inline() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, expected) in [
        (
            "[forward]\nservers = [\"nats://127.0.0.1:4222\"]\n\n[forward.auth]\nuser = \"vigil\"\npassword = \"hunter2-inline\"\n",
            "never written inline",
        ),
        (
            "[forward]\nservers = [\"nats://127.0.0.1:4222\"]\nbatchsize = 5\n",
            "unknown field `batchsize`",
        ),
        ("[forward]\nservers = []\n", "forward.servers"),
        (
            "[forward]\nservers = [\"http://127.0.0.1:4222\"]\n",
            "is not nats://HOST:PORT",
        ),
        (
            "[forward]\nservers = [\"tls://127.0.0.1:4222\"]\n",
            "[forward.tls]",
        ),
        (
            "[forward]\nservers = [\"nats://127.0.0.1:4222\"]\nsubject = \"vigil.*.x\"\n",
            "forward.subject",
        ),
        (
            "[forward]\nservers = [\"nats://127.0.0.1:4222\"]\nstream = \"a.b\"\n",
            "forward.stream",
        ),
    ] {
        let config = write_config(dir.path(), extra);
        let (code, stderr) = vigil_tests::vigild_fails(
            &[
                "--config".as_ref(),
                config.as_os_str(),
                "--check-config".as_ref(),
            ],
            &[],
        );
        assert_eq!(code, Some(1), "{extra}: {stderr}");
        assert!(stderr.contains(expected), "{extra}: {stderr}");
        assert!(
            stderr.contains("vigil.toml:"),
            "a line and column: {stderr}"
        );
        assert!(!stderr.contains("hunter2-inline"), "{stderr}");
    }
}

#[test]
fn fleet_verify_follow_keeps_verifying_and_exits_1_at_the_first_break() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, host, _, daemon) = one_host(dir.path());
    let url = broker.url();
    emit_many(&host, "first", 5);
    wait_forwarded(&daemon);
    let mut follow = Reaped(
        Command::new(bin("vigilctl"))
            .args(["--json", "fleet", "verify", "--follow", "--servers", &url])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let follow = &mut follow.0;
    // New entries keep arriving and verifying.
    emit_many(&host, "second", 5);
    wait_forwarded(&daemon);
    std::thread::sleep(Duration::from_secs(1));
    assert!(follow.try_wait().unwrap().is_none(), "still following");
    // A replayed entry breaks it.
    let rt = runtime();
    let replayed = rt.block_on(async {
        let client = async_nats::connect(url.as_str()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let stream = js.get_stream("VIGIL").await.unwrap();
        let third = stream.get_raw_message(4).await.unwrap();
        let record: Value = serde_json::from_slice(&third.payload).unwrap();
        // Its headers without the message id (the broker would drop it as
        // a resend).
        let mut headers = async_nats::HeaderMap::new();
        for name in ["Vigil-Store", "Vigil-Host", "Vigil-Record", "Vigil-Seq"] {
            headers.insert(name, third.headers.get(name).unwrap().as_str());
        }
        js.publish_with_headers(third.subject.clone(), headers, third.payload.clone())
            .await
            .unwrap()
            .await
            .unwrap();
        record["seq"].as_u64().unwrap()
    });
    let status = wait_for("fleet verify --follow to exit", || {
        follow.try_wait().unwrap()
    });
    assert_eq!(status.code(), Some(1));
    let mut text = String::new();
    std::io::Read::read_to_string(follow.stdout.as_mut().unwrap(), &mut text).unwrap();
    let report: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(report["hosts"][0]["failure"][0], replayed, "{report:#}");
}

/// A child process killed if the test ends before it does.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
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

#[test]
fn a_second_store_on_a_taken_subject_stops_instead_of_mixing_chains() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, host, _, first) = one_host(dir.path());
    let url = broker.url();
    emit_many(&host, "first store", 5);
    let forwarded = wait_forwarded(&first);
    // Another store (a reinstalled host) claims the same host name.
    let other = dir.path().join("other").tap_mkdir();
    let config = host_config(&other, &url, "alpha", "");
    let second = Daemon::in_dir(&config, &other);
    emit_many(&other, "second store", 5);
    let halted = wait_for("the second store to stop", || {
        forward_status(&second)["halted"]
            .as_str()
            .map(str::to_string)
    });
    assert!(
        halted.contains("already carries the chain of store"),
        "{halted}"
    );
    std::thread::sleep(Duration::from_secs(1));
    // Nothing of the second store reached the stream; the first verifies.
    let (code, report, stderr) = fleet_verify(&url, &[]);
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    assert_eq!(report["hosts"].as_array().unwrap().len(), 1, "{report:#}");
    assert!(report["hosts"][0]["head_seq"].as_u64().unwrap() >= forwarded);
    assert!(
        !stream_messages(&url)
            .values()
            .any(|m| m.starts_with("second store"))
    );
}
