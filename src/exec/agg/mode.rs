//! Aggregates over a group's distinct values and their counts: `mode(x)`, the
//! most frequent non-NULL value (among equally frequent ones, the first seen),
//! and `entropy(x)`, the Shannon entropy in bits of the non-NULL values (0 for
//! a group without any).

use std::collections::HashMap;

use super::moments::floats;
use super::{encode, Acc, GroupStates, GroupedRows};
use crate::column::{Column, ColumnData, Value};
use crate::error::Result;
use crate::exec::vector;
use crate::schema::DataType;

/// One distinct value of a group: how often it was seen, when first, and the
/// value.
#[derive(Clone, Debug)]
struct Seen {
    count: u64,
    first: u64,
    value: Value,
}

/// Per group, its distinct values keyed by their encoding.
#[derive(Clone, Debug)]
pub(super) struct ValueCounts {
    /// `mode` (else `entropy`).
    mode: bool,
    groups: Vec<HashMap<Vec<u8>, Seen>>,
    /// Rows seen so far, to order first sightings.
    seq: u64,
}

impl ValueCounts {
    pub(super) fn new(mode: bool) -> ValueCounts {
        ValueCounts {
            mode,
            groups: Vec::new(),
            seq: 0,
        }
    }

    fn add(
        &mut self,
        g: usize,
        key: &[u8],
        count: u64,
        first: u64,
        value: impl FnOnce() -> Value,
    ) -> usize {
        if let Some(s) = self.groups[g].get_mut(key) {
            s.count += count;
            s.first = s.first.min(first);
            return 0;
        }
        let value = value();
        let bytes = key.len() + std::mem::size_of::<Seen>() + 16;
        self.groups[g].insert(
            key.to_vec(),
            Seen {
                count,
                first,
                value,
            },
        );
        bytes
    }
}

impl GroupStates for ValueCounts {
    fn resize(&mut self, n: usize) {
        self.groups.resize_with(n, HashMap::new);
    }

    fn empty_like(&self) -> ValueCounts {
        ValueCounts::new(self.mode)
    }

    fn group_bytes(&self) -> usize {
        std::mem::size_of::<HashMap<Vec<u8>, Seen>>()
    }

    fn update(&mut self, b: &GroupedRows<'_>, grown: &mut usize) -> Result<()> {
        let v = b.arg;
        let mut key = Vec::new();
        for (r, g) in b.pairs() {
            if !v.is_valid(r) {
                continue;
            }
            key.clear();
            encode(&mut key, v, r, false);
            let first = self.seq;
            self.seq += 1;
            *grown += self.add(g, &key, 1, first, || v.value(r, b.arg_type));
        }
        Ok(())
    }

    fn merge(&mut self, other: ValueCounts, map: &[u32]) -> Result<()> {
        // The other table's rows come after this one's.
        let base = self.seq;
        for (g, values) in other.groups.into_iter().enumerate() {
            for (key, s) in values {
                self.add(map[g] as usize, &key, s.count, base + s.first, || s.value);
            }
        }
        self.seq += other.seq;
        Ok(())
    }

    fn finish(&self, t: DataType, _all: &[Acc]) -> Result<Column> {
        if !self.mode {
            return Ok(floats(self.groups.iter().map(|values| {
                let n: u64 = values.values().map(|s| s.count).sum();
                let n = n as f64;
                Some(
                    values
                        .values()
                        .map(|s| {
                            let p = s.count as f64 / n;
                            -p * p.log2()
                        })
                        .sum::<f64>()
                        + 0.0,
                )
            })));
        }
        let mut out = Column::new(ColumnData::empty(t.physical()));
        for values in &self.groups {
            let best = values
                .values()
                .max_by(|a, b| a.count.cmp(&b.count).then(b.first.cmp(&a.first)));
            vector::push_value(&mut out, best.map_or(&Value::Null, |s| &s.value));
        }
        Ok(out)
    }
}
