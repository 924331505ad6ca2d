//! What travels: one message per entry, plus one start record per host.
//!
//! The payload of an entry message is the entry's export line
//! ([`entry_record`]): every chain field and the body, in JSON. What a
//! broker needs to route and deduplicate rides in headers, so the same
//! records could go to Kafka (headers and a key) unchanged:
//!
//! | header | value |
//! |---|---|
//! | `Nats-Msg-Id` | `<store id>:<seq>` (`<store id>:start:<first>` for a start) |
//! | `Vigil-Store` | the store id: the host's identity, bound to its key |
//! | `Vigil-Host` | the host's name, as its subject says it |
//! | `Vigil-Record` | `entry` or `start` |
//! | `Vigil-Seq` | the entry's seq (the start's first) |

use serde::{Deserialize, Serialize};
use vigil_store::export::{Before, before, entry_record};
use vigil_store::{Entry, Log, StoreId};

/// The message id header JetStream deduplicates on.
pub const MSG_ID: &str = "Nats-Msg-Id";
/// The store id header.
pub const STORE: &str = "Vigil-Store";
/// The host name header.
pub const HOST: &str = "Vigil-Host";
/// The record kind header.
pub const RECORD: &str = "Vigil-Record";
/// The seq header.
pub const SEQ: &str = "Vigil-Seq";

/// Version of the start record this build writes and reads.
pub const START_VERSION: u32 = 1;

/// The default subject template: `{host}` becomes the host's name.
pub const DEFAULT_SUBJECT: &str = "vigil.{host}.entries";

/// What a message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// One entry of the chain.
    Entry,
    /// Where a host's forwarded chain starts.
    Start,
}

impl RecordKind {
    /// The header value.
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Entry => "entry",
            RecordKind::Start => "start",
        }
    }

    /// From the header value.
    pub fn parse(text: &str) -> Option<RecordKind> {
        match text {
            "entry" => Some(RecordKind::Entry),
            "start" => Some(RecordKind::Start),
            _ => None,
        }
    }
}

/// The first record a host publishes: where its forwarded chain begins
/// and what its first entry links to, so a verifier with the host's key
/// authenticates the start itself (the tag of `before`). A host publishes
/// another only when entries it never forwarded were truncated locally
/// (`[retention] wait_for_forward = false`): the verifier reports that gap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamStart {
    /// Always `start`.
    pub record: RecordKind,
    /// [`START_VERSION`].
    pub version: u32,
    /// The store whose chain follows.
    pub store_id: StoreId,
    /// Its format.
    pub store_format: u32,
    /// The host's name.
    pub host: String,
    /// The software that forwards.
    pub software: String,
    /// Seq of the first entry that follows.
    pub first: u64,
    /// The entry before `first`, which `first` links to (`None` when `first` is 1).
    pub before: Option<Before>,
    /// The verification key's fingerprint, if the store recorded it.
    pub key_fingerprint: Option<String>,
}

impl StreamStart {
    /// The start of `log`'s chain at `first`, forwarded as `host`.
    pub fn of(
        log: &Log,
        first: u64,
        host: &str,
        software: &str,
    ) -> vigil_store::Result<StreamStart> {
        Ok(StreamStart {
            record: RecordKind::Start,
            version: START_VERSION,
            store_id: log.store_id(),
            store_format: log.format(),
            host: host.to_string(),
            software: software.to_string(),
            first,
            before: before(log, first)?,
            key_fingerprint: log.key_fingerprint()?,
        })
    }
}

/// The message id of entry `seq` of `store`.
pub fn entry_msg_id(store: StoreId, seq: u64) -> String {
    format!("{store}:{seq}")
}

/// The message id of a start record at `first`.
pub fn start_msg_id(store: StoreId, first: u64) -> String {
    format!("{store}:start:{first}")
}

/// The payload of an entry message.
pub fn entry_payload(entry: &Entry) -> Vec<u8> {
    entry_record(entry)
}

/// A host name made into one subject token: NATS subjects split on `.`,
/// and `*`, `>` and white space are not allowed in a token.
pub fn subject_token(host: &str) -> String {
    let token: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if token.is_empty() { "_".into() } else { token }
}

/// The subject a host publishes on: `template` with `{host}` replaced.
pub fn subject_for(template: &str, host: &str) -> String {
    template.replace("{host}", &subject_token(host))
}

/// The subjects a stream created by a forwarder takes: the template with
/// the host as a wildcard, so every host's subject lands in it.
pub fn stream_subject(template: &str) -> String {
    template.replace("{host}", "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_become_one_subject_token() {
        assert_eq!(subject_for(DEFAULT_SUBJECT, "db1"), "vigil.db1.entries");
        assert_eq!(
            subject_for(DEFAULT_SUBJECT, "db1.example.org"),
            "vigil.db1_example_org.entries"
        );
        assert_eq!(subject_for(DEFAULT_SUBJECT, "a b*>"), "vigil.a_b__.entries");
        assert_eq!(subject_for(DEFAULT_SUBJECT, ""), "vigil._.entries");
        assert_eq!(stream_subject(DEFAULT_SUBJECT), "vigil.*.entries");
    }

    #[test]
    fn message_ids_name_the_store_and_seq() {
        let store = StoreId([0xab; 16]);
        assert_eq!(entry_msg_id(store, 7), format!("{}:7", "ab".repeat(16)));
        assert_eq!(
            start_msg_id(store, 1),
            format!("{}:start:1", "ab".repeat(16))
        );
    }
}
