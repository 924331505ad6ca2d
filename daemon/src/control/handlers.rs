//! One function per request.

use super::listing::Page;
use super::{Caller, io};
use crate::intake::{Admitted, Intake};
use crate::state::Shared;
use crate::state::messages::ReloadRequest;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use vigil_proto::{
    ChainHeader, ErrorBody, ErrorCode, EventRecord, LoginRecord, LoginsReport, Request, Response,
    StatusReport, Truncated, VerifySummary, event_record, raw_entry,
};
use vigil_store::{
    Custom, Event, EventKind, Hash, Severity, StoreError, VerifyOptions, now_micros,
};

/// Events per frame when listing or following.
const PAGE: usize = 100;
/// Raw entries per frame when streaming the chain.
const CHAIN_PAGE: usize = 256;
/// Longest message `emit` takes.
const MAX_MESSAGE: usize = 4096;
/// Most labels `emit` takes.
const MAX_LABELS: usize = 32;
/// Longest label value `emit` takes.
const MAX_LABEL_VALUE: usize = 1024;

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

fn unavailable(e: StoreError) -> ErrorBody {
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

    /// Appends the admitted event after the allow decision for `request`
    /// (one durable batch); returns the event's head.
    pub(super) async fn record(
        &mut self,
        request: &str,
        admitted: Admitted,
    ) -> Result<vigil_store::Head, Fail> {
        let grant = &self.caller.grant;
        let allowed = crate::access::audit::Auditor::allowed(
            &self.caller.actor(),
            &grant.role.name,
            request,
            &grant.reason,
            grant.break_glass,
        );
        let heads = self
            .shared
            .log
            .append_all_async(&[allowed, admitted.event])
            .await
            .map_err(unavailable)?;
        Ok(heads[1])
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
            Request::Status => self.status().await,
            Request::Emit {
                message,
                severity,
                labels,
            } => self.emit(message, severity, labels).await,
            Request::Events { kind, from, limit } => self.events(kind, from, limit).await,
            Request::Follow { kind, from } => self.follow(kind, from).await,
            Request::Show { seq } => self.show(seq).await,
            Request::Logins { limit } => self.logins(limit).await,
            Request::Verify { deep, anchor } => self.verify(deep, anchor).await,
            Request::Chain => self.chain().await,
            Request::Doctor => {
                let findings = crate::doctor::run(self.shared).await;
                self.send(&Response::Doctor { findings }).await
            }
            Request::Reload => self.reload().await,
            Request::SecretsSet { name, value } => self.secrets_set(name, value).await,
            Request::SecretsList { limit } => self.secrets_list(limit).await,
            Request::SecretsDelete { name, force } => self.secrets_delete(name, force).await,
            Request::SecretsRotate => self.secrets_rotate().await,
            Request::SecretsRewrap { new_key_file } => self.secrets_rewrap(new_key_file).await,
            Request::KeysCreate {
                name,
                sources,
                expires_in_secs,
            } => self.keys_create(name, sources, expires_in_secs).await,
            Request::KeysList { limit } => self.keys_list(limit).await,
            Request::KeysRevoke { id } => self.keys_revoke(id).await,
            Request::Incidents { state, limit } => self.incidents(state, limit).await,
            Request::IncidentShow { id } => self.incident_show(id).await,
            Request::IncidentAct { id, op, note } => self.incident_act(id, op, note).await,
            Request::SilencesAdd {
                matchers,
                duration_secs,
                starts_in_secs,
                comment,
            } => {
                self.silences_add(matchers, duration_secs, starts_in_secs, comment)
                    .await
            }
            Request::SilencesList { all, limit } => self.silences_list(all, limit).await,
            Request::SilencesExpire { id } => self.silences_expire(id).await,
            Request::DeliveriesList {
                state,
                receiver,
                limit,
            } => self.deliveries_list(state, receiver, limit).await,
            Request::NotifyTest { receiver } => self.notify_test(receiver).await,
        };
        match result {
            Ok(()) => Ok(()),
            Err(Fail::Gone) => Err(Gone),
            Err(Fail::Refuse(e)) => self.fail(e).await,
        }
    }
}

