//! Quantiles: exact `quantile_cont(x, q)` and `quantile_disc(x, q)` (every value
//! kept, selected at the end) and `approx_quantile(x, q)` (a mergeable sketch).

use super::{Acc, GroupStates, GroupedRows};
use crate::column::{Column, ColumnData, Value};
use crate::error::{Error, Result};
use crate::exec::sketch::QuantileSketch;
use crate::exec::vector;
use crate::schema::DataType;

/// Exact `quantile_cont(x, q)` (or `quantile_disc` when `disc`): every value of
/// each group, and q.
#[derive(Clone, Debug)]
pub(super) struct Quantile {
    vals: Vec<Vec<f64>>,
    q: f64,
    disc: bool,
}

impl Quantile {
    pub(super) fn new(q: f64, disc: bool) -> Quantile {
        Quantile {
            vals: Vec::new(),
            q,
            disc,
        }
    }
}

impl GroupStates for Quantile {
    fn resize(&mut self, n: usize) {
        self.vals.resize_with(n, Vec::new);
    }

    fn empty_like(&self) -> Quantile {
        Quantile::new(self.q, self.disc)
    }

    fn group_bytes(&self) -> usize {
        24
    }

    fn update(&mut self, b: &GroupedRows<'_>, grown: &mut usize) -> Result<()> {
        let v = b.arg;
        let x = vector::floats(v, b.len)?;
        let vals = &mut self.vals;
        let mut added = 0usize;
        for (r, g) in b.pairs() {
            if v.is_valid(r) {
                vals[g].push(x[r]);
                added += 1;
            }
        }
        *grown += added * 8;
        Ok(())
    }

    fn merge(&mut self, other: Quantile, map: &[u32]) -> Result<()> {
        for (g, v) in other.vals.into_iter().enumerate() {
            self.vals[map[g] as usize].extend(v);
        }
        Ok(())
    }

    /// Reads the positions [`select_quantiles`] selected.
    fn finish(&self, t: DataType, _all: &[Acc]) -> Result<Column> {
        Ok(quantile_column(&self.vals, self.q, self.disc, t))
    }
}

/// An exact quantile over the same values as aggregate `of` (a [`Quantile`]):
/// p50/p95/p99 of one column keep its values once. It has no state of its own.
#[derive(Clone, Debug)]
pub(super) struct SharedQuantile {
    of: usize,
    q: f64,
    disc: bool,
}

impl SharedQuantile {
    pub(super) fn new(of: usize, q: f64, disc: bool) -> SharedQuantile {
        SharedQuantile { of, q, disc }
    }
}

impl GroupStates for SharedQuantile {
    fn resize(&mut self, _n: usize) {}

    fn empty_like(&self) -> SharedQuantile {
        SharedQuantile::new(self.of, self.q, self.disc)
    }

    fn group_bytes(&self) -> usize {
        0
    }

    fn update(&mut self, _b: &GroupedRows<'_>, _grown: &mut usize) -> Result<()> {
        Ok(())
    }

    fn merge(&mut self, _other: SharedQuantile, _map: &[u32]) -> Result<()> {
        Ok(())
    }

    fn finish(&self, t: DataType, all: &[Acc]) -> Result<Column> {
        let Some(Acc::Quantile(values)) = all.get(self.of) else {
            return Err(Error::Internal("shared quantile without values".into()));
        };
        Ok(quantile_column(&values.vals, self.q, self.disc, t))
    }
}

/// Partially orders each value buffer of the exact quantiles among `accs` so
/// that the positions its quantiles (its own and those sharing it) read hold
/// what a full sort would put there.
pub(super) fn select_quantiles(accs: &mut [Acc]) {
    let mut qs_of: Vec<Vec<(f64, bool)>> = vec![Vec::new(); accs.len()];
    for (i, a) in accs.iter().enumerate() {
        match a {
            Acc::Quantile(s) => qs_of[i].push((s.q, s.disc)),
            Acc::SharedQuantile(s) => {
                if let Some(qs) = qs_of.get_mut(s.of) {
                    qs.push((s.q, s.disc));
                }
            }
            _ => {}
        }
    }
    let mut positions = Vec::new();
    for (a, qs) in accs.iter_mut().zip(&qs_of) {
        if let Acc::Quantile(s) = a {
            for v in s.vals.iter_mut() {
                quantile_positions(v.len(), qs, &mut positions);
                select_positions(v, &positions);
            }
        }
    }
}

/// `approx_quantile(x, q)`: a quantile sketch per group, and q.
#[derive(Clone, Debug)]
pub(super) struct ApproxQuantile {
    sketches: Vec<QuantileSketch>,
    q: f64,
}

impl ApproxQuantile {
    pub(super) fn new(q: f64) -> ApproxQuantile {
        ApproxQuantile {
            sketches: Vec::new(),
            q,
        }
    }
}

impl GroupStates for ApproxQuantile {
    fn resize(&mut self, n: usize) {
        self.sketches.resize_with(n, QuantileSketch::default);
    }

    fn empty_like(&self) -> ApproxQuantile {
        ApproxQuantile::new(self.q)
    }

    fn group_bytes(&self) -> usize {
        std::mem::size_of::<QuantileSketch>() + 256
    }

