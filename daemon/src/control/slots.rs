//! Connection slots: how many control connections are open, by peer uid.
//!
//! Taken at accept, from the kernel's peer credentials, before the client
//! says anything: one user's idle connections can use up neither the pool
//! everyone shares (each uid has at most `daemon.max_connections_per_uid`)
//! nor root's way in (the last [`RESERVED_FOR_ROOT`] slots are uid 0's).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most connections served at once.
pub use crate::config::MAX_CONNECTIONS;
/// Of those, how many only root may take, so break-glass works however
/// many connections other users hold.
pub const RESERVED_FOR_ROOT: usize = 4;
/// Most connections users other than root hold together.
pub const SHARED: usize = MAX_CONNECTIONS - RESERVED_FOR_ROOT;
/// At most one warning about refused connections per this long.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The open connections.
#[derive(Default)]
pub struct Slots {
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_uid: HashMap<u32, usize>,
    last_warning: Option<Instant>,
    unwarned: u64,
}

/// One open connection's slot; given back when dropped.
pub struct Slot {
    slots: Arc<Slots>,
    uid: u32,
}

impl Slots {
    /// A slot for a connection from `uid`, or why there is none (for the
    /// client: names the limit and the setting).
    pub fn take(self: &Arc<Self>, uid: u32, per_uid: usize) -> Result<Slot, String> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let mine = counts.by_uid.get(&uid).copied().unwrap_or(0);
        let refusal = if uid == 0 {
            (counts.total >= MAX_CONNECTIONS)
                .then(|| format!("vigild is serving {MAX_CONNECTIONS} connections; try again"))
        } else if mine >= per_uid {
            Some(format!(
                "uid {uid} already has {mine} control connections open, the most one user may have (daemon.max_connections_per_uid = {per_uid}); close some and try again"
            ))
        } else if counts.total >= SHARED {
            Some(format!(
                "all {SHARED} connections open to users other than root are in use; try again"
            ))
        } else {
            None
        };
        if let Some(reason) = refusal {
            counts.warn(&reason);
            return Err(reason);
        }
        counts.total += 1;
        *counts.by_uid.entry(uid).or_default() += 1;
        Ok(Slot {
            slots: self.clone(),
            uid,
        })
    }
}

impl Counts {
    /// Logs a refusal, at most once per [`WARN_EVERY`] (a user retrying in
    /// a loop must not flood the journal), with how many went unlogged.
    fn warn(&mut self, reason: &str) {
        let now = Instant::now();
        if self
            .last_warning
            .is_some_and(|at| now.duration_since(at) < WARN_EVERY)
        {
            self.unwarned += 1;
            return;
        }
        let unwarned = std::mem::take(&mut self.unwarned);
        self.last_warning = Some(now);
        tracing::warn!(
            open = self.total,
            refused_unlogged = unwarned,
            "refused a control connection: {reason}"
        );
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.slots.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.by_uid.get_mut(&self.uid) {
            *n -= 1;
            if *n == 0 {
                counts.by_uid.remove(&self.uid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_uid_is_capped_and_root_keeps_its_reserve() {
        let slots = Arc::new(Slots::default());
        let mine: Vec<Slot> = (0..3).map(|_| slots.take(1000, 3).unwrap()).collect();
        let e = slots.take(1000, 3).err().unwrap();
        assert!(
            e.contains("uid 1000 already has 3") && e.contains("max_connections_per_uid"),
            "{e}"
        );
        // Another user is not affected; a slot given back can be taken again.
        let other = slots.take(1001, 3).unwrap();
        drop(mine);
        let mine: Vec<Slot> = (0..3).map(|_| slots.take(1000, 3).unwrap()).collect();
        drop((mine, other));

        // Users other than root fill the shared slots: only root gets in,
        // up to the whole pool.
        let shared: Vec<Slot> = (0..SHARED)
            .map(|i| slots.take(2000 + u32::try_from(i).unwrap(), 1).unwrap())
            .collect();
        let e = slots.take(1, 1).err().unwrap();
        assert!(e.contains("other than root"), "{e}");
        let root: Vec<Slot> = (0..RESERVED_FOR_ROOT)
            .map(|_| slots.take(0, 1).unwrap())
            .collect();
        assert!(slots.take(0, 1).is_err(), "the pool is full");
        drop(root);
        assert!(slots.take(0, 1).is_ok());
        drop(shared);
        let counts = slots.counts.lock().unwrap();
        assert_eq!((counts.total, counts.by_uid.len()), (0, 0));
    }
}
