//! Distinct counts: exact `count(DISTINCT x)` and `approx_count_distinct(x)`
//! (HyperLogLog).

use std::cmp::Ordering;
use std::sync::Arc;

use hashbrown::HashSet;

use super::{encode, Acc, GroupStates, GroupedRows};
use crate::column::{Column, ColumnData, StringVec};
use crate::error::Result;
use crate::exec::group::{DictSeen, FastHash, ValueCoder, MISSING};
use crate::exec::sketch::{self, Hll};
use crate::exec::tournament::MergedStrings;
use crate::exec::vector::VData;
use crate::schema::{DataType, PhysicalType};

/// Bytes a value code takes in a group's set.
const SET_ENTRY_BYTES: usize = 16;

/// `count(DISTINCT x)`: per group, the codes of the values seen (strings and
/// IPs interned once per aggregate), and the argument's type. Whole segments
/// counted from their metadata leave their dictionaries with the group
/// instead (`pending`): a group that only has those is counted by merging the
/// sorted dictionaries, without hashing a string.
#[derive(Clone, Debug)]
pub(super) struct CountDistinct {
    sets: Vec<HashSet<u64, FastHash>>,
    /// Per group: the dictionaries of whole segments (each sorted, distinct).
    pending: Vec<Vec<Arc<StringVec>>>,
    coder: Box<ValueCoder>,
    t: PhysicalType,
    /// Scratch: the interned ids of a block's strings.
    ids: Vec<u32>,
}

impl CountDistinct {
    pub(super) fn new(t: PhysicalType) -> CountDistinct {
        CountDistinct {
            sets: Vec::new(),
            pending: Vec::new(),
            coder: Box::default(),
            t,
            ids: Vec::new(),
        }
    }

    /// `count(DISTINCT x)` of INTERVALs: equal when normalized (30 days = 1 month).
    pub(super) fn for_intervals() -> CountDistinct {
        let mut c = CountDistinct::new(PhysicalType::Ip);
        c.coder.vals = super::super::group::ValInterner::for_intervals();
        c
    }

    /// Adds every value of a segment's dictionary to group `g` (a segment's
    /// dictionary holds exactly the values it has, sorted); returns the bytes
    /// grown (the dictionary, which the group now holds on to).
    pub(super) fn add_dictionary(&mut self, g: usize, dict: &Arc<StringVec>) -> usize {
        self.pending[g].push(Arc::clone(dict));
        dict.heap_bytes() + std::mem::size_of::<Arc<StringVec>>()
    }

    /// The distinct values of group `g`: its set, and the strings of its
    /// pending dictionaries.
    fn count(&self, g: usize) -> i64 {
        let (set, dicts) = (&self.sets[g], &self.pending[g]);
        if dicts.is_empty() {
            return set.len() as i64;
        }
        if set.is_empty() {
            return distinct_in_sorted(dicts) as i64;
        }
        // Both: the set's strings and the dictionaries' (rare: a segment
        // counted whole and rows of another in one group).
        let mut all: HashSet<&str, FastHash> = HashSet::default();
        all.extend(set.iter().map(|&id| self.coder.strs.get(id as u32)));
        for d in dicts {
            all.extend(d.iter());
        }
        all.len() as i64
    }
}

/// The number of distinct strings in `dicts`, each sorted and without
/// duplicates: two are walked side by side, more merged through a tournament
/// (one comparison per level as a string is taken, nothing copied).
fn distinct_in_sorted(dicts: &[Arc<StringVec>]) -> usize {
    match dicts {
        [] => 0,
        [one] => one.len(),
        [a, b] => union_len(a.iter(), b.iter()),
        _ => {
            let mut last: Option<&[u8]> = None;
            let mut n = 0;
            for (_, _, s) in MergedStrings::all(dicts) {
                if last != Some(s) {
                    n += 1;
                    last = Some(s);
                }
            }
            n
        }
    }
}

/// The size of the union of two sorted lists without duplicates.
fn union_len<'a>(
    mut a: impl Iterator<Item = &'a str>,
    mut b: impl Iterator<Item = &'a str>,
) -> usize {
    let (mut x, mut y) = (a.next(), b.next());
    let mut n = 0;
    loop {
        match (x, y) {
            (Some(p), Some(q)) => {
                n += 1;
                match p.cmp(q) {
                    Ordering::Less => x = a.next(),
                    Ordering::Greater => y = b.next(),
                    Ordering::Equal => {
                        x = a.next();
                        y = b.next();
                    }
                }
            }
            (Some(_), None) => return n + 1 + a.count(),
            (None, Some(_)) => return n + 1 + b.count(),
            (None, None) => return n,
        }
    }
}

impl GroupStates for CountDistinct {
    fn resize(&mut self, n: usize) {
        self.sets.resize_with(n, HashSet::default);
        self.pending.resize_with(n, Vec::new);
    }

    fn empty_like(&self) -> CountDistinct {
        let mut c = CountDistinct::new(self.t);
        c.coder.vals = self.coder.vals.empty_like();
        c
    }

    fn group_bytes(&self) -> usize {
        40
    }

