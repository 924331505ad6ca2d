//! What every intake path shares: parsing a delivery's JSON safely, and
//! [`admit`], the one redaction step between anything from outside (an
//! HTTP delivery, a spool file, an operator's text on the control socket,
//! and collectors to come) and the log. Whichever door text came through, it is stored the same way.

pub mod files;
pub mod http;
pub mod lifetimes;
pub mod logs;
pub mod silence;
pub mod spool;

use std::borrow::Cow;
use vigil_ingest::drivers::{DriverKind, Normalized};
use vigil_ingest::redact::Redactor;
use vigil_notify::route::{MatchOp, Matcher, Matchers};
use vigil_store::{
    Actor, AlertsIngested, ApiKeyChange, Event, FileIntegrity, Labels, LogEvent, WebhookReceived,
};

/// Parses `bytes` as JSON nested at most `max_depth` deep.
///
/// The depth is checked before parsing, so a hostile body cannot make the
/// parser recurse. Errors give a position, never the input: serde_json's own
/// messages can quote it.
pub fn parse_json(bytes: &[u8], max_depth: usize) -> Result<serde_json::Value, BadJson> {
    if !depth_within(bytes, max_depth) {
        return Err(BadJson::TooDeep(max_depth));
    }
    serde_json::from_slice(bytes).map_err(|e| BadJson::Invalid {
        line: e.line(),
        column: e.column(),
    })
}

/// A body that is not JSON Vigil will read. Says where, never what.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadJson {
    /// Nested deeper than `http.max_json_depth`.
    #[error("the JSON nests deeper than {0} levels")]
    TooDeep(usize),
    /// Not JSON.
    #[error("the body is not valid JSON (line {line}, column {column})")]
    Invalid {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
}

/// Whether `bytes` (JSON text) nests arrays and objects at most `max` deep.
fn depth_within(bytes: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// Where an accepted delivery came from.
pub struct Origin<'a> {
    /// The source's configured name.
    pub source: &'a str,
    /// The driver that read it.
    pub driver: DriverKind,
    /// The sender's delivery id (or the spool file's digest).
    pub delivery_id: Option<String>,
    /// Who delivered it.
    pub actor: Actor,
}

/// Something that enters the log from outside the daemon.
///
/// Every path that stores text it did not write itself builds one of these
/// and hands it to [`admit`], the one place where that text is redacted:
/// a collector added later adds its variant here, not a redaction of its
/// own.
pub enum Intake<'a> {
    /// An authenticated delivery (HTTP or the spool), normalized by its
    /// driver; `raw` is the whole payload when the source keeps it.
    Delivery {
        /// Where it came from.
        origin: Origin<'a>,
        /// What the driver made of it.
        normalized: Normalized,
        /// The payload, to keep (redacted) beside the event.
        raw: Option<&'a serde_json::Value>,
    },
    /// An event a control request builds from what the operator typed:
    /// `emit`'s message and labels, an incident note (`note`, `ack` and
    /// `resolve --note`), a silence's matchers and comment, an API key's
    /// name. Every event a control request appends passes here.
    Control(Event),
    /// What file integrity monitoring recorded: the text of a file (kept
    /// for `report_changes`), its diff, and the alert a rule made.
    Files(FileIntegrity),
    /// What log collection read: the lines kept, the alerts their rules
    /// made, a rotation's detail.
    Logs(LogEvent),
}

/// The event an intake becomes.
pub struct Admitted {
    /// The redacted event, ready to append.
    pub event: Event,
    /// How many alerts it holds (1 for a non-alert delivery or a control
    /// event).
    pub alerts: usize,
}

/// Redacts everything `intake` carries and makes it the event to store.
///
/// Every string from outside passes the redactor: alerts (summaries,
/// labels and annotations with their keys, links, fingerprints), a
/// webhook's type and summary, the spool file's name, the raw payload
/// (key-aware, as JSON); and the operator's text of a control event (see
/// [`Intake::Control`]).
pub fn admit(redactor: &Redactor, intake: Intake<'_>) -> Admitted {
    match intake {
        Intake::Delivery {
            origin,
            normalized,
            raw,
        } => delivery(redactor, origin, normalized, raw),
        Intake::Control(event) => Admitted {
            event: control(redactor, event),
            alerts: 1,
        },
        Intake::Files(files) => files_event(redactor, files),
        Intake::Logs(logs) => logs_event(redactor, logs),
    }
}

