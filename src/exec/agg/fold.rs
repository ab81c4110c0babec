//! Folds of one argument into one value per group: `product`, `geomean`,
//! `bool_and`/`bool_or`, `bit_and`/`bit_or`/`bit_xor`, the compensated
//! `fsum`/`favg`, and `weighted_avg(x, w)`.

use super::moments::floats;
use super::{with_seen, Acc, GroupStates, GroupedRows};
use crate::column::{Column, ColumnData};
use crate::error::Result;
use crate::exec::vector;
use crate::plan::FoldFunc;
use crate::schema::DataType;

/// The fold's value per group, and whether a non-NULL value was seen.
#[derive(Clone, Debug)]
pub(super) struct Fold {
    func: FoldFunc,
    /// product, sum of logarithms (geomean), or the bits of an integer fold.
    float: Vec<f64>,
    int: Vec<i64>,
    /// geomean and favg: the count of values.
    count: Vec<f64>,
    /// fsum and favg: Kahan's compensation (the sum is `float - compensation`).
    compensation: Vec<f64>,
    seen: Vec<bool>,
}

impl Fold {
    pub(super) fn new(func: FoldFunc) -> Fold {
        Fold {
            func,
            float: Vec::new(),
            int: Vec::new(),
            count: Vec::new(),
            compensation: Vec::new(),
            seen: Vec::new(),
        }
    }

    fn is_float(&self) -> bool {
        matches!(
            self.func,
            FoldFunc::Product | FoldFunc::GeoMean | FoldFunc::KahanSum | FoldFunc::KahanAvg
        )
    }

    /// Folds `x` into group `g` (the first value of a group starts it).
    #[inline]
    fn fold_int(&mut self, g: usize, x: i64) {
        let a = &mut self.int[g];
        *a = if !self.seen[g] {
            x
        } else {
            match self.func {
                FoldFunc::BitAnd | FoldFunc::BoolAnd => *a & x,
                FoldFunc::BitOr | FoldFunc::BoolOr => *a | x,
                FoldFunc::BitXor => *a ^ x,
                FoldFunc::Product | FoldFunc::GeoMean | FoldFunc::KahanSum | FoldFunc::KahanAvg => {
                    *a
                }
            }
        };
        self.seen[g] = true;
    }

    #[inline]
    fn fold_float(&mut self, g: usize, x: f64, n: f64) {
        let a = &mut self.float[g];
        match self.func {
            FoldFunc::Product if self.seen[g] => *a *= x,
            FoldFunc::KahanSum | FoldFunc::KahanAvg => {
                let c = &mut self.compensation[g];
                let y = x - *c;
                let t = *a + y;
                *c = (t - *a) - y;
                *a = t;
            }
            _ if !self.seen[g] => *a = x,
            _ => *a += x,
        }
        self.count[g] += n;
        self.seen[g] = true;
    }
}

impl GroupStates for Fold {
    fn resize(&mut self, n: usize) {
        if self.is_float() {
            self.float.resize(n, 0.0);
            self.count.resize(n, 0.0);
            self.compensation.resize(n, 0.0);
        } else {
            self.int.resize(n, 0);
        }
        self.seen.resize(n, false);
    }

    fn empty_like(&self) -> Fold {
        Fold::new(self.func)
    }

    fn group_bytes(&self) -> usize {
        if self.is_float() {
            25
        } else {
            9
        }
    }

