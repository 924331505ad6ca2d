//! `vigilctl logs test`: the configured rules tried on lines a caller
//! sends, the way the collector tries them (a set's selection, its default
//! severity and JSON field), and what each rule made of them, like
//! fail2ban-regex. Nothing is recorded or counted: thresholds are shown as
//! configured, not advanced.
//!
//! The confusing case gets its own answer: a rule whose pattern matched a
//! line its `programs` filter left out (`logger "Failed password ..."`
//! written by another program is not sshd's line): the rules' one pass
//! says which patterns matched a line their filter then left out
//! (`LineRules::matches_and_left_out`).

use crate::config::{CollectConfig, EVERY_RULE, LogFormat, Reading, StartAt, StoreLines};
use crate::control::conn::Fail;
use crate::control::listing::json_len;
use std::collections::BTreeMap;
use toml::Spanned;
use vigil_ingest::logs::{LineMatch, LineRuleConfig, LineRules, program};
use vigil_ingest::redact::Redactor;
use vigil_proto::{
    LOG_TEST_SAMPLES, LogRuleTested, LogTestExclusion, LogTestMatch, LogTestReport, LogThreshold,
};

/// Why the rules asked for cannot be tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineTestError {
    /// `--set` names no configured set.
    #[error(
        "no [[collect.logs]] or [[collect.journal]] is named `{set}`; {}",
        listed("the sets are", known)
    )]
    UnknownSet {
        /// The name given.
        set: String,
        /// The configured sets' names.
        known: Vec<String>,
    },
    /// `--rule` names no rule.
    #[error("no log rule is named `{rule}`; {}", listed("the rules are", known))]
    UnknownRule {
        /// The name given.
        rule: String,
        /// Every rule's name, configured and built in.
        known: Vec<String>,
    },
    /// `--rule` names a rule the set does not use.
    #[error(
        "rule `{rule}` is not one of the rules of set `{set}` ({}): test it without --set, or add it to the set's rules",
        chosen.join(", ")
    )]
    NotInSet {
        /// The rule.
        rule: String,
        /// The set.
        set: String,
        /// The rules the set uses.
        chosen: Vec<String>,
    },
    /// The configuration's rules do not resolve or compile (it was
    /// checked at load, so only a bug gets here).
    #[error("the configured log rules cannot be used: {0}")]
    Rules(String),
}

fn listed(what: &str, names: &[String]) -> String {
    if names.is_empty() {
        "none is configured".to_string()
    } else {
        format!("{what}: {}", names.join(", "))
    }
}

/// The rules chosen for a test, compiled.
pub struct LineTest {
    /// As the collector compiles them.
    rules: LineRules,
    /// With a JSON set: the field the rules see.
    json_field: Option<String>,
}

/// The rules a set uses (every rule without a set), with the set's
/// default severity, and its JSON field.
fn selection(
    collect: &CollectConfig,
    set: Option<&str>,
) -> Result<(Vec<LineRuleConfig>, Option<String>), LineTestError> {
    let configured = &collect.log_rules;
    let every = [Spanned::new(0..0, EVERY_RULE.to_string())];
    let no_labels = BTreeMap::new();
    let (reading, json_field) = match set {
        None => (
            Reading {
                rules: &every,
                store: StoreLines::Matches,
                max_line_bytes: 0,
                start_at: StartAt::End,
                severity: None,
                labels: &no_labels,
            },
            None,
        ),
        Some(name) => {
            let logs = collect
                .logs
                .iter()
                .map(Spanned::get_ref)
                .find(|s| s.name() == name);
            let journal = collect
                .journal
                .iter()
                .map(Spanned::get_ref)
                .find(|s| s.name == name);
            match (logs, journal) {
                (Some(s), _) => (
                    s.reading(),
                    (s.format == LogFormat::Json).then(|| s.message_field.clone()),
                ),
                (None, Some(s)) => (s.reading(), None),
                (None, None) => {
                    return Err(LineTestError::UnknownSet {
                        set: name.to_string(),
                        known: set_names(collect),
                    });
                }
            }
        }
    };
    let rules = reading.rules(configured).map_err(LineTestError::Rules)?;
    Ok((rules, json_field))
}

