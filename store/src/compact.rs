//! Compact in-memory collections for the state derived from the log (the
//! views and the notifier's groups): a daemon with a dead receiver may hold
//! hundreds of thousands of items, so each costs its size and no more.
//!
//! * [`Slab`]: values in numbered slots, a freed slot taken by the next;
//! * [`SlotIndex`]: a key's hash → its slot, so an index holds eight bytes
//!   and a slot number rather than a copy of the key;
//! * [`Hashed`]: the hasher of maps whose keys are hashes already;
//! * [`put_str`] and [`Strs`]: strings packed in one block, each its length
//!   (LEB128) then its bytes, as a [`LabelSet`](crate::LabelSet) holds them.

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::ops::{Index, IndexMut};

/// Slots per chunk.
const CHUNK: usize = 1024;

/// Values by slot number.
#[derive(Clone, Debug)]
pub struct Slab<T> {
    chunks: Vec<Vec<Option<T>>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    /// Puts `value` in a free slot; returns its number.
    pub fn insert(&mut self, value: T) -> u32 {
        if let Some(slot) = self.free.pop() {
            if let Some(place) = self.place(slot) {
                *place = Some(value);
            }
            return slot;
        }
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let full = (self.chunks.len() - 1) * CHUNK;
        let last = self
            .chunks
            .last_mut()
            .expect("a chunk with room was just ensured");
        let slot = full + last.len();
        last.push(Some(value));
        u32::try_from(slot).expect("fewer than 4 billion slots")
    }

    /// The value in `slot`.
    pub fn get(&self, slot: u32) -> Option<&T> {
        let slot = slot as usize;
        self.chunks.get(slot / CHUNK)?.get(slot % CHUNK)?.as_ref()
    }

    /// The value in `slot`, to change.
    pub fn get_mut(&mut self, slot: u32) -> Option<&mut T> {
        self.place(slot)?.as_mut()
    }

    /// Takes the value out of `slot`, freeing it.
    pub fn remove(&mut self, slot: u32) -> Option<T> {
        let value = self.place(slot)?.take()?;
        self.free.push(slot);
        Some(value)
    }

    /// Every value with its slot, to change, in slot order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (u32, &mut T)> {
        self.chunks
            .iter_mut()
            .flatten()
            .enumerate()
            .filter_map(|(i, v)| Some((u32::try_from(i).ok()?, v.as_mut()?)))
    }

    /// Every value with its slot, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.chunks
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, v)| Some((u32::try_from(i).ok()?, v.as_ref()?)))
    }

    fn place(&mut self, slot: u32) -> Option<&mut Option<T>> {
        let slot = slot as usize;
        self.chunks.get_mut(slot / CHUNK)?.get_mut(slot % CHUNK)
    }
}

/// The value in a slot known to hold one (one an index points at).
impl<T> Index<u32> for Slab<T> {
    type Output = T;

    fn index(&self, slot: u32) -> &T {
        self.get(slot).expect("a keyed slot holds its value")
    }
}

impl<T> IndexMut<u32> for Slab<T> {
    fn index_mut(&mut self, slot: u32) -> &mut T {
        self.get_mut(slot).expect("a keyed slot holds its value")
    }
}

/// The hasher of maps whose keys are hashes already: it passes them on.
#[derive(Default)]
pub struct Hashed(u64);

impl Hasher for Hashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Slots by the hash of their key. The index does not hold the keys: a
/// lookup names the hash and says, by a closure, whether a slot holds the
/// key sought, and two keys of one hash both stay findable.
#[derive(Clone, Debug, Default)]
pub struct SlotIndex {
    slots: HashMap<u64, u32, BuildHasherDefault<Hashed>>,
    /// (hash, slot) of keys whose hash is another's in `slots`.
    collided: Vec<(u64, u32)>,
    hasher: RandomState,
}

impl SlotIndex {
    /// The hash of `key`, as this index keys it.
    pub fn hash<K: Hash + ?Sized>(&self, key: &K) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The slot of hash `hash` that `is` accepts.
    pub fn find(&self, hash: u64, mut is: impl FnMut(u32) -> bool) -> Option<u32> {
        if let Some(&slot) = self.slots.get(&hash)
            && is(slot)
        {
            return Some(slot);
        }
        self.collided
            .iter()
            .filter(|(h, _)| *h == hash)
            .map(|(_, slot)| *slot)
            .find(|slot| is(*slot))
    }

