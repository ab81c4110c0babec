//! Hash aggregation.
//!
//! Group keys are encoded row by row into one reusable byte buffer (a NULL flag and
//! the fixed-size value, or length-prefixed bytes for strings) and looked up in a
//! hashbrown table; a new group allocates its key once. Dictionary-encoded string
//! keys are encoded as their code while a segment is processed (a per-segment
//! table); when the segment ends, codes are translated to strings once per group and
//! the groups merged into the thread's table. Threads' tables are merged at the end.
//!
//! Later optimization (not done): a dense array instead of a hash table when every
//! key is a small-domain code or a small integer range.

use std::sync::Arc;

use hashbrown::{HashMap, HashSet};

use super::sketch::{self, Hll, QuantileSketch};
use super::vector::{self, VData, Vector};
use crate::column::{Bitmap, Column, ColumnData, StringVec, Value};
use crate::error::{Error, Result};
use crate::schema::{DataType, PhysicalType};
use crate::sql::plan::{AggExpr, AggFunc};

/// How one key column is encoded in a table.
#[derive(Clone, Debug)]
enum KeyKind {
    Plain(PhysicalType),
    /// Codes into this dictionary (segment-local tables only).
    Dict(Arc<StringVec>),
}

/// Appends the encoding of row `i` of `v` to `buf` (strings as bytes).
#[inline]
pub(crate) fn encode(buf: &mut Vec<u8>, v: &Vector, i: usize, local_dict: bool) {
    if !v.is_valid(i) {
        buf.push(0);
        return;
    }
    buf.push(1);
    match &v.data {
        VData::Int(x) => buf.extend_from_slice(&x[i].to_le_bytes()),
        VData::Float(x) => buf.extend_from_slice(&norm_f64(x[i]).to_le_bytes()),
        VData::Bool(x) => buf.push(x[i] as u8),
        VData::Ip(x) => buf.extend_from_slice(&x[i].to_le_bytes()),
        VData::Dict { codes, .. } if local_dict => buf.extend_from_slice(&codes[i].to_le_bytes()),
        VData::Str(_) | VData::Dict { .. } => push_str(buf, v.str_at(i)),
        VData::Const(c) => match c {
            Value::Int(x) => buf.extend_from_slice(&x.to_le_bytes()),
            Value::Float(x) => buf.extend_from_slice(&norm_f64(*x).to_le_bytes()),
            Value::Bool(x) => buf.push(*x as u8),
            Value::Ip(x) => buf.extend_from_slice(&x.to_le_bytes()),
            Value::Str(s) => push_str(buf, s),
            Value::Null => {}
        },
    }
}

