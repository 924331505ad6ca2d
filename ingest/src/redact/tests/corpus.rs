//! The canary corpus, the survivors, idempotence and exact outputs.

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::super::patterns::BUILTINS;
use super::{
    CANARIES, PRIVATE_KEYS, SURVIVORS, assert_no_secret, canaries, canary_values, fixture_lines,
    redactor,
};

#[test]
fn redact_canaries_lose_their_secret_and_name_their_kind() {
    let r = redactor();
    let lines = canaries();
    assert!(lines.len() >= 40, "the corpus shrank: {}", lines.len());
    for (kind, text) in lines {
        assert!(text.contains("CANARY"), "canary without CANARY: {text}");
        let out = r.redact(text);
        assert_no_secret(text, &out);
        let expected = format!("[REDACTED:{kind}]");
        assert!(
            out.contains(&expected),
            "expected {expected}:\n  in:  {text}\n  out: {out}"
        );
    }
}

#[test]
fn redact_canaries_cover_every_builtin_kind() {
    let covered: BTreeSet<&str> = canaries().into_iter().map(|(kind, _)| kind).collect();
    for builtin in BUILTINS {
        assert!(
            covered.contains(builtin.kind),
            "no canary of kind {}",
            builtin.kind
        );
    }
    let r = redactor();
    let kinds = r.kinds();
    for kind in &covered {
        assert!(
            kinds.contains(kind),
            "canaries.txt names unknown kind {kind}"
        );
    }
}

#[test]
fn redact_canary_values_are_in_the_corpus() {
    let values = canary_values();
    assert!(values.len() >= 40);
    for value in values {
        assert!(value.contains("CANARY"), "value without CANARY: {value}");
        assert!(
            CANARIES.contains(value) || PRIVATE_KEYS.contains(value),
            "canary_values.txt: {value:?} is in no fixture"
        );
    }
}

#[test]
fn redact_private_keys_across_lines() {
    let out = redactor().redact(PRIVATE_KEYS);
    assert_no_secret(PRIVATE_KEYS, &out);
    assert_eq!(out.matches("[REDACTED:private_key]").count(), 6, "{out}");
    assert_eq!(
        PRIVATE_KEYS.matches("-----BEGIN").count(),
        7,
        "the fixture changed: update this test"
    );
    for line in PRIVATE_KEYS.lines() {
        let keep = line.starts_with("context")
            || line.contains("CERTIFICATE")
            || line.contains("certificateIsPublic")
            || line.starts_with("-----BEGIN")
            || line.starts_with("-----END");
        if keep {
            assert!(out.contains(line), "lost {line:?}:\n{out}");
        }
    }
    // An unterminated key runs to the end of the text.
    assert!(
        out.ends_with("-----BEGIN PRIVATE KEY-----\n[REDACTED:private_key]\n"),
        "{out}"
    );
}

#[test]
fn redact_survivors_are_unchanged_and_borrowed() {
    let r = redactor();
    let mut n = 0;
    for line in fixture_lines(SURVIVORS) {
        let out = r.redact(line);
        assert_eq!(out, line, "changed a survivor");
        assert!(matches!(out, Cow::Borrowed(_)), "copied a survivor: {line}");
        n += 1;
    }
    assert!(n >= 30, "the survivors shrank: {n}");
    // All at once, too.
    assert!(matches!(r.redact(SURVIVORS), Cow::Borrowed(_)));
}

#[test]
fn redact_is_idempotent() {
    let r = redactor();
    let mut inputs: Vec<String> = canaries().into_iter().map(|(_, t)| t.to_string()).collect();
    inputs.push(PRIVATE_KEYS.to_string());
    inputs.push(CANARIES.to_string());
    for input in inputs {
        let once = r.redact(&input).into_owned();
        let twice = r.redact(&once);
        assert_eq!(twice, once, "not idempotent on {input}");
        assert!(matches!(twice, Cow::Borrowed(_)), "re-redacted {once}");
    }
}

#[test]
fn redact_no_match_borrows() {
    let r = redactor();
    for text in [
        "",
        "all good",
        "a long line without secrets ".repeat(1000).as_str(),
        "[REDACTED:token]",
    ] {
        assert!(matches!(r.redact(text), Cow::Borrowed(_)), "{text}");
    }
}

#[test]
fn redact_keeps_context() {
    let r = redactor();
    for (input, expected) in [
        ("password=hunter2", "password=[REDACTED:password]"),
        (
            "password = \"a b c\" next",
            "password = \"[REDACTED:password]\" next",
        ),
        (
            "db_password: 's3cr3t' ok",
            "db_password: '[REDACTED:password]' ok",
        ),
        (
            "postgres://app:pw@db:5432/x",
            "postgres://[REDACTED:url_credentials]@db:5432/x",
        ),
        (
            "https://u:p@ss@host/path?q=1",
            "https://[REDACTED:url_credentials]@host/path?q=1",
        ),
        (
            "Authorization: Bearer abcdef",
            "Authorization: Bearer [REDACTED:authorization]",
        ),
        (
            "authorization=Basic dXNlcjpwYXNz",
            "authorization=Basic [REDACTED:authorization]",
        ),
        (
            "see https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX now",
            "see https://hooks.slack.com/services/[REDACTED:slack_webhook] now",
        ),
        (
            "?a=1&access_token=abc&b=2",
            "?a=1&access_token=[REDACTED:token]&b=2",
        ),
        (
            "{\"password\":\"x\",\"user\":\"bob\"}",
            "{\"password\":\"[REDACTED:password]\",\"user\":\"bob\"}",
        ),
        (
            "{\\\"password\\\":\\\"x\\\",\\\"user\\\":\\\"bob\\\"}",
            "{\\\"password\\\":\\\"[REDACTED:password]\\\",\\\"user\\\":\\\"bob\\\"}",
        ),
        (
            "Cookie: a=b; c=d\nnext line",
            "Cookie: [REDACTED:cookie]\nnext line",
        ),
        (
            "AKIAABCDEFGHIJKLMNOP and AKIAABCDEFGHIJKLMNOQ",
            "[REDACTED:aws_access_key] and [REDACTED:aws_access_key]",
        ),
        (
            "GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345",
            "GITHUB_TOKEN=[REDACTED:github_token]",
        ),
        ("pwd=abc PWD=/root", "pwd=[REDACTED:password] PWD=/root"),
        ("é password=ü€ é", "é password=[REDACTED:password] é"),
        (
            "db:\n  password: |\n    CANARY yaml\n  user: bob\n",
            "db:\n  password: |\n    [REDACTED:password]\n  user: bob\n",
        ),
        (
            "stringData:\n  api_token: >-\n    CANARYfolded\n",
            "stringData:\n  api_token: >-\n    [REDACTED:token]\n",
        ),
        (
            "Authorization: Digest username=\"bob\", response=\"6629fae4\"\nnext",
            "Authorization: Digest [REDACTED:authorization]\nnext",
        ),
    ] {
        assert_eq!(r.redact(input), expected, "input {input:?}");
    }
}
