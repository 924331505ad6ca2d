//! Trying a set's rules on many lines at once.
//!
//! Most lines of a log match no rule. Asking the rules about each line on
//! its own costs a search set-up per line; `grep` instead runs one
//! automaton over the whole buffer. [`LineScan`] does the same: it finds
//! the first line of a run of whole lines where a rule matches, so every
//! line before it is known to match nothing and is passed over, and only
//! that line is tried on its own.
//!
//! That is exact only if a rule's match on a line alone is also a match at
//! the same place in the buffer, which holds when the pattern's anchors are
//! line anchors: `^` and `$` are read in multi-line mode, and a pattern with
//! `\A` or `\z` (or `(?-m)`) makes the whole set go line by line. Word
//! boundaries agree, as a newline is no word character. And no match may
//! run across a newline, which a line alone never holds: the scan's
//! patterns are the rules' with the newline taken out of every class
//! (`\s`, `[^x]`) and literal. The caller hands over only text the rules
//! would see unchanged line by line: UTF-8, without carriage returns, no
//! line longer than it would be cut at.
//!
//! When every pattern holds literal text that each of its matches must
//! contain (`Failed password for `, `Out of memory: Killed process `),
//! the scan first looks for those literals with a vectorized substring
//! search, and runs the automaton only on the lines holding one: most
//! lines are passed over without it.

use regex_automata::meta::{self, Regex};
use regex_automata::util::prefilter::Prefilter;
use regex_automata::{Input, MatchKind, Span, nfa::thompson::WhichCaptures};
use regex_syntax::hir::literal::Extractor;
use regex_syntax::hir::{
    Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look,
    Repetition,
};

/// The rules of a set as one automaton over many lines.
#[derive(Clone, Debug)]
pub struct LineScan {
    any: Regex,
    /// Literals one of which every match of every pattern holds, if the
    /// patterns have such literals worth looking for.
    literals: Option<Prefilter>,
}

/// Shortest literal worth looking for: a shorter one is in most lines.
const MIN_LITERAL: usize = 4;
/// Most literals looked for at once.
const MAX_LITERALS: usize = 64;
/// Lines holding a literal but matching no pattern, in one search, after
/// which the rest goes through the automaton alone: a literal in most
/// lines (a user's rule may ask for a common word) costs a line-by-line
/// check of each, more than the automaton over all of them.
const MAX_MISSES: usize = 16;

impl LineScan {
    /// The scan of `patterns`, or `None` if one of them anchors to the
    /// start or end of the text (or they do not compile together here).
    pub fn new(patterns: &[&str], size_limit: usize) -> Option<LineScan> {
        if patterns.is_empty() {
            return None;
        }
        let mut hirs = Vec::with_capacity(patterns.len());
        for pattern in patterns {
            let hir = regex_syntax::ParserBuilder::new()
                .multi_line(true)
                .build()
                .parse(pattern)
                .ok()?;
            let looks = hir.properties().look_set();
            if looks.contains(Look::Start) || looks.contains(Look::End) {
                return None;
            }
            hirs.push(within_a_line(hir));
        }
        let any = Regex::builder()
            .configure(
                meta::Config::new()
                    .nfa_size_limit(Some(size_limit))
                    .which_captures(WhichCaptures::Implicit),
            )
            .build_many_from_hir(&hirs)
            .ok()?;
        Some(LineScan {
            any,
            literals: literals(&hirs),
        })
    }

    /// The same scan without its literals: every line goes through the
    /// automaton (to check that the literals change no answer).
    #[cfg(test)]
    fn without_literals(&self) -> LineScan {
        LineScan {
            any: self.any.clone(),
            literals: None,
        }
    }

    /// Where, in `text` (whole lines, each ending with its newline), the
    /// first line a rule matches starts; `None` if no line matches any.
    pub fn first_candidate(&self, text: &str) -> Option<usize> {
        self.first_candidate_within(text, MAX_MISSES)
    }

