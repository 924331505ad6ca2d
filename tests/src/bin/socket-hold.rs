//! Test helper that holds control-socket connections open without saying
//! hello, as an idle or hostile local user would:
//!
//! * `socket-hold SOCKET N`: connects N times, prints `connected N` (or
//!   `connect failed I: ERROR` and stops connecting), then reads the first
//!   frame of each connection in order and prints `I<TAB>CODE<TAB>MESSAGE`
//!   for a refusal, `I<TAB>closed` or `I<TAB>silent` (nothing within 30 s).

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;
use vigil_proto::{FrameError, HelloReply, frame};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(socket), Some(Ok(n))) = (args.get(1), args.get(2).map(|n| n.parse::<usize>())) else {
        eprintln!("usage: socket-hold SOCKET N");
        std::process::exit(2);
    };
    let mut out = std::io::stdout().lock();
    let mut held = Vec::with_capacity(n);
    for i in 0..n {
        match UnixStream::connect(socket) {
            Ok(s) => held.push(s),
            Err(e) => {
                let _ = writeln!(out, "connect failed {i}: {e}");
                break;
            }
        }
    }
    let _ = writeln!(out, "connected {}", held.len());
    let _ = out.flush();
    for (i, mut s) in held.into_iter().enumerate() {
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        let line = match frame::read::<_, HelloReply>(&mut s) {
            Ok(HelloReply::Rejected { error }) => {
                format!("{i}\t{:?}\t{}", error.code, error.message)
            }
            Ok(other) => format!("{i}\tunexpected\t{other:?}"),
            Err(FrameError::Closed) => format!("{i}\tclosed"),
            Err(FrameError::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                format!("{i}\tsilent")
            }
            Err(e) => format!("{i}\terror\t{e}"),
        };
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}
