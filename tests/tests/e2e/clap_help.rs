//! The help of both binaries, as snapshots (in `ctl_output/`): `vigild
//! --help`, and `vigilctl --help` with every subcommand's, walked from the
//! "Commands:" sections. A changed flag, default or description is a
//! reviewed diff. `vigild`'s `Args` live in its binary, so its help is
//! also checked here the way `ctl/tests/cli_tree.rs` checks vigilctl's.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use vigil_tests::bin;

fn help(program: &str, args: &[&str]) -> String {
    let out = Command::new(bin(program)).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} exited {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "{program} {args:?} wrote to stderr");
    String::from_utf8(out.stdout).unwrap()
}

/// `program PATH --help` for `path` and every subcommand under it, depth
/// first in the order the help lists them.
fn tree(program: &str, path: &mut Vec<String>, text: &mut String) {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let page = help(program, &args);
    text.push_str(&format!("$ {program} {}\n{page}\n", args.join(" ")));
    let subs: Vec<String> = page
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.len() - l.trim_start().len() == 2)
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    for sub in subs {
        path.push(sub);
        tree(program, path, text);
        path.pop();
    }
}

fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("ctl_output");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.add_filter(
        &format!(r"\b{}\b", env!("CARGO_PKG_VERSION").replace('.', r"\.")),
        "[VERSION]",
    );
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn vigilctl_help_tree() {
    let mut text = String::new();
    tree("vigilctl", &mut Vec::new(), &mut text);
    snapshot("vigilctl_help", &text);
}

#[test]
fn vigild_help() {
    let text = help("vigild", &["--help"]);
    let about = text.lines().next().unwrap_or_default();
    assert!(
        !about.trim().is_empty() && !about.starts_with("Usage:"),
        "{text}"
    );
    assert!(text.contains("Usage: vigild"), "{text}");
    // Every option has a description (on its line or the next).
    let options: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "Options:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert!(options.iter().any(|l| l.contains("-h, --help")), "{text}");
    for (i, line) in options.iter().enumerate() {
        let trimmed = line.trim_start();
        if !trimmed.starts_with('-') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let on_line = trimmed
            .split_once("  ")
            .is_some_and(|(_, rest)| !rest.trim().is_empty());
        let below = options.get(i + 1).is_some_and(|next| {
            let t = next.trim_start();
            next.len() - t.len() > indent && !t.starts_with('-')
        });
        assert!(on_line || below, "no description: {line:?}\n{text}");
    }
    assert_eq!(help("vigild", &["-h"]).lines().next(), Some(about));
    let version = help("vigild", &["--version"]);
    assert_eq!(
        version.trim(),
        format!("vigild {}", env!("CARGO_PKG_VERSION"))
    );
    snapshot("vigild_help", &format!("$ vigild --help\n{text}"));
}
