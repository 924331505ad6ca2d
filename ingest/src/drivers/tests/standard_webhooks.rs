//! The generic driver's signatures, per Standard Webhooks: `webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64> …` over
//! `id.timestamp.body`, key from `whsec_<base64>` or the raw secret.

use super::{NOW, Req, sample, standard_webhooks_signature};
use crate::drivers::{DriverKind, Rejection, Verifier};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use vigil_store::SecretValue;

const KIND: DriverKind = DriverKind::Generic;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The generic fixture with the three headers as given.
fn with_headers(id: &str, timestamp: &str, signature: &str) -> Req {
    sample(KIND)
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp)
        .header("webhook-signature", signature)
}

/// The generic fixture signed under `secret` with timestamp `ts`.
fn signed_at(secret: &str, ts: i64) -> Req {
    let ts = ts.to_string();
    let sig = standard_webhooks_signature(secret, "msg_1", &ts, &sample(KIND).body);
    with_headers("msg_1", &ts, &sig)
}

#[test]
fn standard_webhooks_published_test_vector_verifies() {
    let req = Req::raw(br#"{"test": 2432232314}"#)
        .at(1_614_265_330)
        .header("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
        .header("webhook-timestamp", "1614265330")
        .header(
            "webhook-signature",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        );
    assert_eq!(req.verify(KIND, &[SECRET]), Ok(()));
    // The same vector received an hour later is a replay.
    let late = Req {
        now: 1_614_265_330 + 3600,
        ..req
    };
    assert_eq!(
        late.verify(KIND, &[SECRET]),
        Err(Rejection::StaleTimestamp(300))
    );
}

#[test]
fn standard_webhooks_signs_id_dot_timestamp_dot_body() {
    let body = sample(KIND).body;
    let ts = NOW.to_string();
    let good = standard_webhooks_signature(SECRET, "msg_1", &ts, &body);
    assert_eq!(
        with_headers("msg_1", &ts, &good).verify(KIND, &[SECRET]),
        Ok(())
    );
    // The id and timestamp are covered: changing either breaks the MAC.
    let other_id = with_headers("msg_2", &ts, &good);
    assert_eq!(
        other_id.verify(KIND, &[SECRET]),
        Err(Rejection::BadSignature)
    );
    let other_ts = with_headers("msg_1", &(NOW + 1).to_string(), &good);
    assert_eq!(
        other_ts.verify(KIND, &[SECRET]),
        Err(Rejection::BadSignature)
    );
    // A signature of the body alone is not the scheme.
    let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let body_only = format!("v1,{}", STANDARD.encode(super::hmac(&key, &[&body])));
    let r = with_headers("msg_1", &ts, &body_only);
    assert_eq!(r.verify(KIND, &[SECRET]), Err(Rejection::BadSignature));
}

#[test]
fn standard_webhooks_whsec_key_is_base64_decoded_and_raw_secrets_are_used_as_is() {
    // Signed with the decoded key: only the whsec_ form of the secret matches.
    let req = signed_at(SECRET, NOW);
    assert_eq!(req.verify(KIND, &[SECRET]), Ok(()));
    assert_eq!(
        req.verify(KIND, &["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]),
        Err(Rejection::BadSignature)
    );
    // A secret without the prefix is the key's raw bytes.
    let raw = signed_at("plain-shared-secret", NOW);
    assert_eq!(raw.verify(KIND, &["plain-shared-secret"]), Ok(()));
}

#[test]
fn standard_webhooks_whsec_secret_that_is_not_base64_never_matches() {
    let req = signed_at(SECRET, NOW);
    assert_eq!(
        req.verify(KIND, &["whsec_!!!not base64!!!"]),
        Err(Rejection::NoSecret)
    );
    assert_eq!(req.verify(KIND, &["whsec_"]), Err(Rejection::NoSecret));
    // …and is skipped during rotation rather than failing the source.
    let good = signed_at(SECRET, NOW);
    assert_eq!(good.verify(KIND, &["whsec_!!!", SECRET]), Ok(()));
}

#[test]
fn standard_webhooks_any_of_several_space_separated_signatures_may_match() {
    let ts = NOW.to_string();
    let body = sample(KIND).body;
    let good = standard_webhooks_signature(SECRET, "msg_1", &ts, &body);
    let other = standard_webhooks_signature("whsec_c2VjcmV0LXR3bw==", "msg_1", &ts, &body);
    for header in [
        format!("{other} {good}"),
        format!("{good} {other}"),
        format!("v1a,AAAA {good}"),        // asymmetric versions skipped
        format!("v1,not-base64!! {good}"), // bad entries skipped
        format!("v1,AAAA  {good}"),        // wrong length skipped, double space
    ] {
        let r = with_headers("msg_1", &ts, &header);
        assert_eq!(r.verify(KIND, &[SECRET]), Ok(()), "{header}");
    }
    let r = with_headers("msg_1", &ts, &other);
    assert_eq!(r.verify(KIND, &[SECRET]), Err(Rejection::BadSignature));
}

#[test]
fn standard_webhooks_timestamp_outside_300s_is_refused_inside_accepted() {
    for (skew, expected) in [
        (0, Ok(())),
        (299, Ok(())),
        (300, Ok(())),
        (-300, Ok(())),
        (301, Err(Rejection::StaleTimestamp(300))),
        (-301, Err(Rejection::StaleTimestamp(300))),
        (-86_400, Err(Rejection::StaleTimestamp(300))),
    ] {
        // Signed at NOW - skew: a positive skew is old, a negative one future.
        let req = signed_at(SECRET, NOW - skew);
        assert_eq!(req.verify(KIND, &[SECRET]), expected, "skew {skew}");
    }
}

#[test]
fn standard_webhooks_tolerance_is_configurable() {
    let req = signed_at(SECRET, NOW - 90);
    let verifier = |tolerance_secs| Verifier {
        secrets: vec![SecretValue::from_string(SECRET.to_owned())],
        tolerance_secs,
    };
    assert_eq!(
        KIND.verify(&req.delivery(), &verifier(60)),
        Err(Rejection::StaleTimestamp(60))
    );
    assert_eq!(KIND.verify(&req.delivery(), &verifier(90)), Ok(()));
    // A negative tolerance is no window at all, not a wider one.
    assert_eq!(
        KIND.verify(&req.delivery(), &verifier(-1000)),
        Err(Rejection::StaleTimestamp(0))
    );
}

#[test]
fn standard_webhooks_stale_forgery_is_a_bad_signature() {
    let req = signed_at("whsec_c2VjcmV0LXR3bw==", NOW - 3600);
    assert_eq!(req.verify(KIND, &[SECRET]), Err(Rejection::BadSignature));
}

#[test]
fn standard_webhooks_each_missing_header_is_named() {
    let full = signed_at(SECRET, NOW);
    for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut req = sample(KIND);
        for (name, value) in &full.headers {
            if name.as_str() != missing {
                req = req.header(name.as_str(), value.to_str().unwrap());
            }
        }
        assert_eq!(
            req.verify(KIND, &[SECRET]),
            Err(Rejection::MissingSignature(missing))
        );
    }
}

#[test]
fn standard_webhooks_malformed_timestamp_or_signatures_are_malformed() {
    let ts = NOW.to_string();
    let good = standard_webhooks_signature(SECRET, "msg_1", &ts, &sample(KIND).body);
    let bad_ts = Err(Rejection::MalformedSignature("webhook-timestamp"));
    for timestamp in [
        "-1737540000",
        "1737540000.0",
        "2025-01-22T10:00:00Z",
        "1234567890123",
    ] {
        let r = with_headers("msg_1", timestamp, &good);
        assert_eq!(r.verify(KIND, &[SECRET]), bad_ts, "{timestamp}");
    }
    let bad_sig = Err(Rejection::MalformedSignature("webhook-signature"));
    let seventeen = vec![good.clone(); 17].join(" ");
    for signature in [
        "v1a,AAAA",
        "v1,",
        "v1,!!!!",
        "v2,AAAA",
        &good[3..],
        seventeen.as_str(),
    ] {
        let r = with_headers("msg_1", &ts, signature);
        assert_eq!(r.verify(KIND, &[SECRET]), bad_sig, "{signature}");
    }
}
