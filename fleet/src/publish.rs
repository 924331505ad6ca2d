//! One host's side: the stream made ready, where the host's chain stands
//! on it, and entries published in order with acknowledgements.

use crate::error::FleetError;
use crate::wire::{self, RecordKind, StreamStart};
use async_nats::jetstream::context::{Context, GetStreamErrorKind};
use async_nats::jetstream::message::PublishMessage as Publish;
use async_nats::jetstream::stream;
use async_nats::{HeaderMap, HeaderName, HeaderValue, Subject};
use bytes::Bytes;
use std::time::Duration;
use vigil_store::{Hash, StoreId};

/// The stream a forwarder creates when it is absent. An existing stream
/// is used as it is: its owner configured it.
#[derive(Clone, Debug)]
pub struct StreamSettings {
    /// Its name.
    pub name: String,
    /// The subjects it takes (`vigil.*.entries`).
    pub subjects: Vec<String>,
    /// How long messages are kept (`None`: for ever).
    pub max_age: Option<Duration>,
    /// Replicas (1 on a single server, 3 on a 3-node cluster).
    pub replicas: usize,
    /// How long the server remembers message ids to drop a resend.
    pub duplicate_window: Duration,
}

/// Where a host's chain stands on the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    /// Nothing of it yet.
    Empty,
    /// A start record, and no entry after it.
    Started {
        /// The first seq it announces.
        first: u64,
    },
    /// The last entry the stream holds.
    Entry {
        /// Its seq.
        seq: u64,
        /// Its link.
        link: Hash,
        /// Its stream sequence.
        sequence: u64,
    },
}

/// Publishes one host's records.
#[derive(Clone)]
pub struct Publisher {
    js: Context,
    stream: String,
    /// Cloned per message: a reference count, not a copy.
    subject: Subject,
    store: StoreId,
    /// The headers every record carries, rendered once.
    store_hex: HeaderValue,
    host: HeaderValue,
}

// The header names, built without parsing or allocating.
const MSG_ID_HEADER: HeaderName = HeaderName::from_static(wire::MSG_ID);
const STORE_HEADER: HeaderName = HeaderName::from_static(wire::STORE);
const HOST_HEADER: HeaderName = HeaderName::from_static(wire::HOST);
const RECORD_HEADER: HeaderName = HeaderName::from_static(wire::RECORD);
const SEQ_HEADER: HeaderName = HeaderName::from_static(wire::SEQ);

/// An entry ready to go: its seq and its record.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The entry's seq.
    pub seq: u64,
    /// Its link.
    pub link: Hash,
    /// Its time.
    pub time: i64,
    /// [`wire::entry_payload`].
    pub payload: Bytes,
}

/// The last entry acknowledged, and where it landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acked {
    /// Its seq.
    pub seq: u64,
    /// Its link.
    pub link: Hash,
    /// Its time.
    pub time: i64,
    /// Its stream sequence.
    pub sequence: u64,
}

impl Outgoing {
    /// `entry`, ready to go.
    pub fn of(entry: &vigil_store::Entry) -> Outgoing {
        let seal = entry.seal();
        Outgoing {
            seq: seal.seq,
            link: seal.link,
            time: seal.time,
            payload: wire::entry_payload(entry).into(),
        }
    }
}

impl Publisher {
    /// A publisher of `store`'s records as `host` on `subject` of `stream`.
    pub fn new(
        client: async_nats::Client,
        timeout: Duration,
        stream: &str,
        subject: &str,
        store: StoreId,
        host: &str,
    ) -> Publisher {
        let js = async_nats::jetstream::ContextBuilder::new()
            .timeout(timeout)
            .build(client);
        Publisher {
            js,
            stream: stream.to_string(),
            subject: Subject::from(subject),
            store,
            store_hex: HeaderValue::from_lossy(&store.to_hex()),
            host: HeaderValue::from_lossy(host),
        }
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        self.subject.as_str()
    }

    fn stream_error(&self, reason: impl std::fmt::Display) -> FleetError {
        FleetError::Stream {
            stream: self.stream.clone(),
            reason: reason.to_string(),
        }
    }

