//! Messages of the control protocol.

use crate::access::{Area, Permission};
use crate::wire_secret::WireSecret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigil_store::{
    Cut, Event, EventKind, Hash, Head, Seal, Severity, StoreId, VerifyReport, WriterStats,
};

/// Version of this protocol. A peer speaking another version is refused
/// with [`ErrorCode::VersionMismatch`].
pub const PROTOCOL_VERSION: u32 = 2;

/// Items per page frame a listing aims for (in bytes of JSON); one item may
/// take up to [`MAX_FRAME`](crate::frame::MAX_FRAME) less an envelope's room.
pub const PAGE_TARGET: usize = 256 * 1024;

/// First frame from the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The client's protocol version.
    pub protocol: u32,
    /// The client's name and version, for the log.
    pub client: String,
}

/// Who the daemon says the caller is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Peer uid.
    pub uid: u32,
    /// Peer gid.
    pub gid: u32,
    /// Peer pid.
    pub pid: u32,
    /// User name, if it resolves.
    pub user: Option<String>,
    /// The role the caller acts in.
    pub role: String,
    /// Whether the break-glass rule granted it.
    pub break_glass: bool,
}

/// The server's answer to [`Hello`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "hello", rename_all = "snake_case")]
pub enum HelloReply {
    /// Connected.
    Welcome {
        /// The server's protocol version.
        protocol: u32,
        /// The server's name and version.
        server: String,
        /// Who the caller is.
        identity: Identity,
    },
    /// Refused; the connection closes.
    Rejected {
        /// Why.
        error: ErrorBody,
    },
}

