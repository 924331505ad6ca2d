//! Payloads of the [`Event`](super::Event) variants.
//!
//! Frozen once shipped (see the parent module). Times are UTC microseconds
//! since the Unix epoch. Attributes that break postcard (`flatten`,
//! `skip_serializing_if`, internally tagged enums) are not used here.

use crate::hash::Hash;
use crate::seal::StoreId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Label or annotation set; sorted so encodings are deterministic.
pub type Labels = BTreeMap<String, String>;

/// Who caused an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The daemon itself.
    Daemon,
    /// A local process on the control socket (credentials from `SO_PEERCRED`).
    Local {
        /// Peer uid.
        uid: u32,
        /// Peer primary gid.
        gid: u32,
        /// Peer pid.
        pid: u32,
        /// User name, if it resolved.
        user: Option<String>,
    },
    /// An HTTP caller holding an API key.
    ApiKey {
        /// Key id.
        id: String,
        /// Display prefix (never the secret part).
        prefix: String,
    },
    /// An unauthenticated remote peer.
    Remote {
        /// Peer address.
        addr: String,
    },
    /// A configured source or collector.
    Source {
        /// Its configured name.
        name: String,
    },
    /// A file dropped into the spool directory: its owner is the author.
    Spool {
        /// The file's owner uid.
        uid: u32,
        /// The file's name inside `incoming/`.
        file: String,
    },
}

/// Severity of an alert or free-form event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    Info,
    /// Needs attention eventually.
    Warning,
    /// Something failed.
    Error,
    /// Someone must act now.
    Critical,
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "warning" | "warn" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            "critical" | "crit" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity `{s}`; expected info, warning, error or critical"
            )),
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        })
    }
}

/// `Genesis`: the first entry of every store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Genesis {
    /// The store's random identity.
    pub store_id: StoreId,
    /// Store format version at creation.
    pub format: u32,
    /// Software that created it.
    pub software: String,
}

/// `EpochStarted`: the first entry sealed with a new epoch key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStarted {
    /// The new epoch (equal to the entry's epoch).
    pub epoch: u64,
    /// Why it advanced: `create`, `start`, `timer`, `recovered`, `request`.
    pub reason: String,
}

/// Opaque state a view hands to a checkpoint so it survives truncation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewState {
    /// View name.
    pub view: String,
    /// The view's own state format version.
    pub version: u32,
    /// Encoded state as of the cut.
    #[serde(with = "serde_bytes")]
    pub state: Vec<u8>,
}

/// `Checkpoint`: the prefix `1..=cut_seq` was truncated.
///
/// Carries the chain fields of entry `cut_seq`, so the entry after the cut
/// still links, and its tag, so a verifier holding the key can authenticate
/// the cut itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Last truncated seq.
    pub cut_seq: u64,
    /// Its time.
    pub cut_time: i64,
    /// Its epoch.
    pub cut_epoch: u64,
    /// Its link.
    pub cut_link: Hash,
    /// Its tag.
    pub cut_tag: Hash,
    /// The checkpoint this one supersedes, if any.
    pub previous: Option<u64>,
    /// View states as of `cut_seq`.
    pub views: Vec<ViewState>,
}

/// Firing or resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// The condition holds.
    Firing,
    /// The condition cleared.
    Resolved,
}

/// An alert normalized from any source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable identity for grouping into incidents.
    pub fingerprint: String,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// Normalized severity.
    pub severity: Severity,
    /// One-line summary (redacted).
    pub summary: String,
    /// Identifying labels (redacted).
    pub labels: Labels,
    /// Descriptive annotations (redacted).
    pub annotations: Labels,
    /// When it started, if the source said.
    pub starts_at: Option<i64>,
    /// When it ended, if the source said.
    pub ends_at: Option<i64>,
    /// Links back to the source (credentials stripped).
    pub links: Vec<String>,
}

/// `AlertsIngested`: one accepted delivery carrying alerts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertsIngested {
    /// Configured source name.
    pub source: String,
    /// Driver that parsed it.
    pub driver: String,
    /// Delivery id, when the sender supplies one.
    pub delivery_id: Option<String>,
    /// Who delivered it.
    pub actor: Actor,
    /// The normalized alerts.
    pub alerts: Vec<Alert>,
    /// The redacted raw payload, only when the source stores raw payloads.
    pub raw: Option<String>,
}

