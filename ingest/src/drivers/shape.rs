//! Payload validation shared by the drivers: typed accessors that name the
//! JSON path in their errors, the size limits, times, and fingerprints.
//!
//! Error messages are built from our own literals (paths, indices, expected
//! types) and never from payload content, keys included: a payload may carry
//! a secret anywhere.

use super::ShapeError;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use vigil_store::{AlertStatus, Labels, Severity};

/// Most alerts accepted in one delivery.
pub const MAX_ALERTS: usize = 1000;
/// Most entries in one label or annotation map.
pub const MAX_MAP_ENTRIES: usize = 64;
/// Longest label or annotation key, in bytes.
pub const MAX_KEY_BYTES: usize = 128;
/// Longest label, annotation or link value, in bytes; longer values are
/// truncated (links are dropped: a cut URL misleads).
pub const MAX_VALUE_BYTES: usize = 4096;
/// Longest summary, in bytes; longer summaries are truncated.
pub const MAX_SUMMARY_BYTES: usize = 1024;
/// Most links kept per alert.
pub const MAX_LINKS: usize = 16;

/// Longest sender-supplied fingerprint, in bytes.
const MAX_FINGERPRINT_BYTES: usize = 256;
/// A readable fingerprint longer than this is replaced by a digest.
const MAX_READABLE_FINGERPRINT: usize = 256;
/// Appended to truncated text.
const ELLIPSIS: &str = "…";

/// An error at `path` (the empty path is the body itself).
pub(super) fn err(path: &str, expected: &str) -> ShapeError {
    let path = if path.is_empty() { "body" } else { path };
    ShapeError(format!("{path}: {expected}"))
}

/// The sender's event name from header `name` (which selects the payload's
/// shape): 1 to 64 ASCII letters, digits, `_`, `-`, or one of `extra`.
pub(super) fn event_header(
    headers: &http::HeaderMap,
    name: &str,
    extra: &[u8],
) -> Result<String, ShapeError> {
    let path = format!("{name} header");
    let value = headers
        .get(name)
        .ok_or_else(|| err(&path, "missing (expected the event name)"))?
        .to_str()
        .map_err(|_| err(&path, "expected an event name"))?
        .trim();
    let fits = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || extra.contains(&b));
    if fits {
        Ok(value.to_owned())
    } else {
        Err(err(&path, "expected an event name"))
    }
}

/// `parent.key`, or `key` at the root.
pub(super) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// A JSON object and where it sits in the payload.
pub(super) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

/// `value` as an object at `path`.
pub(super) fn object<'a>(value: &'a Value, path: impl Into<String>) -> Result<Obj<'a>, ShapeError> {
    let path = path.into();
    match value.as_object() {
        Some(map) => Ok(Obj { map, path }),
        None => Err(err(&path, "expected a JSON object")),
    }
}

impl<'a> Obj<'a> {
    /// The path of one of its fields.
    pub(super) fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Its fields, in the map's order.
    pub(super) fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Value)> + use<'a> {
        self.map.iter()
    }

    /// A field; `null` counts as absent (senders use both for "none").
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A required string field.
    pub(super) fn str(&self, key: &str) -> Result<&'a str, ShapeError> {
        self.opt_str(key)?
            .ok_or_else(|| err(&self.at(key), "missing (expected a string)"))
    }

    /// An optional string field.
    pub(super) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ShapeError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(err(&self.at(key), "expected a string")),
        }
    }

    /// An optional non-empty string field (empty strings count as absent).
    pub(super) fn opt_text(&self, key: &str) -> Result<Option<&'a str>, ShapeError> {
        Ok(self.opt_str(key)?.map(str::trim).filter(|s| !s.is_empty()))
    }

    /// A non-empty string field, ignoring any other type: for the fields of
    /// events Vigil only summarizes, which must not fail on a field it does
    /// not interpret.
    pub(super) fn text(&self, key: &str) -> Option<&'a str> {
        self.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// An object field, ignoring any other type (see [`Obj::text`]).
    pub(super) fn child(&self, key: &str) -> Option<Obj<'a>> {
        self.get(key).and_then(|v| object(v, self.at(key)).ok())
    }

    /// A required object field.
    pub(super) fn obj(&self, key: &str) -> Result<Obj<'a>, ShapeError> {
        self.opt_obj(key)?
            .ok_or_else(|| err(&self.at(key), "missing (expected a JSON object)"))
    }

    /// An optional object field.
    pub(super) fn opt_obj(&self, key: &str) -> Result<Option<Obj<'a>>, ShapeError> {
        self.get(key).map(|v| object(v, self.at(key))).transpose()
    }

    /// A required array field.
    pub(super) fn array(&self, key: &str) -> Result<&'a [Value], ShapeError> {
        match self.get(key) {
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(err(&self.at(key), "expected an array")),
            None => Err(err(&self.at(key), "missing (expected an array)")),
        }
    }

    /// An optional integer field.
    pub(super) fn opt_i64(&self, key: &str) -> Result<Option<i64>, ShapeError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| err(&self.at(key), "expected an integer")),
        }
    }

    /// An optional identifier: senders use integers (GitLab) or strings
    /// (PagerDuty) for ids.
    pub(super) fn opt_id(&self, key: &str) -> Result<Option<String>, ShapeError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(clip(s.trim()))),
            Some(_) => Err(err(&self.at(key), "expected an integer or a string id")),
        }
    }

    /// An optional time field (RFC 3339, or GitLab's `2016-08-12 15:23:28
    /// UTC`); Go's zero time and empty strings are `None`.
    pub(super) fn opt_time(&self, key: &str) -> Result<Option<i64>, ShapeError> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(s) => parse_time(s).map_err(|()| {
                err(
                    &self.at(key),
                    "expected an RFC 3339 time (e.g. 2025-01-31T12:00:00Z)",
                )
            }),
        }
    }

    /// An optional string→string map within the limits (absent is empty).
    pub(super) fn labels(&self, key: &str) -> Result<Labels, ShapeError> {
        labels(self.get(key), &self.at(key))
    }

    /// Refuses fields outside `allowed` (for Vigil's own strict format).
    pub(super) fn deny_unknown(&self, allowed: &[&str]) -> Result<(), ShapeError> {
        if self.map.keys().all(|k| allowed.contains(&k.as_str())) {
            Ok(())
        } else {
            // The unknown key itself is payload content: not named.
            Err(err(
                &self.path,
                &format!("unknown field; allowed fields are {}", allowed.join(", ")),
            ))
        }
    }
}

