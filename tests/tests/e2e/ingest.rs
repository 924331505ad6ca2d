//! Ingestion end to end, against the real daemon over real HTTP: every
//! driver with its published payload shape and real signature, every way a
//! delivery can be refused (and that a refusal stores nothing), limits,
//! redaction, and SIGKILL under load.

#![allow(clippy::unwrap_used)]

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vigil_tests::http::{self, Reply};
use vigil_tests::*;

fn fixture(path: &str) -> Vec<u8> {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/webhooks")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn mac(secret: &[u8], message: &[u8]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    m.update(message);
    m.finalize().into_bytes().to_vec()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn dev_key(state: &Path) -> String {
    std::fs::read_to_string(state.join("dev-api-key"))
        .unwrap()
        .trim()
        .to_string()
}

/// A signed delivery for each development source: (headers, body).
fn signed(driver: &str, body: &[u8], delivery: &str) -> Vec<(String, String)> {
    let hex_mac = |secret: &str, msg: &[u8]| hex::encode(mac(secret.as_bytes(), msg));
    match driver {
        "alertmanager" => vec![],
        "grafana" => vec![(
            "X-Grafana-Alerting-Signature".into(),
            hex_mac("dev-only-grafana-secret", body),
        )],
        "github" => vec![
            ("X-GitHub-Event".into(), "workflow_run".into()),
            ("X-GitHub-Delivery".into(), delivery.into()),
            (
                "X-Hub-Signature-256".into(),
                format!("sha256={}", hex_mac("dev-only-github-secret", body)),
            ),
        ],
        "gitlab" => vec![
            ("X-Gitlab-Event".into(), "Pipeline Hook".into()),
            ("X-Gitlab-Token".into(), "dev-only-gitlab-token".into()),
        ],
        "jenkins" => vec![("X-Jenkins-Token".into(), "dev-only-jenkins-token".into())],
        "pagerduty" => vec![(
            "X-PagerDuty-Signature".into(),
            format!("v1={}", hex_mac("dev-only-pagerduty-secret", body)),
        )],
        "generic" => generic_headers(delivery, now_secs(), body),
        other => panic!("no signer for {other}"),
    }
}

fn generic_headers(id: &str, ts: u64, body: &[u8]) -> Vec<(String, String)> {
    let mut msg = format!("{id}.{ts}.").into_bytes();
    msg.extend_from_slice(body);
    let sig =
        base64::engine::general_purpose::STANDARD.encode(mac(b"dev-only-generic-secret", &msg));
    vec![
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), ts.to_string()),
        ("webhook-signature".into(), format!("v1,{sig}")),
    ]
}

fn post(
    addr: SocketAddr,
    source: &str,
    key: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Reply {
    let extra: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    http::ingest(addr, source, key, &extra, body)
}

fn error_code(r: &Reply) -> String {
    r.json()["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// How many deliveries the log holds (refusals are only ever counted into
/// `auth` events, which a background flush may write at any time).
fn deliveries(daemon: &Daemon) -> usize {
    json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "ingest", "--limit", "10000",
    ])))
    .len()
}

const FIXTURES: [(&str, &str); 7] = [
    ("alertmanager", "alertmanager/firing.json"),
    ("grafana", "grafana/firing.json"),
    ("github", "github/workflow_run_failure.json"),
    ("gitlab", "gitlab/pipeline_failed.json"),
    ("jenkins", "jenkins/failure.json"),
    ("pagerduty", "pagerduty/incident_triggered.json"),
    ("generic", "generic/alert.json"),
];

