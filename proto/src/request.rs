//! Requests, by command family, and what each needs to be served.
//!
//! On the wire a request names its family and then the request within it:
//! `{"family":"keys","request":"create","name":"ci",...}`. Each family
//! answers for its own requests: the permission they need, the name they
//! are audited under, and whether they change anything. A new family
//! (retention, export, collection) is a new enum here and an arm in
//! [`Request`].

use crate::access::{Area, Permission};
#[allow(unused_imports)] // doc links
use crate::deliveries::DELIVERIES_DEFAULT_LIMIT;
#[allow(unused_imports)] // doc links
use crate::logs::{LOG_TEST_BATCH_LINES, LOG_TEST_LINE_MAX};
use crate::wire_secret::WireSecret;
use crate::{DeliveryFilter, IncidentState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use vigil_store::{EventKind, Hash, IncidentOp, Severity};

/// A request. Each is authorized against [`Request::permission`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum Request {
    /// The daemon itself.
    Daemon(DaemonRequest),
    /// The event log.
    Events(EventsRequest),
    /// Audit material.
    Audit(AuditRequest),
    /// The secrets vault.
    Secrets(SecretsRequest),
    /// API keys.
    Keys(KeysRequest),
    /// Incidents.
    Incidents(IncidentsRequest),
    /// Silences.
    Silences(SilencesRequest),
    /// Notification deliveries.
    Deliveries(DeliveriesRequest),
    /// File integrity monitoring.
    Files(FilesRequest),
    /// Log collection.
    Logs(LogsRequest),
    /// Retention and erasure.
    Retention(RetentionRequest),
}

/// What every family says of its requests.
pub trait Family {
    /// What the caller needs to make this request.
    fn permission(&self) -> Permission;
    /// Whether it changes anything (and so is always recorded).
    fn is_mutating(&self) -> bool;
    /// A short name for logs and audit events.
    fn name(&self) -> &'static str;
}

impl Request {
    fn family(&self) -> &dyn Family {
        match self {
            Request::Daemon(r) => r,
            Request::Events(r) => r,
            Request::Audit(r) => r,
            Request::Secrets(r) => r,
            Request::Keys(r) => r,
            Request::Incidents(r) => r,
            Request::Silences(r) => r,
            Request::Deliveries(r) => r,
            Request::Files(r) => r,
            Request::Logs(r) => r,
            Request::Retention(r) => r,
        }
    }

    /// What the caller needs to make this request.
    pub fn permission(&self) -> Permission {
        self.family().permission()
    }

    /// Whether it changes anything (and so is always recorded).
    pub fn is_mutating(&self) -> bool {
        self.family().is_mutating()
    }

    /// A short name for logs and audit events.
    pub fn name(&self) -> &'static str {
        self.family().name()
    }
}

/// The daemon itself: status, posture, reload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum DaemonRequest {
    /// Daemon status.
    Status,
    /// Posture checks.
    Doctor,
    /// Re-read the configuration file.
    Reload,
    /// Where forwarding to the fleet stands.
    Forward,
}

impl Family for DaemonRequest {
    fn permission(&self) -> Permission {
        match self {
            DaemonRequest::Status => Permission::read(Area::Status),
            DaemonRequest::Doctor => Permission::read(Area::Audit),
            DaemonRequest::Reload => Permission::write(Area::Config),
            DaemonRequest::Forward => Permission::read(Area::Status),
        }
    }

    fn is_mutating(&self) -> bool {
        matches!(self, DaemonRequest::Reload)
    }

    fn name(&self) -> &'static str {
        match self {
            DaemonRequest::Status => "status",
            DaemonRequest::Doctor => "doctor",
            DaemonRequest::Reload => "reload",
            DaemonRequest::Forward => "forward.status",
        }
    }
}

/// The event log: emit, list, follow, show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum EventsRequest {
    /// Append a custom event; answered once it is durable.
    Emit {
        /// Message.
        message: String,
        /// Severity.
        severity: Severity,
        /// Labels.
        labels: BTreeMap<String, String>,
    },
    /// Events, oldest first: a listing of the entries up to the head when
    /// it began.
    List {
        /// Only this kind.
        kind: Option<EventKind>,
        /// Start at this seq and take the first `limit` ...
        from: Option<u64>,
        /// ... or, without `from`, the newest `limit`; none: every one.
        limit: Option<u64>,
    },
    /// Events from `from` on, then every new one as it is committed (a
    /// stream of `Events` pages that ends only when the client hangs up).
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
}

