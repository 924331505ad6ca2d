//! Alertmanager's documented example configuration
//! (`doc/examples/simple.yml`, the team routes), ported key for key, routes
//! alerts as Alertmanager would.

use std::time::Duration;

use super::labels;
use crate::route::{GroupBy, Policy, PolicyConfig, group_labels};

/// The example's `route` and `inhibit_rules`, YAML turned into JSON.
const SIMPLE: &str = r#"{
  "route": {
    "group_by": ["alertname", "cluster", "service"],
    "group_wait": "30s",
    "group_interval": "5m",
    "repeat_interval": "3h",
    "receiver": "team-X-mails",
    "routes": [
      {
        "matchers": ["service=~\"foo1|foo2|baz\""],
        "receiver": "team-X-mails",
        "routes": [
          {"matchers": ["severity=\"critical\""], "receiver": "team-X-pager"}
        ]
      },
      {
        "matchers": ["service=\"files\""],
        "receiver": "team-Y-mails",
        "routes": [
          {"matchers": ["severity=\"critical\""], "receiver": "team-Y-pager"}
        ]
      },
      {
        "matchers": ["service=\"database\""],
        "receiver": "team-DB-pager",
        "group_by": ["alertname", "cluster", "database"],
        "routes": [
          {"matchers": ["owner=\"team-X\""], "receiver": "team-X-pager", "continue": true},
          {"matchers": ["owner=\"team-Y\""], "receiver": "team-Y-pager"}
        ]
      }
    ]
  },
  "inhibit_rules": [
    {
      "source_matchers": ["severity=\"critical\""],
      "target_matchers": ["severity=\"warning\""],
      "equal": ["alertname", "cluster", "service"]
    }
  ]
}"#;

const RECEIVERS: [&str; 5] = [
    "team-X-mails",
    "team-X-pager",
    "team-Y-mails",
    "team-Y-pager",
    "team-DB-pager",
];

fn policy() -> Policy {
    let config: PolicyConfig = serde_json::from_str(SIMPLE).expect("config");
    Policy::compile(&config, &RECEIVERS).expect("compile")
}

fn route(p: &Policy, pairs: &[(&str, &str)]) -> Vec<String> {
    p.route(&labels(pairs))
        .into_iter()
        .map(|r| format!("{} {}", r.route_id, r.receiver))
        .collect()
}

/// Alert labels and the routes (`id receiver`) expected to take it.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

#[test]
fn the_team_routes_pick_the_documented_receivers() {
    let p = policy();
    let cases: &[Case] = &[
        (&[("service", "foo1")], &["0.0 team-X-mails"]),
        (
            &[("service", "baz"), ("severity", "critical")],
            &["0.0.0 team-X-pager"],
        ),
        // Anchored: `foo10` is not `foo1`.
        (&[("service", "foo10")], &["0 team-X-mails"]),
        (
            &[("service", "files"), ("severity", "critical")],
            &["0.1.0 team-Y-pager"],
        ),
        (
            &[("service", "files"), ("severity", "warning")],
            &["0.1 team-Y-mails"],
        ),
        (&[("service", "database")], &["0.2 team-DB-pager"]),
        // continue: true on the team-X child; the team-Y one does not match.
        (
            &[("service", "database"), ("owner", "team-X")],
            &["0.2.0 team-X-pager"],
        ),
        (
            &[("service", "database"), ("owner", "team-Y")],
            &["0.2.1 team-Y-pager"],
        ),
        (&[("service", "unknown")], &["0 team-X-mails"]),
        (&[], &["0 team-X-mails"]),
    ];
    for (alert, want) in cases {
        assert_eq!(route(&p, alert), *want, "{alert:?}");
    }
}

#[test]
fn the_database_routes_group_by_database_and_inherit_the_timers() {
    let p = policy();
    let alert = labels(&[
        ("alertname", "ReplicationLag"),
        ("cluster", "eu1"),
        ("service", "database"),
        ("database", "orders"),
        ("owner", "team-X"),
        ("instance", "db3:9104"),
    ]);
    let matched = p.route(&alert);
    let r = &matched[0];
    assert_eq!(
        r.group_by,
        GroupBy::Labels(vec![
            "alertname".into(),
            "cluster".into(),
            "database".into()
        ])
    );
    assert_eq!(r.timings.repeat_interval, Duration::from_secs(3 * 3600));
    assert_eq!(
        group_labels(r, &alert),
        labels(&[
            ("alertname", "ReplicationLag"),
            ("cluster", "eu1"),
            ("database", "orders")
        ])
    );
}

#[test]
fn a_critical_alert_inhibits_the_matching_warning() {
    let p = policy();
    let critical = labels(&[
        ("alertname", "Down"),
        ("cluster", "eu1"),
        ("service", "files"),
        ("severity", "critical"),
    ]);
    let warning = labels(&[
        ("alertname", "Down"),
        ("cluster", "eu1"),
        ("service", "files"),
        ("severity", "warning"),
    ]);
    let other_cluster = labels(&[
        ("alertname", "Down"),
        ("cluster", "us1"),
        ("service", "files"),
        ("severity", "warning"),
    ]);
    assert!(p.inhibited(&warning, [&critical]));
    assert!(!p.inhibited(&other_cluster, [&critical]));
    assert!(!p.inhibited(&critical, [&critical, &warning]));
}
