//! `connect` against a listener on 127.0.0.1: refused by default, reached
//! once `127.0.0.1` is allowlisted, and failing cleanly when nobody listens.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{Dns, check, policy, refusal};
use crate::ssrf::{CONNECT_TIMEOUT, Policy, connect};

#[tokio::test]
async fn a_local_listener_is_unreachable_by_default_and_reachable_once_allowlisted() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook/T0KEN-CANARY");
    let dns = Dns::new();

    let refused = refusal(&Policy::default(), &url, &dns).await;
    assert_eq!(
        refused,
        "127.0.0.1 is a loopback address (this machine); add 127.0.0.1 to [notify] allow if intended"
    );

    let pinned = check(&policy(&["127.0.0.1"]), &url, &dns).await.unwrap();
    assert_eq!(
        pinned.addrs(),
        [format!("127.0.0.1:{port}").parse().unwrap()]
    );
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream
            .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
            .await
            .unwrap();
    });
    let mut stream = connect(&pinned, CONNECT_TIMEOUT).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 204"));
    server.await.unwrap();
}

#[tokio::test]
async fn a_connection_failure_names_each_address_but_not_the_path() {
    // Take a free port, then close it so nothing listens there.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let allow = policy(&["localhost"]);
    let url = format!("http://localhost:{port}/hook/T0KEN-CANARY?token=T0KEN-CANARY");
    let pinned = check(&allow, &url, &Dns::new()).await.unwrap();
    let error = connect(&pinned, Duration::from_secs(2)).await.unwrap_err();
    assert_eq!(error.attempts.len(), 2, "127.0.0.1 then ::1: {error}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "could not connect to http://localhost:{port}: 127.0.0.1:{port}: "
        )),
        "{message}"
    );
    assert!(!message.contains("T0KEN-CANARY") && !format!("{error:?}").contains("T0KEN-CANARY"));
}
