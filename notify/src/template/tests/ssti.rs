//! Server-side template injection: the classic payloads are refused or
//! inert, and nothing a template does can exhaust the daemon.

use super::super::*;
use super::{alert, canary_context, hostile_context, labels, one};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};
use vigil_store::AlertStatus;

/// Payloads that must not compile, with the kind of refusal.
const REFUSED: &[(&str, TemplateErrorKind)] = &[
    ("{{ ''.__class__ }}", TemplateErrorKind::Undefined),
    (
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        TemplateErrorKind::Undefined,
    ),
    ("{{ self }}", TemplateErrorKind::Undefined),
    ("{{ config }}", TemplateErrorKind::Undefined),
    ("{{ config.items() }}", TemplateErrorKind::Render),
    ("{{ env }}", TemplateErrorKind::Undefined),
    (
        "{{ cycler.__init__.__globals__ }}",
        TemplateErrorKind::Undefined,
    ),
    ("{{ lipsum }}", TemplateErrorKind::Undefined),
    ("{{ request.application }}", TemplateErrorKind::Undefined),
    ("{{ alerts.__len__ }}", TemplateErrorKind::Undefined),
    ("{{ debug() }}", TemplateErrorKind::Render),
    ("{% include '/etc/passwd' %}", TemplateErrorKind::Forbidden),
    ("{% import 'x' as y %}", TemplateErrorKind::Forbidden),
    ("{% extends '/etc/passwd' %}", TemplateErrorKind::Forbidden),
    (
        "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
        TemplateErrorKind::Forbidden,
    ),
    ("{{ range(10**9) | list }}", TemplateErrorKind::Render),
    (
        "{% for i in range(999999999) %}x{% endfor %}",
        TemplateErrorKind::Render,
    ),
    (
        "{% for a in alerts recursive %}{{ loop(alerts) }}{% endfor %}",
        TemplateErrorKind::Forbidden,
    ),
    // Lazily concatenated lists escape fuel once flattened (see `policy`):
    // each way to repeat a concatenation is gone.
    (
        "{% set ns = namespace(x=[1]) %}{% for i in range(40) %}{% set ns.x = ns.x + ns.x %}{% endfor %}",
        TemplateErrorKind::Forbidden,
    ),
    (
        "{% set x = [1] %}{% set x = x | chain(x) %}",
        TemplateErrorKind::Render,
    ),
    ("{{ [[1]] * 2 | sum(start=[]) }}", TemplateErrorKind::Render),
    ("{{ [[1], [2]] | sum([]) }}", TemplateErrorKind::Render),
    ("{{ [[1], [2]] | sum }}", TemplateErrorKind::Render),
    (
        "{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}",
        TemplateErrorKind::Limit,
    ),
    ("{{ 'x' * 100000000 }}", TemplateErrorKind::Limit),
    ("{{ 'x' * 10**9 }}", TemplateErrorKind::Limit),
    (
        "{% for i in range(99999) %}xxxxxxxxxx{% endfor %}",
        TemplateErrorKind::Limit,
    ),
    ("{{ 'x' | indent(1000000000) }}", TemplateErrorKind::Limit),
    (
        "{{ ('x\n' * 1000) | indent(100000) }}",
        TemplateErrorKind::Limit,
    ),
    (
        "{{ [1] | batch(100000000, 'x') | list }}",
        TemplateErrorKind::Limit,
    ),
    (
        "{{ [1] | slice(100000000) | list }}",
        TemplateErrorKind::Limit,
    ),
    (
        "{{ range(99999) | list | length }}",
        TemplateErrorKind::Limit,
    ),
    ("{{ '%s' % 'x' }}", TemplateErrorKind::Render),
];

