//! Alertmanager's v2 API as Prometheus and amtool use it: `POST
//! /api/v2/alerts` (Prometheus's push; amtool's `alert add` with Debian's
//! real amtool), the health endpoints, and how a push finds its source.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::process::Command;
use vigil_tests::http::{self, Reply};
use vigil_tests::*;

fn push(addr: SocketAddr, key: Option<&str>, body: &serde_json::Value) -> Reply {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    http::request(
        addr,
        "POST",
        "/api/v2/alerts",
        &headers,
        body.to_string().as_bytes(),
    )
}

/// An RFC 3339 time `offset` seconds from now.
fn at(offset: i64) -> String {
    let now = i64::try_from(http::now_secs()).unwrap();
    jiff::Timestamp::from_second(now + offset)
        .unwrap()
        .to_string()
}

/// Prometheus's push for one rule: `alertname`, ending `ends_in` from now.
fn alert(alertname: &str, ends_in: i64) -> serde_json::Value {
    serde_json::json!({
        "labels": {"alertname": alertname, "severity": "critical", "instance": "api-1:8080"},
        "annotations": {"summary": format!("{alertname} on api-1")},
        "startsAt": at(-120),
        "endsAt": at(ends_in),
        "generatorURL": "http://prometheus.example.internal:9090/graph?g0.expr=up"
    })
}

fn incidents(daemon: &Daemon) -> Vec<serde_json::Value> {
    json_lines(&ok(&daemon.ctl(&[
        "--json",
        "incidents",
        "list",
        "--limit",
        "1000",
    ])))
}

#[test]
fn a_prometheus_push_opens_refreshes_and_resolves_one_incident() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let addr = daemon.http_addr();
    let key = std::fs::read_to_string(daemon.state_dir.join("dev-api-key")).unwrap();
    let key = key.trim();

    // Alertmanager's health endpoints answer without a key.
    for path in ["/-/healthy", "/-/ready"] {
        let r = http::request(addr, "GET", path, &[], b"");
        assert_eq!((r.status, r.body.as_str()), (200, "OK"), "{path}");
    }
    // A push needs a key like every ingestion.
    let r = push(
        addr,
        None,
        &serde_json::json!([alert("HighErrorRate", 240)]),
    );
    assert_eq!(r.status, 401, "{}", r.body);

    // Firing (its end, four minutes ahead, is only an expiry) and, in the
    // same push, one that ended a minute ago: resolved, no incident to open.
    let r = push(
        addr,
        Some(key),
        &serde_json::json!([alert("HighErrorRate", 240), alert("InstanceDown", -60)]),
    );
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, ""),
        "Alertmanager's empty 200"
    );
    let open = incidents(&daemon);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["source"], "prometheus");
    assert_eq!(open[0]["state"], "open");
    assert_eq!(open[0]["summary"], "HighErrorRate on api-1");

    // Prometheus resends every evaluation with a later end: the same
    // incident, never a second one.
    for ends_in in [300, 360, 420] {
        let r = push(
            addr,
            Some(key),
            &serde_json::json!([alert("HighErrorRate", ends_in)]),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let refreshed = incidents(&daemon);
    assert_eq!(refreshed.len(), 1, "{refreshed:?}");
    assert_eq!(refreshed[0]["id"], open[0]["id"]);
    assert_eq!(refreshed[0]["state"], "open");

    // The rule stops: Prometheus sends the alert with its end in the past.
    let r = push(
        addr,
        Some(key),
        &serde_json::json!([alert("HighErrorRate", -1)]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let resolved = incidents(&daemon);
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["state"], "resolved", "{resolved:?}");

    // Bad pushes: refused with the JSON path, nothing stored.
    let before = json_lines(&ok(
        &daemon.ctl(&["--json", "events", "list", "--kind", "ingest", "--all"])
    ))
    .len();
    for (body, status) in [
        (serde_json::json!({"labels": {"a": "b"}}), 422),
        (serde_json::json!([{"labels": {}}]), 422),
        (
            serde_json::json!([{"labels": {"a": "b"}, "endsAt": "soon"}]),
            422,
        ),
    ] {
        let r = push(addr, Some(key), &body);
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("body")
        );
    }
    let after = json_lines(&ok(
        &daemon.ctl(&["--json", "events", "list", "--kind", "ingest", "--all"])
    ))
    .len();
    assert_eq!(before, after, "a refused push stored something");
    assert!(daemon.stop().success());
}

#[test]
fn amtool_alert_add_opens_an_incident() {
    let amtool = which("amtool");
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let key = std::fs::read_to_string(daemon.state_dir.join("dev-api-key")).unwrap();
    // amtool sends the key as Prometheus would: its HTTP client config.
    let http_config = tmp.path().join("amtool-http.yml");
    std::fs::write(
        &http_config,
        format!(
            "authorization:\n  type: Bearer\n  credentials: {}\n",
            key.trim()
        ),
    )
    .unwrap();
    let out = Command::new(&amtool)
        .args([
            "alert",
            "add",
            "alertname=AmtoolTest",
            "severity=warning",
            "job=batch",
        ])
        .arg("--annotation=summary=nightly batch is late")
        .arg(format!("--alertmanager.url=http://{}", daemon.http_addr()))
        .arg(format!("--http.config.file={}", http_config.display()))
        .output()
        .unwrap();
    ok(&out);
    let open = incidents(&daemon);
    assert!(
        open.iter()
            .any(|i| i["summary"] == "nightly batch is late" && i["source"] == "prometheus"),
        "{open:?}"
    );
    // Without the key amtool is refused, and says so.
    let out = Command::new(&amtool)
        .args(["alert", "add", "alertname=NoKey"])
        .arg(format!("--alertmanager.url=http://{}", daemon.http_addr()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(daemon.stop().success());
}

#[test]
fn a_push_finds_its_source_by_configuration_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    // Two Prometheus servers, each with its own source (and key).
    let config = write_config(
        tmp.path(),
        "[http]\nlisten = \"127.0.0.1:0\"\n\n\
         [sources.prom_eu]\ndriver = \"prometheus\"\n\n\
         [sources.prom_us]\ndriver = \"prometheus\"\n\n\
         [sources.am]\ndriver = \"alertmanager\"\n",
    );
    let daemon = Daemon::in_dir(&config, tmp.path());
    let addr = daemon.http_addr();
    let scoped = |source: &str| {
        let created = ok(&daemon.ctl(&[
            "--json", "keys", "create", "--name", source, "--source", source,
        ]));
        let created: serde_json::Value = serde_json::from_str(created.trim()).unwrap();
        created["secret"].as_str().unwrap().to_string()
    };
    let eu = scoped("prom_eu");
    let am_only = scoped("am");
    let every_source = daemon.api_key();

    let body = serde_json::json!([alert("EuDown", 300)]);
    assert_eq!(push(addr, Some(&eu), &body).status, 200);
    let open = incidents(&daemon);
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["source"], "prom_eu", "the key's source");

    let r = push(addr, Some(&every_source), &body);
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "ambiguous_source");
    let r = push(addr, Some(&am_only), &body);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(incidents(&daemon).len(), 1, "refusals opened nothing");
    assert!(daemon.stop().success());

    // With no Prometheus source at all: 404, and it says what to configure.
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        "[http]\nlisten = \"127.0.0.1:0\"\n\n[sources.am]\ndriver = \"alertmanager\"\n",
    );
    let daemon = Daemon::in_dir(&config, tmp.path());
    let key = daemon.api_key();
    let r = push(daemon.http_addr(), Some(&key), &body);
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains("driver = \\\"prometheus\\\""), "{}", r.body);
    let r = push(daemon.http_addr(), None, &body);
    assert_eq!(
        r.status, 401,
        "nothing about the configuration without a key"
    );
    assert!(daemon.stop().success());
}

