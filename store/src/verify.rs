//! Verification: linkage (no key needed), seals (with the verification key),
//! and bodies (digest and decodability), in parallel over seq ranges.
//!
//! Each stored entry carries its own link, so any entry can be checked
//! against its predecessor independently: the range from the oldest
//! retained entry to the head is cut into chunks that worker threads scan
//! at the same time, and the lowest failing seq wins.
//!
//! A body is outside the seal (retention drops it and keeps the digest), so
//! every missing body must be named by a sealed retention entry
//! ([`crate::BodiesPruned`]) that the scan also finds.
//!
//! What the chain cannot show alone is a removed tail: a shorter log is
//! still a valid log. Verify checks the head the store recorded
//! ([`crate::head_file`]) and, given [`VerifyOptions::anchor`], an external
//! anchor (the daemon logs one at every epoch advance); it reports the
//! head's seq and link for comparison with others.

use crate::chain::{self, Head, Seal};
use crate::entry::{self, Entry};
use crate::error::{Result, StoreError};
use crate::event::{Event, EventKind, SeqRange};
use crate::hash::Hash;
use crate::head_file;
use crate::log::Log;
use crate::prune_ledger::PruneLedger;
use crate::seal::{EpochKey, StoreId, VerificationKey};
use crate::writer::{CUT_KEY, Cut};
use fjall::{Keyspace, Readable, Snapshot};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Most epochs a verifier derives keys for (about 285 years of 15-minute epochs).
const MAX_EPOCHS: u64 = 10_000_000;

/// What is wrong at the first bad seq.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// An entry is missing.
    Gap {
        /// The seq that should be there.
        expected: u64,
    },
    /// The stored link does not follow from the previous link and this entry's fields.
    BrokenLink,
    /// The tag does not match the link under this entry's epoch key.
    BadTag,
    /// The body does not hash to the stored digest.
    BadDigest,
    /// The epoch went backwards.
    EpochRegression {
        /// Previous entry's epoch.
        previous: u64,
        /// This entry's epoch.
        found: u64,
    },
    /// Epochs were skipped.
    EpochGap {
        /// Previous entry's epoch.
        previous: u64,
        /// This entry's epoch.
        found: u64,
    },
    /// The first entry of an epoch is not the entry that opens it.
    EpochNotOpened {
        /// The epoch.
        epoch: u64,
    },
    /// Time went backwards.
    TimeRegression {
        /// Previous entry's time.
        previous: i64,
        /// This entry's time.
        found: i64,
    },
    /// Entries at the start are gone and no checkpoint accounts for them.
    MissingCheckpoint {
        /// Details.
        detail: String,
    },
    /// The checkpoint describing the cut is missing, malformed or not sealed.
    BadCheckpoint {
        /// Details.
        detail: String,
    },
    /// The entry or its body cannot be decoded.
    Undecodable {
        /// Details.
        detail: String,
    },
    /// The body's event is of another kind than the header says.
    KindMismatch {
        /// Kind code in the header.
        header: u16,
        /// Kind code of the decoded body.
        body: u16,
    },
    /// The body contradicts the chain (wrong epoch in an epoch entry, wrong store in genesis).
    BadBody {
        /// Details.
        detail: String,
    },
    /// The log ends before an anchored seq: its tail was removed.
    Truncated {
        /// The anchored seq.
        anchored: u64,
        /// The head found.
        head: u64,
    },
    /// The anchored seq is there with another link.
    AnchorMismatch {
        /// The anchored link.
        expected: Hash,
        /// The link found.
        found: Hash,
    },
    /// The body is missing and no retention entry names it.
    UnaccountedPrune,
    /// An entry the chain needs (genesis, epoch, checkpoint) has no body.
    PrunedChainEntry {
        /// Its kind code.
        kind: u16,
    },
    /// A line of an export is malformed or contradicts its entry.
    BadExport {
        /// Details.
        detail: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Gap { expected } => write!(f, "entry {expected} is missing"),
            Problem::BrokenLink => f.write_str("broken link: the entry does not chain to its predecessor (altered, inserted, removed or reordered)"),
            Problem::BadTag => f.write_str("bad tag: the seal does not match (altered, or re-sealed with another epoch's key)"),
            Problem::BadDigest => f.write_str("bad digest: the body was altered"),
            Problem::EpochRegression { previous, found } => write!(f, "epoch went back from {previous} to {found}"),
            Problem::EpochGap { previous, found } => write!(f, "epochs skipped from {previous} to {found}"),
            Problem::EpochNotOpened { epoch } => write!(f, "epoch {epoch} does not begin with its epoch entry"),
            Problem::TimeRegression { previous, found } => write!(f, "time went back from {previous} to {found}"),
            Problem::MissingCheckpoint { detail } => write!(f, "missing checkpoint: {detail}"),
            Problem::BadCheckpoint { detail } => write!(f, "bad checkpoint: {detail}"),
            Problem::Undecodable { detail } => write!(f, "undecodable: {detail}"),
            Problem::KindMismatch { header, body } => write!(f, "header says kind {header} but the body is kind {body}"),
            Problem::BadBody { detail } => write!(f, "bad body: {detail}"),
            Problem::Truncated { anchored, head } => write!(f, "the log ends at {head} but seq {anchored} was anchored: its tail was removed"),
            Problem::AnchorMismatch { expected, found } => write!(f, "anchored link {expected} but found {found}"),
            Problem::UnaccountedPrune => f.write_str("unaccounted prune: the body is gone and no retention entry names it (removed outside retention)"),
            Problem::BadExport { detail } => write!(f, "bad export: {detail}"),
            Problem::PrunedChainEntry { kind } => write!(f, "the body of this {} entry is gone, and the chain's own entries are never pruned", kind_name(*kind)),
        }
    }
}

