//! Redaction end to end: the same canary corpus through every way text
//! enters the daemon (HTTP deliveries, spool files, `vigilctl emit`, and
//! the operator's text of incident actions, silences and API key names),
//! then looked for in the state directory's files, the daemon's log and
//! `vigilctl events list` (and each path's own listing). One found
//! anywhere is a leak.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};
use vigil_tests::http::{self, DEV_GENERIC_KEY, now_secs, standard_webhooks_headers};
use vigil_tests::{Daemon, canary, json_lines, ok};

/// Canary values that are a token by their own shape (no context needed)
/// and fit a label name: `emit` takes them as label names.
const SELF_EVIDENT_PREFIXES: [&str; 12] = [
    "AKIA",
    "ASIA",
    "ghp_",
    "ghs_",
    "github_pat_",
    "glpat-",
    "glrt-",
    "xoxb-",
    "xoxp-",
    "sk_live_",
    "rk_test_",
    "npm_",
];

fn dev_key(state: &Path) -> String {
    std::fs::read_to_string(state.join("dev-api-key"))
        .unwrap()
        .trim()
        .to_string()
}

/// Row `i`'s marker: every event of row `i` holds it, beside the canary.
fn row(i: usize) -> String {
    format!("row{i:02}")
}

/// A generic (Vigil format) alert holding canary line `i` in every field
/// it has, and `extra` in an annotation. Kept under 4 KiB: see
/// [`canary::missing_on_disk`].
fn generic_alert(i: usize, text: &str, extra: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "summary": format!("{} {text}", row(i)),
        "labels": {"row": row(i), "ctx": text},
        "annotations": {"detail": text, "doc": extra},
        "links": [format!("https://example.com/rows/{i}?{text}")],
    }))
    .unwrap()
}

/// Stops the daemon after checking that `rows` events of `kind` were
/// stored, then looks for every canary in the state directory (outside
/// `spool/`, the writers' own files), the log and both listings.
fn assert_nothing_kept(daemon: Daemon, kind: &str, rows: usize) {
    assert_nothing_kept_in(daemon, kind, rows, &[]);
}

/// [`assert_nothing_kept`], also searching the output of each of `also`
/// (`vigilctl` arguments, and whether it must show every row), plain and
/// `--json`.
fn assert_nothing_kept_in(daemon: Daemon, kind: &str, rows: usize, also: &[(&[&str], bool)]) {
    let listed = ok(&daemon.ctl(&["--json", "events", "list", "--limit", "10000"]));
    let shown = ok(&daemon.ctl(&["events", "list", "--limit", "10000"]));
    let mut outputs = Vec::new();
    for &(args, lists_rows) in also {
        let plain = ok(&daemon.ctl(args));
        let json = ok(&daemon.ctl(&[&["--json"], args].concat()));
        outputs.push((args.join(" "), plain, lists_rows));
        outputs.push((format!("--json {}", args.join(" ")), json, lists_rows));
    }
    let of_kind = json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", kind, "--limit", "10000",
    ])));
    assert_eq!(of_kind.len(), rows, "{of_kind:?}");
    let markers: Vec<String> = (0..canary::lines().len()).map(row).collect();
    for marker in &markers {
        assert!(listed.contains(marker.as_str()), "{marker} is not listed");
        for (place, output, _) in outputs.iter().filter(|o| o.2) {
            assert!(
                output.contains(marker.as_str()),
                "{marker} is not in {place}"
            );
        }
    }
    let state = daemon.state_dir.clone();
    let logs = daemon.stderr();
    assert!(daemon.stop().success());
    // The files searched below are the ones every row went to.
    let unseen = canary::missing_on_disk(&state.join("store"), &markers);
    assert!(unseen.is_empty(), "in no store file: {unseen:?}");
    let mut texts = vec![
        ("events list --json", listed.as_str()),
        ("events list", shown.as_str()),
        ("daemon log", logs.as_str()),
    ];
    texts.extend(outputs.iter().map(|(p, o, _)| (p.as_str(), o.as_str())));
    canary::assert_no_leak(&state, &[state.join("spool")], &texts);
    assert!(listed.contains("[REDACTED:"), "redacted, not dropped");
}

