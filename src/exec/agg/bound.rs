//! The bound a top-N above a streaming aggregation puts on the groups still
//! worth finishing.

use crate::column::{Column, ColumnData, Value};
use crate::exec::vector;

/// What a top-N over the results of several aggregations (streaming units) has
/// kept so far, when its first sort key is aggregate `agg`: once it holds its n
/// rows, a group whose value there sorts after `value` (its worst kept row)
/// cannot enter it. With `unit_limit` (nothing between the aggregate and the
/// top-N drops rows), a unit's own n-th best value bounds it too: a group that
/// n groups of the same unit beat cannot enter either.
#[derive(Clone, Debug)]
pub struct AggBound {
    pub agg: usize,
    pub value: Option<Value>,
    pub descending: bool,
    pub unit_limit: Option<usize>,
}

impl AggBound {
    /// The rows of aggregate column `col` that could still enter (NULLs and ties
    /// are kept); `None` when that is every row or the types do not compare.
    pub(super) fn select(&self, col: &Column) -> Option<Vec<u32>> {
        let valid = |r: usize| col.is_valid(r);
        match (&col.data, &self.value) {
            (ColumnData::Int64(v), Some(Value::Int(b))) => self.rows(v, valid, Some(*b), i64::cmp),
            (ColumnData::Int64(v), None) => self.rows(v, valid, None, i64::cmp),
            (ColumnData::Float64(v), Some(Value::Float(b))) => {
                self.rows(v, valid, Some(*b), |a, b| vector::ord_f64(*a, *b))
            }
            (ColumnData::Float64(v), None) => {
                self.rows(v, valid, None, |a, b| vector::ord_f64(*a, *b))
            }
            _ => None,
        }
    }

    fn rows<T: Copy>(
        &self,
        v: &[T],
        valid: impl Fn(usize) -> bool,
        global: Option<T>,
        cmp: impl Fn(&T, &T) -> std::cmp::Ordering,
    ) -> Option<Vec<u32>> {
        // `Less`: `a` sorts before (is better than) `b`.
        let order = |a: &T, b: &T| {
            if self.descending {
                cmp(b, a)
            } else {
                cmp(a, b)
            }
        };
        let mut bound = global;
        if let Some(n) = self.unit_limit.filter(|&n| n > 0 && n < v.len()) {
            let mut vals: Vec<T> = (0..v.len()).filter(|&r| valid(r)).map(|r| v[r]).collect();
            if vals.len() > n {
                let (_, nth, _) = vals.select_nth_unstable_by(n - 1, |a, b| order(a, b));
                let local = *nth;
                bound = Some(match bound {
                    Some(g) if order(&g, &local) == std::cmp::Ordering::Less => g,
                    _ => local,
                });
            }
        }
        let b = bound?;
        let rows: Vec<u32> = (0..v.len())
            .filter(|&r| !valid(r) || order(&v[r], &b) != std::cmp::Ordering::Greater)
            .map(|r| r as u32)
            .collect();
        (rows.len() < v.len()).then_some(rows)
    }
}