fn kind_name(code: u16) -> String {
    EventKind::from_code(code).map_or_else(|| format!("kind {code}"), |k| k.to_string())
}

/// The first bad seq and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// First bad seq.
    pub seq: u64,
    /// What is wrong.
    pub problem: Problem,
}

/// The outcome of a verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// No problem found.
    pub ok: bool,
    /// Entries examined.
    pub entries: u64,
    /// Oldest retained seq.
    pub first_seq: u64,
    /// Newest entry: compare with an external anchor to detect tail truncation.
    pub head: Head,
    /// Whether tags were checked (a verification key was given).
    pub keyed: bool,
    /// With a key: every entry from `first_seq` to this seq carries a valid seal.
    pub sealed_up_to: Option<u64>,
    /// Bodies hashed and decoded.
    pub bodies_checked: u64,
    /// Entries whose body retention dropped (digest kept, body not checkable).
    pub bodies_pruned: u64,
    /// Whether every dropped body had to be named by a sealed retention
    /// entry (stores of format 2; format 1 did not record prunes).
    #[serde(default)]
    pub prunes_accounted: bool,
    /// Dropped bodies whose retention record may lie past the end of what
    /// was verified (an export that stops before the head): not failures.
    #[serde(default)]
    pub prunes_unresolved: u64,
    /// The retention cut the chain starts from, if any.
    pub cut: Option<Cut>,
    /// Which runs and erasures dropped the missing bodies, by the reason
    /// their sealed records give (at most 100, oldest first).
    #[serde(default)]
    pub prune_accounts: Vec<PruneAccount>,
    /// The first problem, if any.
    pub failure: Option<Failure>,
}

/// How to verify.
#[derive(Default)]
pub struct VerifyOptions<'a> {
    /// Checks tags when given.
    pub key: Option<&'a VerificationKey>,
    /// A `(seq, link)` published earlier; checks the log still holds it.
    pub anchor: Option<(u64, Hash)>,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Called with the number of entries examined so far.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// Decode every body, not only those of genesis, epoch and checkpoint
    /// entries. Digests are always checked; decoding additionally proves
    /// every body is readable by this build.
    pub deep: bool,
}

impl fmt::Debug for VerifyOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("keyed", &self.key.is_some())
            .field("anchor", &self.anchor)
            .field("threads", &self.threads)
            .field("deep", &self.deep)
            .finish_non_exhaustive()
    }
}

/// An entry's digest and seal, checked ahead of the chain (see
/// [`EntryRules::precheck`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Precheck {
    digest_ok: bool,
    tag: Result<(), Problem>,
}

/// Whether a body was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyCheck {
    /// Hashed (and decoded when asked to).
    Checked,
    /// Dropped by retention.
    Pruned,
    /// Hashed and decoded: a retention entry naming the bodies it drops,
    /// and why.
    Accounts(Vec<SeqRange>, String),
}

/// The per-entry rules, usable on any ordered source of entries (the store,
/// an export).
pub struct EntryRules {
    /// `K(0)..=K(n)`, derived as far as the entries seen so far need: an
    /// entry's epoch, not the head's, decides, so an entry sealed in an
    /// epoch past the head's is still checked (and blamed for what it is).
    keys: Option<RwLock<Vec<EpochKey>>>,
    store_id: StoreId,
    deep: bool,
}

impl EntryRules {
    /// Rules for `store_id`; checks tags when `key` is given; `deep`
    /// decodes every body rather than only the chain's own entries.
    pub fn new(store_id: StoreId, key: Option<&VerificationKey>, deep: bool) -> EntryRules {
        EntryRules {
            keys: key.map(|k| RwLock::new(k.epoch_keys(0))),
            store_id,
            deep,
        }
    }

    /// Checks one entry against its predecessor's chain fields.
    pub fn check(
        &self,
        prev: &Head,
        seal: &Seal,
        body: Option<&[u8]>,
    ) -> Result<BodyCheck, Problem> {
        self.check_with(prev, seal, body, None)
    }

