//! The test vector published in docs/storage.md matches this implementation,
//! and an independent implementation (Python's standard library) agrees.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use vigil_store::*;

struct VectorEntry {
    seq: u64,
    epoch: u64,
    time: i64,
    kind: u16,
    fields: Vec<(String, Vec<u8>)>,
}

impl VectorEntry {
    fn field(&self, name: &str) -> &[u8] {
        &self.fields.iter().find(|(n, _)| n == name).unwrap().1
    }
}

fn docs() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

fn parse() -> ([u8; 32], Vec<VectorEntry>) {
    let text = std::fs::read_to_string(docs().join("storage.md")).unwrap();
    let block = text
        .split("```vector\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let mut k0 = [0u8; 32];
    let mut entries: Vec<VectorEntry> = Vec::new();
    for line in block.lines() {
        if let Some(hex_key) = line.strip_prefix("K0 ") {
            hex::decode_to_slice(hex_key, &mut k0).unwrap();
        } else if line.starts_with("seq=") {
            let get = |name: &str| {
                line.split_whitespace()
                    .find_map(|p| p.strip_prefix(&format!("{name}=")))
                    .unwrap()
                    .to_string()
            };
            entries.push(VectorEntry {
                seq: get("seq").parse().unwrap(),
                epoch: get("epoch").parse().unwrap(),
                time: get("time").parse().unwrap(),
                kind: get("kind").parse().unwrap(),
                fields: Vec::new(),
            });
        } else if let Some(rest) = line.strip_prefix("  ") {
            let (name, value) = rest.split_once(' ').unwrap();
            entries
                .last_mut()
                .unwrap()
                .fields
                .push((name.to_string(), hex::decode(value.trim()).unwrap()));
        }
    }
    (k0, entries)
}

#[test]
fn the_documented_vector_matches_the_implementation() {
    let (k0, entries) = parse();
    assert_eq!(entries.len(), 5);
    let k0 = EpochKey::from_bytes(0, k0);
    let mut head = Head::EMPTY;
    for e in &entries {
        let body = e.field("body");
        let event = Event::decode(body).unwrap();
        assert_eq!(event.kind().code(), e.kind);
        assert_eq!(event.encode(), body, "seq {}: encoding", e.seq);
        let key = k0.evolve_to(e.epoch).unwrap();
        let seal = head.seal_next(e.time, e.kind, Hash::sha256(body), &key);
        assert_eq!(seal.seq, e.seq);
        assert_eq!(
            seal.digest.0.as_slice(),
            e.field("digest"),
            "seq {}: digest",
            e.seq
        );
        assert_eq!(
            seal.link.0.as_slice(),
            e.field("link"),
            "seq {}: link",
            e.seq
        );
        assert_eq!(seal.tag.0.as_slice(), e.field("tag"), "seq {}: tag", e.seq);
        if let Some((_, value)) = e.fields.iter().find(|(n, _)| n == "value") {
            assert_eq!(&encode_entry_value(&seal, Some(body)), value);
            let decoded = Entry::decode_value(e.seq, value.clone().into()).unwrap();
            assert_eq!(decoded.seal(), &seal);
        }
        if let Some((_, value)) = e.fields.iter().find(|(n, _)| n == "pruned") {
            assert_eq!(&encode_entry_value(&seal, None), value);
            let decoded = Entry::decode_value(e.seq, value.clone().into()).unwrap();
            assert!(decoded.is_pruned());
            assert_eq!(decoded.seal(), &seal);
        }
        head = Head::from(&seal);
    }
    // The chain rules accept the vector as a whole, with the key.
    let vk = VerificationKey::parse(&format!(
        "vigil-vk1:{}:{}",
        hex::encode(core::array::from_fn::<u8, 16, _>(|i| i as u8)),
        hex::encode(core::array::from_fn::<u8, 32, _>(|i| i as u8))
    ))
    .unwrap();
    let rules = EntryRules::new(vk.store_id(), Some(&vk), true);
    let mut prev = Head::EMPTY;
    for e in &entries {
        let body = e.field("body");
        let seal = Seal {
            seq: e.seq,
            time: e.time,
            kind: e.kind,
            epoch: e.epoch,
            digest: Hash::sha256(body),
            link: Hash(e.field("link").try_into().unwrap()),
            tag: Hash(e.field("tag").try_into().unwrap()),
        };
        let expected = if e.seq == 5 {
            let reason = match Event::decode(body).unwrap() {
                Event::BodiesPruned(p) => p.reason,
                other => panic!("seq 5 is the prune record, not {other:?}"),
            };
            BodyCheck::Accounts(vec![SeqRange { first: 2, last: 2 }], reason)
        } else {
            BodyCheck::Checked
        };
        assert_eq!(
            rules.check(&prev, &seal, Some(body)),
            Ok(expected),
            "seq {}",
            e.seq
        );
        if e.fields.iter().any(|(n, _)| n == "pruned") {
            assert_eq!(rules.check(&prev, &seal, None), Ok(BodyCheck::Pruned));
        }
        prev = Head::from(&seal);
    }
}

#[test]
fn an_independent_python_verifier_agrees() {
    let out = std::process::Command::new("python3")
        .arg(docs().join("examples/verify_vector.py"))
        .arg(docs().join("storage.md"))
        .output()
        .expect("python3 must be installed to run the reference verifier");
    assert!(
        out.status.success(),
        "reference verifier failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("ok: 5 entries verified, 1 pruned bodies accounted for")
    );
}

#[test]
fn the_python_verifier_refuses_a_prune_no_record_names() {
    let text = std::fs::read_to_string(docs().join("storage.md")).unwrap();
    let start = text.find("seq=5 ").unwrap();
    let end = start + text[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("storage.md");
    std::fs::write(&doc, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let out = std::process::Command::new("python3")
        .arg(docs().join("examples/verify_vector.py"))
        .arg(&doc)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("seq 2: unaccounted prune"));
}
