//! Notification message templates in a restricted minijinja environment.
//!
//! Templates are operator configuration, but the data they interpolate
//! (alert summaries, labels, annotations, links) comes from whoever can
//! send an alert. The design answers server-side template injection from
//! both sides:
//!
//! * **Data is never code.** Values are interpolated, never parsed as
//!   templates, so `{{ 7*7 }}` inside a label comes out literally.
//! * **Templates cannot reach out.** There is no loader and no filesystem;
//!   `include`, `import`, `extends`, `block`, `macro` and `call` are
//!   refused at compile time (the minijinja features that implement them
//!   are not compiled in, so they are syntax errors). The context is plain
//!   data ([`Context`]): no objects with internals, no `env`, no
//!   `config`, and the `debug()` global (which dumps engine state) is
//!   removed. What remains is `range` (capped at 100 000 items by
//!   minijinja), `dict`, the built-in filters and tests, and one filter of
//!   ours, `oneline`.
//! * **Templates cannot run away.** Every render has a fuel budget
//!   (instructions plus bytes produced, checked *before* large
//!   allocations), a recursion limit, and an output cap ([`Limits`]).
//!   One engine path escapes fuel (lazily concatenated lists, walked
//!   without charge), so nothing can concatenate lists: `namespace`,
//!   `chain`, list `sum`, recursive loops and the `+` operator are
//!   unavailable (strings join with `~`).
//!   Exceeding the cap is an error, never a silent truncation: a cut
//!   webhook body would be invalid JSON and a cut email could drop the
//!   one line that mattered. Built-in templates list at most 20 alerts
//!   and say how many more there are, so they stay well inside it.
//! * **Escaping follows the channel** ([`Escape`]): JSON string escaping
//!   for webhook bodies (and the result must parse as JSON), HTML for
//!   email, Slack's `&`/`<`/`>` rule for Slack text so `<!channel>` from
//!   an alert is inert, none for plain text.
//! * **Mistakes surface at config load.** [`TemplateSet::compile`] parses
//!   every template and renders it against two sample contexts (a firing
//!   group with an incident, a resolved one without) with undefined
//!   values being errors, so a misspelt field is reported with its
//!   template and line before any alert is due.
//! * **Errors carry no data.** [`TemplateError`] and [`RenderError`] name
//!   the template, the line and the kind of failure; nothing rendered and
//!   no context value ever reaches them or any `Debug` output here.
//!
//! Whitespace: `trim_blocks` and `lstrip_blocks` are on, so a block tag on
//! its own line leaves no blank line behind.
//!
//! Columns are not reported: minijinja only exposes them with its `debug`
//! feature, which would also attach variable values to errors.

mod builtin;
mod capped;
mod context;
mod error;
mod escape;
mod policy;
mod sample;
mod sandbox;
mod set;

pub use builtin::{
    ALERTMANAGER_V4_JSON, EMAIL_HTML, EMAIL_SUBJECT, EMAIL_TEXT, MESSAGE_TEXT, MESSAGE_TITLE,
    PAGERDUTY_SUMMARY, SLACK_TEXT, WEBHOOK_JSON, builtin_sources,
};
pub use context::{AlertContext, Context, Counts, IncidentContext};
pub use error::{RenderError, RenderErrorKind, TemplateError, TemplateErrorKind};
pub use escape::Escape;
pub use sandbox::{DEFAULT_FUEL, DEFAULT_MAX_OUTPUT, DEFAULT_RECURSION_LIMIT, Limits};
pub use set::{MAX_NAME_LEN, MAX_SOURCE_LEN, TemplateSet, TemplateSource};

#[cfg(test)]
mod tests;
