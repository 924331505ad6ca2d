//! The built-in templates render useful messages for firing and resolved
//! groups, and stay correct with hostile alert text.

use super::super::*;
use super::{HOSTILE, alert, hostile_context, labels};
use vigil_store::AlertStatus;

fn render(name: &str, context: &Context) -> String {
    TemplateSet::builtin().render(name, context).unwrap()
}

#[test]
fn every_builtin_compiles_with_its_escape() {
    let set = TemplateSet::builtin();
    let names: Vec<&str> = set.names().collect();
    assert_eq!(
        names,
        [
            ALERTMANAGER_V4_JSON,
            EMAIL_HTML,
            EMAIL_SUBJECT,
            EMAIL_TEXT,
            MESSAGE_TEXT,
            MESSAGE_TITLE,
            PAGERDUTY_SUMMARY,
            SLACK_TEXT,
            WEBHOOK_JSON
        ]
    );
    assert_eq!(set.escape(MESSAGE_TEXT), Some(Escape::Text));
    assert_eq!(set.escape(MESSAGE_TITLE), Some(Escape::Text));
    assert_eq!(set.escape(WEBHOOK_JSON), Some(Escape::Json));
    assert_eq!(set.escape(SLACK_TEXT), Some(Escape::SlackMrkdwn));
    assert_eq!(set.escape(EMAIL_HTML), Some(Escape::Html));
    assert_eq!(set.escape(EMAIL_SUBJECT), Some(Escape::Text));
}

#[test]
fn webhook_body_is_json_with_the_group() {
    let body = render(WEBHOOK_JSON, &Context::sample(AlertStatus::Firing));
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "firing");
    assert_eq!(json["receiver"], "sample");
    assert_eq!(json["group_labels"]["alertname"], "DiskFull");
    assert_eq!(json["common_labels"]["job"], "node");
    assert_eq!(json["counts"]["firing"], 1);
    assert_eq!(json["counts"]["resolved"], 1);
    assert_eq!(json["incident"]["id"], "inc-1");
    assert_eq!(json["alerts"][0]["starts_at"], "2024-05-01T12:00:00Z");
    assert_eq!(json["alerts"][0]["ends_at"], serde_json::Value::Null);
    assert_eq!(json["alerts"][1]["status"], "resolved");
    assert_eq!(json["truncated_alerts"], 0);

    let body = render(WEBHOOK_JSON, &Context::sample(AlertStatus::Resolved));
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "resolved");
    assert_eq!(json["incident"], serde_json::Value::Null);
    assert_eq!(json["external_url"], serde_json::Value::Null);
}

