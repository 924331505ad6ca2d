//! Following one log file by name, through rotation and truncation.
//!
//! * The position committed is the start of the first line not yet read
//!   whole ([`Splitter::line_start`]), with the hashes that say it is
//!   still the same file and the same bytes ([`position`](super::position)).
//! * Renamed away and replaced (logrotate's `create`): the old file is
//!   read until it has been quiet for [`ROTATE_WAIT`], then to its end,
//!   and only then the new one, from its beginning. Stopped in between,
//!   the next start finds the old file by its inode next to the new one.
//! * Truncated (`copytruncate`), or rewritten so the bytes before the
//!   offset differ: read again from the beginning, recorded.
//! * Deleted, replaced by a link, unreadable: recorded once, followed
//!   again when a regular file is back.

use super::lines::{Sink, Splitter};
use super::open::{Refusal, open};
use super::position::{self, Verdict};
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use vigil_store::{FilePosition, LogChangeKind, LogLine, LogPosition};

/// How long a file renamed away must have stopped growing before the
/// one that replaced it is read: the writer may still be writing to it.
pub const ROTATE_WAIT: Duration = Duration::from_secs(1);
/// Most bytes read from one file in one poll (others get their turn).
const PER_POLL: u64 = 8 << 20;
/// Bytes per read.
const READ: usize = 256 << 10;
/// Entries of a directory looked through for a file rotated while vigild
/// was stopped.
const ROTATED_SEARCH: usize = 4096;

/// What a poll found, in order.
#[derive(Debug)]
pub enum Step {
    /// Lines read, and the position after them.
    Lines {
        /// The lines kept.
        kept: Vec<LogLine>,
        /// How many were read.
        read: u64,
        /// Where reading resumes.
        position: LogPosition,
        /// Bytes the lines took.
        bytes: u64,
    },
    /// A change to what is followed.
    Change {
        /// What happened.
        change: LogChangeKind,
        /// Where reading resumes now.
        position: Option<LogPosition>,
        /// Why, for a person.
        detail: String,
    },
}

/// Where a path with no recorded position starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At its end: vigild's first start, `start_at = "end"`.
    End,
    /// At its beginning: it appeared after its set was first followed.
    Beginning,
}

/// The file being read.
#[derive(Debug)]
struct Current {
    file: File,
    dev: u64,
    inode: u64,
    splitter: Splitter,
    /// Its size when last read.
    size: u64,
    /// When it last grew.
    grew_at: Instant,
    /// The position at `splitter.line_start()`.
    position: FilePosition,
}

/// One followed path.
#[derive(Debug)]
pub struct Tail {
    /// Its path.
    pub path: PathBuf,
    max_line: u64,
    /// What the log says (before the first poll).
    recorded: Option<FilePosition>,
    start: Start,
    started: bool,
    current: Option<Current>,
    /// The last thing recorded about an absence or a refusal, so it is
    /// recorded once.
    noted: Option<String>,
    /// The read buffer, kept between polls (a poll happens per write).
    buf: Vec<u8>,
}

impl Tail {
    /// A path to follow from `recorded` (the log's position), or from
    /// `start` when there is none.
    pub fn new(path: PathBuf, max_line: u64, recorded: Option<FilePosition>, start: Start) -> Tail {
        Tail {
            path,
            max_line,
            recorded,
            start,
            started: false,
            current: None,
            noted: None,
            buf: Vec::new(),
        }
    }

    /// Reads what is new, each line into `sink`; `roots` are the
    /// allowed roots, resolved. Whether more is there to read now.
    pub fn poll(
        &mut self,
        roots: &[PathBuf],
        sink: &mut Sink<'_, '_>,
        out: &mut Vec<Step>,
    ) -> bool {
        if !self.started {
            self.started = true;
            self.first(roots, out);
        }
        let Some(mut current) = self.current.take() else {
            return self.appear(roots, sink, out);
        };
        let more = match self.read(&mut current, sink, out) {
            Ok(more) => more,
            Err(e) => {
                self.current = Some(current);
                self.note(
                    out,
                    LogChangeKind::Refused,
                    None,
                    format!("cannot read it: {e}"),
                );
                return false;
            }
        };
        if more {
            self.current = Some(current);
            return true;
        }
        let quiet = current.grew_at.elapsed() >= ROTATE_WAIT;
        let at_path = std::fs::symlink_metadata(&self.path);
        let replaced = match &at_path {
            Ok(meta) => (meta.dev(), meta.ino()) != (current.dev, current.inode),
            Err(_) => false,
        };
        let deleted = at_path.is_err() && current.file.metadata().is_ok_and(|m| m.nlink() == 0);
        if !(quiet && (replaced || deleted)) {
            self.current = Some(current);
            return false;
        }
        // Read to its end; its last line needs no newline any more.
        let name = self.path.display().to_string();
        let start = current.splitter.line_start();
        let mut kept = Vec::new();
        let mut read = 0;
        current.splitter.finish(&mut |line| {
            read += 1;
            kept.extend((sink.keep)(line));
        });
        if read > 0 {
            let end = current.splitter.line_start();
            match position::at(&current.file, end) {
                Ok(position) => out.push(Step::Lines {
                    kept,
                    read,
                    bytes: end - start,
                    position: LogPosition::File(position),
                }),
                Err(e) => {
                    tracing::warn!(path = %name, "log collection: cannot finish a rotated file: {e}")
                }
            }
        }
        if deleted {
            self.note(
                out,
                LogChangeKind::Gone,
                None,
                "deleted (read to its end)".into(),
            );
            return false;
        }
        match self.open_at(roots, 0) {
            Ok(next) => {
                out.push(Step::Change {
                    change: LogChangeKind::Rotated,
                    position: Some(LogPosition::File(next.position.clone())),
                    detail: "replaced (the previous file was read to its end first)".into(),
                });
                self.current = Some(next);
                self.noted = None;
            }
            Err(refusal) => self.refused(out, refusal),
        }
        false
    }

