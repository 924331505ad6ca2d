//! The policy as a whole, and the dispatcher under its gate: silences,
//! inhibition and time intervals hold notifications back at the tick, as
//! Alertmanager's pipeline does.

use jiff::Timestamp;

use super::{at, firing, labels, resolved, ts};
use crate::route::{Dispatcher, Gate, Matchers, Policy, PolicyConfig, PolicyError, Silence};
use vigil_store::Alert;

/// Routes by team; the `db` route is muted at night (UTC), the `web`
/// route is active only in office hours; critical inhibits warning.
const CONFIG: &str = r#"{
  "route": {
    "receiver": "default",
    "group_by": ["alertname"],
    "routes": [
      {"matchers": ["team=\"db\""], "receiver": "db", "mute_time_intervals": ["nights"]},
      {"matchers": ["team=\"web\""], "receiver": "web", "active_time_intervals": ["office"]}
    ]
  },
  "inhibit_rules": [{
    "source_matchers": ["severity=\"critical\""],
    "target_matchers": ["severity=\"warning\""],
    "equal": ["alertname"]
  }],
  "time_intervals": [
    {"name": "nights", "time_intervals": [{"times": [{"start_time": "00:00", "end_time": "08:00"}]}]},
    {"name": "office", "time_intervals": [{"weekdays": ["monday:friday"],
                        "times": [{"start_time": "09:00", "end_time": "17:00"}]}]}
  ]
}"#;

fn policy() -> Policy {
    let config: PolicyConfig = serde_json::from_str(CONFIG).expect("json");
    Policy::compile(&config, &["default", "db", "web"]).expect("compile")
}

fn observe(d: &mut Dispatcher, p: &Policy, alert: &Alert, now: Timestamp) {
    for route in p.route(&alert.labels) {
        d.observe(&route, alert, now);
    }
}

fn receivers(flushes: &[crate::route::Flush]) -> Vec<&str> {
    flushes.iter().map(|f| f.receiver.as_str()).collect()
}

#[test]
fn a_silenced_alert_is_held_back_and_sent_at_the_first_tick_after_the_silence() {
    let p = policy();
    let mut d = Dispatcher::new();
    let alert = firing(&[("alertname", "Disk"), ("host", "h1")]);
    observe(&mut d, &p, &alert, at(0));
    let silences = [Silence::new(
        "1",
        Matchers::parse("host=\"h1\"").expect("matchers"),
        at(0),
        at(600),
        "disk swap",
        "alice",
    )
    .expect("silence")];
    let gate = p.gate(&silences);
    assert!(d.due_gated(at(30), &gate).is_empty());
    assert!(d.due_gated(at(330), &gate).is_empty());
    // The silence ended at 600: the tick at 630 notifies, as news.
    let flushes = d.due_gated(at(630), &gate);
    assert_eq!(receivers(&flushes), ["default"]);
}

#[test]
fn a_silenced_alert_is_left_out_and_its_group_mates_are_sent() {
    let p = policy();
    let mut d = Dispatcher::new();
    let h1 = firing(&[("alertname", "Disk"), ("host", "h1")]);
    let h2 = firing(&[("alertname", "Disk"), ("host", "h2")]);
    observe(&mut d, &p, &h1, at(0));
    observe(&mut d, &p, &h2, at(0));
    let silences = [Silence::new(
        "1",
        Matchers::parse("host=h1").expect("matchers"),
        at(0),
        at(400),
        "",
        "alice",
    )
    .expect("silence")];
    let gate = p.gate(&silences);
    let flushes = d.due_gated(at(30), &gate);
    assert_eq!(flushes[0].alerts.len(), 1);
    assert_eq!(flushes[0].unpacked()[0].labels["host"], "h2");
    // Once unsilenced, h1 is news at the next tick.
    let flushes = d.due_gated(at(630), &gate);
    assert_eq!(flushes[0].alerts.len(), 2);
}

