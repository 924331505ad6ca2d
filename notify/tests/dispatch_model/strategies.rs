//! Random configurations and histories: small label sets over four names
//! and three values (and the empty value), so matches, groups and
//! inhibitions collide often.

use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};
use vigil_store::Labels;

use super::model::{M, Pattern, Route, Rule, Test};
use super::{NAMES, RECEIVERS};

fn label_value() -> impl Strategy<Value = &'static str> {
    prop_oneof![6 => select(vec!["x", "y", "z"]), 1 => Just("")]
}

fn pattern() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        3 => subsequence(vec!["", "x", "y", "z"], 1..=3).prop_map(Pattern::OneOf),
        1 => Just(Pattern::Anything),
        1 => Just(Pattern::NonEmpty),
    ]
}

fn matcher() -> impl Strategy<Value = M> {
    let test = prop_oneof![
        3 => label_value().prop_map(Test::Eq),
        1 => label_value().prop_map(Test::Ne),
        2 => pattern().prop_map(Test::Re),
        1 => pattern().prop_map(Test::NotRe),
    ];
    (select(NAMES.to_vec()), test).prop_map(|(name, test)| M { name, test })
}

fn group_by() -> impl Strategy<Value = Option<Vec<&'static str>>> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(vec![])),
        1 => Just(Some(vec!["..."])),
        3 => subsequence(NAMES.to_vec(), 1..=2).prop_map(Some),
    ]
}

fn route(depth: u32) -> BoxedStrategy<Route> {
    let children = if depth < 2 {
        prop::collection::vec(route(depth + 1), 0..3).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (
        prop::option::of(select(RECEIVERS.to_vec())),
        group_by(),
        prop::collection::vec(matcher(), 0..3),
        any::<bool>(),
        prop::option::of(select(vec![0i64, 5, 30])),
        prop::option::of(select(vec![10i64, 60])),
        prop::option::of(select(vec![30i64, 90, 3600])),
        (interval_names(), interval_names()),
        children,
    )
        .prop_map(
            |(
                receiver,
                group_by,
                matchers,
                continues,
                wait,
                interval,
                repeat,
                (mute, active),
                routes,
            )| {
                Route {
                    receiver,
                    group_by,
                    matchers,
                    continues,
                    wait,
                    interval,
                    repeat,
                    mute,
                    active,
                    routes,
                }
            },
        )
        .boxed()
}

fn interval_names() -> impl Strategy<Value = Vec<&'static str>> {
    prop_oneof![
        3 => Just(Vec::new()),
        1 => subsequence(vec!["early", "late"], 1..=2),
    ]
}

fn tree() -> impl Strategy<Value = Route> {
    // The root takes every alert and is never muted: a receiver, no
    // matchers, no continue, no time intervals.
    route(0).prop_map(|mut root| {
        root.receiver = Some("r0");
        root.matchers.clear();
        root.continues = false;
        root.mute.clear();
        root.active.clear();
        root
    })
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        prop::collection::vec(matcher(), 1..3),
        prop::collection::vec(matcher(), 1..3),
        subsequence(NAMES.to_vec(), 0..=2),
    )
        .prop_map(|(source, target, equal)| Rule {
            source,
            target,
            equal,
        })
}

fn labels() -> impl Strategy<Value = Labels> {
    prop::collection::btree_map(select(NAMES.to_vec()), label_value(), 0..=4).prop_map(|m| {
        m.into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    })
}

#[derive(Clone, Debug)]
pub enum Step {
    /// The alert fires (again); it started `started` seconds ago, if the
    /// source said, and its lifetime ends `ends_in` seconds from now.
    Fire {
        alert: Index,
        started: Option<i64>,
        ends_in: Option<i64>,
    },
    Resolve {
        alert: Index,
    },
    /// Its lifetime ended now (the daemon resolves it).
    Expire {
        alert: Index,
    },
    /// Time passes: with `punctual`, a tick at every due time (the daemon
    /// awake); without, one late tick at the end (it was suspended).
    Advance {
        secs: i64,
        punctual: bool,
    },
    /// A silence from `from` seconds from now, for `len` seconds.
    Silence {
        matchers: Vec<M>,
        from: i64,
        len: i64,
    },
    /// An operator expires a silence now.
    EndSilence {
        which: Index,
    },
    /// The groups are saved and loaded (a daemon restart).
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (
            any::<Index>(),
            prop::option::of(select(vec![0i64, 5, 10, 30, 60])),
            prop::option::of(select(vec![0i64, 20, 100])),
        )
            .prop_map(|(alert, started, ends_in)| Step::Fire { alert, started, ends_in }),
        3 => any::<Index>().prop_map(|alert| Step::Resolve { alert }),
        1 => any::<Index>().prop_map(|alert| Step::Expire { alert }),
        5 => (select(vec![1i64, 5, 10, 30, 60, 200]), any::<bool>())
            .prop_map(|(secs, punctual)| Step::Advance { secs, punctual }),
        2 => (
            prop::collection::vec(matcher(), 0..3),
            select(vec![-10i64, 0, 5, 30]),
            select(vec![0i64, 10, 60, 600]),
        )
            .prop_map(|(matchers, from, len)| Step::Silence { matchers, from, len }),
        1 => any::<Index>().prop_map(|which| Step::EndSilence { which }),
        1 => Just(Step::Restart),
    ]
}

#[derive(Clone, Debug)]
pub struct Case {
    pub tree: Route,
    pub rules: Vec<Rule>,
    /// Up to 24, so one group can outgrow a small group's 16.
    pub pool: Vec<Labels>,
    pub steps: Vec<Step>,
}

pub fn case() -> impl Strategy<Value = Case> {
    (
        tree(),
        prop::collection::vec(rule(), 0..3),
        prop::collection::vec(labels(), 1..24),
        prop::collection::vec(step(), 1..40),
    )
        .prop_map(|(tree, rules, pool, steps)| Case {
            tree,
            rules,
            pool,
            steps,
        })
}
