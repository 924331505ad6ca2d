//! Small encodings of an incident's bounded lists: the seqs that carried
//! its alerts ([`Trail`]) and its recent status flips ([`Flips`]). Most
//! incidents fire once and never flip: for those neither allocates. And
//! [`MaybeTime`], an optional time in half the room.

use serde::de::Deserializer;
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// Ascending seqs, the newest `bound` of those pushed: the first in full,
/// each next one as its distance from the previous (LEB128), so a seq
/// usually costs one to three bytes rather than eight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trail {
    first: u64,
    rest: Box<[u8]>,
}

impl Trail {
    /// A trail of one seq.
    pub fn new(seq: u64) -> Trail {
        Trail {
            first: seq,
            rest: Box::default(),
        }
    }

    /// The seqs, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let mut bytes = self.rest.iter();
        let mut at = Some(self.first);
        std::iter::from_fn(move || {
            let now = at?;
            at = delta(&mut bytes).map(|d| now + d);
            Some(now)
        })
    }

    /// How many seqs.
    pub fn len(&self) -> usize {
        1 + self.rest.iter().filter(|b| **b < 0x80).count()
    }

    /// Never empty: a trail starts with a seq.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The newest seq.
    pub fn last(&self) -> u64 {
        self.iter().last().unwrap_or(self.first)
    }

    /// Adds `seq` if it is newer than the newest, dropping the oldest
    /// beyond `bound`.
    pub fn push(&mut self, seq: u64, bound: usize) {
        let Some(d) = seq.checked_sub(self.last()).filter(|d| *d > 0) else {
            return;
        };
        let mut rest = self.rest.to_vec();
        put(&mut rest, d);
        if self.len() + 1 > bound.max(1) {
            let mut bytes = rest.iter();
            if let Some(d) = delta(&mut bytes) {
                self.first += d;
                rest = bytes.as_slice().to_vec();
            }
        }
        self.rest = rest.into_boxed_slice();
    }

    /// The newest `bound` of `seqs` (ascending; others are skipped).
    pub fn from_seqs(seqs: impl IntoIterator<Item = u64>, bound: usize) -> Option<Trail> {
        let mut seqs = seqs.into_iter();
        let mut trail = Trail::new(seqs.next()?);
        for seq in seqs {
            trail.push(seq, bound);
        }
        Some(trail)
    }
}

fn put(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn delta(bytes: &mut std::slice::Iter<'_, u8>) -> Option<u64> {
    let mut n = 0u64;
    for (i, b) in bytes.enumerate() {
        n |= u64::from(b & 0x7f) << (7 * i);
        if *b < 0x80 {
            return Some(n);
        }
    }
    None
}

/// Encoded as the list of seqs.
impl Serialize for Trail {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        seq(serializer, self.len(), self.iter())
    }
}

/// A list of known length (postcard writes the length first).
fn seq<S: Serializer, T: Serialize>(
    serializer: S,
    len: usize,
    items: impl Iterator<Item = T>,
) -> Result<S::Ok, S::Error> {
    let mut out = serializer.serialize_seq(Some(len))?;
    for item in items {
        out.serialize_element(&item)?;
    }
    out.end()
}

impl<'de> Deserialize<'de> for Trail {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Trail, D::Error> {
        let seqs = Vec::<u64>::deserialize(deserializer)?;
        Trail::from_seqs(seqs, usize::MAX)
            .ok_or_else(|| serde::de::Error::custom("an incident's history is never empty"))
    }
}

/// The times of the last `N` status flips, oldest first; allocated at the
/// first flip. `N` flips within a window is all flapping needs to know.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flips<const N: usize>(Option<Box<[i64; N]>>);

/// Marks an unused place (flips are entry times, never this).
const NONE: i64 = i64::MIN;

impl<const N: usize> Flips<N> {
    /// Records a flip at `time`; true if the last `N` all fall within
    /// `window` of it.
    pub fn flip(&mut self, time: i64, window: i64) -> bool {
        let times = self.0.get_or_insert_with(|| Box::new([NONE; N]));
        times.rotate_left(1);
        times[N - 1] = time;
        times[0] != NONE && time - times[0] <= window
    }

    /// The recorded times, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.0
            .iter()
            .flat_map(|t| t.iter())
            .copied()
            .filter(|t| *t != NONE)
    }
}

/// Encoded as the list of times.
impl<const N: usize> Serialize for Flips<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        seq(serializer, self.iter().count(), self.iter())
    }
}