    /// [`EntryRules::check`], with the body's digest and the seal already
    /// checked elsewhere (in parallel, by [`EntryRules::precheck`]).
    fn check_with(
        &self,
        prev: &Head,
        seal: &Seal,
        body: Option<&[u8]>,
        pre: Option<Precheck>,
    ) -> Result<BodyCheck, Problem> {
        if seal.seq != prev.seq + 1 {
            return Err(Problem::Gap {
                expected: prev.seq + 1,
            });
        }
        if seal.epoch < prev.epoch {
            return Err(Problem::EpochRegression {
                previous: prev.epoch,
                found: seal.epoch,
            });
        }
        if seal.epoch > prev.epoch.saturating_add(1) {
            return Err(Problem::EpochGap {
                previous: prev.epoch,
                found: seal.epoch,
            });
        }
        let opens = if seal.seq == 1 {
            EventKind::Genesis
        } else {
            EventKind::Epoch
        };
        if seal.epoch == prev.epoch.saturating_add(1)
            && seal.epoch != prev.epoch
            && seal.kind != opens.code()
        {
            return Err(Problem::EpochNotOpened { epoch: seal.epoch });
        }
        if seal.time < prev.time {
            return Err(Problem::TimeRegression {
                previous: prev.time,
                found: seal.time,
            });
        }
        let digest_ok = match &pre {
            Some(p) => p.digest_ok,
            None => body.is_none_or(|b| Hash::sha256(b) == seal.digest),
        };
        if !digest_ok {
            return Err(Problem::BadDigest);
        }
        if chain::link(&prev.link, seal.seq, seal.time, seal.kind, &seal.digest) != seal.link {
            return Err(Problem::BrokenLink);
        }
        match pre {
            Some(p) => p.tag?,
            None => self.check_tag(seal)?,
        };
        self.check_body(seal, body)
    }

    /// What of an entry can be checked without its predecessor, so on
    /// any thread: its body's digest and its seal.
    pub fn precheck(&self, seal: &Seal, body: Option<&[u8]>) -> Precheck {
        Precheck {
            digest_ok: body.is_none_or(|b| Hash::sha256(b) == seal.digest),
            tag: self.check_tag(seal),
        }
    }

    /// Checks what an entry proves without its predecessor: digest, tag, body.
    pub fn check_alone(&self, seal: &Seal, body: Option<&[u8]>) -> Result<BodyCheck, Problem> {
        if let Some(body) = body
            && Hash::sha256(body) != seal.digest
        {
            return Err(Problem::BadDigest);
        }
        self.check_tag(seal)?;
        self.check_body(seal, body)
    }

    /// Checks a tag alone (no-op without keys).
    pub fn check_tag(&self, seal: &Seal) -> Result<(), Problem> {
        let Some(keys) = &self.keys else {
            return Ok(());
        };
        // Every epoch opens with its own entry, so no entry's epoch exceeds
        // its seq: a larger claim is forged, and deriving keys for it would
        // only waste time.
        let Some(epoch) = usize::try_from(seal.epoch)
            .ok()
            .filter(|_| seal.epoch <= seal.seq && seal.epoch <= MAX_EPOCHS)
        else {
            return Err(Problem::BadTag);
        };
        let matches = |keys: &[EpochKey]| keys[epoch].tag(&seal.link).ct_eq(&seal.tag);
        {
            let known = keys.read().expect("epoch keys lock");
            if epoch < known.len() {
                return if matches(&known) {
                    Ok(())
                } else {
                    Err(Problem::BadTag)
                };
            }
        }
        let mut known = keys.write().expect("epoch keys lock");
        while known.len() <= epoch {
            let next = known.last().expect("K(0) is always there").evolve();
            known.push(next);
        }
        if matches(&known) {
            Ok(())
        } else {
            Err(Problem::BadTag)
        }
    }

    /// Whether the body of an entry of kind code `kind` is decoded and
    /// checked beyond its digest: every body when deep, else the chain's own
    /// entries and retention records (they account for pruned bodies).
    /// Other bodies need not be kept once their digest is checked.
    pub(crate) fn reads_body(&self, kind: u16) -> bool {
        self.deep || EventKind::accounts(kind)
    }

    fn check_body(&self, seal: &Seal, body: Option<&[u8]>) -> Result<BodyCheck, Problem> {
        let Some(body) = body else {
            // The chain's own entries, and retention's records, which
            // account for every other missing body: nothing may drop theirs.
            return if EventKind::accounts(seal.kind) {
                Err(Problem::PrunedChainEntry { kind: seal.kind })
            } else {
                Ok(BodyCheck::Pruned)
            };
        };
        if !self.reads_body(seal.kind) {
            // The digest already proved the body is the one that was sealed.
            return Ok(BodyCheck::Checked);
        }
        let event = Event::decode(body).map_err(|e| Problem::Undecodable {
            detail: e.to_string(),
        })?;
        if event.kind().code() != seal.kind {
            return Err(Problem::KindMismatch {
                header: seal.kind,
                body: event.kind().code(),
            });
        }
        match event {
            Event::EpochStarted(e) if e.epoch != seal.epoch => Err(Problem::BadBody {
                detail: format!(
                    "epoch entry names epoch {} but is sealed in {}",
                    e.epoch, seal.epoch
                ),
            }),
            Event::Genesis(g) if g.store_id != self.store_id => Err(Problem::BadBody {
                detail: format!(
                    "genesis names store {} but this is store {}",
                    g.store_id, self.store_id
                ),
            }),
            Event::BodiesPruned(p) => check_prune_record(seal.seq, p.ranges, p.reason),
            _ => Ok(BodyCheck::Checked),
        }
    }
}

