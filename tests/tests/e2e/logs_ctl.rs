//! `vigilctl logs …`, `status` and `doctor` on log collection, against
//! the real daemon following a temporary `auth.log` (its only allowed
//! root is the temporary tree).
//!
//! The listing shows the file read to its end with its identity, offset
//! and counts, a configured file that does not exist as failing, and a
//! glob whose directory does not exist as not read yet; `--set` lists one
//! set and an unknown one is refused. `logs test` runs the built-in rules:
//! a Debian sshd line matches with its captures and threshold, the same
//! words written by `logger` are reported as left out by the rule's
//! programs filter, a file is tested line by line; an unknown rule or
//! set, an empty line and an oversized one are refused with exit 2 and
//! nothing is recorded for any of it. Status has the logs line, doctor
//! the failing file and the missing directory. A role without
//! `logs.read` is refused. The human listing is snapshotted.
#![allow(clippy::unwrap_used)]

use crate::ctl_output::{regex_escape, squeeze_columns};
use serde_json::Value;
use std::fs;
use std::path::PathBuf;
use std::process::Output;
use vigil_tests::{Daemon, json_lines, ok, open_dir, shared_tempdir, wait_for};

const VIEWER: u32 = 4242;
/// A uid whose role may read events and status, but not logs.
const NO_LOGS: u32 = 4343;

/// What sshd wrote, as rsyslog writes it on Debian 12: three failed
/// logins (under the threshold of five) and a line no rule matches.
const AUTH_LOG: &str = "\
Dec  6 10:00:01 bastion sshd[4242]: Failed password for invalid user admin from 203.0.113.5 port 51234 ssh2
Dec  6 10:00:03 bastion sshd[4242]: Failed password for root from 203.0.113.5 port 51240 ssh2
Dec  6 10:00:05 bastion sshd[4243]: Accepted publickey for deploy from 198.51.100.9 port 40022 ssh2: ED25519 SHA256:abc
Dec  6 10:00:07 bastion sshd[4244]: Failed password for root from 203.0.113.9 port 51250 ssh2
";

const SSHD_LINE: &str = "Dec  6 10:00:01 bastion sshd[4242]: Failed password for invalid user admin from 203.0.113.5 port 51234 ssh2";
/// The same words, written by any local user with `logger`.
const LOGGER_LINE: &str =
    "Dec  6 10:00:02 bastion mallory: Failed password for root from 203.0.113.5 port 22 ssh2";

struct Setup {
    tmp: tempfile::TempDir,
    /// The tree log collection may read (canonical).
    root: PathBuf,
    daemon: Daemon,
}

/// A daemon following `ROOT/auth.log` from its beginning, `ROOT/missing.log`
/// (never there) and `ROOT/nginx/*.log` (no such directory): root is
/// admin, [`VIEWER`] a viewer, [`NO_LOGS`] a role without `logs.read`.
fn start() -> Setup {
    let tmp = shared_tempdir();
    let dir = tmp.path().to_path_buf();
    let root = dir.join("logs");
    fs::create_dir_all(&root).unwrap();
    let root = root.canonicalize().unwrap();
    fs::write(root.join("auth.log"), AUTH_LOG).unwrap();
    let run = open_dir(&dir, "run");
    let socket = run.join("control.sock");
    let config = dir.join("vigil.toml");
    fs::write(
        &config,
        format!(
            r#"[daemon]
state_dir = "{state}"
socket = "{socket}"
socket_mode = "0666"

[http]
enabled = false

[access.users]
"0" = "admin"
"{VIEWER}" = "viewer"
"{NO_LOGS}" = "nologs"

[roles.nologs]
permissions = ["status.read", "events.read"]

[collect]
allowed_roots = ["{root}"]

[[collect.logs]]
name = "auth"
path = "{root}/auth.log"
start_at = "beginning"

[[collect.logs]]
name = "missing"
path = "{root}/missing.log"

[[collect.logs]]
name = "web"
path = "{root}/nginx/*.log"
"#,
            state = dir.join("state").display(),
            socket = socket.display(),
            root = root.display(),
        ),
    )
    .unwrap();
    let daemon = Daemon::with_config(&config, &socket, &dir.join("state"));
    Setup { tmp, root, daemon }
}

