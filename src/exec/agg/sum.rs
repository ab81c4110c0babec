//! Sums and averages: `sum(x)` and `avg(x)` of integers and doubles.

use std::ops::AddAssign;

use super::{with_seen, Acc, GroupStates, GroupedRows, Primitive};
use crate::column::{Column, ColumnData};
use crate::error::{Error, Result};
use crate::schema::DataType;

/// A type that `sum` adds up: integers as BIGINT (overflow is an error, as in
/// DuckDB), doubles as doubles.
pub(super) trait Addend: Primitive {
    fn add(a: Self, b: Self) -> Result<Self>;
}

impl Addend for i64 {
    #[inline]
    fn add(a: i64, b: i64) -> Result<i64> {
        a.checked_add(b).ok_or_else(sum_overflow)
    }
}

impl Addend for f64 {
    #[inline]
    fn add(a: f64, b: f64) -> Result<f64> {
        Ok(a + b)
    }
}

fn sum_overflow() -> Error {
    Error::InvalidInput(
        "Out of Range Error: Overflow in SUM: the result does not fit in 64 bits \
         (logdb sums integers as BIGINT and DECIMALs as 64-bit DECIMAL(38,s); DuckDB \
         would use 128 bits)"
            .into(),
    )
}

/// `sum(x)`: the sum per group, and whether any value was not NULL (NULL
/// otherwise).
#[derive(Clone, Debug, Default)]
pub(super) struct Sum<T> {
    sum: Vec<T>,
    seen: Vec<bool>,
}

impl<T: Addend> GroupStates for Sum<T> {
    fn resize(&mut self, n: usize) {
        self.sum.resize(n, T::default());
        self.seen.resize(n, false);
    }

    fn empty_like(&self) -> Sum<T> {
        Sum::default()
    }

    fn group_bytes(&self) -> usize {
        9
    }

    fn update(&mut self, b: &GroupedRows<'_>, _grown: &mut usize) -> Result<()> {
        let v = b.arg;
        let x = T::values(v, b.len)?;
        let (s, f) = (&mut self.sum, &mut self.seen);
        for (r, g) in b.pairs() {
            if v.is_valid(r) {
                s[g] = T::add(s[g], x[r])?;
                f[g] = true;
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: Sum<T>, map: &[u32]) -> Result<()> {
        for (g, (&x, &seen)) in other.sum.iter().zip(&other.seen).enumerate() {
            if seen {
                let t = map[g] as usize;
                self.sum[t] = T::add(self.sum[t], x)?;
                self.seen[t] = true;
            }
        }
        Ok(())
    }

    fn finish(&self, _t: DataType, _all: &[Acc]) -> Result<Column> {
        Ok(with_seen(T::column(self.sum.clone()), &self.seen))
    }
}

/// The running sum of an average: integers add up in an `i128` (no overflow),
/// doubles in an `f64`.
pub(super) trait AvgSum: Copy + Default + AddAssign + std::fmt::Debug {
    /// The type of the values averaged.
    type Value: Primitive;
    fn widen(x: Self::Value) -> Self;
    fn to_f64(self) -> f64;
}

impl AvgSum for i128 {
    type Value = i64;
    #[inline]
    fn widen(x: i64) -> i128 {
        x as i128
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl AvgSum for f64 {
    type Value = f64;
    #[inline]
    fn widen(x: f64) -> f64 {
        x
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
}

/// `avg(x)`: the sum and the count of non-NULL values per group.
#[derive(Clone, Debug, Default)]
pub(super) struct Avg<S> {
    sum: Vec<S>,
    count: Vec<i64>,
}

impl<S: AvgSum> GroupStates for Avg<S> {
    fn resize(&mut self, n: usize) {
        self.sum.resize(n, S::default());
        self.count.resize(n, 0);
    }

    fn empty_like(&self) -> Avg<S> {
        Avg::default()
    }

    fn group_bytes(&self) -> usize {
        std::mem::size_of::<S>() + 8
    }

    fn update(&mut self, b: &GroupedRows<'_>, _grown: &mut usize) -> Result<()> {
        let v = b.arg;
        let x = S::Value::values(v, b.len)?;
        let (s, c) = (&mut self.sum, &mut self.count);
        for (r, g) in b.pairs() {
            if v.is_valid(r) {
                s[g] += S::widen(x[r]);
                c[g] += 1;
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: Avg<S>, map: &[u32]) -> Result<()> {
        for (g, (&s, &c)) in other.sum.iter().zip(&other.count).enumerate() {
            let t = map[g] as usize;
            self.sum[t] += s;
            self.count[t] += c;
        }
        Ok(())
    }

    fn finish(&self, _t: DataType, _all: &[Acc]) -> Result<Column> {
        let v = self
            .sum
            .iter()
            .zip(&self.count)
            .map(|(&s, &c)| if c > 0 { s.to_f64() / c as f64 } else { 0.0 })
            .collect();
        let seen: Vec<bool> = self.count.iter().map(|&c| c > 0).collect();
        Ok(with_seen(ColumnData::Float64(v), &seen))
    }
}
