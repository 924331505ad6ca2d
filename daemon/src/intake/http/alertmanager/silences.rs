//! Silences through Alertmanager's API: list (`filter`, `creator`), show,
//! create or replace (`POST` with an `id`), expire (`DELETE`). Creating and
//! expiring need the `silences.write` scope; each is recorded with the
//! allow decision in one durable append, as `vigilctl silences` records
//! them. Ids are the same as `vigilctl silences list` shows.

use super::wire::{GettableSilence, time};
use super::{Caller, authorize, filters, query_pairs};
use crate::access::audit::Auditor;
use crate::intake::http::Peer;
use crate::intake::http::error::ApiError;
use crate::intake::http::ingest::read_body;
use crate::intake::silence::{
    self, MAX_COMMENT, MAX_DURATION_MICROS, MAX_MATCHERS, SilenceProblem,
};
use crate::intake::{Intake, admit};
use crate::state::Shared;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use http::{HeaderMap, StatusCode, Uri};
use serde::Deserialize;
use std::sync::Arc;
use vigil_notify::route::{MatchOp, Matcher, Matchers};
use vigil_store::{Event, KeyScope, Silence, SilenceExpired, now_micros};
use vigil_views::{SilenceRecord, SilenceState};

/// `GET /api/v2/silences`.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    axum::Extension(peer): axum::Extension<Peer>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Vec<GettableSilence>>, ApiError> {
    authorize(&shared, peer, &headers, KeyScope::AlertsRead)?;
    let pairs = query_pairs(&uri)?;
    let filter: Vec<Matcher> = filters(&pairs)?.iter().cloned().collect();
    let creators: Vec<String> = pairs
        .into_iter()
        .filter(|(k, _)| k == "creator")
        .map(|(_, v)| v)
        .collect();
    let now = now_micros();
    let mut records = records(&shared, |_| true).await?;
    records.retain(|r| {
        (creators.is_empty() || creators.contains(&r.created_by)) && filtered_in(r, &filter)
    });
    // Alertmanager's order: active by end, pending by start, expired
    // latest first.
    records.sort_by_key(|r| match r.state(now) {
        SilenceState::Active => (0, r.ends_at),
        SilenceState::Pending => (1, r.starts_at),
        SilenceState::Expired => (2, r.ends_at.saturating_neg()),
    });
    Ok(Json(
        records
            .iter()
            .filter_map(|r| GettableSilence::new(r, now))
            .collect(),
    ))
}

/// Whether a silence has, for each filter matcher, a matcher on the same
/// label whose value the filter matches (Alertmanager's rule).
fn filtered_in(record: &SilenceRecord, filter: &[Matcher]) -> bool {
    let Ok(own) = Matchers::parse_all(&record.matchers) else {
        return false;
    };
    filter.iter().all(|f| {
        own.iter()
            .any(|m| m.name() == f.name() && f.matches_value(m.value()))
    })
}

/// `GET /api/v2/silence/{id}`.
pub async fn show(
    State(shared): State<Arc<Shared>>,
    axum::Extension(peer): axum::Extension<Peer>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<GettableSilence>, ApiError> {
    authorize(&shared, peer, &headers, KeyScope::AlertsRead)?;
    let record = one(&shared, &id).await?;
    GettableSilence::new(&record, now_micros())
        .map(Json)
        .ok_or_else(|| not_found(&id))
}

/// `DELETE /api/v2/silence/{id}`: expires it now. An ended silence stays
/// ended (and nothing is recorded).
pub async fn delete(
    State(shared): State<Arc<Shared>>,
    axum::Extension(peer): axum::Extension<Peer>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let caller = authorize(&shared, peer, &headers, KeyScope::SilencesWrite)?;
    let record = one(&shared, &id).await?;
    if record.state(now_micros()) == SilenceState::Expired {
        return Ok(StatusCode::OK);
    }
    let expired = expiry(&shared, &caller, &record.id);
    record_all(&shared, &caller, "silences.expire", vec![expired]).await?;
    Ok(StatusCode::OK)
}

/// `postableSilence`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PostableSilence {
    #[serde(default)]
    id: Option<String>,
    matchers: Vec<PostableMatcher>,
    starts_at: String,
    ends_at: String,
    /// Required by the schema, not kept: the silence records the key that
    /// made it, which the client cannot claim otherwise.
    #[serde(rename = "createdBy")]
    _created_by: String,
    comment: String,
}

/// `matcher`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PostableMatcher {
    name: String,
    value: String,
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

/// `POST /api/v2/silences`: a new silence, or, with the `id` of one not
/// ended, its replacement (the old one expires in the same append).
/// Answers `{"silenceID": "<id>"}`.
pub async fn post(
    State(shared): State<Arc<Shared>>,
    axum::Extension(peer): axum::Extension<Peer>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    let caller = authorize(&shared, peer, &headers, KeyScope::SilencesWrite)?;
    let config = shared.config();
    let body = read_body(&config.http, body).await?;
    let json = crate::intake::parse_json(&body, config.http.max_json_depth)
        .map_err(|e| ApiError::malformed(e.to_string()))?;
    let posted: PostableSilence = serde_json::from_value(json)
        .map_err(|e| ApiError::malformed(format!("not a postableSilence: {e}")))?;
    let now = now_micros();
    let (silence, matchers) = new_silence(&caller, &posted, now)?;
    let admitted = admit(
        &shared.ingest.redactor,
        Intake::Control(Event::Silence(silence)),
    );
    let Event::Silence(stored) = &admitted.event else {
        return Err(ApiError::unavailable("internal failure"));
    };
    if stored.comment.len() > MAX_COMMENT {
        return Err(ApiError::malformed(format!(
            "comment is over {MAX_COMMENT} bytes as stored"
        )));
    }
    silence::check(&matchers, stored).map_err(|problem| {
        ApiError::malformed(match &problem {
            SilenceProblem::Redacted { index, .. } => format!("matchers[{index}] {problem}"),
            SilenceProblem::Matchers(_) => format!("matchers: {problem}"),
            SilenceProblem::Rule(_) => problem.to_string(),
        })
    })?;
    let mut events = Vec::new();
    let mut action = "silences.add";
    if let Some(id) = posted.id.filter(|id| !id.is_empty()) {
        let old = one(&shared, &id).await?;
        if old.state(now) != SilenceState::Expired {
            events.push(expiry(&shared, &caller, &old.id));
            action = "silences.update";
        }
    }
    events.push(admitted.event);
    let heads = record_all(&shared, &caller, action, events).await?;
    let id = heads.last().map(|h| h.seq.to_string()).unwrap_or_default();
    Ok(Json(serde_json::json!({ "silenceID": id })))
}

