//! Notifications, end to end: alerts ingested over HTTP are routed,
//! grouped, gated by silences and inhibit rules, recorded as intents and
//! delivered to receivers the tests run on 127.0.0.1; failures retry per
//! integration, give up into a fallback receiver, and survive kill -9.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use vigil_tests::receiver::{Received, Receiver};
use vigil_tests::{Daemon, http, json_lines, ok, write_config};

const SECRET: &str = "whsec_dGVzdC1vbmx5LXdlYmhvb2stc2lnbmluZy1rZXk=";
const WAIT: Duration = Duration::from_secs(30);

/// A config with one alertmanager source and the given `[notify]` tables.
fn config(dir: &Path, notify: &str) -> PathBuf {
    write_config(
        dir,
        &format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n\n[sources.am]\ndriver = \"alertmanager\"\n\n{notify}\n"
        ),
    )
}

/// `vigild --check-config` on a config with these `[notify]` tables: must
/// refuse it, locating the error in the file; returns what it said.
fn refused_at_load(dir: &Path, notify: &str) -> String {
    let out = Command::new(vigil_tests::bin("vigild"))
        .arg("--config")
        .arg(config(dir, notify))
        .arg("--check-config")
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "accepted:\n{notify}");
    assert!(said.contains("vigil.toml:"), "located: {said}");
    said
}

/// A webhook receiver table for `url`.
fn webhook(name: &str, urls: &[String], extra: &str) -> String {
    let mut out = format!("[[notify.receivers]]\nname = \"{name}\"\n{extra}\n");
    for url in urls {
        out.push_str(&format!(
            "[[notify.receivers.webhook_configs]]\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n"
        ));
    }
    out
}

const FAST_RETRY: &str = r#"
[notify.retry]
initial_backoff = "1s"
max_backoff = "2s"
max_attempts = 3
timeout = "5s"
"#;

const BY_NAME: &str = r#"["alertname"]"#;

/// The root route: `group_by` as TOML (`["alertname"]`, `["..."]`).
fn route(receiver: &str, group_by: &str) -> String {
    route_waiting(receiver, group_by, "1s")
}

/// The root route with its `group_wait`.
fn route_waiting(receiver: &str, group_by: &str, group_wait: &str) -> String {
    format!(
        r#"
[notify.route]
receiver = "{receiver}"
group_by = {group_by}
group_wait = "{group_wait}"
group_interval = "2s"
repeat_interval = "1h"
"#
    )
}

/// Posts an Alertmanager webhook with `alerts` as (labels, status).
fn send(daemon: &Daemon, key: &str, alerts: &[(&[(&str, &str)], &str)]) {
    let alerts: Vec<serde_json::Value> = alerts
        .iter()
        .map(|(labels, status)| {
            let labels: serde_json::Map<String, serde_json::Value> = labels
                .iter()
                .map(|(k, v)| ((*k).to_string(), serde_json::Value::from(*v)))
                .collect();
            // No startsAt: an alert that started long before it arrived
            // skips group_wait (Alertmanager's rule), which would defeat
            // the batching these tests look at.
            serde_json::json!({
                "status": status,
                "labels": labels,
                "annotations": {"summary": "test"},
            })
        })
        .collect();
    let body = serde_json::json!({
        "version": "4", "status": "firing", "receiver": "vigil",
        "groupKey": "{}:{}", "alerts": alerts,
    });
    let reply = http::ingest(
        daemon.http_addr(),
        "am",
        key,
        &[],
        body.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
}

/// The notify events, as `vigilctl events list --json` prints them.
fn notify_events(daemon: &Daemon) -> Vec<serde_json::Value> {
    json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "notify", "--limit", "10000",
    ])))
}

