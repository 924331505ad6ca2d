//! `vigilctl logs test`: the daemon's configured rules tried on one line
//! or on every line of a file, like fail2ban-regex: per rule how many
//! lines it matched (and how many its `programs` filter left out), and
//! its first matches with their captures, summary and labels.

use super::input::{Batch, InputError, Lines};
use crate::cli::Failure;
use crate::cli::files::one_line;
use crate::cli::output::{Out, table};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::time::Duration;
use vigil_proto::{
    LOG_TEST_LINE_MAX, LOG_TEST_SAMPLES, LogRuleTested, LogTestReport, LogThreshold, Request,
};
use vigil_store::Severity;
use vigilctl::Client;

/// What is tested, and with which rules.
pub struct Test {
    /// The set whose rules (every rule when none).
    pub set: Option<String>,
    /// Only this rule.
    pub rule: Option<String>,
}

/// A match as printed: its line's number and text with what the rule
/// made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shown {
    line: u64,
    text: String,
    captures: BTreeMap<String, String>,
    summary: String,
    labels: BTreeMap<String, String>,
}

/// A line a rule's `programs` filter left out, as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    line: u64,
    text: String,
    program: Option<String>,
}

/// One rule over every batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleTally {
    rule: String,
    severity: Severity,
    alert: bool,
    threshold: Option<LogThreshold>,
    programs: Vec<String>,
    matched: u64,
    excluded: u64,
    matches: Vec<Shown>,
    exclusions: Vec<LeftOut>,
    /// Matches the daemon left out of its answers to fit a frame while
    /// fewer than the samples were shown.
    omitted: u64,
}

/// Every rule over every batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    lines: u64,
    matched: u64,
    /// Lines longer than the longest tested, cut there.
    cut: u64,
    json_field: Option<String>,
    rules: Vec<RuleTally>,
}

impl Tally {
    /// Adds the report on `lines`, the batch whose first line is line
    /// `first` of the input.
    fn add(&mut self, report: LogTestReport, lines: &[String], first: u64) {
        self.lines += report.lines;
        self.matched += report.matched;
        self.json_field = report.json_field;
        let text = |line: u64| {
            // Lines are numbered from 1; a 0 from a daemon shows no text
            // rather than panicking here.
            line.checked_sub(1)
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| lines.get(i))
                .cloned()
                .unwrap_or_default()
        };
        for tested in report.rules {
            let LogRuleTested {
                rule,
                severity,
                alert,
                threshold,
                programs,
                matched,
                excluded,
                matches,
                exclusions,
                omitted,
            } = tested;
            let i = match self.rules.iter().position(|r| r.rule == rule) {
                Some(i) => i,
                None => {
                    self.rules.push(RuleTally {
                        rule,
                        severity,
                        alert,
                        threshold,
                        programs,
                        matched: 0,
                        excluded: 0,
                        matches: Vec::new(),
                        exclusions: Vec::new(),
                        omitted: 0,
                    });
                    self.rules.len() - 1
                }
            };
            let tally = &mut self.rules[i];
            tally.matched += matched;
            tally.excluded += excluded;
            if tally.matches.len() < LOG_TEST_SAMPLES {
                tally.omitted += omitted;
            }
            for m in matches {
                if tally.matches.len() < LOG_TEST_SAMPLES {
                    tally.matches.push(Shown {
                        line: (first + m.line).saturating_sub(1),
                        text: text(m.line),
                        captures: m.captures,
                        summary: m.summary,
                        labels: m.labels,
                    });
                }
            }
            for e in exclusions {
                if tally.exclusions.len() < LOG_TEST_SAMPLES {
                    tally.exclusions.push(LeftOut {
                        line: (first + e.line).saturating_sub(1),
                        text: text(e.line),
                        program: e.program,
                    });
                }
            }
        }
    }
}

