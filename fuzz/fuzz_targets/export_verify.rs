//! The export reader and verifier (`vigil_store::export::verify_export`).
//!
//! Input: optionally a first line holding a verification key
//! (`vigil-vk1:<store id>:<K(0)>`), then the export's JSON lines.
//!
//! Checked:
//! * verifying from memory never returns `Err` (only a failed read does),
//!   with or without the key, and a report is `ok` exactly when it names
//!   no failure;
//! * what passes with the key passes without it (the key only adds checks);
//! * an export that passes stops passing after any of these tamperings,
//!   each applied on its own: an entry line removed, two swapped, one
//!   repeated, a body replaced (with its digest and rendering made to
//!   match), an entry's time moved, a full line turned compact where the
//!   header says it is exported in full or its kind is always exported in
//!   full, a body dropped as if pruned when
//!   nothing in the export accounts for it, the tail cut off with the
//!   trailer rewritten to match; and with the key, where the header is
//!   sealed, the tail cut off with the header rewritten to match too.
//! * rewriting a line with the same fields (in another order) keeps an
//!   export passing: the tamperings above change only what they say.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use vigil_store::export::{ExportHeader, ExportReport, verify_export};
use vigil_store::{Event, EventKind, VerificationKey};

type Fields = BTreeMap<String, Box<RawValue>>;

fn verify(export: &[u8], key: Option<&VerificationKey>) -> ExportReport {
    let report = verify_export(export, key, None).expect("reading from memory cannot fail");
    assert_eq!(
        report.report.ok,
        report.report.failure.is_none(),
        "{report:?}"
    );
    report
}

fn raw(value: &impl serde::Serialize) -> Box<RawValue> {
    RawValue::from_string(serde_json::to_string(value).expect("JSON")).expect("raw JSON")
}

fn get<T: serde::de::DeserializeOwned>(fields: &Fields, name: &str) -> Option<T> {
    fields
        .get(name)
        .and_then(|v| serde_json::from_str(v.get()).ok())
}

/// One line of an export, with its fields when it is a JSON object.
struct Line {
    text: String,
    fields: Option<Fields>,
}

impl Line {
    fn record(&self) -> Option<String> {
        self.fields.as_ref().and_then(|f| get(f, "record"))
    }

    fn is_entry(&self) -> bool {
        self.record().as_deref() == Some("entry")
    }

    fn full(&self) -> bool {
        self.fields.as_ref().is_some_and(|f| f.contains_key("body"))
    }

    fn kind_code(&self) -> Option<u16> {
        self.fields.as_ref().and_then(|f| get(f, "kind_code"))
    }

    /// The line rewritten with `edit` applied to its fields.
    fn edited(&self, edit: impl FnOnce(&mut Fields)) -> String {
        let mut fields = self.fields.clone().expect("an object");
        edit(&mut fields);
        serde_json::to_string(&fields).expect("JSON")
    }
}

fn join(lines: &[String]) -> Vec<u8> {
    let mut out = lines.join("\n").into_bytes();
    out.push(b'\n');
    out
}

/// `lines` with line `i` replaced.
fn replace(lines: &[Line], i: usize, text: String) -> Vec<String> {
    let mut out: Vec<String> = lines.iter().map(|l| l.text.clone()).collect();
    out[i] = text;
    out
}

