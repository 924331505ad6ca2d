//! Size limits: alert counts and map sizes are refused, long values and
//! summaries truncated at a character boundary with `…`.

use super::{AM_FIRING, GENERIC_ALERT, GRAFANA_FIRING, JENKINS_FAILURE, Req, value};
use crate::drivers::{
    DriverKind, MAX_ALERTS, MAX_KEY_BYTES, MAX_LINKS, MAX_MAP_ENTRIES, MAX_SUMMARY_BYTES,
    MAX_VALUE_BYTES,
};
use serde_json::{Map, Value, json};

/// `n` entries `k0: v0`, … as a JSON object.
fn map(n: usize) -> Value {
    let map: Map<String, Value> = (0..n)
        .map(|i| (format!("k{i}"), json!(format!("v{i}"))))
        .collect();
    Value::Object(map)
}

/// The first Alertmanager alert repeated `n` times.
fn alertmanager_with(n: usize) -> Req {
    let mut body = value(AM_FIRING);
    let alert = body["alerts"][0].clone();
    body["alerts"] = Value::Array(vec![alert; n]);
    Req::json(&body)
}

/// Asserts `cut` is `original` truncated to at most `max` bytes: a prefix
/// ending at a character boundary, then `…`, losing no more than needed.
fn assert_truncated(original: &str, cut: &str, max: usize) {
    assert!(cut.len() <= max, "{} > {max}", cut.len());
    let kept = cut.strip_suffix('…').expect("a truncated value ends in …");
    assert!(original.starts_with(kept), "not a prefix");
    // At most the ellipsis plus a partial character (3 bytes) are lost.
    assert!(
        kept.len() + '…'.len_utf8() + 3 >= max,
        "cut {} bytes short of {max}",
        kept.len()
    );
}

/// Long strings of multibyte characters at every alignment.
fn long_multibyte(min_bytes: usize) -> Vec<String> {
    let mut out = Vec::new();
    for ch in ['é', '€', '🦀'] {
        for offset in 0..4 {
            let mut s = "a".repeat(offset);
            while s.len() <= min_bytes {
                s.push(ch);
            }
            out.push(s);
        }
    }
    out
}

#[test]
fn more_than_max_alerts_are_refused() {
    let alerts = alertmanager_with(MAX_ALERTS).alerts(DriverKind::Alertmanager);
    assert_eq!(alerts.len(), MAX_ALERTS);
    let message = alertmanager_with(MAX_ALERTS + 1).shape_error(DriverKind::Alertmanager);
    assert_eq!(message, format!("alerts: more than {MAX_ALERTS} alerts"));

    let mut grafana = value(GRAFANA_FIRING);
    grafana["alerts"] = Value::Array(vec![grafana["alerts"][0].clone(); MAX_ALERTS + 1]);
    let message = Req::json(&grafana).shape_error(DriverKind::Grafana);
    assert_eq!(message, format!("alerts: more than {MAX_ALERTS} alerts"));

    let generic = json!({"alerts": vec![value(GENERIC_ALERT); MAX_ALERTS + 1]});
    let message = Req::json(&generic).shape_error(DriverKind::Generic);
    assert_eq!(message, format!("alerts: more than {MAX_ALERTS} alerts"));
    let generic = json!({"alerts": vec![value(GENERIC_ALERT); MAX_ALERTS]});
    assert_eq!(
        Req::json(&generic).alerts(DriverKind::Generic).len(),
        MAX_ALERTS
    );
}

#[test]
fn more_than_max_map_entries_are_refused() {
    for field in ["labels", "annotations"] {
        let mut body = value(AM_FIRING);
        body["alerts"][1][field] = map(MAX_MAP_ENTRIES);
        let alerts = Req::json(&body).alerts(DriverKind::Alertmanager);
        let kept = if field == "labels" {
            &alerts[1].labels
        } else {
            &alerts[1].annotations
        };
        assert_eq!(kept.len(), MAX_MAP_ENTRIES, "{field}");
        body["alerts"][1][field] = map(MAX_MAP_ENTRIES + 1);
        let message = Req::json(&body).shape_error(DriverKind::Alertmanager);
        assert_eq!(
            message,
            format!("alerts[1].{field}: more than {MAX_MAP_ENTRIES} entries")
        );

        let mut generic = value(GENERIC_ALERT);
        generic[field] = map(MAX_MAP_ENTRIES + 1);
        let message = Req::json(&generic).shape_error(DriverKind::Generic);
        assert_eq!(
            message,
            format!("{field}: more than {MAX_MAP_ENTRIES} entries")
        );
    }
}

