//! The events family: emit, list, follow, show.

use super::listing::Page;
use std::collections::BTreeMap;
use tokio::io::AsyncReadExt;
use vigil_proto::{
    Answer, ErrorBody, ErrorCode, EventRecord, EventsRequest, Response, Truncated, event_record,
};
use vigil_store::{Custom, Event, EventKind, Severity};

use super::conn::{Conn, Fail, Served, blocking, refuse, stored_within};

/// Events per frame when listing or following.
const PAGE: usize = 100;
/// Longest message `emit` takes.
const MAX_MESSAGE: usize = 4096;
/// Most labels `emit` takes.
const MAX_LABELS: usize = 32;
/// Longest label value `emit` takes.
const MAX_LABEL_VALUE: usize = 1024;

impl Conn<'_> {
    /// Serves the events family.
    pub(super) async fn serve_events(&mut self, request: EventsRequest) -> Served {
        match request {
            EventsRequest::Emit {
                message,
                severity,
                labels,
            } => self.emit(message, severity, labels).await,
            EventsRequest::List { kind, from, limit } => self.events(kind, from, limit).await,
            EventsRequest::Follow { kind, from } => self.follow(kind, from).await,
            EventsRequest::Show { seq } => self.show(seq).await,
        }
    }

    pub(super) async fn emit(
        &mut self,
        message: String,
        severity: Severity,
        labels: BTreeMap<String, String>,
    ) -> Served {
        check_emit(&message, &labels)?;
        let admitted = self.admit(Event::Custom(Custom {
            actor: self.caller.actor(),
            severity,
            message,
            labels,
        }));
        if let Event::Custom(stored) = &admitted.event {
            stored_within("--message", &stored.message, MAX_MESSAGE)?;
            for (k, v) in &stored.labels {
                stored_within(&format!("label `{k}`"), v, MAX_LABEL_VALUE)?;
            }
        }
        let head = self.record("emit", admitted).await?;
        self.send(&Answer::emit(head)).await
    }

    pub(super) async fn events(
        &mut self,
        kind: Option<EventKind>,
        from: Option<u64>,
        limit: Option<u64>,
    ) -> Served {
        if limit == Some(0) {
            return Err(refuse(ErrorCode::BadRequest, "--limit must be at least 1"));
        }
        // The listing covers the log as it is now; later events are for follow.
        let head = self.shared.log.head().seq;
        let log = self.shared.log.clone();
        let (start, limit, earlier) = match (from, limit) {
            (Some(from), limit) => (from, limit, None),
            (None, None) => (1, None, None),
            // The newest `n`: find where they begin (newest first), and
            // whether a matching one is older, then list forward from there.
            (None, Some(n)) => {
                let (start, more) = blocking(move || {
                    let mut start = head.saturating_add(1);
                    let mut seen = 0u64;
                    for e in log.entries_between(1, head).rev() {
                        let e = e?;
                        if kind.is_none() || e.kind() == kind {
                            if seen == n {
                                return Ok((start, true));
                            }
                            seen += 1;
                            start = e.seq();
                        }
                    }
                    Ok((start, false))
                })
                .await?;
                let earlier = more.then_some(Truncated {
                    limit: n,
                    matching: None,
                });
                (start, None, earlier)
            }
        };
        let fetch = |cursor: Option<u64>, max: usize| {
            let log = self.shared.log.clone();
            let from = cursor.map_or(start, |seq| seq + 1);
            async move {
                let items = blocking(move || {
                    let mut out = Vec::new();
                    for e in log.entries_between(from, head) {
                        let e = e?;
                        if kind.is_none() || e.kind() == kind {
                            out.push(event_record(&e));
                            if out.len() == max {
                                break;
                            }
                        }
                    }
                    Ok(out)
                })
                .await?;
                Ok(Page {
                    last: items.last().map(|e: &EventRecord| e.seq),
                    items,
                    matching: None,
                })
            }
        };
        let mut end = self
            .stream_pages(limit, fetch, Answer::events_list, |e| {
                format!("event {}", e.seq)
            })
            .await?;
        if earlier.is_some() {
            end.truncated = earlier;
        }
        self.end_listing(end).await
    }

    pub(super) async fn follow(&mut self, kind: Option<EventKind>, from: u64) -> Served {
        let mut next = from.max(self.shared.log.first_seq());
        let mut head = self.shared.head.clone();
        let mut shutdown = self.shared.shutdown.clone();
        let mut probe = [0u8; 1];
        loop {
            loop {
                let log = self.shared.log.clone();
                let start = next;
                let (records, after) = blocking(move || {
                    let mut out = Vec::new();
                    let mut after = start;
                    for e in log.entries(start).take(PAGE) {
                        let e = e?;
                        after = e.seq() + 1;
                        if kind.is_none() || e.kind() == kind {
                            out.push(event_record(&e));
                        }
                    }
                    Ok((out, after))
                })
                .await?;
                if after == next {
                    break;
                }
                next = after;
                self.send_items(records, Answer::events_list, |e| format!("event {}", e.seq))
                    .await?;
            }
            tokio::select! {
                changed = head.changed() => if changed.is_err() { break },
                _ = shutdown.changed() => break,
                // The client sends nothing while following: any read result means it is gone.
                _ = self.rd.read(&mut probe) => return Err(Fail::Gone),
            }
        }
        self.send(&Response::End).await
    }

    pub(super) async fn show(&mut self, seq: u64) -> Served {
        let log = self.shared.log.clone();
        let entry = blocking(move || log.get(seq)).await?;
        match entry {
            Some(e) => self.send(&Answer::show(Box::new(event_record(&e)))).await,
            None => Err(ErrorBody::new(
                ErrorCode::NotFound,
                format!(
                    "no event {seq}: the log holds {}..={}",
                    self.shared.log.first_seq(),
                    self.shared.log.head().seq
                ),
            )
            .into()),
        }
    }
}

fn check_emit(message: &str, labels: &BTreeMap<String, String>) -> Result<(), ErrorBody> {
    let bad = |m: String| Err(ErrorBody::new(ErrorCode::BadRequest, m));
    if message.trim().is_empty() {
        return bad("--message must not be empty".into());
    }
    if message.len() > MAX_MESSAGE {
        return bad(format!(
            "--message is {} bytes; the limit is {MAX_MESSAGE}",
            message.len()
        ));
    }
    if labels.len() > MAX_LABELS {
        return bad(format!(
            "{} labels; the limit is {MAX_LABELS}",
            labels.len()
        ));
    }
    for (k, v) in labels {
        let valid = !k.is_empty()
            && k.len() <= 128
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !valid {
            return bad(format!(
                "label name `{k}` must be 1-128 characters of letters, digits, `_`, `.`, `-`"
            ));
        }
        if v.len() > MAX_LABEL_VALUE {
            return bad(format!(
                "label `{k}` is {} bytes; the limit is {MAX_LABEL_VALUE}",
                v.len()
            ));
        }
    }
    Ok(())
}
