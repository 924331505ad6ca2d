//! Time intervals: times of day, weekdays, days of month, months, years,
//! time zones, and the configurations Alertmanager refuses.

use super::ts;
use crate::route::time::TimeErrorKind;
use crate::route::{TimeIntervalConfig, TimeIntervals};

fn intervals(json: &str) -> TimeIntervals {
    let configs: Vec<TimeIntervalConfig> = serde_json::from_str(json).expect("json");
    TimeIntervals::compile(&configs).unwrap_or_else(|e| panic!("{e}"))
}

/// One interval named `i` with this single period.
fn period(json: &str) -> TimeIntervals {
    intervals(&format!(r#"[{{"name": "i", "time_intervals": [{json}]}}]"#))
}

fn error(json: &str) -> (String, TimeErrorKind) {
    let configs: Vec<TimeIntervalConfig> = serde_json::from_str(json).expect("json");
    let e = TimeIntervals::compile(&configs).expect_err(json);
    (e.path, e.kind)
}

fn period_error(json: &str) -> (String, TimeErrorKind) {
    error(&format!(r#"[{{"name": "i", "time_intervals": [{json}]}}]"#))
}

#[test]
fn office_hours_start_inclusive_and_end_exclusive() {
    let i = period(
        r#"{"weekdays": ["monday:friday"],
            "times": [{"start_time": "09:00", "end_time": "17:00"}]}"#,
    );
    // Monday 2 March 2026.
    for (at, inside) in [
        ("2026-03-02T08:59:59Z", false),
        ("2026-03-02T09:00:00Z", true),
        ("2026-03-02T16:59:59Z", true),
        ("2026-03-02T17:00:00Z", false),
        // Friday, Saturday, Sunday.
        ("2026-03-06T12:00:00Z", true),
        ("2026-03-07T12:00:00Z", false),
        ("2026-03-08T12:00:00Z", false),
    ] {
        assert_eq!(i.contains("i", ts(at)), inside, "{at}");
    }
    assert!(!i.contains("unknown", ts("2026-03-02T12:00:00Z")));
}

#[test]
fn several_time_ranges_and_24_00_cover_a_night() {
    let i = period(
        r#"{"times": [{"start_time": "22:00", "end_time": "24:00"},
                      {"start_time": "00:00", "end_time": "06:00"}]}"#,
    );
    assert!(i.contains("i", ts("2026-03-02T23:59:59Z")));
    assert!(i.contains("i", ts("2026-03-03T00:00:00Z")));
    assert!(i.contains("i", ts("2026-03-03T05:59:00Z")));
    assert!(!i.contains("i", ts("2026-03-03T06:00:00Z")));
    assert!(!i.contains("i", ts("2026-03-02T21:59:00Z")));
}

#[test]
fn a_time_range_may_not_cross_midnight() {
    let (path, kind) = period_error(r#"{"times": [{"start_time": "22:00", "end_time": "06:00"}]}"#);
    assert_eq!(path, "time_intervals[0].time_intervals[0].times[0]");
    assert!(matches!(kind, TimeErrorKind::TimeOrder { .. }), "{kind:?}");
    assert!(kind.to_string().contains("cannot cross midnight"), "{kind}");
    let (_, kind) = period_error(r#"{"times": [{"start_time": "09:00", "end_time": "09:00"}]}"#);
    assert!(matches!(kind, TimeErrorKind::TimeOrder { .. }));
    for bad in [
        "9:00", "24:01", "25:00", "12:60", "12:00:00", "noon", "24:00",
    ] {
        let json = format!(r#"{{"times": [{{"start_time": "{bad}", "end_time": "24:00"}}]}}"#);
        let (_, kind) = period_error(&json);
        let expected_order = bad == "24:00";
        assert_eq!(
            matches!(kind, TimeErrorKind::TimeOrder { .. }),
            expected_order,
            "{bad}: {kind:?}"
        );
    }
}

#[test]
fn weekday_ranges_and_single_days_combine() {
    let i = period(r#"{"weekdays": ["Monday:wednesday", "saturday"]}"#);
    for (at, inside) in [
        ("2026-03-02T12:00:00Z", true),  // Monday
        ("2026-03-04T12:00:00Z", true),  // Wednesday
        ("2026-03-05T12:00:00Z", false), // Thursday
        ("2026-03-07T12:00:00Z", true),  // Saturday
        ("2026-03-08T12:00:00Z", false), // Sunday
    ] {
        assert_eq!(i.contains("i", ts(at)), inside, "{at}");
    }
    // Ranges do not wrap around the week (Sunday is day 0).
    let (path, kind) = period_error(r#"{"weekdays": ["saturday:sunday"]}"#);
    assert_eq!(path, "time_intervals[0].time_intervals[0].weekdays[0]");
    assert_eq!(kind, TimeErrorKind::RangeOrder("saturday:sunday".into()));
    let (_, kind) = period_error(r#"{"weekdays": ["funday"]}"#);
    assert!(matches!(kind, TimeErrorKind::BadValue { .. }));
}

#[test]
fn negative_days_of_month_count_from_the_end() {
    let last = period(r#"{"days_of_month": ["-1"]}"#);
    assert!(last.contains("i", ts("2026-02-28T12:00:00Z")));
    assert!(last.contains("i", ts("2024-02-29T12:00:00Z")), "leap year");
    assert!(!last.contains("i", ts("2024-02-28T12:00:00Z")));
    assert!(last.contains("i", ts("2026-03-31T12:00:00Z")));
    assert!(!last.contains("i", ts("2026-03-30T12:00:00Z")));

    let last_three = period(r#"{"days_of_month": ["-3:-1"]}"#);
    assert!(last_three.contains("i", ts("2026-04-28T00:00:00Z")));
    assert!(!last_three.contains("i", ts("2026-04-27T23:59:59Z")));

    let first_five_and_tail = period(r#"{"days_of_month": ["1:5", "25:-1", 15]}"#);
    for (at, inside) in [
        ("2026-03-01T00:00:00Z", true),
        ("2026-03-05T23:59:59Z", true),
        ("2026-03-06T00:00:00Z", false),
        ("2026-03-15T12:00:00Z", true),
        ("2026-03-24T12:00:00Z", false),
        ("2026-03-25T12:00:00Z", true),
        ("2026-03-31T12:00:00Z", true),
    ] {
        assert_eq!(first_five_and_tail.contains("i", ts(at)), inside, "{at}");
    }

    // Past the end of a short month: clamped, or no match at all.
    let late = period(r#"{"days_of_month": ["30:31"]}"#);
    assert!(!late.contains("i", ts("2026-02-28T12:00:00Z")));
    assert!(late.contains("i", ts("2026-04-30T12:00:00Z")));
    let whole = period(r#"{"days_of_month": ["1:31"]}"#);
    assert!(whole.contains("i", ts("2026-02-28T12:00:00Z")));

    for bad in ["0", "32", "-32", "x", "1:2:3"] {
        let (_, kind) = period_error(&format!(r#"{{"days_of_month": ["{bad}"]}}"#));
        assert!(
            matches!(kind, TimeErrorKind::BadValue { .. }),
            "{bad}: {kind:?}"
        );
    }
    for backwards in ["5:1", "-1:-3", "-1:1"] {
        let (_, kind) = period_error(&format!(r#"{{"days_of_month": ["{backwards}"]}}"#));
        assert_eq!(kind, TimeErrorKind::RangeOrder(backwards.into()));
    }
}

#[test]
fn months_and_years_by_name_number_or_range() {
    let i = period(r#"{"months": ["january:march", "December", 7], "years": ["2026:2027", 2029]}"#);
    for (at, inside) in [
        ("2026-01-15T00:00:00Z", true),
        ("2026-03-31T23:59:59Z", true),
        ("2026-04-01T00:00:00Z", false),
        ("2026-07-10T00:00:00Z", true),
        ("2027-12-25T00:00:00Z", true),
        ("2028-01-15T00:00:00Z", false),
        ("2029-02-01T00:00:00Z", true),
        ("2025-02-01T00:00:00Z", false),
    ] {
        assert_eq!(i.contains("i", ts(at)), inside, "{at}");
    }
    assert!(matches!(
        period_error(r#"{"months": ["13"]}"#).1,
        TimeErrorKind::BadValue { .. }
    ));
    assert_eq!(
        period_error(r#"{"months": ["march:january"]}"#).1,
        TimeErrorKind::RangeOrder("march:january".into())
    );
    assert_eq!(
        period_error(r#"{"years": ["2027:2026"]}"#).1,
        TimeErrorKind::RangeOrder("2027:2026".into())
    );
}

#[test]
fn the_location_decides_the_local_time_and_day() {
    let berlin = period(
        r#"{"times": [{"start_time": "09:00", "end_time": "17:00"}],
            "location": "Europe/Berlin"}"#,
    );
    // Winter (UTC+1).
    assert!(berlin.contains("i", ts("2026-03-02T08:30:00Z")));
    assert!(!berlin.contains("i", ts("2026-03-02T16:30:00Z")));
    // Summer (UTC+2): 07:30Z is 09:30 in Berlin, 15:30Z is 17:30.
    assert!(berlin.contains("i", ts("2026-07-01T07:30:00Z")));
    assert!(!berlin.contains("i", ts("2026-07-01T15:30:00Z")));

    // Tuesday 03:00 UTC is still Monday evening in Los Angeles.
    let la_monday = period(r#"{"weekdays": ["monday"], "location": "America/Los_Angeles"}"#);
    assert!(la_monday.contains("i", ts("2026-03-03T03:00:00Z")));
    assert!(!la_monday.contains("i", ts("2026-03-02T03:00:00Z")));
}

#[test]
fn an_unknown_or_host_dependent_location_is_a_config_error() {
    let (path, kind) = period_error(r#"{"location": "Mars/Olympus_Mons"}"#);
    assert_eq!(path, "time_intervals[0].time_intervals[0].location");
    assert!(
        matches!(kind, TimeErrorKind::UnknownLocation { .. }),
        "{kind:?}"
    );
    assert_eq!(
        period_error(r#"{"location": "Local"}"#).1,
        TimeErrorKind::LocalLocation
    );
    // UTC needs no database.
    assert!(period(r#"{"location": "UTC"}"#).contains("i", ts("2026-03-02T00:00:00Z")));
}

#[test]
fn an_empty_period_is_always_and_an_interval_without_periods_never() {
    let i = intervals(
        r#"[{"name": "always", "time_intervals": [{}]},
            {"name": "never", "time_intervals": []},
            {"name": "weekend", "time_intervals": [
                {"weekdays": ["saturday"]}, {"weekdays": ["sunday"]}]}]"#,
    );
    let t = ts("2026-03-08T12:00:00Z");
    assert!(i.contains("always", t));
    assert!(!i.contains("never", t));
    assert!(i.contains("weekend", t));
    assert_eq!(
        i.names().collect::<Vec<_>>(),
        ["always", "never", "weekend"]
    );
}

#[test]
fn interval_names_must_be_present_and_unique() {
    let (path, kind) = error(r#"[{"name": "a"}, {"name": "a"}]"#);
    assert_eq!(path, "time_intervals[1]");
    assert_eq!(kind, TimeErrorKind::DuplicateName("a".into()));
    assert_eq!(error(r#"[{"name": ""}]"#).1, TimeErrorKind::EmptyName);
    let configs: Vec<TimeIntervalConfig> =
        serde_json::from_str(r#"[{"name": "x", "time_intervals": [{"weekdays": ["x"]}]}]"#)
            .expect("json");
    let e = TimeIntervals::compile(&configs).expect_err("bad weekday");
    assert_eq!(
        e.to_string(),
        "time_intervals[0].time_intervals[0].weekdays[0] (\"x\"): \"x\" is not a valid weekday"
    );
    assert!(
        serde_json::from_str::<Vec<TimeIntervalConfig>>(
            r#"[{"name": "x", "time_intervals": [{"weekday": ["monday"]}]}]"#
        )
        .is_err()
    );
}
