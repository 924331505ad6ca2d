//! Following the systemd journal through `journalctl --output=json
//! --follow`, from the cursor committed with the last lines read.
//!
//! No maintained Rust crate reads journal files without linking
//! libsystemd; journalctl is on every systemd host, reads the journal's
//! own files, and applies the matches and the priority itself. Each entry
//! becomes a line as syslog would write it (`sshd[42]: message`), so the
//! same rules fit a file and the journal.

use super::lines::{Keep, Line};
use super::tail::{Start, Step};
use crate::config::JournalSet;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vigil_store::{LogChangeKind, LogPosition};

/// The journalctl run.
const JOURNALCTL: &str = "journalctl";
/// Entries taken in one poll (the rest wait for the next).
const PER_POLL: usize = 10_000;
/// Entries read ahead of the collector, at most.
const AHEAD: usize = 20_000;
/// The longest JSON line read from journalctl; a longer entry is skipped
/// whole (journald itself cuts messages far below this).
const MAX_ENTRY: usize = 32 << 20;
/// Waits between tries when journalctl ends, doubling up to the last.
const RETRY: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(60),
];

/// One entry, or the end of journalctl's output.
enum FromJournal {
    Entry { cursor: String, text: Vec<u8> },
    Ended,
}

/// The journal as one set follows it.
pub struct JournalTail {
    set: JournalSet,
    max_line: u64,
    /// The cursor to start after (the log's, then the last handed out).
    cursor: Option<String>,
    start: Start,
    started: bool,
    child: Option<Child>,
    entries: Option<flume::Receiver<FromJournal>>,
    errors: Arc<Mutex<String>>,
    wake: Arc<dyn Fn() + Send + Sync>,
    retry_at: Option<Instant>,
    failures: usize,
    noted: Option<String>,
}

