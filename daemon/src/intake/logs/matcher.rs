//! What a followed set does with a line: tries its rules, counts the
//! matches of thresholds, makes alerts, decides whether the line is kept.

use super::lines::{self, Line};
use crate::config::{JournalSet, LogFormat, LogSet, Reading, StoreLines};
use std::collections::BTreeMap;
use vigil_ingest::logs::{LineRuleConfig, LineRules, LineScan};
use vigil_store::{Alert, AlertStatus, Hash, LogLine, LogRuleMatch, Severity};
use vigil_views::logs::{Counted, Thresholds};

/// The `alertname` of every log alert.
pub const ALERT_NAME: &str = "LogMatched";
/// Most characters of the line an alert's annotation quotes.
const QUOTED: usize = 1024;

/// One set's rules and settings, compiled.
pub struct SetRules {
    /// The set's name.
    pub name: String,
    rules: LineRules,
    store: StoreLines,
    json_field: Option<String>,
    labels: BTreeMap<String, String>,
    host: String,
}

impl SetRules {
    /// A `[[collect.logs]]` set's rules.
    pub fn of_logs(
        set: &LogSet,
        configured: &[LineRuleConfig],
        host: &str,
    ) -> Result<SetRules, String> {
        let json_field = (set.format == LogFormat::Json).then(|| set.message_field.clone());
        SetRules::compile(set.name(), set.reading(), json_field, configured, host)
    }

    /// A `[[collect.journal]]` set's rules.
    pub fn of_journal(
        set: &JournalSet,
        configured: &[LineRuleConfig],
        host: &str,
    ) -> Result<SetRules, String> {
        SetRules::compile(&set.name, set.reading(), None, configured, host)
    }

    fn compile(
        name: &str,
        reading: Reading<'_>,
        json_field: Option<String>,
        configured: &[LineRuleConfig],
        host: &str,
    ) -> Result<SetRules, String> {
        let rules = reading.rules(configured)?;
        Ok(SetRules {
            name: name.to_string(),
            rules: LineRules::compile(&rules).map_err(|e| e.to_string())?,
            store: reading.store,
            json_field,
            labels: reading.labels.clone(),
            host: host.to_string(),
        })
    }

    /// The rules over many lines at once, for a set where a line no rule
    /// matches makes nothing: lines kept only when they match, and read
    /// as they are written (not a field of JSON lines).
    pub fn scan(&self) -> Option<&LineScan> {
        if self.store != StoreLines::Matches || self.json_field.is_some() {
            return None;
        }
        self.rules.scan()
    }

    /// What `line` (of `path`, read at `at`) makes: the line to keep, if
    /// any. Threshold counts go into `thresholds`.
    pub fn line(
        &self,
        path: &str,
        line: Line<'_>,
        at: i64,
        thresholds: &mut Thresholds,
    ) -> Option<LogLine> {
        let text = lines::text(line.bytes, line.truncated);
        let subject = match &self.json_field {
            Some(field) => vigil_ingest::logs::json_message(&text, field),
            None => None,
        };
        // A line the set's scan found a match in needs no yes-or-no pass.
        let found = if line.matches && subject.is_none() {
            self.rules.matches_found(&text)
        } else {
            self.rules.matches(subject.as_deref().unwrap_or(&text))
        };
        if found.is_empty() && self.store == StoreLines::Matches {
            return None;
        }
        let mut matches = Vec::with_capacity(found.len());
        for m in found {
            let rule = &self.rules.rules()[m.rule];
            let threshold = rule.threshold.as_ref().map(|t| t.count_for(&m.captures));
            let counted = threshold
                .as_ref()
                .map(|t| thresholds.observe(&rule.name, t, at));
            let fires = rule.alert && matches!(counted, None | Some(Counted::Reached { .. }));
            let alert = fires.then(|| {
                // One incident per rule and group: the threshold's group,
                // else what the rule's labels (or, without any, its
                // captures) say, so `nginx.service` failing and
                // `cron.service` failing are two incidents, and nginx
                // failing again updates its own.
                let (identity, count) = match &threshold {
                    Some(t) => (
                        t.key.clone(),
                        Some(format!(
                            "{} matches within {}s",
                            t.count,
                            t.within / 1_000_000
                        )),
                    ),
                    None if m.labels.is_empty() => (spelled(&m.captures), None),
                    None => (spelled(&m.labels), None),
                };
                self.alert(
                    path,
                    rule.severity,
                    &m.name,
                    &m.summary,
                    m.labels,
                    (identity, count),
                    &text,
                    at,
                )
            });
            matches.push(LogRuleMatch {
                rule: m.name,
                threshold,
                alert,
            });
        }
        Some(LogLine {
            offset: line.offset,
            cursor: line.cursor.map(str::to_string),
            text: text.into_owned(),
            truncated: line.truncated,
            matches,
        })
    }

