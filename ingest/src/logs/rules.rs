//! Line rules: a regex with named captures, a severity, a summary and
//! labels made from the captures, and an optional threshold. Every rule
//! of a set is compiled into one [`RegexSet`], so a line costs one pass
//! whatever the number of rules; only the rules it matches run their own
//! regex for the captures.

use super::scan::LineScan;
use super::template::Template;
use super::threshold::Threshold;
use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigil_store::Severity;

/// A rule as written (`[[collect.log_rules]]`, or the built-in pack).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineRuleConfig {
    /// Its name, in alerts and `vigilctl`.
    pub name: String,
    /// A regex (Rust syntax); `(?P<name>...)` captures feed the summary,
    /// the labels and the threshold's groups.
    pub pattern: String,
    /// `info`, `warning` (default), `error` or `critical`.
    #[serde(default)]
    pub severity: Option<String>,
    /// The alert's summary, with `{capture}` placeholders (default: the
    /// rule's name).
    #[serde(default)]
    pub summary: Option<String>,
    /// Labels on the alert; values may hold `{capture}` placeholders.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Alert only when this many matches fall in a window.
    #[serde(default)]
    pub threshold: Option<ThresholdConfig>,
    /// `false`: record matches, never alert.
    #[serde(default = "yes")]
    pub alert: bool,
    /// Only lines these programs wrote (the syslog tag: `sshd` of
    /// `sshd[42]: ...`); empty: any line.
    #[serde(default)]
    pub programs: Vec<String>,
}

fn yes() -> bool {
    true
}

/// `threshold = { count = 5, within = "60s", same = ["src_ip"], cooldown = "10m" }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdConfig {
    /// Matches that make an alert (at least 1).
    pub count: u32,
    /// The window, e.g. `"60s"`, `"5m"`.
    pub within: String,
    /// Captures whose values make a group (none: one group per rule).
    #[serde(default)]
    pub same: Vec<String>,
    /// Quiet after an alert (default: the window).
    #[serde(default)]
    pub cooldown: Option<String>,
}

/// A rule that does not compile: which one, which field, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("log rule \"{name}\" (#{index}): {field}: {reason}")]
pub struct LineRuleError {
    /// Its position in the list (0-based).
    pub index: usize,
    /// Its name.
    pub name: String,
    /// The field at fault.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub struct LineRule {
    /// Its name.
    pub name: String,
    regex: Regex,
    /// Its severity.
    pub severity: Severity,
    summary: Template,
    labels: Vec<(String, Template)>,
    /// Its threshold, if any.
    pub threshold: Option<Threshold>,
    /// Whether it alerts.
    pub alert: bool,
    /// The programs whose lines it applies to (empty: any).
    pub programs: Vec<String>,
}

/// What a rule made of a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineMatch {
    /// The rule's position in its set.
    pub rule: usize,
    /// The rule's name.
    pub name: String,
    /// Every named group that took part, by name.
    pub captures: BTreeMap<String, String>,
    /// The summary, rendered.
    pub summary: String,
    /// The labels, rendered.
    pub labels: BTreeMap<String, String>,
}

/// A set of rules, tried together.
#[derive(Clone, Debug)]
pub struct LineRules {
    set: RegexSet,
    rules: Vec<LineRule>,
    /// The rules over many lines at once, when their anchors allow it.
    scan: Option<LineScan>,
}

/// Longest compiled regex, in bytes of its program: a pattern that would
/// take more is refused at load, not slow at run time.
const REGEX_SIZE: usize = 1 << 20;

impl LineRules {
    /// Compiles `rules` in order.
    pub fn compile(rules: &[LineRuleConfig]) -> Result<LineRules, LineRuleError> {
        let mut compiled = Vec::with_capacity(rules.len());
        for (index, rule) in rules.iter().enumerate() {
            compiled.push(compile_one(index, rule)?);
        }
        let set = regex::RegexSetBuilder::new(rules.iter().map(|r| r.pattern.as_str()))
            .size_limit(REGEX_SIZE.saturating_mul(rules.len().max(1)))
            .build()
            .map_err(|e| LineRuleError {
                index: 0,
                name: rules.first().map(|r| r.name.clone()).unwrap_or_default(),
                field: "pattern".into(),
                reason: format!("the rules do not compile together: {e}"),
            })?;
        let patterns: Vec<&str> = rules.iter().map(|r| r.pattern.as_str()).collect();
        Ok(LineRules {
            set,
            rules: compiled,
            scan: LineScan::new(&patterns, REGEX_SIZE.saturating_mul(rules.len().max(1))),
        })
    }

    /// The rules as one scan over many lines, unless a pattern anchors to
    /// the start or end of the text (then lines go one by one).
    pub fn scan(&self) -> Option<&LineScan> {
        self.scan.as_ref()
    }

