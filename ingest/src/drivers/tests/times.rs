//! The time formats senders use, read to UTC microseconds.

use crate::drivers::shape::parse_time;

#[test]
fn rfc3339_gitlab_and_zoned_times_read_to_the_same_instant() {
    let utc = parse_time("2021-04-28T19:50:00Z").unwrap().unwrap();
    assert_eq!(parse_time("2021-04-28 19:50:00 UTC"), Ok(Some(utc)));
    // GitLab's offset form: 21:50 at +0200 is 19:50 UTC.
    assert_eq!(parse_time("2021-04-28 21:50:00 +0200"), Ok(Some(utc)));
    assert_eq!(parse_time("2021-04-28T21:50:00+02:00"), Ok(Some(utc)));
}

#[test]
fn empty_and_go_zero_times_mean_no_time_and_junk_is_refused() {
    assert_eq!(parse_time(""), Ok(None));
    assert_eq!(parse_time("  "), Ok(None));
    // Alertmanager's `endsAt` of a firing alert.
    assert_eq!(parse_time("0001-01-01T00:00:00Z"), Ok(None));
    assert_eq!(parse_time("yesterday"), Err(()));
    assert_eq!(parse_time("2021-04-28 21:50:00 +99"), Err(()));
}
