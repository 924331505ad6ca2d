//! Email through the operator's smarthost, with lettre speaking SMTP over
//! a connection the SSRF guard vetted.
//!
//! The smarthost is checked as `smtp://host:port` (STARTTLS or plaintext)
//! or `smtps://host:port` (implicit TLS). The guard admits plain `smtp`
//! only to allowlisted destinations, since it cannot see whether STARTTLS
//! happens; here [`SmtpSecurity::StartTlsRequired`] makes sure it does.
//! The TCP connection is opened with [`ssrf::connect`] to exactly the
//! vetted addresses and handed to lettre, which never resolves the name;
//! certificates are checked against the smarthost's name.
//!
//! Credentials go out only inside TLS: a password with
//! [`SmtpSecurity::None`] is a configuration error, and with STARTTLS the
//! `AUTH` command follows the upgrade. The password never appears in
//! `Debug` output or in an error, even if a server echoes it back.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use vigil_store::SecretValue;

use super::error::SendError;
use super::tls::{Trust, parse_pem};
use crate::ssrf::{self, Destination, Pinned};

/// How the connection to the smarthost is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP upgraded with STARTTLS before anything else is sent; a
    /// server that does not offer it fails the send (usually port 587).
    #[default]
    StartTlsRequired,
    /// TLS from the first byte, `smtps` (usually port 465).
    Implicit,
    /// No encryption, only to allowlisted destinations (a relay on this
    /// host or its network) and never with a password.
    None,
}

/// The `[email]` settings of a receiver.
#[derive(Clone)]
pub struct EmailSettings {
    /// `host:port` (or `[v6]:port`); without a port, 587 for STARTTLS and
    /// plaintext, 465 for implicit TLS.
    pub smarthost: String,
    /// How the connection is protected.
    pub security: SmtpSecurity,
    /// The name given in `EHLO`; without it, the address literal
    /// `[127.0.0.1]`, which some servers refuse.
    pub hello: Option<String>,
    /// The login, when the smarthost wants one.
    pub username: Option<String>,
    /// The password for `username`.
    pub password: Option<SecretValue>,
    /// The sender, `addr@example.com` or `Name <addr@example.com>`.
    pub from: String,
    /// The recipients.
    pub to: Vec<String>,
    /// PEM CA certificates trusted besides the system's (an internal CA).
    pub extra_roots_pem: Option<Vec<u8>>,
}

impl fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSettings")
            .field("smarthost", &self.smarthost)
            .field("security", &self.security)
            .field("hello", &self.hello)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("to", &self.to)
            .field(
                "extra_roots_pem",
                &self.extra_roots_pem.as_ref().map(Vec::len),
            )
            .finish()
    }
}

/// One message, rendered by the email templates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// The subject line.
    pub subject: String,
    /// The HTML part; with it the message is `multipart/alternative`.
    pub html: Option<String>,
    /// The plain-text part, always present.
    pub text: String,
    /// The delivery id, which becomes the `Message-ID`: a retry carries
    /// the same one, so receiving systems can drop the duplicate.
    pub message_id: String,
}

