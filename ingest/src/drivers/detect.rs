//! Auto-detection of the sender, for sources configured with `driver =
//! "auto"`.
//!
//! Conservative by design: a wrong guess would run the wrong driver's
//! verification (still a rejection, never a bypass) or produce odd alerts, so
//! anything ambiguous is `None` and the operator configures the driver.

use super::{
    DriverKind, alertmanager, generic, github, gitlab, grafana, jenkins, pagerduty, prometheus,
};
use http::HeaderMap;
use serde_json::Value;

/// See [`DriverKind::detect`].
pub(super) fn detect(headers: &HeaderMap, body: &Value) -> Option<DriverKind> {
    let has = |name: &str| headers.contains_key(name);
    // A sender's own headers are the strongest evidence.
    let by_header = [
        (has(github::EVENT_HEADER), DriverKind::Github),
        (has(gitlab::EVENT_HEADER), DriverKind::Gitlab),
        (has(pagerduty::SIGNATURE_HEADER), DriverKind::Pagerduty),
        (
            has(generic::ID_HEADER) && has(generic::SIGNATURE_HEADER),
            DriverKind::Generic,
        ),
        (has(grafana::SIGNATURE_HEADER), DriverKind::Grafana),
        (has(jenkins::TOKEN_HEADER), DriverKind::Jenkins),
    ];
    match only(&by_header) {
        Candidates::One(kind) => return Some(kind),
        Candidates::Several => return None,
        Candidates::None => {}
    }
    let by_body = [
        (alertmanager::looks_like(body), DriverKind::Alertmanager),
        (grafana::looks_like(body), DriverKind::Grafana),
        (jenkins::looks_like(body), DriverKind::Jenkins),
        (prometheus::looks_like(body), DriverKind::Prometheus),
    ];
    match only(&by_body) {
        Candidates::One(kind) => Some(kind),
        Candidates::Several | Candidates::None => None,
    }
}

enum Candidates {
    None,
    One(DriverKind),
    Several,
}

fn only(candidates: &[(bool, DriverKind)]) -> Candidates {
    let mut matching = candidates.iter().filter(|(hit, _)| *hit).map(|(_, k)| *k);
    match (matching.next(), matching.next()) {
        (None, _) => Candidates::None,
        (Some(kind), None) => Candidates::One(kind),
        (Some(_), Some(_)) => Candidates::Several,
    }
}
