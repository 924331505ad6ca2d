//! `vigilctl export`: a range of the log as JSON lines, written by the
//! store's exporter on a blocking thread and streamed in `ExportLines`
//! frames as it goes, so memory stays bounded whatever the range.

use super::conn::{Conn, Fail, Served, refuse, unavailable};
use std::io::Write;
use tokio::sync::mpsc;
use vigil_proto::{ErrorCode, ExportRequest, Response};
use vigil_store::StoreError;
use vigil_store::export::{export_to, plan};

/// Text per frame: JSON-escaped, it stays well under the frame limit.
const CHUNK: usize = 192 * 1024;

impl Conn<'_> {
    pub(super) async fn export(&mut self, request: ExportRequest) -> Served {
        let (range, filter) = (request.range(), request.filter());
        range
            .check()
            .map_err(|e| refuse(ErrorCode::BadRequest, e.to_string()))?;
        // Who took a copy of the log is itself in the log.
        self.record_decision("export").await?;
        let log = self.shared.log.clone();
        let software = format!("vigild {}", env!("CARGO_PKG_VERSION"));
        let (tx, mut rx) = mpsc::channel::<String>(4);
        let shared = self.shared.clone();
        let writer = tokio::task::spawn_blocking(move || {
            // No retention run or erasure drops bodies while the range is
            // read: a record naming them would land past the export's end.
            let _retention = shared.retention.lock().unwrap_or_else(|p| p.into_inner());
            let header = plan(&log, &range, filter, &software)?;
            let out = Chunks {
                tx,
                pending: Vec::with_capacity(CHUNK),
            };
            export_to(&log, &header, out, |_| {}).map(|_| ())
        });
        while let Some(text) = rx.recv().await {
            if self.send(&Response::ExportLines { text }).await.is_err() {
                // The client left: dropping the receiver ends the writer.
                drop(rx);
                let _ = writer.await;
                return Err(Fail::Gone);
            }
        }
        match writer.await {
            Ok(Ok(())) => self.send(&Response::End).await,
            Ok(Err(e @ StoreError::ExportGap { .. })) => {
                Err(refuse(ErrorCode::Unavailable, e.to_string()))
            }
            Ok(Err(e)) => Err(Fail::Refuse(unavailable(e))),
            Err(e) => Err(refuse(
                ErrorCode::Internal,
                format!("internal failure: {e}"),
            )),
        }
    }
}

/// A writer that hands the export's text on in chunks cut at character
/// boundaries (a frame's text must be UTF-8).
struct Chunks {
    tx: mpsc::Sender<String>,
    pending: Vec<u8>,
}

impl Chunks {
    fn send(&mut self, upto: usize) -> std::io::Result<()> {
        let rest = self.pending.split_off(upto);
        let chunk = std::mem::replace(&mut self.pending, rest);
        let text = String::from_utf8(chunk)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        self.tx
            .blocking_send(text)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client left"))
    }
}

impl Write for Chunks {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while self.pending.len() > CHUNK {
            // Back up to the start of a character.
            let mut cut = CHUNK;
            while cut > 0 && (self.pending[cut] & 0xC0) == 0x80 {
                cut -= 1;
            }
            self.send(cut)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let len = self.pending.len();
        self.send(len)
    }
}