/// `WebhookReceived`: an accepted delivery that carried no alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookReceived {
    /// Configured source name.
    pub source: String,
    /// Driver that parsed it.
    pub driver: String,
    /// Delivery id, when the sender supplies one.
    pub delivery_id: Option<String>,
    /// Who delivered it.
    pub actor: Actor,
    /// The sender's event type (e.g. `push`).
    pub event_type: String,
    /// One-line summary (redacted).
    pub summary: String,
    /// The redacted raw payload, only when the source stores raw payloads.
    pub raw: Option<String>,
}

/// Attributes of a file as seen by integrity monitoring.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileState {
    /// SHA-256 of the content (absent for non-regular files).
    pub sha256: Option<Hash>,
    /// Size in bytes.
    pub size: u64,
    /// Permission and type bits.
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Modification time.
    pub mtime: i64,
}

/// What happened to a watched file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileChange {
    /// Recorded in the baseline.
    Baseline,
    /// Appeared.
    Created,
    /// Content changed.
    Modified,
    /// Disappeared.
    Deleted,
    /// Mode or owner changed.
    Metadata,
}

/// `FileChanged`: file integrity monitoring saw a change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileChanged {
    /// Watched path.
    pub path: String,
    /// What changed.
    pub change: FileChange,
    /// State before, if known.
    pub old: Option<FileState>,
    /// State after, if it still exists.
    pub new: Option<FileState>,
}

/// `LogMatched`: a followed log line matched a rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogMatched {
    /// The followed file.
    pub file: String,
    /// Identity of the file (device and inode), to follow rotation.
    pub file_id: String,
    /// Byte offset just past the line, so a restart resumes there.
    pub offset: u64,
    /// Rule that matched.
    pub rule: String,
    /// The line, redacted.
    pub line: String,
    /// The alert the rule produced, if any.
    pub alert: Option<Alert>,
}

/// Allowed or denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Allowed.
    Allow,
    /// Denied.
    Deny,
}

impl Decision {
    /// As the log and the protocol spell it.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `Auth`: one authentication or authorization decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthDecision {
    /// Who asked.
    pub actor: Actor,
    /// The role they were mapped to, if any.
    pub role: Option<String>,
    /// What they asked for (`connect`, `events.read`, `ingest:github`, ...).
    pub action: String,
    /// The decision.
    pub decision: Decision,
    /// Why, in words.
    pub reason: String,
    /// Whether the break-glass rule was used.
    pub break_glass: bool,
}

/// `AuthRejections`: rejections of one kind, counted over an interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthRejections {
    /// Where they came in (`control`, or an ingest source name).
    pub channel: String,
    /// Why they were rejected.
    pub reason: String,
    /// Who, when known (uid or address).
    pub actor: Option<Actor>,
    /// How many.
    pub count: u64,
    /// First rejection in the interval.
    pub first: i64,
    /// Last rejection in the interval.
    pub last: i64,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Decided to notify; nothing sent yet.
    Intended,
    /// An attempt is starting.
    Attempting,
    /// The receiver accepted it.
    Sent,
    /// The attempt failed; it will be retried.
    Failed,
    /// No more retries.
    GivenUp,
}

impl DeliveryState {
    /// As the log and the protocol spell it.
    pub fn name(self) -> &'static str {
        match self {
            DeliveryState::Intended => "intended",
            DeliveryState::Attempting => "attempting",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::GivenUp => "given_up",
        }
    }
}

impl std::fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `Notification`: a step of the durable outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Stable idempotency key of the delivery.
    pub delivery: String,
    /// Receiver name.
    pub receiver: String,
    /// Integration within the receiver (`webhook/0`, `email/1`, ...).
    pub integration: String,
    /// The step.
    pub state: DeliveryState,
    /// Attempt number (0 for the intent).
    pub attempt: u32,
    /// Incidents concerned.
    pub incidents: Vec<String>,
    /// Outcome detail (status code, error class); never a response body.
    pub detail: String,
}

/// Why the outbox was asked to notify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentCause {
    /// An aggregation group was due (the route tree's decision).
    Group,
    /// An operator asked for a test notification.
    Test {
        /// Who asked.
        actor: Actor,
    },
    /// A delivery to another receiver was given up; this is its fallback.
    Fallback {
        /// The delivery that was given up.
        delivery: String,
    },
}

/// One delivery an intent plans: one integration of the receiver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedDelivery {
    /// The delivery's idempotency key (a webhook's `webhook-id`).
    pub delivery: String,
    /// The integration (`webhook/0`, `email/1`, ...).
    pub integration: String,
}