/// A request. Each is authorized against [`Request::permission`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Daemon status.
    Status,
    /// Append a custom event; answered once it is durable.
    Emit {
        /// Message.
        message: String,
        /// Severity.
        severity: Severity,
        /// Labels.
        labels: BTreeMap<String, String>,
    },
    /// Events, oldest first: a listing ([`Response::Events`] pages, then
    /// [`Response::ListEnd`]) of the entries up to the head when it began.
    Events {
        /// Only this kind.
        kind: Option<EventKind>,
        /// Start at this seq and take the first `limit` ...
        from: Option<u64>,
        /// ... or, without `from`, the newest `limit`; none: every one.
        limit: Option<u64>,
    },
    /// Events from `from` on, then every new one as it is committed (a
    /// stream of [`Response::Events`] that ends only when the client hangs up).
    Follow {
        /// Only this kind.
        kind: Option<EventKind>,
        /// First seq to send.
        from: u64,
    },
    /// One event.
    Show {
        /// Its seq.
        seq: u64,
    },
    /// Recent connections and denials.
    Logins {
        /// How many of each.
        limit: u32,
    },
    /// Verify the chain in the daemon (linkage, digests, epochs; no key is
    /// ever sent to the daemon). Streams [`Response::Progress`], then
    /// [`Response::Verified`].
    Verify {
        /// Decode every body.
        deep: bool,
        /// A `(seq, link)` published earlier that must still be there.
        anchor: Option<(u64, Hash)>,
    },
    /// Stream the raw chain for verification by the client with its key:
    /// [`Response::ChainHeader`], [`Response::Chain`] pages, [`Response::End`].
    Chain,
    /// Posture checks.
    Doctor,
    /// Re-read the configuration file.
    Reload,
    /// Store a secret (the value travels once, in this frame).
    SecretsSet {
        /// Name.
        name: String,
        /// Value.
        value: WireSecret,
    },
    /// Secrets' metadata, by name; never values. A listing:
    /// [`Response::SecretsSource`], [`Response::Secrets`] pages,
    /// [`Response::ListEnd`].
    SecretsList {
        /// At most this many (none: all).
        limit: Option<u64>,
    },
    /// Delete a secret.
    SecretsDelete {
        /// Name.
        name: String,
        /// Even while the configuration references it.
        force: bool,
    },
    /// New data key; every secret re-encrypted; unused keys erased.
    SecretsRotate,
    /// Re-wrap the keyring under the master key in this file (read by the
    /// daemon: it must be owned by the daemon's user, mode 0600 or 0400).
    SecretsRewrap {
        /// The new master key file.
        new_key_file: std::path::PathBuf,
    },
    /// Create an API key; the raw key is in the answer, once.
    KeysCreate {
        /// Human name.
        name: String,
        /// Sources it may post to (empty: all).
        sources: Vec<String>,
        /// Lifetime in seconds (none: until revoked).
        expires_in_secs: Option<u64>,
    },
    /// API keys by id (digests never leave the daemon). A listing:
    /// [`Response::Keys`] pages, [`Response::ListEnd`].
    KeysList {
        /// At most this many (none: all).
        limit: Option<u64>,
    },
    /// Revoke an API key.
    KeysRevoke {
        /// Its id (or display prefix).
        id: String,
    },
    /// Incidents, newest first. A listing: [`Response::Incidents`] pages,
    /// [`Response::ListEnd`].
    Incidents {
        /// Only `open`, `acked` or `resolved`.
        state: Option<String>,
        /// At most this many (none: all).
        limit: Option<u64>,
    },
    /// One incident and its alert history.
    IncidentShow {
        /// Its id.
        id: String,
    },
    /// Ack, resolve or annotate an incident.
    IncidentAct {
        /// Its id.
        id: String,
        /// What to do.
        op: vigil_store::IncidentOp,
        /// A note.
        note: Option<String>,
    },
    /// Mute notifications for alerts matching every matcher.
    SilencesAdd {
        /// `name=value`, `name!=value`, `name=~re`, `name!~re`.
        matchers: Vec<String>,
        /// How long, from the start.
        duration_secs: u64,
        /// Start this many seconds from now (default: now).
        starts_in_secs: Option<u64>,
        /// Why (required).
        comment: String,
    },
    /// Silences: pending and active, or also recently ended. A listing:
    /// [`Response::Silences`] pages, [`Response::ListEnd`].
    SilencesList {
        /// Include ended silences.
        all: bool,
        /// At most this many (none: all).
        limit: Option<u64>,
    },
    /// End a silence now.
    SilencesExpire {
        /// Its id.
        id: String,
    },
    /// Notification deliveries, newest first. A listing:
    /// [`Response::DeliveryTotals`], [`Response::Deliveries`] pages,
    /// [`Response::ListEnd`].
    DeliveriesList {
        /// Only `pending` (intended, attempting or failed), `intended`,
        /// `attempting`, `sent`, `failed` or `given_up`.
        state: Option<String>,
        /// Only this receiver.
        receiver: Option<String>,
        /// At most this many (none: all; `vigilctl` asks for
        /// [`DELIVERIES_DEFAULT_LIMIT`] unless told otherwise).
        limit: Option<u64>,
    },
    /// Send a test notification to a receiver (recorded as an intent, then
    /// delivered like any other).
    NotifyTest {
        /// Receiver name.
        receiver: String,
    },
}

/// Deliveries `vigilctl deliveries list` asks for without `--limit`.
pub const DELIVERIES_DEFAULT_LIMIT: u64 = 100;
/// The values [`Request::DeliveriesList`] accepts for `state`.
pub const DELIVERY_STATES: [&str; 6] = [
    "pending",
    "intended",
    "attempting",
    "sent",
    "failed",
    "given_up",
];

