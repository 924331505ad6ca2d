//! Email through the test SMTP server: what the server sees, when TLS and
//! AUTH happen, and how each failure is classified.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use vigil_store::SecretValue;

use super::pki::pki;
use super::policy;
use super::smtp_server::{Options, Smtp};
use crate::channel::SendError;
use crate::channel::email::{self, Email, EmailSettings, SmtpSecurity};
use crate::ssrf::Policy;

const TIMEOUT: Duration = Duration::from_secs(10);
const PASSWORD: &str = "hunter2-PASSWORD";

fn settings(server: &Smtp, security: SmtpSecurity) -> EmailSettings {
    EmailSettings {
        smarthost: format!("127.0.0.1:{}", server.port),
        security,
        hello: Some("vigil.test".into()),
        username: None,
        password: None,
        from: "Vigil <vigil@example.com>".into(),
        to: vec![
            "ops@example.com".into(),
            "Oncall <oncall@example.com>".into(),
        ],
        extra_roots_pem: None,
    }
}

fn with_login(settings: EmailSettings, pem: &[u8]) -> EmailSettings {
    EmailSettings {
        username: Some("vigil".into()),
        password: Some(SecretValue::from_string(PASSWORD.into())),
        extra_roots_pem: Some(pem.to_vec()),
        ..settings
    }
}

fn email() -> Email {
    Email {
        subject: "[FIRING] Disk full on db-1".into(),
        html: Some("<p>Disk <b>full</b></p>".into()),
        text: "Disk full on db-1".into(),
        message_id: "dlv-42".into(),
    }
}

fn local() -> Policy {
    policy(&["127.0.0.1"])
}

async fn send(policy: &Policy, settings: &EmailSettings) -> Result<(), SendError> {
    email::send(policy, settings, &email(), TIMEOUT).await
}

/// The failure of a send that must fail, checked for the password.
async fn failure(policy: &Policy, settings: &EmailSettings) -> SendError {
    let error = send(policy, settings)
        .await
        .expect_err("the send must fail");
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    error
}

#[tokio::test]
async fn plaintext_to_an_allowlisted_relay_delivers_envelope_and_headers() {
    let server = Smtp::start(Options::default()).await;
    send(&local(), &settings(&server, SmtpSecurity::None))
        .await
        .unwrap();
    let lines: Vec<String> = server.lines().into_iter().map(|l| l.text).collect();
    assert_eq!(lines[0], "EHLO vigil.test");
    assert!(
        lines.contains(&"MAIL FROM:<vigil@example.com>".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"RCPT TO:<ops@example.com>".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"RCPT TO:<oncall@example.com>".to_owned()),
        "{lines:?}"
    );
    assert_eq!(lines.last().map(String::as_str), Some("QUIT"));

    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert!(
        message.contains("Message-ID: <dlv-42@example.com>"),
        "{message}"
    );
    assert!(
        message.contains("Subject: [FIRING] Disk full on db-1"),
        "{message}"
    );
    assert!(message.contains("multipart/alternative"), "{message}");
    assert!(message.contains("text/plain") && message.contains("text/html"));
    assert!(message.contains("Disk full on db-1") && message.contains("<b>full</b>"));
}

#[tokio::test]
async fn header_text_cannot_add_headers_or_recipients() {
    let server = Smtp::start(Options::default()).await;
    let email = Email {
        subject: "hi\r\nBcc: evil@example.net".into(),
        html: None,
        message_id: "id>\r\nBcc: evil@example.net".into(),
        ..email()
    };
    email::send(
        &local(),
        &settings(&server, SmtpSecurity::None),
        &email,
        TIMEOUT,
    )
    .await
    .unwrap();
    let message = &server.messages()[0];
    assert!(
        !message
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
        "{message}"
    );
    assert!(!server.saw("RCPT TO:<evil"));
    assert!(message.contains("text/plain"), "{message}");
}

