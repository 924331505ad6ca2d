//! Path globs for absolute paths, matched one path component at a time
//! (the syntax and its decisions are on [`Glob`]).

use std::fmt;

/// What is wrong with a pattern.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GlobErrorKind {
    /// It does not start with `/`.
    #[error("not an absolute path (a pattern starts with `/`)")]
    NotAbsolute,
    /// A `[` without its `]`.
    #[error("unclosed character class")]
    UnclosedClass,
    /// `[z-a]`.
    #[error("reversed character range `{from}-{to}`")]
    ReversedRange {
        /// The range's start.
        from: char,
        /// The range's end.
        to: char,
    },
    /// `[a/b]`: a class matches one character within a component.
    #[error("`/` inside a character class")]
    SlashInClass,
    /// `a**`, `***`: only a whole component may be `**`.
    #[error("`**` must be a whole path component, as in `/a/**/b`")]
    RecursiveNotAlone,
    /// A `\` with nothing after it.
    #[error("a lone `\\` at the end")]
    TrailingEscape,
}

/// A pattern that cannot be compiled: what is wrong, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at byte {at} of `{pattern}`)")]
pub struct GlobError {
    /// The pattern as written.
    pub pattern: String,
    /// The byte offset of the offending part.
    pub at: usize,
    /// What is wrong.
    pub kind: GlobErrorKind,
}

/// One piece of a component's pattern.
#[derive(Clone, Debug)]
enum Token {
    /// This character.
    Char(char),
    /// `?`.
    One,
    /// `*`.
    Star,
    /// `[...]`: inclusive ranges (a single character is `(c, c)`).
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    /// Whether this single-character token matches `c` (never called for
    /// [`Token::Star`]).
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Char(want) => *want == c,
            Token::One => true,
            Token::Star => false,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

/// One component of a pattern.
#[derive(Clone, Debug)]
enum Segment {
    /// `**`.
    Recursive,
    /// Anything else.
    Tokens(Vec<Token>),
}

/// A compiled path glob for absolute paths, matched one component at a time.
///
/// | syntax | matches |
/// | --- | --- |
/// | `*` | any run of characters within one component (never `/`) |
/// | `**` | any number of whole components, zero included; it must be a whole component (`/a/**/b`, `/a/**`) |
/// | `?` | one character (never `/`) |
/// | `[abc]`, `[a-z]` | one character of the class |
/// | `[!x]`, `[^x]` | one character not in the class |
/// | `\c` | the character `c` itself |
///
/// Decisions worth knowing:
///
/// * `/etc/ssh/**` matches `/etc/ssh` itself as well as everything below it,
///   because `**` may match zero components: a rule about a directory's tree
///   should also see the directory replaced, removed or re-owned.
///   `/etc/**/sshd_config` likewise matches `/etc/sshd_config`.
/// * `*` and `?` match a leading `.`: a file hidden by its name is still
///   watched.
/// * Empty components are ignored on both sides (`/etc//ssh/` is `/etc/ssh`);
///   `.` and `..` are not resolved, so paths are expected canonical, as the
///   collector records them. A relative path never matches.
/// * Matching is case-sensitive and by character, not byte.
///
/// Matching costs at most the pattern's length times the path's, whatever
/// either holds: no pattern can make it backtrack exponentially.
#[derive(Clone, Debug)]
pub struct Glob {
    source: String,
    segments: Vec<Segment>,
}

impl Glob {
    /// Compiles `pattern`, or says what is wrong with it and where.
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        let error = |at: usize, kind: GlobErrorKind| GlobError {
            pattern: pattern.to_owned(),
            at,
            kind,
        };
        if !pattern.starts_with('/') {
            return Err(error(0, GlobErrorKind::NotAbsolute));
        }
        let mut segments = Vec::new();
        let mut tokens = Vec::new();
        let mut chars = pattern.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '/' => push_segment(&mut segments, std::mem::take(&mut tokens)),
                '*' if chars.peek().is_some_and(|&(_, next)| next == '*') => {
                    chars.next();
                    let ends_component = chars.peek().is_none_or(|&(_, next)| next == '/');
                    if !tokens.is_empty() || !ends_component {
                        return Err(error(at, GlobErrorKind::RecursiveNotAlone));
                    }
                    // Two `**` in a row mean the same as one.
                    if !matches!(segments.last(), Some(Segment::Recursive)) {
                        segments.push(Segment::Recursive);
                    }
                }
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::One),
                '[' => tokens.push(class(&mut chars, at).map_err(|(at, kind)| error(at, kind))?),
                '\\' => match chars.next() {
                    Some((_, escaped)) => tokens.push(Token::Char(escaped)),
                    None => return Err(error(at, GlobErrorKind::TrailingEscape)),
                },
                c => tokens.push(Token::Char(c)),
            }
        }
        push_segment(&mut segments, tokens);
        Ok(Glob {
            source: pattern.to_owned(),
            segments,
        })
    }

    /// Whether the absolute `path` matches.
    pub fn matches(&self, path: &str) -> bool {
        if !path.starts_with('/') {
            return false;
        }
        let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        wildcard(
            &self.segments,
            &components,
            |segment| matches!(segment, Segment::Recursive),
            |segment, component| match segment {
                Segment::Recursive => true,
                Segment::Tokens(tokens) => component_matches(tokens, component),
            },
        )
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl PartialEq for Glob {
    /// Two globs are equal when written the same.
    fn eq(&self, other: &Glob) -> bool {
        self.source == other.source
    }
}

impl Eq for Glob {}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for Glob {
    type Err = GlobError;
    fn from_str(s: &str) -> Result<Glob, GlobError> {
        Glob::new(s)
    }
}

/// Ends a component: empty ones (`//`, a trailing `/`) are dropped, as they
/// are from paths.
fn push_segment(segments: &mut Vec<Segment>, tokens: Vec<Token>) {
    if !tokens.is_empty() {
        segments.push(Segment::Tokens(tokens));
    }
}

/// Parses a class after its `[` (at byte `open`), through its `]`.
fn class(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    open: usize,
) -> Result<Token, (usize, GlobErrorKind)> {
    let negated = chars.next_if(|&(_, c)| c == '!' || c == '^').is_some();
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let Some((at, c)) = chars.next() else {
            return Err((open, GlobErrorKind::UnclosedClass));
        };
        let lo = match c {
            // A `]` first is a member, as in every shell: `[]a]`.
            ']' if !first => return Ok(Token::Class { negated, ranges }),
            '/' => return Err((at, GlobErrorKind::SlashInClass)),
            '\\' => match chars.next() {
                Some((_, escaped)) => escaped,
                None => return Err((at, GlobErrorKind::TrailingEscape)),
            },
            c => c,
        };
        first = false;
        // `a-z` is a range; a `-` before the closing `]` is a member.
        let is_range = {
            let mut ahead = chars.clone();
            ahead.next().is_some_and(|(_, c)| c == '-')
                && ahead.next().is_some_and(|(_, c)| c != ']')
        };
        if !is_range {
            ranges.push((lo, lo));
            continue;
        }
        chars.next();
        let hi = match chars.next() {
            Some((at, '/')) => return Err((at, GlobErrorKind::SlashInClass)),
            Some((at, '\\')) => match chars.next() {
                Some((_, escaped)) => escaped,
                None => return Err((at, GlobErrorKind::TrailingEscape)),
            },
            Some((_, c)) => c,
            None => return Err((open, GlobErrorKind::UnclosedClass)),
        };
        if hi < lo {
            return Err((at, GlobErrorKind::ReversedRange { from: lo, to: hi }));
        }
        ranges.push((lo, hi));
    }
}

