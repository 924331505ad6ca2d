//! The groups as the daemon saves them (its notifier snapshot), which a
//! store may hold several versions of in memory before it flushes them:
//! so they are saved compactly.
//!
//! Each route is written once and each group names its route by number;
//! a group's labels are left out when they are its first alert's (as with
//! `group_by = ["..."]`); its key is not written, being made of the two.
//! Alerts are a list (a map repeated each fingerprint as its key). That
//! is about half the bytes of the first form, [`GroupsV1`] (every
//! group whole, with its key), which is still read.

use super::{Dispatcher, Group, Notified, shared_route};
use crate::route::group::GroupKey;
use crate::route::held::{Alerts, Held};
use crate::route::tree::MatchedRoute;
use serde::de::{Deserializer, Error as _};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use vigil_store::LabelSet;

/// One group, written: its route by number, its alerts as a list (each
/// fingerprint once, not also as a map key).
#[derive(Serialize)]
struct GroupRef<'a> {
    route: u32,
    /// `None`: its first alert's labels.
    labels: Option<&'a LabelSet>,
    alerts: Vec<&'a Held>,
    next_tick: i64,
    ticked: bool,
    last: &'a Option<Notified>,
}

/// One group, read.
#[derive(Deserialize)]
struct Saved {
    route: u32,
    labels: Option<LabelSet>,
    alerts: Vec<Held>,
    next_tick: i64,
    ticked: bool,
    last: Option<Notified>,
}

impl Serialize for Dispatcher {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.write(serializer, 1, 0)
    }
}

impl Dispatcher {
    /// Writes the groups, each `copies` times, a copy `later` micros after
    /// the one before (tests write damaged snapshots with more than one).
    fn write<S: Serializer>(
        &self,
        serializer: S,
        copies: u32,
        later: i64,
    ) -> Result<S::Ok, S::Error> {
        // Routes are shared: number each copy once.
        // By key, so the same groups write the same bytes.
        let keyed = self.keyed();
        let mut numbers: HashMap<*const MatchedRoute, u32> = HashMap::new();
        let mut routes: Vec<&MatchedRoute> = Vec::new();
        for (_, _, group) in &keyed {
            numbers.entry(Arc::as_ptr(&group.route)).or_insert_with(|| {
                routes.push(&group.route);
                u32::try_from(routes.len() - 1).unwrap_or(u32::MAX)
            });
        }
        let groups: Vec<GroupRef> = (0..i64::from(copies))
            .flat_map(|copy| keyed.iter().map(move |(_, _, g)| (copy, g)))
            .map(|(copy, g)| {
                let first = g.alerts.values().next().map(|a| &a.labels);
                GroupRef {
                    route: numbers[&Arc::as_ptr(&g.route)],
                    labels: (first != Some(&g.labels)).then_some(&g.labels),
                    alerts: g.alerts.values().collect(),
                    next_tick: g.next_tick.saturating_add(copy * later),
                    ticked: g.ticked,
                    last: &g.last,
                }
            })
            .collect();
        let mut state = serializer.serialize_struct("Groups", 2)?;
        state.serialize_field("routes", &routes)?;
        state.serialize_field("groups", &groups)?;
        state.end()
    }

    /// The groups saved with every group twice, the second copy `later`
    /// micros later: a damaged snapshot, for tests.
    #[cfg(test)]
    pub(crate) fn encode_twice(&self, later: i64) -> Vec<u8> {
        let mut out = postcard::Serializer {
            output: postcard::ser_flavors::AllocVec::new(),
        };
        self.write(&mut out, 2, later).expect("groups encode");
        postcard::ser_flavors::Flavor::finalize(out.output).expect("groups encode")
    }
}

impl<'de> Deserialize<'de> for Dispatcher {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Dispatcher, D::Error> {
        #[derive(Deserialize)]
        struct All {
            routes: Vec<MatchedRoute>,
            groups: Vec<Saved>,
        }
        let all = All::deserialize(deserializer)?;
        let routes: Vec<Arc<MatchedRoute>> = all.routes.into_iter().map(Arc::new).collect();
        let mut groups = Vec::with_capacity(all.groups.len());
        for saved in all.groups {
            let route = usize::try_from(saved.route)
                .ok()
                .and_then(|i| routes.get(i))
                .ok_or_else(|| D::Error::custom("a group names a route not saved"))?;
            let labels = match saved.labels {
                Some(labels) => labels,
                None => saved
                    .alerts
                    .first()
                    .map(|a| a.labels.clone())
                    .unwrap_or_default(),
            };
            let mut alerts = Alerts::default();
            for held in saved.alerts {
                alerts.insert(held);
            }
            groups.push(Group {
                route: route.clone(),
                labels,
                alerts,
                next_tick: saved.next_tick,
                ticked: saved.ticked,
                last: saved.last,
            });
        }
        Ok(Dispatcher::with_groups(groups))
    }
}

/// The groups as the first saved form holds them, every group whole.
#[derive(Deserialize)]
pub struct GroupsV1 {
    groups: BTreeMap<GroupKey, Group>,
}

impl From<GroupsV1> for Dispatcher {
    fn from(saved: GroupsV1) -> Self {
        Dispatcher::with_groups(saved.groups.into_values().collect())
    }
}

impl Dispatcher {
    /// The groups in the first saved form ([`GroupsV1`]), for tests of
    /// reading it.
    #[cfg(test)]
    pub(crate) fn encode_v1(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Groups<'a> {
            groups: BTreeMap<GroupKey, &'a Group>,
        }
        postcard::to_allocvec(&Groups {
            groups: self.keyed().into_iter().map(|(k, _, g)| (k, g)).collect(),
        })
        .expect("groups encode")
    }

    /// The dispatcher of `groups`: indexed, the schedule built, routes
    /// shared.
    fn with_groups(groups: Vec<Group>) -> Dispatcher {
        let mut d = Dispatcher::default();
        for mut group in groups {
            group.route = shared_route(&mut d.routes, &group.route);
            let key = group.key();
            let tick = group.next_tick;
            // Two groups of one key (a damaged snapshot): the later stands,
            // as when they were a map.
            if let Some(slot) = d.slot_of(&key) {
                d.schedule.remove(&(d.groups[slot].next_tick, slot));
                d.groups[slot] = group;
                d.schedule.insert((tick, slot));
                continue;
            }
            let slot = d.groups.insert(group);
            d.index.insert(d.index.hash(key.as_str()), slot);
            d.schedule.insert((tick, slot));
        }
        d
    }
}
