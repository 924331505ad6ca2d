//! Requests paired with the answer they get: a [`Call`] carries a request
//! and how to read its answer, so a client asks for a `Call<StatusReport>`
//! and gets a `StatusReport` back, or an error naming the frame that came
//! instead. The pairings live here, once, rather than at every call site.
//!
//! [`Listing`] does the same for listings: their pages, and the header
//! frame some send first; [`Tracked`] for a request answered by progress
//! frames, then its result (a file scan). Streams (follow, the raw chain)
//! and verification (progress, then a report) are read frame by frame.

use crate::request::{
    AuditRequest, DaemonRequest, DeliveriesRequest, EventsRequest, FilesRequest, IncidentsRequest,
    KeysRequest, LogsRequest, RetentionRequest, SecretsRequest, SilencesRequest,
};
use crate::{
    DeliveryFilter, DeliveryListing, DeliveryTotals, Erased, EventRecord, FileDetail, FileListing,
    FilesHeader, Finding, FinishedScan, IncidentNote, IncidentState, IncidentSummary, KeyListing,
    LogListing, LogTestReport, LoginsReport, LogsHeader, Request, Response, RetentionRan,
    RetentionStatus, ScanProgress, SecretListing, SilenceListing, StatusReport, WireSecret,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use vigil_store::{EventKind, Head, IncidentOp, Severity};

/// How a frame is read as a `T`, or handed back when it is something else.
type Reader<T> = fn(Response) -> Result<T, Box<Response>>;

/// A request and how to read its one answer.
pub struct Call<R> {
    request: Request,
    answer: Reader<R>,
}

impl<R> Call<R> {
    /// The request to send.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The answer in `frame`, or the frame back when it is something else.
    pub fn answer(&self, frame: Response) -> Result<R, Box<Response>> {
        (self.answer)(frame)
    }
}

/// An incident as `incidents show` answers it.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentDetail {
    /// The incident.
    pub incident: Box<IncidentSummary>,
    /// Operator actions.
    pub annotations: Vec<IncidentNote>,
    /// The events that carried its alerts, oldest first.
    pub history: Vec<EventRecord>,
}

/// Declares each request's constructor with the answer it gets, and the
/// [`Answer`] the daemon builds that answer with: one pairing, read by one
/// side and written by the other.
macro_rules! calls {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),*) -> $reply:ty {
            $request:expr, [$($answer:tt)+] => [$($out:tt)+]
        }
    )+) => {
        impl Request {
            $(
                $(#[$doc])*
                pub fn $name($($arg: $ty),*) -> Call<$reply> {
                    Call {
                        request: $request,
                        answer: |frame| match frame {
                            $($answer)+ => Ok($($out)+),
                            other => Err(Box::new(other)),
                        },
                    }
                }
            )+
        }

        impl Answer {
            $(
                #[doc = concat!("The frame answering [`Request::", stringify!($name), "`].")]
                pub fn $name(reply: $reply) -> Response {
                    let $($out)+ = reply;
                    $($answer)+
                }
            )+
        }
    };
}

/// The frames the daemon answers with, one constructor per request, named
/// as the request's: `Answer::status(report)` builds the answer to `status`
/// from exactly what `Request::status()` reads back. The daemon's handlers
/// answer only through these (the frames themselves stay public, for tests
/// of the raw protocol).
pub struct Answer;

