//! The matcher text itself: a small hand-written scanner for Alertmanager's
//! matcher syntax, and the quoting that writes matchers back so they parse
//! again. Hand-written rather than a regex so every error can point at the
//! column where the text went wrong.

use super::matcher::{MAX_MATCHER_LEN, MatchOp, Matcher, MatcherError, MatcherErrorKind};

/// Parses exactly one matcher.
pub(super) fn parse_one(input: &str) -> Result<Matcher, MatcherError> {
    let mut p = Parser::new(input)?;
    p.skip_ws();
    if p.at_end() {
        return Err(p.error(p.pos, MatcherErrorKind::Empty));
    }
    let m = p.matcher()?;
    p.skip_ws();
    match p.peek() {
        None => Ok(m),
        Some(c) => Err(p.error(
            p.pos,
            MatcherErrorKind::Unexpected {
                found: c,
                expected: "the end of the matcher (quote a value that contains it)",
            },
        )),
    }
}

/// Parses one or more comma-separated matchers, optionally braced.
pub(super) fn parse_list(input: &str) -> Result<Vec<Matcher>, MatcherError> {
    let mut p = Parser::new(input)?;
    p.skip_ws();
    let braced = p.eat('{');
    let mut out = Vec::new();
    loop {
        p.skip_ws();
        if p.at_end() || (braced && p.peek() == Some('}')) {
            break;
        }
        out.push(p.matcher()?);
        p.skip_ws();
        if !p.eat(',') {
            break;
        }
    }
    p.skip_ws();
    if braced && !p.eat('}') {
        return Err(match p.peek() {
            None => p.error(p.pos, MatcherErrorKind::UnexpectedEnd("`,` or `}`")),
            Some(c) => p.error(
                p.pos,
                MatcherErrorKind::Unexpected {
                    found: c,
                    expected: "`,` or `}`",
                },
            ),
        });
    }
    p.skip_ws();
    if let Some(c) = p.peek() {
        return Err(p.error(
            p.pos,
            MatcherErrorKind::Unexpected {
                found: c,
                expected: "`,` between matchers (quote a value that contains it)",
            },
        ));
    }
    if out.is_empty() {
        return Err(p.error(0, MatcherErrorKind::Empty));
    }
    Ok(out)
}

/// Characters that end a bare (unquoted) label name, as in Alertmanager's
/// UTF-8 matcher lexer.
fn reserved(c: char) -> bool {
    c.is_whitespace() || "{}!=~,\\\"'`".contains(c)
}

/// Characters that end a bare value. `=`, `!` and `~` are allowed inside a
/// bare value (`token=abc==`), since the operator has already been read.
fn ends_bare_value(c: char) -> bool {
    c.is_whitespace() || ",}".contains(c)
}

/// Characters a bare value may not hold at all: quote the value instead.
fn forbidden_in_bare_value(c: char) -> bool {
    "{\\\"'`".contains(c)
}

/// A label name as written: bare when it can be, quoted otherwise.
pub(super) fn quote_name(name: &str) -> String {
    if !name.is_empty() && !name.chars().any(|c| reserved(c) || c.is_control()) {
        name.to_string()
    } else {
        quote(name)
    }
}

/// A double-quoted string with the escapes the parser reads back.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A cursor over the matcher text; positions are byte offsets, turned
/// into character columns only for errors.
struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Result<Self, MatcherError> {
        let p = Self { input, pos: 0 };
        if input.len() > MAX_MATCHER_LEN {
            return Err(p.error(0, MatcherErrorKind::TooLong(MAX_MATCHER_LEN)));
        }
        Ok(p)
    }

    fn error(&self, at: usize, kind: MatcherErrorKind) -> MatcherError {
        MatcherError {
            input: self.input.to_string(),
            column: self.input[..at].chars().count() + 1,
            kind,
        }
    }

    fn peek(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn matcher(&mut self) -> Result<Matcher, MatcherError> {
        let name_at = self.pos;
        let name = self.name()?;
        self.skip_ws();
        let op = self.op()?;
        self.skip_ws();
        let value_at = self.pos;
        let value = self.value()?;
        Matcher::new(&name, op, &value).map_err(|e| {
            // Point at the part of *this* text that is wrong.
            let at = if e.kind == MatcherErrorKind::EmptyName {
                name_at
            } else {
                value_at
            };
            self.error(at, e.kind)
        })
    }

    fn name(&mut self) -> Result<String, MatcherError> {
        match self.peek() {
            Some('"') => {
                let at = self.pos;
                let name = self.quoted()?;
                if name.is_empty() {
                    return Err(self.error(at, MatcherErrorKind::EmptyName));
                }
                Ok(name)
            }
            None => Err(self.error(self.pos, MatcherErrorKind::UnexpectedEnd("a label name"))),
            Some(c) if reserved(c) => Err(self.error(self.pos, MatcherErrorKind::ExpectedName)),
            Some(_) => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if reserved(c) {
                        break;
                    }
                    if c.is_control() {
                        return Err(self.error(self.pos, MatcherErrorKind::ControlChar(c)));
                    }
                    self.bump();
                }
                Ok(self.input[start..self.pos].to_string())
            }
        }
    }

    fn op(&mut self) -> Result<MatchOp, MatcherError> {
        let rest = &self.input[self.pos..];
        // Longest first, so `=~` is not read as `=` then `~`.
        let (op, len) = if rest.starts_with("=~") {
            (MatchOp::Regex, 2)
        } else if rest.starts_with("!~") {
            (MatchOp::NotRegex, 2)
        } else if rest.starts_with("!=") {
            (MatchOp::NotEqual, 2)
        } else if rest.starts_with('=') {
            (MatchOp::Equal, 1)
        } else {
            return Err(self.error(self.pos, MatcherErrorKind::ExpectedOperator));
        };
        self.pos += len;
        Ok(op)
    }

    fn value(&mut self) -> Result<String, MatcherError> {
        if self.peek() == Some('"') {
            return self.quoted();
        }
        let start = self.pos;
        while let Some(c) = self.peek() {
            if ends_bare_value(c) {
                break;
            }
            if forbidden_in_bare_value(c) {
                return Err(self.error(
                    self.pos,
                    MatcherErrorKind::Unexpected {
                        found: c,
                        expected: "a bare value without quotes, braces or backslashes (quote the value)",
                    },
                ));
            }
            if c.is_control() {
                return Err(self.error(self.pos, MatcherErrorKind::ControlChar(c)));
            }
            self.bump();
        }
        Ok(self.input[start..self.pos].to_string())
    }

    /// A double-quoted string starting at the cursor.
    fn quoted(&mut self) -> Result<String, MatcherError> {
        let open = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            let at = self.pos;
            match self.bump() {
                None => return Err(self.error(open, MatcherErrorKind::UnterminatedQuote)),
                Some('"') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some('\\') => out.push('\\'),
                    Some('"') => out.push('"'),
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some(c) => return Err(self.error(at, MatcherErrorKind::BadEscape(c))),
                    None => return Err(self.error(open, MatcherErrorKind::UnterminatedQuote)),
                },
                Some(c) if c.is_control() => {
                    return Err(self.error(at, MatcherErrorKind::ControlChar(c)));
                }
                Some(c) => out.push(c),
            }
        }
    }
}
