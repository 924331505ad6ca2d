//! The event body decoder (`vigil_store::Event::decode`): a format byte,
//! then postcard.
//!
//! Input: the body bytes, as an entry or an export holds them.
//!
//! Checked (see `vigil_fuzz::events`): a body that does not decode is a
//! typed decode error; one that does re-encodes to bytes that decode to
//! the same event, stably, and renders as JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vigil_fuzz::events::check_body(data);
});
