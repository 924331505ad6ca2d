//! The JSON shapes of Alertmanager's OpenAPI schema (`gettableAlert`,
//! `alertGroup`, `gettableSilence`, `matcher`), built from Vigil's alerts
//! and silence records.

use serde::Serialize;
use vigil_notify::route::{MatchOp, Matchers, Suppression};
use vigil_store::{Alert, Labels};
use vigil_views::{SilenceRecord, SilenceState};

/// Go's zero time, which Alertmanager writes for a time never set.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A time as Alertmanager writes it (RFC 3339, UTC).
pub fn time(micros: Option<i64>) -> String {
    micros
        .and_then(|t| jiff::Timestamp::from_microsecond(t).ok())
        .map_or_else(|| GO_ZERO_TIME.to_string(), |t| t.to_string())
}

/// `receiver`.
#[derive(Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Receiver {
    pub name: String,
}

/// `alertStatus`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertState {
    /// `active`, `suppressed` or `unprocessed`.
    pub state: &'static str,
    pub silenced_by: Vec<String>,
    pub inhibited_by: Vec<String>,
}

impl AlertState {
    /// The state of an alert the notifier holds.
    pub fn held(suppression: &Suppression) -> Self {
        AlertState {
            state: if suppression.is_suppressed() {
                "suppressed"
            } else {
                "active"
            },
            silenced_by: suppression.silenced_by.clone(),
            inhibited_by: suppression.inhibited_by.clone(),
        }
    }

    /// An alert no route has taken (there is no `[notify.route]`).
    pub fn unprocessed() -> Self {
        AlertState {
            state: "unprocessed",
            silenced_by: Vec::new(),
            inhibited_by: Vec::new(),
        }
    }
}

/// `gettableAlert`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GettableAlert {
    pub labels: Labels,
    pub annotations: Labels,
    pub receivers: Vec<Receiver>,
    pub fingerprint: String,
    pub starts_at: String,
    /// Vigil does not record when an alert was last refreshed apart from
    /// its start; the start it is.
    pub updated_at: String,
    pub ends_at: String,
    pub status: AlertState,
    #[serde(rename = "generatorURL", skip_serializing_if = "Option::is_none")]
    pub generator_url: Option<String>,
}

impl GettableAlert {
    /// `alert` with the receivers that take it and its state.
    pub fn new(alert: &Alert, receivers: Vec<Receiver>, status: AlertState) -> Self {
        GettableAlert {
            labels: alert.labels.clone(),
            annotations: alert.annotations.clone(),
            receivers,
            fingerprint: alert.fingerprint.clone(),
            starts_at: time(alert.starts_at),
            updated_at: time(alert.starts_at),
            ends_at: time(alert.ends_at),
            status,
            generator_url: alert.links.first().cloned(),
        }
    }
}

/// `alertGroup`.
#[derive(Serialize)]
pub struct AlertGroup {
    pub labels: Labels,
    pub receiver: Receiver,
    pub alerts: Vec<GettableAlert>,
}

/// `matcher`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    pub is_equal: bool,
}

impl Matcher {
    fn of(m: &vigil_notify::route::Matcher) -> Self {
        let op = m.op();
        Matcher {
            name: m.name().to_string(),
            value: m.value().to_string(),
            is_regex: matches!(op, MatchOp::Regex | MatchOp::NotRegex),
            is_equal: matches!(op, MatchOp::Equal | MatchOp::Regex),
        }
    }
}

/// `silenceStatus`.
#[derive(Serialize)]
pub struct SilenceStatus {
    pub state: &'static str,
}

/// `gettableSilence`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GettableSilence {
    pub id: String,
    pub status: SilenceStatus,
    pub updated_at: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: String,
    pub ends_at: String,
    /// Who made it, as authenticated (Alertmanager stores what the client
    /// claims; Vigil records the key that asked).
    pub created_by: String,
    pub comment: String,
}

impl GettableSilence {
    /// A silence as recorded, at `now` (micros). `None` if its matchers no
    /// longer parse (they were checked when it was made).
    pub fn new(record: &SilenceRecord, now: i64) -> Option<Self> {
        let matchers = Matchers::parse_all(&record.matchers).ok()?;
        Some(GettableSilence {
            id: record.id.clone(),
            status: SilenceStatus {
                state: match record.state(now) {
                    SilenceState::Pending => "pending",
                    SilenceState::Active => "active",
                    SilenceState::Expired => "expired",
                },
            },
            updated_at: time(Some(record.created)),
            matchers: matchers.iter().map(Matcher::of).collect(),
            starts_at: time(Some(record.starts_at)),
            ends_at: time(Some(record.ends_at)),
            created_by: record.created_by.clone(),
            comment: record.comment.clone(),
        })
    }
}
