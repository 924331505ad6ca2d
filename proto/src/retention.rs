//! Retention as the client sees it: what is kept, what a run would remove,
//! what a run or an erasure did.

use serde::{Deserialize, Serialize};

/// One kind of event in the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindRetention {
    /// The kind's name.
    pub kind: String,
    /// Entries retained.
    pub count: u64,
    /// Bytes of their stored values.
    pub bytes: u64,
    /// The oldest one's time (UTC micros).
    pub oldest: Option<i64>,
    /// The rule covering the kind (a source rule may cover some of its events first).
    pub rule: Option<String>,
    /// Entries a run now would remove whole.
    pub truncate: u64,
    /// Bodies a run now would drop.
    pub prune: u64,
    /// Due bodies kept because live state comes from them.
    pub held: u64,
}

/// To `retention status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionStatus {
    /// The rules in force, most specific first (empty: nothing is ever removed).
    pub rules: Vec<String>,
    /// The floor no rule may go below.
    pub floor: Option<String>,
    /// Seconds between runs.
    pub schedule_secs: u64,
    /// When the next scheduled run is due (UTC micros), once known.
    pub next_run: Option<i64>,
    /// Oldest retained seq.
    pub first_seq: u64,
    /// The head.
    pub head: u64,
    /// Bytes the store occupies.
    pub disk_bytes: u64,
    /// By kind.
    pub kinds: Vec<KindRetention>,
    /// What a run now would do.
    pub next: RetentionCounts,
}

/// What a run removes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionCounts {
    /// The new retention cut, if the prefix is truncated.
    pub truncate_to: Option<u64>,
    /// Entries removed whole.
    pub truncated: u64,
    /// Bodies dropped.
    pub pruned: u64,
    /// Due bodies held for live state.
    pub held: u64,
}

/// To `retention run`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRan {
    /// Nothing was changed (`--dry-run`).
    pub dry_run: bool,
    /// What it removed (or would).
    pub counts: RetentionCounts,
    /// Per rule: `(rule, truncated, pruned)`.
    pub rules: Vec<(String, u64, u64)>,
    /// Seq of the record of the run (none when dry).
    pub recorded: Option<u64>,
    /// Bytes before.
    pub bytes_before: u64,
    /// Bytes after (space reclaimed).
    pub bytes_after: u64,
}

/// To `erase`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    /// Bodies dropped.
    pub erased: u64,
    /// Of them, how many a view's live state came from (an open incident,
    /// a pending delivery): the view now shows what remains.
    pub live: u64,
    /// Seq of the erasure record (none when nothing matched).
    pub recorded: Option<u64>,
}
