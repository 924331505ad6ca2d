//! Requests, and what each needs to be served.

use crate::access::{Area, Permission};
#[allow(unused_imports)] // doc links
use crate::deliveries::DELIVERIES_DEFAULT_LIMIT;
use crate::wire_secret::WireSecret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigil_store::{EventKind, Hash, Severity};

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
        /// Only incidents in this state.
        state: Option<crate::IncidentState>,
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
        /// Only deliveries this admits.
        state: Option<crate::DeliveryFilter>,
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
