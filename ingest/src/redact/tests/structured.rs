//! `redact_json` and `redact_alert`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use vigil_store::{Alert, AlertStatus, Severity};

use super::{assert_no_secret, redactor};

const GHP: &str = "ghp_CANARY0123456789abcdefghijABCDEFGHIJ";

#[test]
fn redact_json_nested_values_and_keys() {
    let mut value = json!({
        "alertname": "DiskFull",
        "count": 3,
        "ok": true,
        "nothing": null,
        "password": "CANARYpw",
        "pin": 1234,
        "db": {
            "url": "postgres://app:CANARYdb@db:5432/x",
            "db_password": "CANARYdbpw",
            "pool": 10,
            "settings": [{"apiKey": "CANARYapikey", "timeout": 30}]
        },
        "headers": {
            "Authorization": "Bearer CANARYbearer0123456789",
            "Set-Cookie": ["sid=CANARYsid", "theme=dark"],
            "X-Request-Id": "123e4567-e89b-12d3-a456-426614174000"
        },
        "token": {"value": "CANARYnested", "expires_in": 3600, "renewable": false},
        "log": ["started", "login with password=CANARYlog failed", 7],
        "tokens_used": 4096,
        GHP: "a key that is a token",
        "description": "tokenizer ran on grafana.example.com"
    });
    let input = value.to_string();
    redactor().redact_json(&mut value);
    let out = value.to_string();
    assert_no_secret(&input, &out);
    let expected = json!({
        "alertname": "DiskFull",
        "count": 3,
        "ok": true,
        "nothing": null,
        "password": "[REDACTED:password]",
        "pin": "[REDACTED:password]",
        "db": {
            "url": "postgres://[REDACTED:url_credentials]@db:5432/x",
            "db_password": "[REDACTED:password]",
            "pool": 10,
            "settings": [{"apiKey": "[REDACTED:token]", "timeout": 30}]
        },
        "headers": {
            "Authorization": "[REDACTED:authorization]",
            "Set-Cookie": ["[REDACTED:cookie]", "[REDACTED:cookie]"],
            "X-Request-Id": "123e4567-e89b-12d3-a456-426614174000"
        },
        "token": {"value": "[REDACTED:token]", "expires_in": "[REDACTED:token]", "renewable": false},
        "log": ["started", "login with password=[REDACTED:password] failed", 7],
        "tokens_used": 4096,
        "[REDACTED:github_token]": "a key that is a token",
        "description": "tokenizer ran on grafana.example.com"
    });
    assert_eq!(value, expected);
}

#[test]
fn redact_json_leaves_clean_documents_alone() {
    let clean = json!({
        "alerts": [{"labels": {"alertname": "Up", "instance": "10.0.0.1:9100"}, "value": 1.5}],
        "commonLabels": {"team": "sre"},
        "externalURL": "https://alertmanager.example.com",
        "truncatedAlerts": 0
    });
    let mut value = clean.clone();
    redactor().redact_json(&mut value);
    assert_eq!(value, clean);
}

#[test]
fn redact_json_key_collisions_keep_every_entry() {
    let other = "ghp_CANARYzzzz456789abcdefghijABCDEFGHIJ";
    let mut value = json!({ GHP: 1, other: 2, "[REDACTED:github_token]": 3 });
    redactor().redact_json(&mut value);
    let map = value.as_object().expect("an object");
    assert_eq!(map.len(), 3, "{value}");
    let mut numbers: Vec<i64> = map.values().filter_map(Value::as_i64).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3]);
    assert!(
        map.keys().all(|k| k.starts_with("[REDACTED:github_token]")),
        "{value}"
    );
    assert!(!value.to_string().contains("CANARY"));
}

#[test]
fn redact_json_sensitive_key_is_judged_before_renaming() {
    // The key holds a token and names a password: both go.
    let key = format!("{GHP}_password");
    let mut value = json!({ key: "CANARYvalue" });
    redactor().redact_json(&mut value);
    assert_eq!(
        value,
        json!({"[REDACTED:github_token]_password": "[REDACTED:password]"})
    );
    // Once redacted, the key is judged as before: a marker is not a name.
    let mut value = json!({ GHP: "not secret", "[REDACTED:token]": 1 });
    redactor().redact_json(&mut value);
    let once = value.clone();
    assert_eq!(
        once,
        json!({"[REDACTED:github_token]": "not secret", "[REDACTED:token]": 1})
    );
    redactor().redact_json(&mut value);
    assert_eq!(value, once);
}

/// Found by fuzzing (fuzz/fuzz_targets/redact.rs): a key whose name says
/// nothing until its secret is redacted (`password=…_key` ends in `key`,
/// `password=[REDACTED:password]` in `password`) left its value for a
/// second pass to redact, so redaction was not idempotent.
#[test]
fn redact_json_a_key_that_names_a_secret_once_redacted_is_idempotent() {
    let mut value = json!({"password=CANARYjavai_key": "x", "n": {"password=CANARYb_key": 7}});
    redactor().redact_json(&mut value);
    let once = value.clone();
    assert_eq!(
        once,
        json!({
            "password=[REDACTED:password]": "[REDACTED:password]",
            "n": {"password=[REDACTED:password]": "[REDACTED:password]"}
        })
    );
    redactor().redact_json(&mut value);
    assert_eq!(value, once);

    let mut alert = alert();
    alert.labels = [("password=CANARYjavai_key".to_string(), "x".to_string())].into();
    redactor().redact_alert(&mut alert);
    let once = alert.clone();
    assert_eq!(
        once.labels,
        [(
            "password=[REDACTED:password]".to_string(),
            "[REDACTED:password]".to_string()
        )]
        .into()
    );
    redactor().redact_alert(&mut alert);
    assert_eq!(alert, once);
}

