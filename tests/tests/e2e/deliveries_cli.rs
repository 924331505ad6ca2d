//! `vigilctl notify test` and `vigilctl deliveries list`, end to end: a test
//! notification reaches a webhook receiver on 127.0.0.1 under the delivery
//! id it printed, is listed `sent` after one attempt, and is audited;
//! unknown receivers and states are refused by name; a viewer may list
//! deliveries but not send a test.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};
use vigil_tests::receiver::Receiver;
use vigil_tests::{Daemon, json_lines, ok, open_dir, shared_tempdir};

const SECRET: &str = "whsec_dGVzdC1vbmx5LXdlYmhvb2stc2lnbmluZy1rZXk=";
const WAIT: Duration = Duration::from_secs(30);
const VIEWER: u32 = 4242;

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    config: PathBuf,
    socket: PathBuf,
}

/// A daemon config whose receiver `ops` has a webhook to each of `urls`,
/// then `extra`; root is admin, uid [`VIEWER`] a viewer (the socket is
/// reachable by both).
fn setup(urls: &[String], extra: &str) -> Setup {
    let tmp = shared_tempdir();
    let dir = tmp.path().to_path_buf();
    let run = open_dir(&dir, "run");
    let socket = run.join("control.sock");
    let config = dir.join("vigil.toml");
    std::fs::write(
        &config,
        format!(
            r#"[daemon]
state_dir = "{state}"
socket = "{socket}"
socket_mode = "0666"

[http]
listen = "127.0.0.1:0"

[access.users]
"0" = "admin"
"{VIEWER}" = "viewer"

[notify]
allow = ["127.0.0.1"]

[notify.route]
receiver = "ops"

[[notify.receivers]]
name = "ops"
{webhooks}
{extra}
"#,
            state = dir.join("state").display(),
            socket = socket.display(),
            webhooks = urls
                .iter()
                .map(|url| format!(
                    "[[notify.receivers.webhook_configs]]\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n"
                ))
                .collect::<String>(),
        ),
    )
    .unwrap();
    Setup {
        _tmp: tmp,
        dir,
        config,
        socket,
    }
}

fn start(s: &Setup) -> Daemon {
    Daemon::with_config(&s.config, &s.socket, &s.dir.join("state"))
}

