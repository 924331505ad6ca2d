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

use regex_automata::meta::{self, Regex};
use regex_automata::{Input, nfa::thompson::WhichCaptures};
use regex_syntax::hir::{
    Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look,
    Repetition,
};

/// The rules of a set as one automaton over many lines.
#[derive(Clone, Debug)]
pub struct LineScan {
    any: Regex,
}

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
        Some(LineScan { any })
    }

    /// Where, in `text` (whole lines, each ending with its newline), the
    /// first line a rule matches starts; `None` if no line matches any.
    pub fn first_candidate(&self, text: &str) -> Option<usize> {
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
        let mut out = Vec::new();
        let mut at = 0;
        while at < text.len() {
            let Some(start) = scan.first_candidate(&text[at..]) else {
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
