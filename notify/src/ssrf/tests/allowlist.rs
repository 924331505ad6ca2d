//! `[notify] allow`: the only way in, and what each kind of entry admits.

use super::{Dns, check, pinned, policy, refusal};
use crate::ssrf::{Blocked, Policy, PolicyError};

#[tokio::test]
async fn an_address_entry_admits_that_address_and_plain_http_to_it() {
    let allow = policy(&["10.0.0.5"]);
    let dns = Dns::new();
    assert_eq!(
        pinned(&allow, "https://10.0.0.5/", &dns).await,
        ["10.0.0.5:443"]
    );
    assert_eq!(
        pinned(&allow, "http://10.0.0.5:8080/h", &dns).await,
        ["10.0.0.5:8080"]
    );
    // In any notation, since it is the address that is admitted.
    assert_eq!(
        pinned(&allow, "http://0xa000005/", &dns).await,
        ["10.0.0.5:80"]
    );
    assert_eq!(
        pinned(&allow, "https://[::ffff:10.0.0.5]/", &dns).await,
        ["10.0.0.5:443"]
    );
    assert!(
        refusal(&allow, "https://10.0.0.6/", &dns)
            .await
            .contains("10.0.0.6 is a private")
    );
}

#[tokio::test]
async fn a_range_entry_admits_its_addresses_whatever_name_led_there() {
    let allow = policy(&["10.1.0.0/16", "fd00:1::/48"]);
    let dns = Dns::new()
        .answer("inside.example", &["10.1.2.3", "fd00:1::3"])
        .answer("straddles.example", &["10.1.2.3", "10.2.0.1"])
        .answer("public.example", &["93.184.215.14"]);
    assert_eq!(
        pinned(&allow, "https://inside.example/", &dns).await,
        ["10.1.2.3:443", "[fd00:1::3]:443"]
    );
    // Plain http too, because every address it resolves to is admitted.
    assert_eq!(
        pinned(&allow, "http://inside.example:8080/", &dns).await,
        ["10.1.2.3:8080", "[fd00:1::3]:8080"]
    );
    assert!(
        refusal(&allow, "https://straddles.example/", &dns)
            .await
            .contains("resolves to 10.2.0.1, a private address")
    );
    // A public destination outside the range still needs https.
    assert!(
        refusal(&allow, "http://public.example/", &dns)
            .await
            .contains("uses plain http")
    );
    assert!(check(&allow, "https://public.example/", &dns).await.is_ok());
}

#[tokio::test]
async fn a_name_entry_admits_that_name_at_any_internal_address() {
    let allow = policy(&["hooks.internal"]);
    let dns = Dns::new()
        .answer("hooks.internal", &["10.9.9.9", "fd00::9"])
        .answer("x.hooks.internal", &["10.9.9.10"])
        .answer("hooks.internal.evil.example", &["10.9.9.11"])
        .answer("other.internal", &["10.9.9.12"]);
    assert_eq!(
        pinned(&allow, "http://HOOKS.internal./alert", &dns).await,
        ["10.9.9.9:80", "[fd00::9]:80"]
    );
    for url in [
        "https://x.hooks.internal/",
        "https://hooks.internal.evil.example/",
        "https://other.internal/",
    ] {
        assert!(
            refusal(&allow, url, &dns)
                .await
                .contains("a private address"),
            "{url}"
        );
    }
    // The name, not its address: the address itself is not admitted.
    assert!(
        refusal(&allow, "https://10.9.9.9/", &dns)
            .await
            .contains("private")
    );
}

#[tokio::test]
async fn a_wildcard_entry_admits_names_strictly_below_its_domain() {
    let allow = policy(&["*.corp.example"]);
    let dns = Dns::new()
        .answer("a.corp.example", &["10.0.0.1"])
        .answer("a.b.corp.example", &["10.0.0.2"])
        .answer("corp.example", &["10.0.0.3"])
        .answer("evilcorp.example", &["10.0.0.4"]);
    assert_eq!(
        pinned(&allow, "http://a.corp.example/", &dns).await,
        ["10.0.0.1:80"]
    );
    assert_eq!(
        pinned(&allow, "https://A.B.corp.example/", &dns).await,
        ["10.0.0.2:443"]
    );
    assert!(
        refusal(&allow, "https://corp.example/", &dns)
            .await
            .contains("10.0.0.3")
    );
    assert!(
        refusal(&allow, "https://evilcorp.example/", &dns)
            .await
            .contains("10.0.0.4")
    );
}

