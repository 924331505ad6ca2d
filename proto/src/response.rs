//! Response frames.

use crate::*;
use serde::{Deserialize, Serialize};
use vigil_store::{Head, VerifyReport};

/// A response frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "snake_case")]
pub enum Response {
    /// To [`Request::Status`].
    Status(Box<StatusReport>),
    /// To [`DaemonRequest::Forward`](crate::DaemonRequest::Forward) (none: not configured).
    Forward {
        /// The status.
        status: Option<Box<crate::ForwardStatus>>,
    },
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
    /// To [`RetentionRequest::Status`](crate::RetentionRequest::Status).
    RetentionStatus(Box<RetentionStatus>),
    /// To [`RetentionRequest::Run`](crate::RetentionRequest::Run).
    RetentionRan(Box<RetentionRan>),
    /// To [`RetentionRequest::Erase`](crate::RetentionRequest::Erase).
    Erased(Erased),
    /// A piece of an export's text: lines may continue in the next frame.
    ExportLines {
        /// UTF-8 text.
        text: String,
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
    /// First frame of a [`FilesRequest::List`] listing.
    FilesHeader(Box<FilesHeader>),
    /// A page of recorded paths.
    Files {
        /// By path.
        files: Vec<FileListing>,
    },
    /// To [`FilesRequest::Show`].
    File(Box<FileDetail>),
    /// How far the scan [`FilesRequest::Scan`] started has got.
    ScanProgress(ScanProgress),
    /// Last frame of [`FilesRequest::Scan`]: what the scan found.
    ScanFinished(Box<FinishedScan>),
    /// First frame of a [`LogsRequest::List`] listing.
    LogsHeader(Box<LogsHeader>),
    /// A page of followed sources.
    Logs {
        /// By set, then path.
        logs: Vec<LogListing>,
    },
    /// To [`LogsRequest::Test`]: what the rules made of the lines.
    LogTest(Box<LogTestReport>),
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
