//! Which addresses are not on the public Internet, and why.
//!
//! [`classify`] is the single place that decides whether an address is
//! special. IPv4 addresses embedded in IPv6 ones (mapped, compatible,
//! NAT64, 6to4) are unpacked and classified as the IPv4 address they lead
//! to, since that is where a connection to them ends up.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A class of address that is refused unless allowlisted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// `0.0.0.0/8` or `::`: connecting to it reaches this machine.
    Unspecified,
    /// `127.0.0.0/8` or `::1`.
    Loopback,
    /// `10/8`, `172.16/12`, `192.168/16` or unique local `fc00::/7`.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT space.
    SharedAddressSpace,
    /// `169.254/16` or `fe80::/10`.
    LinkLocal,
    /// `169.254.169.254` or `fd00:ec2::254`, where clouds serve instance
    /// credentials.
    CloudMetadata,
    /// `192.0.0.0/24` or `2001::/23`, IETF protocol assignments.
    IetfProtocol,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`,
    /// `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`.
    Benchmarking,
    /// `240.0.0.0/4`, the old 6to4 relay `192.88.99/24`, and IPv6 outside
    /// global unicast `2000::/3`.
    Reserved,
    /// `224.0.0.0/4` or `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `fec0::/10`, deprecated site-local.
    SiteLocal,
    /// `100::/64`, discard-only.
    DiscardOnly,
    /// `2001::/32`: Teredo hides the client's IPv4 address, so it cannot be
    /// checked.
    Teredo,
    /// `64:ff9b:1::/48`, a local NAT64 prefix (the operator's own
    /// translator, so internal).
    LocalNat64,
    /// `::a.b.c.d`: deprecated IPv4-compatible form; no service uses it.
    Ipv4Compatible,
}

impl Kind {
    /// Whether no allowlist entry can admit this kind: a TCP connection to
    /// it is meaningless or (unspecified) reaches this machine.
    pub fn always_refused(self) -> bool {
        matches!(self, Self::Unspecified | Self::Multicast | Self::Broadcast)
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Unspecified => "an unspecified address (connecting to it reaches this machine)",
            Self::Loopback => "a loopback address (this machine)",
            Self::Private => "a private address",
            Self::SharedAddressSpace => "a shared (carrier-grade NAT) address",
            Self::LinkLocal => "a link-local address",
            Self::CloudMetadata => "the cloud metadata address, which serves instance credentials",
            Self::IetfProtocol => "an IETF protocol-assignment address",
            Self::Documentation => "a documentation address",
            Self::Benchmarking => "a benchmarking address",
            Self::Reserved => "a reserved address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::SiteLocal => "a site-local address",
            Self::DiscardOnly => "a discard-only address",
            Self::Teredo => "a Teredo address (its IPv4 address cannot be checked)",
            Self::LocalNat64 => "a local-use NAT64 address",
            Self::Ipv4Compatible => "a deprecated IPv4-compatible IPv6 address",
        }
    }
}

/// How an IPv4 address is embedded in an IPv6 one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Embedding {
    /// `::ffff:a.b.c.d`.
    Mapped,
    /// `::a.b.c.d`.
    Compatible,
    /// `64:ff9b::a.b.c.d`.
    Nat64,
    /// `2002:AABB:CCDD::/48`.
    SixToFour,
}

impl Embedding {
    fn describe(self) -> &'static str {
        match self {
            Self::Mapped => "an IPv4-mapped IPv6 address",
            Self::Compatible => "an IPv4-compatible IPv6 address",
            Self::Nat64 => "a NAT64 address",
            Self::SixToFour => "a 6to4 address",
        }
    }
}

/// Why an address is special: its kind, and the IPv4 address it embeds
/// when that is what made it special.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reason {
    /// The kind of address (of the embedded IPv4 address if `embedded`).
    pub kind: Kind,
    /// The form and the IPv4 address, when the kind is that of an embedded
    /// IPv4 address.
    pub embedded: Option<(Embedding, Ipv4Addr)>,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.embedded {
            None => f.write_str(self.kind.describe()),
            Some((form, v4)) => write!(
                f,
                "{} embedding {v4}, {}",
                form.describe(),
                self.kind.describe()
            ),
        }
    }
}

