//! The guard's errors, worded for the operator who has to act on them.
//!
//! No error carries a URL's path or query: webhook URLs (Slack's above
//! all) hold their secret there, and errors end up in logs, in `vigilctl`
//! output and in the audit trail. Only scheme, host and port appear.

use std::net::IpAddr;

use super::classify::{Reason, canonical};

/// Why a destination was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Blocked {
    /// The URL is not one the guard will read.
    #[error("not a usable notification URL: {reason}")]
    Malformed {
        /// What is wrong, in words that never quote the URL.
        reason: &'static str,
    },
    /// The scheme is not one notifications use.
    #[error("scheme {scheme:?} is not supported; use https (or smtps for mail)")]
    Scheme {
        /// The scheme, lowercased.
        scheme: String,
    },
    /// The host looks like a number but is no IPv4 address.
    #[error(
        "host {host} looks like a number but is not a valid IPv4 address; such a host is never looked up in DNS"
    )]
    NumericHost {
        /// The host as written, lowercased.
        host: String,
    },
    /// Plain http or smtp to a destination that is not allowlisted.
    #[error(
        "{origin} uses plain {scheme}; use {encrypted}, or add {host} to [notify] allow if intended (plain {scheme} is permitted only to allowlisted destinations)"
    )]
    Plaintext {
        /// `scheme://host:port`.
        origin: String,
        /// The plaintext scheme.
        scheme: &'static str,
        /// The scheme to use instead.
        encrypted: &'static str,
        /// The host.
        host: String,
    },
    /// `localhost` or a name below it, not allowlisted by name.
    #[error("{host} names this machine (loopback); add {host} to [notify] allow if intended")]
    Localhost {
        /// The host.
        host: String,
    },
    /// An address (written, or one of those the host resolves to) is
    /// special and not allowlisted.
    #[error("{}", address_message(.host, *.addr, .reason, *.resolved))]
    Address {
        /// The host, as [`Destination`](super::Destination) errors name it.
        host: String,
        /// The offending address.
        addr: IpAddr,
        /// Why it is special.
        reason: Reason,
        /// Whether `addr` came from resolving `host` (rather than being
        /// written in the URL).
        resolved: bool,
    },
    /// The resolver failed or timed out.
    #[error("could not resolve {host}: {error}")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's error.
        error: String,
    },
    /// The resolver answered with no address.
    #[error("{host} resolves to no address")]
    NoAddress {
        /// The host.
        host: String,
    },
}

fn address_message(host: &str, addr: IpAddr, reason: &Reason, resolved: bool) -> String {
    let what = if resolved {
        format!("{host} resolves to {addr}, {reason}")
    } else if host.trim_matches(['[', ']']) == addr.to_string() {
        format!("{host} is {reason}")
    } else {
        format!("host {host} is {reason}")
    };
    // Entries match the address a connection really uses (::ffff:a.b.c.d
    // is a.b.c.d), so that is the one to suggest.
    let entry = canonical(addr);
    let advice = if reason.kind.always_refused() {
        "such an address is refused even when allowlisted".to_owned()
    } else if resolved {
        format!("add {host} or {entry} to [notify] allow if intended")
    } else {
        format!("add {entry} to [notify] allow if intended")
    };
    format!("{what}; {advice}")
}

/// An `[notify] allow` entry that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The entry is none of: an IP address, a CIDR range, a host name, or
    /// `*.` followed by a host name.
    #[error("[notify] allow[{index}] = {entry:?}: {reason}")]
    Entry {
        /// Position in the list, from 0.
        index: usize,
        /// The entry as configured.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
}