impl Family for EventsRequest {
    fn permission(&self) -> Permission {
        match self {
            EventsRequest::Emit { .. } => Permission::write(Area::Events),
            _ => Permission::read(Area::Events),
        }
    }

    fn is_mutating(&self) -> bool {
        matches!(self, EventsRequest::Emit { .. })
    }

    fn name(&self) -> &'static str {
        match self {
            EventsRequest::Emit { .. } => "emit",
            EventsRequest::List { .. } => "events",
            EventsRequest::Follow { .. } => "follow",
            EventsRequest::Show { .. } => "show",
        }
    }
}

/// Audit material: logins, verification, the raw chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum AuditRequest {
    /// Recent connections and denials.
    Logins {
        /// How many of each.
        limit: u32,
    },
    /// Verify the chain in the daemon (linkage, digests, epochs; no key is
    /// ever sent to the daemon): `Progress` frames, then `Verified`.
    Verify {
        /// Decode every body.
        deep: bool,
        /// A `(seq, link)` published earlier that must still be there.
        anchor: Option<(u64, Hash)>,
    },
    /// Stream the raw chain for verification by the client with its key:
    /// `ChainHeader`, `Chain` pages, `End`.
    Chain,
    /// Export a range of the log as JSON lines (`docs/export.md`):
    /// `ExportLines` frames, then `End`.
    Export(ExportRequest),
}

impl ExportRequest {
    /// The range it asks for.
    pub fn range(&self) -> vigil_store::export::ExportRange {
        vigil_store::export::ExportRange {
            from: self.from,
            to: self.to,
            since: self.since,
            until: self.until,
        }
    }

    /// What it asks to have in full.
    pub fn filter(&self) -> vigil_store::export::ExportFilter {
        vigil_store::export::ExportFilter {
            kinds: self.kinds.clone(),
            source: self.source.clone(),
        }
    }
}

/// What to export; every bound is optional and they combine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRequest {
    /// First seq.
    pub from: Option<u64>,
    /// Last seq.
    pub to: Option<u64>,
    /// Entries at or after this time (UTC micros).
    pub since: Option<i64>,
    /// Entries at or before this time (UTC micros).
    pub until: Option<i64>,
    /// Only these kinds in full (none: all).
    pub kinds: Option<Vec<vigil_store::EventKind>>,
    /// Only this source's events in full.
    pub source: Option<String>,
}

impl Family for AuditRequest {
    fn permission(&self) -> Permission {
        Permission::read(Area::Audit)
    }

    fn is_mutating(&self) -> bool {
        false
    }

    fn name(&self) -> &'static str {
        match self {
            AuditRequest::Logins { .. } => "logins",
            AuditRequest::Verify { .. } => "verify",
            AuditRequest::Chain => "chain",
            AuditRequest::Export(_) => "export",
        }
    }
}

/// The secrets vault: values in, metadata out, never values out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum SecretsRequest {
    /// Store a secret (the value travels once, in this frame).
    Set {
        /// Name.
        name: String,
        /// Value.
        value: WireSecret,
    },
    /// Secrets' metadata, by name; never values. A listing whose header
    /// says where the master key came from.
    List {
        /// At most this many (none: all).
        limit: Option<u64>,
    },
    /// Delete a secret.
    Delete {
        /// Name.
        name: String,
        /// Even while the configuration references it.
        force: bool,
    },
    /// New data key; every secret re-encrypted; unused keys erased.
    Rotate,
    /// Re-wrap the keyring under the master key in this file (read by the
    /// daemon: it must be owned by the daemon's user, mode 0600 or 0400).
    Rewrap {
        /// The new master key file.
        new_key_file: PathBuf,
    },
}

impl Family for SecretsRequest {
    fn permission(&self) -> Permission {
        match self {
            SecretsRequest::List { .. } => Permission::read(Area::Secrets),
            _ => Permission::write(Area::Secrets),
        }
    }

    fn is_mutating(&self) -> bool {
        !matches!(self, SecretsRequest::List { .. })
    }

    fn name(&self) -> &'static str {
        match self {
            SecretsRequest::Set { .. } => "secrets.set",
            SecretsRequest::List { .. } => "secrets.list",
            SecretsRequest::Delete { .. } => "secrets.delete",
            SecretsRequest::Rotate => "secrets.rotate",
            SecretsRequest::Rewrap { .. } => "secrets.rewrap",
        }
    }
}

