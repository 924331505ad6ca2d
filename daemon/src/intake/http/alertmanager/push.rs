//! `POST /api/v2/alerts`: Prometheus's push, stored as a delivery to the
//! source configured with `driver = "prometheus"` (every check of
//! `/v1/ingest/<source>` applies: rate limits, the key, its `ingest` scope
//! and its sources, size, depth, redaction, one durable append before
//! `200`).

use crate::intake::http::error::ApiError;
use crate::intake::http::{Peer, auth, ingest};
use crate::state::Shared;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use std::sync::Arc;
use vigil_ingest::drivers::{DriverChoice, DriverKind};

/// `POST /api/v2/alerts`.
pub async fn post_alerts(
    State(shared): State<Arc<Shared>>,
    axum::Extension(peer): axum::Extension<Peer>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let source = match push_source(&shared, &headers) {
        Ok(source) => source,
        Err(e) => return e.into_response(),
    };
    match ingest::accept(&shared, peer, &source, &headers, body).await {
        // Alertmanager answers an accepted push with an empty 200.
        Ok(_) => StatusCode::OK.into_response(),
        Err(rejected) => rejected.into_response(),
    }
}

/// The source a push is stored under: the one configured with `driver =
/// "prometheus"`, or, when there are several (one per Prometheus server, each
/// with its own key), the one the caller's key is scoped to.
fn push_source(shared: &Shared, headers: &HeaderMap) -> Result<String, ApiError> {
    let config = shared.config();
    let candidates: Vec<&String> = config
        .sources
        .iter()
        .filter(|(_, s)| s.get_ref().driver == DriverChoice::Kind(DriverKind::Prometheus))
        .map(|(name, _)| name)
        .collect();
    if let [only] = candidates.as_slice() {
        return Ok((*only).clone());
    }
    // Say nothing about the configuration to a caller without a key.
    let keys = shared.keys();
    let key = auth::authenticate(headers, &keys, vigil_store::now_micros())
        .map_err(|problem| problem.error())?;
    let allowed: Vec<&&String> = candidates.iter().filter(|s| key.allows(s)).collect();
    match allowed.as_slice() {
        [only] => Ok((**only).clone()),
        [] if candidates.is_empty() => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_prometheus_source",
            "no source takes Prometheus pushes; configure one with driver = \"prometheus\"",
        )),
        [] => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this API key may not post to any source with driver = \"prometheus\"",
        )),
        _ => Err(ApiError::new(
            StatusCode::CONFLICT,
            "ambiguous_source",
            "several sources take Prometheus pushes and this API key may post to more than one; \
             give each Prometheus a key scoped to its source (vigilctl keys create --source NAME)",
        )),
    }
}
