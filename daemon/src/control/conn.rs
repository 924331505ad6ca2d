//! A connection serving requests: each is authorized against the
//! caller's role, then dispatched to its family's file; and the helpers
//! every handler uses (recording, views, blocking work, refusals).

use super::{Caller, io};
use crate::intake::{Admitted, Intake};
use crate::state::Shared;
use std::sync::Arc;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use vigil_proto::{ErrorBody, ErrorCode, Request, Response};
use vigil_store::{Event, StoreError};

/// The client hung up; the connection ends.
pub struct Gone;

/// Why a request was not served.
#[derive(Debug)]
pub enum Fail {
    /// The client is gone; nothing to answer.
    Gone,
    /// Answer with this error; the connection stays open.
    Refuse(ErrorBody),
}

impl From<ErrorBody> for Fail {
    fn from(e: ErrorBody) -> Fail {
        Fail::Refuse(e)
    }
}

impl From<vigil_proto::FrameError> for Fail {
    fn from(_: vigil_proto::FrameError) -> Fail {
        Fail::Gone
    }
}

/// What a request handler returns.
pub(super) type Served = Result<(), Fail>;

/// Longest name, note or comment accepted.
pub(super) const MAX_TEXT: usize = 1024;

/// Refuses `text` (the redacted form of `what`) if it is over `limit`
/// bytes: a limit holds for what is stored, and a secret's marker
/// (`[REDACTED:aws_access_key]`) can be longer than the secret.
pub(super) fn stored_within(what: &str, text: &str, limit: usize) -> Result<(), Fail> {
    if text.len() > limit {
        return Err(refuse(
            ErrorCode::BadRequest,
            format!(
                "{what} is {} bytes once redacted (each secret is replaced by a marker such as \
                 [REDACTED:password], which can be longer than the secret); the limit is {limit}",
                text.len()
            ),
        ));
    }
    Ok(())
}

/// A refusal with its code.
pub(super) fn refuse(code: ErrorCode, message: impl Into<String>) -> Fail {
    Fail::Refuse(ErrorBody::new(code, message))
}

/// A connection while it serves one request.
pub struct Conn<'a> {
    pub shared: &'a Arc<Shared>,
    pub caller: &'a Caller,
    pub rd: &'a mut tokio::io::BufReader<OwnedReadHalf>,
    pub wr: &'a mut OwnedWriteHalf,
}

pub(super) fn unavailable(e: StoreError) -> ErrorBody {
    ErrorBody::new(ErrorCode::Unavailable, format!("the store failed: {e}"))
}

/// Runs `f` on the views, caught up with the log, off the async threads.
pub(super) async fn view_of<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&mut vigil_views::Views) -> T + Send + 'static,
) -> Result<T, Fail> {
    let shared = shared.clone();
    Ok(blocking(move || shared.with_views(f)).await?)
}

/// Runs blocking work off the async threads.
pub async fn blocking_with<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Fail> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        Fail::Refuse(ErrorBody::new(
            ErrorCode::Internal,
            format!("internal failure: {e}"),
        ))
    })
}

/// Runs blocking store work off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ErrorBody> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(unavailable),
        Err(e) => Err(ErrorBody::new(
            ErrorCode::Internal,
            format!("internal failure: {e}"),
        )),
    }
}

impl Conn<'_> {
    /// `event` as it is stored: the operator's text in it redacted by the
    /// one intake step. [`record`](Self::record) takes only what this
    /// returns, so no control request stores text that skipped it.
    pub(super) fn admit(&self, event: Event) -> Admitted {
        crate::intake::admit(&self.shared.ingest.redactor, Intake::Control(event))
    }

    /// The allow decision for `request` by this caller.
    fn allowed(&self, request: &str) -> Event {
        let grant = &self.caller.grant;
        crate::access::audit::Auditor::allowed(
            &self.caller.actor(),
            &grant.role.name,
            request,
            &grant.reason,
            grant.break_glass,
        )
    }

    /// Appends the admitted event after the allow decision for `request`
    /// (one durable batch); returns the event's head.
    pub(super) async fn record(
        &mut self,
        request: &str,
        admitted: Admitted,
    ) -> Result<vigil_store::Head, Fail> {
        let allowed = self.allowed(request);
        let heads = self
            .shared
            .log
            .append_all_async(&[allowed, admitted.event])
            .await
            .map_err(unavailable)?;
        Ok(heads[1])
    }

    /// Appends the allow decision for `request` alone, durably, for a
    /// change another task records (a file scan): who allowed it is in the
    /// log before the change is asked for.
    pub(super) async fn record_decision(&mut self, request: &str) -> Result<(), Fail> {
        let allowed = self.allowed(request);
        self.shared
            .log
            .append_async(&allowed)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Runs `f` on the views, caught up with the log, off the async threads.
    pub(super) async fn view<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut vigil_views::Views) -> T + Send + 'static,
    ) -> Result<T, Fail> {
        view_of(self.shared, f).await
    }

    pub(super) async fn send(&mut self, response: &Response) -> Served {
        io::write(self.wr, response).await.map_err(Into::into)
    }

    async fn fail(&mut self, error: ErrorBody) -> Result<(), Gone> {
        self.send(&Response::Error(error)).await.map_err(|_| Gone)
    }

    /// Authorizes and serves one request.
    pub async fn dispatch(&mut self, request: Request) -> Result<(), Gone> {
        let needed = request.permission();
        let role = &self.caller.grant.role;
        if !role.permissions.allows(needed) {
            let reason = format!("role {} lacks {needed}", role.name);
            if let Err(e) = self
                .shared
                .auditor
                .deny(
                    &self.caller.actor(),
                    Some(&role.name),
                    request.name(),
                    &reason,
                )
                .await
            {
                tracing::error!("cannot record a denial: {e}");
            }
            let message = format!(
                "your role {} may not {} (it needs {needed}); ask an admin",
                role.name,
                request.name()
            );
            return self
                .fail(ErrorBody::new(ErrorCode::Forbidden, message))
                .await;
        }
        let result = match request {
            Request::Daemon(r) => self.serve_daemon(r).await,
            Request::Events(r) => self.serve_events(r).await,
            Request::Audit(r) => self.serve_audit(r).await,
            Request::Secrets(r) => self.serve_secrets(r).await,
            Request::Keys(r) => self.serve_keys(r).await,
            Request::Incidents(r) => self.serve_incidents(r).await,
            Request::Silences(r) => self.serve_silences(r).await,
            Request::Deliveries(r) => self.serve_deliveries(r).await,
            Request::Files(r) => self.serve_files(r).await,
            Request::Logs(r) => self.serve_logs(r).await,
            Request::Retention(r) => self.serve_retention(r).await,
        };
        match result {
            Ok(()) => Ok(()),
            Err(Fail::Gone) => Err(Gone),
            Err(Fail::Refuse(e)) => self.fail(e).await,
        }
    }
}
