//! The notification policy, with Prometheus Alertmanager's documented
//! semantics so an Alertmanager configuration ports key for key:
//!
//! * matchers ([`matcher`]): `name=value`, `name!=value`, `name=~re`,
//!   `name!~re`;
//! * the route tree ([`tree`]): receiver, grouping, timers, `continue`,
//!   inheritance, and matching an alert to its routes;
//! * group labels and keys ([`group`]);
//! * aggregation groups and their timers ([`dispatch`]): `group_wait`,
//!   `group_interval`, `repeat_interval`;
//! * inhibit rules ([`inhibit`]);
//! * silences ([`silence`]);
//! * named time intervals muting or activating routes ([`time`]);
//! * all of it from one configuration ([`policy`]).
//!
//! Everything here is pure: no clock is read and no I/O is done (save
//! `jiff` reading the time zone database when a time interval names a
//! zone), so the daemon and the tests choose every instant.
//!
//! # Differences from Alertmanager
//!
//! Deliberate, each for safety or predictability:
//!
//! * **Matchers.** A regex must be valid on its own before it is anchored
//!   as `^(?:re)$` (Alertmanager anchors unchecked, so `a)|(b` becomes the
//!   unanchored `^(?:a)|(b)$`); regexes use Rust's `regex` syntax (RE2
//!   like Go's, but `\d`, `\w` and `\b` are Unicode-aware) under size
//!   limits. Quoted strings know the escapes `\\`, `\"`, `\n`, `\r`, `\t`
//!   (Go's unquoting knows more). A bare value may contain `=`, `!` and
//!   `~`. An empty matcher string, or `{}`, is refused.
//! * **Routes.** A route's id is its position (`0.1.0`), and group keys
//!   start with it rather than with the route's matchers, so sibling routes
//!   with equal matchers keep separate groups; reordering routes starts
//!   new groups. Routes nest at most [`tree::MAX_DEPTH`] deep. The
//!   deprecated `match` and `match_re` are still read.
//! * **Grouping.** A label with an empty value counts as missing, as in
//!   matching. A child route's `group_by: []` inherits its parent's, as
//!   Alertmanager read it until its 2025 fix (prometheus/alertmanager#4825)
//!   made an explicit empty list mean one group for the route.
//! * **Notifying.** Every receiver is treated as `send_resolved: true`
//!   (a group is notified when one of its alerts resolves; an integration
//!   that does not want resolved alerts drops them). `repeat_interval` is
//!   honoured at the first tick at or after it elapses; Alertmanager
//!   compares against the end of the previous send and so repeats one
//!   `group_interval` later than configured. The record of the last
//!   notification lives with its group and goes when the group does
//!   (Alertmanager keeps its notification log for days); this only matters
//!   for an alert that resolved unannounced during a mute and fires again.
//!   Alerts resolve by their status, not by `ends_at` or a resolve timeout:
//!   the daemon records an alert whose lifetime ended as a resolved copy
//!   ([`Dispatcher::expire`]), so the log says when and why it resolved.
//! * **Inhibition.** A rule needs at least one source and one target
//!   matcher (an empty side matches every alert).
//! * **Silences.** A silence mutes up to its `ends_at`, exclusive;
//!   Alertmanager's is still active at that very instant.
//! * **Time intervals.** `location: Local` is refused (name the zone).
//!
//! Alertmanager's `receivers`, `templates` and `global` are not part of
//! this module; the daemon configures receivers and passes their names.

pub mod dispatch;
pub mod duration;
pub mod group;
mod held;
pub mod inhibit;
pub mod matcher;
pub mod policy;
pub mod silence;
mod syntax;
pub mod time;
pub mod tree;

#[cfg(test)]
mod tests;

pub use dispatch::{Dispatcher, Flush, Gate, GroupState, Ungated};
pub use duration::{DurationError, format_duration, parse_duration};
pub use group::{GroupKey, group_labels};
pub use held::Held;
pub use inhibit::{InhibitError, InhibitRule, InhibitRuleConfig, Inhibitor};
pub use matcher::{MatchOp, Matcher, MatcherError, MatcherErrorKind, Matchers, RegexError};
pub use policy::{Policy, PolicyConfig, PolicyError, PolicyGate, Suppression};
pub use silence::{Silence, SilenceError};
pub use time::{
    RangeItem, TimeInterval, TimeIntervalConfig, TimeIntervalError, TimeIntervals,
    TimePeriodConfig, TimeRangeConfig,
};
pub use tree::{
    GroupBy, MatchedRoute, RouteConfig, RouteError, RouteErrorKind, RouteTree, Timings,
};
