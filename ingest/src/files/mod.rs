//! File integrity monitoring's pure half: which paths a rule covers
//! ([`Glob`]), what a change to them means ([`RuleSet`], the built-in
//! [`default_rules`]), and the text diffs `report_changes` records
//! ([`diff`]).
//!
//! The daemon walks, watches and hashes; it hands each [`FileRecord`] here
//! to learn whether and how loudly it alerts ([`RuleSet::alert_for`]).
//! Nothing here reads a file, a clock or the log.
//!
//! [`FileRecord`]: vigil_store::FileRecord

mod alert;
mod defaults;
pub mod diff;
mod glob;
mod rules;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

pub use alert::{ALERT_NAME, AlertContext, RESERVED_LABELS, fingerprint};
pub use defaults::default_rules;
pub use glob::{Glob, GlobError, GlobErrorKind, GlobSet, GlobSetError};
pub use rules::{NO_RULE, Rule, RuleConfig, RuleError, RuleSet};

/// `text` with control characters (a newline in a file name, say) escaped,
/// for the one-line places a path is printed.
fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}
