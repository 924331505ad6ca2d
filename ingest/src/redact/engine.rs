//! The matching engine: compile patterns, find secrets, splice markers in.
//!
//! A [`RegexSet`] of every pattern answers "does anything match?" in one
//! pass; text nothing matches is returned borrowed. Otherwise only the
//! patterns that matched run again to find where: each match yields a span
//! (the `secret*` group, or the whole match), spans inside an existing
//! `[REDACTED:<kind>]` marker are ignored (so redaction is idempotent),
//! overlapping spans are merged (named after the highest-priority pattern),
//! and the text is rebuilt once. Passes repeat until one changes nothing,
//! so the result is stable under redaction.

use std::borrow::Cow;

use regex::{Captures, Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::RedactError;
use super::patterns::BUILTINS;

/// Compiled-size limit of one operator pattern (see
/// [`RegexBuilder::size_limit`]): a configured regex cannot take more.
pub const OPERATOR_SIZE_LIMIT: usize = 1 << 20;

/// Compiled-size limit of one built-in pattern.
const BUILTIN_SIZE_LIMIT: usize = 4 << 20;

/// Longest kind name.
const MAX_KIND_LEN: usize = 32;

/// Marker prefix.
const MARKER_OPEN: &str = "[REDACTED:";

/// Most redaction passes over one text (see [`Engine::redact`]).
const MAX_PASSES: usize = 8;

/// Kind reported by a fail-closed engine.
const UNAVAILABLE: &str = "unavailable";

/// Its marker.
const UNAVAILABLE_MARKER: &str = "[REDACTED:unavailable]";

/// The marker that replaces a secret of `kind`.
pub(super) fn marker(kind: &str) -> String {
    format!("{MARKER_OPEN}{kind}]")
}

/// Whether `kind` is a valid kind name: `[a-z0-9_]{1,32}`.
pub(super) fn valid_kind(kind: &str) -> bool {
    !kind.is_empty()
        && kind.len() <= MAX_KIND_LEN
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// One compiled pattern.
struct Pattern {
    kind: String,
    marker: String,
    regex: Regex,
    /// Indices of the groups named `secret*`, in order.
    secret_groups: Vec<usize>,
}

impl Pattern {
    fn compile(kind: &str, pattern: &str, size_limit: usize) -> Result<Pattern, RedactError> {
        let regex = RegexBuilder::new(pattern)
            .size_limit(size_limit)
            .build()
            .map_err(|e| bad(kind, e.to_string()))?;
        let secret_groups = regex
            .capture_names()
            .enumerate()
            .filter(|(_, name)| name.is_some_and(|n| n.starts_with("secret")))
            .map(|(i, _)| i)
            .collect();
        Ok(Pattern {
            kind: kind.to_string(),
            marker: marker(kind),
            regex,
            secret_groups,
        })
    }

    /// The span to replace in one match: the first `secret*` group that took
    /// part, or the whole match.
    fn secret_span(&self, caps: &Captures<'_>) -> Option<(usize, usize)> {
        let m = if self.secret_groups.is_empty() {
            caps.get(0)
        } else {
            self.secret_groups.iter().find_map(|&i| caps.get(i))
        }?;
        Some((m.start(), m.end()))
    }

    /// Adds this pattern's spans in `text` to `spans`.
    fn collect(
        &self,
        priority: usize,
        text: &str,
        markers: &[(usize, usize)],
        spans: &mut Vec<Span>,
    ) {
        let mut push = |start: usize, end: usize| {
            if start < end && !inside_marker(markers, start, end) {
                spans.push(Span {
                    start,
                    end,
                    priority,
                });
            }
        };
        if self.secret_groups.is_empty() {
            for m in self.regex.find_iter(text) {
                push(m.start(), m.end());
            }
        } else {
            for caps in self.regex.captures_iter(text) {
                if let Some((start, end)) = self.secret_span(&caps) {
                    push(start, end);
                }
            }
        }
    }
}

/// A byte range to replace, and the index of the pattern that found it.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
    priority: usize,
}

/// The compiled patterns.
pub(super) struct Engine {
    matcher: Matcher,
}

enum Matcher {
    /// The normal case.
    Patterns {
        set: RegexSet,
        patterns: Vec<Pattern>,
    },
    /// The built-in patterns could not be compiled (never expected: they are
    /// tested). Every non-empty text is replaced whole, so nothing leaks.
    FailClosed,
}

fn bad(kind: &str, reason: impl Into<String>) -> RedactError {
    RedactError::BadPattern {
        kind: kind.to_string(),
        reason: reason.into(),
    }
}

impl Engine {
    /// Compiles the built-in patterns, then the operator's `(kind, regex)`
    /// pairs after them.
    pub(super) fn compile(extra: &[(String, String)]) -> Result<Engine, RedactError> {
        let mut patterns = Vec::with_capacity(BUILTINS.len() + extra.len());
        for builtin in BUILTINS {
            patterns.push(Pattern::compile(
                builtin.kind,
                builtin.pattern,
                BUILTIN_SIZE_LIMIT,
            )?);
        }
        for (kind, pattern) in extra {
            if !valid_kind(kind) {
                return Err(bad(
                    kind,
                    format!("a kind is 1 to {MAX_KIND_LEN} of a-z, 0-9 and _"),
                ));
            }
            let compiled = Pattern::compile(kind, pattern, OPERATOR_SIZE_LIMIT)?;
            if compiled.regex.is_match("") {
                return Err(bad(kind, "the pattern matches the empty string"));
            }
            patterns.push(compiled);
        }
        let set_limit = BUILTIN_SIZE_LIMIT
            .saturating_mul(BUILTINS.len())
            .saturating_add(OPERATOR_SIZE_LIMIT.saturating_mul(extra.len()));
        let set = RegexSetBuilder::new(patterns.iter().map(|p| p.regex.as_str()))
            .size_limit(set_limit)
            .build()
            .map_err(|e| bad("*", format!("the combined patterns: {e}")))?;
        Ok(Engine {
            matcher: Matcher::Patterns { set, patterns },
        })
    }

    /// An engine that replaces every non-empty text whole.
    pub(super) fn fail_closed() -> Engine {
        Engine {
            matcher: Matcher::FailClosed,
        }
    }

    /// Distinct kinds, in priority order.
    pub(super) fn kinds(&self) -> Vec<&str> {
        match &self.matcher {
            Matcher::Patterns { patterns, .. } => {
                let mut kinds: Vec<&str> = Vec::new();
                for p in patterns {
                    if !kinds.contains(&p.kind.as_str()) {
                        kinds.push(&p.kind);
                    }
                }
                kinds
            }
            Matcher::FailClosed => vec![UNAVAILABLE],
        }
    }

    /// Number of compiled patterns.
    pub(super) fn pattern_count(&self) -> usize {
        match &self.matcher {
            Matcher::Patterns { patterns, .. } => patterns.len(),
            Matcher::FailClosed => 0,
        }
    }

    /// `text` with every secret replaced by its marker.
    ///
    /// Passes repeat until nothing changes (at most [`MAX_PASSES`]): a
    /// replacement can remove the context of another match (say, a value
    /// that ran into a private key's END line), and the result must be
    /// stable under redaction.
    pub(super) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut current = match self.pass(text) {
            Cow::Borrowed(_) => return Cow::Borrowed(text),
            Cow::Owned(out) => out,
        };
        for _ in 1..MAX_PASSES {
            let next = match self.pass(&current) {
                Cow::Borrowed(_) => None,
                Cow::Owned(out) => Some(out),
            };
            match next {
                Some(out) => current = out,
                None => break,
            }
        }
        Cow::Owned(current)
    }

    /// One pass of redaction.
    fn pass<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let (set, patterns) = match &self.matcher {
            Matcher::Patterns { set, patterns } => (set, patterns),
            Matcher::FailClosed if text.is_empty() || text == UNAVAILABLE_MARKER => {
                return Cow::Borrowed(text);
            }
            Matcher::FailClosed => return Cow::Owned(UNAVAILABLE_MARKER.to_string()),
        };
        if text.is_empty() {
            return Cow::Borrowed(text);
        }
        let hits = set.matches(text);
        if !hits.matched_any() {
            return Cow::Borrowed(text);
        }
        let markers = existing_markers(text);
        let mut spans = Vec::new();
        for index in hits.iter() {
            if let Some(pattern) = patterns.get(index) {
                pattern.collect(index, text, &markers, &mut spans);
            }
        }
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        let merged = merge(spans);
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for span in merged {
            // Spans come from regex matches on `text`: on char boundaries.
            out.push_str(text.get(at..span.start).unwrap_or_default());
            // A span's priority is the index of the pattern that found it.
            let kind_marker = patterns
                .get(span.priority)
                .map_or(UNAVAILABLE_MARKER, |p| p.marker.as_str());
            out.push_str(kind_marker);
            at = span.end;
        }
        out.push_str(text.get(at..).unwrap_or_default());
        Cow::Owned(out)
    }
}

