//! [`SendError`]: why one delivery attempt failed, whether trying again
//! can help, and a one-word class for metrics and the audit trail.
//!
//! Every message is written for the operator who reads it in `vigilctl`
//! or the journal, and none carries anything secret: a URL appears only
//! as `scheme://host:port` (Slack-style URLs hold their token in the path
//! or query), a response body never appears (a receiver may echo what it
//! was sent), and SMTP replies are cleaned of the password before they
//! get here (see [`email`](super::email)).

use crate::ssrf;

/// A failed send.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The SSRF guard refused the destination; permanent until the
    /// receiver or `[notify] allow` changes, except when DNS gave no usable
    /// answer ([`ssrf::Blocked::Resolve`], [`ssrf::Blocked::NoAddress`]):
    /// that is the resolver's state, not a verdict on the destination, and
    /// is retried so a DNS outage does not drop notifications.
    #[error("{0}")]
    Blocked(#[from] ssrf::Blocked),
    /// No vetted address accepted a TCP connection; retryable.
    #[error("{0}")]
    Connect(#[from] ssrf::ConnectError),
    /// The TLS handshake failed (untrusted or wrong certificate, protocol
    /// mismatch). Retryable: a certificate gets fixed or renewed without
    /// anything changing here.
    #[error("TLS failed: {0}")]
    Tls(String),
    /// The whole attempt did not finish within its time bound; retryable.
    #[error("no complete answer within the send timeout; the receiver is slow or unreachable")]
    Timeout,
    /// The receiver answered with a redirect. Permanent: the target was
    /// never checked by the SSRF guard, so it is not followed.
    #[error(
        "the receiver answered HTTP {status} (a redirect); redirects are never followed, configure the final URL instead"
    )]
    Redirect {
        /// The 3xx status.
        status: u16,
    },
    /// The receiver answered with a status that is neither success nor
    /// redirect; see [`SendError::retryable`] for which ones are retried.
    #[error("the receiver answered HTTP {status}{}", status_advice(*.status))]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The SMTP server refused or failed the message.
    #[error(
        "the mail server {} the message{}: {message}",
        if *.permanent { "refused" } else { "temporarily failed" },
        code.map(|c| format!(" with {c}")).unwrap_or_default()
    )]
    Smtp {
        /// Whether the server (or the session) said this will not change.
        permanent: bool,
        /// The SMTP reply code, when there was one.
        code: Option<u16>,
        /// What went wrong: the server's reply text, cleaned, or a
        /// description of the failure.
        message: String,
    },
    /// The peer broke the protocol (a malformed HTTP answer, a connection
    /// closed halfway); retryable.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The configuration cannot work (a bad CA file, a bad address, a
    /// password over plaintext); permanent until it is changed.
    #[error("configuration: {0}")]
    Config(String),
}

impl SendError {
    /// Whether the same send may succeed later without a configuration
    /// change. The outbox retries these with backoff and gives up on the
    /// rest at once.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Connect(_) | Self::Tls(_) | Self::Timeout | Self::Protocol(_) => true,
            Self::Status { status } => status_retryable(*status),
            Self::Smtp { permanent, .. } => !permanent,
            Self::Blocked(blocked) => matches!(
                blocked,
                ssrf::Blocked::Resolve { .. } | ssrf::Blocked::NoAddress { .. }
            ),
            Self::Redirect { .. } | Self::Config(_) => false,
        }
    }

    /// A short machine word for metrics labels and the audit trail.
    pub fn class(&self) -> &'static str {
        match self {
            Self::Blocked(_) => "blocked",
            Self::Connect(_) => "connect",
            Self::Tls(_) => "tls",
            Self::Timeout => "timeout",
            Self::Redirect { .. } => "redirect",
            Self::Status { .. } => "status",
            Self::Smtp { .. } => "smtp",
            Self::Protocol(_) => "protocol",
            Self::Config(_) => "config",
        }
    }
}

/// 408 Request Timeout, 425 Too Early, 429 Too Many Requests and every 5xx
/// describe the receiver's state, not the request; any other status says
/// this request will keep failing.
fn status_retryable(status: u16) -> bool {
    matches!(status, 408 | 425 | 429 | 500..=599)
}

/// What an operator should look at for a status.
fn status_advice(status: u16) -> &'static str {
    match status {
        400 | 422 => {
            " (bad request); the receiver rejects the payload, check the template and channel settings"
        }
        401 | 403 => " (unauthorized); check the receiver's credentials or the token in its URL",
        404 | 410 => " (not found); the URL is wrong or the webhook was deleted",
        413 => " (payload too large); shorten the template output",
        408 | 425 => " (try again); the receiver asks for a retry",
        429 => " (rate limited); the receiver asks to slow down",
        500..=599 => " (server error at the receiver)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_that_describe_the_receivers_state_are_retried_and_others_are_not() {
        for status in [408, 425, 429, 500, 502, 503, 504, 599] {
            assert!(SendError::Status { status }.retryable(), "{status}");
        }
        for status in [400, 401, 403, 404, 410, 413, 422, 100, 600, 0] {
            assert!(!SendError::Status { status }.retryable(), "{status}");
        }
    }

    #[test]
    fn each_variant_has_its_class_and_retry_decision() {
        let cases = [
            (SendError::Timeout, "timeout", true),
            (SendError::Tls("x".into()), "tls", true),
            (SendError::Protocol("x".into()), "protocol", true),
            (SendError::Redirect { status: 302 }, "redirect", false),
            (SendError::Config("x".into()), "config", false),
            (
                SendError::Blocked(ssrf::Blocked::Malformed { reason: "x" }),
                "blocked",
                false,
            ),
            (
                SendError::Blocked(ssrf::Blocked::Resolve {
                    host: "hooks.example.com".into(),
                    error: "temporary failure in name resolution".into(),
                }),
                "blocked",
                true,
            ),
            (
                SendError::Blocked(ssrf::Blocked::NoAddress {
                    host: "hooks.example.com".into(),
                }),
                "blocked",
                true,
            ),
            (
                SendError::Connect(ssrf::ConnectError {
                    origin: "https://a:443".into(),
                    attempts: vec![],
                }),
                "connect",
                true,
            ),
            (
                SendError::Smtp {
                    permanent: true,
                    code: Some(550),
                    message: "no".into(),
                },
                "smtp",
                false,
            ),
            (
                SendError::Smtp {
                    permanent: false,
                    code: Some(451),
                    message: "later".into(),
                },
                "smtp",
                true,
            ),
        ];
        for (error, class, retryable) in cases {
            assert_eq!(error.class(), class, "{error}");
            assert_eq!(error.retryable(), retryable, "{error}");
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        assert_eq!(
            SendError::Status { status: 404 }.to_string(),
            "the receiver answered HTTP 404 (not found); the URL is wrong or the webhook was deleted"
        );
        assert_eq!(
            SendError::Smtp {
                permanent: true,
                code: Some(550),
                message: "5.1.1 no such user".into()
            }
            .to_string(),
            "the mail server refused the message with 550: 5.1.1 no such user"
        );
        assert!(
            SendError::Redirect { status: 301 }
                .to_string()
                .contains("configure the final URL")
        );
    }
}
