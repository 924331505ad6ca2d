//! Signature and token verification: the rules every signing driver shares.
//! Each scheme's own details are in `signature_schemes` (GitHub, PagerDuty,
//! Grafana, tokens) and `standard_webhooks` (generic).

use super::{NOW, sample, signing_drivers};
use crate::drivers::{DriverKind, Rejection};

const SECRET: &str = "CANARY-SECRET-4242";

#[test]
fn every_signing_driver_accepts_its_senders_signature_over_each_fixture() {
    for fixture in super::fixtures() {
        if !fixture.kind.supports_signature() {
            continue;
        }
        let req = fixture.req().signed(fixture.kind, SECRET);
        assert_eq!(
            req.verify(fixture.kind, &[SECRET]),
            Ok(()),
            "{}",
            fixture.name
        );
    }
}

#[test]
fn every_signing_driver_refuses_a_wrong_secret() {
    for kind in signing_drivers() {
        let req = sample(kind).signed(kind, "some-other-secret");
        assert_eq!(
            req.verify(kind, &[SECRET]),
            Err(Rejection::BadSignature),
            "{kind}"
        );
    }
}

#[test]
fn every_signing_driver_refuses_a_body_changed_after_signing() {
    for kind in signing_drivers() {
        if matches!(kind, DriverKind::Gitlab | DriverKind::Jenkins) {
            continue; // a token does not cover the body
        }
        let mut req = sample(kind).signed(kind, SECRET);
        req.body.push(b' ');
        assert_eq!(
            req.verify(kind, &[SECRET]),
            Err(Rejection::BadSignature),
            "{kind}"
        );
    }
}

#[test]
fn every_signing_driver_without_a_usable_secret_is_no_secret() {
    for kind in signing_drivers() {
        let req = sample(kind).signed(kind, SECRET);
        assert_eq!(
            req.verify(kind, &[]),
            Err(Rejection::NoSecret),
            "{kind}: no secrets"
        );
        assert_eq!(
            req.verify(kind, &[""]),
            Err(Rejection::NoSecret),
            "{kind}: empty secret"
        );
        assert_eq!(
            req.verify(kind, &["", ""]),
            Err(Rejection::NoSecret),
            "{kind}: two empty"
        );
    }
}

#[test]
fn every_signing_driver_accepts_either_secret_during_rotation() {
    for kind in signing_drivers() {
        let new = sample(kind).signed(kind, "new-secret");
        let old = sample(kind).signed(kind, "old-secret");
        let both = ["old-secret", "new-secret"];
        assert_eq!(
            new.verify(kind, &both),
            Ok(()),
            "{kind}: second secret matches"
        );
        assert_eq!(
            old.verify(kind, &both),
            Ok(()),
            "{kind}: first secret matches"
        );
        // An empty secret in the list is skipped, not fatal.
        assert_eq!(
            new.verify(kind, &["", "new-secret"]),
            Ok(()),
            "{kind}: empty skipped"
        );
        assert_eq!(
            new.verify(kind, &["old-secret", "other"]),
            Err(Rejection::BadSignature),
            "{kind}: neither matches"
        );
    }
}

#[test]
fn every_signing_driver_refuses_an_unsigned_delivery_naming_its_header() {
    for kind in signing_drivers() {
        let expected = match kind {
            DriverKind::Generic => "webhook-id",
            _ => kind.signature_headers()[0],
        };
        assert_eq!(
            sample(kind).verify(kind, &[SECRET]),
            Err(Rejection::MissingSignature(expected)),
            "{kind}"
        );
    }
}

#[test]
fn every_signing_driver_refuses_a_repeated_signature_header() {
    for kind in signing_drivers() {
        let header = kind.signature_headers()[0];
        let signed = sample(kind).signed(kind, SECRET);
        let value = signed
            .headers
            .get(header)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let req = signed.header(header, &value);
        assert_eq!(
            req.verify(kind, &[SECRET]),
            Err(Rejection::MalformedSignature(header)),
            "{kind}"
        );
    }
}

#[test]
fn signature_headers_name_the_headers_the_senders_sign_with() {
    for kind in signing_drivers() {
        let signed = sample(kind).signed(kind, SECRET);
        let headers = kind.signature_headers();
        assert!(!headers.is_empty(), "{kind}");
        assert!(
            headers.iter().any(|h| signed.headers.contains_key(*h)),
            "{kind}"
        );
    }
    assert!(
        DriverKind::Github
            .signature_headers()
            .contains(&"X-Hub-Signature")
    );
    assert!(DriverKind::Alertmanager.signature_headers().is_empty());
}

#[test]
fn rejections_never_contain_the_secret_or_the_presented_signature() {
    for kind in signing_drivers() {
        let forged = sample(kind).signed(kind, "CANARY-FORGED-9999");
        let stale = sample(kind).signed(kind, SECRET).at(NOW + 10_000);
        let mut presented: Vec<String> = forged
            .headers
            .values()
            .map(|v| v.to_str().unwrap().to_owned())
            .filter(|v| v.len() > 12) // signatures and tokens, not event names
            .collect();
        presented.push("CANARY-FORGED-9999".to_owned());
        let garbled = sample(kind).header(kind.signature_headers()[0], "CANARY-GARBLED-7777");
        let outcomes = [
            forged.verify(kind, &[SECRET]),
            stale.verify(kind, &[SECRET]),
            garbled.verify(kind, &[SECRET]),
            sample(kind).verify(kind, &[SECRET]),
            forged.verify(kind, &[""]),
        ];
        assert!(
            outcomes.iter().filter(|o| o.is_err()).count() >= 4,
            "{kind}"
        );
        for rejection in outcomes.iter().filter_map(|o| o.clone().err()) {
            for text in [rejection.to_string(), format!("{rejection:?}")] {
                assert!(!text.contains(SECRET), "{kind}: {text}");
                assert!(!text.contains("CANARY"), "{kind}: {text}");
                for value in &presented {
                    assert!(!text.contains(value.as_str()), "{kind}: {text}");
                }
            }
        }
    }
}

#[test]
fn rejection_reasons_are_stable_codes() {
    let reasons = [
        (Rejection::MissingSignature("X"), "missing_signature"),
        (Rejection::MalformedSignature("X"), "malformed_signature"),
        (Rejection::BadSignature, "bad_signature"),
        (Rejection::StaleTimestamp(300), "stale_timestamp"),
        (Rejection::NoSecret, "no_secret"),
    ];
    for (rejection, reason) in reasons {
        assert_eq!(rejection.reason(), reason);
    }
    assert_eq!(
        Rejection::MissingSignature("X-Hub-Signature-256").to_string(),
        "missing X-Hub-Signature-256 header"
    );
}

#[test]
fn alertmanager_cannot_sign_and_always_verifies() {
    assert!(!DriverKind::Alertmanager.supports_signature());
    let req = sample(DriverKind::Alertmanager);
    assert_eq!(req.verify(DriverKind::Alertmanager, &[]), Ok(()));
    assert_eq!(req.verify(DriverKind::Alertmanager, &[SECRET]), Ok(()));
}