impl JournalTail {
    /// Follows `set` after `cursor` (or from `start` without one);
    /// `wake` is called when entries arrive.
    pub fn new(
        set: JournalSet,
        cursor: Option<String>,
        start: Start,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> JournalTail {
        JournalTail {
            max_line: set.max_line_bytes.0,
            set,
            cursor,
            start,
            started: false,
            child: None,
            entries: None,
            errors: Arc::default(),
            wake,
            retry_at: None,
            failures: 0,
            noted: None,
        }
    }

    /// Takes what journalctl read since the last poll, each line through
    /// `keep`; whether more is waiting.
    pub fn poll(&mut self, keep: &mut Keep<'_>, out: &mut Vec<Step>) -> bool {
        if self.child.is_none() {
            if self.retry_at.is_some_and(|at| Instant::now() < at) {
                return false;
            }
            self.spawn(out);
        }
        let Some(entries) = &self.entries else {
            return false;
        };
        let mut kept = Vec::new();
        let (mut read, mut bytes) = (0u64, 0u64);
        let mut last = None;
        let mut ended = false;
        for entry in entries.try_iter().take(PER_POLL) {
            match entry {
                FromJournal::Entry { cursor, text } => {
                    let truncated = text.len() as u64 > self.max_line;
                    let cut = &text[..text.len().min(self.max_line as usize)];
                    read += 1;
                    bytes += cut.len() as u64;
                    kept.extend(keep(Line {
                        offset: 0,
                        end: 0,
                        bytes: cut,
                        truncated,
                        cursor: Some(&cursor),
                        matches: false,
                    }));
                    last = Some(cursor);
                }
                FromJournal::Ended => {
                    ended = true;
                    break;
                }
            }
        }
        let more = !ended && !entries.is_empty();
        if let Some(cursor) = last {
            self.cursor = Some(cursor.clone());
            self.failures = 0;
            self.noted = None;
            out.push(Step::Lines {
                kept,
                read,
                position: LogPosition::Journal { cursor },
                bytes,
            });
        }
        if ended {
            self.stop();
            let errors = self
                .errors
                .lock()
                .map(|e| e.trim().to_string())
                .unwrap_or_default();
            let wait = RETRY[self.failures.min(RETRY.len() - 1)];
            self.failures += 1;
            self.retry_at = Some(Instant::now() + wait);
            let detail = if errors.is_empty() {
                "journalctl ended".to_string()
            } else {
                format!("journalctl ended: {errors}")
            };
            self.note(out, LogChangeKind::Refused, detail);
        }
        more
    }

    /// Starts again after `cursor` (an append failed).
    pub fn reset(&mut self, cursor: Option<String>) {
        self.stop();
        self.cursor = cursor;
        self.started = false;
        self.noted = None;
    }

    fn spawn(&mut self, out: &mut Vec<Step>) {
        if !self.started {
            self.started = true;
            if self.cursor.is_none() && self.start == Start::End {
                // Where the journal ends now, recorded: what comes after is
                // read even if vigild stops before anything matches.
                match self.last_cursor() {
                    Ok(Some(cursor)) => {
                        self.cursor = Some(cursor.clone());
                        out.push(Step::Change {
                            change: LogChangeKind::Started,
                            position: Some(LogPosition::Journal { cursor }),
                            detail: "followed from the journal's end".into(),
                        });
                    }
                    Ok(None) => out.push(Step::Change {
                        change: LogChangeKind::Started,
                        position: None,
                        detail: "followed from the beginning (the journal holds nothing yet)"
                            .into(),
                    }),
                    Err(e) => {
                        self.retry_at = Some(Instant::now() + RETRY[0]);
                        self.started = false;
                        self.note(out, LogChangeKind::Refused, e);
                        return;
                    }
                }
            } else if self.cursor.is_none() {
                out.push(Step::Change {
                    change: LogChangeKind::Started,
                    position: None,
                    detail: "followed from the beginning".into(),
                });
            }
        }
        let mut command = self.command();
        command.args(["--follow", "--no-tail"]);
        if let Some(cursor) = &self.cursor {
            command.arg(format!("--after-cursor={cursor}"));
        }
        let mut child = match command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(e) => {
                self.retry_at = Some(Instant::now() + RETRY[self.failures.min(RETRY.len() - 1)]);
                self.failures += 1;
                self.note(
                    out,
                    LogChangeKind::Refused,
                    format!("cannot run {JOURNALCTL}: {e}"),
                );
                return;
            }
        };
        let (send, entries) = flume::bounded(AHEAD);
        if let Some(stdout) = child.stdout.take() {
            let wake = self.wake.clone();
            let spawned = std::thread::Builder::new()
                .name("vigil-journal".into())
                .spawn(move || read_entries(stdout, &send, &*wake));
            if spawned.is_err() {
                let _ = child.kill();
                let _ = child.wait();
                self.note(out, LogChangeKind::Refused, "cannot start a thread".into());
                return;
            }
        }
        if let Some(mut stderr) = child.stderr.take() {
            let errors = self.errors.clone();
            if let Ok(mut e) = errors.lock() {
                e.clear();
            }
            let _ = std::thread::Builder::new()
                .name("vigil-journal-err".into())
                .spawn(move || {
                    let mut text = String::new();
                    let _ = stderr.by_ref().take(4096).read_to_string(&mut text);
                    if let Ok(mut e) = errors.lock() {
                        *e = text;
                    }
                });
        }
        self.child = Some(child);
        self.entries = Some(entries);
    }

    /// journalctl with this set's source, matches and priority.
    fn command(&self) -> Command {
        // journalctl --follow ends when its output closes, so it ends with
        // vigild, even one killed with SIGKILL (the e2e test checks it).
        let mut command = Command::new(JOURNALCTL);
        command.env("LC_ALL", "C").env("SYSTEMD_PAGER", "").args([
            "--output=json",
            "--no-pager",
            "--quiet",
            // Without it, fields over 4096 bytes come as null.
            "--all",
        ]);
        if let Some(dir) = &self.set.directory {
            command.arg(format!("--directory={}", dir.get_ref()));
        }
        if let Some(priority) = self.set.priority {
            command.arg(format!("--priority=0..{}", priority.0));
        }
        for m in &self.set.matches {
            command.arg(m.get_ref());
        }
        command
    }

    /// The cursor of the last entry the set's matches select, if any.
    fn last_cursor(&self) -> Result<Option<String>, String> {
        let out = self
            .command()
            .args(["--lines=1"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {JOURNALCTL}: {e}"))?;
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr);
            return Err(format!("{JOURNALCTL} failed: {}", why.trim()));
        }
        let last = out.stdout.split(|b| *b == b'\n').rfind(|l| !l.is_empty());
        Ok(last.and_then(entry).map(|(cursor, _)| cursor))
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.entries = None;
    }

