//! Recording authorization decisions without letting a flood fill the log.
//!
//! Every allowed connection and mutating request is appended as it happens.
//! Denials too, except that repeats of the same (caller, action) within a
//! window are only counted, and written as one `AuthRejections` event when
//! the window closes. So a denied script looping at full speed costs one
//! event per minute, not one per attempt, and journald sees one warning.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use vigil_store::{
    Actor, AuthDecision, AuthRejections, Decision, Event, Log, StoreError, now_micros,
};

/// How long repeats of one denial are only counted.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Distinct (caller, action) windows tracked before they share one.
const MAX_WINDOWS: usize = 1024;

type Key = (Option<u32>, String);

struct Window {
    opened: Instant,
    actor: Option<Actor>,
    reason: String,
    suppressed: u64,
    first: i64,
    last: i64,
}

/// The counting part of the auditor: pure bookkeeping, no I/O.
#[derive(Default)]
pub struct Denials {
    windows: HashMap<Key, Window>,
}

impl Denials {
    /// Notes a denial at `now`; true when it opens a window and must be recorded.
    pub fn note(
        &mut self,
        uid: Option<u32>,
        actor: &Actor,
        action: &str,
        reason: &str,
        now: Instant,
        time: i64,
    ) -> bool {
        let mut key = (uid, action.to_string());
        if !self.windows.contains_key(&key) && self.windows.len() >= MAX_WINDOWS {
            key = (None, "*".into());
        }
        match self.windows.get_mut(&key) {
            Some(w) if now.duration_since(w.opened) < WINDOW => {
                if w.suppressed == 0 {
                    w.first = time;
                }
                w.suppressed += 1;
                w.last = time;
                false
            }
            _ => {
                let actor = key.0.is_some().then(|| actor.clone());
                self.windows.insert(
                    key,
                    Window {
                        opened: now,
                        actor,
                        reason: reason.to_string(),
                        suppressed: 0,
                        first: time,
                        last: time,
                    },
                );
                true
            }
        }
    }

    /// Closes the windows that have ended (all of them if `all`), returning
    /// the counted repeats to record.
    pub fn drain(&mut self, now: Instant, all: bool) -> Vec<AuthRejections> {
        let mut out = Vec::new();
        self.windows.retain(|(_, action), w| {
            if !all && now.duration_since(w.opened) < WINDOW {
                return true;
            }
            if w.suppressed > 0 {
                out.push(AuthRejections {
                    channel: format!("control:{action}"),
                    reason: w.reason.clone(),
                    actor: w.actor.clone(),
                    count: w.suppressed,
                    first: w.first,
                    last: w.last,
                });
            }
            false
        });
        out
    }
}

/// Appends authorization decisions to the log.
pub struct Auditor {
    log: Log,
    denials: Mutex<Denials>,
}

fn uid_of(actor: &Actor) -> Option<u32> {
    match actor {
        Actor::Local { uid, .. } => Some(*uid),
        _ => None,
    }
}

impl Auditor {
    /// An auditor writing to `log`.
    pub fn new(log: Log) -> Auditor {
        Auditor {
            log,
            denials: Mutex::new(Denials::default()),
        }
    }

    /// The event for an allowed decision (appended by the caller, possibly
    /// together with what it allows).
    pub fn allowed(
        actor: &Actor,
        role: &str,
        action: &str,
        reason: &str,
        break_glass: bool,
    ) -> Event {
        Event::Auth(AuthDecision {
            actor: actor.clone(),
            role: Some(role.to_string()),
            action: action.to_string(),
            decision: Decision::Allow,
            reason: reason.to_string(),
            break_glass,
        })
    }

    /// Records a denial: durably if it opens a window, by counting otherwise.
    pub async fn deny(
        &self,
        actor: &Actor,
        role: Option<&str>,
        action: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let record = self.denials.lock().expect("denials lock").note(
            uid_of(actor),
            actor,
            action,
            reason,
            Instant::now(),
            now_micros(),
        );
        if !record {
            return Ok(());
        }
        tracing::warn!(action, reason, "denied {}", vigil_views::describe(actor));
        let event = Event::Auth(AuthDecision {
            actor: actor.clone(),
            role: role.map(str::to_string),
            action: action.to_string(),
            decision: Decision::Deny,
            reason: reason.to_string(),
            break_glass: false,
        });
        self.log.append_async(&event).await.map(drop)
    }

    /// Writes the counted repeats of windows that have closed (all, at shutdown).
    pub async fn flush(&self, all: bool) -> Result<(), StoreError> {
        let counted = self
            .denials
            .lock()
            .expect("denials lock")
            .drain(Instant::now(), all);
        if counted.is_empty() {
            return Ok(());
        }
        for c in &counted {
            tracing::warn!(count = c.count, channel = %c.channel, reason = %c.reason, "repeated denials");
        }
        let events: Vec<Event> = counted.into_iter().map(Event::AuthRejections).collect();
        self.log.append_all_async(&events).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(uid: u32) -> Actor {
        Actor::Local {
            uid,
            gid: uid,
            pid: 1,
            user: None,
        }
    }

    #[test]
    fn repeats_within_a_window_are_counted_not_recorded() {
        let mut d = Denials::default();
        let t0 = Instant::now();
        assert!(d.note(Some(7), &actor(7), "connect", "no role", t0, 1));
        for i in 0..999 {
            assert!(!d.note(
                Some(7),
                &actor(7),
                "connect",
                "no role",
                t0 + Duration::from_millis(i),
                2 + i as i64
            ));
        }
        // Another caller or action has its own window.
        assert!(d.note(Some(8), &actor(8), "connect", "no role", t0, 1));
        assert!(d.note(Some(7), &actor(7), "reload", "role viewer", t0, 1));
        assert!(
            d.drain(t0 + Duration::from_secs(1), false).is_empty(),
            "windows still open"
        );
        let out = d.drain(t0 + WINDOW, false);
        assert_eq!(out.len(), 1, "only windows with repeats produce an event");
        assert_eq!(out[0].count, 999);
        assert_eq!((out[0].first, out[0].last), (2, 1000));
        assert_eq!(out[0].channel, "control:connect");
        // After the window, the next denial is recorded again.
        assert!(d.note(Some(7), &actor(7), "connect", "no role", t0 + WINDOW * 2, 5));
    }

    #[test]
    fn a_flood_of_distinct_callers_shares_one_window() {
        let mut d = Denials::default();
        let t0 = Instant::now();
        let recorded = (0..5000u32)
            .filter(|uid| d.note(Some(*uid), &actor(*uid), "connect", "no role", t0, 1))
            .count();
        assert_eq!(recorded, MAX_WINDOWS + 1);
        let out = d.drain(t0, true);
        let shared: Vec<_> = out.iter().filter(|r| r.actor.is_none()).collect();
        assert_eq!(shared.len(), 1);
        assert_eq!(shared[0].count, 5000 - MAX_WINDOWS as u64 - 1);
    }
}
