//! What every intake path shares once a delivery is authenticated: parsing
//! its JSON safely, and turning the driver's normalized result into one
//! redacted event. The HTTP endpoint and the spool directory both use it, so
//! a payload is stored the same way whichever door it came through.

use vigil_ingest::drivers::{DriverKind, Normalized};
use vigil_ingest::redact::Redactor;
use vigil_store::{Actor, AlertsIngested, Event, WebhookReceived};

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

/// The event an accepted delivery becomes, and how many alerts it holds.
///
/// Every string passes the redactor first; `raw` (the whole payload, when
/// the source keeps it) is redacted too.
pub fn event(
    redactor: &Redactor,
    origin: Origin<'_>,
    normalized: Normalized,
    raw: Option<&serde_json::Value>,
) -> (Event, usize) {
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
    match normalized {
        Normalized::Alerts(mut alerts) => {
            for alert in &mut alerts {
                redactor.redact_alert(alert);
            }
            let n = alerts.len();
            let event = Event::AlertsIngested(AlertsIngested {
                source: source.to_string(),
                driver: driver.name().to_string(),
                delivery_id,
                actor,
                alerts,
                raw,
            });
            (event, n)
        }
        Normalized::Other {
            event_type,
            summary,
        } => {
            let event = Event::WebhookReceived(WebhookReceived {
                source: source.to_string(),
                driver: driver.name().to_string(),
                delivery_id,
                actor,
                event_type: redactor.redact(&event_type).into_owned(),
                summary: redactor.redact(&summary).into_owned(),
                raw,
            });
            (event, 1)
        }
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
            actor: Actor::Daemon,
        };
        let raw = serde_json::json!({"note": "password=hunter2hunter2"});
        let other = Normalized::Other {
            event_type: "push".into(),
            summary: "pushed with token=ghp_abcdefghijklmnopqrstuvwxyz0123456789".into(),
        };
        let (event, n) = event(&redactor, origin(), other, Some(&raw));
        assert_eq!(n, 1);
        let stored = serde_json::to_string(&event).unwrap();
        assert!(!stored.contains("hunter2"), "{stored}");
        assert!(!stored.contains("ghp_abcdef"), "{stored}");
        assert!(stored.contains("[REDACTED:"), "{stored}");
    }
}