#[test]
fn keys_must_be_1_to_max_key_bytes() {
    let longest = "k".repeat(MAX_KEY_BYTES);
    let mut body = value(GENERIC_ALERT);
    body["labels"] = json!({ longest.clone(): "v" });
    assert_eq!(
        Req::json(&body).alert(DriverKind::Generic).labels[&longest],
        "v"
    );
    for key in [
        "k".repeat(MAX_KEY_BYTES + 1),
        String::new(),
        "é".repeat(MAX_KEY_BYTES / 2 + 1),
    ] {
        body["labels"] = json!({ key: "v" });
        let message = Req::json(&body).shape_error(DriverKind::Generic);
        assert_eq!(
            message,
            format!("labels: keys must be 1 to {MAX_KEY_BYTES} bytes")
        );
    }
}

#[test]
fn long_values_are_truncated_at_a_char_boundary() {
    for long in long_multibyte(MAX_VALUE_BYTES) {
        let mut body = value(AM_FIRING);
        body["alerts"][0]["labels"]["device"] = json!(long);
        body["alerts"][0]["annotations"]["runbook_url"] = json!(long);
        let alert = &Req::json(&body).alerts(DriverKind::Alertmanager)[0];
        assert_truncated(&long, &alert.labels["device"], MAX_VALUE_BYTES);
        assert_truncated(&long, &alert.annotations["runbook_url"], MAX_VALUE_BYTES);
    }
}

#[test]
fn values_at_the_limit_are_kept_whole() {
    let exact = format!("{}{}", "a".repeat(MAX_VALUE_BYTES - 4), "🦀");
    assert_eq!(exact.len(), MAX_VALUE_BYTES);
    let mut body = value(GENERIC_ALERT);
    body["labels"]["host"] = json!(exact);
    assert_eq!(
        Req::json(&body).alert(DriverKind::Generic).labels["host"],
        exact
    );
}

#[test]
fn values_a_driver_derives_are_truncated_too() {
    for long in long_multibyte(MAX_VALUE_BYTES) {
        let mut body = value(JENKINS_FAILURE);
        body["name"] = json!(long);
        let alert = Req::json(&body).alert(DriverKind::Jenkins);
        assert_truncated(&long, &alert.labels["job"], MAX_VALUE_BYTES);
        assert!(alert.summary.len() <= MAX_SUMMARY_BYTES);
        assert!(alert.fingerprint.len() <= 256, "long names are hashed");
    }
}

#[test]
fn long_summaries_are_truncated_at_a_char_boundary() {
    for long in long_multibyte(MAX_SUMMARY_BYTES) {
        let mut body = value(AM_FIRING);
        body["alerts"][0]["annotations"]["summary"] = json!(long);
        let alert = &Req::json(&body).alerts(DriverKind::Alertmanager)[0];
        assert_truncated(&long, &alert.summary, MAX_SUMMARY_BYTES);
        assert_eq!(
            alert.annotations["summary"], long,
            "the annotation itself is within limits"
        );

        let mut generic = value(GENERIC_ALERT);
        generic["summary"] = json!(long);
        let alert = Req::json(&generic).alert(DriverKind::Generic);
        assert_truncated(&long, &alert.summary, MAX_SUMMARY_BYTES);
    }
}

#[test]
fn summaries_are_one_line() {
    let mut body = value(GENERIC_ALERT);
    body["summary"] = json!("\n  disk full\r\non db-1\t(/srv)\u{7} ");
    let alert = Req::json(&body).alert(DriverKind::Generic);
    assert_eq!(alert.summary, "disk full  on db-1 (/srv)");
}

#[test]
fn links_beyond_the_limits_are_refused_or_dropped() {
    let url = |i: usize| format!("https://example.com/{i}");
    let mut generic = value(GENERIC_ALERT);
    generic["links"] = json!((0..MAX_LINKS).map(url).collect::<Vec<_>>());
    assert_eq!(
        Req::json(&generic).alert(DriverKind::Generic).links.len(),
        MAX_LINKS
    );
    generic["links"] = json!((0..=MAX_LINKS).map(url).collect::<Vec<_>>());
    let message = Req::json(&generic).shape_error(DriverKind::Generic);
    assert_eq!(message, format!("links: more than {MAX_LINKS} links"));
    let long = format!("https://example.com/{}", "a".repeat(MAX_VALUE_BYTES));
    generic["links"] = json!([long]);
    assert!(
        Req::json(&generic)
            .shape_error(DriverKind::Generic)
            .starts_with("links[0]: ")
    );

    // Senders Vigil does not control: a cut URL misleads, so it is dropped.
    let mut body = value(AM_FIRING);
    body["alerts"][0]["generatorURL"] = json!(long);
    let alert = &Req::json(&body).alerts(DriverKind::Alertmanager)[0];
    assert!(alert.links.is_empty());
}
