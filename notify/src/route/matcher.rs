//! Label matchers in Alertmanager's syntax: `name=value`, `name!=value`,
//! `name=~regex`, `name!~regex`, the value bare or double-quoted.
//!
//! One string may hold several matchers separated by commas, optionally in
//! braces (`{env="prod", team=~"db|infra"}`), as an Alertmanager `matchers`
//! entry may. A label the alert lacks matches as the empty string, so
//! `team!=""` means "has a team". Regexes are anchored at both ends
//! (`^(?:re)$`), so `env=~"prod"` does not match `production`.

use std::fmt;
use std::str::FromStr;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;
use vigil_store::Labels;

use super::syntax::{self, quote, quote_name};

/// Longest matcher text accepted, in bytes: label values are short, and a
/// bound keeps a hostile silence or config from costing much to parse.
pub const MAX_MATCHER_LEN: usize = 16 * 1024;
/// Compiled size limit of one matcher regex (the `regex` crate's
/// `size_limit`): enough for alternations of hundreds of host names.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Lazy DFA cache limit of one matcher regex.
const REGEX_DFA_SIZE_LIMIT: usize = 2 << 20;
/// Nesting limit of one matcher regex.
const REGEX_NEST_LIMIT: u32 = 64;

/// How a matcher compares the label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchOp {
    /// `=`: equal.
    Equal,
    /// `!=`: not equal.
    NotEqual,
    /// `=~`: the whole value matches the regex.
    Regex,
    /// `!~`: the whole value does not match the regex.
    NotRegex,
}

impl MatchOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with a matcher.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MatcherErrorKind {
    /// Nothing but blanks (or `{}`).
    #[error("no matcher")]
    Empty,
    /// Longer than [`MAX_MATCHER_LEN`].
    #[error("longer than {0} bytes")]
    TooLong(usize),
    /// A label name was expected here.
    #[error("expected a label name")]
    ExpectedName,
    /// `""` as a label name.
    #[error("empty label name")]
    EmptyName,
    /// No operator after the name.
    #[error("expected =, !=, =~ or !~ after the label name")]
    ExpectedOperator,
    /// A `"` that is never closed.
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    /// A backslash escape that is not `\\`, `\"`, `\n`, `\r` or `\t`.
    #[error(
        "unknown escape `\\{0}` (write `\\\\` for a backslash, e.g. \"\\\\d+\" for the regex \\d+)"
    )]
    BadEscape(char),
    /// A control character (newline, NUL, ...) in the text.
    #[error("control character {0:?}; write \\n or \\t inside quotes")]
    ControlChar(char),
    /// A character that cannot appear here.
    #[error("unexpected `{found}`; expected {expected}")]
    Unexpected {
        /// What was found.
        found: char,
        /// What would have been valid.
        expected: &'static str,
    },
    /// The text ended where something else was expected.
    #[error("unexpected end; expected {0}")]
    UnexpectedEnd(&'static str),
    /// The value of `=~` or `!~` is not a valid regex, or too large.
    #[error("invalid regex: {0}")]
    Regex(RegexError),
}

/// Why a matcher's regex was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RegexError {
    /// Over the compiled-size limit.
    #[error("too large (compiled size over {0} bytes)")]
    TooLarge(usize),
    /// Not valid syntax: the regex crate's own last line, which says what.
    #[error("{0}")]
    Syntax(String),
}

/// A matcher that failed to parse: the text, the 1-based column (in
/// characters) where the problem is, and what it is.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("matcher `{}` at column {column}: {kind}", shorten(input))]
pub struct MatcherError {
    /// The text given.
    pub input: String,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub kind: MatcherErrorKind,
}