impl Conn<'_> {
    async fn status(&mut self) -> Served {
        let shared = self.shared.clone();
        let counts = blocking(move || shared.with_views(|v| v.status.counts_by_name())).await?;
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
        };
        self.send(&Response::Status(Box::new(report))).await
    }

    async fn emit(
        &mut self,
        message: String,
        severity: Severity,
        labels: BTreeMap<String, String>,
    ) -> Served {
        check_emit(&message, &labels)?;
        let admitted = self.admit(Event::Custom(Custom {
            actor: self.caller.actor(),
            severity,
            message,
            labels,
        }));
        if let Event::Custom(stored) = &admitted.event {
            stored_within("--message", &stored.message, MAX_MESSAGE)?;
            for (k, v) in &stored.labels {
                stored_within(&format!("label `{k}`"), v, MAX_LABEL_VALUE)?;
            }
        }
        let head = self.record("emit", admitted).await?;
        self.send(&Response::Appended { head }).await
    }

    async fn events(
        &mut self,
        kind: Option<EventKind>,
        from: Option<u64>,
        limit: Option<u64>,
    ) -> Served {
        if limit == Some(0) {
            return Err(refuse(ErrorCode::BadRequest, "--limit must be at least 1"));
        }
        // The listing covers the log as it is now; later events are for follow.
        let head = self.shared.log.head().seq;
        let log = self.shared.log.clone();
        let (start, limit, earlier) = match (from, limit) {
            (Some(from), limit) => (from, limit, None),
            (None, None) => (1, None, None),
            // The newest `n`: find where they begin (newest first), and
            // whether a matching one is older, then list forward from there.
            (None, Some(n)) => {
                let (start, more) = blocking(move || {
                    let mut start = head.saturating_add(1);
                    let mut seen = 0u64;
                    for e in log.entries_between(1, head).rev() {
                        let e = e?;
                        if kind.is_none() || e.kind() == kind {
                            if seen == n {
                                return Ok((start, true));
                            }
                            seen += 1;
                            start = e.seq();
                        }
                    }
                    Ok((start, false))
                })
                .await?;
                let earlier = more.then_some(Truncated {
                    limit: n,
                    matching: None,
                });
                (start, None, earlier)
            }
        };
        let fetch = |cursor: Option<u64>, max: usize| {
            let log = self.shared.log.clone();
            let from = cursor.map_or(start, |seq| seq + 1);
            async move {
                let items = blocking(move || {
                    let mut out = Vec::new();
                    for e in log.entries_between(from, head) {
                        let e = e?;
                        if kind.is_none() || e.kind() == kind {
                            out.push(event_record(&e));
                            if out.len() == max {
                                break;
                            }
                        }
                    }
                    Ok(out)
                })
                .await?;
                Ok(Page {
                    last: items.last().map(|e: &EventRecord| e.seq),
                    items,
                    matching: None,
                })
            }
        };
        let mut end = self
            .stream_pages(
                limit,
                fetch,
                |events| Response::Events { events },
                |e| format!("event {}", e.seq),
            )
            .await?;
        if earlier.is_some() {
            end.truncated = earlier;
        }
        self.end_listing(end).await
    }

    async fn follow(&mut self, kind: Option<EventKind>, from: u64) -> Served {
        let mut next = from.max(self.shared.log.first_seq());
        let mut head = self.shared.head.clone();
        let mut shutdown = self.shared.shutdown.clone();
        let mut probe = [0u8; 1];
        loop {
            loop {
                let log = self.shared.log.clone();
                let start = next;
                let (records, after) = blocking(move || {
                    let mut out = Vec::new();
                    let mut after = start;
                    for e in log.entries(start).take(PAGE) {
                        let e = e?;
                        after = e.seq() + 1;
                        if kind.is_none() || e.kind() == kind {
                            out.push(event_record(&e));
                        }
                    }
                    Ok((out, after))
                })
                .await?;
                if after == next {
                    break;
                }
                next = after;
                self.send_items(
                    records,
                    |events| Response::Events { events },
                    |e| format!("event {}", e.seq),
                )
                .await?;
            }
            tokio::select! {
                changed = head.changed() => if changed.is_err() { break },
                _ = shutdown.changed() => break,
                // The client sends nothing while following: any read result means it is gone.
                _ = self.rd.read(&mut probe) => return Err(Fail::Gone),
            }
        }
        self.send(&Response::End).await
    }

    async fn show(&mut self, seq: u64) -> Served {
        let log = self.shared.log.clone();
        let entry = blocking(move || log.get(seq)).await?;
        match entry {
            Some(e) => {
                self.send(&Response::Event {
                    event: Box::new(event_record(&e)),
                })
                .await
            }
            None => Err(ErrorBody::new(
                ErrorCode::NotFound,
                format!(
                    "no event {seq}: the log holds {}..={}",
                    self.shared.log.first_seq(),
                    self.shared.log.head().seq
                ),
            )
            .into()),
        }
    }

    async fn logins(&mut self, limit: u32) -> Served {
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
        self.send(&Response::Logins(report)).await
    }

    async fn verify(&mut self, deep: bool, anchor: Option<(u64, Hash)>) -> Served {
        let shared = self.shared.clone();
        let report = verify_now(&shared, deep, anchor, Some(self)).await?;
        self.send(&Response::Verified(Box::new(report))).await
    }

    async fn chain(&mut self) -> Served {
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

    async fn reload(&mut self) -> Served {
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
            Ok(Ok(message)) => self.send(&Response::Reloaded { message }).await,
            Ok(Err(refused)) => {
                Err(ErrorBody::new(ErrorCode::BadRequest, refused.to_string()).into())
            }
            Err(_) => {
                Err(ErrorBody::new(ErrorCode::Unavailable, "the daemon is shutting down").into())
            }
        }
    }
}

fn check_emit(message: &str, labels: &BTreeMap<String, String>) -> Result<(), ErrorBody> {
    let bad = |m: String| Err(ErrorBody::new(ErrorCode::BadRequest, m));
    if message.trim().is_empty() {
        return bad("--message must not be empty".into());
    }
    if message.len() > MAX_MESSAGE {
        return bad(format!(
            "--message is {} bytes; the limit is {MAX_MESSAGE}",
            message.len()
        ));
    }
    if labels.len() > MAX_LABELS {
        return bad(format!(
            "{} labels; the limit is {MAX_LABELS}",
            labels.len()
        ));
    }
    for (k, v) in labels {
        let valid = !k.is_empty()
            && k.len() <= 128
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !valid {
            return bad(format!(
                "label name `{k}` must be 1-128 characters of letters, digits, `_`, `.`, `-`"
            ));
        }
        if v.len() > MAX_LABEL_VALUE {
            return bad(format!(
                "label `{k}` is {} bytes; the limit is {MAX_LABEL_VALUE}",
                v.len()
            ));
        }
    }
    Ok(())
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
        decision: login.decision.clone(),
        reason: login.reason.clone(),
        break_glass: login.break_glass,
        count: login.count,
    }
}
