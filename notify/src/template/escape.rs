//! Escaping per channel, applied to every `{{ … }}` a template prints.
//!
//! Each template's mode is fixed at compile time through minijinja's
//! auto-escape callback; HTML and plain text use minijinja's own modes,
//! JSON and Slack use custom modes that [`formatter`] implements.
//!
//! Values marked safe (`| safe`, `| tojson`, `| e`) are written as they
//! are, as is everything inside `{% autoescape false %}`: that is the
//! operator's explicit opt-out, and `tojson` must pass through for
//! `"labels": {{ a.labels | tojson }}` to work. For JSON the final output
//! is still required to parse.

use minijinja::{AutoEscape, Error, Output, State, Value, escape_formatter};
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write};

/// How interpolated values are escaped, chosen by the channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Escape {
    /// The body of a JSON document (webhooks): each value is written as
    /// the inside of a JSON string (no quotes added), with `<`, `>`, `&`,
    /// `'`, U+2028 and U+2029 as `\uXXXX` so the JSON can also be embedded
    /// in HTML or JavaScript. The whole output must parse as JSON.
    Json,
    /// HTML (email bodies): `<`, `>`, `&`, `"`, `'` and `/` as entities.
    Html,
    /// Slack `mrkdwn`: `&`, `<` and `>` as `&amp;`, `&lt;`, `&gt;`, the
    /// three characters Slack asks to escape, so mentions (`<!channel>`)
    /// and links (`<https://…|text>`) from alert text stay inert.
    SlackMrkdwn,
    /// No escaping (email subjects, PagerDuty summaries, plain text).
    Text,
}

/// Custom auto-escape names; unlikely to collide with anything minijinja
/// or a template (`{% autoescape %}`) would choose.
const JSON_STRING: &str = "vigil-json-string";
const SLACK_MRKDWN: &str = "vigil-slack-mrkdwn";

impl Escape {
    /// The minijinja auto-escape mode implementing this escape.
    pub(super) fn auto_escape(self) -> AutoEscape {
        match self {
            Escape::Json => AutoEscape::Custom(JSON_STRING.into()),
            Escape::Html => AutoEscape::Html,
            Escape::SlackMrkdwn => AutoEscape::Custom(SLACK_MRKDWN.into()),
            Escape::Text => AutoEscape::None,
        }
    }
}

/// The environment's formatter: our custom modes, else minijinja's.
pub(super) fn formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    let escape: fn(&str, &mut dyn Write) -> fmt::Result = match state.auto_escape() {
        AutoEscape::Custom(name) if name == JSON_STRING => json_string,
        AutoEscape::Custom(name) if name == SLACK_MRKDWN => slack_mrkdwn,
        _ => return escape_formatter(out, state, value),
    };
    if value.is_safe()
        && let Some(safe) = value.as_str()
    {
        return out.write_str(safe).map_err(Error::from);
    }
    // Escape while formatting, so a large value is not copied first.
    write!(Escaping { out, escape }, "{value}").map_err(Error::from)
}

/// A writer that escapes everything written through it.
struct Escaping<'a, 'b> {
    out: &'a mut Output<'b>,
    escape: fn(&str, &mut dyn Write) -> fmt::Result,
}

impl Write for Escaping<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        (self.escape)(s, self.out)
    }
}

/// Writes `s` escaped as the inside of a JSON string.
pub(super) fn json_string(s: &str, out: &mut dyn Write) -> fmt::Result {
    write_replacing(s, out, |c| match c {
        '"' => Some(Replacement::Static("\\\"")),
        '\\' => Some(Replacement::Static("\\\\")),
        '\n' => Some(Replacement::Static("\\n")),
        '\r' => Some(Replacement::Static("\\r")),
        '\t' => Some(Replacement::Static("\\t")),
        // `<`, `>`, `&`, `'` and the JavaScript line terminators are legal
        // in JSON strings but not when the JSON lands in a <script> or an
        // HTML attribute downstream; `\u` forms are equivalent JSON.
        '<' | '>' | '&' | '\'' | '\u{2028}' | '\u{2029}' => Some(Replacement::Unicode(c)),
        c if c.is_control() => Some(Replacement::Unicode(c)),
        _ => None,
    })
}

/// Writes `s` with Slack's three control characters escaped.
pub(super) fn slack_mrkdwn(s: &str, out: &mut dyn Write) -> fmt::Result {
    write_replacing(s, out, |c| match c {
        '&' => Some(Replacement::Static("&amp;")),
        '<' => Some(Replacement::Static("&lt;")),
        '>' => Some(Replacement::Static("&gt;")),
        _ => None,
    })
}

enum Replacement {
    Static(&'static str),
    /// `\uXXXX`, as UTF-16 code units for characters above the BMP.
    Unicode(char),
}

/// Copies runs of unchanged characters in one write each.
fn write_replacing(
    s: &str,
    out: &mut dyn Write,
    replace: impl Fn(char) -> Option<Replacement>,
) -> fmt::Result {
    let mut start = 0;
    for (at, c) in s.char_indices() {
        let Some(replacement) = replace(c) else {
            continue;
        };
        out.write_str(&s[start..at])?;
        match replacement {
            Replacement::Static(text) => out.write_str(text)?,
            Replacement::Unicode(c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(out, "\\u{unit:04x}")?;
                }
            }
        }
        start = at + c.len_utf8();
    }
    out.write_str(&s[start..])
}
