//! A receiver's URL, parsed strictly into scheme, host, port, and a path
//! and query that are kept out of sight.
//!
//! The parser is deliberately small and refuses anything two parsers could
//! read differently: credentials before the host (`https://a@b/` names
//! host `b` to one parser and `a` to a sloppy one), backslashes (WHATWG
//! reads them as `/`), fragments, whitespace, control and non-ASCII
//! characters. The path and query often hold a secret (Slack and similar
//! webhook URLs are bearer tokens), so `Debug` and `Display` show only
//! scheme, host and port.

use std::fmt;

use super::MAX_URL_LEN;
use super::error::Blocked;
use super::host::{self, Host};

/// A destination's scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// HTTP over TLS; port 443 unless given.
    Https,
    /// Plain HTTP, only to allowlisted destinations; port 80 unless given.
    Http,
    /// SMTP over TLS from the first byte; port 465 unless given.
    Smtps,
    /// SMTP submission, plain or upgraded with STARTTLS; only to
    /// allowlisted destinations, since the guard cannot see the upgrade;
    /// port 587 unless given.
    Smtp,
}

impl Scheme {
    /// The scheme as written in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Https => "https",
            Self::Http => "http",
            Self::Smtps => "smtps",
            Self::Smtp => "smtp",
        }
    }

    /// The port used when the URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Https => 443,
            Self::Http => 80,
            Self::Smtps => 465,
            Self::Smtp => 587,
        }
    }

    /// Whether the connection may carry plaintext, which only allowlisted
    /// destinations may receive.
    pub fn is_plaintext(self) -> bool {
        matches!(self, Self::Http | Self::Smtp)
    }

    /// The encrypted scheme to suggest instead of this one.
    pub(crate) fn encrypted(self) -> Self {
        match self {
            Self::Http | Self::Https => Self::Https,
            Self::Smtp | Self::Smtps => Self::Smtps,
        }
    }

    fn from_text(text: &str) -> Option<Self> {
        match text {
            "https" => Some(Self::Https),
            "http" => Some(Self::Http),
            "smtps" => Some(Self::Smtps),
            "smtp" => Some(Self::Smtp),
            _ => None,
        }
    }
}

/// A parsed receiver URL.
///
/// `Debug` and `Display` show `scheme://host:port` only; the path and
/// query are available to the client through [`Destination::path_and_query`].
#[derive(Clone, PartialEq, Eq)]
pub struct Destination {
    scheme: Scheme,
    host: Host,
    /// The host as written (lowercased), when it differs from `host`'s
    /// display: `0x7f.1` for 127.0.0.1, so errors can say what it meant.
    written_host: Option<String>,
    port: u16,
    path_and_query: String,
}

