//! Silences: validity window, matching, and refusing match-everything.

use super::{labels, ts};
use crate::route::{Matchers, Silence, SilenceError};

fn silence(matchers: &[&str], from: &str, to: &str) -> Result<Silence, SilenceError> {
    Silence::new(
        "42",
        Matchers::parse_all(matchers).expect("matchers"),
        ts(from),
        ts(to),
        "maintenance",
        "alice",
    )
}

#[test]
fn a_silence_is_active_from_its_start_until_just_before_its_end() {
    let s = silence(
        &["env=\"prod\""],
        "2026-03-02T10:00:00Z",
        "2026-03-02T12:00:00Z",
    )
    .expect("valid");
    assert!(!s.is_active(ts("2026-03-02T09:59:59Z")), "future");
    assert!(s.is_active(ts("2026-03-02T10:00:00Z")));
    assert!(s.is_active(ts("2026-03-02T11:59:59.999999Z")));
    assert!(!s.is_active(ts("2026-03-02T12:00:00Z")), "expired");
    assert!(!s.is_active(ts("2026-03-03T00:00:00Z")), "expired");

    let prod = labels(&[("env", "prod"), ("team", "db")]);
    assert!(s.mutes(&prod));
    assert!(s.mutes_at(&prod, ts("2026-03-02T11:00:00Z")));
    assert!(!s.mutes_at(&prod, ts("2026-03-02T13:00:00Z")));
    assert_eq!(
        (s.id(), s.comment(), s.created_by()),
        ("42", "maintenance", "alice")
    );
}

#[test]
fn every_matcher_must_match() {
    let s = silence(
        &["env=\"prod\"", "team=~\"db|infra\""],
        "2026-03-02T10:00:00Z",
        "2026-03-02T12:00:00Z",
    )
    .expect("valid");
    assert!(s.mutes(&labels(&[("env", "prod"), ("team", "infra")])));
    assert!(!s.mutes(&labels(&[("env", "prod"), ("team", "web")])));
    assert!(!s.mutes(&labels(&[("env", "prod")])));
}

#[test]
fn silences_that_would_match_every_alert_are_refused() {
    let (from, to) = ("2026-03-02T10:00:00Z", "2026-03-02T12:00:00Z");
    assert_eq!(silence(&[], from, to), Err(SilenceError::NoMatchers));
    for everything in [
        &["foo=~\".*\""][..],
        &["foo!=\"x\""],
        &["foo=\"\""],
        &["foo=~\".*\"", "bar!~\"y\""],
    ] {
        assert_eq!(
            silence(everything, from, to),
            Err(SilenceError::MatchesEverything),
            "{everything:?}"
        );
    }
    // One matcher that needs a value is enough.
    assert!(silence(&["foo=~\".*\"", "env=\"prod\""], from, to).is_ok());
}

#[test]
fn a_silence_cannot_end_before_it_starts() {
    assert_eq!(
        silence(
            &["env=prod"],
            "2026-03-02T12:00:00Z",
            "2026-03-02T10:00:00Z"
        ),
        Err(SilenceError::EndsBeforeStart)
    );
    // Ending when it starts (expired before it began) is valid, never active.
    let s = silence(
        &["env=prod"],
        "2026-03-02T12:00:00Z",
        "2026-03-02T12:00:00Z",
    )
    .expect("valid");
    assert!(!s.is_active(ts("2026-03-02T12:00:00Z")));
}