    /// The rules.
    pub fn rules(&self) -> &[LineRule] {
        &self.rules
    }

    /// Every rule `line` matches, in the rules' order.
    pub fn matches(&self, line: &str) -> Vec<LineMatch> {
        self.matches_and_left_out(line).0
    }

    /// Every rule `line` matches, and the rules whose pattern matched a
    /// line their `programs` filter left out (by position): what `vigilctl
    /// logs test` explains.
    pub fn matches_and_left_out(&self, line: &str) -> (Vec<LineMatch>, Vec<usize>) {
        // Most lines match nothing: a yes-or-no pass costs less than
        // asking which rules matched.
        if !self.set.is_match(line) {
            return (Vec::new(), Vec::new());
        }
        self.all_matches(line)
    }

    /// Every rule `line` matches, for a line the rules' [`LineScan`] found
    /// a match in: without asking first whether any rule does.
    pub fn matches_found(&self, line: &str) -> Vec<LineMatch> {
        self.all_matches(line).0
    }

    fn all_matches(&self, line: &str) -> (Vec<LineMatch>, Vec<usize>) {
        let program = super::syslog::program(line);
        let mut found = Vec::new();
        let mut left_out = Vec::new();
        for index in self.set.matches(line).iter() {
            let rule = &self.rules[index];
            if !rule.programs.is_empty()
                && !program.is_some_and(|p| rule.programs.iter().any(|r| r == p))
            {
                left_out.push(index);
                continue;
            }
            let Some(hit) = rule.regex.captures(line) else {
                continue;
            };
            // Inserted one by one: collecting into a map sorts through a
            // vector first, an allocation per line.
            let mut captures = BTreeMap::new();
            for name in rule.regex.capture_names().flatten() {
                if let Some(m) = hit.name(name) {
                    captures.insert(name.to_string(), m.as_str().to_string());
                }
            }
            let mut labels = BTreeMap::new();
            for (k, v) in &rule.labels {
                labels.insert(k.clone(), v.render(&captures));
            }
            found.push(LineMatch {
                rule: index,
                name: rule.name.clone(),
                summary: rule.summary.render(&captures),
                labels,
                captures,
            });
        }
        (found, left_out)
    }
}

fn compile_one(index: usize, rule: &LineRuleConfig) -> Result<LineRule, LineRuleError> {
    let fail = |field: &str, reason: String| LineRuleError {
        index,
        name: rule.name.clone(),
        field: field.to_string(),
        reason,
    };
    if let Some(bad) = rule
        .programs
        .iter()
        .find(|p| p.is_empty() || p.contains([':', '[', ' ']))
    {
        return Err(fail(
            "programs",
            format!("`{bad}` is no program name (as in `sshd` of `sshd[42]:`)"),
        ));
    }
    if rule.name.is_empty() || rule.name.chars().any(char::is_control) {
        return Err(fail(
            "name",
            "must be non-empty, without control characters".into(),
        ));
    }
    let regex = regex::RegexBuilder::new(&rule.pattern)
        .size_limit(REGEX_SIZE)
        .build()
        .map_err(|e| fail("pattern", e.to_string()))?;
    let names: Vec<String> = regex
        .capture_names()
        .flatten()
        .map(str::to_string)
        .collect();
    let known = |name: &str| names.iter().any(|n| n == name);
    let severity = match &rule.severity {
        None => Severity::Warning,
        Some(text) => text.parse().map_err(|e: String| fail("severity", e))?,
    };
    let summary = Template::parse(rule.summary.as_deref().unwrap_or(&rule.name), &known)
        .map_err(|e| fail("summary", e))?;
    let mut labels = Vec::new();
    for (key, value) in &rule.labels {
        let template =
            Template::parse(value, &known).map_err(|e| fail(&format!("labels.{key}"), e))?;
        labels.push((key.clone(), template));
    }
    let threshold = match &rule.threshold {
        None => None,
        Some(t) => Some(threshold(t, &known).map_err(|(field, e)| fail(&field, e))?),
    };
    Ok(LineRule {
        name: rule.name.clone(),
        regex,
        severity,
        summary,
        labels,
        threshold,
        alert: rule.alert,
        programs: rule.programs.clone(),
    })
}

fn threshold(
    t: &ThresholdConfig,
    known: &dyn Fn(&str) -> bool,
) -> Result<Threshold, (String, String)> {
    if t.count == 0 {
        return Err(("threshold.count".into(), "must be at least 1".into()));
    }
    let within = micros(&t.within).map_err(|e| ("threshold.within".to_string(), e))?;
    let cooldown = match &t.cooldown {
        Some(c) => micros(c).map_err(|e| ("threshold.cooldown".to_string(), e))?,
        None => within,
    };
    if let Some(unknown) = t.same.iter().find(|s| !known(s)) {
        return Err((
            "threshold.same".into(),
            format!("`{unknown}` names no capture of the pattern"),
        ));
    }
    Ok(Threshold {
        count: t.count,
        within,
        same: t.same.clone(),
        cooldown,
    })
}