/// Every configured set's name, in configuration order.
pub fn set_names(collect: &CollectConfig) -> Vec<String> {
    let logs = collect.logs.iter().map(|s| s.get_ref().name().to_string());
    let journal = collect.journal.iter().map(|s| s.get_ref().name.clone());
    logs.chain(journal).collect()
}

impl LineTest {
    /// The rules of `set` (every rule without one), or only `rule` among
    /// them.
    pub fn new(
        collect: &CollectConfig,
        set: Option<&str>,
        rule: Option<&str>,
    ) -> Result<LineTest, LineTestError> {
        let (mut rules, json_field) = selection(collect, set)?;
        if let Some(wanted) = rule {
            match rules.iter().position(|r| r.name == wanted) {
                Some(i) => rules = vec![rules.swap_remove(i)],
                None => {
                    let (every, _) = selection(collect, None)?;
                    let known: Vec<String> = every.into_iter().map(|r| r.name).collect();
                    return Err(match set {
                        Some(set) if known.iter().any(|k| k == wanted) => LineTestError::NotInSet {
                            rule: wanted.to_string(),
                            set: set.to_string(),
                            chosen: rules.into_iter().map(|r| r.name).collect(),
                        },
                        _ => LineTestError::UnknownRule {
                            rule: wanted.to_string(),
                            known,
                        },
                    });
                }
            }
        }
        Ok(LineTest {
            rules: LineRules::compile(&rules).map_err(|e| LineTestError::Rules(e.to_string()))?,
            json_field,
        })
    }

    /// What the rules make of `lines` (numbered from 1), with what is
    /// shown redacted as the collector stores it, and samples dropped
    /// (counted in `omitted`) until the report takes at most `budget`
    /// bytes of JSON.
    pub fn run(
        &self,
        lines: &[String],
        redactor: &Redactor,
        budget: usize,
    ) -> Result<LogTestReport, Fail> {
        let mut tested: Vec<LogRuleTested> = self
            .rules
            .rules()
            .iter()
            .map(|r| LogRuleTested {
                rule: r.name.clone(),
                severity: r.severity,
                alert: r.alert,
                threshold: r.threshold.as_ref().map(|t| LogThreshold {
                    count: t.count,
                    within: t.within,
                    same: t.same.clone(),
                    cooldown: t.cooldown,
                }),
                programs: r.programs.clone(),
                matched: 0,
                excluded: 0,
                matches: Vec::new(),
                exclusions: Vec::new(),
                omitted: 0,
            })
            .collect();
        let mut matched_lines = 0;
        for (number, line) in (1u64..).zip(lines) {
            let subject = self
                .json_field
                .as_deref()
                .and_then(|field| vigil_ingest::logs::json_message(line, field));
            let subject = subject.as_deref().unwrap_or(line);
            let (found, left_out) = self.rules.matches_and_left_out(subject);
            matched_lines += u64::from(!found.is_empty());
            for m in found {
                let rule = &mut tested[m.rule];
                rule.matched += 1;
                if rule.matches.len() < LOG_TEST_SAMPLES {
                    rule.matches.push(shown(number, m, redactor));
                }
            }
            for index in left_out {
                let rule = &mut tested[index];
                rule.excluded += 1;
                if rule.exclusions.len() < LOG_TEST_SAMPLES {
                    rule.exclusions.push(LogTestExclusion {
                        line: number,
                        program: program(subject).map(|p| redactor.redact(p).into_owned()),
                    });
                }
            }
        }
        let mut report = LogTestReport {
            lines: lines.len() as u64,
            matched: matched_lines,
            json_field: self.json_field.clone(),
            rules: tested,
        };
        fit(&mut report, budget)?;
        Ok(report)
    }
}

/// A match as shown: its captures, summary and labels redacted, as the
/// collector's alert would hold them.
fn shown(line: u64, m: LineMatch, redactor: &Redactor) -> LogTestMatch {
    let redacted = |map: BTreeMap<String, String>| {
        map.into_iter()
            .map(|(k, v)| (k, redactor.redact(&v).into_owned()))
            .collect()
    };
    LogTestMatch {
        line,
        summary: redactor.redact(&m.summary).into_owned(),
        captures: redacted(m.captures),
        labels: redacted(m.labels),
    }
}

