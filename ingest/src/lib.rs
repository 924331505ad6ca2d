//! Vigil's webhook drivers, file and log rules and redactor, as pure
//! functions: no sockets, no files, no runtime.
//!
//! * [`drivers`]: per sender (Alertmanager, Grafana, GitHub, GitLab,
//!   Jenkins, PagerDuty, Standard Webhooks), verify a delivery's signature
//!   or token in constant time, then validate and normalize its payload to
//!   [`vigil_store::Alert`]s.
//! * [`files`]: file integrity monitoring's rules, path globs and text
//!   diffs: whether and how a recorded change to a file alerts.
//! * [`logs`]: log line rules (regexes with named captures), thresholds
//!   over a window, and the built-in pack for sshd, sudo, su, systemd and
//!   the kernel.
//! * [`redact`]: replace secrets (tokens, keys, passwords, credentialed URLs,
//!   JWTs, private keys) in every string before anything is stored.
//!
//! The daemon owns the HTTP listener, API keys, limits and the log.

pub mod drivers;
pub mod files;
pub mod logs;
pub mod redact;