/// API keys for ingestion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum KeysRequest {
    /// Create an API key; the raw key is in the answer, once.
    Create {
        /// Human name.
        name: String,
        /// Sources it may post to (empty: all; only with the ingest scope).
        sources: Vec<String>,
        /// What it may do (empty: `ingest`).
        #[serde(default)]
        scopes: Vec<vigil_store::KeyScope>,
        /// Lifetime in seconds (none: until revoked).
        expires_in_secs: Option<u64>,
    },
    /// API keys by id (digests never leave the daemon). A listing.
    List {
        /// At most this many (none: all).
        limit: Option<u64>,
    },
    /// Revoke an API key.
    Revoke {
        /// Its id (or display prefix).
        id: String,
    },
}

impl Family for KeysRequest {
    fn permission(&self) -> Permission {
        match self {
            KeysRequest::List { .. } => Permission::read(Area::Keys),
            _ => Permission::write(Area::Keys),
        }
    }

    fn is_mutating(&self) -> bool {
        !matches!(self, KeysRequest::List { .. })
    }

    fn name(&self) -> &'static str {
        match self {
            KeysRequest::Create { .. } => "keys.create",
            KeysRequest::List { .. } => "keys.list",
            KeysRequest::Revoke { .. } => "keys.revoke",
        }
    }
}

/// Incidents: list, show, act.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum IncidentsRequest {
    /// Incidents, newest first. A listing.
    List {
        /// Only incidents in this state.
        state: Option<IncidentState>,
        /// At most this many (none: all).
        limit: Option<u64>,
    },
    /// One incident and its alert history.
    Show {
        /// Its id.
        id: String,
    },
    /// Ack, resolve or annotate an incident.
    Act {
        /// Its id.
        id: String,
        /// What to do.
        op: IncidentOp,
        /// A note.
        note: Option<String>,
    },
}

impl Family for IncidentsRequest {
    fn permission(&self) -> Permission {
        match self {
            IncidentsRequest::Act { .. } => Permission::write(Area::Incidents),
            _ => Permission::read(Area::Incidents),
        }
    }

    fn is_mutating(&self) -> bool {
        matches!(self, IncidentsRequest::Act { .. })
    }

    fn name(&self) -> &'static str {
        match self {
            IncidentsRequest::List { .. } => "incidents.list",
            IncidentsRequest::Show { .. } => "incidents.show",
            IncidentsRequest::Act { .. } => "incidents.act",
        }
    }
}

/// Silences: add, list, expire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum SilencesRequest {
    /// Mute notifications for alerts matching every matcher.
    Add {
        /// `name=value`, `name!=value`, `name=~re`, `name!~re`.
        matchers: Vec<String>,
        /// How long, from the start.
        duration_secs: u64,
        /// Start this many seconds from now (default: now).
        starts_in_secs: Option<u64>,
        /// Why (required).
        comment: String,
    },
    /// Silences: pending and active, or also recently ended. A listing.
    List {
        /// Include ended silences.
        all: bool,
        /// At most this many (none: all).
        limit: Option<u64>,
    },
    /// End a silence now.
    Expire {
        /// Its id.
        id: String,
    },
}

impl Family for SilencesRequest {
    fn permission(&self) -> Permission {
        match self {
            SilencesRequest::List { .. } => Permission::read(Area::Silences),
            _ => Permission::write(Area::Silences),
        }
    }

    fn is_mutating(&self) -> bool {
        !matches!(self, SilencesRequest::List { .. })
    }

    fn name(&self) -> &'static str {
        match self {
            SilencesRequest::Add { .. } => "silences.add",
            SilencesRequest::List { .. } => "silences.list",
            SilencesRequest::Expire { .. } => "silences.expire",
        }
    }
}

/// Notification deliveries, and test notifications.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum DeliveriesRequest {
    /// Deliveries, newest first. A listing whose header holds the totals.
    List {
        /// Only deliveries this admits.
        state: Option<DeliveryFilter>,
        /// Only this receiver.
        receiver: Option<String>,
        /// At most this many (none: all; `vigilctl` asks for
        /// [`DELIVERIES_DEFAULT_LIMIT`] unless told otherwise).
        limit: Option<u64>,
    },
    /// Send a test notification to a receiver (recorded as an intent, then
    /// delivered like any other).
    Test {
        /// Receiver name.
        receiver: String,
    },
}

impl Family for DeliveriesRequest {
    fn permission(&self) -> Permission {
        match self {
            DeliveriesRequest::List { .. } => Permission::read(Area::Notifications),
            DeliveriesRequest::Test { .. } => Permission::write(Area::Notifications),
        }
    }

