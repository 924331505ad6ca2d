//! [`Log`]: opening and creating a store, appending, and reading.

use crate::chain::Head;
use crate::entry::{self, Entry};
use crate::error::{Result, StoreError};
use crate::event::{Actor, BodiesPruned, Event, Genesis, SeqRange, TailLost, ViewState};
use crate::hash::Hash;
use crate::head_file::{self, TailMismatch};
use crate::key_file::{self, sync_dir};
use crate::layout::{
    self, DB_DIR, FINGERPRINT_KEY, FORMAT, LOG_KEYSPACE, META_KEYSPACE, Marker, SECRETS_KEYSPACE,
    VIEWS_KEYSPACE,
};
use crate::seal::{EpochKey, StoreId, VerificationKey};
use crate::writer::{
    CUT_KEY, CommitListener, Cut, Durability, Prepared, PruneOutcome, Published, Request, Writer,
    WriterStats,
};
use fjall::compaction::filter::{
    CompactionFilter, CompactionFilterResult, Context, Factory, ItemAccessor, Verdict,
};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::thread::JoinHandle;

/// How a [`Log`] is opened.
#[derive(Clone)]
pub struct LogOptions {
    /// When appends are acknowledged.
    pub durability: Durability,
    /// Most events sealed into one batch.
    pub max_batch: usize,
    /// Requests that may wait for the writer before callers block.
    pub queue_capacity: usize,
    /// fjall block cache size in bytes.
    pub cache_bytes: u64,
    /// Called after every durable commit with the new head.
    pub on_commit: Option<CommitListener>,
    /// Open a store that ends before the head it recorded (its newest
    /// entries were removed) and go on from there, appending a `TailLost`
    /// entry that says so. Without it such a store is refused.
    pub accept_truncation: bool,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            durability: Durability::Synced,
            max_batch: 4096,
            queue_capacity: 8192,
            cache_bytes: 16 * 1024 * 1024,
            on_commit: None,
            accept_truncation: false,
        }
    }
}

impl std::fmt::Debug for LogOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogOptions")
            .field("durability", &self.durability)
            .field("max_batch", &self.max_batch)
            .field("queue_capacity", &self.queue_capacity)
            .field("cache_bytes", &self.cache_bytes)
            .field("accept_truncation", &self.accept_truncation)
            .finish_non_exhaustive()
    }
}

/// A view's saved state, so a start replays only the entries after `as_of`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewSnapshot {
    /// The view's own state format; a reader that does not know it replays in full.
    pub version: u32,
    /// Last seq applied to the state.
    pub as_of: u64,
    /// Encoded state.
    #[serde(with = "serde_bytes")]
    pub state: Vec<u8>,
}

const SNAPSHOT_FORMAT: u8 = 1;

/// A snapshot kept in parts: the view's key holds this byte and the number
/// of parts; part `i` is under the view's name, a zero byte, then `i`
/// (big-endian u32). Joined, the parts are a [`SNAPSHOT_FORMAT`] value.
const SNAPSHOT_PARTS: u8 = 2;

/// The most bytes of one part. The engine's journal encodes each value
/// into one buffer that it keeps at its largest size: a 30 MB snapshot in
/// one value would hold 30 MB for the life of the process.
const SNAPSHOT_PART_BYTES: usize = 256 * 1024;

fn snapshot_part_key(view: &str, part: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(view.len() + 5);
    key.extend_from_slice(view.as_bytes());
    key.push(0);
    key.extend_from_slice(&part.to_be_bytes());
    key
}

/// A snapshot encoded as the store keeps it, in one buffer of exactly its
/// size: a state of tens of MB is written once, not into a buffer of its
/// own and then copied into the stored value. (Its size is measured first
/// by a pass that writes nothing: the stored value starts with it.)
#[derive(Debug)]
pub struct EncodedSnapshot(Vec<u8>);

impl EncodedSnapshot {
    /// `state` at `version`, as of seq `as_of`: the bytes a [`ViewSnapshot`]
    /// of its encoding is stored as.
    pub fn new<T: Serialize + ?Sized>(
        version: u32,
        as_of: u64,
        state: &T,
    ) -> std::result::Result<EncodedSnapshot, postcard::Error> {
        let size = postcard::serialize_with_flavor(state, postcard::ser_flavors::Size::default())?;
        // The `ViewSnapshot` fields before the state's bytes, then them.
        let head = postcard::to_allocvec(&(version, as_of, size))?;
        let mut value = Vec::with_capacity(1 + head.len() + size);
        value.push(SNAPSHOT_FORMAT);
        value.extend_from_slice(&head);
        postcard::to_io(state, &mut value)?;
        Ok(EncodedSnapshot(value))
    }

