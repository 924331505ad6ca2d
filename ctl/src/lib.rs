//! The control protocol shared by `vigild` and `vigilctl`, and the client.
//!
//! A control connection is a Unix stream socket carrying *frames*: a 4-byte
//! big-endian length, then that many bytes of JSON ([`frame`]). The client
//! opens with [`Hello`] naming its protocol version; the server answers
//! [`HelloReply`] (welcome, with the caller's identity and role, or a
//! rejection such as a version mismatch). Then each [`Request`] is answered
//! by one or more [`Response`] frames (streams end with [`Response::End`];
//! listings, whose pages each fit a frame, with [`Response::ListEnd`]).
//!
//! The caller's identity is never claimed by the client: the daemon reads
//! it from the socket (`SO_PEERCRED`) and maps it to a role ([`access`]).

pub mod access;
pub mod client;
pub mod frame;
pub mod protocol;
pub mod wire_secret;

pub use access::{Access, Area, Permission, PermissionSet, Role};
pub use client::{Client, ClientError};
pub use frame::FrameError;
pub use protocol::*;
pub use wire_secret::WireSecret;
