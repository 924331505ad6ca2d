//! Errors of compiling (config load) and rendering (delivery).
//!
//! Both name the template, the line when known, and the kind of failure;
//! neither ever holds rendered text or a context value. minijinja's own
//! error detail can quote values (`unable to calculate 5 / 0`), so at
//! render time only its kind is kept. At compile time the detail is kept:
//! the data then is our fixed sample and the operator's template source,
//! and the detail is what says which token was wrong.

use minijinja::ErrorKind;
use std::fmt;

/// Why a template set did not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// The template's configured name.
    pub name: String,
    /// 1-based line in the template source, when known.
    pub line: Option<usize>,
    /// What kind of mistake.
    pub kind: TemplateErrorKind,
    /// What went wrong, for the operator.
    pub message: String,
}

/// Kinds of [`TemplateError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TemplateErrorKind {
    /// The name is empty, too long, or has characters other than ASCII
    /// letters, digits, `.`, `_` and `-`.
    InvalidName,
    /// Two templates have the same name.
    Duplicate,
    /// The source exceeds [`MAX_SOURCE_LEN`](super::MAX_SOURCE_LEN).
    TooLarge,
    /// The source does not parse.
    Syntax,
    /// The source uses something refused by policy: `include`, `import`,
    /// `extends`, `block`, `macro`, `call`, recursive loops, or the `+`
    /// operator.
    Forbidden,
    /// Rendering the sample referred to something undefined.
    Undefined,
    /// Rendering the sample exceeded fuel, recursion or output limits.
    Limit,
    /// Rendering the sample for a JSON template did not give valid JSON.
    InvalidJson,
    /// Rendering the sample failed otherwise (unknown filter, type
    /// mismatch, …).
    Render,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template `{}`", self.name)?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for TemplateError {}

/// Why one render failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderError {
    /// The template's name.
    pub template: String,
    /// 1-based line in the template source, when known.
    pub line: Option<usize>,
    /// What kind of failure.
    pub kind: RenderErrorKind,
}

/// Kinds of [`RenderError`]; each message is fixed text or numbers, never
/// data.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderErrorKind {
    /// No template by that name in the set.
    #[error("no template by this name")]
    UnknownTemplate,
    /// A variable or field was undefined.
    #[error(
        "undefined variable or field (labels and annotations differ between \
         alerts: guard them with `is defined` or `| default(...)`)"
    )]
    Undefined,
    /// The fuel ran out.
    #[error("ran out of fuel: the template does too much work for this group")]
    OutOfFuel,
    /// Nesting went too deep.
    #[error("recursion limit exceeded")]
    RecursionLimit,
    /// The output would have exceeded the cap.
    #[error("output exceeds the limit of {limit} bytes")]
    OutputTooLarge {
        /// The cap.
        limit: usize,
    },
    /// A JSON template's output did not parse.
    #[error("output is not valid JSON ({problem} at output line {line}, column {column})")]
    InvalidJson {
        /// Which kind of JSON problem.
        problem: &'static str,
        /// 1-based line in the output.
        line: usize,
        /// 1-based column in the output.
        column: usize,
    },
    /// Any other failure, by kind.
    #[error("{0}")]
    Failed(&'static str),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template `{}`", self.template)?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for RenderError {}

/// minijinja's detail for its recursion limit, the only way to tell it
/// from other invalid operations. Matching a constant reads no data.
const RECURSION_DETAIL: &str = "recursion limit exceeded";

/// The data-free kind of an engine error.
pub(super) fn classify(err: &minijinja::Error) -> RenderErrorKind {
    match err.kind() {
        ErrorKind::UndefinedError => RenderErrorKind::Undefined,
        ErrorKind::OutOfFuel => RenderErrorKind::OutOfFuel,
        ErrorKind::InvalidOperation if err.detail() == Some(RECURSION_DETAIL) => {
            RenderErrorKind::RecursionLimit
        }
        kind => RenderErrorKind::Failed(describe(kind)),
    }
}

/// Our wording for an engine error kind (minijinja's enum is open).
fn describe(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::SyntaxError => "syntax error",
        ErrorKind::UnknownFilter => "unknown filter",
        ErrorKind::UnknownFunction => "unknown function",
        ErrorKind::UnknownTest => "unknown test",
        ErrorKind::UnknownMethod => "unknown method (context values are plain data)",
        ErrorKind::TooManyArguments => "too many arguments",
        ErrorKind::MissingArgument => "missing argument",
        ErrorKind::InvalidOperation => {
            "invalid operation (a type mismatch, or a range, repetition or \
             argument that is too large)"
        }
        ErrorKind::NonKey => "value cannot be used as a key",
        ErrorKind::NonPrimitive => "value is not a string or number",
        ErrorKind::CannotUnpack => "cannot unpack value",
        ErrorKind::BadEscape => "bad string escape",
        ErrorKind::BadSerialization | ErrorKind::CannotDeserialize => "cannot convert value",
        ErrorKind::TemplateNotFound => "template not found",
        ErrorKind::WriteFailure => "failed to write output",
        _ => "template error",
    }
}

/// The data-free description of a JSON parse failure.
pub(super) fn invalid_json(err: &serde_json::Error) -> RenderErrorKind {
    use serde_json::error::Category;
    RenderErrorKind::InvalidJson {
        problem: match err.classify() {
            Category::Syntax => "syntax error",
            Category::Eof => "unexpected end",
            Category::Data | Category::Io => "invalid data",
        },
        line: err.line(),
        column: err.column(),
    }
}

/// The kind of compile error a failed sample render amounts to.
pub(super) fn compile_kind(kind: &RenderErrorKind) -> TemplateErrorKind {
    match kind {
        RenderErrorKind::Undefined => TemplateErrorKind::Undefined,
        RenderErrorKind::OutOfFuel
        | RenderErrorKind::RecursionLimit
        | RenderErrorKind::OutputTooLarge { .. } => TemplateErrorKind::Limit,
        RenderErrorKind::InvalidJson { .. } => TemplateErrorKind::InvalidJson,
        RenderErrorKind::UnknownTemplate | RenderErrorKind::Failed(_) => TemplateErrorKind::Render,
    }
}
