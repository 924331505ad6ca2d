//! Trying a set's rules on many lines at once.
//!
//! Most lines of a log match no rule. Asking the rules about each line on
//! its own costs a search set-up per line; `grep` instead runs one
//! automaton over the whole buffer. [`LineScan`] does the same: it finds
//! where the first match *starts* in a run of whole lines, so every line
//! before that one is known to match nothing and is passed over, and only
//! the line it names is tried on its own (where it may still turn out to
//! match nothing, as when a match ran across a newline).
//!
//! That is exact only if a rule's match on a line alone is also a match at
//! the same place in the buffer, which holds when the pattern's anchors are
//! line anchors: `^` and `$` are read in multi-line mode, and a pattern with
//! `\A` or `\z` (or `(?-m)`) makes the whole set go line by line. Word
//! boundaries agree, as a newline is no word character. The caller hands
//! over only text the rules would see unchanged line by line: UTF-8,
//! without carriage returns, no line longer than it would be cut at.

use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use regex_syntax::hir::Look;

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
        }
        let any = Regex::builder()
            .syntax(syntax::Config::new().multi_line(true))
            .configure(
                meta::Config::new()
                    .nfa_size_limit(Some(size_limit))
                    .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit),
            )
            .build_many(patterns)
            .ok()?;
        Some(LineScan { any })
    }

    /// Where, in `text` (whole lines, each ending with its newline), the
    /// line that holds the first match starts; `None` if nothing matches,
    /// so no line of `text` matches any rule.
    pub fn first_candidate(&self, text: &str) -> Option<usize> {
        let found = self.any.find(text)?;
        let start = found.start();
        Some(memchr::memrchr(b'\n', &text.as_bytes()[..start]).map_or(0, |nl| nl + 1))
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
                // `a\s+b` runs across the newline: tried, matches nothing.
                "ends with a",
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
    }
}
