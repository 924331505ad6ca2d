//! Opening the TCP connection to a [`Pinned`] target's vetted addresses,
//! and to nothing else: no name is resolved here.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

use super::policy::Pinned;

/// No vetted address of a destination accepted a connection.
#[derive(Debug, thiserror::Error)]
#[error("could not connect to {origin}: {}", attempts_text(.attempts))]
pub struct ConnectError {
    /// `scheme://host:port` of the destination.
    pub origin: String,
    /// Each address tried, with why it failed.
    pub attempts: Vec<(SocketAddr, String)>,
}

fn attempts_text(attempts: &[(SocketAddr, String)]) -> String {
    let mut text = String::new();
    for (i, (addr, why)) in attempts.iter().enumerate() {
        let separator = if i == 0 { "" } else { "; " };
        let _ = write!(text, "{separator}{addr}: {why}");
    }
    text
}

/// Connects to the first of `pinned`'s addresses that accepts within
/// `timeout` (per address), trying them in order.
///
/// # Errors
///
/// [`ConnectError`] listing each address and why it failed.
pub async fn connect(pinned: &Pinned, timeout: Duration) -> Result<TcpStream, ConnectError> {
    let mut attempts = Vec::new();
    for &addr in pinned.addrs() {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) => attempts.push((addr, error.to_string())),
            Err(_) => attempts.push((addr, format!("timed out after {timeout:?}"))),
        }
    }
    Err(ConnectError {
        origin: pinned.destination().origin(),
        attempts,
    })
}
