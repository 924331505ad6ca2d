//! What the notifier holds, for Alertmanager's read API: the groups, each
//! firing alert in them, and which silences and alerts hold it back.

use super::Notifier;
use crate::state::messages::{Held, HeldAlert, HeldGroup};
use vigil_store::{Alert, AlertStatus};

impl Notifier {
    /// The groups as they stand, after reading the log up to its head (an
    /// alert pushed just before the question is in the answer).
    pub(super) async fn held(&mut self) -> Held {
        self.follow().await;
        let Some(channels) = self.channels.clone() else {
            return Held::NoRoute;
        };
        let Some(policy) = channels.notify.policy.as_ref() else {
            return Held::NoRoute;
        };
        let Some(silences) = self.silences().await else {
            return Held::Unavailable;
        };
        let now = jiff::Timestamp::now();
        let live = |a: &Alert| {
            a.status == AlertStatus::Firing
                && a.ends_at.is_none_or(|end| end > now.as_microsecond())
        };
        let firing: Vec<Alert> = self.dispatcher.firing().filter(|a| live(a)).collect();
        let groups = self
            .dispatcher
            .groups()
            .map(|group| HeldGroup {
                receiver: group.receiver.to_string(),
                labels: group.labels.to_labels(),
                alerts: group
                    .alerts
                    .into_iter()
                    .filter(|a| live(a))
                    .map(|alert| HeldAlert {
                        suppression: policy.suppression(&silences, &alert, firing.iter(), now),
                        alert,
                    })
                    .collect(),
            })
            .filter(|g| !g.alerts.is_empty())
            .collect();
        Held::Groups(groups)
    }
}
