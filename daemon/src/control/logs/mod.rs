//! `vigilctl logs …`: the followed files and journals, from the logs
//! view and the configuration (`state::log_sources`), and the configured rules
//! tried on lines a caller sends ([`line_test`]). Neither changes
//! anything, so neither is recorded beyond the connection itself.

mod line_test;

use super::conn::{Conn, Fail, MAX_TEXT, Served, blocking_with, refuse, view_of};
use super::listing::Page;
use crate::state::log_sources::{ConfiguredSet, Key, Sources, configured};
use line_test::{LineTest, LineTestError, set_names};
use std::sync::Arc;
use vigil_proto::frame::MAX_FRAME;
use vigil_proto::{
    Answer, ErrorCode, LOG_TEST_BATCH_LINES, LOG_TEST_LINE_MAX, LogListing, LogsRequest, LogsStatus,
};
use vigil_views::LogsView;

/// Room left in a frame for the envelope around a test's report.
const ENVELOPE: usize = 1024;

/// Log collection for the status report.
pub(super) fn status(view: &LogsView, sets: &[ConfiguredSet]) -> Option<LogsStatus> {
    Sources::new(&view.sources, sets, None).status()
}

/// `name` (a set's or a rule's) if it can name one.
fn checked_name(what: &str, name: String) -> Result<String, Fail> {
    if name.is_empty() || name.len() > MAX_TEXT || name.chars().any(char::is_control) {
        return Err(refuse(
            ErrorCode::BadRequest,
            format!(
                "a {what} name is 1 to {MAX_TEXT} bytes without control characters; `{}` is not",
                name.escape_debug()
            ),
        ));
    }
    Ok(name)
}

/// The lines of a test, if they are lines the collector could read: at
/// least one, not too many, none too long, none holding a newline (a
/// carriage return may be in one, as in a file).
fn checked_lines(lines: &[String]) -> Result<(), Fail> {
    let bad = |message: String| Err(refuse(ErrorCode::BadRequest, message));
    if lines.is_empty() {
        return bad("no lines to test".into());
    }
    if lines.len() > LOG_TEST_BATCH_LINES {
        return bad(format!(
            "{} lines in one request; at most {LOG_TEST_BATCH_LINES} are tested at once (vigilctl logs test --file sends a file in batches)",
            lines.len()
        ));
    }
    for (number, line) in (1u64..).zip(lines) {
        if line.len() > LOG_TEST_LINE_MAX {
            return bad(format!(
                "line {number} is {} bytes; the longest line tested is {LOG_TEST_LINE_MAX} bytes (the collector cuts longer ones at max_line_bytes)",
                line.len()
            ));
        }
        if line.contains('\n') {
            return bad(format!(
                "line {number} holds a newline; send each line on its own"
            ));
        }
    }
    Ok(())
}

impl From<LineTestError> for Fail {
    fn from(e: LineTestError) -> Fail {
        let code = match e {
            LineTestError::Rules(_) => ErrorCode::Internal,
            _ => ErrorCode::NotFound,
        };
        refuse(code, e.to_string())
    }
}

