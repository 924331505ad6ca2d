//! `[notify] allow` entries: parsing, matching, and which ones are broad
//! enough for `vigil doctor` to question.
//!
//! Entries are parsed strictly (dotted-decimal IPv4, standard IPv6): the
//! lenient notations accepted in URLs exist to be checked, not to be
//! written in configuration.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::error::PolicyError;
use super::host;

/// One allowlist entry, with where it came from for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) index: usize,
    pub(crate) text: String,
    pub(crate) rule: Rule,
}

/// What an entry admits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Addresses in the range (a single address is a /32 or /128).
    Net(IpNet),
    /// Exactly this host name.
    Name(String),
    /// Names strictly below this one: `*.corp.example` stores `corp.example`.
    Below(String),
    /// `*`: every name.
    AnyName,
}

impl Entry {
    pub(crate) fn parse(index: usize, text: &str) -> Result<Self, PolicyError> {
        let error = |reason: &str| PolicyError::Entry {
            index,
            entry: text.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = text.trim();
        let rule = if trimmed.is_empty() {
            return Err(error("the entry is empty"));
        } else if trimmed.contains("://") {
            return Err(error(
                "an entry is a host name, address or range, not a URL; drop the scheme and path",
            ));
        } else if trimmed.contains('/') {
            let net: IpNet = trimmed
                .parse()
                .map_err(|_| error("not a CIDR range; write it as 10.1.0.0/16 or fd00:1::/48"))?;
            // 10.1.2.3/16 means 10.1.0.0/16 to anyone who writes it.
            Rule::Net(net.trunc())
        } else if let Some(ip) = parse_ip(trimmed) {
            Rule::Net(IpNet::from(ip))
        } else if trimmed == "*" {
            Rule::AnyName
        } else if let Some(parent) = trimmed.strip_prefix("*.") {
            Rule::Below(parse_name(parent).map_err(error)?)
        } else {
            Rule::Name(parse_name(trimmed).map_err(error)?)
        };
        Ok(Self {
            index,
            text: text.to_owned(),
            rule,
        })
    }

    /// Whether the entry admits the (normalised) host name.
    pub(crate) fn admits_name(&self, name: &str) -> bool {
        match &self.rule {
            Rule::Name(entry) => name == entry,
            Rule::Below(parent) => name
                .strip_suffix(parent.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            Rule::AnyName => true,
            Rule::Net(_) => false,
        }
    }

    /// Whether the entry admits the (canonical) address.
    pub(crate) fn admits_addr(&self, ip: IpAddr) -> bool {
        matches!(&self.rule, Rule::Net(net) if net.contains(&ip))
    }

    pub(crate) fn is_net(&self) -> bool {
        matches!(self.rule, Rule::Net(_))
    }

    /// Why doctor should question this entry, if it should.
    pub(crate) fn broad_reasons(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        match &self.rule {
            Rule::Net(net) => {
                let (short, floor) = match net {
                    IpNet::V4(v4) => (v4.prefix_len() < 16, "/16"),
                    IpNet::V6(v6) => (v6.prefix_len() < 48, "/48"),
                };
                if short {
                    reasons.push(format!(
                        "covers a range wider than {floor} ({net}); list the hosts or a narrower range"
                    ));
                }
                if LOOPBACK.iter().any(|lo| overlaps(net, lo)) {
                    reasons.push(
                        "covers loopback addresses, so a notification could reach services on this machine"
                            .to_owned(),
                    );
                }
                if METADATA.iter().any(|&ip| net.contains(&ip)) {
                    reasons.push(
                        "covers the cloud metadata address 169.254.169.254, which serves instance credentials"
                            .to_owned(),
                    );
                }
            }
            Rule::Name(name) | Rule::Below(name) if host::is_localhost(name) => {
                reasons.push("names this machine (loopback)".to_owned());
            }
            Rule::Name(_) => {}
            Rule::Below(parent) if !parent.contains('.') => reasons.push(format!(
                "matches every name under the top-level domain .{parent}, any of which may resolve to private addresses and use plain http"
            )),
            Rule::Below(_) => {}
            Rule::AnyName => reasons.push(
                "matches every host name, so any name may resolve to private addresses and use plain http"
                    .to_owned(),
            ),
        }
        reasons
    }
}

/// Loopback as IPv4, IPv6, and IPv4-mapped: an entry overlapping any of
/// these lets notifications reach this machine.
const LOOPBACK: [IpNet; 3] = [
    IpNet::V4(ipnet::Ipv4Net::new_assert(Ipv4Addr::new(127, 0, 0, 0), 8)),
    IpNet::V6(ipnet::Ipv6Net::new_assert(Ipv6Addr::LOCALHOST, 128)),
    IpNet::V6(ipnet::Ipv6Net::new_assert(
        Ipv4Addr::new(127, 0, 0, 0).to_ipv6_mapped(),
        104,
    )),
];

/// Where clouds serve instance credentials (AWS also over IPv6).
const METADATA: [IpAddr; 3] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V6(Ipv4Addr::new(169, 254, 169, 254).to_ipv6_mapped()),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
];

/// Two ranges of one family overlap when one contains the other's start.
fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// A plain address, IPv6 optionally in brackets.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let unbracketed = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(text);
    unbracketed.parse().ok()
}

fn parse_name(text: &str) -> Result<String, &'static str> {
    let name = host::normalize_name(text);
    if name.is_empty() || name.contains('*') {
        return Err("not a host name; a wildcard is a bare * or *. followed by a domain");
    }
    if host::ends_in_number(&name) {
        return Err("not a valid IP address; write IPv4 addresses in dotted decimal (10.0.0.5)");
    }
    host::check_name(&name).map_err(
        |_| "not a valid host name (letters, digits, '-', '_' and dots; no scheme, port or path)",
    )?;
    Ok(name)
}
