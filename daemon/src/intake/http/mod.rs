//! The ingestion listener: HTTP/1.1 on loopback by default, TLS when
//! configured, `GET /v1/health` (and Alertmanager's `/-/healthy`,
//! `/-/ready`) unauthenticated and everything else behind an API key:
//! `/v1/ingest/<source>`, and Alertmanager's `POST /api/v2/alerts`
//! ([`alertmanager_api`]).
//!
//! Limits live at the edges: a connection cap (accept waits for a slot),
//! a header read timeout (slowloris), one global body-size layer, a body
//! timeout, then the per-request checks in [`ingest`].

mod alertmanager;
mod auth;
mod error;
mod ingest;
mod tls;

pub use auth::mint as mint_key;
pub use tls::{TlsError, acceptor as tls_acceptor};
use tokio_rustls::TlsAcceptor;

use crate::state::Shared;
use axum::Router;
use axum::routing::{get, post};
use error::ApiError;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// The client's address, attached to each request.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// Anything else: a key is still required before "not found" is said.
async fn fallback(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    headers: http::HeaderMap,
) -> ApiError {
    let keys = shared.keys();
    match auth::authenticate(&headers, &keys, vigil_store::now_micros()) {
        Ok(_) => ApiError::new(http::StatusCode::NOT_FOUND, "not_found", "no such endpoint"),
        Err(p) => p.error(),
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let max_body = usize::try_from(shared.config().http.max_body.0).unwrap_or(usize::MAX);
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/ingest/{source}", post(ingest::ingest))
        .merge(alertmanager::routes())
        .fallback(fallback)
        .with_state(shared)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body))
        .layer(axum::middleware::map_response(error::json_errors))
}

/// Binds the configured address (or takes the socket systemd passed).
pub async fn listener(
    shared: &Shared,
    passed: Option<std::net::TcpListener>,
) -> anyhow::Result<TcpListener> {
    if let Some(l) = passed {
        l.set_nonblocking(true)?;
        return Ok(TcpListener::from_std(l)?);
    }
    let addr = shared.config().http.listen;
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for ingestion: {e}"))
}

/// Serves until shutdown; in-flight requests finish first.
pub async fn serve(shared: Arc<Shared>, listener: TcpListener, tls: Option<TlsAcceptor>) {
    let config = shared.config().http.clone();
    let app = router(shared.clone());
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut shutdown = shared.shutdown.clone();
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = shutdown.changed() => break,
        };
        let (stream, addr) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let tls = tls.clone();
        let shutdown = shared.shutdown.clone();
        let header_timeout = config.header_timeout.0;
        connections.spawn(async move {
            let _permit = permit;
            let service = app.map_request(move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(Peer(addr));
                req
            });
            let service = hyper_util::service::TowerToHyperService::new(service);
            match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            connection(TokioIo::new(stream), service, header_timeout, shutdown)
                                .await
                        }
                        _ => tracing::debug!(%addr, "TLS handshake failed or timed out"),
                    }
                }
                None => connection(TokioIo::new(stream), service, header_timeout, shutdown).await,
            }
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    // Let in-flight requests finish (each connection shuts down gracefully).
    while connections.join_next().await.is_some() {}
}

async fn connection<I, S>(
    io: I,
    service: S,
    header_timeout: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send + 'static,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as http_body::Body>::Data: Send,
    <S::ResBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
