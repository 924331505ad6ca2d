//! Unit tests of the Alertmanager import: each construct converted, the
//! global defaults pushed down, credentials never written out, and files
//! that cannot be converted refused with their line.

#![allow(clippy::unwrap_used)]

use super::http::Files;
use super::{Conversion, ImportError, convert};
use std::path::PathBuf;

fn files() -> Files {
    Files {
        base: PathBuf::from("/etc/alertmanager"),
        stdin: false,
    }
}

fn run(yaml: &str) -> Conversion {
    convert(yaml, "alertmanager.yml", &files()).unwrap_or_else(|e| panic!("{e}"))
}

/// The TOML, parsed, and the notes as printed.
fn parsed(yaml: &str) -> (toml::Table, Vec<String>) {
    let c = run(yaml);
    let table: toml::Table = toml::from_str(&c.toml).unwrap_or_else(|e| panic!("{e}\n{}", c.toml));
    (table, c.notes.iter().map(ToString::to_string).collect())
}

fn error(yaml: &str) -> String {
    match convert(yaml, "alertmanager.yml", &files()) {
        Ok(c) => panic!("converted:\n{}", c.toml),
        Err(e) => e.to_string(),
    }
}

fn at<'a>(t: &'a toml::Table, path: &str) -> &'a toml::Value {
    let mut parts = path.split('/');
    let first = parts.next().unwrap();
    let mut v = t.get(first).unwrap_or_else(|| panic!("no {first}"));
    for part in parts {
        v = match part.parse::<usize>() {
            Ok(i) => v.get(i),
            Err(_) => v.get(part),
        }
        .unwrap_or_else(|| panic!("no {part} in {path}: {v}"));
    }
    v
}

