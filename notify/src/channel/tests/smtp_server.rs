//! A small SMTP server: EHLO, STARTTLS, AUTH PLAIN/LOGIN, MAIL, RCPT,
//! DATA, QUIT, with the replies a test chooses. It logs every command line
//! and whether TLS protected it, and keeps each message received.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

/// How the server behaves.
#[derive(Clone)]
pub(super) struct Options {
    /// Offer STARTTLS and upgrade with this configuration.
    pub starttls: Option<Arc<ServerConfig>>,
    /// Speak TLS from the first byte with this configuration.
    pub implicit: Option<Arc<ServerConfig>>,
    /// Offer AUTH PLAIN LOGIN (only inside TLS when STARTTLS is offered).
    pub auth: bool,
    /// The reply to a completed AUTH.
    pub auth_reply: String,
    /// The reply to each RCPT.
    pub rcpt_reply: String,
    /// Never send the greeting.
    pub silent: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            starttls: None,
            implicit: None,
            auth: false,
            auth_reply: "235 2.7.0 Authentication successful".into(),
            rcpt_reply: "250 2.1.5 OK".into(),
            silent: false,
        }
    }
}

/// A command line as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Line {
    pub text: String,
    /// Whether it arrived inside TLS.
    pub tls: bool,
}

/// A running server.
pub(super) struct Smtp {
    pub port: u16,
    lines: Arc<Mutex<Vec<Line>>>,
    messages: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Shared {
    options: Options,
    lines: Arc<Mutex<Vec<Line>>>,
    messages: Arc<Mutex<Vec<String>>>,
}

impl Smtp {
    pub(super) async fn start(options: Options) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Self {
            port: listener.local_addr().unwrap().port(),
            lines: Arc::default(),
            messages: Arc::default(),
            connections: Arc::default(),
        };
        let shared = Shared {
            options,
            lines: Arc::clone(&server.lines),
            messages: Arc::clone(&server.messages),
        };
        let connections = Arc::clone(&server.connections);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(tcp, shared.clone()));
            }
        });
        server
    }

    pub(super) fn lines(&self) -> Vec<Line> {
        self.lines.lock().unwrap().clone()
    }

    /// Whether some command line starts with `prefix` (case-insensitive).
    pub(super) fn saw(&self, prefix: &str) -> bool {
        self.lines().iter().any(|l| {
            l.text
                .to_ascii_uppercase()
                .starts_with(&prefix.to_ascii_uppercase())
        })
    }

    pub(super) fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    pub(super) fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn serve(tcp: tokio::net::TcpStream, shared: Shared) {
    if shared.options.silent {
        tokio::time::sleep(Duration::from_secs(60)).await;
        return;
    }
    if let Some(config) = shared.options.implicit.clone() {
        if let Ok(tls) = TlsAcceptor::from(config).accept(tcp).await {
            session(tls, &shared, true, true).await;
        }
        return;
    }
    let Some(tcp) = session(tcp, &shared, false, true).await else {
        return;
    };
    if let Some(config) = shared.options.starttls.clone()
        && let Ok(tls) = TlsAcceptor::from(config).accept(tcp).await
    {
        session(tls, &shared, true, false).await;
    }
}

/// Runs commands until QUIT or EOF (`None`) or STARTTLS (the stream, to be
/// upgraded).
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    shared: &Shared,
    tls: bool,
    greet: bool,
) -> Option<S> {
    let options = &shared.options;
    let mut stream = BufReader::new(stream);
    if greet {
        say(&mut stream, "220 test.invalid ESMTP").await?;
    }
    loop {
        let line = read_line(&mut stream).await?;
        shared.lines.lock().unwrap().push(Line {
            text: line.clone(),
            tls,
        });
        let verb = line
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                let mut reply = String::from("250-test.invalid\r\n");
                if options.starttls.is_some() && !tls {
                    reply.push_str("250-STARTTLS\r\n");
                }
                if options.auth && (tls || options.starttls.is_none()) {
                    reply.push_str("250-AUTH PLAIN LOGIN\r\n");
                }
                reply.push_str("250 8BITMIME");
                say(&mut stream, &reply).await?;
            }
            "STARTTLS" if options.starttls.is_some() && !tls => {
                say(&mut stream, "220 2.0.0 Ready to start TLS").await?;
                return Some(stream.into_inner());
            }
            "AUTH" => {
                let words: Vec<&str> = line.split(' ').collect();
                match words.get(1).map(|w| w.to_ascii_uppercase()).as_deref() {
                    Some("PLAIN") if words.len() == 2 => {
                        say(&mut stream, "334 ").await?;
                        log(shared, read_line(&mut stream).await?, tls);
                    }
                    Some("LOGIN") => {
                        say(&mut stream, "334 VXNlcm5hbWU6").await?;
                        log(shared, read_line(&mut stream).await?, tls);
                        say(&mut stream, "334 UGFzc3dvcmQ6").await?;
                        log(shared, read_line(&mut stream).await?, tls);
                    }
                    _ => {}
                }
                say(&mut stream, &options.auth_reply).await?;
            }
            "MAIL" | "RSET" | "NOOP" => say(&mut stream, "250 2.0.0 OK").await?,
            "RCPT" => say(&mut stream, &options.rcpt_reply).await?,
            "DATA" => {
                say(&mut stream, "354 End data with <CR><LF>.<CR><LF>").await?;
                let mut message = String::new();
                loop {
                    let line = read_line(&mut stream).await?;
                    if line == "." {
                        break;
                    }
                    message.push_str(&line);
                    message.push('\n');
                }
                shared.messages.lock().unwrap().push(message);
                say(&mut stream, "250 2.0.0 Queued").await?;
            }
            "QUIT" => {
                say(&mut stream, "221 2.0.0 Bye").await?;
                return None;
            }
            _ => say(&mut stream, "502 5.5.2 Command not recognized").await?,
        }
    }
}

fn log(shared: &Shared, text: String, tls: bool) {
    shared.lines.lock().unwrap().push(Line { text, tls });
}

async fn say<S: AsyncWrite + Unpin>(stream: &mut S, reply: &str) -> Option<()> {
    stream.write_all(reply.as_bytes()).await.ok()?;
    stream.write_all(b"\r\n").await.ok()?;
    stream.flush().await.ok()
}

/// One line without its CRLF; `None` at EOF or on an error.
async fn read_line<S: AsyncBufReadExt + Unpin>(stream: &mut S) -> Option<String> {
    let mut line = String::new();
    if stream.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    Some(line.trim_end_matches(['\r', '\n']).to_owned())
}
