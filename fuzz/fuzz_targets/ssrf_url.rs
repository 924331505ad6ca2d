//! The SSRF guard's URL parser and address check (`vigil_notify::ssrf`).
//!
//! Input: a receiver URL, then optionally a newline and the DNS answers a
//! scripted resolver gives for its host (records of a tag byte, then 4
//! bytes of IPv4 for an even tag or 16 bytes of IPv6 for an odd one).
//!
//! Checked:
//! * `Destination::parse` never panics, and nothing it returns or refuses
//!   with shows the URL's path or query (where webhook URLs keep their
//!   secret): not its errors, `Display`, `Debug`, origin or `Host` value;
//! * a parsed URL's origin and path read back as the same destination;
//! * a host read as a name is lowercase, without a trailing dot, made of
//!   DNS labels, and is no address to `std` nor to glibc's `inet_aton`
//!   (which `getaddrinfo` uses for numeric hosts): were it one, the
//!   resolver would connect to an address the guard never checked; a host
//!   read as an IPv4 address is the one `inet_aton` reads, where it reads
//!   one;
//! * with an empty allowlist, no destination passes whose address (written
//!   or resolved) is loopback, private, link-local, unspecified,
//!   multicast, broadcast, documentation, shared, benchmarking, reserved
//!   or site-local, also when embedded in IPv6 (mapped, compatible, NAT64,
//!   6to4), judged by `std`'s predicates and the RFC ranges written out
//!   here; and none passes over plain http or smtp.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ffi::{CString, c_char, c_int};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;
use vigil_notify::ssrf::{Blocked, Destination, Host, Policy, Resolver};

unsafe extern "C" {
    /// glibc's `inet_aton`; `inp` is a `struct in_addr` (network order).
    fn inet_aton(cp: *const c_char, inp: *mut u32) -> c_int;
}

/// glibc's reading of `text` as an IPv4 address.
fn glibc_inet_aton(text: &str) -> Option<Ipv4Addr> {
    let text = CString::new(text).ok()?;
    let mut addr = 0u32;
    // SAFETY: a NUL-terminated string and a 4-byte out parameter.
    let ok = unsafe { inet_aton(text.as_ptr(), &mut addr) };
    (ok != 0).then(|| Ipv4Addr::from(u32::from_be(addr)))
}

/// Whether `ip` is an address no notification may reach without an
/// allowlist entry, by std's predicates and the IANA special-purpose
/// registries, independently of the guard's own classification.
fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7]));
            v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || s[0] & 0xffc0 == 0xfec0
                || (s[0] == 0x2001 && s[1] == 0xdb8)
                || v6.to_ipv4_mapped().is_some_and(internal_v4)
                || (s[..6] == [0; 6] && internal_v4(embedded))
                || (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && internal_v4(embedded))
                || (s[0] == 0x2002
                    && internal_v4(Ipv4Addr::from((u32::from(s[1]) << 16) | u32::from(s[2]))))
        }
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
        || (a, b, c) == (192, 0, 0)
}

/// DNS answers scripted by the input.
struct Scripted(Vec<IpAddr>);

impl Resolver for Scripted {
    fn lookup(
        &self,
        _host: &str,
        _port: u16,
    ) -> impl Future<Output = std::io::Result<Vec<IpAddr>>> + Send {
        std::future::ready(Ok(self.0.clone()))
    }
}

fn answers(mut data: &[u8]) -> Vec<IpAddr> {
    let mut out = Vec::new();
    while let [tag, rest @ ..] = data {
        if out.len() == 8 {
            break;
        }
        if tag % 2 == 0 {
            let Some((v4, rest)) = rest.split_first_chunk::<4>() else {
                break;
            };
            out.push(IpAddr::V4(Ipv4Addr::from(*v4)));
            data = rest;
        } else {
            let Some((v6, rest)) = rest.split_first_chunk::<16>() else {
                break;
            };
            out.push(IpAddr::V6(Ipv6Addr::from(*v6)));
            data = rest;
        }
    }
    out
}

/// The check bounds the lookup with tokio's timer.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime")
});

fn now<F: Future>(future: F) -> F::Output {
    RUNTIME.block_on(future)
}

const PATH: &str = "/CANARYpath?token=CANARYquery";