    fn update(&mut self, b: &GroupedRows<'_>, _grown: &mut usize) -> Result<()> {
        let v = b.arg;
        match self.func {
            FoldFunc::Product | FoldFunc::GeoMean | FoldFunc::KahanSum | FoldFunc::KahanAvg => {
                let x = vector::floats(v, b.len)?;
                let geo = self.func == FoldFunc::GeoMean;
                for (r, g) in b.pairs() {
                    if v.is_valid(r) {
                        self.fold_float(g, if geo { x[r].ln() } else { x[r] }, 1.0);
                    }
                }
            }
            FoldFunc::BoolAnd | FoldFunc::BoolOr => {
                let x = vector::bools(v, b.len)?;
                for (r, g) in b.pairs() {
                    if v.is_valid(r) {
                        self.fold_int(g, x[r] as i64);
                    }
                }
            }
            _ => {
                let x = vector::ints(v, b.len)?;
                for (r, g) in b.pairs() {
                    if v.is_valid(r) {
                        self.fold_int(g, x[r]);
                    }
                }
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: Fold, map: &[u32]) -> Result<()> {
        for (g, &seen) in other.seen.iter().enumerate() {
            if !seen {
                continue;
            }
            let t = map[g] as usize;
            if self.is_float() {
                self.fold_float(t, other.float[g], other.count[g]);
                if other.compensation[g] != 0.0 {
                    self.fold_float(t, -other.compensation[g], 0.0);
                }
            } else {
                self.fold_int(t, other.int[g]);
            }
        }
        Ok(())
    }

    fn finish(&self, _t: DataType, _all: &[Acc]) -> Result<Column> {
        let data = match self.func {
            FoldFunc::Product | FoldFunc::KahanSum => ColumnData::Float64(self.float.clone()),
            FoldFunc::KahanAvg => ColumnData::Float64(
                self.float
                    .iter()
                    .zip(&self.count)
                    .map(|(&s, &n)| s / n)
                    .collect(),
            ),
            FoldFunc::GeoMean => ColumnData::Float64(
                self.float
                    .iter()
                    .zip(&self.count)
                    .map(|(&s, &n)| if n > 0.0 { (s / n).exp() } else { 0.0 })
                    .collect(),
            ),
            FoldFunc::BoolAnd | FoldFunc::BoolOr => {
                ColumnData::Bool(self.int.iter().map(|&x| x != 0).collect())
            }
            FoldFunc::BitAnd | FoldFunc::BitOr | FoldFunc::BitXor => {
                ColumnData::Int64(self.int.clone())
            }
        };
        Ok(with_seen(data, &self.seen))
    }
}

/// `weighted_avg(x, w)`: sums of `x * w` and of `w` over the rows where both are
/// not NULL, and whether there was one (NULL otherwise; a zero weight sum gives
/// NaN or an infinity, as in DuckDB).
#[derive(Clone, Debug, Default)]
pub(super) struct WeightedAvg {
    sum: Vec<f64>,
    weight: Vec<f64>,
    seen: Vec<bool>,
}

impl GroupStates for WeightedAvg {
    fn resize(&mut self, n: usize) {
        self.sum.resize(n, 0.0);
        self.weight.resize(n, 0.0);
        self.seen.resize(n, false);
    }

    fn empty_like(&self) -> WeightedAvg {
        WeightedAvg::default()
    }

    fn group_bytes(&self) -> usize {
        17
    }

    fn update(&mut self, b: &GroupedRows<'_>, _grown: &mut usize) -> Result<()> {
        let Some((wv, _)) = b.arg2 else {
            return Ok(());
        };
        if wv.is_null_const() {
            return Ok(());
        }
        let xv = b.arg;
        let (x, w) = (vector::floats(xv, b.len)?, vector::floats(wv, b.len)?);
        for (r, g) in b.pairs() {
            if xv.is_valid(r) && wv.is_valid(r) {
                self.sum[g] += x[r] * w[r];
                self.weight[g] += w[r];
                self.seen[g] = true;
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: WeightedAvg, map: &[u32]) -> Result<()> {
        for (g, &seen) in other.seen.iter().enumerate() {
            if seen {
                let t = map[g] as usize;
                self.sum[t] += other.sum[g];
                self.weight[t] += other.weight[g];
                self.seen[t] = true;
            }
        }
        Ok(())
    }

    fn finish(&self, _t: DataType, _all: &[Acc]) -> Result<Column> {
        Ok(floats(
            self.seen
                .iter()
                .enumerate()
                .map(|(g, &s)| s.then(|| self.sum[g] / self.weight[g])),
        ))
    }
}
