//! The template compiler and renderer (`vigil_notify::template`).
//!
//! Input: one byte choosing the escape (JSON, HTML, Slack, text), then the
//! template source (UTF-8, lossily).
//!
//! Checked:
//! * compiling never panics and ends within the limits (fuel, recursion,
//!   output); a refusal names the template and a line inside its source;
//! * a template that compiles renders both sample contexts it was checked
//!   with, the same way each time, within the output cap, and a JSON
//!   template's output parses;
//! * rendering a context full of hostile alert text (quotes, markup,
//!   template syntax, Slack mentions, control characters, long values)
//!   either fails with an error that quotes none of it, or gives output
//!   within the cap that, for a JSON template, still parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use vigil_notify::template::{
    Context, DEFAULT_MAX_OUTPUT, Escape, MAX_SOURCE_LEN, TemplateErrorKind, TemplateSet,
    TemplateSource,
};
use vigil_store::{Alert, AlertStatus, Labels, Severity};

const NAME: &str = "fuzz";
/// In every hostile value, so that an error quoting one is seen.
const CANARY: &str = "CANARYtmpl";

fn hostile_text(i: usize) -> String {
    let pieces = [
        "\"quoted\" \\back\\slash",
        "</script><b onclick='x'>&amp;</b>",
        "{{ 7*7 }} {% if true %}x{% endif %} {# c #}",
        "<!channel> <@U123> <https://evil.example|click>",
        "line\nbreak\ttab\u{0}nul\u{2028}sep\u{7f}",
        "\u{1F512} é ß 日本",
    ];
    format!("{CANARY}{i} {}", pieces[i % pieces.len()])
}

fn labels(seed: usize) -> Labels {
    (0..4)
        .map(|i| {
            let key = if i == 0 {
                "alertname".to_string()
            } else {
                format!("{CANARY}key{i}")
            };
            (key, hostile_text(seed + i))
        })
        .collect()
}

/// A group of alerts whose every string is hostile.
static HOSTILE: LazyLock<Context> = LazyLock::new(|| {
    let alerts: Vec<Alert> = (0..3)
        .map(|i| Alert {
            fingerprint: format!("{CANARY}fp{i}"),
            status: if i == 2 {
                AlertStatus::Resolved
            } else {
                AlertStatus::Firing
            },
            severity: Severity::Critical,
            summary: hostile_text(i) + &"x".repeat(2000 * i),
            labels: labels(i),
            annotations: labels(i + 3),
            starts_at: Some(1_737_540_000_000_000),
            ends_at: (i == 2).then_some(1_737_540_060_000_000),
            links: vec![format!("https://example.com/{CANARY}?q=\"<x>\"")],
        })
        .collect();
    Context::from_alerts(hostile_text(9), labels(7), &alerts)
        .with_external_url(format!("https://vigil.example/{CANARY}"))
});

fn check_output(escape: Escape, out: &str) {
    assert!(
        out.len() <= DEFAULT_MAX_OUTPUT,
        "output of {} bytes",
        out.len()
    );
    if escape == Escape::Json {
        // JSON's grammar; a number beyond f64's range (`1e999`) is JSON
        // too, though a reader into f64 may refuse it.
        serde_json::from_str::<serde::de::IgnoredAny>(out).expect("a JSON template renders JSON");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, source)) = data.split_first() else {
        return;
    };
    let escape = [
        Escape::Json,
        Escape::Html,
        Escape::SlackMrkdwn,
        Escape::Text,
    ][usize::from(which) % 4];
    let source = String::from_utf8_lossy(source).into_owned();
    let set = match TemplateSet::compile(&[TemplateSource::new(NAME, escape, source.clone())]) {
        Ok(set) => set,
        Err(e) => {
            assert_eq!(e.name, NAME);
            assert!(!e.message.is_empty());
            if let Some(line) = e.line {
                let lines = source.split('\n').count();
                assert!((1..=lines).contains(&line), "line {line} of {lines}: {e}");
            }
            if e.kind == TemplateErrorKind::TooLarge {
                assert!(source.len() > MAX_SOURCE_LEN);
            }
            return;
        }
    };
    assert!(source.len() <= MAX_SOURCE_LEN);

    for status in [AlertStatus::Firing, AlertStatus::Resolved] {
        let sample = Context::sample(status);
        let out = set
            .render(NAME, &sample)
            .unwrap_or_else(|e| panic!("compiled, but the {status:?} sample fails: {e}"));
        check_output(escape, &out);
        assert_eq!(
            set.render(NAME, &sample).ok(),
            Some(out),
            "not deterministic"
        );
    }

    match set.render(NAME, &HOSTILE) {
        Ok(out) => check_output(escape, &out),
        Err(e) => {
            let shown = format!("{e} {e:?}");
            assert!(
                !shown.contains(CANARY),
                "an error quotes alert text: {shown}"
            );
        }
    }
});
