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
/// Why a connection got no slot (the client is told, naming the limit and
/// the setting).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoSlot {
    /// Every slot is taken, root's too.
    #[error("vigild is serving {MAX_CONNECTIONS} connections; try again")]
    AllInUse,
    /// This user has as many as one user may.
    #[error(
        "uid {uid} already has {open} control connections open, the most one user may have (daemon.max_connections_per_uid = {limit}); close some and try again"
    )]
    UserLimit {
        /// The peer's uid.
        uid: u32,
        /// Its open connections.
        open: usize,
        /// `daemon.max_connections_per_uid`.
        limit: usize,
    },
    /// The slots users other than root share are taken.
    #[error("all {SHARED} connections open to users other than root are in use; try again")]
    SharedInUse,
}

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
    pub fn take(self: &Arc<Self>, uid: u32, per_uid: usize) -> Result<Slot, NoSlot> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let mine = counts.by_uid.get(&uid).copied().unwrap_or(0);
        let refusal = if uid == 0 {
            (counts.total >= MAX_CONNECTIONS).then_some(NoSlot::AllInUse)
        } else if mine >= per_uid {
            Some(NoSlot::UserLimit {
                uid,
                open: mine,
                limit: per_uid,
            })
        } else if counts.total >= SHARED {
            Some(NoSlot::SharedInUse)
        } else {
            None
        };
        if let Some(reason) = refusal {
            counts.warn(&reason.to_string());
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
        assert_eq!(
            e,
            NoSlot::UserLimit {
                uid: 1000,
                open: 3,
                limit: 3
            }
        );
        let e = e.to_string();
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
        assert_eq!(e, NoSlot::SharedInUse);
        assert!(e.to_string().contains("other than root"), "{e}");
        let root: Vec<Slot> = (0..RESERVED_FOR_ROOT)
            .map(|_| slots.take(0, 1).unwrap())
            .collect();
        assert_eq!(
            slots.take(0, 1).err(),
            Some(NoSlot::AllInUse),
            "the pool is full"
        );
        drop(root);
        assert!(slots.take(0, 1).is_ok());
        drop(shared);
        let counts = slots.counts.lock().unwrap();
        assert_eq!((counts.total, counts.by_uid.len()), (0, 0));
    }
}
