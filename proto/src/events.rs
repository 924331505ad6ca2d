//! Events as the client sees them.

use serde::{Deserialize, Serialize};
use vigil_store::{Event, Hash};

/// An event as the client sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Position.
    pub seq: u64,
    /// UTC microseconds.
    pub time: i64,
    /// Kind name (or the numeric code of a kind this build does not know).
    pub kind: String,
    /// Sealing epoch.
    pub epoch: u64,
    /// Body digest.
    pub digest: Hash,
    /// Chain link.
    pub link: Hash,
    /// Seal.
    pub tag: Hash,
    /// The event, unless retention dropped its body.
    pub event: Option<Event>,
}

/// Turns a store entry into an [`EventRecord`] (undecodable bodies show as `None`).
pub fn event_record(entry: &vigil_store::Entry) -> EventRecord {
    let seal = entry.seal();
    EventRecord {
        seq: seal.seq,
        time: seal.time,
        kind: entry
            .kind()
            .map_or_else(|| seal.kind.to_string(), |k| k.name().to_string()),
        epoch: seal.epoch,
        digest: seal.digest,
        link: seal.link,
        tag: seal.tag,
        event: entry.event().ok().flatten(),
    }
}
