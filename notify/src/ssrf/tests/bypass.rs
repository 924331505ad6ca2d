//! Every spelling of an internal destination is refused, and none of them
//! costs a DNS query.

use super::{Dns, refusal};
use crate::ssrf::Policy;

/// `(URL, words its refusal must contain)`. The words name the address
/// the spelling really means and why it is refused.
const BYPASSES: &[(&str, &[&str])] = &[
    // 127.0.0.1, as inet_aton reads it.
    ("https://127.0.0.1/", &["127.0.0.1 is a loopback address"]),
    (
        "https://2130706433/",
        &["2130706433 (127.0.0.1)", "loopback"],
    ),
    (
        "https://0x7f000001/",
        &["0x7f000001 (127.0.0.1)", "loopback"],
    ),
    (
        "https://0x7f.0.0.1/",
        &["0x7f.0.0.1 (127.0.0.1)", "loopback"],
    ),
    (
        "https://0X7F.0.0.1/",
        &["0x7f.0.0.1 (127.0.0.1)", "loopback"],
    ),
    (
        "https://0177.0.0.1/",
        &["0177.0.0.1 (127.0.0.1)", "loopback"],
    ),
    ("https://017700000001/", &["(127.0.0.1)", "loopback"]),
    ("https://127.1/", &["127.1 (127.0.0.1)", "loopback"]),
    ("https://127.0.1/", &["127.0.1 (127.0.0.1)", "loopback"]),
    ("https://0x7f.1/", &["(127.0.0.1)", "loopback"]),
    ("https://0177.1/", &["(127.0.0.1)", "loopback"]),
    ("https://127.000.000.001/", &["(127.0.0.1)", "loopback"]),
    ("https://0x7f.0.0.0x1/", &["(127.0.0.1)", "loopback"]),
    (
        "https://00000000000177.0.0.1/",
        &["(127.0.0.1)", "loopback"],
    ),
    ("https://127.0.0.1./", &["127.0.0.1", "loopback"]),
    ("https://127.0.0.1:8080/", &["127.0.0.1", "loopback"]),
    ("https://127.255.255.254/", &["loopback"]),
    // 0.0.0.0 reaches this machine too, and no entry admits it.
    (
        "https://0.0.0.0/",
        &["unspecified", "refused even when allowlisted"],
    ),
    ("https://0/", &["0 (0.0.0.0)", "unspecified"]),
    ("https://0x0/", &["(0.0.0.0)", "unspecified"]),
    ("https://00000/", &["(0.0.0.0)", "unspecified"]),
    ("https://0.0/", &["(0.0.0.0)", "unspecified"]),
    // The cloud metadata service.
    ("https://169.254.169.254/latest/meta-data/", &["metadata"]),
    ("https://2852039166/", &["(169.254.169.254)", "metadata"]),
    ("https://0xa9fea9fe/", &["(169.254.169.254)", "metadata"]),
    (
        "https://0251.0376.0251.0376/",
        &["(169.254.169.254)", "metadata"],
    ),
    ("https://169.254.43518/", &["(169.254.169.254)", "metadata"]),
    (
        "https://0xa9.0xfe.0xa9.0xfe/",
        &["(169.254.169.254)", "metadata"],
    ),
    ("https://169.254.1.1/", &["link-local"]),
    // Private ranges.
    ("https://10.0.0.5/", &["10.0.0.5 is a private address"]),
    ("https://10.1/", &["(10.0.0.1)", "private"]),
    ("https://012.0.0.1/", &["(10.0.0.1)", "private"]),
    ("https://167772161/", &["(10.0.0.1)", "private"]),
    ("https://0xa.0.0.1/", &["(10.0.0.1)", "private"]),
    ("https://172.16.0.1/", &["private"]),
    ("https://172.31.255.255/", &["private"]),
    ("https://192.168.1.1/", &["private"]),
    ("https://0xc0a80101/", &["(192.168.1.1)", "private"]),
    ("https://3232235777/", &["(192.168.1.1)", "private"]),
    ("https://0300.0250.1.1/", &["(192.168.1.1)", "private"]),
    ("https://192.168.257/", &["(192.168.1.1)", "private"]),
    // The other special IPv4 ranges.
    ("https://100.64.0.1/", &["carrier-grade NAT"]),
    ("https://192.0.0.8/", &["IETF protocol"]),
    ("https://192.0.2.1/", &["documentation"]),
    ("https://198.51.100.7/", &["documentation"]),
    ("https://203.0.113.9/", &["documentation"]),
    ("https://198.18.0.1/", &["benchmarking"]),
    ("https://240.0.0.1/", &["reserved"]),
    (
        "https://224.0.0.1/",
        &["multicast", "refused even when allowlisted"],
    ),
    (
        "https://255.255.255.255/",
        &["broadcast", "refused even when allowlisted"],
    ),
    // IPv6, and IPv4 hidden inside IPv6.
    ("https://[::]/", &["unspecified"]),
    ("https://[::1]/", &["[::1] is a loopback address"]),
    ("https://[0:0:0:0:0:0:0:1]/", &["loopback"]),
    (
        "https://[::ffff:127.0.0.1]/",
        &["IPv4-mapped", "127.0.0.1, a loopback"],
    ),
    (
        "https://[::ffff:7f00:1]/",
        &["IPv4-mapped", "127.0.0.1, a loopback"],
    ),
    (
        "https://[0:0:0:0:0:ffff:7f00:1]/",
        &["IPv4-mapped", "127.0.0.1, a loopback"],
    ),
    (
        "https://[::FFFF:169.254.169.254]/",
        &["IPv4-mapped", "metadata"],
    ),
    (
        "https://[::ffff:a00:5]/",
        &["IPv4-mapped", "10.0.0.5, a private"],
    ),
    (
        "https://[::127.0.0.1]/",
        &["IPv4-compatible", "127.0.0.1, a loopback"],
    ),
    ("https://[::8.8.8.8]/", &["deprecated IPv4-compatible"]),
    (
        "https://[64:ff9b::7f00:1]/",
        &["NAT64", "127.0.0.1, a loopback"],
    ),
    (
        "https://[64:ff9b::169.254.169.254]/",
        &["NAT64", "metadata"],
    ),
    ("https://[64:ff9b:1::1]/", &["local-use NAT64"]),
    (
        "https://[2002:7f00:1::]/",
        &["6to4", "127.0.0.1, a loopback"],
    ),
    ("https://[2002:a9fe:a9fe::1]/", &["6to4", "metadata"]),
    ("https://[2001::1]/", &["Teredo"]),
    ("https://[fe80::1]/", &["link-local"]),
    ("https://[fe80::1%25eth0]/", &["zone"]),
    ("https://[fe80::1%eth0]/", &["zone"]),
    ("https://[fc00::1]/", &["private"]),
    ("https://[fd12:3456::1]:8443/", &["private"]),
    ("https://[fd00:ec2::254]/", &["metadata"]),
    ("https://[fec0::1]/", &["site-local"]),
    ("https://[2001:db8::1]/", &["documentation"]),
    ("https://[ff02::1]/", &["multicast"]),
    ("https://[100::1]/", &["discard-only"]),
    ("https://[::ffff:127.1]/", &["not an IPv6 address"]),
    ("https://[127.0.0.1]/", &["not an IPv6 address"]),
    ("https://[v1.x]/", &["not an IPv6 address"]),
    ("https://::1/", &["more than one ':'"]),
    // Names for this machine, never asked of DNS.
    ("https://localhost/", &["localhost names this machine"]),
    ("https://LOCALHOST./", &["localhost names this machine"]),
    ("https://LocalHost:8443/", &["localhost names this machine"]),
    (
        "https://foo.localhost/",
        &["foo.localhost names this machine"],
    ),
    (
        "https://a.b.LOCALHOST./",
        &["a.b.localhost names this machine"],
    ),
    // Numeric-looking hosts that are no address: refused, not resolved.
    ("https://1.2.3.4.5/", &["1.2.3.4.5 looks like a number"]),
    ("https://256.0.0.1/", &["looks like a number"]),
    ("https://1.2.3.256/", &["looks like a number"]),
    ("https://08.0.0.1/", &["looks like a number"]),
    ("https://0x100000000/", &["looks like a number"]),
    ("https://4294967296/", &["looks like a number"]),
    ("https://1.16777216/", &["looks like a number"]),
    ("https://example.0x1/", &["looks like a number"]),
    ("https://127..1/", &["looks like a number"]),
    ("https://%31%32%37.0.0.1/", &["looks like a number"]),
    // Scheme, credentials and ambiguous syntax.
    ("http://example.com/", &["plain http", "use https"]),
    ("HTTP://example.com/", &["plain http"]),
    ("smtp://mail.example.com", &["plain smtp", "use smtps"]),
    ("ftp://example.com/", &["scheme \"ftp\""]),
    ("file:///etc/passwd", &["scheme \"file\""]),
    ("gopher://127.0.0.1:25/", &["scheme \"gopher\""]),
    ("https://user:pass@example.com/", &["credentials"]),
    ("https://user@127.0.0.1/", &["credentials"]),
    ("https://example.com@127.0.0.1/", &["credentials"]),
    ("https://127.0.0.1:443@example.com/", &["credentials"]),
    ("https://example.com#@127.0.0.1/", &["fragment"]),
    ("https://example.com\\@127.0.0.1/", &["backslash"]),
    ("https:/\\127.0.0.1/", &["backslash"]),
    ("https://example%2ecom/", &["character other than"]),
    ("https://exa mple.com/", &["whitespace"]),
    ("https://ex\tample.com/", &["whitespace"]),
    ("https://exämple.com/", &["non-ASCII"]),
    ("https:127.0.0.1/", &["scheme://"]),
    ("//127.0.0.1/", &["scheme://"]),
    ("https:///127.0.0.1", &["no host"]),
    ("https://example.com:0/", &["port"]),
    ("https://example.com:65536/", &["port"]),
    ("https://example.com:0443/", &["port"]),
    ("https://example.com:+443/", &["port"]),
    ("https://example.com:/", &["port"]),
];

