//! Requests and responses survive the trip through a frame; permissions.

use crate::*;
use vigil_store::{EventKind, Hash, Severity};

#[test]
fn requests_round_trip_through_json() {
    let reqs = vec![
        DaemonRequest::Status.into(),
        EventsRequest::Emit {
            message: "m".into(),
            severity: Severity::Warning,
            labels: [("a".into(), "b".into())].into(),
        }
        .into(),
        EventsRequest::List {
            kind: Some(EventKind::Auth),
            from: None,
            limit: Some(10),
        }
        .into(),
        IncidentsRequest::List {
            state: Some(IncidentState::Open),
            limit: None,
        }
        .into(),
        KeysRequest::List { limit: Some(3) }.into(),
        SecretsRequest::List { limit: None }.into(),
        SilencesRequest::List {
            all: true,
            limit: Some(1),
        }
        .into(),
        AuditRequest::Verify {
            deep: true,
            anchor: Some((5, Hash([1; 32]))),
        }
        .into(),
        DaemonRequest::Reload.into(),
    ];
    for r in reqs {
        let r: Request = r;
        let bytes = crate::frame::encode(&r).unwrap();
        let back: Request = crate::frame::decode(&bytes[4..]).unwrap();
        assert_eq!(back, r);
    }
    // The family, then the request within it.
    let show: Request = EventsRequest::Show { seq: 3 }.into();
    let json = serde_json::to_string(&show).unwrap();
    assert_eq!(json, r#"{"family":"events","request":"show","seq":3}"#);
    let rotate: Request = SecretsRequest::Rotate.into();
    let json = serde_json::to_string(&rotate).unwrap();
    assert_eq!(json, r#"{"family":"secrets","request":"rotate"}"#);
    // A request of one family under another's name does not decode.
    let wrong = serde_json::from_str::<Request>(r#"{"family":"keys","request":"rotate"}"#);
    assert!(wrong.is_err());
}

#[test]
fn only_changes_are_mutating_and_each_request_needs_a_permission() {
    let reload: Request = DaemonRequest::Reload.into();
    let status: Request = DaemonRequest::Status.into();
    let chain: Request = AuditRequest::Chain.into();
    assert!(reload.is_mutating());
    assert!(!status.is_mutating());
    assert_eq!(chain.permission(), Permission::read(Area::Audit));
    assert_eq!(reload.permission(), Permission::write(Area::Config));
    assert_eq!((reload.name(), chain.name()), ("reload", "chain"));
}

#[test]
fn deliveries_requests_and_answers_round_trip() {
    let reqs = [
        DeliveriesRequest::List {
            state: Some(DeliveryFilter::GivenUp),
            receiver: Some("ops".into()),
            limit: Some(5),
        },
        DeliveriesRequest::List {
            state: None,
            receiver: None,
            limit: None,
        },
        DeliveriesRequest::Test {
            receiver: "ops".into(),
        },
    ];
    for r in reqs {
        let r: Request = r.into();
        let bytes = crate::frame::encode(&r).unwrap();
        let back: Request = crate::frame::decode(&bytes[4..]).unwrap();
        assert_eq!(back, r);
    }
    let test: Request = DeliveriesRequest::Test {
        receiver: "ops".into(),
    }
    .into();
    let json = serde_json::to_string(&test).unwrap();
    assert_eq!(
        json,
        r#"{"family":"deliveries","request":"test","receiver":"ops"}"#
    );
    let totals = Response::DeliveryTotals(DeliveryTotals {
        pending: 1,
        sent: 4,
        given_up: 1,
        failed_attempts: 6,
        intended: 6,
    });
    let answer = Response::Deliveries {
        deliveries: vec![DeliveryListing {
            id: "n1-0".into(),
            notification: "n1".into(),
            intent_seq: 7,
            receiver: "ops".into(),
            integration: "webhook/0".into(),
            state: vigil_store::DeliveryState::Failed,
            attempts: 2,
            alerts: 3,
            firing: 1,
            cause: DeliveryCause::Fallback,
            fallback_for: Some("n0-0".into()),
            created_at: 1,
            updated_at: 2,
            detail: "HTTP 503 (retry in 20s)".into(),
        }],
    };
    let end = Response::ListEnd(ListEnd {
        listed: 1,
        truncated: Some(Truncated {
            limit: 1,
            matching: Some(9),
        }),
    });
    for frame in [totals, answer, end] {
        let bytes = crate::frame::encode(&frame).unwrap();
        let back: Response = crate::frame::decode(&bytes[4..]).unwrap();
        assert_eq!(back, frame);
    }
}

#[test]
fn listing_deliveries_reads_and_a_test_notification_writes() {
    let list: Request = DeliveriesRequest::List {
        state: None,
        receiver: None,
        limit: None,
    }
    .into();
    let test: Request = DeliveriesRequest::Test {
        receiver: "ops".into(),
    }
    .into();
    assert_eq!(list.permission(), Permission::read(Area::Notifications));
    assert_eq!(test.permission(), Permission::write(Area::Notifications));
    assert!(!list.is_mutating());
    assert!(test.is_mutating(), "a test notification is audited");
    assert_eq!(list.name(), "deliveries.list");
    assert_eq!(test.name(), "notify.test");
}

#[test]
fn states_travel_as_their_names_and_parse_back() {
    let listed = serde_json::to_value(IncidentState::Acked).unwrap();
    assert_eq!(listed, serde_json::json!("acked"));
    assert_eq!(
        "given_up".parse::<DeliveryFilter>(),
        Ok(DeliveryFilter::GivenUp)
    );
    let e = "bogus".parse::<SilenceState>().unwrap_err();
    assert_eq!(e.allowed, ["pending", "active", "expired"]);
    // The filter's names are the store's states, and `pending` besides.
    for state in [
        vigil_store::DeliveryState::Intended,
        vigil_store::DeliveryState::Attempting,
        vigil_store::DeliveryState::Sent,
        vigil_store::DeliveryState::Failed,
        vigil_store::DeliveryState::GivenUp,
    ] {
        let filter: DeliveryFilter = state.name().parse().unwrap();
        assert_eq!(filter.name(), serde_json::to_value(state).unwrap());
    }
    // A state that is none of them does not decode: a malformed request.
    let bad = serde_json::from_str::<Request>(
        r#"{"family":"incidents","request":"list","state":"bogus"}"#,
    );
    assert!(bad.is_err());
    let good = serde_json::from_str::<Request>(
        r#"{"family":"incidents","request":"list","state":"acked"}"#,
    );
    assert!(matches!(
        good,
        Ok(Request::Incidents(IncidentsRequest::List {
            state: Some(IncidentState::Acked),
            limit: None
        }))
    ));
}

#[test]
fn a_call_reads_its_own_answer_and_hands_back_any_other() {
    let call = Request::keys_revoke("k1".into());
    assert_eq!(
        call.request(),
        &Request::Keys(KeysRequest::Revoke { id: "k1".into() })
    );
    let done = Response::Done {
        message: "revoked".into(),
    };
    assert_eq!(call.answer(done), Ok("revoked".to_string()));
    // A frame that answers another request is not this one's answer.
    let other = Response::Reloaded {
        message: "reloaded".into(),
    };
    assert_eq!(call.answer(other.clone()), Err(Box::new(other)));
    let status = Request::status();
    assert_eq!(status.request(), &Request::Daemon(DaemonRequest::Status));
    assert!(status.answer(Response::End).is_err());
}

#[test]
fn a_listing_reads_its_header_pages_and_end_and_nothing_else() {
    let listing = Request::deliveries_list(None, None, Some(5));
    let totals = DeliveryTotals::default();
    assert_eq!(
        listing.read(Response::DeliveryTotals(totals)),
        Ok(Listed::Header(totals))
    );
    assert_eq!(
        listing.read(Response::Deliveries { deliveries: vec![] }),
        Ok(Listed::Page(vec![]))
    );
    let end = ListEnd {
        listed: 0,
        truncated: None,
    };
    assert_eq!(listing.read(Response::ListEnd(end)), Ok(Listed::End(end)));
    let stray = Response::Keys { keys: vec![] };
    assert_eq!(listing.read(stray.clone()), Err(Box::new(stray)));
    // Without a header, a header-like frame is a stray.
    let keys = Request::keys_list(None);
    let source = Response::SecretsSource { master_key: None };
    assert_eq!(keys.read(source.clone()), Err(Box::new(source)));
}

#[test]
fn each_answer_is_what_its_request_reads() {
    let call = Request::keys_revoke("k1".into());
    assert_eq!(
        call.answer(Answer::keys_revoke("revoked".into())),
        Ok("revoked".to_string())
    );
    let listing = Request::deliveries_list(None, None, None);
    let totals = DeliveryTotals::default();
    assert_eq!(
        listing.read(Answer::delivery_totals(totals)),
        Ok(Listed::Header(totals))
    );
    assert_eq!(
        listing.read(Answer::deliveries_list(vec![])),
        Ok(Listed::Page(vec![]))
    );
    let shown = Request::incident_show("i".into());
    let frame = Answer::incident_show(IncidentDetail {
        incident: Box::new(IncidentSummary {
            id: "i".into(),
            state: IncidentState::Open,
            source: "am".into(),
            fingerprint: "f".into(),
            severity: vigil_store::Severity::Critical,
            summary: "s".into(),
            labels: Default::default(),
            opened_at: 1,
            updated_at: 2,
            resolved_at: None,
            fired: 1,
            reopened: 0,
            flapping: false,
        }),
        annotations: vec![],
        history: vec![],
    });
    assert!(matches!(frame, Response::Incident { .. }));
    assert_eq!(
        shown.answer(frame).map(|d| d.incident.id),
        Ok("i".to_string())
    );
}

fn file_listing(path: &str) -> FileListing {
    FileListing {
        path: path.into(),
        file_type: vigil_store::FileType::File,
        sha256: Some(Hash([7; 32])),
        size: 12,
        mode: 0o100644,
        uid: 0,
        gid: 0,
        mtime: 1_700_000_000_000_000,
        link_target: None,
        changes: 2,
        seq: 9,
    }
}

fn finished_scan() -> FinishedScan {
    FinishedScan {
        scan: 4,
        finished_at: 5,
        totals: vigil_store::ScanTotals {
            files: 3,
            bytes: 100,
            changes: 1,
            baselined: 2,
            errors: 1,
            unreadable: vec![("/etc/shadow".into(), "permission denied".into())],
            over_limit: vec![],
            duration_ms: 7,
        },
    }
}

#[test]
fn files_requests_and_answers_round_trip() {
    let reqs = [
        FilesRequest::List { path: None },
        FilesRequest::List {
            path: Some("/etc".into()),
        },
        FilesRequest::Show {
            path: "/etc/passwd".into(),
        },
        FilesRequest::Scan,
    ];
    for r in reqs {
        let r: Request = r.into();
        let bytes = crate::frame::encode(&r).unwrap();
        let back: Request = crate::frame::decode(&bytes[4..]).unwrap();
        assert_eq!(back, r);
    }
    let scan: Request = FilesRequest::Scan.into();
    assert_eq!(
        serde_json::to_string(&scan).unwrap(),
        r#"{"family":"files","request":"scan"}"#
    );
    let state = FileState {
        file_type: vigil_store::FileType::File,
        sha256: Some(Hash([1; 32])),
        size: 1,
        mode: 0o100600,
        uid: 0,
        gid: 0,
        mtime: 3,
        link_target: None,
    };
    let frames = [
        Answer::files_header(Box::new(FilesHeader {
            count: 1,
            baselined: vec!["/etc".into()],
            last_scan: Some(finished_scan()),
            scanning: Some(RunningScan {
                scan: 10,
                reason: "operator".into(),
                started_at: Some(11),
                examined: 1,
                expected: 3,
                bytes: 4,
            }),
        })),
        Answer::files_list(vec![file_listing("/etc/passwd")]),
        Answer::files_show(Box::new(FileDetail {
            path: "/etc/passwd".into(),
            current: Some(file_listing("/etc/passwd")),
            history: vec![FileHistory {
                seq: 9,
                time: 2,
                path: "/etc/passwd".into(),
                change: vigil_store::FileChangeKind::Modified,
                while_stopped: true,
                from: None,
                old: Some(state.clone()),
                new: Some(FileState {
                    sha256: Some(Hash([2; 32])),
                    ..state
                }),
                diff: Some("-a\n+b\n".into()),
            }],
            older: 3,
        })),
        Answer::files_scan_progress(ScanProgress {
            scan: 4,
            examined: 1,
            expected: 3,
            bytes: 10,
        }),
        Answer::files_scan(Box::new(finished_scan())),
    ];
    for frame in frames {
        let bytes = crate::frame::encode(&frame).unwrap();
        let back: Response = crate::frame::decode(&bytes[4..]).unwrap();
        assert_eq!(back, frame);
    }
    // Digests travel as hex, as everywhere else.
    let json = serde_json::to_value(file_listing("/etc/passwd")).unwrap();
    assert_eq!(json["sha256"], serde_json::json!("07".repeat(32)));
}

#[test]
fn files_are_read_and_a_scan_is_a_write_that_is_audited() {
    let list: Request = FilesRequest::List { path: None }.into();
    let show: Request = FilesRequest::Show { path: "/".into() }.into();
    let scan: Request = FilesRequest::Scan.into();
    assert_eq!(list.permission(), Permission::read(Area::Files));
    assert_eq!(show.permission(), Permission::read(Area::Files));
    assert_eq!(scan.permission(), Permission::write(Area::Files));
    assert!(!list.is_mutating() && !show.is_mutating());
    assert!(scan.is_mutating(), "a scan appends to the log");
    assert_eq!(
        (list.name(), show.name(), scan.name()),
        ("files.list", "files.show", "files.scan")
    );
    assert_eq!(
        "files.write".parse::<Permission>().unwrap(),
        Permission::write(Area::Files)
    );
}

#[test]
fn a_files_listing_and_show_read_their_own_frames() {
    let listing = Request::files_list(Some("/etc".into()));
    assert_eq!(
        listing.request(),
        &Request::Files(FilesRequest::List {
            path: Some("/etc".into())
        })
    );
    let header = Box::new(FilesHeader::default());
    assert_eq!(
        listing.read(Answer::files_header(header.clone())),
        Ok(Listed::Header(header))
    );
    let page = vec![file_listing("/etc/hosts")];
    assert_eq!(
        listing.read(Answer::files_list(page.clone())),
        Ok(Listed::Page(page))
    );
    let stray = Response::Keys { keys: vec![] };
    assert_eq!(listing.read(stray.clone()), Err(Box::new(stray)));
    let show = Request::files_show("/etc/hosts".into());
    let detail = Box::new(FileDetail {
        path: "/etc/hosts".into(),
        current: None,
        history: vec![],
        older: 0,
    });
    assert_eq!(show.answer(Answer::files_show(detail.clone())), Ok(detail));
}

#[test]
fn a_scan_reads_progress_then_its_result_and_nothing_else() {
    let scan = Request::files_scan();
    assert_eq!(scan.request(), &Request::Files(FilesRequest::Scan));
    let progress = ScanProgress {
        scan: 4,
        examined: 2,
        expected: 3,
        bytes: 5,
    };
    assert_eq!(
        scan.read(Answer::files_scan_progress(progress)),
        Ok(Step::Progress(progress))
    );
    let finished = Box::new(finished_scan());
    assert_eq!(
        scan.read(Answer::files_scan(finished.clone())),
        Ok(Step::Done(finished))
    );
    // Verification's progress is not a scan's.
    let other = Response::Progress { done: 1, total: 2 };
    assert_eq!(scan.read(other.clone()), Err(Box::new(other)));
}

fn log_listing(path: &str) -> LogListing {
    LogListing {
        set: "auth".into(),
        path: path.into(),
        state: LogSourceState::Following,
        position: Some(LogPlace::File {
            dev: 2049,
            inode: 131_077,
            offset: 4096,
        }),
        lines: 40,
        bytes: 4096,
        matched: 3,
        alerts: 1,
        truncated: 0,
        last_read: Some(1_700_000_000_000_000),
        last_change: Some(LogChange {
            kind: vigil_store::LogChangeKind::Rotated,
            at: 1_700_000_000_000_001,
        }),
        error: None,
    }
}

fn log_test_report() -> LogTestReport {
    LogTestReport {
        lines: 2,
        matched: 1,
        json_field: None,
        rules: vec![LogRuleTested {
            rule: "sshd-failed-password".into(),
            severity: Severity::Error,
            alert: true,
            threshold: Some(LogThreshold {
                count: 5,
                within: 60_000_000,
                same: vec!["src_ip".into()],
                cooldown: 600_000_000,
            }),
            programs: vec!["sshd".into(), "sshd-session".into()],
            matched: 1,
            excluded: 1,
            matches: vec![LogTestMatch {
                line: 1,
                captures: [
                    ("src_ip".to_string(), "203.0.113.5".to_string()),
                    ("user".to_string(), "root".to_string()),
                ]
                .into(),
                summary: "repeated failed SSH logins from 203.0.113.5 (last as root)".into(),
                labels: Default::default(),
            }],
            exclusions: vec![LogTestExclusion {
                line: 2,
                program: Some("logger".into()),
            }],
            omitted: 0,
        }],
    }
}

#[test]
fn logs_requests_and_answers_round_trip() {
    let reqs = [
        LogsRequest::List { set: None },
        LogsRequest::List {
            set: Some("auth".into()),
        },
        LogsRequest::Test {
            lines: vec!["sshd[1]: Failed password".into(), String::new()],
            set: Some("auth".into()),
            rule: Some("sshd-failed-password".into()),
        },
    ];
    for r in reqs {
        let r: Request = r.into();
        let bytes = crate::frame::encode(&r).unwrap();
        let back: Request = crate::frame::decode(&bytes[4..]).unwrap();
        assert_eq!(back, r);
    }
    let list: Request = LogsRequest::List { set: None }.into();
    assert_eq!(
        serde_json::to_string(&list).unwrap(),
        r#"{"family":"logs","request":"list","set":null}"#
    );
    let mut failing = log_listing("/var/log/auth.log");
    failing.state = LogSourceState::Failing;
    failing.error = Some("No such file or directory".into());
    let journal = LogListing {
        path: "journal".into(),
        position: Some(LogPlace::Journal {
            cursor: "s=1;i=2".into(),
        }),
        ..log_listing("journal")
    };
    let frames = [
        Answer::logs_header(Box::new(LogsHeader {
            sets: 2,
            sources: 3,
            failing: 1,
            not_read: 0,
        })),
        Answer::logs_list(vec![log_listing("/var/log/auth.log"), failing, journal]),
        Answer::logs_test(Box::new(log_test_report())),
    ];
    for frame in frames {
        let bytes = crate::frame::encode(&frame).unwrap();
        let back: Response = crate::frame::decode(&bytes[4..]).unwrap();
        assert_eq!(back, frame);
    }
    // States and change kinds travel as their names.
    let json = serde_json::to_value(log_listing("/x")).unwrap();
    assert_eq!(json["state"], "following");
    assert_eq!(json["last_change"]["kind"], "rotated");
    assert_eq!(json["position"]["file"]["inode"], 131_077);
    assert_eq!("not_read".parse(), Ok(LogSourceState::NotRead));
}

#[test]
fn logs_are_read_and_nothing_about_them_is_a_change() {
    let list: Request = LogsRequest::List { set: None }.into();
    let test: Request = LogsRequest::Test {
        lines: vec!["x".into()],
        set: None,
        rule: None,
    }
    .into();
    for r in [&list, &test] {
        assert_eq!(r.permission(), Permission::read(Area::Logs));
        assert!(!r.is_mutating(), "{}: nothing is recorded", r.name());
    }
    assert_eq!((list.name(), test.name()), ("logs.list", "logs.test"));
}

#[test]
fn a_logs_listing_and_a_test_read_their_own_frames() {
    let listing = Request::logs_list(Some("auth".into()));
    assert_eq!(
        listing.request(),
        &Request::Logs(LogsRequest::List {
            set: Some("auth".into())
        })
    );
    let header = Box::new(LogsHeader::default());
    assert_eq!(
        listing.read(Answer::logs_header(header.clone())),
        Ok(Listed::Header(header))
    );
    let page = vec![log_listing("/var/log/auth.log")];
    assert_eq!(
        listing.read(Answer::logs_list(page.clone())),
        Ok(Listed::Page(page))
    );
    // Another family's header is a stray.
    let stray = Answer::files_header(Box::default());
    assert_eq!(listing.read(stray.clone()), Err(Box::new(stray)));
    let test = Request::logs_test(vec!["x".into()], None, Some("r".into()));
    let report = Box::new(log_test_report());
    assert_eq!(test.answer(Answer::logs_test(report.clone())), Ok(report));
    let other = Response::Done {
        message: "x".into(),
    };
    assert_eq!(test.answer(other.clone()), Err(Box::new(other)));
}
