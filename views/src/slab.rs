//! [`Keyed`]: a map whose values live in a [`Slab`] (numbered slots, a
//! freed slot taken by the next) and whose B-tree holds only slot numbers.
//!
//! A B-tree filled in order leaves its nodes about half empty, which
//! nearly doubles what a 200-byte incident or a 140-byte delivery costs; in
//! a slab it costs its size. Slots come in fixed chunks, so growing never copies what is there.

use std::collections::BTreeMap;
use std::ops::Index;

/// Values by key, in key order.
#[derive(Clone, Debug)]
pub struct Keyed<K, V> {
    slab: Slab<V>,
    slots: BTreeMap<K, u32>,
}

impl<K, V> Default for Keyed<K, V> {
    fn default() -> Self {
        Keyed {
            slab: Slab::default(),
            slots: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Copy, V> Keyed<K, V> {
    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.slab.get(*self.slots.get(key)?)
    }

    /// The value of `key`, to change.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.slab.get_mut(*self.slots.get(key)?)
    }

    /// Sets the value of `key`.
    pub fn insert(&mut self, key: K, value: V) {
        match self.slots.get(&key).and_then(|s| self.slab.get_mut(*s)) {
            Some(place) => *place = value,
            None => {
                let slot = self.slab.insert(value);
                self.slots.insert(key, slot);
            }
        }
    }

    /// Takes the value of `key` out.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.slab.remove(self.slots.remove(key)?)
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.slots.keys()
    }

    /// The values, in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.slots.values().map(|slot| &self.slab[*slot])
    }

    /// The values, in key order, to change.
    #[cfg(test)]
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        let slots: Vec<u32> = self.slots.values().copied().collect();
        let slab = &mut self.slab;
        // Each slot once: no two borrows alias.
        slab.chunks
            .iter_mut()
            .flatten()
            .enumerate()
            .filter(move |(i, _)| slots.contains(&(*i as u32)))
            .filter_map(|(_, v)| v.as_mut())
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether none.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// Equal when they hold the same keys and values (wherever the slots).
impl<K: Ord + Copy, V: PartialEq> PartialEq for Keyed<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.keys().eq(other.keys()) && self.values().eq(other.values())
    }
}

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

    fn place(&mut self, slot: u32) -> Option<&mut Option<T>> {
        let slot = slot as usize;
        self.chunks.get_mut(slot / CHUNK)?.get_mut(slot % CHUNK)
    }
}

/// The value in a slot known to hold one (a [`Keyed`] slot).
impl<T> Index<u32> for Slab<T> {
    type Output = T;

    fn index(&self, slot: u32) -> &T {
        self.get(slot).expect("a keyed slot holds its value")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyed_map_keeps_key_order_over_reused_slots() {
        let mut m = Keyed::default();
        for k in [5, 1, 3] {
            m.insert(k, k * 10);
        }
        assert_eq!(m.remove(&1), Some(10));
        m.insert(2, 20);
        m.insert(3, 31);
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), [2, 3, 5]);
        assert_eq!(m.values().copied().collect::<Vec<_>>(), [20, 31, 50]);
        assert_eq!((m.get(&2), m.get(&1), m.len()), (Some(&20), None, 3));
        m.values_mut().for_each(|v| *v += 1);
        let mut other = Keyed::default();
        for (k, v) in [(3, 32), (5, 51), (2, 21)] {
            other.insert(k, v);
        }
        assert_eq!(m, other, "the same, in other slots");
    }

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
}
