//! Inhibition: a firing alert (the source) mutes notifications for other
//! alerts (the targets), e.g. a "datacenter down" page mutes the hundreds
//! of "host down" warnings it causes.
//!
//! Alertmanager's semantics: a target is inhibited while some *firing*
//! alert matches the rule's source matchers and has the same value as the
//! target for every `equal` label, a missing label being equal to a
//! missing (or empty) one. When the target itself also matches the source
//! matchers, sources that also match the target matchers are disregarded,
//! so an alert never inhibits itself and alerts that match both sides do
//! not inhibit each other.
//!
//! Unlike Alertmanager, a rule must have at least one source and one
//! target matcher: an empty side matches every alert, and a rule whose
//! target matches everything can silence all notifications by accident.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use vigil_store::Labels;

use super::matcher::{MatchOp, Matcher, MatcherError, Matchers};

/// One inhibit rule as configured (`[[notify.inhibit_rules]]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    /// Matchers a firing alert must satisfy to inhibit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_matchers: Vec<String>,
    /// Matchers an alert must satisfy to be inhibited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_matchers: Vec<String>,
    /// Alertmanager's deprecated `source_match` (equality).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source_match: BTreeMap<String, String>,
    /// Alertmanager's deprecated `source_match_re`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source_match_re: BTreeMap<String, String>,
    /// Alertmanager's deprecated `target_match` (equality).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_match: BTreeMap<String, String>,
    /// Alertmanager's deprecated `target_match_re`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_match_re: BTreeMap<String, String>,
    /// Labels whose values source and target must share.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equal: Vec<String>,
}

/// What is wrong with an inhibit rule.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum InhibitErrorKind {
    /// A matcher that does not parse.
    #[error("{field}: {source}")]
    Matcher {
        /// `source_matchers[0]`, `target_match.NAME`, ...
        field: String,
        /// Why.
        source: MatcherError,
    },
    /// No source matcher.
    #[error("no source matchers: the rule would let any firing alert inhibit")]
    NoSource,
    /// No target matcher.
    #[error("no target matchers: the rule could inhibit every alert")]
    NoTarget,
    /// An empty or repeated `equal` label.
    #[error("equal: empty or duplicate label \"{0}\"")]
    Equal(String),
}

/// An inhibit rule that does not validate, with its place in the config.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{path}: {kind}")]
pub struct InhibitError {
    /// `inhibit_rules[2]`.
    pub path: String,
    /// What.
    pub kind: InhibitErrorKind,
}

/// A validated inhibit rule.
#[derive(Clone, Debug, PartialEq)]
pub struct InhibitRule {
    source: Matchers,
    target: Matchers,
    equal: Vec<String>,
}

impl InhibitRule {
    /// A rule from parsed parts; both sides need a matcher.
    pub fn new(
        source: Matchers,
        target: Matchers,
        equal: Vec<String>,
    ) -> Result<Self, InhibitErrorKind> {
        if source.is_empty() {
            return Err(InhibitErrorKind::NoSource);
        }
        if target.is_empty() {
            return Err(InhibitErrorKind::NoTarget);
        }
        for (i, label) in equal.iter().enumerate() {
            if label.is_empty() || equal[..i].contains(label) {
                return Err(InhibitErrorKind::Equal(label.clone()));
            }
        }
        Ok(Self {
            source,
            target,
            equal,
        })
    }

    /// Validates a configured rule.
    pub fn compile(config: &InhibitRuleConfig) -> Result<Self, InhibitErrorKind> {
        let source = side(
            "source",
            &config.source_matchers,
            &config.source_match,
            &config.source_match_re,
        )?;
        let target = side(
            "target",
            &config.target_matchers,
            &config.target_match,
            &config.target_match_re,
        )?;
        Self::new(source, target, config.equal.clone())
    }

    /// Whether `source` (a firing alert) inhibits `target` under this rule.
    pub fn inhibits(&self, target: &Labels, source: &Labels) -> bool {
        self.target.matches(target)
            && self.source.matches(source)
            && self.equal_labels(target, source)
            && !(self.source.matches(target) && self.target.matches(source))
    }

    fn equal_labels(&self, a: &Labels, b: &Labels) -> bool {
        self.equal.iter().all(|n| value(a, n) == value(b, n))
    }

    /// The source matchers.
    pub fn source(&self) -> &Matchers {
        &self.source
    }

    /// The target matchers.
    pub fn target(&self) -> &Matchers {
        &self.target
    }

    /// The labels that must be equal.
    pub fn equal(&self) -> &[String] {
        &self.equal
    }
}

/// A missing label reads as the empty string, as everywhere in matching.
fn value<'a>(labels: &'a Labels, name: &str) -> &'a str {
    labels.get(name).map_or("", String::as_str)
}

/// One side's matchers: the list, then the deprecated maps.
fn side(
    prefix: &str,
    list: &[String],
    eq: &BTreeMap<String, String>,
    re: &BTreeMap<String, String>,
) -> Result<Matchers, InhibitErrorKind> {
    let mut out = Matchers::default();
    for (i, text) in list.iter().enumerate() {
        let parsed = Matchers::parse(text).map_err(|source| InhibitErrorKind::Matcher {
            field: format!("{prefix}_matchers[{i}]"),
            source,
        })?;
        for m in &parsed {
            out.push(m.clone());
        }
    }
    for (suffix, map, op) in [
        ("match", eq, MatchOp::Equal),
        ("match_re", re, MatchOp::Regex),
    ] {
        for (name, v) in map {
            out.push(
                Matcher::new(name, op, v).map_err(|source| InhibitErrorKind::Matcher {
                    field: format!("{prefix}_{suffix}.{name}"),
                    source,
                })?,
            );
        }
    }
    Ok(out)
}

/// The inhibit rules together.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inhibitor {
    rules: Vec<InhibitRule>,
}

impl Inhibitor {
    /// Wraps validated rules.
    pub fn new(rules: Vec<InhibitRule>) -> Self {
        Self { rules }
    }

    /// Validates configured rules, naming the first bad one.
    pub fn compile(configs: &[InhibitRuleConfig]) -> Result<Self, InhibitError> {
        let rules = configs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                InhibitRule::compile(c).map_err(|kind| InhibitError {
                    path: format!("inhibit_rules[{i}]"),
                    kind,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// Whether there are no rules (nothing is ever inhibited).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `target` is inhibited by one of `firing` (the labels of
    /// every firing alert; it may include the target itself).
    pub fn is_inhibited<'a, I>(&self, target: &Labels, firing: I) -> bool
    where
        I: IntoIterator<Item = &'a Labels>,
    {
        // Only rules whose target side matches can apply; check them once.
        let rules: Vec<&InhibitRule> = self
            .rules
            .iter()
            .filter(|r| r.target.matches(target))
            .collect();
        if rules.is_empty() {
            return false;
        }
        firing
            .into_iter()
            .any(|source| rules.iter().any(|r| r.inhibits(target, source)))
    }

    /// The rules.
    pub fn rules(&self) -> &[InhibitRule] {
        &self.rules
    }
}
