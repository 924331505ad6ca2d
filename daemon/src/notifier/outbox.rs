//! Which pending delivery goes next: per-integration lanes, backoff, the
//! per-receiver concurrency limit and giving up. Pure: the caller passes
//! every instant (unix micros) and the jitter.
//!
//! Each integration of each receiver is a lane with its own queue, so a
//! failing email never holds back (or resends) the webhook beside it.
//! A lane that fails backs off as a whole, exponentially with jitter up
//! to a cap, and while it is failing sends one delivery at a time: a dead
//! receiver sees one probe per backoff period, not one attempt per pending
//! delivery (Alertmanager's retry storm, #2286). The first success opens
//! the lane again up to the receiver's concurrency limit.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// One delivery to attempt. Jobs taken from one lane share its receiver
/// and integration names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Delivery id.
    pub delivery: Box<str>,
    /// Seq of its intent.
    pub intent_seq: u64,
    /// Receiver.
    pub receiver: Arc<str>,
    /// Integration.
    pub integration: Arc<str>,
    /// Attempts started so far.
    pub attempts: u32,
    /// When it was intended.
    pub created_at: i64,
    /// Not before this time.
    pub not_before: i64,
    /// Whether it is itself a fallback (given up, it has no fallback).
    pub is_fallback: bool,
}

/// A job as its lane queues it. A dead receiver may have a hundred
/// thousand queued: the lane holds their receiver and integration.
#[derive(Debug)]
struct Queued {
    delivery: Box<str>,
    intent_seq: u64,
    created_at: i64,
    not_before: i64,
    attempts: u32,
    is_fallback: bool,
}

impl Queued {
    fn of(job: Job) -> Queued {
        Queued {
            delivery: job.delivery,
            intent_seq: job.intent_seq,
            created_at: job.created_at,
            not_before: job.not_before,
            attempts: job.attempts,
            is_fallback: job.is_fallback,
        }
    }

    /// The job, in the lane of `receiver` and `integration`.
    fn job(self, (receiver, integration): &(Arc<str>, Arc<str>)) -> Job {
        Job {
            delivery: self.delivery,
            intent_seq: self.intent_seq,
            receiver: receiver.clone(),
            integration: integration.clone(),
            attempts: self.attempts,
            created_at: self.created_at,
            not_before: self.not_before,
            is_fallback: self.is_fallback,
        }
    }
}

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the receiver.
    Sent,
    /// Failed; trying again may help.
    Retryable,
    /// Failed; trying again will not help.
    Permanent,
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing more: it was sent.
    Done,
    /// Queued again, not before this time.
    RetryAt(i64),
    /// No more attempts.
    GiveUp,
}

/// Retry settings, in micros.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// First backoff.
    pub initial: i64,
    /// Backoff cap.
    pub max: i64,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Age at which a delivery is given up.
    pub give_up_after: i64,
}

impl Retry {
    /// From durations.
    pub fn new(
        initial: Duration,
        max: Duration,
        max_attempts: u32,
        give_up_after: Duration,
    ) -> Self {
        let us = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        Retry {
            initial: us(initial),
            max: us(max),
            max_attempts,
            give_up_after: us(give_up_after),
        }
    }

    /// The wait after `failures` consecutive failures, scaled by `jitter`
    /// in [0, 1]: between half and all of the exponential step, so lanes
    /// that failed together do not retry together.
    pub fn backoff(&self, failures: u32, jitter: f64) -> i64 {
        let exp = failures.saturating_sub(1).min(30);
        let step = self.initial.saturating_mul(1i64 << exp).min(self.max);
        let jitter = jitter.clamp(0.0, 1.0);
        // Both factors are at most 1, so the product fits an i64.
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let scaled = (step as f64 * (0.5 + jitter / 2.0)) as i64;
        scaled.max(1)
    }
}

/// One integration's queue and health.
#[derive(Debug, Default)]
struct Lane {
    queue: VecDeque<Queued>,
    in_flight: usize,
    /// Consecutive failures; above zero the lane sends one at a time.
    failures: u32,
    paused_until: i64,
}