    /// Creates the stream with `settings` if it does not exist.
    pub async fn ensure_stream(&self, settings: &StreamSettings) -> Result<(), FleetError> {
        match self.js.get_stream(&self.stream).await {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    GetStreamErrorKind::JetStream(j)
                        if j.error_code() == async_nats::jetstream::ErrorCode::STREAM_NOT_FOUND
                ) =>
            {
                let config = stream::Config {
                    name: settings.name.clone(),
                    subjects: settings.subjects.clone(),
                    max_age: settings.max_age.unwrap_or_default(),
                    num_replicas: settings.replicas,
                    duplicate_window: settings.duplicate_window,
                    storage: stream::StorageType::File,
                    allow_direct: true,
                    ..Default::default()
                };
                self.js
                    .create_stream(config)
                    .await
                    .map(|_| ())
                    .map_err(|e| self.stream_error(format!("cannot create it: {e}")))
            }
            Err(e) => Err(self.stream_error(e)),
        }
    }

    /// Where this host's chain stands on the stream: its subject's last
    /// message, which must be this store's.
    pub async fn position(&self) -> Result<Position, FleetError> {
        let stream = self
            .js
            .get_stream_no_info(&self.stream)
            .await
            .map_err(|e| self.stream_error(e))?;
        let message = match stream
            .get_last_raw_message_by_subject(self.subject.as_str())
            .await
        {
            Ok(m) => m,
            Err(e)
                if e.kind()
                    == async_nats::jetstream::stream::LastRawMessageErrorKind::NoMessageFound =>
            {
                return Ok(Position::Empty);
            }
            Err(e) => {
                return Err(
                    self.stream_error(format!("reading the last message on {}: {e}", self.subject))
                );
            }
        };
        let bad = |reason: String| FleetError::Record {
            stream: self.stream.clone(),
            sequence: message.sequence,
            reason,
        };
        let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_string());
        let store = header(wire::STORE)
            .and_then(|s| StoreId::from_hex(&s))
            .ok_or_else(|| bad("no Vigil-Store header".into()))?;
        if store != self.store {
            return Err(FleetError::SubjectTaken {
                subject: self.subject.to_string(),
                other: store.to_hex(),
            });
        }
        match header(wire::RECORD).as_deref().and_then(RecordKind::parse) {
            Some(RecordKind::Start) => {
                let start: StreamStart = serde_json::from_slice(&message.payload)
                    .map_err(|e| bad(format!("not a start record: {e}")))?;
                Ok(Position::Started { first: start.first })
            }
            Some(RecordKind::Entry) => {
                let head: RecordHead = serde_json::from_slice(&message.payload)
                    .map_err(|e| bad(format!("not an entry record: {e}")))?;
                Ok(Position::Entry {
                    seq: head.seq,
                    link: head.link,
                    sequence: message.sequence,
                })
            }
            None => Err(bad("no Vigil-Record header".into())),
        }
    }

    fn headers(&self, kind: RecordKind, seq: u64, msg_id: String) -> HeaderMap {
        record_headers(&self.store_hex, &self.host, kind, seq, msg_id)
    }

    fn entry_msg_id(&self, seq: u64) -> String {
        entry_msg_id(self.store_hex.as_str(), seq)
    }

    /// Publishes a start record and waits for its acknowledgement.
    pub async fn publish_start(&self, start: &StreamStart) -> Result<(), FleetError> {
        let payload = serde_json::to_vec(start).expect("a start record encodes");
        let failed = |reason: String| FleetError::Publish {
            seq: start.first,
            subject: self.subject.to_string(),
            reason,
        };
        let ack = self
            .js
            .send_publish(
                self.subject.clone(),
                Publish::build()
                    .payload(payload.into())
                    .headers(self.headers(
                        RecordKind::Start,
                        start.first,
                        wire::start_msg_id(self.store, start.first),
                    )),
            )
            .await
            .map_err(|e| failed(e.to_string()))?;
        ack.await.map_err(|e| failed(e.to_string()))?;
        Ok(())
    }

    /// Publishes `entries` (consecutive seqs) with at most `in_flight`
    /// awaiting their acknowledgement, and returns the last acknowledged
    /// with every one before it. On an error, what was acknowledged
    /// before it comes back beside the error.
    pub async fn publish(
        &self,
        entries: &[Outgoing],
        in_flight: usize,
    ) -> Result<Option<Acked>, (Option<Acked>, FleetError)> {
        let mut window = Window::new(self, in_flight);
        for entry in entries {
            if let Err(e) = window.push(entry).await {
                return Err((window.acked(), e));
            }
        }
        match window.drain().await {
            Ok(()) => Ok(window.acked()),
            Err(e) => Err((window.acked(), e)),
        }
    }

    /// Sends one entry; its acknowledgement is awaited by the caller.
    async fn send(
        &self,
        entry: &Outgoing,
    ) -> Result<async_nats::jetstream::context::PublishAckFuture, FleetError> {
        let publish = Publish::build()
            .payload(entry.payload.clone())
            .headers(self.headers(RecordKind::Entry, entry.seq, self.entry_msg_id(entry.seq)));
        self.js
            .send_publish(self.subject.clone(), publish)
            .await
            .map_err(|e| self.publish_error(entry.seq, e))
    }

    fn publish_error(&self, seq: u64, e: impl std::fmt::Display) -> FleetError {
        FleetError::Publish {
            seq,
            subject: self.subject.to_string(),
            reason: e.to_string(),
        }
    }

    /// The seqs of this store's entries on the subject from stream
    /// sequence `from` on, in stream order: after a failed window, what
    /// the broker stored of it (a lost connection can drop some messages
    /// and carry later ones on the next).
    pub async fn entries_from(&self, from: u64) -> Result<Vec<u64>, FleetError> {
        let stream = self
            .js
            .get_stream_no_info(&self.stream)
            .await
            .map_err(|e| self.stream_error(e))?;
        let mut seqs = Vec::new();
        let mut at = from;
        loop {
            let message = match stream
                .direct_get_next_for_subject(self.subject.as_str(), Some(at))
                .await
            {
                Ok(m) => m,
                Err(e)
                    if e.kind() == async_nats::jetstream::stream::DirectGetErrorKind::NotFound =>
                {
                    return Ok(seqs);
                }
                Err(e) => {
                    return Err(self.stream_error(format!("reading back {}: {e}", self.subject)));
                }
            };
            at = message.sequence + 1;
            let Some(store) = message.headers.get(wire::STORE) else {
                continue;
            };
            if store.as_str() != self.store_hex.as_str() {
                continue;
            }
            if message.headers.get(wire::RECORD).map(|v| v.as_str()) != Some("entry") {
                continue;
            }
            if let Ok(head) = serde_json::from_slice::<RecordHead>(&message.payload) {
                seqs.push(head.seq);
            }
        }
    }

    /// Republishes entries and waits for each acknowledgement.
    pub async fn republish(&self, entries: &[Outgoing]) -> Result<(), FleetError> {
        self.publish(entries, 1)
            .await
            .map(|_| ())
            .map_err(|(_, e)| e)
    }
}