/// A prune record names older entries, in order, each once.
fn check_prune_record(
    seq: u64,
    ranges: Vec<SeqRange>,
    reason: String,
) -> Result<BodyCheck, Problem> {
    let mut after = 0;
    for r in &ranges {
        if r.first > r.last || r.first <= after || r.last >= seq {
            return Err(Problem::BadBody {
                detail: format!(
                    "the prune record names seqs {}..={} out of order or not before itself",
                    r.first, r.last
                ),
            });
        }
        after = r.last;
    }
    Ok(BodyCheck::Accounts(ranges, reason))
}

#[derive(Default)]
struct ChunkOutcome {
    entries: u64,
    bodies: u64,
    pruned: u64,
    ledger: PruneLedger,
    accounts: Vec<PruneAccount>,
    failure: Option<Failure>,
}

/// Bodies dropped for one reason (a retention rule of a run, an erasure),
/// as the sealed records that name them say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneAccount {
    /// The records' reason.
    pub reason: String,
    /// The first record giving it.
    pub first_record: u64,
    /// Records giving it.
    pub records: u64,
    /// Bodies they name.
    pub bodies: u64,
}

/// Most distinct reasons a report lists (the oldest first).
const MAX_ACCOUNTS: usize = 100;

fn add_account(accounts: &mut Vec<PruneAccount>, a: PruneAccount) {
    match accounts.iter_mut().find(|x| x.reason == a.reason) {
        Some(x) => {
            x.first_record = x.first_record.min(a.first_record);
            x.records += a.records;
            x.bodies += a.bodies;
        }
        None => accounts.push(a),
    }
}

impl ChunkOutcome {
    fn note(&mut self, seq: u64, check: BodyCheck) {
        match check {
            BodyCheck::Checked => self.bodies += 1,
            BodyCheck::Accounts(ranges, reason) => {
                self.bodies += 1;
                let bodies = ranges.iter().map(SeqRange::count).sum();
                add_account(
                    &mut self.accounts,
                    PruneAccount {
                        reason,
                        first_record: seq,
                        records: 1,
                        bodies,
                    },
                );
                self.ledger.note_record(seq, ranges);
            }
            BodyCheck::Pruned => {
                self.pruned += 1;
                self.ledger.note_pruned(seq);
            }
        }
    }

    fn join(mut self, other: ChunkOutcome) -> ChunkOutcome {
        self.entries += other.entries;
        self.bodies += other.bodies;
        self.pruned += other.pruned;
        self.ledger.merge(other.ledger);
        for a in other.accounts {
            add_account(&mut self.accounts, a);
        }
        self.failure = earliest(self.failure, other.failure);
        self
    }

    /// Adds the first unaccounted prune below the first chain failure.
    ///
    /// A record names older seqs, so one past the failure may account for a
    /// body missing before it: that body is unproven, not a failure, and
    /// the failure found stays the one reported.
    fn settle(mut self, accounted: bool) -> ChunkOutcome {
        if accounted
            && self.failure.is_none()
            && let Some(seq) = std::mem::take(&mut self.ledger).first_unaccounted(u64::MAX)
        {
            self.failure = Some(Failure {
                seq,
                problem: Problem::UnaccountedPrune,
            });
        }
        self
    }

    /// Counts the prunes no record seen so far names, below the first failure.
    fn unresolved(&mut self) -> u64 {
        let limit = self.failure.as_ref().map_or(u64::MAX, |f| f.seq);
        std::mem::take(&mut self.ledger).unaccounted_count(limit)
    }
}

fn earliest(a: Option<Failure>, b: Option<Failure>) -> Option<Failure> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.seq < a.seq { b } else { a }),
        (a, b) => a.or(b),
    }
}

struct Scan<'a> {
    snap: &'a Snapshot,
    log: &'a Keyspace,
    rules: &'a EntryRules,
    anchor: Head,
    progress: Option<&'a (dyn Fn(u64) + Sync)>,
    done: AtomicU64,
}

