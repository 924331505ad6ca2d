//! Doctor checks about outbound notifications: allowlist entries so broad
//! that the SSRF guard no longer protects much.

use crate::doctor::finding;
use crate::state::Shared;
use vigilctl::{Finding, FindingSeverity as Sev};

/// Flags `[notify] allow` entries that open large ranges, loopback or the
/// cloud metadata address.
pub fn allowlist(shared: &Shared, out: &mut Vec<Finding>) {
    let config = shared.config();
    let Ok(policy) = config.notify.policy() else {
        return; // refused at load: cannot be in force
    };
    for entry in policy.broad_entries() {
        out.push(finding(
            "notify-allow",
            Sev::Warning,
            entry,
            "narrow the entry to the receivers' own addresses or names",
        ));
    }
}
