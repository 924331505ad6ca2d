//! One host's side: the stream made ready, where the host's chain stands
//! on it, and entries published in order with acknowledgements.

use crate::error::FleetError;
use crate::wire::{self, RecordKind, StreamStart};
use async_nats::HeaderMap;
use async_nats::jetstream::context::{Context, GetStreamErrorKind};
use async_nats::jetstream::message::PublishMessage as Publish;
use async_nats::jetstream::stream;
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
    subject: String,
    store: StoreId,
    host: String,
}

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
            subject: subject.to_string(),
            store,
            host: host.to_string(),
        }
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        &self.subject
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
        let message = match stream.get_last_raw_message_by_subject(&self.subject).await {
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
                subject: self.subject.clone(),
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

    fn headers(&self, kind: RecordKind, seq: u64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(wire::STORE, self.store.to_hex().as_str());
        headers.insert(wire::HOST, self.host.as_str());
        headers.insert(wire::RECORD, kind.name());
        headers.insert(wire::SEQ, seq.to_string().as_str());
        headers
    }

    /// Publishes a start record and waits for its acknowledgement.
    pub async fn publish_start(&self, start: &StreamStart) -> Result<(), FleetError> {
        let payload = serde_json::to_vec(start).expect("a start record encodes");
        let failed = |reason: String| FleetError::Publish {
            seq: start.first,
            subject: self.subject.clone(),
            reason,
        };
        let ack = self
            .js
            .send_publish(
                self.subject.clone(),
                Publish::build()
                    .payload(payload.into())
                    .headers(self.headers(RecordKind::Start, start.first))
                    .message_id(wire::start_msg_id(self.store, start.first)),
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
        let mut acked = None;
        let mut pending = std::collections::VecDeque::with_capacity(in_flight);
        let mut next = entries.iter();
        loop {
            while pending.len() < in_flight.max(1) {
                let Some(entry) = next.next() else { break };
                let publish = Publish::build()
                    .payload(entry.payload.clone())
                    .headers(self.headers(RecordKind::Entry, entry.seq))
                    .message_id(wire::entry_msg_id(self.store, entry.seq));
                match self.js.send_publish(self.subject.clone(), publish).await {
                    Ok(future) => pending.push_back((entry, future)),
                    Err(e) => return Err((acked, self.publish_error(entry.seq, e))),
                }
            }
            let Some((entry, future)) = pending.pop_front() else {
                return Ok(acked);
            };
            match future.await {
                Ok(ack) => {
                    acked = Some(Acked {
                        seq: entry.seq,
                        link: entry.link,
                        time: entry.time,
                        sequence: ack.sequence,
                    });
                }
                Err(e) => return Err((acked, self.publish_error(entry.seq, e))),
            }
        }
    }

    fn publish_error(&self, seq: u64, e: impl std::fmt::Display) -> FleetError {
        FleetError::Publish {
            seq,
            subject: self.subject.clone(),
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
                .direct_get_next_for_subject(self.subject.clone(), Some(at))
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
            if store.as_str() != self.store.to_hex() {
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

/// The fields of an entry record a position needs.
#[derive(serde::Deserialize)]
struct RecordHead {
    seq: u64,
    link: Hash,
}