/// Long inputs are cut in messages so an error line stays readable.
fn shorten(s: &str) -> String {
    const KEEP: usize = 80;
    match s.char_indices().nth(KEEP) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// One label matcher.
#[derive(Clone, Debug)]
pub struct Matcher {
    name: String,
    op: MatchOp,
    value: String,
    /// The anchored regex, for `=~` and `!~`.
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

impl Matcher {
    /// A matcher from its parts (the value is the regex itself for `=~`
    /// and `!~`, not quoted). Used for Alertmanager's `match`/`match_re`.
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Self, MatcherError> {
        let fail = |column, kind| MatcherError {
            input: format!("{}{op}{}", quote_name(name), quote(value)),
            column,
            kind,
        };
        if name.is_empty() {
            return Err(fail(1, MatcherErrorKind::EmptyName));
        }
        if name.len() + value.len() > MAX_MATCHER_LEN {
            return Err(fail(1, MatcherErrorKind::TooLong(MAX_MATCHER_LEN)));
        }
        // What the parser refuses, so every matcher prints as text that
        // parses back (quoting writes only `\n`, `\r` and `\t`).
        if let Some(c) = name
            .chars()
            .chain(value.chars())
            .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(fail(1, MatcherErrorKind::ControlChar(c)));
        }
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(anchored(value).map_err(|e| {
                fail(
                    quote_name(name).chars().count() + op.as_str().len() + 1,
                    MatcherErrorKind::Regex(e),
                )
            })?),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Self {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    /// Parses exactly one matcher (`severity="critical"`).
    pub fn parse(input: &str) -> Result<Self, MatcherError> {
        syntax::parse_one(input)
    }

    /// The label name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The operator.
    pub fn op(&self) -> MatchOp {
        self.op
    }

    /// The value (the unanchored regex for `=~` and `!~`).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a label value (`""` for a missing label) matches.
    pub fn matches_value(&self, v: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(v),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(v),
            // `new` always compiles the regex of a regex operator.
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }

    /// Whether a label set matches; a missing label is the empty string.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }
}

impl fmt::Display for Matcher {
    /// Canonical form: the value always quoted, so it parses back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            quote_name(&self.name),
            self.op,
            quote(&self.value)
        )
    }
}

impl FromStr for Matcher {
    type Err = MatcherError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Matcher {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Matchers that must all match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matchers(Vec<Matcher>);

impl Matchers {
    /// Wraps matchers.
    pub fn new(matchers: Vec<Matcher>) -> Self {
        Self(matchers)
    }

    /// Parses one string holding one or more matchers, comma-separated,
    /// optionally in braces: `{env="prod",team=~"db|infra"}`.
    pub fn parse(input: &str) -> Result<Self, MatcherError> {
        syntax::parse_list(input).map(Self)
    }

    /// Parses every string with [`Matchers::parse`] and joins the results,
    /// as Alertmanager reads a `matchers:` list.
    pub fn parse_all<I>(items: I) -> Result<Self, MatcherError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut out = Vec::new();
        for item in items {
            out.extend(Self::parse(item.as_ref())?.0);
        }
        Ok(Self(out))
    }

    /// Whether every matcher matches.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.0.iter().all(|m| m.matches(labels))
    }

    /// Whether these matchers match an alert with no labels at all, i.e.
    /// every matcher matches the empty string (`foo=~".*"`, `foo!="x"`,
    /// `foo=""`). Alertmanager refuses such silences, and so do we: they
    /// would mute every alert lacking the label, usually all of them.
    pub fn matches_everything(&self) -> bool {
        self.0.iter().all(|m| m.matches_value(""))
    }

    /// The matchers.
    pub fn iter(&self) -> std::slice::Iter<'_, Matcher> {
        self.0.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (which matches everything).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends one matcher.
    pub fn push(&mut self, m: Matcher) {
        self.0.push(m);
    }
}

impl fmt::Display for Matchers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{m}")?;
        }
        f.write_str("}")
    }
}

impl<'a> IntoIterator for &'a Matchers {
    type Item = &'a Matcher;
    type IntoIter = std::slice::Iter<'a, Matcher>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Compiles `^(?:re)$` under the size limits. The pattern is first
/// compiled alone: a pattern valid on its own has balanced groups, so it
/// cannot close the wrapper early (`a)|(b` would otherwise turn into the
/// unanchored `^(?:a)|(b)$`).
fn anchored(re: &str) -> Result<Regex, RegexError> {
    build(re)?;
    build(&format!("^(?:{re})$"))
}

fn build(pattern: &str) -> Result<Regex, RegexError> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => RegexError::TooLarge(limit),
            // The syntax message is several lines of ASCII art; the last
            // line says what is wrong.
            regex::Error::Syntax(msg) => RegexError::Syntax(
                msg.lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("syntax error")
                    .trim()
                    .trim_start_matches("error: ")
                    .to_string(),
            ),
            other => RegexError::Syntax(other.to_string()),
        })
}
