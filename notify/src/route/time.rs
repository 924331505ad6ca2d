//! Time intervals, as Alertmanager's `time_intervals`: named lists of
//! periods, each restricting any of time of day, weekday, day of month,
//! month and year, in a time zone. A routes's `mute_time_intervals` hold
//! its notifications during them; its `active_time_intervals` allow them
//! only during them.
//!
//! Semantics follow Alertmanager: a period contains an instant when every
//! field it sets matches (an unset field matches anything); a named
//! interval contains it when any of its periods does. Times are `HH:MM`,
//! the start inclusive and the end exclusive, `24:00` allowed as an end; a
//! range may not cross midnight (write two). Ranges are `begin:end`,
//! inclusive, never wrapping (`saturday:sunday` is refused; list both
//! days). Negative days of month count from the end (`-1` is the last
//! day), and ranges are clamped to the month's length.
//!
//! Differences: `location: Local` is refused (name the zone, so the
//! config means the same on every host); a missing zone is a config error.
//! Zones are read by `jiff` from the system database (`/usr/share/zoneinfo`
//! or `TZDIR`), when the config is compiled: the only I/O in this module.
//! TOML may give days, months and years as numbers (`years = [2026]`).

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One named interval as configured (`[[notify.time_intervals]]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalConfig {
    /// Name routes refer to.
    pub name: String,
    /// Periods; the interval contains an instant in any of them.
    #[serde(default)]
    pub time_intervals: Vec<TimePeriodConfig>,
}

/// One period as configured; every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimePeriodConfig {
    /// Times of day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<TimeRangeConfig>,
    /// `monday`, `monday:friday`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<String>,
    /// `1`, `1:5`, `-1`, `-7:-1`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_of_month: Vec<RangeItem>,
    /// `january`, `january:march`, `12`, `1:3`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub months: Vec<RangeItem>,
    /// `2026`, `2026:2027`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub years: Vec<RangeItem>,
    /// IANA zone name (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// A time-of-day range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRangeConfig {
    /// `HH:MM`, inclusive.
    pub start_time: String,
    /// `HH:MM`, exclusive; `24:00` is the end of the day.
    pub end_time: String,
}

/// A range entry: text (`"1:5"`, `"january"`) or, for TOML convenience, a
/// bare number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RangeItem {
    /// A number, meaning that single value.
    Number(i64),
    /// `value` or `begin:end`.
    Text(String),
}

impl fmt::Display for RangeItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeItem::Number(n) => write!(f, "{n}"),
            RangeItem::Text(s) => f.write_str(s),
        }
    }
}

/// What is wrong with a time interval.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TimeErrorKind {
    /// No name.
    #[error("name is empty")]
    EmptyName,
    /// Two intervals with one name.
    #[error("duplicate name \"{0}\"")]
    DuplicateName(String),
    /// Not `HH:MM` between `00:00` and `24:00`.
    #[error("\"{0}\" is not a time of day (HH:MM, 00:00 to 24:00)")]
    BadTime(String),
    /// `start_time` not before `end_time`.
    #[error(
        "start_time {start} is not before end_time {end}; a range cannot cross midnight, write two ({start}-24:00 and 00:00-{end})"
    )]
    TimeOrder {
        /// Start as written.
        start: String,
        /// End as written.
        end: String,
    },
    /// An unknown or malformed entry.
    #[error("\"{value}\" is not a valid {what}")]
    BadValue {
        /// The entry.
        value: String,
        /// `weekday`, `month`, `day of month` or `year` (or range of them).
        what: &'static str,
    },
    /// A range that starts after it ends.
    #[error("range \"{0}\" starts after it ends (ranges do not wrap; list the parts)")]
    RangeOrder(String),
    /// `location: Local`.
    #[error("location \"Local\" depends on the host; name the zone, e.g. \"Europe/Berlin\"")]
    LocalLocation,
    /// A zone the database does not have.
    #[error("unknown location \"{name}\": {reason}")]
    UnknownLocation {
        /// The name.
        name: String,
        /// What jiff said.
        reason: String,
    },
}

/// A time interval that does not validate, with where it is.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub struct TimeIntervalError {
    /// `time_intervals[0].time_intervals[1].times[0]`.
    pub path: String,
    /// The interval's name, if it has one.
    pub name: String,
    /// What.
    pub kind: TimeErrorKind,
}

impl fmt::Display for TimeIntervalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            write!(f, "{}: {}", self.path, self.kind)
        } else {
            write!(f, "{} (\"{}\"): {}", self.path, self.name, self.kind)
        }
    }
}

/// One validated period.
#[derive(Clone, Debug)]
struct TimePeriod {
    /// Minutes of the day, `[start, end)`.
    times: Vec<(u16, u16)>,
    /// Sunday = 0, as Alertmanager (and Go) number them.
    weekdays: Vec<(i8, i8)>,
    days_of_month: Vec<(i8, i8)>,
    months: Vec<(i8, i8)>,
    years: Vec<(i16, i16)>,
    location: TimeZone,
}

impl TimePeriod {
    /// Validates one period; errors carry a path relative to it.
    fn compile(config: &TimePeriodConfig) -> Result<Self, (String, TimeErrorKind)> {
        let times = config
            .times
            .iter()
            .enumerate()
            .map(|(i, t)| time_range(t).map_err(|k| (format!("times[{i}]"), k)))
            .collect::<Result<_, _>>()?;
        let weekdays = ranges("weekdays", config.weekdays.iter(), "weekday", |s| {
            weekday(s)
        })?;
        let days_of_month = config
            .days_of_month
            .iter()
            .enumerate()
            .map(|(i, item)| {
                day_range(&item.to_string()).map_err(|k| (format!("days_of_month[{i}]"), k))
            })
            .collect::<Result<_, _>>()?;
        let months = ranges("months", config.months.iter(), "month", month)?;
        let years = ranges("years", config.years.iter(), "year", |s| {
            s.parse::<i16>().ok().filter(|y| (1..=9999).contains(y))
        })?;
        let location = location(config.location.as_deref()).map_err(|k| ("location".into(), k))?;
        Ok(Self {
            times,
            weekdays,
            days_of_month,
            months,
            years,
            location,
        })
    }

    /// Whether `at`, seen in the period's zone, lies in the period.
    fn contains(&self, at: Timestamp) -> bool {
        let dt = self.location.to_datetime(at);
        let minute = i32::from(dt.hour()) * 60 + i32::from(dt.minute());
        let weekday = dt.weekday().to_sunday_zero_offset();
        let within = |(b, e): &(i8, i8), v: i8| *b <= v && v <= *e;
        (self.times.is_empty()
            || self
                .times
                .iter()
                .any(|&(s, e)| i32::from(s) <= minute && minute < i32::from(e)))
            && (self.weekdays.is_empty() || self.weekdays.iter().any(|r| within(r, weekday)))
            && (self.days_of_month.is_empty()
                || self
                    .days_of_month
                    .iter()
                    .any(|&r| day_matches(r, dt.day(), dt.days_in_month())))
            && (self.months.is_empty() || self.months.iter().any(|r| within(r, dt.month())))
            && (self.years.is_empty()
                || self
                    .years
                    .iter()
                    .any(|&(b, e)| b <= dt.year() && dt.year() <= e))
    }
}

/// Alertmanager's day-of-month test: negative ends count from the end of
/// this month, a range starting past the month's end never matches, and
/// the ends are clamped to the month.
fn day_matches((begin, end): (i8, i8), day: i8, days_in_month: i8) -> bool {
    let resolve = |d: i8| if d < 0 { days_in_month + d + 1 } else { d };
    let (begin, end) = (resolve(begin), resolve(end));
    if begin > days_in_month {
        return false;
    }
    let begin = begin.clamp(-days_in_month, days_in_month);
    let end = end.clamp(-days_in_month, days_in_month);
    begin <= day && day <= end
}

/// A named interval.
#[derive(Clone, Debug)]
pub struct TimeInterval {
    name: String,
    periods: Vec<TimePeriod>,
}

impl TimeInterval {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether any of its periods contains `at`.
    pub fn contains(&self, at: Timestamp) -> bool {
        self.periods.iter().any(|p| p.contains(at))
    }
}

/// Every named interval.
#[derive(Clone, Debug, Default)]
pub struct TimeIntervals {
    by_name: BTreeMap<String, TimeInterval>,
}

impl TimeIntervals {
    /// Validates configured intervals, naming the first bad one.
    pub fn compile(configs: &[TimeIntervalConfig]) -> Result<Self, TimeIntervalError> {
        let mut by_name = BTreeMap::new();
        for (i, config) in configs.iter().enumerate() {
            let fail = |path: String, kind| TimeIntervalError {
                path,
                name: config.name.clone(),
                kind,
            };
            let here = format!("time_intervals[{i}]");
            if config.name.is_empty() {
                return Err(fail(here, TimeErrorKind::EmptyName));
            }
            if by_name.contains_key(&config.name) {
                return Err(fail(
                    here,
                    TimeErrorKind::DuplicateName(config.name.clone()),
                ));
            }
            let periods = config
                .time_intervals
                .iter()
                .enumerate()
                .map(|(j, p)| {
                    TimePeriod::compile(p).map_err(|(sub, kind)| {
                        fail(format!("{here}.time_intervals[{j}].{sub}"), kind)
                    })
                })
                .collect::<Result<_, _>>()?;
            by_name.insert(
                config.name.clone(),
                TimeInterval {
                    name: config.name.clone(),
                    periods,
                },
            );
        }
        Ok(Self { by_name })
    }

    /// An interval by name.
    pub fn get(&self, name: &str) -> Option<&TimeInterval> {
        self.by_name.get(name)
    }

    /// The names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Whether the interval `name` contains `at` (an unknown name contains
    /// nothing; routes are checked against the names when compiled).
    pub fn contains(&self, name: &str, at: Timestamp) -> bool {
        self.get(name).is_some_and(|i| i.contains(at))
    }
}

/// `HH:MM` as minutes of the day; `24:00` is 1440.
fn time_of_day(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || ![0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit()) {
        return None;
    }
    let hour = u16::from(b[0] - b'0') * 10 + u16::from(b[1] - b'0');
    let minute = u16::from(b[3] - b'0') * 10 + u16::from(b[4] - b'0');
    match (hour, minute) {
        (24, 0) => Some(24 * 60),
        (0..=23, 0..=59) => Some(hour * 60 + minute),
        _ => None,
    }
}

fn time_range(t: &TimeRangeConfig) -> Result<(u16, u16), TimeErrorKind> {
    let start =
        time_of_day(&t.start_time).ok_or_else(|| TimeErrorKind::BadTime(t.start_time.clone()))?;
    let end = time_of_day(&t.end_time).ok_or_else(|| TimeErrorKind::BadTime(t.end_time.clone()))?;
    if start >= end {
        return Err(TimeErrorKind::TimeOrder {
            start: t.start_time.clone(),
            end: t.end_time.clone(),
        });
    }
    Ok((start, end))
}

/// `begin:end` or a single value, each end read by `one`.
fn split_range<T: Copy>(s: &str, one: impl Fn(&str) -> Option<T>) -> Option<(T, T)> {
    match s.split_once(':') {
        Some((b, e)) => Some((one(b.trim())?, one(e.trim())?)),
        None => {
            let v = one(s.trim())?;
            Some((v, v))
        }
    }
}

/// Parses a list of ordered ranges; `begin` must not exceed `end`.
fn ranges<'a, T, I, S>(
    field: &str,
    items: I,
    what: &'static str,
    one: impl Fn(&str) -> Option<T> + Copy,
) -> Result<Vec<(T, T)>, (String, TimeErrorKind)>
where
    T: Copy + Ord,
    I: Iterator<Item = &'a S>,
    S: fmt::Display + 'a,
{
    items
        .enumerate()
        .map(|(i, item)| {
            let text = item.to_string();
            let fail = |k| (format!("{field}[{i}]"), k);
            let (b, e) = split_range(&text, one).ok_or_else(|| {
                fail(TimeErrorKind::BadValue {
                    value: text.clone(),
                    what,
                })
            })?;
            if b > e {
                return Err(fail(TimeErrorKind::RangeOrder(text.clone())));
            }
            Ok((b, e))
        })
        .collect()
}

fn weekday(s: &str) -> Option<i8> {
    const DAYS: [&str; 7] = [
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
    ];
    let pos = DAYS.iter().position(|d| d.eq_ignore_ascii_case(s))?;
    i8::try_from(pos).ok()
}

fn month(s: &str) -> Option<i8> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    if let Some(pos) = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(s)) {
        return i8::try_from(pos + 1).ok();
    }
    s.parse::<i8>().ok().filter(|m| (1..=12).contains(m))
}

/// A day-of-month range, validated as Alertmanager does: each end in
/// `-31..=31` but not 0, and not obviously empty once negative ends are
/// placed in a 30-day month.
fn day_range(s: &str) -> Result<(i8, i8), TimeErrorKind> {
    let one = |d: &str| {
        d.parse::<i8>()
            .ok()
            .filter(|d| *d != 0 && (-31..=31).contains(d))
    };
    let (b, e) = split_range(s, one).ok_or_else(|| TimeErrorKind::BadValue {
        value: s.to_string(),
        what: "day of month (1 to 31, or -1 to -31 from the end)",
    })?;
    let place = |d: i8| if d < 0 { 30 + d } else { d };
    if place(b) > place(e) {
        return Err(TimeErrorKind::RangeOrder(s.to_string()));
    }
    Ok((b, e))
}

fn location(name: Option<&str>) -> Result<TimeZone, TimeErrorKind> {
    match name {
        // UTC needs no database.
        None | Some("" | "UTC") => Ok(TimeZone::UTC),
        Some(n) if n.eq_ignore_ascii_case("local") => Err(TimeErrorKind::LocalLocation),
        Some(n) => TimeZone::get(n).map_err(|e| TimeErrorKind::UnknownLocation {
            name: n.to_string(),
            reason: e.to_string(),
        }),
    }
}