/// Delivery steps recorded for `delivery`: (state, attempt, detail).
fn steps(daemon: &Daemon, delivery: &str) -> Vec<(String, u64, String)> {
    notify_events(daemon)
        .into_iter()
        .filter_map(|e| {
            let n = e["event"].get("notification")?.clone();
            (n["delivery"] == delivery).then(|| {
                (
                    n["state"].as_str().unwrap().to_string(),
                    n["attempt"].as_u64().unwrap(),
                    n["detail"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect()
}

/// Polls until `f` holds (panics after `WAIT`).
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Verifies a Standard Webhooks signature with the Python snippet that
/// docs/operations.md publishes: an implementation that shares no code
/// with Vigil, and a check that the documentation works.
fn python_verifies(r: &Received) -> bool {
    let doc = include_str!("../../../docs/operations.md");
    let at = doc.find("```python\n").expect("the published snippet") + 10;
    let snippet = &doc[at..at + doc[at..].find("```").unwrap()];
    let script = format!(
        "{snippet}\nimport json, os, sys\nok = verify(os.environ['SECRET'], json.loads(os.environ['HEADERS']), sys.stdin.buffer.read())\nsys.exit(0 if ok else 1)\n"
    );
    let headers = serde_json::json!({
        "webhook-id": r.header("webhook-id").unwrap(),
        "webhook-timestamp": r.header("webhook-timestamp").unwrap(),
        "webhook-signature": r.header("webhook-signature").unwrap(),
    });
    let mut child = Command::new("python3")
        .args(["-c", &script])
        .env("SECRET", SECRET)
        .env("HEADERS", headers.to_string())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&r.body).unwrap();
    child.wait().unwrap().success()
}

#[test]
fn a_group_is_delivered_once_signed_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = Receiver::start();
    let notify = format!(
        "[notify]\nallow = [\"127.0.0.1\"]\n{}{}{FAST_RETRY}",
        route_waiting("ops", BY_NAME, "3s"),
        webhook("ops", &[hook.url("/hook?team=ops")], "")
    );
    let daemon = Daemon::in_dir(&config(tmp.path(), &notify), tmp.path());
    let key = daemon.api_key();
    send(
        &daemon,
        &key,
        &[
            (&[("alertname", "DiskFull"), ("instance", "db1")], "firing"),
            (&[("alertname", "DiskFull"), ("instance", "db2")], "firing"),
        ],
    );
    send(
        &daemon,
        &key,
        &[(&[("alertname", "DiskFull"), ("instance", "db3")], "firing")],
    );

    let got = hook.wait_for(1, WAIT);
    // One group, one notification, all three alerts (group_wait batched them).
    std::thread::sleep(Duration::from_secs(3));
    let got_after = hook.received();
    assert_eq!(got_after.len(), 1, "{got_after:?}");
    let r = &got[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/hook?team=ops")
    );
    let body = r.json();
    assert_eq!(body["receiver"], "ops");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["group_labels"]["alertname"], "DiskFull");
    assert_eq!(body["counts"]["firing"], 3);
    assert_eq!(body["alerts"].as_array().unwrap().len(), 3);
    assert!(
        python_verifies(r),
        "the signature must verify independently"
    );
    let mut forged = r.clone();
    forged.body.push(b' ');
    assert!(!python_verifies(&forged), "and a changed body must not");

    // The intent came first, then the attempt and its outcome, under the
    // id the receiver saw.
    let id = r.header("webhook-id").unwrap().to_string();
    let events = notify_events(&daemon);
    let intent = events
        .iter()
        .find_map(|e| e["event"].get("notification_intended"))
        .unwrap();
    assert_eq!(intent["deliveries"][0]["delivery"], id.as_str());
    assert_eq!(intent["deliveries"][0]["integration"], "webhook/0");
    let recorded = eventually("the sent step", || {
        let s = steps(&daemon, &id);
        s.iter().any(|s| s.0 == "sent").then_some(s)
    });
    assert_eq!(recorded[0].0, "attempting");
    assert_eq!(recorded[1], ("sent".into(), 1, "HTTP 200".into()));

    // A resolution is news: it is notified too.
    send(
        &daemon,
        &key,
        &[
            (
                &[("alertname", "DiskFull"), ("instance", "db1")],
                "resolved",
            ),
            (
                &[("alertname", "DiskFull"), ("instance", "db2")],
                "resolved",
            ),
            (
                &[("alertname", "DiskFull"), ("instance", "db3")],
                "resolved",
            ),
        ],
    );
    let got = hook.wait_for(2, WAIT);
    let resolved = got[1].json();
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["counts"]["resolved"], 3);
    assert_ne!(got[1].header("webhook-id"), Some(id.as_str()));
    assert!(daemon.stop().success());
}

#[test]
fn only_the_failing_integration_is_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let good = Receiver::start();
    let flaky = Receiver::start();
    flaky.answer(503);
    let notify = format!(
        "[notify]\nallow = [\"127.0.0.1\"]\n{}{}{FAST_RETRY}",
        route("ops", BY_NAME),
        webhook("ops", &[good.url("/good"), flaky.url("/flaky")], "")
    );
    let daemon = Daemon::in_dir(&config(tmp.path(), &notify), tmp.path());
    let key = daemon.api_key();
    send(&daemon, &key, &[(&[("alertname", "Down")], "firing")]);

    let first = flaky.wait_for(1, WAIT);
    flaky.answer(200);
    let retried = flaky.wait_for(2, WAIT);
    assert_eq!(retried[0].status, 503);
    assert_eq!(retried[1].status, 200);
    assert_eq!(
        first[0].header("webhook-id"),
        retried[1].header("webhook-id"),
        "a retry carries the same idempotency key"
    );
    assert!(
        retried
            .iter()
            .all(|r| r.header("webhook-signature").is_some()),
        "each attempt is signed"
    );
    let id = retried[1].header("webhook-id").unwrap().to_string();
    let recorded = eventually("the retried delivery sent", || {
        let s = steps(&daemon, &id);
        s.iter().any(|s| s.0 == "sent").then_some(s)
    });
    let states: Vec<&str> = recorded.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(states, ["attempting", "failed", "attempting", "sent"]);
    assert!(recorded[1].2.contains("503"), "{recorded:?}");
    assert_eq!(recorded[3].1, 2);
    // The healthy integration was sent once, never again.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(good.received().len(), 1);
    assert!(daemon.stop().success());
}

#[test]
fn a_given_up_delivery_goes_to_the_fallback_receiver() {
    let tmp = tempfile::tempdir().unwrap();
    let dead = Receiver::start();
    dead.answer(500);
    let backup = Receiver::start();
    let notify = format!(
        "[notify]\nallow = [\"127.0.0.1\"]\n{}{}{}{FAST_RETRY}",
        route("primary", BY_NAME),
        webhook(
            "primary",
            &[dead.url("/dead"), dead.url("/dead2")],
            "fallback = \"backup\"",
        ),
        webhook("backup", &[backup.url("/backup")], ""),
    );
    let daemon = Daemon::in_dir(&config(tmp.path(), &notify), tmp.path());
    let key = daemon.api_key();
    send(
        &daemon,
        &key,
        &[(&[("alertname", "Down"), ("instance", "web1")], "firing")],
    );

    let got = backup.wait_for(1, WAIT);
    // Both integrations: max_attempts each, then given up.
    let dead_got = dead.wait_for(6, WAIT);
    let body = got[0].json();
    assert_eq!(body["receiver"], "backup");
    assert_eq!(body["alerts"][0]["labels"]["instance"], "web1");
    let mut dead_ids: Vec<String> = dead_got
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_string())
        .collect();
    dead_ids.sort();
    dead_ids.dedup();
    assert_eq!(
        dead_ids.len(),
        2,
        "one key per integration, kept across retries"
    );
    for id in &dead_ids {
        let last = eventually("given up", || {
            steps(&daemon, id)
                .last()
                .filter(|s| s.0 == "given_up")
                .cloned()
        });
        assert!(last.2.contains("no attempts left"), "{last:?}");
    }
    let fallback = notify_events(&daemon)
        .into_iter()
        .filter_map(|e| e["event"].get("notification_intended").cloned())
        .find(|i| i["receiver"] == "backup")
        .unwrap();
    let cause = fallback["cause"]["fallback"]["delivery"].as_str().unwrap();
    assert!(dead_ids.iter().any(|id| id == cause), "{cause}");
    // Two integrations gave up, one notification: the fallback hears once.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(backup.received().len(), 1);
    assert!(daemon.stop().success());
}

