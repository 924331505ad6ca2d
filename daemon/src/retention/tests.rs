//! Retention on a real store with the daemon's views: what a run removes,
//! what it holds back for live state, and that the views rebuilt from what
//! is left are the views a reader of the whole log would have.

use super::policy::Policy;
use super::run::{Outcome, run_at};
use crate::config::Config;
use crate::state::Shared;
use crate::state::replay::rebuild;
use std::sync::Arc;
use tempfile::TempDir;
use vigil_store::event::examples::every_variant;
use vigil_store::{
    Actor, Alert, AlertStatus, AlertsIngested, ApiKeyChange, Custom, Event, EventKind, Hash,
    RetentionTrigger, Severity, VerifyOptions, now_micros,
};
use vigil_views::Views;

struct Store {
    _dir: TempDir,
    shared: Arc<Shared>,
}

fn store(retention: &str) -> Store {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let me = nix::unistd::getuid().to_string();
    let mut config = Config::dev(Some(&state), None, me).unwrap();
    config.retention = toml::from_str(retention).unwrap();
    let shared = Shared::new(crate::state::testing::parts(
        config,
        dir.path().join("control.sock"),
    ));
    Store { _dir: dir, shared }
}

impl Store {
    fn append(&self, event: Event) -> u64 {
        self.shared.log.append(&event).unwrap().seq
    }

    /// Runs retention as an operator would, an hour from now.
    fn run(&self) -> Outcome {
        let policy = super::policy(&self.shared);
        self.run_with(&policy, RetentionTrigger::Request)
    }

    fn run_with(&self, policy: &Policy, trigger: RetentionTrigger) -> Outcome {
        let later = now_micros() + 3_600_000_000;
        run_at(&self.shared, policy, trigger, Actor::Daemon, false, later).unwrap()
    }

    /// Which live views differ from `other`.
    fn live_differs(&self, other: &Views) -> Vec<&'static str> {
        self.shared.with_views(|v| v.differing(other)).unwrap()
    }

    /// The live views' state that must survive a prune.
    fn live_state(&self) -> LiveState {
        self.shared.with_views(|v| LiveState::of(v)).unwrap()
    }

    fn verifies(&self) {
        let report = self.shared.log.verify(&VerifyOptions::default()).unwrap();
        assert!(report.ok, "{report:?}");
    }
}

fn custom(message: &str) -> Event {
    Event::Custom(Custom {
        actor: Actor::Daemon,
        severity: Severity::Info,
        message: message.into(),
        labels: [("user".to_string(), message.to_string())].into(),
    })
}

fn alert(source: &str, fingerprint: &str, status: AlertStatus) -> Event {
    Event::AlertsIngested(AlertsIngested {
        source: source.into(),
        driver: "generic".into(),
        delivery_id: None,
        actor: Actor::Source {
            name: source.into(),
        },
        alerts: vec![Alert {
            fingerprint: fingerprint.into(),
            status,
            severity: Severity::Warning,
            summary: format!("{fingerprint} summary"),
            labels: [("alertname".to_string(), fingerprint.to_string())].into(),
            annotations: Default::default(),
            starts_at: None,
            ends_at: None,
            links: vec![],
        }],
        raw: None,
    })
}

fn key(id: &str) -> Event {
    Event::ApiKey(ApiKeyChange::Created {
        id: id.into(),
        name: "ci".into(),
        prefix: format!("vgl_{id}"),
        digest: Hash([1; 32]),
        sources: vec![],
        expires_at: None,
        actor: Actor::Daemon,
    })
}

#[test]
fn a_truncation_keeps_every_view_equal_to_a_reader_of_the_whole_log() {
    let s = store("default = \"1s\"\ntruncate_at_least = 1\n");
    // One event of every kind the views fold (the chain's own entries and
    // retention records are the store's to write; a pending delivery stops
    // a truncation, which the next test shows).
    for (_, event) in every_variant() {
        let kind = event.kind();
        if !super::policy::follows(kind.code())
            && kind != EventKind::System
            && !matches!(event, Event::NotificationIntended(_))
        {
            s.append(event);
        }
    }
    for i in 0..20 {
        s.append(custom(&format!("filler {i}")));
    }
    let log = &s.shared.log;
    let before = log.head().seq;
    let mut reader = rebuild(log, before).unwrap();

    let outcome = s.run();
    assert_eq!(outcome.plan.cut, Some(before), "every entry was due");
    assert_eq!(outcome.plan.prune_count(), 0);
    assert_eq!(log.first_seq(), before + 1);
    s.verifies();

    // A reader of the whole log goes on reading what the run appended.
    for entry in log.entries(before + 1) {
        let entry = entry.unwrap();
        reader.apply(entry.seal(), entry.event().unwrap().as_ref());
    }
    let rebuilt = rebuild(log, log.head().seq).unwrap();
    assert_eq!(rebuilt.differing(&reader), Vec::<&str>::new());
    assert_eq!(s.live_differs(&reader), Vec::<&str>::new());
    // And a start with no snapshot (from the checkpoint) sees the same.
    log.clear_snapshots().unwrap();
    let (restored, _) = crate::state::replay::restore(log).unwrap();
    assert_eq!(restored.differing(&reader), Vec::<&str>::new());
}

