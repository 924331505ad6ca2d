//! What could not be carried, one line per setting for stderr, and the
//! names suggested for the secrets the output references instead of
//! holding them. A line names the setting and its YAML line, never its
//! value.

use super::yaml::Fields;
use std::collections::BTreeMap;
use std::fmt;

/// One setting that was not carried (or needs the operator), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The setting: `route.routes[2].active_time_intervals`.
    pub path: String,
    /// Its line in the YAML file.
    pub line: usize,
    /// Why, and what to do.
    pub message: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (line {})", self.path, self.message, self.line)
    }
}

/// The notes of one conversion and the secret names handed out.
#[derive(Debug, Default)]
pub struct Report {
    notes: Vec<Note>,
    /// Secret name by the setting it stands for.
    secrets: BTreeMap<String, String>,
}

impl Report {
    /// Records a note.
    pub fn note(&mut self, path: impl Into<String>, line: usize, message: impl Into<String>) {
        self.notes.push(Note {
            path: path.into(),
            line,
            message: message.into(),
        });
    }

    /// Notes every key of `fields` that nothing read as `message`.
    pub fn unread(&mut self, fields: &Fields<'_>, message: &str) {
        for (path, line) in fields.unread() {
            self.note(path, line, message);
        }
    }

    /// Takes the notes.
    pub fn into_notes(self) -> Vec<Note> {
        self.notes
    }

    /// A `secret:NAME` reference standing for the credential at `path`,
    /// with a note telling the operator to store it. The same setting
    /// (a global pushed into several receivers) gets one name and one note.
    pub fn secret(&mut self, path: &str, line: usize, suggested: &[&str]) -> String {
        self.reference(
            path,
            path,
            line,
            suggested,
            "inline secrets are not carried; store it with `vigilctl secrets set {name}` (the output references secret:{name})",
        )
    }

    /// A `secret:NAME` for the value that `key` stands for (a setting, or
    /// a value Vigil needs that Alertmanager has no counterpart for). The
    /// first use notes `message` at `path`, `{name}` replaced; later uses
    /// of the same key get the same name and no further note.
    pub fn reference(
        &mut self,
        key: &str,
        path: &str,
        line: usize,
        suggested: &[&str],
        message: &str,
    ) -> String {
        if let Some(name) = self.secrets.get(key) {
            return format!("secret:{name}");
        }
        let name = self.unique(&secret_name(suggested));
        self.secrets.insert(key.to_string(), name.clone());
        self.note(path, line, message.replace("{name}", &name));
        format!("secret:{name}")
    }

    fn unique(&self, base: &str) -> String {
        let taken = |n: &str| self.secrets.values().any(|v| v == n);
        if !taken(base) {
            return base.to_string();
        }
        (2..)
            .map(|i| format!("{base}-{i}"))
            .find(|n| !taken(n))
            .unwrap_or_else(|| base.to_string())
    }
}

/// A vault name (1 to 128 of `A-Z a-z 0-9 . _ -`) from its parts joined by
/// dots; anything else becomes `_`.
pub fn secret_name(parts: &[&str]) -> String {
    let joined = parts.join(".");
    let mut name: String = joined
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    if name.is_empty() {
        name.push_str("alertmanager");
    }
    name
}