    fn update(&mut self, b: &GroupedRows<'_>, _grown: &mut usize) -> Result<()> {
        let v = b.arg;
        let x = vector::floats(v, b.len)?;
        let sk = &mut self.sketches;
        for (r, g) in b.pairs() {
            if v.is_valid(r) {
                sk[g].add(x[r]);
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: ApproxQuantile, map: &[u32]) -> Result<()> {
        for (g, s) in other.sketches.into_iter().enumerate() {
            self.sketches[map[g] as usize].merge(s);
        }
        Ok(())
    }

    fn finish(&self, t: DataType, _all: &[Acc]) -> Result<Column> {
        let mut out = Column::new(ColumnData::empty(t.physical()));
        for s in &self.sketches {
            vector::push_value(&mut out, &quantile_value(s.quantile(self.q), t));
        }
        Ok(out)
    }
}

/// The column of quantile `q` (discrete when `disc`) of each value buffer
/// (selected by [`select_quantiles`]), of result type `t`.
fn quantile_column(vals: &[Vec<f64>], q: f64, disc: bool, t: DataType) -> Column {
    let mut out = Column::new(ColumnData::empty(t.physical()));
    for v in vals {
        let x = if disc {
            v.get(disc_position(v.len(), q)).copied()
        } else if t.decimal().is_some() {
            quantile_sorted_exact(v, q)
        } else {
            quantile_sorted(v, q)
        };
        vector::push_value(&mut out, &quantile_value(x, t));
    }
    out
}

/// DuckDB's `quantile_disc` position among `n` sorted values: `ceil(q * n) - 1`,
/// at least 0.
fn disc_position(n: usize, q: f64) -> usize {
    ((q * n as f64).ceil() as usize)
        .saturating_sub(1)
        .min(n.saturating_sub(1))
}

/// A quantile as a value of result type `t` (integers rounded, NULL for none).
fn quantile_value(x: Option<f64>, t: DataType) -> Value {
    match x {
        None => Value::Null,
        Some(x) if t == DataType::Double => Value::Float(x),
        Some(x) => Value::Int(x.round() as i64),
    }
}

/// DuckDB's `quantile_cont` (linear interpolation between the values at
/// `floor(q * (n - 1))` and `ceil(q * (n - 1))`) of values sorted by
/// `f64::total_cmp`.
pub(super) fn quantile_sorted(v: &[f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let pos = q * (v.len() - 1) as f64;
    let lo = (pos.floor() as usize).min(v.len() - 1);
    let hi = (pos.ceil() as usize).min(v.len() - 1);
    let (a, b, d) = (v[lo], v[hi], pos - lo as f64);
    if d == 0.0 || a == b {
        return Some(a);
    }
    let x = a + d * (b - a);
    // Far-apart finite values whose difference overflows: weigh each instead.
    if !x.is_finite() && a.is_finite() && b.is_finite() {
        return Some(a * (1.0 - d) + b * d);
    }
    Some(x)
}

/// [`quantile_sorted`] of exact numbers (DECIMALs as scaled integers),
/// truncated toward zero to a whole unit of the last digit, as DuckDB 2.0
/// interpolates DECIMALs.
fn quantile_sorted_exact(v: &[f64], q: f64) -> Option<f64> {
    quantile_sorted(v, q).map(f64::trunc)
}

/// The positions [`quantile_sorted`] (or [`disc_position`], for a `(q, true)`)
/// reads for each of `qs` in `n` values, in increasing order without repeats
/// (into `out`).
fn quantile_positions(n: usize, qs: &[(f64, bool)], out: &mut Vec<usize>) {
    out.clear();
    if n == 0 {
        return;
    }
    for &(q, disc) in qs {
        if disc {
            out.push(disc_position(n, q));
            continue;
        }
        let pos = q * (n - 1) as f64;
        out.push((pos.floor() as usize).min(n - 1));
        out.push((pos.ceil() as usize).min(n - 1));
    }
    out.sort_unstable();
    out.dedup();
}

/// Reorders `v` so that each of `positions` (increasing) holds the value a sort
/// by `f64::total_cmp` would put there, in expected linear time per position:
/// each selection runs on the part above the previous one, and a position right
/// after the previous one only needs the minimum of that part.
fn select_positions(v: &mut [f64], positions: &[usize]) {
    let mut start = 0;
    for &p in positions {
        if p < start || p >= v.len() {
            continue;
        }
        let rest = &mut v[start..];
        if p == start {
            let mut m = 0;
            for (i, x) in rest.iter().enumerate().skip(1) {
                if x.total_cmp(&rest[m]).is_lt() {
                    m = i;
                }
            }
            rest.swap(0, m);
        } else {
            rest.select_nth_unstable_by(p - start, f64::total_cmp);
        }
        start = p + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::{disc_position, quantile_positions, quantile_sorted, select_positions};
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            (-5i32..5).prop_map(f64::from),
            any::<f64>(),
            Just(f64::NAN),
            Just(-f64::NAN),
            Just(0.0),
            Just(-0.0),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
        ]
    }

    fn q() -> impl Strategy<Value = f64> {
        prop_oneof![Just(0.0), Just(0.5), Just(1.0), Just(0.99), 0.0f64..=1.0]
    }

    proptest! {
        #[test]
        fn selection_matches_sort(
            v in proptest::collection::vec(value(), 0..200),
            qs in proptest::collection::vec(q(), 1..5),
        ) {
            let mut sorted = v.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let mut sel = v.clone();
            let mut positions = Vec::new();
            let with_disc: Vec<(f64, bool)> =
                qs.iter().flat_map(|&q| [(q, false), (q, true)]).collect();
            quantile_positions(sel.len(), &with_disc, &mut positions);
            select_positions(&mut sel, &positions);
            for &q in &qs {
                let a = quantile_sorted(&sorted, q).map(f64::to_bits);
                let b = quantile_sorted(&sel, q).map(f64::to_bits);
                prop_assert_eq!(a, b, "q = {}", q);
                if !sorted.is_empty() {
                    let p = disc_position(sorted.len(), q);
                    prop_assert_eq!(sorted[p].to_bits(), sel[p].to_bits());
                }
            }
            for &p in &positions {
                prop_assert_eq!(sorted[p].to_bits(), sel[p].to_bits());
            }
        }
    }
}
