//! Signing outbound webhooks per [Standard Webhooks]: receivers verify them
//! with any of its libraries, or a few lines of their own.
//!
//! The delivery's idempotency key is `webhook-id`, so a retry carries the
//! same id and a receiver can drop duplicates; the timestamp is the attempt
//! time, so each attempt is signed afresh. The signed content is
//! `id.timestamp.body` under the secret's bytes (a `whsec_` secret is
//! base64 after the prefix, as the specification writes them).
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/

use vigil_ingest::drivers::standard_webhooks;
use vigil_store::SecretValue;

/// The three headers a signed webhook carries.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`: unix seconds.
    pub timestamp: String,
    /// `webhook-signature`: `v1,<base64>`.
    pub signature: String,
}

impl std::fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signature is a MAC under the secret: not for logs.
        f.debug_struct("SignedHeaders")
            .field("id", &self.id)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

/// A secret that cannot be used to sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// Empty, or `whsec_` followed by something that is not base64.
    #[error("the webhook signing secret is empty or not valid `whsec_` base64")]
    BadSecret,
}

/// Signs `body` for delivery `id` at `timestamp` (unix seconds), with the
/// same code the ingestion side verifies with.
pub fn sign(
    secret: &SecretValue,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<SignedHeaders, SigningError> {
    let key = standard_webhooks::signing_key(secret.expose()).ok_or(SigningError::BadSecret)?;
    let timestamp = timestamp.to_string();
    let signature = standard_webhooks::sign(&key, id, &timestamp, body);
    Ok(SignedHeaders {
        id: id.to_string(),
        timestamp,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretValue {
        SecretValue::new(s.as_bytes().to_vec())
    }

    #[test]
    fn the_published_standard_webhooks_vector_signs_identically() {
        let signed = sign(
            &secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(
            signed.signature,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(signed.timestamp, "1614265330");
        assert!(!format!("{signed:?}").contains("g0hM9"));
    }

    #[test]
    fn raw_secrets_work_and_unusable_ones_are_refused() {
        let a = sign(&secret("plain-secret"), "id", 1, b"{}").unwrap();
        let b = sign(&secret("other-secret"), "id", 1, b"{}").unwrap();
        assert_ne!(a.signature, b.signature);
        assert_eq!(
            sign(&secret(""), "id", 1, b"{}"),
            Err(SigningError::BadSecret)
        );
        assert_eq!(
            sign(&secret("whsec_!!notbase64"), "id", 1, b"{}"),
            Err(SigningError::BadSecret)
        );
    }
}