/// Sorts spans and merges the overlapping ones; a merged span takes the
/// highest priority (lowest index) of its parts.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable_by_key(|s| (s.start, s.end, s.priority));
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start < last.end => {
                last.end = last.end.max(span.end);
                last.priority = last.priority.min(span.priority);
            }
            _ => merged.push(span),
        }
    }
    merged
}

/// Whether `start..end` lies within one of `markers` (sorted, disjoint).
fn inside_marker(markers: &[(usize, usize)], start: usize, end: usize) -> bool {
    let after = markers.partition_point(|&(s, _)| s <= start);
    after > 0 && markers.get(after - 1).is_some_and(|&(_, e)| end <= e)
}

/// Byte ranges of the `[REDACTED:<kind>]` markers already in `text`, in
/// order (they cannot overlap).
pub(super) fn existing_markers(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices(MARKER_OPEN) {
        let rest = text
            .as_bytes()
            .get(start + MARKER_OPEN.len()..)
            .unwrap_or_default();
        let kind_len = rest
            .iter()
            .take(MAX_KIND_LEN + 1)
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || **b == b'_')
            .count();
        if (1..=MAX_KIND_LEN).contains(&kind_len) && rest.get(kind_len) == Some(&b']') {
            found.push((start, start + MARKER_OPEN.len() + kind_len + 1));
        }
    }
    found
}
