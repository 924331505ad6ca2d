//! Splitting what was read into lines, whatever their length.
//!
//! A line longer than `max_line_bytes` is cut there and flagged; the rest
//! of it is skipped as it is read, never held, so a 10 MB line costs
//! `max_line_bytes` of memory. A line is handed out only once its newline
//! has been read: the offset after it is where a restart resumes, so a
//! line is never half-read, and a cut line never yields its tail as
//! another line.
//!
//! Given its set's [`LineScan`], a splitter tries the rules on all the
//! whole lines of a read at once and passes over the lines before the
//! first that may match: those are counted, not handed out.

use vigil_ingest::logs::LineScan;

/// One complete line, borrowed from what was read (or from the
/// splitter, for a line that spanned reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// Where it starts in the file.
    pub offset: u64,
    /// Where the next line starts (past its newline).
    pub end: u64,
    /// Its bytes, without the newline (and a `\r` before it), at most
    /// `max_line_bytes`.
    pub bytes: &'a [u8],
    /// Whether bytes were cut off.
    pub truncated: bool,
    /// The journal entry's cursor (files: none).
    pub cursor: Option<&'a str>,
    /// Whether a rule is known to match it: the scan found the match, so
    /// the rules need not ask first whether any does.
    pub matches: bool,
}

/// What is made of each line read: the line to keep, if any (matching,
/// counting and alerting happen there, on the borrowed line).
pub type Keep<'k> = dyn FnMut(Line<'_>) -> Option<vigil_store::LogLine> + 'k;

/// Where a source's lines go: `keep` makes the line to keep of each, and
/// the set's `scan`, if it has one, passes over lines no rule matches.
pub struct Sink<'a, 'k> {
    /// What is made of each line handed out.
    pub keep: &'a mut Keep<'k>,
    /// The set's rules over whole reads.
    pub scan: Option<&'a LineScan>,
}

/// Bytes read but not yet a whole line.
#[derive(Debug)]
pub struct Splitter {
    max: usize,
    /// The current line's first bytes (at most `max`), when it spans reads.
    pending: Vec<u8>,
    /// Where the current line starts.
    start: u64,
    /// Whether the current line is past `max` (its rest is skipped).
    cut: bool,
    /// Where the next byte fed belongs.
    at: u64,
    /// Lines passed over, not handed out, since [`Splitter::take_passed`].
    passed: u64,
}

impl Splitter {
    /// A splitter for lines starting at `offset`.
    pub fn new(max_line_bytes: u64, offset: u64) -> Splitter {
        Splitter {
            max: usize::try_from(max_line_bytes).unwrap_or(usize::MAX).max(1),
            pending: Vec::new(),
            start: offset,
            cut: false,
            at: offset,
            passed: 0,
        }
    }

    /// Where the current, unfinished line starts: the position to commit.
    pub fn line_start(&self) -> u64 {
        self.start
    }

    /// Where the next byte fed belongs: where reading continues.
    pub fn read_to(&self) -> u64 {
        self.at
    }

    /// Lines read and passed over (as no rule can match them) since the
    /// last call.
    pub fn take_passed(&mut self) -> u64 {
        std::mem::take(&mut self.passed)
    }

