//! The silence view: every silence, when it starts and ends, and who made
//! or expired it. Whether a silence mutes an alert is decided by the
//! notifier with the matchers parsed; this view only keeps the record.

use crate::View;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigil_store::{Event, Seal};

/// How long an ended silence stays listed (as Alertmanager keeps them).
pub const KEEP_ENDED_MICROS: i64 = 5 * 24 * 3600 * 1_000_000;

/// One silence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SilenceRecord {
    /// Id: the seq of the event that created it.
    pub id: String,
    /// Matchers, all of which must match.
    pub matchers: Vec<String>,
    /// Start (micros).
    pub starts_at: i64,
    /// End (micros); moved earlier when expired by hand.
    pub ends_at: i64,
    /// Why.
    pub comment: String,
    /// Who created it.
    pub created_by: String,
    /// When it was created (micros).
    pub created: i64,
    /// Who ended it early, if anyone.
    pub expired_by: Option<String>,
}

/// Where a silence stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SilenceState {
    /// Not started yet.
    Pending,
    /// Muting now.
    Active,
    /// Over.
    Expired,
}

impl SilenceRecord {
    /// Its state at `now` (micros).
    pub fn state(&self, now: i64) -> SilenceState {
        if now >= self.ends_at {
            SilenceState::Expired
        } else if now < self.starts_at {
            SilenceState::Pending
        } else {
            SilenceState::Active
        }
    }
}

/// Every silence that is pending, active, or ended within
/// [`KEEP_ENDED_MICROS`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SilencesView {
    /// By seq of creation.
    pub silences: BTreeMap<u64, SilenceRecord>,
    /// When the first of them is due to be forgotten.
    #[serde(skip)]
    forget_at: ForgetAt,
}

/// A cache of the earliest time a silence is due to be forgotten (`None`:
/// not known yet), so that a new silence does not look at every other one.
/// Not kept in snapshots and not compared: a view is its silences.
#[derive(Clone, Copy, Debug, Default)]
struct ForgetAt(Option<i64>);

impl PartialEq for ForgetAt {
    fn eq(&self, _: &ForgetAt) -> bool {
        true
    }
}

fn forget_time(s: &SilenceRecord) -> i64 {
    s.ends_at.saturating_add(KEEP_ENDED_MICROS)
}

impl View for SilencesView {
    const NAME: &'static str = "silences";
    const VERSION: u32 = 1;

    /// Every silence still remembered (active, or ended and not yet forgotten).
    fn pins(&self, out: &mut Vec<u64>) {
        out.extend(self.silences.keys().copied());
    }

    /// An early end of a silence still remembered comes after it.
    fn holds(&self, out: &mut Vec<(vigil_store::EventKind, u64)>) {
        if let Some(&oldest) = self.silences.keys().next() {
            out.push((vigil_store::EventKind::Silence, oldest));
        }
    }

    fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        match event {
            Some(Event::Silence(s)) => {
                self.silences.insert(
                    seal.seq,
                    SilenceRecord {
                        id: seal.seq.to_string(),
                        matchers: s.matchers.clone(),
                        starts_at: s.starts_at,
                        ends_at: s.ends_at,
                        comment: s.comment.clone(),
                        created_by: super::describe(&s.actor),
                        created: seal.time,
                        expired_by: None,
                    },
                );
                let t = s.ends_at.saturating_add(KEEP_ENDED_MICROS);
                self.forget_at.0 = self.forget_at.0.map(|due| due.min(t));
            }
            Some(Event::SilenceExpired(e)) => {
                if let Some(s) = e
                    .silence
                    .parse::<u64>()
                    .ok()
                    .and_then(|id| self.silences.get_mut(&id))
                    && s.ends_at > seal.time
                {
                    // A pending silence ends before it began: both move.
                    s.starts_at = s.starts_at.min(seal.time);
                    s.ends_at = seal.time;
                    s.expired_by = Some(super::describe(&e.actor));
                    let t = forget_time(s);
                    self.forget_at.0 = self.forget_at.0.map(|due| due.min(t));
                }
            }
            _ => return,
        }
        // Forget long-ended silences; the log keeps them.
        let due = match self.forget_at.0 {
            Some(t) => t,
            None => self
                .silences
                .values()
                .map(forget_time)
                .min()
                .unwrap_or(i64::MAX),
        };
        if due <= seal.time {
            self.silences.retain(|_, s| forget_time(s) > seal.time);
            self.forget_at.0 = Some(
                self.silences
                    .values()
                    .map(forget_time)
                    .min()
                    .unwrap_or(i64::MAX),
            );
        } else {
            self.forget_at.0 = Some(due);
        }
    }
}

impl SilencesView {
    /// A silence by id.
    pub fn get(&self, id: &str) -> Option<&SilenceRecord> {
        self.silences.get(&id.parse().ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_seal as seal;
    use vigil_store::{Actor, Silence, SilenceExpired};

    fn silence(starts_at: i64, ends_at: i64) -> Event {
        Event::Silence(Silence {
            matchers: vec!["env=\"prod\"".into()],
            starts_at,
            ends_at,
            comment: "deploy".into(),
            actor: Actor::Daemon,
        })
    }

    #[test]
    fn a_silence_is_pending_then_active_then_expired() {
        let mut v = SilencesView::default();
        v.apply(&seal(7, 10), Some(&silence(100, 200)));
        let s = v.get("7").unwrap();
        assert_eq!(s.state(99), SilenceState::Pending);
        assert_eq!(s.state(100), SilenceState::Active);
        assert_eq!(s.state(200), SilenceState::Expired);
    }

    #[test]
    fn expiring_ends_it_at_that_moment_and_records_who() {
        let mut v = SilencesView::default();
        v.apply(&seal(7, 10), Some(&silence(100, 200)));
        let expire = Event::SilenceExpired(SilenceExpired {
            silence: "7".into(),
            actor: Actor::Daemon,
        });
        v.apply(&seal(8, 150), Some(&expire));
        let s = v.get("7").unwrap();
        assert_eq!(s.ends_at, 150);
        assert_eq!(s.expired_by.as_deref(), Some("vigild"));
        // Expiring again, or after its end, changes nothing.
        v.apply(&seal(9, 180), Some(&expire));
        assert_eq!(v.get("7").unwrap().ends_at, 150);
        // Expiring a pending silence ends it before it began.
        v.apply(&seal(10, 160), Some(&silence(500, 600)));
        v.apply(
            &seal(11, 170),
            Some(&Event::SilenceExpired(SilenceExpired {
                silence: "10".into(),
                actor: Actor::Daemon,
            })),
        );
        let ended = v.get("10").unwrap();
        assert_eq!(
            ended.state(171),
            SilenceState::Expired,
            "not pending any more"
        );
        assert_eq!(ended.state(550), SilenceState::Expired);
    }

    #[test]
    fn long_ended_silences_are_forgotten() {
        let mut v = SilencesView::default();
        v.apply(&seal(1, 0), Some(&silence(0, 100)));
        v.apply(&seal(2, 100 + KEEP_ENDED_MICROS - 1), Some(&silence(0, 1)));
        assert!(v.get("1").is_some());
        v.apply(&seal(3, 100 + KEEP_ENDED_MICROS), Some(&silence(0, 1)));
        assert!(v.get("1").is_none());
    }
}
