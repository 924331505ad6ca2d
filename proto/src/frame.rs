//! Frames: a 4-byte big-endian length, then that many bytes of JSON.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::{Read, Write};

/// Largest frame either side accepts (1 MiB).
pub const MAX_FRAME: usize = 1 << 20;

/// What can go wrong reading or writing a frame.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection between frames.
    #[error("the connection was closed")]
    Closed,
    /// A frame announced a length over the limit.
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Announced length.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// The frame's bytes are not the expected JSON message.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The socket failed.
    #[error("control socket: {0}")]
    Io(#[from] std::io::Error),
}

/// Encodes a message as a complete frame (length prefix included).
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, FrameError> {
    let mut out = vec![0u8; 4];
    serde_json::to_writer(&mut out, message).map_err(|e| FrameError::Malformed(e.to_string()))?;
    let len = out.len() - 4;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_FRAME,
        });
    }
    out[..4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(out)
}

/// Checks a frame's announced length.
pub fn check_len(prefix: [u8; 4]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_FRAME,
        });
    }
    Ok(len)
}

/// Decodes a frame's payload (without the length prefix).
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, FrameError> {
    serde_json::from_slice(payload).map_err(|e| FrameError::Malformed(e.to_string()))
}

/// Writes one frame.
pub fn write<W: Write, T: Serialize>(w: &mut W, message: &T) -> Result<(), FrameError> {
    w.write_all(&encode(message)?)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame; [`FrameError::Closed`] on a clean end of stream.
pub fn read<R: Read, T: DeserializeOwned>(r: &mut R) -> Result<T, FrameError> {
    let mut prefix = [0u8; 4];
    match r.read_exact(&mut prefix) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = check_len(prefix)?;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    decode(&payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        write(&mut buf, &vec!["a", "b"]).unwrap();
        assert_eq!(&buf[..4], &(9u32).to_be_bytes());
        let back: Vec<String> = read(&mut buf.as_slice()).unwrap();
        assert_eq!(back, vec!["a", "b"]);
        assert!(matches!(
            read::<_, Vec<String>>(&mut [].as_slice()),
            Err(FrameError::Closed)
        ));
    }

    #[test]
    fn oversized_and_malformed_frames_are_errors() {
        let mut big = (MAX_FRAME as u32 + 1).to_be_bytes().to_vec();
        big.extend_from_slice(b"{}");
        assert!(matches!(
            read::<_, serde_json::Value>(&mut big.as_slice()),
            Err(FrameError::TooLarge { .. })
        ));
        let mut garbage = 3u32.to_be_bytes().to_vec();
        garbage.extend_from_slice(b"{{{");
        assert!(matches!(
            read::<_, serde_json::Value>(&mut garbage.as_slice()),
            Err(FrameError::Malformed(_))
        ));
        let truncated = [0u8, 0, 0, 10, b'{'];
        assert!(matches!(
            read::<_, serde_json::Value>(&mut truncated.as_slice()),
            Err(FrameError::Io(_))
        ));
    }
}
