//! The host: systemd (readiness, watchdog, passed sockets), logging
//! (journald or stderr), and files only the daemon may read.

pub mod files;
pub mod logging;
pub mod systemd;