/// Every tampered variant that must fail, with its name.
fn tamperings(
    lines: &[Line],
    header: &ExportHeader,
    keyed: bool,
) -> Vec<(&'static str, Vec<String>)> {
    let texts: Vec<String> = lines.iter().map(|l| l.text.clone()).collect();
    let entries: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].is_entry()).collect();
    let trailer = (0..lines.len()).find(|&i| lines[i].record().as_deref() == Some("trailer"));
    let mut out = Vec::new();
    let (Some(&first), Some(&last)) = (entries.first(), entries.last()) else {
        return out;
    };
    let middle = entries[entries.len() / 2];

    for &i in &[first, middle, last] {
        let mut removed = texts.clone();
        removed.remove(i);
        out.push(("an entry line removed", removed));
        let mut repeated = texts.clone();
        repeated.insert(i, texts[i].clone());
        out.push(("an entry line repeated", repeated));
    }
    if entries.len() >= 2 {
        let mut swapped = texts.clone();
        swapped.swap(entries[0], entries[1]);
        out.push(("two entry lines swapped", swapped));
    }

    // Only what the export itself carries can account for a dropped body:
    // a retention entry, or (for an export that stops before the head) one
    // past its end.
    let retention = EventKind::Retention.code();
    let prunes_accountable = header.last < header.head.seq
        || entries
            .iter()
            .any(|&i| lines[i].kind_code() == Some(retention));
    for &i in &entries {
        let line = &lines[i];
        let fields = line.fields.as_ref().expect("an entry is an object");
        let Some(time) = get::<i64>(fields, "time") else {
            continue;
        };
        if let Some(later) = time.checked_add(1) {
            out.push((
                "an entry's time moved",
                replace(
                    lines,
                    i,
                    line.edited(|f| {
                        f.insert("time".into(), raw(&later));
                    }),
                ),
            ));
        }
        if !line.full() {
            continue;
        }
        let Some(body) = get::<String>(fields, "body").and_then(|b| STANDARD.decode(b).ok()) else {
            continue;
        };
        let mut other = body.clone();
        other.push(0);
        let rendering: Option<Event> = Event::decode(&other).ok();
        out.push((
            "a body replaced",
            replace(
                lines,
                i,
                line.edited(|f| {
                    f.insert("body".into(), raw(&STANDARD.encode(&other)));
                    f.insert("digest".into(), raw(&hex::encode(Sha256::digest(&other))));
                    f.insert("event".into(), raw(&rendering));
                }),
            ),
        ));
        // A kind the verifier needs in full whatever the filter says, or
        // one the header says is exported in full.
        let kind = line.kind_code().unwrap_or(0);
        if EventKind::accounts(kind)
            || (header.filter.source.is_none() && !header.filter.excludes_kind(kind))
        {
            out.push((
                "a full line made compact",
                replace(
                    lines,
                    i,
                    line.edited(|f| {
                        f.remove("body");
                        f.remove("event");
                        f.insert("omitted".into(), raw(&true));
                    }),
                ),
            ));
        }
        if !prunes_accountable {
            out.push((
                "a body dropped as if pruned",
                replace(
                    lines,
                    i,
                    line.edited(|f| {
                        f.remove("body");
                        f.remove("event");
                        f.insert("pruned".into(), raw(&true));
                    }),
                ),
            ));
        }
    }

    // The tail cut off, the trailer rewritten to end at the entry before.
    if let Some(t) = trailer {
        let previous_link: Option<Box<RawValue>> = match entries.len() {
            0 => None,
            1 => Some(raw(&header
                .before
                .map_or(vigil_store::Hash::ZERO, |b| b.link))),
            n => lines[entries[n - 2]]
                .fields
                .as_ref()
                .and_then(|f| f.get("link").cloned()),
        };
        let count = entries.len() as u64 - 1;
        let last_seq = header.last.saturating_sub(1);
        if let Some(link) = previous_link {
            let cut_trailer = lines[t].edited(|f| {
                f.insert("count".into(), raw(&count));
                f.insert("last_seq".into(), raw(&last_seq));
                f.insert("last_link".into(), link.clone());
            });
            let mut cut = texts.clone();
            cut[t] = cut_trailer.clone();
            cut.remove(last);
            out.push(("the tail cut off", cut));
            if keyed {
                // The header rewritten too: its seal no longer matches.
                let mut h = header.clone();
                h.last = last_seq;
                h.head.seq = last_seq;
                h.head.link = serde_json::from_str(link.get()).expect("a link");
                let mut cut = texts.clone();
                cut[0] = serde_json::to_string(&h).expect("a header");
                cut[t] = cut_trailer;
                cut.remove(last);
                out.push(("the tail and the header cut", cut));
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let (key, export) = match data.strip_prefix(b"vigil-vk1:") {
        Some(_) => {
            let end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
            let key = std::str::from_utf8(&data[..end])
                .ok()
                .and_then(|t| VerificationKey::parse(t).ok());
            (key, data.get(end + 1..).unwrap_or_default())
        }
        None => (None, data),
    };

    let unkeyed = verify(export, None);
    let keyed = key.as_ref().map(|k| (k, verify(export, Some(k))));
    if let Some((_, report)) = &keyed {
        assert!(
            !report.report.ok || unkeyed.report.ok,
            "passes with the key and fails without it: {unkeyed:?}"
        );
    }
    if !unkeyed.report.ok {
        return;
    }
    let Some(header) = unkeyed.header.clone() else {
        panic!("an export passed without a header");
    };
    let Ok(text) = std::str::from_utf8(export) else {
        return;
    };
    let lines: Vec<Line> = text
        .lines()
        .map(|l| Line {
            text: l.to_owned(),
            fields: serde_json::from_str(l).ok(),
        })
        .collect();
    if lines
        .first()
        .is_none_or(|l| l.record().as_deref() != Some("header"))
    {
        return;
    }

    // The tamperings, without the key and, where it passed with a sealed
    // header, with it.
    let sealed = keyed
        .as_ref()
        .filter(|(_, r)| r.report.ok && r.header_sealed == Some(true))
        .map(|(k, _)| *k);
    for key in std::iter::once(None).chain(sealed.map(Some)) {
        let keyed = key.is_some();
        // The same fields in another order: still passes.
        let reordered: Vec<String> = lines
            .iter()
            .map(|l| match &l.fields {
                Some(_) if l.is_entry() => l.edited(|_| {}),
                _ => l.text.clone(),
            })
            .collect();
        assert!(
            verify(&join(&reordered), key).report.ok,
            "rewriting lines with the same fields broke the export"
        );
        for (what, tampered) in tamperings(&lines, &header, keyed) {
            let report = verify(&join(&tampered), key);
            assert!(
                !report.report.ok,
                "{what} ({}) was not detected",
                if keyed {
                    "with the key"
                } else {
                    "without the key"
                }
            );
        }
    }
});
