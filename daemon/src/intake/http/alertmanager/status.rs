//! `GET /api/v2/status` and `GET /api/v2/receivers`.
//!
//! The status's `config.original` is the routing part of the configuration
//! in Alertmanager's own keys (route, inhibit rules, time intervals, the
//! receivers' names), so `amtool config routes` draws Vigil's tree; no
//! integration, URL or secret reference is in it.

use super::authorize;
use super::wire::{Receiver, time};
use crate::intake::http::Peer;
use crate::intake::http::error::ApiError;
use crate::state::Shared;
use axum::Json;
use axum::extract::State;
use http::HeaderMap;
use std::sync::Arc;
use vigil_store::KeyScope;

/// `GET /api/v2/status`.
pub async fn status(
    State(shared): State<Arc<Shared>>,
    axum::Extension(peer): axum::Extension<Peer>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&shared, peer, &headers, KeyScope::AlertsRead)?;
    let config = shared.config();
    let notify = &config.notify;
    let receivers: Vec<Receiver> = receiver_names(notify);
    let mut original = serde_json::Map::new();
    if let Some(route) = &notify.route {
        original.insert("route".into(), serde_json::json!(route.get_ref()));
    }
    if !notify.inhibit_rules.is_empty() {
        original.insert(
            "inhibit_rules".into(),
            serde_json::json!(notify.inhibit_rules),
        );
    }
    if !notify.time_intervals.is_empty() {
        original.insert(
            "time_intervals".into(),
            serde_json::json!(notify.time_intervals),
        );
    }
    original.insert("receivers".into(), serde_json::json!(receivers));
    // JSON is YAML: amtool reads it as an alertmanager.yml.
    let original = serde_json::to_string_pretty(&original)
        .map_err(|_| ApiError::unavailable("internal failure"))?;
    Ok(Json(serde_json::json!({
        "cluster": { "status": "disabled", "peers": [] },
        "versionInfo": {
            "version": env!("CARGO_PKG_VERSION"),
            "revision": "",
            "branch": "",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "none (vigild is written in Rust)",
        },
        "config": { "original": original },
        "uptime": time(Some(shared.started.1)),
    })))
}

/// `GET /api/v2/receivers`.
pub async fn receivers(
    State(shared): State<Arc<Shared>>,
    axum::Extension(peer): axum::Extension<Peer>,
    headers: HeaderMap,
) -> Result<Json<Vec<Receiver>>, ApiError> {
    authorize(&shared, peer, &headers, KeyScope::AlertsRead)?;
    Ok(Json(receiver_names(&shared.config().notify)))
}

fn receiver_names(notify: &crate::config::NotifyConfig) -> Vec<Receiver> {
    notify
        .receivers
        .iter()
        .map(|r| Receiver {
            name: r.get_ref().name.clone(),
        })
        .collect()
}
