//! The status view: how many events of each kind, and the last config load.

use super::View;
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
}

impl View for StatusView {
    const NAME: &'static str = "status";
    const VERSION: u32 = 1;

    fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        *self.counts.entry(seal.kind).or_default() += 1;
        self.entries += 1;
        if let Some(Event::ConfigLoaded(c)) = event {
            if c.applied {
                self.config_seq = Some(seal.seq);
            } else {
                self.config_refused_seq = Some(seal.seq);
            }
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