#[tokio::test]
async fn plain_http_is_only_for_allowlisted_destinations() {
    let dns = Dns::everything_public();
    // Not allowlisted: refused before any DNS query.
    assert!(
        refusal(&Policy::default(), "http://hooks.example/", &dns)
            .await
            .contains("plain http")
    );
    assert!(
        refusal(&policy(&["other.example"]), "http://hooks.example/", &dns)
            .await
            .contains("plain http")
    );
    assert_eq!(dns.lookups(), 0);
    // Allowlisted by name: permitted, even though the address is public.
    assert_eq!(
        pinned(&policy(&["hooks.example"]), "http://hooks.example/", &dns).await,
        ["93.184.215.14:80"]
    );
    assert_eq!(
        pinned(&policy(&["mail.example"]), "smtp://mail.example", &dns).await,
        ["93.184.215.14:587"]
    );
    // Allowlisted by address: permitted.
    assert_eq!(
        pinned(&policy(&["93.184.215.0/24"]), "http://hooks.example/", &dns).await,
        ["93.184.215.14:80"]
    );
}

#[tokio::test]
async fn some_addresses_are_refused_even_when_allowlisted() {
    let allow = policy(&["zero.example", "0.0.0.0/0", "::/0"]);
    let dns = Dns::new().answer("zero.example", &["0.0.0.0"]);
    for url in [
        "https://zero.example/",
        "https://0.0.0.0/",
        "https://[::]/",
        "https://224.0.0.1/",
        "https://[ff02::1]/",
        "https://255.255.255.255/",
    ] {
        let refusal = refusal(&allow, url, &dns).await;
        assert!(
            refusal.contains("refused even when allowlisted"),
            "{url}: {refusal}"
        );
    }
}

#[tokio::test]
async fn localhost_is_admitted_only_by_name_and_then_without_dns() {
    let dns = Dns::everything_public();
    let by_name = policy(&["localhost"]);
    assert_eq!(
        pinned(&by_name, "http://localhost:8080/", &dns).await,
        ["127.0.0.1:8080", "[::1]:8080"]
    );
    assert_eq!(
        pinned(&policy(&["*.localhost"]), "https://a.localhost/", &dns)
            .await
            .len(),
        2
    );
    assert!(
        refusal(&by_name, "https://a.localhost/", &dns)
            .await
            .contains("names this machine")
    );
    // The address entry admits http://127.0.0.1:PORT/, not the name.
    let by_address = policy(&["127.0.0.1"]);
    assert!(
        refusal(&by_address, "http://localhost:8080/", &dns)
            .await
            .contains("names this machine")
    );
    assert_eq!(
        pinned(&by_address, "http://127.0.0.1:8080/", &dns).await,
        ["127.0.0.1:8080"]
    );
    assert_eq!(dns.lookups(), 0);
}

#[test]
fn check_addr_vets_one_address_without_resolving() {
    let allow = policy(&["10.1.0.0/16", "hooks.internal"]);
    assert_eq!(
        allow.check_addr("a.example", "8.8.8.8".parse().unwrap()),
        Ok("8.8.8.8".parse().unwrap())
    );
    assert_eq!(
        allow.check_addr("a.example", "10.1.0.9".parse().unwrap()),
        Ok("10.1.0.9".parse().unwrap())
    );
    assert_eq!(
        allow.check_addr("HOOKS.INTERNAL.", "10.7.0.1".parse().unwrap()),
        Ok("10.7.0.1".parse().unwrap())
    );
    assert_eq!(
        allow.check_addr("a.example", "::ffff:10.1.0.9".parse().unwrap()),
        Ok("10.1.0.9".parse().unwrap()),
        "an IPv4-mapped address is the IPv4 address"
    );
    assert!(matches!(
        allow.check_addr("a.example", "10.7.0.1".parse().unwrap()),
        Err(Blocked::Address { resolved: true, .. })
    ));
    assert!(matches!(
        allow.check_addr("169.254.169.254", "169.254.169.254".parse().unwrap()),
        Err(Blocked::Address {
            resolved: false,
            ..
        })
    ));
}