    /// Indexes `slot` under `hash` (its key is not indexed yet).
    pub fn insert(&mut self, hash: u64, slot: u32) {
        match self.slots.entry(hash) {
            Entry::Occupied(_) => self.collided.push((hash, slot)),
            Entry::Vacant(place) => {
                place.insert(slot);
            }
        }
    }

    /// Forgets `slot`, indexed under `hash`.
    pub fn remove(&mut self, hash: u64, slot: u32) {
        if self.slots.get(&hash) == Some(&slot) {
            self.slots.remove(&hash);
        } else {
            self.collided.retain(|entry| *entry != (hash, slot));
        }
    }

    /// How many slots are indexed.
    pub fn len(&self) -> usize {
        self.slots.len() + self.collided.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Appends `s` to a packed block: its length (LEB128), then its bytes.
pub fn put_str(out: &mut Vec<u8>, s: &str) {
    let mut n = s.len();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(s.as_bytes());
}

/// The most a string of `s.len()` takes packed.
pub fn packed_len(s: &str) -> usize {
    s.len() + (usize::BITS as usize).div_ceil(7)
}

/// The strings of a packed block, in order.
#[derive(Clone, Debug)]
pub struct Strs<'a> {
    rest: &'a [u8],
}

impl<'a> Strs<'a> {
    /// The strings `block` packs ([`put_str`]).
    pub fn new(block: &'a [u8]) -> Strs<'a> {
        Strs { rest: block }
    }
}

impl<'a> Iterator for Strs<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let mut n = 0usize;
        let mut shift = 0;
        loop {
            let (&b, rest) = self.rest.split_first()?;
            self.rest = rest;
            n |= usize::from(b & 0x7f).checked_shl(shift)?;
            shift += 7;
            if b < 0x80 {
                break;
            }
        }
        let (s, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        // Only whole strings are ever packed, so this always holds.
        std::str::from_utf8(s).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused_and_chunks_never_grow() {
        let mut slab = Slab::default();
        let slots: Vec<u32> = (0..2 * CHUNK + 3).map(|i| slab.insert(i)).collect();
        assert_eq!(slots[CHUNK + 1], (CHUNK + 1) as u32);
        assert_eq!(slab.get(slots[CHUNK + 1]), Some(&(CHUNK + 1)));
        assert!(slab.chunks.iter().all(|c| c.capacity() == CHUNK));
        assert_eq!(slab.remove(5), Some(5));
        assert_eq!(slab.remove(5), None, "once");
        assert_eq!(slab.get(5), None);
        assert_eq!(slab.insert(99), 5, "the freed slot first");
        *slab.get_mut(5).unwrap() += 1;
        assert_eq!(slab.get(5), Some(&100));
        assert_eq!(slab.get(u32::MAX), None);
    }

    #[test]
    fn packed_strings_read_back_in_order() {
        let long = "é".repeat(200);
        let mut block = Vec::new();
        for s in ["", "a", &long, "b"] {
            put_str(&mut block, s);
        }
        assert!(block.len() <= ["", "a", &long, "b"].map(packed_len).iter().sum());
        assert_eq!(Strs::new(&block).collect::<Vec<_>>(), ["", "a", &long, "b"]);
        assert_eq!(Strs::new(&block[..3]).count(), 2, "a cut block ends early");
    }

    #[test]
    fn keys_of_one_hash_are_each_found() {
        let mut index = SlotIndex::default();
        let keys = ["a", "b", "c"];
        // Every key under one hash, as if they collided.
        for slot in 0..3 {
            index.insert(7, slot);
        }
        let find = |index: &SlotIndex, key: &str| index.find(7, |slot| keys[slot as usize] == key);
        assert_eq!(
            (find(&index, "a"), find(&index, "b"), find(&index, "c")),
            (Some(0), Some(1), Some(2))
        );
        index.remove(7, 0);
        assert_eq!((find(&index, "a"), find(&index, "c")), (None, Some(2)));
        assert_eq!(index.len(), 2);
        index.insert(7, 0);
        assert_eq!(find(&index, "a"), Some(0), "the freed place is taken again");
        assert_eq!(index.find(8, |_| true), None);
        assert_eq!(index.hash("a"), index.hash("a"));
    }
}
