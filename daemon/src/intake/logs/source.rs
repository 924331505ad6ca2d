//! A followed source, file or journal, as the collector sees it: polled
//! for steps, rewound to a recorded position.

use super::journal::JournalTail;
use super::lines::Sink;
use super::tail::{Step, Tail};
use std::path::PathBuf;
use vigil_store::LogPosition;

/// The path a journal source is recorded under.
pub const JOURNAL_PATH: &str = "journal";

/// A file or the journal.
pub enum Source {
    /// A file, by name.
    File(Tail),
    /// The journal, through journalctl.
    Journal(JournalTail),
}

impl Source {
    /// What it read since the last poll, each line into `sink`;
    /// whether more is there to read now.
    pub fn poll(
        &mut self,
        roots: &[PathBuf],
        sink: &mut Sink<'_, '_>,
        out: &mut Vec<Step>,
    ) -> bool {
        match self {
            Source::File(tail) => tail.poll(roots, sink, out),
            Source::Journal(journal) => journal.poll(sink.keep, out),
        }
    }

    /// Back to `recorded`: what was read after it is read again.
    pub fn reset(&mut self, recorded: Option<&LogPosition>) {
        match self {
            Source::File(tail) => tail.reset(match recorded {
                Some(LogPosition::File(p)) => Some(p.clone()),
                _ => None,
            }),
            Source::Journal(journal) => journal.reset(match recorded {
                Some(LogPosition::Journal { cursor }) => Some(cursor.clone()),
                _ => None,
            }),
        }
    }

    /// The path it is recorded under.
    pub fn path(&self) -> String {
        match self {
            Source::File(tail) => tail.path.display().to_string(),
            Source::Journal(_) => JOURNAL_PATH.to_string(),
        }
    }

    /// Whether it is the file `path`.
    pub fn is_file(&self, path: &std::path::Path) -> bool {
        matches!(self, Source::File(tail) if tail.path == path)
    }
}