    /// How many bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (never: a snapshot has a header).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The chained, sealed event log of one store.
///
/// Cheap to clone; all clones share one writer thread. Dropping the last
/// clone stops the writer after it has persisted everything queued.
#[derive(Clone)]
pub struct Log {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub root: PathBuf,
    pub store_id: StoreId,
    /// Store format (after any upgrade on open).
    pub format: u32,
    pub db: Database,
    pub log: Keyspace,
    pub meta: Keyspace,
    pub views: Keyspace,
    pub secrets: Keyspace,
    pub published: Arc<Published>,
    /// The only sender of the writer's queue: the writer thread runs until
    /// it is dropped (see [`Writer::run`]).
    tx: Option<flume::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Disconnecting the queue ends the writer once it has answered
        // everything queued and persisted (unless it had already stopped).
        // No clone of the log is left to queue anything behind it.
        drop(self.tx.take());
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
    }
}

/// Meta key set while a purge is owed (see [`Log::request_purge`]).
const PURGE_PENDING_KEY: &str = "purge_pending";

/// Drops truncated entries whenever compaction rewrites them.
struct TruncatedPrefix(Arc<AtomicU64>);

impl Factory for TruncatedPrefix {
    fn name(&self) -> &str {
        "vigil-truncated-prefix"
    }

    fn make_filter(&self, _: &Context) -> Box<dyn CompactionFilter> {
        Box::new(DropUpTo(self.0.load(Ordering::SeqCst)))
    }
}

struct DropUpTo(u64);

impl CompactionFilter for DropUpTo {
    fn filter_item(&mut self, item: ItemAccessor<'_>, _: &Context) -> CompactionFilterResult {
        let seq = <[u8; 8]>::try_from(&item.key()[..]).map(u64::from_be_bytes);
        Ok(match seq {
            Ok(seq) if seq <= self.0 => Verdict::Remove,
            _ => Verdict::Keep,
        })
    }
}

/// Most bytes of a keyspace's newest writes held in memory before a flush.
const MEMTABLE_BYTES: u64 = 16 * 1024 * 1024;

struct Opened {
    db: Database,
    log: Keyspace,
    meta: Keyspace,
    views: Keyspace,
    secrets: Keyspace,
    cut_filter: Arc<AtomicU64>,
}

fn open_db(root: &Path, cache_bytes: u64) -> Result<Opened> {
    let cut_filter = Arc::new(AtomicU64::new(0));
    let factory: Arc<dyn Factory> = Arc::new(TruncatedPrefix(cut_filter.clone()));
    let db = Database::builder(root.join(DB_DIR))
        .cache_size(cache_bytes)
        .with_compaction_filter_factories(Arc::new(move |name| {
            (name == LOG_KEYSPACE).then(|| factory.clone())
        }))
        .open()
        .map_err(|e| match e {
            fjall::Error::Locked => StoreError::Locked {
                path: root.to_path_buf(),
            },
            fjall::Error::InvalidVersion(v) => StoreError::Corrupt {
                path: root.join(DB_DIR),
                reason: format!("unsupported database engine format {v:?}"),
            },
            other => StoreError::engine(other),
        })?;
    let keyspace = |name: &str| {
        // The engine keeps up to this much of each keyspace's newest
        // writes in memory until it flushes them; its default (64 MiB a
        // keyspace) would be most of what a busy daemon holds. Set when a
        // keyspace is created: stores made before keep theirs.
        db.keyspace(name, || {
            KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE_BYTES)
        })
        .map_err(StoreError::engine)
    };
    Ok(Opened {
        log: keyspace(LOG_KEYSPACE)?,
        meta: keyspace(META_KEYSPACE)?,
        views: keyspace(VIEWS_KEYSPACE)?,
        secrets: keyspace(SECRETS_KEYSPACE)?,
        db,
        cut_filter,
    })
}

/// Current UTC time in microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_micros()).unwrap_or(i64::MAX)
}

fn last_entry(log: &Keyspace) -> Result<Option<Entry>> {
    match log.last_key_value() {
        Some(guard) => {
            let (k, v) = guard.into_inner().map_err(StoreError::engine)?;
            Entry::decode(&k, v).map(Some)
        }
        None => Ok(None),
    }
}

fn read_cut(meta: &Keyspace) -> Result<Option<Cut>> {
    let Some(bytes) = meta.get(CUT_KEY).map_err(StoreError::engine)? else {
        return Ok(None);
    };
    postcard::from_bytes(&bytes)
        .map(Some)
        .map_err(|e| StoreError::Decode(format!("retention cut record: {e}")))
}

fn write_verification_key(path: &Path, key: &VerificationKey) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => StoreError::AlreadyExists {
                path: path.to_path_buf(),
                reason: "a verification key file is already there; move it away first (it may belong to another store)".into(),
            },
            _ => StoreError::io(format!("creating verification key {}", path.display()), e),
        })?;
    file.write_all(key.to_text().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| StoreError::io(format!("writing verification key {}", path.display()), e))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Reads a verification key file.