    fn note(&mut self, out: &mut Vec<Step>, change: LogChangeKind, detail: String) {
        if self.noted.as_deref() == Some(detail.as_str()) {
            return;
        }
        tracing::warn!(set = %self.set.name, "log collection: journal: {detail}");
        self.noted = Some(detail.clone());
        out.push(Step::Change {
            change,
            position: None,
            detail,
        });
    }
}

impl Drop for JournalTail {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads journalctl's JSON lines into `send` until it ends.
fn read_entries(
    stdout: impl Read,
    send: &flume::Sender<FromJournal>,
    wake: &(dyn Fn() + Send + Sync),
) {
    let mut reader = BufReader::with_capacity(256 << 10, stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        match read_line(&mut reader, &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let Some((cursor, text)) = entry(&line) else {
            continue;
        };
        if send.send(FromJournal::Entry { cursor, text }).is_err() {
            return;
        }
        wake();
    }
    let _ = send.send(FromJournal::Ended);
    wake();
}

/// One line into `line`, at most [`MAX_ENTRY`] bytes of it kept (a longer
/// one is kept empty: not JSON, skipped). The bytes consumed.
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut consumed = 0;
    let mut over = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(consumed);
        }
        let (chunk, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        if !over && line.len() + chunk.len() <= MAX_ENTRY {
            line.extend_from_slice(chunk);
        } else {
            over = true;
            line.clear();
        }
        let n = chunk.len();
        reader.consume(n);
        consumed += n;
        if done {
            return Ok(consumed);
        }
    }
}

/// An entry's cursor and its line: `IDENTIFIER[PID]: MESSAGE`.
fn entry(json: &[u8]) -> Option<(String, Vec<u8>)> {
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    let cursor = value.get("__CURSOR")?.as_str()?.to_string();
    let field = |name: &str| value.get(name).and_then(bytes_of);
    let message = field("MESSAGE").unwrap_or_default();
    let identifier = field("SYSLOG_IDENTIFIER").or_else(|| field("_COMM"));
    let pid = field("SYSLOG_PID").or_else(|| field("_PID"));
    let mut text = Vec::with_capacity(message.len() + 32);
    if let Some(identifier) = identifier {
        text.extend_from_slice(&identifier);
        if let Some(pid) = pid {
            text.push(b'[');
            text.extend_from_slice(&pid);
            text.push(b']');
        }
        text.extend_from_slice(b": ");
    }
    text.extend_from_slice(&message);
    Some((cursor, text))
}

/// A field's value: text, bytes (an array of numbers, for binary data),
/// or the first of several values.
fn bytes_of(value: &serde_json::Value) -> Option<Vec<u8>> {
    match value {
        serde_json::Value::String(s) => Some(s.as_bytes().to_vec()),
        serde_json::Value::Array(items) if items.iter().all(serde_json::Value::is_u64) => items
            .iter()
            .map(|n| n.as_u64().and_then(|n| u8::try_from(n).ok()))
            .collect(),
        serde_json::Value::Array(items) => items.first().and_then(bytes_of),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_as_a_syslog_line_with_its_cursor() {
        let (cursor, text) = entry(
            br#"{"__CURSOR":"s=1;i=2","MESSAGE":"Failed password for root","SYSLOG_IDENTIFIER":"sshd","_PID":"42","_COMM":"sshd"}"#,
        )
        .unwrap();
        assert_eq!(cursor, "s=1;i=2");
        assert_eq!(text, b"sshd[42]: Failed password for root");
        let (_, binary) =
            entry(br#"{"__CURSOR":"c","MESSAGE":[104,105,255],"_COMM":"kernel"}"#).unwrap();
        assert_eq!(binary, b"kernel: hi\xff");
        assert!(entry(br#"{"MESSAGE":"no cursor"}"#).is_none());
        assert!(entry(b"not json").is_none());
    }

    #[test]
    fn a_line_longer_than_the_limit_is_consumed_and_dropped() {
        let mut input = vec![b'x'; MAX_ENTRY + 10];
        input.extend_from_slice(b"\n{\"a\":1}\n");
        let mut reader = BufReader::with_capacity(1 << 16, &input[..]);
        let mut line = Vec::new();
        assert_eq!(read_line(&mut reader, &mut line).unwrap(), MAX_ENTRY + 11);
        assert!(line.is_empty());
        read_line(&mut reader, &mut line).unwrap();
        assert_eq!(line, b"{\"a\":1}\n");
    }
}
