//! Key names whose values are secrets, whatever the values look like.
//!
//! A key is split into lowercase words (at any character that is not a
//! letter or digit, and at camelCase humps), then judged by the words
//! joined: `db_password`, `DB-PASSWORD`, `dbPassword` and `db.password` all
//! end in `password`; `X-API-Key`, `x_api_key` and `xApiKey` end in
//! `apikey`. `pwd` and `pin` count only as the last whole word (`user_pin`,
//! not `spin`).

use std::borrow::Cow;

use super::engine::existing_markers;

/// Suffixes of the joined words, and the kind their values are redacted as.
/// The first that matches wins.
const SUFFIXES: &[(&str, &str)] = &[
    ("privatekey", "private_key"),
    ("authorization", "authorization"),
    ("cookie", "cookie"),
    ("password", "password"),
    ("passwords", "password"),
    ("passwd", "password"),
    ("passphrase", "password"),
    ("secretaccesskey", "aws_secret_key"),
    ("token", "token"),
    ("apikey", "token"),
    ("secret", "token"),
    ("secretkey", "token"),
];

/// Whole last words, and their kind.
const LAST_WORDS: &[(&str, &str)] = &[("pwd", "password"), ("pin", "password")];

/// Only the end of a key decides; longer keys are cut to this many chars.
const TAIL_CHARS: usize = 64;

/// The kind of secret a value under `key` is, if the key's name says so.
///
/// Markers (`[REDACTED:token]`, from a key that held a token) are ignored,
/// so a redacted key is judged as the original was.
pub(super) fn sensitive_kind(key: &str) -> Option<&'static str> {
    let key = without_markers(key);
    let tail = tail(&key);
    let words = words(tail);
    let joined = words.concat();
    if let Some(&(_, kind)) = SUFFIXES.iter().find(|(suffix, _)| joined.ends_with(suffix)) {
        return Some(kind);
    }
    let last = words.last()?;
    LAST_WORDS
        .iter()
        .find(|(word, _)| last == word)
        .map(|&(_, kind)| kind)
}

/// `key` without the `[REDACTED:<kind>]` markers in it.
fn without_markers(key: &str) -> Cow<'_, str> {
    let markers = existing_markers(key);
    if markers.is_empty() {
        return Cow::Borrowed(key);
    }
    let mut out = String::with_capacity(key.len());
    let mut at = 0;
    for (start, end) in markers {
        out.push_str(key.get(at..start).unwrap_or_default());
        // Keep the words apart.
        out.push(' ');
        at = end;
    }
    out.push_str(key.get(at..).unwrap_or_default());
    Cow::Owned(out)
}

/// The last [`TAIL_CHARS`] characters of `key`.
fn tail(key: &str) -> &str {
    match key.char_indices().rev().nth(TAIL_CHARS - 1) {
        Some((at, _)) => key.get(at..).unwrap_or(key),
        None => key,
    }
}

/// Lowercase words of `key`.
fn words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_lowercase() || c.is_numeric();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::sensitive_kind;

    #[test]
    fn redact_key_names() {
        for (key, kind) in [
            ("password", Some("password")),
            ("Password", Some("password")),
            ("db_password", Some("password")),
            ("DB-PASSWORD", Some("password")),
            ("dbPassword", Some("password")),
            ("mysql.root.password", Some("password")),
            ("passwd", Some("password")),
            ("pwd", Some("password")),
            ("user_pin", Some("password")),
            ("PIN", Some("password")),
            ("secret", Some("token")),
            ("client_secret", Some("token")),
            ("clientSecret", Some("token")),
            ("token", Some("token")),
            ("access_token", Some("token")),
            ("refresh-token", Some("token")),
            ("accessToken", Some("token")),
            ("api_key", Some("token")),
            ("apikey", Some("token")),
            ("apiKey", Some("token")),
            ("x-api-key", Some("token")),
            ("X-API-Key", Some("token")),
            ("SECRET_KEY", Some("token")),
            ("private_key", Some("private_key")),
            ("privateKey", Some("private_key")),
            ("authorization", Some("authorization")),
            ("Proxy-Authorization", Some("authorization")),
            ("cookie", Some("cookie")),
            ("set-cookie", Some("cookie")),
            ("Set-Cookie", Some("cookie")),
            ("aws_secret_access_key", Some("aws_secret_key")),
            ("SecretAccessKey", Some("aws_secret_key")),
            ("user", None),
            ("tokenizer", None),
            ("max_tokens", None),
            ("token_type", None),
            ("password_expiry_days", None),
            ("spin", None),
            ("pinned", None),
            ("secret_name", None),
            ("", None),
            ("__", None),
            ("ключ", None),
            ("пароль_password", Some("password")),
            ("[REDACTED:github_token]", None),
            ("[REDACTED:github_token]_password", Some("password")),
            ("[REDACTED:token]~2", None),
            ("my[REDACTED:token]", None),
        ] {
            assert_eq!(sensitive_kind(key), kind, "key {key:?}");
        }
    }

    #[test]
    fn redact_key_names_long_and_odd() {
        let long = format!("{}_password", "x".repeat(10_000));
        assert_eq!(sensitive_kind(&long), Some("password"));
        let long = format!("{}_name", "é".repeat(10_000));
        assert_eq!(sensitive_kind(&long), None);
        assert_eq!(sensitive_kind("🔑password"), Some("password"));
    }
}