impl Scan<'_> {
    fn read(&self, seq: u64) -> Option<Entry> {
        let value = self.snap.get(self.log, entry::key(seq)).ok()??;
        Entry::decode_value(seq, value).ok()
    }

    fn chunk(&self, from: u64, to: u64) -> ChunkOutcome {
        let mut out = ChunkOutcome::default();
        // A missing or unreadable predecessor is reported by the chunk before.
        let mut prev = if from == self.anchor.seq + 1 {
            Some(self.anchor)
        } else {
            self.read(from - 1).map(|e| Head::from(e.seal()))
        };
        let mut expected = from;
        let mut since_report = 0u64;
        for item in self.snap.range(self.log, entry::key(from)..=entry::key(to)) {
            let decoded = item
                .into_inner()
                .map_err(StoreError::engine)
                .and_then(|(k, v)| Entry::decode(&k, v));
            let e = match decoded {
                Ok(e) => e,
                Err(err) => {
                    out.failure = Some(Failure {
                        seq: expected,
                        problem: Problem::Undecodable {
                            detail: err.to_string(),
                        },
                    });
                    return out;
                }
            };
            let result = match &prev {
                Some(p) => self.rules.check(p, e.seal(), e.body()),
                None if e.seq() != expected => Err(Problem::Gap { expected }),
                // Unknown predecessor: check what the entry proves alone.
                None => self.rules.check_alone(e.seal(), e.body()),
            };
            out.entries += 1;
            match result {
                Ok(check) => out.note(e.seq(), check),
                Err(problem) => {
                    let seq = match problem {
                        Problem::Gap { expected } => expected,
                        _ => e.seq(),
                    };
                    out.failure = Some(Failure { seq, problem });
                    return out;
                }
            }
            prev = Some(Head::from(e.seal()));
            expected = e.seq() + 1;
            since_report += 1;
            if since_report == 16_384 {
                self.report(since_report);
                since_report = 0;
            }
        }
        self.report(since_report);
        if expected <= to {
            out.failure = Some(Failure {
                seq: expected,
                problem: Problem::Gap { expected },
            });
        }
        out
    }

    fn report(&self, n: u64) {
        let total = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(progress) = self.progress {
            progress(total);
        }
    }
}

fn checkpoint_anchor(
    snap: &Snapshot,
    log: &Keyspace,
    cut: Cut,
    rules: &EntryRules,
) -> Result<Head, Failure> {
    let value = snap
        .get(log, entry::key(cut.checkpoint_seq))
        .map_err(|e| bad_checkpoint(cut, format!("unreadable: {e:?}")))?
        .ok_or_else(|| missing_checkpoint(cut))?;
    let e = Entry::decode_value(cut.checkpoint_seq, value)
        .map_err(|err| bad_checkpoint(cut, err.to_string()))?;
    anchor_from_checkpoint(cut, e.seal(), e.body(), rules)
}

fn bad_checkpoint(cut: Cut, detail: String) -> Failure {
    Failure {
        seq: cut.checkpoint_seq,
        problem: Problem::BadCheckpoint { detail },
    }
}

fn missing_checkpoint(cut: Cut) -> Failure {
    Failure {
        seq: cut.checkpoint_seq,
        problem: Problem::MissingCheckpoint {
            detail: format!(
                "the cut at {} names checkpoint entry {}, which is gone",
                cut.cut_seq, cut.checkpoint_seq
            ),
        },
    }
}

/// The chain fields at the cut, as the checkpoint entry records them,
/// authenticated with the key when the rules have one.
fn anchor_from_checkpoint(
    cut: Cut,
    seal: &Seal,
    body: Option<&[u8]>,
    rules: &EntryRules,
) -> Result<Head, Failure> {
    if seal.seq != cut.checkpoint_seq {
        return Err(bad_checkpoint(
            cut,
            format!("entry {} is not the checkpoint", seal.seq),
        ));
    }
    let Some(Ok(Event::Checkpoint(cp))) = body.map(Event::decode) else {
        return Err(bad_checkpoint(cut, "the entry is not a checkpoint".into()));
    };
    if cp.cut_seq != cut.cut_seq || cut.checkpoint_seq <= cut.cut_seq {
        return Err(bad_checkpoint(
            cut,
            format!(
                "it records a cut at {} but the store says {}",
                cp.cut_seq, cut.cut_seq
            ),
        ));
    }
    let at_cut = Seal {
        seq: cp.cut_seq,
        time: cp.cut_time,
        kind: 0,
        epoch: cp.cut_epoch,
        digest: Hash::ZERO,
        link: cp.cut_link,
        tag: cp.cut_tag,
    };
    rules.check_tag(&at_cut).map_err(|_| {
        bad_checkpoint(
            cut,
            "the seal recorded for the cut does not match its link".into(),
        )
    })?;
    Ok(Head {
        seq: cp.cut_seq,
        time: cp.cut_time,
        epoch: cp.cut_epoch,
        link: cp.cut_link,
    })
}

fn key_rules(store_id: StoreId, key: Option<&VerificationKey>, deep: bool) -> Result<EntryRules> {
    if let Some(key) = key
        && key.store_id() != store_id
    {
        return Err(StoreError::BadVerificationKey {
            path: Default::default(),
            reason: format!(
                "this key belongs to store {}, not to store {store_id}",
                key.store_id()
            ),
        });
    }
    Ok(EntryRules::new(store_id, key, deep))
}

