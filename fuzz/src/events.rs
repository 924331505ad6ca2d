//! Checks of an event body: decoding fails with a typed decode error or
//! gives an event that encodes and decodes back to itself, renders as JSON
//! (the export writer and checker both `expect` that it does) and has a
//! known kind.

use vigil_store::{Event, EventKind, StoreError};

/// Decodes `body` and checks the event, if it is one.
pub fn check_body(body: &[u8]) -> Option<Event> {
    match Event::decode(body) {
        Ok(event) => {
            check_event(&event);
            Some(event)
        }
        Err(StoreError::Decode(reason)) => {
            assert!(!reason.is_empty());
            None
        }
        Err(other) => panic!("a body that does not decode is a decode error, not {other:?}"),
    }
}

/// Checks one decoded event.
pub fn check_event(event: &Event) {
    let encoded = event.encode();
    let again = Event::decode(&encoded).expect("an encoded event decodes");
    assert_eq!(&again, event, "encode then decode changed the event");
    assert_eq!(again.encode(), encoded, "the encoding is not stable");

    let kind = event.kind();
    assert_eq!(EventKind::from_code(kind.code()), Some(kind));
    assert_eq!(kind.name().parse::<EventKind>(), Ok(kind));
    let _ = event.source();

    serde_json::to_vec(event).expect("an event renders as JSON");
}

#[cfg(test)]
mod tests {
    use vigil_store::VerificationKey;
    use vigil_store::export::verify_export;

    /// The committed export seeds pass with their key and a sealed header,
    /// so the export target's tamperings run from the start.
    #[test]
    fn export_seeds_pass_sealed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/export_verify");
        for file in std::fs::read_dir(dir).expect("a seed directory") {
            let data = std::fs::read_to_string(file.expect("an entry").path()).expect("a seed");
            let (key, export) = data.split_once('\n').expect("a key line");
            let key = VerificationKey::parse(key).expect("a key");
            let report = verify_export(export.as_bytes(), Some(&key), None).expect("a report");
            assert!(
                report.report.ok && report.header_sealed == Some(true),
                "{report:?}"
            );
        }
    }
}
