//! `POST /v1/ingest/{source}`: every check in the order that protects the
//! daemon best (cheap and unauthenticated first), then one durable append.
//!
//! address rate → API key → key rate → ingest scope → source → content type →
//! body (size, time) → JSON depth and syntax → signature → duplicate
//! delivery → shape → redaction → append (fsync) → `202`.

use super::error::ApiError;
use super::{Peer, auth};
use crate::config::Verify;
use crate::intake::{self, Intake, Origin};
use crate::state::Shared;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use std::sync::Arc;
use vigil_ingest::drivers::{Delivery, Verifier};
use vigil_store::{Actor, KeyScope, now_micros};

/// The handler.
pub async fn ingest(
    State(shared): State<Arc<Shared>>,
    axum::Extension(peer): axum::Extension<Peer>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match accept(&shared, peer, &source, &headers, body).await {
        Ok(response) => response,
        Err(rejected) => rejected.into_response(),
    }
}

/// Records a rejection (counted) and returns its answer.
fn reject(shared: &Shared, source: &str, reason: &str, actor: Actor, error: ApiError) -> ApiError {
    // The path is the caller's: only configured names reach the log.
    let channel = if shared.config().sources.contains_key(source) {
        format!("ingest:{source}")
    } else {
        "ingest:<unknown source>".to_string()
    };
    shared
        .ingest
        .rejections
        .note(&channel, reason, actor, now_micros());
    error
}

/// Every check, then the append; the caller shapes the success answer.
pub(super) async fn accept(
    shared: &Arc<Shared>,
    peer: Peer,
    source: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if *shared.shutdown.borrow() {
        return Err(ApiError::unavailable(
            "vigild is shutting down; retry shortly",
        ));
    }
    let remote = Actor::Remote {
        addr: peer.0.ip().to_string(),
    };
    let ingest = &shared.ingest;
    if let Err(wait) = ingest.limits.check_ip(peer.0.ip()) {
        return Err(reject(
            shared,
            source,
            "rate_limited_ip",
            remote,
            ApiError::rate_limited("address", wait),
        ));
    }
    let now = now_micros();
    let keys = shared.keys();
    let key = auth::authenticate(headers, &keys, now)
        .map_err(|p| reject(shared, source, p.reason(), remote.clone(), p.error()))?;
    let actor = Actor::ApiKey {
        id: key.id.clone(),
        prefix: key.prefix.clone(),
    };
    if let Err(wait) = ingest.limits.check_key(&key.id) {
        return Err(reject(
            shared,
            source,
            "rate_limited_key",
            actor,
            ApiError::rate_limited("API key", wait),
        ));
    }
    if !key.has_scope(KeyScope::Ingest) {
        return Err(reject(
            shared,
            source,
            "missing_scope",
            actor,
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this API key may not post alerts (it lacks the ingest scope)",
            ),
        ));
    }
    let config = shared.config();
    let Some(source_config) = config.sources.get(source).map(toml::Spanned::get_ref) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_source",
            "no such source; the path is /v1/ingest/<configured source name>",
        ));
    };
    if !key.allows(source) {
        return Err(reject(
            shared,
            source,
            "out_of_scope",
            actor,
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this API key may not post to this source",
            ),
        ));
    }
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false);
    if !json_type {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the payload as Content-Type: application/json",
        ));
    }

    let bytes = read_body(&config.http, body).await?;
    let json = crate::intake::parse_json(&bytes, config.http.max_json_depth)
        .map_err(|e| ApiError::malformed(e.to_string()))?;

    // Decided at load: one driver, or `auto` (detected from this delivery).
    let driver = source_config
        .driver
        .for_delivery(headers, &json)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unrecognized",
                "cannot tell which sender this payload is from; configure the source's driver",
            )
        })?;
    let delivery = Delivery {
        headers,
        body: &bytes,
        json: &json,
        now: now / 1_000_000,
    };
    // `auto` never skips verification: a detected driver that signs needs
    // the source's secret like any other.
    if source_config.verify == Verify::Signature && driver.supports_signature() {
        let verifier = verifier(shared, source_config).await?;
        driver.verify(&delivery, &verifier).map_err(|r| {
            reject(
                shared,
                source,
                r.reason(),
                actor.clone(),
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "bad_signature",
                    format!("signature check failed: {r}"),
                ),
            )
        })?;
    }

    let delivery_id = driver.delivery_id(&delivery);
    let claim = match &delivery_id {
        Some(id) => Some(ingest.claim(source, id).ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "duplicate",
                "this delivery id was already accepted",
            )
        })?),
        None => None,
    };
    let mut normalized = driver.normalize(source, &delivery).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_payload",
            e.to_string(),
        )
    })?;
    if let Some(lifetime) = source_config.resolve_timeout() {
        let lifetime = i64::try_from(lifetime.as_micros()).unwrap_or(i64::MAX);
        normalized.end_unended(now, lifetime);
    }
    let origin = Origin {
        source,
        driver,
        delivery_id,
        actor,
    };
    let raw = source_config.store_raw.then_some(&json);
    let admitted = intake::admit(
        &ingest.redactor,
        Intake::Delivery {
            origin,
            normalized,
            raw,
        },
    );
    let accepted = admitted.alerts;
    let head = shared
        .log
        .append_async(&admitted.event)
        .await
        .map_err(|e| {
            tracing::error!("cannot store a delivery: {e}");
            ApiError::unavailable("the event could not be stored; retry")
        })?;
    if let Some(claim) = claim {
        claim.accepted();
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "accepted": accepted, "seqs": [head.seq] })),
    )
        .into_response())
}

/// The body, within `http.body_timeout` and `http.max_body`: read only
/// after the caller is known, so no one without a key can hold a
/// connection open by sending slowly.
pub(super) async fn read_body(
    http: &crate::config::HttpConfig,
    body: Body,
) -> Result<axum::body::Bytes, ApiError> {
    match tokio::time::timeout(http.body_timeout.0, axum::body::to_bytes(body, usize::MAX)).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "the body took too long to arrive",
        )),
        Ok(Err(e)) if too_large(&e) => Err(ApiError::too_large(http.max_body.0)),
        Ok(Err(_)) => Err(ApiError::malformed("the body could not be read")),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// The source's signature secrets, resolved now (so rotation in the vault
/// applies at once).
async fn verifier(
    shared: &Arc<Shared>,
    source: &crate::config::SourceConfig,
) -> Result<Verifier, ApiError> {
    let refs = source.secret.0.clone();
    let tolerance_secs = i64::try_from(source.tolerance.0.as_secs())
        .unwrap_or(vigil_ingest::drivers::DEFAULT_TOLERANCE_SECS);
    let s = shared.clone();
    let secrets = tokio::task::spawn_blocking(move || {
        refs.iter().map(|r| s.secrets.resolve(r)).collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|_| ApiError::unavailable("internal failure"))?
    .map_err(|e| {
        tracing::error!("a source's signature secret cannot be read: {e}");
        ApiError::unavailable("this source's signature secret is not available; the operator must fix it (vigilctl doctor)")
    })?;
    Ok(Verifier {
        secrets,
        tolerance_secs,
    })
}

fn too_large(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}
