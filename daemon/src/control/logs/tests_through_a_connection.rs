//! The logs family through a real control connection: log collection's
//! events appended to a real log (no collector runs) are listed with the
//! configured sources never read and the recorded ones no longer
//! configured; status counts them; a test of lines answers what the rules
//! make of them and appends nothing; bad requests are refused.

use crate::config::Config;
use crate::state::{Parts, Shared};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;
use vigil_proto::{ErrorCode, Listed, LogListing, LogPlace, LogSourceState, LogsHeader, Request};
use vigil_store::{
    Alert, AlertStatus, Event, FilePosition, Hash, LogChangeKind, LogEvent, LogLine, LogLines,
    LogPosition, LogRuleMatch, LogSourceChange, Severity,
};
use vigilctl::{Client, ClientError};

/// A daemon's shared state on a new store in `dir`, served on
/// `dir/control.sock`, configured with `collect` as its `[collect]`.
struct Running {
    shared: Arc<Shared>,
    socket: PathBuf,
    shutdown: watch::Sender<bool>,
    served: tokio::task::JoinHandle<()>,
}

fn start(dir: &Path, collect: &str) -> Running {
    let me = nix::unistd::getuid().to_string();
    let mut config = Config::dev(Some(dir), None, me).unwrap();
    config.collect = toml::from_str(collect).unwrap();
    let socket = dir.join("control.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let (shutdown, shutdown_rx) = watch::channel(false);
    let shared = Shared::new(Parts {
        shutdown: shutdown_rx,
        ..crate::state::testing::parts(config, socket.clone())
    });
    let served = tokio::spawn(crate::control::serve(shared.clone(), listener));
    Running {
        shared,
        socket,
        shutdown,
        served,
    }
}

/// `auth` one file, `web` a glob, `sys` the journal; the rest built in.
const COLLECT: &str = r#"
[[logs]]
name = "auth"
path = "/var/log/auth.log"

[[logs]]
name = "web"
path = "/var/log/nginx/*.log"

[[journal]]
name = "sys"
"#;

fn at(dev: u64, inode: u64, offset: u64) -> LogPosition {
    LogPosition::File(FilePosition {
        dev,
        inode,
        offset,
        head: Hash([1; 32]),
        head_len: 16,
        tail: Hash([2; 32]),
        tail_len: 16,
    })
}

fn alert() -> Alert {
    Alert {
        fingerprint: "f".into(),
        status: AlertStatus::Firing,
        severity: Severity::Error,
        summary: "repeated failed SSH logins".into(),
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
        starts_at: None,
        ends_at: None,
        links: vec![],
    }
}

fn lines(set: &str, path: &str, position: LogPosition, read: u64, kept: Vec<LogLine>) -> Event {
    Event::Logs(LogEvent::Lines(LogLines {
        set: set.into(),
        path: path.into(),
        at: 1_700_000_000_000_000,
        position,
        read,
        bytes: read * 80,
        lines: kept,
    }))
}

fn change(set: &str, path: &str, change: LogChangeKind, detail: &str) -> Event {
    Event::Logs(LogEvent::Source(LogSourceChange {
        set: set.into(),
        path: path.into(),
        change,
        position: None,
        detail: detail.into(),
    }))
}

/// What auth.log, the nginx logs and a set since removed recorded.
fn recorded() -> Vec<Event> {
    let failed = LogLine {
        offset: 0,
        cursor: None,
        text: "sshd[42]: Failed password for root from 203.0.113.5 port 22 ssh2".into(),
        truncated: true,
        matches: vec![LogRuleMatch {
            rule: "sshd-failed-password".into(),
            threshold: None,
            alert: Some(alert()),
        }],
    };
    vec![
        change("auth", "/var/log/auth.log", LogChangeKind::Started, ""),
        lines(
            "auth",
            "/var/log/auth.log",
            at(8, 77, 800),
            10,
            vec![failed],
        ),
        change("web", "/var/log/nginx/a.log", LogChangeKind::Started, ""),
        lines("web", "/var/log/nginx/a.log", at(8, 78, 160), 2, vec![]),
        change(
            "web",
            "/var/log/nginx/b.log",
            LogChangeKind::Refused,
            "a symbolic link: not followed",
        ),
        lines("old", "/var/log/old.log", at(8, 79, 80), 1, vec![]),
    ]
}

fn list(
    client: &mut Client,
    set: Option<&str>,
) -> Result<(LogsHeader, Vec<LogListing>), ClientError> {
    let listing = Request::logs_list(set.map(String::from));
    client.send(listing.request())?;
    let (mut header, mut listed) = (None, Vec::new());
    loop {
        match listing.read(client.receive()?).unwrap() {
            Listed::Header(h) => header = Some(*h),
            Listed::Page(page) => listed.extend(page),
            Listed::End(end) => {
                assert_eq!(end.listed, listed.len() as u64);
                return Ok((header.expect("a header first"), listed));
            }
        }
    }
}

fn refusal(result: Result<impl std::fmt::Debug, ClientError>) -> (ErrorCode, String) {
    match result {
        Err(ClientError::Refused(e)) => (e.code, e.message),
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followed_sources_are_listed_with_the_configured_ones_and_counted_in_status() {
    let tmp = tempfile::tempdir().unwrap();
    let d = start(tmp.path(), COLLECT);
    d.shared.log.append_all_async(&recorded()).await.unwrap();
    let socket = d.socket.clone();
    let (all, web, unknown, status) = tokio::task::spawn_blocking(move || {
        let mut client = Client::connect(&socket).unwrap();
        let all = list(&mut client, None).unwrap();
        let web = list(&mut client, Some("web")).unwrap();
        let unknown = refusal(list(&mut client, Some("nope")));
        let status = client.ask(Request::status()).unwrap();
        (all, web, unknown, status)
    })
    .await
    .unwrap();

    let (header, listed) = all;
    let rows: Vec<(&str, &str, LogSourceState)> = listed
        .iter()
        .map(|l| (l.set.as_str(), l.path.as_str(), l.state))
        .collect();
    use LogSourceState::*;
    assert_eq!(
        rows,
        [
            ("auth", "/var/log/auth.log", Following),
            ("old", "/var/log/old.log", Unconfigured),
            ("sys", "journal", NotRead),
            ("web", "/var/log/nginx/a.log", Following),
            ("web", "/var/log/nginx/b.log", Failing),
        ]
    );
    assert_eq!(
        header,
        LogsHeader {
            sets: 3,
            sources: 5,
            failing: 1,
            not_read: 1
        }
    );
    let auth = &listed[0];
    assert_eq!(
        auth.position,
        Some(LogPlace::File {
            dev: 8,
            inode: 77,
            offset: 800
        })
    );
    assert_eq!(
        (
            auth.lines,
            auth.bytes,
            auth.matched,
            auth.alerts,
            auth.truncated
        ),
        (10, 800, 1, 1, 1)
    );
    assert!(auth.last_read.is_some());
    assert_eq!(
        auth.last_change.map(|c| c.kind),
        Some(LogChangeKind::Started)
    );
    let b = &listed[4];
    assert_eq!(b.error.as_deref(), Some("a symbolic link: not followed"));
    assert_eq!(b.last_change.map(|c| c.kind), Some(LogChangeKind::Refused));
    assert_eq!(b.position, None);

    let (header, listed) = web;
    assert_eq!((header.sets, header.sources), (1, 2));
    assert!(listed.iter().all(|l| l.set == "web"));

    let (code, message) = unknown;
    assert_eq!(code, ErrorCode::NotFound);
    assert!(
        message.contains("`nope`") && message.contains("the sets are: auth, web, sys, old"),
        "{message}"
    );

    let logs = status.logs.expect("logs are configured");
    assert_eq!(
        (logs.sets, logs.files, logs.journals, logs.failing),
        (3, 3, 0, 1),
        "auth.log and both nginx logs, one of them failing"
    );

    d.shutdown.send_replace(true);
    d.served.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testing_lines_answers_what_the_rules_make_and_records_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = start(tmp.path(), COLLECT);
    let socket = d.socket.clone();
    let log = d.shared.log.clone();
    tokio::task::spawn_blocking(move || {
        let mut client = Client::connect(&socket).unwrap();
        // The connection itself is recorded; nothing after it is.
        let before = log.head().seq;
        let sshd = "Dec  6 10:00:01 bastion sshd[4242]: Failed password for root from 203.0.113.5 port 51234 ssh2";
        let forged = "Dec  6 10:00:01 bastion logger: Failed password for root from 203.0.113.5 port 51234 ssh2";
        let report = client
            .ask(Request::logs_test(
                vec![sshd.into(), forged.into(), "nothing".into()],
                Some("auth".into()),
                None,
            ))
            .unwrap();
        assert_eq!((report.lines, report.matched), (3, 1));
        let rule = report
            .rules
            .iter()
            .find(|r| r.rule == "sshd-failed-password")
            .unwrap();
        assert_eq!((rule.matched, rule.excluded), (1, 1));
        assert_eq!(rule.matches[0].captures["src_ip"], "203.0.113.5");
        assert_eq!(rule.exclusions[0].line, 2);
        assert_eq!(rule.exclusions[0].program.as_deref(), Some("logger"));

        let (code, message) = refusal(client.ask(Request::logs_test(
            vec![sshd.into()],
            None,
            Some("sshd-failed".into()),
        )));
        assert_eq!(code, ErrorCode::NotFound);
        assert!(message.contains("sshd-failed-password"), "{message}");
        let (code, message) = refusal(client.ask(Request::logs_test(
            vec![sshd.into()],
            Some("nope".into()),
            None,
        )));
        assert_eq!(code, ErrorCode::NotFound);
        assert!(message.ends_with("the sets are: auth, web, sys"), "{message}");
        let (code, _) = refusal(client.ask(Request::logs_test(vec![], None, None)));
        assert_eq!(code, ErrorCode::BadRequest);
        let long = "x".repeat(vigil_proto::LOG_TEST_LINE_MAX + 1);
        let (code, message) = refusal(client.ask(Request::logs_test(vec![long], None, None)));
        assert_eq!(code, ErrorCode::BadRequest);
        assert!(message.contains("the longest line tested"), "{message}");
        // The connection is still good after the refusals.
        assert!(client.ask(Request::status()).is_ok());
        assert_eq!(log.head().seq, before, "a test appends nothing");
    })
    .await
    .unwrap();
    d.shutdown.send_replace(true);
    d.served.await.unwrap();
}
