//! Verifying a fleet from its stream, message by message: each host's
//! chain goes through the store's own [`StreamVerifier`], so the rules are
//! exactly `vigilctl verify`'s (links, seals per epoch, digests, accounted
//! prunes), plus what only a shared stream can get wrong: a record on
//! another host's subject, an entry twice, a start that does not fit.
//!
//! Pure: no I/O. [`crate::read`] feeds it from the broker.

use crate::wire::{self, RecordKind, StreamStart};
use bytes::Bytes;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use vigil_store::export::EntryRecord;
use vigil_store::{Hash, Head, StoreId, StreamVerifier, VerificationKey};

/// Entries of one host held back while an earlier one is missing (a
/// resend after a lost connection lands after later ones); past this, the
/// missing one is a gap.
pub const REORDER_LIMIT: usize = 65_536;

/// One message as read from the stream.
#[derive(Clone, Debug)]
pub struct Delivered {
    /// Its stream sequence.
    pub sequence: u64,
    /// Its subject.
    pub subject: String,
    /// When the broker stored it (UTC micros).
    pub time: i64,
    /// The `Vigil-Store` header.
    pub store: Option<String>,
    /// The `Vigil-Host` header.
    pub host: Option<String>,
    /// The `Vigil-Record` header.
    pub record: Option<String>,
    /// The payload.
    pub payload: Bytes,
}

/// What was found of one host.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostReport {
    /// Its name.
    pub host: String,
    /// Its store id (the host's identity).
    pub store_id: String,
    /// The subject it publishes on.
    pub subject: String,
    /// Entries read.
    pub entries: u64,
    /// First seq forwarded.
    pub first: Option<u64>,
    /// Last seq verified in order.
    pub head_seq: u64,
    /// Its link.
    pub head_link: Option<String>,
    /// Its time (UTC micros).
    pub head_time: Option<i64>,
    /// Ranges the host declared it never forwarded (truncated locally
    /// first, with `wait_for_forward = false`).
    pub gaps: Vec<(u64, u64)>,
    /// Whether seals were checked (its key was given).
    pub keyed: bool,
    /// The first bad seq and why.
    pub failure: Option<(u64, String)>,
    /// How long before the stream's newest message the broker stored this
    /// host's last entry (seconds, the broker's clock).
    pub lag_secs: f64,
}

impl HostReport {
    /// No failure.
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// What was found of the whole stream.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FleetReport {
    /// Messages read.
    pub messages: u64,
    /// Messages without Vigil's headers (not ours; ignored).
    pub foreign: u64,
    /// The last stream sequence read.
    pub last_sequence: u64,
    /// Per host, by name then store id.
    pub hosts: Vec<HostReport>,
}

impl FleetReport {
    /// Every host verified.
    pub fn ok(&self) -> bool {
        self.hosts.iter().all(HostReport::ok)
    }
}

/// One host's chain being verified.
struct HostChain {
    store: StoreId,
    host: String,
    subject: String,
    key: Option<Arc<VerificationKey>>,
    verifier: Option<StreamVerifier>,
    start: Option<StreamStart>,
    entries: u64,
    first: Option<u64>,
    head_time: Option<i64>,
    /// When the broker stored the last entry verified.
    stored: i64,
    gaps: Vec<(u64, u64)>,
    failure: Option<(u64, String)>,
    /// Entries ahead of the next expected one, by seq.
    waiting: BTreeMap<u64, (EntryRecord, i64, u64)>,
}

/// Verifies a stream's hosts as their messages arrive, in stream order.
pub struct FleetCheck {
    keys: Option<HashMap<StoreId, Arc<VerificationKey>>>,
    hosts: HashMap<StoreId, HostChain>,
    messages: u64,
    foreign: u64,
    last_sequence: u64,
    newest: i64,
}

impl FleetCheck {
    /// With `keys`, every host's seals are checked, and a host without a
    /// key fails; without, links and digests only.
    pub fn new(keys: Option<Vec<VerificationKey>>) -> FleetCheck {
        FleetCheck {
            keys: keys.map(|ks| {
                ks.into_iter()
                    .map(|k| (k.store_id(), Arc::new(k)))
                    .collect()
            }),
            hosts: HashMap::new(),
            messages: 0,
            foreign: 0,
            last_sequence: 0,
            newest: 0,
        }
    }

    /// Whether some host has failed already.
    pub fn failed(&self) -> bool {
        self.hosts.values().any(|h| h.failure.is_some())
    }

