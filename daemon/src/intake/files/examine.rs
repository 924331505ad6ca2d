//! Examining found paths: hashing the regular files in parallel within the
//! read budget, and comparing each path with what the baseline holds.

use super::beneath::{Meta, read_link_at, replaced_or_gone, stat_at};
use super::compare::{attrs_of, change};
use super::hash::{HashError, Hashed, ReadBudget, hash_file};
use super::sets::Root;
use super::walk::{Found, path_key};
use crate::config::CollectConfig;
use rayon::prelude::*;
use vigil_ingest::redact::Redactor;
use vigil_store::FileType;
use vigil_store::{FileChangeKind, FileRecord};
use vigil_views::BaselineEntry;

/// What examining a batch of paths gave.
#[derive(Default)]
pub struct Examined {
    /// A record for each path that is new or changed.
    pub records: Vec<FileRecord>,
    /// Paths examined.
    pub examined: u64,
    /// Bytes hashed.
    pub bytes: u64,
    /// Paths that could not be read, with why.
    pub errors: Vec<(String, String)>,
    /// Paths found by the walk and gone before they were read.
    pub gone: Vec<String>,
}

/// The hashing threads and their read budget.
pub struct Examiner {
    pool: rayon::ThreadPool,
    budget: ReadBudget,
}

/// One path, read.
enum Read {
    /// Not a regular file, or hashed.
    Seen {
        hashed: Option<Hashed>,
        link: Option<String>,
        found: Found,
        meta: Meta,
    },
    /// Could not be read.
    Failed(String, String),
    /// Gone between the walk and the read (its key).
    Gone(String),
}

impl Examiner {
    /// `[collect] hash_threads` threads within `read_rate`.
    pub fn new(collect: &CollectConfig) -> Result<Examiner, String> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(collect.hash_threads)
            .thread_name(|i| format!("vigil-hash-{i}"))
            .build()
            .map_err(|e| format!("cannot start the hashing threads: {e}"))?;
        Ok(Examiner {
            pool,
            budget: ReadBudget::new(collect.read_rate.0),
        })
    }

    /// Reads `found` (in parallel) and compares each path with what was
    /// recorded for it (`recorded`, in the same order). A path not
    /// recorded is a creation once `baselined`, a baseline before.
    pub fn examine(
        &self,
        root: &Root,
        found: Vec<Found>,
        recorded: Vec<Option<BaselineEntry>>,
        baselined: bool,
        while_stopped: bool,
        redactor: &Redactor,
    ) -> Examined {
        let budget = &self.budget;
        let reads: Vec<Read> = self.pool.install(|| {
            found
                .into_par_iter()
                .map(|f| read(f, budget, root.keep_text))
                .collect()
        });
        let mut out = Examined::default();
        for (read, old) in reads.into_iter().zip(recorded) {
            let (hashed, link, found, meta) = match read {
                Read::Seen {
                    hashed,
                    link,
                    found,
                    meta,
                } => (hashed, link, found, meta),
                Read::Failed(path, error) => {
                    out.errors.push((path, error));
                    continue;
                }
                Read::Gone(key) => {
                    out.gone.push(key);
                    continue;
                }
            };
            // Read here, one path at a time: only when asked for.
            let xattrs = if root.checked.xattrs {
                match super::xattrs::xattrs_of(&found.parent, &found.name, meta.id()) {
                    Ok(xattrs) => xattrs,
                    Err(e) => {
                        out.errors
                            .push((found.key, format!("extended attributes: {e}")));
                        continue;
                    }
                }
            } else {
                Vec::new()
            };
            out.examined += 1;
            out.bytes += hashed.as_ref().map_or(0, |h| h.bytes);
            let (sha256, text) = match hashed {
                Some(h) => (Some(h.sha256), h.text),
                None => (None, None),
            };
            let mut new = attrs_of(&meta, sha256, link);
            new.xattrs = xattrs;
            let old_attrs = old.as_ref().map(BaselineEntry::attrs);
            let kind = match &old {
                None if !baselined => Some(FileChangeKind::Baseline),
                Some(_) | None => change(old_attrs.as_ref(), Some(&new), &root.checked),
            };
            let Some(kind) = kind else { continue };
            let content = text.map(|t| redactor.redact(&t).into_owned());
            let diff = match (&old, &content) {
                (Some(old), Some(new_text)) if kind == FileChangeKind::Modified => {
                    old.content().map(|old_text| {
                        vigil_ingest::files::diff::unified(&found.key, old_text, new_text, DIFF_MAX)
                    })
                }
                _ => None,
            };
            out.records.push(FileRecord {
                path: found.key,
                change: kind,
                from: None,
                old: old_attrs,
                new: Some(new),
                while_stopped: while_stopped && kind != FileChangeKind::Baseline,
                diff,
                content,
                alert: None,
            });
        }
        out
    }
}

/// The largest diff recorded with a change.
const DIFF_MAX: usize = 16 * 1024;

/// Reads one path by its name in the directory it was found in.
fn read(found: Found, budget: &ReadBudget, keep_text: Option<u64>) -> Read {
    let gone_or_failed = |found: Found, e: std::io::Error| {
        if replaced_or_gone(&e) {
            Read::Gone(found.key)
        } else {
            Read::Failed(found.key, e.to_string())
        }
    };
    let mut meta = match stat_at(&found.parent, &found.name) {
        Ok(meta) => meta,
        Err(e) => return gone_or_failed(found, e),
    };
    // Once more if it was replaced while being opened.
    for _ in 0..2 {
        match meta.file_type {
            FileType::Symlink => {
                return match read_link_at(&found.parent, &found.name) {
                    Ok(target) => Read::Seen {
                        hashed: None,
                        link: Some(path_key(&target)),
                        found,
                        meta,
                    },
                    Err(e) => gone_or_failed(found, e),
                };
            }
            FileType::File => {}
            FileType::Dir | FileType::Other => {
                return Read::Seen {
                    hashed: None,
                    link: None,
                    found,
                    meta,
                };
            }
        }
        match hash_file(&found.parent, &found.name, &meta, budget, keep_text) {
            Ok((hashed, opened)) => {
                return Read::Seen {
                    hashed: Some(hashed),
                    link: None,
                    found,
                    meta: opened,
                };
            }
            // Gone only when it is: a stat that fails otherwise (EACCES,
            // EIO) is a failure to read, not a deletion.
            Err(HashError::Replaced) => match stat_at(&found.parent, &found.name) {
                Ok(now) => meta = now,
                Err(e) => return gone_or_failed(found, e),
            },
            Err(HashError::Io(e)) => return gone_or_failed(found, e),
        }
    }
    Read::Failed(found.key, "replaced again while being read".into())
}
