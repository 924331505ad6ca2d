//! Opening things that are not (usable) stores: a clear, typed error and
//! nothing on disk touched.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use vigil_store::*;

#[test]
fn a_missing_directory_is_reported_and_not_created() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nope");
    let err = Log::open(&dir, LogOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Missing { .. }), "{err}");
    assert!(!dir.exists());
}

#[test]
fn a_directory_that_is_not_a_store_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "hello").unwrap();
    let before = snapshot_files(tmp.path());
    let err = Log::open(tmp.path(), LogOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err}");
    assert!(err.to_string().contains("not a Vigil store"), "{err}");
    assert_eq!(snapshot_files(tmp.path()), before);
    let err = Log::create(tmp.path(), &tmp.path().join("vk"), LogOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    assert_eq!(snapshot_files(tmp.path()), before);
}

#[test]
fn a_store_from_a_newer_format_is_refused_untouched() {
    let s = TestStore::new();
    let (_tmp, dir, _) = s.close();
    let marker = dir.join(layout::MARKER);
    let text = std::fs::read_to_string(&marker)
        .unwrap()
        .replace("format 2", "format 3");
    std::fs::write(&marker, text).unwrap();
    let before = snapshot_files(&dir);
    for result in [
        Log::open(&dir, LogOptions::default()),
        Log::open_read_only(&dir),
    ] {
        let err = result.unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::NewerFormat {
                    found: 3,
                    supported: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("upgrade Vigil"), "{err}");
    }
    assert_eq!(snapshot_files(&dir), before);
}

#[test]
fn a_store_in_use_is_refused_untouched() {
    let s = TestStore::new();
    s.log.append(&custom("held")).unwrap();
    s.log.sync().unwrap();
    let before: Vec<_> = snapshot_files(&s.dir)
        .into_iter()
        .filter(|(p, _)| !p.to_string_lossy().contains("/db/"))
        .collect();
    for result in [
        Log::open(&s.dir, LogOptions::default()),
        Log::open_read_only(&s.dir),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("in use"), "{err}");
    }
    let after: Vec<_> = snapshot_files(&s.dir)
        .into_iter()
        .filter(|(p, _)| !p.to_string_lossy().contains("/db/"))
        .collect();
    assert_eq!(before, after);
    // The holder is unaffected.
    assert_eq!(s.log.append(&custom("still mine")).unwrap().seq, 3);
}

#[test]
fn damaged_markers_and_missing_parts_are_corruption() {
    let s = TestStore::new();
    let (_tmp, dir, _) = s.close();
    let marker = dir.join(layout::MARKER);
    let good = std::fs::read_to_string(&marker).unwrap();

    std::fs::write(&marker, "vigil-store\nformat x\n").unwrap();
    let err = Log::open(&dir, LogOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");

    std::fs::write(&marker, &good).unwrap();
    std::fs::rename(dir.join("seal.key"), dir.join("moved")).unwrap();
    let err = Log::open(&dir, LogOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("sealing key"), "{err}");
    // Still verifiable without the sealing key.
    assert!(
        Log::open_read_only(&dir)
            .unwrap()
            .verify(&VerifyOptions::default())
            .unwrap()
            .ok
    );

    std::fs::rename(dir.join("db"), dir.join("db-moved")).unwrap();
    let err = Log::open_read_only(&dir).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[test]
fn a_garbage_verification_key_is_a_clear_error_without_echo() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vk");
    std::fs::write(&path, "vigil-vk1:zzzz:secretsecret").unwrap();
    let err = read_verification_key(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::BadVerificationKey { .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("secretsecret"), "{err}");
    let err = read_verification_key(&tmp.path().join("absent")).unwrap_err();
    assert!(err.to_string().contains("absent"), "{err}");
}