#[test]
fn every_driver_accepts_its_signed_fixture_and_opens_an_incident() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let addr = daemon.http_addr();
    let key = dev_key(&daemon.state_dir);
    // The banner's curl line works as pasted.
    let banner = daemon.stdout_until(|l| l.trim().starts_with("curl "));
    let curl = banner
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("curl "))
        .unwrap_or_else(|| panic!("no curl line in the banner: {banner:?}"));
    let pasted = ok(&std::process::Command::new("sh")
        .args(["-c", curl])
        .output()
        .unwrap());
    assert!(pasted.contains("\"accepted\":1"), "{pasted}");
    for (i, (driver, path)) in FIXTURES.iter().enumerate() {
        let body = fixture(path);
        let headers = signed(driver, &body, &format!("delivery-{i}"));
        if *driver != "alertmanager" {
            // The same delivery with its signature or token altered: 403.
            let mut forged = headers.clone();
            let last = forged
                .iter_mut()
                .rfind(|(k, _)| {
                    k.to_ascii_lowercase().contains("signature")
                        || k.to_ascii_lowercase().contains("token")
                })
                .unwrap();
            let flipped = if last.1.ends_with('0') { '1' } else { '0' };
            last.1.pop();
            last.1.push(flipped);
            let r = post(addr, driver, &key, &forged, &body);
            assert_eq!(
                r.status, 403,
                "{driver} accepted a forged signature: {}",
                r.body
            );
            // And without any signature or token at all: 403 too.
            let unsigned: Vec<(String, String)> = headers
                .iter()
                .filter(|(k, _)| {
                    let k = k.to_ascii_lowercase();
                    !k.contains("signature") && !k.contains("token")
                })
                .cloned()
                .collect();
            let r = post(addr, driver, &key, &unsigned, &body);
            assert_eq!(
                r.status, 403,
                "{driver} accepted an unsigned delivery: {}",
                r.body
            );
            assert!(r.body.contains("missing"), "{driver}: {}", r.body);
        }
        let r = post(addr, driver, &key, &headers, &body);
        assert_eq!(r.status, 202, "{driver}: {}", r.body);
        let answer = r.json();
        assert!(
            answer["accepted"].as_u64().unwrap() >= 1,
            "{driver}: {answer}"
        );
        assert_eq!(answer["seqs"].as_array().unwrap().len(), 1);
    }
    let incidents = json_lines(&ok(&daemon.ctl(&["--json", "incidents", "list"])));
    for (driver, _) in FIXTURES {
        assert!(
            incidents
                .iter()
                .any(|i| i["source"] == driver && i["state"] == "open"),
            "no open incident from {driver}: {incidents:?}"
        );
    }
    // Incident ids survive a crash and the full replay after it (no
    // snapshot was ever written), and so do the accepted delivery ids.
    let before: Vec<String> = incidents.iter().map(|i| i["id"].to_string()).collect();
    daemon.kill9();
    let daemon = Daemon::dev(tmp.path(), None);
    assert!(
        daemon.stderr().contains("snapshot_as_of=None"),
        "{}",
        daemon.stderr()
    );
    let github = fixture("github/workflow_run_failure.json");
    let replayed = post(
        daemon.http_addr(),
        "github",
        &key,
        &signed("github", &github, "delivery-2"),
        &github,
    );
    assert_eq!(replayed.status, 409, "{}", replayed.body);
    let after: Vec<String> = json_lines(&ok(&daemon.ctl(&["--json", "incidents", "list"])))
        .iter()
        .map(|i| i["id"].to_string())
        .collect();
    assert_eq!(before, after);
    let id = after[0].trim_matches('"').to_string();
    assert!(
        ok(&daemon.ctl(&["incidents", "ack", &id, "--note", "on it"])).contains("acknowledged")
    );
    let shown = ok(&daemon.ctl(&["--json", "incidents", "show", &id]));
    let shown: serde_json::Value = serde_json::from_str(shown.trim()).unwrap();
    assert_eq!(shown["incident"]["state"], "acked");
    assert_eq!(shown["annotations"][0]["note"], "on it");
    assert!(!shown["history"].as_array().unwrap().is_empty());
    assert!(daemon.stop().success());
}

