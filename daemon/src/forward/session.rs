//! One connection to the broker: reconcile the stream with the local log,
//! then publish behind the head until something ends it.

use super::{Ended, RECORD_EVERY, recovered};
use crate::config::{ForwardConfig, SecretRef};
use crate::state::Shared;
use crate::state::forward::{host_name, subject};
use std::sync::Arc;
use std::time::Instant;
use vigil_fleet::wire::{StreamStart, stream_subject};
use vigil_fleet::{
    Endpoint, Login, Outgoing, Position, Publisher, StreamSettings, Tls, forward_range,
};
use vigil_store::{Event, Forwarded, SecretValue};

/// Batches forwarded between two looks at the configuration and the
/// recorder.
const STRETCH: u64 = 64;

/// The software named in start records.
fn software() -> String {
    format!("vigild {}", env!("CARGO_PKG_VERSION"))
}

/// Connects, reconciles and forwards until the session ends.
pub(super) async fn run(shared: &Arc<Shared>, config: &ForwardConfig) -> Ended {
    let mut shutdown = shared.shutdown.clone();
    let endpoint = match endpoint(shared, config) {
        Ok(e) => e,
        Err(reason) => return Ended::Failed(reason),
    };
    let client = tokio::select! {
        client = endpoint.connect() => match client {
            Ok(c) => c,
            Err(e) => return Ended::Failed(e.to_string()),
        },
        _ = shutdown.changed() => return Ended::Shutdown,
    };
    let host = host_name(config);
    let subject = subject(config);
    let publisher = Publisher::new(
        client,
        config.timeout.0,
        &config.stream,
        &subject,
        shared.log.store_id(),
        &host,
    );
    let settings = StreamSettings {
        name: config.stream.clone(),
        subjects: vec![stream_subject(&config.subject)],
        max_age: config.max_age.map(|i| i.0),
        replicas: config.replicas,
        duplicate_window: config.duplicate_window.0,
    };
    if let Err(e) = publisher.ensure_stream(&settings).await {
        return Ended::Failed(e.to_string());
    }
    shared.forward.update(|s| s.connected = true);
    let mut next = match reconcile(shared, &publisher, &host).await {
        Ok(next) => next,
        Err(ended) => return ended,
    };
    recovered(shared, config).await;
    tracing::info!(stream = %config.stream, %subject, from = next, "forwarding");

    let mut head = shared.head.clone();
    let mut recorder = Recorder::new(shared).await;
    loop {
        if shared.config().forward.as_ref() != Some(config) {
            recorder.record(shared, config, true).await;
            return Ended::Reconfigured;
        }
        let last = shared.log.head().seq;
        if next > last {
            recorder.record(shared, config, false).await;
            tokio::select! {
                _ = head.changed() => {}
                _ = tokio::time::sleep(RECORD_EVERY) => {}
                _ = shutdown.changed() => {
                    recorder.record(shared, config, true).await;
                    return Ended::Shutdown;
                }
            }
            continue;
        }
        // A bounded stretch at a time, so the position is recorded during
        // a long backlog too.
        let to = last.min(next.saturating_add(STRETCH * config.batch as u64 - 1));
        let forwarded = tokio::select! {
            f = forward_range(&publisher, &shared.log, next, to, config.batch, config.max_in_flight, |a| {
                shared.forward.update(|s| s.acked = Some(a));
            }) => f,
            _ = shutdown.changed() => return Ended::Shutdown,
        };
        match forwarded {
            Ok(after) => next = after,
            // The next session declares a truncated range with a start record.
            Err(e) => return Ended::Failed(e.to_string()),
        }
        recorder.record(shared, config, false).await;
    }
}

/// Records the acknowledged position in the log: at most every
/// [`RECORD_EVERY`], and only when it moved past the last record (whose
/// own entry is forwarded too, so an idle host records nothing).
struct Recorder {
    record_seq: u64,
    last: Instant,
}

impl Recorder {
    async fn new(shared: &Arc<Shared>) -> Recorder {
        // The views catch up with the log first: blocking work.
        let views = shared.clone();
        let record_seq =
            tokio::task::spawn_blocking(move || views.with_views(|v| v.forward.record_seq))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
        // The first position of a session is recorded at once.
        Recorder {
            record_seq,
            last: Instant::now()
                .checked_sub(RECORD_EVERY)
                .unwrap_or_else(Instant::now),
        }
    }

    async fn record(&mut self, shared: &Arc<Shared>, config: &ForwardConfig, now: bool) {
        let Some(acked) = shared.forward.get().acked else {
            return;
        };
        if acked.seq <= self.record_seq || (!now && self.last.elapsed() < RECORD_EVERY) {
            return;
        }
        let event = Event::Forwarded(Forwarded {
            stream: config.stream.clone(),
            subject: subject(config),
            acked_seq: acked.seq,
            acked_link: acked.link,
            acked_time: acked.time,
        });
        match shared.log.append_async(&event).await {
            Ok(head) => {
                self.record_seq = head.seq;
                self.last = Instant::now();
            }
            Err(e) => tracing::error!("cannot record the forwarded position: {e}"),
        }
    }
}

