//! Inhibit rules: matching sides, `equal`, and no self-inhibition.

use super::labels;
use crate::route::inhibit::InhibitErrorKind;
use crate::route::{InhibitRuleConfig, Inhibitor};

fn inhibitor(json: &str) -> Inhibitor {
    let configs: Vec<InhibitRuleConfig> = serde_json::from_str(json).expect("json");
    Inhibitor::compile(&configs).expect("compile")
}

const CRITICAL_OVER_WARNING: &str = r#"[{
    "source_matchers": ["severity=\"critical\""],
    "target_matchers": ["severity=\"warning\""],
    "equal": ["alertname", "cluster"]
}]"#;

#[test]
fn a_firing_source_with_equal_labels_inhibits_the_target() {
    let i = inhibitor(CRITICAL_OVER_WARNING);
    let source = labels(&[
        ("alertname", "Down"),
        ("cluster", "eu1"),
        ("severity", "critical"),
    ]);
    let target = labels(&[
        ("alertname", "Down"),
        ("cluster", "eu1"),
        ("severity", "warning"),
        ("instance", "h1"),
    ]);
    assert!(i.is_inhibited(&target, [&source]));
    // Nothing firing, nothing inhibits.
    assert!(!i.is_inhibited(&target, []));
    // A different cluster is a different problem.
    let elsewhere = labels(&[
        ("alertname", "Down"),
        ("cluster", "us1"),
        ("severity", "warning"),
    ]);
    assert!(!i.is_inhibited(&elsewhere, [&source]));
    // The target side must match.
    let info = labels(&[
        ("alertname", "Down"),
        ("cluster", "eu1"),
        ("severity", "info"),
    ]);
    assert!(!i.is_inhibited(&info, [&source]));
    // The source side must match.
    assert!(!i.is_inhibited(&target, [&elsewhere, &info]));
}

#[test]
fn equal_treats_missing_and_empty_labels_as_equal() {
    let i = inhibitor(CRITICAL_OVER_WARNING);
    let source = labels(&[("alertname", "Down"), ("severity", "critical")]);
    // Both lack `cluster`: equal, as in Alertmanager.
    let target = labels(&[("alertname", "Down"), ("severity", "warning")]);
    assert!(i.is_inhibited(&target, [&source]));
    // Empty is missing.
    let empty = labels(&[
        ("alertname", "Down"),
        ("cluster", ""),
        ("severity", "warning"),
    ]);
    assert!(i.is_inhibited(&empty, [&source]));
    // Present on one side only: not equal.
    let with_cluster = labels(&[
        ("alertname", "Down"),
        ("cluster", "eu1"),
        ("severity", "warning"),
    ]);
    assert!(!i.is_inhibited(&with_cluster, [&source]));
}

#[test]
fn without_equal_any_firing_source_inhibits() {
    let i = inhibitor(
        r#"[{"source_matchers": ["alertname=\"DatacenterDown\""],
             "target_matchers": ["alertname=\"HostDown\""]}]"#,
    );
    let dc = labels(&[("alertname", "DatacenterDown"), ("dc", "a")]);
    let host = labels(&[("alertname", "HostDown"), ("dc", "b")]);
    assert!(i.is_inhibited(&host, [&dc]));
}

#[test]
fn an_alert_matching_both_sides_does_not_inhibit_itself() {
    // Every source here also matches the target side.
    let i = inhibitor(
        r#"[{"source_matchers": ["team=\"a\""],
             "target_matchers": ["team=~\"a|b\""],
             "equal": ["cluster"]}]"#,
    );
    let a1 = labels(&[("team", "a"), ("cluster", "x"), ("instance", "1")]);
    let a2 = labels(&[("team", "a"), ("cluster", "x"), ("instance", "2")]);
    let b = labels(&[("team", "b"), ("cluster", "x")]);
    // Not by itself...
    assert!(!i.is_inhibited(&a1, [&a1]));
    // ...nor by another alert matching both sides (Alertmanager's rule).
    assert!(!i.is_inhibited(&a1, [&a1, &a2]));
    // A target that is not itself a source is inhibited.
    assert!(i.is_inhibited(&b, [&a1]));
}

#[test]
fn a_two_sided_target_is_still_inhibited_by_a_one_sided_source() {
    let i = inhibitor(
        r#"[{"source_matchers": ["severity=~\"critical|page\""],
             "target_matchers": ["severity=~\"critical|warning\""]}]"#,
    );
    let page = labels(&[("severity", "page")]);
    let critical = labels(&[("severity", "critical")]);
    // `critical` matches both sides; `page` matches only the source side.
    assert!(i.is_inhibited(&critical, [&critical, &page]));
    assert!(!i.is_inhibited(&critical, [&critical]));
}

#[test]
fn deprecated_source_match_and_target_match_are_read() {
    let i = inhibitor(
        r#"[{"source_match": {"severity": "critical"},
             "target_match_re": {"severity": "warn.*"}}]"#,
    );
    let src = labels(&[("severity", "critical")]);
    assert!(i.is_inhibited(&labels(&[("severity", "warning")]), [&src]));
    assert!(!i.is_inhibited(&labels(&[("severity", "info")]), [&src]));
}

#[test]
fn rules_without_a_side_or_with_bad_parts_are_refused() {
    let cases = [
        (
            r#"[{"target_matchers": ["a=1"]}]"#,
            InhibitErrorKind::NoSource,
        ),
        (
            r#"[{"source_matchers": ["a=1"]}]"#,
            InhibitErrorKind::NoTarget,
        ),
        (
            r#"[{"source_matchers": ["a=1"], "target_matchers": ["b=1"], "equal": ["x", "x"]}]"#,
            InhibitErrorKind::Equal("x".into()),
        ),
    ];
    for (json, kind) in cases {
        let configs: Vec<InhibitRuleConfig> = serde_json::from_str(json).expect("json");
        let e = Inhibitor::compile(&configs).expect_err(json);
        assert_eq!(e.kind, kind, "{json}");
        assert_eq!(e.path, "inhibit_rules[0]");
    }
    let configs: Vec<InhibitRuleConfig> = serde_json::from_str(
        r#"[{"source_matchers": ["a=1"], "target_matchers": ["b=1"]},
            {"source_matchers": ["a=1"], "target_matchers": ["b=~\"(\""]}]"#,
    )
    .expect("json");
    let e = Inhibitor::compile(&configs).expect_err("bad regex");
    assert!(
        e.to_string()
            .starts_with("inhibit_rules[1]: target_matchers[0]: matcher `b=~\"(\"`"),
        "{e}"
    );
    assert!(serde_json::from_str::<Vec<InhibitRuleConfig>>(r#"[{"sorce_matchers": []}]"#).is_err());
}
