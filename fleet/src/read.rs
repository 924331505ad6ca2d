//! Reading a stream back: every message in stream order, for
//! [`FleetCheck`](crate::FleetCheck) or for a plain count; and each
//! subject's newest message, for a fleet's last-seen heads.

use crate::check::Delivered;
use crate::error::FleetError;
use crate::wire;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use futures_util::StreamExt;
use serde::Serialize;
use std::ops::ControlFlow;
use std::time::Duration;

/// A stream to read.
pub struct StreamReader {
    js: async_nats::jetstream::Context,
    stream: String,
}

/// A subject's newest message: one host's last-seen head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Seen {
    /// The subject.
    pub subject: String,
    /// Messages on it.
    pub messages: u64,
    /// Its newest message's host header.
    pub host: Option<String>,
    /// Its store header.
    pub store_id: Option<String>,
    /// `entry` or `start`.
    pub record: Option<String>,
    /// The seq it carries.
    pub seq: Option<u64>,
    /// When the broker stored it (UTC micros).
    pub time: i64,
}

fn micros(t: async_nats::jetstream::message::Info<'_>) -> i64 {
    i64::try_from(t.published.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

impl StreamReader {
    /// A reader of `stream` over `client`.
    pub fn new(client: async_nats::Client, timeout: Duration, stream: &str) -> StreamReader {
        StreamReader {
            js: async_nats::jetstream::ContextBuilder::new()
                .timeout(timeout)
                .build(client),
            stream: stream.to_string(),
        }
    }

    fn error(&self, reason: impl std::fmt::Display) -> FleetError {
        FleetError::Stream {
            stream: self.stream.clone(),
            reason: reason.to_string(),
        }
    }

    /// Its last stream sequence now (0: empty).
    pub async fn last_sequence(&self) -> Result<u64, FleetError> {
        let mut stream = self
            .js
            .get_stream(&self.stream)
            .await
            .map_err(|e| self.error(e))?;
        let info = stream.info().await.map_err(|e| self.error(e))?;
        Ok(info.state.last_sequence)
    }

    /// Hands every message to `each`, in stream order, from the first on:
    /// up to the last one there was when it started, or with `follow` for
    /// as long as `each` continues. Returns the messages read.
    pub async fn each(
        &self,
        follow: bool,
        mut each: impl FnMut(Delivered) -> ControlFlow<()>,
    ) -> Result<u64, FleetError> {
        let end = self.last_sequence().await?;
        if end == 0 && !follow {
            return Ok(0);
        }
        let stream = self
            .js
            .get_stream_no_info(&self.stream)
            .await
            .map_err(|e| self.error(e))?;
        let consumer = stream
            .create_consumer(OrderedConfig {
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .map_err(|e| self.error(format!("cannot create a consumer: {e}")))?;
        let mut messages = consumer
            .messages()
            .await
            .map_err(|e| self.error(format!("cannot read: {e}")))?;
        let mut read = 0u64;
        while let Some(message) = messages.next().await {
            let message = message.map_err(|e| self.error(format!("reading: {e}")))?;
            let info = message.info().map_err(|e| self.error(e))?;
            let sequence = info.stream_sequence;
            let time = micros(info);
            let header = |name: &str| {
                message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(name))
                    .map(|v| v.as_str().to_string())
            };
            let delivered = Delivered {
                sequence,
                subject: message.subject.to_string(),
                time,
                store: header(wire::STORE),
                host: header(wire::HOST),
                record: header(wire::RECORD),
                payload: message.payload.clone(),
            };
            read += 1;
            if each(delivered).is_break() {
                break;
            }
            if !follow && sequence >= end {
                break;
            }
        }
        Ok(read)
    }

    /// Each subject's newest message.
    pub async fn seen(&self) -> Result<Vec<Seen>, FleetError> {
        let stream = self
            .js
            .get_stream_no_info(&self.stream)
            .await
            .map_err(|e| self.error(e))?;
        let mut subjects = stream
            .info_with_subjects(">")
            .await
            .map_err(|e| self.error(e))?;
        let mut counts = Vec::new();
        while let Some(next) = subjects.next().await {
            counts.push(next.map_err(|e| self.error(e))?);
        }
        counts.sort();
        let mut out = Vec::with_capacity(counts.len());
        for (subject, messages) in counts {
            let last = stream
                .get_last_raw_message_by_subject(&subject)
                .await
                .map_err(|e| self.error(format!("reading the last message on {subject}: {e}")))?;
            let header = |name: &str| last.headers.get(name).map(|v| v.as_str().to_string());
            let seq = header(wire::SEQ).and_then(|s| s.parse().ok());
            out.push(Seen {
                subject,
                messages: messages as u64,
                host: header(wire::HOST),
                store_id: header(wire::STORE),
                record: header(wire::RECORD),
                seq,
                time: i64::try_from(last.time.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX),
            });
        }
        Ok(out)
    }
}