#[test]
fn an_inhibited_alert_is_held_back_while_its_source_fires() {
    let p = policy();
    let mut d = Dispatcher::new();
    let critical = firing(&[("alertname", "Down"), ("severity", "critical")]);
    let warning = firing(&[
        ("alertname", "Down"),
        ("severity", "warning"),
        ("host", "h1"),
    ]);
    observe(&mut d, &p, &critical, at(0));
    observe(&mut d, &p, &warning, at(0));
    let gate = p.gate(&[]);
    assert!(gate.uses_firing(), "inhibit rules need every firing alert");
    let flushes = d.due_gated(at(30), &gate);
    let alerts: Vec<&str> = flushes[0]
        .alerts
        .iter()
        .map(|a| a.labels.get("severity").unwrap_or_default())
        .collect();
    assert_eq!(alerts, ["critical"]);
    // The source resolves: the warning is no longer inhibited.
    observe(&mut d, &p, &resolved(&critical), at(100));
    let flushes = d.due_gated(at(330), &gate);
    let mut alerts: Vec<(&str, bool)> = flushes[0]
        .alerts
        .iter()
        .map(|a| {
            (
                a.labels.get("severity").unwrap_or_default(),
                a.status == vigil_store::AlertStatus::Firing,
            )
        })
        .collect();
    alerts.sort();
    assert_eq!(alerts, [("critical", false), ("warning", true)]);
}

#[test]
fn a_route_is_quiet_during_its_mute_interval_and_sends_after_it() {
    let p = policy();
    let mut d = Dispatcher::new();
    let alert = firing(&[("alertname", "Lag"), ("team", "db")]);
    let night = ts("2026-03-02T03:00:00Z");
    observe(&mut d, &p, &alert, night);
    let gate = p.gate(&[]);
    let mut sent = Vec::new();
    while let Some(next) = d.next_due() {
        if next > ts("2026-03-02T09:00:00Z") {
            break;
        }
        if !d.due_gated(next, &gate).is_empty() {
            sent.push(next);
        }
    }
    // Ticks every 5 minutes from 03:00:30; the first outside the night.
    assert_eq!(sent, [ts("2026-03-02T08:00:30Z")]);
}

#[test]
fn a_route_sends_only_during_its_active_interval() {
    let p = policy();
    let web = firing(&[("alertname", "Slow"), ("team", "web")]);
    let route = &p.route(&web.labels)[0];
    assert_eq!(route.receiver, "web");
    // Monday 10:00 is office time; Saturday is not.
    assert!(!p.route_muted(route, ts("2026-03-02T10:00:00Z")));
    assert!(p.route_muted(route, ts("2026-03-07T10:00:00Z")));
    let mut d = Dispatcher::new();
    observe(&mut d, &p, &web, ts("2026-03-07T10:00:00Z"));
    assert!(
        d.due_gated(ts("2026-03-07T10:00:30Z"), &p.gate(&[]))
            .is_empty()
    );
    // The ungated dispatcher would have sent it.
    assert_eq!(d.clone().due(ts("2026-03-07T10:05:30Z")).len(), 1);
}

#[test]
fn a_resolution_during_a_mute_is_dropped_as_in_alertmanager() {
    let p = policy();
    let mut d = Dispatcher::new();
    let alert = firing(&[("alertname", "Lag"), ("team", "db")]);
    let evening = ts("2026-03-02T23:50:00Z");
    observe(&mut d, &p, &alert, evening);
    let gate = p.gate(&[]);
    assert_eq!(d.due_gated(ts("2026-03-02T23:50:30Z"), &gate).len(), 1);
    observe(&mut d, &p, &resolved(&alert), ts("2026-03-03T00:01:00Z"));
    assert!(d.due_gated(ts("2026-03-03T00:05:30Z"), &gate).is_empty());
    assert!(d.is_empty());
}

