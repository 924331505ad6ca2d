//! Turning a decision to notify into the intent entry recorded before any
//! attempt: which integrations take it, the alerts it carries (bounded),
//! and the deliveries' idempotency keys.

use crate::config::ReceiverConfig;
use std::borrow::Cow;
use vigil_notify::route::Flush;
use vigil_store::{Alert, AlertStatus, IntentCause, Labels, NotificationIntent, PlannedDelivery};

/// Most alerts one intent carries; the rest are counted in `omitted`. The
/// built-in templates show 20, and the entry must stay a sensible size.
pub const MAX_ALERTS: usize = 500;

/// A fresh notification id: `ntf_` and 16 hex digits.
pub fn new_id() -> String {
    let mut bytes = [0u8; 8];
    // The OS generator does not fail on Linux once booted; if it ever
    // did, a time-based id is still unique enough for an idempotency key.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = vigil_store::now_micros().to_le_bytes();
    }
    format!("ntf_{}", hex::encode(bytes))
}

/// The notification a delivery id belongs to: deliveries are
/// `{notification}-{index}` ([`Draft::intent`]).
pub fn notification_of(delivery: &str) -> &str {
    delivery.rsplit_once('-').map_or(delivery, |(n, _)| n)
}

/// What to notify, whatever decided it.
pub struct Draft<'a> {
    /// Receiver name.
    pub receiver: &'a str,
    /// Route id.
    pub route: &'a str,
    /// Group key.
    pub group_key: &'a str,
    /// Group labels.
    pub group_labels: &'a Labels,
    /// Alerts, firing first (a flush's, unpacked for this draft alone).
    pub alerts: Cow<'a, [Alert]>,
    /// Alerts already left out upstream.
    pub omitted: u32,
    /// Why.
    pub cause: IntentCause,
}

impl<'a> Draft<'a> {
    /// A routed group's notification.
    pub fn from_flush(flush: &'a Flush) -> Draft<'a> {
        Draft {
            receiver: &flush.receiver,
            route: &flush.route_id,
            group_key: flush.group_key.as_str(),
            group_labels: &flush.group_labels,
            alerts: Cow::Owned(flush.unpacked()),
            omitted: 0,
            cause: IntentCause::Group,
        }
    }

    /// The intent for `receiver`, or `None` when no integration takes it
    /// (all resolved and none sends resolved notifications).
    pub fn intent(self, receiver: &ReceiverConfig, id: String) -> Option<NotificationIntent> {
        let firing_total = self
            .alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Firing)
            .count();
        let deliveries: Vec<PlannedDelivery> = receiver
            .integrations()
            .into_iter()
            .filter(|(_, integration)| firing_total > 0 || integration.send_resolved())
            .enumerate()
            .map(|(i, (name, _))| PlannedDelivery {
                delivery: format!("{id}-{i}"),
                integration: name,
            })
            .collect();
        if deliveries.is_empty() {
            return None;
        }
        let total = self.alerts.len();
        let kept = total.min(MAX_ALERTS);
        let alerts = match self.alerts {
            Cow::Borrowed(all) => all[..kept].to_vec(),
            Cow::Owned(mut all) => {
                all.truncate(kept);
                all
            }
        };
        let firing = alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Firing)
            .count();
        let dropped = u32::try_from(total - kept).unwrap_or(u32::MAX);
        Some(NotificationIntent {
            id,
            receiver: self.receiver.to_string(),
            route: self.route.to_string(),
            group_key: self.group_key.to_string(),
            group_labels: self.group_labels.clone(),
            deliveries,
            alerts,
            firing: u32::try_from(firing).unwrap_or(u32::MAX),
            omitted: self.omitted.saturating_add(dropped),
            cause: self.cause,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::Severity;

    fn receiver(toml: &str) -> ReceiverConfig {
        toml::from_str(toml).unwrap()
    }

    fn alert(fp: &str, status: AlertStatus) -> Alert {
        Alert {
            fingerprint: fp.into(),
            status,
            severity: Severity::Warning,
            summary: String::new(),
            labels: Labels::new(),
            annotations: Labels::new(),
            starts_at: None,
            ends_at: None,
            links: Vec::new(),
        }
    }

    const TWO: &str = r#"
        name = "ops"
        [[webhook_configs]]
        url = "https://hooks.example/a"
        secret = "s"
        [[email_configs]]
        to = "ops@example.com"
        from = "vigil@example.com"
        smarthost = "mail.example:587"
        send_resolved = false
    "#;

    fn draft(alerts: &[Alert]) -> Draft<'_> {
        static LABELS: std::sync::OnceLock<Labels> = std::sync::OnceLock::new();
        Draft {
            receiver: "ops",
            route: "0",
            group_key: "0:{}",
            group_labels: LABELS.get_or_init(Labels::new),
            alerts: Cow::Borrowed(alerts),
            omitted: 0,
            cause: IntentCause::Group,
        }
    }

    #[test]
    fn every_integration_gets_its_own_key() {
        let alerts = [alert("a", AlertStatus::Firing)];
        let intent = draft(&alerts)
            .intent(&receiver(TWO), "ntf_1".into())
            .unwrap();
        let planned: Vec<_> = intent
            .deliveries
            .iter()
            .map(|d| (d.delivery.as_str(), d.integration.as_str()))
            .collect();
        assert_eq!(planned, [("ntf_1-0", "webhook/0"), ("ntf_1-1", "email/0")]);
        assert_eq!(intent.firing, 1);
    }

    #[test]
    fn resolved_notifications_skip_integrations_that_do_not_want_them() {
        let alerts = [alert("a", AlertStatus::Resolved)];
        let intent = draft(&alerts)
            .intent(&receiver(TWO), "ntf_1".into())
            .unwrap();
        assert_eq!(intent.deliveries.len(), 1);
        assert_eq!(intent.deliveries[0].integration, "webhook/0");
        let only_email = receiver(
            r#"
            name = "mail"
            [[email_configs]]
            to = "ops@example.com"
            from = "vigil@example.com"
            smarthost = "mail.example:587"
            send_resolved = false
        "#,
        );
        assert!(draft(&alerts).intent(&only_email, "ntf_2".into()).is_none());
    }

    #[test]
    fn a_huge_group_is_capped_and_counted() {
        let alerts: Vec<Alert> = (0..MAX_ALERTS + 7)
            .map(|i| alert(&i.to_string(), AlertStatus::Firing))
            .collect();
        let intent = draft(&alerts)
            .intent(&receiver(TWO), "ntf_1".into())
            .unwrap();
        assert_eq!(intent.alerts.len(), MAX_ALERTS);
        assert_eq!(intent.omitted, 7);
        assert_eq!(intent.firing as usize, MAX_ALERTS);
    }

    #[test]
    fn a_delivery_names_its_notification() {
        let alerts = [alert("a", AlertStatus::Firing)];
        let intent = draft(&alerts).intent(&receiver(TWO), new_id()).unwrap();
        for planned in &intent.deliveries {
            assert_eq!(notification_of(&planned.delivery), intent.id);
        }
    }

    #[test]
    fn ids_are_distinct() {
        let a = new_id();
        assert!(a.starts_with("ntf_") && a.len() == 20);
        assert_ne!(a, new_id());
    }
}
