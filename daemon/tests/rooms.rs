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
    ("state", &["access", "config", "secrets"]),
    ("intake", &["state", "config", "sys", "access"]),
    ("notifier", &["state", "config", "secrets"]),
    ("doctor", &["state", "config", "secrets", "sys"]),
    (
        "control",
        &[
            "state", "config", "access", "secrets", "intake", "doctor", "sys",
        ],
    ),
    (
        "app",
        &[
            "state", "config", "access", "secrets", "intake", "notifier", "doctor", "control",
            "sys",
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

/// The rooms a source file names with `crate::ROOM`, outside its tests.
fn rooms_named(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap();
    let mut named = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let room: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !room.is_empty() {
            named.insert(room);
        }
    }
    named
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
        let Some(room) = rel
            .components()
            .next()
            .filter(|_| rel.components().count() > 1)
        else {
            continue; // main.rs: the binary's edge, above every room
        };
        let room = room.as_os_str().to_str().unwrap();
        rooms_seen.insert(room.to_string());
        let Some(may) = allowed.get(room) else {
            wrong.push(format!("{}: room `{room}` is not in ARROWS", rel.display()));
            continue;
        };
        for named in rooms_named(&std::fs::read_to_string(file).unwrap()) {
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
        "use crate::state::Shared;\nfn f() { crate::app::tasks::x(); }\n#[cfg(test)]\nmod tests { use crate::control; }",
    );
    assert_eq!(
        named,
        ["app", "state"].into_iter().map(String::from).collect()
    );
}
