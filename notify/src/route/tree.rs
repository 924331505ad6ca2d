//! The route tree: configuration types mirroring Alertmanager's `route`,
//! their validation into a [`RouteTree`], and matching an alert's labels to
//! the routes that take it.
//!
//! Matching is Alertmanager's: depth first; a node matches when all its
//! matchers do; its children are tried in order and the first that matches
//! ends the search among its siblings unless it has `continue: true`; a
//! node none of whose children match is itself the match. The root has no
//! matchers, so every alert reaches at least the root's receiver.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use vigil_store::Labels;

use super::duration::{DurationError, parse_duration};
use super::matcher::{MatchOp, Matcher, MatcherError, Matchers};

/// Routes may nest at most this deep; real trees are a few levels, and a
/// bound keeps a hostile config from exhausting the stack when matching.
pub const MAX_DEPTH: usize = 32;
/// `group_by` value meaning "every label of the alert".
pub const GROUP_BY_ALL: &str = "...";

/// One route as configured (`[notify.route]` and its `routes`). Every
/// field may be omitted; unset ones are inherited from the parent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Receiver name; inherited when unset (or empty, as in Alertmanager).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// Labels to group by, or `["..."]` for all of them; inherited when
    /// unset or empty (as in Alertmanager before its #4825: see the
    /// differences in [`super`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
    /// Matchers, all of which must match; each entry may hold several,
    /// comma-separated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<String>,
    /// Alertmanager's deprecated equality matchers (`match`).
    #[serde(default, rename = "match", skip_serializing_if = "BTreeMap::is_empty")]
    pub match_eq: BTreeMap<String, String>,
    /// Alertmanager's deprecated regex matchers (`match_re`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_re: BTreeMap<String, String>,
    /// Keep trying the following siblings after this route matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    /// Wait before the first notification of a new group (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<String>,
    /// Wait between notifications of a changed group (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<String>,
    /// Wait before repeating an unchanged notification (default 4h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<String>,
    /// Time intervals during which this route sends nothing (not inherited).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mute_time_intervals: Vec<String>,
    /// If set, the route sends only during these intervals (not inherited).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active_time_intervals: Vec<String>,
    /// Child routes, tried in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
}

/// How a route groups alerts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// By these labels (none: one group for the whole route).
    Labels(Vec<String>),
    /// By every label (`group_by: ["..."]`): effectively no grouping.
    All,
}

/// The three timers of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    /// Wait before the first notification of a new group.
    pub group_wait: Duration,
    /// Minimum time between notifications of a group that changed.
    pub group_interval: Duration,
    /// Time after which an unchanged group is notified again.
    pub repeat_interval: Duration,
}

impl Default for Timings {
    /// Alertmanager's defaults: 30s, 5m, 4h.
    fn default() -> Self {
        Self {
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(5 * 60),
            repeat_interval: Duration::from_secs(4 * 3600),
        }
    }
}

/// A route an alert matched, with every inherited setting resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedRoute {
    /// Position in the tree: `0` is the root, `0.2` its third child,
    /// `0.2.0` that child's first child. Stable while the tree's shape is.
    pub route_id: String,
    /// Receiver to notify.
    pub receiver: String,
    /// Grouping.
    pub group_by: GroupBy,
    /// Timers.
    pub timings: Timings,
    /// Names of time intervals that mute this route.
    pub mute_time_intervals: Vec<String>,
    /// Names of time intervals outside which this route is muted (empty:
    /// always active).
    pub active_time_intervals: Vec<String>,
}

