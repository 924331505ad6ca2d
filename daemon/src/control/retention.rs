//! The retention family: `vigilctl retention status`, `retention run
//! [--dry-run]` and `erase`.

use super::conn::{Conn, Fail, Served, blocking_with, refuse, unavailable};
use crate::retention::plan::Plan;
use crate::retention::run::{self, RunError};
use crate::retention::{erase, policy};
use vigil_proto::{
    Answer, ErrorBody, ErrorCode, KindRetention, RetentionCounts, RetentionRan, RetentionRequest,
    RetentionStatus,
};
use vigil_store::{EventKind, RetentionTrigger};

impl Conn<'_> {
    /// Serves the retention family.
    pub(super) async fn serve_retention(&mut self, request: RetentionRequest) -> Served {
        match request {
            RetentionRequest::Status => self.retention_status().await,
            RetentionRequest::Run { dry_run } => self.retention_run(dry_run).await,
            RetentionRequest::Erase {
                labels,
                kind,
                since,
                until,
                reason,
            } => {
                let selector = erase::Selector {
                    labels,
                    kind,
                    since,
                    until,
                };
                self.erase(selector, reason).await
            }
        }
    }

    async fn retention_status(&mut self) -> Served {
        let shared = self.shared.clone();
        let status = blocking_with(move || {
            let config = shared.config();
            let policy = policy(&shared);
            let plan = run::preview(&shared, &policy)?;
            let kinds = plan
                .kinds
                .iter()
                .map(|(&code, stats)| {
                    let kind = EventKind::from_code(code);
                    KindRetention {
                        kind: kind.map_or_else(|| code.to_string(), |k| k.name().to_string()),
                        count: stats.count,
                        bytes: stats.bytes,
                        oldest: stats.oldest,
                        rule: kind.and_then(|k| policy.kind_rule(k)).map(|r| r.name()),
                        truncate: stats.truncate,
                        prune: stats.prune,
                        held: stats.held,
                    }
                })
                .collect();
            Ok::<_, vigil_store::StoreError>(RetentionStatus {
                rules: policy.rules().iter().map(|r| r.name()).collect(),
                floor: config.retention.floor.as_ref().map(|f| f.get_ref().text()),
                schedule_secs: config.retention.schedule.0.as_secs(),
                next_run: crate::retention::next_run(),
                first_seq: shared.log.first_seq(),
                head: shared.log.head().seq,
                disk_bytes: shared.log.disk_usage(),
                kinds,
                next: counts(&plan),
            })
        })
        .await?
        .map_err(unavailable)?;
        self.send(&Answer::retention_status(Box::new(status))).await
    }

    async fn retention_run(&mut self, dry_run: bool) -> Served {
        if !dry_run {
            self.record_decision("retention.run").await?;
        }
        let shared = self.shared.clone();
        let actor = self.caller.actor();
        let outcome = blocking_with(move || {
            let policy = policy(&shared);
            run::run(&shared, &policy, RetentionTrigger::Request, actor, dry_run)
                .map(|o| (o, policy))
        })
        .await?;
        let (outcome, policy) = outcome.map_err(run_refusal)?;
        let (recorded, bytes) = match &outcome.recorded {
            Some((seq, r)) => (Some(*seq), (r.bytes_before, r.bytes_after)),
            None => {
                let now = self.shared.log.disk_usage();
                (None, (now, now))
            }
        };
        let rules = policy
            .rules()
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    r.name(),
                    outcome.plan.truncated[i],
                    outcome.plan.pruned[i].len() as u64,
                )
            })
            .collect();
        let ran = RetentionRan {
            dry_run,
            counts: counts(&outcome.plan),
            rules,
            recorded,
            bytes_before: bytes.0,
            bytes_after: bytes.1,
        };
        self.send(&Answer::retention_run(Box::new(ran))).await
    }

    async fn erase(&mut self, selector: erase::Selector, reason: String) -> Served {
        selector
            .check()
            .map_err(|m| refuse(ErrorCode::BadRequest, m))?;
        let reason = reason.trim().to_string();
        if reason.is_empty() {
            return Err(refuse(
                ErrorCode::BadRequest,
                "--reason is required: say why these bodies are erased (it is recorded)",
            ));
        }
        super::conn::stored_within("the reason", &reason, super::conn::MAX_TEXT)?;
        let shared = self.shared.clone();
        let found = blocking_with({
            let selector = selector.clone();
            move || erase::matching(&shared, &selector)
        })
        .await?
        .map_err(unavailable)?;
        if found.seqs.is_empty() {
            return self
                .send(&Answer::erase(vigil_proto::Erased {
                    erased: 0,
                    live: 0,
                    recorded: None,
                }))
                .await;
        }
        let record = erase::record(self.caller.actor(), reason, &selector, &found.seqs);
        let admitted = self.admit(record);
        let head = self.record("erase", admitted).await?;
        let shared = self.shared.clone();
        let seqs = found.seqs.clone();
        blocking_with(move || erase::apply(&shared, seqs, head.seq))
            .await?
            .map_err(run_refusal)?;
        self.send(&Answer::erase(vigil_proto::Erased {
            erased: found.seqs.len() as u64,
            live: found.live,
            recorded: Some(head.seq),
        }))
        .await
    }
}

fn counts(plan: &Plan) -> RetentionCounts {
    RetentionCounts {
        truncate_to: plan.cut,
        truncated: plan.truncate_count(),
        pruned: plan.prune_count(),
        held: plan.held,
    }
}

fn run_refusal(e: RunError) -> Fail {
    match e {
        RunError::Busy => Fail::Refuse(ErrorBody::new(ErrorCode::Unavailable, e.to_string())),
        RunError::Store(e) => Fail::Refuse(unavailable(e)),
    }
}
