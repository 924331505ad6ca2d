//! Exports: a contiguous range of the log as JSON lines, framed by a header
//! and a trailer, that an auditor verifies with no store and no daemon.
//!
//! The format is specified in `docs/export.md`: [`plan`] decides the range
//! and writes nothing, [`Exporter`] writes the lines, [`verify_export`]
//! reads them back and checks them with the same rules as [`Log::verify`]
//! (through a [`StreamVerifier`](crate::StreamVerifier)).
//!
//! [`Log::verify`]: crate::Log::verify

mod canonical;
mod check;
mod lines;
mod record;
mod write;

pub use check::{ExportReport, verify_export};
pub use lines::{
    Before, EXPORT_VERSION, ExportFilter, ExportHeader, HEADER_SEAL_LABEL, HeaderSeal, Record,
    Trailer,
};
pub use record::{EntryRecord, entry_record};
pub use write::{ExportRange, Exporter, before, export_to, plan};
