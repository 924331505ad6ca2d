//! Silences: an operator mutes notifications for alerts matching every
//! matcher, from `starts_at` (inclusive) to `ends_at` (exclusive). Muted
//! alerts are still recorded; only their notifications are held back.
//!
//! As in Alertmanager, a silence needs at least one matcher, and at least
//! one matcher must not match the empty string: otherwise the silence
//! would mute alerts that lack the label, typically every alert.

use jiff::Timestamp;
use thiserror::Error;
use vigil_store::Labels;

use super::matcher::Matchers;

/// Why a silence is refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SilenceError {
    /// No matcher at all.
    #[error("a silence needs at least one matcher")]
    NoMatchers,
    /// Every matcher matches the empty label set.
    #[error(
        "these matchers match every alert (even one without labels); name a label value, so a silence cannot mute everything by accident"
    )]
    MatchesEverything,
    /// Ends before it starts.
    #[error("a silence cannot end before it starts")]
    EndsBeforeStart,
}

/// A validated silence.
#[derive(Clone, Debug, PartialEq)]
pub struct Silence {
    id: String,
    matchers: Matchers,
    starts_at: Timestamp,
    ends_at: Timestamp,
    comment: String,
    created_by: String,
}

impl Silence {
    /// Validates a silence. `ends_at == starts_at` is allowed, as in
    /// Alertmanager (a silence expired before it began); it is never active.
    pub fn new(
        id: impl Into<String>,
        matchers: Matchers,
        starts_at: Timestamp,
        ends_at: Timestamp,
        comment: impl Into<String>,
        created_by: impl Into<String>,
    ) -> Result<Self, SilenceError> {
        if matchers.is_empty() {
            return Err(SilenceError::NoMatchers);
        }
        if matchers.matches_everything() {
            return Err(SilenceError::MatchesEverything);
        }
        if ends_at < starts_at {
            return Err(SilenceError::EndsBeforeStart);
        }
        Ok(Self {
            id: id.into(),
            matchers,
            starts_at,
            ends_at,
            comment: comment.into(),
            created_by: created_by.into(),
        })
    }

    /// Whether it is in force at `now`: `starts_at <= now < ends_at`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    /// Whether its matchers all match `labels` (whatever the time).
    pub fn mutes(&self, labels: &Labels) -> bool {
        self.matchers.matches(labels)
    }

    /// Whether it mutes `labels` at `now`.
    pub fn mutes_at(&self, labels: &Labels, now: Timestamp) -> bool {
        self.is_active(now) && self.mutes(labels)
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its matchers.
    pub fn matchers(&self) -> &Matchers {
        &self.matchers
    }

    /// When it starts.
    pub fn starts_at(&self) -> Timestamp {
        self.starts_at
    }

    /// When it ends.
    pub fn ends_at(&self) -> Timestamp {
        self.ends_at
    }

    /// Why it was made.
    pub fn comment(&self) -> &str {
        &self.comment
    }

    /// Who made it.
    pub fn created_by(&self) -> &str {
        &self.created_by
    }
}