/// File records with their text, diff and alert redacted. Paths are
/// stored as the disk has them: they are the baseline's keys.
fn files_event(redactor: &Redactor, mut files: FileIntegrity) -> Admitted {
    let mut alerts = 0;
    if let FileIntegrity::Records { files, .. } = &mut files {
        for record in files {
            for text in [&mut record.diff, &mut record.content]
                .into_iter()
                .flatten()
            {
                redact_text(redactor, text);
            }
            if let Some(alert) = &mut record.alert {
                redactor.redact_alert(alert);
                alerts += 1;
            }
        }
    }
    Admitted {
        event: Event::FileIntegrity(files),
        alerts,
    }
}

/// Lines with their text and alerts redacted. Paths and positions are
/// kept as the disk has them: they say where to resume.
fn logs_event(redactor: &Redactor, mut logs: LogEvent) -> Admitted {
    let mut alerts = 0;
    match &mut logs {
        LogEvent::Lines(lines) => {
            for line in &mut lines.lines {
                redact_text(redactor, &mut line.text);
                for alert in line.matches.iter_mut().filter_map(|m| m.alert.as_mut()) {
                    redactor.redact_alert(alert);
                    alerts += 1;
                }
            }
        }
        LogEvent::Source(change) => redact_text(redactor, &mut change.detail),
    }
    Admitted {
        event: Event::Logs(logs),
        alerts,
    }
}

/// `text`, redacted in place.
fn redact_text(redactor: &Redactor, text: &mut String) {
    if let Cow::Owned(redacted) = redactor.redact(text) {
        *text = redacted;
    }
}

/// A silence's matcher text with the label names and values it holds
/// redacted (once unquoted: an escaped quote must not hide a secret), in
/// canonical form; unchanged when none held a secret. Text that is no
/// matcher is redacted as text. The handler refuses a matcher
/// this changed: one is compared with alerts as stored, so a matcher
/// holding a secret could not match as written.
fn redact_matcher(redactor: &Redactor, text: &mut String) {
    let Ok(parsed) = Matchers::parse(text) else {
        redact_text(redactor, text);
        return;
    };
    let mut changed = false;
    let mut redacted = Vec::new();
    for m in &parsed {
        let (name, value) = match m.op() {
            // Compared with a stored label value: redacted as one is
            // (whole under a secret-named label), but "" means "no label".
            MatchOp::Equal | MatchOp::NotEqual => {
                let mut label = Labels::from([(m.name().to_string(), m.value().to_string())]);
                redactor.redact_labels(&mut label);
                let (name, value) = label.pop_first().unwrap_or_default();
                let value = if m.value().is_empty() {
                    String::new()
                } else {
                    value
                };
                (name, value)
            }
            // A regex is no value: its text is redacted.
            MatchOp::Regex | MatchOp::NotRegex => (
                redactor.redact(m.name()).into_owned(),
                redactor.redact(m.value()).into_owned(),
            ),
        };
        changed |= name != m.name() || value != m.value();
        redacted.push(match Matcher::new(&name, m.op(), &value) {
            Ok(m) => m.to_string(),
            // Too long once redacted: still only redacted parts.
            Err(_) => format!("{name}{}{value}", m.op()),
        });
    }
    if changed {
        *text = redacted.join(", ");
    }
}