#[test]
fn injection_payloads_are_refused_at_compile_time() {
    for (source, kind) in REFUSED {
        let started = Instant::now();
        let result = TemplateSet::compile(&[TemplateSource::new("t", Escape::Text, *source)]);
        match result {
            Ok(_) => panic!("{source:?} compiled"),
            Err(err) => assert_eq!(err.kind, *kind, "{source:?}: {err}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{source:?} was slow"
        );
    }
}

#[test]
fn limits_are_named_in_the_message() {
    for (source, needle) in [
        ("{{ 'x' * 100000000 }}", "fuel"),
        (
            "{% for i in range(99999) %}xxxxxxxxxx{% endfor %}",
            "output exceeds the limit of 65536 bytes",
        ),
        (
            "{{ range(100001) | length }}",
            "range has too many elements",
        ),
    ] {
        let err =
            TemplateSet::compile(&[TemplateSource::new("t", Escape::Text, source)]).unwrap_err();
        assert!(err.message.contains(needle), "{source:?}: {err}");
    }
}

#[test]
fn nesting_stops_at_the_recursion_limit() {
    let depth = DEFAULT_RECURSION_LIMIT + 8;
    let source = "{% with a = 1 %}".repeat(depth) + &"{% endwith %}".repeat(depth);
    let err = TemplateSet::compile(&[TemplateSource::new("t", Escape::Text, source)]).unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::Limit);
    assert!(err.message.contains("recursion limit"), "{err}");
}

#[test]
fn concatenation_bombs_are_refused() {
    // minijinja walks lazily concatenated lists without charging fuel:
    // twelve doublings of a 50 kB item took seconds and hundreds of MB
    // through `|string`. No template may concatenate at all.
    let bomb = "{% set x = ['x' * 50000] %}\n".to_owned()
        + &"{% set x = x + x %}\n".repeat(12)
        + "{{ x | string | length }}";
    let started = Instant::now();
    let err = TemplateSet::compile(&[TemplateSource::new("t", Escape::Text, bomb)]).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(err.kind, TemplateErrorKind::Forbidden);
    assert_eq!(err.line, Some(2), "the first `+` is named");
    assert!(err.message.contains("`+` operator"), "{err}");
    assert!(err.message.contains("`~`"), "says what to use: {err}");
    // Strings still join.
    let set = one(Escape::Text, "{{ 'a' ~ receiver ~ 'b' }}");
    let context = Context::sample(AlertStatus::Firing);
    assert!(set.render("t", &context).unwrap().starts_with('a'));

    // `sum` adds numbers, and refuses to concatenate lists.
    let set = one(Escape::Text, "{{ [1, 2, 3] | sum }}");
    assert_eq!(set.render("t", &context).unwrap(), "6");
    let err = TemplateSet::compile(&[TemplateSource::new(
        "t",
        Escape::Text,
        "{{ [[1], [2]] | sum(start=[]) }}",
    )])
    .unwrap_err();
    assert!(err.message.contains("sum only adds numbers"), "{err}");

    // Markers and strings are not operators.
    one(
        Escape::Text,
        &("{%+ if true +%}{{ '+' }}{% endif %}".repeat(40)),
    );
}

#[test]
fn harmless_lookalikes_work() {
    let context = Context::sample(AlertStatus::Firing);
    for (source, expected) in [
        (
            "{{ alerts[0].labels | tojson }}",
            r#"{"alertname": "DiskFull", "instance": "db1", "job": "node"}"#,
        ),
        ("{{ '%s' | format('x') }}", "x"),
        ("{{ range(3) | list }}", "[0, 1, 2]"),
        ("{{ 'ab' * 3 }}", "ababab"),
        ("{{ [1, 2, 3] | sum }}", "6"),
        ("{{ counts.firing * 2 - counts.resolved }}", "1"),
    ] {
        assert_eq!(
            one(Escape::Text, source).render("t", &context).unwrap(),
            expected,
            "{source}"
        );
    }
}

