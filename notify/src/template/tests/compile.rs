//! Compiling a set catches an operator's mistakes at config load, with the
//! template's name and line.

use super::super::*;
use super::one;
use vigil_store::AlertStatus;

fn compile_err(escape: Escape, source: &str) -> TemplateError {
    match TemplateSet::compile(&[TemplateSource::new("t", escape, source)]) {
        Ok(_) => panic!("{source:?} should not compile"),
        Err(err) => err,
    }
}

#[test]
fn a_syntax_error_reports_its_line() {
    let err = compile_err(Escape::Text, "fine\nstill fine\n{% if %}oops{% endif %}\n");
    assert_eq!(err.kind, TemplateErrorKind::Syntax);
    assert_eq!(err.name, "t");
    assert_eq!(err.line, Some(3));
    assert!(
        err.to_string()
            .starts_with("template `t` line 3: syntax error"),
        "{err}"
    );
}

#[test]
fn an_undefined_variable_fails_at_compile_time_with_its_line() {
    let err = compile_err(Escape::Text, "{{ receiver }}\n\n{{ recevier }}");
    assert_eq!(err.kind, TemplateErrorKind::Undefined);
    assert_eq!(err.line, Some(3));
    assert!(err.message.contains("unknown variable `recevier`"), "{err}");
    assert!(
        err.message.contains("the context has receiver, status"),
        "{err}"
    );
}

#[test]
fn an_undefined_field_fails_at_compile_time() {
    let err = compile_err(
        Escape::Text,
        "{% for a in alerts %}\n{{ a.sumary }}\n{% endfor %}",
    );
    assert_eq!(err.kind, TemplateErrorKind::Undefined);
    assert_eq!(err.line, Some(2));
    assert!(err.message.contains("is defined"), "{err}");
}

#[test]
fn optional_fields_must_be_guarded() {
    // The firing sample has an incident, the resolved one does not.
    let err = compile_err(Escape::Text, "{{ incident.id }}");
    assert_eq!(err.kind, TemplateErrorKind::Undefined);
    assert!(err.message.contains("resolved sample"), "{err}");
    let set = one(
        Escape::Text,
        "{% if incident %}{{ incident.id }}{% endif %}",
    );
    assert_eq!(
        set.render("t", &Context::sample(AlertStatus::Firing))
            .unwrap(),
        "inc-1"
    );
}

#[test]
fn missing_labels_can_be_defaulted_or_tested() {
    let set = one(
        Escape::Text,
        "{{ alerts[0].labels.team | default('none') }} \
         {{ 'y' if alerts[0].labels.team is defined else 'n' }}",
    );
    assert_eq!(
        set.render("t", &Context::sample(AlertStatus::Firing))
            .unwrap(),
        "none n"
    );
}

#[test]
fn json_templates_must_render_valid_json() {
    let err = compile_err(Escape::Json, "{\"text\": {{ receiver }}}");
    assert_eq!(err.kind, TemplateErrorKind::InvalidJson);
    assert!(err.message.contains("not valid JSON"), "{err}");
    one(Escape::Json, "{\"text\": \"{{ receiver }}\"}");
}

#[test]
fn unknown_filters_and_methods_are_reported() {
    let err = compile_err(Escape::Text, "{{ receiver | frobnicate }}");
    assert_eq!(err.kind, TemplateErrorKind::Render);
    assert!(err.message.contains("unknown filter"), "{err}");
    let err = compile_err(Escape::Text, "{{ receiver.upper() }}");
    assert!(err.message.contains("unknown method"), "{err}");
}

#[test]
fn include_import_and_extends_are_refused_as_policy() {
    for source in [
        "{% include 'other' %}",
        "{% import 'other' as o %}",
        "{% from 'other' import x %}",
        "{% extends 'other' %}",
        "{% block b %}{% endblock %}",
        "{% macro m() %}{% endmacro %}",
    ] {
        // Even with a template of that name in the same set.
        let entries = [
            TemplateSource::new("other", Escape::Text, "x"),
            TemplateSource::new("t", Escape::Text, source),
        ];
        let err = TemplateSet::compile(&entries).unwrap_err();
        assert_eq!(err.kind, TemplateErrorKind::Forbidden, "{source}");
        assert_eq!(err.line, Some(1), "{source}");
        assert!(err.message.contains("not available"), "{source}: {err}");
    }
}

#[test]
fn names_are_unique_and_plain() {
    let entries = [
        TemplateSource::new("a", Escape::Text, "x"),
        TemplateSource::new("a", Escape::Html, "y"),
    ];
    let err = TemplateSet::compile(&entries).unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::Duplicate);

    for name in [
        "",
        "a b",
        "a/b",
        "line\nbreak",
        &"x".repeat(MAX_NAME_LEN + 1),
    ] {
        let err =
            TemplateSet::compile(&[TemplateSource::new(name, Escape::Text, "x")]).unwrap_err();
        assert_eq!(err.kind, TemplateErrorKind::InvalidName, "{name:?}");
        assert!(!err.to_string().contains('\n'), "{err}");
    }
    TemplateSet::compile(&[TemplateSource::new("team-a.slack_v2", Escape::Text, "x")]).unwrap();
}

#[test]
fn oversized_sources_are_refused() {
    let source = "x".repeat(MAX_SOURCE_LEN + 1);
    let err = compile_err(Escape::Text, &source);
    assert_eq!(err.kind, TemplateErrorKind::TooLarge);
}

#[test]
fn an_unknown_template_is_a_render_error() {
    let err = TemplateSet::builtin()
        .render("nope", &Context::sample(AlertStatus::Firing))
        .unwrap_err();
    assert_eq!(err.kind, RenderErrorKind::UnknownTemplate);
    assert_eq!(err.template, "nope");
}

#[test]
fn block_tags_leave_no_blank_lines() {
    let set = one(
        Escape::Text,
        "{% for a in alerts %}\n  {% if a.status == 'firing' %}\n{{ a.summary }}\n  {% endif %}\n{% endfor %}\n",
    );
    assert_eq!(
        set.render("t", &Context::sample(AlertStatus::Firing))
            .unwrap(),
        "Disk almost full on db1\n"
    );
}

#[test]
fn a_set_is_shareable_and_its_debug_shows_names_only() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TemplateSet>();
    let debug = format!(
        "{:?}",
        one(Escape::Text, "secret-looking source {{ receiver }}")
    );
    assert!(debug.contains("\"t\": Text"), "{debug}");
    assert!(!debug.contains("secret-looking"), "{debug}");
}

#[test]
fn escape_names_deserialize_from_config() {
    let source: TemplateSource = serde_json::from_str(
        r#"{"name": "x", "source": "{{ status }}", "escape": "slack_mrkdwn"}"#,
    )
    .unwrap();
    assert_eq!(source.escape, Escape::SlackMrkdwn);
}
