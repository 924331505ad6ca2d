//! docs/security.md keeps its promises: every test its threat table names
//! exists, and `doctor` reports every item of its hardening checklist on a
//! deliberately loose deployment.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use vigil_tests::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .into()
}

/// The text of `doc` between the heading `from` and the next heading of
/// the same or a higher level.
fn section(doc: &str, from: &str) -> String {
    let start = doc
        .find(from)
        .unwrap_or_else(|| panic!("no `{from}` in docs/security.md"));
    let level = from.chars().take_while(|&c| c == '#').count();
    let rest = &doc[start + from.len()..];
    let end = rest
        .lines()
        .scan(0, |at, line| {
            let here = *at;
            *at += line.len() + 1;
            Some((here, line))
        })
        .find(|(_, line)| {
            let hashes = line.chars().take_while(|&c| c == '#').count();
            hashes > 0 && hashes <= level
        })
        .map_or(rest.len(), |(at, _)| at);
    rest[..end].to_string()
}

/// Backticked spans of `text`.
fn code_spans(text: &str) -> Vec<String> {
    text.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
}

fn security_doc() -> String {
    std::fs::read_to_string(repo().join("docs/security.md")).unwrap()
}

#[test]
fn every_test_the_threat_table_names_exists() {
    let table = section(
        &security_doc(),
        "### Threats, controls and the tests that prove them",
    );
    let mut named = 0;
    for span in code_spans(&table) {
        let Some((file, test)) = span.split_once("::") else {
            continue;
        };
        if !file.ends_with(".rs") {
            continue;
        }
        let source = std::fs::read_to_string(repo().join(file))
            .unwrap_or_else(|e| panic!("{file}, named in the threat table: {e}"));
        assert!(
            source.contains(&format!("fn {test}(")),
            "{file} has no test {test}, which the threat table names"
        );
        named += 1;
    }
    assert!(
        named >= 30,
        "only {named} tests named: the table was not parsed"
    );
}

/// The checks named in the hardening checklist, in order.
fn checklist() -> Vec<String> {
    let list = section(&security_doc(), "### Hardening checklist");
    list.lines()
        .filter(|l| l.starts_with("| ") && l.trim_end().ends_with("` |"))
        .map(|l| {
            let last = l
                .trim_end()
                .trim_end_matches('|')
                .rsplit('|')
                .next()
                .unwrap();
            last.trim().trim_matches('`').to_string()
        })
        .collect()
}

#[test]
fn doctor_reports_every_item_of_the_hardening_checklist_on_a_loose_deployment() {
    let items = checklist();
    assert!(items.len() >= 15, "checklist not parsed: {items:?}");
    let tmp = shared_tempdir();
    let run = open_dir(tmp.path(), "run");
    let (state, socket, config) = (
        tmp.path().join("state"),
        run.join("control.sock"),
        tmp.path().join("vigil.toml"),
    );
    std::fs::write(
        &config,
        format!(
            r#"[daemon]
state_dir = "{state}"
socket = "{socket}"
socket_mode = "0666"

[http]
listen = "0.0.0.0:0"
insecure_plaintext = true

[sources.gh]
driver = "github"
secret = "an-inline-signing-secret"
store_raw = true

[sources.std]
driver = "generic"
secret = "env:VIGIL_TEST_UNSET_SECRET"
tolerance = "1h"

[sources.open]
driver = "generic"
verify = "none"

[notify]
allow = ["10.0.0.0/8", "127.0.0.1"]

[notify.route]
receiver = "hook"

[[notify.receivers]]
name = "hook"

[[notify.receivers.webhook_configs]]
url = "http://127.0.0.1:9/hook"
sign = false
"#,
            state = state.display(),
            socket = socket.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o666)).unwrap();
    let daemon = Daemon::with_config(&config, &socket, &state);
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o750)).unwrap();

    let out = daemon.ctl(&["--json", "doctor"]);
    let findings = json_lines(&String::from_utf8_lossy(&out.stdout));
    let flagged: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f["severity"] != "ok")
        .filter_map(|f| f["check"].as_str())
        .collect();
    let reported: BTreeSet<&str> = findings
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    // A healthy writer, a store never truncated and a chain verified at
    // start are what this deployment has: those checks speak only when
    // something is wrong, which other tests bring about.
    let healthy_here = ["verify", "store", "truncation"];
    let doctor_source: String = ["mod.rs", "secrets.rs", "notify.rs", "retention.rs"]
        .iter()
        .map(|f| std::fs::read_to_string(repo().join("daemon/src/doctor").join(f)).unwrap())
        .collect();
    for item in &items {
        if healthy_here.contains(&item.as_str()) {
            assert!(
                doctor_source.contains(&format!("\"{item}\"")),
                "doctor has no check {item}"
            );
            continue;
        }
        assert!(
            flagged.contains(item.as_str()),
            "the loose deployment's {item} was not flagged; reported: {reported:?}\n{findings:#?}"
        );
    }
    assert!(reported.contains("verify"), "{reported:?}");
    assert_eq!(out.status.code(), Some(1), "error findings fail the check");
    drop(daemon);
}