/// `--line`: refused here when the daemon would refuse it, with words
/// about the command line rather than a request.
pub fn one(client: &mut Client, line: String, test: Test, out: &Out) -> Result<(), Failure> {
    if line.trim().is_empty() {
        return Err(Failure::Error(
            "the line is empty; give the text of a log line, e.g. --line 'sshd[42]: Failed password for root from 203.0.113.5 port 22 ssh2'".into(),
        ));
    }
    if line.contains('\n') {
        return Err(Failure::Error(
            "--line holds a newline: give one line, or test many with --file".into(),
        ));
    }
    if line.len() > LOG_TEST_LINE_MAX {
        return Err(Failure::Error(format!(
            "the line is {} bytes; the longest line tested is {LOG_TEST_LINE_MAX} bytes (the collector cuts longer ones at max_line_bytes)",
            line.len()
        )));
    }
    let lines = vec![line];
    let report = client.ask(Request::logs_test(
        lines.clone(),
        test.set.clone(),
        test.rule.clone(),
    ))?;
    let mut tally = Tally::default();
    tally.add(*report, &lines, 1);
    print(&tally, &test, None, out)
}

/// `--file PATH` (`-`: standard input).
pub fn file(client: &mut Client, path: &Path, test: Test, out: &Out) -> Result<(), Failure> {
    let stdin = path == Path::new("-");
    let what = if stdin {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    let read = |e: std::io::Error| Failure::Error(format!("cannot read {what}: {e}"));
    let reader: Box<dyn BufRead> = if stdin {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(read)?;
        if file.metadata().map_err(read)?.is_dir() {
            return Err(Failure::Error(format!("{what} is a directory")));
        }
        Box::new(std::io::BufReader::with_capacity(1 << 16, file))
    };
    let mut lines = Lines::new(reader, what.clone());
    let mut tally = Tally::default();
    let mut batch = Batch::default();
    let mut first = 1u64;
    let mut send = |batch: Batch, first: &mut u64, tally: &mut Tally| -> Result<(), Failure> {
        let report = client.ask(Request::logs_test(
            batch.lines.clone(),
            test.set.clone(),
            test.rule.clone(),
        ))?;
        tally.add(*report, &batch.lines, *first);
        *first += batch.lines.len() as u64;
        Ok(())
    };
    while let Some(line) = lines.next_line().map_err(input)? {
        tally.cut += u64::from(line.cut);
        if batch.full_before(&line.text) {
            send(std::mem::take(&mut batch), &mut first, &mut tally)?;
        }
        batch.push(line.text);
    }
    if batch.lines.is_empty() && tally.lines == 0 {
        return Err(Failure::Error(format!("{what} holds no lines")));
    }
    if !batch.lines.is_empty() {
        send(batch, &mut first, &mut tally)?;
    }
    print(&tally, &test, Some(&what), out)
}

fn input(e: InputError) -> Failure {
    Failure::Error(e.to_string())
}

/// A duration in micros as humantime writes it (`1m`, `10m`).
fn micros(us: i64) -> String {
    let d = Duration::from_micros(u64::try_from(us).unwrap_or(0));
    humantime::format_duration(d).to_string()
}

/// `5 matches within 1m by src_ip, then quiet 10m`.
fn threshold(t: &LogThreshold) -> String {
    let by = if t.same.is_empty() {
        String::new()
    } else {
        format!(" by {}", t.same.join(", "))
    };
    format!(
        "{} matches within {}{by}, then quiet {}",
        t.count,
        micros(t.within),
        micros(t.cooldown)
    )
}

/// `key=value key=value`, or `-`.
fn pairs(map: &BTreeMap<String, String>) -> String {
    if map.is_empty() {
        return "-".into();
    }
    map.iter()
        .map(|(k, v)| format!("{}={}", one_line(k), one_line(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a rule is, in the lines under its name.
fn rule_lines(r: &RuleTally) -> Vec<(&'static str, String)> {
    let severity = if r.alert {
        format!("{} (alerts)", r.severity)
    } else {
        format!("{} (records only, never alerts)", r.severity)
    };
    let mut lines = vec![("severity", severity)];
    if let Some(t) = &r.threshold {
        lines.push(("threshold", threshold(t)));
    }
    if !r.programs.is_empty() {
        lines.push(("programs", r.programs.join(", ")));
    }
    lines
}

/// Why a line was left out, for a person.
fn left_out_because(r: &RuleTally, program: Option<&str>) -> String {
    let written = match program {
        Some(p) => format!("this line was written by `{}`", one_line(p)),
        None => "this line names no program (no `name[pid]:` tag)".to_string(),
    };
    format!(
        "its pattern matched, but it applies only to lines written by {}, and {written}: no alert (so a line another program writes cannot raise it)",
        r.programs.join(", ")
    )
}

fn indented(rows: Vec<(&str, String)>) -> String {
    // One width for every block, so a rule's lines and its matches'
    // line up.
    rows.into_iter()
        .map(|(k, v)| format!("    {k:<9}  {v}\n"))
        .collect()
}

/// What the rules chosen are, in words.
fn chosen(test: &Test, count: usize) -> String {
    match (&test.rule, &test.set) {
        (Some(rule), Some(set)) => format!("rule {rule} of set {set}"),
        (Some(rule), None) => format!("rule {rule}"),
        (None, Some(set)) => format!("the {count} rule(s) of set {set}"),
        (None, None) => format!("{count} rule(s): every configured and built-in rule"),
    }
}

/// Prints the tally: for one line, what each rule made of it; for a
/// file, a table of rules, then each hit rule's first matches.
fn print(tally: &Tally, test: &Test, file: Option<&str>, out: &Out) -> Result<(), Failure> {
    if out.json() {
        return out.json_line(tally);
    }
    let mut text = match file {
        None => format!("tried {}\n", chosen(test, tally.rules.len())),
        Some(what) => {
            let cut = if tally.cut > 0 {
                format!(
                    "; {} line(s) longer than {LOG_TEST_LINE_MAX} bytes were cut there, as the collector cuts at max_line_bytes",
                    tally.cut
                )
            } else {
                String::new()
            };
            format!(
                "{} line(s) of {}, {} matched by a rule{cut}\ntried {}\n",
                tally.lines,
                one_line(what),
                tally.matched,
                chosen(test, tally.rules.len())
            )
        }
    };
    if let Some(field) = &tally.json_field {
        text.push_str(&format!(
            "lines are matched on their JSON field `{field}` (the whole line when it is not JSON or lacks it)\n"
        ));
    }
    if file.is_some() {
        let mut rows = vec![vec![
            "RULE".to_string(),
            "MATCHED".into(),
            "LEFT OUT".into(),
            "SEVERITY".into(),
        ]];
        rows.extend(tally.rules.iter().map(|r| {
            vec![
                r.rule.clone(),
                r.matched.to_string(),
                r.excluded.to_string(),
                r.severity.to_string(),
            ]
        }));
        text.push('\n');
        text.push_str(&table(&rows));
    }
    let hit: Vec<&RuleTally> = tally
        .rules
        .iter()
        .filter(|r| r.matched > 0 || r.excluded > 0)
        .collect();
    if hit.is_empty() {
        text.push_str(match file {
            None => "\nno rule matched this line\n",
            Some(_) => "\nno rule matched any line\n",
        });
    }
    for r in hit {
        text.push('\n');
        text.push_str(&rule_block(r, file.is_some()));
    }
    out.print(&text)
}

/// One rule that matched or left lines out: what it is, its first
/// matches, and the lines its filter left out.
fn rule_block(r: &RuleTally, many: bool) -> String {
    let mut text = match (r.matched, r.excluded, many) {
        (0, _, false) => format!("{}: left out by its programs filter\n", r.rule),
        (_, _, false) => format!("{}: matched\n", r.rule),
        (m, 0, true) => format!("{}: matched {m} line(s)\n", r.rule),
        (m, e, true) => format!(
            "{}: matched {m} line(s); its programs filter left out {e} more\n",
            r.rule
        ),
    };
    text.push_str(&indented(rule_lines(r)));
    for m in &r.matches {
        if many {
            text.push_str(&format!("  line {}: {}\n", m.line, one_line(&m.text)));
        }
        text.push_str(&indented(vec![
            ("captures", pairs(&m.captures)),
            ("summary", one_line(&m.summary).into_owned()),
            ("labels", pairs(&m.labels)),
        ]));
    }
    let unshown = r.matched.saturating_sub(r.matches.len() as u64);
    if many && unshown > 0 {
        text.push_str(&format!("  and {unshown} more match(es)\n"));
    }
    for e in &r.exclusions {
        if many {
            text.push_str(&format!(
                "  left out, line {}: {}\n",
                e.line,
                one_line(&e.text)
            ));
        }
        text.push_str(&format!(
            "    {}\n",
            left_out_because(r, e.program.as_deref())
        ));
    }
    let unshown = r.excluded.saturating_sub(r.exclusions.len() as u64);
    if many && unshown > 0 {
        text.push_str(&format!("  and {unshown} more left out\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_proto::{LogTestExclusion, LogTestMatch};

    fn report(line: u64, excluded_line: Option<u64>) -> LogTestReport {
        LogTestReport {
            lines: 3,
            matched: 1,
            json_field: None,
            rules: vec![LogRuleTested {
                rule: "sshd-failed-password".into(),
                severity: Severity::Error,
                alert: true,
                threshold: Some(LogThreshold {
                    count: 5,
                    within: 60_000_000,
                    same: vec!["src_ip".into()],
                    cooldown: 600_000_000,
                }),
                programs: vec!["sshd".into(), "sshd-session".into()],
                matched: 1,
                excluded: u64::from(excluded_line.is_some()),
                matches: vec![LogTestMatch {
                    line,
                    captures: [("src_ip".to_string(), "203.0.113.5".to_string())].into(),
                    summary: "failed from 203.0.113.5".into(),
                    labels: BTreeMap::new(),
                }],
                exclusions: excluded_line
                    .map(|line| LogTestExclusion {
                        line,
                        program: Some("logger".into()),
                    })
                    .into_iter()
                    .collect(),
                omitted: 0,
            }],
        }
    }

    #[test]
    fn batches_add_up_with_their_lines_numbered_in_the_input() {
        let lines: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let mut tally = Tally::default();
        tally.add(report(2, Some(3)), &lines, 1);
        tally.add(report(1, None), &lines, 4);
        assert_eq!((tally.lines, tally.matched), (6, 2));
        let r = &tally.rules[0];
        assert_eq!((r.matched, r.excluded), (2, 1));
        let shown: Vec<(u64, &str)> = r
            .matches
            .iter()
            .map(|m| (m.line, m.text.as_str()))
            .collect();
        assert_eq!(shown, [(2, "b"), (4, "a")]);
        assert_eq!(
            (r.exclusions[0].line, r.exclusions[0].text.as_str()),
            (3, "c")
        );
    }

    #[test]
    fn a_rule_says_what_it_made_of_the_line_and_why_one_was_left_out() {
        let lines = vec!["x".to_string(); 3];
        let mut tally = Tally::default();
        tally.add(report(1, Some(2)), &lines, 1);
        let block = rule_block(&tally.rules[0], false);
        for expected in [
            "sshd-failed-password: matched\n",
            "severity   error (alerts)",
            "threshold  5 matches within 1m by src_ip, then quiet 10m",
            "programs   sshd, sshd-session",
            "captures   src_ip=203.0.113.5",
            "summary    failed from 203.0.113.5",
            "labels     -",
            "it applies only to lines written by sshd, sshd-session, and this line was written by `logger`",
        ] {
            assert!(block.contains(expected), "{expected:?} not in\n{block}");
        }
        let many = rule_block(&tally.rules[0], true);
        assert!(
            many.starts_with(
                "sshd-failed-password: matched 1 line(s); its programs filter left out 1 more\n"
            ),
            "{many}"
        );
        assert!(
            many.contains("  line 1: x\n") && many.contains("  left out, line 2: x\n"),
            "{many}"
        );
    }
}