#[test]
fn silenced_and_inhibited_alerts_are_recorded_but_not_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = Receiver::start();
    let inhibit = r#"
[[notify.inhibit_rules]]
source_matchers = ["severity=critical"]
target_matchers = ["severity=warning"]
equal = ["instance"]
"#;
    let notify = format!(
        "[notify]\nallow = [\"127.0.0.1\"]\n{}{}{inhibit}",
        route("ops", r#"["..."]"#),
        webhook("ops", &[hook.url("/hook")], "")
    );
    let daemon = Daemon::in_dir(&config(tmp.path(), &notify), tmp.path());
    let key = daemon.api_key();
    ok(&daemon.ctl(&[
        "silences",
        "add",
        "--matcher",
        "team=db",
        "--duration",
        "1h",
        "--comment",
        "maintenance",
    ]));
    send(
        &daemon,
        &key,
        &[
            (&[("alertname", "Quiet"), ("team", "db")], "firing"),
            (
                &[
                    ("alertname", "Cpu"),
                    ("severity", "critical"),
                    ("instance", "h1"),
                ],
                "firing",
            ),
            (
                &[
                    ("alertname", "Load"),
                    ("severity", "warning"),
                    ("instance", "h1"),
                ],
                "firing",
            ),
            (
                &[
                    ("alertname", "Load"),
                    ("severity", "warning"),
                    ("instance", "h2"),
                ],
                "firing",
            ),
        ],
    );
    // Every alert is in the log, whatever is sent.
    let ingested = json_lines(&ok(
        &daemon.ctl(&["--json", "events", "list", "--kind", "ingest"])
    ));
    assert_eq!(
        ingested[0]["event"]["alerts_ingested"]["alerts"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    hook.wait_for(2, WAIT);
    std::thread::sleep(Duration::from_secs(3));
    let mut sent: Vec<String> = hook
        .received()
        .iter()
        .flat_map(|r| {
            r.json()["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    format!(
                        "{}/{}",
                        a["labels"]["alertname"].as_str().unwrap(),
                        a["labels"]["instance"].as_str().unwrap_or("-")
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    sent.sort();
    // Quiet is silenced; Load on h1 is inhibited by the critical Cpu on h1.
    assert_eq!(sent, ["Cpu/h1", "Load/h2"]);

    // Once the silence ends, the next tick sends what it held back.
    let silences = json_lines(&ok(&daemon.ctl(&["--json", "silences", "list"])));
    let id = silences[0]["id"].as_str().unwrap();
    ok(&daemon.ctl(&["silences", "expire", id]));
    let got = hook.wait_for(3, WAIT);
    assert_eq!(got[2].json()["alerts"][0]["labels"]["alertname"], "Quiet");
    assert!(daemon.stop().success());
}

#[test]
fn receivers_that_are_not_allowlisted_get_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = Receiver::start();
    for url in [
        hook.url("/hook"),
        format!("http://localhost:{}/hook", hook.port()),
        format!("http://2130706433:{}/hook", hook.port()),
        format!("http://0x7f.1:{}/hook", hook.port()),
        format!("http://[::ffff:127.0.0.1]:{}/hook", hook.port()),
    ] {
        let _ = std::fs::remove_dir_all(tmp.path().join("state"));
        let notify = format!(
            "{}{}",
            route("ops", BY_NAME),
            webhook("ops", std::slice::from_ref(&url), "")
        );
        let daemon = Daemon::in_dir(&config(tmp.path(), &notify), tmp.path());
        let key = daemon.api_key();
        send(&daemon, &key, &[(&[("alertname", "Ssrf")], "firing")]);
        let given_up = eventually("the delivery given up", || {
            notify_events(&daemon).into_iter().find_map(|e| {
                let n = e["event"].get("notification")?.clone();
                (n["state"] == "given_up").then_some(n)
            })
        });
        let detail = given_up["detail"].as_str().unwrap();
        assert!(
            detail.contains("allow") || detail.contains("loopback"),
            "{url}: {detail}"
        );
        assert!(!detail.contains("/hook"), "no path in details: {detail}");
        assert!(daemon.stop().success());
    }
    assert!(hook.received().is_empty(), "{:?}", hook.received());
}

#[test]
fn pending_deliveries_survive_kill_9_and_are_never_sent_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = Receiver::start();
    hook.answer(503);
    let slow_retry = r#"
[notify.retry]
initial_backoff = "2s"
max_backoff = "2s"
max_attempts = 100
"#;
    let notify = format!(
        "[notify]\nallow = [\"127.0.0.1\"]\n{}{}{slow_retry}",
        route("ops", r#"["..."]"#),
        webhook("ops", &[hook.url("/hook")], "")
    );
    let config = config(tmp.path(), &notify);
    let daemon = Daemon::in_dir(&config, tmp.path());
    let key = daemon.api_key();
    let names: Vec<String> = (0..20).map(|i| format!("Alert{i}")).collect();
    for name in &names {
        send(
            &daemon,
            &key,
            &[(&[("alertname", name.as_str())], "firing")],
        );
    }
    // Every group got an intent; the receiver is down.
    let intents = eventually("20 intents", || {
        let n: Vec<String> = notify_events(&daemon)
            .into_iter()
            .filter_map(|e| {
                let i = e["event"].get("notification_intended")?.clone();
                Some(i["deliveries"][0]["delivery"].as_str()?.to_string())
            })
            .collect();
        (n.len() == 20).then_some(n)
    });
    hook.wait_for(1, WAIT);
    daemon.kill9();

    hook.answer(200);
    let daemon = Daemon::in_dir(&config, tmp.path());
    let delivered = eventually("every pending delivery sent", || {
        let ok: Vec<Received> = hook
            .received()
            .into_iter()
            .filter(|r| r.status == 200)
            .collect();
        (ok.len() >= 20).then_some(ok)
    });
    let mut ids: Vec<String> = delivered
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_string())
        .collect();
    ids.sort();
    let mut expected = intents.clone();
    expected.sort();
    assert_eq!(
        ids, expected,
        "each intent delivered once, under its own id"
    );
    // Past a group_interval and a backoff: still exactly one each.
    std::thread::sleep(Duration::from_secs(4));
    let ok_now = hook.received().iter().filter(|r| r.status == 200).count();
    assert_eq!(ok_now, 20, "no duplicate arrived later");
    eventually("all recorded sent", || {
        let sent = notify_events(&daemon)
            .into_iter()
            .filter(|e| e["event"]["notification"]["state"] == "sent")
            .count();
        (sent == 20).then_some(())
    });

    // Recorded sent: a restart (even a crash) sends none of them again.
    daemon.kill9();
    let before = hook.received().len();
    let daemon = Daemon::in_dir(&config, tmp.path());
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(hook.received().len(), before, "nothing resent");
    let verify = ok(&daemon.ctl(&["verify"]));
    assert!(verify.contains("chain OK"), "{verify}");
    assert!(daemon.stop().success());
}

#[test]
fn notify_mistakes_are_config_errors_with_their_location() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            format!(
                "{}{}",
                route("nobody", BY_NAME),
                webhook("ops", &["https://hooks.example/x".into()], "")
            ),
            "nobody",
        ),
        (
            format!(
                "{}{}\n[notify.templates.bad]\nescape = \"json\"\nsource = \"{{{{ nope }}}}\"\n",
                route("ops", BY_NAME),
                webhook("ops", &["https://hooks.example/x".into()], "")
            ),
            "template `bad`",
        ),
        (
            format!(
                "{}{}",
                route("ops", BY_NAME),
                webhook(
                    "ops",
                    &["https://hooks.example/x".into()],
                    "colour = \"red\""
                )
            ),
            "colour",
        ),
        (
            format!(
                "{}{}",
                route("ops", BY_NAME),
                webhook(
                    "ops",
                    &["https://hooks.example/x".into()],
                    "fallback = \"ops\""
                )
            ),
            "fallback",
        ),
        (
            format!(
                "{}{}",
                route("ops", BY_NAME),
                webhook("ops", &["ftp://hooks.example/x".into()], "")
            ),
            "scheme",
        ),
    ];
    for (notify, needle) in cases {
        let said = refused_at_load(tmp.path(), &notify);
        assert!(said.contains(needle), "{needle}: {said}");
    }
}