/// `NotificationIntended`: the durable decision to notify a receiver about
/// a group of alerts, recorded before anything is sent. It carries what
/// every attempt renders, so a restart resends exactly this.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotificationIntent {
    /// The notification's id; its deliveries' keys start with it.
    pub id: String,
    /// Receiver name.
    pub receiver: String,
    /// Route id (`0.1`), empty for tests and fallbacks of them.
    pub route: String,
    /// Aggregation group key.
    pub group_key: String,
    /// The labels the group shares.
    pub group_labels: Labels,
    /// One per integration that takes this notification.
    pub deliveries: Vec<PlannedDelivery>,
    /// The alerts, firing first (at most a cap; see `omitted`).
    pub alerts: Vec<Alert>,
    /// How many alerts fire (all firing ones come first).
    pub firing: u32,
    /// Alerts of the group left out to bound the entry's size.
    pub omitted: u32,
    /// Why.
    pub cause: IntentCause,
}

/// `ConfigLoaded`: a configuration was read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigLoaded {
    /// The file, or `<embedded>`.
    pub path: String,
    /// SHA-256 of its bytes.
    pub digest: Hash,
    /// `start`, `sighup`, `file-changed`.
    pub trigger: String,
    /// Whether it was applied.
    pub applied: bool,
    /// The error when it was refused (file, line, column, reason).
    pub error: Option<String>,
}

/// What happened to an API key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyChange {
    /// A key was created; only its digest is kept.
    Created {
        /// Key id.
        id: String,
        /// Human name.
        name: String,
        /// Display prefix.
        prefix: String,
        /// SHA-256 of the full key.
        digest: Hash,
        /// Sources it may post to (empty: all).
        sources: Vec<String>,
        /// Expiry, if any.
        expires_at: Option<i64>,
        /// Who created it.
        actor: Actor,
    },
    /// A key was revoked.
    Revoked {
        /// Key id.
        id: String,
        /// Who revoked it.
        actor: Actor,
    },
    /// A key was created with explicit scopes (a key from `Created` has
    /// the one scope there was then: `ingest`).
    CreatedWithScopes {
        /// Key id.
        id: String,
        /// Human name.
        name: String,
        /// Display prefix.
        prefix: String,
        /// SHA-256 of the full key.
        digest: Hash,
        /// Sources it may post to (empty: all).
        sources: Vec<String>,
        /// What it may do (`ingest`, `alerts.read`, `silences.write`).
        scopes: Vec<String>,
        /// Expiry, if any.
        expires_at: Option<i64>,
        /// Who created it.
        actor: Actor,
    },
}

/// What an API key may do. Events keep scopes as text (a scope a later
/// build adds still decodes here); this names the ones there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KeyScope {
    /// Post alerts: `/v1/ingest/<source>` and Alertmanager's `POST /api/v2/alerts`.
    #[serde(rename = "ingest")]
    Ingest,
    /// Read Alertmanager's API: alerts, groups, silences, status, receivers.
    #[serde(rename = "alerts.read")]
    AlertsRead,
    /// Create and expire silences through Alertmanager's API.
    #[serde(rename = "silences.write")]
    SilencesWrite,
}

impl KeyScope {
    /// Every scope, in the order help texts list them.
    pub const ALL: [KeyScope; 3] = [
        KeyScope::Ingest,
        KeyScope::AlertsRead,
        KeyScope::SilencesWrite,
    ];

    /// As events and listings spell it.
    pub fn name(self) -> &'static str {
        match self {
            KeyScope::Ingest => "ingest",
            KeyScope::AlertsRead => "alerts.read",
            KeyScope::SilencesWrite => "silences.write",
        }
    }
}

impl std::fmt::Display for KeyScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for KeyScope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        KeyScope::ALL
            .into_iter()
            .find(|scope| scope.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = KeyScope::ALL.iter().map(|s| s.name()).collect();
                format!("unknown scope {s:?}; scopes: {}", known.join(", "))
            })
    }
}

/// What happened to a secret (never its value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretAction {
    /// Set or replaced.
    Set,
    /// Deleted.
    Deleted,
    /// Re-encrypted under a new data key.
    Rotated,
    /// Keyring re-wrapped under a new master key.
    Rewrapped,
}

/// `Secret`: a secret changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecretChange {
    /// Secret name (empty for keyring-wide actions).
    pub name: String,
    /// What happened.
    pub action: SecretAction,
    /// Data key id in use afterwards.
    pub key_id: Option<u32>,
    /// Who did it.
    pub actor: Actor,
}