fn shows(d: &Destination) -> String {
    format!(
        "{d} {d:?} {} {} {:?}",
        d.origin(),
        d.host_header(),
        d.host()
    )
}

fn check_host(d: &Destination, authority: &str) {
    match d.host() {
        Host::Name(name) => {
            assert_eq!(*name, name.to_ascii_lowercase());
            assert!(!name.ends_with('.') && !name.is_empty() && name.len() <= 253);
            assert!(
                name.split('.').all(|l| (1..=63).contains(&l.len())),
                "{name:?}"
            );
            assert!(name.parse::<IpAddr>().is_err(), "{name:?} is an address");
            assert_eq!(
                glibc_inet_aton(name),
                None,
                "glibc reads {name:?} as an address"
            );
        }
        Host::Ip(IpAddr::V4(v4)) if !authority.starts_with('[') => {
            // Where glibc reads the host as an address, it reads the one
            // that was checked. (The guard also reads a few forms glibc
            // refuses, such as `0x` and a trailing dot; it connects to the
            // address it checked, so those are only stricter.)
            let written = authority.split(':').next().unwrap_or_default();
            let lower = written.to_ascii_lowercase();
            for text in [lower.as_str(), lower.trim_end_matches('.')] {
                if let Some(glibc) = glibc_inet_aton(text) {
                    assert_eq!(glibc, *v4, "{written:?}");
                }
            }
        }
        Host::Ip(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let Ok(url) = std::str::from_utf8(&data[..end]) else {
        return;
    };
    let resolver = Scripted(answers(data.get(end + 1..).unwrap_or_default()));
    let policy = Policy::new(Vec::<String>::new()).expect("an empty allowlist");

    let parsed = Destination::parse(url);
    if let Ok(d) = &parsed {
        let authority = url.split_once("://").map_or("", |(_, rest)| {
            rest.split(['/', '?']).next().unwrap_or(rest)
        });
        check_host(d, authority);
        assert!(d.path_and_query().starts_with('/'));
        assert!(d.port() >= 1);
        let again = Destination::parse(&format!("{}{}", d.origin(), d.path_and_query()))
            .expect("a destination's origin and path parse");
        assert_eq!(
            (
                again.scheme(),
                again.host(),
                again.port(),
                again.path_and_query()
            ),
            (d.scheme(), d.host(), d.port(), d.path_and_query())
        );

        match now(policy.check_with(d, &resolver)) {
            Ok(pinned) => {
                assert!(
                    !d.scheme().is_plaintext(),
                    "plain {} passed",
                    d.scheme().as_str()
                );
                assert!(!pinned.addrs().is_empty());
                for addr in pinned.addrs() {
                    assert!(!internal(addr.ip()), "{} passed", addr.ip());
                    assert_eq!(addr.port(), d.port());
                }
                if let Host::Ip(ip) = d.host() {
                    assert!(!internal(*ip), "{ip} passed");
                } else {
                    for ip in &resolver.0 {
                        assert!(!internal(*ip), "{ip} passed as an answer");
                    }
                }
            }
            Err(Blocked::Address { addr, reason, .. }) => {
                assert!(!reason.to_string().is_empty());
                assert!(
                    resolver.0.contains(&addr) || *d.host() == Host::Ip(addr),
                    "blamed {addr}, which is not an answer"
                );
            }
            Err(_) => {}
        }
    }

    // The same URL with a secret path: no error or rendering shows it.
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority = rest.split(['/', '?']).next().unwrap_or(rest);
        if !(scheme.to_ascii_lowercase() + authority)
            .to_ascii_lowercase()
            .contains("canary")
        {
            let secret = format!("{scheme}://{authority}{PATH}");
            match Destination::parse(&secret) {
                Ok(d) => {
                    assert_eq!(d.path_and_query(), PATH);
                    assert!(
                        !shows(&d).to_lowercase().contains("canary"),
                        "{}",
                        shows(&d)
                    );
                    if let Err(e) = now(policy.check_with(&d, &resolver)) {
                        let shown = format!("{e} {e:?}");
                        assert!(!shown.to_lowercase().contains("canary"), "{shown}");
                    }
                }
                Err(e) => {
                    let shown = format!("{e} {e:?}");
                    assert!(!shown.to_lowercase().contains("canary"), "{shown}");
                }
            }
        }
    }
});