/// The silence `posted` describes, checked for what needs no store, and its
/// matchers as text.
fn new_silence(
    caller: &Caller,
    posted: &PostableSilence,
    now: i64,
) -> Result<(Silence, Vec<String>), ApiError> {
    let given = &posted.matchers;
    if given.is_empty() || given.len() > MAX_MATCHERS {
        return Err(ApiError::malformed(format!(
            "matchers: give 1 to {MAX_MATCHERS}"
        )));
    }
    let mut matchers = Vec::with_capacity(given.len());
    for (i, m) in given.iter().enumerate() {
        let op = match (m.is_regex, m.is_equal) {
            (false, true) => MatchOp::Equal,
            (false, false) => MatchOp::NotEqual,
            (true, true) => MatchOp::Regex,
            (true, false) => MatchOp::NotRegex,
        };
        let matcher = Matcher::new(&m.name, op, &m.value)
            .map_err(|e| ApiError::malformed(format!("matchers[{i}]: {e}")))?;
        matchers.push(matcher.to_string());
    }
    let comment = posted.comment.trim();
    if comment.is_empty() || comment.len() > MAX_COMMENT {
        return Err(ApiError::malformed(format!(
            "comment is required (at most {MAX_COMMENT} bytes): say why, for the record"
        )));
    }
    let starts_at = parse_time("startsAt", &posted.starts_at)?.max(now);
    let ends_at = parse_time("endsAt", &posted.ends_at)?;
    if ends_at <= now {
        return Err(ApiError::malformed(format!(
            "endsAt ({}) has passed: the silence would never mute anything",
            time(Some(ends_at))
        )));
    }
    if ends_at <= starts_at {
        return Err(ApiError::malformed("endsAt must come after startsAt"));
    }
    if starts_at - now > MAX_DURATION_MICROS || ends_at - starts_at > MAX_DURATION_MICROS {
        return Err(ApiError::malformed(
            "a silence starts within 366 days and lasts at most 366 days",
        ));
    }
    let silence = Silence {
        matchers: matchers.clone(),
        starts_at,
        ends_at,
        comment: comment.to_string(),
        actor: caller.actor.clone(),
    };
    Ok((silence, matchers))
}

fn parse_time(field: &str, text: &str) -> Result<i64, ApiError> {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_microsecond())
        .map_err(|_| ApiError::malformed(format!("{field} is not an RFC 3339 time")))
}

/// The expiry of silence `id`, admitted like every event from outside.
fn expiry(shared: &Shared, caller: &Caller, id: &str) -> Event {
    let event = Event::SilenceExpired(SilenceExpired {
        silence: id.to_string(),
        actor: caller.actor.clone(),
    });
    admit(&shared.ingest.redactor, Intake::Control(event)).event
}

/// Appends the allow decision and `events` in one durable batch.
async fn record_all(
    shared: &Shared,
    caller: &Caller,
    action: &str,
    events: Vec<Event>,
) -> Result<Vec<vigil_store::Head>, ApiError> {
    let mut batch = Vec::with_capacity(events.len() + 1);
    batch.push(Auditor::allowed(
        &caller.actor,
        KeyScope::SilencesWrite.name(),
        action,
        "API key scope",
        false,
    ));
    batch.extend(events);
    let heads = shared.log.append_all_async(&batch).await.map_err(|e| {
        tracing::error!("cannot store a silence from the Alertmanager API: {e}");
        ApiError::unavailable("the silence could not be stored; retry")
    })?;
    Ok(heads)
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no silence {id}"),
    )
}

/// The silence `id`, or 404.
async fn one(shared: &Arc<Shared>, id: &str) -> Result<SilenceRecord, ApiError> {
    let wanted = id.to_string();
    let mut found = records(shared, move |r| r.id == wanted).await?;
    found.pop().ok_or_else(|| not_found(id))
}

/// The silences the view remembers, those `keep` takes.
async fn records(
    shared: &Arc<Shared>,
    keep: impl Fn(&SilenceRecord) -> bool + Send + 'static,
) -> Result<Vec<SilenceRecord>, ApiError> {
    let s = shared.clone();
    tokio::task::spawn_blocking(move || {
        s.with_views(|v| {
            v.silences
                .silences
                .values()
                .filter(|r| keep(r))
                .cloned()
                .collect::<Vec<_>>()
        })
    })
    .await
    .map_err(|_| ApiError::unavailable("internal failure"))?
    .map_err(|e| {
        tracing::error!("cannot read the silences for the Alertmanager API: {e}");
        ApiError::unavailable("the log cannot be read; retry shortly")
    })
}
