//! Tests of the outbound channels against real servers on 127.0.0.1: an
//! HTTP/1.1 server (plain or TLS) and an SMTP server (plain, STARTTLS or
//! implicit TLS), both small enough to misbehave on demand, with
//! certificates from a throwaway CA.

mod bodies;
mod email;
mod http;
mod http_server;
mod pki;
mod smtp_server;
mod webhook;

use std::fmt::Debug;
use std::time::Duration;

use crate::ssrf::Policy;

/// A URL path and query holding secrets, as Slack's and others do.
const SECRET_PATH: &str = "/services/T000/SECRETPATH?token=SECRETQ";

/// A policy admitting exactly `entries`.
fn policy(entries: &[&str]) -> Policy {
    Policy::new(entries).unwrap()
}

/// Fails if `error`'s `Display` or `Debug` shows any part of
/// [`SECRET_PATH`] or `extra` secrets.
fn assert_no_secret<E: std::fmt::Display + Debug>(error: &E, extra: &[&str]) {
    let shown = format!("{error} {error:?}");
    for secret in ["SECRETPATH", "SECRETQ", "services/T000", "token="]
        .iter()
        .chain(extra)
    {
        assert!(!shown.contains(secret), "{secret:?} leaked in {shown}");
    }
}

/// The daemon spawns sends on its runtime: their futures must be `Send`.
#[test]
fn send_futures_can_be_spawned() {
    // Checked by the compiler; the futures are never polled.
    fn spawnable<T: Send + 'static>(_: T) {}
    let client = crate::channel::HttpClient::new(Policy::default(), None).unwrap();
    spawnable(async move {
        client
            .post(
                "https://example.com/",
                &[],
                Vec::new(),
                Duration::from_secs(1),
            )
            .await
    });
    spawnable(async move {
        let settings = crate::channel::EmailSettings {
            smarthost: "mail.example.com:587".into(),
            security: crate::channel::SmtpSecurity::default(),
            hello: None,
            username: None,
            password: None,
            from: "a@example.com".into(),
            to: vec!["b@example.com".into()],
            extra_roots_pem: None,
        };
        let email = crate::channel::Email {
            subject: String::new(),
            html: None,
            text: String::new(),
            message_id: String::new(),
        };
        crate::channel::email::send(
            &Policy::default(),
            &settings,
            &email,
            Duration::from_secs(1),
        )
        .await
    });
}
