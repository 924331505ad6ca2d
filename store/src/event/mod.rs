//! The event model: what the log records.
//!
//! An entry's body is `BODY_FORMAT` (one byte) followed by the postcard
//! encoding of an [`Event`]. Postcard is not self-describing, so the model
//! evolves by rules that keep every old body decodable:
//!
//! * variants of [`Event`] are only ever appended, never reordered or removed;
//! * a payload struct that has shipped is frozen; a changed shape is a new
//!   variant (e.g. `AlertsIngestedV2`) and readers map old to new;
//! * the committed fixture in `tests/fixtures/events-v1.bin` must keep decoding.
//!
//! [`EventKind`] is the coarse category stored in every entry's header (and
//! covered by its link), used for filtering without decoding bodies.

pub mod examples;
mod files;
mod forward;
mod labels;
mod logs;
mod payload;
mod retention;

pub use files::*;
pub use forward::Forwarded;
pub use labels::{LabelSet, Pairs as LabelPairs};
pub use logs::*;
pub use payload::*;
pub use retention::*;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Version byte that prefixes every encoded body.
pub const BODY_FORMAT: u8 = 1;

/// Category of an event, stored as a `u16` in each entry header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The first entry of a store.
    Genesis,
    /// The first entry of a sealing epoch.
    Epoch,
    /// A retention cut: what the views need from the truncated prefix.
    Checkpoint,
    /// Something received from outside: webhooks, `vigilctl emit`, spool files.
    Ingest,
    /// Something collected locally: file integrity, log lines.
    Collect,
    /// An authentication or authorization decision.
    Auth,
    /// A notification intent, attempt or outcome.
    Notify,
    /// A configuration load or reload.
    Config,
    /// An API key change.
    Key,
    /// A secret change (never its value).
    Secret,
    /// An operator action on an incident.
    Incident,
    /// A retention run.
    Retention,
    /// A free-form event from an operator or script.
    Custom,
    /// Daemon lifecycle: start, stop.
    System,
    /// A silence was created or expired.
    Silence,
}

impl EventKind {
    /// Every kind, in code order.
    pub const ALL: [EventKind; 15] = [
        EventKind::Genesis,
        EventKind::Epoch,
        EventKind::Checkpoint,
        EventKind::Ingest,
        EventKind::Collect,
        EventKind::Auth,
        EventKind::Notify,
        EventKind::Config,
        EventKind::Key,
        EventKind::Secret,
        EventKind::Incident,
        EventKind::Retention,
        EventKind::Custom,
        EventKind::System,
        EventKind::Silence,
    ];

    /// The stable on-disk code.
    pub const fn code(self) -> u16 {
        match self {
            EventKind::Genesis => 1,
            EventKind::Epoch => 2,
            EventKind::Checkpoint => 3,
            EventKind::Ingest => 16,
            EventKind::Collect => 17,
            EventKind::Auth => 18,
            EventKind::Notify => 19,
            EventKind::Config => 20,
            EventKind::Key => 21,
            EventKind::Secret => 22,
            EventKind::Incident => 23,
            EventKind::Retention => 24,
            EventKind::Custom => 25,
            EventKind::System => 26,
            EventKind::Silence => 27,
        }
    }

    /// The chain's own entries and retention's records: a verifier reads
    /// their bodies (they carry the chain's epochs, cuts and the accounting
    /// of pruned bodies), so no export leaves them out and no retention
    /// rule prunes them.
    pub const ACCOUNTING: [EventKind; 4] = [
        EventKind::Genesis,
        EventKind::Epoch,
        EventKind::Checkpoint,
        EventKind::Retention,
    ];

    /// Whether kind code `code` is one of [`EventKind::ACCOUNTING`].
    pub fn accounts(code: u16) -> bool {
        EventKind::ACCOUNTING.iter().any(|k| k.code() == code)
    }