#[test]
fn emit_keeps_no_canary_from_its_message_or_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let lines = canary::lines();
    for (i, text) in lines.iter().enumerate() {
        ok(&daemon.ctl(&["emit", "-m", &format!("{} {text}", row(i))]));
        ok(&daemon.ctl(&[
            "emit",
            "-m",
            &format!("labels of {}", row(i)),
            "--label",
            &format!("ctx={text}"),
            "--label",
            &format!("password={text}"),
        ]));
    }
    ok(&daemon.ctl(&["emit", "-m", canary::PRIVATE_KEYS]));
    let names: Vec<String> = canary::values()
        .into_iter()
        .filter(|v| SELF_EVIDENT_PREFIXES.iter().any(|p| v.starts_with(p)))
        .filter(|v| {
            v.len() <= 128
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        })
        .map(|v| format!("{v}=named"))
        .collect();
    assert!(names.len() >= 8, "{names:?}");
    let mut args = vec!["emit", "-m", "secrets as label names"];
    for name in &names {
        args.extend(["--label", name]);
    }
    ok(&daemon.ctl(&args));
    assert_nothing_kept(daemon, "custom", lines.len() * 2 + 2);
}

#[test]
fn http_deliveries_keep_no_canary() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let addr = daemon.http_addr();
    let key = dev_key(&daemon.state_dir);
    let lines = canary::lines();
    for (i, text) in lines.iter().enumerate() {
        // The generic driver, signed as Standard Webhooks senders sign.
        let extra = if i == 0 { canary::PRIVATE_KEYS } else { "-" };
        let body = generic_alert(i, text, extra);
        let id = format!("msg_{}", row(i));
        let headers = standard_webhooks_headers(DEV_GENERIC_KEY, &id, now_secs(), &body);
        let r = http::ingest_with(addr, "generic", &key, &headers, &body);
        assert_eq!(r.status, 202, "{}", r.body);
        // Alertmanager: the same line in its shape.
        let body = serde_json::json!({
            "version": "4", "status": "firing", "receiver": "vigil", "groupKey": "{}:{}",
            "alerts": [{
                "status": "firing",
                "labels": {"alertname": row(i), "ctx": text},
                "annotations": {"summary": format!("{} {text}", row(i)), "description": text},
                "startsAt": "2026-11-23T07:00:00Z",
                "generatorURL": format!("https://prometheus.example.com/graph?{text}"),
            }],
        });
        let r = http::ingest(addr, "alertmanager", &key, &[], body.to_string().as_bytes());
        assert_eq!(r.status, 202, "{}", r.body);
        // Prometheus's push, at Alertmanager's own path: the same line again.
        let body = serde_json::json!([{
            "labels": {"alertname": row(i), "ctx": text},
            "annotations": {"summary": format!("{} {text}", row(i)), "description": text},
            "startsAt": "2026-11-23T07:00:00Z",
            "generatorURL": format!("https://prometheus.example.com/graph?{text}"),
        }]);
        let auth = format!("Bearer {key}");
        let r = http::request(
            addr,
            "POST",
            "/api/v2/alerts",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // A Standard Webhooks envelope that is no alert: its type is stored.
    let body = serde_json::to_vec(&serde_json::json!({
        "type": "glpat-CANARYAb3De6Gh9Jk2Mn",
        "timestamp": "2026-11-23T07:00:00Z",
        "data": {"note": lines[0]},
    }))
    .unwrap();
    let headers = standard_webhooks_headers(DEV_GENERIC_KEY, "msg_type", now_secs(), &body);
    let r = http::ingest_with(addr, "generic", &key, &headers, &body);
    assert_eq!(r.status, 202, "{}", r.body);
    assert_nothing_kept(daemon, "ingest", lines.len() * 3 + 1);
}

#[test]
fn spool_files_keep_no_canary() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let spool = daemon.state_dir.join("spool");
    let lines = canary::lines();
    let mut names = Vec::new();
    for (i, text) in lines.iter().enumerate() {
        // A file's name is the writer's text too.
        let name = if i == 0 {
            "password=CANARYspoolname.json".to_string()
        } else {
            format!("{}.json", row(i))
        };
        let extra = if i == 0 { canary::PRIVATE_KEYS } else { "-" };
        let staged = spool.join("tmp").join(&name);
        std::fs::write(&staged, generic_alert(i, text, extra)).unwrap();
        std::fs::rename(&staged, spool.join("incoming").join(&name)).unwrap();
        names.push(name);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !names.iter().all(|n| spool.join("done").join(n).exists()) {
        assert!(
            Instant::now() < deadline,
            "not all ingested:\n{}",
            daemon.stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_nothing_kept(daemon, "ingest", lines.len());
}

/// One benign alert through the generic source, and the id of the
/// incident it opened.
fn open_incident(daemon: &Daemon) -> String {
    let key = dev_key(&daemon.state_dir);
    let body = serde_json::to_vec(&serde_json::json!({
        "summary": "disk almost full",
        "labels": {"host": "db-1"},
    }))
    .unwrap();
    let headers = standard_webhooks_headers(DEV_GENERIC_KEY, "msg_incident", now_secs(), &body);
    let r = http::ingest_with(daemon.http_addr(), "generic", &key, &headers, &body);
    assert_eq!(r.status, 202, "{}", r.body);
    let incidents = json_lines(&ok(&daemon.ctl(&["--json", "incidents", "list"])));
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    incidents[0]["id"].as_str().unwrap().to_string()
}

#[test]
fn incident_notes_keep_no_canary() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let id = open_incident(&daemon);
    let lines = canary::lines();
    // Every way a note is given: `note`, `ack --note`, `resolve --note`.
    for (i, text) in lines.iter().enumerate() {
        let note = format!("{} {text}", row(i));
        let out = if i + 1 == lines.len() {
            daemon.ctl(&["incidents", "resolve", &id, &format!("--note={note}")])
        } else if i % 2 == 0 {
            daemon.ctl(&["incidents", "note", &id, "--", &note])
        } else {
            daemon.ctl(&["incidents", "ack", &id, &format!("--note={note}")])
        };
        ok(&out);
    }
    assert_nothing_kept_in(
        daemon,
        "incident",
        lines.len(),
        &[
            (&["incidents", "show", &id], true),
            (&["incidents", "list"], false),
        ],
    );
}

#[test]
fn silences_keep_no_canary() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let lines = canary::lines();
    let mut refusals = Vec::new();
    for (i, text) in lines.iter().enumerate() {
        // The comment is stored, redacted.
        ok(&daemon.ctl(&[
            "silences",
            "add",
            &format!("--matcher=row=\"{}\"", row(i)),
            "--duration=1h",
            &format!("--comment={} {text}", row(i)),
        ]));
        // A matcher holding a secret is refused: alerts are stored with
        // the marker in the secret's place, so it could not match as
        // written, and it is not stored either.
        let quoted = text.replace('\\', "\\\\").replace('"', "\\\"");
        let out = daemon.ctl(&[
            "silences",
            "add",
            &format!("--matcher=ctx=\"{quoted}\""),
            "--duration=1h",
            "--comment=muting a secret",
        ]);
        assert!(!out.status.success(), "a matcher with row {i} was stored");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(stderr.contains("[REDACTED:"), "{stderr}");
        refusals.push((format!("refusal of row {i}"), stderr));
    }
    // A label named like a secret is stored whole as its marker, so any
    // value but "" there is a secret.
    let out = daemon.ctl(&[
        "silences",
        "add",
        "--matcher=password=CANARYhunter2",
        "--duration=1h",
        "--comment=muting a password",
    ]);
    assert!(!out.status.success(), "a password matcher was stored");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains("password=\"[REDACTED:password]\""),
        "{stderr}"
    );
    refusals.push(("refusal of a password matcher".into(), stderr));
    ok(&daemon.ctl(&[
        "silences",
        "add",
        "--matcher=password!=\"\"",
        "--matcher=row=any",
        "--duration=1h",
        "--comment=has a password",
    ]));
    let refusals: Vec<(&str, &str)> = refusals
        .iter()
        .map(|(p, e)| (p.as_str(), e.as_str()))
        .collect();
    let leaks = canary::leaks_in(&refusals);
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    assert_nothing_kept_in(
        daemon,
        "silence",
        lines.len() + 1,
        &[(&["silences", "list", "--all"], true)],
    );
}

