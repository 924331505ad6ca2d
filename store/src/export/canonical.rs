//! Reading an entry line laid out exactly as the exporter writes it,
//! without a JSON parser.
//!
//! Parsing JSON was most of a verifier's time. The writer puts every field
//! in one order with no whitespace and nothing to escape, and the `event`
//! is compared byte for byte with the body's own rendering, so a reader
//! only has to find where each field is. Anything else (another order,
//! whitespace, escapes, leading zeros, a negative time) is `None`: the
//! caller then reads the line with serde, which also names what is wrong.
//! A line read here means what serde would read it to mean, or it is
//! handed to serde.

use super::lines::EntryIn;
use crate::chain::Seal;
use crate::hash::Hash;

/// The fields of an entry line, however it was read.
pub(super) struct LineFields<'a> {
    pub seal: Seal,
    pub kind: &'a str,
    pub pruned: bool,
    pub omitted: bool,
    pub body: Option<&'a [u8]>,
    /// The `event` as written (`None`: absent).
    pub event: Option<&'a [u8]>,
}

impl<'a> LineFields<'a> {
    /// The fields of a line serde read.
    pub fn of(e: &'a EntryIn<'a>) -> LineFields<'a> {
        LineFields {
            seal: e.seal(),
            kind: &e.kind,
            pruned: e.pruned,
            omitted: e.omitted,
            body: e.body.as_deref().map(str::as_bytes),
            event: e.event.map(|raw| raw.get().as_bytes()),
        }
    }
}

/// Reads `line` (without its newline) if it is in the writer's layout.
pub(super) fn entry(line: &[u8]) -> Option<LineFields<'_>> {
    let mut r = Reader(line);
    r.tag(b"{\"record\":\"entry\",\"seq\":")?;
    let seq = r.number()?;
    r.tag(b",\"time\":")?;
    let time = i64::try_from(r.number()?).ok()?;
    r.tag(b",\"kind\":\"")?;
    let kind = r.word()?;
    r.tag(b",\"kind_code\":")?;
    let kind_code = u16::try_from(r.number()?).ok()?;
    r.tag(b",\"epoch\":")?;
    let epoch = r.number()?;
    r.tag(b",\"digest\":\"")?;
    let digest = r.hash()?;
    r.tag(b",\"link\":\"")?;
    let link = r.hash()?;
    r.tag(b",\"tag\":\"")?;
    let tag = r.hash()?;
    r.tag(b",\"pruned\":")?;
    let pruned = if r.tag(b"true").is_some() {
        true
    } else {
        r.tag(b"false")?;
        false
    };
    let mut fields = LineFields {
        seal: Seal {
            seq,
            time,
            kind: kind_code,
            epoch,
            digest,
            link,
            tag,
        },
        kind,
        pruned,
        omitted: false,
        body: None,
        event: None,
    };
    match r.0 {
        b"}" => return Some(fields),
        b",\"omitted\":true}" => {
            fields.omitted = true;
            return Some(fields);
        }
        _ => {}
    }
    r.tag(b",\"body\":\"")?;
    let end = memchr::memchr(b'"', r.0)?;
    // Base64 has neither quotes nor escapes: a body with either does not
    // decode, and the line goes to serde.
    fields.body = Some(&r.0[..end]);
    r.0 = &r.0[end + 1..];
    r.tag(b",\"event\":")?;
    fields.event = Some(r.0.strip_suffix(b"}")?);
    Some(fields)
}

