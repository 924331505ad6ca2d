//! A stored entry of the log: its 8-byte key and its value, a fixed
//! 116-byte header then the body (`vigil_store::Entry`).
//!
//! Input: 8 bytes of key, then the value.
//!
//! Checked: an entry that decodes encodes back to exactly the value it was
//! read from, its pruned form has no body and the same seal, and its body
//! passes the event body checks (`vigil_fuzz::events`); one that does not
//! is a typed decode error.
#![no_main]

use fjall::Slice;
use libfuzzer_sys::fuzz_target;
use vigil_store::{ENTRY_FORMAT, Entry, StoreError, encode_entry_value};

const HEADER_LEN: usize = 116;

fuzz_target!(|data: &[u8]| {
    let (key, value) = data.split_at(data.len().min(8));
    let entry = match Entry::decode(key, Slice::from(value)) {
        Ok(entry) => entry,
        Err(StoreError::Decode(reason)) => {
            assert!(!reason.is_empty());
            // Only a short key, a short value, another format, unknown
            // flags or a pruned entry with a body are refused.
            assert!(
                key.len() != 8
                    || value.len() < HEADER_LEN
                    || value[0] != ENTRY_FORMAT
                    || value[1] > 1
                    || (value[1] == 1 && value.len() != HEADER_LEN),
                "refused a well-formed entry: {reason}"
            );
            return;
        }
        Err(other) => panic!("an entry that does not decode is a decode error, not {other:?}"),
    };
    let seq = u64::from_be_bytes(key.try_into().expect("8 bytes"));
    assert_eq!(entry.seq(), seq);
    assert_eq!(entry.time(), entry.seal().time);
    assert_eq!(entry.is_pruned(), entry.body().is_none());
    assert_eq!(encode_entry_value(entry.seal(), entry.body()), value);
    let _ = entry.kind();

    let pruned = encode_entry_value(entry.seal(), None);
    let back = Entry::decode_value(seq, Slice::from(pruned)).expect("a pruned entry decodes");
    assert!(back.is_pruned() && back.body().is_none());
    assert_eq!(back.seal(), entry.seal());

    match (entry.body(), entry.event()) {
        (None, Ok(None)) => {}
        (Some(body), Ok(Some(event))) => {
            assert_eq!(vigil_fuzz::events::check_body(body), Some(event));
        }
        (Some(body), Err(StoreError::Decode(_))) => {
            assert_eq!(vigil_fuzz::events::check_body(body), None);
        }
        (body, event) => panic!("body {:?} gave {event:?}", body.map(<[u8]>::len)),
    }
});
