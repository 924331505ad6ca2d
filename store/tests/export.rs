//! Exports: what is written is what the chain holds, it verifies with no
//! store, and any change to a line fails at that line's seq, in Rust and in
//! the standard-library Python verifier of `docs/examples`.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::path::{Path, PathBuf};
use vigil_store::export::{
    ExportFilter, ExportRange, ExportReport, export_to, plan, verify_export,
};
use vigil_store::*;

/// A store with ingest and custom events, two epochs, and three pruned bodies.
fn store() -> TestStore {
    let s = TestStore::new();
    for i in 0..30u64 {
        let event = if i % 3 == 0 {
            ingest(
                &format!("alert {i}"),
                if i % 2 == 0 { "grafana" } else { "am" },
            )
        } else {
            custom(&format!("entry {i}"))
        };
        s.log.append(&event).unwrap();
        if i == 14 {
            s.log.advance_epoch("test").unwrap();
        }
    }
    s.log.prune(vec![5, 6, 7], "test").unwrap();
    s
}

fn ingest(message: &str, source: &str) -> Event {
    Event::AlertsIngested(AlertsIngested {
        source: source.into(),
        driver: "generic".into(),
        delivery_id: None,
        actor: Actor::Source {
            name: source.into(),
        },
        alerts: vec![Alert {
            fingerprint: message.into(),
            status: AlertStatus::Firing,
            severity: Severity::Warning,
            summary: message.into(),
            labels: [("alertname".to_string(), message.to_string())].into(),
            annotations: Default::default(),
            starts_at: Some(1),
            ends_at: None,
            links: vec![],
        }],
        raw: None,
    })
}

