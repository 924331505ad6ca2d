//! `GET /api/v2/alerts` and `GET /api/v2/alerts/groups`: the firing alerts
//! the notifier holds in its aggregation groups, with the receivers that
//! take them and what silences or inhibits them, filtered as Alertmanager
//! filters (`filter` matchers, `receiver` regex, `active`, `silenced`,
//! `inhibited`, `unprocessed`).
//!
//! Without a `[notify.route]` no group exists; the open incidents are then
//! listed as `unprocessed` alerts with no receiver.

use super::wire::{AlertGroup, AlertState, GettableAlert, Receiver};
use super::{authorize, filters, flag, query_pairs};
use crate::intake::http::Peer;
use crate::intake::http::error::ApiError;
use crate::state::Shared;
use crate::state::messages::{Command, Held, HeldGroup};
use axum::Json;
use axum::extract::State;
use http::{HeaderMap, Uri};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use vigil_notify::route::Matchers;
use vigil_store::{Alert, AlertStatus, KeyScope};
use vigil_views::IncidentState;

/// How long the notifier may take to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// Which alerts a request asks for.
struct Filter {
    active: bool,
    silenced: bool,
    inhibited: bool,
    unprocessed: bool,
    matchers: Matchers,
    receiver: Option<regex::Regex>,
}

impl Filter {
    fn parse(uri: &Uri) -> Result<Filter, ApiError> {
        let pairs = query_pairs(uri)?;
        let matchers = filters(&pairs)?;
        let receiver = match pairs.iter().rev().find(|(k, _)| k == "receiver") {
            None => None,
            Some((_, re)) => Some(
                regex::RegexBuilder::new(&format!("^(?:{re})$"))
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|_| ApiError::malformed("receiver: not a valid regular expression"))?,
            ),
        };
        Ok(Filter {
            active: flag(&pairs, "active", true)?,
            silenced: flag(&pairs, "silenced", true)?,
            inhibited: flag(&pairs, "inhibited", true)?,
            unprocessed: flag(&pairs, "unprocessed", true)?,
            matchers,
            receiver,
        })
    }

    fn takes_receiver(&self, name: &str) -> bool {
        self.receiver.as_ref().is_none_or(|re| re.is_match(name))
    }

    fn takes(&self, alert: &GettableAlert) -> bool {
        let state = &alert.status;
        (self.active || state.state != "active")
            && (self.unprocessed || state.state != "unprocessed")
            && (self.silenced || state.silenced_by.is_empty())
            && (self.inhibited || state.inhibited_by.is_empty())
            && self.matchers.matches(&alert.labels)
    }
}

/// `GET /api/v2/alerts`.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    axum::Extension(peer): axum::Extension<Peer>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Vec<GettableAlert>>, ApiError> {
    authorize(&shared, peer, &headers, KeyScope::AlertsRead)?;
    let filter = Filter::parse(&uri)?;
    let alerts = match held(&shared).await? {
        Some(groups) => {
            // An alert in several groups (`continue`) is listed once, with
            // every receiver that takes it.
            let mut by_fingerprint: BTreeMap<String, (GettableAlert, BTreeSet<Receiver>)> =
                BTreeMap::new();
            for group in groups {
                for held in group.alerts {
                    let entry = by_fingerprint
                        .entry(held.alert.fingerprint.clone())
                        .or_insert_with(|| {
                            let state = AlertState::held(&held.suppression);
                            (
                                GettableAlert::new(&held.alert, Vec::new(), state),
                                BTreeSet::new(),
                            )
                        });
                    entry.1.insert(Receiver {
                        name: group.receiver.clone(),
                    });
                }
            }
            by_fingerprint
                .into_values()
                .filter(|(_, receivers)| receivers.iter().any(|r| filter.takes_receiver(&r.name)))
                .map(|(mut alert, receivers)| {
                    alert.receivers = receivers.into_iter().collect();
                    alert
                })
                .collect()
        }
        None if filter.receiver.is_some() => Vec::new(),
        None => unrouted(&shared).await?,
    };
    Ok(Json(
        alerts.into_iter().filter(|a| filter.takes(a)).collect(),
    ))
}

/// `GET /api/v2/alerts/groups`.
pub async fn groups(
    State(shared): State<Arc<Shared>>,
    axum::Extension(peer): axum::Extension<Peer>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Vec<AlertGroup>>, ApiError> {
    authorize(&shared, peer, &headers, KeyScope::AlertsRead)?;
    let filter = Filter::parse(&uri)?;
    let groups = held(&shared).await?.unwrap_or_default();
    Ok(Json(
        groups
            .into_iter()
            .filter(|g| filter.takes_receiver(&g.receiver))
            .map(|g| {
                let receiver = Receiver { name: g.receiver };
                let alerts = g
                    .alerts
                    .iter()
                    .map(|held| {
                        GettableAlert::new(
                            &held.alert,
                            vec![receiver.clone()],
                            AlertState::held(&held.suppression),
                        )
                    })
                    .filter(|a| filter.takes(a))
                    .collect();
                AlertGroup {
                    labels: g.labels,
                    receiver,
                    alerts,
                }
            })
            .filter(|g| !g.alerts.is_empty())
            .collect(),
    ))
}

/// The notifier's groups (`None`: no route tree).
async fn held(shared: &Shared) -> Result<Option<Vec<HeldGroup>>, ApiError> {
    match ask(shared).await? {
        Held::Groups(groups) => Ok(Some(groups)),
        Held::NoRoute => Ok(None),
        Held::Unavailable => Err(ApiError::unavailable(
            "the silences cannot be read now, so what is muted is unknown; retry shortly",
        )),
    }
}

async fn ask(shared: &Shared) -> Result<Held, ApiError> {
    let unavailable = || ApiError::unavailable("the notifier is not answering; retry shortly");
    let (reply, answer) = tokio::sync::oneshot::channel();
    shared
        .notifier
        .send_timeout(Command::Held { reply }, ANSWER_WITHIN)
        .await
        .map_err(|_| unavailable())?;
    tokio::time::timeout(ANSWER_WITHIN, answer)
        .await
        .map_err(|_| unavailable())?
        .map_err(|_| unavailable())
}

/// Open incidents as alerts no route took.
async fn unrouted(shared: &Arc<Shared>) -> Result<Vec<GettableAlert>, ApiError> {
    let s = shared.clone();
    let alerts = tokio::task::spawn_blocking(move || {
        s.with_views(|v| {
            v.incidents
                .iter()
                .filter(|i| i.state != IncidentState::Resolved)
                .map(|i| {
                    let alert = Alert {
                        fingerprint: i.fingerprint.to_string(),
                        status: AlertStatus::Firing,
                        severity: i.severity,
                        summary: i.summary.to_string(),
                        labels: i.labels.to_labels(),
                        annotations: Default::default(),
                        starts_at: Some(i.opened_at),
                        ends_at: None,
                        links: Vec::new(),
                    };
                    GettableAlert::new(&alert, Vec::new(), AlertState::unprocessed())
                })
                .collect::<Vec<_>>()
        })
    })
    .await
    .map_err(|_| ApiError::unavailable("internal failure"))?
    .map_err(|e| {
        tracing::error!("cannot read the incidents for the Alertmanager API: {e}");
        ApiError::unavailable("the log cannot be read; retry shortly")
    })?;
    Ok(alerts)
}
