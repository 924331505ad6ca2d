//! The route tree: matching order, `continue`, inheritance, grouping and
//! configuration errors that name the route.

use std::time::Duration;

use super::{labels, route_config, tree};
use crate::route::duration::{format_duration, parse_duration};
use crate::route::tree::MAX_DEPTH;
use crate::route::{
    GroupBy, GroupKey, MatchedRoute, RouteConfig, RouteErrorKind, RouteTree, group_labels,
};

fn receivers(routes: &[MatchedRoute]) -> Vec<(&str, &str)> {
    routes
        .iter()
        .map(|r| (r.route_id.as_str(), r.receiver.as_str()))
        .collect()
}

const SIBLINGS: &str = r#"{
    "receiver": "a",
    "routes": [
        {"matchers": ["team=\"db\""], "receiver": "b"},
        {"matchers": ["team=~\".+\""], "receiver": "c"},
        {"matchers": ["env=\"prod\""], "receiver": "d"}
    ]
}"#;

#[test]
fn the_first_matching_child_wins() {
    let t = tree(SIBLINGS);
    let db = labels(&[("team", "db"), ("env", "prod")]);
    assert_eq!(receivers(&t.matches(&db)), [("0.0", "b")]);
    let web = labels(&[("team", "web"), ("env", "prod")]);
    assert_eq!(receivers(&t.matches(&web)), [("0.1", "c")]);
    let prod = labels(&[("env", "prod")]);
    assert_eq!(receivers(&t.matches(&prod)), [("0.2", "d")]);
}

#[test]
fn an_alert_no_child_takes_stays_at_the_parent() {
    let t = tree(SIBLINGS);
    assert_eq!(
        receivers(&t.matches(&labels(&[("env", "dev")]))),
        [("0", "a")]
    );
    // Also below the root: a matching node with no matching child.
    let nested = tree(
        r#"{"receiver": "a", "routes": [
            {"matchers": ["team=\"db\""], "receiver": "b", "routes": [
                {"matchers": ["severity=\"critical\""], "receiver": "c"}
            ]}
        ]}"#,
    );
    assert_eq!(
        receivers(&nested.matches(&labels(&[("team", "db"), ("severity", "warning")]))),
        [("0.0", "b")]
    );
    assert_eq!(
        receivers(&nested.matches(&labels(&[("team", "db"), ("severity", "critical")]))),
        [("0.0.0", "c")]
    );
}

#[test]
fn continue_goes_on_to_the_next_siblings() {
    let t = tree(
        r#"{"receiver": "a", "routes": [
            {"matchers": ["team=\"db\""], "receiver": "b", "continue": true},
            {"matchers": ["env=\"staging\""], "receiver": "c", "continue": true},
            {"matchers": ["env=~\"prod|staging\""], "receiver": "d"},
            {"matchers": ["team=\"db\""], "receiver": "e"}
        ]}"#,
    );
    let both = labels(&[("team", "db"), ("env", "prod")]);
    // b continues, c does not match, d matches without continue: stop.
    assert_eq!(receivers(&t.matches(&both)), [("0.0", "b"), ("0.2", "d")]);
    let staging = labels(&[("team", "db"), ("env", "staging")]);
    assert_eq!(
        receivers(&t.matches(&staging)),
        [("0.0", "b"), ("0.1", "c"), ("0.2", "d")]
    );
    // A route with continue matched, so the root does not match itself.
    let only_db = labels(&[("team", "db")]);
    assert_eq!(
        receivers(&t.matches(&only_db)),
        [("0.0", "b"), ("0.3", "e")]
    );
}

#[test]
fn children_inherit_unset_settings_from_their_parent() {
    let t = tree(
        r#"{
            "receiver": "a",
            "group_by": ["alertname"],
            "group_wait": "10s",
            "group_interval": "1m",
            "repeat_interval": "2h",
            "routes": [{
                "matchers": ["team=\"db\""],
                "group_interval": "2m",
                "mute_time_intervals": ["nights"],
                "routes": [{
                    "matchers": ["severity=\"critical\""],
                    "receiver": "b",
                    "group_by": [],
                    "repeat_interval": "30m"
                }]
            }]
        }"#,
    );
    let child = t.route("0.0").expect("child").clone();
    assert_eq!(child.receiver, "a");
    assert_eq!(child.group_by, GroupBy::Labels(vec!["alertname".into()]));
    assert_eq!(child.timings.group_wait, Duration::from_secs(10));
    assert_eq!(child.timings.group_interval, Duration::from_secs(120));
    assert_eq!(child.timings.repeat_interval, Duration::from_secs(7200));
    assert_eq!(child.mute_time_intervals, ["nights"]);

    let grandchild = t.route("0.0.0").expect("grandchild").clone();
    assert_eq!(grandchild.receiver, "b");
    // An empty group_by inherits, as in Alertmanager.
    assert_eq!(
        grandchild.group_by,
        GroupBy::Labels(vec!["alertname".into()])
    );
    assert_eq!(grandchild.timings.group_wait, Duration::from_secs(10));
    // From its parent, not from the root.
    assert_eq!(grandchild.timings.group_interval, Duration::from_secs(120));
    assert_eq!(
        grandchild.timings.repeat_interval,
        Duration::from_secs(1800)
    );
    // Time intervals are not inherited, as in Alertmanager.
    assert!(grandchild.mute_time_intervals.is_empty());

    let matched = t.matches(&labels(&[("team", "db"), ("severity", "critical")]));
    assert_eq!(matched, [grandchild]);
}

