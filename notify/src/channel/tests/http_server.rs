//! A one-purpose HTTP/1.1 server: records each request (head and body)
//! and answers as the test tells it, including not at all or forever.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

/// How the server answers.
#[derive(Clone)]
pub(super) enum Reply {
    /// These exact bytes.
    Raw(String),
    /// 200 with a body of `len` bytes, written until the client leaves.
    Endless { len: u64 },
    /// Nothing: the request is read and the connection held open.
    Silence,
}

impl Reply {
    /// A status with an empty body and `headers` (each `Name: value`).
    pub(super) fn status(status: u16, headers: &[String]) -> Self {
        let mut raw = format!("HTTP/1.1 {status} Whatever\r\n");
        for header in headers {
            raw.push_str(header);
            raw.push_str("\r\n");
        }
        raw.push_str("content-length: 2\r\nconnection: close\r\n\r\nok");
        Self::Raw(raw)
    }
}

/// One request as received.
#[derive(Clone, Debug)]
pub(super) struct Request {
    /// `POST /path?query HTTP/1.1`.
    pub line: String,
    /// Header names lowercased, values as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A running server.
pub(super) struct Server {
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    connections: Arc<AtomicUsize>,
    /// Body bytes written by [`Reply::Endless`], and whether it stopped.
    pub written: Arc<AtomicU64>,
    pub stopped: Arc<AtomicBool>,
}

impl Server {
    /// Starts a server on 127.0.0.1; with `tls`, every connection starts
    /// with a TLS handshake.
    pub(super) async fn start(reply: Reply, tls: Option<Arc<ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Self {
            port: listener.local_addr().unwrap().port(),
            requests: Arc::default(),
            connections: Arc::default(),
            written: Arc::default(),
            stopped: Arc::default(),
        };
        let requests = Arc::clone(&server.requests);
        let connections = Arc::clone(&server.connections);
        let written = Arc::clone(&server.written);
        let stopped = Arc::clone(&server.stopped);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                connections.fetch_add(1, Ordering::SeqCst);
                let (reply, requests) = (reply.clone(), Arc::clone(&requests));
                let (written, stopped) = (Arc::clone(&written), Arc::clone(&stopped));
                let tls = tls.clone();
                tokio::spawn(async move {
                    let Some(config) = tls else {
                        return handle(tcp, reply, requests, written, stopped).await;
                    };
                    if let Ok(stream) = TlsAcceptor::from(config).accept(tcp).await {
                        handle(stream, reply, requests, written, stopped).await;
                    }
                });
            }
        });
        server
    }

    pub(super) fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub(super) fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn handle<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    reply: Reply,
    requests: Arc<Mutex<Vec<Request>>>,
    written: Arc<AtomicU64>,
    stopped: Arc<AtomicBool>,
) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    requests.lock().unwrap().push(request);
    match reply {
        Reply::Raw(raw) => {
            let _ = stream.write_all(raw.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Reply::Silence => tokio::time::sleep(Duration::from_secs(60)).await,
        Reply::Endless { len } => {
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\n\r\n");
            if stream.write_all(head.as_bytes()).await.is_ok() {
                let chunk = vec![b'x'; 64 * 1024];
                while written.load(Ordering::SeqCst) < len {
                    if stream.write_all(&chunk).await.is_err() {
                        break;
                    }
                    written.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                }
            }
            stopped.store(true, Ordering::SeqCst);
        }
    }
}

/// Reads a head (up to 64 KiB) and a `content-length` body.
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Request> {
    let mut buffer = Vec::new();
    let mut byte = [0u8; 1];
    while !buffer.ends_with(b"\r\n\r\n") {
        if buffer.len() > 64 * 1024 || stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buffer.push(byte[0]);
    }
    let head = String::from_utf8(buffer).ok()?;
    let mut lines = head.split("\r\n");
    let line = lines.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(Request {
        line,
        headers,
        body,
    })
}
