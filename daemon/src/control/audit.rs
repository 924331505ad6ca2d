//! The audit family: logins and denials, verification in the daemon, the raw chain.

use crate::state::Shared;
use std::sync::Arc;
use std::time::Duration;
use vigil_proto::{
    Answer, AuditRequest, ChainHeader, ErrorBody, ErrorCode, LoginRecord, LoginsReport, Response,
    VerifySummary, raw_entry,
};
use vigil_store::{Hash, VerifyOptions, now_micros};

use super::conn::{Conn, Served, blocking, unavailable};

/// Raw entries per frame when streaming the chain.
const CHAIN_PAGE: usize = 256;

impl Conn<'_> {
    /// Serves the audit family.
    pub(super) async fn serve_audit(&mut self, request: AuditRequest) -> Served {
        match request {
            AuditRequest::Logins { limit } => self.logins(limit).await,
            AuditRequest::Verify { deep, anchor } => self.verify(deep, anchor).await,
            AuditRequest::Chain => self.chain().await,
            AuditRequest::Export(request) => self.export(request).await,
        }
    }

    pub(super) async fn logins(&mut self, limit: u32) -> Served {
        let limit = limit.clamp(1, 1000) as usize;
        let shared = self.shared.clone();
        let report = blocking(move || {
            shared.with_views(|v| LoginsReport {
                logins: v
                    .auth
                    .logins
                    .iter()
                    .rev()
                    .take(limit)
                    .map(login_record)
                    .collect(),
                denials: v
                    .auth
                    .denials
                    .iter()
                    .rev()
                    .take(limit)
                    .map(login_record)
                    .collect(),
                total_logins: v.auth.total_logins,
                total_denials: v.auth.total_denials,
            })
        })
        .await?;
        self.send(&Answer::logins(report)).await
    }

    pub(super) async fn verify(&mut self, deep: bool, anchor: Option<(u64, Hash)>) -> Served {
        let shared = self.shared.clone();
        let report = verify_now(&shared, deep, anchor, Some(self)).await?;
        self.send(&Response::Verified(Box::new(report))).await
    }

    pub(super) async fn chain(&mut self) -> Served {
        let log = self.shared.log.clone();
        let header = blocking(move || {
            let cut = log.cut();
            let checkpoint = match cut {
                Some(c) => log.get(c.checkpoint_seq)?.map(|e| raw_entry(&e)),
                None => None,
            };
            Ok(ChainHeader {
                store_id: log.store_id(),
                cut,
                checkpoint,
                head: log.head(),
                format: log.format(),
            })
        })
        .await?;
        let head = header.head.seq;
        let mut next = self.shared.log.first_seq();
        self.send(&Response::ChainHeader(Box::new(header))).await?;
        while next <= head {
            let log = self.shared.log.clone();
            let start = next;
            let entries = blocking(move || {
                log.entries_between(start, head)
                    .take(CHAIN_PAGE)
                    .map(|e| e.map(|e| raw_entry(&e)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
            let Some(last) = entries.last() else { break };
            next = last.seal.seq + 1;
            self.send(&Response::Chain { entries }).await?;
        }
        self.send(&Response::End).await
    }
}

/// Verifies the log in the daemon (no key), streaming progress to `conn`
/// if given, and remembers the outcome for status and doctor.
pub async fn verify_now(
    shared: &Arc<Shared>,
    deep: bool,
    anchor: Option<(u64, Hash)>,
    mut conn: Option<&mut Conn<'_>>,
) -> Result<vigil_store::VerifyReport, ErrorBody> {
    let log = shared.log.clone();
    let total = log.head().seq.saturating_sub(log.first_seq()) + 1;
    let (tx, mut rx) = tokio::sync::watch::channel(0u64);
    let mut task = tokio::task::spawn_blocking(move || {
        let progress = move |done: u64| {
            let _ = tx.send(done);
        };
        log.verify(&VerifyOptions {
            deep,
            anchor,
            progress: Some(&progress),
            ..Default::default()
        })
    });
    let mut ticker = tokio::time::interval(Duration::from_millis(200));
    let report = loop {
        tokio::select! {
            result = &mut task => break result,
            _ = ticker.tick() => {
                let done = *rx.borrow_and_update();
                if let Some(c) = conn.as_deref_mut()
                    && c.send(&Response::Progress { done, total }).await.is_err()
                {
                    // The client left; finish anyway, the summary is worth keeping.
                    conn = None;
                }
            }
        }
    };
    let report = match report {
        Ok(Ok(report)) => report,
        Ok(Err(e)) => return Err(unavailable(e)),
        Err(e) => {
            return Err(ErrorBody::new(
                ErrorCode::Internal,
                format!("internal failure: {e}"),
            ));
        }
    };
    let summary = VerifySummary {
        at: now_micros(),
        ok: report.ok,
        entries: report.entries,
        problem: report
            .failure
            .as_ref()
            .map(|f| format!("seq {}: {}", f.seq, f.problem)),
    };
    if !report.ok {
        tracing::error!(
            problem = summary.problem.as_deref().unwrap_or(""),
            "chain verification FAILED"
        );
    }
    *shared.last_verify.lock().expect("verify lock") = Some(summary);
    Ok(report)
}

/// A login or denial as the protocol carries it.
fn login_record(login: &vigil_views::Login) -> LoginRecord {
    LoginRecord {
        seq: login.seq,
        time: login.time,
        who: login.who.clone(),
        role: login.role.clone(),
        action: login.action.clone(),
        decision: login.decision,
        reason: login.reason.clone(),
        break_glass: login.break_glass,
        count: login.count,
    }
}