/// A peer tool's path; the suite installs it (`scripts/test`).
fn which(tool: &str) -> std::path::PathBuf {
    ["/usr/bin", "/usr/local/bin", "/bin"]
        .iter()
        .map(|d| std::path::Path::new(d).join(tool))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{tool} is not installed (scripts/test installs it)"))
}

/// A child process killed when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_real_prometheus_opens_and_resolves_an_incident() {
    let prometheus = which("prometheus");
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let key_file = tmp.path().join("vigil.key");
    std::fs::copy(daemon.state_dir.join("dev-api-key"), &key_file).unwrap();
    // A rule that fires at once and stops by itself some seconds later, so
    // Prometheus sends both the alert and its resolution. (Prometheus finds
    // its alertmanagers some seconds after it starts; sends before that are
    // dropped, so the window leaves time for resends after it.)
    let until = http::now_secs() + 20;
    std::fs::write(
        tmp.path().join("rules.yml"),
        format!(
            "groups:\n- name: vigil-e2e\n  interval: 1s\n  rules:\n  - alert: VigilE2E\n    \
             expr: vector(time()) < {until}\n    labels: {{severity: critical}}\n    \
             annotations: {{summary: raised by a real Prometheus}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("prometheus.yml"),
        format!(
            "global: {{evaluation_interval: 1s, scrape_interval: 1h}}\n\
             rule_files: [rules.yml]\n\
             alerting:\n  alertmanagers:\n  - static_configs: [{{targets: [\"{}\"]}}]\n    \
             authorization: {{credentials_file: {}}}\n",
            daemon.http_addr(),
            key_file.display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(tmp.path().join("prometheus.log")).unwrap();
    let _prometheus = Killed(
        Command::new(prometheus)
            .arg(format!(
                "--config.file={}",
                tmp.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.path().join("tsdb").display()
            ))
            .arg("--web.listen-address=127.0.0.1:0")
            // Resend firing alerts every second (default a minute), as many
            // refreshes of the one incident as the window holds.
            .arg("--rules.alert.resend-delay=1s")
            .current_dir(tmp.path())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let prometheus_log = || std::fs::read_to_string(tmp.path().join("prometheus.log")).unwrap();
    let by_rule = |daemon: &Daemon| -> Vec<serde_json::Value> {
        incidents(daemon)
            .into_iter()
            .filter(|i| i["summary"] == "raised by a real Prometheus")
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let opened = loop {
        let found = by_rule(&daemon);
        if let Some(i) = found.first() {
            break i.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no incident from Prometheus:\n{}",
            prometheus_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(opened["source"], "prometheus");
    assert_eq!(opened["severity"], "critical");
    let resolved = loop {
        let found = by_rule(&daemon);
        if found.iter().any(|i| i["state"] == "resolved") {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Prometheus's resolution never closed the incident: {found:?}\n{}",
            prometheus_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    // Every send of the firing alert (Prometheus resent it each second)
    // went to the one incident.
    let pushes = json_lines(&ok(
        &daemon.ctl(&["--json", "events", "list", "--kind", "ingest", "--all"])
    ))
    .len();
    assert!(pushes >= 3, "only {pushes} pushes: no resend was seen");
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["id"], opened["id"]);
    assert!(daemon.stop().success());
}