pub fn read_verification_key(path: &Path) -> Result<VerificationKey> {
    let text = zeroize::Zeroizing::new(fs::read_to_string(path).map_err(|e| {
        StoreError::BadVerificationKey {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    })?);
    VerificationKey::parse(&text).map_err(|reason| StoreError::BadVerificationKey {
        path: path.to_path_buf(),
        reason: reason.into(),
    })
}

impl Log {
    /// Creates a new store at `dir` and writes its verification key `K(0)`
    /// to `verification_key` (mode 0600), refusing to overwrite either.
    ///
    /// The store is built in a sibling temporary directory and renamed into
    /// place, so a crash leaves either no store or a complete one. The store
    /// keeps only `K(1)`; move the verification key off the host.
    pub fn create(dir: &Path, verification_key: &Path, options: LogOptions) -> Result<Log> {
        if dir.join(layout::MARKER).exists() {
            return Err(StoreError::AlreadyExists {
                path: dir.to_path_buf(),
                reason: "a store already exists there".into(),
            });
        }
        if dir.exists()
            && fs::read_dir(dir)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            return Err(StoreError::AlreadyExists {
                path: dir.to_path_buf(),
                reason: "the directory is not empty and holds no store".into(),
            });
        }
        if verification_key.exists() {
            return Err(StoreError::AlreadyExists {
                path: verification_key.to_path_buf(),
                reason: "a verification key file is already there; move it away first (it may belong to another store)".into(),
            });
        }
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent)
            .map_err(|e| StoreError::io(format!("creating {}", parent.display()), e))?;
        let store_id =
            StoreId::generate().map_err(|e| StoreError::io("reading OS randomness", e))?;
        let name = dir
            .file_name()
            .map_or_else(|| "store".into(), |n| n.to_string_lossy().into_owned());
        let staging = parent.join(format!(".{name}.creating-{}", &store_id.to_hex()[..8]));
        fs::create_dir(&staging)
            .map_err(|e| StoreError::io(format!("creating {}", staging.display()), e))?;
        let built = Self::build(&staging, store_id);
        let k0 = match built {
            Ok(k0) => k0,
            Err(e) => {
                let _ = fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        let vk = VerificationKey::new(store_id, k0);
        if let Err(e) = write_verification_key(verification_key, &vk) {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        drop(vk);
        layout::write_marker(
            &staging,
            Marker {
                format: FORMAT,
                store_id,
            },
        )?;
        if dir.exists() {
            fs::remove_dir(dir)
                .map_err(|e| StoreError::io(format!("replacing empty {}", dir.display()), e))?;
        }
        fs::rename(&staging, dir)
            .map_err(|e| StoreError::io(format!("moving the new store to {}", dir.display()), e))?;
        sync_dir(parent)?;
        Self::open(dir, options)
    }

    /// Fills a staging directory: database, `K(1)` on disk, genesis entry.
    /// Returns `K(0)`.
    fn build(staging: &Path, store_id: StoreId) -> Result<EpochKey> {
        let opened = open_db(staging, 8 * 1024 * 1024)?;
        let k0 = EpochKey::generate().map_err(|e| StoreError::io("reading OS randomness", e))?;
        let k1 = k0.evolve();
        key_file::replace(staging, &k1)?;
        let (_tx, rx) = flume::bounded(1);
        let mut writer = Writer {
            db: opened.db.clone(),
            log: opened.log.clone(),
            meta: opened.meta.clone(),
            dir: staging.to_path_buf(),
            head: Head::EMPTY,
            key: k1,
            published: Arc::new(Published {
                stats: Default::default(),
                head: Mutex::new(Head::EMPTY),
                cut: RwLock::new(None),
                cut_filter: opened.cut_filter.clone(),
                failed: OnceLock::new(),
                on_commit: None,
            }),
            rx,
            durability: Durability::Synced,
            max_batch: 1,
            pipeline: None,
        };
        writer.append_now(&Event::Genesis(Genesis {
            store_id,
            format: FORMAT,
            software: format!("vigil-store {}", env!("CARGO_PKG_VERSION")),
        }))?;
        writer.record_head()?;
        drop(writer);
        opened
            .meta
            .insert(FINGERPRINT_KEY, crate::seal::fingerprint_of(&k0))
            .map_err(StoreError::engine)?;
        opened
            .db
            .persist(PersistMode::SyncAll)
            .map_err(StoreError::engine)?;
        Ok(k0)
    }

    /// Opens an existing store for reading and appending.
    ///
    /// Fails without modifying anything when `dir` is not a store, was
    /// written by a newer format, or is held by another process.
    pub fn open(dir: &Path, options: LogOptions) -> Result<Log> {
        Self::open_inner(dir, options, true)
    }

    /// Opens a store for reading and verification only: no writer starts,
    /// the sealing key is not read, nothing is appended.
    pub fn open_read_only(dir: &Path) -> Result<Log> {
        Self::open_inner(dir, LogOptions::default(), false)
    }

    fn open_inner(dir: &Path, options: LogOptions, writable: bool) -> Result<Log> {
        let mut marker = layout::read_marker(dir)?;
        let opened = open_db(dir, options.cache_bytes)?;
        let last = last_entry(&opened.log)?.ok_or_else(|| StoreError::Corrupt {
            path: dir.join(DB_DIR),
            reason: "the log has no entries (not even genesis)".into(),
        })?;
        let head = Head::from(last.seal());
        let cut = read_cut(&opened.meta)?;
        opened
            .cut_filter
            .store(cut.map_or(0, |c| c.cut_seq), Ordering::SeqCst);
        let published = Arc::new(Published {
            stats: Default::default(),
            head: Mutex::new(head),
            cut: RwLock::new(cut),
            cut_filter: opened.cut_filter.clone(),
            failed: OnceLock::new(),
            on_commit: options.on_commit.clone(),
        });
        let (tx, handle) = if writable {
            let key = key_file::load(dir)?;
            let (tx, rx) = flume::bounded(options.queue_capacity.max(1));
            let mut writer = Writer {
                db: opened.db.clone(),
                log: opened.log.clone(),
                meta: opened.meta.clone(),
                dir: dir.to_path_buf(),
                head,
                key,
                published: published.clone(),
                rx,
                durability: options.durability,
                max_batch: options.max_batch.max(1),
                pipeline: None,
            };
            // Before anything is appended: a removed tail must be seen
            // before new entries take over its seqs.
            if marker.format < FORMAT {
                refuse_rewritten_marker(&opened.log, cut, dir, marker)?;
            }
            let mismatch = check_tail(dir, &opened.log, cut, &head, marker.format)?;
            if let Some(m) = &mismatch
                && !options.accept_truncation
            {
                return Err(StoreError::Truncated {
                    path: dir.to_path_buf(),
                    detail: m.detail.clone(),
                });
            }
            writer.reconcile_epoch()?;
            if let Some(m) = mismatch {
                accept_lost_tail(&mut writer, m)?;
            }
            if marker.format < FORMAT {
                upgrade(&mut writer, &opened.log, cut, marker)?;
                marker.format = FORMAT;
            }
            let handle = std::thread::Builder::new()
                .name("vigil-log-writer".into())
                .spawn(move || writer.run())
                .map_err(|e| StoreError::io("starting the log writer thread", e))?;
            (Some(tx), Some(handle))
        } else {
            (None, None)
        };
        Ok(Log {
            shared: Arc::new(Shared {
                root: dir.to_path_buf(),
                store_id: marker.store_id,
                format: marker.format,
                db: opened.db,
                log: opened.log,
                meta: opened.meta,
                views: opened.views,
                secrets: opened.secrets,
                published,
                tx,
                writer: handle,
            }),
        })
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    fn sender(&self) -> Result<&flume::Sender<Request>> {
        self.shared
            .tx
            .as_ref()
            .ok_or_else(|| StoreError::InvalidRequest("the store was opened read-only".into()))
    }

    fn closed_error(&self) -> StoreError {
        match self.shared.published.failed.get() {
            Some(reason) => StoreError::WriterFailed(reason.clone()),
            None => StoreError::Closed,
        }
    }

    fn call<T>(&self, make: impl FnOnce(flume::Sender<Result<T>>) -> Request) -> Result<T> {
        let (reply, answer) = flume::bounded(1);
        self.sender()?
            .send(make(reply))
            .map_err(|_| self.closed_error())?;
        answer.recv().map_err(|_| self.closed_error())?
    }

    async fn call_async<T>(
        &self,
        make: impl FnOnce(flume::Sender<Result<T>>) -> Request,
    ) -> Result<T> {
        let (reply, answer) = flume::bounded(1);
        self.sender()?
            .send_async(make(reply))
            .await
            .map_err(|_| self.closed_error())?;
        answer.recv_async().await.map_err(|_| self.closed_error())?
    }

    /// Appends one event; returns its chain position once it is durable.
    pub fn append(&self, event: &Event) -> Result<Head> {
        let mut heads = self.append_all(std::slice::from_ref(event))?;
        Ok(heads.remove(0))
    }

    /// Appends events atomically (all or none), in order.
    pub fn append_all(&self, events: &[Event]) -> Result<Vec<Head>> {
        let events = prepare(events)?;
        self.call(|reply| Request::Append { events, reply })
    }

    /// [`Log::append`] for async callers: waits without blocking a thread.
    pub async fn append_async(&self, event: &Event) -> Result<Head> {
        let mut heads = self.append_all_async(std::slice::from_ref(event)).await?;
        Ok(heads.remove(0))
    }

    /// [`Log::append_all`] for async callers.
    pub async fn append_all_async(&self, events: &[Event]) -> Result<Vec<Head>> {
        let events = prepare(events)?;
        self.call_async(|reply| Request::Append { events, reply })
            .await
    }

    /// Moves to the next sealing epoch: the old key is erased from memory
    /// and disk, and an `EpochStarted` entry opens the new epoch.
    pub fn advance_epoch(&self, reason: &str) -> Result<Head> {
        let reason = reason.to_string();
        self.call(|reply| Request::AdvanceEpoch { reason, reply })
    }

    /// Drops the bodies of `seqs`, keeping their digests so the chain still
    /// verifies, and accounts for them: each batch that drops bodies first
    /// appends a sealed `BodiesPruned` entry naming them with `reason`.
    /// Genesis, epoch, checkpoint and retention entries keep their bodies.
    pub fn prune(&self, seqs: Vec<u64>, reason: &str) -> Result<PruneOutcome> {
        let reason = reason.to_string();
        self.call(|reply| Request::Prune {
            seqs,
            reason,
            reply,
        })
    }

    /// Truncates entries `first..=upto` behind a checkpoint entry appended at
    /// the head, carrying the chain fields at the cut and `views` state.
    /// The entries stop being readable at once; [`Log::reclaim`] frees the space.
    pub fn truncate(&self, upto: u64, views: Vec<ViewState>) -> Result<Head> {
        self.call(|reply| Request::Truncate { upto, views, reply })
    }

    /// Rewrites the log's tables so truncated entries and dropped bodies
    /// leave the disk. Runs beside appends; takes time proportional to the
    /// log's size.
    pub fn reclaim(&self) -> Result<()> {
        let log = &self.shared.log;
        log.rotate_memtable_and_wait().map_err(StoreError::engine)?;
        log.major_compact().map_err(StoreError::engine)?;
        // fjall keeps the pre-compaction version (and its table files) until
        // the next version change of this tree. Flushing a tombstone for key
        // 0, which is never a seq, makes that change now instead of at the
        // next natural flush; the tombstone itself is dropped by compaction.
        log.remove(entry::key(0)).map_err(StoreError::engine)?;
        log.rotate_memtable_and_wait().map_err(StoreError::engine)?;
        // A journal file is deleted only once every keyspace has flushed
        // what it holds from it: a small unflushed write to another
        // keyspace (the cut record, a snapshot) would pin every journal
        // written since, with the truncated entries in them.
        for other in [&self.shared.meta, &self.shared.views, &self.shared.secrets] {
            other
                .rotate_memtable_and_wait()
                .map_err(StoreError::engine)?;
        }
        // Old snapshots hold what views derived from dropped bodies.
        self.shared
            .views
            .major_compact()
            .map_err(StoreError::engine)?;
        self.shared
            .db
            .persist(PersistMode::SyncAll)
            .map_err(StoreError::engine)
    }

    /// [`Log::reclaim`], and also retires the write-ahead journal, so that
    /// nothing written before the call (such as a body just erased) is
    /// left in any file of the store. The storage engine starts a new
    /// journal only once the current one passes 64 MB, so this writes that
    /// much filler (and drops it): for erasures, not for every retention run.
    pub fn purge(&self) -> Result<()> {
        const PURGE_KEY: &str = "journal-purge";
        const FILLER: usize = 1 << 20;
        let meta = &self.shared.meta;
        // Random, so the journal's compression cannot shrink it.
        let mut filler = vec![0u8; FILLER];
        getrandom::fill(&mut filler)
            .map_err(|e| StoreError::io("reading OS randomness", e.into()))?;
        for _ in 0..65 {
            meta.insert(PURGE_KEY, filler.as_slice())
                .map_err(StoreError::engine)?;
        }
        meta.remove(PURGE_KEY).map_err(StoreError::engine)?;
        // The first flush now seals the journal; once every keyspace has
        // flushed what it holds from it, the engine deletes it.
        self.reclaim()?;
        meta.major_compact().map_err(StoreError::engine)?;
        for keyspace in [
            &self.shared.log,
            meta,
            &self.shared.views,
            &self.shared.secrets,
        ] {
            keyspace
                .rotate_memtable_and_wait()
                .map_err(StoreError::engine)?;
        }
        // The engine looks for journals to delete after a flush: one more,
        // now that every keyspace has flushed past the sealed journal.
        meta.remove(PURGE_KEY).map_err(StoreError::engine)?;
        meta.remove(PURGE_PENDING_KEY).map_err(StoreError::engine)?;
        meta.rotate_memtable_and_wait()
            .map_err(StoreError::engine)?;
        self.shared
            .db
            .persist(PersistMode::SyncAll)
            .map_err(StoreError::engine)
    }

    /// Records, durably, that a [`Log::purge`] is owed: set before dropping
    /// bodies that must leave the disk, cleared by the purge, so a crash in
    /// between is finished at the next start ([`Log::purge_requested`]).
    pub fn request_purge(&self) -> Result<()> {
        self.shared
            .meta
            .insert(PURGE_PENDING_KEY, b"1")
            .map_err(StoreError::engine)?;
        self.shared
            .db
            .persist(PersistMode::SyncAll)
            .map_err(StoreError::engine)
    }

    /// Whether a purge was requested and not finished.
    pub fn purge_requested(&self) -> Result<bool> {
        Ok(self
            .shared
            .meta
            .get(PURGE_PENDING_KEY)
            .map_err(StoreError::engine)?
            .is_some())
    }

    /// HMAC-SHA256 of `bytes` under the current epoch key, and that epoch:
    /// what seals an export's header. The key never leaves the writer.
    pub fn tag_bytes(&self, bytes: Vec<u8>) -> Result<(u64, Hash)> {
        self.call(|reply| Request::Tag { bytes, reply })
    }

    /// Makes everything appended so far durable (for [`Durability::Buffered`]).
    pub fn sync(&self) -> Result<()> {
        self.call(|reply| Request::Sync { reply })
    }

    /// Stops the writer after it has persisted everything queued. Other
    /// clones of this log can still read; appends through them fail.
    pub fn close(self) -> Result<()> {
        if let Some(tx) = &self.shared.tx {
            let (reply, answer) = flume::bounded(1);
            if tx.send(Request::Shutdown { reply }).is_ok() {
                // A failed persist is recorded as the writer's failure.
                let _ = answer.recv();
            }
        }
        match self.shared.published.failed.get() {
            Some(reason) => Err(StoreError::WriterFailed(reason.clone())),
            None => Ok(()),
        }
    }

    /// The newest entry's chain fields.
    pub fn head(&self) -> Head {
        *self.shared.published.head.lock().expect("head lock")
    }

    /// Why the writer stopped, if a storage failure stopped it.
    pub fn failure(&self) -> Option<String> {
        self.shared.published.failed.get().cloned()
    }

    /// What the writer has done since the log was opened.
    pub fn stats(&self) -> WriterStats {
        self.shared.published.stats.snapshot()
    }

    /// The retention cut, if the prefix was ever truncated.
    pub fn cut(&self) -> Option<Cut> {
        *self.shared.published.cut.read().expect("cut lock")
    }

    /// Oldest readable seq.
    pub fn first_seq(&self) -> u64 {
        self.cut().map_or(1, |c| c.cut_seq + 1)
    }

    /// The store's identity.
    pub fn store_id(&self) -> StoreId {
        self.shared.store_id
    }

    /// The store's format version (see [`layout::FORMAT`]).
    pub fn format(&self) -> u32 {
        self.shared.format
    }

    /// The head recorded at the last epoch advance or stop, as `(seq, link)`
    /// (what [`Log::verify`] checks when given no anchor).
    pub fn recorded_head(&self) -> Result<Option<(u64, Hash)>> {
        Ok(head_file::read(&self.shared.root)?.map(|r| (r.seq, r.link)))
    }

    /// The verification key's fingerprint (see
    /// [`VerificationKey::fingerprint`]), if the store recorded it.
    pub fn key_fingerprint(&self) -> Result<Option<String>> {
        let shared = self.shared();
        let Some(bytes) = shared
            .meta
            .get(FINGERPRINT_KEY)
            .map_err(StoreError::engine)?
        else {
            return Ok(None);
        };
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| StoreError::Decode("the key fingerprint record is not text".into()))
    }

    /// The store directory.
    pub fn path(&self) -> &Path {
        &self.shared.root
    }

    /// Bytes the store occupies on disk.
    pub fn disk_usage(&self) -> u64 {
        layout::disk_usage(&self.shared.root)
    }

    /// Reads one entry (`None` if truncated or beyond the head).
    pub fn get(&self, seq: u64) -> Result<Option<Entry>> {
        // Beyond the head: written by the writer, not yet durable.
        if seq < self.first_seq() || seq > self.head().seq {
            return Ok(None);
        }
        match self
            .shared
            .log
            .get(entry::key(seq))
            .map_err(StoreError::engine)?
        {
            Some(value) => Entry::decode_value(seq, value).map(Some),
            None => Ok(None),
        }
    }

    /// Entries from `from` (or the oldest retained) to the head, in order.
    /// Entries written but not yet durable are beyond the head, and left out.
    pub fn entries(&self, from: u64) -> Entries {
        self.entries_between(from, self.head().seq)
    }

    /// Entries with `from <= seq <= to`, in order.
    pub fn entries_between(&self, from: u64, to: u64) -> Entries {
        let from = from.max(self.first_seq());
        Entries {
            inner: self.shared.log.range(entry::key(from)..=entry::key(to)),
        }
    }

    /// Replays entries from `from` in order, handing each with its decoded
    /// event (`None` when pruned) to `apply`. A background thread scans the
    /// store while the caller decodes and applies, so replay runs at close
    /// to the speed of a raw scan. Returns the number of entries replayed.
    pub fn replay<F>(&self, from: u64, apply: F) -> Result<u64>
    where
        F: FnMut(&Entry, Option<Event>) -> Result<()>,
    {
        self.replay_between(from, self.head().seq, apply)
    }

    /// [`Log::replay`] of the entries with `from <= seq <= to`.
    pub fn replay_between<F>(&self, from: u64, to: u64, mut apply: F) -> Result<u64>
    where
        F: FnMut(&Entry, Option<Event>) -> Result<()>,
    {
        let mut count = 0;
        self.read_ahead(from, to, 1024, |chunk| {
            for entry in chunk {
                let event = entry.event()?;
                apply(&entry, event)?;
                count += 1;
            }
            Ok(())
        })?;
        Ok(count)
    }

    /// Hands the entries with `from <= seq <= to` to `each` in order, in
    /// chunks of `chunk`, read by a background thread meanwhile: reading
    /// the store overlaps with what `each` does with the chunk before.
    /// Stops at the first error, from the store or from `each`.
    pub fn read_ahead<F>(&self, from: u64, to: u64, chunk: usize, mut each: F) -> Result<()>
    where
        F: FnMut(Vec<Entry>) -> Result<()>,
    {
        let (tx, rx) = flume::bounded::<Result<Vec<Entry>>>(4);
        let entries = self.entries_between(from, to);
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut full = Vec::with_capacity(chunk);
                for entry in entries {
                    match entry {
                        Ok(e) => full.push(e),
                        Err(err) => {
                            let _ = tx.send(Err(err));
                            return;
                        }
                    }
                    if full.len() == chunk {
                        let next = std::mem::replace(&mut full, Vec::with_capacity(chunk));
                        if tx.send(Ok(next)).is_err() {
                            return; // the caller stopped
                        }
                    }
                }
                if !full.is_empty() {
                    let _ = tx.send(Ok(full));
                }
            });
            for entries in rx.iter() {
                each(entries?)?;
            }
            Ok(())
        })
    }

    /// Saves a view snapshot durably.
    pub fn save_snapshot(&self, view: &str, snapshot: &ViewSnapshot) -> Result<()> {
        let mut value = vec![SNAPSHOT_FORMAT];
        postcard::to_io(snapshot, &mut value).expect("postcard encoding into a Vec");
        self.save_encoded_snapshot(view, EncodedSnapshot(value))
    }

    /// Saves a snapshot already encoded ([`EncodedSnapshot::new`]), as
    /// [`Log::save_snapshot`] does.
    pub fn save_encoded_snapshot(&self, view: &str, snapshot: EncodedSnapshot) -> Result<()> {
        let views = &self.shared.views;
        let before = match views.get(view).map_err(StoreError::engine)? {
            Some(old) => snapshot_parts(&old).unwrap_or(0),
            None => 0,
        };
        let parts = snapshot.0.chunks(SNAPSHOT_PART_BYTES);
        let count = u32::try_from(parts.len()).map_err(|_| {
            StoreError::Decode(format!("snapshot of view {view} is too large to keep"))
        })?;
        // All parts and the count at once, and the parts of a larger
        // snapshot before it removed: a crash leaves one whole snapshot.
        let mut batch = self.shared.db.batch();
        for (i, part) in (0..count).zip(parts) {
            batch.insert(views, snapshot_part_key(view, i), part);
        }
        for i in count..before {
            batch.remove(views, snapshot_part_key(view, i));
        }
        let mut head = vec![SNAPSHOT_PARTS];
        head.extend_from_slice(&count.to_be_bytes());
        batch.insert(views, view, head);
        drop(snapshot);
        batch.commit().map_err(StoreError::engine)?;
        self.shared
            .db
            .persist(PersistMode::SyncData)
            .map_err(StoreError::engine)?;
        // A snapshot can be tens of MB; left in the keyspace's memtable,
        // each one saved stays in memory (with the ones it replaced) until
        // enough is written after it. Flushed now, it leaves memory as soon
        // as it is on disk.
        views.rotate_memtable().map_err(StoreError::engine)?;
        Ok(())
    }

    /// Forgets every view snapshot (durably), so the next start replays
    /// from the log: retention calls it before it drops bodies the
    /// snapshots were made from.
    pub fn clear_snapshots(&self) -> Result<()> {
        let views = &self.shared.views;
        let keys: Vec<_> = views
            .iter()
            .map(|g| g.key().map_err(StoreError::engine))
            .collect::<Result<_>>()?;
        for key in keys {
            views.remove(key).map_err(StoreError::engine)?;
        }
        self.shared
            .db
            .persist(PersistMode::SyncData)
            .map_err(StoreError::engine)
    }

    /// Loads a view snapshot; an error means it is unreadable (replay in full).
    pub fn load_snapshot(&self, view: &str) -> Result<Option<ViewSnapshot>> {
        let Some(value) = self.shared.views.get(view).map_err(StoreError::engine)? else {
            return Ok(None);
        };
        let joined;
        let value: &[u8] = match snapshot_parts(&value) {
            None => &value,
            Some(count) => {
                let mut all = Vec::new();
                for i in 0..count {
                    let part = self
                        .shared
                        .views
                        .get(snapshot_part_key(view, i))
                        .map_err(StoreError::engine)?
                        .ok_or_else(|| {
                            StoreError::Decode(format!("snapshot of view {view} lacks part {i}"))
                        })?;
                    all.extend_from_slice(&part);
                }
                joined = all;
                &joined
            }
        };
        match value.split_first() {
            Some((&SNAPSHOT_FORMAT, rest)) => postcard::from_bytes(rest)
                .map(Some)
                .map_err(|e| StoreError::Decode(format!("snapshot of view {view}: {e}"))),
            _ => Err(StoreError::Decode(format!(
                "snapshot of view {view} has an unknown format"
            ))),
        }
    }
}