#[tokio::test]
async fn starttls_required_fails_permanently_when_the_server_does_not_offer_it() {
    let server = Smtp::start(Options::default()).await;
    let error = failure(&local(), &settings(&server, SmtpSecurity::StartTlsRequired)).await;
    assert!(
        matches!(
            error,
            SendError::Smtp {
                permanent: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.retryable());
    assert!(error.to_string().contains("STARTTLS"), "{error}");
    assert!(server.saw("EHLO"));
    assert!(!server.saw("MAIL FROM"), "{:?}", server.lines());
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn starttls_with_the_extra_root_delivers_and_authenticates_only_inside_tls() {
    let pki = pki();
    let server = Smtp::start(Options {
        starttls: Some(pki.server.clone()),
        auth: true,
        ..Options::default()
    })
    .await;
    let settings = with_login(
        settings(&server, SmtpSecurity::StartTlsRequired),
        &pki.ca_pem,
    );
    send(&local(), &settings).await.unwrap();

    let lines = server.lines();
    let starttls = lines.iter().position(|l| l.text == "STARTTLS").unwrap();
    assert!(lines[..=starttls].iter().all(|l| !l.tls));
    assert!(lines[starttls + 1..].iter().all(|l| l.tls), "{lines:?}");
    let auth = lines
        .iter()
        .position(|l| l.text.starts_with("AUTH"))
        .expect("AUTH was sent");
    assert!(auth > starttls && lines[auth].tls);
    let plain = STANDARD.encode(format!("\0vigil\0{PASSWORD}"));
    assert_eq!(lines[auth].text, format!("AUTH PLAIN {plain}"));
    assert!(
        lines
            .iter()
            .any(|l| l.text.starts_with("MAIL FROM") && l.tls)
    );
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn starttls_to_an_untrusted_certificate_fails_before_login_or_mail() {
    let pki = pki();
    let server = Smtp::start(Options {
        starttls: Some(pki.server.clone()),
        auth: true,
        ..Options::default()
    })
    .await;
    let mut settings = with_login(settings(&server, SmtpSecurity::StartTlsRequired), &[]);
    settings.extra_roots_pem = None;
    let error = failure(&local(), &settings).await;
    assert!(matches!(error, SendError::Tls(_)), "{error:?}");
    assert!(error.retryable());
    assert!(
        !server.saw("AUTH") && !server.saw("MAIL"),
        "{:?}",
        server.lines()
    );
}

#[tokio::test]
async fn implicit_tls_delivers_with_the_extra_root() {
    let pki = pki();
    let server = Smtp::start(Options {
        implicit: Some(pki.server.clone()),
        auth: true,
        ..Options::default()
    })
    .await;
    let settings = with_login(settings(&server, SmtpSecurity::Implicit), &pki.ca_pem);
    send(&local(), &settings).await.unwrap();
    let lines = server.lines();
    assert!(lines.iter().all(|l| l.tls), "{lines:?}");
    assert!(server.saw("AUTH PLAIN"));
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn a_permanent_refusal_is_permanent_and_a_transient_one_is_retried() {
    for (reply, permanent, code) in [
        ("550 5.1.1 <ops@example.com>: user unknown", true, 550),
        ("451 4.3.0 try again later", false, 451),
    ] {
        let server = Smtp::start(Options {
            rcpt_reply: reply.into(),
            ..Options::default()
        })
        .await;
        let error = failure(&local(), &settings(&server, SmtpSecurity::None)).await;
        match &error {
            SendError::Smtp {
                permanent: p,
                code: Some(c),
                message,
            } => {
                assert_eq!((*p, *c), (permanent, code), "{error}");
                assert!(message.contains(&reply[4..]), "{message}");
            }
            other => panic!("{reply}: {other:?}"),
        }
        assert_eq!(error.retryable(), !permanent);
        assert_eq!(error.class(), "smtp");
        assert!(server.messages().is_empty());
    }
}

#[tokio::test]
async fn a_password_echoed_in_a_refusal_is_not_repeated() {
    let pki = pki();
    let plain = STANDARD.encode(format!("\0vigil\0{PASSWORD}"));
    let server = Smtp::start(Options {
        implicit: Some(pki.server.clone()),
        auth: true,
        auth_reply: format!("535 5.7.8 bad credentials {PASSWORD} {plain}"),
        ..Options::default()
    })
    .await;
    let settings = with_login(settings(&server, SmtpSecurity::Implicit), &pki.ca_pem);
    let error = failure(&local(), &settings).await;
    assert!(matches!(
        error,
        SendError::Smtp {
            permanent: true,
            code: Some(535),
            ..
        }
    ));
    assert!(!error.to_string().contains(&plain), "{error}");
    assert!(error.to_string().contains("bad credentials"), "{error}");
}

#[tokio::test]
async fn a_relay_that_is_not_allowlisted_is_blocked_without_a_connection() {
    let server = Smtp::start(Options::default()).await;
    for security in [
        SmtpSecurity::None,
        SmtpSecurity::StartTlsRequired,
        SmtpSecurity::Implicit,
    ] {
        let error = failure(&Policy::default(), &settings(&server, security)).await;
        assert!(matches!(error, SendError::Blocked(_)), "{error:?}");
        assert!(!error.retryable());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn a_server_that_never_greets_times_out_within_the_bound() {
    let server = Smtp::start(Options {
        silent: true,
        ..Options::default()
    })
    .await;
    let started = Instant::now();
    let error = email::send(
        &local(),
        &settings(&server, SmtpSecurity::None),
        &email(),
        Duration::from_millis(300),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, SendError::Timeout), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn credentials_over_plaintext_are_refused_before_connecting() {
    let server = Smtp::start(Options {
        auth: true,
        ..Options::default()
    })
    .await;
    let settings = with_login(settings(&server, SmtpSecurity::None), &[]);
    let settings = EmailSettings {
        extra_roots_pem: None,
        ..settings
    };
    let error = failure(&local(), &settings).await;
    assert_eq!(error.class(), "config");
    assert_eq!(server.connections(), 0);
}