/// An operator's action on an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentOp {
    /// Acknowledged.
    Ack,
    /// Resolved by hand.
    Resolve,
    /// A note was added.
    Note,
}

impl IncidentOp {
    /// As the log and the protocol spell it.
    pub fn name(self) -> &'static str {
        match self {
            IncidentOp::Ack => "ack",
            IncidentOp::Resolve => "resolve",
            IncidentOp::Note => "note",
        }
    }
}

impl std::fmt::Display for IncidentOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `IncidentAction`: an operator acted on an incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentAction {
    /// Incident id.
    pub incident: String,
    /// The action.
    pub op: IncidentOp,
    /// Operator's note.
    pub note: Option<String>,
    /// Who.
    pub actor: Actor,
}

/// `Silence`: notifications for alerts matching every matcher are muted
/// from `starts_at` to `ends_at`. The silence's id is this event's seq.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    /// Alertmanager-style matchers (`name=value`, `name!=value`,
    /// `name=~regex`, `name!~regex`), all of which must match.
    pub matchers: Vec<String>,
    /// Start, unix microseconds.
    pub starts_at: i64,
    /// End, unix microseconds.
    pub ends_at: i64,
    /// Why.
    pub comment: String,
    /// Who.
    pub actor: Actor,
}

/// `SilenceExpired`: a silence ended early.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SilenceExpired {
    /// The silence's id.
    pub silence: String,
    /// Who.
    pub actor: Actor,
}

/// `Retention`: a retention run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetentionRun {
    /// Policy that ran.
    pub policy: String,
    /// Bodies dropped.
    pub pruned: u64,
    /// New cut, if the prefix was truncated.
    pub truncated_to: Option<u64>,
    /// Bytes on disk before.
    pub bytes_before: u64,
    /// Bytes on disk after.
    pub bytes_after: u64,
}

/// `Custom`: a free-form event (`vigilctl emit`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Custom {
    /// Who emitted it.
    pub actor: Actor,
    /// Severity.
    pub severity: Severity,
    /// Message (redacted).
    pub message: String,
    /// Labels (redacted).
    pub labels: Labels,
}

/// Phase of the daemon's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Started and serving.
    Started,
    /// Stopping on request.
    Stopping,
}

/// `Lifecycle`: the daemon started or stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// Phase.
    pub phase: Phase,
    /// Software version.
    pub version: String,
    /// Process id.
    pub pid: u32,
    /// Free-form detail (e.g. why it is stopping).
    pub detail: String,
}

/// An inclusive range of seqs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeqRange {
    /// First seq.
    pub first: u64,
    /// Last seq (`>= first`).
    pub last: u64,
}

impl SeqRange {
    /// Collapses sorted, distinct seqs into the fewest ranges.
    pub fn collapse(sorted: &[u64]) -> Vec<SeqRange> {
        let mut out: Vec<SeqRange> = Vec::new();
        for &seq in sorted {
            match out.last_mut() {
                Some(r) if r.last.checked_add(1) == Some(seq) => r.last = seq,
                _ => out.push(SeqRange {
                    first: seq,
                    last: seq,
                }),
            }
        }
        out
    }

    /// Number of seqs in the range.
    pub fn count(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Whether `seq` is in the range.
    pub fn contains(&self, seq: u64) -> bool {
        (self.first..=self.last).contains(&seq)
    }
}

/// `Retention`: the bodies of these entries are about to be dropped.
///
/// Sealed in the same atomic batch that drops them, before them in the
/// batch, so every missing body is accounted for by a sealed entry: a body
/// missing without one was removed by someone else.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BodiesPruned {
    /// The entries whose bodies are dropped, sorted, disjoint.
    pub ranges: Vec<SeqRange>,
    /// Why (the retention policy, or the caller's reason).
    pub reason: String,
}

/// `System`: the store was found shorter than the head it recorded, and an
/// operator accepted that (`vigild --accept-truncation`).
///
/// Seqs after `found_seq` are reused from here on: entries that once had
/// them (and journal anchors naming them) are lost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TailLost {
    /// The head the store recorded (at its last epoch advance or stop).
    pub recorded_seq: u64,
    /// Its link.
    pub recorded_link: Hash,
    /// The head found on open.
    pub found_seq: u64,
    /// Its link.
    pub found_link: Hash,
    /// Who accepted it.
    pub actor: Actor,
}
