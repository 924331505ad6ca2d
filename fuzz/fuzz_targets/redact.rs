//! The redactor (`vigil_ingest::redact`), built-in patterns.
//!
//! Input: one byte choosing a canary of `tests/fixtures/redaction/`, one
//! byte choosing where it goes, then the text (UTF-8, lossily).
//!
//! Checked:
//! * redaction is idempotent, and redacted text is returned borrowed the
//!   second time (markers are never matched again);
//! * a canary secret on its own line, anywhere in the text, never
//!   survives, whatever surrounds it;
//! * text that parses as JSON: `redact_json` is idempotent, keeps every
//!   node (keys that redact alike are renamed, not merged), and no canary
//!   placed beside it, or under a secret-named key, survives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::sync::LazyLock;
use vigil_ingest::redact::Redactor;

const CANARIES: &str = include_str!("../../tests/fixtures/redaction/canaries.txt");
const CANARY_VALUES: &str = include_str!("../../tests/fixtures/redaction/canary_values.txt");
const PRIVATE_KEYS: &str = include_str!("../../tests/fixtures/redaction/private_key.txt");

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
}

/// Each canary's text (the private keys' document as one).
static SECRETS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    lines(CANARIES)
        .filter_map(|line| line.split_once('\t').map(|(_, text)| text))
        .chain([PRIVATE_KEYS])
        .collect()
});
static VALUES: LazyLock<Vec<&'static str>> = LazyLock::new(|| lines(CANARY_VALUES).collect());
static REDACTOR: LazyLock<Redactor> = LazyLock::new(Redactor::default);

/// The canary values `secret` holds that `context` does not.
fn planted<'a>(secret: &str, context: &str) -> Vec<&'a str> {
    VALUES
        .iter()
        .copied()
        .filter(|v| secret.contains(v) && !context.contains(v))
        .collect()
}

fn nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(nodes).sum(),
        Value::Object(map) => map.values().map(nodes).sum(),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let [which, at, rest @ ..] = data else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let r = &*REDACTOR;

    let once = r.redact(&text);
    if let Cow::Borrowed(same) = &once {
        assert_eq!(*same, &*text);
    }
    let twice = r.redact(&once);
    assert!(
        matches!(twice, Cow::Borrowed(_)),
        "not idempotent:\n in:    {text:?}\n once:  {once:?}\n twice: {twice:?}"
    );

    // A canary on its own line, at a character boundary chosen by `at`.
    let secret = SECRETS[usize::from(*which) % SECRETS.len()];
    let mut cut = text.len() * usize::from(*at) / 255;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let (before, after) = text.split_at(cut);
    let with = format!("{before}\n{secret}\n{after}");
    let out = r.redact(&with);
    for value in planted(secret, &text) {
        assert!(
            !out.contains(value),
            "canary {value:?} survived:\n in:  {with:?}\n out: {out:?}"
        );
    }

    if let Ok(value) = serde_json::from_str::<Value>(&text) {
        let mut once = value.clone();
        r.redact_json(&mut once);
        assert_eq!(nodes(&once), nodes(&value), "redact_json lost a node");
        let mut twice = once.clone();
        r.redact_json(&mut twice);
        assert_eq!(once, twice, "redact_json is not idempotent");

        let mut beside = json!([value, secret, {"password": "CANARYjsonPassw0rd"}]);
        r.redact_json(&mut beside);
        let out = beside.to_string();
        // The context as the fuzzer wrote it and as its escapes decode.
        let context = format!("{text}{value}");
        let mut values = planted(secret, &context);
        if !context.contains("CANARYjsonPassw0rd") {
            values.push("CANARYjsonPassw0rd");
        }
        for value in values {
            assert!(
                !out.contains(value),
                "canary {value:?} survived in JSON: {out}"
            );
        }
    }
});