impl Request {
    /// What the caller needs to make this request.
    pub fn permission(&self) -> Permission {
        match self {
            Request::Status => Permission::read(Area::Status),
            Request::Emit { .. } => Permission::write(Area::Events),
            Request::Events { .. } | Request::Follow { .. } | Request::Show { .. } => {
                Permission::read(Area::Events)
            }
            Request::Logins { .. } | Request::Verify { .. } | Request::Chain | Request::Doctor => {
                Permission::read(Area::Audit)
            }
            Request::Reload => Permission::write(Area::Config),
            Request::SecretsList { .. } => Permission::read(Area::Secrets),
            Request::SecretsSet { .. }
            | Request::SecretsDelete { .. }
            | Request::SecretsRotate
            | Request::SecretsRewrap { .. } => Permission::write(Area::Secrets),
            Request::KeysList { .. } => Permission::read(Area::Keys),
            Request::KeysCreate { .. } | Request::KeysRevoke { .. } => {
                Permission::write(Area::Keys)
            }
            Request::Incidents { .. } | Request::IncidentShow { .. } => {
                Permission::read(Area::Incidents)
            }
            Request::IncidentAct { .. } => Permission::write(Area::Incidents),
            Request::SilencesList { .. } => Permission::read(Area::Silences),
            Request::SilencesAdd { .. } | Request::SilencesExpire { .. } => {
                Permission::write(Area::Silences)
            }
            Request::DeliveriesList { .. } => Permission::read(Area::Notifications),
            Request::NotifyTest { .. } => Permission::write(Area::Notifications),
        }
    }

    /// Whether it changes anything (and so is always recorded).
    pub fn is_mutating(&self) -> bool {
        matches!(
            self,
            Request::Emit { .. }
                | Request::Reload
                | Request::SecretsSet { .. }
                | Request::SecretsDelete { .. }
                | Request::SecretsRotate
                | Request::SecretsRewrap { .. }
                | Request::KeysCreate { .. }
                | Request::KeysRevoke { .. }
                | Request::IncidentAct { .. }
                | Request::SilencesAdd { .. }
                | Request::SilencesExpire { .. }
                | Request::NotifyTest { .. }
        )
    }

    /// A short name for logs and audit events.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::Emit { .. } => "emit",
            Request::Events { .. } => "events",
            Request::Follow { .. } => "follow",
            Request::Show { .. } => "show",
            Request::Logins { .. } => "logins",
            Request::Verify { .. } => "verify",
            Request::Chain => "chain",
            Request::Doctor => "doctor",
            Request::Reload => "reload",
            Request::SecretsSet { .. } => "secrets.set",
            Request::SecretsList { .. } => "secrets.list",
            Request::SecretsDelete { .. } => "secrets.delete",
            Request::SecretsRotate => "secrets.rotate",
            Request::SecretsRewrap { .. } => "secrets.rewrap",
            Request::KeysCreate { .. } => "keys.create",
            Request::KeysList { .. } => "keys.list",
            Request::KeysRevoke { .. } => "keys.revoke",
            Request::Incidents { .. } => "incidents.list",
            Request::IncidentShow { .. } => "incidents.show",
            Request::IncidentAct { .. } => "incidents.act",
            Request::SilencesAdd { .. } => "silences.add",
            Request::SilencesList { .. } => "silences.list",
            Request::SilencesExpire { .. } => "silences.expire",
            Request::DeliveriesList { .. } => "deliveries.list",
            Request::NotifyTest { .. } => "notify.test",
        }
    }
}

