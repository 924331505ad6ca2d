//! Operator patterns: custom kinds, and the ones refused.

use std::borrow::Cow;

use super::super::{RedactError, Redactor};

fn pair(kind: &str, regex: &str) -> (String, String) {
    (kind.to_string(), regex.to_string())
}

fn refused(kind: &str, regex: &str) -> String {
    match Redactor::new(&[pair(kind, regex)]) {
        Ok(_) => panic!("accepted {kind} = {regex:?}"),
        Err(RedactError::BadPattern {
            kind: named,
            reason,
        }) => {
            assert_eq!(named, kind, "the error names the pattern");
            reason
        }
    }
}

#[test]
fn redact_operator_kind_works() {
    let r = Redactor::new(&[
        pair("employee_id", r"\bEMP-[0-9]{6}\b"),
        pair("internal_ticket", r"ticket #(?P<secret>[0-9]{4,})"),
    ])
    .expect("valid patterns");
    assert_eq!(
        r.redact("badge EMP-123456 opened ticket #98765 today"),
        "badge [REDACTED:employee_id] opened ticket #[REDACTED:internal_ticket] today"
    );
    // Built-ins still apply.
    assert_eq!(r.redact("password=x"), "password=[REDACTED:password]");
    assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
    let kinds = r.kinds();
    assert!(kinds.contains(&"employee_id") && kinds.contains(&"internal_ticket"));
    assert!(kinds.contains(&"jwt"));
    // Idempotent on operator kinds too.
    let once = r.redact("EMP-123456").into_owned();
    assert_eq!(r.redact(&once), once);
}

#[test]
fn redact_operator_may_reuse_a_kind() {
    let r = Redactor::new(&[pair("password", r"\bpin (?P<secret>[0-9]{4})\b")]).expect("valid");
    assert_eq!(
        r.redact("pin 1234 entered"),
        "pin [REDACTED:password] entered"
    );
    assert_eq!(r.kinds().iter().filter(|k| **k == "password").count(), 1);
}

#[test]
fn redact_operator_bad_regex_names_the_kind() {
    let reason = refused("broken", r"(unclosed");
    assert!(!reason.is_empty());
    let err = Redactor::new(&[pair("fine", "abc"), pair("broken", "[z-a]")]).expect_err("refused");
    assert!(
        err.to_string().starts_with("redaction pattern `broken`: "),
        "{err}"
    );
}

#[test]
fn redact_operator_bad_kind_is_refused() {
    for kind in [
        "",
        "Upper",
        "with-dash",
        "space d",
        "ünï",
        "[x]",
        &"k".repeat(33),
    ] {
        refused(kind, "abc");
    }
    assert!(Redactor::new(&[pair(&"k".repeat(32), "abc")]).is_ok());
}

#[test]
fn redact_operator_huge_regex_hits_the_size_limit() {
    let reason = refused("huge", "a{100000}{100000}");
    assert!(reason.contains("size limit"), "{reason}");
    let reason = refused("wide", r"\w{1000}");
    assert!(reason.contains("size limit"), "{reason}");
}

#[test]
fn redact_operator_empty_match_is_refused() {
    refused("empty", "a*");
    refused("anchor", "^");
}

#[test]
fn redact_new_without_extras_is_the_default() {
    let r = Redactor::new(&[]).expect("the built-ins compile");
    assert_eq!(r.kinds(), Redactor::default().kinds());
}
