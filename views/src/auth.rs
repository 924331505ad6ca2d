//! The recent-auth view: who connected, and who was refused.

use crate::View;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use vigil_store::{Actor, Decision, Event, Seal};

/// One connection or decision, as the view keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// Seq of the auth event.
    pub seq: u64,
    /// When (UTC micros).
    pub time: i64,
    /// Who, described.
    pub who: String,
    /// Role, if any.
    pub role: Option<String>,
    /// Action.
    pub action: String,
    /// Allowed or denied.
    pub decision: Decision,
    /// Why.
    pub reason: String,
    /// Whether break-glass was used.
    pub break_glass: bool,
    /// How many (for aggregated denials).
    pub count: u64,
}

/// How many logins and denials the view keeps.
pub const KEEP: usize = 200;

/// Recent connections and denials, with totals.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthView {
    /// Newest last.
    pub logins: VecDeque<Login>,
    /// Newest last.
    pub denials: VecDeque<Login>,
    /// Connections ever.
    pub total_logins: u64,
    /// Denials ever, counting aggregated ones.
    pub total_denials: u64,
}

/// A person-readable name for an actor.
pub fn describe(actor: &Actor) -> String {
    match actor {
        Actor::Daemon => "vigild".into(),
        Actor::Local {
            uid,
            pid,
            user: Some(user),
            ..
        } => format!("uid {uid} ({user}) pid {pid}"),
        Actor::Local {
            uid,
            pid,
            user: None,
            ..
        } => format!("uid {uid} pid {pid}"),
        Actor::ApiKey { prefix, .. } => format!("key {prefix}"),
        Actor::Remote { addr } => format!("remote {addr}"),
        Actor::Source { name } => format!("source {name}"),
        Actor::Spool { uid, file } => format!("spool file {file} (uid {uid})"),
    }
}

fn push(list: &mut VecDeque<Login>, record: Login) {
    if list.len() == KEEP {
        list.pop_front();
    }
    list.push_back(record);
}

impl View for AuthView {
    const NAME: &'static str = "auth";
    // 2: `decision` is an enum.
    const VERSION: u32 = 2;

    fn apply(&mut self, seal: &Seal, event: Option<&Event>) {
        match event {
            Some(Event::Auth(d)) => {
                let record = Login {
                    seq: seal.seq,
                    time: seal.time,
                    who: describe(&d.actor),
                    role: d.role.clone(),
                    action: d.action.clone(),
                    decision: d.decision,
                    reason: d.reason.clone(),
                    break_glass: d.break_glass,
                    count: 1,
                };
                match d.decision {
                    Decision::Deny => {
                        self.total_denials += 1;
                        push(&mut self.denials, record);
                    }
                    Decision::Allow if d.action == "connect" => {
                        self.total_logins += 1;
                        push(&mut self.logins, record);
                    }
                    Decision::Allow => {}
                }
            }
            Some(Event::AuthRejections(r)) => {
                self.total_denials += r.count;
                push(
                    &mut self.denials,
                    Login {
                        seq: seal.seq,
                        time: r.last,
                        who: r.actor.as_ref().map_or_else(|| "(many)".into(), describe),
                        role: None,
                        action: r.channel.clone(),
                        decision: Decision::Deny,
                        reason: r.reason.clone(),
                        break_glass: false,
                        count: r.count,
                    },
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::{AuthDecision, AuthRejections, EventKind, Hash};

    fn seal(seq: u64) -> Seal {
        Seal {
            seq,
            time: seq as i64,
            kind: EventKind::Auth.code(),
            epoch: 1,
            digest: Hash::ZERO,
            link: Hash::ZERO,
            tag: Hash::ZERO,
        }
    }

    fn decision(action: &str, decision: Decision) -> Event {
        Event::Auth(AuthDecision {
            actor: Actor::Local {
                uid: 1000,
                gid: 1000,
                pid: 7,
                user: Some("alice".into()),
            },
            role: Some("admin".into()),
            action: action.into(),
            decision,
            reason: "r".into(),
            break_glass: false,
        })
    }

    #[test]
    fn connections_and_denials_are_kept_and_counted() {
        let mut v = AuthView::default();
        v.apply(&seal(1), Some(&decision("connect", Decision::Allow)));
        v.apply(&seal(2), Some(&decision("emit", Decision::Allow)));
        v.apply(&seal(3), Some(&decision("reload", Decision::Deny)));
        v.apply(
            &seal(4),
            Some(&Event::AuthRejections(AuthRejections {
                channel: "control".into(),
                reason: "no role".into(),
                actor: None,
                count: 500,
                first: 1,
                last: 2,
            })),
        );
        v.apply(&seal(5), None);
        assert_eq!(v.total_logins, 1);
        assert_eq!(v.total_denials, 501);
        assert_eq!(v.logins[0].who, "uid 1000 (alice) pid 7");
        assert_eq!(v.denials.len(), 2);
        assert_eq!(v.denials[1].count, 500);
    }

    #[test]
    fn only_the_most_recent_are_kept() {
        let mut v = AuthView::default();
        for seq in 0..(KEEP as u64 + 10) {
            v.apply(&seal(seq + 1), Some(&decision("connect", Decision::Allow)));
        }
        assert_eq!(v.logins.len(), KEEP);
        assert_eq!(v.logins[0].seq, 11);
        assert_eq!(v.total_logins, KEEP as u64 + 10);
    }
}
