//! The outbound channels the daemon's outbox calls: each builds what its
//! receiver expects and sends it through the [SSRF guard](crate::ssrf).
//!
//! * [`http`]: [`HttpClient`], one POST over a vetted connection, no
//!   proxy, no redirect, a bounded answer, a bounded time;
//! * [`webhook`]: the signed headers of a generic webhook, with
//!   [`signature`] ([Standard Webhooks]);
//! * [`slack`], [`pagerduty`], [`opsgenie`], [`teams`], [`discord`],
//!   [`telegram`] and [`push`] (ntfy, Gotify): what those services take
//!   (Mattermost and Rocket.Chat take Slack's);
//! * [`email`]: a message through the operator's smarthost over SMTP;
//! * [`SendError`]: how a send failed, whether to retry, and a class for
//!   metrics, in words that never include a secret or a URL's path.
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/

pub mod discord;
pub mod email;
pub mod error;
pub mod http;
pub mod opsgenie;
pub mod pagerduty;
pub mod push;
pub mod signature;
pub mod slack;
pub mod teams;
pub mod telegram;
mod text;
mod tls;
pub mod webhook;

#[cfg(test)]
mod tests;

pub use email::{Email, EmailSettings, SmtpSecurity};
pub use error::SendError;
pub use http::{Delivered, HttpClient};
pub use signature::{SignedHeaders, SigningError};
pub use tls::check_roots;
