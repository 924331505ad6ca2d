//! `report_changes`: the text of small text files, and unified diffs
//! between what was recorded and what is on disk now.
//!
//! The collector keeps the text of a `report_changes` file in its record
//! (baseline included), so the first change after a baseline diffs against
//! the baseline's text, and each later one against the previous change's.

use std::time::Duration;

use similar::{Algorithm, TextDiff};

use super::one_line;

/// Lines of context around each change, as `diff -u` shows.
const CONTEXT_LINES: usize = 3;

/// How long [`unified`] searches for the smallest diff. Myers' algorithm
/// takes time proportional to the texts' length times the number of lines
/// changed: a 1 MiB file rewritten whole takes seconds. Past this time the
/// rest is reported as removed and added in blocks: still a correct diff,
/// only a longer one. This is the one thing here that reads a clock, and
/// it changes only how minimal a large diff is, never whether it is right.
pub const DIFF_TIMEOUT: Duration = Duration::from_millis(250);

/// `bytes` as text, when it is at most `max_bytes` long, valid UTF-8 and
/// holds no NUL (which no text file does, and which would make a binary
/// file look like text).
pub fn text_of(bytes: &[u8], max_bytes: usize) -> Option<String> {
    if bytes.len() > max_bytes || bytes.contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok().map(str::to_owned)
}

/// A unified diff of `old` to `new` (`--- path`, `+++ path`, hunks with
/// three lines of context), empty when the texts are the same. A text that
/// does not end in a newline gets diff's `\ No newline at end of file`.
/// Searching for the smallest diff stops after [`DIFF_TIMEOUT`].
///
/// At most `max_bytes` long: a longer diff is cut after its last whole line
/// that fits, followed by the line `… diff truncated (N more bytes)`, where
/// N counts the bytes left out; the notice itself is counted in
/// `max_bytes`. (A `max_bytes` too small for even the notice yields the
/// notice alone.)
pub fn unified(path: &str, old: &str, new: &str, max_bytes: usize) -> String {
    // A path may hold a newline; it must not forge a line of the diff.
    let name = one_line(path);
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(DIFF_TIMEOUT)
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header(&name, &name)
        .to_string();
    truncate(diff, max_bytes)
}

/// Cuts `diff` to at most `max_bytes` on a line boundary, saying how much
/// was left out.
fn truncate(mut diff: String, max_bytes: usize) -> String {
    if diff.len() <= max_bytes {
        return diff;
    }
    let notice = |left_out: usize| format!("… diff truncated ({left_out} more bytes)\n");
    // Room for the notice with as many digits as the most it may say.
    let room = max_bytes.saturating_sub(notice(diff.len()).len());
    // The end of the last line that fits (a byte after `\n` is always a
    // character boundary).
    let cut = diff.as_bytes()[..room]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |newline| newline + 1);
    let left_out = diff.len() - cut;
    diff.truncate(cut);
    diff.push_str(&notice(left_out));
    diff
}