fn export(log: &Log, range: ExportRange, filter: ExportFilter) -> Vec<String> {
    let header = plan(log, &range, filter, "vigil-test").unwrap();
    let bytes = export_to(log, &header, Vec::new(), |_| {}).unwrap();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn whole(log: &Log) -> Vec<String> {
    export(log, ExportRange::default(), ExportFilter::default())
}

fn check(lines: &[String], key: Option<&VerificationKey>) -> ExportReport {
    let text = lines.join("\n") + "\n";
    verify_export(text.as_bytes(), key, None).unwrap()
}

fn failure(report: &ExportReport) -> (u64, Problem) {
    let f = report
        .report
        .failure
        .clone()
        .unwrap_or_else(|| panic!("expected a failure: {report:?}"));
    (f.seq, f.problem)
}

/// The line of entry `seq` (line 0 is the header).
fn at(lines: &[String], seq: u64) -> usize {
    lines
        .iter()
        .position(|l| l.contains(&format!("\"seq\":{seq},")) && l.contains("\"record\":\"entry\""))
        .unwrap()
}

fn edit(lines: &[String], seq: u64, f: impl FnOnce(&mut serde_json::Value)) -> Vec<String> {
    let mut out = lines.to_vec();
    let i = at(&out, seq);
    let mut v: serde_json::Value = serde_json::from_str(&out[i]).unwrap();
    f(&mut v);
    out[i] = v.to_string();
    out
}

#[test]
fn a_whole_export_verifies_with_and_without_the_key() {
    let s = store();
    let lines = whole(&s.log);
    let head = s.log.head();
    assert_eq!(
        lines.len() as u64,
        head.seq + 2,
        "header, every entry, trailer"
    );
    let key = s.key();
    let report = check(&lines, Some(&key));
    assert!(report.report.ok, "{report:?}");
    assert_eq!(report.report.entries, head.seq);
    assert_eq!(report.report.sealed_up_to, Some(head.seq));
    assert_eq!(report.report.bodies_pruned, 3);
    assert_eq!(report.report.prunes_unresolved, 0);
    let header = report.header.unwrap();
    assert_eq!(header.key_fingerprint, Some(key.fingerprint()));
    assert_eq!(
        (header.first, header.last, header.head),
        (1, head.seq, head)
    );
    assert!(check(&lines, None).report.ok);
    // Each line is what the store holds: chain fields, body, and its decoding.
    let line: serde_json::Value = serde_json::from_str(&lines[at(&lines, 2)]).unwrap();
    let entry = s.log.get(2).unwrap().unwrap();
    assert_eq!(line["link"], entry.seal().link.to_hex());
    assert_eq!(line["kind"], "ingest");
    assert_eq!(
        line["event"],
        serde_json::to_value(entry.event().unwrap().unwrap()).unwrap()
    );
    let pruned: serde_json::Value = serde_json::from_str(&lines[at(&lines, 6)]).unwrap();
    assert_eq!(pruned["pruned"], true);
    assert!(pruned.get("body").is_none() && pruned.get("event").is_none());
}

/// Found by fuzzing (fuzz/fuzz_targets/export_verify.rs): a header line
/// that is not UTF-8 was an `Err` (a failed read) rather than a report
/// that the export is bad.
#[test]
fn a_header_line_that_is_not_utf8_is_a_bad_export_not_a_read_error() {
    let s = store();
    let lines = whole(&s.log);
    let mut bytes = (lines.join("\n") + "\n").into_bytes();
    bytes.insert(20, 0xff);
    for key in [None, Some(s.key())] {
        let report = verify_export(bytes.as_slice(), key.as_ref(), None).unwrap();
        assert!(!report.report.ok);
        assert!(report.header.is_none());
        let (_, problem) = failure(&report);
        assert!(
            matches!(&problem, Problem::BadExport { detail } if detail.contains("not UTF-8")),
            "{problem:?}"
        );
    }
}

#[test]
fn ranges_by_seq_and_time_verify_from_the_entry_before_them() {
    let s = store();
    let key = s.key();
    let by_seq = export(
        &s.log,
        ExportRange {
            from: Some(10),
            to: Some(20),
            ..Default::default()
        },
        ExportFilter::default(),
    );
    let report = check(&by_seq, Some(&key));
    assert!(report.report.ok, "{report:?}");
    let header = report.header.unwrap();
    assert_eq!((header.first, header.last), (10, 20));
    assert_eq!(header.before.unwrap().seq, 9);
    assert_eq!(report.report.entries, 11);

    let t = |seq| s.log.get(seq).unwrap().unwrap().time();
    let by_time = export(
        &s.log,
        ExportRange {
            since: Some(t(12)),
            until: Some(t(15)),
            ..Default::default()
        },
        ExportFilter::default(),
    );
    let header = check(&by_time, Some(&key)).header.unwrap();
    // Equal times are possible: the range is every entry inside the bounds.
    assert!(header.first <= 12 && header.last >= 15, "{header:?}");
    assert!(header.first == 1 || t(header.first - 1) < t(12));
    assert!(header.last == s.log.head().seq || t(header.last + 1) > t(15));

    // A range past the head is empty, and still a valid export.
    let empty = export(
        &s.log,
        ExportRange {
            from: Some(10_000),
            ..Default::default()
        },
        ExportFilter::default(),
    );
    assert_eq!(empty.len(), 2);
    let report = check(&empty, Some(&key));
    assert!(report.report.ok, "{report:?}");
    assert_eq!(report.report.entries, 0);
}

#[test]
fn a_range_that_stops_before_the_prune_record_reports_its_prunes_unresolved() {
    let s = store();
    let lines = export(
        &s.log,
        ExportRange {
            to: Some(10),
            ..Default::default()
        },
        ExportFilter::default(),
    );
    let report = check(&lines, Some(&s.key()));
    assert!(report.report.ok, "{report:?}");
    assert_eq!(report.report.prunes_unresolved, 3);
    // The same prunes in an export that reaches the head must be named.
    let whole = whole(&s.log);
    let record = s.log.head().seq; // the prune record is the newest entry
    let without_record: Vec<String> = whole
        .iter()
        .filter(|l| !(l.contains(&format!("\"seq\":{record},")) && l.contains("\"entry\"")))
        .cloned()
        .collect();
    let (seq, _) = failure(&check(&without_record, None));
    assert_eq!(seq, record, "the removed record is a gap first");
}

#[test]
fn a_filter_keeps_the_range_verifiable_with_compact_lines() {
    let s = store();
    let key = s.key();
    let kinds = export(
        &s.log,
        ExportRange::default(),
        ExportFilter {
            kinds: Some(vec![EventKind::Ingest]),
            source: None,
        },
    );
    let report = check(&kinds, Some(&key));
    assert!(report.report.ok, "{report:?}");
    assert_eq!(report.report.entries, s.log.head().seq);
    let custom_line = &kinds[at(&kinds, 3)];
    assert!(custom_line.contains("\"omitted\":true") && !custom_line.contains("\"body\""));
    // The chain's own entries stay in full whatever the filter.
    assert!(kinds[at(&kinds, 1)].contains("\"body\""));
    assert!(report.omitted > 0);

    let source = export(
        &s.log,
        ExportRange::default(),
        ExportFilter {
            kinds: None,
            source: Some("grafana".into()),
        },
    );
    let report = check(&source, Some(&key));
    assert!(report.report.ok, "{report:?}");
    let full: Vec<&String> = source
        .iter()
        .filter(|l| l.contains("\"alerts_ingested\""))
        .collect();
    assert!(!full.is_empty());
    assert!(full.iter().all(|l| l.contains("\"source\":\"grafana\"")));

    // A compact line where the header says the kind is in full is refused.
    let hidden = edit(&kinds, 8, |v| {
        let o = v.as_object_mut().unwrap();
        o.remove("body");
        o.remove("event");
        o.insert("omitted".into(), true.into());
    });
    let (seq, problem) = failure(&check(&hidden, Some(&key)));
    assert_eq!(seq, 8);
    assert!(matches!(problem, Problem::BadExport { .. }), "{problem:?}");
}

/// What a tampering case must be reported as.
type Expect = Box<dyn Fn(&Problem) -> bool>;

#[test]
fn every_kind_of_tampering_fails_at_its_seq() {
    let s = store();
    let key = s.key();
    let lines = whole(&s.log);
    let last = s.log.head().seq;
    let cases: Vec<(&str, Vec<String>, u64, Expect)> = vec![
        (
            "altered body",
            edit(&lines, 9, |v| {
                let other = whole(&s.log)[at(&lines, 10)].clone();
                let other: serde_json::Value = serde_json::from_str(&other).unwrap();
                v["body"] = other["body"].clone();
            }),
            9,
            Box::new(|p| *p == Problem::BadDigest),
        ),
        (
            "altered rendering",
            edit(&lines, 9, |v| {
                v["event"]["custom"]["message"] = "nothing happened".into();
            }),
            9,
            Box::new(|p| matches!(p, Problem::BadExport { .. })),
        ),
        (
            "an added field in the rendering",
            edit(&lines, 9, |v| {
                v["event"]["custom"]["note"] = "approved".into();
            }),
            9,
            Box::new(|p| matches!(p, Problem::BadExport { .. })),
        ),
        (
            "altered time",
            edit(&lines, 9, |v| {
                v["time"] = (v["time"].as_i64().unwrap() + 1).into();
            }),
            9,
            Box::new(|p| *p == Problem::BrokenLink),
        ),
        (
            "removed line",
            {
                let mut l = lines.clone();
                l.remove(at(&lines, 9));
                l
            },
            9,
            Box::new(|p| *p == Problem::Gap { expected: 9 }),
        ),
        (
            "swapped lines",
            {
                let mut l = lines.clone();
                l.swap(at(&lines, 9), at(&lines, 10));
                l
            },
            9,
            Box::new(|p| *p == Problem::Gap { expected: 9 }),
        ),
        (
            "re-tagged line",
            edit(&lines, 9, |v| {
                v["tag"] = Hash([7; 32]).to_hex().into();
            }),
            9,
            Box::new(|p| *p == Problem::BadTag),
        ),
        (
            "body dropped without a record",
            edit(&lines, 9, |v| {
                let o = v.as_object_mut().unwrap();
                o.remove("body");
                o.remove("event");
                o.insert("pruned".into(), true.into());
            }),
            9,
            Box::new(|p| *p == Problem::UnaccountedPrune),
        ),
        (
            "missing trailer",
            lines[..lines.len() - 1].to_vec(),
            last + 1,
            Box::new(|p| matches!(p, Problem::BadExport { .. })),
        ),
        (
            "last entry removed with the trailer patched",
            {
                let mut l = lines.clone();
                l.remove(l.len() - 2);
                l
            },
            last,
            Box::new(move |p| *p == Problem::Gap { expected: last }),
        ),
        (
            "a line after the trailer",
            {
                let mut l = lines.clone();
                l.push(lines[at(&lines, 9)].clone());
                l
            },
            last + 1,
            Box::new(|p| matches!(p, Problem::BadExport { .. })),
        ),
        (
            "an unknown field",
            edit(&lines, 9, |v| {
                v["approved"] = true.into();
            }),
            9,
            Box::new(|p| matches!(p, Problem::BadExport { .. })),
        ),
        (
            "a line cut in half",
            {
                let mut l = lines.clone();
                let i = at(&lines, 9);
                let half = l[i].len() / 2;
                l[i].truncate(half);
                l
            },
            9,
            Box::new(|p| matches!(p, Problem::BadExport { .. })),
        ),
    ];
    let record = last; // the prune record is the newest entry
    let mut cases = cases;
    cases.push((
        "a duplicated key in the rendering (readers differ on which wins)",
        {
            let mut l = lines.clone();
            let i = at(&lines, 9);
            l[i] = l[i].replacen("\"message\":", "\"message\":\"forged\",\"message\":", 1);
            assert_ne!(l[i], lines[i]);
            l
        },
        9,
        Box::new(|p| matches!(p, Problem::BadExport { .. })),
    ));
    cases.push((
        "the prune record stripped of its body",
        edit(&lines, record, |v| {
            let o = v.as_object_mut().unwrap();
            o.remove("body");
            o.remove("event");
            o.insert("pruned".into(), true.into());
        }),
        record,
        Box::new(|p| matches!(p, Problem::PrunedChainEntry { .. })),
    ));
    cases.push((
        "a header that claims entries past its head",
        {
            let mut l = lines.clone();
            let mut h: serde_json::Value = serde_json::from_str(&l[0]).unwrap();
            h["head"]["seq"] = (last - 1).into();
            l[0] = h.to_string();
            l
        },
        0,
        Box::new(|p| matches!(p, Problem::BadExport { .. })),
    ));
    for (name, tampered, seq, expected) in cases {
        let report = check(&tampered, Some(&key));
        let (found, problem) = failure(&report);
        assert_eq!(found, seq, "{name}: {problem:?}");
        assert!(expected(&problem), "{name}: {problem:?}");
    }
}

/// The verifier reads the writer's own layout without a JSON parser, and
/// anything else with one: an edit made in place, in that layout, is caught
/// as the same edit is after a re-spelling, and a re-spelled but equal line
/// verifies.
#[test]
fn edits_in_the_writers_own_layout_are_caught_like_any_other() {
    let s = store();
    let key = s.key();
    let lines = whole(&s.log);
    let i = at(&lines, 9);
    let in_place = |f: &dyn Fn(&str) -> String| {
        let mut l = lines.clone();
        l[i] = f(&lines[i]);
        assert_ne!(l[i], lines[i], "the edit changed nothing");
        l
    };
    // Flips the first character after `marker`.
    let flip = |marker: &'static str| {
        move |line: &str| {
            let at = line.find(marker).unwrap() + marker.len();
            let c = line.as_bytes()[at];
            let other = if c == b'a' { "b" } else { "a" };
            format!("{}{other}{}", &line[..at], &line[at + 1..])
        }
    };
    let cases: Vec<(&str, Vec<String>, Expect)> = vec![
        (
            "a link digit",
            in_place(&flip("\"link\":\"")),
            Box::new(|p| *p == Problem::BrokenLink),
        ),
        (
            "a tag digit",
            in_place(&flip("\"tag\":\"")),
            Box::new(|p| *p == Problem::BadTag),
        ),
        (
            "a body character",
            in_place(&flip("\"body\":\"AQ")),
            Box::new(|p| *p == Problem::BadDigest),
        ),
        (
            "the rendering's message",
            in_place(&flip("\"message\":\"")),
            Box::new(|p| matches!(p, Problem::BadExport { .. })),
        ),
        (
            "the time",
            in_place(&|l: &str| {
                let t = s.log.get(9).unwrap().unwrap().seal().time;
                l.replace(&format!("\"time\":{t},"), &format!("\"time\":{},", t + 1))
            }),
            Box::new(|p| *p == Problem::BrokenLink),
        ),
    ];
    for (what, tampered, expect) in cases {
        let (seq, problem) = failure(&check(&tampered, Some(&key)));
        assert_eq!(seq, 9, "{what}: {problem:?}");
        assert!(expect(&problem), "{what}: {problem:?}");
    }
    for respelled in [
        in_place(&|l: &str| l.replacen("\"seq\":9,", "\"seq\": 9,", 1)),
        in_place(&|l: &str| l.replacen("\"kind\":\"custom\"", "\"kind\":\"cust\\u006fm\"", 1)),
        in_place(&|l: &str| format!("{l} ")),
    ] {
        let report = check(&respelled, Some(&key));
        assert!(report.report.ok, "{}: {report:?}", respelled[i]);
    }
}

