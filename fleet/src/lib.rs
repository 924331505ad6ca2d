//! The fleet: every host's chain carried by NATS JetStream, and checked
//! centrally.
//!
//! Each vigild forwards its log, entry by entry, to one stream
//! ([`publish`]); anyone holding the hosts' verification keys reads the
//! stream back and verifies every host's chain with the store's own rules
//! ([`check`], [`read`]). The records are the export's entry lines, so the
//! wire format does not depend on the broker ([`wire`]).
//!
//! This crate knows NATS and the records; it knows nothing of the daemon's
//! configuration or its control socket.

pub mod check;
pub mod connect;
mod error;
pub mod forward;
pub mod publish;
pub mod read;
pub mod wire;

pub use check::{FleetCheck, FleetReport, HostReport};
pub use connect::{Endpoint, Login, Tls};
pub use error::FleetError;
pub use forward::forward_range;
pub use publish::{Acked, Outgoing, Position, Publisher, StreamSettings, Window};
pub use read::{Seen, StreamReader};