    fn is_mutating(&self) -> bool {
        matches!(self, DeliveriesRequest::Test { .. })
    }

    fn name(&self) -> &'static str {
        match self {
            DeliveriesRequest::List { .. } => "deliveries.list",
            DeliveriesRequest::Test { .. } => "notify.test",
        }
    }
}

/// File integrity monitoring: the baseline, one path's history, a scan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum FilesRequest {
    /// The paths recorded, by path, after a header (count, roots
    /// baselined, the last scan, the scan under way). A listing.
    List {
        /// Only this path and what is below it.
        path: Option<String>,
    },
    /// One path: its attributes as last recorded and its records from the
    /// log.
    Show {
        /// The path (absolute).
        path: String,
    },
    /// A full scan of every watched path now: progress frames, then what
    /// it found. It appends to the log, so it is audited.
    Scan,
}

impl Family for FilesRequest {
    fn permission(&self) -> Permission {
        match self {
            FilesRequest::Scan => Permission::write(Area::Files),
            _ => Permission::read(Area::Files),
        }
    }

    fn is_mutating(&self) -> bool {
        matches!(self, FilesRequest::Scan)
    }

    fn name(&self) -> &'static str {
        match self {
            FilesRequest::List { .. } => "files.list",
            FilesRequest::Show { .. } => "files.show",
            FilesRequest::Scan => "files.scan",
        }
    }
}

/// Log collection: the followed sources, and the rules tried on lines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum LogsRequest {
    /// Every followed file and journal, and every configured one never
    /// read, by set and path, after a header (counts). A listing.
    List {
        /// Only this set.
        set: Option<String>,
    },
    /// The configured rules tried on these lines, as the collector tries
    /// them; nothing is recorded or counted.
    Test {
        /// The lines, without their newlines (at most
        /// [`LOG_TEST_BATCH_LINES`], each at most [`LOG_TEST_LINE_MAX`]
        /// bytes).
        lines: Vec<String>,
        /// The rules of this set (with its severity and JSON field);
        /// none: every rule.
        set: Option<String>,
        /// Only this rule.
        rule: Option<String>,
    },
}

impl Family for LogsRequest {
    fn permission(&self) -> Permission {
        Permission::read(Area::Logs)
    }

    fn is_mutating(&self) -> bool {
        false
    }

    fn name(&self) -> &'static str {
        match self {
            LogsRequest::List { .. } => "logs.list",
            LogsRequest::Test { .. } => "logs.test",
        }
    }
}

macro_rules! into_request {
    ($($family:ident => $variant:ident,)+) => {
        $(
            impl From<$family> for Request {
                fn from(r: $family) -> Request {
                    Request::$variant(r)
                }
            }
        )+
    };
}

into_request! {
    DaemonRequest => Daemon,
    EventsRequest => Events,
    AuditRequest => Audit,
    SecretsRequest => Secrets,
    KeysRequest => Keys,
    IncidentsRequest => Incidents,
    SilencesRequest => Silences,
    DeliveriesRequest => Deliveries,
    FilesRequest => Files,
    LogsRequest => Logs,
    RetentionRequest => Retention,
}

/// Retention: what is kept and what a run would remove, a run now, erasure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum RetentionRequest {
    /// Per kind: retained, oldest, bytes, and what a run now would remove.
    Status,
    /// Run retention now (`RetentionRan`); with `dry_run`, only say what it would do.
    Run {
        /// Change nothing.
        dry_run: bool,
    },
    /// Drop the bodies of matching events, recorded with who and why.
    Erase {
        /// `(label, value)` pairs every matching event carries.
        labels: Vec<(String, String)>,
        /// Only this kind.
        kind: Option<vigil_store::EventKind>,
        /// Only events at or after this time (UTC micros).
        since: Option<i64>,
        /// Only events at or before this time (UTC micros).
        until: Option<i64>,
        /// Why (recorded).
        reason: String,
    },
}

impl Family for RetentionRequest {
    fn permission(&self) -> Permission {
        match self {
            RetentionRequest::Status | RetentionRequest::Run { dry_run: true } => {
                Permission::read(Area::Retention)
            }
            _ => Permission::write(Area::Retention),
        }
    }

    fn is_mutating(&self) -> bool {
        !matches!(
            self,
            RetentionRequest::Status | RetentionRequest::Run { dry_run: true }
        )
    }

    fn name(&self) -> &'static str {
        match self {
            RetentionRequest::Status => "retention.status",
            RetentionRequest::Run { .. } => "retention.run",
            RetentionRequest::Erase { .. } => "erase",
        }
    }
}