#[test]
fn a_pending_deliverys_intent_stops_the_truncation_before_it() {
    let s = store("default = \"1s\"\ntruncate_at_least = 1\n");
    s.append(custom("before"));
    let intent = every_variant()
        .into_iter()
        .find_map(|(_, e)| matches!(e, Event::NotificationIntended(_)).then_some(e))
        .unwrap();
    let at = s.append(intent);
    s.append(custom("after"));
    let outcome = s.run();
    assert_eq!(
        outcome.plan.cut,
        Some(at - 1),
        "the notifier still reads seq {at}"
    );
    assert!(s.shared.log.get(at).unwrap().unwrap().body().is_some());
    s.verifies();
}

#[test]
fn bodies_live_state_comes_from_are_held_and_the_rest_dropped() {
    let s = store("default = \"1s\"\ntruncate_at_least = 1000000\n");
    let active_key = s.append(key("ab12cd34"));
    let open = s.append(alert("am", "DiskFull", AlertStatus::Firing));
    let gone = s.append(alert("am", "CpuHot", AlertStatus::Firing));
    let resolved = s.append(alert("am", "CpuHot", AlertStatus::Resolved));
    let chatter = s.append(custom("chatter"));

    let outcome = s.run();
    let plan = &outcome.plan;
    assert_eq!(plan.cut, None, "too short a prefix to truncate");
    assert_eq!(plan.held, 2, "{plan:?}");
    let dropped: Vec<u64> = plan.pruned.iter().flatten().copied().collect();
    for seq in [gone, resolved, chatter] {
        assert!(dropped.contains(&seq), "{seq} in {dropped:?}");
    }
    for seq in [active_key, open] {
        assert!(!dropped.contains(&seq), "{seq} held");
        assert!(s.shared.log.get(seq).unwrap().unwrap().body().is_some());
    }
    s.verifies();
    let (has_key, ids) = s
        .shared
        .with_views(|v| {
            let ids: Vec<String> = v.incidents.iter().map(|i| i.id.to_string()).collect();
            (v.keys.keys.contains_key("ab12cd34"), ids)
        })
        .unwrap();
    assert!(has_key);
    assert_eq!(
        ids,
        vec![open.to_string()],
        "the open incident keeps its id"
    );
    let recorded = outcome.recorded.unwrap().1;
    assert_eq!(recorded.held, 2);
    assert!(recorded.bytes_before > 0 && recorded.bytes_after > 0);
}

#[test]
fn a_resolved_incidents_alerts_stay_for_the_period_after_it_resolved() {
    let s = store("ingest = \"1s\"\nafter_resolve = \"30d\"\ntruncate_at_least = 1000000\n");
    let fired = s.append(alert("am", "CpuHot", AlertStatus::Firing));
    let resolved = s.append(alert("am", "CpuHot", AlertStatus::Resolved));
    let outcome = s.run();
    let dropped: Vec<u64> = outcome.plan.pruned.iter().flatten().copied().collect();
    for seq in [fired, resolved] {
        assert!(
            !dropped.contains(&seq),
            "resolved an hour before the run, within 30d"
        );
        assert!(s.shared.log.get(seq).unwrap().unwrap().body().is_some());
    }
    assert_eq!(outcome.plan.held, 2, "{:?}", outcome.plan);
}

#[test]
fn prune_mode_keeps_every_entry_and_drops_bodies_only() {
    let s = store("custom = \"1s\"\nmode = \"prune\"\ntruncate_at_least = 1\n");
    let seqs: Vec<u64> = (0..5).map(|i| s.append(custom(&format!("c{i}")))).collect();
    let outcome = s.run();
    assert_eq!(outcome.plan.cut, None);
    assert_eq!(outcome.plan.prune_count(), 5);
    for seq in seqs {
        let entry = s.shared.log.get(seq).unwrap().unwrap();
        assert!(entry.is_pruned(), "the entry stays, without its body");
    }
    s.verifies();
}

#[test]
fn a_source_rule_comes_before_its_kinds_rule() {
    let s = store(
        "ingest = \"1000d\"\ntruncate_at_least = 1\n[[source]]\nname = \"noisy\"\nkeep = \"1s\"\n",
    );
    let quiet = s.append(alert("quiet", "A", AlertStatus::Resolved));
    let noisy = s.append(alert("noisy", "B", AlertStatus::Resolved));
    let outcome = s.run();
    let dropped: Vec<u64> = outcome.plan.pruned.iter().flatten().copied().collect();
    assert_eq!(dropped, vec![noisy]);
    assert!(s.shared.log.get(quiet).unwrap().unwrap().body().is_some());
    let rules: Vec<String> = outcome
        .recorded
        .unwrap()
        .1
        .rules
        .iter()
        .map(|r| r.rule.clone())
        .collect();
    assert_eq!(rules, vec!["source noisy 1s truncate".to_string()]);
}

