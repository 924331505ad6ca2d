//! Each channel's escaping keeps alert text inert, and JSON output always
//! parses.

use super::super::escape::{json_string, slack_mrkdwn};
use super::super::*;
use super::{HOSTILE, alert, hostile_context, labels, one};
use vigil_store::AlertStatus;

fn render(escape: Escape, source: &str, context: &Context) -> Result<String, RenderError> {
    one(escape, source).render("t", context)
}

#[test]
fn json_interpolation_stays_inside_the_string() {
    let out = render(
        Escape::Json,
        r#"{"text": "{{ alerts[0].summary }}", "label": "{{ alerts[0].labels.instance }}"}"#,
        &hostile_context(),
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["text"], HOSTILE);
    assert_eq!(json["label"], HOSTILE);
    // Also safe to embed in HTML: no raw tags, no raw line separators.
    assert!(!out.contains("</script>") && !out.contains('<'), "{out}");
    assert!(!out.contains('\n') && !out.contains('\u{2028}'), "{out}");
}

#[test]
fn json_output_parses_for_every_character() {
    let set = one(
        Escape::Json,
        r#"["{{ alerts[0].summary }}", "{{ alerts[0].labels.instance }}"]"#,
    );
    let specials = [
        'é',
        '€',
        '😀',
        '\u{2028}',
        '\u{2029}',
        '\u{feff}',
        '\u{fffd}',
        '\u{10ffff}',
    ];
    for c in (0u8..=0x7f).map(char::from).chain(specials) {
        let text = format!("a{c}b{c}{c}\\{c}\"");
        let context = Context::from_alerts(
            "r",
            labels(&[]),
            &[alert(AlertStatus::Firing, &text, &[("instance", &text)])],
        );
        let out = set.render("t", &context).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|err| panic!("{c:?}: {err}: {out}"));
        assert_eq!(json[0], text.as_str(), "{c:?}");
        assert_eq!(json[1], text.as_str(), "{c:?}");
    }
}

#[test]
fn json_numbers_and_tojson_pass_through() {
    let out = render(
        Escape::Json,
        r#"{"firing": {{ counts.firing }}, "labels": {{ alerts[0].labels | tojson }}, "escaped": "{{ alerts[0].summary | e }}"}"#,
        &hostile_context(),
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["firing"], 1);
    assert_eq!(json["labels"]["instance"], HOSTILE);
    // `| e` escapes once, in the template's own mode.
    assert_eq!(json["escaped"], HOSTILE);
}

#[test]
fn an_unescaped_json_value_is_still_caught_by_validation() {
    // `| safe` is the operator's opt-out; the sample is harmless so it
    // compiles, but hostile text cannot turn the body into other JSON.
    let err = render(
        Escape::Json,
        r#"{"text": "{{ alerts[0].summary | safe }}"}"#,
        &hostile_context(),
    )
    .unwrap_err();
    assert!(
        matches!(err.kind, RenderErrorKind::InvalidJson { line: 1, .. }),
        "{err}"
    );
}

#[test]
fn html_escapes_markup() {
    let out = render(
        Escape::Html,
        "<p>{{ alerts[0].summary }}</p>",
        &hostile_context(),
    )
    .unwrap();
    assert!(out.starts_with("<p>&quot;quoted&quot;"), "{out}");
    assert!(out.contains("&lt;&#x2f;script&gt;&lt;script&gt;"), "{out}");
    assert!(out.contains("&lt;!channel&gt;"), "{out}");
    assert!(out.contains("&amp; {{ 7*7 }}"), "{out}");
    assert_eq!(out.matches('<').count(), 2, "{out}");
}

#[test]
fn slack_escapes_exactly_its_three_characters() {
    let out = render(
        Escape::SlackMrkdwn,
        "{{ alerts[0].summary }}",
        &hostile_context(),
    )
    .unwrap();
    let expected = HOSTILE
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    assert_eq!(out, expected);
    assert!(out.contains("&lt;!channel&gt; &lt;https://evil.example|click&gt;"));
    // The template's own markup is not escaped.
    let out = render(
        Escape::SlackMrkdwn,
        "{% if external_url %}<{{ external_url }}|open>{% endif %} {{ alerts[0].labels.instance }}",
        &hostile_context().with_external_url("https://vigil.example/?a=1&b=2"),
    )
    .unwrap();
    assert!(
        out.starts_with("<https://vigil.example/?a=1&amp;b=2|open> "),
        "{out}"
    );
}

#[test]
fn text_writes_values_as_they_are() {
    let out = render(Escape::Text, "{{ alerts[0].summary }}", &hostile_context()).unwrap();
    assert_eq!(out, HOSTILE);
}

#[test]
fn template_syntax_in_data_is_never_evaluated() {
    let context = Context::from_alerts(
        "r",
        labels(&[]),
        &[alert(
            AlertStatus::Firing,
            "{{ 7*7 }}",
            &[("instance", "{% for x in range(9) %}x{% endfor %}")],
        )],
    );
    for escape in [
        Escape::Json,
        Escape::Html,
        Escape::SlackMrkdwn,
        Escape::Text,
    ] {
        let source = match escape {
            Escape::Json => r#"["{{ alerts[0].summary }}", "{{ alerts[0].labels.instance }}"]"#,
            _ => "{{ alerts[0].summary }} {{ alerts[0].labels.instance }}",
        };
        let out = render(escape, source, &context).unwrap();
        assert!(out.contains("{{ 7*7 }}"), "{escape:?}: {out}");
        assert!(out.contains("{% for x in range(9) %}"), "{escape:?}: {out}");
        assert!(
            !out.contains("49") && !out.contains("xxxxxxxxx"),
            "{escape:?}: {out}"
        );
    }
}

#[test]
fn escape_functions_by_example() {
    let mut out = String::new();
    json_string("a\"b\\c\n\u{1}<&>'\u{2028}😀", &mut out).unwrap();
    assert_eq!(
        out,
        "a\\\"b\\\\c\\n\\u0001\\u003c\\u0026\\u003e\\u0027\\u2028😀"
    );
    let mut out = String::new();
    slack_mrkdwn("<!here> & <b|c>", &mut out).unwrap();
    assert_eq!(out, "&lt;!here&gt; &amp; &lt;b|c&gt;");
}
