//! Applying a plan: drop bodies, truncate behind a checkpoint, reclaim the
//! space, record the run, and rebuild the views from what is left.

use super::plan::{Needed, Plan, plan};
use super::policy::Policy;
use crate::state::Shared;
use crate::state::replay;
use vigil_store::{
    Actor, Event, Log, RetentionApplied, RetentionTrigger, RuleOutcome, SeqRange, StoreError,
    now_micros,
};

/// A run that did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Another run holds the store.
    #[error("a retention run is already under way; try again when it has finished")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a run did (or, dry, would do).
#[derive(Debug)]
pub struct Outcome {
    /// The plan.
    pub plan: Plan,
    /// The record appended, unless dry or there was nothing to do.
    pub recorded: Option<(u64, RetentionApplied)>,
}

/// The plan of a run now, without running it.
pub fn preview(shared: &Shared, policy: &Policy) -> Result<Plan, StoreError> {
    let now = now_micros();
    let needed = shared.with_views(|v| Needed::of(v, policy, now))?;
    plan(&shared.log, policy, &needed, now)
}

/// Runs retention once. Blocking. A scheduled run with nothing to remove
/// records nothing; a requested one always records its outcome.
pub fn run(
    shared: &Shared,
    policy: &Policy,
    trigger: RetentionTrigger,
    actor: Actor,
    dry_run: bool,
) -> Result<Outcome, RunError> {
    run_at(shared, policy, trigger, actor, dry_run, now_micros())
}

/// [`run`], judging entries' ages as of `started_at` (tests look ahead).
pub(super) fn run_at(
    shared: &Shared,
    policy: &Policy,
    trigger: RetentionTrigger,
    actor: Actor,
    dry_run: bool,
    started_at: i64,
) -> Result<Outcome, RunError> {
    // One run at a time: a scheduled run and a requested one never overlap.
    let _running = match shared.retention.try_lock() {
        Ok(guard) => guard,
        // A run that panicked left nothing half-done the next cannot redo.
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return Err(RunError::Busy),
    };
    let needed = shared.with_views(|v| Needed::of(v, policy, started_at))?;
    let mut plan = plan(&shared.log, policy, &needed, started_at)?;
    if dry_run || (plan.is_empty() && trigger == RetentionTrigger::Schedule) {
        return Ok(Outcome {
            plan,
            recorded: None,
        });
    }
    let log = &shared.log;
    let bytes_before = log.disk_usage();
    if !plan.is_empty() {
        // Snapshots made meanwhile would hold what is about to go.
        let _paused = shared.pause_snapshots();
        // The views moved on while the log was scanned.
        let now_needed = shared.with_views(|v| Needed::of(v, policy, started_at))?;
        if now_needed != needed {
            plan.hold_also(&now_needed, |seq| {
                log.get(seq).ok().flatten().map(|e| e.seal().kind)
            });
        }
        apply(log, policy, &plan, started_at)?;
        // The live views may hold what the dropped bodies said: replace
        // them with views rebuilt from the log as it now is.
        let rebuilt = replay::rebuild(log, log.head().seq)?;
        shared.replace_views(rebuilt)?;
        shared.with_views(|v| replay::snapshot(v, log))??;
    }
    let record = RetentionApplied {
        actor,
        trigger,
        started_at,
        rules: policy
            .rules()
            .iter()
            .enumerate()
            .map(|(i, rule)| RuleOutcome {
                rule: rule.name(),
                truncated: plan.truncated[i],
                pruned: SeqRange::collapse(&plan.pruned[i]),
            })
            .filter(|o| o.truncated > 0 || !o.pruned.is_empty())
            .collect(),
        truncated_to: plan.cut,
        held: plan.held,
        bytes_before,
        bytes_after: log.disk_usage(),
    };
    let head = log.append(&Event::RetentionApplied(record.clone()))?;
    Ok(Outcome {
        plan,
        recorded: Some((head.seq, record)),
    })
}

/// Drops the planned bodies, truncates, reclaims. Each prune record names
/// the run (by its start, as its `retention_applied` record does) and the rule.
fn apply(log: &Log, policy: &Policy, plan: &Plan, started_at: i64) -> Result<(), StoreError> {
    let run = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH
            + std::time::Duration::from_micros(u64::try_from(started_at).unwrap_or(0)),
    );
    // Snapshots were made from bodies about to go: a start after a crash
    // in the middle of this must replay from the log, not from them.
    log.clear_snapshots()?;
    for (rule, seqs) in policy.rules().iter().zip(&plan.pruned) {
        if !seqs.is_empty() {
            log.prune(
                seqs.clone(),
                &format!("retention run of {run}: {}", rule.name()),
            )?;
        }
    }
    if let Some(cut) = plan.cut {
        let states = replay::rebuild(log, cut)?.states();
        log.truncate(cut, states)?;
    }
    log.reclaim()
}
