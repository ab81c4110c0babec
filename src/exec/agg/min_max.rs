//! Extremes: `min(x)` and `max(x)` of every type, `arg_min(a, v)` and
//! `arg_max(a, v)`.

use std::cmp::Ordering;
use std::sync::Arc;

use super::{with_seen, Acc, GroupStates, GroupedRows, Primitive};
use crate::column::{Column, ColumnData, StringVec, Value};
use crate::error::{Error, Result};
use crate::exec::vector::{self, VData, Vector};
use crate::schema::DataType;

/// What a better value compares as against the current one: `Greater` for the
/// maxima, `Less` for the minima.
fn wanted(is_max: bool) -> Ordering {
    if is_max {
        Ordering::Greater
    } else {
        Ordering::Less
    }
}

/// `min(x)` / `max(x)` of a fixed-size type: the extreme per group, and
/// whether any value was not NULL.
#[derive(Clone, Debug)]
pub(super) struct MinMax<T> {
    best: Vec<T>,
    seen: Vec<bool>,
    want: Ordering,
}

impl<T> MinMax<T> {
    pub(super) fn new(is_max: bool) -> MinMax<T> {
        MinMax {
            best: Vec::new(),
            seen: Vec::new(),
            want: wanted(is_max),
        }
    }
}

impl<T: Primitive> GroupStates for MinMax<T> {
    fn resize(&mut self, n: usize) {
        self.best.resize(n, T::default());
        self.seen.resize(n, false);
    }

    fn empty_like(&self) -> MinMax<T> {
        MinMax {
            best: Vec::new(),
            seen: Vec::new(),
            want: self.want,
        }
    }

    fn group_bytes(&self) -> usize {
        std::mem::size_of::<T>() + 1
    }

