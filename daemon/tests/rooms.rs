//! The daemon's rooms and the one-way arrows between them
//! (docs/architecture.md): a file may name another room only if the
//! arrow is allowed, and so no import circle crosses a room.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each room and the rooms it may use. Anything not listed may not be used.
const ARROWS: &[(&str, &[&str])] = &[
    ("sys", &[]),
    ("config", &[]),
    ("access", &["config"]),
    ("secrets", &["config", "sys"]),
    ("state", &["access", "config", "secrets", "sys"]),
    ("intake", &["state", "config", "sys", "access"]),
    ("notifier", &["state", "config", "secrets"]),
    ("retention", &["state", "config"]),
    ("forward", &["state", "config"]),
    (
        "doctor",
        &["state", "config", "secrets", "sys", "retention"],
    ),
    (
        "control",
        &[
            "state",
            "config",
            "access",
            "secrets",
            "intake",
            "doctor",
            "sys",
            "retention",
        ],
    ),
    (
        "app",
        &[
            "state",
            "config",
            "access",
            "secrets",
            "intake",
            "notifier",
            "doctor",
            "control",
            "sys",
            "retention",
            "forward",
        ],
    ),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a source file, without its trailing `mod tests`.
fn code(text: &str) -> &str {
    text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text)
}

/// The leading identifier of `text`.
fn ident(text: &str) -> String {
    text.trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The rooms a file's code names with `crate::ROOM` or `crate::{ROOM, ..}`;
/// `main` for an item of the crate root (`crate::Item`).
fn rooms_named(text: &str) -> BTreeSet<String> {
    let code = code(text);
    let mut named = BTreeSet::new();
    let mut add = |name: String| {
        if name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
            named.insert("main".to_string());
        } else if !name.is_empty() && name != "self" {
            named.insert(name);
        }
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            add(ident(rest));
            continue;
        };
        // The top-level items of the group: `{a::X, b::{Y, Z}}` names a, b.
        let (mut depth, mut start) = (0usize, 0usize);
        for (j, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    add(ident(&group[start..j]));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    add(ident(&group[start..j]));
                    start = j + 1;
                }
                _ => {}
            }
        }
    }
    named
}

/// Paths that leave a room without naming it (`super::super::`, or
/// `super::` in a room's own `mod.rs`, which is the crate root), and
/// macros that cross rooms without a path.
fn hidden_ways_out(text: &str, is_room_root: bool) -> Vec<&'static str> {
    let code = code(text);
    let mut found = Vec::new();
    if code.contains("super::super") {
        found.push("`super::super`");
    }
    if is_room_root && code.contains("super::") {
        found.push("`super::` in a room's mod.rs (the crate root)");
    }
    if code.contains("#[macro_use]") || code.contains("#[macro_export]") {
        found.push("a macro exported across rooms");
    }
    found
}

#[test]
fn every_room_uses_only_the_rooms_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, &[&str]> = ARROWS.iter().copied().collect();
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    let mut rooms_seen = BTreeSet::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        if rel.components().count() == 1 {
            // The binary's edge, above every room; nothing else lives there.
            if rel != Path::new("main.rs") {
                wrong.push(format!("{}: a file outside every room", rel.display()));
            }
            continue;
        }
        let room = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        rooms_seen.insert(room.to_string());
        let Some(may) = allowed.get(room) else {
            wrong.push(format!("{}: room `{room}` is not in ARROWS", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let is_room_root = rel.components().count() == 2 && rel.ends_with("mod.rs");
        for way in hidden_ways_out(&text, is_room_root) {
            wrong.push(format!("{}: {way}", rel.display()));
        }
        for named in rooms_named(&text) {
            if named != room && !may.contains(&named.as_str()) {
                wrong.push(format!("{}: `{room}` may not use `{named}`", rel.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "arrows against the layout:\n{}",
        wrong.join("\n")
    );
    // The list describes the tree: no room listed that is gone.
    for (room, _) in ARROWS {
        assert!(
            rooms_seen.contains(*room),
            "ARROWS names `{room}`, which has no files"
        );
    }
}

#[test]
fn the_arrows_have_no_circle() {
    // Depth-first: a room reachable from itself would be a circle.
    let allowed: BTreeMap<&str, &[&str]> = ARROWS.iter().copied().collect();
    fn reaches(from: &str, to: &str, allowed: &BTreeMap<&str, &[&str]>, depth: usize) -> bool {
        depth < 32
            && allowed[from]
                .iter()
                .any(|n| *n == to || reaches(n, to, allowed, depth + 1))
    }
    for (room, _) in ARROWS {
        assert!(!reaches(room, room, &allowed, 0), "`{room}` reaches itself");
    }
}

#[test]
fn a_file_naming_a_room_above_it_is_caught() {
    let named = rooms_named(
        "use crate::state::Shared;\nfn f() { crate::app::tasks::x(); }\n\
         use crate::{notifier::Command, control::{a, b}};\nuse crate::Args;\n\
         #[cfg(test)]\nmod tests { use crate::doctor; }",
    );
    let expected: BTreeSet<String> = ["app", "control", "main", "notifier", "state"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(named, expected);
    assert_eq!(hidden_ways_out("use super::super::app::x;", false).len(), 1);
    assert_eq!(hidden_ways_out("use super::app::x;", true).len(), 1);
    assert!(hidden_ways_out("use super::conn::Conn;", false).is_empty());
}