#[test]
fn slack_pagerduty_and_email_each_get_their_own_format() {
    let tmp = tempfile::tempdir().unwrap();
    let slack = Receiver::start();
    let pagerduty = Receiver::start();
    let smtp = vigil_tests::smtp::SmtpSink::start();
    let notify = format!(
        r##"[notify]
allow = ["127.0.0.1"]
{route}
[[notify.route.routes]]
matchers = ['alertname=~".+"']
receiver = "strict"
continue = true
[[notify.route.routes]]
matchers = ['alertname=~".+"']
receiver = "all"

[[notify.receivers]]
name = "all"
[[notify.receivers.slack_configs]]
api_url = "{slack_url}"
channel = "#ops"
[[notify.receivers.pagerduty_configs]]
routing_key = "pd-routing-key"
url = "{pd_url}"
[[notify.receivers.email_configs]]
to = ["ops@example.com", "dba@example.com"]
from = "vigil@example.com"
smarthost = "{smarthost}"
hello = "vigil.test"
require_tls = false

[[notify.receivers]]
name = "strict"
[[notify.receivers.email_configs]]
to = "strict@example.com"
from = "vigil@example.com"
smarthost = "{smarthost}"
hello = "vigil.test"
{FAST_RETRY}"##,
        route = route("all", BY_NAME),
        slack_url = slack.url("/services/T000/B000/SECRETPART"),
        pd_url = pagerduty.url("/v2/enqueue"),
        smarthost = smtp.smarthost(),
    );
    let daemon = Daemon::in_dir(&config(tmp.path(), &notify), tmp.path());
    let key = daemon.api_key();
    let body = serde_json::json!({
        "version": "4", "status": "firing", "receiver": "vigil", "groupKey": "{}:{}",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "DiskFull", "instance": "db1", "severity": "critical"},
            "annotations": {"summary": "<!channel> disk full on db1"},
            "startsAt": "2026-01-01T00:00:00Z",
        }],
    });
    let reply = http::ingest(
        daemon.http_addr(),
        "am",
        &key,
        &[],
        body.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 202, "{}", reply.body);

    // Slack: the text, escaped so an alert cannot mention @channel.
    let s = slack.wait_for(1, WAIT);
    assert_eq!(s[0].path, "/services/T000/B000/SECRETPART");
    let text = s[0].json()["text"].as_str().unwrap().to_string();
    assert!(text.contains("DiskFull"), "{text}");
    assert!(
        text.contains("&lt;!channel&gt;") && !text.contains("<!channel>"),
        "{text}"
    );
    assert_eq!(s[0].json()["channel"], "#ops");

    // PagerDuty: a trigger with a dedup key.
    let p = pagerduty.wait_for(1, WAIT);
    let trigger = p[0].json();
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["routing_key"], "pd-routing-key");
    assert_eq!(trigger["payload"]["severity"], "critical");
    let dedup = trigger["dedup_key"].as_str().unwrap().to_string();

    // Email: one message to both recipients, Message-ID from the delivery.
    let mails = smtp.wait_for(1, WAIT);
    assert_eq!(mails.len(), 1, "the strict receiver must not have sent");
    assert_eq!(mails[0].from, "vigil@example.com");
    assert_eq!(mails[0].to, ["ops@example.com", "dba@example.com"]);
    assert!(mails[0].data.contains("Subject:"), "{}", mails[0].data);
    assert!(mails[0].data.contains("DiskFull"), "{}", mails[0].data);
    assert!(
        mails[0].data.contains("Message-ID: <ntf_"),
        "{}",
        mails[0].data
    );

    // STARTTLS is required by default: the sink offers none, so the strict
    // receiver gives up at once (never retried) and sends nothing.
    let strict = eventually("the strict email given up", || {
        notify_events(&daemon).into_iter().find_map(|e| {
            let n = e["event"].get("notification")?.clone();
            (n["receiver"] == "strict" && n["state"] == "given_up").then_some(n)
        })
    });
    assert_eq!(strict["attempt"], 1, "{strict}");
    assert!(
        strict["detail"].as_str().unwrap().contains("STARTTLS"),
        "{strict}"
    );
    let mail_from = smtp
        .commands()
        .iter()
        .filter(|c| c.to_ascii_uppercase().starts_with("MAIL FROM"))
        .count();
    assert_eq!(mail_from, 1, "{:?}", smtp.commands());

    // Resolved: PagerDuty gets a resolve under the same dedup key.
    let resolved = body.to_string().replace("\"firing\"", "\"resolved\"");
    let reply = http::ingest(daemon.http_addr(), "am", &key, &[], resolved.as_bytes());
    assert_eq!(reply.status, 202, "{}", reply.body);
    let p = pagerduty.wait_for(2, WAIT);
    let resolve = p[1].json();
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], dedup.as_str());
    assert!(resolve.get("payload").is_none());
    assert!(daemon.stop().success());
}

