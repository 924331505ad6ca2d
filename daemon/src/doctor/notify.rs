//! Doctor checks about outbound notifications: allowlist entries so broad
//! that the SSRF guard no longer protects much, webhooks that do not sign,
//! and deliveries given up.

use super::finding;
use crate::state::Shared;
use vigil_proto::{Finding, FindingSeverity as Sev};

/// Flags `[notify] allow` entries that open large ranges, loopback or the
/// cloud metadata address.
pub fn allowlist(shared: &Shared, out: &mut Vec<Finding>) {
    let config = shared.config();
    // Compiled when the configuration was loaded.
    for entry in config.compiled_notify.ssrf.broad_entries() {
        out.push(finding(
            "notify-allow",
            Sev::Warning,
            entry,
            "narrow the entry to the receivers' own addresses or names",
        ));
    }
}

/// Names every webhook with `sign = false`: its receiver cannot tell a
/// delivery from Vigil from a forged one.
pub fn unsigned(shared: &Shared, out: &mut Vec<Finding>) {
    for key in shared.config().notify.unsigned_webhooks() {
        out.push(finding(
            "unsigned-webhook",
            Sev::Warning,
            format!("{key} sends unsigned deliveries (sign = false): its receiver cannot tell them from forged ones"),
            "give the receiver a way to check signatures (secret = \"secret:NAME\"), or at least authorization over https",
        ));
    }
}

/// How far back a given-up delivery is worth a warning.
const GIVEN_UP_WINDOW_MICROS: i64 = 24 * 3600 * 1_000_000;

/// Warns about deliveries given up in the last day; says how many are
/// pending. Silent when nothing is configured or ever intended.
/// Blocking (reads the views).
pub fn deliveries(shared: &Shared, out: &mut Vec<Finding>) {
    let since = vigil_store::now_micros().saturating_sub(GIVEN_UP_WINDOW_MICROS);
    let seen = shared.with_views(|v| {
        let d = &v.deliveries;
        let mut recent = d
            .finished()
            .rev()
            .filter(|d| d.state == vigil_store::DeliveryState::GivenUp && d.updated_at >= since);
        // Only the newest is shown; the rest are counted.
        let newest = recent
            .next()
            .map(|d| format!("{} to {}: {}", d.id, d.receiver, d.detail));
        let count = newest.as_ref().map_or(0, |_| 1 + recent.count());
        ((newest, count), d.pending_len(), d.totals().intended)
    });
    let ((newest, given_up), pending, intended) = match seen {
        Ok(seen) => seen,
        Err(e) => {
            out.push(finding(
                "notify-deliveries",
                Sev::Warning,
                format!("cannot read the deliveries: {e}"),
                "see the daemon's log",
            ));
            return;
        }
    };
    if intended == 0 && shared.config().notify.receivers.is_empty() {
        return;
    }
    let pending = if pending == 0 {
        String::new()
    } else {
        format!("; {pending} pending")
    };
    match newest {
        Some(newest) => out.push(finding(
            "notify-deliveries",
            Sev::Warning,
            format!("{given_up} deliveries given up in the last 24h (newest: {newest}){pending}"),
            "`vigilctl deliveries list --state given_up` lists them; fix the receiver, then check it with `vigilctl notify test RECEIVER`",
        )),
        None => out.push(finding(
            "notify-deliveries",
            Sev::Ok,
            format!("no delivery given up in the last 24h{pending}"),
            "",
        )),
    }
}