#[test]
fn the_header_is_sealed_so_its_range_and_filter_cannot_be_changed() {
    let s = store();
    let key = s.key();
    let lines = export(
        &s.log,
        ExportRange {
            to: Some(20),
            ..Default::default()
        },
        ExportFilter {
            kinds: Some(vec![EventKind::Custom]),
            source: None,
        },
    );
    let report = check(&lines, Some(&key));
    assert!(report.report.ok, "{report:?}");
    assert_eq!(report.header_sealed, Some(true));
    assert_eq!(
        check(&lines, None).header_sealed,
        None,
        "no key, not checked"
    );
    // Widening the filter to hide a body, moving the head to excuse a
    // prune, or cutting the range short all break the seal.
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 3] = [
        ("filter", |h| h["filter"]["source"] = "anything".into()),
        ("head", |h| {
            h["head"]["seq"] = (h["head"]["seq"].as_u64().unwrap() + 5).into()
        }),
        ("last", |h| {
            h["last"] = (h["last"].as_u64().unwrap() - 1).into()
        }),
    ];
    for (name, change) in edits {
        let mut forged = lines.clone();
        let mut h: serde_json::Value = serde_json::from_str(&forged[0]).unwrap();
        change(&mut h);
        forged[0] = h.to_string();
        if name == "last" {
            // Drop the last entry and fix the trailer, as a forger would.
            let n = forged.len();
            forged.remove(n - 2);
            let mut t: serde_json::Value = serde_json::from_str(forged.last().unwrap()).unwrap();
            let prev: serde_json::Value = serde_json::from_str(&forged[forged.len() - 2]).unwrap();
            t["count"] = (t["count"].as_u64().unwrap() - 1).into();
            t["last_seq"] = prev["seq"].clone();
            t["last_link"] = prev["link"].clone();
            *forged.last_mut().unwrap() = t.to_string();
        }
        let report = check(&forged, Some(&key));
        let (_, problem) = failure(&report);
        assert!(format!("{problem}").contains("seal"), "{name}: {problem}");
    }
    // A store opened read-only has no sealing key: the export says so.
    let (_tmp, dir, vk) = s.close();
    let log = Log::open_read_only(&dir).unwrap();
    let unsealed = whole(&log);
    let report = check(&unsealed, Some(&read_verification_key(&vk).unwrap()));
    assert!(report.report.ok, "{report:?}");
    assert_eq!(report.header_sealed, Some(false));
}

