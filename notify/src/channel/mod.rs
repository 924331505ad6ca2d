//! What the outbound channels send, as pure functions the daemon's outbox
//! calls: today the Standard Webhooks signature of a webhook delivery.

pub mod signature;
