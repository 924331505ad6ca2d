//! The TOML side: the converted configuration as ordered tables, written
//! out by hand so keys keep Alertmanager's order and the file reads like
//! one an operator would write (matchers in single quotes, templates as
//! multi-line strings).

use std::fmt::Write;

/// A TOML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Toml {
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// An array.
    List(Vec<Toml>),
    /// An inline table, keys in order.
    Inline(Vec<(String, Toml)>),
}

impl Toml {
    /// A list of strings.
    pub fn strings<S: AsRef<str>>(items: &[S]) -> Toml {
        Toml::List(
            items
                .iter()
                .map(|s| Toml::Str(s.as_ref().to_string()))
                .collect(),
        )
    }
}

/// One `[table]` or `[[array.of.tables]]` with its keys, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The dotted header, quoted where needed.
    pub header: String,
    /// `[[...]]` rather than `[...]`.
    pub array: bool,
    /// Keys and values.
    pub entries: Vec<(String, Toml)>,
}

impl Table {
    /// `[[header]]`.
    pub fn array(header: impl Into<String>) -> Table {
        Table {
            header: header.into(),
            array: true,
            entries: Vec::new(),
        }
    }

    /// `[header]`.
    pub fn single(header: impl Into<String>) -> Table {
        Table {
            header: header.into(),
            array: false,
            entries: Vec::new(),
        }
    }

    /// Adds `key = value`.
    pub fn set(&mut self, key: &str, value: Toml) {
        self.entries.push((key.to_string(), value));
    }

    /// Adds `key = "value"`.
    pub fn str(&mut self, key: &str, value: impl Into<String>) {
        self.set(key, Toml::Str(value.into()));
    }

    /// Adds `key = "value"` when there is one.
    pub fn opt_str(&mut self, key: &str, value: Option<String>) {
        if let Some(v) = value {
            self.str(key, v);
        }
    }

    /// Adds `key = [...]` unless the list is empty.
    pub fn strings(&mut self, key: &str, values: &[String]) {
        if !values.is_empty() {
            self.set(key, Toml::strings(values));
        }
    }
}

/// Writes `tables` after `preamble` (comment lines, `# ` added).
pub fn render(preamble: &[String], tables: &[Table]) -> String {
    let mut out = String::new();
    for line in preamble {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            let _ = writeln!(out, "# {line}");
        }
    }
    for table in tables {
        out.push('\n');
        if table.array {
            let _ = writeln!(out, "[[{}]]", table.header);
        } else {
            let _ = writeln!(out, "[{}]", table.header);
        }
        for (key, value) in &table.entries {
            let _ = writeln!(out, "{} = {}", key_text(key), value_text(value));
        }
    }
    out
}

/// A key, bare when TOML allows it, else quoted.
pub fn key_text(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { key.to_string() } else { basic(key) }
}

fn value_text(value: &Toml) -> String {
    match value {
        Toml::Str(s) => string(s),
        Toml::Bool(b) => b.to_string(),
        Toml::Int(i) => i.to_string(),
        Toml::List(items) => {
            let items: Vec<String> = items.iter().map(value_text).collect();
            format!("[{}]", items.join(", "))
        }
        Toml::Inline(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{} = {}", key_text(k), value_text(v)))
                .collect();
            format!("{{ {} }}", entries.join(", "))
        }
    }
}

/// A string: literal ('...') when it holds a `"` or `\` and no `'` or
/// control character (matchers and regexes read better so), a multi-line
/// literal for a template with newlines and no `'`, else a basic string.
pub fn string(s: &str) -> String {
    let plain = |c: char| !c.is_control() && c != '\'';
    if s.contains('\n') && s.chars().all(|c| c == '\n' || c == '\t' || plain(c)) {
        // The newline after the opening quotes is not part of the string.
        return format!("'''\n{s}'''");
    }
    if (s.contains('"') || s.contains('\\')) && s.chars().all(plain) {
        return format!("'{s}'");
    }
    basic(s)
}

/// A basic string ("..."), escaped.
pub fn basic(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
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

    #[test]
    fn strings_read_back_unchanged() {
        for s in [
            "plain",
            r#"severity="critical""#,
            r"team=~'db'",
            "a\\b",
            "line one\nline two\n",
            "it's\nmulti",
            "tab\there",
            "bell\u{7}",
            "",
        ] {
            let text = format!("k = {}\n", string(s));
            let back: toml::Table = toml::from_str(&text).unwrap();
            assert_eq!(back["k"].as_str().unwrap(), s, "{text}");
        }
        let text = format!("[t]\n{} = 1\n", key_text("odd key.name"));
        let back: toml::Table = toml::from_str(&text).unwrap();
        assert!(back["t"].get("odd key.name").is_some());
    }
}
