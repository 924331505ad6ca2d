//! `vigilctl files …`: the file integrity baseline (the files view), one
//! path's history (read from the log, where the records are: [`history`]),
//! and a scan on demand (asked of the collector, which records it; this
//! side records who allowed it and relays its progress until its end is
//! durable: [`scan`]).

mod history;
mod scan;

use super::conn::{Conn, Fail, Served, blocking, blocking_with, refuse, view_of};
use super::listing::Page;
use crate::state::messages::ScanProgress as Progress;
use std::ops::Bound;
use vigil_proto::frame::MAX_FRAME;
use vigil_proto::{
    Answer, ErrorCode, FileDetail, FileListing, FileState, FilesHeader, FilesRequest, FilesStatus,
    FinishedScan, RunningScan,
};
use vigil_store::FileAttrs;
use vigil_views::{Baseline, BaselineEntry, FilesView, ScanDone};

/// Longest path accepted (Linux's `PATH_MAX`).
const MAX_PATH: usize = 4096;
/// Room left in a frame for the envelope around a path's detail.
const ENVELOPE: usize = 1024;

fn listing(path: &str, entry: &BaselineEntry) -> FileListing {
    let a = entry.attrs();
    FileListing {
        path: path.to_string(),
        file_type: a.file_type,
        sha256: a.sha256,
        size: a.size,
        mode: a.mode,
        uid: a.uid,
        gid: a.gid,
        mtime: a.mtime,
        link_target: a.link_target,
        changes: entry.changes(),
        seq: entry.seq(),
    }
}

fn state(a: &FileAttrs) -> FileState {
    FileState {
        file_type: a.file_type,
        sha256: a.sha256,
        size: a.size,
        mode: a.mode,
        uid: a.uid,
        gid: a.gid,
        mtime: a.mtime,
        link_target: a.link_target.clone(),
    }
}

fn finished(done: &ScanDone) -> FinishedScan {
    FinishedScan {
        scan: done.scan,
        finished_at: done.finished_at,
        totals: done.totals.clone(),
    }
}

/// The scan the collector says is under way, if any (`None` when the
/// collector does not run). A scan the view holds as started but the
/// collector does not (vigild stopped during it) is not under way.
fn running(progress: Option<&Progress>, view: &FilesView) -> Option<RunningScan> {
    let progress = progress?;
    let scan = progress.scan?;
    if progress.finished.is_some_and(|f| f >= scan) {
        return None;
    }
    Some(RunningScan {
        scan,
        reason: progress.reason.clone(),
        started_at: view
            .scanning
            .as_ref()
            .filter(|s| s.scan == scan)
            .map(|s| s.started_at),
        examined: progress.examined,
        expected: progress.expected,
        bytes: progress.bytes,
    })
}

/// File integrity for the status report: `progress` is the collector's
/// (`None` when it does not run, and then there is no section).
pub(super) fn status(view: &FilesView, progress: Option<&Progress>) -> Option<FilesStatus> {
    let p = progress?;
    Some(FilesStatus {
        files: view.files.len() as u64,
        changes: view.changes,
        watched_dirs: p.watched_dirs,
        unwatched_dirs: p.unwatched_dirs,
        overflows: p.overflows,
        scanning: running(progress, view),
        last_scan: view.last_scan.as_ref().map(finished),
    })
}

/// `path` if it can name a recorded path: absolute, within `PATH_MAX`.
fn checked(path: String) -> Result<String, Fail> {
    if !path.starts_with('/') || path.len() > MAX_PATH || path.contains('\0') {
        return Err(refuse(
            ErrorCode::BadRequest,
            format!(
                "`{path}` is not an absolute path (of at most {MAX_PATH} bytes); recorded paths are absolute"
            ),
        ));
    }
    Ok(path)
}

