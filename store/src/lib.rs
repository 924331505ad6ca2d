//! Vigil's event log: a hash-chained, forward-sealed, append-only log of
//! [`Event`]s on an embedded [fjall](https://docs.rs/fjall) store.
//!
//! This crate owns the on-disk format and nothing else: no HTTP, no sockets,
//! no async runtime. It provides
//!
//! * the event model ([`Event`], [`EventKind`]) and its stable encoding;
//! * the chain ([`chain`]): digests, links and per-epoch tags;
//! * forward-secure sealing keys ([`EpochKey`], [`VerificationKey`]);
//! * [`Log`]: create/open, group-committed durable appends through one
//!   writer thread, reads and replay, epoch advance, retention (prune
//!   bodies, truncate behind a checkpoint, reclaim space);
//! * verification ([`Log::verify`], [`EntryRules`]);
//! * [`export`]s: a range of the log as JSON lines, verifiable offline;
//! * the [`vault`]: secret values encrypted under a keyring of data keys
//!   wrapped by a master key, in their own keyspace (never in the log), and
//!   [`SecretValue`], the in-memory type that cannot be printed.
//!
//! The byte-level format is specified in `docs/storage.md`.
//!
//! ```
//! use vigil_store::{Log, LogOptions, Event, Custom, Actor, Severity, VerifyOptions};
//! # let dir = tempfile::tempdir().unwrap();
//! let log = Log::create(&dir.path().join("store"), &dir.path().join("vk"), LogOptions::default())?;
//! let head = log.append(&Event::Custom(Custom {
//!     actor: Actor::Daemon,
//!     severity: Severity::Info,
//!     message: "hello".into(),
//!     labels: Default::default(),
//! }))?;
//! assert_eq!(head.seq, 2); // seq 1 is the genesis entry
//! assert!(log.verify(&VerifyOptions::default())?.ok);
//! # Ok::<(), vigil_store::StoreError>(())
//! ```

pub mod chain;
pub mod compact;
mod entry;
mod error;
pub mod event;
pub mod export;
mod hash;
pub mod head_file;
pub mod key_file;
pub mod layout;
mod log;
mod prune_ledger;
mod seal;
pub mod secret;
pub mod vault;
mod verify;
mod writer;

pub use chain::{Head, Seal};
pub use entry::{ENTRY_FORMAT, Entry, encode as encode_entry_value, key as entry_key};
pub use error::{Result, StoreError};
pub use event::*;
pub use hash::Hash;
pub use log::{
    EncodedSnapshot, Entries, Log, LogOptions, ViewSnapshot, now_micros, read_verification_key,
};
pub use seal::{EVOLVE_LABEL, EpochKey, StoreId, VERIFICATION_KEY_PREFIX, VerificationKey};
pub use secret::SecretValue;
pub use verify::{
    BodyCheck, EntryRules, Failure, Precheck, Problem, PruneAccount, StreamVerifier, VerifyOptions,
    VerifyReport,
};
pub use writer::{CommitListener, Cut, Durability, PruneOutcome, WriterStats};
