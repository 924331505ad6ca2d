//! `vigilctl deliveries list` and `vigilctl notify test`: what the durable
//! outbox did (the deliveries view), and a test notification to a receiver.
//! The notifier records the test's intent itself; this side checks the
//! request, records who allowed it, and waits (bounded) for the answer.

use super::conn::{Conn, MAX_TEXT, Served, refuse, view_of};
use super::listing::{Page, next_page};
use crate::state::messages::{Command, TestRefusal};
use std::cmp::Reverse;
use std::time::Duration;
use vigil_proto::{
    Answer, DeliveriesRequest, DeliveryCause, DeliveryFilter, DeliveryListing, DeliveryTotals,
    ErrorCode,
};
use vigil_store::DeliveryState;
use vigil_views::{Cause, Delivery};

/// How long the notifier has to answer a test request.
const NOTIFIER_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a delivery in `state` is listed under `filter`.
fn admits(filter: DeliveryFilter, state: DeliveryState) -> bool {
    match filter {
        DeliveryFilter::Pending => vigil_views::is_pending(state),
        DeliveryFilter::Intended => state == DeliveryState::Intended,
        DeliveryFilter::Attempting => state == DeliveryState::Attempting,
        DeliveryFilter::Sent => state == DeliveryState::Sent,
        DeliveryFilter::Failed => state == DeliveryState::Failed,
        DeliveryFilter::GivenUp => state == DeliveryState::GivenUp,
    }
}

/// A cause as the protocol carries it.
fn cause(cause: Cause) -> DeliveryCause {
    match cause {
        Cause::Group => DeliveryCause::Group,
        Cause::Test => DeliveryCause::Test,
        Cause::Fallback => DeliveryCause::Fallback,
    }
}

/// The deliveries' listing order: newest intent first and, within one, in
/// plan order (`…-2` before `…-10`).
fn order(d: &Delivery) -> (Reverse<u64>, usize, &str) {
    (Reverse(d.intent_seq), d.id.len(), &d.id)
}

/// Where a page of deliveries ends: the last one's intent seq and id.
type Cursor = (u64, String);

/// The first `max` of `deliveries` after `after`, in listing order. Only
/// those are sorted: with 100 000 pending, a page must not sort them all.
fn newest<'a>(
    deliveries: impl Iterator<Item = &'a Delivery>,
    after: Option<&Cursor>,
    max: usize,
) -> Vec<&'a Delivery> {
    next_page(
        deliveries,
        |a, b| order(a).cmp(&order(b)),
        |d| after.is_none_or(|(seq, id)| order(d) > (Reverse(*seq), id.len(), id.as_str())),
        max,
    )
}

fn listing(d: &Delivery) -> DeliveryListing {
    DeliveryListing {
        id: d.id.to_string(),
        notification: d.notification().to_string(),
        intent_seq: d.intent_seq,
        receiver: d.receiver.to_string(),
        integration: d.integration.to_string(),
        state: d.state,
        attempts: d.attempts,
        alerts: d.alerts,
        firing: d.firing,
        cause: cause(d.cause),
        fallback_for: d.fallback_for.as_deref().map(str::to_string),
        created_at: d.created_at,
        updated_at: d.updated_at,
        detail: d.detail.to_string(),
    }
}

/// The deliveries' ids in the notifier's answer are `ID (integration)`.
fn describe_deliveries(deliveries: &[String]) -> String {
    if deliveries.is_empty() {
        "no delivery".into()
    } else {
        format!(
            "deliver{} {}",
            if deliveries.len() == 1 { "y" } else { "ies" },
            deliveries.join(", ")
        )
    }
}