fn strs(v: &toml::Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

fn has_note(notes: &[String], prefix: &str, words: &str) -> bool {
    notes
        .iter()
        .any(|n| n.starts_with(prefix) && n.contains(words))
}

const RECEIVERS: &str = "
receivers:
  - name: a
  - name: b
  - name: c
";

#[test]
fn the_route_tree_converts_key_for_key() {
    let (t, notes) = parsed(&format!(
        r#"
route:
  receiver: a
  group_by: [alertname, cluster]
  group_wait: 10s
  group_interval: 1m
  repeat_interval: 3h
  routes:
    - receiver: b
      matchers: ['severity="critical"', '{{env=~"prod|dr", team!=""}}']
      continue: true
      group_by: ['...']
    - match:
        team: db
        "odd name": x"y
      match_re:
        service: 'pg\d+'
      routes:
        - receiver: c
          group_wait: 0s
          mute_time_intervals: [nights]
          active_time_intervals: [weekdays]
time_intervals:
  - name: nights
    time_intervals: [{{times: [{{start_time: '22:00', end_time: '24:00'}}]}}]
  - name: weekdays
    time_intervals: [{{weekdays: ['monday:friday']}}]
{RECEIVERS}"#
    ));
    let root = at(&t, "notify/route");
    assert_eq!(root["receiver"].as_str(), Some("a"));
    assert_eq!(strs(&root["group_by"]), ["alertname", "cluster"]);
    assert_eq!(root["group_wait"].as_str(), Some("10s"));
    assert_eq!(root["group_interval"].as_str(), Some("1m"));
    assert_eq!(root["repeat_interval"].as_str(), Some("3h"));
    let first = at(&t, "notify/route/routes/0");
    assert_eq!(
        strs(&first["matchers"]),
        ["severity=\"critical\"", "{env=~\"prod|dr\", team!=\"\"}"]
    );
    assert_eq!(first["continue"].as_bool(), Some(true));
    assert_eq!(strs(&first["group_by"]), ["..."]);
    let second = at(&t, "notify/route/routes/1");
    assert!(second.get("receiver").is_none(), "inherited: {second}");
    assert!(second.get("continue").is_none());
    assert_eq!(
        strs(&second["matchers"]),
        [
            "team=\"db\"",
            "\"odd name\"=\"x\\\"y\"",
            "service=~\"pg\\\\d+\""
        ]
    );
    let nested = at(&t, "notify/route/routes/1/routes/0");
    assert_eq!(nested["receiver"].as_str(), Some("c"));
    assert_eq!(nested["group_wait"].as_str(), Some("0s"));
    assert_eq!(strs(&nested["mute_time_intervals"]), ["nights"]);
    assert_eq!(strs(&nested["active_time_intervals"]), ["weekdays"]);
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn inhibit_rules_convert_and_an_empty_side_is_reported() {
    let (t, notes) = parsed(&format!(
        "
route: {{receiver: a}}
inhibit_rules:
  - source_matchers: ['severity=\"critical\"']
    target_matchers: ['severity=\"warning\"']
    equal: [instance]
  - source_match: {{alertname: ClusterDown}}
    target_match_re: {{alertname: 'Node.*'}}
    target_match: {{severity: page}}
  - source_match: {{alertname: Everything}}
    equal: [cluster]
{RECEIVERS}"
    ));
    let rules = at(&t, "notify/inhibit_rules").as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(strs(&rules[0]["equal"]), ["instance"]);
    assert_eq!(
        strs(&rules[1]["source_matchers"]),
        ["alertname=\"ClusterDown\""]
    );
    assert_eq!(
        strs(&rules[1]["target_matchers"]),
        ["severity=\"page\"", "alertname=~\"Node.*\""]
    );
    assert!(
        has_note(&notes, "inhibit_rules[2]: ", "no target matchers"),
        "{notes:?}"
    );
}

#[test]
fn time_intervals_and_the_deprecated_mute_time_intervals_both_carry() {
    let (t, notes) = parsed(&format!(
        "
route:
  receiver: a
  routes:
    - receiver: b
      mute_time_intervals: [old, new]
time_intervals:
  - name: new
    time_intervals:
      - times: [{{start_time: '09:00', end_time: '17:00'}}]
        weekdays: ['monday:friday', saturday]
        days_of_month: ['1:5', -1, 15]
        months: [january, '6:8']
        years: ['2026']
        location: Local
mute_time_intervals:
  - name: old
    time_intervals: [{{years: ['2001']}}]
{RECEIVERS}"
    ));
    let intervals = at(&t, "notify/time_intervals").as_array().unwrap();
    assert_eq!(intervals[0]["name"].as_str(), Some("new"));
    assert_eq!(intervals[1]["name"].as_str(), Some("old"));
    let period = &intervals[0]["time_intervals"][0];
    assert_eq!(period["times"][0]["start_time"].as_str(), Some("09:00"));
    assert_eq!(period["times"][0]["end_time"].as_str(), Some("17:00"));
    assert_eq!(strs(&period["weekdays"]), ["monday:friday", "saturday"]);
    let days = period["days_of_month"].as_array().unwrap();
    assert_eq!(days[0].as_str(), Some("1:5"));
    assert_eq!(days[1].as_integer(), Some(-1));
    assert_eq!(strs(&period["months"]), ["january", "6:8"]);
    let zone = period["location"].as_str().unwrap();
    assert!(!zone.eq_ignore_ascii_case("local"));
    assert!(
        has_note(
            &notes,
            "time_intervals[0].time_intervals[0].location: ",
            "\"Local\""
        ),
        "{notes:?}"
    );
}

#[test]
fn global_defaults_are_pushed_into_each_receiver() {
    let (t, notes) = parsed(
        "
global:
  smtp_from: am@example.com
  smtp_smarthost: smtp.example.com:465
  smtp_hello: am.example.com
  smtp_auth_username: am
  smtp_auth_password_file: /run/secrets/smtp
  smtp_require_tls: false
  slack_api_url_file: slack-url
  pagerduty_url: https://pd.example.com/v2/enqueue
  http_config:
    tls_config: {ca_file: ca.pem}
route: {receiver: mail}
receivers:
  - name: mail
    email_configs:
      - to: a@example.com
      - to: b@example.com
        from: other@example.com
        smarthost: relay.example.com:587
        auth_username: b
        require_tls: true
  - name: chat
    slack_configs:
      - channel: '#ops'
    pagerduty_configs:
      - routing_key_file: /run/secrets/pd
    webhook_configs:
      - url: https://hooks.example.com/x
      - url: https://hooks.example.com/y
        http_config: {follow_redirects: false}
",
    );
    let mail = at(&t, "notify/receivers/0/email_configs/0");
    assert_eq!(strs(&mail["to"]), ["a@example.com"]);
    assert_eq!(mail["from"].as_str(), Some("am@example.com"));
    assert_eq!(mail["smarthost"].as_str(), Some("smtp.example.com:465"));
    assert_eq!(mail["hello"].as_str(), Some("am.example.com"));
    assert_eq!(mail["auth_username"].as_str(), Some("am"));
    assert_eq!(
        mail["auth_password"].as_str(),
        Some("file:/run/secrets/smtp")
    );
    assert_eq!(
        mail["require_tls"].as_bool(),
        Some(false),
        "port 465 is TLS"
    );
    let own = at(&t, "notify/receivers/0/email_configs/1");
    assert_eq!(own["from"].as_str(), Some("other@example.com"));
    assert_eq!(own["smarthost"].as_str(), Some("relay.example.com:587"));
    assert_eq!(own["auth_username"].as_str(), Some("b"));
    assert_eq!(
        own["auth_password"].as_str(),
        Some("file:/run/secrets/smtp")
    );
    assert!(own.get("require_tls").is_none());
    let slack = at(&t, "notify/receivers/1/slack_configs/0");
    assert_eq!(
        slack["api_url"].as_str(),
        Some("file:/etc/alertmanager/slack-url"),
        "relative to the configuration's directory"
    );
    assert_eq!(slack["ca_file"].as_str(), Some("/etc/alertmanager/ca.pem"));
    let pd = at(&t, "notify/receivers/1/pagerduty_configs/0");
    assert_eq!(
        pd["url"].as_str(),
        Some("https://pd.example.com/v2/enqueue")
    );
    assert_eq!(pd["routing_key"].as_str(), Some("file:/run/secrets/pd"));
    let hooks = at(&t, "notify/receivers/1/webhook_configs")
        .as_array()
        .unwrap();
    assert_eq!(
        hooks[0]["ca_file"].as_str(),
        Some("/etc/alertmanager/ca.pem")
    );
    assert!(
        hooks[1].get("ca_file").is_none(),
        "its own http_config replaces the global one"
    );
    assert_eq!(hooks[0]["template"].as_str(), Some("alertmanager.v4.json"));
    assert_eq!(hooks[0]["sign"].as_bool(), Some(false));
    assert!(hooks[0].get("secret").is_none());
    assert_eq!(strs(at(&t, "notify/allow")), ["relay.example.com"]);
    assert!(
        has_note(
            &notes,
            "receivers[0].email_configs[1].smarthost: ",
            "notify.allow"
        ),
        "{notes:?}"
    );
}

#[test]
fn send_resolved_keeps_alertmanager_defaults_per_integration() {
    let (t, _) = parsed(
        "
route: {receiver: r}
receivers:
  - name: r
    webhook_configs: [{url: 'https://h.example.com/'}]
    slack_configs: [{api_url: 'https://hooks.slack.com/services/x'}]
    email_configs: [{to: a@example.com, from: b@example.com, smarthost: 'm.example.com:465'}]
    pagerduty_configs: [{routing_key: k, send_resolved: false}]
    opsgenie_configs: [{api_key: k}]
    discord_configs: [{webhook_url: 'https://discord.com/api/webhooks/1/x'}]
    telegram_configs: [{bot_token: k, chat_id: 1, send_resolved: false}]
",
    );
    let r = at(&t, "notify/receivers/0");
    for (kind, expected) in [
        ("webhook_configs", true),
        ("slack_configs", false),
        ("email_configs", false),
        ("pagerduty_configs", false),
        ("opsgenie_configs", true),
        ("discord_configs", true),
        ("telegram_configs", false),
    ] {
        assert_eq!(
            r[kind][0]["send_resolved"].as_bool(),
            Some(expected),
            "{kind}"
        );
    }
}

/// A credential in every place Alertmanager has one.
const CANARIES: &str = r#"
global:
  smtp_from: a@example.com
  smtp_smarthost: smtp.example.com:587
  smtp_auth_password: CANARY-1-smtp
  smtp_auth_secret: CANARY-2-cram
  slack_api_url: https://hooks.slack.com/services/CANARY-3-slack
  opsgenie_api_key: CANARY-4-opsgenie
  telegram_bot_token: CANARY-28-telegram
  wechat_api_secret: CANARY-5-wechat
  http_config:
    authorization: {credentials: CANARY-6-bearer}
route: {receiver: r}
receivers:
  - name: r
    email_configs:
      - to: x@example.com
      - to: y@example.com
        auth_password: CANARY-9-own-smtp
    slack_configs:
      - channel: '#a'
      - api_url: https://hooks.slack.com/services/CANARY-10-own-slack
        app_token: CANARY-11-app-token
        http_config:
          bearer_token: CANARY-22-slack-bearer
    pagerduty_configs:
      - routing_key: CANARY-12-routing
      - service_key: CANARY-13-service
        http_config:
          basic_auth: {username: pd, password: CANARY-23-pd-basic}
    webhook_configs:
      - url: https://hooks.example.com/x?token=CANARY-14-query
      - url: https://user:CANARY-15-userinfo@hooks.example.com/x
      - url: https://hooks.example.com/CANARY16abcdefghijklmnopqrstuvwxyz
        http_config:
          bearer_token: CANARY-17-bearer
      - url: https://hooks.example.com/basic
        http_config:
          basic_auth: {username: u, password: CANARY-7-basic}
      - url: https://hooks.example.com/oauth
        http_config:
          oauth2: {client_id: c, client_secret: CANARY-8-oauth, token_url: 'https://t.example.com'}
      - url: https://hooks.example.com/token
        http_config:
          authorization: {type: Token, credentials: CANARY-24-token}
      - url: https://deploy:CANARY-25-userinfo@hooks.example.com/both
        http_config:
          basic_auth: {username: deploy, password: CANARY-26-overridden}
  # A receiver has at most 16 integrations: the rest in another.
  - name: s
    opsgenie_configs:
      - api_key: CANARY-18-opsgenie
      - api_key_file: secrets/opsgenie
      - {}
    telegram_configs:
      - {bot_token: CANARY-19-telegram, chat_id: 42}
      - {chat_id: 43}
      - {bot_token_file: /run/secrets/telegram, chat_id: 44}
    discord_configs:
      - webhook_url: https://discord.com/api/webhooks/1/CANARY-27-discord
      - webhook_url_file: /run/secrets/discord
    pushover_configs: [{token: CANARY-20-pushover, user_key: CANARY-21-user}]
"#;

#[test]
fn secrets_never_appear_in_the_output_nor_in_the_notes() {
    let c = run(CANARIES);
    let notes: String = c.notes.iter().map(|n| format!("{n}\n")).collect();
    assert!(!c.toml.contains("CANARY"), "{}", c.toml);
    assert!(!notes.contains("CANARY"), "{notes}");
    let t: toml::Table = toml::from_str(&c.toml).unwrap();
    let r = at(&t, "notify/receivers/0");
    let o = at(&t, "notify/receivers/1");
    let hooks = &r["webhook_configs"];
    let refs = [
        (
            &r["email_configs"][0]["auth_password"],
            "secret:smtp.auth_password",
        ),
        (
            &r["email_configs"][1]["auth_password"],
            "secret:r.email.1.auth_password",
        ),
        (&r["slack_configs"][0]["api_url"], "secret:slack.api_url"),
        (
            &r["slack_configs"][1]["api_url"],
            "secret:r.slack.1.api_url",
        ),
        (
            &r["pagerduty_configs"][0]["routing_key"],
            "secret:r.pagerduty.0.routing_key",
        ),
        (
            &r["pagerduty_configs"][1]["routing_key"],
            "secret:r.pagerduty.1.routing_key",
        ),
        (&hooks[0]["url"], "secret:r.webhook.0.url"),
        (&hooks[2]["url"], "secret:r.webhook.2.url"),
        (
            &hooks[0]["authorization"]["credentials"],
            "secret:http_config.authorization",
        ),
        (
            &hooks[1]["basic_auth"]["password"],
            "secret:r.webhook.1.password",
        ),
        (
            &hooks[2]["authorization"]["credentials"],
            "secret:r.webhook.2.authorization",
        ),
        (
            &hooks[3]["basic_auth"]["password"],
            "secret:r.webhook.3.password",
        ),
        (
            &hooks[5]["authorization"]["credentials"],
            "secret:r.webhook.5.authorization",
        ),
        (
            &hooks[6]["basic_auth"]["password"],
            "secret:r.webhook.6.password",
        ),
        (
            &o["opsgenie_configs"][0]["api_key"],
            "secret:s.opsgenie.0.api_key",
        ),
        (
            &o["opsgenie_configs"][2]["api_key"],
            "secret:opsgenie.api_key",
        ),
        (
            &o["telegram_configs"][0]["bot_token"],
            "secret:s.telegram.0.bot_token",
        ),
        (
            &o["telegram_configs"][1]["bot_token"],
            "secret:telegram.bot_token",
        ),
        (
            &o["discord_configs"][0]["webhook_url"],
            "secret:s.discord.0.webhook_url",
        ),
    ];
    for (value, expected) in refs {
        assert_eq!(value.as_str(), Some(expected));
        let name = expected.trim_start_matches("secret:");
        assert!(
            notes.contains(&format!("vigilctl secrets set {name}`")),
            "no note for {name}:\n{notes}"
        );
    }
    // The files are referenced as files.
    for (value, expected) in [
        (
            &o["opsgenie_configs"][1]["api_key"],
            "file:/etc/alertmanager/secrets/opsgenie",
        ),
        (
            &o["telegram_configs"][2]["bot_token"],
            "file:/run/secrets/telegram",
        ),
        (
            &o["discord_configs"][1]["webhook_url"],
            "file:/run/secrets/discord",
        ),
    ] {
        assert_eq!(value.as_str(), Some(expected));
    }
    // The user:password is taken out of the URL, into basic_auth.
    assert_eq!(
        hooks[1]["url"].as_str(),
        Some("https://hooks.example.com/x")
    );
    assert_eq!(hooks[1]["basic_auth"]["username"].as_str(), Some("user"));
    assert_eq!(
        hooks[6]["url"].as_str(),
        Some("https://hooks.example.com/both")
    );
    assert_eq!(hooks[6]["basic_auth"]["username"].as_str(), Some("deploy"));
    assert_eq!(hooks[2]["authorization"]["type"].as_str(), Some("Bearer"));
    assert_eq!(hooks[5]["authorization"]["type"].as_str(), Some("Token"));
    assert_eq!(hooks[3]["basic_auth"]["username"].as_str(), Some("u"));
    for i in [4, 6] {
        assert!(
            hooks[i].get("authorization").is_none(),
            "its own http_config replaces the global one: {}",
            hooks[i]
        );
    }
    assert!(hooks[4].get("basic_auth").is_none());
    // Every webhook is unsigned, with no signing secret to store.
    for hook in hooks.as_array().unwrap() {
        assert_eq!(hook["sign"].as_bool(), Some(false), "{hook}");
        assert!(hook.get("secret").is_none(), "{hook}");
    }
    assert!(!notes.contains("signing_secret"), "{notes}");
    // The global password is referenced once, however many use it.
    assert_eq!(notes.matches("secrets set smtp.auth_password").count(), 1);
    for (prefix, words) in [
        (
            "global.smtp_auth_password: ",
            "inline secrets are not carried",
        ),
        ("global.smtp_auth_secret: ", "CRAM-MD5"),
        (
            "global.opsgenie_api_key: ",
            "inline secrets are not carried",
        ),
        (
            "global.telegram_bot_token: ",
            "inline secrets are not carried",
        ),
        (
            "global.http_config.authorization: ",
            "Vigil's Slack, PagerDuty, Opsgenie, Discord and Telegram integrations send no HTTP credentials",
        ),
        ("receivers[0].slack_configs[1].app_token: ", "not carried"),
        (
            "receivers[0].slack_configs[1].http_config.bearer_token: ",
            "Vigil's Slack integration sends no HTTP credentials",
        ),
        (
            "receivers[0].pagerduty_configs[1].http_config.basic_auth: ",
            "Vigil's PagerDuty integration sends no HTTP credentials",
        ),
        (
            "receivers[0].pagerduty_configs[1].service_key: ",
            "Events API v2",
        ),
        (
            "receivers[0].webhook_configs[1].url: ",
            "becomes basic_auth",
        ),
        (
            "receivers[0].webhook_configs[4].http_config.oauth2: ",
            "OAuth 2.0",
        ),
        (
            "receivers[0].webhook_configs[6].url: ",
            "rather than http_config's basic_auth",
        ),
        (
            "receivers[1].pushover_configs: ",
            "Vigil has no Pushover integration yet",
        ),
    ] {
        assert!(
            has_note(
                &c.notes.iter().map(ToString::to_string).collect::<Vec<_>>(),
                prefix,
                words
            ),
            "{prefix} {words}:\n{notes}"
        );
    }
}

#[test]
fn webhooks_are_unsigned_with_one_note_for_all() {
    let c = run(&format!(
        "
route: {{receiver: a}}
{RECEIVERS}    webhook_configs:
      - url: https://hooks.example.com/c0
      - url: https://hooks.example.com/c1
  - name: d
    webhook_configs:
      - url: https://hooks.example.com/d0
"
    ));
    let t: toml::Table = toml::from_str(&c.toml).unwrap();
    let notes: Vec<String> = c.notes.iter().map(ToString::to_string).collect();
    for (receiver, count) in [(2, 2), (3, 1)] {
        let hooks = at(&t, &format!("notify/receivers/{receiver}/webhook_configs"))
            .as_array()
            .unwrap();
        assert_eq!(hooks.len(), count);
        for hook in hooks {
            assert_eq!(hook["sign"].as_bool(), Some(false), "{hook}");
            assert!(hook.get("secret").is_none(), "{hook}");
        }
    }
    let unsigned: Vec<&String> = notes.iter().filter(|n| n.contains("unsigned")).collect();
    assert_eq!(unsigned.len(), 1, "{notes:#?}");
    let note = unsigned[0];
    assert!(
        note.starts_with("receivers[2].webhook_configs[0] (and 2 other webhooks): "),
        "{note}"
    );
    for words in [
        "as Alertmanager's are",
        "doctor",
        "Standard Webhooks",
        "secret = \"secret:NAME\"",
        "remove sign = false",
    ] {
        assert!(note.contains(words), "{words}: {note}");
    }
    // No webhook, no note.
    let (_, notes) = parsed(&format!("route: {{receiver: a}}\n{RECEIVERS}"));
    assert!(!notes.iter().any(|n| n.contains("unsigned")), "{notes:?}");
}

#[test]
fn webhook_credentials_carry_as_references() {
    let (t, notes) = parsed(
        "
global:
  http_config:
    basic_auth: {username: am, password_file: /run/secrets/am-password}
route: {receiver: r}
receivers:
  - name: r
    webhook_configs:
      - url: https://hooks.example.com/global
      - url: https://hooks.example.com/own-tls
        http_config: {tls_config: {ca_file: ca.pem}}
      - url: https://hooks.example.com/bearer-file
        http_config: {bearer_token_file: token}
      - url: https://hooks.example.com/credentials-file
        http_config:
          authorization: {type: ' Splunk ', credentials_file: /run/secrets/splunk}
      - url: https://hooks.example.com/typeless
        http_config:
          authorization: {credentials: inline-one}
      - url: https://hooks.example.com/username-file
        http_config:
          basic_auth: {username_file: /run/user, password: pw}
      - url: https://hooks.example.com/no-password
        http_config:
          basic_auth: {username: u}
      - url: https://hooks.example.com/odd-type
        http_config:
          authorization: {type: 'Two Words', credentials: x}
      - url: https://user@hooks.example.com/no-password-in-url
  - name: g
    webhook_configs:
      - url: https://hooks.example.com/global-again
",
    );
    let hooks = at(&t, "notify/receivers/0/webhook_configs")
        .as_array()
        .unwrap();
    let global = hooks[0]["basic_auth"].as_table().unwrap();
    assert_eq!(global["username"].as_str(), Some("am"));
    assert_eq!(
        global["password"].as_str(),
        Some("file:/run/secrets/am-password")
    );
    assert_eq!(
        at(&t, "notify/receivers/1/webhook_configs/0/basic_auth"),
        hooks[0].get("basic_auth").unwrap(),
        "pushed into every webhook without its own http_config"
    );
    assert!(
        hooks[1].get("basic_auth").is_none() && hooks[1].get("authorization").is_none(),
        "its own http_config replaces the global one whole: {}",
        hooks[1]
    );
    assert_eq!(
        hooks[1]["ca_file"].as_str(),
        Some("/etc/alertmanager/ca.pem")
    );
    let bearer = &hooks[2]["authorization"];
    assert_eq!(bearer["type"].as_str(), Some("Bearer"));
    assert_eq!(
        bearer["credentials"].as_str(),
        Some("file:/etc/alertmanager/token"),
        "relative to the configuration's directory"
    );
    let splunk = &hooks[3]["authorization"];
    assert_eq!(splunk["type"].as_str(), Some("Splunk"));
    assert_eq!(
        splunk["credentials"].as_str(),
        Some("file:/run/secrets/splunk")
    );
    let typeless = &hooks[4]["authorization"];
    assert_eq!(typeless["type"].as_str(), Some("Bearer"));
    assert_eq!(
        typeless["credentials"].as_str(),
        Some("secret:r.webhook.4.authorization")
    );
    for (i, words) in [
        (5, "username_file"),
        (6, "needs a password"),
        (7, "one word"),
    ] {
        assert!(
            hooks[i].get("basic_auth").is_none() && hooks[i].get("authorization").is_none(),
            "{}",
            hooks[i]
        );
        assert!(
            has_note(
                &notes,
                &format!("receivers[0].webhook_configs[{i}].http_config."),
                words
            ),
            "{i} {words}: {notes:#?}"
        );
    }
    assert_eq!(
        hooks[8]["url"].as_str(),
        Some("https://hooks.example.com/no-password-in-url"),
        "the user information is taken out"
    );
    assert!(hooks[8].get("basic_auth").is_none());
    assert!(has_note(
        &notes,
        "receivers[0].webhook_configs[8].url: ",
        "cannot take"
    ));
    assert!(
        !notes.iter().any(|n| n.contains("global.http_config")),
        "no Slack or PagerDuty inherits the global credentials: {notes:#?}"
    );
}

#[test]
fn credentials_alertmanager_refuses_are_refused() {
    for (http_config, words) in [
        (
            "{bearer_token: a, bearer_token_file: /b}",
            "at most one of bearer_token & bearer_token_file",
        ),
        (
            "{authorization: {credentials: a}, basic_auth: {username: u, password: p}}",
            "at most one of basic_auth, oauth2 & authorization",
        ),
        (
            "{authorization: {credentials: a}, bearer_token: b}",
            "authorization cannot be set with bearer_token",
        ),
        (
            "{basic_auth: {username: u, password: p}, bearer_token: b}",
            "at most one of basic_auth, oauth2, bearer_token",
        ),
        (
            "{authorization: {type: basic, credentials: a}}",
            "use basic_auth",
        ),
        (
            "{authorization: {credentials: a, credentials_file: /b}}",
            "at most one of credentials & credentials_file",
        ),
        (
            "{basic_auth: {username: u, password: p, password_file: /p}}",
            "at most one of password & password_file",
        ),
    ] {
        let e = error(&format!(
            "route: {{receiver: r}}\nreceivers:\n  - name: r\n    webhook_configs:\n      - url: https://h.example.com/\n        http_config: {http_config}\n"
        ));
        assert!(
            e.starts_with("line 6: receivers[0].webhook_configs[0].http_config.")
                && e.contains(words)
                && e.ends_with("(Alertmanager refuses this too)"),
            "{http_config}: {e}"
        );
    }
}

#[test]
fn unsupported_integrations_and_settings_are_reported_one_line_each() {
    let c = run(&format!(
        "
route: {{receiver: a}}
{RECEIVERS}  - name: d
    pushover_configs:
      - {{user_key: u, token: t}}
    webhook_configs:
      - url: https://hooks.example.com/d
        timeout: 10s
        max_alerts: 5
        unheard_of: 1
bogus_top_level: 1
"
    ));
    let lines: Vec<String> = c.notes.iter().map(ToString::to_string).collect();
    assert!(
        lines.contains(
            &"receivers[3].pushover_configs: Vigil has no Pushover integration yet; not carried (line 9)"
                .to_string()
        ),
        "{lines:#?}"
    );
    assert!(has_note(
        &lines,
        "receivers[3].webhook_configs[0].timeout: ",
        "not carried"
    ));
    assert!(has_note(
        &lines,
        "receivers[3].webhook_configs[0].unheard_of: ",
        "not an Alertmanager webhook setting"
    ));
    assert!(has_note(
        &lines,
        "bogus_top_level: ",
        "not an Alertmanager setting"
    ));
    // Notes come in file order.
    let order: Vec<usize> = c.notes.iter().map(|n| n.line).collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(order, sorted);
}

/// The TOML and notes of `yaml`, checked to hold no canary.
fn without_canaries(yaml: &str) -> (toml::Table, Vec<String>) {
    let c = run(yaml);
    let notes: Vec<String> = c.notes.iter().map(ToString::to_string).collect();
    assert!(!c.toml.contains("CANARY"), "{}", c.toml);
    assert!(!notes.concat().contains("CANARY"), "{notes:#?}");
    let table: toml::Table = toml::from_str(&c.toml).unwrap_or_else(|e| panic!("{e}\n{}", c.toml));
    (table, notes)
}

#[test]
fn opsgenie_converts_key_for_key_with_the_globals_pushed_in() {
    let (t, notes) = without_canaries(
        r#"
global:
  opsgenie_api_key_file: secrets/opsgenie
  opsgenie_api_url: https://api.eu.opsgenie.com/
route: {receiver: r}
receivers:
  - name: r
    opsgenie_configs:
      - api_key: CANARY-opsgenie-own
        api_url: https://api.opsgenie.com/
        message: '{{ .CommonLabels.alertname }} ({{ len .Alerts.Firing }})'
        description: '{{ range .Alerts }}{{ .Annotations.summary }}{{ end }}'
        source: '{{ template "opsgenie.default.source" . }}'
        priority: P1
        tags: 'db, prod ,,team a'
        responders: [{name: dba, type: team}]
        details: {runbook: 'https://runbooks.example.com'}
        entity: '{{ .GroupLabels.cluster }}'
        actions: restart
        note: see runbook
        update_alerts: true
        http_config: {tls_config: {ca_file: ca.pem}}
      - priority: '{{ .CommonLabels.priority }}'
        tags: '{{ .CommonLabels.team }}'
        send_resolved: false
      - api_url: http://127.0.0.1:8080/
        priority: urgent
        update_alerts: false
        details: {}
      - api_key: CANARY-opsgenie-other
        visible_to: [ops]
"#,
    );
    let og = at(&t, "notify/receivers/0/opsgenie_configs")
        .as_array()
        .unwrap();
    assert_eq!(
        og[0]["api_key"].as_str(),
        Some("secret:r.opsgenie.0.api_key")
    );
    assert!(og[0].get("api_url").is_none(), "the default: {}", og[0]);
    let message = og[0]["message"].as_str().unwrap();
    let template = at(&t, "notify/templates").get(message).unwrap();
    assert_eq!(template["escape"].as_str(), Some("text"));
    assert_eq!(
        template["source"].as_str(),
        Some("{{ common_labels[\"alertname\"] | default(\"\") }} ({{ counts.firing }})")
    );
    assert!(og[0].get("description").is_none());
    assert_eq!(og[0]["priority"].as_str(), Some("P1"));
    assert_eq!(strs(&og[0]["tags"]), ["db", "prod", "team a"]);
    assert_eq!(og[0]["send_resolved"].as_bool(), Some(true));
    assert_eq!(og[0]["ca_file"].as_str(), Some("/etc/alertmanager/ca.pem"));
    // The global key (a file) and EU API.
    assert_eq!(
        og[1]["api_key"].as_str(),
        Some("file:/etc/alertmanager/secrets/opsgenie")
    );
    assert_eq!(
        og[1]["api_url"].as_str(),
        Some("https://api.eu.opsgenie.com/")
    );
    assert!(og[1].get("priority").is_none() && og[1].get("tags").is_none());
    assert_eq!(og[1]["send_resolved"].as_bool(), Some(false));
    assert_eq!(og[2]["api_url"].as_str(), Some("http://127.0.0.1:8080/"));
    assert!(og[2].get("priority").is_none());
    assert_eq!(strs(at(&t, "notify/allow")), ["127.0.0.1"]);
    assert_eq!(
        og[3]["api_key"].as_str(),
        Some("secret:r.opsgenie.3.api_key")
    );
    let at0 = "receivers[0].opsgenie_configs[0].";
    for (prefix, words) in [
        (
            format!("{at0}api_key: "),
            "vigilctl secrets set r.opsgenie.0.api_key`",
        ),
        (format!("{at0}description: "), "`range`"),
        (format!("{at0}responders: "), "not carried"),
        (format!("{at0}details: "), "not carried"),
        (format!("{at0}entity: "), "not carried"),
        (format!("{at0}actions: "), "not carried"),
        (format!("{at0}note: "), "not carried"),
        (format!("{at0}update_alerts: "), "not carried"),
        (
            "receivers[0].opsgenie_configs[1].priority: ".into(),
            "a template here is not supported",
        ),
        (
            "receivers[0].opsgenie_configs[1].tags: ".into(),
            "a template here is not supported",
        ),
        (
            "receivers[0].opsgenie_configs[2].api_url: ".into(),
            "added \"127.0.0.1\" to notify.allow",
        ),
        (
            "receivers[0].opsgenie_configs[2].priority: ".into(),
            "P1 to P5; not carried",
        ),
        (
            "receivers[0].opsgenie_configs[3].priority: ".into(),
            "add priority = \"P3\"",
        ),
        (
            "receivers[0].opsgenie_configs[3].visible_to: ".into(),
            "not an Alertmanager Opsgenie setting",
        ),
    ] {
        assert!(
            has_note(&notes, &prefix, words),
            "{prefix}{words}: {notes:#?}"
        );
    }
    // Alertmanager's defaults are not worth a line.
    for quiet in [
        "opsgenie_configs[0].source",
        "opsgenie_configs[0].api_url",
        "opsgenie_configs[0].priority",
        "opsgenie_configs[2].update_alerts",
        "opsgenie_configs[2].details",
        "global.opsgenie",
    ] {
        assert!(
            !notes.iter().any(|n| n.contains(quiet)),
            "{quiet}: {notes:#?}"
        );
    }
    let e = error("route: {receiver: r}\nreceivers:\n  - name: r\n    opsgenie_configs: [{}]\n");
    assert!(e.contains("Opsgenie needs api_key"), "{e}");
}

#[test]
fn discord_converts_with_its_webhook_as_a_reference() {
    let (t, notes) = without_canaries(
        r#"
route: {receiver: r}
receivers:
  - name: r
    discord_configs:
      - webhook_url: https://discord.com/api/webhooks/123/CANARY-discord-token
        title: '{{ template "discord.default.title" . }}'
        message: '[{{ .Status | toUpper }}] {{ .CommonAnnotations.summary }}'
        username: Alertmanager
      - webhook_url: http://10.1.2.3:8080/api/webhooks/1/CANARY-relay
        title: '{{ .CommonLabels.alertname }}'
        message: '{{ template "discord.default.message" . }}'
        username: '{{ .CommonLabels.team }}'
        content: '@here'
        avatar_url: https://example.com/a.png
        send_resolved: false
      - webhook_url_file: discord-url
"#,
    );
    let d = at(&t, "notify/receivers/0/discord_configs")
        .as_array()
        .unwrap();
    assert_eq!(
        d[0]["webhook_url"].as_str(),
        Some("secret:r.discord.0.webhook_url")
    );
    let message = d[0]["message"].as_str().unwrap();
    let template = at(&t, "notify/templates").get(message).unwrap();
    assert_eq!(template["escape"].as_str(), Some("text"));
    assert_eq!(
        template["source"].as_str(),
        Some("[{{ status | upper }}] {{ common_annotations[\"summary\"] | default(\"\") }}")
    );
    assert_eq!(d[0]["username"].as_str(), Some("Alertmanager"));
    assert_eq!(d[0]["send_resolved"].as_bool(), Some(true));
    assert_eq!(
        d[1]["webhook_url"].as_str(),
        Some("secret:r.discord.1.webhook_url")
    );
    assert!(d[1].get("message").is_none() && d[1].get("username").is_none());
    assert_eq!(d[1]["send_resolved"].as_bool(), Some(false));
    assert_eq!(
        d[2]["webhook_url"].as_str(),
        Some("file:/etc/alertmanager/discord-url")
    );
    assert_eq!(strs(at(&t, "notify/allow")), ["10.1.2.3"]);
    for (prefix, words) in [
        (
            "receivers[0].discord_configs[0].webhook_url: ",
            "vigilctl secrets set r.discord.0.webhook_url`",
        ),
        (
            "receivers[0].discord_configs[1].webhook_url: ",
            "added \"10.1.2.3\" to notify.allow",
        ),
        (
            "receivers[0].discord_configs[1].title: ",
            "fold it into message",
        ),
        ("receivers[0].discord_configs[1].content: ", "not carried"),
        (
            "receivers[0].discord_configs[1].avatar_url: ",
            "not carried",
        ),
        (
            "receivers[0].discord_configs[1].username: ",
            "a template here is not supported",
        ),
    ] {
        assert!(
            has_note(&notes, prefix, words),
            "{prefix}{words}: {notes:#?}"
        );
    }
    for quiet in ["discord_configs[0].title", "discord_configs[1].message"] {
        assert!(
            !notes.iter().any(|n| n.contains(quiet)),
            "{quiet}: {notes:#?}"
        );
    }
    let e =
        error("route: {receiver: r}\nreceivers:\n  - name: r\n    discord_configs: [{title: t}]\n");
    assert!(e.contains("Discord needs webhook_url"), "{e}");
}

#[test]
fn telegram_converts_and_its_parse_mode_is_reported() {
    let (t, notes) = without_canaries(
        r#"
global:
  telegram_api_url: http://10.0.0.9:8081
route: {receiver: r}
receivers:
  - name: r
    telegram_configs:
      - bot_token: CANARY-telegram-token
        chat_id: -1001234567890
        api_url: https://api.telegram.org/
        message: '{{ .CommonAnnotations.summary }}'
        disable_notifications: true
        parse_mode: ''
      - bot_token_file: /run/secrets/telegram
        chat_id: 42
        message: '<b>{{ .Status }}</b>'
        send_resolved: false
      - bot_token: CANARY-telegram-other
        chat_id: 43
        parse_mode: MarkdownV2
        message_thread_id: 7
        disable_notifications: false
      - bot_token: CANARY-telegram-third
        chat_id_file: /run/secrets/chat
"#,
    );
    let tg = at(&t, "notify/receivers/0/telegram_configs")
        .as_array()
        .unwrap();
    assert_eq!(tg.len(), 3, "the chat_id_file one is not carried");
    assert_eq!(
        tg[0]["bot_token"].as_str(),
        Some("secret:r.telegram.0.bot_token")
    );
    assert_eq!(tg[0]["chat_id"].as_integer(), Some(-1_001_234_567_890));
    assert!(tg[0].get("api_url").is_none(), "the default: {}", tg[0]);
    assert_eq!(tg[0]["disable_notifications"].as_bool(), Some(true));
    assert_eq!(tg[0]["send_resolved"].as_bool(), Some(true));
    let message = tg[0]["message"].as_str().unwrap();
    let template = at(&t, "notify/templates").get(message).unwrap();
    assert_eq!(template["escape"].as_str(), Some("text"));
    assert_eq!(
        tg[1]["bot_token"].as_str(),
        Some("file:/run/secrets/telegram")
    );
    assert_eq!(tg[1]["api_url"].as_str(), Some("http://10.0.0.9:8081"));
    assert_eq!(tg[1]["send_resolved"].as_bool(), Some(false));
    assert!(tg[2].get("disable_notifications").is_none());
    assert_eq!(strs(at(&t, "notify/allow")), ["10.0.0.9"]);
    for (prefix, words) in [
        (
            "receivers[0].telegram_configs[0].bot_token: ",
            "vigilctl secrets set r.telegram.0.bot_token`",
        ),
        (
            "global.telegram_api_url: ",
            "added \"10.0.0.9\" to notify.allow",
        ),
        (
            "receivers[0].telegram_configs[1].message: ",
            "read this message as HTML",
        ),
        (
            "receivers[0].telegram_configs[2].parse_mode: ",
            "plain text",
        ),
        (
            "receivers[0].telegram_configs[2].message_thread_id: ",
            "not carried",
        ),
        (
            "receivers[0].telegram_configs[3].chat_id_file: ",
            "this Telegram integration is not carried",
        ),
    ] {
        assert!(
            has_note(&notes, prefix, words),
            "{prefix}{words}: {notes:#?}"
        );
    }
    for quiet in [
        "telegram_configs[0].parse_mode",
        "telegram_configs[0].message",
        "telegram_configs[0].api_url",
    ] {
        assert!(
            !notes.iter().any(|n| n.contains(quiet)),
            "{quiet}: {notes:#?}"
        );
    }
    for (config, words) in [
        ("{bot_token: t}", "Telegram needs chat_id"),
        ("{bot_token: t, chat_id: 0}", "chat_id other than 0"),
        ("{bot_token: t, chat_id: abc}", "expected an integer"),
        ("{chat_id: 1}", "Telegram needs bot_token"),
    ] {
        let e = error(&format!(
            "route: {{receiver: r}}\nreceivers:\n  - name: r\n    telegram_configs: [{config}]\n"
        ));
        assert!(e.contains(words), "{config}: {e}");
    }
}

#[test]
fn simple_go_templates_become_vigil_templates_and_the_rest_is_reported() {
    let (t, notes) = parsed(
        r#"
route: {receiver: r}
receivers:
  - name: r
    slack_configs:
      - api_url: https://hooks.slack.com/services/x
        text: '{{ .CommonAnnotations.summary }} ({{ .Alerts.Firing | len }} firing)'
        title: '{{ .CommonLabels.alertname }}'
    email_configs:
      - to: a@example.com
        from: b@example.com
        smarthost: m.example.com:465
        headers: {subject: '[{{ .Status }}] {{ .GroupLabels.alertname }}'}
        html: '{{ range .Alerts }}<p>{{ .Labels.instance }}</p>{{ end }}'
        text: '{{ template "email.default.text" . }}'
"#,
    );
    let slack = at(&t, "notify/receivers/0/slack_configs/0");
    let name = slack["text"].as_str().unwrap();
    let template = at(&t, "notify/templates").get(name).unwrap();
    assert_eq!(template["escape"].as_str(), Some("slack_mrkdwn"));
    assert_eq!(
        template["source"].as_str(),
        Some("{{ common_annotations[\"summary\"] | default(\"\") }} ({{ counts.firing }} firing)")
    );
    let email = at(&t, "notify/receivers/0/email_configs/0");
    let subject = at(&t, "notify/templates")
        .get(email["subject"].as_str().unwrap())
        .unwrap();
    assert_eq!(subject["escape"].as_str(), Some("text"));
    assert!(email.get("html").is_none() && email.get("text").is_none());
    assert!(has_note(
        &notes,
        "receivers[0].slack_configs[0].title: ",
        "fold it into text"
    ));
    assert!(has_note(
        &notes,
        "receivers[0].email_configs[0].html: ",
        "`range`"
    ));
    assert!(
        !notes.iter().any(|n| n.contains("email_configs[0].text")),
        "{notes:?}"
    );
}

#[test]
fn anchors_and_merge_keys_are_honoured() {
    let (t, _) = parsed(&format!(
        "
route:
  receiver: a
  routes:
    - <<: &defaults {{group_by: [cluster], group_wait: 5s}}
      receiver: b
    - <<: *defaults
      receiver: c
      group_wait: 1s
{RECEIVERS}"
    ));
    let routes = at(&t, "notify/route/routes").as_array().unwrap();
    assert_eq!(strs(&routes[1]["group_by"]), ["cluster"]);
    assert_eq!(routes[0]["group_wait"].as_str(), Some("5s"));
    assert_eq!(
        routes[1]["group_wait"].as_str(),
        Some("1s"),
        "its own key wins"
    );
}

#[test]
fn plain_http_and_internal_webhooks_are_allowlisted_with_a_note() {
    let (t, notes) = parsed(
        "
route: {receiver: r}
receivers:
  - name: r
    webhook_configs:
      - url: http://127.0.0.1:9099/a
      - url: http://127.0.0.1:9099/b
      - url: https://10.1.2.3/c
      - url: https://hooks.example.com/d
",
    );
    assert_eq!(strs(at(&t, "notify/allow")), ["127.0.0.1", "10.1.2.3"]);
    assert_eq!(
        notes.iter().filter(|n| n.contains("notify.allow")).count(),
        2
    );
}

#[test]
fn a_password_is_never_sent_without_tls() {
    let (t, notes) = parsed(
        "
route: {receiver: r}
receivers:
  - name: r
    email_configs:
      - {to: a@example.com, from: b@example.com, smarthost: 'relay:25', require_tls: false, auth_password: pw}
      - {to: a@example.com, from: b@example.com, smarthost: 'relay:25', require_tls: false}
",
    );
    let mails = at(&t, "notify/receivers/0/email_configs")
        .as_array()
        .unwrap();
    assert!(
        mails[0].get("require_tls").is_none(),
        "true, Vigil's default"
    );
    assert_eq!(mails[1]["require_tls"].as_bool(), Some(false));
    assert!(has_note(
        &notes,
        "receivers[0].email_configs[0].require_tls: ",
        "without TLS"
    ));
}

#[test]
fn malformed_yaml_is_refused_with_its_line() {
    let e = error("route:\n  receiver: a\n  group_by: [alertname\nreceivers: []\n");
    assert!(e.contains("line 4") && e.contains("not valid YAML"), "{e}");
    let e = error("route:\n  receiver: a\n   bad: indent\n");
    assert!(e.contains("line 3"), "{e}");
    let e = error("route: {receiver: a}\nroute: {receiver: b}\nreceivers: [{name: a}]\n");
    assert!(e.contains("line 2"), "duplicate key: {e}");
    let e = error("");
    assert!(e.contains("no YAML document"), "{e}");
}

#[test]
fn wrong_types_name_the_field_and_line() {
    let e = error("route:\n  receiver: a\n  group_by: {alertname: x}\nreceivers: [{name: a}]\n");
    assert_eq!(
        e,
        "line 3: route.group_by: expected a list of strings, found a mapping"
    );
    let e = error(
        "route: {receiver: a}\nreceivers:\n  - name: a\n    webhook_configs:\n      - url: [https://x.example.com]\n",
    );
    assert!(
        e.starts_with("line 5: receivers[0].webhook_configs[0].url: expected a string"),
        "{e}"
    );
}

#[test]
fn files_that_are_not_alertmanager_configurations_are_refused() {
    let e = error("global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: node\n");
    assert!(
        e.contains("not an Alertmanager configuration") && e.contains("scrape_configs"),
        "{e}"
    );
    let e = error("- a\n- b\n");
    assert!(e.contains("a list, not a mapping"), "{e}");
    let e = error("route: {receiver: a}\n");
    assert!(e.contains("receivers"), "{e}");
    let e = error("route: {receiver: nobody}\nreceivers: [{name: a}]\n");
    assert_eq!(
        e,
        "line 1: route.receiver: no receiver is named \"nobody\" (Alertmanager refuses this too)"
    );
    let e = error(
        "route:\n  receiver: a\n  routes:\n    - mute_time_intervals: [x]\nreceivers: [{name: a}]\n",
    );
    assert!(
        e.contains("line 4") && e.contains("no time interval is named \"x\""),
        "{e}"
    );
    let e = error("route: {receiver: a}\nreceivers: [{name: a}, {name: a}]\n");
    assert!(e.contains("defined twice"), "{e}");
    assert!(matches!(
        convert("a: [", "x", &files()),
        Err(ImportError::Syntax { .. })
    ));
}

#[test]
fn empty_slack_and_pagerduty_extras_are_defaults_not_losses() {
    let (_, notes) = parsed(
        "
route: {receiver: chat}
receivers:
  - name: chat
    slack_configs:
      - api_url: secret:x
        fields: []
        actions: []
        mrkdwn_in: []
        title:
    pagerduty_configs:
      - routing_key: secret:y
        details: {}
        links: []
        images: []
",
    );
    for key in [
        "fields",
        "actions",
        "mrkdwn_in",
        "title",
        "details",
        "links",
        "images",
    ] {
        assert!(
            !notes.iter().any(|n| n.contains(&format!("[0].{key}: "))),
            "{key}: {notes:#?}"
        );
    }
    assert_eq!(notes.len(), 2, "only the two credentials: {notes:#?}");
    // What is not a default is still reported.
    let (_, notes) = parsed(
        "
route: {receiver: chat}
receivers:
  - name: chat
    slack_configs:
      - api_url: secret:x
        fields: [{title: a, value: b}]
",
    );
    assert!(
        has_note(
            &notes,
            "receivers[0].slack_configs[0].fields: ",
            "not carried"
        ),
        "{notes:#?}"
    );
}