    /// Takes the next message of the stream.
    pub fn take(&mut self, m: Delivered) {
        self.messages += 1;
        self.last_sequence = self.last_sequence.max(m.sequence);
        self.newest = self.newest.max(m.time);
        let (Some(store), Some(record)) = (
            m.store.as_deref().and_then(StoreId::from_hex),
            m.record.as_deref().and_then(RecordKind::parse),
        ) else {
            self.foreign += 1;
            return;
        };
        let keys = &self.keys;
        let chain = self.hosts.entry(store).or_insert_with(|| HostChain {
            store,
            host: m.host.clone().unwrap_or_default(),
            subject: m.subject.clone(),
            key: keys.as_ref().and_then(|k| k.get(&store).cloned()),
            verifier: None,
            start: None,
            entries: 0,
            first: None,
            head_time: None,
            stored: 0,
            gaps: Vec::new(),
            failure: None,
            waiting: BTreeMap::new(),
        });
        if chain.failure.is_some() {
            return;
        }
        if self.keys.is_some() && chain.key.is_none() {
            return chain.fail(
                0,
                format!("no verification key for store {store} was given"),
            );
        }
        if m.subject != chain.subject {
            let seq = header_seq(&m);
            return chain.fail(
                seq,
                format!(
                    "a record of this host arrived on {} (message {}), and the host publishes on {}",
                    m.subject, m.sequence, chain.subject
                ),
            );
        }
        match record {
            RecordKind::Start => chain.start(&m),
            RecordKind::Entry => chain.entry(&m),
        }
    }

    /// The report so far; `done` when the stream was read to its end (an
    /// entry still missing is then a gap).
    pub fn report(&mut self, done: bool) -> FleetReport {
        let newest = self.newest;
        let mut hosts: Vec<HostReport> = self
            .hosts
            .values_mut()
            .map(|chain| chain.report(done, newest))
            .collect();
        hosts.sort_by(|a, b| (&a.host, &a.store_id).cmp(&(&b.host, &b.store_id)));
        FleetReport {
            messages: self.messages,
            foreign: self.foreign,
            last_sequence: self.last_sequence,
            hosts,
        }
    }
}

/// The seq a message's header names (0 when it names none).
fn header_seq(m: &Delivered) -> u64 {
    serde_json::from_slice::<SeqOnly>(&m.payload)
        .ok()
        .and_then(|s| s.seq.or(s.first))
        .unwrap_or(0)
}

#[derive(serde::Deserialize)]
struct SeqOnly {
    seq: Option<u64>,
    first: Option<u64>,
}

impl HostChain {
    fn fail(&mut self, seq: u64, reason: String) {
        if self.failure.is_none() {
            self.failure = Some((seq, reason));
        }
    }

    fn expected(&self) -> u64 {
        self.verifier.as_ref().map_or(0, |v| v.last().seq + 1)
    }

    fn start(&mut self, m: &Delivered) {
        let start: StreamStart = match serde_json::from_slice(&m.payload) {
            Ok(s) => s,
            Err(e) => {
                return self.fail(
                    0,
                    format!("message {} is not a start record: {e}", m.sequence),
                );
            }
        };
        if start.store_id != self.store {
            return self.fail(
                start.first,
                format!(
                    "the start record in message {} names store {}, and its header {}",
                    m.sequence, start.store_id, self.store
                ),
            );
        }
        if start.version != wire::START_VERSION {
            return self.fail(
                start.first,
                format!(
                    "start record version {} is not supported by this build (it reads {})",
                    start.version,
                    wire::START_VERSION
                ),
            );
        }
        if let (Some(key), Some(fp)) = (&self.key, &start.key_fingerprint)
            && key.fingerprint() != *fp
        {
            return self.fail(
                start.first,
                format!(
                    "the host's start names key {fp}, and the key given for store {} is {}",
                    self.store,
                    key.fingerprint()
                ),
            );
        }
        let fits = match start.before {
            None => start.first == 1,
            Some(b) => b.seq.checked_add(1) == Some(start.first),
        };
        if !fits {
            return self.fail(
                start.first,
                format!(
                    "the start record in message {} names first {} and an entry before it that does not precede it",
                    m.sequence, start.first
                ),
            );
        }
        if self.verifier.is_some() {
            // A later start: the host says it never forwarded what lies
            // between (truncated locally first).
            let expected = self.expected();
            if start.first <= expected || !self.waiting.is_empty() {
                return self.fail(
                    start.first,
                    format!(
                        "a second start record (message {}) at seq {} inside what was forwarded (next expected {expected})",
                        m.sequence, start.first
                    ),
                );
            }
            self.gaps.push((expected, start.first - 1));
        }
        let verifier = match StreamVerifier::after(
            self.store,
            self.key.as_deref(),
            false,
            start.before.map(|b| b.seal()).as_ref(),
        ) {
            Ok(v) => v.open_ended(true),
            Err(e) => return self.fail(start.first, e.to_string()),
        };
        if let Some(f) = verifier.failure() {
            let (seq, problem) = (f.seq, f.problem.to_string());
            return self.fail(seq, format!("the start record's entry before: {problem}"));
        }
        self.host = start.host.clone();
        self.first.get_or_insert(start.first);
        self.verifier = Some(verifier);
        self.start = Some(start);
    }

