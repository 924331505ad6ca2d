//! API keys on HTTP requests: `Authorization: Bearer vgl_…` or
//! `X-API-Key: vgl_…`. The key's id (its first part) finds the record;
//! the SHA-256 of the whole key is then compared in constant time.

use super::error::ApiError;
use http::HeaderMap;
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;
use vigil_store::Hash;
use vigil_views::ApiKey;

/// Why a key was not accepted (the rejection reason recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    /// No key in the request.
    Missing,
    /// Not a Vigil key, unknown, or wrong.
    Invalid,
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired,
}

impl KeyProblem {
    /// Reason recorded in `AuthRejections`.
    pub fn reason(self) -> &'static str {
        match self {
            KeyProblem::Missing => "missing_key",
            KeyProblem::Invalid => "bad_key",
            KeyProblem::Revoked => "revoked_key",
            KeyProblem::Expired => "expired_key",
        }
    }

    /// The answer: 401 in every case, saying no more than needed.
    pub fn error(self) -> ApiError {
        ApiError::unauthorized(match self {
            KeyProblem::Missing => {
                "an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>"
            }
            KeyProblem::Invalid => "the API key is not valid",
            KeyProblem::Revoked => "the API key has been revoked",
            KeyProblem::Expired => "the API key has expired",
        })
    }
}

/// The presented key, if any.
fn presented(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(http::header::AUTHORIZATION) {
        // Present but not a bearer token: invalid, not missing.
        let v = v.to_str().unwrap_or_default();
        return Some(match v.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => "",
        });
    }
    headers.get("x-api-key")?.to_str().ok().map(str::trim)
}

/// A new raw key, `vgl_<id>_<secret>`: a random 32-bit id for which
/// `taken` is false, then 160 random bits from the OS. Only its digest
/// ([`Hash::sha256`] of the whole text) is ever stored.
pub fn mint(taken: impl Fn(&str) -> bool) -> Result<(String, String), getrandom::Error> {
    let id = loop {
        let mut id = [0u8; 4];
        getrandom::fill(&mut id)?;
        let id = hex::encode(id);
        if !taken(&id) {
            break id;
        }
    };
    let mut secret = [0u8; 20];
    getrandom::fill(&mut secret)?;
    let raw = format!("vgl_{id}_{}", hex::encode(secret));
    Ok((id, raw))
}

/// The key a request carries, checked against `keys` at `now` (micros).
pub fn authenticate<'k>(
    headers: &HeaderMap,
    keys: &'k BTreeMap<String, ApiKey>,
    now: i64,
) -> Result<&'k ApiKey, KeyProblem> {
    let raw = presented(headers).ok_or(KeyProblem::Missing)?;
    let id = raw
        .strip_prefix("vgl_")
        .and_then(|rest| rest.split_once('_'))
        .map(|(id, _)| id)
        .ok_or(KeyProblem::Invalid)?;
    let key = keys.get(id).ok_or(KeyProblem::Invalid)?;
    let digest = Hash::sha256(raw.as_bytes());
    if !bool::from(digest.0.ct_eq(&key.digest.0)) {
        return Err(KeyProblem::Invalid);
    }
    key.usable(now).map_err(|why| match why {
        "revoked" => KeyProblem::Revoked,
        _ => KeyProblem::Expired,
    })?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(raw: &str) -> BTreeMap<String, ApiKey> {
        let key = ApiKey {
            id: "ab12cd34".into(),
            name: "t".into(),
            prefix: "vgl_ab12cd34".into(),
            digest: Hash::sha256(raw.as_bytes()),
            sources: vec![],
            scopes: vec!["ingest".into()],
            created: 0,
            created_by: "test".into(),
            expires_at: Some(100),
            revoked_at: None,
            last_used: None,
            seq: 2,
        };
        BTreeMap::from([(key.id.clone(), key)])
    }

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
        h
    }

    #[test]
    fn minted_keys_avoid_taken_ids_and_carry_160_bits() {
        let (first, raw) = mint(|_| false).unwrap();
        assert_eq!(first.len(), 8);
        let secret = raw.strip_prefix(&format!("vgl_{first}_")).unwrap();
        assert_eq!(secret.len(), 40);
        let (second, _) = mint(|id| id == first).unwrap();
        assert_ne!(first, second);
    }

    #[test]
    fn keys_are_found_by_id_and_checked_by_digest() {
        let raw = "vgl_ab12cd34_00112233445566778899aabbccddeeff00112233";
        let keys = table(raw);
        let ok = authenticate(
            &headers("authorization", &format!("Bearer {raw}")),
            &keys,
            1,
        );
        assert_eq!(ok.map(|k| k.id.as_str()), Ok("ab12cd34"));
        assert!(authenticate(&headers("x-api-key", raw), &keys, 1).is_ok());
        let wrong = "vgl_ab12cd34_ffffffffffffffffffffffffffffffffffffffff";
        assert_eq!(
            authenticate(&headers("x-api-key", wrong), &keys, 1).err(),
            Some(KeyProblem::Invalid)
        );
        assert_eq!(
            authenticate(&HeaderMap::new(), &keys, 1).err(),
            Some(KeyProblem::Missing)
        );
        assert_eq!(
            authenticate(&headers("authorization", &format!("Basic {raw}")), &keys, 1).err(),
            Some(KeyProblem::Invalid)
        );
        assert_eq!(
            authenticate(&headers("x-api-key", raw), &keys, 100).err(),
            Some(KeyProblem::Expired)
        );
    }
}
