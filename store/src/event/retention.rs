//! Retention's own records: what a run removed, and who erased what.
//!
//! The bodies a run or an erasure drops are named, in the same atomic
//! batch, by [`BodiesPruned`](super::BodiesPruned) entries; these say why,
//! by which rule, and what it cost and gave back.

use super::{Actor, SeqRange};
use serde::{Deserialize, Serialize};

/// What set a retention run off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionTrigger {
    /// The schedule.
    Schedule,
    /// An operator (`vigilctl retention run`).
    Request,
}

/// What one rule of a run removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleOutcome {
    /// The rule, as `vigilctl retention status` names it (`collect 30d
    /// prune`, `source nginx 14d truncate`, `default 400d truncate`).
    pub rule: String,
    /// Entries it removed whole (behind the new checkpoint).
    pub truncated: u64,
    /// Entries whose bodies it dropped.
    pub pruned: Vec<SeqRange>,
}

/// `Retention`: a retention run finished.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionApplied {
    /// Who ran it (the daemon on schedule, or an operator).
    pub actor: Actor,
    /// Why it ran.
    pub trigger: RetentionTrigger,
    /// When it began (UTC micros); entries older than each rule's period
    /// as of then were due.
    pub started_at: i64,
    /// Per rule, what it removed.
    pub rules: Vec<RuleOutcome>,
    /// The new retention cut, if the prefix was truncated.
    pub truncated_to: Option<u64>,
    /// Bodies due that were kept because a view's live state still comes
    /// from them (an open incident, an active key, a file's baseline).
    pub held: u64,
    /// Bytes the store used before the run.
    pub bytes_before: u64,
    /// Bytes after it (and after space was reclaimed).
    pub bytes_after: u64,
}

/// `Retention`: an operator erased the bodies of matching events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// Who.
    pub actor: Actor,
    /// Why (their words).
    pub reason: String,
    /// What was matched, as written (`label user=alice`, `kind ingest`, a time range).
    pub selector: String,
    /// The entries whose bodies go.
    pub ranges: Vec<SeqRange>,
}
