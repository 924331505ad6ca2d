//! A blocking client for the control socket.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use vigil_proto::frame::{self, FrameError};
use vigil_proto::{
    Call, ErrorBody, ErrorCode, Hello, HelloReply, Identity, PROTOCOL_VERSION, Request, Response,
};

/// What to do about a socket that cannot be reached.
fn connect_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            "only the socket's owner and group may connect; the system daemon's admits root and group vigil"
        }
        _ => "is vigild running? pass --socket or set VIGIL_SOCKET",
    }
}

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be reached.
    #[error("cannot connect to {path}: {source} ({})", connect_hint(source))]
    Connect {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The daemon refused the connection or the request.
    #[error("{0}")]
    Refused(ErrorBody),
    /// The connection broke or carried garbage.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The daemon answered something this request does not expect.
    #[error("unexpected answer from vigild: {0}")]
    Unexpected(String),
}

impl ClientError {
    /// The server's error code, if it refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Refused(e) => Some(e.code),
            _ => None,
        }
    }
}

/// A connection to `vigild`, after a successful handshake.
#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
    reader: std::io::BufReader<UnixStream>,
    identity: Identity,
    server: String,
}

impl Client {
    /// Connects and introduces itself.
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let mut stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        // Buffered reads: a frame's length prefix and payload in one syscall.
        let mut reader = std::io::BufReader::new(stream.try_clone().map_err(FrameError::Io)?);
        let hello = Hello {
            protocol: PROTOCOL_VERSION,
            client: format!("vigilctl {}", env!("CARGO_PKG_VERSION")),
        };
        if let Err(e) = frame::write(&mut stream, &hello) {
            // A daemon that refuses a connection at once (too many open)
            // says why and closes before reading the hello: the reason is
            // still there to read, and says more than a broken pipe.
            return match frame::read::<_, HelloReply>(&mut reader) {
                Ok(HelloReply::Rejected { error }) => Err(ClientError::Refused(error)),
                _ => Err(e.into()),
            };
        }
        match frame::read::<_, HelloReply>(&mut reader)? {
            HelloReply::Welcome {
                protocol,
                server,
                identity,
            } => {
                if protocol != PROTOCOL_VERSION {
                    return Err(ClientError::Refused(ErrorBody::new(
                        ErrorCode::VersionMismatch,
                        format!(
                            "{server} speaks control protocol {protocol}, this vigilctl speaks {PROTOCOL_VERSION}; use the vigilctl that ships with it"
                        ),
                    )));
                }
                Ok(Client {
                    stream,
                    reader,
                    identity,
                    server,
                })
            }
            HelloReply::Rejected { error } => Err(ClientError::Refused(error)),
        }
    }

    /// Who the daemon says we are.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The daemon's name and version.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends a request and returns its single answer (errors become `Err`).
    pub fn call(&mut self, request: &Request) -> Result<Response, ClientError> {
        frame::write(&mut self.stream, request)?;
        self.receive()
    }

    /// Sends a request answered by one frame and reads that answer as the
    /// [`Call`] says; any other frame is [`ClientError::Unexpected`].
    pub fn ask<R>(&mut self, call: Call<R>) -> Result<R, ClientError> {
        let frame = self.call(call.request())?;
        call.answer(frame).map_err(|other| {
            ClientError::Unexpected(serde_json::to_string(&other).unwrap_or_default())
        })
    }

    /// Sends a request whose answer is a stream; call [`Client::receive`] until
    /// it returns [`Response::End`].
    pub fn send(&mut self, request: &Request) -> Result<(), ClientError> {
        frame::write(&mut self.stream, request).map_err(Into::into)
    }

    /// Reads the next response frame (errors become `Err`).
    pub fn receive(&mut self) -> Result<Response, ClientError> {
        match frame::read::<_, Response>(&mut self.reader)? {
            Response::Error(e) => Err(ClientError::Refused(e)),
            other => Ok(other),
        }
    }
}