/// A record's headers, its message id included: names that are
/// constants, values rendered once (`store_hex`, `host`) or written
/// straight into their own strings, as this runs once per entry.
fn record_headers(
    store_hex: &HeaderValue,
    host: &HeaderValue,
    kind: RecordKind,
    seq: u64,
    msg_id: String,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(MSG_ID_HEADER, msg_id);
    headers.insert(STORE_HEADER, store_hex.clone());
    headers.insert(HOST_HEADER, host.clone());
    headers.insert(RECORD_HEADER, kind.name());
    headers.insert(SEQ_HEADER, HeaderValue::from(seq));
    headers
}

/// [`wire::entry_msg_id`], from the store id rendered once.
fn entry_msg_id(store_hex: &str, seq: u64) -> String {
    use std::fmt::Write;
    let mut id = String::with_capacity(store_hex.len() + 21);
    id.push_str(store_hex);
    id.push(':');
    let _ = write!(id, "{seq}");
    id
}

/// The fields of an entry record a position needs.
#[derive(serde::Deserialize)]
struct RecordHead {
    seq: u64,
    link: Hash,
}

/// Publications awaiting their acknowledgement, oldest first: at most
/// `limit` at once, and an entry counts as forwarded only once it and
/// every one before it are acknowledged. One window may span many
/// batches, so it never drains between them.
pub struct Window<'a> {
    publisher: &'a Publisher,
    limit: usize,
    pending: std::collections::VecDeque<(
        u64,
        Hash,
        i64,
        async_nats::jetstream::context::PublishAckFuture,
    )>,
    acked: Option<Acked>,
}

impl<'a> Window<'a> {
    /// An empty window of at most `limit` (at least 1).
    pub fn new(publisher: &'a Publisher, limit: usize) -> Window<'a> {
        Window {
            publisher,
            limit: limit.max(1),
            pending: std::collections::VecDeque::with_capacity(limit.max(1)),
            acked: None,
        }
    }

    /// Sends `entry`, first waiting for the oldest acknowledgement when
    /// the window is full.
    pub async fn push(&mut self, entry: &Outgoing) -> Result<(), FleetError> {
        while self.pending.len() >= self.limit {
            self.settle_one().await?;
        }
        let future = self.publisher.send(entry).await?;
        self.pending
            .push_back((entry.seq, entry.link, entry.time, future));
        Ok(())
    }

    /// Waits for every acknowledgement.
    pub async fn drain(&mut self) -> Result<(), FleetError> {
        while !self.pending.is_empty() {
            self.settle_one().await?;
        }
        Ok(())
    }

    async fn settle_one(&mut self) -> Result<(), FleetError> {
        let Some((seq, link, time, future)) = self.pending.pop_front() else {
            return Ok(());
        };
        let ack = future
            .await
            .map_err(|e| self.publisher.publish_error(seq, e))?;
        self.acked = Some(Acked {
            seq,
            link,
            time,
            sequence: ack.sequence,
        });
        Ok(())
    }

    /// The last entry acknowledged with every one before it.
    pub fn acked(&self) -> Option<Acked> {
        self.acked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_rendered_once_are_the_wire_headers() {
        let store = StoreId([0x5c; 16]);
        let store_hex = HeaderValue::from_lossy(&store.to_hex());
        let host = HeaderValue::from_lossy("db1");
        for seq in [1, 9, 10, 12_345, u64::MAX] {
            let id = entry_msg_id(store_hex.as_str(), seq);
            assert_eq!(id, wire::entry_msg_id(store, seq));
            let headers = record_headers(&store_hex, &host, RecordKind::Entry, seq, id.clone());
            let get = |name: &str| headers.get(name).map(|v| v.as_str().to_string());
            assert_eq!(get(wire::MSG_ID), Some(id));
            assert_eq!(get(wire::STORE), Some(store.to_hex()));
            assert_eq!(get(wire::HOST), Some("db1".into()));
            assert_eq!(get(wire::RECORD), Some("entry".into()));
            assert_eq!(get(wire::SEQ), Some(seq.to_string()));
            assert_eq!(headers.iter().count(), 5);
        }
    }
}
