//! Durations as Alertmanager (Prometheus) writes them: `30s`, `5m`, `4h`,
//! `1d`, `1h30m`, `500ms`, `0`.
//!
//! Parsed strictly by hand rather than with a general parser so exactly
//! Prometheus's grammar is accepted: units `y` (365 days), `w`, `d`, `h`,
//! `m`, `s`, `ms`, each at most once, largest first; no sign, no fraction,
//! no spaces.

use std::time::Duration;

use thiserror::Error;

/// Longest duration accepted: a century, far beyond any sensible timer,
/// and small enough that adding it to any timestamp cannot overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Units, largest first, with their length in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    // `ms` before `m`, so `500ms` is not read as minutes followed by `s`.
    ("ms", 1),
    ("m", 60 * 1000),
    ("s", 1000),
];

/// Rank of a unit in the largest-first order (`ms` comes last).
fn rank(unit: &str) -> usize {
    match unit {
        "y" => 0,
        "w" => 1,
        "d" => 2,
        "h" => 3,
        "m" => 4,
        "s" => 5,
        _ => 6,
    }
}

/// A duration that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("invalid duration \"{input}\": {reason}")]
pub struct DurationError {
    /// The text given.
    pub input: String,
    /// Why it was refused.
    pub reason: &'static str,
}

/// Parses a Prometheus-style duration.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let fail = |reason| DurationError {
        input: input.to_string(),
        reason,
    };
    if input.is_empty() {
        return Err(fail("empty; write e.g. 30s, 5m, 4h or 1d"));
    }
    if input == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = input;
    let mut total: u64 = 0;
    let mut last_rank: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(fail(
                "expected a number followed by a unit (ms, s, m, h, d, w, y), like 30s or 1h30m",
            ));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| fail("number too large"))?;
        rest = &rest[digits..];
        let Some(&(unit, millis)) = UNITS.iter().find(|(u, _)| rest.starts_with(u)) else {
            return Err(fail("missing or unknown unit (ms, s, m, h, d, w, y)"));
        };
        let r = rank(unit);
        if last_rank.is_some_and(|last| r <= last) {
            return Err(fail(
                "units must go from largest to smallest, each at most once",
            ));
        }
        last_rank = Some(r);
        rest = &rest[unit.len()..];
        total = number
            .checked_mul(millis)
            .and_then(|v| v.checked_add(total))
            .ok_or_else(|| fail("too long"))?;
    }
    let d = Duration::from_millis(total);
    if d > MAX_DURATION {
        return Err(fail("too long (at most 100y)"));
    }
    Ok(d)
}

/// Writes a duration back in the same grammar (`1h30m`, `0s`), for
/// messages and listings.
pub fn format_duration(d: Duration) -> String {
    let mut millis = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if millis == 0 {
        return "0s".into();
    }
    let mut order = UNITS;
    order.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
    let mut out = String::new();
    for (unit, size) in order {
        if millis >= size {
            out.push_str(&format!("{}{unit}", millis / size));
            millis %= size;
        }
    }
    out
}
