//! Doctor check about retention: whether anything bounds the log, and
//! whether the audit trail is kept as long as audit policies usually ask.

use super::finding;
use crate::state::Shared;
use std::time::Duration;
use vigil_proto::{Finding, FindingSeverity as Sev};
use vigil_store::EventKind;

/// A year: PCI DSS 10.5.1 keeps audit trails this long.
const AUDIT_YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

/// Whether retention is set, and the audit trail's period.
pub fn retention(shared: &Shared, out: &mut Vec<Finding>) {
    let config = shared.config();
    let policy = crate::retention::policy(shared);
    if policy.is_empty() {
        out.push(finding(
            "retention",
            Sev::Info,
            "no retention policy: every event is kept for good and the store only grows",
            "set periods in [retention] (see docs/configuration.md), e.g. collect = \"30d\", default = \"400d\"",
        ));
        return;
    }
    match policy.kind_rule(EventKind::Auth) {
        Some(rule) if rule.keep.0 < AUDIT_YEAR => out.push(finding(
            "retention",
            Sev::Warning,
            format!(
                "authorization decisions are kept {} ({}): audit policies such as PCI DSS 10.5.1 ask for a year",
                rule.keep.text(),
                rule.name()
            ),
            "set auth = \"400d\" in [retention] (and a floor, so no rule goes below it)",
        )),
        _ => out.push(finding(
            "retention",
            Sev::Ok,
            format!(
                "{} retention rules, run every {}",
                policy.rules().len(),
                humantime::format_duration(config.retention.schedule.0)
            ),
            "",
        )),
    }
}