/// The next page of recorded paths, in path order: after `after`, and
/// under `root` when given (`root` itself first, as `FilesView::under`
/// lists it, then what is below it).
fn page_of(
    files: &Baseline,
    root: Option<&str>,
    after: Option<&str>,
    max: usize,
) -> Vec<FileListing> {
    let Some(root) = root else {
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        return files
            .range_from(from)
            .take(max)
            .map(|(p, e)| listing(&p, e))
            .collect();
    };
    let dir = if root.ends_with('/') {
        root.to_string()
    } else {
        format!("{root}/")
    };
    let itself = files
        .get_key_value(root)
        .filter(|_| root != dir && after.is_none_or(|a| a < root));
    // Below `dir`, from the cursor if it is there already: a cursor at
    // `root` itself would start the range at `root.d`, before `root/`.
    let from = match after {
        Some(a) if a >= dir.as_str() => Bound::Excluded(a),
        _ => Bound::Included(dir.as_str()),
    };
    let below = files
        .range_from(from)
        .take_while(|(p, _)| p.starts_with(dir.as_str()));
    itself
        .into_iter()
        .chain(below)
        .take(max)
        .map(|(p, e)| listing(&p, e))
        .collect()
}

impl Conn<'_> {
    /// Serves the files family.
    pub(super) async fn serve_files(&mut self, request: FilesRequest) -> Served {
        match request {
            FilesRequest::List { path } => self.files_list(path).await,
            FilesRequest::Show { path } => self.files_show(path).await,
            FilesRequest::Scan => self.files_scan().await,
        }
    }

    pub(super) async fn files_list(&mut self, path: Option<String>) -> Served {
        let path = path.map(checked).transpose()?;
        let progress = self.collector_progress();
        let root = path.clone();
        let header = self
            .view(move |v| {
                let view = &v.files;
                FilesHeader {
                    count: match &root {
                        Some(root) => view.under(root).count() as u64,
                        None => view.files.len() as u64,
                    },
                    baselined: view.baselined.iter().cloned().collect(),
                    last_scan: view.last_scan.as_ref().map(finished),
                    scanning: running(progress.as_ref(), view),
                }
            })
            .await?;
        self.send(&Answer::files_header(Box::new(header))).await?;
        let shared = self.shared.clone();
        let fetch = move |after: Option<String>, max: usize| {
            let shared = shared.clone();
            let root = path.clone();
            async move {
                let items = view_of(&shared, move |v| {
                    page_of(&v.files.files, root.as_deref(), after.as_deref(), max)
                })
                .await?;
                Ok(Page {
                    last: items.last().map(|f: &FileListing| f.path.clone()),
                    items,
                    matching: None,
                })
            }
        };
        let end = self
            .stream_pages(None, fetch, Answer::files_list, |f| {
                format!("the record of {}", f.path)
            })
            .await?;
        self.end_listing(end).await
    }

    pub(super) async fn files_show(&mut self, path: String) -> Served {
        let mut path = checked(path)?;
        // `/etc/` is recorded as `/etc`.
        while path.len() > 1 && path.ends_with('/') {
            path.pop();
        }
        // A name with a `\` is recorded with it escaped (`\\`, so that no
        // two names share a record); the path as typed is looked for first,
        // since a name not UTF-8 is typed as recorded (`\xff`).
        if path.contains('\\') {
            let (typed, escaped) = (path.clone(), path.replace('\\', "\\\\"));
            let recorded = escaped.clone();
            let only_escaped = self
                .view(move |v| {
                    !v.files.files.contains_key(typed.as_str())
                        && v.files.files.contains_key(recorded.as_str())
                })
                .await?;
            if only_escaped {
                path = escaped;
            }
        }
        let wanted = path.clone();
        let current = self
            .view(move |v| {
                v.files
                    .files
                    .get(wanted.as_str())
                    .map(|e| listing(&wanted, e))
            })
            .await?;
        let log = self.shared.log.clone();
        let head = log.head().seq;
        let wanted = path.clone();
        let (history, older) = blocking(move || history::read(&log, &wanted, head)).await?;
        if current.is_none() && history.is_empty() {
            return Err(refuse(
                ErrorCode::NotFound,
                format!("nothing is recorded for {path}; `vigilctl files list` shows what is"),
            ));
        }
        let mut detail = FileDetail {
            path,
            current,
            history,
            older,
        };
        let detail =
            blocking_with(move || history::fit(&mut detail, MAX_FRAME - ENVELOPE).map(|()| detail))
                .await??;
        self.send(&Answer::files_show(Box::new(detail))).await
    }

    /// The collector's progress, or `None` when it does not run (no
    /// `[[collect.files]]`, or it stopped).
    pub(super) fn collector_progress(&self) -> Option<Progress> {
        let files = &self.shared.files;
        let running = !files.commands.is_closed() && self.shared.config().collect.watches_files();
        running.then(|| files.progress.borrow().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::{FileType, Hash};

    fn entry(fill: u8) -> BaselineEntry {
        let attrs = FileAttrs {
            file_type: FileType::File,
            sha256: Some(Hash([fill; 32])),
            size: 1,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            mtime: 0,
            inode: 1,
            dev: 1,
            link_target: None,
            xattrs: vec![],
        };
        BaselineEntry::new(&attrs, None, u64::from(fill), 0)
    }

    fn paged(files: &Baseline, root: Option<&str>, max: usize) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        loop {
            let page = page_of(files, root, out.last().map(String::as_str), max);
            let n = page.len();
            out.extend(page.into_iter().map(|f| f.path));
            if n < max {
                return out;
            }
        }
    }

    #[test]
    fn pages_list_a_path_and_what_is_below_it_as_the_view_does() {
        let files: std::collections::BTreeMap<Box<str>, BaselineEntry> = [
            "/etc",
            "/etc/a",
            "/etc/a/x",
            "/etc/a/y",
            "/etc/ab",
            "/etc/a.d/y",
            "/etcx",
        ]
        .into_iter()
        .map(|p| (p.into(), entry(1)))
        .collect();
        let view = FilesView {
            files: files.clone().into(),
            ..FilesView::default()
        };
        for root in [
            None,
            Some("/etc"),
            Some("/etc/a"),
            Some("/etc/"),
            Some("/"),
            Some("/nope"),
        ] {
            let expected: Vec<String> = match root {
                Some(r) => view.under(r).map(|(p, _)| p.to_string()).collect(),
                None => files.keys().map(|p| p.to_string()).collect(),
            };
            for max in [1, 2, 3, 100] {
                assert_eq!(paged(&view.files, root, max), expected, "{root:?} by {max}");
            }
        }
    }

    #[test]
    fn only_absolute_paths_are_asked_for() {
        assert!(checked("/etc/passwd".into()).is_ok());
        for bad in ["etc/passwd", "", "/a\0b"] {
            assert!(
                matches!(checked(bad.into()), Err(Fail::Refuse(e)) if e.code == ErrorCode::BadRequest)
            );
        }
        assert!(checked(format!("/{}", "a".repeat(MAX_PATH))).is_err());
    }

    #[test]
    fn nothing_is_under_way_without_the_collector_or_after_the_scan_finished() {
        let view = FilesView::default();
        assert_eq!(running(None, &view), None);
        let mut p = Progress {
            scan: Some(4),
            reason: "operator".into(),
            examined: 1,
            expected: 2,
            ..Progress::default()
        };
        assert_eq!(running(Some(&p), &view).map(|r| r.scan), Some(4));
        p.finished = Some(4);
        assert_eq!(running(Some(&p), &view), None);
        assert_eq!(status(&view, None), None, "no collector: no section");
        assert_eq!(
            status(&view, Some(&Progress::default())).map(|s| s.files),
            Some(0)
        );
    }
}

// Through a real connection, with a stand-in collector.
#[cfg(test)]
mod tests_through_a_connection;