/// A response frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "snake_case")]
pub enum Response {
    /// To [`Request::Status`].
    Status(Box<StatusReport>),
    /// To [`Request::Emit`]: the event is durable.
    Appended {
        /// Its chain position.
        head: Head,
    },
    /// A page of events (of a listing, or of a follow stream).
    Events {
        /// Events in seq order.
        events: Vec<EventRecord>,
    },
    /// To [`Request::Show`].
    Event {
        /// The event.
        event: Box<EventRecord>,
    },
    /// To [`Request::Logins`].
    Logins(LoginsReport),
    /// Progress of a long request.
    Progress {
        /// Entries done.
        done: u64,
        /// Entries in all.
        total: u64,
    },
    /// To [`Request::Verify`].
    Verified(Box<VerifyReport>),
    /// First frame of [`Request::Chain`].
    ChainHeader(Box<ChainHeader>),
    /// A page of raw entries.
    Chain {
        /// Entries in seq order.
        entries: Vec<RawEntry>,
    },
    /// To [`Request::Doctor`].
    Doctor {
        /// Findings, worst first.
        findings: Vec<Finding>,
    },
    /// To [`Request::Reload`].
    Reloaded {
        /// What happened.
        message: String,
    },
    /// First frame of a [`Request::SecretsList`] listing.
    SecretsSource {
        /// Where the master key came from (`None`: no master key).
        master_key: Option<String>,
    },
    /// A page of secrets.
    Secrets {
        /// By name.
        secrets: Vec<SecretListing>,
    },
    /// A secrets change is done (and recorded).
    SecretsChanged {
        /// What happened.
        message: String,
    },
    /// To [`Request::KeysCreate`]: the only time the raw key is shown.
    KeyCreated {
        /// The key listing.
        key: KeyListing,
        /// The raw key.
        secret: WireSecret,
    },
    /// A page of API keys.
    Keys {
        /// By id.
        keys: Vec<KeyListing>,
    },
    /// A page of incidents.
    Incidents {
        /// Newest first.
        incidents: Vec<IncidentSummary>,
    },
    /// To [`Request::IncidentShow`].
    Incident {
        /// The incident.
        incident: Box<IncidentSummary>,
        /// Operator actions.
        annotations: Vec<IncidentNote>,
        /// The events that carried its alerts, oldest first.
        history: Vec<EventRecord>,
    },
    /// A page of silences.
    Silences {
        /// Oldest first.
        silences: Vec<SilenceListing>,
    },
    /// First frame of a [`Request::DeliveriesList`] listing: counts since
    /// the log began (or its retention checkpoint).
    DeliveryTotals(DeliveryTotals),
    /// A page of deliveries.
    Deliveries {
        /// Newest first.
        deliveries: Vec<DeliveryListing>,
    },
    /// A change is done (and recorded).
    Done {
        /// What happened.
        message: String,
    },
    /// Last frame of a listing.
    ListEnd(ListEnd),
    /// End of a stream.
    End,
    /// The request failed.
    Error(ErrorBody),
}

/// How a listing ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEnd {
    /// Items in the pages before this frame.
    pub listed: u64,
    /// Set when the listing stopped at the caller's limit while more matched.
    pub truncated: Option<Truncated>,
}

/// A listing stopped at its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncated {
    /// The limit asked for.
    pub limit: u64,
    /// How many matched in all, when the daemon could count them cheaply.
    pub matching: Option<u64>,
}

/// One silence, as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SilenceListing {
    /// Id (the seq of the event that created it).
    pub id: String,
    /// `pending`, `active` or `expired`.
    pub state: String,
    /// Matchers, all of which must match.
    pub matchers: Vec<String>,
    /// Start (micros).
    pub starts_at: i64,
    /// End (micros).
    pub ends_at: i64,
    /// Why.
    pub comment: String,
    /// Who created it.
    pub created_by: String,
    /// Who ended it early.
    pub expired_by: Option<String>,
}

/// One delivery (one notification to one integration of a receiver), as
/// listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryListing {
    /// Id: the idempotency key (a webhook's `webhook-id`).
    pub id: String,
    /// The notification it belongs to.
    pub notification: String,
    /// Seq of the intent entry.
    pub intent_seq: u64,
    /// Receiver.
    pub receiver: String,
    /// Integration (`webhook/0`).
    pub integration: String,
    /// `intended`, `attempting`, `sent`, `failed` or `given_up`.
    pub state: String,
    /// Attempts started.
    pub attempts: u32,
    /// Alerts it carries.
    pub alerts: u32,
    /// Firing alerts among them.
    pub firing: u32,
    /// `group`, `test` or `fallback`.
    pub cause: String,
    /// The delivery this one is the fallback of.
    pub fallback_for: Option<String>,
    /// Intended (UTC micros).
    pub created_at: i64,
    /// Last step recorded (UTC micros).
    pub updated_at: i64,
    /// The last outcome (status, error class); never a body.
    pub detail: String,
}