calls! {
    /// Daemon status.
    fn status() -> Box<StatusReport> {
        DaemonRequest::Status.into(), [Response::Status(report)] => [report]
    }
    /// Where forwarding to the fleet stands (none: not configured).
    fn forward_status() -> Option<Box<crate::ForwardStatus>> {
        DaemonRequest::Forward.into(), [Response::Forward { status }] => [status]
    }
    /// Posture checks, worst first.
    fn doctor() -> Vec<Finding> {
        DaemonRequest::Doctor.into(), [Response::Doctor { findings }] => [findings]
    }
    /// Re-read the configuration file; what happened.
    fn reload() -> String {
        DaemonRequest::Reload.into(), [Response::Reloaded { message }] => [message]
    }
    /// Append a custom event; its position once durable.
    fn emit(message: String, severity: Severity, labels: BTreeMap<String, String>) -> Head {
        EventsRequest::Emit { message, severity, labels }.into(), [Response::Appended { head }] => [head]
    }
    /// One event.
    fn show(seq: u64) -> Box<EventRecord> {
        EventsRequest::Show { seq }.into(), [Response::Event { event }] => [event]
    }
    /// Recent connections and denials.
    fn logins(limit: u32) -> LoginsReport {
        AuditRequest::Logins { limit }.into(), [Response::Logins(report)] => [report]
    }
    /// Store a secret.
    fn secrets_set(name: String, value: WireSecret) -> String {
        SecretsRequest::Set { name, value }.into(), [Response::SecretsChanged { message }] => [message]
    }
    /// Delete a secret.
    fn secrets_delete(name: String, force: bool) -> String {
        SecretsRequest::Delete { name, force }.into(), [Response::SecretsChanged { message }] => [message]
    }
    /// New data key, every secret re-encrypted.
    fn secrets_rotate() -> String {
        SecretsRequest::Rotate.into(), [Response::SecretsChanged { message }] => [message]
    }
    /// Re-wrap the keyring under the master key in a file.
    fn secrets_rewrap(new_key_file: PathBuf) -> String {
        SecretsRequest::Rewrap { new_key_file }.into(), [Response::SecretsChanged { message }] => [message]
    }
    /// Create an API key: its listing and, this once, the key.
    fn keys_create(
        name: String,
        sources: Vec<String>,
        scopes: Vec<vigil_store::KeyScope>,
        expires_in_secs: Option<u64>
    ) -> (KeyListing, WireSecret) {
        KeysRequest::Create { name, sources, scopes, expires_in_secs }.into(),
        [Response::KeyCreated { key, secret }] => [(key, secret)]
    }
    /// Revoke an API key.
    fn keys_revoke(id: String) -> String {
        KeysRequest::Revoke { id }.into(), [Response::Done { message }] => [message]
    }
    /// One incident and its history.
    fn incident_show(id: String) -> IncidentDetail {
        IncidentsRequest::Show { id }.into(),
        [Response::Incident { incident, annotations, history }] => [IncidentDetail {
            incident,
            annotations,
            history,
        }]
    }
    /// Ack, resolve or annotate an incident.
    fn incident_act(id: String, op: IncidentOp, note: Option<String>) -> String {
        IncidentsRequest::Act { id, op, note }.into(), [Response::Done { message }] => [message]
    }
    /// Mute notifications for alerts matching every matcher.
    fn silences_add(
        matchers: Vec<String>,
        duration_secs: u64,
        starts_in_secs: Option<u64>,
        comment: String
    ) -> String {
        SilencesRequest::Add { matchers, duration_secs, starts_in_secs, comment }.into(),
        [Response::Done { message }] => [message]
    }
    /// End a silence now.
    fn silences_expire(id: String) -> String {
        SilencesRequest::Expire { id }.into(), [Response::Done { message }] => [message]
    }
    /// Send a test notification to a receiver.
    fn notify_test(receiver: String) -> String {
        DeliveriesRequest::Test { receiver }.into(), [Response::Done { message }] => [message]
    }
    /// One path: its attributes as last recorded and its history.
    fn files_show(path: String) -> Box<FileDetail> {
        FilesRequest::Show { path }.into(), [Response::File(detail)] => [detail]
    }
    /// The configured rules (a set's, or one) tried on lines; nothing is
    /// recorded.
    fn logs_test(lines: Vec<String>, set: Option<String>, rule: Option<String>) -> Box<LogTestReport> {
        LogsRequest::Test { lines, set, rule }.into(), [Response::LogTest(report)] => [report]
    }
    /// Per kind: what is kept, and what a retention run now would remove.
    fn retention_status() -> Box<RetentionStatus> {
        RetentionRequest::Status.into(), [Response::RetentionStatus(status)] => [status]
    }
    /// Run retention now (or say what a run would do).
    fn retention_run(dry_run: bool) -> Box<RetentionRan> {
        RetentionRequest::Run { dry_run }.into(), [Response::RetentionRan(ran)] => [ran]
    }
    /// Drop the bodies of matching events, recorded with who and why.
    fn erase(
        labels: Vec<(String, String)>,
        kind: Option<EventKind>,
        since: Option<i64>,
        until: Option<i64>,
        reason: String
    ) -> Erased {
        RetentionRequest::Erase { labels, kind, since, until, reason }.into(),
        [Response::Erased(erased)] => [erased]
    }
}

