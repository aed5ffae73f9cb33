//! Stream id allocation.
//!
//! A bitset over `0..capacity` with a rotating cursor, so a freed id is not
//! handed out again right away: if a server ever answered an id twice, the
//! stray answer would find the id free (and be dropped) rather than land on
//! an unrelated request.

/// Bits per word of the set.
const WORD: usize = 64;

/// Which stream ids are taken.
#[derive(Debug)]
pub(crate) struct StreamIds {
    used: Vec<u64>,
    capacity: usize,
    in_use: usize,
    cursor: usize,
}

impl StreamIds {
    /// Ids `0..capacity` (capacity is clamped to 1..=32768).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, 1 << 15);
        Self {
            used: vec![0; capacity.div_ceil(WORD)],
            capacity,
            in_use: 0,
            cursor: 0,
        }
    }

    /// How many ids exist.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many are taken.
    pub(crate) fn in_use(&self) -> usize {
        self.in_use
    }

    /// Takes the next free id at or after the cursor, if any is free.
    pub(crate) fn allocate(&mut self) -> Option<i16> {
        if self.in_use >= self.capacity {
            return None;
        }
        for step in 0..self.capacity {
            let id = (self.cursor + step) % self.capacity;
            let (word, bit) = (id / WORD, id % WORD);
            let slot = self.used.get_mut(word)?;
            if *slot & (1 << bit) == 0 {
                *slot |= 1 << bit;
                self.in_use += 1;
                self.cursor = (id + 1) % self.capacity;
                return i16::try_from(id).ok();
            }
        }
        None
    }

    /// Frees `id`; `false` if it was not taken (or out of range).
    pub(crate) fn release(&mut self, id: i16) -> bool {
        let Ok(id) = usize::try_from(id) else {
            return false;
        };
        if id >= self.capacity {
            return false;
        }
        let (word, bit) = (id / WORD, id % WORD);
        match self.used.get_mut(word) {
            Some(slot) if *slot & (1 << bit) != 0 => {
                *slot &= !(1 << bit);
                self.in_use -= 1;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn hands_out_every_id_once_then_none() {
        let mut ids = StreamIds::new(130);
        let got: HashSet<i16> = (0..130).map(|_| ids.allocate().unwrap()).collect();
        assert_eq!(got.len(), 130);
        assert!(got.iter().all(|&id| (0..130).contains(&id)));
        assert_eq!(ids.allocate(), None);
        assert!(ids.release(77));
        assert_eq!(ids.allocate(), Some(77));
    }

    #[test]
    fn freed_id_is_not_reused_immediately() {
        let mut ids = StreamIds::new(8);
        let a = ids.allocate().unwrap();
        assert!(ids.release(a));
        assert_ne!(ids.allocate(), Some(a));
    }

    #[test]
    fn release_rejects_unknown_ids() {
        let mut ids = StreamIds::new(4);
        assert!(!ids.release(0));
        assert!(!ids.release(-1));
        assert!(!ids.release(4));
        let a = ids.allocate().unwrap();
        assert!(ids.release(a));
        assert!(!ids.release(a));
        assert_eq!(ids.in_use(), 0);
    }

    #[test]
    fn full_v3_range() {
        let mut ids = StreamIds::new(100_000);
        assert_eq!(ids.capacity(), 32768);
        let mut max = 0;
        while let Some(id) = ids.allocate() {
            assert!(id >= 0);
            max = max.max(id);
        }
        assert_eq!(max, i16::MAX);
        assert_eq!(ids.in_use(), 32768);
    }

    proptest! {
        /// Against a model: ids in use are exactly those allocated and not released.
        #[test]
        fn matches_a_set_model(ops in proptest::collection::vec(any::<(bool, u8)>(), 0..200)) {
            let mut ids = StreamIds::new(16);
            let mut model = HashSet::new();
            for (alloc, pick) in ops {
                if alloc {
                    match ids.allocate() {
                        Some(id) => prop_assert!(model.insert(id), "id {} handed out twice", id),
                        None => prop_assert_eq!(model.len(), 16),
                    }
                } else {
                    let id = i16::from(pick % 20);
                    prop_assert_eq!(ids.release(id), model.remove(&id));
                }
                prop_assert_eq!(ids.in_use(), model.len());
            }
        }
    }
}
