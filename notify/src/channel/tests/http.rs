//! [`HttpClient`] against local servers: what arrives, how each answer is
//! classified, and what the client refuses to do.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::http_server::{Reply, Server};
use super::{SECRET_PATH, assert_no_secret, pki::pki, policy};
use crate::channel::{Delivered, HttpClient, SendError};
use crate::ssrf::{self, Policy};

const TIMEOUT: Duration = Duration::from_secs(10);

fn local() -> HttpClient {
    HttpClient::new(policy(&["127.0.0.1"]), None).unwrap()
}

fn url(server: &Server) -> String {
    format!("http://127.0.0.1:{}{SECRET_PATH}", server.port)
}

async fn post(client: &HttpClient, url: &str) -> Result<Delivered, SendError> {
    client.post(url, &[], br#"{"x":1}"#.to_vec(), TIMEOUT).await
}

/// The error of a send that must fail, checked for leaked secrets.
async fn failure(client: &HttpClient, url: &str) -> SendError {
    let error = post(client, url).await.expect_err("the send must fail");
    assert_no_secret(&error, &[]);
    error
}

#[tokio::test]
async fn plain_http_to_an_allowlisted_address_delivers_method_path_host_and_headers() {
    let server = Server::start(Reply::status(204, &[]), None).await;
    let headers = [
        ("content-type", "application/x-test".to_owned()),
        ("x-extra", "yes".to_owned()),
    ];
    let delivered = local()
        .post(&url(&server), &headers, b"hello".to_vec(), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(delivered, Delivered { status: 204 });

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.line, format!("POST {SECRET_PATH} HTTP/1.1"));
    let host = format!("127.0.0.1:{}", server.port);
    assert_eq!(request.header("host"), Some(host.as_str()));
    assert_eq!(request.header("content-type"), Some("application/x-test"));
    assert_eq!(request.header("content-length"), Some("5"));
    assert_eq!(request.header("x-extra"), Some("yes"));
    let agent = format!("vigil/{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(request.header("user-agent"), Some(agent.as_str()));
    assert_eq!(request.body, b"hello");
}

#[tokio::test]
async fn content_type_defaults_to_json() {
    let server = Server::start(Reply::status(200, &[]), None).await;
    post(&local(), &url(&server)).await.unwrap();
    let request = &server.requests()[0];
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.body, br#"{"x":1}"#);
}

#[tokio::test]
async fn server_errors_and_throttling_are_retryable_client_errors_are_not() {
    for (status, retryable) in [
        (500, true),
        (503, true),
        (429, true),
        (400, false),
        (404, false),
    ] {
        let server = Server::start(Reply::status(status, &[]), None).await;
        let error = failure(&local(), &url(&server)).await;
        assert!(
            matches!(error, SendError::Status { status: s } if s == status),
            "{status}: {error:?}"
        );
        assert_eq!(error.retryable(), retryable, "{status}");
        assert_eq!(error.class(), "status");
    }
}

#[tokio::test]
async fn a_redirect_fails_permanently_and_its_target_is_never_contacted() {
    let target = Server::start(Reply::status(200, &[]), None).await;
    let location = format!("location: http://127.0.0.1:{}/landing", target.port);
    let server = Server::start(Reply::status(302, &[location]), None).await;
    let error = failure(&local(), &url(&server)).await;
    assert!(
        matches!(error, SendError::Redirect { status: 302 }),
        "{error:?}"
    );
    assert!(!error.retryable());
    assert_eq!(server.requests().len(), 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(target.connections(), 0, "the redirect was followed");
}

#[tokio::test]
async fn an_endless_answer_is_read_only_up_to_the_cap() {
    let len = 1 << 30;
    let server = Server::start(Reply::Endless { len }, None).await;
    let started = Instant::now();
    let delivered = post(&local(), &url(&server)).await.unwrap();
    assert_eq!(delivered.status, 200);
    // The client hung up: the server's writes fail long before 1 GiB.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.stopped.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the server is still writing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let written = server.written.load(Ordering::SeqCst);
    assert!(written < 64 << 20, "{written} bytes were accepted");
    assert!(written >= ssrf::MAX_RESPONSE_BODY as u64 / 2, "{written}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_within_the_bound() {
    let server = Server::start(Reply::Silence, None).await;
    let started = Instant::now();
    let error = local()
        .post(
            &url(&server),
            &[],
            b"{}".to_vec(),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(error, SendError::Timeout), "{error:?}");
    assert!(error.retryable());
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(server.requests().len(), 1, "the request was sent");
}

#[tokio::test]
async fn loopback_is_blocked_unless_allowlisted_and_no_connection_is_made() {
    let server = Server::start(Reply::status(200, &[]), None).await;
    let client = HttpClient::new(Policy::default(), None).unwrap();
    let error = failure(&client, &url(&server)).await;
    assert!(matches!(error, SendError::Blocked(_)), "{error:?}");
    assert!(!error.retryable());
    assert_eq!(error.class(), "blocked");
    assert!(error.to_string().contains("[notify] allow"), "{error}");
    // Also over https: the guard, not TLS, refuses.
    let https = format!("https://127.0.0.1:{}{SECRET_PATH}", server.port);
    assert!(matches!(
        failure(&client, &https).await,
        SendError::Blocked(_)
    ));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn https_works_with_the_extra_root_and_fails_as_tls_without_it() {
    let pki = pki();
    let server = Server::start(Reply::status(202, &[]), Some(pki.server.clone())).await;
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{}{SECRET_PATH}", server.port);
        let trusting = HttpClient::new(policy(&[host]), Some(&pki.ca_pem)).unwrap();
        assert_eq!(post(&trusting, &url).await.unwrap().status, 202, "{host}");
        let host_header = format!("{host}:{}", server.port);
        let last = server.requests().pop().unwrap();
        assert_eq!(last.header("host"), Some(host_header.as_str()));
        assert_eq!(last.line, format!("POST {SECRET_PATH} HTTP/1.1"));

        let untrusting = HttpClient::new(policy(&[host]), None).unwrap();
        let error = failure(&untrusting, &url).await;
        assert!(matches!(error, SendError::Tls(_)), "{error:?}");
        assert!(error.retryable());
        assert!(
            error.to_string().contains(&format!("https://{host}:")),
            "{error}"
        );
    }
    assert_eq!(
        server.requests().len(),
        2,
        "only trusted handshakes carried a request"
    );
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let pki = pki();
    let server = Server::start(Reply::status(200, &[]), Some(pki.server.clone())).await;
    // The certificate names localhost and 127.0.0.1; vigil.localhost
    // reaches the same listener but is not a name it holds.
    let client = HttpClient::new(policy(&["*.localhost"]), Some(&pki.ca_pem)).unwrap();
    let url = format!("https://vigil.localhost:{}{SECRET_PATH}", server.port);
    let error = failure(&client, &url).await;
    assert!(matches!(error, SendError::Tls(_)), "{error:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_closed_port_is_a_retryable_connect_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = failure(&local(), &format!("http://127.0.0.1:{port}{SECRET_PATH}")).await;
    assert!(matches!(error, SendError::Connect(_)), "{error:?}");
    assert!(error.retryable());
}

#[tokio::test]
async fn a_garbage_answer_is_a_protocol_error() {
    let server = Server::start(Reply::Raw("SMTP? no.\r\n\r\n".into()), None).await;
    let error = failure(&local(), &url(&server)).await;
    assert!(matches!(error, SendError::Protocol(_)), "{error:?}");
    assert!(error.retryable());
}

#[tokio::test]
async fn configuration_mistakes_fail_permanently_before_connecting() {
    let server = Server::start(Reply::status(200, &[]), None).await;
    let client = local();
    let cases: [(&str, &[(&str, String)]); 4] = [
        ("smtp", &[]),
        ("http", &[("host", "evil.example".to_owned())]),
        (
            "http",
            &[("x-token", "line\r\nbreak-SECRETHEADER".to_owned())],
        ),
        ("http", &[("bad header", "v".to_owned())]),
    ];
    for (scheme, headers) in cases {
        let url = match scheme {
            "smtp" => format!("smtp://127.0.0.1:{}", server.port),
            _ => url(&server),
        };
        let error = client
            .post(&url, headers, Vec::new(), TIMEOUT)
            .await
            .unwrap_err();
        assert_eq!(error.class(), "config", "{error:?}");
        assert!(!error.retryable());
        assert_no_secret(&error, &["SECRETHEADER"]);
    }
    assert_eq!(server.connections(), 0);
    for pem in [
        &b""[..],
        b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    ] {
        let error = HttpClient::new(Policy::default(), Some(pem)).unwrap_err();
        assert_eq!(error.class(), "config", "{error}");
    }
}