#[test]
fn a_reload_changes_where_notifications_go_and_a_bad_one_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let first = Receiver::start();
    let second = Receiver::start();
    let write = |url: String, extra: &str| {
        let notify = format!(
            "[notify]\nallow = [\"127.0.0.1\"]\n{}{}{extra}",
            route("ops", BY_NAME),
            webhook("ops", &[url], "")
        );
        config(tmp.path(), &notify)
    };
    let path = write(first.url("/one"), "");
    let daemon = Daemon::in_dir(&path, tmp.path());
    ok(&daemon.ctl(&["notify", "test", "ops"]));
    first.wait_for(1, WAIT);

    // A template that does not render is refused at reload, with its name;
    // the configuration in force stays.
    write(
        second.url("/two"),
        "[notify.templates.\"vigil.webhook.json\"]\nescape = \"json\"\nsource = \"{{ nope }}\"\n",
    );
    let refused = daemon.ctl(&["reload"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("vigil.webhook.json"), "{stderr}");
    ok(&daemon.ctl(&["notify", "test", "ops"]));
    first.wait_for(2, WAIT);

    write(second.url("/two"), "");
    ok(&daemon.ctl(&["reload"]));
    ok(&daemon.ctl(&["notify", "test", "ops"]));
    let got = second.wait_for(1, WAIT);
    assert_eq!(got[0].path, "/two");
    assert_eq!(first.received().len(), 2);
    assert!(daemon.stop().success());
}

#[test]
fn a_pending_delivery_whose_receiver_was_removed_is_given_up_with_that_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let down = Receiver::start();
    down.answer(503);
    let write = |name: &str| {
        let notify = format!(
            "[notify]\nallow = [\"127.0.0.1\"]\n{}{}{FAST_RETRY}",
            route(name, BY_NAME),
            webhook(name, &[down.url("/hook")], "")
        );
        config(tmp.path(), &notify)
    };
    let path = write("ops");
    let daemon = Daemon::in_dir(&path, tmp.path());
    ok(&daemon.ctl(&["notify", "test", "ops"]));
    let id = down.wait_for(1, WAIT)[0]
        .header("webhook-id")
        .unwrap()
        .to_string();

    // The receiver is renamed while its delivery waits to be retried.
    write("team");
    ok(&daemon.ctl(&["reload"]));
    let last = eventually("the delivery given up", || {
        steps(&daemon, &id)
            .last()
            .filter(|s| s.0 == "given_up")
            .cloned()
    });
    assert!(
        last.2.contains("receiver `ops` is no longer configured"),
        "{last:?}"
    );
    assert!(last.2.contains("not retryable"), "{last:?}");
    assert_eq!(down.received().len(), 1, "nothing sent after the reload");
    assert!(daemon.stop().success());
}