/// Sends `email` through the smarthost `settings` name, the whole attempt
/// bounded by `timeout`.
///
/// # Errors
///
/// [`SendError::Config`] for settings that cannot work (naming the field),
/// [`SendError::Blocked`] when the guard refuses the smarthost, and the
/// connection, TLS and [`SendError::Smtp`] failures of the session.
pub async fn send(
    policy: &ssrf::Policy,
    settings: &EmailSettings,
    email: &Email,
    timeout: Duration,
) -> Result<(), SendError> {
    // Everything that can be judged without the network is, first.
    let credentials = credentials(settings)?;
    let hello = hello(settings)?;
    let message = message(settings, email)?;
    let tls = Tls::new(settings)?;
    let redactor = Redactor::new(settings);
    let attempt = async {
        let pinned = check(policy, settings).await?;
        let tcp = ssrf::connect(&pinned, ssrf::CONNECT_TIMEOUT.min(timeout)).await?;
        let mut conn = open(tcp, &pinned, &tls, &hello, &redactor).await?;
        let origin = pinned.destination().origin();
        let result = session(
            &mut conn,
            credentials.as_ref(),
            &message,
            &origin,
            &redactor,
        )
        .await;
        if result.is_err() {
            // QUIT if the session is still usable, then close.
            conn.abort().await;
        }
        result
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or(Err(SendError::Timeout))
}

/// The guard's verdict on the smarthost, under the scheme that says how it
/// will be spoken to.
async fn check(policy: &ssrf::Policy, settings: &EmailSettings) -> Result<Pinned, SendError> {
    let scheme = match settings.security {
        SmtpSecurity::Implicit => "smtps",
        SmtpSecurity::StartTlsRequired | SmtpSecurity::None => "smtp",
    };
    let destination =
        Destination::parse(&format!("{scheme}://{}", settings.smarthost)).map_err(|e| {
            SendError::Config(format!(
                "[email] smarthost {:?} is not host:port: {e}",
                settings.smarthost
            ))
        })?;
    Ok(policy.check(&destination).await?)
}

/// The TLS each mode needs, prepared before connecting so a bad CA file
/// costs no connection.
enum Tls {
    /// STARTTLS: lettre upgrades its own stream, so it gets lettre's
    /// parameters (system roots plus the extra ones).
    Upgrade(Vec<Certificate>),
    /// Implicit TLS: the handshake is done here, with the HTTP client's
    /// trust.
    Implicit(Trust),
    /// Plaintext.
    None,
}

impl Tls {
    fn new(settings: &EmailSettings) -> Result<Self, SendError> {
        let extra = settings.extra_roots_pem.as_deref();
        Ok(match settings.security {
            SmtpSecurity::StartTlsRequired => {
                let certs = match extra {
                    None => Vec::new(),
                    Some(pem) => parse_pem(pem)?
                        .into_iter()
                        .map(|der| {
                            Certificate::from_der(der.to_vec()).map_err(|e| {
                                SendError::Config(format!("an extra CA certificate: {e}"))
                            })
                        })
                        .collect::<Result<_, _>>()?,
                };
                Self::Upgrade(certs)
            }
            SmtpSecurity::Implicit => Self::Implicit(Trust::new(extra, &[])?),
            SmtpSecurity::None => Self::None,
        })
    }
}

/// Greets the server over `tcp`, with TLS as `tls` says; on return the
/// connection is encrypted unless the mode is plaintext.
async fn open(
    tcp: TcpStream,
    pinned: &Pinned,
    tls: &Tls,
    hello: &ClientId,
    redactor: &Redactor,
) -> Result<AsyncSmtpConnection, SendError> {
    let origin = pinned.destination().origin();
    let server_name = pinned.server_name();
    let classify = |e| classify(e, &origin, redactor);
    match tls {
        Tls::Implicit(trust) => {
            let stream = trust.handshake(tcp, &server_name, &origin).await?;
            AsyncSmtpConnection::connect_with_transport(Box::new(Encrypted(stream)), hello)
                .await
                .map_err(classify)
        }
        Tls::None => AsyncSmtpConnection::connect_with_transport(Box::new(tcp), hello)
            .await
            .map_err(classify),
        Tls::Upgrade(extra) => {
            let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), hello)
                .await
                .map_err(classify)?;
            if !conn.can_starttls() {
                conn.abort().await;
                return Err(SendError::Smtp {
                    permanent: true,
                    code: None,
                    message: format!(
                        "{origin} does not offer STARTTLS, which [email] security requires; use implicit TLS if the server has it, or fix the server"
                    ),
                });
            }
            let mut parameters = TlsParameters::builder(server_name);
            for cert in extra {
                parameters = parameters.add_root_certificate(cert.clone());
            }
            let parameters = parameters
                .build_rustls()
                .map_err(|e| SendError::Config(format!("TLS setup for {origin}: {e}")))?;
            // lettre reports a failed handshake as a connection error:
            // anything but the server's reply to STARTTLS is TLS failing.
            if let Err(e) = conn.starttls(parameters, hello).await {
                if e.status().is_some() {
                    // The server refused STARTTLS: the plain session is
                    // intact, so say goodbye on it.
                    conn.abort().await;
                    return Err(classify(e));
                }
                // The handshake failed: lettre has already given up the
                // stream, and writing QUIT to it trips lettre's own debug
                // assertion; dropping the connection closes the socket.
                drop(conn);
                return Err(SendError::Tls(format!(
                    "{origin}: {}",
                    redactor.clean(&e.to_string())
                )));
            }
            Ok(conn)
        }
    }
}

/// Login, envelope, data, goodbye.
async fn session(
    conn: &mut AsyncSmtpConnection,
    credentials: Option<&Credentials>,
    message: &Message,
    origin: &str,
    redactor: &Redactor,
) -> Result<(), SendError> {
    if let Some(credentials) = credentials {
        conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
            .await
            .map_err(|e| classify(e, origin, redactor))?;
    }
    conn.send(message.envelope(), &message.formatted())
        .await
        .map_err(|e| classify(e, origin, redactor))?;
    // The message is accepted: a failed QUIT must not make the outbox send
    // it again.
    let _ = conn.quit().await;
    Ok(())
}

