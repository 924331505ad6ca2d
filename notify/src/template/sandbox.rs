//! The restricted minijinja environment every template set runs in, and
//! the limits that bound one render.

use super::escape::{self, Escape};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, StringInput};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, UndefinedBehavior, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Default fuel per render. One instruction costs one fuel and each fuel
/// pays for 64 bytes produced, so this also bounds what one render can
/// allocate to about 6 MiB. The built-in templates use a few thousand.
pub const DEFAULT_FUEL: u64 = 100_000;

/// Default recursion limit (minijinja's own is 500). Without macros only
/// recursive `for` loops nest, and no message needs 32 levels.
pub const DEFAULT_RECURSION_LIMIT: usize = 32;

/// Default cap on a rendered message: 64 KiB, above what Slack, PagerDuty
/// or a sane webhook accept for one notification.
pub const DEFAULT_MAX_OUTPUT: usize = 64 * 1024;

/// What one render may consume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Fuel (see [`DEFAULT_FUEL`]); running out is an error.
    pub fuel: u64,
    /// Nesting depth of the engine; exceeding it is an error.
    pub recursion: usize,
    /// Bytes of output; exceeding it is an error, never a truncation.
    pub max_output: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            fuel: DEFAULT_FUEL,
            recursion: DEFAULT_RECURSION_LIMIT,
            max_output: DEFAULT_MAX_OUTPUT,
        }
    }
}

/// Globals a template may use besides the context. `loop` is listed
/// because the static variable scan reports it inside `for` bodies.
pub(super) const GLOBALS: &[&str] = &["range", "dict", "loop"];

/// Builds the environment. `escapes` maps each template name to its
/// channel; it must be complete before templates are added, as the escape
/// mode is fixed when a template compiles.
pub(super) fn environment(
    escapes: Arc<BTreeMap<String, Escape>>,
    limits: &Limits,
) -> Environment<'static> {
    // `new` rather than `empty` keeps minijinja's filters and tests, which
    // are fuel-aware; the environment has no loader unless one is set, so
    // only the templates added to it exist.
    let mut env = Environment::new();
    // `debug()` formats the whole engine state, context included.
    env.remove_global("debug");
    // minijinja 3.1 concatenates lists lazily and walks them without
    // charging fuel (see `policy`), so everything that concatenates lists
    // goes: `namespace` (the only state a loop iteration can leave for the
    // next), `chain` and `sum` over lists here; `+` and recursive loops in
    // `policy`.
    env.remove_global("namespace");
    env.remove_filter("chain");
    env.add_filter("sum", sum_numbers);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(limits.fuel));
    env.set_recursion_limit(limits.recursion);
    env.set_auto_escape_callback(move |name| {
        // Every template is registered with an escape; should a name ever
        // be missing, HTML is the mode that fails safest in most channels.
        escapes
            .get(name)
            .map_or(AutoEscape::Html, |escape| escape.auto_escape())
    });
    env.set_formatter(escape::formatter);
    env.set_syntax(syntax());
    env.add_filter("oneline", oneline);
    env
}

fn syntax() -> SyntaxConfig {
    let mut builder = SyntaxConfig::builder();
    builder.trim_blocks(true).lstrip_blocks(true);
    // Only the whitespace flags differ from the default configuration,
    // which always builds; fall back to it rather than fail.
    builder.build().unwrap_or_default()
}

/// `oneline`: control characters (newlines included) and runs of
/// whitespace become one space, ends trimmed. For single-line fields such
/// as an email subject, where a newline from an alert could otherwise
/// start a new header.
fn oneline(value: StringInput<'_>) -> Value {
    let mut line = String::with_capacity(value.as_str().len());
    for word in value
        .as_str()
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
    {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    value.preserve_safety(line)
}

/// `sum`, for numbers only (see `environment` for why lists are refused).
fn sum_numbers(
    state: &State,
    values: Value,
    attribute: Option<&str>,
    start: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let start_value = match &start {
        Some(start) => Some(start.clone()),
        None => kwargs.peek::<Option<Value>>("start")?,
    };
    // With a numeric start, minijinja's `sum` itself refuses non-numbers.
    if start_value.is_some_and(|start| !start.is_number()) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "sum only adds numbers",
        ));
    }
    minijinja::filters::sum(state, values, attribute, start, kwargs)
}