/// The items of an alert array within [`MAX_ALERTS`], at least one.
pub(super) fn alert_items<'a>(items: &'a [Value], path: &str) -> Result<&'a [Value], ShapeError> {
    if items.is_empty() {
        return Err(err(path, "expected at least one alert"));
    }
    if items.len() > MAX_ALERTS {
        return Err(err(path, &format!("more than {MAX_ALERTS} alerts")));
    }
    Ok(items)
}

/// `path[i]`.
pub(super) fn index(path: &str, i: usize) -> String {
    format!("{}[{i}]", if path.is_empty() { "body" } else { path })
}

/// A string→string map within the limits; absent (or `null`) is empty.
pub(super) fn labels(value: Option<&Value>, path: &str) -> Result<Labels, ShapeError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(Labels::new());
    };
    let map = value
        .as_object()
        .ok_or_else(|| err(path, "expected a JSON object of string values"))?;
    if map.len() > MAX_MAP_ENTRIES {
        return Err(err(path, &format!("more than {MAX_MAP_ENTRIES} entries")));
    }
    let mut out = Labels::new();
    for (key, value) in map {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(err(
                path,
                &format!("keys must be 1 to {MAX_KEY_BYTES} bytes"),
            ));
        }
        let value = value
            .as_str()
            .ok_or_else(|| err(path, "values must be strings"))?;
        out.insert(key.clone(), clip(value));
    }
    Ok(out)
}

/// Inserts a label or annotation computed by a driver, within the limits
/// (values truncated; silently skipped when the map is full or the value
/// empty, since the driver's own additions are best-effort).
pub(super) fn put(map: &mut Labels, key: &str, value: &str) {
    let value = value.trim();
    if value.is_empty() || (map.len() >= MAX_MAP_ENTRIES && !map.contains_key(key)) {
        return;
    }
    map.insert(key.to_owned(), clip(value));
}

/// Truncates to [`MAX_VALUE_BYTES`].
pub(super) fn clip(s: &str) -> String {
    truncate(s, MAX_VALUE_BYTES)
}

/// `s` cut to at most `max` bytes at a character boundary, ending in `…`
/// when cut.
pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max.saturating_sub(ELLIPSIS.len());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = s.get(..end).unwrap_or_default().to_owned();
    out.push_str(ELLIPSIS);
    out
}

/// A one-line summary: control characters become spaces, then trimmed and
/// truncated to [`MAX_SUMMARY_BYTES`].
pub(super) fn summary(s: &str) -> String {
    let line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncate(line.trim(), MAX_SUMMARY_BYTES)
}

/// A Prometheus-style alert's summary: its `summary` annotation, else its
/// `description`, else its `alertname` label, the first that is not blank
/// (a template may render empty), else "<driver> alert".
pub(super) fn alert_summary(annotations: &Labels, labels: &Labels, driver: &str) -> String {
    ["summary", "description"]
        .iter()
        .filter_map(|k| annotations.get(*k))
        .chain(labels.get("alertname"))
        .map(|s| summary(s))
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| format!("{driver} alert"))
}

/// `"firing"` or `"resolved"`.
pub(super) fn status(value: &str, path: &str) -> Result<AlertStatus, ShapeError> {
    match value {
        "firing" => Ok(AlertStatus::Firing),
        "resolved" => Ok(AlertStatus::Resolved),
        _ => Err(err(path, "expected \"firing\" or \"resolved\"")),
    }
}

