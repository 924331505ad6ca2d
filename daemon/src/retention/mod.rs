//! Retention: the configured periods enforced on the log, each run
//! accounted for by a sealed record (`docs/operations.md`, "Retention").
//!
//! [`policy`] says which rule covers an entry, [`plan`] what a run would
//! remove (one scan, also what `vigilctl retention status` shows), [`run`]
//! applies it through the store's accounted prune and truncation, and
//! [`schedule`] runs it on the configured schedule.

pub mod erase;
pub mod plan;
pub mod policy;
pub mod run;

#[cfg(test)]
mod tests;

use crate::state::Shared;
use policy::Policy;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use vigil_store::{Actor, RetentionTrigger, now_micros};

/// When the scheduled run is next due (UTC micros; 0: not known yet).
static NEXT_RUN: AtomicI64 = AtomicI64::new(0);

/// When the scheduled run is next due, once the schedule has started.
pub fn next_run() -> Option<i64> {
    Some(NEXT_RUN.load(Ordering::Relaxed)).filter(|&t| t > 0)
}

/// The policy of the configuration in force.
pub fn policy(shared: &Shared) -> Policy {
    let config = shared.config();
    Policy::new(config.retention.rules(), config.retention.truncate_at_least)
        .with_after_resolve(
            config
                .retention
                .after_resolve
                .as_ref()
                .map(|p| *p.get_ref()),
        )
        .with_wait_for_forward(config.forward.is_some() && config.retention.wait_for_forward)
}

/// Runs retention on the configured schedule (re-read after each run).
pub async fn schedule(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    // An erasure stopped before its purge: finish it, so what was erased
    // leaves the disk.
    let s = shared.clone();
    let purged = tokio::task::spawn_blocking(move || match s.log.purge_requested() {
        Ok(true) => s.log.purge().map(|()| true),
        Ok(false) => Ok(false),
        Err(e) => Err(e),
    })
    .await;
    match purged {
        Ok(Ok(true)) => tracing::info!("finished the purge of an interrupted erasure"),
        Ok(Ok(false)) => {}
        Ok(Err(e)) => tracing::error!("cannot finish an interrupted erasure's purge: {e}"),
        Err(e) => tracing::error!("purge task failed: {e}"),
    }
    loop {
        let every = shared.config().retention.schedule.0;
        let due = now_micros().saturating_add(i64::try_from(every.as_micros()).unwrap_or(i64::MAX));
        NEXT_RUN.store(due, Ordering::Relaxed);
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        let policy = policy(&shared);
        if policy.is_empty() {
            continue;
        }
        let s = shared.clone();
        let done = tokio::task::spawn_blocking(move || {
            run::run(
                &s,
                &policy,
                RetentionTrigger::Schedule,
                Actor::Daemon,
                false,
            )
        })
        .await;
        match done {
            Ok(Ok(outcome)) => {
                if let Some((seq, r)) = outcome.recorded {
                    tracing::info!(
                        seq,
                        pruned = outcome.plan.prune_count(),
                        truncated = outcome.plan.truncate_count(),
                        held = r.held,
                        bytes_before = r.bytes_before,
                        bytes_after = r.bytes_after,
                        "retention run"
                    );
                }
            }
            Ok(Err(e)) => tracing::error!("retention run failed: {e}"),
            Err(e) => tracing::error!("retention task failed: {e}"),
        }
    }
}
