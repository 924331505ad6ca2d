//! `vigilctl`'s blocking client for the control socket.
//!
//! The protocol it speaks (frames, handshake, requests and responses) is
//! `vigil-proto`'s; this crate adds the connection ([`Client`]) and, in the
//! binary, the command line.

pub mod client;

pub use client::{Client, ClientError};