/// An object's field names, sorted (serde_json's map order is not a contract).
fn sorted_keys(value: &serde_json::Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[test]
fn alertmanager_v4_body_is_what_alertmanager_sends() {
    let body = render(ALERTMANAGER_V4_JSON, &Context::sample(AlertStatus::Firing));
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    // Every field of Alertmanager's webhook_config payload, and no other.
    assert_eq!(
        sorted_keys(&json),
        [
            "alerts",
            "commonAnnotations",
            "commonLabels",
            "externalURL",
            "groupKey",
            "groupLabels",
            "receiver",
            "status",
            "truncatedAlerts",
            "version"
        ]
    );
    assert_eq!(json["version"], "4");
    assert_eq!(json["groupKey"], "{}:{alertname=\"DiskFull\"}");
    assert_eq!(json["status"], "firing");
    assert_eq!(json["receiver"], "sample");
    assert_eq!(json["groupLabels"]["alertname"], "DiskFull");
    assert_eq!(json["commonLabels"]["job"], "node");
    assert_eq!(json["externalURL"], "https://vigil.example");
    assert_eq!(json["truncatedAlerts"], 0);
    let first = &json["alerts"][0];
    assert_eq!(
        sorted_keys(first),
        [
            "annotations",
            "endsAt",
            "fingerprint",
            "generatorURL",
            "labels",
            "startsAt",
            "status"
        ]
    );
    assert_eq!(first["status"], "firing");
    assert_eq!(first["startsAt"], "2024-05-01T12:00:00Z");
    // Unset times are Go's zero time, as Alertmanager sends them.
    assert_eq!(first["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(json["alerts"][1]["status"], "resolved");

    let body = render(
        ALERTMANAGER_V4_JSON,
        &Context::sample(AlertStatus::Resolved),
    );
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "resolved");
    assert_eq!(json["externalURL"], "", "Alertmanager sends a string");

    // A receiver's max_alerts cut: the rest is counted, as Alertmanager does.
    let alerts: Vec<_> = (0..25)
        .map(|i| alert(AlertStatus::Firing, &format!("alert number {i}"), &[]))
        .collect();
    let mut context = Context::from_alerts("team", labels(&[]), &alerts);
    let json: serde_json::Value =
        serde_json::from_str(&render(ALERTMANAGER_V4_JSON, &context)).unwrap();
    assert_eq!(json["alerts"].as_array().unwrap().len(), 20);
    assert_eq!(json["truncatedAlerts"], 5);
    assert_eq!(json["groupKey"], "{}:{}");
    context.alerts.truncate(3);
    let json: serde_json::Value =
        serde_json::from_str(&render(ALERTMANAGER_V4_JSON, &context)).unwrap();
    assert_eq!(json["alerts"].as_array().unwrap().len(), 3);
    assert_eq!(json["truncatedAlerts"], 22);
}

#[test]
fn slack_text_has_a_title_per_status_and_a_line_per_alert() {
    let firing = render(SLACK_TEXT, &Context::sample(AlertStatus::Firing));
    assert!(
        firing.starts_with(":rotating_light: *[FIRING:1]* DiskFull\n\n"),
        "{firing}"
    );
    assert!(
        firing.contains("• *CRITICAL* Disk almost full on db1\n"),
        "{firing}"
    );
    assert!(
        firing.contains("• _resolved_ Disk almost full on db2\n"),
        "{firing}"
    );
    assert!(firing.contains("Incident inc-1 (open)"), "{firing}");
    assert!(
        firing.contains("<https://vigil.example|Open in Vigil>"),
        "{firing}"
    );

    let resolved = render(SLACK_TEXT, &Context::sample(AlertStatus::Resolved));
    assert!(
        resolved.starts_with(":white_check_mark: *[RESOLVED]* DiskFull\n"),
        "{resolved}"
    );
    assert!(!resolved.contains("Incident"), "{resolved}");
}

#[test]
fn email_subject_and_bodies() {
    let firing = Context::sample(AlertStatus::Firing);
    let resolved = Context::sample(AlertStatus::Resolved);
    assert_eq!(render(EMAIL_SUBJECT, &firing), "[FIRING:1] DiskFull");
    assert_eq!(
        render(EMAIL_SUBJECT, &resolved),
        "[RESOLVED] DiskFull: Disk almost full on db1"
    );

    let html = render(EMAIL_HTML, &firing);
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("[FIRING:1] DiskFull</h2>"), "{html}");
    assert!(
        html.contains("<td>Disk almost full on db1 <a href="),
        "{html}"
    );
    assert!(
        html.contains("alertname=DiskFull<br>instance=db1"),
        "{html}"
    );
    assert!(html.contains("Incident <strong>inc-1</strong>"), "{html}");

    let text = render(EMAIL_TEXT, &resolved);
    assert!(
        text.starts_with("[RESOLVED] DiskFull\n\n0 firing, 1 resolved"),
        "{text}"
    );
    assert!(
        text.contains("since 2024-05-01T12:00:00Z until 2024-05-01T12:10:00Z\n"),
        "{text}"
    );
}

#[test]
fn pagerduty_summary_is_one_line() {
    assert_eq!(
        render(PAGERDUTY_SUMMARY, &Context::sample(AlertStatus::Firing)),
        "[FIRING] 1 firing, 1 resolved: DiskFull"
    );
    assert_eq!(
        render(PAGERDUTY_SUMMARY, &Context::sample(AlertStatus::Resolved)),
        "[RESOLVED] Disk almost full on db1"
    );
}

#[test]
fn large_groups_list_twenty_alerts_and_count_the_rest() {
    let alerts: Vec<_> = (0..25)
        .map(|i| alert(AlertStatus::Firing, &format!("alert number {i}"), &[]))
        .collect();
    let context = Context::from_alerts("team", labels(&[("alertname", "DiskFull")]), &alerts);

    let json: serde_json::Value = serde_json::from_str(&render(WEBHOOK_JSON, &context)).unwrap();
    assert_eq!(json["alerts"].as_array().unwrap().len(), 20);
    assert_eq!(json["truncated_alerts"], 5);

    let slack = render(SLACK_TEXT, &context);
    assert!(slack.contains("alert number 19\n"), "{slack}");
    assert!(!slack.contains("alert number 20"), "{slack}");
    assert!(slack.contains("…and 5 more"), "{slack}");
    assert!(render(EMAIL_HTML, &context).contains("...and 5 more."));
}

#[test]
fn builtins_fit_the_default_limits_for_a_large_realistic_group() {
    let text = "a fairly long sentence of alert text ".repeat(6);
    let alerts: Vec<_> = (0..500)
        .map(|i| {
            let mut alert = alert(AlertStatus::Firing, &format!("{i} {text}"), &[]);
            for n in 0..8 {
                alert
                    .labels
                    .insert(format!("label_{n}"), format!("value-{n}-{i}"));
            }
            for n in 0..5 {
                alert
                    .annotations
                    .insert(format!("annotation_{n}"), text.clone());
            }
            alert
        })
        .collect();
    let context = Context::from_alerts("team", labels(&[("alertname", "DiskFull")]), &alerts);
    // A quarter of the default fuel is enough: the default has headroom.
    let limits = Limits {
        fuel: DEFAULT_FUEL / 4,
        ..Limits::default()
    };
    let set = TemplateSet::compile_with_builtins(&[], limits).unwrap();
    for name in set.names() {
        let out = set
            .render(name, &context)
            .unwrap_or_else(|err| panic!("{err}"));
        assert!(out.contains("DiskFull"), "{name}");
    }
}

#[test]
fn single_line_builtins_stay_single_line_and_bounded() {
    let long = "word ".repeat(400);
    let context = Context::from_alerts(
        "team",
        labels(&[]),
        &[alert(
            AlertStatus::Firing,
            &format!("a\r\nBcc: x@evil.example\n{long}"),
            &[],
        )],
    );
    let subject = render(EMAIL_SUBJECT, &context);
    let summary = render(PAGERDUTY_SUMMARY, &context);
    for line in [&subject, &summary] {
        assert!(!line.contains(['\r', '\n']), "{line:?}");
    }
    assert!(subject.contains("a Bcc: x@evil.example word"), "{subject}");
    assert!(subject.chars().count() <= 200);
    assert_eq!(summary.chars().count(), 1024);
}

#[test]
fn builtins_keep_hostile_text_inert() {
    let context = hostile_context();
    let set = TemplateSet::builtin();

    let body = set.render(ALERTMANAGER_V4_JSON, &context).unwrap();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["groupLabels"]["alertname"], HOSTILE);
    assert!(
        json["groupKey"]
            .as_str()
            .unwrap()
            .starts_with("{}:{alertname=")
    );
    assert!(!body.contains("</script>"));

    let body = set.render(WEBHOOK_JSON, &context).unwrap();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["receiver"], "team");
    assert_eq!(json["group_labels"]["alertname"], HOSTILE);
    assert_eq!(json["alerts"][0]["summary"], HOSTILE);
    assert!(!body.contains("</script>"));

    let slack = set.render(SLACK_TEXT, &context).unwrap();
    assert!(!slack.contains("<!channel>"), "{slack}");
    assert!(!slack.contains("<https://evil"), "{slack}");
    assert!(slack.contains("&lt;!channel&gt;"), "{slack}");
    assert!(slack.contains("{{ 7*7 }}"), "{slack}");

    let html = set.render(EMAIL_HTML, &context).unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;&#x2f;script&gt;"), "{html}");

    let subject = set.render(EMAIL_SUBJECT, &context).unwrap();
    assert!(!subject.contains(['\n', '\r', '\0']), "{subject:?}");
}

#[test]
fn operator_templates_replace_builtins_of_the_same_name() {
    let custom = TemplateSource::new(SLACK_TEXT, Escape::SlackMrkdwn, "custom {{ status }}");
    let extra = TemplateSource::new("team.slack", Escape::SlackMrkdwn, "{{ receiver }}");
    let set = TemplateSet::compile_with_builtins(&[custom, extra], Limits::default()).unwrap();
    let context = Context::sample(AlertStatus::Firing);
    assert_eq!(set.render(SLACK_TEXT, &context).unwrap(), "custom firing");
    assert_eq!(set.render("team.slack", &context).unwrap(), "sample");
    assert!(set.contains(WEBHOOK_JSON));
}