/// Verifies entries that arrive one by one in seq order: a chain streamed
/// from the daemon, an export. Same rules and report as [`Log::verify`].
pub struct StreamVerifier {
    rules: std::sync::Arc<EntryRules>,
    keyed: bool,
    cut: Option<Cut>,
    first_seq: u64,
    prev: Head,
    seen: ChunkOutcome,
    anchor: Option<(u64, Hash)>,
    prunes_accounted: bool,
    /// Starts after a given entry rather than at seq 1 or a cut.
    starts_after: bool,
    /// The source may stop before the records that name its prunes.
    open_ended: bool,
    omitted: u64,
}

impl StreamVerifier {
    /// Prepares to verify the chain of `store_id`, starting after the
    /// retention `cut` (whose checkpoint entry must then be given) or at
    /// seq 1. Every pruned body must be accounted for (see
    /// [`StreamVerifier::prunes_accounted`]).
    pub fn new(
        store_id: StoreId,
        key: Option<&VerificationKey>,
        deep: bool,
        cut: Option<Cut>,
        checkpoint: Option<(&Seal, Option<&[u8]>)>,
    ) -> Result<StreamVerifier> {
        let rules = key_rules(store_id, key, deep)?;
        let (prev, failure) = match (cut, checkpoint) {
            (None, _) => (Head::EMPTY, None),
            (Some(cut), Some((seal, body))) => {
                match anchor_from_checkpoint(cut, seal, body, &rules) {
                    Ok(anchor) => (anchor, None),
                    Err(f) => (
                        Head {
                            seq: cut.cut_seq,
                            ..Head::EMPTY
                        },
                        Some(f),
                    ),
                }
            }
            (Some(cut), None) => (
                Head {
                    seq: cut.cut_seq,
                    ..Head::EMPTY
                },
                Some(missing_checkpoint(cut)),
            ),
        };
        Ok(StreamVerifier {
            rules: std::sync::Arc::new(rules),
            keyed: key.is_some(),
            cut,
            first_seq: prev.seq + 1,
            prev,
            seen: ChunkOutcome {
                failure,
                ..ChunkOutcome::default()
            },
            anchor: None,
            prunes_accounted: true,
            starts_after: false,
            open_ended: false,
            omitted: 0,
        })
    }

    /// Prepares to verify a stretch of the chain of `store_id` that starts
    /// right after `before` (an export's first entry links to it), or at
    /// seq 1 when `before` is `None`. With a key, `before`'s tag is
    /// checked, so the start itself is authenticated.
    pub fn after(
        store_id: StoreId,
        key: Option<&VerificationKey>,
        deep: bool,
        before: Option<&Seal>,
    ) -> Result<StreamVerifier> {
        let mut verifier = StreamVerifier::new(store_id, key, deep, None, None)?;
        if let Some(before) = before {
            verifier.prev = Head::from(before);
            verifier.first_seq = before.seq + 1;
            verifier.starts_after = true;
            if let Err(problem) = verifier.rules.check_tag(before) {
                verifier.seen.failure = Some(Failure {
                    seq: before.seq,
                    problem,
                });
            }
        }
        Ok(verifier)
    }

    /// Whether the entries may stop before the retention records that name
    /// their pruned bodies (a range that ends before the head): such prunes
    /// are counted as unresolved rather than failing.
    pub fn open_ended(mut self, open_ended: bool) -> StreamVerifier {
        self.open_ended = open_ended;
        self
    }

    /// Also checks that the chain still holds `(seq, link)`, published earlier.
    pub fn with_anchor(mut self, anchor: Option<(u64, Hash)>) -> StreamVerifier {
        self.anchor = anchor;
        self
    }

    /// Whether every pruned body must be named by a retention entry: true
    /// (the default) for stores of format 2 and later, false for format 1,
    /// which did not record prunes.
    pub fn prunes_accounted(mut self, accounted: bool) -> StreamVerifier {
        self.prunes_accounted = accounted;
        self
    }

    /// The rules it checks entries with (for [`EntryRules::precheck`] on
    /// other threads).
    pub fn rules(&self) -> &EntryRules {
        &self.rules
    }

    /// The same rules, to check entries on other threads while this
    /// verifier takes earlier ones.
    pub(crate) fn shared_rules(&self) -> std::sync::Arc<EntryRules> {
        std::sync::Arc::clone(&self.rules)
    }

    /// [`StreamVerifier::push`] of an entry whose digest and seal were
    /// prechecked.
    pub fn push_prechecked(&mut self, seal: &Seal, body: Option<&[u8]>, pre: Precheck) {
        self.push_with(seal, body, Some(pre));
    }

    /// Checks the next entry. After the first failure, further entries are ignored.
    pub fn push(&mut self, seal: &Seal, body: Option<&[u8]>) {
        self.push_with(seal, body, None);
    }

