//! The control server: one task per connection.
//!
//! A connection starts with the handshake: the client's `Hello` (protocol
//! version), the peer's credentials from the socket, its role. Refusals are
//! answered with a reason and recorded; a granted connection is recorded
//! before it is welcomed. Then every request is checked against the role:
//! denials are recorded (repeats counted), mutating requests recorded.
//! Oversized or malformed frames end the connection with an error frame.

// The connection and its dispatch; then one file per command family, as
// in vigil-proto and vigilctl's cli.
mod conn;

mod audit;
mod daemon;
mod deliveries;
mod events;
mod export;
mod files;
mod incidents;
mod keys;
mod logs;
mod retention;
mod secrets;
mod silences;

mod listing;
mod slots;

pub use audit::verify_now;
mod io;
pub mod listener;

use crate::access::{self, Grant, Peer};
use crate::state::Shared;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UnixListener;
use tokio::net::unix::OwnedWriteHalf;
use tokio::task::JoinSet;
use vigil_proto::{
    ErrorBody, ErrorCode, FrameError, Hello, HelloReply, Identity, PROTOCOL_VERSION, Request,
    Response,
};
use vigil_store::Actor;

/// How long a new connection may take to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long in-flight requests may take to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// An authenticated caller.
pub struct Caller {
    /// Who, as the kernel says.
    pub peer: Peer,
    /// Their role.
    pub grant: Grant,
}

impl Caller {
    /// The actor recorded in events.
    pub fn actor(&self) -> Actor {
        actor_of(&self.peer)
    }

    fn identity(&self) -> Identity {
        Identity {
            uid: self.peer.uid,
            gid: self.peer.gid,
            pid: self.peer.pid,
            user: self.peer.user.clone(),
            role: self.grant.role.name.clone(),
            break_glass: self.grant.break_glass,
        }
    }
}

fn actor_of(peer: &Peer) -> Actor {
    Actor::Local {
        uid: peer.uid,
        gid: peer.gid,
        pid: peer.pid,
        user: peer.user.clone(),
    }
}

/// Accepts connections until shutdown, then lets in-flight ones finish.
pub async fn serve(shared: Arc<Shared>, listener: UnixListener) {
    let mut shutdown = shared.shutdown.clone();
    let slots = Arc::new(slots::Slots::default());
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Counted by the kernel's word on who it is, before it
                    // says anything: idle connections count too.
                    let Ok(cred) = stream.peer_cred() else { continue };
                    let per_uid = shared.config().daemon.max_connections_per_uid;
                    let shared = shared.clone();
                    match slots.take(cred.uid(), per_uid) {
                        Ok(slot) => {
                            tasks.spawn(async move {
                                connection(shared, stream, cred).await;
                                drop(slot);
                            });
                        }
                        Err(reason) => {
                            tasks.spawn(async move {
                                let (_, mut wr) = stream.into_split();
                                reject(&mut wr, ErrorCode::Unavailable, reason.to_string()).await;
                            });
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!("control socket accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("{} control connections did not finish in time", tasks.len());
        tasks.abort_all();
    }
}

async fn reject(wr: &mut OwnedWriteHalf, code: ErrorCode, message: String) {
    let _ = io::write(
        wr,
        &HelloReply::Rejected {
            error: ErrorBody::new(code, message),
        },
    )
    .await;
}

async fn connection(
    shared: Arc<Shared>,
    stream: tokio::net::UnixStream,
    cred: tokio::net::unix::UCred,
) {
    let (uid, gid) = (cred.uid(), cred.gid());
    let pid = cred.pid().and_then(|p| u32::try_from(p).ok()).unwrap_or(0);
    let (rd, mut wr) = stream.into_split();
    // Buffered: a frame's length prefix and payload in one read.
    let mut rd = tokio::io::BufReader::new(rd);

    let hello: Hello = match tokio::time::timeout(HELLO_TIMEOUT, io::read(&mut rd)).await {
        Ok(Ok(hello)) => hello,
        Ok(Err(FrameError::Closed)) => return,
        Ok(Err(e)) => {
            return reject(&mut wr, frame_error_code(&e), format!("bad hello: {e}")).await;
        }
        Err(_) => return reject(&mut wr, ErrorCode::Malformed, "no hello within 5s".into()).await,
    };
    if hello.protocol != PROTOCOL_VERSION {
        tracing::warn!(client = %hello.client, protocol = hello.protocol, "refused a client speaking another protocol version");
        let message = format!(
            "vigild {} speaks control protocol {PROTOCOL_VERSION}, {} speaks {}; use the vigilctl that ships with this vigild",
            env!("CARGO_PKG_VERSION"),
            hello.client,
            hello.protocol
        );
        return reject(&mut wr, ErrorCode::VersionMismatch, message).await;
    }

    let peer = match tokio::task::spawn_blocking(move || Peer::lookup(uid, gid, pid)).await {
        Ok(peer) => peer,
        Err(_) => {
            return reject(
                &mut wr,
                ErrorCode::Internal,
                "could not look up the caller".into(),
            )
            .await;
        }
    };
    let config = shared.config();
    let grant = match access::resolve(&config, &peer) {
        Ok(grant) => grant,
        Err(reason) => {
            if let Err(e) = shared
                .auditor
                .deny(&actor_of(&peer), None, "connect", &reason.to_string())
                .await
            {
                tracing::error!("cannot record a denial: {e}");
            }
            return reject(&mut wr, ErrorCode::Forbidden, reason.to_string()).await;
        }
    };
    let caller = Caller { peer, grant };
    if caller.grant.break_glass {
        tracing::warn!(
            pid,
            "break-glass access by {}: {}",
            caller.peer.describe(),
            caller.grant.reason
        );
    }
    let event = crate::access::audit::Auditor::allowed(
        &caller.actor(),
        &caller.grant.role.name,
        "connect",
        &caller.grant.reason,
        caller.grant.break_glass,
    );
    if let Err(e) = shared.log.append_async(&event).await {
        return reject(
            &mut wr,
            ErrorCode::Unavailable,
            format!("cannot record the connection: {e}"),
        )
        .await;
    }
    let welcome = HelloReply::Welcome {
        protocol: PROTOCOL_VERSION,
        server: format!("vigild {}", env!("CARGO_PKG_VERSION")),
        identity: caller.identity(),
    };
    if io::write(&mut wr, &welcome).await.is_err() {
        return;
    }

    let mut shutdown = shared.shutdown.clone();
    loop {
        let request = tokio::select! {
            r = io::read::<_, Request>(&mut rd) => r,
            _ = shutdown.changed() => break,
        };
        let request = match request {
            Ok(request) => request,
            Err(FrameError::Closed | FrameError::Io(_)) => break,
            Err(e) => {
                let _ = io::write(
                    &mut wr,
                    &Response::Error(ErrorBody::new(
                        frame_error_code(&e),
                        format!("{e}; closing the connection"),
                    )),
                )
                .await;
                break;
            }
        };
        let mut conn = conn::Conn {
            shared: &shared,
            caller: &caller,
            rd: &mut rd,
            wr: &mut wr,
        };
        if conn.dispatch(request).await.is_err() {
            break;
        }
    }
}

fn frame_error_code(e: &FrameError) -> ErrorCode {
    match e {
        FrameError::TooLarge { .. } => ErrorCode::FrameTooLarge,
        _ => ErrorCode::Malformed,
    }
}
