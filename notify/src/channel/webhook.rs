//! The headers of a generic webhook delivery: JSON content type plus the
//! [Standard Webhooks] signature made by [`signature::sign`] (or, for a
//! receiver that cannot check one, the delivery id alone), and the
//! `Authorization` header Alertmanager's `http_config` would send.
//!
//! The caller passes the delivery id, the same on every retry of one
//! delivery so a receiver can drop duplicates, and the attempt's time, so
//! each attempt is signed afresh and passes the receiver's freshness check.
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/

use vigil_store::SecretValue;

use super::signature::{self, SigningError};
use base64::Engine as _;

/// A credential that cannot go into an `Authorization` header. Names the
/// problem, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Empty, not UTF-8, or holding a line break or control character.
    #[error("the {0} is empty, not UTF-8, or holds a control character")]
    Unusable(&'static str),
}

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

/// `Content-Type` and `webhook-id` for an unsigned delivery (the id, the
/// same on every retry, still lets a receiver drop duplicates).
pub fn unsigned_headers(delivery_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".to_owned()),
        ("webhook-id", delivery_id.to_owned()),
    ]
}

fn usable<'a>(value: &'a SecretValue, what: &'static str) -> Result<&'a str, CredentialError> {
    value
        .expose_str()
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.chars().any(char::is_control))
        .ok_or(CredentialError::Unusable(what))
}

/// `Authorization: <scheme> <credentials>`.
///
/// # Errors
///
/// [`CredentialError`] when the credentials cannot be sent in a header.
pub fn authorization(
    scheme: &str,
    credentials: &SecretValue,
) -> Result<(&'static str, String), CredentialError> {
    let credentials = usable(credentials, "authorization credentials")?;
    Ok(("authorization", format!("{scheme} {credentials}")))
}

/// `Authorization: Basic base64(username:password)`.
///
/// # Errors
///
/// [`CredentialError`] when the password cannot be sent.
pub fn basic_auth(
    username: &str,
    password: &SecretValue,
) -> Result<(&'static str, String), CredentialError> {
    let password = usable(password, "basic_auth password")?;
    let pair = format!("{username}:{password}");
    Ok((
        "authorization",
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_headers_carry_the_credentials_and_refuse_unusable_ones() {
        let token = SecretValue::new(b"tok-123\n".to_vec());
        assert_eq!(
            authorization("Bearer", &token),
            Ok(("authorization", "Bearer tok-123".to_string()))
        );
        let password = SecretValue::new(b"open sesame".to_vec());
        assert_eq!(
            basic_auth("vigil", &password),
            Ok((
                "authorization",
                "Basic dmlnaWw6b3BlbiBzZXNhbWU=".to_string()
            ))
        );
        for bad in [&b""[..], b"a\r\nX-Injected: 1", b"\xff\xfe"] {
            let err = authorization("Bearer", &SecretValue::new(bad.to_vec())).unwrap_err();
            assert!(!err.to_string().contains("Injected"));
        }
        assert_eq!(
            unsigned_headers("d-1"),
            vec![
                ("content-type", "application/json".to_owned()),
                ("webhook-id", "d-1".to_owned())
            ]
        );
    }
}