#[test]
fn the_policy_validates_names_across_its_parts() {
    let mut config: PolicyConfig = serde_json::from_str(CONFIG).expect("json");
    let e = Policy::compile(&config, &["default", "db"]).expect_err("no web receiver");
    assert_eq!(e.to_string(), "route.routes[1]: unknown receiver \"web\"");
    config.time_intervals.remove(0);
    let e = Policy::compile(&config, &["default", "db", "web"]).expect_err("no nights");
    assert!(matches!(e, PolicyError::Route(_)), "{e}");
    assert_eq!(
        e.to_string(),
        "route.routes[0]: mute_time_intervals: unknown time interval \"nights\""
    );
    assert!(
        serde_json::from_str::<PolicyConfig>(r#"{"route": {"receiver": "a"}, "receivers": []}"#)
            .is_err(),
        "unknown top-level fields are refused"
    );
    let minimal: PolicyConfig =
        serde_json::from_str(r#"{"route": {"receiver": "a"}}"#).expect("json");
    let p = Policy::compile(&minimal, &["a"]).expect("compile");
    assert_eq!(p.route(&labels(&[])).len(), 1);
}

#[test]
fn without_inhibit_rules_a_tick_does_not_collect_firing_alerts() {
    let config: PolicyConfig = serde_json::from_str(r#"{"route": {"receiver": "team"}}"#).unwrap();
    let p = Policy::compile(&config, &["team"]).unwrap();
    assert!(!p.gate(&[]).uses_firing());
}

#[test]
fn suppression_names_the_silences_and_the_inhibiting_alerts() {
    let p = policy();
    let warning = firing(&[
        ("alertname", "Disk"),
        ("severity", "warning"),
        ("host", "h1"),
    ]);
    let critical = firing(&[
        ("alertname", "Disk"),
        ("severity", "critical"),
        ("host", "h2"),
    ]);
    let other = firing(&[("alertname", "Cpu"), ("severity", "critical")]);
    let silences = [
        Silence::new(
            "7",
            Matchers::parse("host=\"h1\"").expect("matchers"),
            at(0),
            at(600),
            "disk swap",
            "alice",
        )
        .expect("silence"),
        Silence::new(
            "8",
            Matchers::parse("host=\"h9\"").expect("matchers"),
            at(0),
            at(600),
            "elsewhere",
            "alice",
        )
        .expect("silence"),
    ];
    let held = p.suppression(&silences, &warning, [&critical, &other, &warning], at(10));
    assert_eq!(held.silenced_by, vec!["7".to_string()]);
    // Inhibited by the critical Disk alert only (equal alertname).
    assert_eq!(held.inhibited_by, vec![critical.fingerprint.clone()]);
    assert!(held.is_suppressed());
    // After the silence ends only the inhibition remains; the critical
    // alert itself is held back by nothing.
    assert!(
        p.suppression(&silences, &warning, [&critical], at(600))
            .silenced_by
            .is_empty()
    );
    assert!(
        !p.suppression(&silences, &critical, [&critical, &warning], at(10))
            .is_suppressed()
    );
}

#[test]
fn an_expiry_resolves_only_the_copy_whose_end_it_saw() {
    let p = policy();
    let mut d = Dispatcher::new();
    let mut alert = firing(&[("alertname", "Disk"), ("host", "h1")]);
    alert.ends_at = Some(at(240).as_microsecond());
    alert.annotations = labels(&[("runbook", "https://runbooks.example/disk")]);
    observe(&mut d, &p, &alert, at(0));
    let mut expiry = resolved(&alert);
    expiry.annotations = Default::default();
    // A refresh moved the end to 480 before the expiry (for 240) arrived.
    let mut refreshed = alert.clone();
    refreshed.ends_at = Some(at(480).as_microsecond());
    observe(&mut d, &p, &refreshed, at(200));
    expiry.ends_at = Some(at(240).as_microsecond());
    assert!(!d.expire(&expiry), "a refreshed alert stays firing");
    assert_eq!(d.firing().count(), 1);
    expiry.ends_at = Some(at(480).as_microsecond());
    assert!(d.expire(&expiry));
    assert_eq!(d.firing().count(), 0);
    let held: Vec<Alert> = d.groups().flat_map(|g| g.alerts).collect();
    // (Found by fingerprint, whatever group the route tree put it in.)
    assert_eq!(held.len(), 1);
    assert_eq!(
        held[0].annotations, alert.annotations,
        "the held copy keeps its annotations"
    );
    assert!(!d.expire(&expiry), "only once");
    // An alert without an end never expires.
    let forever = firing(&[("alertname", "Cpu")]);
    observe(&mut d, &p, &forever, at(0));
    let mut late = resolved(&forever);
    late.ends_at = Some(at(10_000).as_microsecond());
    assert!(!d.expire(&late));
}