#[test]
fn refused_deliveries_get_the_right_status_and_store_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let addr = daemon.http_addr();
    let key = dev_key(&daemon.state_dir);
    let body = fixture("github/workflow_run_failure.json");
    let good = signed("github", &body, "gh-1");
    let before = deliveries(&daemon);
    let check = |name: &str, r: Reply, status: u16, code: &str| {
        assert_eq!(r.status, status, "{name}: {}", r.body);
        assert_eq!(error_code(&r), code, "{name}: {}", r.body);
        assert!(
            !r.body.contains("dev-only"),
            "{name} echoes a secret: {}",
            r.body
        );
    };
    let mut bad = good.clone();
    bad[2].1 = format!("sha256={}", "0".repeat(64));
    check(
        "bad signature",
        post(addr, "github", &key, &bad, &body),
        403,
        "bad_signature",
    );
    check(
        "missing signature",
        post(addr, "github", &key, &good[..2], &body),
        403,
        "bad_signature",
    );
    let stale = generic_headers("g-stale", now_secs() - 3600, b"{\"summary\":\"x\"}");
    check(
        "stale timestamp",
        post(addr, "generic", &key, &stale, b"{\"summary\":\"x\"}"),
        403,
        "bad_signature",
    );
    check(
        "no key",
        http::request(
            addr,
            "POST",
            "/v1/ingest/github",
            &[("Content-Type", "application/json")],
            &body,
        ),
        401,
        "unauthorized",
    );
    check(
        "wrong key",
        post(addr, "github", "vgl_00000000_deadbeef", &good, &body),
        401,
        "unauthorized",
    );
    check(
        "unknown source",
        post(addr, "nagios", &key, &[], b"{}"),
        404,
        "unknown_source",
    );
    check(
        "wrong content type",
        http::request(
            addr,
            "POST",
            "/v1/ingest/github",
            &[
                ("Authorization", &format!("Bearer {key}")),
                ("Content-Type", "text/plain"),
            ],
            &body,
        ),
        415,
        "unsupported_media_type",
    );
    check(
        "malformed JSON",
        post(addr, "alertmanager", &key, &[], b"{\"version\":"),
        400,
        "malformed",
    );
    let deep = "[".repeat(100) + &"]".repeat(100);
    check(
        "deep JSON",
        post(addr, "alertmanager", &key, &[], deep.as_bytes()),
        400,
        "malformed",
    );
    check(
        "wrong shape",
        post(
            addr,
            "alertmanager",
            &key,
            &[],
            b"{\"version\":\"4\",\"alerts\":5}",
        ),
        422,
        "invalid_payload",
    );
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(2 << 20));
    check(
        "oversize",
        post(addr, "alertmanager", &key, &[], big.as_bytes()),
        413,
        "too_large",
    );
    assert_eq!(deliveries(&daemon), before, "a refusal stored something");

    // The first delivery is accepted, its replay is a conflict.
    assert_eq!(post(addr, "github", &key, &good, &body).status, 202);
    check(
        "replayed delivery",
        post(addr, "github", &key, &good, &body),
        409,
        "duplicate",
    );

    // Revoked and expired keys.
    let created = ok(&daemon.ctl(&[
        "--json",
        "keys",
        "create",
        "--name",
        "short",
        "--expires",
        "1s",
        "--source",
        "alertmanager",
    ]));
    let created: serde_json::Value = serde_json::from_str(created.trim()).unwrap();
    let short = created["secret"].as_str().unwrap().to_string();
    let am = fixture("alertmanager/firing.json");
    assert_eq!(post(addr, "alertmanager", &short, &[], &am).status, 202);
    check(
        "out of scope",
        post(addr, "github", &short, &good, &body),
        403,
        "forbidden",
    );
    std::thread::sleep(Duration::from_millis(1500));
    check(
        "expired key",
        post(addr, "alertmanager", &short, &[], &am),
        401,
        "unauthorized",
    );
    let created = ok(&daemon.ctl(&["--json", "keys", "create", "--name", "gone"]));
    let created: serde_json::Value = serde_json::from_str(created.trim()).unwrap();
    let gone = created["secret"].as_str().unwrap().to_string();
    let prefix = created["key"]["prefix"].as_str().unwrap().to_string();
    assert_eq!(post(addr, "alertmanager", &gone, &[], &am).status, 202);
    ok(&daemon.ctl(&["keys", "revoke", &prefix]));
    check(
        "revoked key",
        post(addr, "alertmanager", &gone, &[], &am),
        401,
        "unauthorized",
    );
    let keys = json_lines(&ok(&daemon.ctl(&["--json", "keys", "list"])));
    let listed = keys
        .iter()
        .find(|k| k["prefix"] == prefix.as_str())
        .unwrap();
    assert!(listed["revoked_at"].is_i64() && listed["last_used"].is_i64());
    assert!(!ok(&daemon.ctl(&["--json", "keys", "list"])).contains(&gone));

    // Health needs no key; anything else does.
    assert_eq!(
        http::request(addr, "GET", "/v1/health", &[], b"").status,
        200
    );
    assert_eq!(
        http::request(addr, "GET", "/v1/other", &[], b"").status,
        401
    );
    assert_eq!(
        http::request(addr, "GET", "/v1/health/", &[], b"").status,
        401
    );
    let auth = format!("Bearer {key}");
    assert_eq!(
        http::request(addr, "GET", "/v1/other", &[("Authorization", &auth)], b"").status,
        404
    );

    // Rejections are counted into a few events, not one per request: 20
    // more bad signatures join the first one.
    for _ in 0..20 {
        assert_eq!(post(addr, "github", &key, &bad, &body).status, 403);
    }
    assert!(daemon.stop().success());
    let daemon = Daemon::dev(tmp.path(), None);
    let counted: Vec<serde_json::Value> = json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "auth", "--limit", "1000",
    ])))
    .into_iter()
    .map(|e| e["event"]["auth_rejections"].clone())
    .filter(|r| r["channel"] == "ingest:github" && r["reason"] == "bad_signature")
    .collect();
    let total: u64 = counted.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 21, "{counted:?}");
    // One per 10-second interval the requests spanned, plus the final flush.
    assert!(counted.len() <= 3, "{counted:?}");
    assert!(daemon.stop().success());
}