impl Conn<'_> {
    /// Serves the logs family.
    pub(super) async fn serve_logs(&mut self, request: LogsRequest) -> Served {
        match request {
            LogsRequest::List { set } => self.logs_list(set).await,
            LogsRequest::Test { lines, set, rule } => self.logs_test(lines, set, rule).await,
        }
    }

    pub(super) async fn logs_list(&mut self, set: Option<String>) -> Served {
        let only = set.map(|s| checked_name("set", s)).transpose()?;
        let config = self.shared.config();
        let sets = Arc::new(configured(&config.collect));
        let (known, header, recorded_sets) = {
            let (sets, only) = (sets.clone(), only.clone());
            self.view(move |v| {
                let sources = Sources::new(&v.logs.sources, &sets, only.as_deref());
                let recorded: Vec<String> = v.logs.sources.keys().cloned().collect();
                (sources.known(), sources.header(), recorded)
            })
            .await?
        };
        if !known {
            let mut names = set_names(&config.collect);
            for recorded in recorded_sets {
                if !names.contains(&recorded) {
                    names.push(recorded);
                }
            }
            let names = if names.is_empty() {
                "no log set is configured or recorded".to_string()
            } else {
                format!("the sets are: {}", names.join(", "))
            };
            return Err(refuse(
                ErrorCode::NotFound,
                format!(
                    "no [[collect.logs]] or [[collect.journal]] is named `{}`, and nothing is recorded for one; {names}",
                    only.unwrap_or_default().escape_debug()
                ),
            ));
        }
        self.send(&Answer::logs_header(Box::new(header))).await?;
        let shared = self.shared.clone();
        let fetch = move |after: Option<Key>, max: usize| {
            let (shared, sets, only) = (shared.clone(), sets.clone(), only.clone());
            async move {
                let items = view_of(&shared, move |v| {
                    Sources::new(&v.logs.sources, &sets, only.as_deref()).page(after.as_ref(), max)
                })
                .await?;
                Ok(Page {
                    last: items
                        .last()
                        .map(|l: &LogListing| (l.set.clone(), l.path.clone())),
                    items,
                    matching: None,
                })
            }
        };
        let end = self
            .stream_pages(None, fetch, Answer::logs_list, |l| {
                format!("the source {} of set {}", l.path, l.set)
            })
            .await?;
        self.end_listing(end).await
    }

    pub(super) async fn logs_test(
        &mut self,
        lines: Vec<String>,
        set: Option<String>,
        rule: Option<String>,
    ) -> Served {
        checked_lines(&lines)?;
        let set = set.map(|s| checked_name("set", s)).transpose()?;
        let rule = rule.map(|r| checked_name("rule", r)).transpose()?;
        let shared = self.shared.clone();
        // Compiling the rules and matching a batch is CPU work: off the
        // async threads, with the configuration in force now.
        let report = blocking_with(move || {
            let config = shared.config();
            let test = LineTest::new(&config.collect, set.as_deref(), rule.as_deref())?;
            test.run(&lines, &shared.ingest.redactor, MAX_FRAME - ENVELOPE)
        })
        .await??;
        self.send(&Answer::logs_test(Box::new(report))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(result: Result<(), Fail>) -> String {
        match result {
            Err(Fail::Refuse(e)) => {
                assert_eq!(e.code, ErrorCode::BadRequest);
                e.message
            }
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn only_lines_the_collector_could_read_are_tested() {
        assert!(checked_lines(&["sshd[1]: x".into(), String::new()]).is_ok());
        assert_eq!(refused(checked_lines(&[])), "no lines to test");
        let many = vec!["x".to_string(); LOG_TEST_BATCH_LINES + 1];
        assert!(refused(checked_lines(&many)).contains("at most 4096"));
        let long = "x".repeat(LOG_TEST_LINE_MAX + 1);
        let e = refused(checked_lines(&["ok".into(), long]));
        assert!(e.starts_with("line 2 is 65537 bytes"), "{e}");
        let e = refused(checked_lines(&["a\nb".into()]));
        assert!(e.contains("line 1 holds a newline"), "{e}");
        assert!(checked_lines(&["a\rb".into()]).is_ok());
    }

    #[test]
    fn names_are_bounded_and_shown_escaped() {
        assert!(checked_name("set", "auth".into()).is_ok());
        let e = match checked_name("rule", "a\u{1b}[2J".into()) {
            Err(Fail::Refuse(e)) => e.message,
            _ => panic!("a control character must be refused"),
        };
        assert!(!e.contains('\u{1b}'), "{e}");
        assert!(checked_name("set", String::new()).is_err());
        assert!(checked_name("set", "x".repeat(MAX_TEXT + 1)).is_err());
    }
}

// Through a real connection, with events appended to a real log.
#[cfg(test)]
mod tests_through_a_connection;