    fn entry(&mut self, m: &Delivered) {
        let Some(verifier) = &self.verifier else {
            return self.fail(
                header_seq(m),
                format!(
                    "entry in message {} arrives before the host's start record",
                    m.sequence
                ),
            );
        };
        let record = match EntryRecord::parse(&m.payload, verifier.rules()) {
            Ok(r) => r,
            Err((seq, detail)) => {
                return self.fail(
                    seq.unwrap_or(0),
                    format!("message {}: {detail}", m.sequence),
                );
            }
        };
        let seq = record.seal().seq;
        let expected = self.expected();
        if seq < expected || self.waiting.contains_key(&seq) {
            return self.fail(
                seq,
                format!(
                    "entry {seq} appears again in message {} (each entry is forwarded once)",
                    m.sequence
                ),
            );
        }
        if seq > expected {
            if self.waiting.len() >= REORDER_LIMIT {
                return self.fail(
                    expected,
                    format!("entry {expected} is missing: {REORDER_LIMIT} later entries arrived without it"),
                );
            }
            self.waiting.insert(seq, (record, m.time, m.sequence));
            return;
        }
        self.push(record, m.time);
        loop {
            let expected = self.expected();
            let Some(entry) = self.waiting.first_entry() else {
                break;
            };
            if *entry.key() != expected {
                break;
            }
            let (record, time, _) = entry.remove();
            self.push(record, time);
            if self.failure.is_some() {
                return;
            }
        }
    }

    fn push(&mut self, record: EntryRecord, stored: i64) {
        let verifier = self.verifier.as_mut().expect("started");
        let time = record.seal().time;
        record.push_to(verifier);
        if let Some(f) = verifier.failure() {
            let (seq, problem) = (f.seq, f.problem.to_string());
            return self.fail(seq, problem);
        }
        self.entries += 1;
        self.head_time = Some(time);
        self.stored = stored;
    }

    fn report(&mut self, done: bool, newest: i64) -> HostReport {
        if done
            && self.failure.is_none()
            && let Some((&seq, _)) = self.waiting.first_key_value()
        {
            let expected = self.expected();
            self.fail(
                expected,
                format!(
                    "entries {expected}..{} are missing from the stream (entry {seq} is there)",
                    seq - 1
                ),
            );
        }
        if self.verifier.is_none() && self.failure.is_none() && done {
            self.fail(0, "no start record for this host on the stream".into());
        }
        let head: Option<Head> = self.verifier.as_ref().map(StreamVerifier::last);
        HostReport {
            host: self.host.clone(),
            store_id: self.store.to_hex(),
            subject: self.subject.clone(),
            entries: self.entries,
            first: self.first,
            head_seq: head.map_or(0, |h| h.seq),
            head_link: head.filter(|h| h.seq > 0).map(|h| link_hex(h.link)),
            head_time: self.head_time,
            gaps: self.gaps.clone(),
            keyed: self.key.is_some(),
            failure: self.failure.clone(),
            lag_secs: if self.entries == 0 {
                0.0
            } else {
                (newest - self.stored).max(0) as f64 / 1e6
            },
        }
    }
}