fn config(dir: &Path, http: &str) -> PathBuf {
    write_config(
        dir,
        &format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n{http}\n\n[sources.am]\ndriver = \"alertmanager\"\nstore_raw = true\n"
        ),
    )
}

#[test]
fn slow_clients_are_cut_off_and_bursts_are_limited() {
    let _exclusive = crate::exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let config = config(
        tmp.path(),
        "header_timeout = \"1s\"\nrate_per_key = 2\nburst_per_key = 5\n",
    );
    let daemon = Daemon::in_dir(&config, tmp.path());
    let addr = daemon.http_addr();
    let key = daemon.api_key();

    // Slowloris: half a header, then silence.
    let started = std::time::Instant::now();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    use std::io::Write;
    stream
        .write_all(b"POST /v1/ingest/am HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let reply = http::read_reply(&mut stream);
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "not cut off: {waited:?}");
    assert!(
        waited >= Duration::from_millis(900),
        "cut off before the 1s header timeout: {waited:?}"
    );
    assert!(reply.status == 0 || reply.status == 408, "{reply:?}");

    let body = fixture("alertmanager/firing.json");
    let statuses: Vec<Reply> = (0..12)
        .map(|_| http::ingest(addr, "am", &key, &[], &body))
        .collect();
    let accepted = statuses.iter().filter(|r| r.status == 202).count();
    let limited: Vec<&Reply> = statuses.iter().filter(|r| r.status == 429).collect();
    // The burst of 5, plus what 2/s refills while the requests run.
    assert!((5..12).contains(&accepted), "accepted {accepted}");
    assert!(!limited.is_empty());
    assert!(
        limited[0]
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(error_code(limited[0]), "rate_limited");
    assert!(limited[0].body.contains("API key"), "{}", limited[0].body);
    // The limit is the key's, not the address's: another key still posts.
    let other = daemon.api_key();
    assert_eq!(http::ingest(addr, "am", &other, &[], &body).status, 202);
    assert!(daemon.stop().success());
}

#[test]
fn redaction_keeps_canaries_out_of_every_event() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path(), "");
    let daemon = Daemon::in_dir(&config, tmp.path());
    let addr = daemon.http_addr();
    let key = daemon.api_key();
    let canaries = [
        "AKIAQCANARY7EXAMPLE2",
        "ghp_CANARYaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1",
        "glpat-CANARYbbbbbbbbbbbbbbbb",
        "xoxb-1234567890-CANARYcccccccccc",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJDQU5BUlkifQ.CANARYsig_dddddddddddddddddd",
        "CANARY-pass-w0rd",
    ];
    let body = serde_json::json!({
        "version": "4", "status": "firing", "receiver": "vigil", "groupKey": "{}:{}",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "Leak", "severity": "critical", "access": canaries[0]},
            "annotations": {
                "summary": format!("deploy used {} and {}", canaries[1], canaries[2]),
                "description": format!("slack {} jwt {} password={}", canaries[3], canaries[4], canaries[5]),
                "runbook": "https://wiki.example.com/runbooks/leak?id=42",
            },
            "startsAt": "2026-11-23T07:00:00Z",
            "generatorURL": format!("https://admin:{}@prometheus.example.com/graph", canaries[5]),
        }]
    });
    let r = http::ingest(addr, "am", &key, &[], body.to_string().as_bytes());
    assert_eq!(r.status, 202, "{}", r.body);
    let events = ok(&daemon.ctl(&["--json", "events", "list", "--kind", "ingest"]));
    assert!(events.contains("[REDACTED:"), "{events}");
    assert!(
        events.contains("https://wiki.example.com/runbooks/leak?id=42"),
        "ordinary URLs survive"
    );
    let logs = daemon.stderr();
    for c in canaries {
        assert!(!events.contains(c), "{c} stored: {events}");
        assert!(!logs.contains(c), "{c} logged");
    }
    assert!(daemon.stop().success());
}