#[test]
fn a_delivered_webhook_carries_the_incident_it_is_about() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = Receiver::start();
    let templated = Receiver::start();
    let notify = format!(
        r#"[notify]
allow = ["127.0.0.1"]
{}{FAST_RETRY}
[[notify.receivers]]
name = "ops"
[[notify.receivers.webhook_configs]]
url = "{}"
secret = "{SECRET}"
[[notify.receivers.webhook_configs]]
url = "{}"
secret = "{SECRET}"
template = "incident"

[notify.templates.incident]
escape = "json"
source = '{{% if incident %}}{{"id": "{{{{ incident.id }}}}", "state": "{{{{ incident.state }}}}", "source": "{{{{ incident.source }}}}", "summary": "{{{{ incident.summary }}}}"}}{{% else %}}{{"none": true}}{{% endif %}}'
"#,
        route("ops", BY_NAME),
        hook.url("/default"),
        templated.url("/templated"),
    );
    let daemon = Daemon::in_dir(&config(tmp.path(), &notify), tmp.path());
    let key = daemon.api_key();
    send(&daemon, &key, &[(&[("alertname", "DiskFull")], "firing")]);
    let default = hook.wait_for(1, WAIT)[0].json();
    let custom = templated.wait_for(1, WAIT)[0].json();
    let incidents = json_lines(&ok(&daemon.ctl(&["--json", "incidents", "list"])));
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let id = incidents[0]["id"].as_str().unwrap();
    // The built-in body and an operator's template both see it.
    assert_eq!(default["incident"]["id"], id, "{default}");
    assert_eq!(default["incident"]["state"], "open");
    assert_eq!(default["incident"]["source"], "am");
    assert_eq!(default["incident"]["summary"], "test");
    assert_eq!(
        custom,
        serde_json::json!({"id": id, "state": "open", "source": "am", "summary": "test"})
    );
    // The resolution is about the same incident, as it stands now.
    send(&daemon, &key, &[(&[("alertname", "DiskFull")], "resolved")]);
    let resolved = templated.wait_for(2, WAIT)[1].json();
    assert_eq!(resolved["id"], id, "{resolved}");
    assert_eq!(resolved["state"], "resolved");
    assert_eq!(
        hook.wait_for(2, WAIT)[1].json()["incident"]["state"],
        "resolved"
    );
    assert!(daemon.stop().success());
}

#[test]
fn a_receiver_url_with_an_unsupported_scheme_is_refused_at_load_by_scheme_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let receiver = |table: &str, key: &str, value: &str, extra: &str| {
        format!(
            "{}[[notify.receivers]]\nname = \"ops\"\n[[notify.receivers.{table}]]\n{key} = \"{value}\"\n{extra}",
            route("ops", BY_NAME)
        )
    };
    let secret = format!("secret = \"{SECRET}\"\n");
    // (config, scheme, field)
    let cases = [
        (
            receiver("webhook_configs", "url", "file:///etc/passwd", &secret),
            "`file`",
            "webhook/0 url",
        ),
        (
            receiver("webhook_configs", "url", "smtps://mail.example", &secret),
            "`smtps`",
            "webhook/0 url",
        ),
        (
            receiver(
                "webhook_configs",
                "url",
                "gopher://hooks.example/x",
                &secret,
            ),
            "`gopher`",
            "webhook/0 url",
        ),
        (
            receiver("slack_configs", "api_url", "file:///etc/passwd", ""),
            "`file`",
            "slack/0 api_url",
        ),
        (
            receiver("slack_configs", "api_url", "ftp://hooks.example/x", ""),
            "`ftp`",
            "slack/0 api_url",
        ),
        (
            receiver(
                "pagerduty_configs",
                "url",
                "smtp://mail.example",
                "routing_key = \"k\"\n",
            ),
            "`smtp`",
            "pagerduty/0 url",
        ),
    ];
    for (notify, scheme, field) in &cases {
        let path = config(tmp.path(), notify);
        let out = Command::new(vigil_tests::bin("vigild"))
            .arg("--config")
            .arg(&path)
            .arg("--check-config")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{field} {scheme}: {stderr}");
        assert!(
            stderr.contains(&format!("scheme {scheme}"))
                && stderr.contains(field)
                && stderr.contains("vigil.toml:")
                && !stderr.contains("whitespace"),
            "{field} {scheme}: {stderr}"
        );
    }

    // Starting on it is refused the same way, before anything is created;
    // and a running daemon refuses to reload into it.
    let path = config(tmp.path(), &cases[0].0);
    let (code, stderr) = vigil_tests::vigild_fails(&["--config".as_ref(), path.as_os_str()], &[]);
    assert_eq!(code, Some(78), "{stderr}");
    assert!(
        stderr.contains("scheme `file`") && stderr.contains("webhook/0 url"),
        "{stderr}"
    );
    assert!(!tmp.path().join("state").exists());

    let good = receiver("webhook_configs", "url", "https://hooks.example/x", &secret);
    let path = config(tmp.path(), &good);
    let daemon = Daemon::in_dir(&path, tmp.path());
    std::fs::write(
        &path,
        std::fs::read_to_string(&path)
            .unwrap()
            .replace("https://hooks.example/x", "file:///etc/passwd"),
    )
    .unwrap();
    let out = daemon.ctl(&["reload"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("scheme `file`") && stderr.contains("unchanged"),
        "{stderr}"
    );
    assert!(daemon.stop().success());
}