/// Where to go on from: the stream's last message of this host, checked
/// against the local log.
async fn reconcile(shared: &Arc<Shared>, publisher: &Publisher, host: &str) -> Result<u64, Ended> {
    let failed = |e: vigil_fleet::FleetError| Ended::Failed(e.to_string());
    let position = publisher.position().await.map_err(|e| match e {
        vigil_fleet::FleetError::SubjectTaken { .. } => Ended::Halt(e.to_string()),
        e => Ended::Failed(e.to_string()),
    })?;
    let log = &shared.log;
    let head = log.head();
    let first = log.first_seq();
    let next = match position {
        Position::Empty => return start(shared, publisher, host, first).await,
        Position::Started { first: f } => f,
        Position::Entry { seq, link, .. } => {
            if seq > head.seq {
                return Err(Ended::Halt(format!(
                    "the fleet holds this host's chain up to seq {seq}, and the local log ends at seq {}: the local log lost entries (restored from an older copy, or truncated)",
                    head.seq
                )));
            }
            let local = read_one(shared, seq).await.map_err(Ended::Failed)?;
            if let Some(local) = local
                && local.link != link
            {
                return Err(Ended::Halt(format!(
                    "entry {seq} of the local log is not the one the fleet holds (another link): the local log was replaced or rewritten"
                )));
            }
            if let Some(acked) = shared.forward.get().acked
                && acked.seq < seq
            {
                resend_lost(shared, publisher, acked, seq)
                    .await
                    .map_err(failed)?;
            }
            seq + 1
        }
    };
    if next < first {
        // What lies between was truncated here before it was forwarded
        // (`wait_for_forward = false`): say so on the stream.
        return start(shared, publisher, host, first).await;
    }
    Ok(next)
}

/// Publishes a start record at `first`.
async fn start(
    shared: &Arc<Shared>,
    publisher: &Publisher,
    host: &str,
    first: u64,
) -> Result<u64, Ended> {
    let log = shared.log.clone();
    let host = host.to_string();
    let start =
        tokio::task::spawn_blocking(move || StreamStart::of(&log, first, &host, &software()))
            .await
            .map_err(|e| Ended::Failed(e.to_string()))?
            .map_err(|e| Ended::Failed(e.to_string()))?;
    publisher
        .publish_start(&start)
        .await
        .map_err(|e| Ended::Failed(e.to_string()))?;
    Ok(first)
}

/// After a failed window: entries between the last acknowledged one and
/// the stream's last that the broker never stored (a dropped connection
/// loses what it carried while later ones go on the next) are sent again.
async fn resend_lost(
    shared: &Arc<Shared>,
    publisher: &Publisher,
    acked: vigil_fleet::Acked,
    last: u64,
) -> Result<(), vigil_fleet::FleetError> {
    // A stream an operator created without direct gets cannot be read
    // back this way: going on beats retrying for ever, and a lost entry
    // still shows as missing in `fleet verify`.
    let stored: std::collections::BTreeSet<u64> = match publisher
        .entries_from(acked.sequence + 1)
        .await
    {
        Ok(seqs) => seqs.into_iter().collect(),
        Err(e) => {
            tracing::warn!(
                "cannot read back what the broker stored after seq {} ({e}); entries a dropped connection lost are not sent again",
                acked.seq
            );
            return Ok(());
        }
    };
    let missing: Vec<u64> = (acked.seq + 1..=last)
        .filter(|s| !stored.contains(s))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    tracing::warn!(
        count = missing.len(),
        first = missing[0],
        "entries lost with a dropped connection are sent again"
    );
    let mut entries = Vec::with_capacity(missing.len());
    for seq in missing {
        if let Ok(Some(entry)) = read_one(shared, seq).await {
            entries.push(entry);
        }
    }
    publisher.republish(&entries).await
}

async fn read_one(shared: &Arc<Shared>, seq: u64) -> Result<Option<Outgoing>, String> {
    let log = shared.log.clone();
    tokio::task::spawn_blocking(move || log.get(seq).map(|e| e.map(|e| Outgoing::of(&e))))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("reading the log: {e}"))
}

/// The endpoint `config` describes, its secrets resolved.
fn endpoint(shared: &Shared, config: &ForwardConfig) -> Result<Endpoint, String> {
    let resolve = |what: &str, r: &SecretRef| -> Result<SecretValue, String> {
        shared
            .secrets
            .resolve(r)
            .map_err(|e| format!("forward.{what}: {e}"))
    };
    let auth = &config.auth;
    let login = if let (Some(user), Some(password)) = (&auth.user, &auth.password) {
        Login::Password {
            user: user.clone(),
            password: resolve("auth.password", &password.0)?,
        }
    } else if let Some(token) = &auth.token {
        Login::Token(resolve("auth.token", &token.0)?)
    } else {
        Login::Anonymous
    };
    let tls = match &config.tls {
        None => None,
        Some(tls) => {
            let ca_pem =
                match &tls.ca {
                    Some(path) => Some(std::fs::read(path).map_err(|e| {
                        format!("forward.tls.ca: cannot read {}: {e}", path.display())
                    })?),
                    None => None,
                };
            let client = match (&tls.cert, &tls.key) {
                (Some(cert), Some(key)) => Some((
                    std::fs::read(cert).map_err(|e| {
                        format!("forward.tls.cert: cannot read {}: {e}", cert.display())
                    })?,
                    resolve("tls.key", &key.0)?,
                )),
                _ => None,
            };
            Some(Tls { ca_pem, client })
        }
    };
    Ok(Endpoint {
        servers: config.servers.clone(),
        tls,
        login,
        name: format!("vigild {}", host_name(config)),
        timeout: config.timeout.0,
    })
}
