//! A compiled set of templates: compiled and test-rendered once at config
//! load, rendered once per notification.
//!
//! Templates of a set share one environment, and that environment has no
//! loader: the only templates that exist are the ones compiled here (and
//! the engine features that would reach another template are not built
//! in at all).

use super::builtin::builtin_sources;
use super::capped::CappedBuffer;
use super::context::Context;
use super::error::{
    self, RenderError, RenderErrorKind, TemplateError, TemplateErrorKind, classify, invalid_json,
};
use super::escape::Escape;
use super::policy;
use super::sample;
use super::sandbox::{self, GLOBALS, Limits};
use minijinja::value::Serde;
use minijinja::{Environment, ErrorKind, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use vigil_store::AlertStatus;

/// Longest template source accepted (bytes). Generous for a message
/// template; it keeps a mistaken file from becoming a template.
pub const MAX_SOURCE_LEN: usize = 64 * 1024;

/// Longest template name accepted.
pub const MAX_NAME_LEN: usize = 128;

/// One template as configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSource {
    /// Name that receivers refer to; ASCII letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// The minijinja source.
    pub source: String,
    /// How interpolated values are escaped.
    pub escape: Escape,
}

impl TemplateSource {
    /// A template source.
    pub fn new(name: impl Into<String>, escape: Escape, source: impl Into<String>) -> Self {
        TemplateSource {
            name: name.into(),
            source: source.into(),
            escape,
        }
    }
}

/// Compiled templates, ready to render. Cheap to share across threads.
pub struct TemplateSet {
    env: Environment<'static>,
    escapes: Arc<BTreeMap<String, Escape>>,
    limits: Limits,
}

/// A failed render, with the engine's error kept for compile-time
/// messages. Never leaves this module: the engine's detail may quote data.
struct Failure {
    kind: RenderErrorKind,
    line: Option<usize>,
    engine: Option<minijinja::Error>,
}

impl Failure {
    fn new(kind: RenderErrorKind) -> Failure {
        Failure {
            kind,
            line: None,
            engine: None,
        }
    }
}

impl TemplateSet {
    /// Compiles `entries` with the default [`Limits`].
    ///
    /// Each template is parsed, then rendered against the firing and the
    /// resolved sample ([`Context::sample`]); a JSON template's output must
    /// also parse. The first failure is returned.
    pub fn compile(entries: &[TemplateSource]) -> Result<TemplateSet, TemplateError> {
        TemplateSet::compile_with_limits(entries, Limits::default())
    }

    /// Compiles `entries` with the given limits.
    pub fn compile_with_limits(
        entries: &[TemplateSource],
        limits: Limits,
    ) -> Result<TemplateSet, TemplateError> {
        let mut escapes = BTreeMap::new();
        for entry in entries {
            check_entry(entry)?;
            if escapes.insert(entry.name.clone(), entry.escape).is_some() {
                return Err(plain_error(
                    &entry.name,
                    TemplateErrorKind::Duplicate,
                    "defined more than once".to_owned(),
                ));
            }
        }
        let escapes = Arc::new(escapes);
        let mut env = sandbox::environment(Arc::clone(&escapes), &limits);
        for entry in entries {
            env.add_template_owned(entry.name.clone(), entry.source.clone())
                .map_err(|err| parse_error(&entry.name, &err))?;
            policy::check(&entry.source).map_err(|violation| TemplateError {
                name: entry.name.clone(),
                line: Some(violation.line),
                kind: TemplateErrorKind::Forbidden,
                message: violation.message,
            })?;
        }
        let set = TemplateSet {
            env,
            escapes,
            limits,
        };
        for entry in entries {
            set.try_samples(&entry.name)?;
        }
        Ok(set)
    }

    /// The built-in templates ([`builtin_sources`]) alone.
    pub fn builtin() -> TemplateSet {
        // The built-ins are constants and a test compiles them, so this
        // cannot fail in a tested build.
        TemplateSet::compile(&builtin_sources()).expect("built-in templates compile")
    }

    /// The built-in templates plus `entries`; an entry named like a
    /// built-in replaces it.
    pub fn compile_with_builtins(
        entries: &[TemplateSource],
        limits: Limits,
    ) -> Result<TemplateSet, TemplateError> {
        let mut all: Vec<TemplateSource> = builtin_sources()
            .into_iter()
            .filter(|builtin| entries.iter().all(|entry| entry.name != builtin.name))
            .collect();
        all.extend_from_slice(entries);
        TemplateSet::compile_with_limits(&all, limits)
    }

    /// Renders template `name` for `context`.
    ///
    /// Fails, rather than returning something partial, when the template
    /// refers to something undefined, exceeds a limit, or (for
    /// [`Escape::Json`]) does not produce valid JSON.
    pub fn render(&self, name: &str, context: &Context) -> Result<String, RenderError> {
        self.render_inner(name, context)
            .map_err(|failure| RenderError {
                template: name.to_owned(),
                line: failure.line,
                kind: failure.kind,
            })
    }

