//! Errors name the template, line and kind of failure, never the data.

use super::super::*;
use super::{CANARY, canary_context, one};

/// Only the canary context (one firing alert) reaches the body: the
/// samples (two alerts, or a resolved one) do not, so each compiles.
fn guarded(body: &str) -> String {
    format!("ok\n{{% if alerts | length == 1 and status == 'firing' %}}\n{body}\n{{% endif %}}")
}

#[test]
fn render_errors_never_contain_alert_text() {
    let failing = [
        (Escape::Text, "{{ alerts[0].summary | int }}"),
        (Escape::Text, "{{ alerts[0].summary | float }}"),
        (Escape::Text, "{{ alerts[0].summary - 1 }}"),
        (Escape::Text, "{{ (alerts[0].labels.n | int) // 0 }}"),
        (Escape::Text, "{{ -(alerts[0].summary) }}"),
        (Escape::Text, "{{ alerts[0].labels[alerts[0].summary] }}"),
        (Escape::Text, "{{ alerts[0].summary.canary }}"),
        (
            Escape::Text,
            "{{ alerts[0].summary | attr(alerts[0].summary) }}",
        ),
        (
            Escape::Text,
            "{% for k, v in alerts[0].summary %}{% endfor %}",
        ),
        (
            Escape::Text,
            "{{ range(alerts[0].labels.n | int * 10) | list }}",
        ),
        (Escape::Text, "{{ alerts[0].summary * 100000000 }}"),
        (Escape::Text, "{{ alerts[0].summary * 5000 }}"),
        (Escape::Html, "{{ alerts[0].summary | frobnicate }}"),
        (
            Escape::SlackMrkdwn,
            "{{ alerts[0].summary ~ alerts[0].labels.missing }}",
        ),
    ];
    let context = canary_context(1);
    let mut errors = Vec::new();
    for (escape, body) in failing {
        let err = one(escape, &guarded(body))
            .render("t", &context)
            .unwrap_err();
        // A refused write loses minijinja's position; all else has one.
        if !matches!(err.kind, RenderErrorKind::OutputTooLarge { .. }) {
            assert_eq!(err.line, Some(3), "{body}: {err}");
        }
        errors.push(err);
    }
    // A JSON body broken by data: the error says where, not what.
    let json = one(
        Escape::Json,
        r#"["{% if alerts | length == 1 and status == 'firing' %}{{ alerts[0].summary | safe }}"{% endif %}"]"#,
    );
    let err = json.render("t", &context).unwrap_err();
    assert!(
        matches!(err.kind, RenderErrorKind::InvalidJson { .. }),
        "{err}"
    );
    errors.push(err);

    for err in errors {
        for shown in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
            assert!(!shown.contains(CANARY), "{shown}");
            assert!(!shown.contains("31337"), "{shown}");
        }
    }
}

#[test]
fn the_engine_detail_would_have_leaked() {
    // Why details are dropped: minijinja quotes operands in some errors.
    let env = minijinja::Environment::new();
    let err = env.render_str("{{ 31337 // 0 }}", ()).unwrap_err();
    assert!(err.to_string().contains("31337"), "{err}");

    let set = one(
        Escape::Text,
        &guarded("{{ (alerts[0].labels.n | int) // 0 }}"),
    );
    let err = set.render("t", &canary_context(1)).unwrap_err();
    assert_eq!(err.line, Some(3));
    assert!(matches!(err.kind, RenderErrorKind::Failed(_)), "{err}");
    assert!(!err.to_string().contains("31337"), "{err}");
}

#[test]
fn error_messages_are_specific() {
    let context = canary_context(1);
    let render = |body: &str| {
        one(Escape::Text, &guarded(body))
            .render("t", &context)
            .unwrap_err()
    };
    assert_eq!(
        render("{{ alerts[0].labels.missing }}").kind,
        RenderErrorKind::Undefined
    );
    assert_eq!(
        render("{{ alerts[0].summary * 100000000 }}").kind,
        RenderErrorKind::OutOfFuel
    );
    let err = render("{{ alerts[0].summary | int }}");
    assert_eq!(
        err.to_string(),
        format!("template `t` line 3: {}", err.kind),
    );
    assert!(err.to_string().starts_with("template `t` line 3: "));
}

#[test]
fn compile_errors_carry_no_rendered_output() {
    // The sample's text is harmless, but the rule is the same: a JSON
    // error says where, not what.
    let err = TemplateSet::compile(&[TemplateSource::new(
        "t",
        Escape::Json,
        "{\"a\": \"{{ alerts[0].summary | safe }}\" x}",
    )])
    .unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::InvalidJson);
    assert!(!err.to_string().contains("Disk almost full"), "{err}");
}
