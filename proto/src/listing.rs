//! Listings: pages of items under the frame cap, then [`ListEnd`].

use serde::{Deserialize, Serialize};

/// Items per page frame a listing aims for (in bytes of JSON); one item may
/// take up to [`MAX_FRAME`](crate::frame::MAX_FRAME) less an envelope's room.
pub const PAGE_TARGET: usize = 256 * 1024;

/// How a listing ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEnd {
    /// Items in the pages before this frame.
    pub listed: u64,
    /// Set when the listing stopped at the caller's limit while more matched.
    pub truncated: Option<Truncated>,
}

/// A listing stopped at its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncated {
    /// The limit asked for.
    pub limit: u64,
    /// How many matched in all, when the daemon could count them cheaply.
    pub matching: Option<u64>,
}
