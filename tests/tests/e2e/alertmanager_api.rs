//! Alertmanager's v2 API as Prometheus and amtool use it: `POST
//! /api/v2/alerts` (Prometheus's push; amtool's `alert add` with Debian's
//! real amtool), the health endpoints, and how a push finds its source.

#![allow(clippy::unwrap_used)]

#[path = "openapi.rs"]
mod openapi;

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

/// A real Prometheus in `dir` evaluating `rules` (a rule file's text) every
/// second and pushing to `daemon` with its development key, resending
/// firing alerts every second (default a minute), so an alert's `endsAt`
/// is 4 s ahead. Its output goes to `dir/prometheus.log`.
fn start_prometheus(dir: &std::path::Path, daemon: &Daemon, rules: &str) -> Killed {
    let key_file = dir.join("vigil.key");
    std::fs::copy(daemon.state_dir.join("dev-api-key"), &key_file).unwrap();
    std::fs::write(dir.join("rules.yml"), rules).unwrap();
    std::fs::write(
        dir.join("prometheus.yml"),
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
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    Killed(
        Command::new(which("prometheus"))
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg("--web.listen-address=127.0.0.1:0")
            .arg("--rules.alert.resend-delay=1s")
            .current_dir(dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

#[test]
fn a_real_prometheus_opens_and_resolves_an_incident() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    // A rule that fires at once and stops by itself some seconds later, so
    // Prometheus sends both the alert and its resolution. (Prometheus finds
    // its alertmanagers some seconds after it starts; sends before that are
    // dropped, so the window leaves time for resends after it.)
    let until = http::now_secs() + 20;
    let _prometheus = start_prometheus(
        tmp.path(),
        &daemon,
        &format!(
            "groups:\n- name: vigil-e2e\n  interval: 1s\n  rules:\n  - alert: VigilE2E\n    \
             expr: vector(time()) < {until}\n    labels: {{severity: critical}}\n    \
             annotations: {{summary: raised by a real Prometheus}}\n"
        ),
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

/// A config with a Prometheus source and a route tree: `db` alerts go to
/// the `db` receiver, the rest to `ops`; a critical alert inhibits a
/// warning of the same alertname. The receivers' webhooks point at a
/// closed port: nothing here is about delivery.
fn routed_config(dir: &std::path::Path) -> std::path::PathBuf {
    write_config(
        dir,
        r#"[http]
listen = "127.0.0.1:0"

[sources.prometheus]
driver = "prometheus"

[notify]
allow = ["127.0.0.1"]

[notify.route]
receiver = "ops"
group_by = ["alertname"]
group_wait = "1h"

[[notify.route.routes]]
matchers = ['team="db"']
receiver = "db"

[[notify.inhibit_rules]]
source_matchers = ['severity="critical"']
target_matchers = ['severity="warning"']
equal = ["alertname"]

[[notify.receivers]]
name = "ops"
[[notify.receivers.webhook_configs]]
url = "http://127.0.0.1:9/ops"
secret = "whsec_dGVzdC1vbmx5LXdlYmhvb2stc2lnbmluZy1rZXk="

[[notify.receivers]]
name = "db"
[[notify.receivers.webhook_configs]]
url = "http://127.0.0.1:9/db"
secret = "whsec_dGVzdC1vbmx5LXdlYmhvb2stc2lnbmluZy1rZXk="
"#,
    )
}

/// A key with these scopes.
fn scoped_key(daemon: &Daemon, name: &str, scopes: &[&str]) -> String {
    let mut args = vec!["--json", "keys", "create", "--name", name];
    for scope in scopes {
        args.extend(["--scope", scope]);
    }
    let created: serde_json::Value = serde_json::from_str(ok(&daemon.ctl(&args)).trim()).unwrap();
    assert_eq!(
        created["key"]["scopes"],
        serde_json::json!(scopes),
        "{created}"
    );
    created["secret"].as_str().unwrap().to_string()
}

fn get(addr: SocketAddr, key: &str, path: &str) -> Reply {
    let auth = format!("Bearer {key}");
    http::request(addr, "GET", path, &[("Authorization", auth.as_str())], b"")
}

/// amtool with `key` as its bearer credentials.
fn amtool(
    daemon: &Daemon,
    dir: &std::path::Path,
    key: &str,
    args: &[&str],
) -> std::process::Output {
    let config = dir.join(format!("amtool-{}.yml", &key[..12]));
    std::fs::write(
        &config,
        format!("authorization:\n  type: Bearer\n  credentials: {key}\n"),
    )
    .unwrap();
    Command::new(which("amtool"))
        .args(args)
        .arg(format!("--alertmanager.url=http://{}", daemon.http_addr()))
        .arg(format!("--http.config.file={}", config.display()))
        .output()
        .unwrap()
}

fn labelled(labels: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "labels": labels,
        "annotations": {"summary": "from the read API test"},
        "startsAt": at(-60),
        "endsAt": at(600),
        "generatorURL": "http://prometheus.example.internal:9090/graph"
    })
}

#[test]
fn amtool_queries_alerts_and_manages_silences_with_scoped_keys() {
    let schema = openapi::schema();
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::in_dir(&routed_config(tmp.path()), tmp.path());
    let addr = daemon.http_addr();
    let ingest = daemon.api_key();
    let reader = scoped_key(&daemon, "grafana", &["alerts.read"]);
    let operator = scoped_key(&daemon, "oncall", &["alerts.read", "silences.write"]);

    let disk_critical = labelled(serde_json::json!(
        {"alertname": "DiskFull", "severity": "critical", "instance": "db-1"}
    ));
    let disk_warning = labelled(serde_json::json!(
        {"alertname": "DiskFull", "severity": "warning", "instance": "web-1"}
    ));
    let replication = labelled(serde_json::json!(
        {"alertname": "ReplicationLag", "severity": "warning", "team": "db"}
    ));
    let r = push(
        addr,
        Some(&ingest),
        &serde_json::json!([disk_critical, disk_warning, replication]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // A reading key may not push.
    let r = push(addr, Some(&reader), &serde_json::json!([replication]));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("ingest scope"), "{}", r.body);

    // Every read endpoint answers in Alertmanager's schema.
    for (path, spec) in [
        ("/api/v2/alerts", "/alerts"),
        ("/api/v2/alerts/groups", "/alerts/groups"),
        ("/api/v2/silences", "/silences"),
        ("/api/v2/status", "/status"),
        ("/api/v2/receivers", "/receivers"),
    ] {
        let r = get(addr, &reader, path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        openapi::check(&schema, "GET", spec, &r.json());
        // An ingest-only key may not read; no key at all is a 401.
        assert_eq!(get(addr, &ingest, path).status, 403, "{path}");
        assert_eq!(
            http::request(addr, "GET", path, &[], b"").status,
            401,
            "{path}"
        );
    }

    let alerts = get(addr, &reader, "/api/v2/alerts").json();
    let by_name = |alerts: &serde_json::Value, instance_or_team: &str| -> serde_json::Value {
        alerts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| {
                a["labels"]["instance"] == instance_or_team
                    || a["labels"]["team"] == instance_or_team
            })
            .cloned()
            .unwrap_or_else(|| panic!("no alert for {instance_or_team} in {alerts:#}"))
    };
    assert_eq!(alerts.as_array().unwrap().len(), 3, "{alerts:#}");
    let critical = by_name(&alerts, "db-1");
    let warning = by_name(&alerts, "web-1");
    let lag = by_name(&alerts, "db");
    assert_eq!(critical["status"]["state"], "active");
    assert_eq!(critical["receivers"], serde_json::json!([{"name": "ops"}]));
    assert_eq!(lag["receivers"], serde_json::json!([{"name": "db"}]));
    // The warning is inhibited by the critical alert of the same name.
    assert_eq!(warning["status"]["state"], "suppressed");
    assert_eq!(
        warning["status"]["inhibitedBy"],
        serde_json::json!([critical["fingerprint"]])
    );
    assert_eq!(
        critical["generatorURL"],
        "http://prometheus.example.internal:9090/graph"
    );
    // Filters: matchers, receiver regex, inhibited=false.
    let only_db = get(addr, &reader, "/api/v2/alerts?receiver=d.").json();
    assert_eq!(only_db.as_array().unwrap().len(), 1, "{only_db:#}");
    let not_inhibited = get(addr, &reader, "/api/v2/alerts?inhibited=false").json();
    assert_eq!(
        not_inhibited.as_array().unwrap().len(),
        2,
        "{not_inhibited:#}"
    );
    let filtered = get(
        addr,
        &reader,
        "/api/v2/alerts?filter=alertname%3D%22DiskFull%22&filter=severity%3D~%22crit.*%22",
    )
    .json();
    assert_eq!(filtered.as_array().unwrap().len(), 1, "{filtered:#}");
    for bad in [
        "/api/v2/alerts?filter=%7B%7D%7D",
        "/api/v2/alerts?active=maybe",
        "/api/v2/alerts?receiver=%28",
        &format!("/api/v2/alerts?{}", ["active=true"; 65].join("&")),
        &format!("/api/v2/silences?{}", ["filter=a%3Db"; 65].join("&")),
    ] {
        let r = get(addr, &reader, bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(r.json()["error"]["message"].is_string(), "{}", r.body);
    }
    let groups = get(addr, &reader, "/api/v2/alerts/groups").json();
    assert_eq!(
        groups.as_array().unwrap().len(),
        2,
        "by alertname: {groups:#}"
    );

    // amtool reads the same alerts: by default only the active ones.
    let out = amtool(
        &daemon,
        tmp.path(),
        &reader,
        &["alert", "query", "-o", "json"],
    );
    let listed: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed:#}");
    let out = amtool(
        &daemon,
        tmp.path(),
        &reader,
        &["alert", "query", "--active", "--inhibited", "-o", "json"],
    );
    let listed: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed:#}");
    let out = amtool(
        &daemon,
        tmp.path(),
        &reader,
        &["alert", "query", "alertname=ReplicationLag"],
    );
    let text = ok(&out);
    assert!(
        text.contains("ReplicationLag") && !text.contains("DiskFull"),
        "{text}"
    );

    // amtool draws Vigil's route tree from the status.
    let tree = ok(&amtool(&daemon, tmp.path(), &reader, &["config", "routes"]));
    assert!(
        tree.contains("ops") && tree.contains("team=\"db\"") && tree.contains("db"),
        "{tree}"
    );
    let status = get(addr, &reader, "/api/v2/status").json();
    let original = status["config"]["original"].as_str().unwrap();
    assert!(
        !original.contains("whsec_") && !original.contains("127.0.0.1:9"),
        "{original}"
    );

    // A reading key cannot silence; the operator's key can.
    let out = amtool(
        &daemon,
        tmp.path(),
        &reader,
        &[
            "silence",
            "add",
            "team=db",
            "--comment=failover drill",
            "--duration=1h",
        ],
    );
    assert!(!out.status.success(), "a read-only key made a silence");
    let out = amtool(
        &daemon,
        tmp.path(),
        &operator,
        &[
            "silence",
            "add",
            "team=db",
            "--comment=failover drill",
            "--duration=1h",
        ],
    );
    let id = ok(&out).trim().to_string();
    assert!(!id.is_empty());
    // Visible to amtool, to the API (in schema), and to vigilctl, under one id.
    let out = amtool(&daemon, tmp.path(), &reader, &["silence", "query", "-q"]);
    assert_eq!(ok(&out).trim(), id);
    let silence = get(addr, &reader, &format!("/api/v2/silence/{id}"));
    assert_eq!(silence.status, 200, "{}", silence.body);
    openapi::check(&schema, "GET", "/silence/{silenceID}", &silence.json());
    assert_eq!(silence.json()["status"]["state"], "active");
    assert_eq!(silence.json()["comment"], "failover drill");
    assert!(
        silence.json()["createdBy"]
            .as_str()
            .unwrap()
            .contains("key vgl_"),
        "the key that made it: {}",
        silence.body
    );
    let listed = json_lines(&ok(&daemon.ctl(&["--json", "silences", "list"])));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    // The silenced alert says by what.
    let lag = by_name(&get(addr, &reader, "/api/v2/alerts").json(), "db");
    assert_eq!(lag["status"]["state"], "suppressed");
    assert_eq!(lag["status"]["silencedBy"], serde_json::json!([id]));
    let unsilenced = get(addr, &reader, "/api/v2/alerts?silenced=false").json();
    assert_eq!(unsilenced.as_array().unwrap().len(), 2);

    // Bad silences: refused with the field named, nothing recorded.
    let post_silence = |key: &str, body: &serde_json::Value| {
        let auth = format!("Bearer {key}");
        http::request(
            addr,
            "POST",
            "/api/v2/silences",
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
    };
    let silence_body = |matchers: serde_json::Value, ends_in: i64, comment: &str| {
        serde_json::json!({
            "matchers": matchers, "startsAt": at(0), "endsAt": at(ends_in),
            "createdBy": "alice", "comment": comment
        })
    };
    let one = serde_json::json!([{"name": "team", "value": "db", "isRegex": false}]);
    for (body, needle) in [
        (silence_body(serde_json::json!([]), 600, "x"), "matchers"),
        (
            silence_body(
                serde_json::json!([{"name": "a", "value": ".*", "isRegex": true}]),
                600,
                "x",
            ),
            "every alert",
        ),
        (silence_body(one.clone(), -60, "x"), "endsAt"),
        (silence_body(one.clone(), 600, " "), "comment"),
        (
            {
                let mut b = silence_body(one.clone(), 300, "x");
                b["startsAt"] = at(600).into();
                b
            },
            "endsAt must come after startsAt",
        ),
        (silence_body(one.clone(), 400 * 86_400, "x"), "366 days"),
        (
            {
                let mut b = silence_body(one.clone(), 600, "x");
                b["startsAt"] = "yesterday".into();
                b
            },
            "startsAt is not an RFC 3339 time",
        ),
        (
            serde_json::json!({"matchers": one, "surprise": 1}),
            "postableSilence",
        ),
    ] {
        let r = post_silence(&operator, &body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        let message = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(needle), "{needle}: {message}");
    }
    let r = post_silence(&operator, &{
        let mut b = silence_body(one.clone(), 600, "x");
        b["id"] = "99999".into();
        b
    });
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(
        json_lines(&ok(&daemon.ctl(&["--json", "silences", "list", "--all"]))).len(),
        1,
        "a refused silence was recorded"
    );

    // Replacing a silence (amtool silence update) expires the old one.
    let r = post_silence(&operator, &{
        let mut b = silence_body(one.clone(), 1200, "longer drill");
        b["id"] = id.as_str().into();
        b
    });
    assert_eq!(r.status, 200, "{}", r.body);
    let replacement = r.json()["silenceID"].as_str().unwrap().to_string();
    assert_ne!(replacement, id);
    let old = get(addr, &reader, &format!("/api/v2/silence/{id}")).json();
    assert_eq!(old["status"]["state"], "expired");

    // amtool silence expire, then the alert is active again.
    ok(&amtool(
        &daemon,
        tmp.path(),
        &operator,
        &["silence", "expire", &replacement],
    ));
    let after = get(addr, &reader, &format!("/api/v2/silence/{replacement}")).json();
    assert_eq!(after["status"]["state"], "expired");
    let lag = by_name(&get(addr, &reader, "/api/v2/alerts").json(), "db");
    assert_eq!(lag["status"]["state"], "active");
    assert_eq!(get(addr, &reader, "/api/v2/silence/424242").status, 404);
    let silences = get(addr, &reader, "/api/v2/silences").json();
    openapi::check(&schema, "GET", "/silences", &silences);
    assert_eq!(silences.as_array().unwrap().len(), 2);

    // Each change is in the log with the key that made it.
    let audit = ok(&daemon.ctl(&["--json", "events", "list", "--kind", "auth", "--all"]));
    for action in ["silences.add", "silences.update", "silences.expire"] {
        assert!(audit.contains(action), "no {action} in the audit:\n{audit}");
    }
    assert!(daemon.stop().success());
}

/// A Prometheus source whose alerts without an end live `resolve_timeout`,
/// routed to a webhook at `url` with short timers.
fn lifetime_config(dir: &std::path::Path, url: &str) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            r#"[http]
listen = "127.0.0.1:0"

[sources.prometheus]
driver = "prometheus"
resolve_timeout = "3s"

[notify]
allow = ["127.0.0.1"]

[notify.route]
receiver = "ops"
group_by = ["alertname"]
group_wait = "1s"
group_interval = "1s"

[[notify.receivers]]
name = "ops"
[[notify.receivers.webhook_configs]]
url = "{url}"
secret = "whsec_dGVzdC1vbmx5LXdlYmhvb2stc2lnbmluZy1rZXk="
"#
        ),
    )
}

fn state_of(daemon: &Daemon, alertname: &str) -> String {
    let found: Vec<serde_json::Value> = incidents(daemon)
        .into_iter()
        .filter(|i| i["labels"]["alertname"] == alertname)
        .collect();
    assert!(found.len() <= 1, "one incident per alert: {found:?}");
    found.first().map_or_else(
        || "none".into(),
        |i| i["state"].as_str().unwrap().to_string(),
    )
}

fn wait_state(daemon: &Daemon, alertname: &str, want: &str, within: std::time::Duration) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let state = state_of(daemon, alertname);
        if state == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{alertname} is {state}, not {want}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn alerts_expire_at_their_end_unless_sent_again_even_across_a_crash() {
    let receiver = vigil_tests::receiver::Receiver::start();
    let tmp = tempfile::tempdir().unwrap();
    let config = lifetime_config(tmp.path(), &receiver.url("/hook"));
    let daemon = Daemon::in_dir(&config, tmp.path());
    let key = daemon.api_key();
    let addr = daemon.http_addr();
    let with = |name: &str, ends_in: Option<i64>| {
        let mut a = alert(name, 0);
        match ends_in {
            Some(secs) => a["endsAt"] = at(secs).into(),
            None => {
                a.as_object_mut().unwrap().remove("endsAt");
            }
        }
        a
    };
    // Gone: its end (2 s ahead) passes without a resend. Kept: resent with a
    // later end each second. Silent: no end, so the source's 3 s timeout.
    let r = push(
        addr,
        Some(&key),
        &serde_json::json!([
            with("Gone", Some(2)),
            with("Kept", Some(2)),
            with("Silent", None)
        ]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    for name in ["Gone", "Kept", "Silent"] {
        assert_eq!(state_of(&daemon, name), "open", "{name}");
    }
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(5) {
        let r = push(
            addr,
            Some(&key),
            &serde_json::json!([with("Kept", Some(2))]),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    wait_state(
        &daemon,
        "Gone",
        "resolved",
        std::time::Duration::from_secs(10),
    );
    wait_state(
        &daemon,
        "Silent",
        "resolved",
        std::time::Duration::from_secs(10),
    );
    assert_eq!(
        state_of(&daemon, "Kept"),
        "open",
        "a resent alert stays firing"
    );

    // The resolutions are the daemon's, in the log, and were notified.
    let events = json_lines(&ok(
        &daemon.ctl(&["--json", "events", "list", "--kind", "ingest", "--all"])
    ));
    let expiries: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e.to_string().contains("\"lifetime\""))
        .collect();
    assert!(!expiries.is_empty(), "no lifetime event in {events:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let resolved: Vec<String> = receiver
            .received()
            .iter()
            .map(|r| r.json())
            .flat_map(|n| n["alerts"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["status"] == "resolved")
            .filter_map(|a| a["labels"]["alertname"].as_str().map(str::to_string))
            .collect();
        if resolved.contains(&"Gone".to_string()) && resolved.contains(&"Silent".to_string()) {
            assert!(!resolved.contains(&"Kept".to_string()), "{resolved:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "resolutions not notified: {resolved:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // Kept stops being sent; vigild is killed before its end and comes
    // back after it: the end is in the log, so it still resolves.
    let r = push(
        addr,
        Some(&key),
        &serde_json::json!([with("Kept", Some(2))]),
    );
    assert_eq!(r.status, 200);
    daemon.kill9();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let daemon = Daemon::in_dir(&config, tmp.path());
    wait_state(
        &daemon,
        "Kept",
        "resolved",
        std::time::Duration::from_secs(10),
    );
    ok(&daemon.ctl(&["verify"]));
    assert!(daemon.stop().success());
}

#[test]
fn read_and_silence_keys_span_every_source_and_no_body_is_read_before_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::in_dir(&routed_config(tmp.path()), tmp.path());
    // A key held to one source cannot read or silence every source's alerts.
    let out = daemon.ctl(&[
        "keys",
        "create",
        "--name",
        "narrow",
        "--source",
        "prometheus",
        "--scope",
        "alerts.read",
    ]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("without --source"), "{said}");
    let keys = json_lines(&ok(&daemon.ctl(&["--json", "keys", "list"])));
    assert!(keys.is_empty(), "a refused key was created: {keys:?}");

    // Without a key, a silence's body is never waited for: the answer is
    // an immediate 401 although the body announced is still to come.
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(daemon.http_addr()).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .unwrap();
    stream
        .write_all(
            b"POST /api/v2/silences HTTP/1.1\r\nHost: vigil\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .unwrap();
    let mut answer = [0u8; 64];
    let n = stream
        .read(&mut answer)
        .expect("answered before the body came");
    let head = String::from_utf8_lossy(&answer[..n]);
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    assert!(daemon.stop().success());
}

#[test]
fn a_firing_alert_resolves_at_its_end_when_prometheus_goes_away() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    // A rule that never stops firing: only Prometheus's absence ends it.
    let prometheus = start_prometheus(
        tmp.path(),
        &daemon,
        "groups:\n- name: vigil-e2e\n  interval: 1s\n  rules:\n  - alert: Forever\n    \
         expr: vector(1)\n    annotations: {summary: fires until prometheus stops}\n",
    );
    let prometheus_log = || std::fs::read_to_string(tmp.path().join("prometheus.log")).unwrap();
    let state = |daemon: &Daemon| {
        incidents(daemon)
            .into_iter()
            .find(|i| i["summary"] == "fires until prometheus stops")
            .map(|i| i["state"].as_str().unwrap().to_string())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while state(&daemon).as_deref() != Some("open") {
        assert!(
            std::time::Instant::now() < deadline,
            "no incident from Prometheus:\n{}",
            prometheus_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // A few resends, then Prometheus is gone without a word.
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        state(&daemon).as_deref(),
        Some("open"),
        "resends keep it open"
    );
    drop(prometheus);
    let gone = std::time::Instant::now();
    while state(&daemon).as_deref() != Some("resolved") {
        assert!(
            gone.elapsed() < std::time::Duration::from_secs(20),
            "still {:?} 20 s after Prometheus went away",
            state(&daemon)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // Resolved by its lifetime, as the log says.
    let ingests = ok(&daemon.ctl(&["--json", "events", "list", "--kind", "ingest", "--all"]));
    assert!(ingests.contains("\"lifetime\""), "{ingests}");
    assert!(daemon.stop().success());
}
