//! Splitting what was read into lines, whatever their length.
//!
//! A line longer than `max_line_bytes` is cut there and flagged; the rest
//! of it is skipped as it is read, never held, so a 10 MB line costs
//! `max_line_bytes` of memory. A line is handed out only once its newline
//! has been read: the offset after it is where a restart resumes, so a
//! line is never half-read, and a cut line never yields its tail as
//! another line.

/// One complete line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLine {
    /// Where it starts in the file.
    pub offset: u64,
    /// Where the next line starts (past its newline).
    pub end: u64,
    /// Its bytes, without the newline (and a `\r` before it), at most
    /// `max_line_bytes`.
    pub bytes: Vec<u8>,
    /// Whether bytes were cut off.
    pub truncated: bool,
    /// The journal entry's cursor (files: none).
    pub cursor: Option<String>,
}

/// Bytes read but not yet a whole line.
#[derive(Debug)]
pub struct Splitter {
    max: usize,
    /// The current line's first bytes (at most `max`).
    pending: Vec<u8>,
    /// Where the current line starts.
    start: u64,
    /// Whether the current line is past `max` (its rest is skipped).
    cut: bool,
    /// Where the next byte fed belongs.
    at: u64,
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

    /// Feeds the bytes read next; every line they complete goes to `out`.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<RawLine>) {
        while !bytes.is_empty() {
            let newline = memchr(bytes);
            let (body, rest) = match newline {
                Some(i) => (&bytes[..i], &bytes[i + 1..]),
                None => (bytes, &[][..]),
            };
            let room = self.max.saturating_sub(self.pending.len());
            if body.len() > room {
                self.cut = true;
            }
            self.pending
                .extend_from_slice(&body[..body.len().min(room)]);
            self.at += body.len() as u64;
            if newline.is_some() {
                self.at += 1;
                out.push(self.take());
            }
            bytes = rest;
        }
    }

    /// The unfinished line as a line: the file will not grow any more (it
    /// was rotated away and read to its end).
    pub fn finish(&mut self) -> Option<RawLine> {
        (self.at > self.start).then(|| self.take())
    }

    fn take(&mut self) -> RawLine {
        let mut bytes = std::mem::take(&mut self.pending);
        if !self.cut && bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        let line = RawLine {
            offset: self.start,
            end: self.at,
            bytes,
            truncated: self.cut,
            cursor: None,
        };
        self.start = self.at;
        self.cut = false;
        line
    }
}

fn memchr(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| *b == b'\n')
}

/// `bytes` as text: invalid UTF-8 replaced, and a cut that split a
/// character dropped rather than replaced.
pub fn text(line: &RawLine) -> String {
    let bytes = if line.truncated {
        match std::str::from_utf8(&line.bytes) {
            Err(e) if e.error_len().is_none() => &line.bytes[..e.valid_up_to()],
            _ => &line.bytes[..],
        }
    } else {
        &line.bytes[..]
    };
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: u64, chunks: &[&[u8]]) -> (Vec<RawLine>, Splitter) {
        let mut s = Splitter::new(max, 100);
        let mut out = Vec::new();
        for chunk in chunks {
            s.feed(chunk, &mut out);
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
            s.feed(chunk, &mut out);
            assert!(s.pending.len() <= 1024);
        }
        assert!(out.is_empty(), "not a line before its newline");
        s.feed(b"\nnext\n", &mut out);
        assert_eq!(out.len(), 2);
        assert!(out[0].truncated && out[0].bytes.len() == 1024);
        assert_eq!(out[0].end, (10 << 20) + 1);
        assert_eq!((&out[1].bytes[..], out[1].truncated), (&b"next"[..], false));
    }

    #[test]
    fn the_unfinished_line_of_a_rotated_file_is_a_line() {
        let (mut out, mut s) = split(64, &[b"a\nlast"]);
        out.extend(s.finish());
        assert_eq!(out[1].bytes, b"last");
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn a_cut_inside_a_character_drops_the_broken_character() {
        let line = RawLine {
            offset: 0,
            end: 10,
            bytes: "é".as_bytes()[..1].to_vec(),
            truncated: true,
            cursor: None,
        };
        assert_eq!(text(&line), "");
        let whole = RawLine {
            truncated: false,
            bytes: vec![0xff, b'a'],
            ..line
        };
        assert_eq!(text(&whole), "\u{fffd}a");
    }
}
