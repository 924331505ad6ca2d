//! The host: systemd (readiness, watchdog, passed sockets), logging
//! (journald or stderr), files only the daemon may read, and how the
//! process holds memory.

pub mod files;
pub mod logging;
pub mod memory;
pub mod systemd;