/// What is left of a line.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// Takes `text` if the rest starts with it.
    fn tag(&mut self, text: &[u8]) -> Option<()> {
        self.0 = self.0.strip_prefix(text)?;
        Some(())
    }

    /// An unsigned integer in JSON's spelling (no leading zero), up to `u64::MAX`.
    fn number(&mut self) -> Option<u64> {
        let digits = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        let text = &self.0[..digits];
        if digits == 0 || (digits > 1 && text[0] == b'0') {
            return None;
        }
        let mut value = 0u64;
        for d in text {
            value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
        self.0 = &self.0[digits..];
        Some(value)
    }

    /// A kind's name and its closing quote: lowercase letters, digits and `_`.
    fn word(&mut self) -> Option<&'a str> {
        let len = self
            .0
            .iter()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || **b == b'_')
            .count();
        let word = std::str::from_utf8(&self.0[..len]).expect("ASCII");
        self.0 = &self.0[len..];
        self.tag(b"\"")?;
        Some(word)
    }

    /// 64 hex digits and the closing quote.
    fn hash(&mut self) -> Option<Hash> {
        let hash = Hash::from_hex_bytes(self.0.get(..64)?)?;
        self.0 = &self.0[64..];
        self.tag(b"\"")?;
        Some(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"record":"entry","seq":6,"time":1796662284430711,"kind":"custom","kind_code":25,"epoch":1,"digest":"17e0009eda245a70c80a24fd116b89c6d4f653c8d96c12cc6735ac42e30ac6d7","link":"192a86977392e5e369bf77957a6bf7a9ef88dc4919ae4dd04311d90d9fb28ca3","tag":"606dbfd8f1400df569258088a2b60ff909ab23391c1252f9ca10e874e43d4a87","pruned":false,"body":"AQ8E","event":{"custom":{"message":"a}"}}}"#;

    #[test]
    fn the_writers_layout_reads_as_serde_reads_it() {
        let fast = entry(LINE.as_bytes()).expect("the writer's layout");
        let slow: EntryIn = serde_json::from_str(LINE).unwrap();
        let slow = LineFields::of(&slow);
        assert_eq!(fast.seal, slow.seal);
        assert_eq!(fast.kind, slow.kind);
        assert_eq!((fast.pruned, fast.omitted), (slow.pruned, slow.omitted));
        assert_eq!(fast.body, slow.body);
        assert_eq!(fast.event, slow.event);
    }

    #[test]
    fn anything_else_is_left_to_serde() {
        for (from, to) in [
            ("\"seq\":6", "\"seq\":06"),
            ("\"seq\":6", "\"seq\": 6"),
            ("\"time\":1796662284430711", "\"time\":-1"),
            ("\"kind\":\"custom\"", "\"kind\":\"cust\\u006fm\""),
            ("\"kind_code\":25", "\"kind_code\":70000"),
            ("\"epoch\":1", "\"epoch\":99999999999999999999"),
            ("\"digest\":\"17", "\"digest\":\" 17"),
            ("\"pruned\":false", "\"pruned\":0"),
            (
                "{\"record\":\"entry\",\"seq\":6",
                "{\"seq\":6,\"record\":\"entry\"",
            ),
        ] {
            let line = LINE.replacen(from, to, 1);
            assert_ne!(line, LINE);
            assert!(entry(line.as_bytes()).is_none(), "{line}");
        }
        assert!(entry(format!("{LINE} ").as_bytes()).is_none());
    }

    #[test]
    fn an_escaped_body_is_taken_as_written_and_does_not_decode() {
        use base64::Engine as _;
        let line = LINE.replacen("\"body\":\"AQ8E\"", "\"body\":\"AQ\\u0038E\"", 1);
        let fields = entry(line.as_bytes()).expect("the layout is the writer's");
        assert_eq!(fields.body, Some(&b"AQ\\u0038E"[..]));
        let base64 = base64::engine::general_purpose::STANDARD;
        assert!(base64.decode(fields.body.unwrap()).is_err());
        let slow: EntryIn = serde_json::from_str(&line).unwrap();
        assert_eq!(
            base64.decode(slow.body.unwrap().as_bytes()).unwrap(),
            [1, 15, 4]
        );
    }

    #[test]
    fn pruned_and_compact_lines_end_after_their_flags() {
        let head = &LINE[..LINE.find(",\"pruned\"").unwrap()];
        let pruned = format!("{head},\"pruned\":true}}");
        let pruned = entry(pruned.as_bytes()).unwrap();
        assert!(pruned.pruned && pruned.body.is_none() && pruned.event.is_none());
        let omitted = format!("{head},\"pruned\":false,\"omitted\":true}}");
        let omitted = entry(omitted.as_bytes()).unwrap();
        assert!(omitted.omitted && !omitted.pruned && omitted.body.is_none());
        assert!(entry(format!("{head},\"pruned\":false,\"omitted\":false}}").as_bytes()).is_none());
    }
}