#[test]
fn the_start_of_a_range_is_authenticated_by_the_key() {
    let s = store();
    let key = s.key();
    let lines = export(
        &s.log,
        ExportRange {
            from: Some(10),
            ..Default::default()
        },
        ExportFilter::default(),
    );
    let mut header: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    header["before"]["tag"] = Hash([1; 32]).to_hex().into();
    let mut forged = lines.clone();
    forged[0] = header.to_string();
    let (seq, problem) = failure(&check(&forged, Some(&key)));
    assert_eq!((seq, problem), (9, Problem::BadTag));
    // Without the key only linkage is checked: the start is taken on trust.
    assert!(check(&forged, None).report.ok);
}

#[test]
fn a_key_of_another_store_or_fingerprint_is_refused_before_any_entry() {
    let s = store();
    let other = TestStore::new();
    let lines = whole(&s.log);
    let (seq, problem) = failure(&check(&lines, Some(&other.key())));
    assert_eq!(seq, 0);
    let Problem::BadExport { detail } = problem else {
        panic!("{problem:?}")
    };
    assert!(detail.contains("belongs to store"), "{detail}");

    let mut header: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    header["key_fingerprint"] = "00".repeat(32).into();
    let mut forged = lines.clone();
    forged[0] = header.to_string();
    let (_, problem) = failure(&check(&forged, Some(&s.key())));
    assert!(format!("{problem}").contains("fingerprint"), "{problem}");

    for garbage in ["", "not json", "{\"record\":\"entry\"}"] {
        let report = verify_export(garbage.as_bytes(), None, None).unwrap();
        assert!(!report.report.ok, "{garbage:?}");
    }
}

