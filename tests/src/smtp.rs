//! A plaintext SMTP sink on 127.0.0.1 for end-to-end tests: enough of
//! RFC 5321 for one client (EHLO, MAIL, RCPT, DATA, QUIT, RSET, NOOP), each
//! message recorded with its envelope. It offers no STARTTLS, so a client
//! that requires it must refuse to send.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One message as received.
#[derive(Clone, Debug, Default)]
pub struct Mail {
    /// `MAIL FROM` address.
    pub from: String,
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The DATA, dot-unstuffed.
    pub data: String,
}

/// The sink. Every session's commands are kept too.
pub struct SmtpSink {
    addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    commands: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    /// Starts on a free port.
    pub fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind SMTP sink");
        let addr = listener.local_addr().expect("SMTP sink address");
        let mails = Arc::new(Mutex::new(Vec::new()));
        let commands = Arc::new(Mutex::new(Vec::new()));
        let (m, c) = (mails.clone(), commands.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (m, c) = (m.clone(), c.clone());
                std::thread::spawn(move || session(stream, &m, &c));
            }
        });
        SmtpSink {
            addr,
            mails,
            commands,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn smarthost(&self) -> String {
        self.addr.to_string()
    }

    /// Messages received so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every command line received so far, in order.
    pub fn commands(&self) -> Vec<String> {
        self.commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits for `n` messages (panics after `timeout`).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Mail> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.mails();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP sink got {} messages, expected {n}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn session(stream: TcpStream, mails: &Mutex<Vec<Mail>>, commands: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut out = match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let mut reply = |text: &str| out.write_all(format!("{text}\r\n").as_bytes()).is_ok();
    if !reply("220 sink ESMTP") {
        return;
    }
    let mut mail = Mail::default();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end().to_string();
        commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line.clone());
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let ok = match verb.as_str() {
            "EHLO" | "HELO" => reply("250-sink\r\n250 8BITMIME"),
            "MAIL" => {
                mail = Mail {
                    from: address(&line),
                    ..Mail::default()
                };
                reply("250 ok")
            }
            "RCPT" => {
                mail.to.push(address(&line));
                reply("250 ok")
            }
            "DATA" => {
                if !reply("354 go ahead") {
                    return;
                }
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if reader.read_line(&mut l).unwrap_or(0) == 0 {
                        return;
                    }
                    if l.trim_end() == "." {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                mail.data = data;
                mails
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(std::mem::take(&mut mail));
                reply("250 queued")
            }
            "QUIT" => {
                reply("221 bye");
                return;
            }
            "RSET" | "NOOP" => reply("250 ok"),
            _ => reply("502 not implemented"),
        };
        if !ok {
            return;
        }
    }
}

/// The address inside `<...>`.
fn address(line: &str) -> String {
    line.split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(a, _)| a.to_string())
        .unwrap_or_default()
}