#[tokio::test]
async fn every_bypass_spelling_is_refused_without_asking_dns() {
    let dns = Dns::everything_public();
    for (url, words) in BYPASSES {
        let refusal = refusal(&Policy::default(), url, &dns).await;
        for word in *words {
            assert!(
                refusal.contains(word),
                "{url}: refusal {refusal:?} should say {word:?}"
            );
        }
    }
    assert_eq!(dns.lookups(), 0, "no bypass spelling may reach DNS");
    assert!(BYPASSES.len() >= 40);
}

#[tokio::test]
async fn a_refused_address_tells_the_operator_what_to_do() {
    let dns = Dns::new().answer("mixed.example", &["93.184.215.14", "10.0.0.5"]);
    assert_eq!(
        refusal(&Policy::default(), "https://mixed.example/hook", &dns).await,
        "mixed.example resolves to 10.0.0.5, a private address; \
         add mixed.example or 10.0.0.5 to [notify] allow if intended"
    );
    assert_eq!(
        refusal(&Policy::default(), "https://0x7f.1/", &dns).await,
        "host 0x7f.1 (127.0.0.1) is a loopback address (this machine); \
         add 127.0.0.1 to [notify] allow if intended"
    );
    assert_eq!(
        refusal(&Policy::default(), "http://hooks.example:8080/", &dns).await,
        "http://hooks.example:8080 uses plain http; use https, or add hooks.example \
         to [notify] allow if intended (plain http is permitted only to allowlisted destinations)"
    );
}

