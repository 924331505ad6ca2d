//! Log collection's pure half: rules that turn a line into a match
//! ([`LineRules`]: regexes with named captures, one [`regex::RegexSet`]
//! pass per line, optionally only for lines of named programs),
//! thresholds over a window grouped by captured fields ([`Threshold`]; the
//! counts are a view's, so a restart does not reset them), and the
//! built-in pack for sshd, sudo, su, systemd and the kernel
//! ([`builtin_rules`]), and [`LineScan`], the same rules tried on many
//! lines at once so that lines matching nothing are passed over.
//!
//! The daemon follows the files and the journal, commits offsets with the
//! events, and redacts; nothing here reads a file, a clock or the log.

mod pack;
mod rules;
mod scan;
mod syslog;
mod template;
mod threshold;

pub use pack::builtin_rules;
pub use rules::{LineMatch, LineRule, LineRuleConfig, LineRuleError, LineRules, ThresholdConfig};
pub use scan::LineScan;
pub use syslog::program;

/// The text of `field` in a JSON line (`format = "json"`), if the line is
/// a JSON object that has it; a value that is not a string as JSON text.
pub fn json_message(line: &str, field: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    match value.get(field)? {
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}
pub use threshold::Threshold;