/// Why `ip` may not be reached without an allowlist entry, or `None` for
/// an ordinary public address.
pub fn classify(ip: IpAddr) -> Option<Reason> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4).map(direct),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// The address a connection to `ip` really uses: an IPv4-mapped IPv6
/// address is the IPv4 address (the kernel connects over IPv4), so it is
/// pinned and matched against the allowlist as such.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn direct(kind: Kind) -> Reason {
    Reason {
        kind,
        embedded: None,
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Kind> {
    // Most specific first: the broadcast and metadata addresses sit inside
    // wider ranges but deserve their own words in an error.
    let kind = match ip.octets() {
        [255, 255, 255, 255] => Kind::Broadcast,
        [169, 254, 169, 254] => Kind::CloudMetadata,
        [0, ..] => Kind::Unspecified,
        [127, ..] => Kind::Loopback,
        [10, ..] | [192, 168, ..] => Kind::Private,
        [172, b, ..] if (16..=31).contains(&b) => Kind::Private,
        [169, 254, ..] => Kind::LinkLocal,
        [100, b, ..] if (64..=127).contains(&b) => Kind::SharedAddressSpace,
        [192, 0, 0, _] => Kind::IetfProtocol,
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => Kind::Documentation,
        [198, 18 | 19, ..] => Kind::Benchmarking,
        [192, 88, 99, _] => Kind::Reserved,
        [224..=239, ..] => Kind::Multicast,
        [240..=255, ..] => Kind::Reserved,
        _ => return None,
    };
    Some(kind)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Reason> {
    let s = ip.segments();
    let v4_at = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let embedded = |form, v4| {
        classify_v4(v4).map(|kind| Reason {
            kind,
            embedded: Some((form, v4)),
        })
    };

    if let Some(v4) = ip.to_ipv4_mapped() {
        // A public mapped address is simply that IPv4 address.
        return embedded(Embedding::Mapped, v4);
    }
    if ip.is_unspecified() {
        return Some(direct(Kind::Unspecified));
    }
    if ip.is_loopback() {
        return Some(direct(Kind::Loopback));
    }
    if s[..6] == [0; 6] {
        // ::a.b.c.d. Deprecated since 2006; refused even with a public
        // IPv4 address, but named after the embedded one when that is the
        // more useful explanation.
        let v4 = v4_at(s[6], s[7]);
        return embedded(Embedding::Compatible, v4).or(Some(direct(Kind::Ipv4Compatible)));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // The well-known NAT64 prefix translates to the embedded address,
        // which is therefore what must be checked; a public one is fine on
        // an IPv6-only network.
        return embedded(Embedding::Nat64, v4_at(s[6], s[7]));
    }
    if s[..3] == [0x64, 0xff9b, 1] {
        return Some(direct(Kind::LocalNat64));
    }
    if s[0] == 0x2002 {
        return embedded(Embedding::SixToFour, v4_at(s[1], s[2]));
    }
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Some(direct(Kind::CloudMetadata));
    }
    let kind = match s[0] {
        0x2001 if s[1] == 0 => Kind::Teredo,
        0x2001 if s[1] < 0x200 => Kind::IetfProtocol,
        0x2001 if s[1] == 0xdb8 => Kind::Documentation,
        0x3fff if s[1] < 0x1000 => Kind::Documentation,
        0x100 if s[1..4] == [0, 0, 0] => Kind::DiscardOnly,
        a if a & 0xfe00 == 0xfc00 => Kind::Private,
        a if a & 0xffc0 == 0xfe80 => Kind::LinkLocal,
        a if a & 0xffc0 == 0xfec0 => Kind::SiteLocal,
        a if a & 0xff00 == 0xff00 => Kind::Multicast,
        // Only 2000::/3 is allocated for global unicast; anything else
        // (including ::ffff:0:a.b.c.d and other translation forms) has no
        // business being a webhook's address.
        a if a & 0xe000 != 0x2000 => Kind::Reserved,
        _ => return None,
    };
    Some(direct(kind))
}
