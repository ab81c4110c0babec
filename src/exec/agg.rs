//! Hash aggregation: per-group aggregate states over the groups of a
//! [`GroupMap`](super::group::GroupMap).
//!
//! Group ids come from the group map (packed keys, dense per-segment slots); every
//! aggregate keeps its state column-wise in flat vectors indexed by group id.
//! Threads aggregate into their own tables, merged at the end (or at the end of a
//! partition when the aggregation streams). Each table reports its approximate
//! size to the query's memory pool once per block.
//!
use std::sync::Arc;

use hashbrown::HashSet;

use super::group::{norm_f64, DictSeen, FastHash, GroupMap, KeyLayout, SegmentDomains, ValueCoder};
use super::memory::Reservation;
use super::sketch::{self, Hll, QuantileSketch};
use super::vector::{self, VData, Vector};
use crate::column::{Bitmap, Column, ColumnData, StringVec, Value};
use crate::error::{Error, Result};
use crate::plan::{AggExpr, AggFunc};
use crate::schema::{DataType, PhysicalType};

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
    /// count(DISTINCT x): per group, the codes of the values seen (strings and
    /// IPs interned once per aggregate), and the argument's type.
    CountDistinct(Vec<HashSet<u64, FastHash>>, Box<ValueCoder>, PhysicalType),
    /// count_if: rows where the argument is TRUE, and whether any was not NULL
    /// (DuckDB returns NULL when none was, like a sum).
    CountTrue(Vec<i64>, Vec<bool>),
    ApproxDistinct(Vec<Hll>),
    /// Exact quantile: every value of each group, and q.
    Quantile(Vec<Vec<f64>>, f64),
    /// An exact quantile over the same values as aggregate `.0` (a `Quantile`):
    /// p50/p95/p99 of one column keep its values once.
    QuantileOf(usize, f64),
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
            AggFunc::Count if a.distinct => {
                Acc::CountDistinct(Vec::new(), Box::default(), at.physical())
            }
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
            Acc::CountDistinct(s, _, _) => s.resize_with(n, HashSet::default),
            Acc::CountTrue(c, f) => {
                c.resize(n, 0);
                f.resize(n, false);
            }
            Acc::ApproxDistinct(h) => h.resize_with(n, Hll::default),
            Acc::Quantile(v, _) => v.resize_with(n, Vec::new),
            Acc::QuantileOf(..) => {}
            Acc::ApproxQuantile(v, _) => v.resize_with(n, QuantileSketch::default),
            Acc::ArgBest(v, _) => v.resize(n, None),
        }
    }

    /// An empty state of the same aggregate.
    fn empty_like(&self) -> Acc {
        match self {
            Acc::Count(_) => Acc::Count(Vec::new()),
            Acc::SumInt(..) => Acc::SumInt(Vec::new(), Vec::new()),
            Acc::SumFloat(..) => Acc::SumFloat(Vec::new(), Vec::new()),
            Acc::AvgInt(..) => Acc::AvgInt(Vec::new(), Vec::new()),
            Acc::AvgFloat(..) => Acc::AvgFloat(Vec::new(), Vec::new()),
            Acc::MinMaxInt(_, _, m) => Acc::MinMaxInt(Vec::new(), Vec::new(), *m),
            Acc::MinMaxFloat(_, _, m) => Acc::MinMaxFloat(Vec::new(), Vec::new(), *m),
            Acc::MinMaxBool(_, _, m) => Acc::MinMaxBool(Vec::new(), Vec::new(), *m),
            Acc::MinMaxIp(_, _, m) => Acc::MinMaxIp(Vec::new(), Vec::new(), *m),
            Acc::MinMaxStr(_, m) => Acc::MinMaxStr(Vec::new(), *m),
            Acc::CountDistinct(_, _, t) => Acc::CountDistinct(Vec::new(), Box::default(), *t),
            Acc::CountTrue(..) => Acc::CountTrue(Vec::new(), Vec::new()),
            Acc::ApproxDistinct(_) => Acc::ApproxDistinct(Vec::new()),
            Acc::Quantile(_, q) => Acc::Quantile(Vec::new(), *q),
            Acc::QuantileOf(j, q) => Acc::QuantileOf(*j, *q),
            Acc::ApproxQuantile(_, q) => Acc::ApproxQuantile(Vec::new(), *q),
            Acc::ArgBest(_, m) => Acc::ArgBest(Vec::new(), *m),
        }
    }

    /// Bytes per group of the fixed-size state.
    fn group_bytes(&self) -> usize {
        match self {
            Acc::Count(_) => 8,
            Acc::SumInt(..) | Acc::SumFloat(..) | Acc::CountTrue(..) => 9,
            Acc::AvgInt(..) => 24,
            Acc::AvgFloat(..) => 16,
            Acc::MinMaxInt(..) | Acc::MinMaxFloat(..) => 9,
            Acc::MinMaxBool(..) => 2,
            Acc::MinMaxIp(..) => 17,
            Acc::MinMaxStr(..) => 16,
            Acc::CountDistinct(..) => 40,
            Acc::ApproxDistinct(_) => std::mem::size_of::<Hll>() + 64,
            Acc::Quantile(..) => 24,
            Acc::QuantileOf(..) => 0,
            Acc::ApproxQuantile(..) => std::mem::size_of::<QuantileSketch>() + 256,
            Acc::ArgBest(..) => 72,
        }
    }

    /// Adds rows `rows` (with groups `gids`) of `arg` (None for count(*)); `arg2`
    /// is the second argument (arg_max's value) with its type. Adds to `grown`
    /// the bytes of state that grows with the values (sets, buffers, strings).
    #[allow(clippy::too_many_arguments)]
    fn update(
        &mut self,
        arg: Option<&Vector>,
        arg2: Option<(&Vector, DataType)>,
        types: (DataType, DataType),
        rows: &[u32],
        gids: &[u32],
        len: usize,
        grown: &mut usize,
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
                        *grown += s.len();
                        m[g] = Some(s.into());
                    }
                }
            }
            Acc::CountDistinct(sets, coder, t) => {
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
                        for (r, g) in pairs {
                            let c = codes[r] as usize;
                            if !v.is_valid(r) {
                                continue;
                            }
                            if c >= n || !coder.seen.test_and_set(g * n + c) {
                                let id = coder.cache.id(c as u32, &mut coder.strs) as u64;
                                added += sets[g].insert(id) as usize;
                            }
                        }
                        *grown += added * 16 + coder.bytes().saturating_sub(before);
                        return Ok(());
                    }
                    _ => {}
                }
                for (r, g) in pairs {
                    if v.is_valid(r) {
                        let c = coder.code(v, r, *t);
                        added += sets[g].insert(c) as usize;
                    }
                }
                *grown += added * 16 + coder.bytes().saturating_sub(before);
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
                let mut added = 0usize;
                for (r, g) in pairs {
                    if v.is_valid(r) {
                        vals[g].push(x[r]);
                        added += 1;
                    }
                }
                *grown += added * 8;
            }
            Acc::QuantileOf(..) => {}
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
                        if best[g].is_none() {
                            *grown += 64;
                        }
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
            (Acc::CountDistinct(a, coder, t), Acc::CountDistinct(b, other, _)) => {
                let translate = matches!(t, PhysicalType::Utf8 | PhysicalType::Ip);
                for (g, set) in b.into_iter().enumerate() {
                    if translate {
                        for c in set {
                            a[m(g)].insert(coder.translate(&other, c, *t));
                        }
                    } else {
                        a[m(g)].extend(set);
                    }
                }
            }
            (Acc::QuantileOf(..), Acc::QuantileOf(..)) => {}
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
            Acc::CountDistinct(s, _, _) => Column::new(ColumnData::Int64(
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
            | Acc::QuantileOf(..)
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
                // Positions selected by `GroupTable::finish`.
                for v in vals {
                    vector::push_value(&mut out, &as_value(quantile_sorted(v, *q)));
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

/// DuckDB's `quantile_cont` (linear interpolation between the values at
/// `floor(q * (n - 1))` and `ceil(q * (n - 1))`) of values sorted by
/// `f64::total_cmp`.
pub(crate) fn quantile_sorted(v: &[f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let pos = q * (v.len() - 1) as f64;
    let lo = (pos.floor() as usize).min(v.len() - 1);
    let hi = (pos.ceil() as usize).min(v.len() - 1);
    Some(v[lo] + (pos - lo as f64) * (v[hi] - v[lo]))
}

/// The positions [`quantile_sorted`] reads for each of `qs` in `n` values, in
/// increasing order without repeats (into `out`).
fn quantile_positions(n: usize, qs: &[f64], out: &mut Vec<usize>) {
    out.clear();
    if n == 0 {
        return;
    }
    for &q in qs {
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
pub(crate) fn select_positions(v: &mut [f64], positions: &[usize]) {
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

/// A group table: the groups and per-aggregate states.
pub struct GroupTable {
    map: GroupMap,
    accs: Vec<Acc>,
    /// Bytes per group of the fixed-size states.
    group_bytes: usize,
    /// Bytes of the states that grow with the values.
    var_bytes: usize,
    /// Scratch: group ids and row numbers of a batch.
    gids: Vec<u32>,
    rows: Vec<u32>,
}

impl GroupTable {
    pub fn new(layout: KeyLayout, aggs: &[AggExpr]) -> GroupTable {
        let mut accs: Vec<Acc> = Vec::with_capacity(aggs.len());
        for (i, a) in aggs.iter().enumerate() {
            // Exact quantiles of one argument (and FILTER) share one value buffer.
            let shared = (a.func == AggFunc::QuantileCont)
                .then(|| {
                    aggs[..i].iter().position(|b| {
                        b.func == AggFunc::QuantileCont && b.arg == a.arg && b.filter == a.filter
                    })
                })
                .flatten();
            accs.push(match shared {
                Some(j) => Acc::QuantileOf(j, a.quantile),
                None => Acc::new(a),
            });
        }
        let group_bytes = accs.iter().map(Acc::group_bytes).sum();
        GroupTable {
            map: GroupMap::new(layout),
            accs,
            group_bytes,
            var_bytes: 0,
            gids: Vec::new(),
            rows: Vec::new(),
        }
    }

    pub fn num_groups(&self) -> usize {
        self.map.len()
    }

    /// Approximate bytes held.
    pub fn bytes(&self) -> usize {
        self.map.bytes() + self.map.len() * self.group_bytes + self.var_bytes
    }

    fn grow(&mut self) {
        let n = self.map.len();
        for a in &mut self.accs {
            a.resize(n);
        }
    }

    /// Ensures the single group of an aggregate without GROUP BY exists.
    pub fn ensure_empty_key_group(&mut self) {
        self.map.ensure_group();
        self.grow();
    }

    /// Adds the `len` rows of a batch: `keys` are the key vectors, `inputs` the
    /// aggregate inputs.
    fn update(&mut self, keys: &[&Vector], inputs: &[AggInput<'_>], len: usize) -> Result<()> {
        let mut gids = std::mem::take(&mut self.gids);
        let r = self.map.groups(keys, len, &mut gids);
        if let Err(e) = r {
            self.gids = gids;
            return Err(e);
        }
        self.update_groups(gids, inputs, len)
    }

    /// The group of the one-row `keys` (created if new), with every state grown
    /// to hold it.
    fn group_of_row(&mut self, keys: &[&Vector]) -> Result<usize> {
        let mut gids = std::mem::take(&mut self.gids);
        let r = self.map.groups(keys, 1, &mut gids);
        let g = gids.first().copied();
        self.gids = gids;
        r?;
        self.grow();
        g.map(|g| g as usize)
            .ok_or_else(|| Error::Internal("no group for one row of keys".into()))
    }

    /// Like `update`, for rows that all have the keys of the one-row `keys`.
    fn update_one_group(
        &mut self,
        keys: &[&Vector],
        inputs: &[AggInput<'_>],
        len: usize,
    ) -> Result<()> {
        let g = self.group_of_row(keys)? as u32;
        let mut gids = std::mem::take(&mut self.gids);
        gids.clear();
        gids.resize(len, g);
        self.update_groups(gids, inputs, len)
    }

    /// Folds the aggregate inputs of `len` rows into groups `gids` (one per row).
    fn update_groups(&mut self, gids: Vec<u32>, inputs: &[AggInput<'_>], len: usize) -> Result<()> {
        self.grow();
        if self.rows.len() < len {
            self.rows = (0..len as u32).collect();
        }
        let rows = &self.rows[..len];
        let (mut frows, mut fgids) = (Vec::new(), Vec::new());
        let mut grown = 0usize;
        let mut result = Ok(());
        for (a, inp) in self.accs.iter_mut().zip(inputs) {
            let (rs, gs): (&[u32], &[u32]) = match inp.filter {
                None => (rows, &gids),
                Some(f) => {
                    // FILTER (WHERE ...): keep the rows where it is TRUE.
                    let b = match vector::bools(f, len) {
                        Ok(b) => b,
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    };
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
            if let Err(e) = a.update(inp.arg, inp.arg2, inp.types, rs, gs, len, &mut grown) {
                result = Err(e);
                break;
            }
        }
        self.var_bytes += grown;
        self.gids = gids;
        result
    }

    /// Adds `n` rows that all have the keys of the one-row `keys`, to a table
    /// whose aggregates are all `count(*)`.
    fn add_rows(&mut self, keys: &[&Vector], n: u64) -> Result<()> {
        let g = self.group_of_row(keys)?;
        for a in &mut self.accs {
            match a {
                Acc::Count(c) => c[g] += n as i64,
                _ => return Err(Error::Internal("block counts need count(*) only".into())),
            }
        }
        Ok(())
    }

    /// Adds a whole segment whose `rows` rows all have the keys of the one-row
    /// `keys`, from its metadata. The aggregates are `count(*)` (`None` in
    /// `dicts`) and `count(DISTINCT s)` of a dictionary-encoded string column:
    /// a segment's dictionary holds exactly the column's non-NULL values there
    /// (`None` when every row is NULL).
    fn add_segment(
        &mut self,
        keys: &[&Vector],
        rows: u64,
        dicts: &[Option<Arc<StringVec>>],
    ) -> Result<()> {
        let g = self.group_of_row(keys)?;
        let mut grown = 0usize;
        for (a, d) in self.accs.iter_mut().zip(dicts) {
            match (a, d) {
                (Acc::Count(c), _) => c[g] += rows as i64,
                (Acc::CountDistinct(sets, coder, _), Some(dict)) => {
                    let before = coder.bytes();
                    let mut added = 0usize;
                    for v in dict.iter() {
                        added += sets[g].insert(coder.strs.intern(v) as u64) as usize;
                    }
                    grown += added * 16 + coder.bytes().saturating_sub(before);
                }
                (Acc::CountDistinct(..), None) => {}
                _ => {
                    return Err(Error::Internal(
                        "a segment's metadata answers no such aggregate".into(),
                    ))
                }
            }
        }
        self.var_bytes += grown;
        Ok(())
    }

    /// Merges `other` (with the same aggregates and key layout) into this table,
    /// leaving `other` empty.
    fn merge(&mut self, other: &mut GroupTable) -> Result<()> {
        let map = self.map.absorb(&other.map)?;
        self.grow();
        self.var_bytes += other.var_bytes;
        for (a, b) in self.accs.iter_mut().zip(other.accs.iter_mut()) {
            let empty = b.empty_like();
            a.merge(std::mem::replace(b, empty), &map)?;
        }
        other.clear();
        Ok(())
    }

    /// Forgets every group, keeping the memory of the group map (hash tables,
    /// keys, interners) for the next aggregation.
    fn clear(&mut self) {
        self.map.clear();
        for a in &mut self.accs {
            *a = a.empty_like();
        }
        self.var_bytes = 0;
    }

    /// The result: key columns, then one column per aggregate. With `bound`,
    /// only the groups that could still enter the top-N it describes; their key
    /// values (strings) are the only ones materialized.
    pub fn finish(&mut self, aggs: &[AggExpr], bound: Option<&AggBound>) -> Result<Vec<Column>> {
        let mut cols = Vec::with_capacity(aggs.len());
        // Each value buffer is partially ordered so that the positions its
        // quantiles read hold what a full sort would put there.
        let mut qs_of: Vec<Vec<f64>> = vec![Vec::new(); self.accs.len()];
        for (i, a) in self.accs.iter().enumerate() {
            match a {
                Acc::Quantile(_, q) => qs_of[i].push(*q),
                Acc::QuantileOf(j, q) => {
                    if let Some(qs) = qs_of.get_mut(*j) {
                        qs.push(*q);
                    }
                }
                _ => {}
            }
        }
        let mut positions = Vec::new();
        for (a, qs) in self.accs.iter_mut().zip(&qs_of) {
            if let Acc::Quantile(vals, _) = a {
                for v in vals.iter_mut() {
                    quantile_positions(v.len(), qs, &mut positions);
                    select_positions(v, &positions);
                }
            }
        }
        for (a, e) in self.accs.iter().zip(aggs) {
            let col = match a {
                Acc::QuantileOf(j, q) => {
                    let Some(Acc::Quantile(vals, _)) = self.accs.get(*j) else {
                        return Err(Error::Internal("shared quantile without values".into()));
                    };
                    let mut out = Column::new(ColumnData::empty(e.data_type.physical()));
                    for v in vals {
                        let x = match quantile_sorted(v, *q) {
                            None => Value::Null,
                            Some(x) if e.data_type == DataType::Double => Value::Float(x),
                            Some(x) => Value::Int(x.round() as i64),
                        };
                        vector::push_value(&mut out, &x);
                    }
                    out
                }
                a => a.finish(e.data_type),
            };
            cols.push(col);
        }
        let sel = bound.and_then(|b| b.select(cols.get(b.agg)?));
        let mut out = self.map.key_columns_of(sel.as_deref());
        match sel {
            Some(rows) => out.extend(cols.iter().map(|c| c.take(&rows))),
            None => out.extend(cols),
        }
        Ok(out)
    }
}

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
    fn select(&self, col: &Column) -> Option<Vec<u32>> {
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

/// A thread's aggregation state: its group table and its share of the memory
/// pool.
pub struct AggState {
    pub table: GroupTable,
    reservation: Option<Reservation>,
}

impl AggState {
    pub fn new(layout: KeyLayout, aggs: &[AggExpr], reservation: Option<Reservation>) -> AggState {
        AggState {
            table: GroupTable::new(layout, aggs),
            reservation,
        }
    }

    /// Adds a whole segment from its metadata (see `GroupTable::add_segment`).
    pub fn add_segment(
        &mut self,
        keys: &[&Vector],
        rows: u64,
        dicts: &[Option<Arc<StringVec>>],
    ) -> Result<()> {
        self.table.add_segment(keys, rows, dicts)?;
        self.account()
    }

    /// Starts a segment (integer key domains for the dense path).
    pub fn begin_segment(&mut self, domains: SegmentDomains) {
        self.table.map.begin_segment(domains);
    }

    /// Adds a batch's `len` rows (all selected).
    pub fn update(&mut self, keys: &[&Vector], args: &[AggInput<'_>], len: usize) -> Result<()> {
        self.table.update(keys, args, len)?;
        self.account()
    }

    /// Adds `n` rows with the keys of the one-row `keys` (count(*) aggregates only).
    pub fn add_rows(&mut self, keys: &[&Vector], n: u64) -> Result<()> {
        self.table.add_rows(keys, n)?;
        self.account()
    }

    /// Adds a batch's `len` rows that all have the keys of the one-row `keys`.
    pub fn update_one_group(
        &mut self,
        keys: &[&Vector],
        args: &[AggInput<'_>],
        len: usize,
    ) -> Result<()> {
        self.table.update_one_group(keys, args, len)?;
        self.account()
    }

    fn account(&mut self) -> Result<()> {
        if let Some(r) = &mut self.reservation {
            r.resize(self.table.bytes())?;
        }
        Ok(())
    }

    /// Merges another thread's state into this one, leaving `other` empty (its
    /// memory kept for reuse, see [`AggState::clear`]).
    pub fn merge(&mut self, other: &mut AggState) -> Result<()> {
        self.table.merge(&mut other.table)?;
        other.account()?;
        self.account()
    }

    /// Forgets every group, keeping the group map's memory (and its share of the
    /// pool) so that the next aggregation with the same keys and aggregates
    /// starts without growing its tables again.
    pub fn clear(&mut self) -> Result<()> {
        self.table.clear();
        self.account()
    }

    /// The result columns (keys, then aggregates); with `ensure_group`, an
    /// aggregate without GROUP BY has its one row even over no input.
    pub fn finish(
        &mut self,
        aggs: &[AggExpr],
        ensure_group: bool,
        bound: Option<&AggBound>,
    ) -> Result<Vec<Column>> {
        if ensure_group {
            self.table.ensure_empty_key_group();
        }
        self.table.finish(aggs, bound)
    }
}

#[cfg(test)]
mod quantile_tests {
    use super::{quantile_positions, quantile_sorted, select_positions};
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
            quantile_positions(sel.len(), &qs, &mut positions);
            select_positions(&mut sel, &positions);
            for &q in &qs {
                let a = quantile_sorted(&sorted, q).map(f64::to_bits);
                let b = quantile_sorted(&sel, q).map(f64::to_bits);
                prop_assert_eq!(a, b, "q = {}", q);
            }
            for &p in &positions {
                prop_assert_eq!(sorted[p].to_bits(), sel[p].to_bits());
            }
        }
    }
}
