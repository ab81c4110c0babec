//! Distinct counts: exact `count(DISTINCT x)` and `approx_count_distinct(x)`
//! (HyperLogLog).

use hashbrown::HashSet;

use super::{encode, Acc, GroupStates, GroupedRows};
use crate::column::{Column, ColumnData, StringVec};
use crate::error::Result;
use crate::exec::group::{DictSeen, FastHash, ValueCoder, MISSING};
use crate::exec::sketch::{self, Hll};
use crate::exec::vector::VData;
use crate::schema::{DataType, PhysicalType};

/// Bytes a value code takes in a group's set.
const SET_ENTRY_BYTES: usize = 16;

/// `count(DISTINCT x)`: per group, the codes of the values seen (strings and
/// IPs interned once per aggregate), and the argument's type.
#[derive(Clone, Debug)]
pub(super) struct CountDistinct {
    sets: Vec<HashSet<u64, FastHash>>,
    coder: Box<ValueCoder>,
    t: PhysicalType,
    /// Scratch: the interned ids of a block's strings.
    ids: Vec<u32>,
}

impl CountDistinct {
    pub(super) fn new(t: PhysicalType) -> CountDistinct {
        CountDistinct {
            sets: Vec::new(),
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
    /// dictionary holds exactly the values it has); returns the bytes grown.
    pub(super) fn add_dictionary(&mut self, g: usize, dict: &StringVec) -> usize {
        let before = self.coder.bytes();
        let mut added = 0usize;
        for v in dict.iter() {
            added += self.sets[g].insert(self.coder.strs.intern(v) as u64) as usize;
        }
        added * SET_ENTRY_BYTES + self.coder.bytes().saturating_sub(before)
    }
}

impl GroupStates for CountDistinct {
    fn resize(&mut self, n: usize) {
        self.sets.resize_with(n, HashSet::default);
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
            self.sets.iter().map(|x| x.len() as i64).collect(),
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
