//! Each sender's own signing scheme, beyond the shared rules in
//! `signatures`: GitHub's `sha256=` header and published test vector,
//! PagerDuty's list of `v1=` signatures, Grafana's optional timestamp, and
//! the GitLab and Jenkins shared tokens.

use super::{NOW, Req, hmac, sample};
use crate::drivers::{DriverKind, Rejection};

const SECRET: &str = "CANARY-SECRET-4242";

// ---- GitHub ----

#[test]
fn github_documented_test_vector_verifies() {
    let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let req = Req::raw(b"Hello, World!").header("X-Hub-Signature-256", sig);
    assert_eq!(
        req.verify(DriverKind::Github, &["It's a Secret to Everybody"]),
        Ok(())
    );
    assert_eq!(
        req.verify(DriverKind::Github, &["It's a secret to everybody"]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn github_accepts_uppercase_hex() {
    let req = sample(DriverKind::Github);
    let sig = hex::encode_upper(hmac(SECRET.as_bytes(), &[&req.body]));
    let req = req.header("X-Hub-Signature-256", &format!("sha256={sig}"));
    assert_eq!(req.verify(DriverKind::Github, &[SECRET]), Ok(()));
}

#[test]
fn github_malformed_signatures_are_malformed() {
    let req = sample(DriverKind::Github);
    let hex = hex::encode(hmac(SECRET.as_bytes(), &[&req.body]));
    let malformed = Err(Rejection::MalformedSignature("X-Hub-Signature-256"));
    for value in [
        hex.clone(),                       // no prefix
        format!("sha1={hex}"),             // wrong algorithm
        format!("sha256={}", &hex[..62]),  // short
        format!("sha256={hex}00"),         // long
        format!("sha256=zz{}", &hex[2..]), // not hex
        "sha256=".to_owned(),
    ] {
        let r = sample(DriverKind::Github).header("X-Hub-Signature-256", &value);
        assert_eq!(
            r.verify(DriverKind::Github, &[SECRET]),
            malformed,
            "{value}"
        );
    }
    let non_ascii = sample(DriverKind::Github).header_bytes("X-Hub-Signature-256", b"sha256=\xff");
    assert_eq!(non_ascii.verify(DriverKind::Github, &[SECRET]), malformed);
}

#[test]
fn github_legacy_sha1_header_alone_is_missing_signature() {
    let req = sample(DriverKind::Github);
    let req = req.header(
        "X-Hub-Signature",
        "sha1=0123456789abcdef0123456789abcdef01234567",
    );
    assert_eq!(
        req.verify(DriverKind::Github, &[SECRET]),
        Err(Rejection::MissingSignature("X-Hub-Signature-256"))
    );
}

// ---- PagerDuty ----

#[test]
fn pagerduty_signature_computed_with_openssl_verifies() {
    // openssl dgst -sha256 -hmac pd-subscription-secret pagerduty/incident_triggered.json
    let sig = "v1=40fb28bffefeba4fc0393883d0e0524876dc5480d098747ca91a19cc4273771e";
    let req = Req::raw(super::PD_TRIGGERED.as_bytes()).header("X-PagerDuty-Signature", sig);
    assert_eq!(
        req.verify(DriverKind::Pagerduty, &["pd-subscription-secret"]),
        Ok(())
    );
}

#[test]
fn pagerduty_any_listed_v1_signature_may_match() {
    let req = sample(DriverKind::Pagerduty);
    let good = hex::encode(hmac(SECRET.as_bytes(), &[&req.body]));
    let other = hex::encode(hmac(b"retired-secret", &[&req.body]));
    for value in [
        format!("v1={other},v1={good}"),
        format!("v1={good},v1={other}"),
        format!("v1={other}, v1={good}"),
        format!("v0=abc,v1={good}"),     // other versions skipped
        format!("v1=not-hex,v1={good}"), // a bad entry does not hide a good one
        format!("v2={other},v1={good},v1="),
    ] {
        let r = sample(DriverKind::Pagerduty).header("X-PagerDuty-Signature", &value);
        assert_eq!(
            r.verify(DriverKind::Pagerduty, &[SECRET]),
            Ok(()),
            "{value}"
        );
    }
    let r = sample(DriverKind::Pagerduty).header("X-PagerDuty-Signature", &format!("v1={other}"));
    assert_eq!(
        r.verify(DriverKind::Pagerduty, &[SECRET]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn pagerduty_header_without_a_usable_v1_signature_is_malformed() {
    let req = sample(DriverKind::Pagerduty);
    let good = hex::encode(hmac(SECRET.as_bytes(), &[&req.body]));
    let too_many = vec![format!("v1={good}"); 17].join(",");
    for value in [
        format!("v0={good}"),
        good.clone(), // no version
        "v1=zz".to_owned(),
        "v1=".to_owned(),
        ",,,".to_owned(),
        too_many,
    ] {
        let r = sample(DriverKind::Pagerduty).header("X-PagerDuty-Signature", &value);
        assert_eq!(
            r.verify(DriverKind::Pagerduty, &[SECRET]),
            Err(Rejection::MalformedSignature("X-PagerDuty-Signature")),
            "{value}"
        );
    }
}

// ---- Grafana ----

#[test]
fn grafana_signature_computed_with_openssl_verifies() {
    // openssl dgst -sha256 -hmac grafana-hmac-secret grafana/firing.json
    let body_only = "4af7f317b2fdc5bc38d95d8febd3f0232ac24895be4eda3b3fb3950b9a089d3c";
    // (printf '1738587900:'; cat grafana/firing.json) | openssl dgst …
    let with_ts = "822148b3d0c3b4708db6408286baa0c57cb854cc04f5adce65df0e1ecd6feca9";
    let body = super::GRAFANA_FIRING.as_bytes();
    let secrets = ["grafana-hmac-secret"];
    let plain = Req::raw(body).header("X-Grafana-Alerting-Signature", body_only);
    assert_eq!(plain.verify(DriverKind::Grafana, &secrets), Ok(()));
    let timed = Req::raw(body)
        .at(1_738_587_900)
        .header("X-Grafana-Alerting-Signature", with_ts)
        .header("X-Grafana-Alerting-Signature-Timestamp", "1738587900");
    assert_eq!(timed.verify(DriverKind::Grafana, &secrets), Ok(()));
}

#[test]
fn grafana_with_a_timestamp_header_signs_timestamp_colon_body() {
    let req = sample(DriverKind::Grafana);
    let ts = NOW.to_string();
    let body_only = hex::encode(hmac(SECRET.as_bytes(), &[&req.body]));
    let r = sample(DriverKind::Grafana)
        .header("X-Grafana-Alerting-Signature", &body_only)
        .header("X-Grafana-Alerting-Signature-Timestamp", &ts);
    assert_eq!(
        r.verify(DriverKind::Grafana, &[SECRET]),
        Err(Rejection::BadSignature)
    );
    // Moving the timestamp invalidates the signature: it is covered.
    let signed = sample(DriverKind::Grafana).signed(DriverKind::Grafana, SECRET);
    let sig = signed.headers.get("X-Grafana-Alerting-Signature").unwrap();
    let moved = sample(DriverKind::Grafana)
        .header("X-Grafana-Alerting-Signature", sig.to_str().unwrap())
        .header(
            "X-Grafana-Alerting-Signature-Timestamp",
            &(NOW - 1).to_string(),
        );
    assert_eq!(
        moved.verify(DriverKind::Grafana, &[SECRET]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn grafana_timestamp_outside_the_tolerance_is_stale_either_way() {
    let kind = DriverKind::Grafana;
    for (skew, expected) in [
        (0, Ok(())),
        (300, Ok(())),
        (-300, Ok(())),
        (301, Err(Rejection::StaleTimestamp(300))),
        (-301, Err(Rejection::StaleTimestamp(300))),
        (86_400, Err(Rejection::StaleTimestamp(300))),
    ] {
        // Signed at NOW, received at NOW + skew.
        let req = sample(kind).signed(kind, SECRET).at(NOW + skew);
        assert_eq!(req.verify(kind, &[SECRET]), expected, "skew {skew}");
    }
}

#[test]
fn grafana_stale_forgery_is_a_bad_signature_not_stale() {
    let req = sample(DriverKind::Grafana)
        .signed(DriverKind::Grafana, "wrong")
        .at(NOW + 3600);
    assert_eq!(
        req.verify(DriverKind::Grafana, &[SECRET]),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn grafana_malformed_timestamp_or_signature_is_malformed() {
    let kind = DriverKind::Grafana;
    let good = sample(kind).signed(kind, SECRET);
    let sig = good
        .headers
        .get("X-Grafana-Alerting-Signature")
        .unwrap()
        .to_str()
        .unwrap();
    for ts in [
        "-1738587900",
        "1738587900.5",
        "17385879OO",
        "1234567890123",
        "+5",
    ] {
        let r = sample(kind)
            .header("X-Grafana-Alerting-Signature", sig)
            .header("X-Grafana-Alerting-Signature-Timestamp", ts);
        let expected = Err(Rejection::MalformedSignature(
            "X-Grafana-Alerting-Signature-Timestamp",
        ));
        assert_eq!(r.verify(kind, &[SECRET]), expected, "{ts}");
    }
    for value in ["sha256=abcd", "zz", &sig[..40]] {
        let r = sample(kind).header("X-Grafana-Alerting-Signature", value);
        let expected = Err(Rejection::MalformedSignature(
            "X-Grafana-Alerting-Signature",
        ));
        assert_eq!(r.verify(kind, &[SECRET]), expected, "{value}");
    }
}

// ---- GitLab and Jenkins tokens ----

#[test]
fn token_drivers_compare_the_whole_token() {
    for (kind, header) in [
        (DriverKind::Gitlab, "X-Gitlab-Token"),
        (DriverKind::Jenkins, "X-Jenkins-Token"),
    ] {
        for presented in [
            "CANARY-SECRET-424",
            "CANARY-SECRET-42420",
            "canary-secret-4242",
        ] {
            let r = sample(kind).header(header, presented);
            assert_eq!(
                r.verify(kind, &[SECRET]),
                Err(Rejection::BadSignature),
                "{presented}"
            );
        }
        // Surrounding whitespace is not part of a header value.
        let padded = sample(kind).header(header, &format!("  {SECRET} "));
        assert_eq!(padded.verify(kind, &[SECRET]), Ok(()), "{kind}");
    }
}

#[test]
fn token_drivers_never_match_an_empty_secret_with_an_empty_token() {
    for (kind, header) in [
        (DriverKind::Gitlab, "X-Gitlab-Token"),
        (DriverKind::Jenkins, "X-Jenkins-Token"),
    ] {
        for token in ["", "   "] {
            let r = sample(kind).header(header, token);
            assert_eq!(r.verify(kind, &[""]), Err(Rejection::NoSecret), "{kind}");
            assert_eq!(
                r.verify(kind, &["", SECRET]),
                Err(Rejection::MissingSignature(header)),
                "{kind}"
            );
        }
    }
}