#[test]
fn an_export_after_truncation_starts_from_the_checkpoint() {
    let s = store();
    let states = vec![];
    s.log.truncate(12, states).unwrap();
    s.log.append(&custom("after the cut")).unwrap();
    let key = s.key();
    let lines = whole(&s.log);
    let report = check(&lines, Some(&key));
    assert!(report.report.ok, "{report:?}");
    let header = report.header.unwrap();
    assert_eq!(header.first, 13);
    let before = header.before.unwrap();
    assert_eq!(before.seq, 12);
    // The entry that linked to the cut was exported, and verifies from it.
    assert_eq!(report.report.entries, s.log.head().seq - 12);
    // Asking for what was truncated exports what is left.
    let from_one = export(
        &s.log,
        ExportRange {
            from: Some(1),
            ..Default::default()
        },
        ExportFilter::default(),
    );
    // The same entry lines (the header's time, and so its seal, differ).
    let entries = |l: &[String]| l[1..l.len() - 1].to_vec();
    assert!(entries(&from_one) == entries(&lines), "the same entries");
}

fn python_verifier() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/verify_export.py")
}

fn python(lines: &[String], key: Option<&Path>) -> (bool, String) {
    python_with(lines, key, &[])
}

fn python_with(lines: &[String], key: Option<&Path>, extra: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(python_verifier()).arg(&file).args(extra);
    if let Some(key) = key {
        cmd.arg("--key").arg(key);
    }
    let out = cmd
        .output()
        .expect("python3 must be installed to run the reference verifier");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_python_verifier_agrees_on_good_and_tampered_exports() {
    let s = store();
    let lines = whole(&s.log);
    let (ok, text) = python(&lines, Some(&s.vk_path));
    assert!(ok, "{text}");
    assert!(text.contains("sealed: yes"), "{text}");
    let filtered = export(
        &s.log,
        ExportRange {
            from: Some(3),
            to: Some(20),
            ..Default::default()
        },
        ExportFilter {
            kinds: Some(vec![EventKind::Custom]),
            source: None,
        },
    );
    let (ok, text) = python(&filtered, Some(&s.vk_path));
    assert!(ok, "{text}");
    let tampered = [
        edit(&lines, 9, |v| v["tag"] = Hash([7; 32]).to_hex().into()),
        edit(&lines, 9, |v| {
            v["time"] = (v["time"].as_i64().unwrap() + 1).into();
        }),
        {
            let mut l = lines.clone();
            l.remove(at(&lines, 9));
            l
        },
        edit(&lines, 9, |v| {
            let o = v.as_object_mut().unwrap();
            o.remove("body");
            o.remove("event");
            o.insert("pruned".into(), true.into());
        }),
    ];
    for t in &tampered {
        let (ok, text) = python(t, Some(&s.vk_path));
        assert!(!ok, "{text}");
        assert!(text.contains("FAILED at seq 9"), "{text}");
    }
    // A changed filter breaks the header's seal there too.
    let mut forged = filtered.clone();
    let mut h: serde_json::Value = serde_json::from_str(&forged[0]).unwrap();
    // (A source filter lets any body be left out: what a forger would want.)
    h["filter"]["source"] = "anything".into();
    forged[0] = h.to_string();
    let (ok, text) = python(&forged, Some(&s.vk_path));
    assert!(!ok && text.contains("seal does not match"), "{text}");
    // A compact line where the header says everything is in full fails.
    let hidden = edit(&lines, 9, |v| {
        let o = v.as_object_mut().unwrap();
        o.remove("body");
        o.remove("event");
        o.insert("omitted".into(), true.into());
    });
    let (ok, text) = python(&hidden, Some(&s.vk_path));
    assert!(!ok && text.contains("FAILED at seq 9"), "{text}");
    // Unsealed (a store opened read-only) fails unless allowed, then is said.
    let (_tmp, dir, vk) = s.close();
    let log = Log::open_read_only(&dir).unwrap();
    let unsealed = whole(&log);
    let (ok, text) = python(&unsealed, Some(&vk));
    assert!(!ok && text.contains("--allow-unsealed"), "{text}");
    let (ok, text) = python_with(&unsealed, Some(&vk), &["--allow-unsealed"]);
    assert!(ok && text.contains("header not sealed"), "{text}");
}

/// A writer that takes `left` bytes, then fails.
struct FailingAfter {
    left: usize,
}

impl std::io::Write for FailingAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other("disk full"));
        }
        let n = buf.len().min(self.left);
        self.left -= n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A reader of `bytes` that fails once it has given `left` of them.