    /// [`first_candidate`](Self::first_candidate), checking at most
    /// `misses` lines that hold a literal and match nothing.
    fn first_candidate_within(&self, text: &str, misses: usize) -> Option<usize> {
        let Some(literals) = &self.literals else {
            return self.first_match(text);
        };
        // The first line holding a literal that the automaton matches:
        // a line matching without holding one would break a pattern's
        // own requirement.
        let bytes = text.as_bytes();
        let mut at = 0;
        let mut missed = 0;
        while at < bytes.len() {
            if missed == misses {
                // `at` starts a line: its anchors read the same alone.
                return self.first_match(&text[at..]).map(|start| at + start);
            }
            let hit = literals.find(bytes, Span::from(at..bytes.len()))?;
            let start = memchr::memrchr(b'\n', &bytes[at..hit.start]).map_or(at, |nl| at + nl + 1);
            let end =
                memchr::memchr(b'\n', &bytes[hit.start..]).map_or(bytes.len(), |nl| hit.start + nl);
            // The line alone; its anchors still see the newlines around it.
            if self.any.is_match(Input::new(text).range(start..end)) {
                return Some(start);
            }
            missed += 1;
            at = end + 1;
        }
        None
    }

    /// [`first_candidate`](Self::first_candidate) by the automaton alone.
    fn first_match(&self, text: &str) -> Option<usize> {
        // Any match lies within one line: where it ends is enough, and the
        // earliest end is in the first line that has one. No match ends
        // with a newline, so one before the end starts that line (an
        // empty match at a line's start included).
        let end = self
            .any
            .search_half(&Input::new(text).earliest(true))?
            .offset();
        Some(memchr::memrchr(b'\n', &text.as_bytes()[..end]).map_or(0, |nl| nl + 1))
    }
}

/// Literals one of which every match of every one of `hirs` holds, each
/// at least [`MIN_LITERAL`] bytes; `None` if a pattern has none (or the
/// set needs too many).
fn literals(hirs: &[Hir]) -> Option<Prefilter> {
    let mut all: Vec<Vec<u8>> = Vec::new();
    for hir in hirs {
        all.extend(required(hir)?);
    }
    all.sort();
    all.dedup();
    if all.len() > MAX_LITERALS {
        return None;
    }
    Prefilter::new(MatchKind::LeftmostFirst, &all).filter(Prefilter::is_fast)
}

/// Literals one of which every match of `hir` holds: the literal prefixes
/// of the rest of its concatenation from some part on (whatever the parts
/// before matched, the rest starts with one of them), from the part whose
/// shortest prefix is longest. `None` if no part gives prefixes of at
/// least [`MIN_LITERAL`] bytes.
fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let parts = match hir.kind() {
        HirKind::Concat(parts) => parts.as_slice(),
        _ => std::slice::from_ref(hir),
    };
    let extractor = Extractor::new();
    let mut best: Option<(usize, Vec<Vec<u8>>)> = None;
    for from in 0..parts.len() {
        let seq = extractor.extract(&Hir::concat(parts[from..].to_vec()));
        // Infinite: some match of the rest starts with no known literal.
        let Some(found) = seq.literals() else {
            continue;
        };
        // None at all: the rest never matches, and neither does `hir`.
        let Some(shortest) = found.iter().map(|l| l.as_bytes().len()).min() else {
            return Some(Vec::new());
        };
        if shortest >= MIN_LITERAL && best.as_ref().is_none_or(|(len, _)| shortest > *len) {
            best = Some((
                shortest,
                found.iter().map(|l| l.as_bytes().to_vec()).collect(),
            ));
        }
    }
    best.map(|(_, literals)| literals)
}