#[test]
fn sigkill_under_ingest_load_loses_no_acknowledged_alert() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path(), "");
    let daemon = Daemon::in_dir(&config, tmp.path());
    let addr = daemon.http_addr();
    let key = daemon.api_key();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let key = key.clone();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for i in 0.. {
                    let fp = format!("w{w}-{i}");
                    let body = serde_json::json!({
                        "version": "4", "status": "firing", "receiver": "r", "groupKey": "g",
                        "alerts": [{"status": "firing", "labels": {"alertname": "Load", "n": fp},
                                    "annotations": {}, "startsAt": "2026-11-23T07:00:00Z", "fingerprint": fp}]
                    });
                    let Ok(mut stream) = std::net::TcpStream::connect(addr) else { break };
                    use std::io::Write;
                    let head = format!(
                        "POST /v1/ingest/am HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.to_string().len()
                    );
                    if stream.write_all(head.as_bytes()).is_err() {
                        break;
                    }
                    let reply = http::read_reply(&mut stream);
                    if reply.status != 202 {
                        break;
                    }
                    acked.push(fp);
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    daemon.kill9();
    let acked: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(acked.len() > 20, "only {} acknowledged", acked.len());

    let daemon = Daemon::in_dir(&config, tmp.path());
    let mut stored = std::collections::HashSet::new();
    let mut from = 1;
    loop {
        let page = ok(&daemon.ctl(&[
            "--json",
            "events",
            "list",
            "--kind",
            "ingest",
            "--from",
            &from.to_string(),
            "--limit",
            "10000",
        ]));
        let page = json_lines(&page);
        let Some(last) = page.last() else { break };
        from = last["seq"].as_u64().unwrap() + 1;
        for e in &page {
            for a in e["event"]["alerts_ingested"]["alerts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                stored.insert(a["fingerprint"].as_str().unwrap().to_string());
            }
        }
    }
    let lost: Vec<&String> = acked.iter().filter(|fp| !stored.contains(*fp)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged alerts lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    ok(&daemon.ctl(&["verify"]));
    assert!(daemon.stop().success());
}

#[test]
fn tls_serves_https_with_the_configured_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    ok(&made);
    let config = config(
        tmp.path(),
        &format!(
            "tls_cert = \"{}\"\ntls_key = \"{}\"\n",
            cert.display(),
            key.display()
        ),
    );
    let daemon = Daemon::in_dir(&config, tmp.path());
    let addr = daemon.http_addr();
    let out = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(&cert)
        .arg(format!("https://{addr}/v1/health"))
        .output()
        .unwrap();
    assert!(ok(&out).contains("\"ok\""));
    // Plaintext on the TLS port gets nothing useful.
    let plain = http::request(addr, "GET", "/v1/health", &[], b"");
    assert_ne!(plain.status, 200);
    assert!(daemon.stop().success());
}

