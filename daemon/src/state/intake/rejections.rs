//! Counting ingestion rejections (bad key, bad signature, rate limited)
//! per source and reason, written to the log once per interval as one
//! `AuthRejections` event each: a flood costs a few events, not one per
//! request. The first rejection of each kind in an interval is also logged.

use std::collections::HashMap;
use std::sync::Mutex;
use vigil_store::{Actor, AuthRejections, Event};

/// How often the counts are written.
pub const INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);
/// Distinct (source, reason) pairs tracked per interval.
const MAX_KINDS: usize = 256;

struct Count {
    actor: Actor,
    count: u64,
    first: i64,
    last: i64,
}

/// Rejections counted since the last flush.
#[derive(Default)]
pub struct Rejections {
    counts: Mutex<HashMap<(String, String), Count>>,
}

impl Rejections {
    /// Counts one rejection; `time` in UTC micros.
    pub fn note(&self, channel: &str, reason: &str, actor: Actor, time: i64) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let mut key = (channel.to_string(), reason.to_string());
        if !counts.contains_key(&key) && counts.len() >= MAX_KINDS {
            key = ("ingest:*".into(), "other".into());
        }
        match counts.get_mut(&key) {
            Some(c) => {
                c.count += 1;
                c.last = time;
                c.actor = actor;
            }
            None => {
                tracing::warn!(
                    channel,
                    reason,
                    "ingestion request rejected (repeats are counted)"
                );
                counts.insert(
                    key,
                    Count {
                        actor,
                        count: 1,
                        first: time,
                        last: time,
                    },
                );
            }
        }
    }

    /// Takes the counts as events.
    pub fn drain(&self) -> Vec<Event> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let mut events: Vec<Event> = counts
            .drain()
            .map(|((channel, reason), c)| {
                Event::AuthRejections(AuthRejections {
                    channel,
                    reason,
                    actor: Some(c.actor),
                    count: c.count,
                    first: c.first,
                    last: c.last,
                })
            })
            .collect();
        events.sort_by_key(|e| match e {
            Event::AuthRejections(r) => r.first,
            _ => 0,
        });
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_becomes_one_counted_event_per_source_and_reason() {
        let r = Rejections::default();
        let who = Actor::Remote {
            addr: "127.0.0.1".into(),
        };
        for t in 0..1000 {
            r.note("ingest:github", "bad_signature", who.clone(), t);
        }
        r.note("ingest:github", "bad_key", who.clone(), 5);
        let events = r.drain();
        assert_eq!(events.len(), 2);
        let Event::AuthRejections(flood) = &events[0] else {
            panic!("not a rejection event");
        };
        assert_eq!((flood.count, flood.first, flood.last), (1000, 0, 999));
        assert!(r.drain().is_empty());
    }
}