/// A control event with the operator's text redacted.
fn control(redactor: &Redactor, mut event: Event) -> Event {
    match &mut event {
        Event::Custom(custom) => {
            redact_text(redactor, &mut custom.message);
            redactor.redact_labels(&mut custom.labels);
        }
        Event::IncidentAction(action) => {
            if let Some(note) = &mut action.note {
                redact_text(redactor, note);
            }
        }
        Event::Silence(silence) => {
            for matcher in &mut silence.matchers {
                redact_matcher(redactor, matcher);
            }
            redact_text(redactor, &mut silence.comment);
        }
        Event::ApiKey(
            ApiKeyChange::Created { name, .. } | ApiKeyChange::CreatedWithScopes { name, .. },
        ) => redact_text(redactor, name),
        Event::Erasure(erasure) => redact_text(redactor, &mut erasure.reason),
        // Identifiers the request checked against the daemon's state (a key
        // id, a silence id, a secret's name, which the configuration
        // refers to), and the daemon's own events, which no control
        // request writes. Listed one by one: a new kind of event decides
        // here whether it carries an operator's text.
        Event::ApiKey(ApiKeyChange::Revoked { .. })
        | Event::SilenceExpired(_)
        | Event::Secret(_)
        | Event::Genesis(_)
        | Event::EpochStarted(_)
        | Event::Checkpoint(_)
        | Event::AlertsIngested(_)
        | Event::WebhookReceived(_)
        | Event::FileChanged(_)
        | Event::LogMatched(_)
        | Event::Auth(_)
        | Event::AuthRejections(_)
        | Event::Notification(_)
        | Event::ConfigLoaded(_)
        | Event::Retention(_)
        | Event::Lifecycle(_)
        | Event::NotificationIntended(_)
        | Event::BodiesPruned(_)
        | Event::TailLost(_)
        | Event::Forwarded(_)
        | Event::FileIntegrity(_)
        | Event::Logs(_)
        | Event::RetentionApplied(_) => {}
    }
    event
}

fn delivery(
    redactor: &Redactor,
    origin: Origin<'_>,
    normalized: Normalized,
    raw: Option<&serde_json::Value>,
) -> Admitted {
    let raw = raw.map(|json| {
        let mut copy = json.clone();
        redactor.redact_json(&mut copy);
        copy.to_string()
    });
    let Origin {
        source,
        driver,
        delivery_id,
        actor,
    } = origin;
    let actor = redact_actor(redactor, actor);
    match normalized {
        Normalized::Alerts(mut alerts) => {
            for alert in &mut alerts {
                redactor.redact_alert(alert);
            }
            let n = alerts.len();
            Admitted {
                event: Event::AlertsIngested(AlertsIngested {
                    source: source.to_string(),
                    driver: driver.name().to_string(),
                    delivery_id,
                    actor,
                    alerts,
                    raw,
                }),
                alerts: n,
            }
        }
        Normalized::Other {
            event_type,
            summary,
        } => Admitted {
            event: Event::WebhookReceived(WebhookReceived {
                source: source.to_string(),
                driver: driver.name().to_string(),
                delivery_id,
                actor,
                event_type: redactor.redact(&event_type).into_owned(),
                summary: redactor.redact(&summary).into_owned(),
                raw,
            }),
            alerts: 1,
        },
    }
}