/// The sources listed, by path.
fn listed(daemon: &Daemon, args: &[&str]) -> Vec<Value> {
    let mut full = vec!["--json", "logs", "list"];
    full.extend_from_slice(args);
    json_lines(&ok(&daemon.ctl(&full)))
}

fn source<'a>(sources: &'a [Value], path: &str) -> &'a Value {
    sources
        .iter()
        .find(|s| s["path"] == path)
        .unwrap_or_else(|| panic!("{path} not listed: {sources:#?}"))
}

/// Waits until auth.log is read to its end and missing.log is known to
/// be missing.
fn settled(s: &Setup) -> Vec<Value> {
    let auth = s.root.join("auth.log").display().to_string();
    let missing = s.root.join("missing.log").display().to_string();
    wait_for("auth.log read and missing.log found missing", || {
        let sources = listed(&s.daemon, &[]);
        let read = sources
            .iter()
            .any(|l| l["path"] == auth.as_str() && l["lines"] == 4);
        let failing = sources
            .iter()
            .any(|l| l["path"] == missing.as_str() && l["state"] == "failing");
        (read && failing).then_some(sources)
    })
}

/// The stderr of a command that must have failed with exit status 2.
fn refused(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected a refusal: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The decisions recorded for `action`.
fn decisions(daemon: &Daemon, action: &str) -> Vec<String> {
    let auth = json_lines(&ok(&daemon.ctl(&[
        "--json", "events", "list", "--kind", "auth", "--limit", "1000",
    ])));
    auth.iter()
        .filter(|e| e["event"]["auth"]["action"] == action)
        .map(|e| e["event"]["auth"]["decision"].as_str().unwrap().to_string())
        .collect()
}

/// Every entry in the log but authorization decisions, as (seq, kind).
fn recorded_besides_auth(daemon: &Daemon) -> Vec<(u64, String)> {
    json_lines(&ok(
        &daemon.ctl(&["--json", "events", "list", "--limit", "100000"])
    ))
    .iter()
    .filter(|e| e["kind"] != "auth")
    .map(|e| {
        (
            e["seq"].as_u64().unwrap(),
            e["kind"].as_str().unwrap().to_string(),
        )
    })
    .collect()
}

#[test]
fn logs_list_status_and_doctor_with_the_collector_running() {
    let s = start();
    let d = &s.daemon;
    let sources = settled(&s);
    let at = |p: &str| s.root.join(p).display().to_string();

    // auth.log: read to its end, identity and offset as the disk has them.
    assert_eq!(sources.len(), 3, "{sources:#?}");
    let auth = source(&sources, &at("auth.log"));
    let meta = fs::metadata(at("auth.log")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(auth["set"], "auth");
    assert_eq!(auth["state"], "following");
    let file = &auth["position"]["file"];
    assert_eq!(
        (
            file["dev"].as_u64(),
            file["inode"].as_u64(),
            file["offset"].as_u64()
        ),
        (Some(meta.dev()), Some(meta.ino()), Some(meta.len()))
    );
    assert_eq!(auth["lines"], 4);
    assert_eq!(auth["bytes"], AUTH_LOG.len());
    assert_eq!(auth["matched"], 3, "three failed logins");
    assert_eq!(auth["alerts"], 0, "under the threshold of five");
    assert_eq!(auth["last_change"]["kind"], "started");
    assert!(auth["last_read"].as_i64().is_some());
    assert!(auth["error"].is_null());

    // A file that is not there, and a glob with no directory.
    let missing = source(&sources, &at("missing.log"));
    assert_eq!(missing["state"], "failing");
    assert_eq!(missing["last_change"]["kind"], "gone");
    assert!(
        missing["error"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{missing}"
    );
    let web = source(&sources, &at("nginx/*.log"));
    assert_eq!(
        (web["set"].as_str(), web["state"].as_str()),
        (Some("web"), Some("not_read"))
    );
    assert!(web["position"].is_null());

    // One set; an unknown one is refused with the names there are.
    let one = listed(d, &["--set", "auth"]);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["path"], at("auth.log"));
    let e = refused(&d.ctl(&["logs", "list", "--set", "nope"]));
    assert!(
        e.contains("no [[collect.logs]] or [[collect.journal]] is named `nope`")
            && e.contains("the sets are: auth, missing, web"),
        "{e}"
    );

    // The table, and the header's counts after it.
    let human = ok(&d.ctl(&["logs", "list"]));
    assert!(human.starts_with("SET "), "{human}");
    assert!(
        human.ends_with("3 source(s) in 3 configured set(s): 1 failing, 1 not read yet\n"),
        "{human}"
    );

    // Status: the logs line, in both forms.
    let status = ok(&d.ctl(&["status"]));
    let line = status
        .lines()
        .find(|l| l.starts_with("logs "))
        .unwrap_or_else(|| panic!("no logs line in\n{status}"));
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>().join(" "),
        "logs 3 set(s), 2 file(s) followed, 1 with errors"
    );
    let json = json_lines(&ok(&d.ctl(&["--json", "status"])));
    assert_eq!(
        json[0]["logs"],
        serde_json::json!({"sets": 3, "files": 2, "journals": 0, "failing": 1})
    );

    // Doctor: the failing file and the missing directory, as warnings
    // (errors would make it exit 1).
    let out = d.ctl(&["--json", "doctor"]);
    let findings = json_lines(&String::from_utf8_lossy(&out.stdout));
    let mine: Vec<(&str, &str, &str)> = findings
        .iter()
        .filter(|f| f["check"].as_str().unwrap().starts_with("logs"))
        .map(|f| {
            (
                f["check"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(mine.len(), 2, "{mine:#?}");
    assert!(mine.iter().all(|(_, severity, _)| *severity == "warning"));
    assert!(mine.iter().any(|(check, _, m)| *check == "logs-source"
        && m.starts_with(&format!(
            "{} (set `missing`) cannot be read: ",
            at("missing.log")
        ))
        && m.contains("does not exist")));
    assert!(mine.iter().any(|(check, _, m)| *check == "logs-path"
        && m.starts_with(&format!(
            "{}, the directory of set `web`'s glob, does not exist",
            at("nginx")
        ))));
    // (doctor itself exits 1 here: the socket is mode 0666 for the other
    // uids below, which it rightly calls an error.)

    // A viewer may look; a role without logs.read may not, and is recorded.
    let seen = json_lines(&ok(&d.ctl_as(
        VIEWER,
        VIEWER,
        &[],
        &["--json", "logs", "list"],
    )));
    assert_eq!(seen.len(), 3);
    let e = refused(&d.ctl_as(NO_LOGS, NO_LOGS, &[], &["logs", "list"]));
    assert!(
        e.contains("may not logs.list") && e.contains("logs.read"),
        "{e}"
    );
    let e = refused(&d.ctl_as(
        NO_LOGS,
        NO_LOGS,
        &[],
        &["logs", "test", "--line", SSHD_LINE],
    ));
    assert!(e.contains("may not logs.test"), "{e}");
    assert_eq!(
        decisions(d, "logs.list"),
        ["deny"],
        "only the refusal is recorded"
    );

    snapshot(&s);
    assert!(s.daemon.stop().success());
}

/// The human listing, and what a test of one line prints, in
/// `ctl_output/logs_list_and_test.snap`.
fn snapshot(s: &Setup) {
    let d = &s.daemon;
    let mut transcript = String::new();
    let mut run = |args: &[&str], squeeze: bool| {
        let out = d.ctl(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let shown = if squeeze {
            squeeze_columns(&stdout)
        } else {
            stdout.into_owned()
        };
        let shown_args: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains(' ') {
                    format!("'{a}'")
                } else {
                    a.to_string()
                }
            })
            .collect();
        transcript.push_str(&format!(
            "$ vigilctl {}\n[exit {}]\n{shown}",
            shown_args.join(" "),
            out.status.code().unwrap_or(-1)
        ));
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !stderr.is_empty() {
            transcript.push_str(&format!("[stderr]\n{stderr}"));
        }
        transcript.push('\n');
    };
    run(&["logs", "list"], true);
    run(&["logs", "list", "--set", "web"], true);
    run(&["logs", "test", "--line", SSHD_LINE], false);
    run(&["logs", "test", "--line", LOGGER_LINE], false);
    run(
        &["logs", "test", "--rule", "nope", "--line", SSHD_LINE],
        false,
    );
    let mut settings = insta::Settings::clone_current();
    for path in [
        s.tmp.path().to_path_buf(),
        s.tmp.path().canonicalize().unwrap(),
    ] {
        settings.add_filter(&regex_escape(&path.display().to_string()), "[TMP]");
    }
    settings.add_filter(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
        "[TIME]",
    );
    // A file's device and inode: the third column of a squeezed row.
    settings.add_filter(r"(?m)^(\S+  \S+  )\d+:\d+  ", "${1}[DEV]:[INODE]  ");
    settings.set_snapshot_path("ctl_output");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!("logs_list_and_test", transcript));
}

#[test]
fn logs_test_tries_the_rules_on_lines_and_files_and_records_nothing() {
    let s = start();
    let d = &s.daemon;
    settled(&s);
    let before = recorded_besides_auth(d);

    // A Debian sshd line: the built-in rule, its captures and threshold.
    let human = ok(&d.ctl(&["logs", "test", "--line", SSHD_LINE]));
    for expected in [
        "sshd-failed-password: matched\n",
        "    severity   error (alerts)\n",
        "    threshold  5 matches within 1m by src_ip, then quiet 10m\n",
        "    programs   sshd, sshd-session\n",
        "    captures   src_ip=203.0.113.5 user=admin\n",
        "    summary    repeated failed SSH logins from 203.0.113.5 (last as admin)\n",
    ] {
        assert!(human.contains(expected), "{expected:?} not in\n{human}");
    }
    let json = json_lines(&ok(&d.ctl(&["--json", "logs", "test", "--line", SSHD_LINE])));
    assert_eq!(json.len(), 1);
    let rule = json[0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "sshd-failed-password")
        .unwrap();
    assert_eq!(rule["matched"], 1);
    assert_eq!(rule["matches"][0]["captures"]["src_ip"], "203.0.113.5");
    assert_eq!(rule["matches"][0]["text"], SSHD_LINE);
    assert_eq!(rule["threshold"]["same"], serde_json::json!(["src_ip"]));

    // The same words from another program: left out by the filter, said so.
    let human = ok(&d.ctl(&["logs", "test", "--line", LOGGER_LINE]));
    assert!(
        human.contains("sshd-failed-password: left out by its programs filter\n")
            && human
                .contains("written by sshd, sshd-session, and this line was written by `mallory`"),
        "{human}"
    );
    let json = json_lines(&ok(&d.ctl(&[
        "--json",
        "logs",
        "test",
        "--line",
        LOGGER_LINE,
    ])));
    assert_eq!(json[0]["matched"], 0);
    let rule = json[0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "sshd-failed-password")
        .unwrap();
    assert_eq!(
        (rule["matched"].as_u64(), rule["excluded"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(rule["exclusions"][0]["program"], "mallory");

    // A file, line by line, with the set's rules; and from stdin.
    let auth = s.root.join("auth.log").display().to_string();
    let human = ok(&d.ctl(&["logs", "test", "--set", "auth", "--file", &auth]));
    assert!(
        human.starts_with(&format!("4 line(s) of {auth}, 3 matched by a rule\n")),
        "{human}"
    );
    let row = human
        .lines()
        .find(|l| l.starts_with("sshd-failed-password "))
        .unwrap();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["sshd-failed-password", "3", "0", "error"]
    );
    assert!(
        human.contains("sshd-failed-password: matched 3 line(s)\n"),
        "{human}"
    );
    assert!(
        human.contains("  line 4: Dec  6 10:00:07 bastion sshd[4244]: "),
        "{human}"
    );
    let piped = d.ctl_stdin(
        &["--json", "logs", "test", "--file", "-"],
        AUTH_LOG.as_bytes(),
    );
    let json = json_lines(&ok(&piped));
    assert_eq!(
        (json[0]["lines"].as_u64(), json[0]["matched"].as_u64()),
        (Some(4), Some(3))
    );

    // A file of many lines goes in batches; a line over 64 KiB is cut.
    let big = s.tmp.path().join("big.log");
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&format!(
            "Dec  6 10:00:01 bastion sshd[{i}]: Failed password for root from 192.0.2.{} port 22 ssh2\n",
            i % 250
        ));
    }
    text.push_str(&"x".repeat(70_000));
    text.push('\n');
    fs::write(&big, &text).unwrap();
    let json = json_lines(&ok(&d.ctl(&[
        "--json",
        "logs",
        "test",
        "--rule",
        "sshd-failed-password",
        "--file",
        big.to_str().unwrap(),
    ])));
    assert_eq!(
        (
            json[0]["lines"].as_u64(),
            json[0]["matched"].as_u64(),
            json[0]["cut"].as_u64()
        ),
        (Some(10_001), Some(10_000), Some(1))
    );
    let rule = &json[0]["rules"][0];
    assert_eq!(rule["matched"], 10_000);
    assert_eq!(
        rule["matches"].as_array().unwrap().len(),
        5,
        "the first few"
    );
    assert_eq!(rule["matches"][4]["line"], 5);

    // Refusals: exit 2, a message naming what there is.
    let e = refused(&d.ctl(&["logs", "test", "--rule", "nope", "--line", SSHD_LINE]));
    assert!(
        e.contains("no log rule is named `nope`; the rules are: sshd-failed-password, "),
        "{e}"
    );
    let e = refused(&d.ctl(&["logs", "test", "--set", "nope", "--line", SSHD_LINE]));
    assert!(e.contains("no [[collect.logs]] or [[collect.journal]] is named `nope`; the sets are: auth, missing, web"), "{e}");
    let e = refused(&d.ctl(&["logs", "test", "--line", ""]));
    assert!(e.contains("the line is empty"), "{e}");
    let e = refused(&d.ctl(&["logs", "test", "--line", &"x".repeat(70_000)]));
    assert!(
        e.contains("the line is 70000 bytes; the longest line tested is 65536 bytes"),
        "{e}"
    );
    let empty = s.tmp.path().join("empty.log");
    fs::write(&empty, "").unwrap();
    let e = refused(&d.ctl(&["logs", "test", "--file", empty.to_str().unwrap()]));
    assert!(e.contains("holds no lines"), "{e}");
    let e = refused(&d.ctl(&["logs", "test", "--file", "/nonexistent/x.log"]));
    assert!(e.contains("cannot read /nonexistent/x.log"), "{e}");
    let e = refused(&d.ctl(&["logs", "test"]));
    assert!(e.contains("--line") && e.contains("--file"), "{e}");

    // Nothing recorded by testing (the connections' own logins aside).
    assert_eq!(recorded_besides_auth(d), before);
    assert!(s.daemon.stop().success());
}
