//! The host part of a destination: a DNS name, or an IP address in any
//! notation a lenient resolver would accept.
//!
//! `getaddrinfo` hands a numeric-looking host to `inet_aton`, which reads
//! `0x7f.1`, `2130706433` and `0177.0.0.1` as 127.0.0.1. If such a host
//! were checked as a name (and found to be no private address) the
//! connection could still land on the loopback interface. So a host whose
//! last label looks like a number (the WHATWG URL rule) is parsed here the
//! way `inet_aton` parses it, and refused outright if that fails: it is
//! never passed to DNS.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::Blocked;

/// The longest host name DNS can carry.
const MAX_NAME_LEN: usize = 253;
/// The longest label DNS can carry.
const MAX_LABEL_LEN: usize = 63;

/// A destination's host, normalised.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name: lowercase ASCII, without a trailing dot.
    Name(String),
    /// An IP address, in whatever notation it was written.
    Ip(IpAddr),
}

impl Host {
    /// The name for TLS SNI and certificate checks: the DNS name, or the
    /// address without brackets.
    pub fn server_name(&self) -> String {
        match self {
            Self::Name(name) => name.clone(),
            Self::Ip(ip) => ip.to_string(),
        }
    }
}

impl fmt::Display for Host {
    /// As it goes in a URL or `Host` header: IPv6 in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Ip(IpAddr::V4(v4)) => write!(f, "{v4}"),
            Self::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]"),
        }
    }
}

/// Parses the text between `[` and `]` of a URL's authority.
pub(crate) fn parse_bracketed(text: &str) -> Result<Host, Blocked> {
    if text.contains('%') {
        // A zone names an interface of this machine: fe80::1%eth0 reaches
        // the local link whatever the address is.
        return Err(Blocked::Malformed {
            reason: "IPv6 zone identifiers (%eth0) are refused; they name a local interface",
        });
    }
    // std accepts only the RFC 4291 forms (dotted decimal for an embedded
    // IPv4 address), which is what every resolver agrees on.
    text.parse::<Ipv6Addr>()
        .map(|v6| Host::Ip(IpAddr::V6(v6)))
        .map_err(|_| Blocked::Malformed {
            reason: "the text in brackets is not an IPv6 address",
        })
}

/// Parses a host written without brackets: a name, or an IPv4 address in
/// any `inet_aton` notation. Case is folded and one trailing dot dropped.
pub(crate) fn parse_unbracketed(text: &str) -> Result<Host, Blocked> {
    let name = normalize_name(text);
    if name.is_empty() {
        return Err(Blocked::Malformed {
            reason: "the URL has no host",
        });
    }
    if ends_in_number(&name) {
        return inet_aton(&name)
            .map(|v4| Host::Ip(IpAddr::V4(v4)))
            .ok_or(Blocked::NumericHost { host: name });
    }
    check_name(&name)?;
    Ok(Host::Name(name))
}

/// Lowercase, without one trailing dot: `LOCALHOST.` and `localhost` are
/// the same name to a resolver, so they must be the same name here.
pub(crate) fn normalize_name(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    match lower.strip_suffix('.') {
        Some(stripped) => stripped.to_owned(),
        None => lower,
    }
}

/// Whether the name is `localhost` or below it (RFC 6761: such names
/// resolve to loopback, so they are never asked of DNS).
pub(crate) fn is_localhost(name: &str) -> bool {
    name == "localhost" || name.ends_with(".localhost")
}

/// Letters, digits, `-` and `_` in labels of 1 to 63 bytes, 253 in all.
/// Anything else (`%`, `[`, a space) is refused rather than guessed at.
pub(crate) fn check_name(name: &str) -> Result<(), Blocked> {
    let malformed = |reason| Err(Blocked::Malformed { reason });
    if name.len() > MAX_NAME_LEN {
        return malformed("the host name is longer than 253 bytes");
    }
    for label in name.split('.') {
        if label.is_empty() {
            return malformed("the host name has an empty label (two dots in a row)");
        }
        if label.len() > MAX_LABEL_LEN {
            return malformed("a label of the host name is longer than 63 bytes");
        }
        if label.starts_with('-') {
            return malformed("a label of the host name starts with '-'");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return malformed(
                "the host name has a character other than letters, digits, '-', '_' and '.'",
            );
        }
    }
    Ok(())
}

/// The WHATWG "ends in a number" test: the last label is all digits or
/// `0x` followed by hex digits. Such a host is an IPv4 address or nothing.
pub(crate) fn ends_in_number(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    hex_digits(last).is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Parses an IPv4 address as glibc's `inet_aton` does: one to four parts
/// separated by dots, each decimal, octal (leading `0`) or hex (`0x`); all
/// parts but the last are single bytes, the last fills the remaining bytes
/// (`127.1` is 127.0.0.1, `10.65535` is 10.0.255.255).
pub(crate) fn inet_aton(text: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let values = parts
        .iter()
        .map(|part| parse_part(part))
        .collect::<Option<Vec<u32>>>()?;
    let (&last, leading) = values.split_last()?;
    let mut address: u32 = 0;
    for (i, &byte) in leading.iter().enumerate() {
        if byte > 0xff {
            return None;
        }
        address |= byte << (24 - 8 * i);
    }
    // The last part fills the bytes the leading ones left: 32 bits after
    // none, 24 after one, 16 after two, 8 after three.
    let room = 32 - 8 * leading.len();
    if room < 32 && last >= 1 << room {
        return None;
    }
    Some(Ipv4Addr::from(address | last))
}

/// One part of an `inet_aton` address, or `None` if it is not a number
/// that fits in 32 bits.
fn parse_part(part: &str) -> Option<u32> {
    let (digits, radix) = if let Some(hex) = hex_digits(part) {
        // glibc reads a bare "0x" as zero; so do we (it is refused as
        // unspecified anyway).
        (hex, 16)
    } else if part.len() > 1 && part.starts_with('0') {
        (&part[1..], 8)
    } else {
        (part, 10)
    };
    if part.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        // Also keeps out the '+' that from_str_radix would accept.
        return None;
    }
    // Leading zeros do not change the value, however many there are.
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Some(0);
    }
    u32::from_str_radix(significant, radix).ok()
}

fn hex_digits(part: &str) -> Option<&str> {
    part.strip_prefix("0x").or_else(|| part.strip_prefix("0X"))
}
