//! No panics on any input; kinds; the fail-closed engine; debug output.

use std::borrow::Cow;

use super::super::Redactor;
use super::super::engine::Engine;
use super::super::patterns::BUILTINS;
use super::redactor;

/// Fragments that stress boundaries: multi-byte characters, half-formed
/// secrets and markers, separators, newlines.
const FRAGMENTS: &[&str] = &[
    "é",
    "東京",
    "🚀",
    "\u{200d}",
    "\u{feff}",
    "ſ",
    "K",
    "\r\n",
    "\n",
    "\t",
    " ",
    "\"",
    "'",
    "\\",
    "=",
    ":",
    "@",
    "//",
    "?",
    "&",
    ";",
    ",",
    "[",
    "]",
    "[REDACTED:",
    "[REDACTED:token]",
    "[REDACTED:password",
    "REDACTED",
    "password",
    "passwd",
    "pwd",
    "token",
    "secret",
    "api_key",
    "Authorization",
    "Bearer ",
    "Basic ",
    "Cookie",
    "https://",
    "postgres://",
    "user:pass",
    "ghp_",
    "AKIA",
    "eyJ",
    "eyJhbGciOiJIUzI1NiJ9.",
    "xoxb-",
    "glpat-",
    "sk_live_",
    "AIza",
    "npm_",
    "vgl_",
    "whsec_",
    "-----BEGIN PRIVATE KEY-----",
    "-----END PRIVATE KEY-----",
    "-----BEGIN PGP PRIVATE KEY BLOCK-----",
    "0123456789abcdef",
    "ABCDEFGHIJKLMNOP",
    "abcdefghijklmnopqrstuvwxyz",
    "\u{0}",
    "\u{7f}",
    "\u{10ffff}",
];

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

#[test]
fn redact_arbitrary_text_never_panics() {
    let r = redactor();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2_000 {
        let parts = 1 + rng.below(24);
        let text: String = (0..parts)
            .map(|_| FRAGMENTS[rng.below(FRAGMENTS.len())])
            .collect();
        let once = r.redact(&text).into_owned();
        // Whatever it did, a second pass is stable.
        let twice = r.redact(&once);
        assert_eq!(twice, once, "not idempotent on {text:?}");
        let mut json = serde_json::json!({ &text: [&text, { "password": &text }] });
        r.redact_json(&mut json);
    }
}

#[test]
fn redact_multibyte_around_secrets() {
    let r = redactor();
    for (input, expected) in [
        (
            "東京password=秘密🚀 ok",
            "東京password=[REDACTED:password] ok",
        ),
        ("🚀AKIAABCDEFGHIJKLMNOP🚀", "🚀[REDACTED:aws_access_key]🚀"),
        (
            "é https://ü:ñ@hôst/ é",
            "é https://[REDACTED:url_credentials]@hôst/ é",
        ),
        (
            "«Bearer abcdefghijklmnop0123»",
            "«Bearer [REDACTED:authorization]»",
        ),
    ] {
        assert_eq!(r.redact(input), expected, "input {input:?}");
    }
    // Truncated and odd inputs: no panic, no secret kept where one is whole.
    for input in [
        "password=",
        "password=\"",
        "password='",
        "-----BEGIN PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----é",
        "https://:@",
        "[REDACTED:",
        "[REDACTED:]",
        "[REDACTED:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]",
        "\\",
        "\u{0}password\u{0}=\u{0}",
    ] {
        let _ = r.redact(input);
    }
}

#[test]
fn redact_builtins_all_compile() {
    let engine = Engine::compile(&[]).expect("built-in patterns compile");
    assert_eq!(engine.pattern_count(), BUILTINS.len());
    let r = redactor();
    let kinds = r.kinds();
    for kind in [
        "private_key",
        "jwt",
        "aws_access_key",
        "aws_secret_key",
        "github_token",
        "gitlab_token",
        "slack_webhook",
        "slack_token",
        "stripe_key",
        "google_api_key",
        "npm_token",
        "vigil_api_key",
        "webhook_secret",
        "url_credentials",
        "authorization",
        "cookie",
        "password",
        "token",
    ] {
        assert!(kinds.contains(&kind), "missing kind {kind}");
    }
    let mut unique = kinds.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), kinds.len(), "kinds are listed once");
    for builtin in BUILTINS {
        assert!(
            super::super::engine::valid_kind(builtin.kind),
            "{}",
            builtin.kind
        );
    }
}

#[test]
fn redact_fail_closed_engine_hides_everything() {
    let engine = Engine::fail_closed();
    assert_eq!(engine.redact("hello"), "[REDACTED:unavailable]");
    assert!(matches!(engine.redact(""), Cow::Borrowed("")));
    assert!(matches!(
        engine.redact("[REDACTED:unavailable]"),
        Cow::Borrowed(_)
    ));
    assert_eq!(engine.kinds(), ["unavailable"]);
}

#[test]
fn redact_debug_lists_kinds_not_text() {
    let r = Redactor::new(&[("custom".into(), "CANARYsecret[0-9]+".into())]).expect("valid");
    let debug = format!("{r:?}");
    assert!(
        debug.contains("custom") && debug.contains("password"),
        "{debug}"
    );
    assert!(!debug.contains("CANARY"), "{debug}");
    fn send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}
    send_sync::<Redactor>();
}