#[test]
fn nested_loops_over_a_large_group_run_out_of_fuel() {
    // Harmless for the two sample alerts, cubic for a real storm.
    let set = one(
        Escape::Text,
        "{% for a in alerts %}{% for b in alerts %}{% for c in alerts %}{% endfor %}{% endfor %}{% endfor %}",
    );
    let alerts: Vec<_> = (0..300)
        .map(|i| alert(AlertStatus::Firing, &format!("{i}"), &[]))
        .collect();
    let context = Context::from_alerts("r", labels(&[]), &alerts);
    let started = Instant::now();
    let err = set.render("t", &context).unwrap_err();
    assert_eq!(err.kind, RenderErrorKind::OutOfFuel);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn output_over_the_cap_is_an_error_never_a_truncation() {
    let set = one(
        Escape::Text,
        "{% for a in alerts %}{{ a.summary }}{% endfor %}",
    );
    let big = "y".repeat(10_000);
    let alerts: Vec<_> = (0..7)
        .map(|_| alert(AlertStatus::Firing, &big, &[]))
        .collect();
    let context = Context::from_alerts("r", labels(&[]), &alerts);
    let err = set.render("t", &context).unwrap_err();
    assert_eq!(
        err.kind,
        RenderErrorKind::OutputTooLarge {
            limit: DEFAULT_MAX_OUTPUT
        }
    );
    // Six fit.
    let context = Context::from_alerts("r", labels(&[]), &alerts[..6]);
    assert_eq!(set.render("t", &context).unwrap().len(), 60_000);
}

#[test]
fn limits_are_configurable_and_exact() {
    let limits = Limits {
        max_output: 10,
        ..Limits::default()
    };
    let compile = |source: &str| {
        TemplateSet::compile_with_limits(&[TemplateSource::new("t", Escape::Text, source)], limits)
    };
    let set = compile("0123456789").unwrap();
    assert_eq!(set.limits(), limits);
    let err = compile("0123456789x").unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::Limit);

    let tight = Limits {
        fuel: 50,
        ..Limits::default()
    };
    let err = TemplateSet::compile_with_limits(
        &[TemplateSource::new(
            "t",
            Escape::Text,
            "{% for i in range(100) %}{{ i }}{% endfor %}",
        )],
        tight,
    )
    .unwrap_err();
    assert!(err.message.contains("fuel"), "{err}");
}

#[test]
fn rendering_never_panics_across_the_corpus() {
    let extra = [
        "{{ alerts[0].summary[::-1] }}",
        "{{ alerts[-1].labels | dictsort | reverse | list }}",
        "{{ alerts | map(attribute='labels') | map('tojson') | join }}",
        "{{ alerts | groupby('status') | list }}",
        "{{ alerts[0].summary | wordcount }}",
        "{{ alerts[0].summary | format(1, 2, 3) }}",
        "{{ alerts[0].summary[:10**18] }}",
        "{{ alerts[10**18] }}",
        "{{ 10**400 }}",
        "{{ -9223372036854775808 // -1 }}",
        "{{ 1 / 0 }}",
        "{{ alerts | sum }}",
        "{{ alerts | sort(attribute='summary') | first }}",
        "{{ ((((((((((((((((((((1)))))))))))))))))))) }}",
        "{{ alerts[0].summary | pprint }}",
        "{% set ns = namespace(x=[]) %}{% for i in range(1000) %}{% set ns.x = ns.x + ns.x + [i] %}{% endfor %}",
    ];
    let contexts = [
        Context::sample(AlertStatus::Firing),
        hostile_context(),
        canary_context(50),
    ];
    for source in REFUSED.iter().map(|(source, _)| *source).chain(extra) {
        for escape in [
            Escape::Json,
            Escape::Html,
            Escape::SlackMrkdwn,
            Escape::Text,
        ] {
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let compiled = TemplateSet::compile(&[TemplateSource::new("t", escape, source)]);
                if let Ok(set) = compiled {
                    for context in &contexts {
                        let _ = set.render("t", context);
                    }
                }
            }));
            assert!(outcome.is_ok(), "{source:?} panicked with {escape:?}");
        }
    }
}