/// What is wrong with a route.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RouteErrorKind {
    /// The root has no receiver, so some alert would have none.
    #[error("the root route needs a receiver")]
    RootWithoutReceiver,
    /// The root has matchers (it must take every alert).
    #[error("the root route must not have matchers")]
    RootWithMatchers,
    /// The root has `continue` (it has no siblings).
    #[error("the root route must not set continue")]
    RootContinue,
    /// The root has mute or active time intervals.
    #[error("the root route must not have mute_time_intervals or active_time_intervals")]
    RootTimeIntervals,
    /// A receiver name that is not configured.
    #[error("unknown receiver \"{0}\"")]
    UnknownReceiver(String),
    /// A time interval name that is not configured.
    #[error("{field}: unknown time interval \"{name}\"")]
    UnknownTimeInterval {
        /// `mute_time_intervals` or `active_time_intervals`.
        field: &'static str,
        /// The name.
        name: String,
    },
    /// A matcher that does not parse.
    #[error("{field}: {source}")]
    Matcher {
        /// `matchers[i]`, `match.NAME` or `match_re.NAME`.
        field: String,
        /// Why.
        source: MatcherError,
    },
    /// A duration that does not parse.
    #[error("{field}: {source}")]
    Duration {
        /// The field.
        field: &'static str,
        /// Why.
        source: DurationError,
    },
    /// `group_interval` or `repeat_interval` of zero.
    #[error("{0} must be greater than zero")]
    ZeroInterval(&'static str),
    /// `...` together with label names.
    #[error("group_by: \"...\" (all labels) cannot be combined with label names")]
    GroupByAllAndNames,
    /// The same label twice in `group_by`.
    #[error("group_by: duplicate label \"{0}\"")]
    GroupByDuplicate(String),
    /// An empty label name in `group_by`.
    #[error("group_by: empty label name")]
    GroupByEmpty,
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("routes nest deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// A route that does not validate, with its place in the config
/// (`route.routes[1].routes[0]: unknown receiver "pager"`).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{path}: {kind}")]
pub struct RouteError {
    /// Where: `route`, `route.routes[1]`, ...
    pub path: String,
    /// What.
    pub kind: RouteErrorKind,
}

/// A validated route tree.
#[derive(Clone, Debug)]
pub struct RouteTree {
    root: Node,
}

#[derive(Clone, Debug)]
struct Node {
    route: MatchedRoute,
    matchers: Matchers,
    continue_matching: bool,
    children: Vec<Node>,
}

/// What compiling needs to look names up.
struct Names<'a> {
    receivers: &'a [&'a str],
    intervals: &'a [&'a str],
}

impl RouteTree {
    /// Validates a route config: receivers and time interval names must
    /// be among those given, the root must have a receiver and no matchers
    /// (nor `continue` or time intervals), durations must parse.
    pub fn compile(
        config: &RouteConfig,
        receivers: &[&str],
        time_interval_names: &[&str],
    ) -> Result<Self, RouteError> {
        let names = Names {
            receivers,
            intervals: time_interval_names,
        };
        let fail = |kind| RouteError {
            path: "route".into(),
            kind,
        };
        if config.receiver.as_deref().unwrap_or("").is_empty() {
            return Err(fail(RouteErrorKind::RootWithoutReceiver));
        }
        if !config.matchers.is_empty() || !config.match_eq.is_empty() || !config.match_re.is_empty()
        {
            return Err(fail(RouteErrorKind::RootWithMatchers));
        }
        if config.continue_matching {
            return Err(fail(RouteErrorKind::RootContinue));
        }
        if !config.mute_time_intervals.is_empty() || !config.active_time_intervals.is_empty() {
            return Err(fail(RouteErrorKind::RootTimeIntervals));
        }
        let defaults = MatchedRoute {
            route_id: String::new(),
            receiver: String::new(),
            group_by: GroupBy::Labels(Vec::new()),
            timings: Timings::default(),
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
        };
        let root = compile_node(config, &defaults, "route", "0".into(), 0, &names)?;
        Ok(Self { root })
    }

    /// The routes that take an alert with these labels, in tree order.
    /// Never empty: the root takes what no child does.
    pub fn matches(&self, labels: &Labels) -> Vec<MatchedRoute> {
        let mut out = Vec::new();
        walk(&self.root, labels, &mut out);
        out.into_iter().map(|n| n.route.clone()).collect()
    }

    /// The root route (the default receiver and timings).
    pub fn root(&self) -> &MatchedRoute {
        &self.root.route
    }

    /// A route by its id (`0.1.0`), e.g. to show what a group belongs to.
    pub fn route(&self, route_id: &str) -> Option<&MatchedRoute> {
        let mut parts = route_id.split('.');
        if parts.next() != Some("0") {
            return None;
        }
        let mut node = &self.root;
        for part in parts {
            node = node.children.get(part.parse::<usize>().ok()?)?;
        }
        Some(&node.route)
    }
}

/// Alertmanager's `Route.Match`: returns whether `node` matched, pushing
/// the matching leaves (or the node itself) onto `out`.
fn walk<'a>(node: &'a Node, labels: &Labels, out: &mut Vec<&'a Node>) -> bool {
    if !node.matchers.matches(labels) {
        return false;
    }
    let before = out.len();
    for child in &node.children {
        if walk(child, labels, out) && !child.continue_matching {
            break;
        }
    }
    if out.len() == before {
        out.push(node);
    }
    true
}