#[test]
fn an_alertmanager_v4_webhook_is_taken_by_an_alertmanager_receiver_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = Receiver::start();
    let notify = format!(
        "[notify]\nallow = [\"127.0.0.1\"]\n{}{FAST_RETRY}\n\
         [[notify.receivers]]\nname = \"am-receiver\"\n\
         [[notify.receivers.webhook_configs]]\nurl = \"{}\"\nsecret = \"{SECRET}\"\n\
         template = \"alertmanager.v4.json\"\n",
        route("am-receiver", BY_NAME),
        hook.url("/alertmanager"),
    );
    let daemon = Daemon::in_dir(&config(tmp.path(), &notify), tmp.path());
    let key = daemon.api_key();
    send(
        &daemon,
        &key,
        &[(&[("alertname", "DiskFull"), ("instance", "db1")], "firing")],
    );
    let got = hook.wait_for(1, WAIT);
    let body = got[0].json();
    assert_eq!(body["version"], "4");
    assert_eq!(body["groupKey"], "{}:{alertname=\"DiskFull\"}");
    assert_eq!(body["receiver"], "am-receiver");
    assert_eq!(body["alerts"][0]["labels"]["instance"], "db1");
    assert_eq!(body["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    // An Alertmanager webhook consumer takes the body as it came: Vigil's
    // own `alertmanager` driver (strict on version 4's fields) accepts it.
    let relay = http::ingest(daemon.http_addr(), "am", &key, &[], &got[0].body);
    assert_eq!(relay.status, 202, "{}", relay.body);
    assert!(daemon.stop().success());
}

#[test]
fn webhooks_authenticate_as_alertmanager_http_config_and_signing_can_be_turned_off() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = Receiver::start();
    let token = tmp.path().join("bearer-token");
    std::fs::write(&token, "am-receiver-token\n").unwrap();
    let password = tmp.path().join("basic-password");
    std::fs::write(&password, "open sesame").unwrap();
    let webhooks = format!(
        "[[notify.receivers]]\nname = \"am-receiver\"\n\
         [[notify.receivers.webhook_configs]]\nurl = \"{}\"\nsign = false\n\
         template = \"alertmanager.v4.json\"\n\
         authorization = {{ credentials = \"file:{}\" }}\n\
         [[notify.receivers.webhook_configs]]\nurl = \"{}\"\nsecret = \"{SECRET}\"\n\
         basic_auth = {{ username = \"vigil\", password = \"file:{}\" }}\n",
        hook.url("/bearer"),
        token.display(),
        hook.url("/basic"),
        password.display(),
    );
    let notify = format!(
        "[notify]\nallow = [\"127.0.0.1\"]\n{}{FAST_RETRY}\n{webhooks}",
        route("am-receiver", BY_NAME),
    );
    let daemon = Daemon::in_dir(&config(tmp.path(), &notify), tmp.path());
    let key = daemon.api_key();
    send(&daemon, &key, &[(&[("alertname", "DiskFull")], "firing")]);
    let got = hook.wait_for(2, WAIT);
    let on = |path: &str| got.iter().find(|r| r.path == path).unwrap();
    let bearer = on("/bearer");
    assert_eq!(
        bearer.header("authorization"),
        Some("Bearer am-receiver-token")
    );
    assert_eq!(bearer.header("webhook-signature"), None, "unsigned");
    assert!(bearer.header("webhook-id").is_some(), "the id still dedups");
    assert_eq!(bearer.json()["version"], "4");
    let basic = on("/basic");
    // base64("vigil:open sesame")
    assert_eq!(
        basic.header("authorization"),
        Some("Basic dmlnaWw6b3BlbiBzZXNhbWU=")
    );
    assert!(python_verifies(basic), "still signed");
    // Doctor names the unsigned webhook, and no credential anywhere.
    let doctor = daemon.ctl(&["doctor"]);
    let text = String::from_utf8_lossy(&doctor.stdout).to_string();
    assert!(
        text.contains("unsigned-webhook") && text.contains("am-receiver.webhook/0"),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.contains("unsigned-webhook") && l.contains("webhook/1")),
        "the signed one is fine: {text}"
    );
    let events = ok(&daemon.ctl(&["--json", "events", "list", "--all"]));
    for secret in ["am-receiver-token", "open sesame", "dmlnaWw6"] {
        assert!(!events.contains(secret), "{secret} in the log");
        assert!(
            !daemon.stderr().contains(secret),
            "{secret} in the daemon's log"
        );
    }
    assert!(daemon.stop().success());

    // Signing and authentication settings that disagree are refused at load.
    for (webhook, needle) in [
        (
            "url = \"https://hooks.example/x\"\n",
            "signing `secret` is required",
        ),
        (
            "url = \"https://hooks.example/x\"\nsign = false\nsecret = \"whsec_eA==\"\n",
            "`secret` is set but `sign = false`",
        ),
        (
            "url = \"https://hooks.example/x\"\nsign = false\n\
             authorization = { credentials = \"env:T\" }\n\
             basic_auth = { username = \"u\", password = \"env:P\" }\n",
            "not both",
        ),
        (
            "url = \"https://hooks.example/x\"\nsign = false\n\
             authorization = { type = \"Basic\", credentials = \"env:T\" }\n",
            "basic_auth",
        ),
    ] {
        let notify = format!(
            "{}[[notify.receivers]]\nname = \"ops\"\n[[notify.receivers.webhook_configs]]\n{webhook}",
            route("ops", BY_NAME)
        );
        let said = refused_at_load(tmp.path(), &notify);
        assert!(
            said.contains(needle) && said.contains("webhook/0"),
            "{needle}: {said}"
        );
    }
}