#[test]
fn the_root_defaults_are_alertmanagers() {
    let t = tree(r#"{"receiver": "a"}"#);
    let root = t.root();
    assert_eq!(root.route_id, "0");
    assert_eq!(root.group_by, GroupBy::Labels(vec![]));
    assert_eq!(root.timings.group_wait, Duration::from_secs(30));
    assert_eq!(root.timings.group_interval, Duration::from_secs(300));
    assert_eq!(root.timings.repeat_interval, Duration::from_secs(4 * 3600));
    assert!(t.route("1").is_none());
    assert!(t.route("0.0").is_none());
}

#[test]
fn group_by_dots_groups_by_every_label() {
    let t = tree(
        r#"{"receiver": "a", "group_by": ["alertname"], "routes": [
            {"matchers": ["team=\"db\""], "group_by": ["..."], "routes": [
                {"matchers": ["env=\"prod\""]},
                {"matchers": ["env=\"dev\""], "group_by": ["env"]}
            ]}
        ]}"#,
    );
    let alert = labels(&[("alertname", "Disk"), ("team", "db"), ("env", "prod")]);
    let matched = t.matches(&alert);
    assert_eq!(matched[0].group_by, GroupBy::All, "inherited from 0.0");
    assert_eq!(group_labels(&matched[0], &alert), alert);

    let dev = labels(&[("alertname", "Disk"), ("team", "db"), ("env", "dev")]);
    let matched = t.matches(&dev);
    assert_eq!(group_labels(&matched[0], &dev), labels(&[("env", "dev")]));

    let root = t.root();
    // Only labels present are group labels; empty values count as missing.
    let partial = labels(&[("alertname", ""), ("team", "web")]);
    assert!(group_labels(root, &partial).is_empty());
}

#[test]
fn group_keys_are_stable_and_unambiguous() {
    let key = GroupKey::new("0.1", &labels(&[("env", "prod"), ("alertname", "Disk")]));
    assert_eq!(key.as_str(), "0.1:{alertname=\"Disk\", env=\"prod\"}");
    assert_eq!(GroupKey::new("0", &labels(&[])).as_str(), "0:{}");
    // A value cannot forge a second label.
    let forged = GroupKey::new("0", &labels(&[("a", "1\", b=\"2")]));
    let real = GroupKey::new("0", &labels(&[("a", "1"), ("b", "2")]));
    assert_ne!(forged, real);
    assert_eq!(forged.as_str(), "0:{a=\"1\\\", b=\\\"2\"}");
    // Names that are not plain identifiers are quoted.
    let odd = GroupKey::new("0", &labels(&[("a=b", "1")]));
    assert_eq!(odd.as_str(), "0:{\"a=b\"=\"1\"}");
    // Made from the packed labels a group holds, the same key.
    for pairs in [
        &[("env", "prod"), ("alertname", "Disk")][..],
        &[],
        &[("a", "1\", b=\"2")],
        &[("a=b", "1"), ("é", "\n")],
    ] {
        let map = labels(pairs);
        let packed = vigil_store::LabelSet::new(&map);
        assert_eq!(GroupKey::of("0.1", &packed), GroupKey::new("0.1", &map));
    }
}

fn compile_error(json: &str) -> String {
    RouteTree::compile(&route_config(json), &["a", "b"], &["nights"])
        .expect_err(json)
        .to_string()
}

