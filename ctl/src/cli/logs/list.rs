//! `vigilctl logs list`: each followed file and journal, and each
//! configured one never read, with where reading stands.

use crate::cli::files::one_line;
use crate::cli::output::{Out, Table, opt_time, time};
use crate::cli::{Failure, listing_with_header};
use vigil_proto::{LogListing, LogPlace, LogSourceState, LogsHeader, Request};
use vigilctl::Client;

pub(super) const HEADER: [&str; 11] = [
    "SET",
    "PATH",
    "IDENTITY",
    "POSITION",
    "LINES",
    "MATCHED",
    "ALERTS",
    "CUT",
    "LAST READ",
    "LAST CHANGE",
    "STATE",
];

/// Longest journal cursor shown whole in a table (`--json` has it all).
const CURSOR_SHOWN: usize = 24;

/// `dev:inode` of a file, `journal` for the journal, `-` before anything
/// was read; and the offset or cursor reading resumes at.
fn place(position: Option<&LogPlace>) -> (String, String) {
    match position {
        None => ("-".into(), "-".into()),
        Some(LogPlace::File { dev, inode, offset }) => {
            (format!("{dev}:{inode}"), offset.to_string())
        }
        Some(LogPlace::Journal { cursor }) => {
            let shown = if cursor.chars().count() > CURSOR_SHOWN {
                let head: String = cursor.chars().take(CURSOR_SHOWN - 1).collect();
                format!("{head}…")
            } else {
                cursor.clone()
            };
            ("journal".into(), one_line(&shown).into_owned())
        }
    }
}

/// The state in words, with the error when there is one.
fn state(l: &LogListing) -> String {
    match (l.state, &l.error) {
        (LogSourceState::Following, _) => "following".into(),
        (LogSourceState::NotRead, _) => "not read yet".into(),
        (LogSourceState::Unconfigured, _) => "no longer configured".into(),
        (LogSourceState::Failing, Some(e)) => format!("FAILING: {}", one_line(e)),
        (LogSourceState::Failing, None) => "FAILING".into(),
    }
}

pub(super) fn row(l: &LogListing) -> Vec<String> {
    let (identity, position) = place(l.position.as_ref());
    vec![
        one_line(&l.set).into_owned(),
        one_line(&l.path).into_owned(),
        identity,
        position,
        l.lines.to_string(),
        l.matched.to_string(),
        l.alerts.to_string(),
        l.truncated.to_string(),
        opt_time(l.last_read),
        l.last_change.map_or_else(
            || "-".into(),
            |c| format!("{} {}", c.kind.name(), time(c.at)),
        ),
        state(l),
    ]
}

/// What the header of a listing says, after the table.
fn header_line(h: &LogsHeader) -> String {
    let mut parts = Vec::new();
    if h.failing > 0 {
        parts.push(format!("{} failing", h.failing));
    }
    if h.not_read > 0 {
        parts.push(format!("{} not read yet", h.not_read));
    }
    let detail = if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join(", "))
    };
    let sets = match h.sets {
        0 => "no configured set ([[collect.logs]], [[collect.journal]])".to_string(),
        n => format!("{n} configured set(s)"),
    };
    format!("{} source(s) in {sets}{detail}\n", h.sources)
}

pub(super) fn list(client: &mut Client, set: Option<String>, out: &Out) -> Result<(), Failure> {
    let mut table = Table::new(&HEADER);
    let mut header = None;
    listing_with_header(
        client,
        Request::logs_list(set),
        out,
        "sources",
        "",
        |h| header = Some(h),
        |sources| out.page(&sources, &mut table, row),
    )?;
    if out.json() {
        return Ok(());
    }
    let header = header.ok_or_else(|| Failure::Error("vigild sent no logs header".into()))?;
    out.print(&format!("{}{}", table.finish(), header_line(&header)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_proto::LogChange;
    use vigil_store::LogChangeKind;

    fn listing() -> LogListing {
        LogListing {
            set: "auth".into(),
            path: "/var/log/auth.log".into(),
            state: LogSourceState::Following,
            position: Some(LogPlace::File {
                dev: 2049,
                inode: 131_077,
                offset: 4096,
            }),
            lines: 40,
            bytes: 4096,
            matched: 3,
            alerts: 1,
            truncated: 2,
            last_read: Some(0),
            last_change: Some(LogChange {
                kind: LogChangeKind::Rotated,
                at: 0,
            }),
            error: None,
        }
    }

    #[test]
    fn a_source_is_one_row_with_its_identity_position_and_state() {
        let r = row(&listing());
        assert_eq!(r.len(), HEADER.len());
        assert_eq!(
            r[..8],
            [
                "auth",
                "/var/log/auth.log",
                "2049:131077",
                "4096",
                "40",
                "3",
                "1",
                "2"
            ]
        );
        assert_eq!(r[9], "rotated 1970-01-01T00:00:00Z");
        assert_eq!(r[10], "following");
        let failing = LogListing {
            state: LogSourceState::Failing,
            error: Some("gone\nnow".into()),
            position: Some(LogPlace::Journal {
                cursor: "s=0123456789abcdef0123456789abcdef;i=42".into(),
            }),
            ..listing()
        };
        let r = row(&failing);
        assert_eq!(
            (r[2].as_str(), r[3].chars().count()),
            ("journal", CURSOR_SHOWN)
        );
        assert_eq!(r[10], "FAILING: gone\\x0anow");
        let never = LogListing {
            state: LogSourceState::NotRead,
            position: None,
            last_read: None,
            last_change: None,
            ..listing()
        };
        let r = row(&never);
        assert_eq!(
            (r[2].as_str(), r[3].as_str(), r[8].as_str()),
            ("-", "-", "-")
        );
        assert_eq!(r[10], "not read yet");
    }

    #[test]
    fn the_header_counts_what_needs_a_look() {
        assert_eq!(
            header_line(&LogsHeader {
                sets: 2,
                sources: 3,
                failing: 1,
                not_read: 1
            }),
            "3 source(s) in 2 configured set(s): 1 failing, 1 not read yet\n"
        );
        assert_eq!(
            header_line(&LogsHeader::default()),
            "0 source(s) in no configured set ([[collect.logs]], [[collect.journal]])\n"
        );
    }
}