fn compile_node(
    config: &RouteConfig,
    parent: &MatchedRoute,
    path: &str,
    route_id: String,
    depth: usize,
    names: &Names<'_>,
) -> Result<Node, RouteError> {
    let fail = |kind| RouteError {
        path: path.to_string(),
        kind,
    };
    if depth >= MAX_DEPTH {
        return Err(fail(RouteErrorKind::TooDeep));
    }

    let receiver = match config.receiver.as_deref() {
        None | Some("") => parent.receiver.clone(),
        Some(r) if names.receivers.contains(&r) => r.to_string(),
        Some(r) => return Err(fail(RouteErrorKind::UnknownReceiver(r.to_string()))),
    };
    let group_by = match &config.group_by {
        Some(list) if !list.is_empty() => group_by(list).map_err(fail)?,
        // As Alertmanager did until #4825: an empty list like an absent one.
        _ => parent.group_by.clone(),
    };
    let timings = Timings {
        group_wait: duration(&config.group_wait, "group_wait", parent.timings.group_wait)
            .map_err(fail)?,
        group_interval: duration(
            &config.group_interval,
            "group_interval",
            parent.timings.group_interval,
        )
        .map_err(fail)?,
        repeat_interval: duration(
            &config.repeat_interval,
            "repeat_interval",
            parent.timings.repeat_interval,
        )
        .map_err(fail)?,
    };
    if timings.group_interval.is_zero() {
        return Err(fail(RouteErrorKind::ZeroInterval("group_interval")));
    }
    if timings.repeat_interval.is_zero() {
        return Err(fail(RouteErrorKind::ZeroInterval("repeat_interval")));
    }
    for (field, list) in [
        ("mute_time_intervals", &config.mute_time_intervals),
        ("active_time_intervals", &config.active_time_intervals),
    ] {
        if let Some(name) = list.iter().find(|n| !names.intervals.contains(&n.as_str())) {
            return Err(fail(RouteErrorKind::UnknownTimeInterval {
                field,
                name: name.clone(),
            }));
        }
    }
    let matchers = route_matchers(config).map_err(fail)?;

    let route = MatchedRoute {
        route_id,
        receiver,
        group_by,
        timings,
        // Not inherited, as in Alertmanager.
        mute_time_intervals: config.mute_time_intervals.clone(),
        active_time_intervals: config.active_time_intervals.clone(),
    };
    let children = config
        .routes
        .iter()
        .enumerate()
        .map(|(i, child)| {
            compile_node(
                child,
                &route,
                &format!("{path}.routes[{i}]"),
                format!("{}.{i}", route.route_id),
                depth + 1,
                names,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Node {
        route,
        matchers,
        continue_matching: config.continue_matching,
        children,
    })
}

fn group_by(list: &[String]) -> Result<GroupBy, RouteErrorKind> {
    if list.iter().any(|l| l == GROUP_BY_ALL) {
        return if list.len() == 1 {
            Ok(GroupBy::All)
        } else {
            Err(RouteErrorKind::GroupByAllAndNames)
        };
    }
    let mut seen = std::collections::BTreeSet::new();
    for label in list {
        if label.is_empty() {
            return Err(RouteErrorKind::GroupByEmpty);
        }
        if !seen.insert(label.as_str()) {
            return Err(RouteErrorKind::GroupByDuplicate(label.clone()));
        }
    }
    Ok(GroupBy::Labels(list.to_vec()))
}

fn duration(
    value: &Option<String>,
    field: &'static str,
    inherited: Duration,
) -> Result<Duration, RouteErrorKind> {
    match value {
        None => Ok(inherited),
        Some(s) => parse_duration(s).map_err(|source| RouteErrorKind::Duration { field, source }),
    }
}

/// `matchers`, then the deprecated `match` and `match_re`, all ANDed.
fn route_matchers(config: &RouteConfig) -> Result<Matchers, RouteErrorKind> {
    let mut out = Matchers::default();
    for (i, text) in config.matchers.iter().enumerate() {
        let parsed = Matchers::parse(text).map_err(|source| RouteErrorKind::Matcher {
            field: format!("matchers[{i}]"),
            source,
        })?;
        for m in &parsed {
            out.push(m.clone());
        }
    }
    for (key, map, op) in [
        ("match", &config.match_eq, MatchOp::Equal),
        ("match_re", &config.match_re, MatchOp::Regex),
    ] {
        for (name, value) in map {
            let m = Matcher::new(name, op, value).map_err(|source| RouteErrorKind::Matcher {
                field: format!("{key}.{name}"),
                source,
            })?;
            out.push(m);
        }
    }
    Ok(out)
}
