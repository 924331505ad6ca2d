//! `vigilctl logs …`: the followed files and journals ([`list`]), the
//! configured rules tried on lines ([`line_test`], reading a file here:
//! [`input`]); and the log collection lines of `vigilctl status`.

mod input;
mod line_test;
mod list;

use super::Failure;
use super::output::Out;
use clap::{ArgGroup, Subcommand};
use std::path::PathBuf;
use vigil_proto::LogsStatus;
use vigilctl::Client;

#[derive(Subcommand, Debug)]
pub enum LogsCommand {
    /// Followed files and journals: identity, position, lines read and
    /// matched, alerts, last change, errors.
    List {
        /// Only this set ([[collect.logs]] or [[collect.journal]] name).
        #[arg(long, value_name = "NAME")]
        set: Option<String>,
    },
    /// Try the daemon's log rules on a line or a file, like fail2ban-regex:
    /// what each rule matches, captures and makes of it; nothing is
    /// recorded.
    #[command(group(ArgGroup::new("input").required(true).args(["line", "file"])))]
    Test {
        /// One log line, as it is written in the file.
        #[arg(long, value_name = "TEXT")]
        line: Option<String>,
        /// A log file (`-`: standard input), read here and sent in
        /// batches.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// Only this rule.
        #[arg(long, value_name = "NAME")]
        rule: Option<String>,
        /// The rules of this set (with its severity and JSON field), not
        /// every rule.
        #[arg(long, value_name = "NAME")]
        set: Option<String>,
    },
}

/// Runs one `logs` command.
pub fn logs(client: &mut Client, command: LogsCommand, out: &Out) -> Result<(), Failure> {
    match command {
        LogsCommand::List { set } => list::list(client, set, out),
        LogsCommand::Test {
            line,
            file,
            rule,
            set,
        } => {
            let test = line_test::Test { set, rule };
            match (line, file) {
                (Some(line), _) => line_test::one(client, line, test, out),
                (None, Some(file)) => line_test::file(client, &file, test, out),
                (None, None) => Err(Failure::Error("give --line TEXT or --file PATH".into())),
            }
        }
    }
}

/// The lines `vigilctl status` prints on log collection (their first
/// column no wider than the others').
pub fn status_rows(logs: Option<&LogsStatus>) -> Vec<Vec<String>> {
    let Some(l) = logs else {
        return vec![vec!["logs".into(), "not configured".into()]];
    };
    let journals = if l.journals > 0 {
        format!(", {} journal(s)", l.journals)
    } else {
        String::new()
    };
    vec![vec![
        "logs".into(),
        format!(
            "{} set(s), {} file(s) followed{journals}, {} with errors",
            l.sets, l.files, l.failing
        ),
    ]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_says_not_configured_or_what_is_followed() {
        assert_eq!(
            status_rows(None),
            [["logs".to_string(), "not configured".to_string()]]
        );
        let rows = status_rows(Some(&LogsStatus {
            sets: 2,
            files: 3,
            journals: 1,
            failing: 1,
        }));
        assert_eq!(
            rows[0][1],
            "2 set(s), 3 file(s) followed, 1 journal(s), 1 with errors"
        );
        assert!(rows.iter().all(|r| r[0].len() <= "last verify".len()));
    }
}