/// A value that already is a marker stays as it is under a secret-named
/// key, whatever its kind: a second pass must change nothing.
#[test]
fn redact_json_markers_under_secret_keys_stay() {
    let mut value = json!({"api_token": "[REDACTED:password]", "password": ["[REDACTED:x]", "y"]});
    redactor().redact_json(&mut value);
    assert_eq!(
        value,
        json!({"api_token": "[REDACTED:password]", "password": ["[REDACTED:x]", "[REDACTED:password]"]})
    );
}

#[test]
fn redact_json_deep_nesting_does_not_recurse() {
    // Arrays and objects alternate, 100 000 deep; a secret-named key at the
    // top, a secret in text at the bottom.
    let mut value = Value::String("password=CANARYdeep".into());
    for depth in 0..100_000 {
        value = if depth % 2 == 0 {
            Value::Array(vec![value, json!(depth)])
        } else {
            let mut map = Map::new();
            map.insert("k".into(), value);
            Value::Object(map)
        };
    }
    let mut top = Map::new();
    top.insert("clean".into(), value);
    top.insert("secret".into(), json!([[[{"deep": 1}]]]));
    let mut value = Value::Object(top);
    redactor().redact_json(&mut value);
    assert_eq!(value["secret"], json!([[[{"deep": "[REDACTED:token]"}]]]));
    let mut inner = &value["clean"];
    let mut numbers_kept = true;
    loop {
        inner = match inner {
            Value::Array(items) => {
                numbers_kept &= items.get(1).is_some_and(Value::is_number);
                &items[0]
            }
            Value::Object(map) => &map["k"],
            _ => break,
        };
    }
    assert!(numbers_kept, "a clean number changed");
    assert_eq!(inner, &json!("password=[REDACTED:password]"));
    // Dropping a deep value recurses in serde_json; take it apart first.
    let mut current = value["clean"].take();
    loop {
        current = match current {
            Value::Array(mut items) => items.swap_remove(0),
            Value::Object(mut map) => map.remove("k").unwrap_or(Value::Null),
            _ => break,
        };
    }
}

fn alert() -> Alert {
    Alert {
        fingerprint: "fp-ghp_CANARYfingerprint0123456789abcdefghij".into(),
        status: AlertStatus::Firing,
        severity: Severity::Critical,
        summary: "backup failed: postgres://backup:CANARYsummary@db/x".into(),
        labels: BTreeMap::from([
            ("alertname".into(), "BackupFailed".into()),
            ("instance".into(), "db-01:9187".into()),
            ("token".into(), "CANARYlabeltoken".into()),
            ("job".into(), "AKIACANARY0EXAMPLE12".into()),
        ]),
        annotations: BTreeMap::from([
            (
                "description".into(),
                "curl -H 'Authorization: Bearer CANARYannotation0123' failed".into(),
            ),
            (
                "runbook_url".into(),
                "https://runbooks.example.com/backup".into(),
            ),
            ("db_password".into(), "CANARYannpw".into()),
            (GHP.into(), "keyed by a token".into()),
        ]),
        starts_at: Some(1),
        ends_at: None,
        links: vec![
            "https://admin:CANARYlink@grafana.example.com/d/x?orgId=1".into(),
            "https://ci.example.com/job/1?token=CANARYlinktoken".into(),
            "https://grafana.example.com/d/abc?orgId=1&from=now-1h".into(),
        ],
    }
}

#[test]
fn redact_alert_everything_including_a_fingerprint_built_from_a_secret() {
    let original = alert();
    let mut redacted = original.clone();
    redactor().redact_alert(&mut redacted);
    assert_eq!(redacted.fingerprint, "fp-[REDACTED:github_token]");
    assert_no_secret(&format!("{original:?}"), &format!("{redacted:?}"));
    // Deterministic, so the same alert keeps finding its incident; a clean
    // fingerprint is an identity and stays as it was.
    let mut again = original.clone();
    redactor().redact_alert(&mut again);
    assert_eq!(again.fingerprint, redacted.fingerprint);
    let mut clean = original.clone();
    clean.fingerprint = "jenkins:nightly-backup".into();
    redactor().redact_alert(&mut clean);
    assert_eq!(clean.fingerprint, "jenkins:nightly-backup");
    assert_eq!(
        redacted.summary,
        "backup failed: postgres://[REDACTED:url_credentials]@db/x"
    );
    assert_eq!(
        redacted.labels,
        BTreeMap::from([
            ("alertname".into(), "BackupFailed".into()),
            ("instance".into(), "db-01:9187".into()),
            ("token".into(), "[REDACTED:token]".into()),
            ("job".into(), "[REDACTED:aws_access_key]".into()),
        ])
    );
    assert_eq!(
        redacted.annotations,
        BTreeMap::from([
            (
                "description".into(),
                "curl -H 'Authorization: Bearer [REDACTED:authorization]' failed".into()
            ),
            (
                "runbook_url".into(),
                "https://runbooks.example.com/backup".into()
            ),
            ("db_password".into(), "[REDACTED:password]".into()),
            ("[REDACTED:github_token]".into(), "keyed by a token".into()),
        ])
    );
    assert_eq!(
        redacted.links,
        [
            "https://[REDACTED:url_credentials]@grafana.example.com/d/x?orgId=1",
            "https://ci.example.com/job/1?token=[REDACTED:token]",
            "https://grafana.example.com/d/abc?orgId=1&from=now-1h",
        ]
    );
    assert_eq!(redacted.status, original.status);
    assert_eq!(redacted.severity, original.severity);
    assert_eq!(redacted.starts_at, original.starts_at);
    // Idempotent.
    let mut again = redacted.clone();
    redactor().redact_alert(&mut again);
    assert_eq!(again, redacted);
}