/// Deliveries counted by outcome, in [`Response::Deliveries`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryTotals {
    /// Waiting for an attempt or its outcome (intended, attempting, failed).
    pub pending: u64,
    /// Recorded sent.
    pub sent: u64,
    /// Given up.
    pub given_up: u64,
    /// Failed attempts (each one).
    pub failed_attempts: u64,
    /// Planned.
    pub intended: u64,
}

/// Machine-readable error classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Client and server speak different protocol versions.
    VersionMismatch,
    /// The caller's role does not allow it.
    Forbidden,
    /// The frame was not a valid message.
    Malformed,
    /// The frame was over the size limit.
    FrameTooLarge,
    /// The thing asked for does not exist.
    NotFound,
    /// The request is well-formed but invalid.
    BadRequest,
    /// The daemon cannot serve it now (shutting down, store failed).
    Unavailable,
    /// An unexpected failure.
    Internal,
}

/// An error with a message a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Class.
    pub code: ErrorCode,
    /// What went wrong and what to do.
    pub message: String,
}

impl ErrorBody {
    /// Builds an error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// An event as the client sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Position.
    pub seq: u64,
    /// UTC microseconds.
    pub time: i64,
    /// Kind name (or the numeric code of a kind this build does not know).
    pub kind: String,
    /// Sealing epoch.
    pub epoch: u64,
    /// Body digest.
    pub digest: Hash,
    /// Chain link.
    pub link: Hash,
    /// Seal.
    pub tag: Hash,
    /// The event, unless retention dropped its body.
    pub event: Option<Event>,
}

/// A stored entry in transit: chain fields and body bytes (hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawEntry {
    /// Chain fields.
    pub seal: Seal,
    /// Body bytes in hex, unless pruned.
    pub body: Option<String>,
}

/// What a client needs before verifying a streamed chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHeader {
    /// The store.
    pub store_id: StoreId,
    /// The retention cut, if any.
    pub cut: Option<Cut>,
    /// The checkpoint entry describing the cut.
    pub checkpoint: Option<RawEntry>,
    /// The head when the stream started.
    pub head: Head,
    /// Store format: from 2 on, every pruned body is accounted for.
    pub format: u32,
}

/// To [`Request::Status`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Daemon version.
    pub version: String,
    /// Daemon pid.
    pub pid: u32,
    /// When it started (UTC micros).
    pub started_at: i64,
    /// Seconds since.
    pub uptime_secs: u64,
    /// Whether it runs in development mode.
    pub dev: bool,
    /// State directory.
    pub state_dir: String,
    /// Control socket.
    pub socket: String,
    /// Store identity.
    pub store_id: StoreId,
    /// Newest entry.
    pub head: Head,
    /// Oldest retained seq.
    pub first_seq: u64,
    /// Events by kind (from the status view).
    pub counts: BTreeMap<String, u64>,
    /// Seconds between epoch advances.
    pub epoch_interval_secs: u64,
    /// Entries replayed at start (the rest came from view snapshots).
    pub replayed_at_start: u64,
    /// Seq the view snapshots were taken at, if any were used.
    pub snapshot_as_of: Option<u64>,
    /// Writer counters since start.
    pub writer: WriterStats,
    /// Last verification the daemon ran.
    pub last_verify: Option<VerifySummary>,
    /// The caller.
    pub you: Identity,
}

/// A verification the daemon ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifySummary {
    /// When it finished (UTC micros).
    pub at: i64,
    /// Whether the chain was intact.
    pub ok: bool,
    /// Entries checked.
    pub entries: u64,
    /// First bad seq and why, if not ok.
    pub problem: Option<String>,
}

/// One connection or decision in the recent-auth view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRecord {
    /// Seq of the auth event.
    pub seq: u64,
    /// When.
    pub time: i64,
    /// Who (as recorded).
    pub who: String,
    /// Role, if any.
    pub role: Option<String>,
    /// Action.
    pub action: String,
    /// `allow` or `deny`.
    pub decision: String,
    /// Why.
    pub reason: String,
    /// Whether break-glass was used.
    pub break_glass: bool,
    /// How many (for aggregated denials).
    pub count: u64,
}

