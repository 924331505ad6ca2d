//! [`Keyed`]: a map whose values live in a [`Slab`] (numbered slots, a
//! freed slot taken by the next) and whose B-tree holds only slot numbers.
//!
//! A B-tree filled in order leaves its nodes about half empty, which
//! nearly doubles what a 200-byte incident or a 140-byte delivery costs; in
//! a slab it costs its size. Slots come in fixed chunks, so growing never copies what is there.

use std::collections::BTreeMap;
use vigil_store::compact::Slab;

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
        let slots: std::collections::HashSet<u32> = self.slots.values().copied().collect();
        self.slab
            .iter_mut()
            .filter(move |(slot, _)| slots.contains(slot))
            .map(|(_, v)| v)
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
}