#[test]
fn a_scheduled_run_with_nothing_due_records_nothing_and_a_requested_one_does() {
    let s = store("default = \"1000d\"\n");
    s.append(custom("young"));
    let policy = super::policy(&s.shared);
    let head = s.shared.log.head().seq;
    let quiet = s.run_with(&policy, RetentionTrigger::Schedule);
    assert!(quiet.plan.is_empty() && quiet.recorded.is_none());
    assert_eq!(s.shared.log.head().seq, head, "no second record of nothing");
    let asked = s.run_with(&policy, RetentionTrigger::Request);
    let (seq, record) = asked.recorded.unwrap();
    assert_eq!(seq, head + 1);
    assert!(record.rules.is_empty());
}

#[test]
fn an_erasure_drops_matching_bodies_keeps_no_copy_and_records_only_a_digest() {
    let s = store("");
    let canary = "canary-7f3a9e-person";
    let hit = s.append(custom(canary));
    let miss = s.append(custom("someone else"));
    let selector = super::erase::Selector {
        labels: vec![("user".into(), canary.into())],
        kind: None,
        since: None,
        until: None,
    };
    let found = super::erase::matching(&s.shared, &selector).unwrap();
    assert_eq!(found.seqs, vec![hit]);
    let record = super::erase::record(Actor::Daemon, "request 17".into(), &selector, &found.seqs);
    let Event::Erasure(erasure) = &record else {
        unreachable!()
    };
    assert!(!erasure.selector.contains(canary), "{}", erasure.selector);
    // Snapshots made before the erasure hold the canary too.
    s.shared
        .with_views(|v| crate::state::replay::snapshot(v, &s.shared.log))
        .unwrap()
        .unwrap();
    let at = s.append(record);
    super::erase::apply(&s.shared, found.seqs, at).unwrap();
    assert!(s.shared.log.get(hit).unwrap().unwrap().is_pruned());
    assert!(s.shared.log.get(miss).unwrap().unwrap().body().is_some());
    s.verifies();
    let store_dir = s.shared.config().store_dir();
    let holding = files_containing(&store_dir, canary.as_bytes());
    assert!(holding.is_empty(), "the canary is still in {holding:?}");
    // Erasing what may not go is refused before anything is looked at.
    let chain = super::erase::Selector {
        kind: Some(EventKind::Retention),
        ..selector
    };
    assert!(chain.check().unwrap_err().contains("cannot be erased"));
}

/// What a prune must leave as it was: the state the daemon acts on.
#[derive(Debug, PartialEq)]
struct LiveState {
    active_keys: Vec<String>,
    silences: Vec<(u64, i64, i64)>,
    pending: Vec<(String, u32)>,
    baseline: Vec<(String, u64)>,
    positions: Vec<(String, String, u64)>,
    open: Vec<(String, u64)>,
}

impl LiveState {
    fn of(v: &Views) -> LiveState {
        LiveState {
            active_keys: v
                .keys
                .keys
                .values()
                .filter(|k| k.revoked_at.is_none())
                .map(|k| k.id.clone())
                .collect(),
            silences: v
                .silences
                .silences
                .iter()
                .map(|(id, s)| (*id, s.starts_at, s.ends_at))
                .collect(),
            pending: v
                .deliveries
                .pending()
                .map(|d| (d.id.to_string(), d.attempts))
                .collect(),
            baseline: v
                .files
                .files
                .iter()
                .map(|(p, e)| (p.to_string(), e.seq()))
                .collect(),
            positions: v
                .logs
                .sources
                .iter()
                .flat_map(|(set, paths)| {
                    paths
                        .iter()
                        .map(|(path, f)| (set.clone(), path.clone(), f.seq.unwrap_or(0)))
                })
                .collect(),
            open: v
                .incidents
                .iter()
                .filter(|i| i.state != vigil_views::IncidentState::Resolved)
                .map(|i| (i.id.to_string(), u64::from(i.fired)))
                .collect(),
        }
    }
}

#[test]
fn a_prune_of_everything_due_leaves_the_live_state_of_every_view_as_it_was() {
    let s = store("default = \"1s\"\ntruncate_at_least = 1000000\n");
    for (_, event) in every_variant() {
        let kind = event.kind();
        if !super::policy::follows(kind.code()) && kind != EventKind::System {
            s.append(event);
        }
    }
    for i in 0..5 {
        s.append(custom(&format!("filler {i}")));
    }
    let before = s.live_state();
    assert!(
        !before.pending.is_empty() && !before.open.is_empty(),
        "{before:?}"
    );
    let outcome = s.run();
    assert_eq!(outcome.plan.cut, None);
    assert!(outcome.plan.prune_count() > 0 && outcome.plan.held > 0);
    s.verifies();
    assert_eq!(s.live_state(), before);
    // And a start from the log alone sees the same.
    s.shared.log.clear_snapshots().unwrap();
    let (restored, _) = crate::state::replay::restore(&s.shared.log).unwrap();
    assert_eq!(LiveState::of(&restored), before);
}

fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                out.push(path);
            }
        }
    }
    out
}
