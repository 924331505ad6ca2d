//! Walks `vigilctl`'s whole command tree through its help, as a stand-in
//! for `clap::Command::debug_assert()` (the `Cli` definition lives in the
//! binary, out of a test's reach): every command and subcommand renders its
//! help and exits 0, says what it does, names its usage, describes every
//! subcommand, argument and option it lists, and `vigilctl help PATH` says
//! the same as `vigilctl PATH --help`.

#![allow(clippy::unwrap_used)]

use std::process::Command;

const VIGILCTL: &str = env!("CARGO_BIN_EXE_vigilctl");

fn help(args: &[&str]) -> String {
    let out = Command::new(VIGILCTL).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "vigilctl {args:?} exited {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "vigilctl {args:?} wrote to stderr");
    String::from_utf8(out.stdout).unwrap()
}

/// The lines of the section headed `title` (up to the next blank line).
fn section<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| *l != title)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

/// Checks that every entry of a section (a line starting two spaces in) has
/// a description: on its line after two or more spaces, or on the lines
/// below it, indented further.
fn described(path: &str, title: &str, lines: &[&str]) {
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let is_entry = match title {
            "Options:" => trimmed.starts_with('-'),
            _ => indent == 2,
        };
        if !is_entry {
            continue;
        }
        let on_line = trimmed
            .split_once("  ")
            .is_some_and(|(_, rest)| !rest.trim().is_empty());
        let below = lines.get(i + 1).is_some_and(|next| {
            let t = next.trim_start();
            next.len() - t.len() > indent && !t.starts_with('-') && !t.is_empty()
        });
        assert!(
            on_line || below,
            "`vigilctl {path} --help`: {title} entry without a description: {line:?}"
        );
    }
}

/// Checks the help of `path` and returns its subcommands.
fn check(path: &[&str]) -> Vec<String> {
    let shown = path.join(" ");
    let mut args: Vec<&str> = path.to_vec();
    args.push("--help");
    let text = help(&args);
    let about = text.lines().next().unwrap_or_default();
    assert!(
        !about.trim().is_empty() && !about.starts_with("Usage:"),
        "`vigilctl {shown} --help` does not say what it does:\n{text}"
    );
    let usage = if shown.is_empty() {
        "Usage: vigilctl".to_string()
    } else {
        format!("Usage: vigilctl {shown}")
    };
    assert!(text.contains(&usage), "no `{usage}` in:\n{text}");
    let options = section(&text, "Options:");
    assert!(
        options.iter().any(|l| l.contains("-h, --help")),
        "`vigilctl {shown} --help` lists no --help:\n{text}"
    );
    for flag in ["--socket", "--json", "--version"] {
        assert!(
            options.iter().any(|l| l.contains(flag)),
            "`vigilctl {shown} --help` lists no {flag} (global):\n{text}"
        );
    }
    for title in ["Commands:", "Arguments:", "Options:"] {
        described(&shown, title, &section(&text, title));
    }
    let mut with_help = vec!["help"];
    with_help.extend_from_slice(path);
    assert_eq!(
        help(&with_help),
        text,
        "`vigilctl help {shown}` differs from `vigilctl {shown} --help`"
    );
    section(&text, "Commands:")
        .iter()
        .filter(|l| l.len() - l.trim_start().len() == 2)
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Every command path. The tree is the product's surface: a command that
/// appears or disappears is a decision, so the list is spelled out.
const COMMANDS: [&str; 54] = [
    "",
    "deliveries",
    "deliveries list",
    "doctor",
    "emit",
    "erase",
    "events",
    "events list",
    "events show",
    "events tail",
    "export",
    "files",
    "files list",
    "files scan",
    "files show",
    "fleet",
    "fleet status",
    "fleet verify",
    "forward",
    "forward status",
    "import",
    "import alertmanager",
    "incidents",
    "incidents ack",
    "incidents list",
    "incidents note",
    "incidents resolve",
    "incidents show",
    "keys",
    "keys create",
    "keys list",
    "keys revoke",
    "logins",
    "logs",
    "logs list",
    "logs test",
    "notify",
    "notify test",
    "reload",
    "retention",
    "retention run",
    "retention status",
    "secrets",
    "secrets delete",
    "secrets list",
    "secrets rewrap",
    "secrets rotate",
    "secrets set",
    "silences",
    "silences add",
    "silences expire",
    "silences list",
    "status",
    "verify",
];

#[test]
fn every_command_has_a_complete_help() {
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = Vec::new();
    while let Some(path) = queue.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        for sub in check(&args) {
            let mut next = path.clone();
            next.push(sub);
            queue.push(next);
        }
        seen.push(path.join(" "));
    }
    seen.sort();
    assert_eq!(seen, COMMANDS);
}

#[test]
fn every_command_takes_the_global_flags_and_version() {
    let out = Command::new(VIGILCTL).arg("--version").output().unwrap();
    assert!(out.status.success());
    let version = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        version.trim(),
        format!("vigilctl {}", env!("CARGO_PKG_VERSION"))
    );
    // A usage error exits 2 (not a panic, 101) and points at the help.
    for args in [
        vec!["status", "--bogus"],
        vec!["events", "list", "--limit", "x"],
        vec!["events", "list", "--limit", "1", "--all"],
        vec!["keys"],
        vec!["verify", "--offline"],
        vec!["silences", "add", "--duration", "1h", "--comment", "c"],
    ] {
        let out = Command::new(VIGILCTL).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("Usage: vigilctl") || err.contains("try '--help'"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn every_command_has_a_manual_page_and_completions() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(VIGILCTL)
        .arg("generate")
        .arg(dir.path())
        .env("SOURCE_DATE_EPOCH", "1796601599")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut pages: Vec<String> = std::fs::read_dir(dir.path().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = COMMANDS
        .iter()
        .map(|path| match path {
            &"" => "vigilctl.1".to_string(),
            path => format!("vigilctl-{}.1", path.replace(' ', "-")),
        })
        .collect();
    expected.sort();
    // The hidden `generate` itself has no page.
    assert_eq!(pages, expected);
    let list = std::fs::read_to_string(dir.path().join("man/vigilctl-incidents-list.1")).unwrap();
    assert!(
        list.starts_with(".ie") || list.starts_with(".TH"),
        "not roff: {list}"
    );
    assert!(
        list.contains(".TH vigilctl-incidents-list 1 2026-12-06"),
        "the page's title carries the release date: {list}"
    );
    assert!(
        list.contains("\\fBvigilctl\\fR(1)"),
        "no SEE ALSO vigilctl(1)"
    );
    let top = std::fs::read_to_string(dir.path().join("man/vigilctl.1")).unwrap();
    for section in ["ENVIRONMENT", "FILES", "\"EXIT STATUS\"", "\"SEE ALSO\""] {
        assert!(
            top.contains(&format!(".SH {section}")),
            "vigilctl.1 lacks {section}"
        );
    }
    for (file, word) in [
        ("vigilctl.bash", "incidents"),
        ("_vigilctl", "incidents"),
        ("vigilctl.fish", "incidents"),
    ] {
        let text = std::fs::read_to_string(dir.path().join("completions").join(file)).unwrap();
        assert!(text.contains(word), "{file} does not complete `{word}`");
        assert!(
            !text.contains("generate"),
            "{file} offers the hidden `generate`"
        );
    }
}
