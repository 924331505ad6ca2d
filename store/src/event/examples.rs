//! One example of every event variant: the committed fixture's values
//! (`tests/fixtures/events-v1.hex` pins their encoding), and what other
//! crates' tests fold into views to cover every kind of event.

use super::*;
use crate::hash::Hash;
use crate::seal::StoreId;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn alert() -> Alert {
    Alert {
        fingerprint: "fp-1".into(),
        status: AlertStatus::Firing,
        severity: Severity::Critical,
        summary: "disk full".into(),
        labels: labels(&[("alertname", "DiskFull"), ("instance", "db1")]),
        annotations: labels(&[("runbook", "https://runbooks.example/disk")]),
        starts_at: Some(1_700_000_000_000_000),
        ends_at: None,
        links: vec!["https://grafana.example/d/1".into()],
    }
}

fn local() -> Actor {
    Actor::Local {
        uid: 1000,
        gid: 1000,
        pid: 4242,
        user: Some("alice".into()),
    }
}

/// One value of every variant, named as in the fixture file.
pub fn every_variant() -> Vec<(&'static str, Event)> {
    vec![
        (
            "genesis",
            Event::Genesis(Genesis {
                store_id: StoreId([0x11; 16]),
                format: 1,
                software: "vigil-store 0.1.0".into(),
            }),
        ),
        (
            "epoch_started",
            Event::EpochStarted(EpochStarted {
                epoch: 7,
                reason: "timer".into(),
            }),
        ),
        (
            "checkpoint",
            Event::Checkpoint(Checkpoint {
                cut_seq: 100,
                cut_time: 1_700_000_000_000_001,
                cut_epoch: 3,
                cut_link: Hash([0x22; 32]),
                cut_tag: Hash([0x33; 32]),
                previous: Some(50),
                views: vec![ViewState {
                    view: "status".into(),
                    version: 1,
                    state: vec![1, 2, 3],
                }],
            }),
        ),
        (
            "alerts_ingested",
            Event::AlertsIngested(AlertsIngested {
                source: "alertmanager".into(),
                driver: "alertmanager".into(),
                delivery_id: Some("d-1".into()),
                actor: Actor::ApiKey {
                    id: "k1".into(),
                    prefix: "vgl_ab12".into(),
                },
                alerts: vec![alert()],
                raw: None,
            }),
        ),
        (
            "webhook_received",
            Event::WebhookReceived(WebhookReceived {
                source: "github".into(),
                driver: "github".into(),
                delivery_id: Some("72d3162e".into()),
                actor: Actor::Source {
                    name: "github".into(),
                },
                event_type: "push".into(),
                summary: "push to main".into(),
                raw: Some("{}".into()),
            }),
        ),
        (
            "file_changed",
            Event::FileChanged(FileChanged {
                path: "/etc/passwd".into(),
                change: FileChange::Modified,
                old: Some(FileState {
                    sha256: Some(Hash([1; 32])),
                    size: 10,
                    mode: 0o100644,
                    uid: 0,
                    gid: 0,
                    mtime: 5,
                }),
                new: Some(FileState {
                    sha256: Some(Hash([2; 32])),
                    size: 11,
                    mode: 0o100644,
                    uid: 0,
                    gid: 0,
                    mtime: 6,
                }),
            }),
        ),
        (
            "log_matched",
            Event::LogMatched(LogMatched {
                file: "/var/log/auth.log".into(),
                file_id: "2049:131".into(),
                offset: 4096,
                rule: "ssh-fail".into(),
                line: "Failed password for root".into(),
                alert: Some(alert()),
            }),
        ),
        (
            "auth",
            Event::Auth(AuthDecision {
                actor: local(),
                role: Some("operator".into()),
                action: "events.read".into(),
                decision: Decision::Allow,
                reason: "role operator".into(),
                break_glass: false,
            }),
        ),
        (
            "auth_rejections",
            Event::AuthRejections(AuthRejections {
                channel: "control".into(),
                reason: "no role".into(),
                actor: Some(Actor::Remote {
                    addr: "10.0.0.9".into(),
                }),
                count: 1500,
                first: 1,
                last: 2,
            }),
        ),
        (
            "notification",
            Event::Notification(Notification {
                delivery: "dlv-1".into(),
                receiver: "ops".into(),
                integration: "webhook/0".into(),
                state: DeliveryState::Failed,
                attempt: 2,
                incidents: vec!["inc-1".into()],
                detail: "status 503".into(),
            }),
        ),
        (
            "config_loaded",
            Event::ConfigLoaded(ConfigLoaded {
                path: "/etc/vigil/vigil.toml".into(),
                digest: Hash([4; 32]),
                trigger: "sighup".into(),
                applied: false,
                error: Some("line 3, column 1: unknown key `listn`".into()),
            }),
        ),
        (
            "api_key",
            Event::ApiKey(ApiKeyChange::Created {
                id: "k1".into(),
                name: "alertmanager".into(),
                prefix: "vgl_ab12".into(),
                digest: Hash([5; 32]),
                sources: vec!["alertmanager".into()],
                expires_at: Some(9),
                actor: local(),
            }),
        ),
        (
            "api_key_scoped",
            Event::ApiKey(ApiKeyChange::CreatedWithScopes {
                id: "k2".into(),
                name: "amtool".into(),
                prefix: "vgl_cd34".into(),
                digest: Hash([6; 32]),
                sources: vec![],
                scopes: vec!["alerts.read".into(), "silences.write".into()],
                expires_at: None,
                actor: local(),
            }),
        ),
        (
            "secret",
            Event::Secret(SecretChange {
                name: "slack-url".into(),
                action: SecretAction::Set,
                key_id: Some(1),
                actor: local(),
            }),
        ),
        (
            "incident_action",
            Event::IncidentAction(IncidentAction {
                incident: "inc-1".into(),
                op: IncidentOp::Ack,
                note: Some("looking".into()),
                actor: local(),
            }),
        ),
        (
            "retention",
            Event::Retention(RetentionRun {
                policy: "default".into(),
                pruned: 10,
                truncated_to: Some(99),
                bytes_before: 1000,
                bytes_after: 500,
            }),
        ),
        (
            "custom",
            Event::Custom(Custom {
                actor: local(),
                severity: Severity::Warning,
                message: "backup late".into(),
                labels: labels(&[("job", "backup")]),
            }),
        ),
        (
            "lifecycle",
            Event::Lifecycle(Lifecycle {
                phase: Phase::Started,
                version: "0.1.0".into(),
                pid: 1,
                detail: String::new(),
            }),
        ),
        (
            "silence",
            Event::Silence(Silence {
                matchers: vec!["env=\"prod\"".into(), "alertname=~\"Disk.*\"".into()],
                starts_at: 1_700_000_000_000_000,
                ends_at: 1_700_007_200_000_000,
                comment: "maintenance window".into(),
                actor: Actor::Spool {
                    uid: 1000,
                    file: "silence.json".into(),
                },
            }),
        ),
        (
            "silence_expired",
            Event::SilenceExpired(SilenceExpired {
                silence: "42".into(),
                actor: Actor::Daemon,
            }),
        ),
        (
            "notification_intended",
            Event::NotificationIntended(NotificationIntent {
                id: "ntf_0123456789abcdef".into(),
                receiver: "ops".into(),
                route: "0.1".into(),
                group_key: "0.1:{alertname=\"DiskFull\"}".into(),
                group_labels: labels(&[("alertname", "DiskFull")]),
                deliveries: vec![PlannedDelivery {
                    delivery: "ntf_0123456789abcdef-0".into(),
                    integration: "webhook/0".into(),
                }],
                alerts: vec![alert()],
                firing: 1,
                omitted: 0,
                cause: IntentCause::Fallback {
                    delivery: "ntf_fedcba9876543210-1".into(),
                },
            }),
        ),
        (
            "bodies_pruned",
            Event::BodiesPruned(BodiesPruned {
                ranges: vec![
                    SeqRange { first: 5, last: 9 },
                    SeqRange {
                        first: 300,
                        last: 300,
                    },
                ],
                reason: "policy default".into(),
            }),
        ),
        (
            "tail_lost",
            Event::TailLost(TailLost {
                recorded_seq: 40,
                recorded_link: Hash([0x40; 32]),
                found_seq: 35,
                found_link: Hash([0x35; 32]),
                actor: local(),
            }),
        ),
        (
            "file_scan_started",
            Event::FileIntegrity(FileIntegrity::ScanStarted {
                reason: ScanReason::WatchFailed {
                    path: "/etc/ssh".into(),
                    error: "no space left on device".into(),
                },
                roots: vec!["/etc".into()],
            }),
        ),
        (
            "file_records",
            Event::FileIntegrity(FileIntegrity::Records {
                scan: Some(41),
                files: vec![FileRecord {
                    path: "/etc/ssh/sshd_config".into(),
                    change: FileChangeKind::Modified,
                    from: None,
                    old: Some(file_attrs(1)),
                    new: Some(file_attrs(2)),
                    while_stopped: true,
                    diff: Some("-a\n+b\n".into()),
                    content: Some("b\n".into()),
                    alert: Some(alert()),
                }],
            }),
        ),
        (
            "file_scan_finished",
            Event::FileIntegrity(FileIntegrity::ScanFinished {
                scan: 41,
                roots: vec!["/etc".into()],
                totals: ScanTotals {
                    files: 3,
                    bytes: 4096,
                    changes: 1,
                    baselined: 2,
                    errors: 1,
                    unreadable: vec![("/etc/shadow".into(), "permission denied".into())],
                    over_limit: vec![],
                    duration_ms: 12,
                },
            }),
        ),
        (
            "log_lines",
            Event::Logs(LogEvent::Lines(LogLines {
                set: "auth".into(),
                path: "/var/log/auth.log".into(),
                at: 1_700_000_000_000_000,
                position: LogPosition::File(FilePosition {
                    dev: 2049,
                    inode: 131,
                    offset: 4096,
                    head: Hash([6; 32]),
                    head_len: 256,
                    tail: Hash([7; 32]),
                    tail_len: 256,
                }),
                read: 12,
                bytes: 1200,
                lines: vec![LogLine {
                    offset: 4000,
                    cursor: None,
                    text: "sshd[42]: Failed password for root from 10.0.0.9 port 22 ssh2".into(),
                    truncated: false,
                    matches: vec![LogRuleMatch {
                        rule: "sshd-failed-password".into(),
                        threshold: Some(ThresholdCount {
                            key: "10.0.0.9".into(),
                            count: 5,
                            within: 60_000_000,
                            cooldown: 600_000_000,
                        }),
                        alert: Some(alert()),
                    }],
                }],
            })),
        ),
        (
            "log_source",
            Event::Logs(LogEvent::Source(LogSourceChange {
                set: "journal".into(),
                path: "journal".into(),
                change: LogChangeKind::Rotated,
                position: Some(LogPosition::Journal {
                    cursor: "s=abc;i=1".into(),
                }),
                detail: "renamed to /var/log/auth.log.1".into(),
            })),
        ),
        (
            "retention_applied",
            Event::RetentionApplied(RetentionApplied {
                actor: Actor::Daemon,
                trigger: RetentionTrigger::Schedule,
                started_at: 1_700_000_000_000_000,
                rules: vec![RuleOutcome {
                    rule: "collect 30d prune".into(),
                    truncated: 0,
                    pruned: vec![SeqRange { first: 3, last: 9 }],
                }],
                truncated_to: Some(2),
                held: 1,
                bytes_before: 4096,
                bytes_after: 2048,
            }),
        ),
        (
            "erasure",
            Event::Erasure(Erasure {
                actor: local(),
                reason: "GDPR request 17".into(),
                selector: "label user=alice".into(),
                ranges: vec![SeqRange { first: 5, last: 5 }],
            }),
        ),
        (
            "forwarded",
            Event::Forwarded(Forwarded {
                stream: "VIGIL".into(),
                subject: "vigil.db1.entries".into(),
                acked_seq: 4242,
                acked_link: Hash([0x42; 32]),
                acked_time: 1_700_000_000_000_000,
            }),
        ),
    ]
}