#[test]
fn opsgenie_teams_discord_telegram_ntfy_and_gotify_each_get_their_own_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = Receiver::start();
    let secret = |name: &str, value: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, value).unwrap();
        format!("file:{}", path.display())
    };
    let receiver = format!(
        r#"[[notify.receivers]]
name = "chat"
[[notify.receivers.opsgenie_configs]]
api_key = "{og}"
api_url = "{opsgenie}"
tags = ["vigil", "prod"]
[[notify.receivers.teams_configs]]
webhook_url = "{teams}"
[[notify.receivers.discord_configs]]
webhook_url = "{discord}"
username = "vigil"
[[notify.receivers.telegram_configs]]
bot_token = "{tg}"
chat_id = -1001234
api_url = "{telegram}"
[[notify.receivers.ntfy_configs]]
url = "{ntfy}"
topic = "alerts"
token = "{nt}"
[[notify.receivers.gotify_configs]]
url = "{gotify}"
token = "{gt}"
"#,
        og = secret("og", "og-key-1\n"),
        tg = secret("tg", "123456:ABC-def_9"),
        nt = secret("nt", "tk_ntfy"),
        gt = secret("gt", "gotify-app-token"),
        opsgenie = hook.url("/opsgenie"),
        teams = hook.url("/teams"),
        discord = hook.url("/discord"),
        telegram = hook.url("/telegram"),
        ntfy = hook.url("/ntfy"),
        gotify = hook.url("/gotify"),
    );
    let notify = format!(
        "[notify]\nallow = [\"127.0.0.1\"]\n{}{FAST_RETRY}\n{receiver}",
        route("chat", BY_NAME)
    );
    let daemon = Daemon::in_dir(&config(tmp.path(), &notify), tmp.path());
    let key = daemon.api_key();
    let labels: &[(&str, &str)] = &[("alertname", "DiskFull"), ("severity", "critical")];
    send(&daemon, &key, &[(labels, "firing")]);
    let got = hook.wait_for(6, WAIT);
    let on = |prefix: &str| {
        got.iter()
            .find(|r| r.path.starts_with(prefix))
            .unwrap_or_else(|| {
                panic!(
                    "nothing on {prefix}: {:?}",
                    got.iter().map(|r| &r.path).collect::<Vec<_>>()
                )
            })
    };

    let og = on("/opsgenie");
    assert_eq!(og.path, "/opsgenie/v2/alerts");
    assert_eq!(og.header("authorization"), Some("GenieKey og-key-1"));
    let body = og.json();
    assert!(
        body["message"].as_str().unwrap().contains("DiskFull"),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().len() <= 130);
    assert_eq!(body["priority"], "P1");
    assert_eq!(body["tags"], serde_json::json!(["vigil", "prod"]));
    let alias = body["alias"].as_str().unwrap().to_string();
    assert!(alias.starts_with("vigil-"), "{alias}");

    let teams = on("/teams").json();
    assert_eq!(teams["type"], "message");
    let card = &teams["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert!(
        card["content"]["body"][0]["text"]
            .as_str()
            .unwrap()
            .contains("FIRING"),
        "{teams}"
    );

    let discord = on("/discord").json();
    assert!(discord["content"].as_str().unwrap().contains("DiskFull"));
    assert_eq!(discord["username"], "vigil");
    assert_eq!(discord["allowed_mentions"]["parse"], serde_json::json!([]));

    let telegram = on("/telegram");
    assert_eq!(telegram.path, "/telegram/bot123456:ABC-def_9/sendMessage");
    let body = telegram.json();
    assert_eq!(body["chat_id"], -1001234);
    assert!(body["text"].as_str().unwrap().contains("DiskFull"));
    assert!(
        body.get("parse_mode").is_none(),
        "plain text: nothing read as markup"
    );

    let ntfy = on("/ntfy");
    assert_eq!(ntfy.path, "/ntfy/");
    assert_eq!(ntfy.header("authorization"), Some("Bearer tk_ntfy"));
    let body = ntfy.json();
    assert_eq!(
        (body["topic"].as_str(), body["priority"].as_u64()),
        (Some("alerts"), Some(5))
    );

    let gotify = on("/gotify");
    assert_eq!(gotify.path, "/gotify/message");
    assert_eq!(gotify.header("x-gotify-key"), Some("gotify-app-token"));
    assert_eq!(gotify.json()["priority"], 9);

    // Resolved: Opsgenie closes the alert its trigger opened.
    send(&daemon, &key, &[(labels, "resolved")]);
    let got = hook.wait_for(12, WAIT);
    let closed = got
        .iter()
        .find(|r| r.path.contains("/close"))
        .expect("an Opsgenie close");
    assert_eq!(
        closed.path,
        format!("/opsgenie/v2/alerts/{alias}/close?identifierType=alias")
    );
    // No token or key in the log or the daemon's output.
    let events = ok(&daemon.ctl(&["--json", "events", "list", "--all"]));
    for s in ["og-key-1", "ABC-def_9", "tk_ntfy", "gotify-app-token"] {
        assert!(
            !events.contains(s) && !daemon.stderr().contains(s),
            "{s} leaked"
        );
    }
    assert!(daemon.stop().success());

    // Settings out of range are refused at load, naming the integration.
    for (table, needle) in [
        (
            "[[notify.receivers.ntfy_configs]]\nurl = \"https://ntfy.example\"\ntopic = \"a/b\"\n",
            "ntfy/0",
        ),
        (
            "[[notify.receivers.ntfy_configs]]\nurl = \"https://ntfy.example\"\ntopic = \"a\"\npriority = 9\n",
            "priority",
        ),
        (
            "[[notify.receivers.opsgenie_configs]]\napi_key = \"env:K\"\npriority = \"P9\"\n",
            "P1 to P5",
        ),
        (
            "[[notify.receivers.gotify_configs]]\nurl = \"ftp://g.example\"\ntoken = \"env:T\"\n",
            "scheme",
        ),
        (
            "[[notify.receivers.telegram_configs]]\nbot_token = \"env:T\"\n",
            "chat_id",
        ),
    ] {
        let notify = format!(
            "{}[[notify.receivers]]\nname = \"ops\"\n{table}",
            route("ops", BY_NAME)
        );
        let said = refused_at_load(tmp.path(), &notify);
        assert!(said.contains(needle), "{needle}: {said}");
    }
}