#[test]
fn api_key_names_keep_no_canary() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let lines = canary::lines();
    for (i, text) in lines.iter().enumerate() {
        let created = ok(&daemon.ctl(&["keys", "create", &format!("--name={} {text}", row(i))]));
        let leaks = canary::leaks_in(&[("keys create", &created)]);
        assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    }
    // Dev mode's own key, then one per row.
    assert_nothing_kept_in(daemon, "key", lines.len() + 1, &[(&["keys", "list"], true)]);
}

/// A secret whose marker is longer than itself.
const GROWS: &str = "AKIAQCANARY7EXAMPLE2 ";

#[test]
fn emit_limits_hold_for_what_is_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let refused = |args: &[&str]| {
        let out = daemon.ctl(args);
        assert!(!out.status.success(), "stored: {:?}", &args[..2]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains(canary::CANARY), "{stderr}");
        stderr
    };
    // Under 4096 bytes as sent, over it once redacted.
    let message = GROWS.repeat(4000 / GROWS.len());
    assert!(message.len() <= 4096);
    let e = refused(&["emit", "-m", &message]);
    assert!(e.contains("4096") && e.contains("redact"), "{e}");
    // The same for a label value (1024 bytes).
    let value = GROWS.repeat(1000 / GROWS.len());
    let e = refused(&["emit", "-m", "x", "--label", &format!("ctx={value}")]);
    assert!(e.contains("1024") && e.contains("redact"), "{e}");
    let custom = || {
        json_lines(&ok(
            &daemon.ctl(&["--json", "events", "list", "--kind", "custom"])
        ))
    };
    assert!(custom().is_empty(), "a refusal stored something");
    // What fits once redacted is stored, redacted, within the limit.
    let message = GROWS.repeat(3000 / GROWS.len());
    ok(&daemon.ctl(&["emit", "-m", &message]));
    let stored = custom();
    assert_eq!(stored.len(), 1, "{stored:?}");
    let text = stored[0]["event"]["custom"]["message"].as_str().unwrap();
    assert!(
        text.len() > message.len() && text.len() <= 4096,
        "{}",
        text.len()
    );
    assert!(!text.contains(canary::CANARY), "{text}");
    assert!(daemon.stop().success());
}