/// Severity from a `severity` label; unknown or missing is `Warning` (the
/// sender said "alert" without saying how bad).
pub(super) fn severity_label(labels: &Labels) -> Severity {
    labels
        .get("severity")
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(Severity::Warning)
}

/// A fingerprint supplied by the sender: 1 to 256 printable ASCII characters.
pub(super) fn sender_fingerprint(value: &str, path: &str) -> Result<String, ShapeError> {
    let value = value.trim();
    let printable = value.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if value.is_empty() || value.len() > MAX_FINGERPRINT_BYTES || !printable {
        return Err(err(
            path,
            &format!("expected 1 to {MAX_FINGERPRINT_BYTES} printable ASCII characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Adds a link: trimmed, non-empty, at most [`MAX_VALUE_BYTES`] (dropped
/// otherwise), no duplicates, at most [`MAX_LINKS`].
pub(super) fn push_link(links: &mut Vec<String>, url: Option<&str>) {
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return;
    };
    if url.len() <= MAX_VALUE_BYTES && links.len() < MAX_LINKS && !links.iter().any(|l| l == url) {
        links.push(url.to_owned());
    }
}

/// Parses a sender's time to UTC microseconds. `Ok(None)` for empty strings
/// and Go's zero time (`0001-01-01T00:00:00Z`, "no time").
pub(super) fn parse_time(s: &str) -> Result<Option<i64>, ()> {
    let s = s.trim();
    if s.is_empty() || s.starts_with("0001-01-01") {
        return Ok(None);
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Ok(Some(ts.as_microsecond()));
    }
    // GitLab: `2016-08-12 15:23:28 UTC` and `2021-04-28 21:50:00 +0200`.
    if let Ok(dt) = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S UTC", s) {
        let zoned = dt.to_zoned(jiff::tz::TimeZone::UTC).map_err(|_| ())?;
        return Ok(Some(zoned.timestamp().as_microsecond()));
    }
    if let Ok(ts) = jiff::Timestamp::strptime("%Y-%m-%d %H:%M:%S %z", s) {
        return Ok(Some(ts.as_microsecond()));
    }
    Err(())
}

/// Unix milliseconds (Jenkins) to microseconds; `None` when out of range.
pub(super) fn millis_to_micros(ms: i64) -> Option<i64> {
    ms.checked_mul(1000)
        .filter(|us| jiff::Timestamp::from_microsecond(*us).is_ok())
}

/// A computed fingerprint: lowercase hex of the first 16 bytes of SHA-256
/// over a canonical encoding of the driver name, the labels in key order and
/// any extra strings:
///
/// ```text
/// lp(driver) || u64be(number of labels) || lp(k1) || lp(v1) || … || lp(extra1) || …
/// ```
///
/// where `lp(s) = u64be(byte length of s) || s` and `u64be` is an unsigned
/// 64-bit big-endian integer. Length prefixes make the encoding unambiguous
/// whatever the strings contain.
pub fn fingerprint(driver: &str, labels: &Labels, extra: &[&str]) -> String {
    let mut hash = Sha256::new();
    length_prefixed(&mut hash, driver.as_bytes());
    hash.update(
        u64::try_from(labels.len())
            .unwrap_or(u64::MAX)
            .to_be_bytes(),
    );
    for (key, value) in labels {
        length_prefixed(&mut hash, key.as_bytes());
        length_prefixed(&mut hash, value.as_bytes());
    }
    for item in extra {
        length_prefixed(&mut hash, item.as_bytes());
    }
    let digest = hash.finalize();
    hex::encode(digest.get(..16).unwrap_or_default())
}

fn length_prefixed(hash: &mut Sha256, bytes: &[u8]) {
    hash.update(u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_be_bytes());
    hash.update(bytes);
}

/// A readable fingerprint, `part0:part1:…`, with `%` and `:` percent-encoded
/// inside parts so that distinct part lists never collide. When longer than
/// 256 bytes it becomes `part0:sha256:<hex>` with the digest of
/// [`fingerprint`]`(part0, {}, parts[1..])`.
pub(super) fn readable_fingerprint(parts: &[&str]) -> String {
    let escaped: Vec<String> = parts
        .iter()
        .map(|p| p.replace('%', "%25").replace(':', "%3A"))
        .collect();
    let joined = escaped.join(":");
    if joined.len() <= MAX_READABLE_FINGERPRINT {
        return joined;
    }
    let (first, rest) = parts.split_first().map_or(("", &[][..]), |(f, r)| (*f, r));
    let head = escaped.first().map(String::as_str).unwrap_or_default();
    // parts[0] is the driver's own literal name, short and ASCII.
    format!("{head}:sha256:{}", fingerprint(first, &Labels::new(), rest))
}
