//! Vigil's notification policy, as pure and testable pieces the daemon's
//! outbox drives:
//!
//! * [`route`]: the route tree, matchers, grouping and inhibition, with
//!   Alertmanager's semantics so a configuration ports over;
//! * [`template`]: message templates in a restricted minijinja environment
//!   (no loader, fuel, output caps, escaping per channel);
//! * [`ssrf`]: the guard every outbound connection passes, resolving once
//!   and connecting to exactly the address it checked;
//! * [`channel`]: the senders the outbox calls: signed webhooks, Slack,
//!   PagerDuty Events v2 and email, each through the SSRF guard.

pub mod channel;
pub mod route;
pub mod ssrf;
pub mod template;
