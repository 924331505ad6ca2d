//! systemd integration: readiness, watchdog, status, socket activation.
//! Every call is a no-op when not running under systemd.

use sd_notify::NotifyState;
use std::time::Duration;

/// Sockets systemd handed over.
#[derive(Debug, Default)]
pub struct Activation {
    /// The control socket (`FileDescriptorName=control`).
    pub control: Option<std::os::unix::net::UnixListener>,
    /// The ingestion listener (`FileDescriptorName=http`).
    pub http: Option<std::net::TcpListener>,
}

impl Activation {
    /// Takes the sockets systemd passed (`LISTEN_FDS`, named by
    /// `LISTEN_FDNAMES`). Call before any other thread starts: it clears
    /// `LISTEN_PID` and `LISTEN_FDS` from the environment.
    pub fn from_env() -> anyhow::Result<Activation> {
        let names: Vec<String> = std::env::var("LISTEN_FDNAMES")
            .map(|v| v.split(':').map(str::to_string).collect())
            .unwrap_or_default();
        let mut fds = listenfd::ListenFd::from_env();
        let mut activation = Activation::default();
        for idx in 0..fds.len() {
            let name = names.get(idx).map_or("", String::as_str);
            // An unnamed single socket (e.g. from systemfd) is the control socket.
            if (name == "control" || name.is_empty()) && activation.control.is_none() {
                activation.control = fds.take_unix_listener(idx)?;
            } else if name == "http" && activation.http.is_none() {
                activation.http = fds.take_tcp_listener(idx)?;
            } else {
                tracing::warn!(
                    name,
                    "ignoring a socket systemd passed that vigild does not use"
                );
            }
        }
        Ok(activation)
    }
}

fn notify(state: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::debug!("sd_notify: {e}");
    }
}

/// `READY=1` with a status line.
pub fn ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// `RELOADING=1`.
pub fn reloading() {
    notify(&[
        NotifyState::Reloading,
        NotifyState::Status("reloading configuration"),
    ]);
}

/// `STOPPING=1`.
pub fn stopping() {
    notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// `WATCHDOG=1`.
pub fn watchdog() {
    notify(&[NotifyState::Watchdog]);
}

/// The watchdog interval systemd expects pings within, if enabled.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
}