struct BreaksAfter<'a> {
    bytes: &'a [u8],
    left: usize,
}

impl std::io::Read for BreaksAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other("device gone"));
        }
        let n = buf.len().min(self.left).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        self.left -= n;
        Ok(n)
    }
}

/// Past the store's read-ahead chunk (4,096 entries) and the verifier's
/// block (8,192 lines): lines are written while the next chunk renders and
/// parsed while the previous block is taken, and none is lost, repeated or
/// reordered; a writer or a reader failing part-way is an error, never a
/// verdict.
#[test]
fn a_long_export_crosses_chunks_in_order_and_a_failing_writer_or_reader_is_an_error() {
    let s = TestStore::new();
    for chunk in 0..5u64 {
        let events: Vec<Event> = (0..2_500)
            .map(|i| custom(&format!("entry {}", chunk * 2_500 + i)))
            .collect();
        s.log.append_all(&events).unwrap();
    }
    let lines = whole(&s.log);
    let head = s.log.head().seq;
    assert_eq!(lines.len() as u64, head + 2);
    for (i, line) in lines[1..lines.len() - 1].iter().enumerate() {
        assert!(
            line.starts_with(&format!("{{\"record\":\"entry\",\"seq\":{},", i + 1)),
            "line {} is not entry {}: {line}",
            i + 2,
            i + 1
        );
    }
    let key = s.key();
    let report = check(&lines, Some(&key));
    assert!(report.report.ok, "{report:?}");
    assert_eq!(report.report.entries, head);

    let header = plan(
        &s.log,
        &ExportRange::default(),
        ExportFilter::default(),
        "t",
    )
    .unwrap();
    let failed = export_to(&s.log, &header, FailingAfter { left: 3 << 20 }, |_| {});
    assert!(
        failed
            .as_ref()
            .is_err_and(|e| e.to_string().contains("disk full")),
        "{:?}",
        failed.map(|_| ())
    );

    let text = lines.join("\n") + "\n";
    let reader = BreaksAfter {
        bytes: text.as_bytes(),
        left: text.len() / 2,
    };
    let read = verify_export(std::io::BufReader::new(reader), Some(&key), None);
    assert!(
        read.as_ref()
            .is_err_and(|e| e.to_string().contains("device gone")),
        "{read:?}"
    );
}
