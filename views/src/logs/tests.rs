use super::*;
use crate::test_seal;
use vigil_store::{
    Alert, AlertStatus, FilePosition, Hash, LogLine, LogLines, LogRuleMatch, LogSourceChange,
    Severity, ThresholdCount,
};

const S: i64 = 1_000_000;

fn position(offset: u64) -> LogPosition {
    LogPosition::File(FilePosition {
        dev: 1,
        inode: 2,
        offset,
        head: Hash([1; 32]),
        head_len: 10,
        tail: Hash([2; 32]),
        tail_len: 10,
    })
}

fn failed_login(ip: &str, alert: bool) -> LogLine {
    LogLine {
        offset: 0,
        cursor: None,
        text: format!("sshd[1]: Failed password for root from {ip} port 22 ssh2"),
        truncated: false,
        matches: vec![LogRuleMatch {
            rule: "sshd-failed-password".into(),
            threshold: Some(ThresholdCount {
                key: ip.into(),
                count: 3,
                within: 60 * S,
                cooldown: 600 * S,
            }),
            alert: alert.then(|| Alert {
                fingerprint: "fp".into(),
                status: AlertStatus::Firing,
                severity: Severity::Error,
                summary: "brute force".into(),
                labels: Default::default(),
                annotations: Default::default(),
                starts_at: None,
                ends_at: None,
                links: vec![],
            }),
        }],
    }
}

fn lines(at: i64, offset: u64, read: u64, kept: Vec<LogLine>) -> Event {
    Event::Logs(LogEvent::Lines(LogLines {
        set: "auth".into(),
        path: "/var/log/auth.log".into(),
        at,
        position: position(offset),
        read,
        bytes: offset,
        lines: kept,
    }))
}

#[test]
fn the_position_is_the_last_committed_and_counts_add_up() {
    let mut view = LogsView::default();
    view.apply(&test_seal(1, 10), Some(&lines(S, 100, 5, vec![])));
    view.apply(
        &test_seal(2, 20),
        Some(&lines(2 * S, 300, 3, vec![failed_login("10.0.0.1", false)])),
    );
    let followed = view.get("auth", "/var/log/auth.log").unwrap();
    assert_eq!(followed.position, Some(position(300)));
    assert_eq!(
        (
            followed.lines,
            followed.bytes,
            followed.matched,
            followed.alerts
        ),
        (8, 400, 1, 0)
    );
    assert_eq!(followed.last_read, Some(20));
}

#[test]
fn replaying_the_matches_rebuilds_the_threshold_counts() {
    let mut view = LogsView::default();
    for i in 0..2 {
        view.apply(
            &test_seal(i + 1, 0),
            Some(&lines(
                i as i64 * S,
                0,
                1,
                vec![failed_login("10.0.0.1", false)],
            )),
        );
    }
    assert_eq!(view.thresholds.count("sshd-failed-password", "10.0.0.1"), 2);
    // What the collector does next with this state: the third reaches it.
    let mut state = view.thresholds.clone();
    let third = failed_login("10.0.0.1", true).matches[0]
        .threshold
        .clone()
        .unwrap();
    assert_eq!(
        state.observe("sshd-failed-password", &third, 2 * S),
        Counted::Reached { count: 3 }
    );
    // A view that replays the third as recorded agrees.
    view.apply(
        &test_seal(3, 0),
        Some(&lines(2 * S, 0, 1, vec![failed_login("10.0.0.1", true)])),
    );
    assert_eq!(view.thresholds, state);
    assert_eq!(view.get("auth", "/var/log/auth.log").unwrap().alerts, 1);
}

#[test]
fn a_refusal_is_an_error_until_lines_are_read_again() {
    let mut view = LogsView::default();
    view.apply(&test_seal(1, 0), Some(&lines(S, 100, 1, vec![])));
    view.apply(
        &test_seal(2, 5),
        Some(&Event::Logs(LogEvent::Source(LogSourceChange {
            set: "auth".into(),
            path: "/var/log/auth.log".into(),
            change: LogChangeKind::Refused,
            position: None,
            detail: "a symbolic link".into(),
        }))),
    );
    let followed = view.get("auth", "/var/log/auth.log").unwrap();
    assert_eq!(followed.error.as_deref(), Some("a symbolic link"));
    assert_eq!(followed.position, Some(position(100)), "kept while refused");
    assert_eq!(followed.last_change, Some((LogChangeKind::Refused, 5)));
    view.apply(&test_seal(3, 0), Some(&lines(S, 200, 1, vec![])));
    assert_eq!(view.get("auth", "/var/log/auth.log").unwrap().error, None);
}