    fn update(&mut self, b: &GroupedRows<'_>, _grown: &mut usize) -> Result<()> {
        let v = b.arg;
        let x = T::values(v, b.len)?;
        let (m, f, want) = (&mut self.best, &mut self.seen, self.want);
        for (r, g) in b.pairs() {
            if v.is_valid(r) && (!f[g] || T::compare(x[r], m[g]) == want) {
                m[g] = x[r];
                f[g] = true;
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: MinMax<T>, map: &[u32]) -> Result<()> {
        let (m, f, want) = (&mut self.best, &mut self.seen, self.want);
        for (g, (&x, &seen)) in other.best.iter().zip(&other.seen).enumerate() {
            let t = map[g] as usize;
            if seen && (!f[t] || T::compare(x, m[t]) == want) {
                m[t] = x;
                f[t] = true;
            }
        }
        Ok(())
    }

    fn finish(&self, _t: DataType, _all: &[Acc]) -> Result<Column> {
        Ok(with_seen(T::column(self.best.clone()), &self.seen))
    }
}

/// `min(s)` / `max(s)` of strings: the extreme per group, copied out of the
/// batch (NULL until a value is seen).
///
/// Over dictionary codes (a dictionary sorted by bytes, so codes order as their
/// strings), each group also keeps the best code seen under the current
/// dictionary: a row whose code does not beat it is skipped without reading
/// its string.
#[derive(Clone, Debug)]
pub(super) struct MinMaxStr {
    best: Vec<Option<Box<str>>>,
    want: Ordering,
    /// The dictionary of `best_code`, and its number (starting at 1).
    dict: Option<Arc<StringVec>>,
    epoch: u32,
    /// Per group: the dictionary number and best code under it.
    best_code: Vec<(u32, u32)>,
}

impl MinMaxStr {
    pub(super) fn new(is_max: bool) -> MinMaxStr {
        MinMaxStr {
            best: Vec::new(),
            want: wanted(is_max),
            dict: None,
            epoch: 0,
            best_code: Vec::new(),
        }
    }

    /// Folds in rows of dictionary codes (see the type's documentation).
    fn update_codes(
        &mut self,
        b: &GroupedRows<'_>,
        codes: &[u32],
        dict: &Arc<StringVec>,
        grown: &mut usize,
    ) {
        if !self.dict.as_ref().is_some_and(|d| Arc::ptr_eq(d, dict)) {
            self.dict = Some(dict.clone());
            self.epoch += 1;
        }
        let epoch = self.epoch;
        self.best_code.resize(self.best.len(), (0, 0));
        for (r, g) in b.pairs() {
            if !b.arg.is_valid(r) {
                continue;
            }
            let c = codes[r];
            let (e, bc) = self.best_code[g];
            if e == epoch && c.cmp(&bc) != self.want {
                continue;
            }
            self.best_code[g] = (epoch, c);
            let s = b.arg.str_at(r);
            if self.better(s, &self.best[g]) {
                *grown += s.len();
                self.best[g] = Some(s.into());
            }
        }
    }

    /// Whether `s` replaces `cur` as group's extreme.
    #[inline]
    fn better(&self, s: &str, cur: &Option<Box<str>>) -> bool {
        cur.as_deref().is_none_or(|cur| s.cmp(cur) == self.want)
    }
}

impl GroupStates for MinMaxStr {
    fn resize(&mut self, n: usize) {
        self.best.resize(n, None);
    }

    fn empty_like(&self) -> MinMaxStr {
        MinMaxStr::new(self.want == Ordering::Greater)
    }

    fn group_bytes(&self) -> usize {
        24
    }

    fn update(&mut self, b: &GroupedRows<'_>, grown: &mut usize) -> Result<()> {
        let v = b.arg;
        if let VData::Dict { codes, dict } = &v.data {
            self.update_codes(b, codes, dict, grown);
            return Ok(());
        }
        for (r, g) in b.pairs() {
            if !v.is_valid(r) {
                continue;
            }
            let s = v.str_at(r);
            if self.better(s, &self.best[g]) {
                *grown += s.len();
                self.best[g] = Some(s.into());
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: MinMaxStr, map: &[u32]) -> Result<()> {
        for (g, s) in other.best.into_iter().enumerate() {
            let t = map[g] as usize;
            if let Some(s) = s {
                if self.better(&s, &self.best[t]) {
                    self.best[t] = Some(s);
                }
            }
        }
        Ok(())
    }

    fn finish(&self, _t: DataType, _all: &[Acc]) -> Result<Column> {
        let mut s = StringVec::new();
        for x in &self.best {
            s.push(x.as_deref().unwrap_or(""));
        }
        let seen: Vec<bool> = self.best.iter().map(Option::is_some).collect();
        Ok(with_seen(ColumnData::Utf8(s), &seen))
    }
}

/// `arg_max(a, v)` / `arg_min(a, v)`: per group, the best `(v, a)` seen.
#[derive(Clone, Debug)]
pub(super) struct ArgBest {
    /// The best (val, arg) of each group; val is NULL only for a NULL-last
    /// pick that has seen no val yet.
    best: Vec<Option<(Value, Value)>>,
    want: Ordering,
    /// Whether a NULL arg is taken like any value (arg_max_null, ...).
    null_arg: bool,
    /// Whether a NULL val counts, after every other (arg_max_nulls_last, ...).
    null_val: bool,
}

impl ArgBest {
    pub(super) fn new(is_max: bool) -> ArgBest {
        ArgBest {
            best: Vec::new(),
            want: wanted(is_max),
            null_arg: false,
            null_val: false,
        }
    }

    /// The `_null` variant (`nulls_last` false) or the `_nulls_last` one.
    pub(super) fn with_nulls(self, nulls_last: bool) -> ArgBest {
        ArgBest {
            null_arg: true,
            null_val: nulls_last,
            ..self
        }
    }

    /// Whether a candidate with val `val` replaces the current best `cur`.
    fn better(&self, val: &Value, cur: &Option<(Value, Value)>) -> bool {
        match (cur, val) {
            (None, _) => true,
            (Some(_), Value::Null) => false,
            (Some((Value::Null, _)), _) => true,
            (Some((c, _)), v) => cmp_values(v, c) == self.want,
        }
    }
}

impl GroupStates for ArgBest {
    fn resize(&mut self, n: usize) {
        self.best.resize(n, None);
    }

    fn empty_like(&self) -> ArgBest {
        ArgBest {
            best: Vec::new(),
            ..*self
        }
    }

    fn group_bytes(&self) -> usize {
        72
    }

    fn update(&mut self, b: &GroupedRows<'_>, grown: &mut usize) -> Result<()> {
        let v = b.arg;
        let Some((val, vt)) = b.arg2 else {
            return Err(Error::Internal("arg_max without a value argument".into()));
        };
        let (best, want) = (&mut self.best, self.want);
        for (r, g) in b.pairs() {
            if !v.is_valid(r) && !self.null_arg {
                continue;
            }
            if !val.is_valid(r) {
                if self.null_val && best[g].is_none() {
                    *grown += 64;
                    best[g] = Some((Value::Null, v.value(r, b.arg_type)));
                }
                continue;
            }
            let better = match &best[g] {
                None | Some((Value::Null, _)) => true,
                Some((cur, _)) => cmp_to(val, r, vt, cur) == want,
            };
            if better {
                if best[g].is_none() {
                    *grown += 64;
                }
                best[g] = Some((val.value(r, vt), v.value(r, b.arg_type)));
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: ArgBest, map: &[u32]) -> Result<()> {
        for (g, x) in other.best.into_iter().enumerate() {
            let t = map[g] as usize;
            if let Some((val, arg)) = x {
                if self.better(&val, &self.best[t]) {
                    self.best[t] = Some((val, arg));
                }
            }
        }
        Ok(())
    }

    fn finish(&self, t: DataType, _all: &[Acc]) -> Result<Column> {
        let mut out = Column::new(ColumnData::empty(t.physical()));
        for b in &self.best {
            let v = b.as_ref().map_or(Value::Null, |(_, a)| a.clone());
            vector::push_value(&mut out, &v);
        }
        Ok(out)
    }
}

/// Compares row `r` of `v` (type `t`) with a value, without allocating.
fn cmp_to(v: &Vector, r: usize, t: DataType, cur: &Value) -> Ordering {
    if let (VData::Str(_) | VData::Dict { .. }, Value::Str(c)) = (&v.data, cur) {
        return v.str_at(r).cmp(c);
    }
    cmp_values(&v.value(r, t), cur)
}

fn cmp_values(a: &Value, b: &Value) -> Ordering {
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