fn file_attrs(fill: u8) -> FileAttrs {
    FileAttrs {
        file_type: FileType::File,
        sha256: Some(Hash([fill; 32])),
        size: 10 + u64::from(fill),
        mode: 0o100644,
        uid: 0,
        gid: 0,
        mtime: 1_700_000_000_000_000,
        inode: 131,
        dev: 2049,
        link_target: None,
        xattrs: vec![("security.selinux".into(), Hash([3; 32]))],
    }
}

/// An event of roughly `size` encoded bytes, shaped like a real alert:
/// repeated label names, varied values, words and ids (not trivially
/// compressible). Tests and benchmarks fill stores with these.
pub fn alert_shaped(i: u64, size: usize) -> Event {
    const WORDS: [&str; 16] = [
        "latency",
        "p99",
        "above",
        "threshold",
        "request",
        "upstream",
        "timeout",
        "disk",
        "pressure",
        "node",
        "replica",
        "lag",
        "error",
        "rate",
        "queue",
        "backlog",
    ];
    let mut rng = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut labels = Labels::new();
    labels.insert(
        "alertname".into(),
        format!(
            "{}{}",
            WORDS[(next() % 16) as usize],
            WORDS[(next() % 16) as usize]
        ),
    );
    labels.insert(
        "instance".into(),
        format!("web-{}.prod.example:9100", next() % 500),
    );
    labels.insert("job".into(), "node".into());
    let mut message = String::new();
    while message.len() + 110 < size {
        match next() % 4 {
            0 => message.push_str(&format!("{:x} ", next())),
            1 => message.push_str(&format!("{} ", next() % 10_000)),
            _ => {
                message.push_str(WORDS[(next() % 16) as usize]);
                message.push(' ');
            }
        }
    }
    Event::Custom(Custom {
        actor: Actor::Source {
            name: "alertmanager".into(),
        },
        severity: Severity::Warning,
        message,
        labels,
    })
}
