//! [`IncidentId`]: an incident's id, `57` or `57.2`, as two integers.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// The seq of the event that opened the incident and the alert's index in
/// it; the text form leaves out a zero index. Ordered as the text sorts
/// (`10` < `10.1` < `10.10` < `10.2` < `9`), the order listings and ties
/// had when ids were strings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IncidentId {
    /// Seq of the event that opened it.
    pub seq: u64,
    /// Index of the alert within that event.
    pub index: u32,
}

impl IncidentId {
    /// The id of the `index`th alert of the event at `seq`.
    pub fn new(seq: u64, index: usize) -> IncidentId {
        IncidentId {
            seq,
            index: u32::try_from(index).unwrap_or(u32::MAX),
        }
    }

    /// The id written as `text`, only in the form [`Display`](fmt::Display)
    /// writes (`057` or `57.0` name no incident, as before).
    pub fn parse(text: &str) -> Option<IncidentId> {
        let (seq, index) = match text.split_once('.') {
            Some((seq, index)) => (seq, Some(index)),
            None => (text, None),
        };
        let id = IncidentId {
            seq: number(seq)?,
            index: match index {
                Some(i) => u32::try_from(number(i)?).ok().filter(|&i| i > 0)?,
                None => 0,
            },
        };
        Some(id)
    }
}

/// Decimal digits without a leading zero (but `0`).
fn number(text: &str) -> Option<u64> {
    let canonical = text.bytes().all(|b| b.is_ascii_digit())
        && !text.is_empty()
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.index == 0 {
            write!(f, "{}", self.seq)
        } else {
            write!(f, "{}.{}", self.seq, self.index)
        }
    }
}

impl PartialEq<str> for IncidentId {
    fn eq(&self, text: &str) -> bool {
        IncidentId::parse(text) == Some(*self)
    }
}

impl PartialEq<&str> for IncidentId {
    fn eq(&self, text: &&str) -> bool {
        self == *text
    }
}

impl Ord for IncidentId {
    fn cmp(&self, other: &IncidentId) -> Ordering {
        // A shorter seq that is a prefix of the other's goes first: its
        // text goes on with `.` or nothing, the other's with a digit.
        text_cmp(self.seq, other.seq)
            .then((self.index > 0).cmp(&(other.index > 0)))
            .then_with(|| text_cmp(u64::from(self.index), u64::from(other.index)))
    }
}

impl PartialOrd for IncidentId {
    fn partial_cmp(&self, other: &IncidentId) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// How `a` and `b` compare as decimal text.
fn text_cmp(a: u64, b: u64) -> Ordering {
    let digits = |n: u64| n.checked_ilog10().unwrap_or(0);
    let (da, db) = (digits(a), digits(b));
    match da.cmp(&db) {
        Ordering::Equal => a.cmp(&b),
        // `a` against as many leading digits of `b`; equal: a prefix.
        Ordering::Less => a.cmp(&(b / 10u64.pow(db - da))).then(Ordering::Less),
        Ordering::Greater => (a / 10u64.pow(da - db)).cmp(&b).then(Ordering::Greater),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_as_their_text_did() {
        let mut ids = Vec::new();
        for seq in [
            0,
            1,
            2,
            9,
            10,
            11,
            19,
            99,
            100,
            101,
            1000,
            123_456,
            u64::MAX,
        ] {
            for index in [0, 1, 2, 9, 10, 11, 100, u32::MAX] {
                ids.push(IncidentId { seq, index });
            }
        }
        for a in &ids {
            for b in &ids {
                let (ta, tb) = (a.to_string(), b.to_string());
                assert_eq!(a.cmp(b), ta.cmp(&tb), "{ta} against {tb}");
            }
        }
    }

    #[test]
    fn only_the_written_form_parses() {
        for text in [
            "0",
            "57",
            "57.2",
            "57.10",
            "18446744073709551615.4294967295",
        ] {
            assert_eq!(IncidentId::parse(text).unwrap().to_string(), text);
        }
        for text in [
            "", "057", "57.0", "57.02", "57.", ".1", "5a", "57.1.1", "-1", "+1",
        ] {
            assert_eq!(IncidentId::parse(text), None, "{text}");
        }
        assert_eq!(IncidentId::new(57, 2), "57.2");
        assert!(IncidentId::new(57, 0) != "57.0");
    }
}