    /// Feeds the bytes read next; every line they complete goes to
    /// `line`, borrowed (copied only when it spans reads), except those
    /// `scan` shows no rule matches (if given: only for sets that keep
    /// matching lines alone).
    pub fn feed(
        &mut self,
        mut bytes: &[u8],
        scan: Option<&LineScan>,
        line: &mut dyn FnMut(Line<'_>),
    ) {
        // The whole lines of this read, if the rules may see them at once.
        let text = scan.and_then(|scan| Some((scan, scannable(bytes)?)));
        let fed = bytes.len();
        // Set once the scan has run up to the next line: whether it
        // stopped there for a match in it.
        let mut scanned: Option<bool> = None;
        while !bytes.is_empty() {
            if let Some((scan, text)) = text
                && scanned.is_none()
                && self.pending.is_empty()
                && !self.cut
                && fed - bytes.len() < text.len()
            {
                let (passed, stopped_at_match) = self.pass_over(&text[fed - bytes.len()..], scan);
                bytes = &bytes[passed..];
                scanned = Some(stopped_at_match);
                continue;
            }
            let matches = scanned.take().unwrap_or(false);
            let newline = memchr::memchr(b'\n', bytes);
            let (body, rest) = match newline {
                Some(i) => (&bytes[..i], &bytes[i + 1..]),
                None => (bytes, &[][..]),
            };
            self.at += body.len() as u64;
            if newline.is_some() && self.pending.is_empty() && !self.cut {
                // The whole line is in this read: no copy.
                self.at += 1;
                let cut = body.len() > self.max;
                let kept = if cut { &body[..self.max] } else { body };
                self.emit(kept, cut, matches && !cut, line);
            } else {
                let room = self.max.saturating_sub(self.pending.len());
                if body.len() > room {
                    self.cut = true;
                }
                self.pending
                    .extend_from_slice(&body[..body.len().min(room)]);
                if newline.is_some() {
                    self.at += 1;
                    let pending = std::mem::take(&mut self.pending);
                    let cut = self.cut;
                    self.emit(&pending, cut, false, line);
                    // Keep the allocation for the next long line.
                    self.pending = pending;
                    self.pending.clear();
                }
            }
            bytes = rest;
        }
    }

    /// Passes over the lines at the start of `text` (whole lines) that
    /// come before the first a rule matches: how many bytes they took,
    /// and whether the next line is that one. A line longer than `max`
    /// stops it: it is handed out cut, as it would be read alone.
    fn pass_over(&mut self, text: &str, scan: &LineScan) -> (usize, bool) {
        let found = scan.first_candidate(text);
        let until = found.unwrap_or(text.len());
        let mut at = 0;
        for newline in memchr::memchr_iter(b'\n', &text.as_bytes()[..until]) {
            if newline - at > self.max {
                break;
            }
            self.passed += 1;
            at = newline + 1;
        }
        self.start += at as u64;
        self.at += at as u64;
        (at, found.is_some() && at == until)
    }

    /// The unfinished line as a line: the file will not grow any more (it
    /// was rotated away and read to its end).
    pub fn finish(&mut self, line: &mut dyn FnMut(Line<'_>)) {
        if self.at > self.start {
            let pending = std::mem::take(&mut self.pending);
            let cut = self.cut;
            self.emit(&pending, cut, false, line);
        }
    }

    fn emit(&mut self, bytes: &[u8], cut: bool, matches: bool, line: &mut dyn FnMut(Line<'_>)) {
        let bytes = match bytes.split_last() {
            Some((b'\r', rest)) if !cut => rest,
            _ => bytes,
        };
        line(Line {
            offset: self.start,
            end: self.at,
            bytes,
            truncated: cut,
            cursor: None,
            matches,
        });
        self.start = self.at;
        self.cut = false;
    }
}

/// The whole lines at the start of `bytes`, newlines included, if the
/// rules would see each of them unchanged line by line: UTF-8 without
/// carriage returns (a line loses a `\r` before its newline).
fn scannable(bytes: &[u8]) -> Option<&str> {
    let whole = &bytes[..=memchr::memrchr(b'\n', bytes)?];
    if memchr::memchr(b'\r', whole).is_some() {
        return None;
    }
    std::str::from_utf8(whole).ok()
}

/// A line's bytes as text: borrowed when they are UTF-8, else with
/// invalid bytes replaced; a cut that split a character drops it rather
/// than replacing it.
pub fn text<'a>(bytes: &'a [u8], truncated: bool) -> std::borrow::Cow<'a, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(e) if truncated && e.error_len().is_none() => {
            String::from_utf8_lossy(&bytes[..e.valid_up_to()])
        }
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line as the tests compare it.
    #[derive(Debug, PartialEq, Eq)]
    struct Owned {
        offset: u64,
        end: u64,
        bytes: Vec<u8>,
        truncated: bool,
    }