#[test]
fn errors_name_the_route() {
    let cases = [
        (
            r#"{"receiver": "a", "routes": [
                {"receiver": "b"},
                {"receiver": "b", "routes": [{"receiver": "pager"}]}
            ]}"#,
            "route.routes[1].routes[0]: unknown receiver \"pager\"",
        ),
        (r#"{}"#, "route: the root route needs a receiver"),
        (
            r#"{"receiver": ""}"#,
            "route: the root route needs a receiver",
        ),
        (
            r#"{"receiver": "a", "matchers": ["env=prod"]}"#,
            "route: the root route must not have matchers",
        ),
        (
            r#"{"receiver": "a", "match": {"env": "prod"}}"#,
            "route: the root route must not have matchers",
        ),
        (
            r#"{"receiver": "a", "continue": true}"#,
            "route: the root route must not set continue",
        ),
        (
            r#"{"receiver": "a", "mute_time_intervals": ["nights"]}"#,
            "route: the root route must not have mute_time_intervals or active_time_intervals",
        ),
        (
            r#"{"receiver": "a", "routes": [{"active_time_intervals": ["weekends"]}]}"#,
            "route.routes[0]: active_time_intervals: unknown time interval \"weekends\"",
        ),
        (
            r#"{"receiver": "a", "routes": [{"group_wait": "5x"}]}"#,
            "route.routes[0]: group_wait: invalid duration \"5x\": missing or unknown unit (ms, s, m, h, d, w, y)",
        ),
        (
            r#"{"receiver": "a", "group_interval": "0s"}"#,
            "route: group_interval must be greater than zero",
        ),
        (
            r#"{"receiver": "a", "routes": [{"repeat_interval": "0"}]}"#,
            "route.routes[0]: repeat_interval must be greater than zero",
        ),
        (
            r#"{"receiver": "a", "group_by": ["...", "env"]}"#,
            "route: group_by: \"...\" (all labels) cannot be combined with label names",
        ),
        (
            r#"{"receiver": "a", "group_by": ["env", "env"]}"#,
            "route: group_by: duplicate label \"env\"",
        ),
    ];
    for (json, want) in cases {
        assert_eq!(compile_error(json), want, "{json}");
    }

    let e = compile_error(
        r#"{"receiver": "a", "routes": [{"routes": [{"matchers": ["env=prod", "team=~\"(\""]}]}]}"#,
    );
    assert!(
        e.starts_with(
            "route.routes[0].routes[0]: matchers[1]: matcher `team=~\"(\"` at column 7: invalid regex: unclosed group"
        ),
        "{e}"
    );
    let e = compile_error(r#"{"receiver": "a", "routes": [{"match_re": {"env": "a)|(b"}}]}"#);
    assert!(
        e.starts_with("route.routes[0]: match_re.env: matcher"),
        "{e}"
    );
}

#[test]
fn nesting_is_bounded() {
    let mut config = RouteConfig::default();
    for _ in 0..MAX_DEPTH {
        config = RouteConfig {
            routes: vec![config],
            ..RouteConfig::default()
        };
    }
    config.receiver = Some("a".into());
    let e = RouteTree::compile(&config, &["a"], &[]).expect_err("too deep");
    assert_eq!(e.kind, RouteErrorKind::TooDeep);
    assert_eq!(e.path.matches(".routes[0]").count(), MAX_DEPTH);
}

#[test]
fn unknown_config_fields_are_refused() {
    let e = serde_json::from_str::<RouteConfig>(r#"{"receiver": "a", "recevier": "b"}"#)
        .expect_err("typo");
    assert!(e.to_string().contains("recevier"), "{e}");
    let nested = r#"{"receiver": "a", "routes": [{"group_wiat": "1s"}]}"#;
    assert!(serde_json::from_str::<RouteConfig>(nested).is_err());
}

#[test]
fn deprecated_match_and_match_re_still_match() {
    let t = tree(
        r#"{"receiver": "a", "routes": [
            {"match": {"team": "db"}, "match_re": {"env": "prod|staging"}, "receiver": "b"}
        ]}"#,
    );
    let hit = labels(&[("team", "db"), ("env", "staging")]);
    assert_eq!(receivers(&t.matches(&hit)), [("0.0", "b")]);
    // match_re is anchored too.
    let miss = labels(&[("team", "db"), ("env", "production")]);
    assert_eq!(receivers(&t.matches(&miss)), [("0", "a")]);
}

#[test]
fn durations_follow_the_prometheus_grammar() {
    let good = [
        ("30s", 30_000),
        ("5m", 300_000),
        ("4h", 14_400_000),
        ("1d", 86_400_000),
        ("1w", 604_800_000),
        ("1y", 31_536_000_000),
        ("1h30m", 5_400_000),
        ("1m30s500ms", 90_500),
        ("500ms", 500),
        ("0", 0),
        ("0s", 0),
    ];
    for (text, millis) in good {
        let d = parse_duration(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d, Duration::from_millis(millis), "{text}");
    }
    for bad in [
        "", "5", "5x", "-5m", "1.5h", "30m1h", "1h1h", " 5m", "5m ", "5 m", "5M", "m", "101y",
        "1ms1s",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
    }
    assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    assert_eq!(
        format_duration(Duration::from_millis(691_200_500)),
        "1w1d500ms"
    );
    assert_eq!(format_duration(Duration::ZERO), "0s");
}
