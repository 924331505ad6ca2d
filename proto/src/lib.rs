//! The control protocol between `vigild` and `vigilctl`.
//!
//! A control connection is a Unix stream socket carrying *frames*: a 4-byte
//! big-endian length, then that many bytes of JSON ([`frame`]). The client
//! opens with [`Hello`] naming its protocol version; the server answers
//! [`HelloReply`] (welcome, with the caller's identity and role, or a
//! rejection such as a version mismatch). Then each [`Request`] is answered
//! by one or more [`Response`] frames (streams end with [`Response::End`];
//! listings, whose pages each fit a frame, with [`Response::ListEnd`]).
//!
//! The caller's identity is never claimed by the client: the daemon reads
//! it from the socket (`SO_PEERCRED`) and maps it to a role ([`access`]).
//!
//! This crate holds the messages and their rules (which permission each
//! request needs, which requests are audited as changes) and nothing that
//! does I/O beyond reading and writing one frame.

pub mod names;

pub mod access;
pub mod audit;
pub mod call;
pub mod deliveries;
pub mod error;
pub mod events;
pub mod files;
pub mod frame;
pub mod handshake;
pub mod incidents;
pub mod keys;
pub mod listing;
pub mod logs;
pub mod request;
pub mod response;
pub mod retention;
pub mod secrets;
pub mod silences;
pub mod status;
pub mod wire_secret;

#[cfg(test)]
mod tests;

pub use access::{Access, Area, Permission, PermissionSet, Role};
pub use audit::{
    BodyNotHex, ChainHeader, Finding, FindingSeverity, LoginRecord, LoginsReport, RawEntry,
    VerifySummary, raw_body, raw_entry,
};
pub use call::{Answer, Call, IncidentDetail, Listed, Listing, Step, Tracked};
pub use deliveries::{
    DELIVERIES_DEFAULT_LIMIT, DeliveryCause, DeliveryFilter, DeliveryListing, DeliveryTotals,
};
pub use error::{ErrorBody, ErrorCode};
pub use events::{EventRecord, event_record};
pub use files::{
    FILE_HISTORY_LIMIT, FileDetail, FileHistory, FileListing, FileState, FilesHeader, FilesStatus,
    FinishedScan, RunningScan, ScanProgress,
};
pub use frame::FrameError;
pub use handshake::{Hello, HelloReply, Identity, PROTOCOL_VERSION};
pub use incidents::{IncidentNote, IncidentState, IncidentSummary};
pub use keys::KeyListing;
pub use listing::{ListEnd, PAGE_TARGET, Truncated};
pub use logs::{
    LOG_TEST_BATCH_LINES, LOG_TEST_LINE_MAX, LOG_TEST_SAMPLES, LogChange, LogListing, LogPlace,
    LogRuleTested, LogSourceState, LogTestExclusion, LogTestMatch, LogTestReport, LogThreshold,
    LogsHeader, LogsStatus,
};
pub use names::UnknownName;
pub use request::{
    AuditRequest, DaemonRequest, DeliveriesRequest, EventsRequest, ExportRequest, Family,
    FilesRequest, IncidentsRequest, KeysRequest, LogsRequest, Request, RetentionRequest,
    SecretsRequest, SilencesRequest,
};
pub use response::Response;
pub use retention::{Erased, KindRetention, RetentionCounts, RetentionRan, RetentionStatus};
pub use secrets::SecretListing;
pub use silences::{SilenceListing, SilenceState};
pub use status::{ForwardStatus, StatusReport};
pub use wire_secret::WireSecret;