/// To [`Request::Logins`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginsReport {
    /// Recent connections, newest first.
    pub logins: Vec<LoginRecord>,
    /// Recent denials, newest first.
    pub denials: Vec<LoginRecord>,
    /// Connections ever recorded.
    pub total_logins: u64,
    /// Denials ever recorded (counting aggregated ones).
    pub total_denials: u64,
}

/// How bad a posture finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingSeverity {
    /// Fine, for the record.
    Ok,
    /// Worth knowing.
    Info,
    /// Should be fixed.
    Warning,
    /// Must be fixed.
    Error,
}

/// One posture check's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Check name.
    pub check: String,
    /// Severity.
    pub severity: FindingSeverity,
    /// What was found.
    pub message: String,
    /// What to do (empty when nothing).
    pub fix: String,
}

/// One secret in [`Response::Secrets`]: never its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretListing {
    /// Name.
    pub name: String,
    /// Data key sealing it.
    pub key_id: u32,
    /// First set (UTC micros).
    pub created: i64,
    /// Last set or re-encrypted (UTC micros).
    pub updated: i64,
    /// Configuration keys that reference it (`secret:NAME`).
    pub used_by: Vec<String>,
}

/// An API key as listed: never the key, never its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyListing {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Display prefix.
    pub prefix: String,
    /// Sources it may post to (empty: all).
    pub sources: Vec<String>,
    /// Created (UTC micros).
    pub created: i64,
    /// Who created it.
    pub created_by: String,
    /// Expiry (UTC micros).
    pub expires_at: Option<i64>,
    /// Revoked (UTC micros).
    pub revoked_at: Option<i64>,
    /// Last accepted delivery (UTC micros).
    pub last_used: Option<i64>,
}

/// An incident as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummary {
    /// Stable id.
    pub id: String,
    /// `open`, `acked`, `resolved`.
    pub state: String,
    /// Source.
    pub source: String,
    /// Alert fingerprint.
    pub fingerprint: String,
    /// Severity.
    pub severity: Severity,
    /// Summary.
    pub summary: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Opened (UTC micros).
    pub opened_at: i64,
    /// Last change (UTC micros).
    pub updated_at: i64,
    /// Last resolved (UTC micros).
    pub resolved_at: Option<i64>,
    /// Firing alerts received.
    pub fired: u64,
    /// Times it reopened.
    pub reopened: u64,
    /// Whether it is flapping.
    pub flapping: bool,
}

/// An operator action on an incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentNote {
    /// Seq of the action.
    pub seq: u64,
    /// When (UTC micros).
    pub time: i64,
    /// Who.
    pub who: String,
    /// `ack`, `resolve`, `note`.
    pub op: String,
    /// Their note.
    pub note: Option<String>,
}

/// Turns a store entry into its protocol form.
pub fn raw_entry(entry: &vigil_store::Entry) -> RawEntry {
    RawEntry {
        seal: *entry.seal(),
        body: entry.body().map(hex::encode),
    }
}

/// Decodes a [`RawEntry`] body.
pub fn raw_body(entry: &RawEntry) -> Result<Option<Vec<u8>>, String> {
    entry
        .body
        .as_deref()
        .map(hex::decode)
        .transpose()
        .map_err(|e| format!("entry {}: body is not hex: {e}", entry.seal.seq))
}