#[test]
fn followed_log_lines_keep_no_canary() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let logs = logs.canonicalize().unwrap();
    let log = logs.join("app.log");
    std::fs::write(&log, "").unwrap();
    // A rule that puts the whole line in the alert's summary and a label.
    let config = vigil_tests::write_config(
        tmp.path(),
        &format!(
            "[http]\nenabled = false\n\n[collect]\nallowed_roots = [\"{}\"]\n\n[[collect.log_rules]]\nname = \"row\"\npattern = '^(?P<row>row\\d\\d) (?P<rest>.*)$'\nsummary = \"{{row}} {{rest}}\"\nlabels = {{ ctx = \"{{rest}}\" }}\n\n[[collect.logs]]\npath = \"{}\"\nrules = [\"row\"]\nstart_at = \"beginning\"\n",
            logs.display(),
            log.display()
        ),
    );
    let daemon = Daemon::in_dir(&config, tmp.path());
    let lines = canary::lines();
    let collected = |daemon: &Daemon| {
        json_lines(&ok(&daemon.ctl(&[
            "--json", "events", "list", "--kind", "collect", "--limit", "10000",
        ])))
        .len()
    };
    vigil_tests::wait_for("the file followed", || {
        (collected(&daemon) == 1).then_some(())
    });
    for (i, text) in lines.iter().enumerate() {
        // One line per entry: each stays under 4 KiB, where the store
        // keeps it uncompressed for the disk search to see.
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        use std::io::Write;
        writeln!(f, "{} {text}", row(i)).unwrap();
        vigil_tests::wait_for(&format!("line {i} kept"), || {
            (collected(&daemon) == i + 2).then_some(())
        });
    }
    assert_nothing_kept_in(
        daemon,
        "collect",
        lines.len() + 1,
        &[(&["incidents", "list"], false)],
    );
}
