//! Signature and token checks shared by the drivers: header extraction,
//! HMAC-SHA256 and token comparison in constant time, the replay window, and
//! delivery ids.
//!
//! Errors carry header names only: a header value may be a valid signature
//! for another body, or a token.

use super::{Rejection, Verifier};
use hmac::{KeyInit, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

type HmacSha256 = hmac::Hmac<Sha256>;

/// Length of an HMAC-SHA256 tag in bytes.
pub(super) const TAG_LEN: usize = 32;

/// Longest delivery id kept, in characters (printable ASCII, so bytes).
const MAX_DELIVERY_ID: usize = 200;

/// The source's usable secrets. Empty ones are skipped: an empty HMAC key or
/// token is no secret, and an empty token must never match an empty header.
pub(super) fn keys(verifier: &Verifier) -> Result<Vec<&[u8]>, Rejection> {
    let keys: Vec<&[u8]> = verifier
        .secrets
        .iter()
        .map(|s| s.expose())
        .filter(|k| !k.is_empty())
        .collect();
    if keys.is_empty() {
        Err(Rejection::NoSecret)
    } else {
        Ok(keys)
    }
}

/// The header's only value, trimmed; `None` when absent or empty.
///
/// A repeated header is malformed (which copy was signed?), and so is one
/// that is not visible ASCII (every scheme here is ASCII).
pub(super) fn header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<Option<&'h str>, Rejection> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Rejection::MalformedSignature(name));
    }
    let value = first
        .to_str()
        .map_err(|_| Rejection::MalformedSignature(name))?
        .trim();
    Ok((!value.is_empty()).then_some(value))
}

/// Like [`header`], but absence is a rejection.
pub(super) fn required<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<&'h str, Rejection> {
    header(headers, name)?.ok_or(Rejection::MissingSignature(name))
}

/// Decodes a hex HMAC-SHA256 tag (either case).
pub(super) fn hex_tag(value: &str, name: &'static str) -> Result<Vec<u8>, Rejection> {
    match hex::decode(value) {
        Ok(tag) if tag.len() == TAG_LEN => Ok(tag),
        _ => Err(Rejection::MalformedSignature(name)),
    }
}

/// HMAC-SHA256 under `key` over the concatenation of `parts`.
pub(super) fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; TAG_LEN] {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Whether HMAC-SHA256 under any key, over the concatenation of `parts`,
/// equals any of `tags`.
///
/// Every key and tag is tried (no early exit) and each comparison is
/// constant-time, so timing tells neither which secret matched nor how much
/// of a forged tag was right.
pub(super) fn any_mac_matches(keys: &[&[u8]], parts: &[&[u8]], tags: &[Vec<u8>]) -> bool {
    let mut matched = Choice::from(0);
    for key in keys {
        let expected = mac(key, parts);
        for tag in tags {
            matched |= expected.as_slice().ct_eq(tag.as_slice());
        }
    }
    bool::from(matched)
}

/// Whether `presented` equals any key, in constant time.
///
/// Both sides are hashed first so the comparison is of equal lengths: timing
/// does not reveal the secret's length either.
pub(super) fn any_token_matches(keys: &[&[u8]], presented: &[u8]) -> bool {
    let presented = Sha256::digest(presented);
    let mut matched = Choice::from(0);
    for key in keys {
        matched |= Sha256::digest(key).as_slice().ct_eq(presented.as_slice());
    }
    bool::from(matched)
}

/// Checks a shared token (GitLab, Jenkins) carried in `name`.
pub(super) fn verify_token(
    headers: &HeaderMap,
    name: &'static str,
    verifier: &Verifier,
) -> Result<(), Rejection> {
    let keys = keys(verifier)?;
    let token = required(headers, name)?;
    if any_token_matches(&keys, token.as_bytes()) {
        Ok(())
    } else {
        Err(Rejection::BadSignature)
    }
}

/// Parses a unix-seconds timestamp header: 1 to 12 ASCII digits (no sign,
/// no fraction; 12 digits reach year 33658).
pub(super) fn unix_seconds(value: &str, name: &'static str) -> Result<i64, Rejection> {
    if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::MalformedSignature(name));
    }
    value
        .parse::<i64>()
        .map_err(|_| Rejection::MalformedSignature(name))
}

/// Refuses a timestamp further than `tolerance` seconds from `now`, in
/// either direction (a future timestamp is as suspicious as an old one).
pub(super) fn within_tolerance(timestamp: i64, now: i64, tolerance: i64) -> Result<(), Rejection> {
    let tolerance = tolerance.max(0);
    let skew = (i128::from(now) - i128::from(timestamp)).abs();
    if skew > i128::from(tolerance) {
        Err(Rejection::StaleTimestamp(tolerance))
    } else {
        Ok(())
    }
}

/// A delivery id fit for the duplicate table and the log: trimmed, 1 to 200
/// printable ASCII characters.
pub(super) fn clean_delivery_id(raw: &str) -> Option<String> {
    let id = raw.trim();
    let printable = id.bytes().all(|b| (0x20..=0x7e).contains(&b));
    (!id.is_empty() && id.len() <= MAX_DELIVERY_ID && printable).then(|| id.to_owned())
}

/// A delivery id from a header; `None` when absent, repeated or unfit.
pub(super) fn header_delivery_id(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    clean_delivery_id(first.to_str().ok()?)
}
