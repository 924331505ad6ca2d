//! Redaction of secrets from everything stored.
//!
//! A [`Redactor`] replaces secrets with `[REDACTED:<kind>]`: tokens of known
//! formats (AWS, GitHub, GitLab, Slack, Stripe, Google, npm, Vigil's own API
//! keys, webhook signing secrets), JWTs, private keys, credentials in URLs,
//! `Authorization` and `Cookie` headers, and values assigned to names such
//! as `password` or `api_key`, plus the operator's own patterns. Where a
//! secret has context, the context is kept: `password=[REDACTED:password]`,
//! `https://[REDACTED:url_credentials]@host/path`,
//! `Authorization: Bearer [REDACTED:authorization]`.
//!
//! Redaction is idempotent: markers are never matched again. Text that
//! holds no secret is returned borrowed, after one pass of a [`RegexSet`]
//! over it. No input makes it panic, and JSON of any depth is walked
//! without recursion.
//!
//! [`RegexSet`]: regex::RegexSet

mod engine;
mod keys;
mod patterns;
mod structured;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, LazyLock};

use engine::Engine;

pub use engine::OPERATOR_SIZE_LIMIT;

/// Replaces secrets in text with `[REDACTED:<kind>]`.
///
/// Cheap to clone (the compiled patterns are shared) and safe to share
/// between threads.
#[derive(Clone)]
pub struct Redactor {
    engine: Arc<Engine>,
}

/// A redaction pattern that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedactError {
    /// The kind's name or its regex is invalid, or the regex is too large.
    #[error("redaction pattern `{kind}`: {reason}")]
    BadPattern {
        /// The pattern's kind, as configured.
        kind: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The built-in patterns, compiled once.
static BUILTIN: LazyLock<Result<Arc<Engine>, RedactError>> =
    LazyLock::new(|| Engine::compile(&[]).map(Arc::new));

impl Redactor {
    /// The built-in patterns plus the operator's `(kind, regex)` pairs.
    ///
    /// A kind is 1 to 32 of `a-z`, `0-9` and `_`; several patterns may share
    /// one (also a built-in one). A regex is compiled with a size limit of
    /// [`OPERATOR_SIZE_LIMIT`] bytes, so a configuration cannot exhaust
    /// memory, and must not match the empty string. If it has capture groups
    /// named `secret` (or `secret2`, `secret_value`, … any name starting
    /// with `secret`), only the first of them that took part in a match is
    /// replaced and the rest of the match is kept; otherwise the whole match
    /// is replaced. Operator patterns rank after the built-in ones when
    /// matches overlap.
    pub fn new(extra: &[(String, String)]) -> Result<Redactor, RedactError> {
        if extra.is_empty() {
            return match &*BUILTIN {
                Ok(engine) => Ok(Redactor {
                    engine: Arc::clone(engine),
                }),
                Err(e) => Err(e.clone()),
            };
        }
        Ok(Redactor {
            engine: Arc::new(Engine::compile(extra)?),
        })
    }

    /// `text` with every secret replaced by its marker; borrowed when
    /// nothing matched.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.engine.redact(text)
    }

    /// Redacts every string of a JSON value in place, object keys included
    /// (a key can hold a token).
    ///
    /// Under a key whose name says secret (`password`, `passwd`, `pwd`,
    /// `pin`, `passphrase`, `secret`, `token`, `api_key`, `apikey`,
    /// `access_token`, `refresh_token`, `private_key`, `client_secret`,
    /// `authorization`, `cookie`, `set-cookie`, `x-api-key`, … in any case,
    /// with `-`, `_`, `.` or camelCase, and as suffixes like `db_password`),
    /// every string and number, at any depth, is replaced whole with the
    /// marker (a string that already is a marker stays); booleans and nulls
    /// are kept. A key is judged by its name, and by its redacted name when
    /// the original says nothing (as a second pass would). Two keys that
    /// redact alike are told apart with a `~2`, `~3`, … suffix.
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        structured::redact_json(&self.engine, value);
    }

    /// Redacts an alert's summary, label and annotation keys and values
    /// (values under secret-named keys whole, as in
    /// [`redact_json`](Self::redact_json)), and links (credentials and
    /// tokens in URLs), and the fingerprint if it holds a secret.
    pub fn redact_alert(&self, alert: &mut vigil_store::Alert) {
        structured::redact_alert(&self.engine, alert);
    }

    /// Redacts a label or annotation map in place: keys as text, values
    /// under secret-named keys whole (as in
    /// [`redact_json`](Self::redact_json)), other values as text.
    pub fn redact_labels(&self, labels: &mut vigil_store::Labels) {
        structured::redact_labels(&self.engine, labels);
    }

    /// The kinds this redactor knows, built-in first, each once.
    pub fn kinds(&self) -> Vec<&str> {
        self.engine.kinds()
    }
}

impl Default for Redactor {
    /// The built-in patterns only. Should they ever fail to compile (they
    /// are tested not to), the redactor fails closed: it replaces every
    /// non-empty text with `[REDACTED:unavailable]`.
    fn default() -> Redactor {
        match &*BUILTIN {
            Ok(engine) => Redactor {
                engine: Arc::clone(engine),
            },
            Err(_) => Redactor {
                engine: Arc::new(Engine::fail_closed()),
            },
        }
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("kinds", &self.kinds())
            .field("patterns", &self.engine.pattern_count())
            .finish()
    }
}
