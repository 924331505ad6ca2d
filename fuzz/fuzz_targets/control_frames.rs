//! The control protocol's frames and messages (`vigil_proto::frame`), as
//! the daemon reads a connection: a `Hello`, then `Request`s, each a 4-byte
//! big-endian length and that many bytes of JSON. Every payload is also
//! read as the client reads the daemon's answers (`HelloReply`, `Response`).
//!
//! Checked:
//! * `frame::read` fails exactly as the stream says (closed between
//!   frames, over the size limit, cut short, not the message), never
//!   otherwise, and never panics;
//! * every message decoded encodes to a frame that decodes to the same
//!   message (and the frame's length prefix is its payload's length);
//! * what a request needs (permission, name, whether it changes anything)
//!   is answered for every request that decodes;
//! * a secret a message carries (a secret's value, a new API key) never
//!   shows in its `Debug`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use vigil_proto::frame::{self, FrameError, MAX_FRAME};
use vigil_proto::{Hello, HelloReply, Request, Response, SecretsRequest, WireSecret};

/// Most frames read from one input.
const MAX_FRAMES: usize = 64;

/// What the next `frame::read` must do with `stream`, by reading the
/// frame here: the payload, or the error's name.
fn expected(stream: &[u8]) -> Result<&[u8], &'static str> {
    let Some((prefix, rest)) = stream.split_first_chunk::<4>() else {
        return Err("closed");
    };
    let len = u32::from_be_bytes(*prefix) as usize;
    if len > MAX_FRAME {
        return Err("too large");
    }
    rest.get(..len).ok_or("cut short")
}

/// Reads one frame as `T` and checks the outcome against [`expected`];
/// returns the rest of the stream, or `None` when the connection ends.
fn read_one<T>(stream: &[u8]) -> (Option<T>, Option<&[u8]>)
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let mut cursor = stream;
    let got = frame::read::<_, T>(&mut cursor);
    match (expected(stream), got) {
        (Ok(payload), Ok(message)) => {
            round_trip(&message);
            // Whatever else the payload decodes as, it is checked too.
            also::<HelloReply>(payload);
            also::<Response>(payload);
            (Some(message), Some(&stream[4 + payload.len()..]))
        }
        (Ok(payload), Err(FrameError::Malformed(reason))) => {
            assert!(!reason.is_empty());
            assert!(serde_json::from_slice::<T>(payload).is_err());
            also::<HelloReply>(payload);
            also::<Response>(payload);
            (None, None)
        }
        (Err("closed"), Err(FrameError::Closed)) => (None, None),
        (Err("too large"), Err(FrameError::TooLarge { len, max })) => {
            assert!(len > max && max == MAX_FRAME);
            (None, None)
        }
        (Err("cut short"), Err(FrameError::Io(e))) => {
            assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
            (None, None)
        }
        (want, got) => panic!("expected {want:?}, frame::read gave {got:?}"),
    }
}

/// A message encodes to a frame that reads back as itself.
fn round_trip<T>(message: &T)
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let Ok(encoded) = frame::encode(message) else {
        // Only a message over the limit cannot be encoded, and a decoded
        // one is at most a frame (its rendering can be longer, though).
        return;
    };
    let len = u32::from_be_bytes(encoded[..4].try_into().expect("a prefix")) as usize;
    assert_eq!(len, encoded.len() - 4);
    let back: T = frame::read(&mut encoded.as_slice()).expect("an encoded frame reads back");
    assert_eq!(&back, message);
}

fn also<T>(payload: &[u8])
where
    T: DeserializeOwned + Serialize + PartialEq + Debug + 'static,
{
    if let Ok(message) = frame::decode::<T>(payload) {
        round_trip(&message);
        let any: &dyn std::any::Any = &message;
        if let Some(Response::KeyCreated { key, secret }) = any.downcast_ref::<Response>() {
            check_hidden(&message, secret.clone(), key);
        }
    }
}

/// A secret value (of at least 8 letters and digits, so that `Debug` would
/// print it as it is) that the rest of a message does not hold anyway must
/// not show in the message's `Debug`.
fn check_hidden(message: &impl Debug, secret: WireSecret, rest: &impl Debug) {
    let secret = secret.into_secret();
    let Some(text) = secret.expose_str() else {
        return;
    };
    if text.len() < 8 || !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return;
    }
    if format!("{rest:?}").contains(text) {
        return;
    }
    assert!(
        !format!("{message:?}").contains(text),
        "Debug shows a secret"
    );
}

fn check_request(request: &Request) {
    if let Request::Secrets(SecretsRequest::Set { name, value }) = request {
        check_hidden(request, value.clone(), name);
    }
    let _ = request.permission();
    let _ = request.is_mutating();
    assert!(!request.name().is_empty());
    if let Request::Audit(vigil_proto::AuditRequest::Export(export)) = request {
        let _ = export.range().check();
        let _ = export.filter().is_everything();
    }
}

fuzz_target!(|data: &[u8]| {
    let (hello, rest) = read_one::<Hello>(data);
    if hello.is_none() {
        return;
    }
    let mut stream = rest;
    for _ in 0..MAX_FRAMES {
        let Some(s) = stream else { break };
        let (request, rest) = read_one::<Request>(s);
        if let Some(request) = &request {
            check_request(request);
        }
        stream = rest;
    }
});