/// The actor with the text an outsider chose (a spool file's name)
/// redacted; the daemon's own identifiers are kept.
fn redact_actor(redactor: &Redactor, actor: Actor) -> Actor {
    match actor {
        Actor::Spool { uid, file } => Actor::Spool {
            uid,
            file: redactor.redact(&file).into_owned(),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::{Custom, IncidentAction, IncidentOp, Severity, Silence};

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert!(depth_within(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(!depth_within(br#"{"a":[1,{"b":2}]}"#, 2));
        assert!(depth_within(br#"{"a":"[[[[[[\"]]]"}"#, 1));
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        assert!(!depth_within(deep.as_bytes(), 32));
    }

    #[test]
    fn parse_errors_give_a_position_not_the_input() {
        let e = parse_json(br#"{"token": "CANARY-77" oops}"#, 8).unwrap_err();
        assert!(matches!(e, BadJson::Invalid { line: 1, .. }), "{e}");
        let e = e.to_string();
        assert!(e.contains("line 1, column"), "{e}");
        assert!(!e.contains("CANARY"), "{e}");
        let e = parse_json(b"[[[[1]]]]", 3).unwrap_err();
        assert_eq!(e, BadJson::TooDeep(3));
        assert!(e.to_string().contains("deeper than 3"), "{e}");
        assert_eq!(parse_json(b"[[1]]", 3).unwrap(), serde_json::json!([[1]]));
    }

    #[test]
    fn every_string_of_the_event_is_redacted() {
        let redactor = Redactor::default();
        let origin = || Origin {
            source: "ci",
            driver: DriverKind::Github,
            delivery_id: Some("d-1".into()),
            actor: Actor::Spool {
                uid: 0,
                file: "password=hunter2hunter2.json".into(),
            },
        };
        let raw = serde_json::json!({"note": "password=hunter2hunter2"});
        let other = Normalized::Other {
            event_type: "push".into(),
            summary: "pushed with token=ghp_abcdefghijklmnopqrstuvwxyz0123456789".into(),
        };
        let admitted = admit(
            &redactor,
            Intake::Delivery {
                origin: origin(),
                normalized: other,
                raw: Some(&raw),
            },
        );
        assert_eq!(admitted.alerts, 1);
        let stored = serde_json::to_string(&admitted.event).unwrap();
        assert!(!stored.contains("hunter2"), "{stored}");
        assert!(!stored.contains("ghp_abcdef"), "{stored}");
        assert!(stored.contains("[REDACTED:"), "{stored}");
    }

    #[test]
    fn an_emitted_message_and_its_labels_are_redacted() {
        let redactor = Redactor::default();
        let admitted = admit(
            &redactor,
            Intake::Control(Event::Custom(Custom {
                actor: Actor::Daemon,
                severity: Severity::Info,
                message: "deploy with AKIAQCANARY7EXAMPLE2".into(),
                labels: Labels::from([
                    ("ctx".into(), "glpat-CANARYbbbbbbbbbbbbbbbb".into()),
                    ("password".into(), "plain".into()),
                ]),
            })),
        );
        let Event::Custom(custom) = &admitted.event else {
            panic!("not a custom event");
        };
        assert_eq!(custom.message, "deploy with [REDACTED:aws_access_key]");
        assert_eq!(custom.labels["ctx"], "[REDACTED:gitlab_token]");
        assert_eq!(custom.labels["password"], "[REDACTED:password]");
    }

    #[test]
    fn a_matcher_changes_only_when_it_holds_a_secret() {
        let redactor = Redactor::default();
        let redacted = |text: &str| {
            let mut text = text.to_string();
            redact_matcher(&redactor, &mut text);
            text
        };
        for kept in [
            "env=prod",
            "{env=\"prod\", team=~\"db|infra\"}",
            "token!=\"\"",
            "password=\"[REDACTED:password]\"",
        ] {
            assert_eq!(redacted(kept), kept);
        }
        assert_eq!(
            redacted("password=hunter2"),
            "password=\"[REDACTED:password]\""
        );
        // The redactor reads a regex as text: `.*` here is taken for a
        // password (and the silence refused, naming what it would store).
        assert_eq!(
            redacted("msg=~\"password=.*\""),
            "msg=~\"password=[REDACTED:password]\""
        );
        assert_eq!(
            redacted("env=prod, ctx=~\"glpat-CANARYbbbbbbbbbbbbbbbb\""),
            "env=\"prod\", ctx=~\"[REDACTED:gitlab_token]\""
        );
        assert_eq!(
            redacted(r#"body="{\"password\":\"CANARYsecret1\"}""#),
            r#"body="{\"password\":\"[REDACTED:password]\"}""#
        );
    }

    #[test]
    fn the_operators_text_of_control_events_is_redacted() {
        let redactor = Redactor::default();
        let secret = "token=glpat-CANARYbbbbbbbbbbbbbbbb";
        let events = [
            Event::IncidentAction(IncidentAction {
                incident: "i-1".into(),
                op: IncidentOp::Note,
                note: Some(secret.into()),
                actor: Actor::Daemon,
            }),
            Event::Silence(Silence {
                matchers: vec![
                    format!("ctx=\"{secret}\""),
                    r#"body="{\"password\":\"CANARYsecret1\"}""#.into(),
                ],
                starts_at: 0,
                ends_at: 1,
                comment: secret.into(),
                actor: Actor::Daemon,
            }),
            Event::ApiKey(ApiKeyChange::Created {
                id: "k1".into(),
                name: secret.into(),
                prefix: "vgl_k1".into(),
                digest: vigil_store::Hash([0; 32]),
                sources: vec![],
                expires_at: None,
                actor: Actor::Daemon,
            }),
            Event::ApiKey(ApiKeyChange::CreatedWithScopes {
                id: "k2".into(),
                name: secret.into(),
                prefix: "vgl_k2".into(),
                digest: vigil_store::Hash([0; 32]),
                sources: vec![],
                scopes: vec!["ingest".into()],
                expires_at: None,
                actor: Actor::Daemon,
            }),
        ];
        for event in events {
            let stored = admit(&redactor, Intake::Control(event)).event;
            let json = serde_json::to_string(&stored).unwrap();
            assert!(!json.contains("CANARY"), "{json}");
            assert!(json.contains("[REDACTED:"), "{json}");
        }
    }
}
