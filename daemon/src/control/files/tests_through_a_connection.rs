//! The files family through a real control connection, with a stand-in
//! for the file integrity collector (which lands separately): a scan is
//! audited, its progress relayed and its totals sent once its end is
//! recorded; the listing, a path's history (renamed away included) and
//! the status report show what was recorded.

use crate::config::Config;
use crate::state::messages::{FilesCommand, ScanProgress as Progress};
use crate::state::{FilesChannel, Parts, Shared};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use vigil_proto::{FileDetail, Listed, Request, Step};
use vigil_store::{
    Event, FileAttrs, FileChangeKind, FileIntegrity, FileRecord, FileType, Hash, Log, ScanReason,
    ScanTotals,
};
use vigilctl::Client;

/// A daemon's shared state on a new store in `dir`, served on
/// `dir/control.sock`, with the collector's ends of the files channel.
struct Running {
    shared: Arc<Shared>,
    socket: PathBuf,
    commands: mpsc::Receiver<FilesCommand>,
    progress: watch::Sender<Progress>,
    shutdown: watch::Sender<bool>,
    served: tokio::task::JoinHandle<()>,
}

fn start(dir: &Path) -> Running {
    let me = nix::unistd::getuid().to_string();
    let mut config = Config::dev(Some(dir), None, me).unwrap();
    // Something to watch: otherwise a scan is refused before it is relayed.
    config.collect = toml::from_str("[[files]]\npaths = [\"/etc\"]\n").unwrap();
    let socket = dir.join("control.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (commands_tx, commands) = mpsc::channel(4);
    let (progress, progress_rx) = watch::channel(Progress::default());
    let shared = Shared::new(Parts {
        shutdown: shutdown_rx,
        files: FilesChannel {
            commands: commands_tx,
            progress: progress_rx,
        },
        ..crate::state::testing::parts(config, socket.clone())
    });
    let served = tokio::spawn(crate::control::serve(shared.clone(), listener));
    Running {
        shared,
        socket,
        commands,
        progress,
        shutdown,
        served,
    }
}

fn attrs(fill: u8, mode: u32) -> FileAttrs {
    FileAttrs {
        file_type: FileType::File,
        sha256: Some(Hash([fill; 32])),
        size: u64::from(fill),
        mode,
        uid: 0,
        gid: 0,
        mtime: 0,
        inode: u64::from(fill),
        dev: 1,
        link_target: None,
        xattrs: vec![],
    }
}

fn record(
    path: &str,
    change: FileChangeKind,
    old: Option<FileAttrs>,
    new: Option<FileAttrs>,
) -> FileRecord {
    FileRecord {
        path: path.into(),
        change,
        from: None,
        old,
        new,
        while_stopped: false,
        diff: None,
        content: None,
        alert: None,
    }
}

fn integrity(event: FileIntegrity) -> Event {
    Event::FileIntegrity(event)
}

/// Answers one scan request as the collector does: its start recorded,
/// progress published (slowly enough to be relayed), two baselines and
/// its end recorded, then `finished`.
async fn collect_once(
    log: Log,
    commands: &mut mpsc::Receiver<FilesCommand>,
    progress: &watch::Sender<Progress>,
) {
    let Some(FilesCommand::Scan { reply }) = commands.recv().await else {
        panic!("no scan asked for");
    };
    let roots = vec!["/etc".to_string()];
    let started = integrity(FileIntegrity::ScanStarted {
        reason: ScanReason::Operator,
        roots: roots.clone(),
    });
    let id = log.append_async(&started).await.unwrap().seq;
    reply.send(Ok(id)).unwrap();
    for examined in 1..=2 {
        progress.send_modify(|p| {
            p.scan = Some(id);
            p.reason = "operator".into();
            p.examined = examined;
            p.expected = 2;
            p.bytes = examined * 10;
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let files = vec![
        record(
            "/etc/a",
            FileChangeKind::Baseline,
            None,
            Some(attrs(1, 0o100644)),
        ),
        record(
            "/etc/b",
            FileChangeKind::Baseline,
            None,
            Some(attrs(2, 0o100644)),
        ),
    ];
    let totals = ScanTotals {
        files: 2,
        bytes: 20,
        baselined: 2,
        ..ScanTotals::default()
    };
    log.append_all_async(&[
        integrity(FileIntegrity::Records {
            scan: Some(id),
            files,
        }),
        integrity(FileIntegrity::ScanFinished {
            scan: id,
            roots,
            totals,
        }),
    ])
    .await
    .unwrap();
    progress.send_modify(|p| {
        p.scan = None;
        p.finished = Some(id);
        p.watched_dirs = 1;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_the_store_refused_is_refused_with_the_stores_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut d = start(tmp.path());
    let socket = d.socket.clone();
    let client = tokio::task::spawn_blocking(move || {
        let mut client = Client::connect(&socket).unwrap();
        let scan = Request::files_scan();
        client.send(scan.request()).unwrap();
        loop {
            let frame = match client.receive() {
                Ok(frame) => frame,
                Err(refused) => return refused.to_string(),
            };
            match scan.read(frame) {
                Ok(Step::Progress(_)) => {}
                Ok(Step::Done(done)) => panic!("a refused scan finished: {done:?}"),
                Err(other) => panic!("not a scan's answer: {other:?}"),
            }
        }
    });
    // As the collector does when an append is refused mid-scan: the scan
    // is no longer under way, the error is published, and the rescan
    // after the wait finishes under a later id.
    let Some(FilesCommand::Scan { reply }) = d.commands.recv().await else {
        panic!("no scan asked for");
    };
    let id = d
        .shared
        .log
        .append_async(&integrity(FileIntegrity::ScanStarted {
            reason: ScanReason::Operator,
            roots: vec!["/etc".into()],
        }))
        .await
        .unwrap()
        .seq;
    reply.send(Ok(id)).unwrap();
    d.progress.send_modify(|p| {
        p.scan = None;
        p.store_error = Some("cannot write to the store: No space left on device".into());
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    d.progress.send_modify(|p| {
        p.store_error = None;
        p.finished = Some(id + 1);
    });
    let error = client.await.unwrap();
    assert!(
        error.contains(&format!("scan {id} stopped"))
            && error.contains("No space left on device")
            && !error.contains("not in the log"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_is_relayed_and_what_it_recorded_is_listed_and_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let mut d = start(tmp.path());
    let socket = d.socket.clone();
    let client = tokio::task::spawn_blocking(move || {
        let mut client = Client::connect(&socket).unwrap();
        let scan = Request::files_scan();
        client.send(scan.request()).unwrap();
        let mut steps = Vec::new();
        loop {
            match scan.read(client.receive().unwrap()).unwrap() {
                Step::Progress(p) => steps.push(p),
                Step::Done(done) => return (client, steps, done),
            }
        }
    });
    collect_once(d.shared.log.clone(), &mut d.commands, &d.progress).await;
    let (mut client, steps, done) = client.await.unwrap();
    assert!(!steps.is_empty(), "progress is relayed");
    assert!(steps.iter().all(|p| p.scan == done.scan && p.expected == 2));
    assert_eq!((done.totals.files, done.totals.baselined), (2, 2));

    // Changes seen live: /etc/a modified, /etc/b renamed to /etc/c.
    let mut modified = record(
        "/etc/a",
        FileChangeKind::Modified,
        Some(attrs(1, 0o100644)),
        Some(attrs(3, 0o100600)),
    );
    modified.diff = Some("-x\n+y\n".into());
    let mut renamed = record(
        "/etc/c",
        FileChangeKind::Renamed,
        None,
        Some(attrs(2, 0o100644)),
    );
    renamed.from = Some("/etc/b".into());
    d.shared
        .log
        .append_async(&integrity(FileIntegrity::Records {
            scan: None,
            files: vec![modified, renamed],
        }))
        .await
        .unwrap();

    let (status, listed, header, a, b) = tokio::task::spawn_blocking(move || {
        let status = client.ask(Request::status()).unwrap();
        let listing = Request::files_list(Some("/etc".into()));
        client.send(listing.request()).unwrap();
        let (mut header, mut listed) = (None, Vec::new());
        loop {
            match listing.read(client.receive().unwrap()).unwrap() {
                Listed::Header(h) => header = Some(h),
                Listed::Page(page) => listed.extend(page.into_iter().map(|f| f.path)),
                Listed::End(end) => {
                    assert_eq!(end.listed, listed.len() as u64);
                    break;
                }
            }
        }
        let show = |client: &mut Client, path: &str| -> Box<FileDetail> {
            client.ask(Request::files_show(path.into())).unwrap()
        };
        let a = show(&mut client, "/etc/a/");
        let b = show(&mut client, "/etc/b");
        (status, listed, header.unwrap(), a, b)
    })
    .await
    .unwrap();

    assert_eq!(listed, ["/etc/a", "/etc/c"]);
    assert_eq!(header.count, 2);
    assert_eq!(header.baselined, ["/etc"]);
    assert_eq!(header.last_scan.map(|s| s.scan), Some(done.scan));
    assert_eq!(header.scanning, None);

    let current = a.current.as_ref().unwrap();
    assert_eq!(
        (current.path.as_str(), current.mode, current.changes),
        ("/etc/a", 0o100600, 1)
    );
    let changes: Vec<FileChangeKind> = a.history.iter().map(|h| h.change).collect();
    assert_eq!(
        changes,
        [FileChangeKind::Baseline, FileChangeKind::Modified]
    );
    assert_eq!(a.history[1].diff.as_deref(), Some("-x\n+y\n"));
    assert_eq!(a.history[1].old.as_ref().map(|s| s.mode), Some(0o100644));
    assert_eq!(a.older, 0);

    assert!(b.current.is_none(), "renamed away");
    assert_eq!(b.history.len(), 2);
    assert_eq!(b.history[1].path, "/etc/c");
    assert_eq!(b.history[1].from.as_deref(), Some("/etc/b"));

    let files = status.files.expect("the collector runs");
    assert_eq!((files.files, files.changes, files.watched_dirs), (2, 2, 1));
    assert_eq!(files.last_scan.map(|s| s.totals.files), Some(2));
    assert_eq!(files.scanning, None);

    // Who asked for the scan is in the log, before the scan's start.
    let log = d.shared.log.clone();
    let allowed = tokio::task::spawn_blocking(move || {
        log.entries(1)
            .filter_map(|e| e.ok()?.event().ok().flatten())
            .position(|e| matches!(e, Event::Auth(a) if a.action == "files.scan"))
    })
    .await
    .unwrap();
    assert!(allowed.is_some(), "the scan is audited");

    d.shutdown.send_replace(true);
    d.served.await.unwrap();
}