#[inline]
fn push_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// Bits of a double with -0.0 folded into 0.0 and one NaN (DuckDB groups them so).
#[inline]
fn norm_f64(x: f64) -> u64 {
    if x.is_nan() {
        f64::NAN.to_bits()
    } else if x == 0.0 {
        0
    } else {
        x.to_bits()
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let s = self
            .b
            .get(self.pos..self.pos + n)
            .ok_or_else(|| Error::Internal("truncated group key".into()))?;
        self.pos += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn u128(&mut self) -> Result<u128> {
        let mut a = [0u8; 16];
        a.copy_from_slice(self.take(16)?);
        Ok(u128::from_le_bytes(a))
    }
}

/// Per-group state of one aggregate, stored column-wise over group ids.
#[derive(Debug)]
enum Acc {
    Count(Vec<i64>),
    SumInt(Vec<i64>, Vec<bool>),
    SumFloat(Vec<f64>, Vec<bool>),
    AvgInt(Vec<i128>, Vec<i64>),
    AvgFloat(Vec<f64>, Vec<i64>),
    MinMaxInt(Vec<i64>, Vec<bool>, bool),
    MinMaxFloat(Vec<f64>, Vec<bool>, bool),
    MinMaxBool(Vec<bool>, Vec<bool>, bool),
    MinMaxIp(Vec<u128>, Vec<bool>, bool),
    MinMaxStr(Vec<Option<Box<str>>>, bool),
    CountDistinct(Vec<HashSet<Box<[u8]>>>),
    /// count_if: rows where the argument is TRUE, and whether any was not NULL
    /// (DuckDB returns NULL when none was, like a sum).
    CountTrue(Vec<i64>, Vec<bool>),
    ApproxDistinct(Vec<Hll>),
    /// Exact quantile: every value of each group, and q.
    Quantile(Vec<Vec<f64>>, f64),
    ApproxQuantile(Vec<QuantileSketch>, f64),
    /// arg_max / arg_min: the best (val, arg) per group; true for max.
    ArgBest(Vec<Option<(Value, Value)>>, bool),
}

impl Acc {
    fn new(a: &AggExpr) -> Acc {
        let at = a.arg.as_ref().map_or(DataType::BigInt, |e| e.data_type());
        let is_max = a.func == AggFunc::Max;
        match a.func {
            AggFunc::CountStar => Acc::Count(Vec::new()),
            AggFunc::CountIf => Acc::CountTrue(Vec::new(), Vec::new()),
            AggFunc::ApproxCountDistinct => Acc::ApproxDistinct(Vec::new()),
            AggFunc::QuantileCont => Acc::Quantile(Vec::new(), a.quantile),
            AggFunc::ApproxQuantile => Acc::ApproxQuantile(Vec::new(), a.quantile),
            AggFunc::ArgMax => Acc::ArgBest(Vec::new(), true),
            AggFunc::ArgMin => Acc::ArgBest(Vec::new(), false),
            AggFunc::Count if a.distinct => Acc::CountDistinct(Vec::new()),
            AggFunc::Count => Acc::Count(Vec::new()),
            AggFunc::Sum if at == DataType::Double => Acc::SumFloat(Vec::new(), Vec::new()),
            AggFunc::Sum => Acc::SumInt(Vec::new(), Vec::new()),
            AggFunc::Avg if at == DataType::Double => Acc::AvgFloat(Vec::new(), Vec::new()),
            AggFunc::Avg => Acc::AvgInt(Vec::new(), Vec::new()),
            AggFunc::Min | AggFunc::Max => match at.physical() {
                PhysicalType::Int64 => Acc::MinMaxInt(Vec::new(), Vec::new(), is_max),
                PhysicalType::Float64 => Acc::MinMaxFloat(Vec::new(), Vec::new(), is_max),
                PhysicalType::Bool => Acc::MinMaxBool(Vec::new(), Vec::new(), is_max),
                PhysicalType::Ip => Acc::MinMaxIp(Vec::new(), Vec::new(), is_max),
                PhysicalType::Utf8 => Acc::MinMaxStr(Vec::new(), is_max),
            },
        }
    }

    fn resize(&mut self, n: usize) {
        match self {
            Acc::Count(c) => c.resize(n, 0),
            Acc::SumInt(s, f) => {
                s.resize(n, 0);
                f.resize(n, false);
            }
            Acc::SumFloat(s, f) => {
                s.resize(n, 0.0);
                f.resize(n, false);
            }
            Acc::AvgInt(s, c) => {
                s.resize(n, 0);
                c.resize(n, 0);
            }
            Acc::AvgFloat(s, c) => {
                s.resize(n, 0.0);
                c.resize(n, 0);
            }
            Acc::MinMaxInt(v, f, _) => {
                v.resize(n, 0);
                f.resize(n, false);
            }
            Acc::MinMaxFloat(v, f, _) => {
                v.resize(n, 0.0);
                f.resize(n, false);
            }
            Acc::MinMaxBool(v, f, _) => {
                v.resize(n, false);
                f.resize(n, false);
            }
            Acc::MinMaxIp(v, f, _) => {
                v.resize(n, 0);
                f.resize(n, false);
            }
            Acc::MinMaxStr(v, _) => v.resize(n, None),
            Acc::CountDistinct(s) => s.resize_with(n, HashSet::new),
            Acc::CountTrue(c, f) => {
                c.resize(n, 0);
                f.resize(n, false);
            }
            Acc::ApproxDistinct(h) => h.resize_with(n, Hll::default),
            Acc::Quantile(v, _) => v.resize_with(n, Vec::new),
            Acc::ApproxQuantile(v, _) => v.resize_with(n, QuantileSketch::default),
            Acc::ArgBest(v, _) => v.resize(n, None),
        }
    }

    /// Adds rows `rows` (with groups `gids`) of `arg` (None for count(*)); `arg2`
    /// is the second argument (arg_max's value) with its type.
    fn update(
        &mut self,
        arg: Option<&Vector>,
        arg2: Option<(&Vector, DataType)>,
        types: (DataType, DataType),
        rows: &[u32],
        gids: &[u32],
        len: usize,
    ) -> Result<()> {
        let Some(v) = arg else {
            if let Acc::Count(c) = self {
                for &g in gids {
                    c[g as usize] += 1;
                }
            }
            return Ok(());
        };
        if v.is_null_const() {
            return Ok(());
        }
        let pairs = rows
            .iter()
            .zip(gids)
            .map(|(&r, &g)| (r as usize, g as usize));
        match self {
            Acc::Count(c) => {
                for (r, g) in pairs {
                    c[g] += v.is_valid(r) as i64;
                }
            }
            Acc::SumInt(s, f) => {
                let x = vector::ints(v, len)?;
                for (r, g) in pairs {
                    if v.is_valid(r) {
                        s[g] = s[g].checked_add(x[r]).ok_or_else(sum_overflow)?;
                        f[g] = true;
                    }
                }
            }
            Acc::SumFloat(s, f) => {
                let x = vector::floats(v, len)?;
                for (r, g) in pairs {
                    if v.is_valid(r) {
                        s[g] += x[r];
                        f[g] = true;
                    }
                }
            }
            Acc::AvgInt(s, c) => {
                let x = vector::ints(v, len)?;
                for (r, g) in pairs {
                    if v.is_valid(r) {
                        s[g] += x[r] as i128;
                        c[g] += 1;
                    }
                }
            }
            Acc::AvgFloat(s, c) => {
                let x = vector::floats(v, len)?;
                for (r, g) in pairs {
                    if v.is_valid(r) {
                        s[g] += x[r];
                        c[g] += 1;
                    }
                }
            }
            Acc::MinMaxInt(m, f, is_max) => {
                let x = vector::ints(v, len)?;
                let is_max = *is_max;
                for (r, g) in pairs {
                    if v.is_valid(r) && (!f[g] || (x[r] > m[g]) == is_max && x[r] != m[g]) {
                        m[g] = x[r];
                        f[g] = true;
                    }
                }
            }
            Acc::MinMaxFloat(m, f, is_max) => {
                let x = vector::floats(v, len)?;
                let want = if *is_max {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Less
                };
                for (r, g) in pairs {
                    if v.is_valid(r) && (!f[g] || vector::ord_f64(x[r], m[g]) == want) {
                        m[g] = x[r];
                        f[g] = true;
                    }
                }
            }
            Acc::MinMaxBool(m, f, is_max) => {
                let x = vector::bools(v, len)?;
                let is_max = *is_max;
                for (r, g) in pairs {
                    if v.is_valid(r) && (!f[g] || (x[r] != m[g] && x[r] == is_max)) {
                        m[g] = x[r];
                        f[g] = true;
                    }
                }
            }
            Acc::MinMaxIp(m, f, is_max) => {
                let x = vector::ips(v, len)?;
                let is_max = *is_max;
                for (r, g) in pairs {
                    if v.is_valid(r) && (!f[g] || (x[r] > m[g]) == is_max && x[r] != m[g]) {
                        m[g] = x[r];
                        f[g] = true;
                    }
                }
            }
            Acc::MinMaxStr(m, is_max) => {
                let is_max = *is_max;
                for (r, g) in pairs {
                    if !v.is_valid(r) {
                        continue;
                    }
                    let s = v.str_at(r);
                    let better = match &m[g] {
                        None => true,
                        Some(cur) => (s > &**cur) == is_max && s != &**cur,
                    };
                    if better {
                        m[g] = Some(s.into());
                    }
                }
            }
            Acc::CountDistinct(sets) => {
                let mut buf = Vec::new();
                for (r, g) in pairs {
                    if v.is_valid(r) {
                        buf.clear();
                        encode(&mut buf, v, r, false);
                        if !sets[g].contains(buf.as_slice()) {
                            sets[g].insert(buf.as_slice().into());
                        }
                    }
                }
            }
            Acc::CountTrue(c, f) => {
                let x = vector::bools(v, len)?;
                for (r, g) in pairs {
                    if v.is_valid(r) {
                        c[g] += x[r] as i64;
                        f[g] = true;
                    }
                }
            }
            Acc::ApproxDistinct(h) => {
                let mut buf = Vec::new();
                for (r, g) in pairs {
                    if v.is_valid(r) {
                        buf.clear();
                        encode(&mut buf, v, r, false);
                        h[g].add_hash(sketch::hash_bytes(&buf));
                    }
                }
            }
            Acc::Quantile(vals, _) => {
                let x = vector::floats(v, len)?;
                for (r, g) in pairs {
                    if v.is_valid(r) {
                        vals[g].push(x[r]);
                    }
                }
            }
            Acc::ApproxQuantile(sk, _) => {
                let x = vector::floats(v, len)?;
                for (r, g) in pairs {
                    if v.is_valid(r) {
                        sk[g].add(x[r]);
                    }
                }
            }
            Acc::ArgBest(best, is_max) => {
                let Some((val, vt)) = arg2 else {
                    return Err(Error::Internal("arg_max without a value argument".into()));
                };
                let want = if *is_max {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Less
                };
                for (r, g) in pairs {
                    if !v.is_valid(r) || !val.is_valid(r) {
                        continue;
                    }
                    let better = match &best[g] {
                        None => true,
                        Some((cur, _)) => cmp_to(val, r, vt, cur) == want,
                    };
                    if better {
                        best[g] = Some((val.value(r, vt), v.value(r, types.0)));
                    }
                }
            }
        }
        Ok(())
    }

    /// Folds `other`'s group `g` into this state's group `map[g]`.
    fn merge(&mut self, other: Acc, map: &[u32]) -> Result<()> {
        let m = |g: usize| map[g] as usize;
        match (self, other) {
            (Acc::Count(a), Acc::Count(b)) => {
                for (g, x) in b.into_iter().enumerate() {
                    a[m(g)] += x;
                }
            }
            (Acc::SumInt(a, fa), Acc::SumInt(b, fb)) => {
                for g in 0..b.len() {
                    if fb[g] {
                        let t = m(g);
                        a[t] = a[t].checked_add(b[g]).ok_or_else(sum_overflow)?;
                        fa[t] = true;
                    }
                }
            }
            (Acc::SumFloat(a, fa), Acc::SumFloat(b, fb)) => {
                for g in 0..b.len() {
                    if fb[g] {
                        a[m(g)] += b[g];
                        fa[m(g)] = true;
                    }
                }
            }
            (Acc::AvgInt(a, ca), Acc::AvgInt(b, cb)) => {
                for g in 0..b.len() {
                    a[m(g)] += b[g];
                    ca[m(g)] += cb[g];
                }
            }
            (Acc::AvgFloat(a, ca), Acc::AvgFloat(b, cb)) => {
                for g in 0..b.len() {
                    a[m(g)] += b[g];
                    ca[m(g)] += cb[g];
                }
            }
            (Acc::MinMaxInt(a, fa, mx), Acc::MinMaxInt(b, fb, _)) => {
                for g in 0..b.len() {
                    let t = m(g);
                    if fb[g] && (!fa[t] || (b[g] > a[t]) == *mx && b[g] != a[t]) {
                        a[t] = b[g];
                        fa[t] = true;
                    }
                }
            }
            (Acc::MinMaxFloat(a, fa, mx), Acc::MinMaxFloat(b, fb, _)) => {
                let want = if *mx {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Less
                };
                for g in 0..b.len() {
                    let t = m(g);
                    if fb[g] && (!fa[t] || vector::ord_f64(b[g], a[t]) == want) {
                        a[t] = b[g];
                        fa[t] = true;
                    }
                }
            }
            (Acc::MinMaxBool(a, fa, mx), Acc::MinMaxBool(b, fb, _)) => {
                for g in 0..b.len() {
                    let t = m(g);
                    if fb[g] && (!fa[t] || (b[g] != a[t] && b[g] == *mx)) {
                        a[t] = b[g];
                        fa[t] = true;
                    }
                }
            }
            (Acc::MinMaxIp(a, fa, mx), Acc::MinMaxIp(b, fb, _)) => {
                for g in 0..b.len() {
                    let t = m(g);
                    if fb[g] && (!fa[t] || (b[g] > a[t]) == *mx && b[g] != a[t]) {
                        a[t] = b[g];
                        fa[t] = true;
                    }
                }
            }
            (Acc::MinMaxStr(a, mx), Acc::MinMaxStr(b, _)) => {
                for (g, s) in b.into_iter().enumerate() {
                    let t = m(g);
                    if let Some(s) = s {
                        let better = match &a[t] {
                            None => true,
                            Some(cur) => (s > *cur) == *mx && s != *cur,
                        };
                        if better {
                            a[t] = Some(s);
                        }
                    }
                }
            }
            (Acc::CountDistinct(a), Acc::CountDistinct(b)) => {
                for (g, set) in b.into_iter().enumerate() {
                    a[m(g)].extend(set);
                }
            }
            (Acc::CountTrue(a, fa), Acc::CountTrue(b, fb)) => {
                for g in 0..b.len() {
                    a[m(g)] += b[g];
                    fa[m(g)] |= fb[g];
                }
            }
            (Acc::ApproxDistinct(a), Acc::ApproxDistinct(b)) => {
                for (g, h) in b.iter().enumerate() {
                    a[m(g)].merge(h);
                }
            }
            (Acc::Quantile(a, _), Acc::Quantile(b, _)) => {
                for (g, v) in b.into_iter().enumerate() {
                    a[m(g)].extend(v);
                }
            }
            (Acc::ApproxQuantile(a, _), Acc::ApproxQuantile(b, _)) => {
                for (g, s) in b.into_iter().enumerate() {
                    a[m(g)].merge(s);
                }
            }
            (Acc::ArgBest(a, is_max), Acc::ArgBest(b, _)) => {
                let want = if *is_max {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Less
                };
                for (g, x) in b.into_iter().enumerate() {
                    let t = m(g);
                    if let Some((val, arg)) = x {
                        let better = match &a[t] {
                            None => true,
                            Some((cur, _)) => cmp_values(&val, cur) == want,
                        };
                        if better {
                            a[t] = Some((val, arg));
                        }
                    }
                }
            }
            _ => return Err(Error::Internal("merging different aggregate states".into())),
        }
        Ok(())
    }

    fn finish(&self, t: DataType) -> Column {
        if let Some(c) = self.finish_extra(t) {
            return c;
        }
        let with_seen = |data: ColumnData, seen: &[bool]| Column {
            data,
            validity: seen
                .iter()
                .any(|s| !s)
                .then(|| Bitmap::from_words(words_of(seen), seen.len())),
        };
        match self {
            Acc::Count(c) => Column::new(ColumnData::Int64(c.clone())),
            Acc::CountDistinct(s) => Column::new(ColumnData::Int64(
                s.iter().map(|x| x.len() as i64).collect(),
            )),
            Acc::SumInt(s, f) => with_seen(ColumnData::Int64(s.clone()), f),
            Acc::SumFloat(s, f) => with_seen(ColumnData::Float64(s.clone()), f),
            Acc::AvgInt(s, c) => {
                let v = s
                    .iter()
                    .zip(c)
                    .map(|(&s, &c)| if c > 0 { s as f64 / c as f64 } else { 0.0 })
                    .collect();
                let seen: Vec<bool> = c.iter().map(|&c| c > 0).collect();
                with_seen(ColumnData::Float64(v), &seen)
            }
            Acc::AvgFloat(s, c) => {
                let v = s
                    .iter()
                    .zip(c)
                    .map(|(&s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
                    .collect();
                let seen: Vec<bool> = c.iter().map(|&c| c > 0).collect();
                with_seen(ColumnData::Float64(v), &seen)
            }
            Acc::MinMaxInt(v, f, _) => with_seen(ColumnData::Int64(v.clone()), f),
            Acc::MinMaxFloat(v, f, _) => with_seen(ColumnData::Float64(v.clone()), f),
            Acc::MinMaxBool(v, f, _) => with_seen(ColumnData::Bool(v.clone()), f),
            Acc::MinMaxIp(v, f, _) => with_seen(ColumnData::Ip(v.clone()), f),
            Acc::CountTrue(..)
            | Acc::ApproxDistinct(_)
            | Acc::Quantile(..)
            | Acc::ApproxQuantile(..)
            | Acc::ArgBest(..) => Column::new(ColumnData::empty(t.physical())),
            Acc::MinMaxStr(v, _) => {
                let mut s = StringVec::new();
                for x in v {
                    s.push(x.as_deref().unwrap_or(""));
                }
                let seen: Vec<bool> = v.iter().map(Option::is_some).collect();
                let _ = t;
                with_seen(ColumnData::Utf8(s), &seen)
            }
        }
    }
}

impl Acc {
    /// Results of the aggregates added after the first slice (None for others).
    fn finish_extra(&self, t: DataType) -> Option<Column> {
        let mut out = Column::new(ColumnData::empty(t.physical()));
        let as_value = |x: Option<f64>| match x {
            None => Value::Null,
            Some(x) if t == DataType::Double => Value::Float(x),
            Some(x) => Value::Int(x.round() as i64),
        };
        match self {
            Acc::CountTrue(c, f) => {
                for (&c, &f) in c.iter().zip(f) {
                    vector::push_value(&mut out, &if f { Value::Int(c) } else { Value::Null });
                }
            }
            Acc::ApproxDistinct(h) => {
                return Some(Column::new(ColumnData::Int64(
                    h.iter().map(Hll::estimate).collect(),
                )))
            }
            Acc::Quantile(vals, q) => {
                for v in vals {
                    let mut v = v.clone();
                    vector::push_value(&mut out, &as_value(quantile_cont(&mut v, *q)));
                }
            }
            Acc::ApproxQuantile(sk, q) => {
                for s in sk {
                    vector::push_value(&mut out, &as_value(s.quantile(*q)));
                }
            }
            Acc::ArgBest(best, _) => {
                for b in best {
                    let v = b.as_ref().map_or(Value::Null, |(_, a)| a.clone());
                    vector::push_value(&mut out, &v);
                }
            }
            _ => return None,
        }
        Some(out)
    }
}

/// DuckDB's `quantile_cont`: linear interpolation between the values at
/// `floor(q * (n - 1))` and `ceil(q * (n - 1))` of the sorted input.
pub(crate) fn quantile_cont(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (pos.ceil() as usize).min(v.len() - 1);
    let (_, &mut lo_v, rest) = v.select_nth_unstable_by(lo, f64::total_cmp);
    let hi_v = if hi == lo {
        lo_v
    } else {
        rest.iter().copied().min_by(f64::total_cmp).unwrap_or(lo_v)
    };
    Some(lo_v + (pos - lo as f64) * (hi_v - lo_v))
}

/// Compares row `r` of `v` (type `t`) with a value, without allocating.
fn cmp_to(v: &Vector, r: usize, t: DataType, cur: &Value) -> std::cmp::Ordering {
    if let (VData::Str(_) | VData::Dict { .. }, Value::Str(c)) = (&v.data, cur) {
        return v.str_at(r).cmp(c);
    }
    cmp_values(&v.value(r, t), cur)
}

fn cmp_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => vector::ord_f64(*x, *y),
        (Value::Int(x), Value::Float(y)) => vector::ord_f64(*x as f64, *y),
        (Value::Float(x), Value::Int(y)) => vector::ord_f64(*x, *y as f64),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Ip(x), Value::Ip(y)) => x.cmp(y),
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

fn words_of(bits: &[bool]) -> Vec<u64> {
    let mut w = vec![0u64; bits.len().div_ceil(64)];
    for (i, &b) in bits.iter().enumerate() {
        if b {
            w[i / 64] |= 1 << (i % 64);
        }
    }
    w
}

fn sum_overflow() -> Error {
    Error::InvalidInput(
        "Out of Range Error: Overflow in SUM: the result does not fit in BIGINT \
         (logdb sums integers as BIGINT; DuckDB would use HUGEINT)"
            .into(),
    )
}

/// A group table: keys, their ids, and per-aggregate states.
pub struct GroupTable {
    key_types: Vec<DataType>,
    kinds: Vec<KeyKind>,
    map: HashMap<Box<[u8]>, u32>,
    keys: Vec<Box<[u8]>>,
    accs: Vec<Acc>,
    /// Scratch: the current key, and group ids of a batch.
    buf: Vec<u8>,
    gids: Vec<u32>,
}

impl GroupTable {
    pub fn new(key_types: Vec<DataType>, aggs: &[AggExpr]) -> GroupTable {
        let kinds = key_types
            .iter()
            .map(|t| KeyKind::Plain(t.physical()))
            .collect();
        GroupTable {
            key_types,
            kinds,
            map: HashMap::new(),
            keys: Vec::new(),
            accs: aggs.iter().map(Acc::new).collect(),
            buf: Vec::new(),
            gids: Vec::new(),
        }
    }

    fn empty_like(&self) -> GroupTable {
        GroupTable {
            key_types: self.key_types.clone(),
            kinds: self.kinds.clone(),
            map: HashMap::new(),
            keys: Vec::new(),
            accs: Vec::new(),
            buf: Vec::new(),
            gids: Vec::new(),
        }
    }

    pub fn num_groups(&self) -> usize {
        self.keys.len()
    }

    fn group_of(&mut self) -> u32 {
        if let Some(&g) = self.map.get(self.buf.as_slice()) {
            return g;
        }
        let g = self.keys.len() as u32;
        let key: Box<[u8]> = self.buf.as_slice().into();
        self.map.insert(key.clone(), g);
        self.keys.push(key);
        g
    }

    fn grow(&mut self) {
        let n = self.keys.len();
        for a in &mut self.accs {
            a.resize(n);
        }
    }

    /// Ensures the single group of an aggregate without GROUP BY exists.
    pub fn ensure_empty_key_group(&mut self) {
        self.buf.clear();
        self.group_of();
        self.grow();
    }

    /// Adds the rows `rows` of a batch: `keys` are the key vectors, `inputs` the
    /// aggregate inputs.
    fn update(
        &mut self,
        keys: &[&Vector],
        inputs: &[AggInput<'_>],
        rows: &[u32],
        len: usize,
        local: bool,
    ) -> Result<()> {
        let mut gids = std::mem::take(&mut self.gids);
        gids.clear();
        for &r in rows {
            self.buf.clear();
            for k in keys {
                encode(&mut self.buf, k, r as usize, local);
            }
            gids.push(self.group_of());
        }
        self.grow();
        let (mut frows, mut fgids) = (Vec::new(), Vec::new());
        for (a, inp) in self.accs.iter_mut().zip(inputs) {
            let (rs, gs): (&[u32], &[u32]) = match inp.filter {
                None => (rows, &gids),
                Some(f) => {
                    // FILTER (WHERE ...): keep the rows where it is TRUE.
                    let b = vector::bools(f, len)?;
                    frows.clear();
                    fgids.clear();
                    for (&r, &g) in rows.iter().zip(&gids) {
                        if f.is_valid(r as usize) && b[r as usize] {
                            frows.push(r);
                            fgids.push(g);
                        }
                    }
                    (&frows, &fgids)
                }
            };
            a.update(inp.arg, inp.arg2, inp.types, rs, gs, len)?;
        }
        self.gids = gids;
        Ok(())
    }

    /// Merges `other` (with the same aggregates) into this table, translating
    /// dictionary codes in its keys to strings.
    fn merge(&mut self, other: GroupTable) -> Result<()> {
        let mut map = Vec::with_capacity(other.keys.len());
        for key in &other.keys {
            self.buf.clear();
            let mut r = Reader { b: key, pos: 0 };
            for kind in &other.kinds {
                let flag = r.take(1)?[0];
                self.buf.push(flag);
                if flag == 0 {
                    continue;
                }
                match kind {
                    KeyKind::Dict(d) => {
                        let c = r.u32()? as usize;
                        let s = if c < d.len() { d.get(c) } else { "" };
                        push_str(&mut self.buf, s);
                    }
                    KeyKind::Plain(p) => {
                        let n = match p {
                            PhysicalType::Int64 | PhysicalType::Float64 => 8,
                            PhysicalType::Bool => 1,
                            PhysicalType::Ip => 16,
                            PhysicalType::Utf8 => {
                                let l = r.u32()?;
                                self.buf.extend_from_slice(&l.to_le_bytes());
                                l as usize
                            }
                        };
                        let bytes = r.take(n)?;
                        self.buf.extend_from_slice(bytes);
                    }
                }
            }
            map.push(self.group_of());
        }
        self.grow();
        for (a, b) in self.accs.iter_mut().zip(other.accs) {
            a.merge(b, &map)?;
        }
        Ok(())
    }

    /// The result: key columns, then one column per aggregate.
    pub fn finish(&self, aggs: &[AggExpr]) -> Result<Vec<Column>> {
        let mut cols: Vec<Column> = self
            .key_types
            .iter()
            .map(|t| Column::new(ColumnData::empty(t.physical())))
            .collect();
        let mut validity: Vec<Vec<bool>> = vec![Vec::with_capacity(self.keys.len()); cols.len()];
        for key in &self.keys {
            let mut r = Reader { b: key, pos: 0 };
            for (i, c) in cols.iter_mut().enumerate() {
                let valid = r.take(1)?[0] == 1;
                validity[i].push(valid);
                if !valid {
                    c.data.push_default();
                    continue;
                }
                match &mut c.data {
                    ColumnData::Int64(v) => v.push(r.u64()? as i64),
                    ColumnData::Float64(v) => v.push(f64::from_bits(r.u64()?)),
                    ColumnData::Bool(v) => v.push(r.take(1)?[0] != 0),
                    ColumnData::Ip(v) => v.push(r.u128()?),
                    ColumnData::Utf8(v) => {
                        let l = r.u32()? as usize;
                        let b = r.take(l)?;
                        let s = std::str::from_utf8(b)
                            .map_err(|_| Error::Internal("group key is not UTF-8".into()))?;
                        v.push(s);
                    }
                }
            }
        }
        for (c, v) in cols.iter_mut().zip(validity) {
            if v.iter().any(|x| !x) {
                c.validity = Some(Bitmap::from_words(words_of(&v), v.len()));
            }
        }
        for (a, e) in self.accs.iter().zip(aggs) {
            cols.push(a.finish(e.data_type));
        }
        Ok(cols)
    }
}

/// One aggregate's evaluated inputs for a batch.
#[derive(Clone, Copy)]
pub struct AggInput<'a> {
    /// The argument (None for count(*)).
    pub arg: Option<&'a Vector>,
    /// The second argument and its type (arg_max's value).
    pub arg2: Option<(&'a Vector, DataType)>,
    /// The FILTER condition.
    pub filter: Option<&'a Vector>,
    /// The types of the argument and the result.
    pub types: (DataType, DataType),
}

impl<'a> AggInput<'a> {
    pub fn new(
        a: &AggExpr,
        arg: Option<&'a Vector>,
        arg2: Option<&'a Vector>,
        filter: Option<&'a Vector>,
    ) -> AggInput<'a> {
        let at = a.arg.as_ref().map_or(DataType::BigInt, |e| e.data_type());
        let vt = a.arg2.as_ref().map_or(DataType::BigInt, |e| e.data_type());
        AggInput {
            arg,
            arg2: arg2.map(|v| (v, vt)),
            filter,
            types: (at, a.data_type),
        }
    }
}

/// A thread's aggregation state: its table plus the current segment's table when
/// keys are dictionary codes.
pub struct AggState {
    pub table: GroupTable,
    local: Option<GroupTable>,
    aggs: Vec<AggExpr>,
}

impl AggState {
    pub fn new(key_types: Vec<DataType>, aggs: &[AggExpr]) -> AggState {
        AggState {
            table: GroupTable::new(key_types, aggs),
            local: None,
            aggs: aggs.to_vec(),
        }
    }

    /// Adds a batch's selected rows.
    pub fn update(
        &mut self,
        keys: &[&Vector],
        args: &[AggInput<'_>],
        rows: &[u32],
        len: usize,
    ) -> Result<()> {
        let any_dict = keys.iter().any(|k| matches!(k.data, VData::Dict { .. }));
        if !any_dict {
            return self.table.update(keys, args, rows, len, false);
        }
        // Dictionary keys: group by code in a per-segment table.
        let compatible = self.local.as_ref().is_some_and(|l| {
            l.kinds
                .iter()
                .zip(keys)
                .all(|(kind, k)| match (kind, &k.data) {
                    (KeyKind::Dict(d), VData::Dict { dict, .. }) => Arc::ptr_eq(d, dict),
                    (KeyKind::Plain(_), VData::Dict { .. }) | (KeyKind::Dict(_), _) => false,
                    (KeyKind::Plain(_), _) => true,
                })
        });
        if !compatible {
            self.flush()?;
            let mut t = GroupTable::new(self.table.key_types.clone(), &self.aggs);
            t.kinds = keys
                .iter()
                .zip(&self.table.key_types)
                .map(|(k, ty)| match &k.data {
                    VData::Dict { dict, .. } => KeyKind::Dict(dict.clone()),
                    _ => KeyKind::Plain(ty.physical()),
                })
                .collect();
            self.local = Some(t);
        }
        match &mut self.local {
            Some(l) => l.update(keys, args, rows, len, true),
            None => Err(Error::Internal("no segment-local group table".into())),
        }
    }

    /// Moves the segment-local groups into the thread's table.
    pub fn flush(&mut self) -> Result<()> {
        if let Some(l) = self.local.take() {
            self.table.merge(l)?;
        }
        Ok(())
    }

    /// Merges another thread's state into this one.
    pub fn merge(&mut self, mut other: AggState) -> Result<()> {
        self.flush()?;
        other.flush()?;
        let t = std::mem::replace(&mut other.table, self.table.empty_like());
        self.table.merge(t)
    }
}
