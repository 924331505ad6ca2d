//! Redaction of structured values: JSON documents and alerts.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};
use vigil_store::Alert;

use super::engine::{Engine, existing_markers, marker};
use super::keys::sensitive_kind;

/// The kind of secret under a key that redacts to `new` (`None`: it did
/// not change): what the original name says, else what the redacted one
/// says. The redacted key is what a second pass judges, so judging by it
/// too keeps redaction idempotent (`password=x_key` names no secret, but
/// `password=[REDACTED:password]` does).
fn key_kind(key: &str, new: Option<&str>) -> Option<&'static str> {
    sensitive_kind(key).or_else(|| new.and_then(sensitive_kind))
}

/// A value under a secret-named key: its marker, unless it already is one
/// (of whichever kind), so that a second pass changes nothing.
fn sensitive_value(text: &mut String, kind: &str) {
    if existing_markers(text) != [(0, text.len())] {
        *text = marker(kind);
    }
}

/// Replaces `text` with its redaction, if anything matched.
pub(super) fn redact_string(engine: &Engine, text: &mut String) {
    let redacted = match engine.redact(text) {
        Cow::Owned(new) => Some(new),
        Cow::Borrowed(_) => None,
    };
    if let Some(new) = redacted {
        *text = new;
    }
}

/// `key`, or `key~2`, `key~3`, … whichever `taken` does not hold yet: two
/// keys that redact to the same marker must not overwrite each other.
fn unique_key(key: String, taken: impl Fn(&str) -> bool) -> String {
    if !taken(&key) {
        return key;
    }
    let mut n: u64 = 2;
    loop {
        let candidate = format!("{key}~{n}");
        if !taken(&candidate) {
            return candidate;
        }
        n = n.saturating_add(1);
    }
}

/// Redacts a JSON value in place, without recursion (depth is unbounded).
///
/// Strings are redacted as text; object keys are too. Under a key whose
/// name says secret (see [`sensitive_kind`]), every string and number, at
/// any depth (arrays, nested objects), becomes the kind's marker; booleans
/// and nulls stay.
pub(super) fn redact_json(engine: &Engine, root: &mut Value) {
    let mut stack: Vec<(&mut Value, Option<&'static str>)> = vec![(root, None)];
    while let Some((value, sensitive)) = stack.pop() {
        match value {
            Value::Null | Value::Bool(_) => {}
            Value::Number(_) => {
                if let Some(kind) = sensitive {
                    *value = Value::String(marker(kind));
                }
            }
            Value::String(text) => match sensitive {
                Some(kind) => sensitive_value(text, kind),
                None => redact_string(engine, text),
            },
            Value::Array(items) => stack.extend(items.iter_mut().map(|item| (item, sensitive))),
            Value::Object(map) => {
                let renamed = redact_object_keys(engine, map);
                for (key, child) in map.iter_mut() {
                    let own = match renamed.iter().find(|(new, _)| new == key) {
                        Some(&(_, kind)) => kind,
                        None => sensitive_kind(key),
                    };
                    stack.push((child, own.or(sensitive)));
                }
            }
        }
    }
}

/// Redacts the keys of `map`; returns the renamed keys with the kind their
/// original name had (sensitivity is judged on the original name, and on
/// the redacted one when the original says nothing: see [`key_kind`]).
fn redact_object_keys(
    engine: &Engine,
    map: &mut Map<String, Value>,
) -> Vec<(String, Option<&'static str>)> {
    let mut renamed = Vec::new();
    if !map
        .keys()
        .any(|key| matches!(engine.redact(key), Cow::Owned(_)))
    {
        return renamed;
    }
    let old = std::mem::take(map);
    for (key, child) in old {
        let (new, kind) = match engine.redact(&key) {
            Cow::Borrowed(_) => (None, None),
            Cow::Owned(new) => {
                let kind = key_kind(&key, Some(&new));
                (Some(new), kind)
            }
        };
        let changed = new.is_some();
        let final_key = unique_key(new.unwrap_or(key), |k| map.contains_key(k));
        if changed {
            renamed.push((final_key.clone(), kind));
        }
        map.insert(final_key, child);
    }
    renamed
}

/// Redacts a label or annotation map: keys as text, values under
/// secret-named keys whole, other values as text.
pub(super) fn redact_labels(engine: &Engine, labels: &mut BTreeMap<String, String>) {
    let old = std::mem::take(labels);
    for (key, mut value) in old {
        let new = match engine.redact(&key) {
            Cow::Borrowed(_) => None,
            Cow::Owned(new) => Some(new),
        };
        match key_kind(&key, new.as_deref()) {
            Some(kind) => sensitive_value(&mut value, kind),
            None => redact_string(engine, &mut value),
        }
        let key = new.unwrap_or(key);
        let key = unique_key(key, |k| labels.contains_key(k));
        labels.insert(key, value);
    }
}

/// Redacts an alert's summary, labels, annotations and links, and its
/// fingerprint when that holds a secret (drivers build readable
/// fingerprints from payload text, and senders may send their own). The
/// redacted text is deterministic, so the alert still finds its incident.
pub(super) fn redact_alert(engine: &Engine, alert: &mut Alert) {
    redact_string(engine, &mut alert.fingerprint);
    redact_string(engine, &mut alert.summary);
    redact_labels(engine, &mut alert.labels);
    redact_labels(engine, &mut alert.annotations);
    for link in &mut alert.links {
        redact_string(engine, link);
    }
}
