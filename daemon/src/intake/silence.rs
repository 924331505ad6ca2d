//! The rules every new silence passes, whichever door it came through
//! (`vigilctl silences add`, Alertmanager's `POST /api/v2/silences`): each
//! caller words the refusal in its own terms (a flag, a JSON field).

use vigil_notify::route::{Matchers, Silence as Rule, SilenceError};
use vigil_store::Silence;

/// At most this many matchers per silence.
pub const MAX_MATCHERS: usize = 32;
/// The longest comment kept, in bytes (as every operator text).
pub const MAX_COMMENT: usize = 1024;
/// The longest silence, and the furthest start: a year. Longer means
/// "disable the route".
pub const MAX_DURATION_MICROS: i64 = 366 * 24 * 3600 * 1_000_000;

/// Why a silence is refused.
#[derive(Debug, thiserror::Error)]
pub enum SilenceProblem {
    /// The redactor replaced part of matcher `index` (0-based): alerts are
    /// stored with the marker, so the matcher could not match as written.
    #[error(
        "holds what the redactor takes for a secret; alerts are stored with a marker in its \
         place ({marker}), so match the marker, not the secret"
    )]
    Redacted {
        /// Which matcher.
        index: usize,
        /// The matcher as it would be stored.
        marker: String,
    },
    /// A matcher does not parse.
    #[error("{0}")]
    Matchers(String),
    /// The notifier's own rules (no match-everything set, no end before start).
    #[error(transparent)]
    Rule(#[from] SilenceError),
}

/// Checks `stored` (the silence as admitted, redacted) against `given`
/// (the matchers as the caller wrote them). Times must be within a year of
/// now, which the callers ensure.
pub fn check(given: &[String], stored: &Silence) -> Result<(), SilenceProblem> {
    // Checked before parsing, whose errors quote the matcher.
    if let Some((index, marker)) = given
        .iter()
        .zip(&stored.matchers)
        .enumerate()
        .find_map(|(n, (given, kept))| (given != kept).then(|| (n, kept.clone())))
    {
        return Err(SilenceProblem::Redacted { index, marker });
    }
    let parsed = Matchers::parse_all(&stored.matchers)
        .map_err(|e| SilenceProblem::Matchers(e.to_string()))?;
    let at =
        |micros| jiff::Timestamp::from_microsecond(micros).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    Rule::new("", parsed, at(stored.starts_at), at(stored.ends_at), "", "")?;
    Ok(())
}
