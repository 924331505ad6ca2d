//! The headers of a generic webhook delivery: JSON content type plus the
//! [Standard Webhooks] signature made by [`signature::sign`].
//!
//! The caller passes the delivery id, the same on every retry of one
//! delivery so a receiver can drop duplicates, and the attempt's time, so
//! each attempt is signed afresh and passes the receiver's freshness check.
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/

use vigil_store::SecretValue;

use super::signature::{self, SigningError};

/// `Content-Type`, `webhook-id`, `webhook-timestamp` and
/// `webhook-signature` for `body`, ready for [`HttpClient::post`].
///
/// [`HttpClient::post`]: super::HttpClient::post
///
/// # Errors
///
/// [`SigningError::BadSecret`] when the secret cannot sign.
pub fn signed_headers(
    secret: &SecretValue,
    delivery_id: &str,
    now_unix_secs: i64,
    body: &[u8],
) -> Result<Vec<(&'static str, String)>, SigningError> {
    let signed = signature::sign(secret, delivery_id, now_unix_secs, body)?;
    Ok(vec![
        ("content-type", "application/json".to_owned()),
        ("webhook-id", signed.id),
        ("webhook-timestamp", signed.timestamp),
        ("webhook-signature", signed.signature),
    ])
}