impl<'de, const N: usize> Deserialize<'de> for Flips<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Flips<N>, D::Error> {
        let times = Vec::<i64>::deserialize(deserializer)?;
        Ok(Flips::from_times(times))
    }
}

impl<const N: usize> Flips<N> {
    /// The last `N` of `times` (oldest first).
    pub fn from_times(times: impl IntoIterator<Item = i64>) -> Flips<N> {
        let mut flips = Flips(None);
        for t in times {
            flips.flip(t, 0);
        }
        flips
    }
}

/// An optional time (micros) in eight bytes where `Option<i64>` takes
/// sixteen: `i64::MIN`, half a million years before the epoch, is none.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MaybeTime(i64);

impl MaybeTime {
    /// No time.
    pub const NONE: MaybeTime = MaybeTime(i64::MIN);

    /// The time, if any.
    pub fn get(self) -> Option<i64> {
        (self.0 != i64::MIN).then_some(self.0)
    }

    /// The time, leaving none.
    pub fn take(&mut self) -> Option<i64> {
        std::mem::replace(self, MaybeTime::NONE).get()
    }

    /// Sets `time`; returns the one before.
    pub fn replace(&mut self, time: Option<i64>) -> Option<i64> {
        std::mem::replace(self, time.into()).get()
    }
}

impl From<Option<i64>> for MaybeTime {
    fn from(time: Option<i64>) -> MaybeTime {
        MaybeTime(time.unwrap_or(i64::MIN))
    }
}

impl std::fmt::Debug for MaybeTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// Encoded as the `Option<i64>` it stands for.
impl Serialize for MaybeTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for MaybeTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MaybeTime, D::Error> {
        Option::<i64>::deserialize(deserializer).map(MaybeTime::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trail_keeps_the_newest_seqs_in_a_few_bytes_each() {
        let mut t = Trail::new(10);
        assert_eq!((t.len(), t.last()), (1, 10));
        assert_eq!(t.rest.len(), 0, "one seq: nothing allocated");
        for seq in [11, 11, 5, 300, 1 << 40] {
            t.push(seq, 4);
        }
        assert_eq!(t.iter().collect::<Vec<_>>(), [10, 11, 300, 1 << 40]);
        t.push((1 << 40) + 1, 4);
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [11, 300, (1 << 40) + 1 - 1, (1 << 40) + 1]
        );
        assert_eq!(t.len(), 4);
        let mut long = Trail::new(1);
        for seq in 2..=1000 {
            long.push(seq * 100, 50);
        }
        assert_eq!(long.len(), 50);
        assert_eq!(long.iter().next(), Some(951 * 100));
        assert_eq!(long.rest.len(), 49, "a distance of 100 is one byte each");
        let bytes = postcard::to_allocvec(&long).unwrap();
        let back: Trail = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, long);
        assert_eq!(Trail::from_seqs([], 3), None);
    }

    #[test]
    fn a_maybe_time_is_an_option_in_eight_bytes() {
        assert_eq!(std::mem::size_of::<MaybeTime>(), 8);
        let mut t = MaybeTime::from(Some(5));
        assert_eq!(t.replace(Some(-7)), Some(5));
        assert_eq!(t.take(), Some(-7));
        assert_eq!((t, t.get()), (MaybeTime::NONE, None));
        for time in [None, Some(0), Some(i64::MAX)] {
            let bytes = postcard::to_allocvec(&MaybeTime::from(time)).unwrap();
            assert_eq!(bytes, postcard::to_allocvec(&time).unwrap());
            assert_eq!(
                postcard::from_bytes::<MaybeTime>(&bytes).unwrap().get(),
                time
            );
        }
    }

    #[test]
    fn flips_keep_the_last_few_times() {
        let mut f = Flips::<3>::default();
        assert_eq!(f, Flips(None));
        assert!(!f.flip(0, 10));
        assert!(!f.flip(5, 10));
        assert!(f.flip(10, 10), "three within 10");
        assert!(!f.flip(21, 10), "5 and 10 are older than 11");
        assert_eq!(f.iter().collect::<Vec<_>>(), [5, 10, 21]);
        let bytes = postcard::to_allocvec(&f).unwrap();
        assert_eq!(postcard::from_bytes::<Flips<3>>(&bytes).unwrap(), f);
        assert_eq!(
            Flips::<3>::from_times([1, 2, 3, 4])
                .iter()
                .collect::<Vec<_>>(),
            [2, 3, 4]
        );
    }
}