/// Username and password, both or neither, and never over plaintext.
fn credentials(settings: &EmailSettings) -> Result<Option<Credentials>, SendError> {
    match (&settings.username, &settings.password) {
        (None, None) => Ok(None),
        (Some(_), None) | (None, Some(_)) => Err(SendError::Config(
            "[email] username and password must be set together".to_owned(),
        )),
        (Some(_), Some(_)) if settings.security == SmtpSecurity::None => {
            Err(SendError::Config(
                "[email] has a password but security = none; credentials are never sent over plaintext, use STARTTLS or implicit TLS".to_owned(),
            ))
        }
        (Some(user), Some(password)) => {
            let password = password.expose_str().ok_or_else(|| {
                SendError::Config("[email] password is not valid UTF-8".to_owned())
            })?;
            Ok(Some(Credentials::new(user.clone(), password.to_owned())))
        }
    }
}

/// The `EHLO` name: a host name or an address literal, nothing that could
/// end the command line early.
fn hello(settings: &EmailSettings) -> Result<ClientId, SendError> {
    let Some(name) = &settings.hello else {
        return Ok(ClientId::default());
    };
    let valid = !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if !valid {
        return Err(SendError::Config(format!(
            "[email] hello {name:?} is not a host name or address literal"
        )));
    }
    Ok(ClientId::Domain(name.clone()))
}

/// The message: addresses parsed (bad ones named), the delivery id as
/// `Message-ID`, and a text part with an optional HTML alternative.
fn message(settings: &EmailSettings, email: &Email) -> Result<Message, SendError> {
    let from: Mailbox = settings.from.parse().map_err(|e| {
        SendError::Config(format!(
            "[email] from {:?} is not an email address: {e}",
            settings.from
        ))
    })?;
    if settings.to.is_empty() {
        return Err(SendError::Config(
            "[email] to lists no recipient".to_owned(),
        ));
    }
    let domain = from.email.domain().to_owned();
    let mut builder = Message::builder()
        .from(from)
        .subject(email.subject.clone())
        .message_id((!email.message_id.is_empty()).then(|| message_id(&email.message_id, &domain)))
        .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")).to_owned());
    for to in &settings.to {
        let mailbox: Mailbox = to.parse().map_err(|e| {
            SendError::Config(format!("[email] to {to:?} is not an email address: {e}"))
        })?;
        builder = builder.to(mailbox);
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(email.text.clone());
    let built = match &email.html {
        None => builder.singlepart(text),
        Some(html) => builder.multipart(
            MultiPart::alternative()
                .singlepart(text)
                .singlepart(SinglePart::html(html.clone())),
        ),
    };
    built.map_err(|e| SendError::Config(format!("[email] the message cannot be built: {e}")))
}

/// `<id@domain>`, with every byte of `id` outside `[A-Za-z0-9_-]` written
/// as `=XX`: a valid, injective encoding that no id can break out of.
fn message_id(id: &str, domain: &str) -> String {
    let mut local = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            local.push(char::from(byte));
        } else {
            local.push_str(&format!("={byte:02X}"));
        }
    }
    format!("<{local}@{domain}>")
}

/// Turns lettre's error into a [`SendError`]: the server's verdict where
/// there is one, lettre's own refusals (no usable AUTH mechanism, an
/// address the server cannot take) as permanent, and the rest retryable.
fn classify(error: lettre::transport::smtp::Error, origin: &str, redactor: &Redactor) -> SendError {
    if error.is_tls() {
        return SendError::Tls(format!("{origin}: {}", redactor.clean(&error.to_string())));
    }
    if error.is_timeout() {
        return SendError::Timeout;
    }
    let detail = std::error::Error::source(&error)
        .map(ToString::to_string)
        .unwrap_or_else(|| error.to_string());
    SendError::Smtp {
        permanent: error.is_permanent() || error.is_client(),
        code: error.status().map(u16::from),
        message: redactor.clean(&detail),
    }
}

/// Removes the password, in every form a login sends it, from server text
/// before it reaches an error: a misbehaving server may echo a command.
struct Redactor {
    secrets: Vec<String>,
}

/// The longest server text kept in an error.
const MAX_REPLY_CHARS: usize = 300;