/// A listing request and how to read its frames: an optional header
/// (`H`, sent once before the pages), then pages of `T`, then `ListEnd`.
pub struct Listing<T, H = ()> {
    request: Request,
    header: Option<Reader<H>>,
    page: Reader<Vec<T>>,
}

/// One frame of a listing, read.
#[derive(Debug, PartialEq)]
pub enum Listed<T, H> {
    /// The header.
    Header(H),
    /// A page of items.
    Page(Vec<T>),
    /// The end, with the count and whether a limit cut it.
    End(crate::ListEnd),
}

impl<T, H> Listing<T, H> {
    /// The request to send.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// What `frame` is in this listing, or the frame back when it belongs
    /// to none of its parts.
    pub fn read(&self, frame: Response) -> Result<Listed<T, H>, Box<Response>> {
        if let Response::ListEnd(end) = frame {
            return Ok(Listed::End(end));
        }
        let frame = match self.header {
            Some(header) => match header(frame) {
                Ok(h) => return Ok(Listed::Header(h)),
                Err(other) => *other,
            },
            None => frame,
        };
        (self.page)(frame).map(Listed::Page)
    }
}

/// Declares each listing's constructor with its header and page frames,
/// and the [`Answer`]s that build them (a page under the listing's name, a
/// header under the name given).
macro_rules! listings {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),*) -> Listing<$item:ty $(, $head:ty)?> {
            $request:expr,
            [$($page:tt)+] => [$($items:tt)+]
            $(; header $hname:ident [$($hpat:tt)+] => [$($hout:tt)+])?
        }
    )+) => {
        impl Request {
            $(
                $(#[$doc])*
                pub fn $name($($arg: $ty),*) -> Listing<$item $(, $head)?> {
                    Listing {
                        request: $request,
                        header: listings!(@header $([$($hpat)+] => [$($hout)+])?),
                        page: |frame| match frame {
                            $($page)+ => Ok($($items)+),
                            other => Err(Box::new(other)),
                        },
                    }
                }
            )+
        }

        impl Answer {
            $(
                #[doc = concat!("A page of [`Request::", stringify!($name), "`]'s listing.")]
                pub fn $name(page: Vec<$item>) -> Response {
                    let $($items)+ = page;
                    $($page)+
                }
                $(
                    #[doc = concat!("The header of [`Request::", stringify!($name), "`]'s listing.")]
                    pub fn $hname(header: $head) -> Response {
                        let $($hout)+ = header;
                        $($hpat)+
                    }
                )?
            )+
        }
    };
    (@header) => { None };
    (@header [$($hpat:tt)+] => [$($hout:tt)+]) => {
        Some(|frame| match frame {
            $($hpat)+ => Ok($($hout)+),
            other => Err(Box::new(other)),
        })
    };
}