    /// Drops what was read and not committed: the next poll starts again
    /// from `recorded` (after an append failed).
    pub fn reset(&mut self, recorded: Option<FilePosition>) {
        self.recorded = recorded;
        self.started = false;
        self.current = None;
        self.noted = None;
    }

    /// The first poll: resume where the log says, or start.
    fn first(&mut self, roots: &[PathBuf], out: &mut Vec<Step>) {
        let recorded = self.recorded.take();
        let file = match open(&self.path, roots) {
            Ok(file) => file,
            Err(refusal) => {
                // Rotated away while vigild was stopped, and not replaced
                // (yet): finish the old file where it went.
                if let Some(pos) = &recorded
                    && let Some(old) = self.find_rotated(pos, roots)
                {
                    self.current = Some(old);
                    return;
                }
                if refusal == Refusal::Missing && recorded.is_none() {
                    self.start = Start::Beginning;
                }
                self.refused(out, refusal);
                return;
            }
        };
        let Some(pos) = recorded else {
            let from = match self.start {
                Start::End => file.metadata().map(|m| m.len()).unwrap_or(0),
                Start::Beginning => 0,
            };
            self.begin(file, from, out, LogChangeKind::Started, "followed".into());
            return;
        };
        match position::compare(&file, &pos) {
            Ok(Verdict::Resume) => match self.current_of(file, pos.offset) {
                Ok(current) => self.current = Some(current),
                Err(e) => self.note(out, LogChangeKind::Refused, None, format!("cannot read it: {e}")),
            },
            Ok(Verdict::Truncated) => self.begin(
                file,
                0,
                out,
                LogChangeKind::Truncated,
                "truncated or rewritten while vigild was stopped: read again from its beginning".into(),
            ),
            Ok(Verdict::Other) => match self.find_rotated(&pos, roots) {
                // Read the rest of the old file; the poll moves on to the
                // new one once it is done.
                Some(old) => self.current = Some(old),
                None => self.begin(
                    file,
                    0,
                    out,
                    LogChangeKind::Rotated,
                    format!(
                        "replaced while vigild was stopped, and the previous file is not next to it: whatever it held past byte {} is lost",
                        pos.offset
                    ),
                ),
            },
            Err(e) => self.note(out, LogChangeKind::Refused, None, format!("cannot read it: {e}")),
        }
    }

    /// Nothing open: is a file there now? Whether more is there to read.
    fn appear(&mut self, roots: &[PathBuf], sink: &mut Sink<'_, '_>, out: &mut Vec<Step>) -> bool {
        match open(&self.path, roots) {
            Ok(file) => {
                let change = if self.noted.is_some() {
                    LogChangeKind::Resumed
                } else {
                    LogChangeKind::Started
                };
                self.noted = None;
                self.begin(
                    file,
                    0,
                    out,
                    change,
                    "a file is there: read from its beginning".into(),
                );
                // Read what it already holds now, not a poll later.
                if let Some(mut current) = self.current.take() {
                    let more = match self.read(&mut current, sink, out) {
                        Ok(more) => more,
                        Err(e) => {
                            tracing::warn!(path = %self.path.display(), "log collection: {e}");
                            false
                        }
                    };
                    self.current = Some(current);
                    return more;
                }
                false
            }
            Err(refusal) => {
                self.refused(out, refusal);
                false
            }
        }
    }

