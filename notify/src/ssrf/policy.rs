//! The decision: is this destination reachable, and at which addresses.
//!
//! [`Policy::check_with`] resolves a name once, vets every answer, applies
//! the plaintext rule and returns a [`Pinned`] target carrying exactly the
//! vetted addresses; nothing downstream resolves the name again.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::allow::Entry;
use super::classify::{canonical, classify};
use super::error::{Blocked, PolicyError};
use super::host::{self, Host};
use super::resolve::{Resolver, SystemResolver};
use super::url::Destination;
use super::{MAX_PINNED_ADDRESSES, RESOLVE_TIMEOUT};

/// The operator's `[notify] allow` list; the default admits nothing
/// internal. See the [module documentation](super) for the rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    entries: Vec<Entry>,
}

/// A destination that passed the check, with the addresses to connect to.
///
/// Only [`Policy`] makes one. Connect with [`connect()`](super::connect()),
/// send [`Pinned::destination`]'s host for SNI and `Host`, and never
/// resolve the name again. `Debug` shows no path or query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pinned {
    destination: Destination,
    addrs: Vec<SocketAddr>,
}

impl Pinned {
    /// The destination that was checked.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// The vetted addresses, in the order to try them; never empty.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The name for TLS SNI and certificate checks.
    pub fn server_name(&self) -> String {
        self.destination.host().server_name()
    }
}

impl Policy {
    /// Parses `[notify] allow`.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Entry`] naming the first entry that is not an IP
    /// address, CIDR range, host name, `*.domain` or `*`.
    pub fn new<I, S>(entries: I) -> Result<Self, PolicyError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let entries = entries
            .into_iter()
            .enumerate()
            .map(|(index, text)| Entry::parse(index, text.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// Entries `vigil doctor` should question, one line each with its
    /// reasons: ranges wider than /16 (IPv4) or /48 (IPv6), anything
    /// covering loopback or the metadata address, `*`, and wildcards over a
    /// whole top-level domain.
    pub fn broad_entries(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter_map(|entry| {
                let reasons = entry.broad_reasons();
                (!reasons.is_empty()).then(|| {
                    format!(
                        "[notify] allow[{}] = {:?} {}",
                        entry.index,
                        entry.text,
                        reasons.join("; ")
                    )
                })
            })
            .collect()
    }

    /// Checks `destination`, resolving it with the system resolver.
    ///
    /// # Errors
    ///
    /// [`Blocked`] saying why, in words an operator can act on.
    pub async fn check(&self, destination: &Destination) -> Result<Pinned, Blocked> {
        self.check_with(destination, &SystemResolver).await
    }

    /// Checks `destination`, asking `resolver` at most once.
    ///
    /// # Errors
    ///
    /// [`Blocked`] saying why, in words an operator can act on.
    pub async fn check_with<R: Resolver>(
        &self,
        destination: &Destination,
        resolver: &R,
    ) -> Result<Pinned, Blocked> {
        let port = destination.port();
        let (name_admitted, answers, resolved) = match destination.host() {
            Host::Ip(ip) => (false, vec![*ip], false),
            Host::Name(name) => {
                let name_admitted = self.admits_name(name);
                let localhost = host::is_localhost(name);
                if localhost && !name_admitted {
                    return Err(Blocked::Localhost { host: name.clone() });
                }
                // Without an address entry, nothing DNS could answer would
                // make plaintext acceptable: refuse before asking.
                if !name_admitted && !self.entries.iter().any(Entry::is_net) {
                    self.check_plaintext(destination, false)?;
                }
                let answers = if localhost {
                    // RFC 6761: localhost is loopback; DNS is not asked.
                    vec![
                        IpAddr::V4(Ipv4Addr::LOCALHOST),
                        IpAddr::V6(Ipv6Addr::LOCALHOST),
                    ]
                } else {
                    resolve(resolver, name, port).await?
                };
                (name_admitted, answers, true)
            }
        };

        let host = destination.host_for_errors();
        let mut addrs: Vec<SocketAddr> = Vec::with_capacity(answers.len());
        let mut all_in_nets = true;
        // Every answer is vetted, even beyond the ones kept: one bad
        // answer means the name is not what the operator thinks it is.
        for ip in answers {
            let addr = self.vet(&host, name_admitted, ip, resolved)?;
            all_in_nets &= self.admits_addr(addr);
            let socket = SocketAddr::new(addr, port);
            if !addrs.contains(&socket) {
                addrs.push(socket);
            }
        }
        self.check_plaintext(destination, name_admitted || all_in_nets)?;
        addrs.truncate(MAX_PINNED_ADDRESSES);
        Ok(Pinned {
            destination: destination.clone(),
            addrs,
        })
    }

    /// Vets one address for `host` without resolving anything, and returns
    /// the address to connect to (an IPv4-mapped address as IPv4). `host`
    /// is the name that led to `ip` (its name entries apply), or the
    /// address itself.
    ///
    /// # Errors
    ///
    /// [`Blocked::Address`] when `ip` is special and not allowlisted.
    pub fn check_addr(&self, host: &str, ip: IpAddr) -> Result<IpAddr, Blocked> {
        let name = host::normalize_name(host);
        let literal = name.trim_matches(['[', ']']).parse::<IpAddr>().is_ok();
        let name_admitted = !literal && self.admits_name(&name);
        self.vet(&name, name_admitted, ip, !literal)
    }

    fn vet(
        &self,
        host: &str,
        name_admitted: bool,
        ip: IpAddr,
        resolved: bool,
    ) -> Result<IpAddr, Blocked> {
        let addr = canonical(ip);
        let Some(reason) = classify(ip) else {
            return Ok(addr);
        };
        if !reason.kind.always_refused() && (name_admitted || self.admits_addr(addr)) {
            return Ok(addr);
        }
        Err(Blocked::Address {
            host: host.to_owned(),
            addr: ip,
            reason,
            resolved,
        })
    }

    fn check_plaintext(&self, destination: &Destination, allowlisted: bool) -> Result<(), Blocked> {
        let scheme = destination.scheme();
        if !scheme.is_plaintext() || allowlisted {
            return Ok(());
        }
        Err(Blocked::Plaintext {
            origin: destination.origin(),
            scheme: scheme.as_str(),
            encrypted: scheme.encrypted().as_str(),
            host: destination.host().to_string(),
        })
    }

    fn admits_name(&self, name: &str) -> bool {
        self.entries.iter().any(|entry| entry.admits_name(name))
    }

    fn admits_addr(&self, addr: IpAddr) -> bool {
        self.entries.iter().any(|entry| entry.admits_addr(addr))
    }
}

/// One lookup, bounded in time, deduplicated later by the caller.
async fn resolve<R: Resolver>(resolver: &R, name: &str, port: u16) -> Result<Vec<IpAddr>, Blocked> {
    let error = |error: String| Blocked::Resolve {
        host: name.to_owned(),
        error,
    };
    let answers = tokio::time::timeout(RESOLVE_TIMEOUT, resolver.lookup(name, port))
        .await
        .map_err(|_| error(format!("no answer within {}s", RESOLVE_TIMEOUT.as_secs())))?
        .map_err(|e| error(e.to_string()))?;
    if answers.is_empty() {
        return Err(Blocked::NoAddress {
            host: name.to_owned(),
        });
    }
    Ok(answers)
}