listings! {
    /// Events, oldest first: from `from`, or the newest `limit`.
    fn events_list(kind: Option<EventKind>, from: Option<u64>, limit: Option<u64>) -> Listing<EventRecord> {
        EventsRequest::List { kind, from, limit }.into(),
        [Response::Events { events }] => [events]
    }
    /// Secrets' metadata, after where the master key came from.
    fn secrets_list(limit: Option<u64>) -> Listing<SecretListing, Option<String>> {
        SecretsRequest::List { limit }.into(),
        [Response::Secrets { secrets }] => [secrets];
        header secrets_source [Response::SecretsSource { master_key }] => [master_key]
    }
    /// API keys by id.
    fn keys_list(limit: Option<u64>) -> Listing<KeyListing> {
        KeysRequest::List { limit }.into(),
        [Response::Keys { keys }] => [keys]
    }
    /// Incidents, newest first.
    fn incidents_list(state: Option<IncidentState>, limit: Option<u64>) -> Listing<IncidentSummary> {
        IncidentsRequest::List { state, limit }.into(),
        [Response::Incidents { incidents }] => [incidents]
    }
    /// Silences, oldest first.
    fn silences_list(all: bool, limit: Option<u64>) -> Listing<SilenceListing> {
        SilencesRequest::List { all, limit }.into(),
        [Response::Silences { silences }] => [silences]
    }
    /// Deliveries, newest first, after the totals.
    fn deliveries_list(
        state: Option<DeliveryFilter>,
        receiver: Option<String>,
        limit: Option<u64>
    ) -> Listing<DeliveryListing, DeliveryTotals> {
        DeliveriesRequest::List { state, receiver, limit }.into(),
        [Response::Deliveries { deliveries }] => [deliveries];
        header delivery_totals [Response::DeliveryTotals(totals)] => [totals]
    }
    /// Recorded paths by path (under `path`, if given), after the count,
    /// the roots baselined and the scans.
    fn files_list(path: Option<String>) -> Listing<FileListing, Box<FilesHeader>> {
        FilesRequest::List { path }.into(),
        [Response::Files { files }] => [files];
        header files_header [Response::FilesHeader(header)] => [header]
    }
    /// Followed sources by set and path (of `set`, if given), after the
    /// counts.
    fn logs_list(set: Option<String>) -> Listing<LogListing, Box<LogsHeader>> {
        LogsRequest::List { set }.into(),
        [Response::Logs { logs }] => [logs];
        header logs_header [Response::LogsHeader(header)] => [header]
    }
}

/// A request answered by progress frames (`P`), as many as the daemon
/// sends, then one result (`R`), its last frame.
pub struct Tracked<P, R> {
    request: Request,
    progress: Reader<P>,
    result: Reader<R>,
}

/// One frame of a tracked request, read.
#[derive(Debug, PartialEq)]
pub enum Step<P, R> {
    /// How far it has got.
    Progress(P),
    /// Its result: nothing follows.
    Done(R),
}

impl<P, R> Tracked<P, R> {
    /// The request to send.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// What `frame` is in this answer, or the frame back when it is
    /// neither progress nor the result.
    pub fn read(&self, frame: Response) -> Result<Step<P, R>, Box<Response>> {
        match (self.progress)(frame) {
            Ok(progress) => Ok(Step::Progress(progress)),
            Err(other) => (self.result)(*other).map(Step::Done),
        }
    }
}

/// Declares each tracked request's constructor with its progress and
/// result frames, and the [`Answer`]s that build them (the result under
/// the request's name, the progress under the name given).
macro_rules! tracked {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),*) -> Tracked<$progress:ty, $result:ty> {
            $request:expr,
            progress $pname:ident [$($ppat:tt)+] => [$($pout:tt)+];
            [$($answer:tt)+] => [$($out:tt)+]
        }
    )+) => {
        impl Request {
            $(
                $(#[$doc])*
                pub fn $name($($arg: $ty),*) -> Tracked<$progress, $result> {
                    Tracked {
                        request: $request,
                        progress: |frame| match frame {
                            $($ppat)+ => Ok($($pout)+),
                            other => Err(Box::new(other)),
                        },
                        result: |frame| match frame {
                            $($answer)+ => Ok($($out)+),
                            other => Err(Box::new(other)),
                        },
                    }
                }
            )+
        }

        impl Answer {
            $(
                #[doc = concat!("The result of [`Request::", stringify!($name), "`], its last frame.")]
                pub fn $name(result: $result) -> Response {
                    let $($out)+ = result;
                    $($answer)+
                }
                #[doc = concat!("A progress frame of [`Request::", stringify!($name), "`].")]
                pub fn $pname(progress: $progress) -> Response {
                    let $($pout)+ = progress;
                    $($ppat)+
                }
            )+
        }
    };
}

tracked! {
    /// A full scan of every watched path now: how far it has got, then
    /// what it found.
    fn files_scan() -> Tracked<ScanProgress, Box<FinishedScan>> {
        FilesRequest::Scan.into(),
        progress files_scan_progress [Response::ScanProgress(progress)] => [progress];
        [Response::ScanFinished(finished)] => [finished]
    }
}
