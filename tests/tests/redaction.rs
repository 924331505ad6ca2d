//! Redaction end to end: the same canary corpus through every way text
//! enters the daemon (HTTP deliveries, spool files, `vigilctl emit`), then
//! looked for in the state directory's files, the daemon's log and
//! `vigilctl events list`. One found anywhere is a leak.

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
    let listed = ok(&daemon.ctl(&["--json", "events", "list", "--limit", "10000"]));
    let shown = ok(&daemon.ctl(&["events", "list", "--limit", "10000"]));
    let of_kind = json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", kind, "--limit", "10000",
    ])));
    assert_eq!(of_kind.len(), rows, "{of_kind:?}");
    let markers: Vec<String> = (0..canary::lines().len()).map(row).collect();
    for marker in &markers {
        assert!(listed.contains(marker.as_str()), "{marker} is not listed");
    }
    let state = daemon.state_dir.clone();
    let logs = daemon.stderr();
    assert!(daemon.stop().success());
    // The files searched below are the ones every row went to.
    let unseen = canary::missing_on_disk(&state.join("store"), &markers);
    assert!(unseen.is_empty(), "in no store file: {unseen:?}");
    canary::assert_no_leak(
        &state,
        &[state.join("spool")],
        &[
            ("events list --json", &listed),
            ("events list", &shown),
            ("daemon log", &logs),
        ],
    );
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
    assert_nothing_kept(daemon, "ingest", lines.len() * 2 + 1);
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
