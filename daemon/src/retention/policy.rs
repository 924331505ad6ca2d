//! Which rule covers an entry, and whether it is due.

use crate::config::{RetentionMode, Rule, Scope};
use vigil_store::{Entry, Event, EventKind};

/// The configured rules, most specific first.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Vec<Rule>,
    truncate_at_least: u64,
    after_resolve: Option<i64>,
    /// Whether a rule names a source (then bodies must be read to match).
    by_source: bool,
    /// Nothing past the broker's recorded acknowledgement is truncated.
    wait_for_forward: bool,
}

/// Kinds no rule covers: the chain's own entries and retention's records
/// go when everything around them goes, and are never pruned.
pub fn follows(kind: u16) -> bool {
    EventKind::accounts(kind)
}

/// Kinds whose events can name a source.
fn sourced(kind: u16) -> bool {
    [EventKind::Ingest, EventKind::Collect, EventKind::Custom]
        .iter()
        .any(|k| k.code() == kind)
}

impl Policy {
    /// The policy of `rules` (as [`RetentionConfig::rules`](crate::config::RetentionConfig::rules) orders them).
    pub fn new(rules: Vec<Rule>, truncate_at_least: u64) -> Policy {
        let by_source = rules.iter().any(|r| matches!(r.scope, Scope::Source(_)));
        Policy {
            rules,
            truncate_at_least,
            after_resolve: None,
            by_source,
            wait_for_forward: false,
        }
    }

    /// Truncates nothing the fleet's broker has not acknowledged (as the
    /// forward view last recorded it).
    pub fn with_wait_for_forward(mut self, wait: bool) -> Policy {
        self.wait_for_forward = wait;
        self
    }

    /// Whether truncation waits for forwarding.
    pub fn waits_for_forward(&self) -> bool {
        self.wait_for_forward
    }

    /// Keeps a resolved incident's alerts this long after it resolved.
    pub fn with_after_resolve(mut self, period: Option<crate::config::Period>) -> Policy {
        self.after_resolve = period.map(|p| p.micros());
        self
    }

    /// Micros a resolved incident's alerts are kept after it resolved.
    pub fn after_resolve(&self) -> Option<i64> {
        self.after_resolve
    }

    /// The shortest prefix worth truncating.
    pub fn truncate_at_least(&self) -> u64 {
        self.truncate_at_least
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether no rule removes anything.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The index of the rule covering `entry`, if any.
    pub fn rule_for(&self, entry: &Entry) -> Option<usize> {
        let kind = entry.seal().kind;
        if follows(kind) {
            return None;
        }
        if self.by_source && sourced(kind) {
            let event = entry.event().ok().flatten();
            if let Some(source) = event.as_ref().and_then(Event::source) {
                let found = self
                    .rules
                    .iter()
                    .position(|r| matches!(&r.scope, Scope::Source(s) if s == source));
                if found.is_some() {
                    return found;
                }
            }
        }
        self.rules
            .iter()
            .position(|r| matches!(r.scope, Scope::Kind(k) if k.code() == kind))
            .or_else(|| self.rules.iter().position(|r| r.scope == Scope::Default))
    }

    /// The rule that covers a kind's events when no source rule does.
    pub fn kind_rule(&self, kind: EventKind) -> Option<&Rule> {
        if follows(kind.code()) {
            return None;
        }
        self.rules
            .iter()
            .find(|r| r.scope == Scope::Kind(kind))
            .or_else(|| self.rules.iter().find(|r| r.scope == Scope::Default))
    }

    /// Whether an entry of `time` under rule `index` is past its period at `now`.
    pub fn due(&self, index: usize, time: i64, now: i64) -> bool {
        time < now.saturating_sub(self.rules[index].keep.micros())
    }

    /// Whether rule `index` removes entries whole.
    pub fn truncates(&self, index: usize) -> bool {
        self.rules[index].mode == RetentionMode::Truncate
    }
}
