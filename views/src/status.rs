//! The status view: how many events of each kind, and the last config load.

use crate::View;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigil_store::{Event, EventKind, Seal};

/// Counts by kind and the latest configuration load.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    /// Entries by kind code.
    pub counts: BTreeMap<u16, u64>,
    /// Entries in all.
    pub entries: u64,
    /// Seq of the last configuration that was applied.
    pub config_seq: Option<u64>,
    /// Seq of the last configuration that was refused.
    pub config_refused_seq: Option<u64>,
    /// The last time the store was found shorter than its recorded head
    /// and opened anyway (`--accept-truncation`).
    pub tail_lost: Option<TailLostNote>,
}

/// Where a tail was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TailLostNote {
    /// Seq of the `TailLost` entry.
    pub seq: u64,
    /// The head the store had recorded.
    pub recorded_seq: u64,
    /// The head it was found at.
    pub found_seq: u64,
}

impl View for StatusView {
    const NAME: &'static str = "status";
    const VERSION: u32 = 2;

    fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        *self.counts.entry(seal.kind).or_default() += 1;
        self.entries += 1;
        match event {
            Some(Event::ConfigLoaded(c)) if c.applied => self.config_seq = Some(seal.seq),
            Some(Event::ConfigLoaded(_)) => self.config_refused_seq = Some(seal.seq),
            Some(Event::TailLost(t)) => {
                self.tail_lost = Some(TailLostNote {
                    seq: seal.seq,
                    recorded_seq: t.recorded_seq,
                    found_seq: t.found_seq,
                });
            }
            _ => {}
        }
    }
}

impl StatusView {
    /// Counts by kind name.
    pub fn counts_by_name(&self) -> BTreeMap<String, u64> {
        self.counts
            .iter()
            .map(|(code, n)| {
                let name = EventKind::from_code(*code)
                    .map_or_else(|| format!("kind-{code}"), |k| k.name().to_string());
                (name, *n)
            })
            .collect()
    }
}