    fn owned(out: &mut Vec<Owned>) -> impl FnMut(Line<'_>) + '_ {
        |l| {
            out.push(Owned {
                offset: l.offset,
                end: l.end,
                bytes: l.bytes.to_vec(),
                truncated: l.truncated,
            })
        }
    }

    fn split(max: u64, chunks: &[&[u8]]) -> (Vec<Owned>, Splitter) {
        let mut s = Splitter::new(max, 100);
        let mut out = Vec::new();
        for chunk in chunks {
            s.feed(chunk, None, &mut owned(&mut out));
        }
        (out, s)
    }

    #[test]
    fn lines_come_out_whole_with_their_offsets_whatever_the_chunks() {
        let (out, s) = split(64, &[b"ab", b"c\nde\r\n", b"f"]);
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[0].offset, out[0].end, &out[0].bytes[..]),
            (100, 104, &b"abc"[..])
        );
        assert_eq!(
            (out[1].offset, out[1].end, &out[1].bytes[..]),
            (104, 108, &b"de"[..])
        );
        assert_eq!(
            (s.line_start(), s.read_to()),
            (108, 109),
            "`f` waits for its newline"
        );
    }

    #[test]
    fn a_long_line_is_cut_flagged_and_its_rest_skipped_without_being_held() {
        let long = vec![b'x'; 10 << 20];
        let mut s = Splitter::new(1024, 0);
        let mut out = Vec::new();
        for chunk in long.chunks(64 << 10) {
            s.feed(chunk, None, &mut owned(&mut out));
            assert!(s.pending.len() <= 1024);
        }
        assert!(out.is_empty(), "not a line before its newline");
        s.feed(b"\nnext\n", None, &mut owned(&mut out));
        assert_eq!(out.len(), 2);
        assert!(out[0].truncated && out[0].bytes.len() == 1024);
        assert_eq!(out[0].end, (10 << 20) + 1);
        assert_eq!((&out[1].bytes[..], out[1].truncated), (&b"next"[..], false));
        // Cut within one read too.
        s.feed(&[b'y'; 2000], None, &mut owned(&mut out));
        s.feed(b"\n", None, &mut owned(&mut out));
        let mut whole = vec![b'z'; 2000];
        whole.push(b'\n');
        s.feed(&whole, None, &mut owned(&mut out));
        assert_eq!((out[2].bytes.len(), out[2].truncated), (1024, true));
        assert_eq!(
            (out[3].bytes.len(), out[3].truncated, out[3].bytes[0]),
            (1024, true, b'z')
        );
    }

    #[test]
    fn the_unfinished_line_of_a_rotated_file_is_a_line() {
        let (mut out, mut s) = split(64, &[b"a\nlast"]);
        s.finish(&mut owned(&mut out));
        assert_eq!(out[1].bytes, b"last");
        let before = out.len();
        s.finish(&mut owned(&mut out));
        assert_eq!(out.len(), before);
    }

    #[test]
    fn a_cut_inside_a_character_drops_the_broken_character() {
        assert_eq!(text(&"é".as_bytes()[..1], true), "");
        assert_eq!(text(&[0xff, b'a'], false), "\u{fffd}a");
        assert!(matches!(
            text(b"plain", false),
            std::borrow::Cow::Borrowed("plain")
        ));
    }

    /// With a scan, the lines that may match are handed out as without
    /// one (same offsets, same cuts), every line is counted, and lines
    /// the rules cannot see unchanged (a `\r`, bad UTF-8, a cut) are
    /// looked at one by one.
    #[test]
    fn a_scan_passes_over_only_lines_that_match_nothing() {
        let patterns = ["FAIL", "^end$", r"x\s+y"];
        let scan = LineScan::new(&patterns, 1 << 20).unwrap();
        let set = regex::RegexSet::new(patterns).unwrap();
        let mut text = Vec::new();
        for i in 0..3000u32 {
            let line: Vec<u8> = match i % 13 {
                0 => format!("{i} FAIL here").into(),
                1 => b"end".to_vec(),
                2 => format!("{i} ends with x").into(),
                3 if i == 1503 => format!("{i} FAIL with a carriage return\r").into(),
                4 if i % 3 == 0 => vec![b'F'; 300],
                5 if i == 2605 => vec![0xff, b' ', b'F', b'A', b'I', b'L'],
                6 => format!("{i} {} FAIL after the cut", "z".repeat(100)).into(),
                7 => format!("y {i} starts a line").into(),
                _ => format!("{i} ordinary").into(),
            };
            text.extend_from_slice(&line);
            text.push(b'\n');
        }
        let run = |scan: Option<&LineScan>, chunk: usize| {
            let mut s = Splitter::new(64, 7);
            let mut out = Vec::new();
            let mut read = 0u64;
            let mut known = 0;
            for piece in text.chunks(chunk) {
                s.feed(piece, scan, &mut |l| {
                    read += 1;
                    let matches = set.is_match(&text_of(l.bytes, l.truncated));
                    // Said to match only by a scan, and only if it does.
                    assert!(!l.matches || (matches && scan.is_some()), "{l:?}");
                    known += usize::from(l.matches);
                    if matches {
                        out.push((l.offset, l.end, l.bytes.to_vec(), l.truncated));
                    }
                });
                read += s.take_passed();
            }
            ((out, read, s.line_start()), known)
        };
        let ((want, lines, end), _) = run(None, 4096);
        assert_eq!(lines, 3000);
        assert!(want.len() > 400, "{} lines match", want.len());
        for chunk in [1, 7, 100, 4096, 1 << 20] {
            let (got, known) = run(Some(&scan), chunk);
            assert_eq!(got, (want.clone(), lines, end), "{chunk}");
            // Reads of 4 KiB are mostly scanned; one read of everything
            // holds the `\r` and the bad byte, and goes line by line.
            match chunk {
                4096 => assert!(known > want.len() / 2, "{known} known to match"),
                1_048_576 => assert_eq!(known, 0),
                _ => {}
            }
        }
    }

    fn text_of(bytes: &[u8], truncated: bool) -> String {
        text(bytes, truncated).into_owned()
    }
}