impl Lane {
    /// Whether its front job may start at `now` (the receiver's limit
    /// aside): due, not backing off, and no probe already out.
    fn can_start(&self, now: i64) -> bool {
        self.paused_until <= now
            && (self.failures == 0 || self.in_flight == 0)
            && self.queue.front().is_some_and(|j| j.not_before <= now)
    }
}

/// The lanes.
#[derive(Debug)]
pub struct Outbox {
    lanes: BTreeMap<(Arc<str>, Arc<str>), Lane>,
    receivers: HashMap<Arc<str>, usize>,
    retry: Retry,
}

impl Outbox {
    /// Empty.
    pub fn new(retry: Retry) -> Self {
        Outbox {
            lanes: BTreeMap::new(),
            receivers: HashMap::new(),
            retry,
        }
    }

    /// New retry settings (a reload); queued jobs keep their times.
    pub fn set_retry(&mut self, retry: Retry) {
        self.retry = retry;
    }

    /// Queues a delivery at the back of its lane.
    pub fn push(&mut self, job: Job) {
        self.lane(&job).queue.push_back(Queued::of(job));
    }

    fn lane(&mut self, job: &Job) -> &mut Lane {
        self.lanes
            .entry((job.receiver.clone(), job.integration.clone()))
            .or_default()
    }

    /// Deliveries queued (not in flight).
    pub fn queued(&self) -> usize {
        self.lanes.values().map(|lane| lane.queue.len()).sum()
    }

    /// Deliveries in flight.
    pub fn in_flight(&self) -> usize {
        self.receivers.values().sum()
    }

    /// Takes the jobs to start at `now`, at most `limit(receiver)` in
    /// flight per receiver, one per failing lane. A receiver's slots go
    /// round the lanes one at a time, so a slow integration cannot take
    /// them all from the one beside it.
    pub fn ready(&mut self, now: i64, limit: impl Fn(&str) -> usize) -> Vec<Job> {
        let mut out = Vec::new();
        loop {
            let mut progressed = false;
            for (names, lane) in &mut self.lanes {
                let busy = self.receivers.entry(names.0.clone()).or_insert(0);
                if *busy >= limit(&names.0).max(1) || !lane.can_start(now) {
                    continue;
                }
                let Some(queued) = lane.queue.pop_front() else {
                    continue;
                };
                let mut job = queued.job(names);
                job.attempts += 1;
                lane.in_flight += 1;
                *busy += 1;
                out.push(job);
                progressed = true;
            }
            if !progressed {
                return out;
            }
        }
    }

    /// Takes the queued jobs older than `give_up_after` at `now`: they are
    /// given up without another attempt.
    pub fn expired(&mut self, now: i64) -> Vec<Job> {
        let limit = self.retry.give_up_after;
        let mut out = Vec::new();
        for (names, lane) in &mut self.lanes {
            // Queues are in intent order, so the old ones are in front
            // (a retried job goes back to the front, and it is the oldest).
            while lane
                .queue
                .front()
                .is_some_and(|j| now.saturating_sub(j.created_at) >= limit)
            {
                if let Some(queued) = lane.queue.pop_front() {
                    out.push(queued.job(names));
                }
            }
        }
        out
    }

    /// Settles an attempt of `job` (as returned by [`Outbox::ready`]).
    pub fn settle(&mut self, mut job: Job, outcome: Outcome, now: i64, jitter: f64) -> Verdict {
        let retry = self.retry;
        if let Some(busy) = self.receivers.get_mut(&job.receiver) {
            *busy = busy.saturating_sub(1);
        }
        let lane = self.lane(&job);
        lane.in_flight = lane.in_flight.saturating_sub(1);
        match outcome {
            Outcome::Sent => {
                lane.failures = 0;
                lane.paused_until = 0;
                Verdict::Done
            }
            Outcome::Permanent => Verdict::GiveUp,
            Outcome::Retryable => {
                // Attempts that were in flight together fail together:
                // they count as one failure of the lane, not several.
                if lane.paused_until <= now {
                    lane.failures = lane.failures.saturating_add(1);
                }
                let wait = retry.backoff(lane.failures.max(job.attempts), jitter);
                let at = now.saturating_add(wait);
                lane.paused_until = lane.paused_until.max(at);
                let too_old = at.saturating_sub(job.created_at) >= retry.give_up_after;
                if job.attempts >= retry.max_attempts || too_old {
                    return Verdict::GiveUp;
                }
                job.not_before = at;
                // Back in intent order: jobs that failed together retry
                // oldest first.
                let key = (job.intent_seq, job.delivery.clone());
                let at_index = lane
                    .queue
                    .partition_point(|j| (j.intent_seq, &j.delivery) < (key.0, &key.1));
                lane.queue.insert(at_index, Queued::of(job));
                Verdict::RetryAt(at)
            }
        }
    }