fn link_hex(link: Hash) -> String {
    let mut buf = [0u8; 64];
    link.hex_str(&mut buf).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::wire::{StreamStart, entry_payload};
    use vigil_store::{Actor, Custom, Event, Log, LogOptions, Severity};

    const SUBJECT: &str = "vigil.db1.entries";

    /// A store of 12 entries over two epochs, its key, and its messages
    /// (start first) as a forwarder publishes them.
    fn host() -> (tempfile::TempDir, Log, VerificationKey, Vec<Delivered>) {
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("vk");
        let log = Log::create(&dir.path().join("store"), &key_path, LogOptions::default()).unwrap();
        for i in 0..10 {
            let event = Event::Custom(Custom {
                actor: Actor::Daemon,
                severity: Severity::Info,
                message: format!("entry {i}"),
                labels: Default::default(),
            });
            log.append(&event).unwrap();
            if i == 5 {
                log.advance_epoch("test").unwrap();
            }
        }
        let key = vigil_store::read_verification_key(&key_path).unwrap();
        let start = StreamStart::of(&log, 1, "db1", "test").unwrap();
        let mut messages = vec![message(
            1,
            "start",
            serde_json::to_vec(&start).unwrap(),
            &log,
        )];
        for entry in log.entries_between(1, log.head().seq) {
            let entry = entry.unwrap();
            let n = messages.len() as u64 + 1;
            messages.push(message(n, "entry", entry_payload(&entry), &log));
        }
        (dir, log, key, messages)
    }

    fn message(sequence: u64, record: &str, payload: Vec<u8>, log: &Log) -> Delivered {
        Delivered {
            sequence,
            subject: SUBJECT.into(),
            time: sequence as i64,
            store: Some(log.store_id().to_hex()),
            host: Some("db1".into()),
            record: Some(record.into()),
            payload: payload.into(),
        }
    }

    fn run(keys: Option<Vec<VerificationKey>>, messages: &[Delivered]) -> HostReport {
        let mut check = FleetCheck::new(keys);
        for m in messages {
            check.take(m.clone());
        }
        let mut report = check.report(true);
        assert_eq!(report.hosts.len(), 1);
        report.hosts.remove(0)
    }

    #[test]
    fn a_forwarded_chain_verifies_with_its_key() {
        let (_dir, log, key, messages) = host();
        let report = run(Some(vec![key]), &messages);
        assert!(report.ok(), "{report:?}");
        assert!(report.keyed);
        assert_eq!(report.head_seq, log.head().seq);
        assert_eq!(report.entries, log.head().seq);
        assert_eq!(report.first, Some(1));
        assert_eq!(report.host, "db1");
    }

    #[test]
    fn an_entry_arriving_twice_fails_at_its_seq() {
        let (_dir, _log, _key, mut messages) = host();
        let again = messages[5].clone();
        messages.push(again);
        let report = run(None, &messages);
        let (seq, reason) = report.failure.unwrap();
        assert_eq!(seq, 5);
        assert!(reason.contains("appears again"), "{reason}");
    }

    #[test]
    fn entries_out_of_order_are_put_back_in_order_and_a_missing_one_is_a_gap() {
        let (_dir, _log, key, mut messages) = host();
        // A resend after a lost connection: entry 4 lands after 5..=8.
        let four = messages.remove(4);
        let mut reordered = messages.clone();
        reordered.insert(8, four);
        let report = run(Some(vec![key]), &reordered);
        assert!(report.ok(), "{report:?}");
        // Never resent: a gap at 4.
        let report = run(None, &messages);
        let (seq, reason) = report.failure.unwrap();
        assert_eq!(seq, 4);
        assert!(reason.contains("missing"), "{reason}");
    }

    #[test]
    fn a_record_on_another_subject_or_before_the_start_fails() {
        let (_dir, _log, _key, mut messages) = host();
        messages[6].subject = "vigil.mallory.entries".into();
        let (seq, reason) = run(None, &messages).failure.unwrap();
        assert_eq!(seq, 6);
        assert!(reason.contains("vigil.mallory.entries"), "{reason}");

        let (_dir, _log, _key, messages) = host();
        let (seq, reason) = run(None, &messages[1..]).failure.unwrap();
        assert_eq!(seq, 1);
        assert!(
            reason.contains("before the host's start record"),
            "{reason}"
        );
    }

    #[test]
    fn a_changed_body_fails_at_its_seq_and_a_missing_key_fails_the_host() {
        let (_dir, _log, key, mut messages) = host();
        let text = String::from_utf8(messages[7].payload.to_vec()).unwrap();
        messages[7].payload = text
            .replace("\"entry 5\"", "\"entry X\"")
            .into_bytes()
            .into();
        let (seq, reason) = run(None, &messages).failure.unwrap();
        assert_eq!(seq, 7, "{reason}");

        let (_dir, _log, _key, messages) = host();
        let (_, reason) = run(Some(vec![key]), &messages).failure.unwrap();
        assert!(reason.contains("no verification key"), "{reason}");
    }

    #[test]
    fn a_later_start_declares_what_was_never_forwarded() {
        let (_dir, log, key, messages) = host();
        // Entries 6..=8 truncated before they were forwarded: a start at 9
        // names entry 8, which the host still has in this test.
        let start = StreamStart::of(&log, 9, "db1", "test").unwrap();
        let mut stream: Vec<Delivered> = messages[..6].to_vec();
        stream.push(message(
            20,
            "start",
            serde_json::to_vec(&start).unwrap(),
            &log,
        ));
        stream.extend(messages[9..].iter().cloned());
        let report = run(Some(vec![key]), &stream);
        assert!(report.ok(), "{report:?}");
        assert_eq!(report.gaps, vec![(6, 8)]);
        assert_eq!(report.head_seq, log.head().seq);
    }
}