impl Conn<'_> {
    /// Serves the deliveries family.
    pub(super) async fn serve_deliveries(&mut self, request: DeliveriesRequest) -> Served {
        match request {
            DeliveriesRequest::List {
                state,
                receiver,
                limit,
            } => self.deliveries_list(state, receiver, limit).await,
            DeliveriesRequest::Test { receiver } => self.notify_test(receiver).await,
        }
    }

    pub(super) async fn deliveries_list(
        &mut self,
        filter: Option<DeliveryFilter>,
        receiver: Option<String>,
        limit: Option<u64>,
    ) -> Served {
        let totals = self
            .view(|v| {
                let view = &v.deliveries;
                let t = view.totals();
                DeliveryTotals {
                    pending: view.pending_len() as u64,
                    sent: t.sent,
                    given_up: t.given_up,
                    failed_attempts: t.failed_attempts,
                    intended: t.intended,
                }
            })
            .await?;
        self.send(&Answer::delivery_totals(totals)).await?;
        let shared = self.shared.clone();
        let fetch = move |after: Option<Cursor>, max: usize| {
            let shared = shared.clone();
            let receiver = receiver.clone();
            async move {
                let (items, matching) = view_of(&shared, move |v| {
                    let view = &v.deliveries;
                    let matching = || {
                        // The finished list holds no pending delivery.
                        let finished =
                            (filter != Some(DeliveryFilter::Pending)).then(|| view.finished());
                        view.pending()
                            .chain(finished.into_iter().flatten())
                            .filter(|d| filter.is_none_or(|f| admits(f, d.state)))
                            .filter(|d| receiver.as_ref().is_none_or(|r| *d.receiver == **r))
                    };
                    let page: Vec<DeliveryListing> = newest(matching(), after.as_ref(), max)
                        .into_iter()
                        .map(listing)
                        .collect();
                    (page, matching().count() as u64)
                })
                .await?;
                Ok(Page {
                    last: items
                        .last()
                        .map(|d: &DeliveryListing| (d.intent_seq, d.id.clone())),
                    items,
                    matching: Some(matching),
                })
            }
        };
        let end = self
            .stream_pages(limit, fetch, Answer::deliveries_list, |d| {
                format!("delivery {}", d.id)
            })
            .await?;
        self.end_listing(end).await
    }

    pub(super) async fn notify_test(&mut self, receiver: String) -> Served {
        let receiver = receiver.trim().to_string();
        if receiver.is_empty() || receiver.len() > MAX_TEXT {
            return Err(refuse(
                ErrorCode::BadRequest,
                "give the name of a configured receiver",
            ));
        }
        // The notifier records who allowed it together with the test's
        // intent, in one append: a refused test leaves no "allowed" entry.
        let grant = &self.caller.grant;
        let allowed = crate::access::audit::Auditor::allowed(
            &self.caller.actor(),
            &grant.role.name,
            "notify.test",
            &grant.reason,
            grant.break_glass,
        );
        let (tx, rx) = tokio::sync::oneshot::channel();
        let command = Command::Test {
            receiver: receiver.clone(),
            actor: self.caller.actor(),
            allowed: Box::new(allowed),
            reply: tx,
        };
        let notifier = self.shared.notifier.clone();
        let answer = tokio::time::timeout(NOTIFIER_TIMEOUT, async move {
            if notifier.send(command).await.is_err() {
                return None;
            }
            rx.await.ok()
        })
        .await;
        let (notification, deliveries) = match answer {
            Ok(Some(Ok(answer))) => answer,
            Ok(Some(Err(refusal))) => {
                return Err(refuse(notifier_error_code(&refusal), refusal.to_string()));
            }
            Ok(None) => {
                return Err(refuse(
                    ErrorCode::Unavailable,
                    "the notifier is not running (it failed to start, or the daemon is stopping); see the daemon's log",
                ));
            }
            Err(_) => {
                return Err(refuse(
                    ErrorCode::Unavailable,
                    format!(
                        "the notifier did not answer within {}s; the test may still be recorded: `vigilctl deliveries list --receiver {receiver}` shows it if so",
                        NOTIFIER_TIMEOUT.as_secs()
                    ),
                ));
            }
        };
        self.send(&Answer::notify_test(format!(
                "test notification {notification} to {receiver}: {}; `vigilctl deliveries list --receiver {receiver}` shows how they went",
                describe_deliveries(&deliveries)
            )))
        .await
    }
}

/// The class of a refusal from the notifier.
fn notifier_error_code(refusal: &TestRefusal) -> ErrorCode {
    match refusal {
        TestRefusal::NoReceiver { .. } => ErrorCode::NotFound,
        TestRefusal::Unavailable | TestRefusal::Store(_) => ErrorCode::Unavailable,
        TestRefusal::NoIntegration(_) => ErrorCode::BadRequest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_filter_admits_its_state_and_pending_is_what_the_outbox_owes() {
        let states = [
            DeliveryState::Intended,
            DeliveryState::Attempting,
            DeliveryState::Sent,
            DeliveryState::Failed,
            DeliveryState::GivenUp,
        ];
        for filter in DeliveryFilter::ALL.iter().copied() {
            let admitted: Vec<_> = states.into_iter().filter(|s| admits(filter, *s)).collect();
            if filter == DeliveryFilter::Pending {
                assert_eq!(
                    admitted,
                    [
                        DeliveryState::Intended,
                        DeliveryState::Attempting,
                        DeliveryState::Failed
                    ]
                );
            } else {
                assert_eq!(admitted.len(), 1, "{filter}");
                assert_eq!(admitted[0].name(), filter.name());
            }
        }
    }

    fn delivery(intent_seq: u64, index: usize) -> Delivery {
        Delivery {
            id: format!("ntf_{intent_seq}-{index}").into(),
            notification: None,
            intent_seq,
            index: u32::try_from(index).unwrap_or(u32::MAX),
            receiver: "ops".into(),
            integration: format!("webhook/{index}").into(),
            state: DeliveryState::Intended,
            attempts: 0,
            alerts: 1,
            firing: 1,
            cause: Cause::Group,
            fallback_for: None,
            created_at: 0,
            updated_at: 0,
            detail: Box::default(),
        }
    }

    #[test]
    fn the_newest_are_listed_first_and_in_plan_order() {
        let mut all: Vec<Delivery> = (0..12).map(|i| delivery(7, i)).collect();
        all.extend((0..3).map(|i| delivery(9, i)));
        all.reverse();
        let ids = |limit| {
            newest(all.iter(), None, limit)
                .into_iter()
                .map(|d| d.id.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(5),
            ["ntf_9-0", "ntf_9-1", "ntf_9-2", "ntf_7-0", "ntf_7-1"],
            "the newer intent first, and no more than the limit"
        );
        let whole = ids(100);
        assert_eq!(whole.len(), 15);
        assert_eq!(
            whole[12..],
            ["ntf_7-9", "ntf_7-10", "ntf_7-11"],
            "-10 after -9"
        );
        // The page after `ntf_7-9` (a cursor between -9 and -10).
        let after = (7, "ntf_7-9".to_string());
        let next: Vec<String> = newest(all.iter(), Some(&after), 5)
            .into_iter()
            .map(|d| d.id.to_string())
            .collect();
        assert_eq!(next, ["ntf_7-10", "ntf_7-11"]);
    }

    #[test]
    fn notifier_refusals_get_a_code() {
        let missing = TestRefusal::NoReceiver {
            receiver: "x".into(),
            known: "ops".into(),
        };
        assert_eq!(notifier_error_code(&missing), ErrorCode::NotFound);
        assert_eq!(
            notifier_error_code(&TestRefusal::Unavailable),
            ErrorCode::Unavailable
        );
        assert_eq!(
            notifier_error_code(&TestRefusal::NoIntegration("ops".into())),
            ErrorCode::BadRequest
        );
    }
}
