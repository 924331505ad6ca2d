//! Taking the daemon down: every task it spawned, stopped in order, then
//! the store closed after it has persisted everything.

use super::start::lifecycle;
use super::tasks;
use crate::state::Shared;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use vigil_store::Phase;

/// How long every task together may take to finish once told to stop:
/// longer than an ingestion body may take to arrive (`http.body_timeout`,
/// 30 s by default), and short of the unit's `TimeoutStopSec` (60 s), which
/// also has to cover closing the store.
const STOP_DEADLINE: Duration = Duration::from_secs(45);
/// A stage reached after the deadline still gets this long.
const STAGE_GRACE: Duration = Duration::from_secs(5);

/// Which tasks are awaited first at stop. Every task is told to stop at
/// once (they all watch the same shutdown signal); the stages order the
/// waiting, so the store is closed only after all of them have finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Ways in (control socket, ingestion, spool): they stop accepting and
    /// let what is in flight finish.
    Doors,
    /// The notifier: it saves its groups on the way out (what arrives after
    /// its save is read again at the next start, from the saved cursor).
    Notifier,
    /// Background upkeep (epochs, snapshots, flushes, the watchdog, reload).
    Upkeep,
}

/// Every long-lived task the daemon spawned (short-lived work, such as one
/// notification attempt, is its owner's). Each watches the shutdown
/// signal; at stop they are awaited stage by stage, and one still running
/// at the deadline is aborted and named in the log.
#[derive(Default)]
pub struct Tasks {
    stages: [JoinSet<()>; 3],
    names: HashMap<tokio::task::Id, &'static str>,
}

impl Tasks {
    /// Spawns `task`, known in the log as `name`, awaited at `stage`.
    pub fn spawn(
        &mut self,
        stage: Stage,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let handle = self.stages[stage as usize].spawn(task);
        self.names.insert(handle.id(), name);
    }

    /// Awaits every task, stage by stage (the shutdown signal must have
    /// been sent); returns the names of those aborted at the deadline.
    pub async fn stop(mut self) -> Vec<&'static str> {
        let mut aborted = Vec::new();
        let deadline = tokio::time::Instant::now() + STOP_DEADLINE;
        for set in &mut self.stages {
            let until = deadline.max(tokio::time::Instant::now() + STAGE_GRACE);
            let names = &mut self.names;
            let finished = tokio::time::timeout_at(until, async {
                while let Some(done) = set.join_next_with_id().await {
                    match done {
                        Ok((id, ())) => {
                            names.remove(&id);
                        }
                        Err(e) => {
                            let name = names.remove(&e.id()).unwrap_or("a task");
                            if e.is_panic() {
                                tracing::error!("{name} panicked: {e}");
                            }
                        }
                    }
                }
            })
            .await;
            if finished.is_err() {
                let mut late: Vec<&'static str> = Vec::new();
                set.abort_all();
                while let Some(done) = set.join_next_with_id().await {
                    let id = match &done {
                        Ok((id, ())) => *id,
                        Err(e) => e.id(),
                    };
                    late.extend(self.names.remove(&id));
                }
                tracing::warn!(
                    "did not stop within {}s, aborted: {}",
                    STOP_DEADLINE.as_secs(),
                    late.join(", ")
                );
                aborted.extend(late);
            }
        }
        aborted
    }
}

/// Records the stop, snapshots the views, closes the log.
pub async fn close_store(shared: &Arc<Shared>) {
    tasks::flush_rejections(shared).await;
    if let Err(e) = shared.auditor.flush(true).await {
        tracing::error!("cannot record counted denials: {e}");
    }
    if let Err(e) = shared
        .log
        .append_async(&lifecycle(Phase::Stopping, "signal".into()))
        .await
    {
        tracing::error!("cannot record the stop: {e}");
    }
    let s = shared.clone();
    match tokio::task::spawn_blocking(move || s.with_views(|v| s.snapshot(v))).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e)) | Err(e)) => tracing::warn!("final view snapshot failed: {e}"),
        Err(e) => tracing::warn!("final view snapshot failed: {e}"),
    }
    let head = shared.log.head();
    tasks::anchor(&head, "stop");
    let log = shared.log.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || log.sync()).await {
        tracing::error!("final sync failed: {e}");
    }
    tracing::info!(seq = head.seq, "stopped cleanly");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_task_that_does_not_stop_is_aborted_at_the_deadline_and_named() {
        let mut tasks = Tasks::default();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        tasks.spawn(Stage::Doors, "stuck door", std::future::pending());
        tasks.spawn(Stage::Upkeep, "upkeep", async move {
            let _ = done_tx.send(());
        });
        let started = tokio::time::Instant::now();
        let aborted = tasks.stop().await;
        assert_eq!(aborted, ["stuck door"]);
        assert_eq!(
            started.elapsed(),
            STOP_DEADLINE,
            "the stuck stage waited to the deadline"
        );
        assert!(
            done_rx.await.is_ok(),
            "the later stage still ran and was awaited"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn tasks_that_stop_are_awaited_without_waiting_for_the_deadline() {
        let mut tasks = Tasks::default();
        for stage in [Stage::Doors, Stage::Notifier, Stage::Upkeep] {
            tasks.spawn(stage, "quick", async {
                tokio::time::sleep(Duration::from_millis(10)).await;
            });
        }
        let started = tokio::time::Instant::now();
        assert!(tasks.stop().await.is_empty());
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
