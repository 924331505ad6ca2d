//! The guard every outbound notification connection passes (webhooks,
//! Slack, PagerDuty, SMTP), so that a receiver URL cannot be used to reach
//! this machine, the private network or a cloud metadata service.
//!
//! The flow is parse, check, connect:
//!
//! 1. [`Destination::parse`] reads the URL strictly: `https`, `http`,
//!    `smtps` or `smtp`, a host, an optional port, a path and query; no
//!    credentials (`user@`), no fragment, nothing a lenient parser could read
//!    differently. A host that looks like a number is read as `inet_aton`
//!    reads it (`0x7f.1`, `2130706433`, `0177.0.0.1` are all 127.0.0.1), so
//!    what is checked is what a lenient resolver would connect to; one that
//!    looks numeric but is no valid address is refused, never sent to DNS.
//! 2. [`Policy::check`] resolves the host once and refuses it if *any*
//!    answer is loopback, private, link-local, shared (CGNAT), unspecified,
//!    multicast, broadcast, documentation, benchmarking or reserved, also
//!    when such an IPv4 address is embedded in an IPv6 one (mapped,
//!    compatible, NAT64, 6to4). `localhost` and `*.localhost` never reach DNS.
//!    The result is a [`Pinned`] target: the name for SNI and `Host`, and
//!    the addresses that were vetted.
//! 3. [`connect()`] opens a TCP connection to exactly those addresses, so a DNS
//!    answer that changes between check and connect (rebinding) is never
//!    used.
//!
//! # The allowlist
//!
//! `[notify] allow` is the only way to reach an internal destination. An
//! entry is an IP address (`10.0.0.5`), a CIDR range (`10.1.0.0/16`), an
//! exact host name (`hooks.internal`) or a wildcard over the names below a
//! domain (`*.corp.example`, which does not match `corp.example` itself).
//!
//! * An allowlisted **name** may resolve to any address except those that
//!   are never a destination (unspecified, multicast, broadcast).
//! * An allowlisted **address or range** admits those addresses whatever
//!   name led to them.
//! * **Plain `http` (and `smtp`) is permitted only to allowlisted
//!   destinations**: the host name matches a name entry, or every address
//!   it resolves to lies in an address entry. Everything else must use
//!   `https` (or `smtps`), since the guard cannot see whether a STARTTLS
//!   upgrade happens.
//! * The name `localhost` is admitted only by a name entry (`localhost`,
//!   `*.localhost` or `*`); the entry `127.0.0.1` admits
//!   `http://127.0.0.1:PORT/` but not `http://localhost:PORT/`.
//!
//! # What the client must do
//!
//! The HTTP and SMTP clients own the rest of the defence: connect only with
//! [`connect()`] on a [`Pinned`] target, follow no redirect
//! ([`MAX_REDIRECTS`]; a `Location` would skip this guard), read at most
//! [`MAX_RESPONSE_BODY`] bytes of any response, ignore `HTTP_PROXY` and
//! friends, and never log [`Destination::path_and_query`], which holds the
//! secret of a Slack or similar webhook URL. Nothing in this module puts a
//! path or query in an error or in `Debug` output.

mod allow;
mod classify;
mod connect;
mod error;
mod host;
mod policy;
mod resolve;
mod url;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use classify::Reason;
pub use connect::{ConnectError, connect};
pub use error::{Blocked, PolicyError};
pub use host::Host;
pub use policy::{Pinned, Policy};
pub use resolve::{Resolver, SystemResolver};
pub use url::{Destination, Scheme};

/// Redirects a notification client may follow: none. A redirect target has
/// not been through [`Policy::check`]; a 3xx answer is a delivery failure.
pub const MAX_REDIRECTS: usize = 0;

/// The most bytes of a response body a notification client should read;
/// receivers answer with a status and a short message at most.
pub const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// A sensible per-address timeout for [`connect()`].
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`Policy::check`] waits for the system resolver.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// At most this many vetted addresses are kept in a [`Pinned`] target (all
/// answers are vetted, the first ones kept), which bounds how long
/// [`connect()`] can spend trying them.
pub const MAX_PINNED_ADDRESSES: usize = 8;

/// The longest URL [`Destination::parse`] accepts.
pub const MAX_URL_LEN: usize = 8 * 1024;
