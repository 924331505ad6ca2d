//! Frames over tokio streams (the codec itself lives in `vigil_proto::frame`).

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use vigil_proto::{FrameError, frame};

/// Reads one frame; [`FrameError::Closed`] on a clean end of stream.
pub async fn read<R: AsyncRead + Unpin, T: DeserializeOwned>(r: &mut R) -> Result<T, FrameError> {
    let mut prefix = [0u8; 4];
    match r.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = frame::check_len(prefix)?;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    frame::decode(&payload)
}

/// Writes one frame.
pub async fn write<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut W,
    message: &T,
) -> Result<(), FrameError> {
    let bytes = frame::encode(message)?;
    w.write_all(&bytes).await?;
    Ok(())
}