    #[allow(clippy::too_many_arguments, reason = "the parts of one alert")]
    fn alert(
        &self,
        path: &str,
        severity: Severity,
        rule: &str,
        summary: &str,
        rule_labels: BTreeMap<String, String>,
        (identity, count): (String, Option<String>),
        line: &str,
        at: i64,
    ) -> Alert {
        let digest = Hash::sha256(format!("logs\0{}\0{rule}\0{identity}", self.name).as_bytes());
        let mut labels = self.labels.clone();
        labels.extend(rule_labels);
        for (key, value) in [
            ("alertname", ALERT_NAME),
            ("rule", rule),
            ("set", &self.name),
            ("path", path),
            ("host", &self.host),
            ("severity", &severity.to_string()),
        ] {
            labels.insert(key.to_string(), value.to_string());
        }
        let quoted = line
            .char_indices()
            .nth(QUOTED)
            .map_or(line, |(at, _)| &line[..at]);
        let mut annotations = BTreeMap::from([("line".to_string(), quoted.to_string())]);
        if let Some(count) = count {
            annotations.insert("threshold".into(), count);
        }
        Alert {
            fingerprint: hex::encode(&digest.0[..16]),
            status: AlertStatus::Firing,
            severity,
            summary: summary.to_string(),
            labels,
            annotations,
            starts_at: Some(at),
            ends_at: None,
            links: Vec::new(),
        }
    }
}

/// `map` spelled out as `name␟value␞...` (not Debug-formatted: a
/// fingerprint must not change with the standard library's formatting).
fn spelled(map: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push('\u{1e}');
        }
        out.push_str(k);
        out.push('\u{1f}');
        out.push_str(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// `text` as a whole line of a file, not known to match.
    fn plain(text: &str) -> Line<'_> {
        Line {
            offset: 0,
            end: text.len() as u64 + 1,
            bytes: text.as_bytes(),
            truncated: false,
            cursor: None,
            matches: false,
        }
    }

    fn set(extra: &str) -> SetRules {
        let config = Config::parse(
            "t.toml",
            &format!("[[collect.logs]]\npath = \"/var/log/auth.log\"\n{extra}"),
        )
        .unwrap();
        SetRules::of_logs(
            config.collect.logs[0].get_ref(),
            &config.collect.log_rules,
            "h1",
        )
        .unwrap()
    }

    const FAILED: &str =
        "Dec  6 10:00:01 h1 sshd[42]: Failed password for root from 203.0.113.5 port 22 ssh2";

    #[test]
    fn the_fifth_failed_login_alerts_with_the_address_and_the_rest_only_count() {
        let rules = set("");
        let mut thresholds = Thresholds::default();
        let mut alerts = Vec::new();
        for i in 0..7 {
            let line = rules
                .line(
                    "/var/log/auth.log",
                    // Every other line as a scan hands it over.
                    Line {
                        matches: i % 2 == 0,
                        ..plain(FAILED)
                    },
                    i * 1_000_000,
                    &mut thresholds,
                )
                .expect("a match is kept");
            let m = &line.matches[0];
            assert_eq!(m.threshold.as_ref().unwrap().key, "203.0.113.5");
            alerts.extend(m.alert.clone());
        }
        assert_eq!(alerts.len(), 1, "one alert, then the cooldown");
        let alert = &alerts[0];
        assert_eq!(alert.labels["alertname"], ALERT_NAME);
        assert_eq!(alert.labels["rule"], "sshd-failed-password");
        assert_eq!(alert.labels["host"], "h1");
        assert_eq!(alert.annotations["threshold"], "5 matches within 60s");
        assert!(alert.summary.contains("203.0.113.5"), "{}", alert.summary);
        assert_eq!(alert.severity, Severity::Error);
    }

    #[test]
    fn one_rule_and_one_group_make_one_fingerprint_and_others_another() {
        let rules = set("rules = [\"builtin\"]\n");
        let mut t = Thresholds::default();
        let unit = |name: &str, t: &mut Thresholds| {
            let line = format!(
                "Dec  6 10:04:00 web systemd[1]: {name}.service: Failed with result 'exit-code'."
            );
            let kept = rules.line("p", plain(&line), 0, t).unwrap();
            kept.matches[0].alert.clone().unwrap().fingerprint
        };
        let nginx = unit("nginx", &mut t);
        assert_eq!(unit("nginx", &mut t), nginx, "the same unit failing again");
        assert_ne!(unit("cron", &mut t), nginx, "another unit");
        assert_eq!(nginx.len(), 32);
    }

    #[test]
    fn unmatched_lines_are_kept_only_when_the_set_stores_all() {
        let mut t = Thresholds::default();
        assert!(set("").line("p", plain("hello"), 0, &mut t).is_none());
        let all = set("store = \"all\"\n")
            .line(
                "p",
                Line {
                    truncated: true,
                    ..plain("hello")
                },
                0,
                &mut t,
            )
            .unwrap();
        assert!(all.matches.is_empty() && all.truncated);
    }

    #[test]
    fn a_json_line_is_matched_on_its_message_field() {
        let rules = set(
            "format = \"json\"\nrules = [\"oops\"]\n\n[[collect.log_rules]]\nname = \"oops\"\npattern = '^panic: (?P<what>.+)'\nlabels = { what = \"{what}\" }\n",
        );
        let mut t = Thresholds::default();
        let line = rules
            .line(
                "p",
                plain(r#"{"level":"error","message":"panic: disk"}"#),
                0,
                &mut t,
            )
            .unwrap();
        let alert = line.matches[0].alert.as_ref().unwrap();
        assert_eq!(alert.labels["what"], "disk");
        assert_eq!(alert.severity, Severity::Warning);
        assert!(
            rules
                .line("p", plain(r#"{"message":"fine"}"#), 0, &mut t)
                .is_none()
        );
    }
}
