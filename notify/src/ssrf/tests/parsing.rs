//! The URL parser and the `inet_aton` reading of numeric hosts.

use std::net::{IpAddr, Ipv4Addr};

use crate::ssrf::host::inet_aton;
use crate::ssrf::{Blocked, Destination, Host, Scheme};

#[test]
fn a_url_is_scheme_host_port_and_a_hidden_path() {
    let d = Destination::parse("HTTPS://Hooks.Example.COM./services/a/b?c=d&e").unwrap();
    assert_eq!(d.scheme(), Scheme::Https);
    assert_eq!(d.host(), &Host::Name("hooks.example.com".to_owned()));
    assert_eq!(d.port(), 443);
    assert_eq!(d.path_and_query(), "/services/a/b?c=d&e");
    assert_eq!(d.origin(), "https://hooks.example.com:443");
    assert_eq!(d.host_header(), "hooks.example.com");
}

#[test]
fn defaults_fill_in_what_the_url_leaves_out() {
    let cases = [
        ("https://h.example", Scheme::Https, 443, "/"),
        ("http://h.example?x=1", Scheme::Http, 80, "/?x=1"),
        ("https://h.example:8443", Scheme::Https, 8443, "/"),
        ("smtps://mail.example", Scheme::Smtps, 465, "/"),
        ("smtp://mail.example:25/", Scheme::Smtp, 25, "/"),
        (
            "https://[2606:4700::1111]:65535/x",
            Scheme::Https,
            65535,
            "/x",
        ),
    ];
    for (url, scheme, port, path) in cases {
        let d = Destination::parse(url).unwrap();
        assert_eq!(
            (d.scheme(), d.port(), d.path_and_query()),
            (scheme, port, path),
            "{url}"
        );
    }
}

#[test]
fn numeric_hosts_become_the_address_inet_aton_reads() {
    let cases = [
        ("https://2130706433/", "127.0.0.1"),
        ("https://0x7f.1/", "127.0.0.1"),
        ("https://134744072/", "8.8.8.8"),
        ("https://[::ffff:7f00:1]/", "::ffff:127.0.0.1"),
    ];
    for (url, ip) in cases {
        let d = Destination::parse(url).unwrap();
        assert_eq!(d.host(), &Host::Ip(ip.parse().unwrap()), "{url}");
    }
}

#[test]
fn inet_aton_reads_every_notation_glibc_reads() {
    let cases = [
        ("127.0.0.1", Some([127, 0, 0, 1])),
        ("2130706433", Some([127, 0, 0, 1])),
        ("0x7f000001", Some([127, 0, 0, 1])),
        ("0X7F000001", Some([127, 0, 0, 1])),
        ("017700000001", Some([127, 0, 0, 1])),
        ("0177.0.0.1", Some([127, 0, 0, 1])),
        ("0x7f.0.0.1", Some([127, 0, 0, 1])),
        ("127.1", Some([127, 0, 0, 1])),
        ("127.0.1", Some([127, 0, 0, 1])),
        ("10.65535", Some([10, 0, 255, 255])),
        ("10.1.65535", Some([10, 1, 255, 255])),
        ("1.16777215", Some([1, 255, 255, 255])),
        ("4294967295", Some([255, 255, 255, 255])),
        ("0", Some([0, 0, 0, 0])),
        ("0x", Some([0, 0, 0, 0])),
        ("000000000000000000000000010.0.0.1", Some([8, 0, 0, 1])),
        ("4294967296", None),
        ("1.16777216", None),
        ("1.1.65536", None),
        ("1.1.1.256", None),
        ("256.1", None),
        ("08", None),
        ("0x1g", None),
        ("+1.2.3.4", None),
        ("1.2.3.4.5", None),
        ("1..2", None),
        ("", None),
        ("1.2.3.", None),
    ];
    for (text, expect) in cases {
        assert_eq!(inet_aton(text), expect.map(Ipv4Addr::from), "{text:?}");
    }
}

#[test]
fn ports_have_one_spelling() {
    for url in [
        "https://h.example:0/",
        "https://h.example:65536/",
        "https://h.example:0443/",
        "https://h.example:+443/",
        "https://h.example:44a/",
        "https://h.example:/",
        "https://[::1]x/",
        "https://[::1/",
    ] {
        assert!(
            matches!(Destination::parse(url), Err(Blocked::Malformed { .. })),
            "{url}"
        );
    }
}

#[test]
fn mail_urls_have_no_path() {
    assert!(Destination::parse("smtps://mail.example/inbox").is_err());
    assert!(Destination::parse("smtp://mail.example?x").is_err());
}

#[test]
fn names_are_limited_to_what_dns_carries() {
    let long_label = format!("https://{}.example/", "a".repeat(64));
    let long_name = format!("https://{}example/", "a.".repeat(130));
    for url in [
        long_label.as_str(),
        long_name.as_str(),
        "https://-x.example/",
        "https://a..b.example/",
        "https://a.example../",
        "https://*.example/",
    ] {
        assert!(Destination::parse(url).is_err(), "{url}");
    }
    assert!(Destination::parse("https://xn--bcher-kva.example/").is_ok());
    assert!(Destination::parse("https://_acme.example/").is_ok());
    let too_long = format!("https://h.example/{}", "a".repeat(9000));
    assert!(Destination::parse(&too_long).is_err());
}

#[test]
fn a_literal_ip_host_keeps_its_address() {
    let d = Destination::parse("https://[2606:4700::1111]:8443/").unwrap();
    assert_eq!(
        d.host(),
        &Host::Ip(IpAddr::from([0x2606, 0x4700, 0, 0, 0, 0, 0, 0x1111]))
    );
    assert_eq!(d.host_header(), "[2606:4700::1111]:8443");
}
