//! Alertmanager's inline Go templates (a Slack `text`, an email subject,
//! a PagerDuty `description`) translated to Vigil's minijinja where that
//! can be done faithfully: text with `{{ .Status }}`, `.Receiver`,
//! `.GroupKey`, `.ExternalURL`, `.GroupLabels.X`, `.CommonLabels.X`,
//! `.CommonAnnotations.X`, `index .CommonLabels "x"`, `len .Alerts` (also
//! `.Alerts.Firing`, `.Alerts.Resolved`) and the `toUpper`, `toLower`,
//! `title` functions. Anything else (`range`, `if`, a `define`d template)
//! is reported and the field keeps Vigil's default.

/// What a Go template becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translated {
    /// Alertmanager's own default for the field (`{{ template
    /// "slack.default.text" . }}`): Vigil's default stands in.
    Default,
    /// The minijinja source.
    Source(String),
}

/// Translates `go`, or says why it cannot be.
pub fn translate(go: &str) -> Result<Translated, String> {
    if is_default(go) {
        return Ok(Translated::Default);
    }
    let segments = segments(go)?;
    let mut out = String::new();
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Text(text) => {
                let mut text = text.as_str();
                if i > 0
                    && matches!(
                        segments[i - 1],
                        Segment::Action {
                            trim_right: true,
                            ..
                        }
                    )
                {
                    text = text.trim_start();
                }
                if matches!(
                    segments.get(i + 1),
                    Some(Segment::Action {
                        trim_left: true,
                        ..
                    })
                ) {
                    text = text.trim_end();
                }
                literal(text, &mut out);
            }
            Segment::Action { body, .. } => {
                let body = body.trim();
                if body.starts_with("/*") && body.ends_with("*/") {
                    continue;
                }
                out.push_str("{{ ");
                out.push_str(&expression(body)?);
                out.push_str(" }}");
            }
        }
    }
    Ok(Translated::Source(out))
}

/// Whether `go` is `{{ template "NS.default.FIELD" . }}`.
fn is_default(go: &str) -> bool {
    let Some(inner) = go
        .trim()
        .strip_prefix("{{")
        .and_then(|s| s.strip_suffix("}}"))
    else {
        return false;
    };
    let words: Vec<&str> = inner.trim_matches(['-', ' ']).split_whitespace().collect();
    matches!(words.as_slice(), ["template", name, "."]
        if name.starts_with('"') && name.ends_with('"') && name.contains(".default."))
}

enum Segment {
    Text(String),
    Action {
        body: String,
        trim_left: bool,
        trim_right: bool,
    },
}

fn segments(go: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut rest = go;
    while let Some(start) = rest.find("{{") {
        out.push(Segment::Text(rest[..start].to_string()));
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "it has an unclosed `{{`".to_string())?;
        let mut body = &after[..end];
        let trim_left = body.starts_with("- ");
        if trim_left {
            body = &body[2..];
        }
        let trim_right = body.ends_with(" -");
        if trim_right {
            body = &body[..body.len() - 2];
        }
        out.push(Segment::Action {
            body: body.to_string(),
            trim_left,
            trim_right,
        });
        rest = &after[end + 2..];
    }
    out.push(Segment::Text(rest.to_string()));
    Ok(out)
}

/// Literal text; wrapped in `{% raw %}` when minijinja would read part of
/// it as syntax.
fn literal(text: &str, out: &mut String) {
    if text.is_empty() {
        return;
    }
    let syntax = ["{{", "{%", "{#", "%}", "#}"]
        .iter()
        .any(|s| text.contains(s))
        || text.ends_with('{');
    if syntax {
        out.push_str("{% raw %}");
        out.push_str(text);
        out.push_str("{% endraw %}");
    } else {
        out.push_str(text);
    }
}