#[test]
fn entries_are_addresses_ranges_names_or_wildcards() {
    let allow = Policy::new([
        "10.0.0.5",
        "10.1.0.0/16",
        "10.2.3.4/16",
        "fd00:1::/48",
        "[fd00::5]",
        "hooks.internal",
        "Hooks.Internal.",
        "*.corp.example",
        "*",
        " 192.168.1.1 ",
    ]);
    assert!(allow.is_ok(), "{allow:?}");
}

#[test]
fn an_invalid_entry_is_named_by_position_and_text() {
    let cases = [
        ("", "empty"),
        ("10.0.0.256", "not a valid IP address"),
        ("0x7f.1", "dotted decimal"),
        ("127.1", "dotted decimal"),
        ("10.0.0.0/33", "not a CIDR range"),
        ("example.com/24", "not a CIDR range"),
        ("https://hooks.example/x", "not a URL"),
        ("hooks.example:8080", "not a valid host name"),
        ("*.", "not a host name"),
        ("*example.com", "not a host name"),
        ("foo.*.example", "not a host name"),
        ("*.*.example", "not a host name"),
        ("a b", "not a valid host name"),
        ("fe80::1%eth0", "not a valid host name"),
    ];
    for (entry, words) in cases {
        let error = Policy::new(["10.0.0.1", entry]).unwrap_err();
        let PolicyError::Entry {
            index, entry: text, ..
        } = &error;
        assert_eq!((*index, text.as_str()), (1, entry));
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("[notify] allow[1] = {entry:?}: ")),
            "{message}"
        );
        assert!(message.contains(words), "{entry:?}: {message}");
    }
}

#[test]
fn broad_entries_are_flagged_for_doctor_with_reasons() {
    let allow = policy(&[
        "10.0.0.5",
        "10.1.0.0/16",
        "hooks.internal",
        "*.corp.example",
        "10.0.0.0/8",
        "fd00::/8",
        "127.0.0.1",
        "169.254.0.0/16",
        "0.0.0.0/0",
        "::1",
        "::ffff:127.0.0.0/120",
        "localhost",
        "*",
        "*.com",
    ]);
    let flagged = allow.broad_entries();
    let expect = [
        ("[notify] allow[4] = \"10.0.0.0/8\"", "wider than /16"),
        ("[notify] allow[5] = \"fd00::/8\"", "wider than /48"),
        ("[notify] allow[6] = \"127.0.0.1\"", "loopback"),
        (
            "[notify] allow[7] = \"169.254.0.0/16\"",
            "metadata address 169.254.169.254",
        ),
        ("[notify] allow[8] = \"0.0.0.0/0\"", "wider than /16"),
        ("[notify] allow[9] = \"::1\"", "loopback"),
        ("[notify] allow[10] = \"::ffff:127.0.0.0/120\"", "loopback"),
        ("[notify] allow[11] = \"localhost\"", "names this machine"),
        ("[notify] allow[12] = \"*\"", "every host name"),
        ("[notify] allow[13] = \"*.com\"", "top-level domain .com"),
    ];
    assert_eq!(flagged.len(), expect.len(), "{flagged:#?}");
    for (line, (prefix, words)) in flagged.iter().zip(expect) {
        assert!(line.starts_with(prefix) && line.contains(words), "{line:?}");
    }
    // One line per entry, with every reason it has.
    assert!(flagged[4].contains("loopback") && flagged[4].contains("metadata"));
    assert!(Policy::default().broad_entries().is_empty());
}
