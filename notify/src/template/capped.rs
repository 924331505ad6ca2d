//! The output buffer that enforces [`Limits::max_output`](super::Limits).
//!
//! minijinja writes through it as it renders, so a template that would
//! produce megabytes stops at the cap instead of building the whole text
//! first. Refusing the write makes the render fail; the flag tells that
//! failure apart from any other.

use std::io;

pub(super) struct CappedBuffer {
    bytes: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl CappedBuffer {
    pub(super) fn new(limit: usize) -> CappedBuffer {
        CappedBuffer {
            bytes: Vec::new(),
            limit,
            overflowed: false,
        }
    }

    /// Whether a write was refused for exceeding the limit.
    pub(super) fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The text written. minijinja only writes whole `str`s and a refused
    /// write adds nothing, so the bytes are UTF-8; `None` if not.
    pub(super) fn into_string(self) -> Option<String> {
        String::from_utf8(self.bytes).ok()
    }
}

impl io::Write for CappedBuffer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // All or nothing, so no character is ever split at the limit.
        if self.bytes.len().saturating_add(data.len()) > self.limit {
            self.overflowed = true;
            return Err(io::Error::other("template output limit reached"));
        }
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