/// What an operand is, so `len` and printing can be checked.
enum Operand {
    /// Something printable, as a minijinja expression.
    Text(String),
    /// A list of alerts: the count to use for its length.
    Alerts(&'static str),
}

fn expression(body: &str) -> Result<String, String> {
    if body.contains('"') && !body.matches('"').count().is_multiple_of(2) {
        return Err("it has an unbalanced quote".into());
    }
    let mut stages = body.split('|').map(str::trim);
    let first = stages.next().unwrap_or_default();
    let mut value = call(&words(first))?;
    for stage in stages {
        value = apply(&words(stage), value)?;
    }
    match value {
        Operand::Text(expr) => Ok(expr),
        Operand::Alerts(_) => Err("it prints a list of alerts".into()),
    }
}

fn words(stage: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in stage.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The first stage: an operand, or a function applied to arguments.
fn call(words: &[String]) -> Result<Operand, String> {
    match words {
        [one] => operand(one),
        [function, arg] => apply(std::slice::from_ref(function), operand(arg)?),
        [index, map, key] if index == "index" => {
            let map = match map.as_str() {
                ".GroupLabels" => "group_labels",
                ".CommonLabels" => "common_labels",
                ".CommonAnnotations" => "common_annotations",
                _ => return Err(format!("it uses `index` on {map}")),
            };
            let key = unquote(key).ok_or("it uses `index` with a key that is not a string")?;
            Ok(Operand::Text(format!(
                "{map}[{}] | default(\"\")",
                jinja_string(&key)
            )))
        }
        _ => Err(format!(
            "it uses `{}`, which has no automatic translation",
            words.first().map_or("", String::as_str)
        )),
    }
}

/// A function applied to the value so far (`len`, `toUpper`, ...).
fn apply(words: &[String], value: Operand) -> Result<Operand, String> {
    let [function] = words else {
        return Err(format!(
            "it uses `{}` with arguments, which has no automatic translation",
            words.first().map_or("", String::as_str)
        ));
    };
    let filter = match function.as_str() {
        "len" => {
            return match value {
                Operand::Alerts(count) => Ok(Operand::Text(count.to_string())),
                Operand::Text(expr) => Ok(Operand::Text(format!("{expr} | length"))),
            };
        }
        "toUpper" => "upper",
        "toLower" => "lower",
        "title" => "title",
        other => {
            return Err(format!(
                "it uses `{other}`, which has no automatic translation"
            ));
        }
    };
    match value {
        Operand::Text(expr) => Ok(Operand::Text(format!("{expr} | {filter}"))),
        Operand::Alerts(_) => Err(format!("it applies `{function}` to a list of alerts")),
    }
}

fn operand(word: &str) -> Result<Operand, String> {
    if let Some(text) = unquote(word) {
        return Ok(Operand::Text(jinja_string(&text)));
    }
    let text = |s: &str| Ok(Operand::Text(s.to_string()));
    match word {
        ".Status" => return text("status"),
        ".Receiver" => return text("receiver"),
        ".GroupKey" => return text("group_key"),
        ".ExternalURL" => return text("(external_url or \"\")"),
        ".Alerts" => return Ok(Operand::Alerts("counts.total")),
        ".Alerts.Firing" => return Ok(Operand::Alerts("counts.firing")),
        ".Alerts.Resolved" => return Ok(Operand::Alerts("counts.resolved")),
        _ => {}
    }
    for (prefix, map) in [
        (".GroupLabels.", "group_labels"),
        (".CommonLabels.", "common_labels"),
        (".CommonAnnotations.", "common_annotations"),
    ] {
        if let Some(name) = word.strip_prefix(prefix)
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            // A label the group lacks prints as "" in Alertmanager.
            return Ok(Operand::Text(format!(
                "{map}[{}] | default(\"\")",
                jinja_string(name)
            )));
        }
    }
    Err(format!(
        "it uses `{word}`, which has no automatic translation"
    ))
}

fn unquote(word: &str) -> Option<String> {
    let inner = word.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\') && !inner.contains('"')).then(|| inner.to_string())
}

/// A minijinja string literal.
fn jinja_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn source(go: &str) -> String {
        match translate(go).unwrap() {
            Translated::Source(s) => s,
            Translated::Default => panic!("default"),
        }
    }

    #[test]
    fn simple_templates_translate() {
        assert_eq!(source("plain text"), "plain text");
        assert_eq!(
            source("[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}"),
            "[{{ status | upper }}] {{ common_labels[\"alertname\"] | default(\"\") }}"
        );
        assert_eq!(
            source("{{ len .Alerts.Firing }} firing, {{ .Alerts.Resolved | len }} resolved"),
            "{{ counts.firing }} firing, {{ counts.resolved }} resolved"
        );
        assert_eq!(
            source(
                "{{ index .CommonAnnotations \"summary\" }}\n{{- /* note */ -}}\n at {{ .ExternalURL }}"
            ),
            "{{ common_annotations[\"summary\"] | default(\"\") }}at {{ (external_url or \"\") }}"
        );
        assert_eq!(source("100% {#1}"), "{% raw %}100% {#1}{% endraw %}");
    }

    #[test]
    fn defaults_and_the_rest_are_recognised() {
        assert_eq!(
            translate("{{ template \"slack.default.text\" . }}").unwrap(),
            Translated::Default
        );
        for go in [
            "{{ range .Alerts }}{{ .Labels.instance }}{{ end }}",
            "{{ if eq .Status \"firing\" }}x{{ end }}",
            "{{ template \"my.text\" . }}",
            "{{ .Alerts }}",
            "{{ .CommonLabels }}",
            "open {{ .Status",
        ] {
            assert!(translate(go).is_err(), "{go}");
        }
    }
}
