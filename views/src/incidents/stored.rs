//! The view as snapshots and retention checkpoints keep it (version 4):
//! its incidents in id order and the order resolved ones are forgotten
//! in. The indexes are not stored: they follow from the incidents.

use super::{Incident, IncidentId, IncidentView};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::VecDeque;

#[derive(Deserialize)]
struct Stored {
    incidents: Vec<Incident>,
    resolved_order: VecDeque<IncidentId>,
}

impl Serialize for IncidentView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Written as `Stored` reads, without copying the incidents.
        struct All<'a>(&'a IncidentView);
        impl Serialize for All<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.incidents.values())
            }
        }
        let mut s = serializer.serialize_struct("Stored", 2)?;
        s.serialize_field("incidents", &All(self))?;
        s.serialize_field("resolved_order", &self.resolved_order)?;
        s.end()
    }
}

impl<'de> Deserialize<'de> for IncidentView {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<IncidentView, D::Error> {
        let stored = Stored::deserialize(deserializer)?;
        Ok(IncidentView::from_parts(
            stored.incidents,
            stored.resolved_order,
        ))
    }
}
