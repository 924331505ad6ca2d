//! Why an Alertmanager file could not be converted at all. Every message
//! names the line (and, past parsing, the field) and never quotes a value:
//! the file holds credentials.

/// A file that is not a usable Alertmanager configuration.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not UTF-8.
    #[error("the file is not UTF-8 text")]
    NotUtf8,
    /// Not YAML.
    #[error("line {line}, column {column}: not valid YAML: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's word.
        message: String,
    },
    /// Nothing in it.
    #[error("the file holds no YAML document")]
    Empty,
    /// `---` and a second document.
    #[error("line {line}: a second YAML document; an Alertmanager configuration is one")]
    SeveralDocuments {
        /// Where it starts.
        line: usize,
    },
    /// Nested beyond reason.
    #[error("line {line}: nested too deeply")]
    TooDeep {
        /// Where.
        line: usize,
    },
    /// A scalar the parser could not resolve (a bad tag, an unknown alias).
    #[error("line {line}: a value that cannot be read (bad tag or alias)")]
    BadScalar {
        /// Where.
        line: usize,
    },
    /// A mapping key that is not a scalar.
    #[error("line {line}: a mapping key must be a plain string")]
    BadKey {
        /// Where.
        line: usize,
    },
    /// `<<:` with something other than mappings.
    #[error("line {line}: a merge key (<<) must name a mapping or a list of mappings")]
    BadMerge {
        /// Where.
        line: usize,
    },
    /// A field of the wrong type.
    #[error("line {line}: {path}: expected {expected}, found {found}")]
    Type {
        /// Where.
        line: usize,
        /// The field.
        path: String,
        /// What Alertmanager expects.
        expected: &'static str,
        /// What is written (its kind only).
        found: &'static str,
    },
    /// The document is not an Alertmanager configuration.
    #[error("line {line}: not an Alertmanager configuration: {why}")]
    NotAlertmanager {
        /// Where.
        line: usize,
        /// Why.
        why: String,
    },
    /// Something Alertmanager itself refuses.
    #[error("line {line}: {path}: {why} (Alertmanager refuses this too)")]
    Invalid {
        /// Where.
        line: usize,
        /// The field.
        path: String,
        /// What is wrong.
        why: String,
    },
}
