//! What a retention run would remove, decided by one scan of the log.
//!
//! The prefix of entries that may all go whole (due under a `truncate`
//! rule, or the chain's own entries among them) is truncated behind a
//! checkpoint carrying the views' state; when that prefix is shorter than
//! `truncate_at_least`, its due bodies are dropped instead and the
//! truncation waits until it is worth a checkpoint. Past the prefix, every due body is dropped unless
//! a view's live state still comes from it (it is *held*).

use super::policy::{Policy, follows};
use std::collections::BTreeMap;
use vigil_store::{Log, Result};

/// Entries and bytes of one kind, as retained.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KindStats {
    /// Entries.
    pub count: u64,
    /// Bytes of their stored values (headers and bodies).
    pub bytes: u64,
    /// The oldest one's time.
    pub oldest: Option<i64>,
    /// Entries a run now would remove whole.
    pub truncate: u64,
    /// Bodies a run now would drop.
    pub prune: u64,
    /// Due bodies kept because a view's live state comes from them.
    pub held: u64,
}

/// The outcome of the scan.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// The new retention cut, if the prefix is truncated.
    pub cut: Option<u64>,
    /// Entries removed whole, per rule.
    pub truncated: Vec<u64>,
    /// Seqs whose bodies go, per rule, ascending.
    pub pruned: Vec<Vec<u64>>,
    /// Due bodies held for live state.
    pub held: u64,
    /// By kind code.
    pub kinds: BTreeMap<u16, KindStats>,
}

impl Plan {
    /// Whether the run would remove nothing.
    pub fn is_empty(&self) -> bool {
        self.cut.is_none() && self.pruned.iter().all(Vec::is_empty)
    }

    /// Bodies the run would drop.
    pub fn prune_count(&self) -> u64 {
        self.pruned.iter().map(|p| p.len() as u64).sum()
    }

    /// Entries the run would remove whole (the chain's own entries in the
    /// prefix included, which no rule counts).
    pub fn truncate_count(&self) -> u64 {
        self.kinds.values().map(|k| k.truncate).sum()
    }
}

/// What the views need kept, taken from them just before a plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needed {
    /// Seqs whose bodies live state comes from, sorted.
    pub pins: Vec<u64>,
    /// Per kind, the seq from which every body must stay.
    pub holds: BTreeMap<u16, u64>,
    /// The oldest seq the daemon reads from the log while it runs, or
    /// that the fleet's broker has not acknowledged (`wait_for_forward`).
    pub log_floor: Option<u64>,
}

impl Needed {
    /// What `views` need at `now` under `policy` (which may keep a
    /// resolved incident's alerts for a while after it resolved).
    pub fn of(views: &vigil_views::Views, policy: &Policy, now: i64) -> Needed {
        let mut pins = views.pins();
        if let Some(after) = policy.after_resolve() {
            let since = now.saturating_sub(after);
            let resolved_lately = views.incidents.iter().filter(|i| {
                i.state == vigil_views::IncidentState::Resolved
                    && i.resolved_at.get().is_some_and(|t| t >= since)
            });
            for incident in resolved_lately {
                pins.push(incident.id.seq);
                pins.extend(incident.history.iter());
            }
            pins.sort_unstable();
            pins.dedup();
        }
        Needed {
            pins,
            holds: views
                .holds()
                .into_iter()
                .map(|(k, seq)| (k.code(), seq))
                .collect(),
            log_floor: match (views.log_floor(), policy.waits_for_forward()) {
                (floor, false) => floor,
                // Entries after the recorded position are not on the broker yet.
                (floor, true) => {
                    let forwarded = views.forward.acked_seq + 1;
                    Some(floor.map_or(forwarded, |f| f.min(forwarded)))
                }
            },
        }
    }

    /// Whether the body of entry `seq` of kind `kind` must stay.
    pub fn holds(&self, seq: u64, kind: u16) -> bool {
        self.pins.binary_search(&seq).is_ok() || self.holds.get(&kind).is_some_and(|&s| seq >= s)
    }
}