    /// When something next becomes ready or expires (micros), if anything
    /// queued could start by waiting. A lane that waits for a slot (its
    /// receiver at its limit, or its probe out) has no time of its own:
    /// the attempt that frees the slot wakes the caller when it settles.
    pub fn next_wake(&self, limit: impl Fn(&str) -> usize) -> Option<i64> {
        self.lanes
            .iter()
            .filter_map(|((receiver, _), lane)| {
                let front = lane.queue.front()?;
                let expires = front.created_at.saturating_add(self.retry.give_up_after);
                let busy = self.receivers.get(receiver).copied().unwrap_or(0);
                let blocked =
                    busy >= limit(receiver).max(1) || (lane.failures > 0 && lane.in_flight > 0);
                if blocked {
                    return Some(expires);
                }
                let ready = front.not_before.max(lane.paused_until);
                Some(ready.min(expires))
            })
            .min()
    }

    /// Forgets lanes with nothing queued or in flight (their health with
    /// them: a lane that comes back starts healthy).
    pub fn shrink(&mut self) {
        self.lanes
            .retain(|_, lane| !lane.queue.is_empty() || lane.in_flight > 0 || lane.failures > 0);
        self.receivers.retain(|_, busy| *busy > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    fn retry() -> Retry {
        Retry::new(
            Duration::from_secs(10),
            Duration::from_secs(80),
            5,
            Duration::from_secs(3600),
        )
    }

    fn job(id: &str, integration: &str) -> Job {
        Job {
            delivery: id.into(),
            intent_seq: 1,
            receiver: "ops".into(),
            integration: integration.into(),
            attempts: 0,
            created_at: 0,
            not_before: 0,
            is_fallback: false,
        }
    }

    fn ids(jobs: &[Job]) -> Vec<&str> {
        jobs.iter().map(|j| &*j.delivery).collect()
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_keeps_it_within_half() {
        let r = retry();
        assert_eq!(r.backoff(1, 1.0), 10 * S);
        assert_eq!(r.backoff(2, 1.0), 20 * S);
        assert_eq!(r.backoff(4, 1.0), 80 * S);
        assert_eq!(r.backoff(40, 1.0), 80 * S, "capped, no overflow");
        assert_eq!(r.backoff(1, 0.0), 5 * S);
    }

    #[test]
    fn the_receiver_limit_bounds_what_is_in_flight() {
        let mut o = Outbox::new(retry());
        for i in 0..5 {
            o.push(job(&format!("w{i}"), "webhook/0"));
        }
        o.push(job("e0", "email/0"));
        let started = o.ready(0, |_| 3);
        assert_eq!(started.len(), 3);
        assert_eq!(o.in_flight(), 3);
        assert!(o.ready(0, |_| 3).is_empty());
        let first = started.into_iter().next().unwrap();
        assert_eq!(o.settle(first, Outcome::Sent, 1, 0.5), Verdict::Done);
        assert_eq!(o.ready(1, |_| 3).len(), 1);
    }

    #[test]
    fn a_failing_lane_backs_off_alone_and_probes_one_at_a_time() {
        let mut o = Outbox::new(retry());
        for i in 0..3 {
            o.push(job(&format!("w{i}"), "webhook/0"));
            o.push(job(&format!("e{i}"), "email/0"));
        }
        let started = o.ready(0, |_| 10);
        assert_eq!(started.len(), 6);
        for j in started {
            let outcome = if &*j.integration == "email/0" {
                Outcome::Retryable
            } else {
                Outcome::Sent
            };
            o.settle(j, outcome, 0, 1.0);
        }
        // The email lane waits its backoff, then sends one probe only.
        assert!(o.ready(9 * S, |_| 10).is_empty());
        assert_eq!(o.next_wake(|_| 10), Some(10 * S));
        let probe = o.ready(80 * S, |_| 10);
        assert_eq!(ids(&probe), ["e0"], "the oldest first, and alone");
        assert_eq!(probe[0].attempts, 2);
        o.settle(
            probe.into_iter().next().unwrap(),
            Outcome::Sent,
            80 * S,
            1.0,
        );
        // Healthy again: the rest go together.
        assert_eq!(ids(&o.ready(80 * S, |_| 10)), ["e1", "e2"]);
    }

    #[test]
    fn attempts_run_out_and_permanent_failures_give_up_at_once() {
        let mut o = Outbox::new(retry());
        o.push(job("w0", "webhook/0"));
        let mut now = 0;
        let mut verdict = Verdict::Done;
        for _ in 0..5 {
            let j = o.ready(now, |_| 1).pop().expect("ready");
            verdict = o.settle(j, Outcome::Retryable, now, 1.0);
            if let Verdict::RetryAt(at) = verdict {
                now = at;
            }
        }
        assert_eq!(verdict, Verdict::GiveUp, "after max_attempts");
        assert_eq!(o.queued(), 0);

        // The lane is still backing off; once it may send again, a
        // permanent failure gives up without retrying (and without
        // pausing the lane further).
        o.push(job("w1", "webhook/0"));
        assert!(o.ready(now, |_| 1).is_empty());
        now += 100 * S;
        let j = o.ready(now, |_| 1).pop().expect("ready");
        assert_eq!(o.settle(j, Outcome::Permanent, now, 1.0), Verdict::GiveUp);
    }

    #[test]
    fn old_deliveries_expire_without_another_attempt() {
        let mut o = Outbox::new(retry());
        o.push(job("w0", "webhook/0"));
        let mut young = job("w1", "webhook/0");
        young.created_at = 1000 * S;
        o.push(young);
        assert_eq!(o.next_wake(|_| 10), Some(0));
        assert!(o.expired(3599 * S).is_empty());
        assert_eq!(ids(&o.expired(3600 * S)), ["w0"]);
        assert_eq!(o.queued(), 1);
    }

    #[test]
    fn a_lane_waiting_for_a_slot_does_not_ask_to_be_woken() {
        let mut o = Outbox::new(retry());
        for i in 0..5 {
            o.push(job(&format!("w{i}"), "webhook/0"));
        }
        assert_eq!(o.ready(0, |_| 3).len(), 3);
        // Two are due but the receiver is at its limit: the next wake is
        // their expiry, not now (which would spin the caller).
        assert_eq!(o.next_wake(|_| 3), Some(3600 * S));
    }

    #[test]
    fn queued_jobs_share_their_lanes_names() {
        let mut o = Outbox::new(retry());
        o.push(job("a", "webhook/0"));
        o.push(job("b", "webhook/0"));
        let started = o.ready(0, |_| 8);
        assert_eq!(ids(&started), ["a", "b"]);
        assert!(Arc::ptr_eq(&started[0].receiver, &started[1].receiver));
        assert!(Arc::ptr_eq(
            &started[0].integration,
            &started[1].integration
        ));
    }

    #[test]
    fn a_receivers_slots_go_round_its_lanes() {
        let mut o = Outbox::new(retry());
        for i in 0..4 {
            o.push(job(&format!("e{i}"), "email/0"));
            o.push(job(&format!("w{i}"), "webhook/0"));
        }
        let started = o.ready(0, |_| 2);
        let lanes: Vec<&str> = started.iter().map(|j| &*j.integration).collect();
        assert_eq!(lanes, ["email/0", "webhook/0"]);
    }
}
