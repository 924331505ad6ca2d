//! Literals a line must hold for any rule of a set to match it.
//!
//! Most lines of a log match no rule. For each rule this finds a set of
//! literals one of which every match contains (`Failed ` in `Failed
//! (?:password|publickey) for ...`, ` incorrect password attempt` in
//! `(?P<user>\S+) : ... incorrect password attempts? ;...`); one
//! Aho-Corasick pass over a line (SIMD for a few literals) then tells that
//! no rule can match it, in less time than the rules' regex set takes to
//! say the same. The regex set only sees lines that hold a literal. A rule
//! with no such literal (`.*`, a case-insensitive word) turns it off.

use aho_corasick::AhoCorasick;
use regex_syntax::hir::{Hir, HirKind};

/// Literals shorter than this tell too little to be worth a pass.
const SHORTEST: usize = 3;

/// The literals of a set of rules.
#[derive(Clone, Debug)]
pub(super) struct Prefilter(Option<AhoCorasick>);

impl Prefilter {
    /// The prefilter of `patterns`: off when one of them (or one that does
    /// not parse, which the regex set reports) has no required literal.
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Prefilter {
        let mut literals = Vec::new();
        for pattern in patterns {
            let Ok(hir) = regex_syntax::parse(pattern) else {
                return Prefilter(None);
            };
            match required(&hir) {
                Some(any) if any.iter().all(|l| l.len() >= SHORTEST) => literals.extend(any),
                _ => return Prefilter(None),
            }
        }
        if literals.is_empty() {
            return Prefilter(None);
        }
        Prefilter(AhoCorasick::new(&literals).ok())
    }

    /// Whether a rule may match `line` (`false`: none can).
    pub fn may_match(&self, line: &str) -> bool {
        self.0.as_ref().is_none_or(|ac| ac.is_match(line))
    }

    /// Whether it is on (a literal was found for every rule).
    #[cfg(test)]
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }
}

/// Literals one of which every match of `hir` contains, if known: among a
/// concatenation's parts a single literal first (`Failed ` over
/// `password|publickey`: a branch's word is likelier in other lines),
/// then the longest at worst; every branch's literals for an alternation;
/// nothing for what may match empty.
fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(literal) => Some(vec![literal.0.to_vec()]),
        HirKind::Capture(capture) => required(&capture.sub),
        HirKind::Repetition(repetition) if repetition.min >= 1 => required(&repetition.sub),
        HirKind::Concat(parts) => parts
            .iter()
            .filter_map(required)
            .max_by_key(|any| (any.len() == 1, any.iter().map(Vec::len).min().unwrap_or(0))),
        HirKind::Alternation(branches) => {
            let mut any = Vec::new();
            for branch in branches {
                any.extend(required(branch)?);
            }
            Some(any)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literals(pattern: &str) -> Option<Vec<String>> {
        let hir = regex_syntax::parse(pattern).unwrap();
        required(&hir).map(|any| {
            any.into_iter()
                .map(|l| String::from_utf8(l).unwrap())
                .collect()
        })
    }

    #[test]
    fn the_longest_literal_every_match_holds_is_required() {
        assert_eq!(
            literals(r"Failed (?:password|publickey) for (?P<user>\S+) from \S+ port \d+"),
            Some(vec!["Failed ".into()])
        );
        assert_eq!(
            literals(r"(?P<user>\S+) : (?P<n>\d+) incorrect password attempts? ;"),
            Some(vec![" incorrect password attempt".into()])
        );
        assert_eq!(
            literals(r"(?:user NOT in sudoers|user NOT authorized on host)"),
            Some(vec![
                "user NOT in sudoers".into(),
                "user NOT authorized on host".into()
            ])
        );
        assert_eq!(literals(r"(?:abc)+x"), Some(vec!["abc".into()]));
    }

    #[test]
    fn what_may_match_without_a_literal_requires_none() {
        assert_eq!(literals(r".*"), None);
        assert_eq!(literals(r"(?:abc)?"), None);
        assert_eq!(literals(r"(?:abc|\d+)"), None);
        // Case-insensitive letters are classes, not literals.
        assert_eq!(literals(r"(?i)error"), None);
        assert!(!Prefilter::new([r"Failed \S+", r"(?i)panic"]).is_on());
        assert!(!Prefilter::new([r"a\d+"]).is_on(), "too short to tell");
    }

    #[test]
    fn a_line_without_any_rules_literal_is_not_tried() {
        let p = Prefilter::new([
            r"Failed (?:password|publickey) for",
            r"(?P<u>\S+) : user NOT",
        ]);
        assert!(p.is_on());
        assert!(p.may_match("sshd[1]: Failed password for root"));
        assert!(p.may_match("sudo: bob : user NOT in sudoers ; COMMAND=/bin/sh"));
        assert!(!p.may_match("sshd[1]: Accepted password for root"));
    }
}