    fn update(&mut self, b: &GroupedRows<'_>, grown: &mut usize) -> Result<()> {
        let (v, sets, coder) = (b.arg, &mut self.sets, &mut self.coder);
        let before = coder.bytes();
        let mut added = 0usize;
        match &v.data {
            VData::Dict { codes, dict }
                if sets.len().saturating_mul(dict.len()) <= DictSeen::MAX_BITS =>
            {
                // Dictionary codes: each (group, code) is interned and
                // inserted once per segment.
                let n = dict.len();
                coder.cache.reset_for(dict);
                coder.seen.reset_for(dict, sets.len());
                for (r, g) in b.pairs() {
                    let c = codes[r] as usize;
                    if !v.is_valid(r) {
                        continue;
                    }
                    if c >= n || !coder.seen.test_and_set(g * n + c) {
                        let id = coder.cache.id(c as u32, &mut coder.strs) as u64;
                        added += sets[g].insert(id) as usize;
                    }
                }
            }
            VData::Str(strs) if b.rows.len() == b.len => {
                // Every row: the block's strings interned at once (see
                // `StrInterner::intern_all`).
                let mut ids = std::mem::take(&mut self.ids);
                coder
                    .strs
                    .intern_all(strs, b.len, v.validity.as_ref(), &mut ids);
                for (r, g) in b.pairs() {
                    if let Some(&id) = ids.get(r).filter(|&&id| id != MISSING) {
                        added += sets[g].insert(id as u64) as usize;
                    }
                }
                self.ids = ids;
            }
            _ => {
                for (r, g) in b.pairs() {
                    if v.is_valid(r) {
                        let c = coder.code(v, r, self.t);
                        added += sets[g].insert(c) as usize;
                    }
                }
            }
        }
        *grown += added * SET_ENTRY_BYTES + coder.bytes().saturating_sub(before);
        Ok(())
    }

    fn merge(&mut self, other: CountDistinct, map: &[u32]) -> Result<()> {
        let t = self.t;
        let translate = matches!(t, PhysicalType::Utf8 | PhysicalType::Ip);
        for (g, dicts) in other.pending.into_iter().enumerate() {
            self.pending[map[g] as usize].extend(dicts);
        }
        for (g, set) in other.sets.into_iter().enumerate() {
            let into = &mut self.sets[map[g] as usize];
            if translate {
                for c in set {
                    into.insert(self.coder.translate(&other.coder, c, t));
                }
            } else {
                into.extend(set);
            }
        }
        Ok(())
    }

    fn finish(&self, _t: DataType, _all: &[Acc]) -> Result<Column> {
        Ok(Column::new(ColumnData::Int64(
            (0..self.sets.len()).map(|g| self.count(g)).collect(),
        )))
    }
}

/// `approx_count_distinct(x)`: a HyperLogLog sketch per group over the hashes
/// of the values' encodings.
#[derive(Clone, Debug, Default)]
pub(super) struct ApproxDistinct {
    sketches: Vec<Hll>,
}

impl GroupStates for ApproxDistinct {
    fn resize(&mut self, n: usize) {
        self.sketches.resize_with(n, Hll::default);
    }

    fn empty_like(&self) -> ApproxDistinct {
        ApproxDistinct::default()
    }

    fn group_bytes(&self) -> usize {
        std::mem::size_of::<Hll>() + 64
    }

    fn update(&mut self, b: &GroupedRows<'_>, _grown: &mut usize) -> Result<()> {
        let (v, h) = (b.arg, &mut self.sketches);
        let mut buf = Vec::new();
        for (r, g) in b.pairs() {
            if v.is_valid(r) {
                buf.clear();
                encode(&mut buf, v, r, false);
                h[g].add_hash(sketch::hash_bytes(&buf));
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: ApproxDistinct, map: &[u32]) -> Result<()> {
        for (g, h) in other.sketches.iter().enumerate() {
            self.sketches[map[g] as usize].merge(h);
        }
        Ok(())
    }

    fn finish(&self, _t: DataType, _all: &[Acc]) -> Result<Column> {
        Ok(Column::new(ColumnData::Int64(
            self.sketches.iter().map(Hll::estimate).collect(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(words: &[&str]) -> Arc<StringVec> {
        let mut v = StringVec::new();
        for w in words {
            v.push(w);
        }
        Arc::new(v)
    }

    /// The merge counts what a set of every string counts, for any number of
    /// dictionaries, overlapping or not, empty ones included.
    #[test]
    fn merged_dictionaries_count_each_string_once() {
        let pools: Vec<Vec<String>> = (0..7)
            .map(|k| {
                let mut w: Vec<String> = (0..(k * 37 % 50))
                    .map(|i| format!("u{}", (i * (k + 3) * 7919) % 97))
                    .collect();
                w.sort();
                w.dedup();
                w
            })
            .collect();
        for n in 0..=pools.len() {
            let dicts: Vec<Arc<StringVec>> = pools[..n]
                .iter()
                .map(|p| dict(&p.iter().map(String::as_str).collect::<Vec<_>>()))
                .collect();
            let want: std::collections::HashSet<&String> = pools[..n].iter().flatten().collect();
            assert_eq!(distinct_in_sorted(&dicts), want.len(), "{n} dictionaries");
        }
    }
}
