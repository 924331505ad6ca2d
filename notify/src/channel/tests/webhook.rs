//! Signed webhook headers: accepted by Vigil's own verifier and by an
//! independent HMAC computation, also after a trip through a real server.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use vigil_ingest::drivers::{Delivery, DriverKind, Verifier};
use vigil_store::SecretValue;

use super::http_server::{Reply, Server};
use super::policy;
use crate::channel::HttpClient;
use crate::channel::webhook::signed_headers;

const SECRET: &str = "whsec_dmlnaWwtd2ViaG9vay10ZXN0LXNlY3JldA==";
const NOW: i64 = 1_795_400_000;

fn secret(text: &str) -> SecretValue {
    SecretValue::new(text.as_bytes().to_vec())
}

fn header<'a>(headers: &'a [(&str, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name}"))
}

/// Vigil's ingestion verdict on `headers` and `body` at `now`.
fn verify(headers: &[(impl AsRef<str>, String)], body: &[u8], key: &str) -> bool {
    let mut map = http::HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            http::HeaderName::from_bytes(name.as_ref().as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    let json = serde_json::from_slice(body).unwrap();
    let delivery = Delivery {
        headers: &map,
        body,
        json: &json,
        now: NOW + 5,
    };
    let verifier = Verifier {
        secrets: vec![secret(key)],
        ..Verifier::default()
    };
    DriverKind::Generic.verify(&delivery, &verifier).is_ok()
}

#[test]
fn the_headers_verify_with_vigils_ingestion_and_an_independent_hmac() {
    let body = br#"{"status":"firing","summary":"disk full"}"#;
    let headers = signed_headers(&secret(SECRET), "dlv-42", NOW, body).unwrap();
    let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "content-type",
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature"
        ]
    );
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "webhook-id"), "dlv-42");
    assert_eq!(header(&headers, "webhook-timestamp"), NOW.to_string());

    assert!(verify(&headers, body, SECRET));
    assert!(
        !verify(&headers, body, "whsec_b3RoZXI="),
        "another secret verified"
    );
    assert!(!verify(&headers, br#"{"status":"resolved"}"#, SECRET));

    // From the specification: HMAC-SHA256 over id.timestamp.body, keyed
    // with the base64 after whsec_, base64 again, prefixed with v1.
    let key = STANDARD.decode(&SECRET["whsec_".len()..]).unwrap();
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("dlv-42.{NOW}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    assert_eq!(header(&headers, "webhook-signature"), expected);
}

#[test]
fn a_retry_keeps_the_id_and_is_signed_afresh() {
    let body = b"{}";
    let first = signed_headers(&secret(SECRET), "dlv-7", NOW, body).unwrap();
    let retry = signed_headers(&secret(SECRET), "dlv-7", NOW + 60, body).unwrap();
    assert_eq!(header(&first, "webhook-id"), header(&retry, "webhook-id"));
    assert_ne!(
        header(&first, "webhook-signature"),
        header(&retry, "webhook-signature")
    );
    assert_ne!(
        header(&first, "webhook-timestamp"),
        header(&retry, "webhook-timestamp")
    );
    assert!(signed_headers(&secret(""), "dlv-7", NOW, body).is_err());
}

#[tokio::test]
async fn a_signed_post_arrives_verifiable() {
    let server = Server::start(Reply::status(200, &[]), None).await;
    let client = HttpClient::new(policy(&["127.0.0.1"]), None).unwrap();
    let body = br#"{"alerts":[{"summary":"cpu"}]}"#.to_vec();
    let headers = signed_headers(&secret(SECRET), "dlv-9", NOW, &body).unwrap();
    let url = format!("http://127.0.0.1:{}/hook", server.port);
    client
        .post(&url, &headers, body, Duration::from_secs(10))
        .await
        .unwrap();
    let request = &server.requests()[0];
    let received: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(n, _)| n.starts_with("webhook-") || n == "content-type")
        .cloned()
        .collect();
    assert_eq!(received.len(), 4, "{received:?}");
    assert!(verify(&received, &request.body, SECRET));
}
