//! Silences, end to end: created, listed, refused when malformed or
//! boundless, expired, and kept across restarts, each change an event with
//! the operator's identity.
#![allow(clippy::unwrap_used)]

use vigil_tests::{Daemon, json_lines, ok};

fn refused(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "expected a refusal");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn silences_are_created_listed_expired_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::dev(tmp.path(), None);
    let created = ok(&daemon.ctl(&[
        "silences",
        "add",
        "--matcher",
        "env=\"prod\"",
        "--matcher",
        "alertname=~\"Disk.*\"",
        "--duration",
        "2h",
        "--comment",
        "disk replacement",
    ]));
    let id = created
        .trim()
        .strip_prefix("silence ")
        .and_then(|r| r.strip_suffix(" created"))
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();
    let later = ok(&daemon.ctl(&[
        "silences",
        "add",
        "--matcher",
        "host=db-1",
        "--duration",
        "1h",
        "--starts-in",
        "3h",
        "--comment",
        "planned",
    ]));
    assert!(later.contains("created"), "{later}");

    let listed = json_lines(&ok(&daemon.ctl(&["--json", "silences", "list"])));
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["state"], "active");
    assert_eq!(listed[0]["matchers"][1], "alertname=~\"Disk.*\"");
    assert_eq!(listed[1]["state"], "pending");
    let hours = (listed[0]["ends_at"].as_i64().unwrap() - listed[0]["starts_at"].as_i64().unwrap())
        / 3_600_000_000;
    assert_eq!(hours, 2);
    assert!(listed[0]["created_by"].as_str().unwrap().contains("uid"));

    // Refusals name the problem and record nothing.
    let before = json_lines(&ok(
        &daemon.ctl(&["--json", "events", "list", "--kind", "silence"])
    ))
    .len();
    // (matcher, duration, comment) → what the refusal must name.
    let cases = [
        ("env=~\"(\"", "1h", "x", "--matcher"),
        ("env=~\".*\"", "1h", "x", "every alert"),
        ("env=prod", "10s", "x", "--duration"),
        ("env=prod", "1h", "  ", "--comment"),
    ];
    for (matcher, duration, comment, named) in cases {
        let e = refused(&daemon.ctl(&[
            "silences",
            "add",
            "--matcher",
            matcher,
            "--duration",
            duration,
            "--comment",
            comment,
        ]));
        assert!(e.contains(named), "{matcher} {duration} {comment:?}: {e}");
    }
    let after = json_lines(&ok(
        &daemon.ctl(&["--json", "events", "list", "--kind", "silence"])
    ))
    .len();
    assert_eq!(before, after, "a refused silence was recorded");
    assert_eq!(before, 2);

    assert!(ok(&daemon.ctl(&["silences", "expire", &id])).contains("expired"));
    let e = refused(&daemon.ctl(&["silences", "expire", &id]));
    assert!(e.contains("ended already"), "{e}");
    assert!(refused(&daemon.ctl(&["silences", "expire", "999999"])).contains("no silence"));

    // Restart: the view is rebuilt from the log (or its snapshot).
    assert!(daemon.stop().success());
    let daemon = Daemon::dev(tmp.path(), None);
    let listed = json_lines(&ok(&daemon.ctl(&["--json", "silences", "list"])));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["state"], "pending");
    let all = json_lines(&ok(&daemon.ctl(&["--json", "silences", "list", "--all"])));
    let expired = all.iter().find(|s| s["id"] == id.as_str()).unwrap();
    assert_eq!(expired["state"], "expired");
    assert!(expired["expired_by"].as_str().unwrap().contains("uid"));

    // Expiring one that has not started ends it at once, for good.
    let pending = listed[0]["id"].as_str().unwrap().to_string();
    ok(&daemon.ctl(&["silences", "expire", &pending]));
    assert!(json_lines(&ok(&daemon.ctl(&["--json", "silences", "list"]))).is_empty());
    assert!(refused(&daemon.ctl(&["silences", "expire", &pending])).contains("ended already"));
    assert!(daemon.stop().success());
}