impl Redactor {
    fn new(settings: &EmailSettings) -> Self {
        let mut secrets = Vec::new();
        if let Some(password) = settings.password.as_ref().filter(|p| !p.is_empty()) {
            let user = settings.username.as_deref().unwrap_or_default();
            secrets.push(String::from_utf8_lossy(password.expose()).into_owned());
            // AUTH LOGIN sends the password alone in base64, AUTH PLAIN
            // sends NUL user NUL password.
            secrets.push(STANDARD.encode(password.expose()));
            let mut plain = vec![0];
            plain.extend_from_slice(user.as_bytes());
            plain.push(0);
            plain.extend_from_slice(password.expose());
            secrets.push(STANDARD.encode(plain));
        }
        Self { secrets }
    }

    /// `text` without secrets or control characters, at most
    /// [`MAX_REPLY_CHARS`] long.
    fn clean(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), "<redacted>");
        }
        let mut cleaned: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX_REPLY_CHARS)
            .collect();
        if text.chars().count() > MAX_REPLY_CHARS {
            cleaned.push('…');
        }
        cleaned
    }
}

/// A TLS stream lettre can drive: it takes any stream implementing its
/// [`AsyncTokioStream`], which only plain TCP does out of the box.
#[derive(Debug)]
struct Encrypted(TlsStream<TcpStream>);

impl AsyncTokioStream for Encrypted {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for Encrypted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Encrypted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn message_ids_stay_inside_the_angle_brackets() {
        assert_eq!(
            message_id("vigil-3f2a", "example.com"),
            "<vigil-3f2a@example.com>"
        );
        assert_eq!(
            message_id("a>\r\nBcc: x@y", "example.com"),
            "<a=3E=0D=0ABcc=3A=20x=40y@example.com>"
        );
        assert_ne!(message_id("a=3E", "d"), message_id("a>", "d"));
    }

    #[test]
    fn a_password_echoed_by_a_server_is_redacted_in_every_form() {
        let settings = EmailSettings {
            smarthost: "mail.example.com:587".into(),
            security: SmtpSecurity::StartTlsRequired,
            hello: None,
            username: Some("vigil".into()),
            password: Some(SecretValue::from_string("hunter2-S3CRET".into())),
            from: "vigil@example.com".into(),
            to: vec!["ops@example.com".into()],
            extra_roots_pem: None,
        };
        let redactor = Redactor::new(&settings);
        let plain = STANDARD.encode(b"\0vigil\0hunter2-S3CRET");
        let login = STANDARD.encode(b"hunter2-S3CRET");
        let echoed = format!("535 bad: hunter2-S3CRET {plain} {login}\r\n");
        let cleaned = redactor.clean(&echoed);
        assert!(!cleaned.contains("hunter2"), "{cleaned}");
        assert!(
            !cleaned.contains(&plain) && !cleaned.contains(&login),
            "{cleaned}"
        );
        assert!(!cleaned.contains('\r'));
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn settings_that_cannot_work_are_refused_before_any_connection() {
        let base = EmailSettings {
            smarthost: "127.0.0.1:25".into(),
            security: SmtpSecurity::None,
            hello: None,
            username: Some("vigil".into()),
            password: Some(SecretValue::from_string("pw".into())),
            from: "vigil@example.com".into(),
            to: vec!["ops@example.com".into()],
            extra_roots_pem: None,
        };
        let error = credentials(&base).unwrap_err();
        assert_eq!(error.class(), "config");
        assert!(error.to_string().contains("never sent over plaintext"));

        let only_user = EmailSettings {
            password: None,
            security: SmtpSecurity::Implicit,
            ..base.clone()
        };
        assert_eq!(credentials(&only_user).unwrap_err().class(), "config");

        let bad_hello = EmailSettings {
            hello: Some("evil\r\nMAIL FROM:<x@y>".into()),
            ..base.clone()
        };
        assert_eq!(hello(&bad_hello).unwrap_err().class(), "config");

        let email = Email {
            subject: "s".into(),
            html: None,
            text: "t".into(),
            message_id: "id".into(),
        };
        let bad_from = EmailSettings {
            from: "not an address".into(),
            ..base.clone()
        };
        let error = message(&bad_from, &email).unwrap_err();
        assert!(error.to_string().contains("[email] from"), "{error}");
        let bad_to = EmailSettings {
            to: vec!["ops@example.com".into(), "nope".into()],
            ..base.clone()
        };
        let error = message(&bad_to, &email).unwrap_err();
        assert!(error.to_string().contains("[email] to \"nope\""), "{error}");
        let nobody = EmailSettings { to: vec![], ..base };
        assert_eq!(message(&nobody, &email).unwrap_err().class(), "config");
    }
}
