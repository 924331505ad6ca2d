//! The daemon family: status, doctor, reload.

use crate::state::log_sources::configured;
use crate::state::messages::ReloadRequest;
use vigil_proto::{Answer, DaemonRequest, ErrorBody, ErrorCode, StatusReport};

use super::conn::{Conn, Served, blocking};

impl Conn<'_> {
    /// Serves the daemon family.
    pub(super) async fn serve_daemon(&mut self, request: DaemonRequest) -> Served {
        match request {
            DaemonRequest::Status => self.status().await,
            DaemonRequest::Doctor => self.doctor().await,
            DaemonRequest::Reload => self.reload().await,
            DaemonRequest::Forward => self.forward_status().await,
        }
    }

    async fn forward_status(&mut self) -> Served {
        let shared = self.shared.clone();
        let status = blocking(move || Ok(crate::state::forward::status(&shared))).await?;
        self.send(&Answer::forward_status(status.map(Box::new)))
            .await
    }

    pub(super) async fn status(&mut self) -> Served {
        let shared = self.shared.clone();
        let progress = self.collector_progress();
        let log_sets = configured(&shared.config().collect);
        let (counts, files, logs, forward) = blocking(move || {
            let (counts, files, logs) = shared.with_views(|v| {
                (
                    v.status.counts_by_name(),
                    super::files::status(&v.files, progress.as_ref()),
                    super::logs::status(&v.logs, &log_sets),
                )
            })?;
            Ok((counts, files, logs, crate::state::forward::status(&shared)))
        })
        .await?;
        let s = self.shared;
        let config = s.config();
        let report = StatusReport {
            version: env!("CARGO_PKG_VERSION").into(),
            pid: std::process::id(),
            started_at: s.started.1,
            uptime_secs: s.started.0.elapsed().as_secs(),
            dev: s.dev,
            state_dir: config.daemon.state_dir.display().to_string(),
            socket: s.socket.display().to_string(),
            store_id: s.log.store_id(),
            head: s.log.head(),
            first_seq: s.log.first_seq(),
            counts,
            epoch_interval_secs: config.daemon.epoch_interval.0.as_secs(),
            replayed_at_start: s.restore.replayed,
            snapshot_as_of: s.restore.snapshot_as_of,
            writer: s.log.stats(),
            last_verify: s.last_verify.lock().expect("verify lock").clone(),
            you: self.caller.identity(),
            files,
            logs,
            forward,
        };
        self.send(&Answer::status(Box::new(report))).await
    }

    pub(super) async fn doctor(&mut self) -> Served {
        let findings = crate::doctor::run(self.shared).await;
        self.send(&Answer::doctor(findings)).await
    }

    pub(super) async fn reload(&mut self) -> Served {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let request = ReloadRequest {
            trigger: "control",
            reply: Some(tx),
        };
        if self.shared.reload.send(request).await.is_err() {
            return Err(
                ErrorBody::new(ErrorCode::Unavailable, "the daemon is shutting down").into(),
            );
        }
        match rx.await {
            Ok(Ok(message)) => self.send(&Answer::reload(message)).await,
            Ok(Err(refused)) => {
                Err(ErrorBody::new(ErrorCode::BadRequest, refused.to_string()).into())
            }
            Err(_) => {
                Err(ErrorBody::new(ErrorCode::Unavailable, "the daemon is shutting down").into())
            }
        }
    }
}