    fn push_with(&mut self, seal: &Seal, body: Option<&[u8]>, pre: Option<Precheck>) {
        if self.seen.failure.is_some() {
            return;
        }
        if self.seen.entries == 0 && self.cut.is_none() && !self.starts_after && seal.seq > 1 {
            self.seen.failure = Some(Failure {
                seq: 1,
                problem: Problem::MissingCheckpoint {
                    detail: "the oldest entries are gone and no checkpoint records a cut".into(),
                },
            });
            return;
        }
        self.seen.entries += 1;
        match self.rules.check_with(&self.prev, seal, body, pre) {
            Ok(check) => self.seen.note(seal.seq, check),
            Err(problem) => {
                let seq = match problem {
                    Problem::Gap { expected } => expected,
                    _ => seal.seq,
                };
                self.seen.failure = Some(Failure { seq, problem });
                return;
            }
        }
        if let Some((seq, link)) = self.anchor
            && seq == seal.seq
            && link != seal.link
        {
            self.seen.failure = Some(Failure {
                seq,
                problem: Problem::AnchorMismatch {
                    expected: link,
                    found: seal.link,
                },
            });
            return;
        }
        self.prev = Head::from(seal);
    }

    /// Checks the next entry, whose body was left out on purpose (an
    /// export's compact line): linkage and seal only, and it is neither a
    /// checked nor a pruned body. The chain's own entries cannot be left out.
    pub fn push_omitted(&mut self, seal: &Seal) {
        if self.seen.failure.is_some() {
            return;
        }
        if EventKind::accounts(seal.kind) {
            self.fail(
                seal.seq,
                Problem::BadExport {
                    detail: format!(
                        "the {} entry is left out, and the chain's own entries and retention records are always exported in full",
                        kind_name(seal.kind)
                    ),
                },
            );
            return;
        }
        let entries = self.seen.entries;
        // Checked as a pruned entry, then not counted as one.
        let pruned = self.seen.pruned;
        let mut ledger = std::mem::take(&mut self.seen.ledger);
        self.push(seal, None);
        std::mem::swap(&mut self.seen.ledger, &mut ledger);
        if self.seen.pruned > pruned {
            self.seen.pruned = pruned;
            self.omitted += 1;
        }
        debug_assert!(self.seen.failure.is_some() || self.seen.entries == entries + 1);
    }

    /// Records a failure found outside the entry rules (a malformed line),
    /// unless an earlier one was found.
    pub fn fail(&mut self, seq: u64, problem: Problem) {
        if self.seen.failure.is_none() {
            self.seen.failure = Some(Failure { seq, problem });
        }
    }

    /// Bodies left out on purpose so far (see [`StreamVerifier::push_omitted`]).
    pub fn omitted(&self) -> u64 {
        self.omitted
    }

    /// The last entry accepted.
    pub fn last(&self) -> Head {
        self.prev
    }

    /// The first failure found so far, if any.
    pub fn failure(&self) -> Option<&Failure> {
        self.seen.failure.as_ref()
    }

    /// Whether a failure was found already.
    pub fn failed(&self) -> bool {
        self.seen.failure.is_some()
    }

    /// Finishes: `head` is what the source claimed as its head.
    pub fn finish(mut self, head: Head) -> VerifyReport {
        let seen = &mut self.seen;
        if seen.failure.is_none() && self.prev.seq < head.seq {
            let expected = self.prev.seq + 1;
            seen.failure = Some(Failure {
                seq: expected,
                problem: Problem::Gap { expected },
            });
        }
        if seen.failure.is_none()
            && let Some((seq, _)) = self.anchor
            && seq > self.prev.seq
        {
            seen.failure = Some(Failure {
                seq: self.prev.seq + 1,
                problem: Problem::Truncated {
                    anchored: seq,
                    head: self.prev.seq,
                },
            });
        }
        let unresolved = if self.open_ended {
            seen.unresolved()
        } else {
            0
        };
        let seen = std::mem::take(seen).settle(self.prunes_accounted && !self.open_ended);
        let mut report = report(ReportParts {
            seen,
            first_seq: self.first_seq,
            head: self.prev,
            keyed: self.keyed,
            cut: self.cut,
            prunes_accounted: self.prunes_accounted,
        });
        report.prunes_unresolved = unresolved;
        report
    }
}

struct ReportParts {
    seen: ChunkOutcome,
    first_seq: u64,
    head: Head,
    keyed: bool,
    cut: Option<Cut>,
    prunes_accounted: bool,
}

fn report(p: ReportParts) -> VerifyReport {
    let ReportParts {
        seen,
        first_seq,
        head,
        keyed,
        cut,
        prunes_accounted,
    } = p;
    // Seals are vouched for up to the first failure, and never past the
    // entries actually examined (a forged cut fails before any of them).
    let sealed_up_to = keyed.then(|| {
        let before_failure = seen
            .failure
            .as_ref()
            .map_or(head.seq, |f| f.seq.saturating_sub(1));
        before_failure.min((first_seq - 1).saturating_add(seen.entries))
    });
    VerifyReport {
        ok: seen.failure.is_none(),
        entries: seen.entries,
        first_seq,
        head,
        keyed,
        sealed_up_to,
        bodies_checked: seen.bodies,
        bodies_pruned: seen.pruned,
        prunes_accounted,
        prunes_unresolved: 0,
        cut,
        prune_accounts: {
            let mut a = seen.accounts;
            a.sort_by_key(|x| x.first_record);
            a.truncate(MAX_ACCOUNTS);
            a
        },
        failure: seen.failure,
    }
}

