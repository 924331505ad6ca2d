//! Checks on template source for what the engine cannot be configured to
//! refuse.
//!
//! minijinja 3.1 concatenates lists lazily and walks the result without
//! charging fuel (when flattening past 32 nested concatenations, and when
//! printing, stringifying or serializing it), so a few `{% set x = x + x %}`
//! make a list of millions of items that costs seconds and gigabytes at
//! config load, far below any fuel limit. `+` is the only way left to
//! concatenate lists (`namespace`, `chain` and list `sum` are gone, see
//! `sandbox`), so templates may not use it at all: strings join with `~`,
//! and the counts a message needs come ready in the context. Recursive
//! loops are refused too (the context has no tree to walk).
//!
//! The scan is lexical and errs on the side of refusing: a `+` in a string
//! inside a tag is skipped, one in a `{% raw %}` block is refused.

/// A policy violation: 1-based line and what is wrong.
pub(super) struct Violation {
    pub(super) line: usize,
    pub(super) message: String,
}

/// Scans `source` for recursive loops and `+` operators.
pub(super) fn check(source: &str) -> Result<(), Violation> {
    let bytes = source.as_bytes();
    let mut line = 1;
    let mut at = 0;
    // The closing delimiter of the tag being scanned, if inside one.
    let mut closing: Option<&[u8]> = None;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let Some(end) = closing else {
            if rest.starts_with(b"{#") {
                // Comments are skipped whole (counting their lines).
                let len = find(rest, b"#}").map_or(rest.len(), |i| i + 2);
                line += count_newlines(&rest[..len]);
                at += len;
            } else if rest.starts_with(b"{{") || rest.starts_with(b"{%") {
                closing = Some(if rest[1] == b'{' { b"}}" } else { b"%}" });
                at += 2;
                // `{%+` and `{{-` are whitespace markers, not operators.
                if matches!(bytes.get(at), Some(b'+' | b'-')) {
                    at += 1;
                }
            } else {
                line += usize::from(rest[0] == b'\n');
                at += 1;
            }
            continue;
        };
        match rest[0] {
            _ if rest.starts_with(end) => {
                closing = None;
                at += end.len();
            }
            quote @ (b'"' | b'\'') => {
                let len = string_len(rest, quote);
                line += count_newlines(&rest[..len]);
                at += len;
            }
            b'+' if !rest[1..].starts_with(end) => {
                return Err(Violation {
                    line,
                    message: "the `+` operator is not available in notification templates: join strings with `~`; counts come ready in `counts`".to_owned(),
                });
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let len = rest
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                    .unwrap_or(rest.len());
                if &rest[..len] == b"recursive" {
                    return Err(Violation {
                        line,
                        message: "recursive loops are not available in notification templates"
                            .to_owned(),
                    });
                }
                at += len;
            }
            c => {
                line += usize::from(c == b'\n');
                at += 1;
            }
        }
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn count_newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// Length of the string literal at the start of `rest`, quotes included
/// (to the end of input if unterminated; the parser has refused that).
fn string_len(rest: &[u8], quote: u8) -> usize {
    let mut at = 1;
    while at < rest.len() {
        match rest[at] {
            b'\\' => at += 2,
            c if c == quote => return at + 1,
            _ => at += 1,
        }
    }
    rest.len()
}
