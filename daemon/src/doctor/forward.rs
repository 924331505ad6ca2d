//! Doctor checks about forwarding to the fleet: an outage, a local log the
//! fleet's copy contradicts, credentials in clear text on the network.

use super::finding;
use crate::state::Shared;
use vigil_proto::{Finding, FindingSeverity as Sev};

/// Forwarding's health and posture.
pub fn forward(shared: &Shared, out: &mut Vec<Finding>) {
    let config = shared.config();
    let Some(forward) = &config.forward else {
        return;
    };
    let Some(status) = crate::state::forward::status(shared) else {
        return;
    };
    if let Some(reason) = &status.halted {
        out.push(finding(
            "forward",
            Sev::Error,
            format!("forwarding stopped: {reason}"),
            "compare with the fleet's copy (vigilctl fleet verify); if this host was rebuilt on purpose, give it its own subject ([forward] host)",
        ));
    } else if let Some(since) = status.failing_since {
        let age = (vigil_store::now_micros() - since).max(0) as u64 / 1_000_000;
        let long = age >= forward.alert_after.0.as_secs();
        let error = status
            .last_error
            .as_ref()
            .map_or(String::new(), |(_, e)| format!(": {e}"));
        out.push(finding(
            "forward",
            if long { Sev::Error } else { Sev::Warning },
            format!(
                "forwarding to {} has failed for {age} s{error}; {} entries wait (the log keeps them)",
                status.servers, status.lag_entries
            ),
            "check that the broker is up and reachable from this host, and the credentials ([forward.auth])",
        ));
    }
    let remote_cleartext = forward.tls.is_none()
        && forward.servers.iter().any(|s| {
            let host = s
                .trim_start_matches("nats://")
                .rsplit_once(':')
                .map_or(s.as_str(), |(h, _)| h);
            !matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1")
        });
    if remote_cleartext {
        out.push(finding(
            "forward",
            Sev::Warning,
            format!(
                "the chain and the broker login go to {} without TLS",
                status.servers
            ),
            "use tls:// servers and [forward.tls] (ca, and a client certificate)",
        ));
    }
    if !config.retention.wait_for_forward {
        out.push(finding(
            "forward",
            Sev::Info,
            "retention may truncate entries before the broker holds them (wait_for_forward = false)",
            "set [retention] wait_for_forward = true unless the local disk cannot wait for the broker",
        ));
    }
}
