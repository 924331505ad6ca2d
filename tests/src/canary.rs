//! The redaction canary corpus (`tests/fixtures/redaction/`, the one the
//! redactor's own tests use), for end-to-end tests that send it through a
//! way text enters Vigil and then look for it everywhere it could be kept:
//! the state directory's files, the daemon's log, `vigilctl` output.
//!
//! Every secret in the corpus contains `CANARY`, so that one word found
//! anywhere is a leak; each exact value of `canary_values.txt` is looked
//! for too, so a failure names the secret that survived.

use std::path::{Path, PathBuf};

/// `canaries.txt`: `<kind>\t<text>` per line.
const CANARIES: &str = include_str!("../fixtures/redaction/canaries.txt");
/// `canary_values.txt`: one exact secret per line.
const CANARY_VALUES: &str = include_str!("../fixtures/redaction/canary_values.txt");
/// `private_key.txt`: one multi-line document with several private keys.
pub const PRIVATE_KEYS: &str = include_str!("../fixtures/redaction/private_key.txt");

/// The word every canary holds.
pub const CANARY: &str = "CANARY";

fn fixture_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
}

/// The text of every canary line (a secret in realistic context), in
/// corpus order.
pub fn lines() -> Vec<&'static str> {
    let lines: Vec<&str> = fixture_lines(CANARIES)
        .map(|line| {
            line.split_once('\t')
                .unwrap_or_else(|| panic!("canaries.txt: no tab in {line:?}"))
                .1
        })
        .collect();
    assert!(lines.len() >= 40, "the corpus shrank: {}", lines.len());
    lines
}

/// Every exact secret value.
pub fn values() -> Vec<&'static str> {
    fixture_lines(CANARY_VALUES).collect()
}

/// What to look for: `CANARY` first, then every exact value.
fn needles() -> Vec<&'static str> {
    let mut needles = vec![CANARY];
    needles.extend(values());
    needles
}

/// Every canary found in `texts` (each `(where, text)`), as
/// `where: …context…` lines.
pub fn leaks_in(texts: &[(&str, &str)]) -> Vec<String> {
    let mut found = Vec::new();
    for (place, text) in texts {
        for needle in needles() {
            if let Some(at) = text.find(needle) {
                let mut from = at.saturating_sub(60);
                while !text.is_char_boundary(from) {
                    from -= 1;
                }
                let mut to = (at + needle.len() + 20).min(text.len());
                while !text.is_char_boundary(to) {
                    to += 1;
                }
                found.push(format!("{place}: {needle:?} in …{}…", &text[from..to]));
                break;
            }
        }
    }
    found
}

/// Every file under `dir` (but not under any of `skip`) that holds a
/// canary, with the canary.
pub fn leaks_on_disk(dir: &Path, skip: &[PathBuf]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if skip.iter().any(|s| path.starts_with(s)) {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && let Some(needle) = needles()
                    .into_iter()
                    .find(|n| bytes.windows(n.len()).any(|w| w == n.as_bytes()))
            {
                found.push(format!("{}: {needle:?}", path.display()));
            }
        }
    }
    found
}

/// Which of `needles` no file under `dir` holds: a test shows with it
/// that the files it searches are the ones the text went to.
///
/// The store's journal keeps values under 4 KiB as they are and
/// compresses larger ones (fjall's default), so a test that searches the
/// files keeps each event it stores under that size.
pub fn missing_on_disk(dir: &Path, needles: &[String]) -> Vec<String> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                files.push(bytes);
            }
        }
    }
    needles
        .iter()
        .filter(|n| {
            !files
                .iter()
                .any(|f| f.windows(n.len()).any(|w| w == n.as_bytes()))
        })
        .cloned()
        .collect()
}

/// Panics listing every canary found on disk under `dir` (outside `skip`)
/// or in `texts`.
pub fn assert_no_leak(dir: &Path, skip: &[PathBuf], texts: &[(&str, &str)]) {
    let mut found = leaks_on_disk(dir, skip);
    found.extend(leaks_in(texts));
    assert!(
        found.is_empty(),
        "{} canaries survived:\n{}",
        found.len(),
        found.join("\n")
    );
}
