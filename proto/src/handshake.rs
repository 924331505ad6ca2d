//! The handshake: the client's [`Hello`] and the daemon's [`HelloReply`].

use crate::error::ErrorBody;
use serde::{Deserialize, Serialize};

/// Version of this protocol. A peer speaking another version is refused
/// with [`ErrorCode::VersionMismatch`].
pub const PROTOCOL_VERSION: u32 = 3;

/// First frame from the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The client's protocol version.
    pub protocol: u32,
    /// The client's name and version, for the log.
    pub client: String,
}

/// Who the daemon says the caller is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Peer uid.
    pub uid: u32,
    /// Peer gid.
    pub gid: u32,
    /// Peer pid.
    pub pid: u32,
    /// User name, if it resolves.
    pub user: Option<String>,
    /// The role the caller acts in.
    pub role: String,
    /// Whether the break-glass rule granted it.
    pub break_glass: bool,
}

/// The server's answer to [`Hello`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "hello", rename_all = "snake_case")]
pub enum HelloReply {
    /// Connected.
    Welcome {
        /// The server's protocol version.
        protocol: u32,
        /// The server's name and version.
        server: String,
        /// Who the caller is.
        identity: Identity,
    },
    /// Refused; the connection closes.
    Rejected {
        /// Why.
        error: ErrorBody,
    },
}