/// stderr of a command that must fail with exit status 2.
fn refused(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected a refusal: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn deliveries(daemon: &Daemon, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["--json", "deliveries", "list"];
    all.extend_from_slice(args);
    json_lines(&ok(&daemon.ctl(&all)))
}

#[test]
fn a_test_notification_is_delivered_under_its_printed_id_and_listed_sent() {
    let receiver = Receiver::start();
    let s = setup(&[receiver.url("/hook")], "");
    let daemon = start(&s);
    assert!(
        deliveries(&daemon, &[]).is_empty(),
        "nothing is delivered before the test"
    );

    let said = ok(&daemon.ctl(&["notify", "test", "ops"]));
    assert!(said.contains("test notification ntf_"), "{said}");
    assert!(said.contains("vigilctl deliveries list"), "{said}");

    let got = receiver.wait_for(1, WAIT);
    let request = &got[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hook");
    let id = request
        .header("webhook-id")
        .expect("a webhook-id")
        .to_string();
    assert!(
        said.contains(&format!("{id} (webhook/0)")),
        "the printed delivery is the one received: {id} / {said}"
    );
    assert!(request.header("webhook-signature").is_some());

    // The outcome is recorded after the receiver answered: poll for it.
    let deadline = Instant::now() + WAIT;
    let listed = loop {
        let listed = deliveries(&daemon, &[]);
        if listed
            .iter()
            .any(|d| d["id"] == id.as_str() && d["state"] == "sent")
        {
            break listed;
        }
        assert!(
            Instant::now() < deadline,
            "delivery {id} not listed sent within {WAIT:?}: {listed:?}\n{}",
            daemon.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(listed.len(), 1, "{listed:?}");
    let d = &listed[0];
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["receiver"], "ops");
    assert_eq!(d["integration"], "webhook/0");
    assert_eq!(d["cause"], "test");
    assert_eq!(
        (d["alerts"].as_u64(), d["firing"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(d["detail"].as_str().unwrap().contains("200"), "{d}");
    assert!(d["notification"].as_str().unwrap().starts_with("ntf_"));
    assert!(d["updated_at"].as_i64() >= d["created_at"].as_i64());
    assert_eq!(receiver.received().len(), 1, "sent once");

    // Filters.
    assert_eq!(deliveries(&daemon, &["--state", "sent"]).len(), 1);
    assert!(deliveries(&daemon, &["--state", "pending"]).is_empty());
    assert!(deliveries(&daemon, &["--state", "given_up"]).is_empty());
    assert_eq!(deliveries(&daemon, &["--receiver", "ops"]).len(), 1);
    assert!(deliveries(&daemon, &["--receiver", "other"]).is_empty());
    assert_eq!(deliveries(&daemon, &["--limit", "1"]).len(), 1);

    // The table, for people.
    let table = ok(&daemon.ctl(&["deliveries", "list"]));
    let row = table
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{table}"));
    for column in ["ops", "webhook/0", "sent", "1/1", "test", "ago", "200"] {
        assert!(row.contains(column), "{column} in {row}");
    }
    assert!(table.contains("0 pending, 1 sent, 0 given up"), "{table}");

    // Audited: who asked (the request), then the intent naming them.
    let auth = json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "auth", "--limit", "1000",
    ])));
    let allowed = auth
        .iter()
        .find(|e| e["event"]["auth"]["action"] == "notify.test")
        .unwrap_or_else(|| panic!("no notify.test decision: {auth:?}"));
    assert_eq!(allowed["event"]["auth"]["decision"], "allow");
    assert_eq!(allowed["event"]["auth"]["role"], "admin");
    let intent_seq = listed[0]["intent_seq"].as_u64().unwrap();
    assert!(allowed["seq"].as_u64().unwrap() < intent_seq);
    let intent = json_lines(&ok(&daemon.ctl(&[
        "--json",
        "events",
        "show",
        &intent_seq.to_string(),
    ])));
    let cause = &intent[0]["event"]["notification_intended"]["cause"];
    assert_eq!(cause["test"]["actor"]["local"]["uid"], 0, "{intent:?}");

    let findings = doctor(&daemon);
    let check = findings
        .iter()
        .find(|f| f["check"] == "notify-deliveries")
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(check["severity"], "ok", "{check}");
    assert!(daemon.stop().success());
}

/// `vigilctl doctor --json` (its exit status reflects the test's loose
/// socket mode, not what is asserted).
fn doctor(daemon: &Daemon) -> Vec<serde_json::Value> {
    json_lines(&String::from_utf8_lossy(
        &daemon.ctl(&["--json", "doctor"]).stdout,
    ))
}

#[test]
fn a_given_up_delivery_is_listed_with_its_reason_and_flagged_by_doctor() {
    let receiver = Receiver::start();
    // A port nobody listens on: connection refused, and no retry left.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = setup(
        &[
            receiver.url("/hook"),
            format!("http://127.0.0.1:{closed}/hook"),
        ],
        "[notify.retry]\nmax_attempts = 1\n",
    );
    let daemon = start(&s);
    let said = ok(&daemon.ctl(&["notify", "test", "ops"]));
    assert!(
        said.contains("(webhook/0)") && said.contains("(webhook/1)"),
        "one delivery per integration: {said}"
    );
    let deadline = Instant::now() + WAIT;
    let given_up = loop {
        let listed = deliveries(&daemon, &["--state", "given_up"]);
        if !listed.is_empty() {
            break listed;
        }
        assert!(
            Instant::now() < deadline,
            "nothing given up within {WAIT:?}: {:?}\n{}",
            deliveries(&daemon, &[]),
            daemon.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(given_up.len(), 1, "{given_up:?}");
    let d = &given_up[0];
    assert_eq!(d["integration"], "webhook/1");
    assert_eq!(d["attempts"], 1);
    assert!(said.contains(d["id"].as_str().unwrap()), "{said}");
    assert!(!d["detail"].as_str().unwrap().is_empty(), "{d}");
    // The other integration is unaffected.
    let deadline = Instant::now() + WAIT;
    while deliveries(&daemon, &["--state", "sent"]).is_empty() {
        assert!(Instant::now() < deadline, "webhook/0 not sent");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(deliveries(&daemon, &[]).len(), 2);

    let findings = doctor(&daemon);
    let check = findings
        .iter()
        .find(|f| f["check"] == "notify-deliveries")
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(check["severity"], "warning", "{check}");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains(d["id"].as_str().unwrap()),
        "{check}"
    );
    assert!(
        check["fix"].as_str().unwrap().contains("--state given_up"),
        "{check}"
    );
    assert!(daemon.stop().success());
}

#[test]
fn unknown_receivers_states_and_viewers_are_refused() {
    let receiver = Receiver::start();
    let s = setup(&[receiver.url("/hook")], "");
    let daemon = start(&s);

    let e = refused(&daemon.ctl(&["notify", "test", "nosuch"]));
    assert!(e.contains("nosuch") && e.contains("ops"), "{e}");

    let e = refused(&daemon.ctl(&["deliveries", "list", "--state", "bogus"]));
    assert!(e.contains("--state") && e.contains("bogus"), "{e}");
    assert!(e.contains("pending") && e.contains("given_up"), "{e}");

    // A viewer may look...
    let listed = ok(&daemon.ctl_as(VIEWER, VIEWER, &[], &["--json", "deliveries", "list"]));
    assert!(json_lines(&listed).is_empty(), "{listed}");
    // ...but not send.
    let e = refused(&daemon.ctl_as(VIEWER, VIEWER, &[], &["notify", "test", "ops"]));
    assert!(
        e.contains("may not notify.test") && e.contains("notifications.write"),
        "{e}"
    );

    // Nothing was intended, so nothing was sent; the denial is recorded.
    assert!(deliveries(&daemon, &[]).is_empty());
    assert!(receiver.received().is_empty());
    let auth = json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "auth", "--limit", "1000",
    ])));
    let decisions: Vec<_> = auth
        .iter()
        .filter(|e| e["event"]["auth"]["action"] == "notify.test")
        .map(|e| e["event"]["auth"]["decision"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        decisions,
        ["deny"],
        "a refused test is not recorded as allowed"
    );
    assert!(daemon.stop().success());
}
