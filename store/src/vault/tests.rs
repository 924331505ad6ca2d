use super::*;
use crate::{LogOptions, now_micros};
use std::path::Path;

fn new_log(dir: &Path) -> Log {
    Log::create(&dir.join("store"), &dir.join("vk"), LogOptions::default()).unwrap()
}

fn key(byte: u8) -> MasterKey {
    MasterKey::parse(&[byte; 32]).unwrap()
}

fn value(s: &str) -> SecretValue {
    SecretValue::from_string(s.into())
}

fn read(vault: &Vault, name: &str) -> String {
    vault
        .get(name)
        .unwrap()
        .unwrap()
        .expose_str()
        .unwrap()
        .to_string()
}

/// Every byte of every file under `dir`.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.extend(bytes);
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn values_survive_reopen_and_only_metadata_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    assert!(!Vault::secrets_exist(&log).unwrap());
    let vault = Vault::open(&log, key(1), "test").unwrap();
    assert_eq!(vault.active_key(), None);
    assert_eq!(vault.set("smtp.password", &value("pw-1"), 10).unwrap(), 1);
    vault.set("slack", &value("https://hooks"), 11).unwrap();
    vault.set("smtp.password", &value("pw-2"), 12).unwrap();
    let list = vault.list().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].name, "smtp.password");
    assert_eq!((list[1].created, list[1].updated), (10, 12));
    drop(vault);
    log.close().unwrap();

    let log = Log::open(&dir.path().join("store"), LogOptions::default()).unwrap();
    assert!(Vault::secrets_exist(&log).unwrap());
    assert_eq!(
        Vault::keyring_master(&log).unwrap(),
        Some(key(1).fingerprint())
    );
    let vault = Vault::open(&log, key(1), "test").unwrap();
    assert_eq!(read(&vault, "smtp.password"), "pw-2");
    assert_eq!(read(&vault, "slack"), "https://hooks");
    assert!(vault.get("nope").unwrap().is_none());
    assert!(vault.delete("slack").unwrap());
    assert!(!vault.delete("slack").unwrap());
    assert!(vault.get("slack").unwrap().is_none());
}

#[test]
fn bad_names_and_values_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    let vault = Vault::open(&log, key(1), "test").unwrap();
    for bad in ["", "a b", "a/b", "ü", &"x".repeat(MAX_NAME + 1)] {
        assert!(matches!(
            vault.set(bad, &value("v"), 1),
            Err(VaultError::InvalidName(_))
        ));
    }
    assert!(matches!(
        vault.set("empty", &value(""), 1),
        Err(VaultError::InvalidValue(_))
    ));
    assert!(matches!(
        vault.set("big", &SecretValue::new(vec![1; MAX_VALUE + 1]), 1),
        Err(VaultError::InvalidValue(_))
    ));
    assert!(vault.list().unwrap().is_empty());
    assert!(!Vault::secrets_exist(&log).unwrap());
}

#[test]
fn a_wrong_master_key_is_a_clear_error_naming_fingerprints_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    Vault::open(&log, key(1), "test")
        .unwrap()
        .set("a", &value("v"), 1)
        .unwrap();
    let err = Vault::open(&log, key(2), "key file /x").err().unwrap();
    let msg = err.to_string();
    assert!(matches!(err, VaultError::WrongMasterKey { .. }));
    assert!(msg.contains(&key(1).fingerprint().to_string()), "{msg}");
    assert!(msg.contains(&key(2).fingerprint().to_string()), "{msg}");
    assert!(msg.contains("key file /x"), "{msg}");
    assert!(!msg.contains("0101"), "{msg}");
}

#[test]
fn a_ciphertext_moved_to_another_name_or_flipped_does_not_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    let vault = Vault::open(&log, key(1), "test").unwrap();
    vault.set("alpha", &value("value-a"), 1).unwrap();
    vault.set("beta", &value("value-b"), 1).unwrap();
    let space = &log.shared().secrets;
    let a = space.get(secret_key("alpha")).unwrap().unwrap();
    space.insert(secret_key("beta"), a.clone()).unwrap();
    let err = vault.get("beta").err().unwrap().to_string();
    assert!(err.contains("moved from another name"), "{err}");

    let mut record: StoredSecret = postcard::from_bytes(&a).unwrap();
    record.sealed[3] ^= 0x40;
    space
        .insert(secret_key("alpha"), postcard::to_stdvec(&record).unwrap())
        .unwrap();
    assert!(matches!(vault.get("alpha"), Err(VaultError::Damaged(_))));
    let bad = vault.check().unwrap();
    assert_eq!(bad.len(), 2);
}

