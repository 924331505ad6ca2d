//! [`HttpClient`]: one HTTP POST to a receiver (webhook, Slack,
//! PagerDuty), through the SSRF guard and nothing else.
//!
//! Each send parses the URL, has the guard check it, connects to exactly
//! the vetted addresses, speaks TLS with the name the guard checked, and
//! sends one HTTP/1.1 request on a fresh connection. What a general HTTP
//! client would do for convenience is left out on purpose: no proxy from
//! the environment (`HTTPS_PROXY` would carry the secret URL elsewhere),
//! no redirect (its target was never checked), no connection reuse (an
//! address pinned minutes ago may no longer be what the name means), and
//! at most [`ssrf::MAX_RESPONSE_BODY`] bytes of the answer read and
//! thrown away.

use std::time::Duration;

use http::header::{self, HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::error::SendError;
use super::tls::Trust;
use crate::ssrf::{self, Destination, Scheme};

/// A successful delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The 2xx status the receiver answered.
    pub status: u16,
}

/// Sends notification requests; built once per configuration (loading the
/// system's CA certificates is not free) and shared by all sends.
#[derive(Clone)]
pub struct HttpClient {
    policy: ssrf::Policy,
    trust: Trust,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The `User-Agent` every request carries, so receivers' logs say who sent.
const USER_AGENT: &str = concat!("vigil/", env!("CARGO_PKG_VERSION"));

/// Headers the client sets itself: a caller's value would make the
/// request ambiguous (two lengths, a second host) or break framing.
const RESERVED: [HeaderName; 5] = [
    header::HOST,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::CONNECTION,
    header::UPGRADE,
];

/// The largest response head accepted; receivers answer with a few short
/// headers.
const MAX_HEADER_BYTES: usize = 16 * 1024;

impl HttpClient {
    /// A client checking destinations with `policy` and trusting the
    /// system's CA certificates (none is fine) plus `extra_roots_pem`.
    ///
    /// # Errors
    ///
    /// [`SendError::Config`] when `extra_roots_pem` holds no usable
    /// certificate.
    pub fn new(policy: ssrf::Policy, extra_roots_pem: Option<&[u8]>) -> Result<Self, SendError> {
        let trust = Trust::new(extra_roots_pem, &[b"http/1.1"])?;
        Ok(Self { policy, trust })
    }

    /// POSTs `body` to `url` with the caller's `headers` (names and values;
    /// `Content-Type` defaults to `application/json`). The whole attempt,
    /// DNS included, is bounded by `timeout`.
    ///
    /// # Errors
    ///
    /// A [`SendError`] saying why; its [`retryable`](SendError::retryable)
    /// tells the outbox whether to try again.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Delivered, SendError> {
        tokio::time::timeout(timeout, self.attempt(url, headers, body, timeout))
            .await
            .unwrap_or(Err(SendError::Timeout))
    }

    async fn attempt(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Delivered, SendError> {
        let destination = Destination::parse(url)?;
        let scheme = destination.scheme();
        if !matches!(scheme, Scheme::Https | Scheme::Http) {
            return Err(SendError::Config(format!(
                "{} is a mail server, not an HTTP receiver; use an email channel",
                destination.origin()
            )));
        }
        // Build the request before connecting: a bad header is a
        // configuration error and should not cost a connection.
        let request = request(&destination, headers, body)?;
        let pinned = self.policy.check(&destination).await?;
        let tcp = ssrf::connect(&pinned, ssrf::CONNECT_TIMEOUT.min(timeout)).await?;
        let origin = destination.origin();
        let status = if scheme == Scheme::Https {
            let tls = self
                .trust
                .handshake(tcp, &pinned.server_name(), &origin)
                .await?;
            exchange(tls, request, &origin).await?
        } else {
            exchange(tcp, request, &origin).await?
        };
        match status {
            200..=299 => Ok(Delivered { status }),
            300..=399 => Err(SendError::Redirect { status }),
            _ => Err(SendError::Status { status }),
        }
    }
}

/// The request: method, path and query, `Host` as the guard checked it,
/// the caller's headers, then the ones the client owns.
fn request(
    destination: &Destination,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<http::Request<Full<Bytes>>, SendError> {
    let origin = destination.origin();
    let length = body.len();
    let mut request = http::Request::new(Full::new(Bytes::from(body)));
    *request.method_mut() = http::Method::POST;
    // The error never repeats the path: it may be the webhook's secret.
    *request.uri_mut() = destination.path_and_query().parse().map_err(|_| {
        SendError::Config(format!(
            "{origin}: the URL's path or query cannot be sent in an HTTP request line; percent-encode it"
        ))
    })?;
    let map = request.headers_mut();
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| SendError::Config(format!("{name:?} is not a valid HTTP header name")))?;
        if RESERVED.contains(&name) {
            return Err(SendError::Config(format!(
                "header {name} is set by Vigil itself and cannot be configured"
            )));
        }
        // The value is not quoted: it may be a token.
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            SendError::Config(format!(
                "the value of header {name} contains a character not allowed in HTTP headers"
            ))
        })?;
        // Credentials stay out of hyper's debug output.
        value.set_sensitive(name == header::AUTHORIZATION);
        map.append(name, value);
    }
    let host = HeaderValue::from_str(&destination.host_header())
        .map_err(|_| SendError::Config(format!("{origin}: the host is not a valid Host header")))?;
    map.insert(header::HOST, host);
    map.entry(header::CONTENT_TYPE)
        .or_insert(HeaderValue::from_static("application/json"));
    map.entry(header::USER_AGENT)
        .or_insert(HeaderValue::from_static(USER_AGENT));
    // One request per connection: tell the receiver so it closes promptly.
    map.insert(header::CONNECTION, HeaderValue::from_static("close"));
    // Explicit rather than left to hyper, so the request never falls back
    // to chunked encoding, which some receivers refuse.
    map.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(request)
}

/// Sends `request` over `io` and returns the status once at most
/// [`ssrf::MAX_RESPONSE_BODY`] bytes of the answer were read and dropped.
async fn exchange<S>(
    io: S,
    request: http::Request<Full<Bytes>>,
    origin: &str,
) -> Result<u16, SendError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let protocol = |e: hyper::Error| SendError::Protocol(format!("{origin}: {e}"));
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .max_header_size(MAX_HEADER_BYTES)
        .handshake::<_, Full<Bytes>>(TokioIo::new(io))
        .await
        .map_err(protocol)?;
    let answer = async move {
        let response = sender.send_request(request).await.map_err(protocol)?;
        let status = response.status().as_u16();
        drain(response.into_body()).await.map_err(protocol)?;
        Ok(status)
    };
    // The connection is driven here rather than spawned, so that a
    // timeout or an early return drops it and nothing outlives the send.
    tokio::pin!(connection, answer);
    tokio::select! {
        result = &mut answer => result,
        closed = &mut connection => match closed {
            Err(e) => Err(protocol(e)),
            // Closed cleanly: the answer, if any, is already complete.
            Ok(()) => answer.await,
        },
    }
}

/// Reads the body until its end or [`ssrf::MAX_RESPONSE_BODY`] bytes,
/// keeping none of it: what a receiver says beyond its status is not
/// needed and may echo what it was sent.
async fn drain(mut body: Incoming) -> Result<(), hyper::Error> {
    let mut read = 0usize;
    while read < ssrf::MAX_RESPONSE_BODY {
        match body.frame().await {
            None => break,
            Some(frame) => {
                if let Ok(data) = frame?.into_data() {
                    read += data.len();
                }
            }
        }
    }
    Ok(())
}