/// A positive duration such as `"60s"` or `"5m"`, in microseconds.
fn micros(text: &str) -> Result<i64, String> {
    let d: jiff::SignedDuration = text
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write e.g. \"60s\" or \"5m\""))?;
    let us = d.as_micros();
    if us <= 0 {
        return Err(format!("`{text}` must be longer than zero"));
    }
    i64::try_from(us).map_err(|_| format!("`{text}` is too long"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rule(name: &str, pattern: &str) -> LineRuleConfig {
        LineRuleConfig {
            name: name.into(),
            pattern: pattern.into(),
            severity: None,
            summary: None,
            labels: BTreeMap::new(),
            threshold: None,
            alert: true,
            programs: Vec::new(),
        }
    }

    #[test]
    fn a_line_matches_every_rule_it_fits_with_its_captures() {
        let mut failed = rule(
            "failed",
            r"Failed password for (?P<user>\S+) from (?P<src_ip>\S+)",
        );
        failed.summary = Some("{user} failed from {src_ip}".into());
        failed.labels = BTreeMap::from([("source_ip".into(), "{src_ip}".into())]);
        let rules = LineRules::compile(&[
            failed,
            rule("any-sshd", r"sshd\[\d+\]"),
            rule("sudo", "sudo"),
        ])
        .unwrap();
        let line =
            "Dec  6 10:00:01 h sshd[42]: Failed password for root from 203.0.113.5 port 22 ssh2";
        let found = rules.matches(line);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].name, "failed");
        assert_eq!(found[0].summary, "root failed from 203.0.113.5");
        assert_eq!(found[0].labels["source_ip"], "203.0.113.5");
        assert_eq!(found[0].captures["user"], "root");
        assert_eq!(found[1].name, "any-sshd");
        assert!(rules.matches("nothing here").is_empty());
    }

    #[test]
    fn a_pattern_that_matched_another_programs_line_is_left_out_and_named() {
        let mut sshd = rule("failed", r"Failed password for (?P<user>\S+)");
        sshd.programs = vec!["sshd".into()];
        let rules = LineRules::compile(&[rule("any", "password"), sshd]).unwrap();
        let (found, left_out) = rules.matches_and_left_out("myapp[7]: Failed password for root");
        assert_eq!(found.iter().map(|m| m.rule).collect::<Vec<_>>(), [0]);
        assert_eq!(left_out, [1]);
        let (found, left_out) = rules.matches_and_left_out("sshd[7]: Failed password for root");
        assert_eq!((found.len(), left_out.len()), (2, 0));
    }

    #[test]
    fn mistakes_name_the_rule_and_the_field() {
        let e = LineRules::compile(&[rule("ok", "a"), rule("bad", "(")]).unwrap_err();
        assert_eq!(
            (e.index, e.name.as_str(), e.field.as_str()),
            (1, "bad", "pattern")
        );
        let mut r = rule("s", r"(?P<user>\w+)");
        r.summary = Some("{host}".into());
        let e = LineRules::compile(&[r]).unwrap_err();
        assert!(
            e.to_string().contains("summary") && e.to_string().contains("{host}"),
            "{e}"
        );
        let mut r = rule("t", r"(?P<user>\w+)");
        r.threshold = Some(ThresholdConfig {
            count: 5,
            within: "60s".into(),
            same: vec!["src_ip".into()],
            cooldown: None,
        });
        let e = LineRules::compile(&[r.clone()]).unwrap_err();
        assert_eq!(e.field, "threshold.same", "{e}");
        r.threshold = Some(ThresholdConfig {
            count: 5,
            within: "soon".into(),
            same: vec![],
            cooldown: None,
        });
        assert_eq!(
            LineRules::compile(&[r]).unwrap_err().field,
            "threshold.within"
        );
        let mut r = rule("v", "x");
        r.severity = Some("loud".into());
        assert_eq!(LineRules::compile(&[r]).unwrap_err().field, "severity");
    }

    #[test]
    fn a_threshold_compiles_to_microseconds_with_the_window_as_default_cooldown() {
        let mut r = rule("t", r"from (?P<src_ip>\S+)");
        r.threshold = Some(ThresholdConfig {
            count: 5,
            within: "1m".into(),
            same: vec!["src_ip".into()],
            cooldown: None,
        });
        let rules = LineRules::compile(&[r]).unwrap();
        let t = rules.rules()[0].threshold.clone().unwrap();
        assert_eq!((t.count, t.within, t.cooldown), (5, 60_000_000, 60_000_000));
    }
}