/// How many parts a snapshot kept in parts has (`None`: kept whole).
fn snapshot_parts(value: &[u8]) -> Option<u32> {
    match value {
        [SNAPSHOT_PARTS, count @ ..] => Some(u32::from_be_bytes(count.try_into().ok()?)),
        _ => None,
    }
}

/// Compares the log with its recorded head (see [`head_file`]).
fn check_tail(
    dir: &Path,
    log: &Keyspace,
    cut: Option<Cut>,
    head: &Head,
    format: u32,
) -> Result<Option<TailMismatch>> {
    let first = cut.map_or(1, |c| c.cut_seq + 1);
    head_file::check(
        head_file::read(dir)?,
        format >= 2,
        head,
        first,
        |seq| match log.get(entry::key(seq)).map_err(StoreError::engine)? {
            Some(value) => Ok(Some(Entry::decode_value(seq, value)?.seal().link)),
            None => Ok(Some(Hash::ZERO)),
        },
    )
}

/// `--accept-truncation`: says in the log that its tail was lost, and
/// records the new head.
fn accept_lost_tail(writer: &mut Writer, m: TailMismatch) -> Result<()> {
    let found = writer.head;
    let (recorded_seq, recorded_link) = m.recorded.map_or((0, Hash::ZERO), |r| (r.seq, r.link));
    writer.append_now(&Event::TailLost(TailLost {
        recorded_seq,
        recorded_link,
        found_seq: found.seq,
        found_link: found.link,
        actor: Actor::Daemon,
    }))?;
    writer.record_head()
}