/// Whether one component matches its tokens.
fn component_matches(tokens: &[Token], component: &str) -> bool {
    let chars: Vec<char> = component.chars().collect();
    wildcard(
        tokens,
        &chars,
        |token| matches!(token, Token::Star),
        |token, &c| token.matches(c),
    )
}

/// Wildcard matching of `pattern` against all of `input`, where
/// `is_star(p)` marks elements matching any run of input (zero included)
/// and `one(p, i)` says whether another element matches one input element.
///
/// Greedy, returning only to the last star seen: with a single kind of
/// star that is enough to find a match when there is one, and it bounds
/// the work to `pattern.len() * input.len()` steps. It serves both levels:
/// components against `*`-free tokens and paths against `**`.
fn wildcard<P, I>(
    pattern: &[P],
    input: &[I],
    is_star: impl Fn(&P) -> bool,
    one: impl Fn(&P, &I) -> bool,
) -> bool {
    let (mut p, mut i) = (0, 0);
    // Where to resume after the last star: (pattern index after it, input
    // index it has consumed up to).
    let mut resume: Option<(usize, usize)> = None;
    while i < input.len() {
        match pattern.get(p) {
            Some(element) if is_star(element) => {
                resume = Some((p + 1, i));
                p += 1;
            }
            Some(element) if one(element, &input[i]) => {
                p += 1;
                i += 1;
            }
            _ => match resume {
                // Let the last star take one more element and try again.
                Some((after, taken)) => {
                    resume = Some((after, taken + 1));
                    p = after;
                    i = taken + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(is_star)
}

/// A list of globs: a path matches when any of them does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GlobSet {
    globs: Vec<Glob>,
}

/// A pattern of a [`GlobSet`] that cannot be compiled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("[{index}]: {error}")]
pub struct GlobSetError {
    /// Its position in the list.
    pub index: usize,
    /// What is wrong with it.
    pub error: GlobError,
}

impl GlobSet {
    /// Compiles every pattern, or names the first that cannot be.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<GlobSet, GlobSetError> {
        let globs = patterns
            .iter()
            .enumerate()
            .map(|(index, pattern)| {
                Glob::new(pattern.as_ref()).map_err(|error| GlobSetError { index, error })
            })
            .collect::<Result<_, _>>()?;
        Ok(GlobSet { globs })
    }

    /// Whether any glob matches `path`.
    pub fn matches(&self, path: &str) -> bool {
        self.globs.iter().any(|glob| glob.matches(path))
    }

    /// The globs, in order.
    pub fn globs(&self) -> &[Glob] {
        &self.globs
    }

    /// How many globs.
    pub fn len(&self) -> usize {
        self.globs.len()
    }

    /// Whether there is none (then nothing matches).
    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }
}

impl From<Vec<Glob>> for GlobSet {
    fn from(globs: Vec<Glob>) -> GlobSet {
        GlobSet { globs }
    }
}

impl FromIterator<Glob> for GlobSet {
    fn from_iter<T: IntoIterator<Item = Glob>>(iter: T) -> GlobSet {
        GlobSet {
            globs: iter.into_iter().collect(),
        }
    }
}
