//! DNS rebinding: a name that answers public first and private next. The
//! guard resolves once and pins the vetted answer; nothing resolves again.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{Dns, check, policy};
use crate::ssrf::{Policy, connect};

#[tokio::test]
async fn the_pinned_target_keeps_the_first_vetted_answer() {
    let dns = Dns::new()
        .answer("rebind.example", &["93.184.215.14"])
        .answer("rebind.example", &["127.0.0.1"]);
    let pinned = check(&Policy::default(), "https://rebind.example/hook", &dns)
        .await
        .unwrap();
    assert_eq!(dns.lookups(), 1, "one check, one lookup");
    assert_eq!(pinned.addrs(), ["93.184.215.14:443".parse().unwrap()]);
    // The pinned target keeps the vetted address; a fresh check would see the new answer and refuse it.
    let again = check(&Policy::default(), "https://rebind.example/hook", &dns).await;
    assert!(
        again
            .unwrap_err()
            .to_string()
            .contains("resolves to 127.0.0.1")
    );
    assert_eq!(dns.lookups(), 2);
}

#[tokio::test]
async fn connect_uses_the_pinned_address_and_never_resolves_again() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Loopback is allowlisted so the test can connect; the second answer
    // is an address the policy refuses, which a re-resolving client would
    // have used.
    let allow = policy(&["127.0.0.1"]);
    let dns = Dns::new()
        .answer("rebind.example", &["127.0.0.1"])
        .answer("rebind.example", &["10.66.0.1"]);
    let url = format!("https://rebind.example:{port}/hook");
    let pinned = check(&allow, &url, &dns).await.unwrap();

    let (mut client, accepted) = tokio::join!(
        async { connect(&pinned, Duration::from_secs(5)).await.unwrap() },
        async { listener.accept().await.unwrap().0 }
    );
    let mut server = accepted;
    client.write_all(b"ping").await.unwrap();
    let mut buf = [0; 4];
    server.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");
    assert_eq!(client.peer_addr().unwrap(), pinned.addrs()[0]);
    assert_eq!(dns.lookups(), 1, "connect resolves nothing");

    assert!(
        check(&allow, &url, &dns)
            .await
            .unwrap_err()
            .to_string()
            .contains("resolves to 10.66.0.1")
    );
}
