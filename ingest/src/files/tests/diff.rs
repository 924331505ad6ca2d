//! `text_of` and `unified`.

use crate::files::diff::{text_of, unified};

#[test]
fn text_of_takes_only_small_utf8_without_nul() {
    assert_eq!(
        text_of(b"PermitRootLogin no\n", 64).as_deref(),
        Some("PermitRootLogin no\n")
    );
    assert_eq!(text_of(b"", 0).as_deref(), Some(""));
    assert_eq!(text_of("é\n".as_bytes(), 3).as_deref(), Some("é\n"));
    assert_eq!(text_of(b"12345", 4), None, "over the limit");
    assert_eq!(text_of(b"\x7fELF\x02\x01\x01\x00", 64), None, "NUL");
    assert_eq!(text_of(b"caf\xe9\n", 64), None, "Latin-1, not UTF-8");
}

/// sshd_config as baselined.
const BASELINE: &str = "Port 22\nPermitRootLogin no\nPasswordAuthentication no\nX11Forwarding no\nUsePAM yes\nAcceptEnv LANG\nSubsystem sftp internal-sftp\n";

#[test]
fn the_first_change_diffs_against_the_baseline() {
    let new = BASELINE.replace("PermitRootLogin no", "PermitRootLogin yes");
    let diff = unified("/etc/ssh/sshd_config", BASELINE, &new, 4096);
    assert_eq!(
        diff,
        "--- /etc/ssh/sshd_config\n\
         +++ /etc/ssh/sshd_config\n\
         @@ -1,5 +1,5 @@\n \
         Port 22\n\
         -PermitRootLogin no\n\
         +PermitRootLogin yes\n \
         PasswordAuthentication no\n \
         X11Forwarding no\n \
         UsePAM yes\n"
    );
}

#[test]
fn separate_changes_make_separate_hunks() {
    let old: String = (1..=20).map(|i| format!("line {i}\n")).collect();
    let new = old
        .replace("line 2\n", "line two\n")
        .replace("line 18\n", "");
    let diff = unified("/f", &old, &new, 4096);
    let hunks: Vec<&str> = diff.lines().filter(|l| l.starts_with("@@")).collect();
    assert_eq!(hunks, ["@@ -1,5 +1,5 @@", "@@ -15,6 +15,5 @@"]);
}

#[test]
fn identical_texts_have_no_hunks() {
    assert_eq!(unified("/etc/hosts", BASELINE, BASELINE, 4096), "");
    assert_eq!(unified("/etc/hosts", "", "", 4096), "");
}

#[test]
fn from_and_to_empty() {
    assert_eq!(
        unified("/f", "", "a\n", 4096),
        "--- /f\n+++ /f\n@@ -0,0 +1 @@\n+a\n"
    );
    assert_eq!(
        unified("/f", "a\n", "", 4096),
        "--- /f\n+++ /f\n@@ -1 +0,0 @@\n-a\n"
    );
}

#[test]
fn a_missing_final_newline_is_shown() {
    let diff = unified("/f", "a\n", "a\nb", 4096);
    assert!(
        diff.ends_with("+b\n\\ No newline at end of file\n"),
        "{diff:?}"
    );
}

#[test]
fn a_newline_in_the_path_cannot_forge_a_line() {
    let diff = unified("/tmp/x\n+++ /etc/shadow", "a\n", "b\n", 4096);
    assert!(
        diff.starts_with("--- /tmp/x\\n+++ /etc/shadow\n+++ /tmp/x\\n+++ /etc/shadow\n"),
        "{diff:?}"
    );
}

#[test]
fn a_long_diff_is_cut_on_a_line_boundary() {
    let old: String = (0..1000).map(|i| format!("old {i}\n")).collect();
    let new: String = (0..1000).map(|i| format!("new {i}\n")).collect();
    let full = unified("/f", &old, &new, usize::MAX);
    for max in [200, 1000, 4096] {
        let cut = unified("/f", &old, &new, max);
        assert!(cut.len() <= max, "{} > {max}", cut.len());
        let (kept, notice) = cut
            .trim_end_matches('\n')
            .rsplit_once('\n')
            .expect("two lines at least");
        let kept = format!("{kept}\n");
        assert!(full.starts_with(&kept), "cut inside the diff's text");
        assert_eq!(
            notice,
            format!("… diff truncated ({} more bytes)", full.len() - kept.len())
        );
        // Nothing more would have fitted: the next line overflows.
        let next_line = full[kept.len()..]
            .split_inclusive('\n')
            .next()
            .expect("more");
        assert!(kept.len() + next_line.len() + notice.len() + 1 > max);
    }
}

#[test]
fn a_diff_that_fits_exactly_is_not_cut() {
    let full = unified("/f", "a\n", "b\n", usize::MAX);
    assert_eq!(unified("/f", "a\n", "b\n", full.len()), full);
    assert!(unified("/f", "a\n", "b\n", full.len() - 1).contains("diff truncated"));
}

#[test]
fn a_tiny_limit_leaves_only_the_notice() {
    let full = unified("/f", "a\n", "b\n", usize::MAX);
    assert_eq!(
        unified("/f", "a\n", "b\n", 5),
        format!("… diff truncated ({} more bytes)\n", full.len())
    );
}

#[test]
fn a_rewritten_large_file_is_diffed_in_bounded_time() {
    let old: String = (0..20_000).map(|i| format!("old line {i}\n")).collect();
    let new: String = (0..20_000).map(|i| format!("new line {i}\n")).collect();
    let started = std::time::Instant::now();
    let diff = unified("/f", &old, &new, 1 << 16);
    // Generous for a debug build on a busy machine: without the search's
    // timeout this takes tens of seconds there.
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    assert!(diff.len() <= 1 << 16);
    assert!(diff.contains("-old line 0\n"));
}
