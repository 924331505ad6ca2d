//! The lines `vigilctl logs test --file` sends, read here (the daemon
//! never opens a file for a caller) as the collector reads a file: split
//! at newlines with a `\r` before one dropped, invalid UTF-8 replaced, a
//! line longer than [`LOG_TEST_LINE_MAX`] cut there (the rest skipped,
//! never held) and counted. Lines go out in batches that each fit a
//! request frame.

use std::io::{BufRead, ErrorKind};
use vigil_proto::frame::MAX_FRAME;
use vigil_proto::{LOG_TEST_BATCH_LINES, LOG_TEST_LINE_MAX};

/// The most a file (or standard input) may hold: beyond it the test
/// would keep the daemon busy for long; a part of the file tells as much.
pub const INPUT_MAX: u64 = 256 << 20;

/// Bytes of JSON a batch's lines may take: a line escaped in JSON takes
/// up to six times its bytes (`\u001b`), so with one more line over this
/// a request still fits a frame.
const BATCH_JSON: usize = (MAX_FRAME - 6 * LOG_TEST_LINE_MAX) / 2;

/// Why the input cannot be tested.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// It holds more than [`INPUT_MAX`].
    #[error(
        "{what} holds more than {} MiB, the most logs test reads; test a part of it (tail -c 100M FILE > part.log)",
        INPUT_MAX >> 20
    )]
    TooLarge {
        /// The file, or standard input.
        what: String,
    },
    /// Reading failed.
    #[error("cannot read {what}: {source}")]
    Read {
        /// The file, or standard input.
        what: String,
        /// Why.
        source: std::io::Error,
    },
}

/// One line as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Its text, cut at [`LOG_TEST_LINE_MAX`] bytes.
    pub text: String,
    /// Whether it was longer.
    pub cut: bool,
}

/// Reads lines from `reader` (named `what` in errors).
pub struct Lines<R> {
    reader: R,
    what: String,
    read: u64,
    done: bool,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R, what: impl Into<String>) -> Self {
        Lines {
            reader,
            what: what.into(),
            read: 0,
            done: false,
        }
    }

    fn fail(&self, source: std::io::Error) -> InputError {
        InputError::Read {
            what: self.what.clone(),
            source,
        }
    }

    /// The next line, or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<Line>, InputError> {
        if self.done {
            return Ok(None);
        }
        let mut bytes: Vec<u8> = Vec::new();
        let mut cut = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.fail(e)),
            };
            if chunk.is_empty() {
                self.done = true;
                if bytes.is_empty() && !cut {
                    return Ok(None);
                }
                break;
            }
            let (part, ends) = match chunk.iter().position(|b| *b == b'\n') {
                Some(at) => (&chunk[..at], at + 1),
                None => (chunk, chunk.len()),
            };
            let newline = ends > part.len();
            let room = LOG_TEST_LINE_MAX.saturating_sub(bytes.len());
            if part.len() > room {
                cut = true;
            }
            bytes.extend_from_slice(&part[..part.len().min(room)]);
            self.reader.consume(ends);
            self.read += ends as u64;
            if self.read > INPUT_MAX {
                return Err(InputError::TooLarge {
                    what: self.what.clone(),
                });
            }
            if newline {
                break;
            }
        }
        if !cut && bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        Ok(Some(Line {
            text: text(&bytes, cut),
            cut,
        }))
    }
}

/// `bytes` as text: invalid UTF-8 replaced, and a cut that split a
/// character dropped rather than replaced (as the collector does), then
/// kept within [`LOG_TEST_LINE_MAX`] (a replacement takes more bytes than
/// the byte it replaces).
fn text(bytes: &[u8], cut: bool) -> String {
    let bytes = match std::str::from_utf8(bytes) {
        Err(e) if cut && e.error_len().is_none() => &bytes[..e.valid_up_to()],
        _ => bytes,
    };
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    if text.len() > LOG_TEST_LINE_MAX {
        let mut end = LOG_TEST_LINE_MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Lines gathered into a batch a request frame holds.
#[derive(Debug, Default)]
pub struct Batch {
    /// The lines.
    pub lines: Vec<String>,
    json: usize,
}

impl Batch {
    /// Whether `line` should start a new batch rather than join this one.
    pub fn full_before(&self, line: &str) -> bool {
        !self.lines.is_empty()
            && (self.lines.len() >= LOG_TEST_BATCH_LINES || self.json + json_len(line) > BATCH_JSON)
    }

    /// Adds `line`.
    pub fn push(&mut self, line: String) {
        self.json += json_len(&line);
        self.lines.push(line);
    }
}

/// Bytes `line` takes as a JSON string, with its separator.
fn json_len(line: &str) -> usize {
    serde_json::to_string(line).map_or(6 * line.len() + 2, |s| s.len()) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<Line> {
        let mut lines = Lines::new(input, "test");
        let mut out = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            out.push(line);
        }
        out
    }

    fn line(text: &str) -> Line {
        Line {
            text: text.into(),
            cut: false,
        }
    }

    #[test]
    fn lines_are_split_as_the_collector_splits_them() {
        assert_eq!(
            all(b"a\r\nb\n\nc\rd\ne"),
            [line("a"), line("b"), line(""), line("c\rd"), line("e")]
        );
        assert!(all(b"").is_empty());
        assert_eq!(all(b"x\xffy\n"), [line("x\u{fffd}y")]);
    }

    #[test]
    fn a_long_line_is_cut_and_the_next_one_read_whole() {
        let mut input = vec![b'a'; LOG_TEST_LINE_MAX + 10];
        input.extend_from_slice(b"\nnext\n");
        // Read through a small buffer: the cut falls across reads.
        let reader = std::io::BufReader::with_capacity(1000, input.as_slice());
        let mut lines = Lines::new(reader, "test");
        let first = lines.next_line().unwrap().unwrap();
        assert!(first.cut);
        assert_eq!(first.text.len(), LOG_TEST_LINE_MAX);
        assert_eq!(lines.next_line().unwrap(), Some(line("next")));
        assert_eq!(lines.next_line().unwrap(), None);
        // A cut inside a character drops it; replacements stay in bounds.
        let mut split = vec![b'a'; LOG_TEST_LINE_MAX - 1];
        split.extend_from_slice("é".as_bytes());
        let cut = all(&split);
        assert_eq!(cut[0].text.len(), LOG_TEST_LINE_MAX - 1);
        let invalid = vec![0xff; LOG_TEST_LINE_MAX];
        assert!(all(&invalid)[0].text.len() <= LOG_TEST_LINE_MAX);
    }

    #[test]
    fn batches_fit_a_frame_whatever_the_lines() {
        let mut batch = Batch::default();
        let escaped = "\u{1b}".repeat(LOG_TEST_LINE_MAX);
        let mut batches = Vec::new();
        for _ in 0..10 {
            if batch.full_before(&escaped) {
                batches.push(std::mem::take(&mut batch));
            }
            batch.push(escaped.clone());
        }
        batches.push(batch);
        for b in &batches {
            let request =
                vigil_proto::Request::logs_test(b.lines.clone(), Some("s".repeat(1024)), None);
            let frame = vigil_proto::frame::encode(request.request());
            assert!(frame.is_ok(), "{} lines do not fit", b.lines.len());
        }
        assert_eq!(batches.iter().map(|b| b.lines.len()).sum::<usize>(), 10);
        let mut small = Batch::default();
        for _ in 0..LOG_TEST_BATCH_LINES {
            small.push("x".into());
        }
        assert!(
            small.full_before("x"),
            "at most {LOG_TEST_BATCH_LINES} lines"
        );
    }
}