    /// The kind with this code, if this build knows it.
    pub fn from_code(code: u16) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The lowercase name used on the command line and in JSON.
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::Genesis => "genesis",
            EventKind::Epoch => "epoch",
            EventKind::Checkpoint => "checkpoint",
            EventKind::Ingest => "ingest",
            EventKind::Collect => "collect",
            EventKind::Auth => "auth",
            EventKind::Notify => "notify",
            EventKind::Config => "config",
            EventKind::Key => "key",
            EventKind::Secret => "secret",
            EventKind::Incident => "incident",
            EventKind::Retention => "retention",
            EventKind::Custom => "custom",
            EventKind::System => "system",
            EventKind::Silence => "silence",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EventKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = EventKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown event kind `{s}`; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Everything the log can record.
///
/// Append new variants at the end only; see the module documentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The store was created.
    Genesis(Genesis),
    /// A new sealing epoch began.
    EpochStarted(EpochStarted),
    /// The prefix up to a seq was truncated.
    Checkpoint(Checkpoint),
    /// Alerts arrived from a source.
    AlertsIngested(AlertsIngested),
    /// A delivery arrived that carried no alert (e.g. a GitHub push).
    WebhookReceived(WebhookReceived),
    /// A watched file changed.
    FileChanged(FileChanged),
    /// A line of a followed log file matched a rule.
    LogMatched(LogMatched),
    /// An authorization decision about one caller and action.
    Auth(AuthDecision),
    /// Repeated rejections, counted rather than logged one by one.
    AuthRejections(AuthRejections),
    /// A notification intent, attempt or outcome.
    Notification(Notification),
    /// A configuration was loaded, or refused.
    ConfigLoaded(ConfigLoaded),
    /// An API key was created or revoked.
    ApiKey(ApiKeyChange),
    /// A secret was set, deleted or re-encrypted.
    Secret(SecretChange),
    /// An operator acted on an incident.
    IncidentAction(IncidentAction),
    /// A retention run pruned or truncated the log.
    Retention(RetentionRun),
    /// A free-form event.
    Custom(Custom),
    /// The daemon started or stopped.
    Lifecycle(Lifecycle),
    /// An operator muted notifications for matching alerts.
    Silence(Silence),
    /// A silence was ended before its time.
    SilenceExpired(SilenceExpired),
    /// The decision to notify, before any attempt.
    NotificationIntended(NotificationIntent),
    /// Retention is dropping these bodies (sealed before they go).
    BodiesPruned(BodiesPruned),
    /// The store was found truncated and an operator accepted it.
    TailLost(TailLost),
    /// File integrity monitoring: a scan, a baseline, a change.
    FileIntegrity(FileIntegrity),
    /// Log collection: lines read with their position, a rotation.
    Logs(LogEvent),
    /// A retention run finished: what each rule removed.
    RetentionApplied(RetentionApplied),
    /// An operator erased the bodies of matching events.
    Erasure(Erasure),
    /// The fleet's broker acknowledged this host's chain up to a seq.
    Forwarded(Forwarded),
}

impl Event {
    /// The category recorded in the entry header.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Genesis(_) => EventKind::Genesis,
            Event::EpochStarted(_) => EventKind::Epoch,
            Event::Checkpoint(_) => EventKind::Checkpoint,
            Event::AlertsIngested(_) | Event::WebhookReceived(_) => EventKind::Ingest,
            Event::FileChanged(_)
            | Event::LogMatched(_)
            | Event::FileIntegrity(_)
            | Event::Logs(_) => EventKind::Collect,
            Event::Auth(_) | Event::AuthRejections(_) => EventKind::Auth,
            Event::Notification(_) | Event::NotificationIntended(_) => EventKind::Notify,
            Event::ConfigLoaded(_) => EventKind::Config,
            Event::ApiKey(_) => EventKind::Key,
            Event::Secret(_) => EventKind::Secret,
            Event::IncidentAction(_) => EventKind::Incident,
            Event::Retention(_)
            | Event::BodiesPruned(_)
            | Event::RetentionApplied(_)
            | Event::Erasure(_) => EventKind::Retention,
            Event::Custom(_) => EventKind::Custom,
            Event::Lifecycle(_) | Event::TailLost(_) | Event::Forwarded(_) => EventKind::System,
            Event::Silence(_) | Event::SilenceExpired(_) => EventKind::Silence,
        }
    }

    /// The configured source it came from, when it came from one: an
    /// ingestion source's name, a log set's name. Retention rules and export
    /// filters select by it.
    pub fn source(&self) -> Option<&str> {
        match self {
            Event::AlertsIngested(e) => Some(&e.source),
            Event::WebhookReceived(e) => Some(&e.source),
            Event::Logs(e) => Some(e.source().0),
            Event::Custom(Custom {
                actor: Actor::Source { name },
                ..
            }) => Some(name),
            _ => None,
        }
    }

    /// Encodes to body bytes: `BODY_FORMAT` ‖ postcard.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_after(Vec::with_capacity(384))
    }

    /// Appends the body encoding to `prefix` (the writer reserves room for
    /// the entry header in front, so the body is never copied again).
    pub(crate) fn encode_after(&self, mut prefix: Vec<u8>) -> Vec<u8> {
        prefix.push(BODY_FORMAT);
        // Serializing plain data into a Vec cannot fail.
        postcard::to_extend(self, prefix).expect("postcard encoding into a Vec")
    }

    /// Decodes body bytes written by [`Event::encode`] (of this or an older build).
    pub fn decode(body: &[u8]) -> Result<Event, crate::StoreError> {
        let Some((&format, rest)) = body.split_first() else {
            return Err(crate::StoreError::Decode("empty body".into()));
        };
        if format != BODY_FORMAT {
            return Err(crate::StoreError::Decode(format!(
                "body format {format} is not supported by this build (it reads {BODY_FORMAT})"
            )));
        }
        let (event, trailing) = postcard::take_from_bytes::<Event>(rest)
            .map_err(|e| crate::StoreError::Decode(e.to_string()))?;
        if !trailing.is_empty() {
            return Err(crate::StoreError::Decode(format!(
                "{} trailing bytes after the event",
                trailing.len()
            )));
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests;
