//! Alertmanager's v2 API under its own paths, so Prometheus needs only
//! Vigil's address in its `alertmanagers` and `amtool` only
//! `--alertmanager.url` (and the key in `--http.config.file`):
//!
//! * [`push`]: `POST /api/v2/alerts` (scope `ingest`);
//! * [`alerts`]: `GET /api/v2/alerts`, `GET /api/v2/alerts/groups`;
//! * [`silences`]: `GET/POST /api/v2/silences`, `GET/DELETE
//!   /api/v2/silence/{id}` (reading needs `alerts.read`, writing
//!   `silences.write`);
//! * [`status`]: `GET /api/v2/status`, `GET /api/v2/receivers`;
//! * `GET /-/healthy`, `GET /-/ready`: unauthenticated, as Alertmanager's.
//!
//! Answers follow Alertmanager's published OpenAPI schema (the end-to-end
//! tests validate them against it); errors keep Vigil's JSON error shape.

mod alerts;
mod push;
mod silences;
mod status;
mod wire;

use super::error::ApiError;
use super::{Peer, auth};
use crate::state::Shared;
use axum::Router;
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode};
use std::sync::Arc;
use vigil_store::{Actor, KeyScope, now_micros};

/// Where refused calls are counted in `AuthRejections`.
const CHANNEL: &str = "alertmanager-api";

/// The routes, to merge into the listener's router.
pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v2/alerts", post(push::post_alerts).get(alerts::list))
        .route("/api/v2/alerts/groups", get(alerts::groups))
        .route("/api/v2/silences", get(silences::list).post(silences::post))
        .route(
            "/api/v2/silence/{id}",
            get(silences::show).delete(silences::delete),
        )
        .route("/api/v2/status", get(status::status))
        .route("/api/v2/receivers", get(status::receivers))
        .route("/-/healthy", get(ok))
        .route("/-/ready", get(ok))
}

/// `GET /-/healthy` and `GET /-/ready`: Alertmanager answers `OK`.
async fn ok() -> &'static str {
    "OK"
}

/// A caller the key checks let through.
struct Caller {
    /// Who, as recorded.
    actor: Actor,
}

/// The checks before any read or silence: the address's rate, the key, the
/// key's rate, then `scope`. Refusals are counted like ingestion's.
fn authorize(
    shared: &Shared,
    peer: Peer,
    headers: &HeaderMap,
    scope: KeyScope,
) -> Result<Caller, ApiError> {
    let limits = &shared.ingest.limits;
    let rejections = &shared.ingest.rejections;
    let remote = Actor::Remote {
        addr: peer.0.ip().to_string(),
    };
    let now = now_micros();
    if let Err(wait) = limits.check_ip(peer.0.ip()) {
        rejections.note(CHANNEL, "rate_limited_ip", remote, now);
        return Err(ApiError::rate_limited("address", wait));
    }
    let keys = shared.keys();
    let key = auth::authenticate(headers, &keys, now).map_err(|problem| {
        rejections.note(CHANNEL, problem.reason(), remote, now);
        problem.error()
    })?;
    let actor = Actor::ApiKey {
        id: key.id.clone(),
        prefix: key.prefix.clone(),
    };
    if let Err(wait) = limits.check_key(&key.id) {
        rejections.note(CHANNEL, "rate_limited_key", actor, now);
        return Err(ApiError::rate_limited("API key", wait));
    }
    // Reads and silences span every source; a key held to some sources
    // cannot be given them (`keys create` refuses), and is refused here too.
    if !key.has_scope(scope) || (scope != KeyScope::Ingest && !key.sources.is_empty()) {
        rejections.note(CHANNEL, "missing_scope", actor, now);
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this API key lacks the {scope} scope; create a key with \
                 `vigilctl keys create --scope {scope}`"
            ),
        ));
    }
    Ok(Caller { actor })
}

/// Query parameters a request may carry (each `filter` is compiled).
const MAX_PARAMETERS: usize = 64;

/// The query string's parameters, in order (`filter` repeats), at most
/// [`MAX_PARAMETERS`].
fn query_pairs(uri: &http::Uri) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    if pairs.len() > MAX_PARAMETERS {
        return Err(ApiError::malformed(format!(
            "at most {MAX_PARAMETERS} query parameters"
        )));
    }
    Ok(pairs)
}

/// Every matcher of every `filter` parameter.
fn filters(pairs: &[(String, String)]) -> Result<vigil_notify::route::Matchers, ApiError> {
    let mut matchers = vigil_notify::route::Matchers::default();
    for (_, text) in pairs.iter().filter(|(k, _)| k == "filter") {
        let parsed = vigil_notify::route::Matchers::parse(text)
            .map_err(|e| ApiError::malformed(format!("filter: {e}")))?;
        for m in &parsed {
            matchers.push(m.clone());
        }
    }
    Ok(matchers)
}

/// A boolean query parameter (`true`/`false`), or its default.
fn flag(pairs: &[(String, String)], name: &str, default: bool) -> Result<bool, ApiError> {
    match pairs.iter().rev().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => match v.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(ApiError::malformed(format!(
                "query parameter {name} must be true or false"
            ))),
        },
    }
}
