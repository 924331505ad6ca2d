//! What every intake path shares: parsing a delivery's JSON safely, and
//! [`admit`], the one redaction step between anything from outside (an
//! HTTP delivery, a spool file, `vigilctl emit`, and collectors to come) and
//! the log. Whichever door text came through, it is stored the same way.

use vigil_ingest::drivers::{DriverKind, Normalized};
use vigil_ingest::redact::Redactor;
use vigil_store::{Actor, AlertsIngested, Custom, Event, Labels, Severity, WebhookReceived};

/// Parses `bytes` as JSON nested at most `max_depth` deep.
///
/// The depth is checked before parsing, so a hostile body cannot make the
/// parser recurse. Errors give a position, never the input: serde_json's own
/// messages can quote it.
pub fn parse_json(bytes: &[u8], max_depth: usize) -> Result<serde_json::Value, String> {
    if !depth_within(bytes, max_depth) {
        return Err(format!("the JSON nests deeper than {max_depth} levels"));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "the body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        )
    })
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
    /// `vigilctl emit`: an operator's free-form event.
    Emitted {
        /// Who emitted it.
        actor: Actor,
        /// Its severity.
        severity: Severity,
        /// The message.
        message: String,
        /// The labels.
        labels: Labels,
    },
}

/// The event an intake becomes.
pub struct Admitted {
    /// The redacted event, ready to append.
    pub event: Event,
    /// How many alerts it holds (1 for a non-alert delivery or an emit).
    pub alerts: usize,
}

/// Redacts everything `intake` carries and makes it the event to store.
///
/// Every string passes the redactor: alerts (summaries, labels and
/// annotations with their keys, links, fingerprints), a webhook's type and
/// summary, the spool file's name, the raw payload (key-aware, as JSON), an
/// emitted message and its labels.
pub fn admit(redactor: &Redactor, intake: Intake<'_>) -> Admitted {
    match intake {
        Intake::Delivery {
            origin,
            normalized,
            raw,
        } => delivery(redactor, origin, normalized, raw),
        Intake::Emitted {
            actor,
            severity,
            message,
            mut labels,
        } => {
            redactor.redact_labels(&mut labels);
            Admitted {
                event: Event::Custom(Custom {
                    actor: redact_actor(redactor, actor),
                    severity,
                    message: redactor.redact(&message).into_owned(),
                    labels,
                }),
                alerts: 1,
            }
        }
    }
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
        assert!(e.contains("line 1, column"), "{e}");
        assert!(!e.contains("CANARY"), "{e}");
        let e = parse_json(b"[[[[1]]]]", 3).unwrap_err();
        assert!(e.contains("deeper than 3"), "{e}");
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
            Intake::Emitted {
                actor: Actor::Daemon,
                severity: Severity::Info,
                message: "deploy with AKIAQCANARY7EXAMPLE2".into(),
                labels: Labels::from([
                    ("ctx".into(), "glpat-CANARYbbbbbbbbbbbbbbbb".into()),
                    ("password".into(), "plain".into()),
                ]),
            },
        );
        let Event::Custom(custom) = &admitted.event else {
            panic!("not a custom event");
        };
        assert_eq!(custom.message, "deploy with [REDACTED:aws_access_key]");
        assert_eq!(custom.labels["ctx"], "[REDACTED:gitlab_token]");
        assert_eq!(custom.labels["password"], "[REDACTED:password]");
    }
}