/// Scans the retained log once. `needed` is what the views still need the
/// bodies of; `now` is the time entries are judged against.
pub fn plan(log: &Log, policy: &Policy, needed: &Needed, now: i64) -> Result<Plan> {
    let rules = policy.rules().len();
    let head = log.head().seq;
    let first = log.first_seq();
    let mut plan = Plan {
        truncated: vec![0; rules],
        pruned: vec![Vec::new(); rules],
        ..Plan::default()
    };
    // The removable prefix: its end, and what it holds.
    let mut prefix_open = true;
    let mut prefix = Prefix {
        end: None,
        by_rule: vec![0; rules],
        by_kind: BTreeMap::new(),
        bodies: Vec::new(),
    };
    for entry in log.entries_between(first, head) {
        let entry = entry?;
        let seal = entry.seal();
        let stats = plan.kinds.entry(seal.kind).or_default();
        stats.count += 1;
        stats.bytes += 116 + entry.body().map_or(0, |b| b.len() as u64);
        stats.oldest.get_or_insert(seal.time);
        let due = policy
            .rule_for(&entry)
            .filter(|&r| policy.due(r, seal.time, now));
        // The daemon reads this entry while it runs: the prefix ends here.
        if needed.log_floor.is_some_and(|floor| seal.seq >= floor) {
            prefix_open = false;
        }
        if prefix_open {
            let removable = match due {
                Some(r) => policy.truncates(r),
                None => follows(seal.kind),
            };
            if removable {
                prefix.end = Some(seal.seq);
                *prefix.by_kind.entry(seal.kind).or_default() += 1;
                if let Some(r) = due {
                    prefix.by_rule[r] += 1;
                    if entry.body().is_some() {
                        prefix.bodies.push((r, seal.seq, seal.kind));
                    }
                }
                continue;
            }
            prefix_open = false;
        }
        if let Some(r) = due
            && entry.body().is_some()
        {
            plan.drop_body(r, seal.seq, seal.kind, needed.holds(seal.seq, seal.kind));
        }
    }
    // Only the due entries count: a prefix of the chain's own entries alone
    // is not worth a checkpoint.
    let due: u64 = prefix.by_rule.iter().sum();
    match prefix.end {
        Some(end) if due > 0 && due >= policy.truncate_at_least() => {
            // A checkpoint carries the views' state: pins do not hold here.
            plan.cut = Some(end);
            plan.truncated = prefix.by_rule;
            for (kind, n) in prefix.by_kind {
                plan.kinds.entry(kind).or_default().truncate = n;
            }
        }
        _ => {
            for (r, seq, kind) in prefix.bodies {
                plan.drop_body(r, seq, kind, needed.holds(seq, kind));
            }
            for seqs in &mut plan.pruned {
                seqs.sort_unstable();
            }
        }
    }
    Ok(plan)
}

/// The leading entries that may all go whole.
struct Prefix {
    end: Option<u64>,
    by_rule: Vec<u64>,
    by_kind: BTreeMap<u16, u64>,
    /// Due bodies in it: `(rule, seq, kind)`.
    bodies: Vec<(usize, u64, u16)>,
}

impl Plan {
    /// A due body: dropped, or held when a view still needs it.
    fn drop_body(&mut self, rule: usize, seq: u64, kind: u16, held: bool) {
        let stats = self.kinds.entry(kind).or_default();
        if held {
            self.held += 1;
            stats.held += 1;
        } else {
            self.pruned[rule].push(seq);
            stats.prune += 1;
        }
    }
}

impl Plan {
    /// Holds back the planned drops that views came to need since the plan
    /// was made (an incident reopened meanwhile, say).
    pub fn hold_also(&mut self, needed: &Needed, kinds: impl Fn(u64) -> Option<u16>) {
        for seqs in &mut self.pruned {
            seqs.retain(|&seq| {
                let held = kinds(seq).is_some_and(|kind| needed.holds(seq, kind));
                if held {
                    self.held += 1;
                }
                !held
            });
        }
    }
}