/// Format 1 → 2: bodies already missing are named in one sealed record
/// (format 1 did not account for prunes), the head is recorded, and the
/// marker rewritten last. A crash anywhere repeats the upgrade harmlessly.
fn upgrade(writer: &mut Writer, log: &Keyspace, cut: Option<Cut>, marker: Marker) -> Result<()> {
    let first = cut.map_or(1, |c| c.cut_seq + 1);
    let mut pruned = Vec::new();
    for item in log.range(entry::key(first)..) {
        let (k, v) = item.into_inner().map_err(StoreError::engine)?;
        let e = Entry::decode(&k, v)?;
        if e.is_pruned() {
            pruned.push(e.seq());
        }
    }
    if !pruned.is_empty() {
        writer.append_now(&Event::BodiesPruned(BodiesPruned {
            ranges: SeqRange::collapse(&pruned),
            reason: "found without a body when the store was upgraded from format 1, which did not record prunes".into(),
        }))?;
    }
    writer.record_head()?;
    layout::rewrite_marker(
        &writer.dir,
        Marker {
            format: FORMAT,
            ..marker
        },
    )
}

/// A log whose genesis says format 2 under a marker that says less had its
/// marker rewritten: an upgrade would vouch for prunes nobody accounted for.
fn refuse_rewritten_marker(
    log: &Keyspace,
    cut: Option<Cut>,
    dir: &Path,
    marker: Marker,
) -> Result<()> {
    if cut.is_none()
        && let Some(value) = log.get(entry::key(1)).map_err(StoreError::engine)?
        && let Ok(Some(Event::Genesis(g))) = Entry::decode_value(1, value)?.event()
        && g.format > marker.format
    {
        return Err(StoreError::Corrupt {
            path: dir.join(layout::MARKER),
            reason: format!(
                "the marker says format {} but the log was created as format {}: the marker was rewritten",
                marker.format, g.format
            ),
        });
    }
    Ok(())
}

fn prepare(events: &[Event]) -> Result<Vec<Prepared>> {
    if events.is_empty() {
        return Err(StoreError::InvalidRequest("nothing to append".into()));
    }
    let now = now_micros();
    Ok(events.iter().map(|e| Prepared::new(e, now)).collect())
}

/// Iterator over entries in seq order.
pub struct Entries {
    inner: fjall::Iter,
}

impl Iterator for Entries {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        let guard = self.inner.next()?;
        Some(
            guard
                .into_inner()
                .map_err(StoreError::engine)
                .and_then(|(k, v)| Entry::decode(&k, v)),
        )
    }
}

impl DoubleEndedIterator for Entries {
    fn next_back(&mut self) -> Option<Self::Item> {
        let guard = self.inner.next_back()?;
        Some(
            guard
                .into_inner()
                .map_err(StoreError::engine)
                .and_then(|(k, v)| Entry::decode(&k, v)),
        )
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("path", &self.shared.root)
            .field("store_id", &self.shared.store_id)
            .field("head", &self.head())
            .finish()
    }
}
