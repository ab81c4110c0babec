//! Counting aggregates: `count(*)`, `count(x)` and `count_if(x)`.

use super::{Acc, GroupStates, GroupedRows};
use crate::column::{Column, ColumnData, Value};
use crate::error::Result;
use crate::exec::vector;
use crate::schema::DataType;

/// `count(*)` and `count(x)`: rows (with `x` not NULL) per group.
#[derive(Clone, Debug, Default)]
pub(super) struct Count {
    n: Vec<i64>,
}

impl Count {
    /// Counts one row per entry of `gids` (`count(*)`).
    pub(super) fn count_rows(&mut self, gids: &[u32]) {
        for &g in gids {
            self.n[g as usize] += 1;
        }
    }

    /// Adds `n` rows to group `g`.
    pub(super) fn add(&mut self, g: usize, n: i64) {
        self.n[g] += n;
    }
}

impl GroupStates for Count {
    fn resize(&mut self, n: usize) {
        self.n.resize(n, 0);
    }

    fn empty_like(&self) -> Count {
        Count::default()
    }

    fn group_bytes(&self) -> usize {
        8
    }

    fn update(&mut self, b: &GroupedRows<'_>, _grown: &mut usize) -> Result<()> {
        let (v, n) = (b.arg, &mut self.n);
        for (r, g) in b.pairs() {
            n[g] += v.is_valid(r) as i64;
        }
        Ok(())
    }

    fn merge(&mut self, other: Count, map: &[u32]) -> Result<()> {
        for (g, x) in other.n.into_iter().enumerate() {
            self.n[map[g] as usize] += x;
        }
        Ok(())
    }

    fn finish(&self, _t: DataType, _all: &[Acc]) -> Result<Column> {
        Ok(Column::new(ColumnData::Int64(self.n.clone())))
    }
}

/// `count_if(x)`: rows where `x` is TRUE, and whether any was not NULL
/// (DuckDB returns NULL when none was, like a sum).
#[derive(Clone, Debug, Default)]
pub(super) struct CountIf {
    n: Vec<i64>,
    seen: Vec<bool>,
}

impl GroupStates for CountIf {
    fn resize(&mut self, n: usize) {
        self.n.resize(n, 0);
        self.seen.resize(n, false);
    }

    fn empty_like(&self) -> CountIf {
        CountIf::default()
    }

    fn group_bytes(&self) -> usize {
        9
    }

    fn update(&mut self, b: &GroupedRows<'_>, _grown: &mut usize) -> Result<()> {
        let v = b.arg;
        let x = vector::bools(v, b.len)?;
        let (c, f) = (&mut self.n, &mut self.seen);
        for (r, g) in b.pairs() {
            if v.is_valid(r) {
                c[g] += x[r] as i64;
                f[g] = true;
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: CountIf, map: &[u32]) -> Result<()> {
        for (g, (&c, &f)) in other.n.iter().zip(&other.seen).enumerate() {
            let t = map[g] as usize;
            self.n[t] += c;
            self.seen[t] |= f;
        }
        Ok(())
    }

    fn finish(&self, t: DataType, _all: &[Acc]) -> Result<Column> {
        let mut out = Column::new(ColumnData::empty(t.physical()));
        for (&c, &f) in self.n.iter().zip(&self.seen) {
            vector::push_value(&mut out, &if f { Value::Int(c) } else { Value::Null });
        }
        Ok(out)
    }
}