#[test]
fn rotation_reencrypts_everything_and_retires_the_old_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    let vault = Vault::open(&log, key(1), "test").unwrap();
    for i in 0..20 {
        vault
            .set(&format!("s{i}"), &value(&format!("v{i}")), 1)
            .unwrap();
    }
    let r = vault.rotate(now_micros()).unwrap();
    assert_eq!(
        r,
        Rotation {
            key_id: 2,
            reencrypted: 20,
            retired: vec![1]
        }
    );
    assert!(vault.list().unwrap().iter().all(|s| s.key_id == 2));
    let r = vault.rotate(now_micros()).unwrap();
    assert_eq!((r.key_id, r.retired.clone()), (3, vec![2]));
    vault.set("new", &value("after"), 1).unwrap();
    drop(vault);
    let vault = Vault::open(&log, key(1), "test").unwrap();
    for i in 0..20 {
        assert_eq!(read(&vault, &format!("s{i}")), format!("v{i}"));
    }
    assert_eq!(read(&vault, "new"), "after");
    assert_eq!(log.shared().secrets.prefix([DEK_PREFIX]).count(), 1);
    assert!(vault.check().unwrap().is_empty());
}

#[test]
fn rewrap_moves_the_keyring_to_the_new_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    let vault = Vault::open(&log, key(1), "test").unwrap();
    vault.set("a", &value("va"), 1).unwrap();
    assert_eq!(vault.rewrap(key(2)).unwrap(), key(2).fingerprint());
    assert_eq!(read(&vault, "a"), "va");
    vault.set("b", &value("vb"), 1).unwrap();
    drop(vault);
    assert!(matches!(
        Vault::open(&log, key(1), "old"),
        Err(VaultError::WrongMasterKey { .. })
    ));
    let vault = Vault::open(&log, key(2), "new").unwrap();
    assert_eq!(read(&vault, "a"), "va");
    assert_eq!(read(&vault, "b"), "vb");
}

#[test]
fn no_value_is_ever_written_in_the_clear() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    let vault = Vault::open(&log, key(1), "test").unwrap();
    let canaries: Vec<String> = (0..5).map(|i| format!("CANARY-{i}-9f3c1a77e2")).collect();
    for (i, c) in canaries.iter().enumerate() {
        vault.set(&format!("c{i}"), &value(c), 1).unwrap();
    }
    vault.rotate(2).unwrap();
    vault.rewrap(key(9)).unwrap();
    vault.delete("c0").unwrap();
    drop(vault);
    log.close().unwrap();
    let bytes = all_bytes(dir.path());
    for c in &canaries {
        assert!(!contains(&bytes, c.as_bytes()), "{c} found on disk");
    }
    assert!(!contains(&bytes, &[1u8; 32]));
    assert!(!contains(&bytes, &[9u8; 32]));
}

#[test]
fn superseded_records_leave_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    let vault = Vault::open(&log, key(1), "test").unwrap();
    for i in 0..3 {
        vault.set(&format!("c{i}"), &value("v"), 1).unwrap();
    }
    let record = |vault: &Vault, k: Vec<u8>| vault.inner.space.get(k).unwrap().unwrap().to_vec();
    // The wrap of data key 1 under master key 1, and ciphertexts under it.
    let old_wrap = record(&vault, dek_key(1));
    let deleted = record(&vault, secret_key("c0"));
    let old_c1 = record(&vault, secret_key("c1"));
    vault.rotate(2).unwrap();
    vault.rewrap(key(9)).unwrap();
    vault.delete("c0").unwrap();
    let new_wrap = record(&vault, dek_key(2));
    let new_c1 = record(&vault, secret_key("c1"));
    drop(vault);
    log.close().unwrap();
    // The journal is append-only and keeps them until fjall rotates it
    // (documented); the tables must hold only what is current.
    let tables: Vec<u8> = walk(dir.path())
        .into_iter()
        .filter(|p| p.extension().is_none_or(|e| e != "jnl"))
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect();
    assert!(contains(&tables, &new_wrap), "the purge flushed nothing");
    assert!(contains(&tables, &new_c1), "the purge flushed nothing");
    assert!(
        !contains(&tables, &old_wrap),
        "the retired data key's wrap is in a table"
    );
    assert!(
        !contains(&tables, &deleted),
        "a deleted secret's ciphertext is in a table"
    );
    assert!(
        !contains(&tables, &old_c1),
        "an old ciphertext is in a table"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn pages_of_the_list_cover_every_secret_once_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    let vault = Vault::open(&log, key(1), "test").unwrap();
    assert!(vault.list_page(None, 10).unwrap().is_empty());
    for i in 0..25 {
        vault
            .set(&format!("s{i:02}"), &value(&format!("v{i}")), 1)
            .unwrap();
    }
    let whole: Vec<String> = vault.list().unwrap().into_iter().map(|s| s.name).collect();
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = vault.list_page(after.as_deref(), 7).unwrap();
        assert!(page.len() <= 7);
        let Some(last) = page.last() else { break };
        after = Some(last.name.clone());
        paged.extend(page.into_iter().map(|s| s.name));
    }
    assert_eq!(paged, whole);
    assert_eq!(paged.len(), 25);
    // A cursor that is not a secret's name starts after where it would be.
    let page = vault.list_page(Some("s10x"), 2).unwrap();
    let names: Vec<&str> = page.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["s11", "s12"]);
}