#[test]
fn unsafe_or_broken_listeners_are_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    // Development mode has no TLS: a network address is refused, not served.
    let state = tmp.path().join("dev-state");
    let (code, stderr) = vigild_fails(
        &[
            "--dev".as_ref(),
            "--listen".as_ref(),
            "0.0.0.0:0".as_ref(),
            "--state-dir".as_ref(),
            state.as_os_str(),
        ],
        &[],
    );
    assert_eq!(code, Some(78), "{stderr}");
    assert!(stderr.contains("not a loopback address"), "{stderr}");

    // A certificate that cannot be loaded stops the start, before "ready".
    let garbage = tmp.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let config = config(
        tmp.path(),
        &format!("tls_cert = \"{0}\"\ntls_key = \"{0}\"\n", garbage.display()),
    );
    let (code, stderr) = vigild_fails(&["--config".as_ref(), config.as_os_str()], &[]);
    assert_eq!(code, Some(78), "{stderr}");
    assert!(stderr.contains("ingestion TLS: tls_"), "{stderr}");
    assert!(!stderr.contains("vigild ready"), "{stderr}");
}

#[test]
fn the_standard_webhooks_envelope_is_accepted_when_signed() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let addr = daemon.http_addr();
    let key = dev_key(&daemon.state_dir);
    let ingested = || {
        json_lines(&ok(
            &daemon.ctl(&["--json", "events", "list", "--kind", "ingest"])
        ))
    };

    // The spec's own example: a webhook event of its type.
    let example = br#"{"type":"user.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"1f81eb52-5198-4599-803e-771906343485","type":"user"}}"#;
    let r = post(
        addr,
        "generic",
        &key,
        &generic_headers("msg_envelope_1", now_secs(), example),
        example,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["accepted"], 1);
    let stored = ingested();
    assert_eq!(stored.len(), 1, "{stored:?}");
    let event = &stored[0]["event"]["webhook_received"];
    assert_eq!(event["source"], "generic", "{event}");
    assert_eq!(event["driver"], "generic");
    assert_eq!(event["event_type"], "user.created");
    assert_eq!(event["delivery_id"], "msg_envelope_1");
    assert_eq!(
        event["summary"],
        "user.created at 2022-11-03T20:26:10.344522Z"
    );

    // An envelope whose data is an alert is an alert, and opens an incident.
    let alert = serde_json::json!({
        "type": "alert.firing",
        "timestamp": "2026-11-23T07:00:00Z",
        "data": {"summary": "Queue stuck on mq-1", "severity": "critical", "labels": {"host": "mq-1"}},
    })
    .to_string();
    let r = post(
        addr,
        "generic",
        &key,
        &generic_headers("msg_envelope_2", now_secs(), alert.as_bytes()),
        alert.as_bytes(),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let stored = ingested();
    assert_eq!(stored.len(), 2, "{stored:?}");
    let alerts = &stored[1]["event"]["alerts_ingested"]["alerts"];
    assert_eq!(alerts[0]["summary"], "Queue stuck on mq-1", "{alerts}");
    assert_eq!(alerts[0]["severity"], "critical");
    let incidents = json_lines(&ok(&daemon.ctl(&["--json", "incidents", "list"])));
    assert!(
        incidents
            .iter()
            .any(|i| i["source"] == "generic" && i["summary"] == "Queue stuck on mq-1"),
        "{incidents:?}"
    );

    // Vigil's own body still works.
    let own = fixture("generic/alert.json");
    let r = post(
        addr,
        "generic",
        &key,
        &generic_headers("msg_envelope_3", now_secs(), &own),
        &own,
    );
    assert_eq!(r.status, 202, "{}", r.body);

    // A bad signature on an envelope is refused, and nothing is stored.
    let ts = now_secs();
    let mut forged = generic_headers("msg_envelope_4", ts, example);
    forged[2].1 = generic_headers("msg_envelope_4", ts, b"{}")[2].1.clone();
    let r = post(addr, "generic", &key, &forged, example);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(error_code(&r), "bad_signature");
    // Signed for another id: the id is covered too.
    let other_id = generic_headers("msg_envelope_5", ts, example);
    let mut moved = generic_headers("msg_envelope_6", ts, example);
    moved[2].1 = other_id[2].1.clone();
    let r = post(addr, "generic", &key, &moved, example);
    assert_eq!(r.status, 403, "{}", r.body);
    // An envelope the spec would not write is refused by its field.
    let typeless = br#"{"timestamp":"2022-11-03T20:26:10Z","data":{}}"#;
    let r = post(
        addr,
        "generic",
        &key,
        &generic_headers("msg_envelope_7", now_secs(), typeless),
        typeless,
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("type: missing"), "{}", r.body);
    assert_eq!(ingested().len(), 3);
    assert!(daemon.stop().success());
}