    fn begin(
        &mut self,
        file: File,
        from: u64,
        out: &mut Vec<Step>,
        change: LogChangeKind,
        detail: String,
    ) {
        match self.current_of(file, from) {
            Ok(current) => {
                out.push(Step::Change {
                    change,
                    position: Some(LogPosition::File(current.position.clone())),
                    detail,
                });
                self.current = Some(current);
            }
            Err(e) => self.note(
                out,
                LogChangeKind::Refused,
                None,
                format!("cannot read it: {e}"),
            ),
        }
    }

    fn open_at(&self, roots: &[PathBuf], from: u64) -> Result<Current, Refusal> {
        let file = open(&self.path, roots)?;
        self.current_of(file, from)
            .map_err(|e| Refusal::Io(e.to_string()))
    }

    fn current_of(&self, file: File, from: u64) -> std::io::Result<Current> {
        let meta = file.metadata()?;
        let position = position::at(&file, from)?;
        Ok(Current {
            dev: meta.dev(),
            inode: meta.ino(),
            splitter: Splitter::new(self.max_line, from),
            size: from,
            grew_at: Instant::now(),
            position,
            file,
        })
    }

    /// The file `pos` was in, renamed within the same directory.
    fn find_rotated(&self, pos: &FilePosition, roots: &[PathBuf]) -> Option<Current> {
        let dir = self.path.parent()?;
        let entries = std::fs::read_dir(dir).ok()?;
        for entry in entries.take(ROTATED_SEARCH).flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.file_type().is_file() || (meta.dev(), meta.ino()) != (pos.dev, pos.inode) {
                continue;
            }
            let file = open(&entry.path(), roots).ok()?;
            if position::compare(&file, pos).ok()? != Verdict::Resume {
                return None;
            }
            let mut current = self.current_of(file, pos.offset).ok()?;
            // Nobody writes to it any more: no need to wait once it is read.
            current.grew_at = Instant::now()
                .checked_sub(ROTATE_WAIT)
                .unwrap_or(current.grew_at);
            return Some(current);
        }
        None
    }

    /// Reads what `current` holds past what was read (at most
    /// [`PER_POLL`]); whether more is there.
    fn read(
        &mut self,
        current: &mut Current,
        sink: &mut Sink<'_, '_>,
        out: &mut Vec<Step>,
    ) -> std::io::Result<bool> {
        let size = current.file.metadata()?.len();
        let truncated = size < current.splitter.read_to()
            || (size != current.size
                && position::still_there(&current.file, &current.position, size)?
                    == Verdict::Truncated);
        if truncated {
            *current = self.current_of(current.file.try_clone()?, 0)?;
            out.push(Step::Change {
                change: LogChangeKind::Truncated,
                position: Some(LogPosition::File(current.position.clone())),
                detail: "truncated or rewritten: read again from its beginning".into(),
            });
        }
        let start = current.splitter.line_start();
        let until = size.min(current.splitter.read_to().saturating_add(PER_POLL));
        let mut kept = Vec::new();
        let mut read = 0;
        let mut on_line = |line: super::lines::Line<'_>| {
            read += 1;
            kept.extend((sink.keep)(line));
        };
        if until > current.splitter.read_to() && self.buf.is_empty() {
            self.buf = vec![0u8; READ];
        }
        let buf = &mut self.buf;
        while current.splitter.read_to() < until {
            let want = (until - current.splitter.read_to()).min(READ as u64) as usize;
            let n = current
                .file
                .read_at(&mut buf[..want], current.splitter.read_to())?;
            if n == 0 {
                break;
            }
            current.splitter.feed(&buf[..n], sink.scan, &mut on_line);
        }
        read += current.splitter.take_passed();
        if size != current.size {
            current.grew_at = Instant::now();
        }
        current.size = size;
        if current.splitter.line_start() != start {
            current.position = position::at(&current.file, current.splitter.line_start())?;
            out.push(Step::Lines {
                kept,
                read,
                position: LogPosition::File(current.position.clone()),
                bytes: current.splitter.line_start() - start,
            });
        }
        Ok(current.splitter.read_to() < size)
    }

    fn refused(&mut self, out: &mut Vec<Step>, refusal: Refusal) {
        let change = match refusal {
            Refusal::Missing => LogChangeKind::Gone,
            _ => LogChangeKind::Refused,
        };
        self.note(out, change, None, refusal.to_string());
    }

    /// Records a change once (the same detail again is not news).
    fn note(
        &mut self,
        out: &mut Vec<Step>,
        change: LogChangeKind,
        position: Option<LogPosition>,
        detail: String,
    ) {
        if self.noted.as_deref() == Some(detail.as_str()) {
            return;
        }
        self.noted = Some(detail.clone());
        out.push(Step::Change {
            change,
            position,
            detail,
        });
    }
}