/// `hir` with the newline taken out of what it matches: every class
/// without it, every literal holding one never matching.
fn within_a_line(hir: Hir) -> Hir {
    match hir.into_kind() {
        HirKind::Literal(literal) if literal.0.contains(&b'\n') => Hir::fail(),
        HirKind::Class(Class::Unicode(mut class)) => {
            class.difference(&ClassUnicode::new([ClassUnicodeRange::new('\n', '\n')]));
            Hir::class(Class::Unicode(class))
        }
        HirKind::Class(Class::Bytes(mut class)) => {
            class.difference(&ClassBytes::new([ClassBytesRange::new(b'\n', b'\n')]));
            Hir::class(Class::Bytes(class))
        }
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            sub: Box::new(within_a_line(*rep.sub)),
            ..rep
        }),
        // Groups do not matter to the scan: it asks only where a match ends.
        HirKind::Capture(capture) => within_a_line(*capture.sub),
        HirKind::Concat(subs) => Hir::concat(subs.into_iter().map(within_a_line).collect()),
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.into_iter().map(within_a_line).collect())
        }
        HirKind::Literal(literal) => Hir::literal(literal.0),
        HirKind::Look(look) => Hir::look(look),
        HirKind::Empty => Hir::empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::RegexSet;

    fn scan(patterns: &[&str]) -> LineScan {
        LineScan::new(patterns, 1 << 20).expect("line-local patterns")
    }

    /// The lines a walk with the scan tries on their own: the first line
    /// of each candidate, again from the line after it.
    fn tried<'t>(scan: &LineScan, text: &'t str) -> Vec<&'t str> {
        tried_by(|t| scan.first_candidate(t), text)
    }

    /// The same, by `first`.
    fn tried_by(first: impl Fn(&str) -> Option<usize>, text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < text.len() {
            let Some(start) = first(&text[at..]) else {
                break;
            };
            let line_start = at + start;
            let end = text[line_start..]
                .find('\n')
                .map_or(text.len(), |i| line_start + i + 1);
            out.push(text[line_start..end].trim_end_matches('\n'));
            at = end;
        }
        out
    }

    #[test]
    fn every_line_that_matches_alone_is_tried_and_few_others() {
        let patterns = [
            r"^\w{3} [ :0-9]{11} \S+ sshd\[\d+\]: Failed password for (?P<user>\S+)",
            r"authentication failure;.*rhost=(?P<ip>\S+)",
            r"user NOT in sudoers$",
            r"\bOOM\b",
            r"a\s+b",
        ];
        let text = "Dec  6 10:00:01 h sshd[1]: Accepted password for bob\n\
                    Dec  6 10:00:02 h sshd[2]: Failed password for root from 1.2.3.4\n\
                    nothing here\n\
                    x sudo: pam_unix(sudo:auth): authentication failure; rhost=10.0.0.1 user=x\n\
                    bob : user NOT in sudoers\n\
                    bob : user NOT in sudoers ; TTY=pts/0\n\
                    an OOMkiller\n\
                    kernel: OOM kill\n\
                    ends with a\n\
                    b starts the next\n\
                    last\n";
        let set = RegexSet::new(patterns).unwrap();
        let matching: Vec<&str> = text.lines().filter(|l| set.is_match(l)).collect();
        let tried = tried(&scan(&patterns), text);
        for line in &matching {
            assert!(tried.contains(line), "{line:?} matches but was passed over");
        }
        assert_eq!(
            tried,
            [
                "Dec  6 10:00:02 h sshd[2]: Failed password for root from 1.2.3.4",
                "x sudo: pam_unix(sudo:auth): authentication failure; rhost=10.0.0.1 user=x",
                "bob : user NOT in sudoers",
                "kernel: OOM kill",
                // Not "ends with a": `a\s+b` does not run across a newline.
            ]
        );
        assert_eq!(matching.len(), 4);
    }

    /// The literals each pattern is known by, as the scan derives them.
    fn required_of(pattern: &str) -> Option<Vec<String>> {
        let hir = regex_syntax::ParserBuilder::new()
            .multi_line(true)
            .build()
            .parse(pattern)
            .unwrap();
        required(&within_a_line(hir)).map(|found| {
            found
                .into_iter()
                .map(|l| String::from_utf8(l).unwrap())
                .collect()
        })
    }

    #[test]
    fn a_pattern_is_known_by_the_literals_every_match_holds() {
        assert_eq!(
            required_of(r"^\S+ (?:foo|bar)d: x").unwrap(),
            [" food: x", " bard: x"]
        );
        assert_eq!(
            required_of(r"(?P<user>\S+) : user NOT in sudoers ;.*COMMAND=(?P<c>.*)$").unwrap(),
            [" : user NOT in sudoers ;"]
        );
        // The longest shortest: past the short alternatives.
        assert_eq!(
            required_of(r"\d+ (?:a|b) \d+ Out of memory").unwrap(),
            [" Out of memory"]
        );
        // Nothing every match must hold, or too short to help.
        assert_eq!(required_of(r"\w+ \d+"), None);
        assert_eq!(required_of(r"ab\s+cd"), None);
        assert_eq!(required_of(r"(?:abcd)?\w"), None);
        // A newline no line holds: the pattern never matches.
        assert_eq!(required_of("abcd\nefgh").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn a_set_with_a_pattern_lacking_literals_or_needing_too_many_scans_without() {
        let lacking = scan(&["Failed password for ", r"ab\s+cd"]);
        assert!(lacking.literals.is_none());
        let words: Vec<String> = (0..=MAX_LITERALS).map(|i| format!("word{i:03}")).collect();
        let many = scan(&words.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(many.literals.is_none(), "{} literals", words.len());
        let few = scan(
            &words[..MAX_LITERALS]
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert!(few.literals.is_some());
        // Either way the answers are the automaton's.
        let text = "x\nab  cd\nword064 y\nword063\n";
        assert_eq!(tried(&lacking, text), ["ab  cd"]);
        assert_eq!(tried(&many, text), ["word064 y", "word063"]);
        assert_eq!(tried(&few, text), ["word063"]);
    }

    /// The lines of the built-in pack's samples, near misses holding their
    /// literals, and ordinary lines, in every order a seeded walk picks.
    #[test]
    fn the_literals_change_no_answer_of_the_scan() {
        let rules = crate::logs::builtin_rules();
        let patterns: Vec<&str> = rules.iter().map(|r| r.pattern.as_str()).collect();
        let with = scan(&patterns);
        assert!(
            with.literals.is_some(),
            "every built-in pattern holds a literal"
        );
        let without = with.without_literals();
        let lines = [
            "Dec  6 10:00:02 h sshd[2]: Failed password for root from 203.0.113.5 port 22 ssh2",
            "Dec  6 10:00:02 h sshd[2]: Failed password for root from nowhere",
            "Failed password for ",
            "Dec  6 10:00:03 h sshd[2]: Invalid user admin from 198.51.100.7 port 4",
            "Invalid user ",
            "Dec  6 10:00:04 h sudo:  bob : user NOT in sudoers ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sh",
            " : user NOT in sudoers ; no command",
            "Dec  6 10:04:00 web systemd[1]: nginx.service: Failed with result 'exit-code'.",
            "Failed with result",
            "kernel: Out of memory: Killed process 42 (java) total-vm:1kB",
            "Out of memory: Killed process x",
            "Dec  6 10:00:00 bastion CRON[1]: pam_unix(cron:session): session opened for user root",
            "",
            "x",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..1 + next(12) {
                text.push_str(lines[next(lines.len())]);
                text.push('\n');
            }
            let expected = tried(&without, &text);
            assert_eq!(tried(&with, &text), expected, "{text:?}");
            for misses in [0, 1, 2] {
                let tried = tried_by(|t| with.first_candidate_within(t, misses), &text);
                assert_eq!(tried, expected, "{text:?} with {misses} misses");
            }
        }
    }

    #[test]
    fn absolute_anchors_make_the_set_go_line_by_line() {
        assert!(LineScan::new(&[r"\Afoo"], 1 << 20).is_none());
        assert!(LineScan::new(&[r"ok", r"foo\z"], 1 << 20).is_none());
        assert!(LineScan::new(&[r"(?-m)^foo"], 1 << 20).is_none());
        assert!(LineScan::new(&[], 1 << 20).is_none());
        assert!(LineScan::new(&[r"^foo$", r"(?m)^bar"], 1 << 20).is_some());
    }

    #[test]
    fn nothing_matching_is_none_and_an_empty_match_names_the_first_line() {
        let s = scan(&["zzz"]);
        assert_eq!(s.first_candidate("a\nb\n"), None);
        assert_eq!(s.first_candidate("a\nzzz\n"), Some(2));
        assert_eq!(scan(&["x*"]).first_candidate("a\nb\n"), Some(0));
        assert_eq!(scan(&["b$"]).first_candidate("ab\nb\n"), Some(0));
        assert_eq!(scan(&["^b"]).first_candidate("ab\nb\n"), Some(3));
        // An empty match names its own line, not the one before.
        assert_eq!(scan(&["^$"]).first_candidate("a\n\nb\n"), Some(2));
        // A newline in a class or a literal matches nothing in a line.
        assert_eq!(
            scan(&[r"a\sb", "a\nb"]).first_candidate("a\nb\na b\n"),
            Some(4)
        );
        assert_eq!(scan(&[r"a[^x]b"]).first_candidate("a\nb\n"), None);
    }
}