/// Turns a store entry into an [`EventRecord`] (undecodable bodies show as `None`).
pub fn event_record(entry: &vigil_store::Entry) -> EventRecord {
    let seal = entry.seal();
    EventRecord {
        seq: seal.seq,
        time: seal.time,
        kind: entry
            .kind()
            .map_or_else(|| seal.kind.to_string(), |k| k.name().to_string()),
        epoch: seal.epoch,
        digest: seal.digest,
        link: seal.link,
        tag: seal.tag,
        event: entry.event().ok().flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_through_json() {
        let reqs = vec![
            Request::Status,
            Request::Emit {
                message: "m".into(),
                severity: Severity::Warning,
                labels: [("a".into(), "b".into())].into(),
            },
            Request::Events {
                kind: Some(EventKind::Auth),
                from: None,
                limit: Some(10),
            },
            Request::Incidents {
                state: Some("open".into()),
                limit: None,
            },
            Request::KeysList { limit: Some(3) },
            Request::SecretsList { limit: None },
            Request::SilencesList {
                all: true,
                limit: Some(1),
            },
            Request::Verify {
                deep: true,
                anchor: Some((5, Hash([1; 32]))),
            },
            Request::Reload,
        ];
        for r in reqs {
            let bytes = crate::frame::encode(&r).unwrap();
            let back: Request = crate::frame::decode(&bytes[4..]).unwrap();
            assert_eq!(back, r);
        }
        let json = serde_json::to_string(&Request::Show { seq: 3 }).unwrap();
        assert_eq!(json, r#"{"request":"show","seq":3}"#);
    }

    #[test]
    fn only_changes_are_mutating_and_each_request_needs_a_permission() {
        assert!(Request::Reload.is_mutating());
        assert!(!Request::Status.is_mutating());
        assert_eq!(Request::Chain.permission(), Permission::read(Area::Audit));
        assert_eq!(
            Request::Reload.permission(),
            Permission::write(Area::Config)
        );
    }

    #[test]
    fn deliveries_requests_and_answers_round_trip() {
        let reqs = [
            Request::DeliveriesList {
                state: Some("given_up".into()),
                receiver: Some("ops".into()),
                limit: Some(5),
            },
            Request::DeliveriesList {
                state: None,
                receiver: None,
                limit: None,
            },
            Request::NotifyTest {
                receiver: "ops".into(),
            },
        ];
        for r in reqs {
            let bytes = crate::frame::encode(&r).unwrap();
            let back: Request = crate::frame::decode(&bytes[4..]).unwrap();
            assert_eq!(back, r);
        }
        let json = serde_json::to_string(&Request::NotifyTest {
            receiver: "ops".into(),
        })
        .unwrap();
        assert_eq!(json, r#"{"request":"notify_test","receiver":"ops"}"#);
        let totals = Response::DeliveryTotals(DeliveryTotals {
            pending: 1,
            sent: 4,
            given_up: 1,
            failed_attempts: 6,
            intended: 6,
        });
        let answer = Response::Deliveries {
            deliveries: vec![DeliveryListing {
                id: "n1-0".into(),
                notification: "n1".into(),
                intent_seq: 7,
                receiver: "ops".into(),
                integration: "webhook/0".into(),
                state: "failed".into(),
                attempts: 2,
                alerts: 3,
                firing: 1,
                cause: "fallback".into(),
                fallback_for: Some("n0-0".into()),
                created_at: 1,
                updated_at: 2,
                detail: "HTTP 503 (retry in 20s)".into(),
            }],
        };
        let end = Response::ListEnd(ListEnd {
            listed: 1,
            truncated: Some(Truncated {
                limit: 1,
                matching: Some(9),
            }),
        });
        for frame in [totals, answer, end] {
            let bytes = crate::frame::encode(&frame).unwrap();
            let back: Response = crate::frame::decode(&bytes[4..]).unwrap();
            assert_eq!(back, frame);
        }
    }

    #[test]
    fn listing_deliveries_reads_and_a_test_notification_writes() {
        let list = Request::DeliveriesList {
            state: None,
            receiver: None,
            limit: None,
        };
        let test = Request::NotifyTest {
            receiver: "ops".into(),
        };
        assert_eq!(list.permission(), Permission::read(Area::Notifications));
        assert_eq!(test.permission(), Permission::write(Area::Notifications));
        assert!(!list.is_mutating());
        assert!(test.is_mutating(), "a test notification is audited");
        assert_eq!(list.name(), "deliveries.list");
        assert_eq!(test.name(), "notify.test");
    }
}