#[tokio::test]
async fn a_name_resolving_to_any_internal_address_is_refused() {
    let dns = Dns::new()
        .answer("both.example", &["93.184.215.14", "10.0.0.5"])
        .answer(
            "private-last.example",
            &["8.8.8.8", "1.1.1.1", "192.168.0.10"],
        )
        .answer("nip.example", &["127.0.0.1"])
        .answer("mapped.example", &["::ffff:169.254.169.254"])
        .answer("six.example", &["2606:4700::1111", "fd00::5"])
        .answer("zero.example", &["0.0.0.0"]);
    let cases = [
        (
            "https://both.example/",
            "resolves to 10.0.0.5, a private address",
        ),
        (
            "https://private-last.example/",
            "resolves to 192.168.0.10, a private",
        ),
        ("https://nip.example/", "resolves to 127.0.0.1, a loopback"),
        (
            "https://mapped.example/",
            "IPv4-mapped IPv6 address embedding 169.254.169.254",
        ),
        ("https://six.example/", "resolves to fd00::5, a private"),
        (
            "https://zero.example/",
            "resolves to 0.0.0.0, an unspecified",
        ),
    ];
    for (url, words) in cases {
        let refusal = refusal(&Policy::default(), url, &dns).await;
        assert!(refusal.contains(words), "{url}: {refusal:?}");
    }
}

#[tokio::test]
async fn resolution_failures_are_refusals() {
    let dns = Dns::new().answer("empty.example", &[]);
    assert_eq!(
        refusal(&Policy::default(), "https://missing.example/", &dns).await,
        "could not resolve missing.example: no such host"
    );
    assert_eq!(
        refusal(&Policy::default(), "https://empty.example/", &dns).await,
        "empty.example resolves to no address"
    );
}

#[tokio::test]
async fn localhost_is_refused_even_though_the_system_resolver_answers_it() {
    use crate::ssrf::{Resolver, SystemResolver};
    // The system really does resolve localhost (to loopback)...
    let answers = SystemResolver.lookup("localhost", 443).await.unwrap();
    assert!(answers.iter().all(|ip| ip.is_loopback()), "{answers:?}");
    // ...but the guard refuses the name before asking.
    for url in [
        "https://localhost/",
        "https://LOCALHOST./x",
        "https://api.localhost:8443/",
    ] {
        let destination = crate::ssrf::Destination::parse(url).unwrap();
        let refusal = Policy::default().check(&destination).await.unwrap_err();
        assert!(
            refusal.to_string().contains("names this machine"),
            "{url}: {refusal}"
        );
    }
}

/// Resolves any name as the system resolves `localhost`: a name whose real
/// DNS answer is loopback.
struct AsLocalhost;

impl crate::ssrf::Resolver for AsLocalhost {
    async fn lookup(&self, _host: &str, port: u16) -> std::io::Result<Vec<std::net::IpAddr>> {
        crate::ssrf::SystemResolver.lookup("localhost", port).await
    }
}

#[tokio::test]
async fn a_real_loopback_answer_from_the_system_resolver_is_refused() {
    use crate::ssrf::Destination;
    let destination = Destination::parse("https://innocent.example/").unwrap();
    let refusal = Policy::default()
        .check_with(&destination, &AsLocalhost)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refusal.contains("innocent.example resolves to"),
        "{refusal}"
    );
    assert!(refusal.contains("loopback"), "{refusal}");
}
