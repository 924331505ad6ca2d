//! Tests of the redactor, most driven by `tests/fixtures/redaction/`.

mod corpus;
mod operators;
mod robustness;
mod structured;

use super::Redactor;

/// `tests/fixtures/redaction/canaries.txt`.
const CANARIES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/redaction/canaries.txt"
));
/// `tests/fixtures/redaction/canary_values.txt`.
const CANARY_VALUES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/redaction/canary_values.txt"
));
/// `tests/fixtures/redaction/survivors.txt`.
const SURVIVORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/redaction/survivors.txt"
));
/// `tests/fixtures/redaction/private_key.txt`.
const PRIVATE_KEYS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/redaction/private_key.txt"
));

/// The lines of a fixture that are neither blank nor comments.
fn fixture_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
}

/// `(kind, text)` of every canary.
fn canaries() -> Vec<(&'static str, &'static str)> {
    fixture_lines(CANARIES)
        .map(|line| {
            line.split_once('\t')
                .unwrap_or_else(|| panic!("canaries.txt: no tab in {line:?}"))
        })
        .collect()
}

/// Every exact secret value.
fn canary_values() -> Vec<&'static str> {
    fixture_lines(CANARY_VALUES).collect()
}

/// Panics if `out` still holds a secret.
fn assert_no_secret(input: &str, out: &str) {
    assert!(
        !out.contains("CANARY"),
        "a canary survived:\n  in:  {input}\n  out: {out}"
    );
    for value in canary_values() {
        assert!(
            !out.contains(value),
            "secret {value:?} survived:\n  in:  {input}\n  out: {out}"
        );
    }
}

fn redactor() -> Redactor {
    Redactor::default()
}
