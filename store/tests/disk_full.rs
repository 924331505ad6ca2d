//! A failed write or fsync is fatal for the writer: it answers the error,
//! acknowledges nothing afterwards, and everything acknowledged before is
//! intact. Uses a small tmpfs to make the disk really fill up (needs root,
//! as the test machines have).

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::process::Command;
use vigil_store::*;

struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap().keep();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .expect("mount(8) must exist");
        assert!(
            status.success(),
            "mounting a tmpfs needs root; this test simulates a full disk"
        );
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn a_full_disk_stops_the_writer_without_false_acknowledgements() {
    let fs = Tmpfs::mount("6m");
    let root = fs.0.clone();
    // It normally takes well under a second.
    within(
        std::time::Duration::from_secs(60),
        "filling the disk",
        move || fill_the_disk(&root),
    );
}

fn fill_the_disk(root: &std::path::Path) {
    let dir = root.join("store");
    let log = Log::create(&dir, &root.join("vk"), LogOptions::default()).unwrap();
    let mut acked = Vec::new();
    let mut failure = None;
    for i in 0..100_000u64 {
        match log.append(&alert_event(i, 2_000)) {
            Ok(h) => acked.push(h.seq),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let failure = failure.expect("the disk never filled");
    assert!(matches!(failure, StoreError::WriterFailed(_)), "{failure}");
    assert!(acked.len() > 100, "the store worked before the disk filled");
    // Nothing is acknowledged after a failure, even once space is back.
    for _ in 0..3 {
        let err = log.append(&custom("after")).unwrap_err();
        assert!(matches!(err, StoreError::WriterFailed(_)), "{err}");
    }
    assert!(matches!(
        log.advance_epoch("x"),
        Err(StoreError::WriterFailed(_))
    ));

    // Every acknowledged entry is intact: copy the store off the full disk.
    drop(log);
    let copy = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(&dir)
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    let reopened = Log::open(&copy.path().join("store"), LogOptions::default()).unwrap();
    let head = reopened.head().seq;
    assert!(
        head >= *acked.last().unwrap(),
        "acked up to {} but head is {head}",
        acked.last().unwrap()
    );
    let key = read_verification_key(&root.join("vk")).unwrap();
    let report = reopened
        .verify(&VerifyOptions {
            key: Some(&key),
            ..Default::default()
        })
        .unwrap();
    assert!(report.ok, "{report:?}");
}
