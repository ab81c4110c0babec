//! The hash table of one-word group keys: open addressing with linear probing over
//! `(key, group)` pairs, at most 70% full.
//!
//! Grouping by many distinct keys is bound by memory latency: a row's slot is a
//! random cache line of a table far larger than the caches. Unlike a general hash
//! map, this table gives the address of a key's first slot before the probe, so the
//! caller can prefetch the slots of rows ahead while it probes the current one
//! (see `GroupMap::one_word_groups`). Four pairs share a cache line, so a probe that
//! runs past its first slot rarely touches a second line.

use super::group::{mix64, MISSING};

#[derive(Clone, Copy)]
struct Slot {
    key: u64,
    /// [`MISSING`] when the slot is free.
    group: u32,
}

const FREE: Slot = Slot {
    key: 0,
    group: MISSING,
};

/// Groups by one-word key.
#[derive(Clone, Default)]
pub(crate) struct WordTable {
    slots: Vec<Slot>,
    len: usize,
}

impl WordTable {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
    }

    /// Forgets every key, keeping the memory.
    pub fn clear(&mut self) {
        self.slots.fill(FREE);
        self.len = 0;
    }

    /// Asks the CPU to fetch the first slot of a key with hash `h` (a hint).
    #[inline(always)]
    pub fn prefetch(&self, h: u64) {
        if let Some(s) = self
            .slots
            .get(h as usize & self.slots.len().wrapping_sub(1))
        {
            super::group::prefetch(s);
        }
    }

    /// The group of `key` (hash `h`, from [`mix64`]), or a new one from `new` when
    /// the key is not present.
    #[inline]
    pub fn group_of(&mut self, key: u64, h: u64, new: impl FnOnce() -> u32) -> u32 {
        if (self.len + 1) * 10 > self.slots.len() * 7 {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let s = self.slots[i];
            if s.group == MISSING {
                let g = new();
                self.slots[i] = Slot { key, group: g };
                self.len += 1;
                return g;
            }
            if s.key == key {
                return s.group;
            }
            i = (i + 1) & mask;
        }
    }

    /// The `(key, group)` pairs held, in slot order.
    pub fn entries(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        (self.slots.iter())
            .filter(|s| s.group != MISSING)
            .map(|s| (s.key, s.group))
    }

    /// Replaces each group numbered `tag | i` (a group created before its final
    /// number was known) by `base + i`.
    pub fn renumber_tagged(&mut self, tag: u32, base: u32) {
        for s in &mut self.slots {
            if s.group != MISSING && s.group & tag != 0 {
                s.group = base + (s.group & !tag);
            }
        }
    }

    /// Doubles the table (at least 1,024 slots).
    #[cold]
    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![FREE; cap]);
        let mask = cap - 1;
        for s in old.into_iter().filter(|s| s.group != MISSING) {
            let mut i = mix64(s.key) as usize & mask;
            while self.slots[i].group != MISSING {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_groups_through_growth_and_clear() {
        let mut t = WordTable::default();
        let mut next = 0u32;
        // Keys that collide in the low bits (0 among them), u64::MAX and 1.
        let keys: Vec<u64> = (0..5000u64).map(|i| i << 40).chain([u64::MAX, 1]).collect();
        let mut want = Vec::new();
        for &k in &keys {
            want.push(t.group_of(k, mix64(k), || {
                next += 1;
                next - 1
            }));
        }
        assert_eq!(want, (0..keys.len() as u32).collect::<Vec<_>>());
        for (&k, &g) in keys.iter().zip(&want) {
            assert_eq!(t.group_of(k, mix64(k), || unreachable!()), g);
        }
        t.clear();
        assert_eq!(t.group_of(7, mix64(7), || 42), 42);
        assert_eq!(t.group_of(7, mix64(7), || 43), 42);
    }
}
