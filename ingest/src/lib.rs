//! Vigil's webhook drivers, as pure functions: no sockets, no runtime.
//!
//! * [`drivers`]: per sender (Alertmanager, Grafana, GitHub, GitLab,
//!   Jenkins, PagerDuty, Standard Webhooks), verify a delivery's signature
//!   or token in constant time, then validate and normalize its payload to
//!   [`vigil_store::Alert`]s.
//! * [`redact`]: replace secrets (tokens, keys, passwords, credentialed URLs,
//!   JWTs, private keys) in every string before anything is stored.
//!
//! The daemon owns the HTTP listener, API keys, limits and the log.

pub mod drivers;
pub mod redact;
