//! Public destinations pass, pinned to the addresses that were checked.

use super::{Dns, check, pinned};
use crate::ssrf::{MAX_PINNED_ADDRESSES, Policy};

#[tokio::test]
async fn public_addresses_pass_in_any_notation() {
    let dns = Dns::new();
    let cases = [
        ("https://8.8.8.8/", "8.8.8.8:443"),
        ("https://1.1.1.1:8443/x?y=z", "1.1.1.1:8443"),
        ("https://[2606:4700::1111]/", "[2606:4700::1111]:443"),
        ("https://134744072/", "8.8.8.8:443"),
        ("https://0x8.0x8.0x8.0x8/", "8.8.8.8:443"),
        ("https://010.010.010.010/", "8.8.8.8:443"),
        ("https://1.1/", "1.0.0.1:443"),
        // Mapped addresses are pinned as the IPv4 address they are.
        ("https://[::ffff:8.8.8.8]/", "8.8.8.8:443"),
        // NAT64 of a public address is how IPv6-only networks reach it.
        ("https://[64:ff9b::808:808]/", "[64:ff9b::808:808]:443"),
        (
            "smtps://[2a00:1450:4001:80b::201a]",
            "[2a00:1450:4001:80b::201a]:465",
        ),
    ];
    for (url, addr) in cases {
        assert_eq!(pinned(&Policy::default(), url, &dns).await, [addr], "{url}");
    }
    assert_eq!(dns.lookups(), 0, "literal addresses are never resolved");
}

#[tokio::test]
async fn names_resolving_only_to_public_addresses_pass() {
    let dns = Dns::new()
        .answer(
            "hooks.example.com",
            &["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        )
        .answer("smtp.example.com", &["203.0.114.25"]);
    assert_eq!(
        pinned(
            &Policy::default(),
            "https://hooks.example.com/services/x",
            &dns
        )
        .await,
        [
            "93.184.215.14:443",
            "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443"
        ]
    );
    // Case and a trailing dot do not make another name.
    assert_eq!(
        pinned(&Policy::default(), "https://Hooks.Example.COM.:8443/", &dns).await,
        [
            "93.184.215.14:8443",
            "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8443"
        ]
    );
    assert_eq!(
        pinned(&Policy::default(), "smtps://smtp.example.com", &dns).await,
        ["203.0.114.25:465"]
    );
}

#[tokio::test]
async fn the_pinned_target_names_the_host_for_sni_and_the_host_header() {
    let dns = Dns::new().answer("hooks.example.com", &["93.184.215.14"]);
    let pinned = check(
        &Policy::default(),
        "https://HOOKS.example.com:8443/a?b",
        &dns,
    )
    .await
    .unwrap();
    assert_eq!(pinned.server_name(), "hooks.example.com");
    assert_eq!(pinned.destination().host_header(), "hooks.example.com:8443");
    assert_eq!(pinned.destination().path_and_query(), "/a?b");

    let literal = check(&Policy::default(), "https://[2606:4700::1111]/", &dns)
        .await
        .unwrap();
    assert_eq!(literal.server_name(), "2606:4700::1111");
    assert_eq!(literal.destination().host_header(), "[2606:4700::1111]");
}

#[tokio::test]
async fn answers_are_deduplicated_and_at_most_a_few_are_kept() {
    let many: Vec<String> = (1..=20).map(|i| format!("93.184.215.{i}")).collect();
    let mut answer: Vec<&str> = many.iter().map(String::as_str).collect();
    answer.insert(1, "93.184.215.1");
    answer.insert(2, "::ffff:93.184.215.1");
    let dns = Dns::new().answer("many.example", &answer);
    let addrs = pinned(&Policy::default(), "https://many.example/", &dns).await;
    assert_eq!(addrs.len(), MAX_PINNED_ADDRESSES);
    assert_eq!(
        addrs[..3],
        ["93.184.215.1:443", "93.184.215.2:443", "93.184.215.3:443"]
    );
}

#[tokio::test]
async fn every_answer_is_vetted_even_beyond_the_ones_kept() {
    let mut answer = vec!["8.8.8.8"; 30];
    answer.push("10.0.0.1");
    let dns = Dns::new().answer("long.example", &answer);
    assert!(
        check(&Policy::default(), "https://long.example/", &dns)
            .await
            .is_err()
    );
}