impl Log {
    /// Verifies the whole retained log. `Err` only for problems with the
    /// request or the storage engine; a damaged chain is an `Ok` report with
    /// a [`Failure`].
    ///
    /// Without [`VerifyOptions::anchor`], the head the store recorded at its
    /// last epoch advance or stop (`seal.head`) serves as the anchor, so a
    /// removed tail is found without one.
    pub fn verify(&self, opts: &VerifyOptions<'_>) -> Result<VerifyReport> {
        let shared = self.shared();
        // Read before the snapshot: the record never runs ahead of the
        // durable head, so it cannot be newer than what the snapshot holds.
        let recorded = head_file::read(&shared.root)?;
        let anchor_given = opts.anchor.or(recorded.map(|r| (r.seq, r.link)));
        let snap = shared.db.snapshot();
        let head = match snap.last_key_value(&shared.log) {
            Some(g) => {
                let (k, v) = g.into_inner().map_err(StoreError::engine)?;
                Head::from(Entry::decode(&k, v)?.seal())
            }
            None => Head::EMPTY,
        };
        let cut: Option<Cut> = match snap
            .get(&shared.meta, CUT_KEY)
            .map_err(StoreError::engine)?
        {
            Some(v) => Some(
                postcard::from_bytes(&v)
                    .map_err(|e| StoreError::Decode(format!("retention cut record: {e}")))?,
            ),
            None => None,
        };
        let rules = key_rules(shared.store_id, opts.key, opts.deep)?;

        let mut failure = None;
        let anchor = match cut {
            None => {
                let first = snap.first_key_value(&shared.log).map(|g| g.key());
                if let Some(Ok(k)) = first
                    && k[..] != entry::key(1)
                {
                    failure = Some(Failure {
                        seq: 1,
                        problem: Problem::MissingCheckpoint {
                            detail: "the oldest entries are gone and no checkpoint records a cut"
                                .into(),
                        },
                    });
                }
                Head::EMPTY
            }
            Some(cut) => match checkpoint_anchor(&snap, &shared.log, cut, &rules) {
                Ok(anchor) => anchor,
                Err(f) => {
                    failure = Some(f);
                    Head {
                        seq: cut.cut_seq,
                        ..Head::EMPTY
                    }
                }
            },
        };

        let scan = Scan {
            snap: &snap,
            log: &shared.log,
            rules: &rules,
            anchor,
            progress: opts.progress,
            done: AtomicU64::new(0),
        };
        let first = anchor.seq + 1;
        let outcome = if failure.is_none() && head.seq >= first {
            let threads = if opts.threads == 0 {
                rayon::current_num_threads()
            } else {
                opts.threads
            };
            let total = head.seq - first + 1;
            let chunks = (total / 8192).clamp(1, threads as u64 * 8);
            let size = total.div_ceil(chunks);
            let ranges: Vec<(u64, u64)> = (0..chunks)
                .map(|i| (first + i * size, (first + (i + 1) * size - 1).min(head.seq)))
                .filter(|(a, b)| a <= b)
                .collect();
            let run = || {
                ranges
                    .par_iter()
                    .map(|&(a, b)| scan.chunk(a, b))
                    .reduce(ChunkOutcome::default, ChunkOutcome::join)
            };
            if opts.threads == 0 {
                run()
            } else {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .map_err(|e| StoreError::InvalidRequest(format!("verify threads: {e}")))?
                    .install(run)
            }
        } else {
            ChunkOutcome::default()
        };
        let mut seen = outcome;
        seen.failure = earliest(failure, seen.failure);

        if seen.failure.is_none()
            && let Some((seq, link)) = anchor_given
        {
            if seq > head.seq {
                seen.failure = Some(Failure {
                    seq: head.seq + 1,
                    problem: Problem::Truncated {
                        anchored: seq,
                        head: head.seq,
                    },
                });
            } else if seq >= first {
                let found = scan.read(seq).map(|e| e.seal().link).unwrap_or(Hash::ZERO);
                if found != link {
                    seen.failure = Some(Failure {
                        seq,
                        problem: Problem::AnchorMismatch {
                            expected: link,
                            found,
                        },
                    });
                }
            }
        }

        // Format 1 did not record prunes. A store claiming format 1 that
        // shows any sign of format 2 (its record of the head, a genesis of
        // format 2, a prune record) had its marker rewritten: the rules of
        // format 2 apply.
        let genesis_format =
            (first == 1)
                .then(|| scan.read(1))
                .flatten()
                .and_then(|e| match e.event() {
                    Ok(Some(Event::Genesis(g))) => Some(g.format),
                    _ => None,
                });
        let prunes_accounted = shared.format >= 2
            || recorded.is_some()
            || genesis_format.is_some_and(|f| f >= 2)
            || seen.ledger.has_records();
        Ok(report(ReportParts {
            seen: seen.settle(prunes_accounted),
            first_seq: first,
            head,
            keyed: opts.key.is_some(),
            cut,
            prunes_accounted,
        }))
    }
}