/// Drops matches, the newest first from the rule showing the most,
/// until `report` takes at most `budget` bytes of JSON: captures can be
/// as long as their lines, and a line as long as [`LOG_TEST_LINE_MAX`],
/// so a few rules' samples could outgrow a frame.
///
/// [`LOG_TEST_LINE_MAX`]: vigil_proto::LOG_TEST_LINE_MAX
fn fit(report: &mut LogTestReport, budget: usize) -> Result<(), Fail> {
    let mut total = json_len(report)?;
    while total > budget {
        let Some(rule) = report
            .rules
            .iter_mut()
            .filter(|r| !r.matches.is_empty())
            .max_by_key(|r| r.matches.len())
        else {
            return Ok(());
        };
        if let Some(dropped) = rule.matches.pop() {
            // And the comma before it.
            total = total.saturating_sub(json_len(&dropped)? + 1);
            rule.omitted += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use vigil_store::Severity;

    fn collect(extra: &str) -> CollectConfig {
        Config::parse(
            "t.toml",
            &format!(
                "[collect]\nallowed_roots = [\"/var/log\"]\n\n[[collect.logs]]\nname = \"auth\"\npath = \"/var/log/auth.log\"\n{extra}"
            ),
        )
        .unwrap()
        .collect
    }

    fn redactor() -> Redactor {
        Redactor::new(&[]).unwrap()
    }

    const FAILED: &str = "Dec  6 10:00:01 bastion sshd[4242]: Failed password for invalid user admin from 203.0.113.5 port 51234 ssh2";
    const FORGED: &str =
        "Dec  6 10:00:02 bastion mallory: Failed password for root from 198.51.100.7 port 22 ssh2";

    fn rule<'a>(report: &'a LogTestReport, name: &str) -> &'a LogRuleTested {
        report.rules.iter().find(|r| r.rule == name).unwrap()
    }

    #[test]
    fn a_debian_sshd_line_matches_the_builtin_rule_with_its_captures_and_threshold() {
        let test = LineTest::new(&collect(""), None, None).unwrap();
        let report = test
            .run(&[FAILED.to_string()], &redactor(), 1 << 20)
            .unwrap();
        assert_eq!((report.lines, report.matched), (1, 1));
        let r = rule(&report, "sshd-failed-password");
        assert_eq!((r.matched, r.excluded, r.severity), (1, 0, Severity::Error));
        let m = &r.matches[0];
        assert_eq!(m.line, 1);
        assert_eq!(m.captures["user"], "admin");
        assert_eq!(m.captures["src_ip"], "203.0.113.5");
        assert!(m.summary.contains("203.0.113.5"), "{}", m.summary);
        let t = r.threshold.as_ref().unwrap();
        assert_eq!(
            (t.count, t.within, t.same.as_slice()),
            (5, 60_000_000, &["src_ip".to_string()][..])
        );
        assert_eq!(r.programs, ["sshd", "sshd-session"]);
        // Every rule tried is reported, matched or not.
        assert!(report.rules.len() > 5);
        assert_eq!(rule(&report, "kernel-oom-kill").matched, 0);
    }

    #[test]
    fn a_line_from_another_program_is_reported_as_left_out_by_the_filter() {
        let test = LineTest::new(&collect(""), None, None).unwrap();
        let report = test
            .run(
                &[FORGED.to_string(), FAILED.to_string()],
                &redactor(),
                1 << 20,
            )
            .unwrap();
        assert_eq!(report.matched, 1, "only sshd's own line");
        let r = rule(&report, "sshd-failed-password");
        assert_eq!((r.matched, r.excluded), (1, 1));
        assert_eq!(
            r.exclusions,
            [LogTestExclusion {
                line: 1,
                program: Some("mallory".into())
            }]
        );
        // No syslog header at all: no program to name.
        let report = test
            .run(
                &["Failed password for root from 10.0.0.1 port 22".into()],
                &redactor(),
                1 << 20,
            )
            .unwrap();
        let r = rule(&report, "sshd-failed-password");
        assert_eq!(r.exclusions[0].program, None);
    }

    #[test]
    fn a_set_uses_its_rules_severity_and_json_field() {
        let collect = collect(
            "\n[[collect.logs]]\nname = \"app\"\npath = \"/var/log/app.json\"\nformat = \"json\"\nrules = [\"oops\"]\nseverity = \"critical\"\n\n[[collect.log_rules]]\nname = \"oops\"\npattern = '^panic: (?P<what>.+)'\nlabels = { what = \"{what}\" }\n",
        );
        let test = LineTest::new(&collect, Some("app"), None).unwrap();
        let report = test
            .run(
                &[
                    r#"{"message":"panic: disk full"}"#.into(),
                    "panic: not json".into(),
                ],
                &redactor(),
                1 << 20,
            )
            .unwrap();
        assert_eq!(report.json_field.as_deref(), Some("message"));
        assert_eq!(report.rules.len(), 1, "the set's selection only");
        let r = &report.rules[0];
        assert_eq!((r.rule.as_str(), r.severity), ("oops", Severity::Critical));
        // A line that is no JSON is matched whole, as the collector does.
        assert_eq!(r.matched, 2);
        assert_eq!(r.matches[0].labels["what"], "disk full");
        // One rule of the set, and one it does not use.
        assert!(LineTest::new(&collect, Some("app"), Some("oops")).is_ok());
        let e = LineTest::new(&collect, Some("app"), Some("sshd-failed-password"))
            .err()
            .unwrap();
        assert!(matches!(e, LineTestError::NotInSet { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("not one of the rules of set `app` (oops)"),
            "{e}"
        );
    }

    #[test]
    fn unknown_names_are_refused_with_the_names_there_are() {
        let collect = collect("");
        let e = LineTest::new(&collect, Some("nope"), None).err().unwrap();
        assert_eq!(
            e.to_string(),
            "no [[collect.logs]] or [[collect.journal]] is named `nope`; the sets are: auth"
        );
        let e = LineTest::new(&collect, None, Some("sshd-failed"))
            .err()
            .unwrap();
        let text = e.to_string();
        assert!(
            text.starts_with("no log rule is named `sshd-failed`; the rules are: "),
            "{text}"
        );
        assert!(
            text.contains("sshd-failed-password") && text.contains("kernel-oom-kill"),
            "{text}"
        );
        let only = LineTest::new(&collect, None, Some("sshd-invalid-user")).unwrap();
        assert_eq!(only.rules.rules().len(), 1);
    }

    #[test]
    fn what_is_shown_is_redacted_as_it_would_be_stored() {
        let collect = collect(
            "\n[[collect.log_rules]]\nname = \"token\"\npattern = 'token=(?P<token>\\S+)'\nsummary = \"token {token}\"\n",
        );
        let test = LineTest::new(&collect, None, Some("token")).unwrap();
        let secret = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
        let report = test
            .run(&[format!("app: token={secret}")], &redactor(), 1 << 20)
            .unwrap();
        let m = &report.rules[0].matches[0];
        assert!(!m.summary.contains(secret), "{}", m.summary);
        assert!(!m.captures["token"].contains(secret), "{:?}", m.captures);
    }

    #[test]
    fn samples_are_few_and_dropped_to_fit_the_budget() {
        let test = LineTest::new(&collect(""), None, Some("sshd-failed-password")).unwrap();
        let lines = vec![FAILED.to_string(); 12];
        let report = test.run(&lines, &redactor(), 1 << 20).unwrap();
        let r = &report.rules[0];
        assert_eq!(
            (r.matched, r.matches.len(), r.omitted),
            (12, LOG_TEST_SAMPLES, 0)
        );
        let small = test.run(&lines, &redactor(), 700).unwrap();
        let r = &small.rules[0];
        assert_eq!(r.matched, 12, "still counted");
        assert!(r.matches.len() < LOG_TEST_SAMPLES && r.omitted > 0, "{r:?}");
        assert_eq!(r.matches.len() as u64 + r.omitted, LOG_TEST_SAMPLES as u64);
        assert!(json_len(&small).unwrap() <= 700);
    }
}
