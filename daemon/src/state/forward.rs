//! What the forwarder is doing (the forward room writes it, control,
//! doctor and status read it), and `forward status`: the live state beside
//! what the log recorded.

use crate::config::ForwardConfig;
use crate::state::Shared;
use std::sync::{Arc, Mutex};
use vigil_fleet::Acked;
use vigil_proto::ForwardStatus;

/// What the forwarder is doing, for status, doctor and retention.
#[derive(Clone, Debug, Default)]
pub struct ForwardState {
    /// Connected to a broker now.
    pub connected: bool,
    /// The last entry acknowledged in this run of the daemon.
    pub acked: Option<Acked>,
    /// The last error, and when (UTC micros).
    pub last_error: Option<(i64, String)>,
    /// Since when nothing could be forwarded (UTC micros).
    pub failing_since: Option<i64>,
    /// Why forwarding stopped for good (the local log is behind or
    /// differs from the fleet's copy).
    pub halted: Option<String>,
    /// An outage alert is firing.
    pub alerting: bool,
}

/// The forwarder's state, shared.
#[derive(Clone, Default)]
pub struct Live(Arc<Mutex<ForwardState>>);

impl Live {
    /// A copy of the state now.
    pub fn get(&self) -> ForwardState {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Changes it.
    pub fn update(&self, f: impl FnOnce(&mut ForwardState)) {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// Where forwarding stands (none when `[forward]` is not configured).
/// Blocking: reads the views and one entry.
pub fn status(shared: &Shared) -> Option<ForwardStatus> {
    let config = shared.config();
    let forward = config.forward.as_ref()?;
    let live = shared.forward.get();
    let (recorded_seq, recorded_acked) = shared
        .with_views(|v| (v.forward.record_seq, v.forward.acked_seq))
        .unwrap_or_default();
    let acked_seq = live
        .acked
        .map_or(recorded_acked, |a| a.seq.max(recorded_acked));
    let head_seq = shared.log.head().seq;
    let lag_entries = head_seq.saturating_sub(acked_seq);
    // The oldest entry waiting (the first after the acknowledged one, or
    // the first retained when that one is gone).
    let lag_secs = if lag_entries == 0 {
        0.0
    } else {
        let waiting = (acked_seq + 1).max(shared.log.first_seq());
        shared.log.get(waiting).ok().flatten().map_or(0.0, |e| {
            (vigil_store::now_micros() - e.time()).max(0) as f64 / 1e6
        })
    };
    Some(ForwardStatus {
        servers: forward.servers.join(","),
        stream: forward.stream.clone(),
        subject: subject(forward),
        connected: live.connected,
        acked_seq,
        head_seq,
        lag_entries,
        lag_secs,
        recorded_seq,
        last_error: live.last_error,
        failing_since: live.failing_since,
        halted: live.halted,
    })
}

/// This host's name for the fleet: configured, or the machine's.
pub fn host_name(config: &ForwardConfig) -> String {
    config.host.clone().unwrap_or_else(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".into())
    })
}

/// The subject this host publishes on.
pub fn subject(config: &ForwardConfig) -> String {
    vigil_fleet::wire::subject_for(&config.subject, &host_name(config))
}