    /// Whether the set has a template `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.escapes.contains_key(name)
    }

    /// Template names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.escapes.keys().map(String::as_str)
    }

    /// The escape of template `name`.
    pub fn escape(&self, name: &str) -> Option<Escape> {
        self.escapes.get(name).copied()
    }

    /// The limits every render runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn render_inner(&self, name: &str, context: &Context) -> Result<String, Failure> {
        let Some(&escape) = self.escapes.get(name) else {
            return Err(Failure::new(RenderErrorKind::UnknownTemplate));
        };
        let template = self
            .env
            .get_template(name)
            .map_err(|_| Failure::new(RenderErrorKind::UnknownTemplate))?;
        let mut out = CappedBuffer::new(self.limits.max_output);
        // `render_captured_to` is minijinja's streaming render; the
        // captured state it returns is of no use here.
        if let Err(err) = template.render_captured_to(Value::from(Serde(context)), &mut out) {
            let kind = if out.overflowed() {
                RenderErrorKind::OutputTooLarge {
                    limit: self.limits.max_output,
                }
            } else {
                classify(&err)
            };
            return Err(Failure {
                kind,
                line: err.line(),
                engine: Some(err),
            });
        }
        let text = out
            .into_string()
            .ok_or(Failure::new(RenderErrorKind::Failed("output is not UTF-8")))?;
        if escape == Escape::Json {
            // Parse without building a document: only validity matters.
            serde_json::from_str::<serde::de::IgnoredAny>(&text)
                .map_err(|err| Failure::new(invalid_json(&err)))?;
        }
        Ok(text)
    }

    /// Renders `name` against both samples, turning a failure into a
    /// compile error the operator can act on.
    fn try_samples(&self, name: &str) -> Result<(), TemplateError> {
        for context in sample::contexts() {
            if let Err(failure) = self.render_inner(name, &context) {
                return Err(self.sample_error(name, context.status, &failure));
            }
        }
        Ok(())
    }

    fn sample_error(&self, name: &str, status: AlertStatus, failure: &Failure) -> TemplateError {
        let what = match &failure.kind {
            RenderErrorKind::Undefined => self.undefined_hint(name),
            // Only here is the engine's detail worth quoting (which filter,
            // which operation); it holds sample data and template source.
            kind @ RenderErrorKind::Failed(_) => {
                match failure.engine.as_ref().and_then(minijinja::Error::detail) {
                    Some(detail) => format!("{kind}: {detail}"),
                    None => kind.to_string(),
                }
            }
            kind => kind.to_string(),
        };
        let sample = match status {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        };
        TemplateError {
            name: name.to_owned(),
            line: failure.line,
            kind: error::compile_kind(&failure.kind),
            message: format!("{what} (while rendering the {sample} sample)"),
        }
    }

    /// Names the unknown top-level variables, if that is the problem.
    fn undefined_hint(&self, name: &str) -> String {
        let mut unknown: Vec<String> = self
            .env
            .get_template(name)
            .map(|template| template.undeclared_variables(false))
            .unwrap_or_default()
            .into_iter()
            .filter(|var| {
                !Context::FIELDS.contains(&var.as_str()) && !GLOBALS.contains(&var.as_str())
            })
            .collect();
        if unknown.is_empty() {
            return "undefined variable or field (labels and annotations differ between \
                    alerts, so guard them with `is defined` or `| default(...)`)"
                .to_owned();
        }
        unknown.sort();
        format!(
            "unknown variable `{}`; the context has {}",
            unknown.join("`, `"),
            Context::FIELDS.join(", ")
        )
    }
}

impl fmt::Debug for TemplateSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemplateSet")
            .field("templates", &self.escapes)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn check_entry(entry: &TemplateSource) -> Result<(), TemplateError> {
    let name = &entry.name;
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !valid {
        // The name itself may be what is wrong (a newline, say), so it is
        // shown escaped.
        return Err(TemplateError {
            name: name.escape_debug().to_string(),
            line: None,
            kind: TemplateErrorKind::InvalidName,
            message: format!(
                "a template name must be 1 to {MAX_NAME_LEN} ASCII letters, digits, `.`, `_` or `-`"
            ),
        });
    }
    if entry.source.len() > MAX_SOURCE_LEN {
        return Err(plain_error(
            name,
            TemplateErrorKind::TooLarge,
            format!("source exceeds {MAX_SOURCE_LEN} bytes"),
        ));
    }
    Ok(())
}

fn plain_error(name: &str, kind: TemplateErrorKind, message: String) -> TemplateError {
    TemplateError {
        name: name.to_owned(),
        line: None,
        kind,
        message,
    }
}

/// Statements the engine is built without; named in the message so the
/// operator learns it is policy, not a typo.
const UNAVAILABLE: &[&str] = &[
    "include", "import", "from", "extends", "block", "macro", "call",
];

fn parse_error(name: &str, err: &minijinja::Error) -> TemplateError {
    let statement = err
        .detail()
        .and_then(|detail| detail.strip_prefix("unknown statement "));
    if let Some(statement) = statement.filter(|statement| UNAVAILABLE.contains(statement)) {
        return TemplateError {
            name: name.to_owned(),
            line: err.line(),
            kind: TemplateErrorKind::Forbidden,
            message: format!(
                "`{statement}` is not available in notification templates \
                 (nor are include, import, extends, block, macro and call)"
            ),
        };
    }
    let kind = match err.kind() {
        ErrorKind::SyntaxError | ErrorKind::BadEscape => TemplateErrorKind::Syntax,
        _ => TemplateErrorKind::Render,
    };
    // The detail quotes only the template source, never data.
    let message = match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    };
    TemplateError {
        name: name.to_owned(),
        line: err.line(),
        kind,
        message,
    }
}