impl Destination {
    /// Parses `scheme://host[:port][/path][?query]`.
    ///
    /// # Errors
    ///
    /// [`Blocked`] saying what is wrong; never containing the path or query.
    pub fn parse(url: &str) -> Result<Self, Blocked> {
        let malformed = |reason| Err(Blocked::Malformed { reason });
        if url.len() > MAX_URL_LEN {
            return malformed("the URL is longer than 8 KiB");
        }
        if url.bytes().any(|b| !b.is_ascii_graphic()) {
            return malformed(
                "the URL contains whitespace, a control character or a non-ASCII character; percent-encode it",
            );
        }
        if url.contains('\\') {
            return malformed("the URL contains a backslash, which URL parsers disagree about");
        }
        if url.contains('#') {
            return malformed("the URL has a fragment (#...), which is never sent; remove it");
        }
        let Some((scheme_text, rest)) = url.split_once("://") else {
            return malformed("the URL does not start with scheme://");
        };
        let scheme = parse_scheme(scheme_text)?;
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return malformed(
                "the URL has credentials before the host (user@host); configure them in the receiver's secret settings instead",
            );
        }
        let (host, port) = split_authority(authority)?;
        let port = port.unwrap_or(scheme.default_port());
        let written = match authority.strip_prefix('[') {
            Some(_) => None,
            None => authority.split(':').next().map(host::normalize_name),
        };
        let written_host = written.filter(|text| *text != host.to_string());
        let path_and_query = match tail.as_bytes().first() {
            None => "/".to_owned(),
            Some(b'?') => format!("/{tail}"),
            Some(_) => tail.to_owned(),
        };
        if matches!(scheme, Scheme::Smtp | Scheme::Smtps) && path_and_query != "/" {
            return malformed("an smtp or smtps URL has no path or query");
        }
        Ok(Self {
            scheme,
            host,
            written_host,
            port,
            path_and_query,
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host, normalised.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The path and query, starting with `/`, for the request line only.
    /// It may hold a secret: never log it.
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    /// `scheme://host:port`, safe for logs and errors.
    pub fn origin(&self) -> String {
        format!("{}://{}:{}", self.scheme.as_str(), self.host, self.port)
    }

    /// The value of the HTTP `Host` header: the host, with the port when it
    /// is not the scheme's default.
    pub fn host_header(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.host.to_string()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// How errors name the host: `2130706433 (127.0.0.1)` when the written
    /// form differs from the address it means.
    pub(crate) fn host_for_errors(&self) -> String {
        match &self.written_host {
            Some(written) => format!("{written} ({})", self.host),
            None => self.host.to_string(),
        }
    }
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Destination")
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path_and_query", &"<redacted>")
            .finish()
    }
}

impl fmt::Display for Destination {
    /// The origin only; see [`Destination::origin`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin())
    }
}

fn parse_scheme(text: &str) -> Result<Scheme, Blocked> {
    let lower = text.to_ascii_lowercase();
    if let Some(scheme) = Scheme::from_text(&lower) {
        return Ok(scheme);
    }
    // Echo the scheme only if it looks like one: text before "://" that
    // is not a scheme could be part of a secret path.
    let looks_like_scheme = lower.len() <= 32
        && lower.starts_with(|c: char| c.is_ascii_lowercase())
        && lower
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if looks_like_scheme {
        Err(Blocked::Scheme { scheme: lower })
    } else {
        Err(Blocked::Malformed {
            reason: "the URL does not start with scheme://",
        })
    }
}

/// Splits `host[:port]` or `[v6][:port]`.
fn split_authority(authority: &str) -> Result<(Host, Option<u16>), Blocked> {
    let (host, port_text) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((inside, after)) = bracketed.split_once(']') else {
            return Err(Blocked::Malformed {
                reason: "the URL has '[' without a matching ']'",
            });
        };
        let port_text = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(Blocked::Malformed {
                reason: "unexpected text after the bracketed IPv6 address",
            })?),
        };
        (host::parse_bracketed(inside)?, port_text)
    } else {
        let mut pieces = authority.split(':');
        let host_text = pieces.next().unwrap_or_default();
        let port_text = pieces.next();
        if pieces.next().is_some() {
            return Err(Blocked::Malformed {
                reason: "the host has more than one ':'; write an IPv6 address in brackets",
            });
        }
        if host_text.is_empty() {
            return Err(Blocked::Malformed {
                reason: "the URL has no host",
            });
        }
        (host::parse_unbracketed(host_text)?, port_text)
    };
    let port = port_text.map(parse_port).transpose()?;
    Ok((host, port))
}

/// Decimal digits without a leading zero, 1 to 65535: one spelling per port.
fn parse_port(text: &str) -> Result<u16, Blocked> {
    let valid = !text.is_empty()
        && !text.starts_with('0')
        && text.len() <= 5
        && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u16>() {
        Ok(port) if valid => Ok(port),
        _ => Err(Blocked::Malformed {
            reason: "the port is not a number from 1 to 65535 (without leading zeros)",
        }),
    }
}
