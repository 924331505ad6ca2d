//! Erasure: an operator drops the bodies of the events that match a
//! selector (a person's data, a secret redaction missed). The erasure is
//! recorded first, with who and why, and names what it drops; the values
//! it matched on are not recorded, so the record does not keep what it
//! erased.

use super::policy::follows;
use super::run::RunError;
use crate::state::Shared;
use crate::state::replay;
use vigil_store::{Actor, Alert, Erasure, Event, EventKind, Labels, SeqRange, StoreError};

/// What an erasure matches: every label pair, in one label set of the
/// event (an alert's labels or annotations, a custom event's labels).
#[derive(Clone, Debug)]
pub struct Selector {
    /// `(label, value)` pairs.
    pub labels: Vec<(String, String)>,
    /// Only this kind.
    pub kind: Option<EventKind>,
    /// Only events at or after this time.
    pub since: Option<i64>,
    /// Only events at or before this time.
    pub until: Option<i64>,
}

impl Selector {
    /// Refuses a selector that matches too much or what may not go.
    pub fn check(&self) -> Result<(), String> {
        if self.labels.is_empty() {
            return Err("name what to erase with --match LABEL=VALUE (repeatable)".into());
        }
        if let Some(kind) = self.kind
            && follows(kind.code())
        {
            return Err(format!(
                "{kind} entries cannot be erased: the chain's own entries and retention's records (erasures included) keep their bodies"
            ));
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since > until
        {
            return Err("--since is after --until".into());
        }
        Ok(())
    }

    /// As recorded: the label names, never the values (a digest of an
    /// email address or a name would let anyone confirm a guess).
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .labels
            .iter()
            .map(|(k, _)| format!("label {k}=(value not recorded)"))
            .collect();
        if let Some(kind) = self.kind {
            parts.push(format!("kind {kind}"));
        }
        if let Some(since) = self.since {
            parts.push(format!("since {since}"));
        }
        if let Some(until) = self.until {
            parts.push(format!("until {until}"));
        }
        parts.join(", ")
    }

    fn matches(&self, time: i64, event: &Event) -> bool {
        if self.kind.is_some_and(|k| k != event.kind())
            || self.since.is_some_and(|t| time < t)
            || self.until.is_some_and(|t| time > t)
        {
            return false;
        }
        label_sets(event).iter().any(|set| {
            self.labels
                .iter()
                .all(|(k, v)| set.get(k).is_some_and(|found| found == v))
        })
    }
}

/// The label sets an event carries.
fn label_sets(event: &Event) -> Vec<&Labels> {
    fn alert(a: &Alert) -> [&Labels; 2] {
        [&a.labels, &a.annotations]
    }
    match event {
        Event::Custom(c) => vec![&c.labels],
        Event::AlertsIngested(a) => a.alerts.iter().flat_map(alert).collect(),
        // A notification copies the alerts it is about.
        Event::NotificationIntended(n) => std::iter::once(&n.group_labels)
            .chain(n.alerts.iter().flat_map(alert))
            .collect(),
        Event::LogMatched(l) => l.alert.iter().flat_map(alert).collect(),
        Event::Logs(l) => l.alerts().flat_map(alert).collect(),
        Event::FileIntegrity(vigil_store::FileIntegrity::Records { files, .. }) => files
            .iter()
            .filter_map(|f| f.alert.as_ref())
            .flat_map(alert)
            .collect(),
        _ => Vec::new(),
    }
}

/// The entries an erasure would drop the bodies of.
#[derive(Debug, Default)]
pub struct Found {
    /// Their seqs, ascending.
    pub seqs: Vec<u64>,
    /// How many of them a view's live state came from.
    pub live: u64,
}

/// Finds the retained entries with a body that match.
pub fn matching(shared: &Shared, selector: &Selector) -> Result<Found, StoreError> {
    let pins = shared.with_views(|v| v.pins())?;
    let log = &shared.log;
    let mut found = Found::default();
    for entry in log.entries(log.first_seq()) {
        let entry = entry?;
        let seal = entry.seal();
        if follows(seal.kind) {
            continue;
        }
        let Some(event) = entry.event().ok().flatten() else {
            continue;
        };
        if selector.matches(seal.time, &event) {
            found.seqs.push(seal.seq);
            found.live += u64::from(pins.binary_search(&seal.seq).is_ok());
        }
    }
    Ok(found)
}

/// The record of an erasure of `seqs`.
pub fn record(actor: Actor, reason: String, selector: &Selector, seqs: &[u64]) -> Event {
    Event::Erasure(Erasure {
        actor,
        reason,
        selector: selector.describe(),
        ranges: SeqRange::collapse(seqs),
    })
}

/// Drops the bodies (accounted to the erasure recorded at `record_seq`),
/// rebuilds the views without them, and purges the store (tables and
/// journal), so what was erased leaves the store's files.
pub fn apply(shared: &Shared, seqs: Vec<u64>, record_seq: u64) -> Result<(), RunError> {
    let _running = shared.retention.lock().unwrap_or_else(|p| p.into_inner());
    let _paused = shared.pause_snapshots();
    let log = &shared.log;
    // If vigild stops before the purge, the next start finishes it.
    log.request_purge()?;
    log.clear_snapshots()?;
    log.prune(seqs, &format!("erasure recorded at seq {record_seq}"))?;
    let rebuilt = replay::rebuild(log, log.head().seq)?;
    shared.replace_views(rebuilt)?;
    shared.with_views(|v| replay::snapshot(v, log))??;
    log.purge()?;
    Ok(())
}
