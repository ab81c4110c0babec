//! Typed vectors and block-at-a-time expression evaluation.
//!
//! A [`Vector`] holds one value per row of a batch (or one constant for all rows)
//! plus validity. Evaluation dispatches once per vector on its type and then runs a
//! tight loop over plain slices; dictionary-encoded strings stay codes, and a
//! comparison with a literal becomes a code comparison after one binary search in
//! the (sorted) dictionary.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use crate::column::{Bitmap, Column, ColumnData, ListVec, StringVec, Value};
use crate::error::{Error, Result};
use crate::plan::literal_set::{float_key, LiteralSet};
use crate::plan::{BinaryOp, Expr, ScalarFunc};
use crate::schema::{DataType, PhysicalType};
use crate::storage::segment::{BlockValues, ColumnBlock};
use crate::value::{cast_value, format_float, parse_str};

/// The values of a vector.
#[derive(Clone, Debug)]
pub enum VData {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Bool(Vec<bool>),
    Ip(Vec<u128>),
    Str(StringVec),
    /// Codes into a dictionary sorted by bytes.
    Dict {
        codes: Vec<u32>,
        dict: Arc<StringVec>,
    },
    /// One value for every row (`Value::Null` for a NULL constant).
    Const(Value),
    /// Lists (`crate::column::ListVec`).
    List(ListVec),
}

/// One column of a batch during evaluation.
#[derive(Clone, Debug)]
pub struct Vector {
    pub data: VData,
    /// `None` = no NULLs (for `Const`, see the value instead).
    pub validity: Option<Bitmap>,
}

impl Vector {
    pub fn new(data: VData, validity: Option<Bitmap>) -> Vector {
        Vector { data, validity }
    }

    pub fn constant(v: Value) -> Vector {
        Vector {
            data: VData::Const(v),
            validity: None,
        }
    }

    /// Takes a decoded block's buffers (give them back with [`Vector::restore`]).
    pub fn take_block(block: &mut ColumnBlock) -> Vector {
        let values = std::mem::replace(&mut block.values, BlockValues::Int64(Vec::new()));
        let data = match values {
            BlockValues::Int64(v) => VData::Int(v),
            BlockValues::Float64(v) => VData::Float(v),
            BlockValues::Bool(v) => VData::Bool(v),
            BlockValues::Ip(v) => VData::Ip(v),
            BlockValues::Utf8(v) => VData::Str(v),
            BlockValues::Dict { codes, dict } => VData::Dict { codes, dict },
        };
        Vector {
            data,
            validity: block.validity.take(),
        }
    }

    /// Returns the buffers taken by [`Vector::take_block`], for reuse.
    pub fn restore(self, block: &mut ColumnBlock) {
        block.values = match self.data {
            VData::Int(v) => BlockValues::Int64(v),
            VData::Float(v) => BlockValues::Float64(v),
            VData::Bool(v) => BlockValues::Bool(v),
            VData::Ip(v) => BlockValues::Ip(v),
            VData::Str(v) => BlockValues::Utf8(v),
            VData::Dict { codes, dict } => BlockValues::Dict { codes, dict },
            VData::Const(_) | VData::List(_) => BlockValues::Int64(Vec::new()),
        };
        block.validity = self.validity;
    }

    /// A vector over a materialized column.
    pub fn from_column(c: &Column) -> Vector {
        let data = match &c.data {
            ColumnData::Int64(v) => VData::Int(v.clone()),
            ColumnData::Float64(v) => VData::Float(v.clone()),
            ColumnData::Bool(v) => VData::Bool(v.clone()),
            ColumnData::Ip(v) => VData::Ip(v.clone()),
            ColumnData::Utf8(v) => VData::Str(v.clone()),
            ColumnData::List(v) => VData::List(v.clone()),
        };
        Vector {
            data,
            validity: c.validity.clone(),
        }
    }

    /// The rows `sel` of this vector, in that order (dictionaries are shared).
    pub fn gather(&self, sel: &[u32]) -> Vector {
        let validity = self.validity.as_ref().map(|b| {
            let mut out = Bitmap::new(0, false);
            for &r in sel {
                out.push(b.get(r as usize));
            }
            out
        });
        let data = match &self.data {
            VData::Int(v) => VData::Int(sel.iter().map(|&r| v[r as usize]).collect()),
            VData::Float(v) => VData::Float(sel.iter().map(|&r| v[r as usize]).collect()),
            VData::Bool(v) => VData::Bool(sel.iter().map(|&r| v[r as usize]).collect()),
            VData::Ip(v) => VData::Ip(sel.iter().map(|&r| v[r as usize]).collect()),
            VData::Str(v) => {
                let mut out = StringVec::with_capacity(sel.len(), sel.len() * 16);
                for &r in sel {
                    out.push(v.get(r as usize));
                }
                VData::Str(out)
            }
            VData::Dict { codes, dict } => VData::Dict {
                codes: sel.iter().map(|&r| codes[r as usize]).collect(),
                dict: dict.clone(),
            },
            VData::Const(c) => VData::Const(c.clone()),
            VData::List(v) => {
                let mut out = ListVec::with_capacity(v.values().data.physical(), sel.len());
                out.extend_take(v, sel.iter().map(|&r| r as usize));
                VData::List(out)
            }
        };
        Vector { data, validity }
    }

    #[inline]
    pub fn is_valid(&self, i: usize) -> bool {
        match &self.data {
            VData::Const(v) => !matches!(v, Value::Null),
            _ => self.validity.as_ref().is_none_or(|b| b.get(i)),
        }
    }

    /// Whether every row is NULL (a NULL constant).
    pub fn is_null_const(&self) -> bool {
        matches!(self.data, VData::Const(Value::Null))
    }

    /// The string at row `i` (string vectors only; "" otherwise).
    #[inline]
    pub fn str_at(&self, i: usize) -> &str {
        match &self.data {
            VData::Str(s) => s.get(i),
            VData::Dict { codes, dict } => {
                let c = codes[i] as usize;
                if c < dict.len() {
                    dict.get(c)
                } else {
                    ""
                }
            }
            VData::Const(Value::Str(s)) => s,
            _ => "",
        }
    }

    /// The value at row `i` (slow path: tests, printing, CASE on strings).
    pub fn value(&self, i: usize, t: DataType) -> Value {
        if !self.is_valid(i) {
            return Value::Null;
        }
        match &self.data {
            VData::Int(v) => Value::Int(v[i]),
            VData::Float(v) => Value::Float(v[i]),
            VData::Bool(v) => Value::Bool(v[i]),
            VData::Ip(v) => Value::Ip(v[i]),
            VData::List(v) => Value::List(v.get(i).into()),
            VData::Str(_) | VData::Dict { .. } => Value::Str(self.str_at(i).into()),
            VData::Const(v) => match (v, t.physical()) {
                (Value::Int(x), PhysicalType::Float64) => Value::Float(*x as f64),
                _ => v.clone(),
            },
        }
    }

    /// Appends the rows `sel` (or all `len` rows) to a column being built.
    pub fn append_to(&self, out: &mut Column, sel: Option<&[u32]>, len: usize) {
        let n = sel.map_or(len, <[u32]>::len);
        let row = |k: usize| sel.map_or(k, |s| s[k] as usize);
        let start = out.len();
        // Validity first.
        let any_null = match &self.data {
            VData::Const(Value::Null) => n > 0,
            VData::Const(_) => false,
            _ => self
                .validity
                .as_ref()
                .is_some_and(|b| (0..n).any(|k| !b.get(row(k)))),
        };
        if any_null || out.validity.is_some() {
            let v = out.validity.get_or_insert_with(|| Bitmap::new(start, true));
            for k in 0..n {
                v.push(self.is_valid(row(k)));
            }
        }
        match (&mut out.data, &self.data) {
            (ColumnData::Int64(o), VData::Int(v)) => o.extend((0..n).map(|k| v[row(k)])),
            (ColumnData::Float64(o), VData::Float(v)) => o.extend((0..n).map(|k| v[row(k)])),
            (ColumnData::Bool(o), VData::Bool(v)) => o.extend((0..n).map(|k| v[row(k)])),
            (ColumnData::Ip(o), VData::Ip(v)) => o.extend((0..n).map(|k| v[row(k)])),
            (ColumnData::List(o), VData::List(v)) => o.extend_take(v, (0..n).map(row)),
            (ColumnData::Utf8(o), VData::Str(_) | VData::Dict { .. }) => {
                for k in 0..n {
                    o.push(self.str_at(row(k)));
                }
            }
            (o, VData::Const(c)) => {
                for _ in 0..n {
                    push_data(o, c);
                }
            }
            (o, _) => {
                // Type mismatch: a bug in the binder; keep lengths consistent.
                for _ in 0..n {
                    o.push_default();
                }
                debug_assert!(false, "append_to: vector type does not match the column");
            }
        }
    }
}

fn internal(msg: &str) -> Error {
    Error::Internal(format!("expression evaluation: {msg}"))
}

/// Integer values of a vector (constants broadcast, NULL slots 0).
pub fn ints(v: &Vector, len: usize) -> Result<Cow<'_, [i64]>> {
    match &v.data {
        VData::Int(x) => Ok(Cow::Borrowed(x)),
        VData::Const(Value::Int(c)) => Ok(Cow::Owned(vec![*c; len])),
        VData::Const(Value::Null) => Ok(Cow::Owned(vec![0; len])),
        _ => Err(internal("expected integers")),
    }
}

pub fn floats(v: &Vector, len: usize) -> Result<Cow<'_, [f64]>> {
    match &v.data {
        VData::Float(x) => Ok(Cow::Borrowed(x)),
        VData::Int(x) => Ok(Cow::Owned(x.iter().map(|&i| i as f64).collect())),
        VData::Const(Value::Float(c)) => Ok(Cow::Owned(vec![*c; len])),
        VData::Const(Value::Int(c)) => Ok(Cow::Owned(vec![*c as f64; len])),
        VData::Const(Value::Null) => Ok(Cow::Owned(vec![0.0; len])),
        _ => Err(internal("expected doubles")),
    }
}

pub fn bools(v: &Vector, len: usize) -> Result<Cow<'_, [bool]>> {
    match &v.data {
        VData::Bool(x) => Ok(Cow::Borrowed(x)),
        VData::Const(Value::Bool(c)) => Ok(Cow::Owned(vec![*c; len])),
        VData::Const(Value::Null) => Ok(Cow::Owned(vec![false; len])),
        _ => Err(internal("expected booleans")),
    }
}

pub fn ips(v: &Vector, len: usize) -> Result<Cow<'_, [u128]>> {
    match &v.data {
        VData::Ip(x) => Ok(Cow::Borrowed(x)),
        VData::Const(Value::Ip(c)) => Ok(Cow::Owned(vec![*c; len])),
        VData::Const(Value::Null) => Ok(Cow::Owned(vec![0; len])),
        _ => Err(internal("expected IP addresses")),
    }
}

/// The validity of a vector as a bitmap (`None` = all valid).
fn validity(v: &Vector, len: usize) -> Option<Cow<'_, Bitmap>> {
    match &v.data {
        VData::Const(Value::Null) => Some(Cow::Owned(Bitmap::new(len, false))),
        VData::Const(_) => None,
        _ => v.validity.as_ref().map(Cow::Borrowed),
    }
}

/// The AND of two validities.
fn and_validity(a: Option<Cow<'_, Bitmap>>, b: Option<Cow<'_, Bitmap>>) -> Option<Bitmap> {
    match (a, b) {
        (None, None) => None,
        (Some(x), None) | (None, Some(x)) => Some(x.into_owned()),
        (Some(x), Some(y)) => {
            let words = x
                .words()
                .iter()
                .zip(y.words())
                .map(|(p, q)| p & q)
                .collect();
            Some(Bitmap::from_words(words, x.len()))
        }
    }
}

fn both_validity(a: &Vector, b: &Vector, len: usize) -> Option<Bitmap> {
    and_validity(validity(a, len), validity(b, len))
}

/// Rows where a boolean vector is TRUE (not NULL), as a selection over `sel` or all.
pub fn selection(v: &Vector, len: usize, out: &mut Vec<u32>) -> Result<()> {
    out.clear();
    match &v.data {
        VData::Const(Value::Bool(true)) => out.extend(0..len as u32),
        VData::Const(_) => {}
        VData::Bool(b) => match &v.validity {
            None => indices_of(&b[..len], out),
            Some(_) => indices_of(&truth_of(v, len)?, out),
        },
        _ => return Err(internal("a filter must be BOOLEAN")),
    }
    Ok(())
}

/// The rows (of `len`) where the predicate `e` over `cols` is TRUE, as ascending
/// indices in `out`: [`eval`] then [`selection`], except that AND and OR are not
/// evaluated in three-valued logic. A filter drops NULL as it drops FALSE, so
/// `a OR b` passes the rows where either side is TRUE and `a AND b` those where
/// both are: each side becomes one byte per row (value and validity) and the sides
/// combine byte by byte, with no validity of their own. Both sides are evaluated
/// on every row, as [`eval`] does (the same errors).
pub fn select(e: &Expr, cols: &[Vector], len: usize, out: &mut Vec<u32>) -> Result<()> {
    if is_logic(e) {
        out.clear();
        indices_of(&truth(e, cols, len)?, out);
        Ok(())
    } else {
        let v = eval(e, cols, len)?;
        selection(&v, len, out)
    }
}

fn is_logic(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Binary {
            op: BinaryOp::And | BinaryOp::Or,
            ..
        }
    )
}

/// Per row of `len`: whether `e` is TRUE (FALSE and NULL are both `false`).
fn truth(e: &Expr, cols: &[Vector], len: usize) -> Result<Vec<bool>> {
    match e {
        Expr::Binary {
            op: op @ (BinaryOp::And | BinaryOp::Or),
            left,
            right,
            ..
        } => {
            let mut a = truth(left, cols, len)?;
            let b = truth(right, cols, len)?;
            if *op == BinaryOp::And {
                a.iter_mut().zip(&b).for_each(|(x, &y)| *x &= y);
            } else {
                a.iter_mut().zip(&b).for_each(|(x, &y)| *x |= y);
            }
            Ok(a)
        }
        _ => {
            let v = eval(e, cols, len)?;
            truth_of(&v, len)
        }
    }
}

/// Per row of the BOOLEAN vector `v`: whether it is TRUE.
fn truth_of(v: &Vector, len: usize) -> Result<Vec<bool>> {
    match &v.data {
        VData::Const(Value::Bool(c)) => Ok(vec![*c; len]),
        VData::Const(Value::Null) => Ok(vec![false; len]),
        VData::Bool(b) => {
            let mut t = b[..len].to_vec();
            if let Some(valid) = &v.validity {
                // 64 rows per word of the validity.
                for (rows, &w) in t.chunks_mut(64).zip(valid.words()) {
                    for (j, x) in rows.iter_mut().enumerate() {
                        *x &= (w >> j) & 1 == 1;
                    }
                }
            }
            Ok(t)
        }
        _ => Err(internal("a filter must be BOOLEAN")),
    }
}

/// The indices of the `true` rows of `b`, into `out` (cleared first). Without
/// branches: every row's index is written, and the end moves past it only when
/// the row passes (no mispredictions at any selectivity).
fn indices_of(b: &[bool], out: &mut Vec<u32>) {
    out.clear();
    out.resize(b.len(), 0);
    let mut n = 0;
    for (i, &x) in b.iter().enumerate() {
        out[n] = i as u32;
        n += x as usize;
    }
    out.truncate(n);
}

/// Evaluates `e` over `cols` (each `len` rows long).
pub fn eval<'a>(e: &Expr, cols: &'a [Vector], len: usize) -> Result<Cow<'a, Vector>> {
    Ok(match e {
        Expr::Column { index, .. } => Cow::Borrowed(
            cols.get(*index)
                .ok_or_else(|| internal("column index out of range"))?,
        ),
        Expr::Literal { value, data_type } => Cow::Owned(Vector::constant(match value {
            Value::Int(x) if *data_type == DataType::Double => Value::Float(*x as f64),
            other => other.clone(),
        })),
        Expr::Negate(x) => {
            let v = eval(x, cols, len)?;
            Cow::Owned(negate(&v, x.data_type(), len)?)
        }
        Expr::Not(x) => {
            let v = eval(x, cols, len)?;
            let b = bools(&v, len)?;
            Cow::Owned(Vector::new(
                VData::Bool(b.iter().map(|x| !x).collect()),
                validity(&v, len).map(Cow::into_owned),
            ))
        }
        Expr::Binary {
            op,
            left,
            right,
            data_type,
        } => {
            let l = eval(left, cols, len)?;
            let r = eval(right, cols, len)?;
            Cow::Owned(binary(*op, &l, &r, left.data_type(), *data_type, len)?)
        }
        Expr::IsNull { expr, negated } => {
            let v = eval(expr, cols, len)?;
            let out: Vec<bool> = match validity(&v, len) {
                None => vec![*negated; len],
                Some(valid) => (0..len).map(|i| valid.get(i) == *negated).collect(),
            };
            Cow::Owned(Vector::new(VData::Bool(out), None))
        }
        Expr::InList {
            expr,
            list,
            negated,
            set,
        } => {
            let v = eval(expr, cols, len)?;
            let t = expr.data_type();
            if let Some(set) = set.get(list, t) {
                return Ok(Cow::Owned(in_set(&v, set, *negated, len)?));
            }
            let mut acc: Option<Vector> = None;
            for item in list {
                let iv = eval(item, cols, len)?;
                let eq = compare(BinaryOp::Eq, &v, &iv, t, len)?;
                acc = Some(match acc {
                    None => eq,
                    Some(a) => logic(BinaryOp::Or, &a, &eq, len)?,
                });
            }
            let res = acc.unwrap_or_else(|| Vector::constant(Value::Bool(false)));
            if *negated {
                let b = bools(&res, len)?;
                Cow::Owned(Vector::new(
                    VData::Bool(b.iter().map(|x| !x).collect()),
                    validity(&res, len).map(Cow::into_owned),
                ))
            } else {
                Cow::Owned(res)
            }
        }
        Expr::Like {
            expr,
            pattern,
            escape,
            case_insensitive,
            negated,
        } => {
            let v = eval(expr, cols, len)?;
            let pat = LikePattern::compile(pattern, *escape, *case_insensitive)?;
            Cow::Owned(like(&v, &pat, *negated, len))
        }
        Expr::Case {
            whens,
            else_expr,
            data_type,
        } => Cow::Owned(case(whens, else_expr.as_deref(), *data_type, cols, len)?),
        Expr::Cast { expr, to } => {
            let v = eval(expr, cols, len)?;
            Cow::Owned(cast(&v, expr.data_type(), *to, len)?)
        }
        Expr::Func {
            func,
            args,
            data_type,
        } => {
            if super::functions::is_extended(func) {
                let vs = args
                    .iter()
                    .map(|a| eval(a, cols, len))
                    .collect::<Result<Vec<_>>>()?;
                let types: Vec<DataType> = args.iter().map(Expr::data_type).collect();
                return Ok(Cow::Owned(super::functions::eval(
                    func, &vs, &types, *data_type, len,
                )?));
            }
            let a = match args.first() {
                Some(a) => eval(a, cols, len)?,
                None => return Err(internal("function without arguments")),
            };
            Cow::Owned(scalar_func(func.clone(), &a, *data_type, len)?)
        }
        Expr::Subquery(_) => return Err(internal("subquery not resolved before execution")),
        Expr::Param { .. } => return Err(internal("correlated value not bound before execution")),
    })
}

fn negate(v: &Vector, t: DataType, len: usize) -> Result<Vector> {
    let valid = validity(v, len).map(Cow::into_owned);
    if t == DataType::Double {
        let x = floats(v, len)?;
        return Ok(Vector::new(
            VData::Float(x.iter().map(|a| -a).collect()),
            valid,
        ));
    }
    let x = ints(v, len)?;
    let (lo, hi) = t.int_range().unwrap_or((i64::MIN, i64::MAX));
    let mut out = Vec::with_capacity(len);
    for &a in x.iter() {
        match a.checked_neg().filter(|r| *r >= lo && *r <= hi) {
            Some(r) => out.push(r),
            None => return Err(int_overflow("negation", t, a, 0, Some(-i128::from(a)))),
        }
    }
    Ok(Vector::new(VData::Int(out), valid))
}

fn type_tag(t: DataType) -> &'static str {
    match t {
        DataType::Date => "DATE",
        t => crate::value::int_tag(t),
    }
}

fn overflow(what: &str, t: DataType, a: i64, b: i64) -> Error {
    Error::InvalidInput(format!(
        "Out of Range Error: Overflow in {what} of {} ({a}, {b})",
        type_tag(t)
    ))
}

/// The error for integer arithmetic whose exact result `exact` (`None`: beyond
/// even 128 bits) does not fit type `t`: "not supported yet" when DuckDB's `t`
/// holds it and only the 64 bits here do not (UBIGINT, HUGEINT, UHUGEINT).
fn int_overflow(what: &str, t: DataType, a: i64, b: i64, exact: Option<i128>) -> Error {
    if let Some(x) = exact {
        let msg = crate::value::int_cast_error(x, t, t);
        if msg.starts_with("not supported yet") {
            return Error::InvalidInput(msg);
        }
    }
    overflow(what, t, a, b)
}

fn binary(
    op: BinaryOp,
    l: &Vector,
    r: &Vector,
    operand_t: DataType,
    t: DataType,
    len: usize,
) -> Result<Vector> {
    match op {
        BinaryOp::And | BinaryOp::Or => logic(op, l, r, len),
        op if op.is_comparison() => compare(op, l, r, operand_t, len),
        _ => arith(op, l, r, operand_t, t, len),
    }
}

fn arith(
    op: BinaryOp,
    l: &Vector,
    r: &Vector,
    operand_t: DataType,
    t: DataType,
    len: usize,
) -> Result<Vector> {
    let valid = both_validity(l, r, len);
    let ok = |i: usize| valid.as_ref().is_none_or(|v| v.get(i));
    if l.is_null_const() || r.is_null_const() {
        return Ok(Vector::constant(Value::Null));
    }
    if operand_t == DataType::Double || t == DataType::Double {
        let a = floats(l, len)?;
        let b = floats(r, len)?;
        let mut out = Vec::with_capacity(len);
        match op {
            BinaryOp::Add => out.extend(a.iter().zip(b.iter()).map(|(x, y)| x + y)),
            BinaryOp::Sub => out.extend(a.iter().zip(b.iter()).map(|(x, y)| x - y)),
            BinaryOp::Mul => out.extend(a.iter().zip(b.iter()).map(|(x, y)| x * y)),
            BinaryOp::Div => out.extend(a.iter().zip(b.iter()).map(|(x, y)| x / y)),
            BinaryOp::Mod | BinaryOp::IntDiv => {
                for i in 0..len {
                    if ok(i) && b[i] == 0.0 {
                        return Err(division_by_zero(op));
                    }
                    out.push(if op == BinaryOp::Mod {
                        a[i] % b[i]
                    } else {
                        (a[i] / b[i]).trunc()
                    });
                }
            }
            _ => return Err(internal("not an arithmetic operator")),
        }
        return Ok(Vector::new(VData::Float(out), valid));
    }
    let a = ints(l, len)?;
    let b = ints(r, len)?;
    let (lo, hi) = super::decimal::value_range(t)
        .or(t.int_range())
        .unwrap_or((i64::MIN, i64::MAX));
    let mut out = Vec::with_capacity(len);
    let what = match op {
        BinaryOp::Add => "addition",
        BinaryOp::Sub => "subtraction",
        BinaryOp::Mul => "multiplication",
        _ => "division",
    };
    if t == DataType::Date {
        return date_plus_days(op, &a, &b, valid);
    }
    if t == DataType::Timestamp && matches!(op, BinaryOp::Add | BinaryOp::Sub) {
        // A TIMESTAMP (the binder puts it on the left) shifted by fixed
        // microseconds: the infinities stay.
        let inf = crate::time::is_infinite_ts;
        let mut out = Vec::with_capacity(len);
        for i in 0..len {
            let (x, y) = (a[i], b[i]);
            if !ok(i) {
                out.push(0);
            } else if inf(x) {
                out.push(x);
            } else {
                let r = if op == BinaryOp::Add {
                    x.checked_add(y)
                } else {
                    x.checked_sub(y)
                };
                match r.filter(|r| (crate::time::TS_MIN..=crate::time::TS_MAX).contains(r)) {
                    Some(r) => out.push(r),
                    None => {
                        return Err(Error::InvalidInput(format!(
                            "Out of Range Error: timestamp out of range: {} {} {y} microseconds",
                            crate::time::format_timestamp(x),
                            op.symbol()
                        )))
                    }
                }
            }
        }
        return Ok(Vector::new(VData::Int(out), valid));
    }
    for i in 0..len {
        if !ok(i) {
            out.push(0);
            continue;
        }
        let (x, y) = (a[i], b[i]);
        let res = match op {
            BinaryOp::Add => x.checked_add(y),
            BinaryOp::Sub => x.checked_sub(y),
            BinaryOp::Mul => x.checked_mul(y),
            BinaryOp::IntDiv | BinaryOp::Mod => {
                if y == 0 {
                    return Err(division_by_zero(op));
                }
                if op == BinaryOp::Mod {
                    x.checked_rem(y)
                } else {
                    x.checked_div(y)
                }
            }
            _ => return Err(internal("not an integer operator")),
        };
        match res.filter(|v| *v >= lo && *v <= hi) {
            Some(v) => out.push(v),
            None if t.decimal().is_some() => return Err(super::decimal::overflow(what, t, x, y)),
            None => {
                let (x1, y1) = (i128::from(x), i128::from(y));
                let exact = match op {
                    BinaryOp::Add => x1.checked_add(y1),
                    BinaryOp::Sub => x1.checked_sub(y1),
                    BinaryOp::Mul => x1.checked_mul(y1),
                    _ => x1.checked_div(y1),
                };
                return Err(int_overflow(what, t, x, y, exact));
            }
        }
    }
    Ok(Vector::new(VData::Int(out), valid))
}

/// `date ± days` (the binder puts the DATE on the left): an infinite date stays
/// itself, a finite one must stay within DuckDB's DATE range.
fn date_plus_days(op: BinaryOp, a: &[i64], b: &[i64], valid: Option<Bitmap>) -> Result<Vector> {
    let ok = |i: usize| valid.as_ref().is_none_or(|v| v.get(i));
    let mut out = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        let (d, n) = (a[i], b[i]);
        if !ok(i) || crate::time::is_infinite_date(d) {
            out.push(if ok(i) { d } else { 0 });
            continue;
        }
        let r = match op {
            BinaryOp::Add => d.checked_add(n),
            BinaryOp::Sub => d.checked_sub(n),
            _ => return Err(internal("not a date operator")),
        };
        match r.filter(|r| (crate::time::DATE_MIN..=crate::time::DATE_MAX).contains(r)) {
            Some(r) => out.push(r),
            None => {
                return Err(Error::InvalidInput(format!(
                    "Out of Range Error: Date out of range: Overflow in {} of DATE {} and {n} \
                     days",
                    if op == BinaryOp::Add {
                        "addition"
                    } else {
                        "subtraction"
                    },
                    crate::time::format_day(d)
                )))
            }
        }
    }
    Ok(Vector::new(VData::Int(out), valid))
}

fn division_by_zero(op: BinaryOp) -> Error {
    Error::InvalidInput(format!(
        "Invalid Input Error: Division by zero in expression ({})",
        op.symbol()
    ))
}

/// Three-valued AND / OR.
fn logic(op: BinaryOp, l: &Vector, r: &Vector, len: usize) -> Result<Vector> {
    let a = bools(l, len)?;
    let b = bools(r, len)?;
    let (a, b) = (&a[..len], &b[..len]);
    let and = op == BinaryOp::And;
    if l.validity.is_none() && r.validity.is_none() && !l.is_null_const() && !r.is_null_const() {
        let out = if and {
            a.iter().zip(b).map(|(&x, &y)| x & y).collect()
        } else {
            a.iter().zip(b).map(|(&x, &y)| x | y).collect()
        };
        return Ok(Vector::new(VData::Bool(out), None));
    }
    // Kleene logic without branches: FALSE wins an AND and TRUE an OR over NULL.
    let valid = |v: &Vector| -> Vec<bool> { (0..len).map(|i| v.is_valid(i)).collect() };
    let (av, bv) = (valid(l), valid(r));
    let mut out = Vec::with_capacity(len);
    let mut known = Vec::with_capacity(len);
    for i in 0..len {
        let both = av[i] & bv[i];
        let (val, isvalid) = if and {
            let f = (av[i] & !a[i]) | (bv[i] & !b[i]);
            (!f & both & a[i] & b[i], f | both)
        } else {
            let t = (av[i] & a[i]) | (bv[i] & b[i]);
            (t, t | both)
        };
        out.push(val);
        known.push(isvalid);
    }
    let validity = known
        .contains(&false)
        .then(|| Bitmap::from_bools(known.iter().copied()));
    Ok(Vector::new(VData::Bool(out), validity))
}

#[inline]
pub fn ord_f64(a: f64, b: f64) -> Ordering {
    // DuckDB: NaN equals NaN and sorts above every other value; -0.0 = 0.0.
    a.partial_cmp(&b)
        .unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()))
}

#[inline]
fn test(op: BinaryOp, o: Ordering) -> bool {
    match op {
        BinaryOp::Eq => o == Ordering::Equal,
        BinaryOp::NotEq => o != Ordering::Equal,
        BinaryOp::Lt => o == Ordering::Less,
        BinaryOp::LtEq => o != Ordering::Greater,
        BinaryOp::Gt => o == Ordering::Greater,
        _ => o != Ordering::Less,
    }
}

/// A comparison loop over two slices, monomorphized per operator.
fn cmp_slices<T: Copy>(op: BinaryOp, a: &[T], b: &[T], f: impl Fn(T, T) -> Ordering) -> Vec<bool> {
    macro_rules! run {
        ($pred:expr) => {
            a.iter().zip(b).map(|(&x, &y)| $pred(f(x, y))).collect()
        };
    }
    match op {
        BinaryOp::Eq => run!(|o| o == Ordering::Equal),
        BinaryOp::NotEq => run!(|o| o != Ordering::Equal),
        BinaryOp::Lt => run!(|o| o == Ordering::Less),
        BinaryOp::LtEq => run!(|o| o != Ordering::Greater),
        BinaryOp::Gt => run!(|o| o == Ordering::Greater),
        _ => run!(|o| o != Ordering::Less),
    }
}

fn cmp_scalar<T: Copy>(op: BinaryOp, a: &[T], b: T, f: impl Fn(T, T) -> Ordering) -> Vec<bool> {
    macro_rules! run {
        ($pred:expr) => {
            a.iter().map(|&x| $pred(f(x, b))).collect()
        };
    }
    match op {
        BinaryOp::Eq => run!(|o| o == Ordering::Equal),
        BinaryOp::NotEq => run!(|o| o != Ordering::Equal),
        BinaryOp::Lt => run!(|o| o == Ordering::Less),
        BinaryOp::LtEq => run!(|o| o != Ordering::Greater),
        BinaryOp::Gt => run!(|o| o == Ordering::Greater),
        _ => run!(|o| o != Ordering::Less),
    }
}

/// A code comparison equivalent to comparing the strings with `s`.
fn dict_compare(op: BinaryOp, codes: &[u32], dict: &StringVec, s: &str) -> Vec<bool> {
    let (lower, upper) = dict.sorted_range(s);
    match op {
        // Equal strings are the codes in [lower, upper) (at most one).
        BinaryOp::Eq => codes.iter().map(|&c| c >= lower && c < upper).collect(),
        BinaryOp::NotEq => codes.iter().map(|&c| c < lower || c >= upper).collect(),
        BinaryOp::Lt => codes.iter().map(|&c| c < lower).collect(),
        BinaryOp::LtEq => codes.iter().map(|&c| c < upper).collect(),
        BinaryOp::Gt => codes.iter().map(|&c| c >= upper).collect(),
        _ => codes.iter().map(|&c| c >= lower).collect(),
    }
}

/// `l <op> r` for operands of one type (`t`).
pub fn compare(op: BinaryOp, l: &Vector, r: &Vector, t: DataType, len: usize) -> Result<Vector> {
    if l.is_null_const() || r.is_null_const() {
        return Ok(Vector::constant(Value::Null));
    }
    // Keep constants on the right.
    if matches!(l.data, VData::Const(_)) && !matches!(r.data, VData::Const(_)) {
        return compare(op.flip(), r, l, t, len);
    }
    let valid = both_validity(l, r, len);
    if t == DataType::Interval {
        // Intervals compare normalized (30 days = 1 month).
        let key = crate::interval::Interval::key_of;
        let out = match (&l.data, &r.data) {
            (VData::Ip(a), VData::Const(Value::Ip(b))) => {
                let b = key(*b);
                a.iter().map(|&x| test(op, key(x).cmp(&b))).collect()
            }
            _ => {
                let (a, b) = (ips(l, len)?, ips(r, len)?);
                (0..len)
                    .map(|i| test(op, key(a[i]).cmp(&key(b[i]))))
                    .collect()
            }
        };
        return Ok(Vector::new(VData::Bool(out), valid));
    }
    let out = match (&l.data, &r.data) {
        (VData::Dict { codes, dict }, VData::Const(Value::Str(s))) => {
            dict_compare(op, codes, dict, s)
        }
        (VData::Int(a), VData::Const(Value::Int(b))) => cmp_scalar(op, a, *b, |x, y| x.cmp(&y)),
        (VData::Float(a), VData::Const(Value::Float(b))) => cmp_scalar(op, a, *b, ord_f64),
        (VData::Ip(a), VData::Const(Value::Ip(b))) => cmp_scalar(op, a, *b, |x, y| x.cmp(&y)),
        (VData::Int(a), VData::Int(b)) => cmp_slices(op, a, b, |x, y| x.cmp(&y)),
        _ => match t.physical() {
            PhysicalType::Int64 => cmp_slices(op, &ints(l, len)?, &ints(r, len)?, |x, y| x.cmp(&y)),
            PhysicalType::Float64 => cmp_slices(op, &floats(l, len)?, &floats(r, len)?, ord_f64),
            PhysicalType::Bool => {
                cmp_slices(op, &bools(l, len)?, &bools(r, len)?, |x, y| x.cmp(&y))
            }
            PhysicalType::Ip => cmp_slices(op, &ips(l, len)?, &ips(r, len)?, |x, y| x.cmp(&y)),
            PhysicalType::Utf8 => (0..len)
                .map(|i| test(op, l.str_at(i).cmp(r.str_at(i))))
                .collect(),
            PhysicalType::List(_) => (0..len)
                .map(|i| {
                    let ord = crate::list::compare_values(&l.value(i, t), &r.value(i, t));
                    test(op, ord)
                })
                .collect(),
        },
    };
    Ok(Vector::new(VData::Bool(out), valid))
}

/// `v [NOT] IN (set)` with SQL's NULL rules: NULL for a NULL `v`, and for a `v`
/// not in the set when the list held a NULL.
fn in_set(v: &Vector, set: &LiteralSet, negated: bool, len: usize) -> Result<Vector> {
    let hits: Vec<bool> = match &v.data {
        VData::Const(c) => {
            let hit = match c {
                Value::Null => return Ok(Vector::constant(Value::Null)),
                Value::Int(x) => set.ints.contains(x),
                Value::Float(x) => set.floats.contains(&float_key(*x)),
                Value::Bool(x) => set.bools[*x as usize],
                Value::Ip(x) => set.ips.contains(x),
                Value::Str(x) => set.strs.contains(&**x),
                Value::List(_) => false,
            };
            return Ok(Vector::constant(if !hit && set.has_null {
                Value::Null
            } else {
                Value::Bool(hit != negated)
            }));
        }
        VData::Int(x) => x.iter().map(|x| set.ints.contains(x)).collect(),
        VData::Float(x) => x
            .iter()
            .map(|x| set.floats.contains(&float_key(*x)))
            .collect(),
        VData::Bool(x) => x.iter().map(|x| set.bools[*x as usize]).collect(),
        VData::Ip(x) => x.iter().map(|x| set.ips.contains(x)).collect(),
        VData::Str(x) => (0..len).map(|i| set.strs.contains(x.get(i))).collect(),
        VData::List(_) => vec![false; len],
        VData::Dict { codes, dict } => {
            // Each dictionary entry is looked up once.
            let member: Vec<bool> = (0..dict.len())
                .map(|c| set.strs.contains(dict.get(c)))
                .collect();
            codes
                .iter()
                .map(|&c| member.get(c as usize).copied().unwrap_or(false))
                .collect()
        }
    };
    // Rows not in the set are NULL when the list held a NULL; NULL rows stay NULL.
    let mut valid = v.validity.clone();
    if set.has_null {
        let mut b = valid.unwrap_or_else(|| Bitmap::new(len, true));
        for (i, &hit) in hits.iter().enumerate() {
            if !hit {
                b.set(i, false);
            }
        }
        valid = Some(b);
    }
    let out = if negated {
        hits.into_iter().map(|h| !h).collect()
    } else {
        hits
    };
    Ok(Vector::new(VData::Bool(out), valid))
}

/// A compiled LIKE pattern.
pub struct LikePattern {
    tokens: Vec<LikeToken>,
    case_insensitive: bool,
    /// Case-sensitive patterns without `_`: the literal pieces between the `%`s,
    /// matched with prefix and suffix tests and substring searches.
    pieces: Option<Pieces>,
}

/// `L0 % L1 % ... % Lk`: the string starts with `L0`, ends with `Lk` (k > 0), and
/// holds `L1`..`Lk-1` in order, without overlaps, in between. Leftmost matches
/// suffice: `%` takes any run of characters.
struct Pieces {
    first: Vec<u8>,
    /// `None`: no `%` at all (the pattern is `first`).
    last: Option<Vec<u8>>,
    middle: Vec<memchr::memmem::Finder<'static>>,
}

impl Pieces {
    fn of(tokens: &[LikeToken]) -> Option<Pieces> {
        let mut parts: Vec<String> = vec![String::new()];
        for t in tokens {
            match t {
                LikeToken::Char(c) => parts.last_mut()?.push(*c),
                LikeToken::Many => parts.push(String::new()),
                LikeToken::One => return None,
            }
        }
        let first = parts.remove(0).into_bytes();
        let last = parts.pop().map(String::into_bytes);
        let middle = parts
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| memchr::memmem::Finder::new(p.as_bytes()).into_owned())
            .collect();
        Some(Pieces {
            first,
            last,
            middle,
        })
    }

    fn matches(&self, s: &[u8]) -> bool {
        let Some(last) = &self.last else {
            return s == self.first.as_slice();
        };
        if s.len() < self.first.len() + last.len()
            || !s.starts_with(&self.first)
            || !s.ends_with(last)
        {
            return false;
        }
        let mut rest = &s[self.first.len()..s.len() - last.len()];
        for f in &self.middle {
            match f.find(rest) {
                Some(i) => rest = &rest[i + f.needle().len()..],
                None => return false,
            }
        }
        true
    }
}

#[derive(Clone, Copy)]
enum LikeToken {
    Char(char),
    One,
    Many,
}

impl LikePattern {
    pub fn compile(pattern: &str, escape: Option<char>, case_insensitive: bool) -> Result<Self> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if Some(c) == escape {
                match chars.next() {
                    Some(n) => tokens.push(LikeToken::Char(fold(n, case_insensitive))),
                    None => {
                        return Err(Error::InvalidInput(
                            "LIKE pattern must not end with the escape character".into(),
                        ))
                    }
                }
            } else if c == '%' {
                if !matches!(tokens.last(), Some(LikeToken::Many)) {
                    tokens.push(LikeToken::Many);
                }
            } else if c == '_' {
                tokens.push(LikeToken::One);
            } else {
                tokens.push(LikeToken::Char(fold(c, case_insensitive)));
            }
        }
        let pieces = if case_insensitive {
            None
        } else {
            Pieces::of(&tokens)
        };
        Ok(LikePattern {
            tokens,
            case_insensitive,
            pieces,
        })
    }

    /// Whether `s` matches.
    pub fn matches(&self, s: &str) -> bool {
        match &self.pieces {
            Some(p) => p.matches(s.as_bytes()),
            None => self.matches_general(s),
        }
    }

    /// Greedy wildcard matching with one backtrack point.
    fn matches_general(&self, s: &str) -> bool {
        let p = &self.tokens;
        let (mut pi, mut si) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        loop {
            if pi < p.len() {
                let next = s[si..].chars().next();
                match (p[pi], next) {
                    (LikeToken::Many, _) => {
                        star = Some((pi + 1, si));
                        pi += 1;
                        continue;
                    }
                    (LikeToken::One, Some(c)) => {
                        pi += 1;
                        si += c.len_utf8();
                        continue;
                    }
                    (LikeToken::Char(pc), Some(c)) if fold(c, self.case_insensitive) == pc => {
                        pi += 1;
                        si += c.len_utf8();
                        continue;
                    }
                    _ => {}
                }
            } else if si == s.len() {
                return true;
            }
            match star {
                Some((sp, ss)) => match s[ss..].chars().next() {
                    Some(c) => {
                        let ns = ss + c.len_utf8();
                        star = Some((sp, ns));
                        pi = sp;
                        si = ns;
                    }
                    None => return false,
                },
                None => return false,
            }
        }
    }
}

#[inline]
fn fold(c: char, ci: bool) -> char {
    if ci {
        c.to_lowercase().next().unwrap_or(c)
    } else {
        c
    }
}

fn like(v: &Vector, pat: &LikePattern, negated: bool, len: usize) -> Vector {
    if v.is_null_const() {
        return Vector::constant(Value::Null);
    }
    let out: Vec<bool> = match &v.data {
        VData::Dict { codes, dict } if dict.len() < len => {
            // Match each dictionary entry once, then look codes up.
            let m: Vec<bool> = dict.iter().map(|s| pat.matches(s) != negated).collect();
            codes
                .iter()
                .map(|&c| m.get(c as usize).copied().unwrap_or(false))
                .collect()
        }
        _ => (0..len)
            .map(|i| pat.matches(v.str_at(i)) != negated)
            .collect(),
    };
    Vector::new(VData::Bool(out), validity(v, len).map(Cow::into_owned))
}

fn case(
    whens: &[(Expr, Expr)],
    else_expr: Option<&Expr>,
    t: DataType,
    cols: &[Vector],
    len: usize,
) -> Result<Vector> {
    // Each WHEN runs only on the rows no earlier WHEN took, and each branch only on
    // the rows that take it, so a branch never raises an error for a row it does
    // not produce (`CASE WHEN x = 0 THEN NULL ELSE 10 // x END`).
    let mut remaining: Vec<u32> = (0..len as u32).collect();
    let mut taken: Vec<Vec<u32>> = Vec::with_capacity(whens.len() + 1);
    let mut sel = Vec::new();
    for (w, _) in whens {
        if remaining.is_empty() {
            taken.push(Vec::new());
            continue;
        }
        let sub = rows_of(w, cols, &remaining, len);
        let c = eval(w, &sub, remaining.len())?;
        selection(&c, remaining.len(), &mut sel)?;
        let mut hit = Vec::with_capacity(sel.len());
        let mut rest = Vec::with_capacity(remaining.len() - sel.len());
        let mut k = 0;
        for (j, &r) in remaining.iter().enumerate() {
            if sel.get(k) == Some(&(j as u32)) {
                hit.push(r);
                k += 1;
            } else {
                rest.push(r);
            }
        }
        taken.push(hit);
        remaining = rest;
    }
    taken.push(remaining);
    let mut results = Vec::with_capacity(taken.len());
    for (b, rows) in taken.iter().enumerate() {
        let e = if b < whens.len() {
            Some(&whens[b].1)
        } else {
            else_expr
        };
        let v = match e {
            Some(e) if !rows.is_empty() => {
                let sub = rows_of(e, cols, rows, len);
                eval(e, &sub, rows.len())?.into_owned()
            }
            _ => Vector::constant(Value::Null),
        };
        if rows.len() == len {
            return Ok(v);
        }
        results.push(v);
    }
    let mut branch = vec![(0u32, 0u32); len];
    for (b, rows) in taken.iter().enumerate() {
        for (p, &r) in rows.iter().enumerate() {
            branch[r as usize] = (b as u32, p as u32);
        }
    }
    let mut out = Column::new(ColumnData::empty(t.physical()));
    let mut one = [0u32; 1];
    for &(b, p) in &branch {
        one[0] = p;
        let b = b as usize;
        results[b].append_to(&mut out, Some(&one), taken[b].len());
    }
    Ok(Vector::from_column(&out))
}

/// The rows `rows` (ascending) of the columns `e` reads; the others become NULL
/// placeholders. All rows: `cols` itself.
fn rows_of<'a>(e: &Expr, cols: &'a [Vector], rows: &[u32], len: usize) -> Cow<'a, [Vector]> {
    if rows.len() == len {
        return Cow::Borrowed(cols);
    }
    let mut used = vec![false; cols.len()];
    e.for_each_column(&mut |i| {
        if let Some(u) = used.get_mut(i) {
            *u = true;
        }
    });
    Cow::Owned(
        cols.iter()
            .zip(&used)
            .map(|(c, &u)| {
                if u {
                    c.gather(rows)
                } else {
                    Vector::constant(Value::Null)
                }
            })
            .collect(),
    )
}

fn cast(v: &Vector, from: DataType, to: DataType, len: usize) -> Result<Vector> {
    if from == to || v.is_null_const() {
        return Ok(v.clone());
    }
    if from.decimal().is_some() || to.decimal().is_some() {
        if let Some(out) = super::decimal::cast(v, from, to, len)? {
            return Ok(out);
        }
    }
    let valid = validity(v, len).map(Cow::into_owned);
    let ok = |i: usize| v.is_valid(i);
    let fp = from.physical();
    // DATE <-> TIMESTAMP, vectorized (the infinities map to each other).
    match (from, to) {
        (DataType::Date, DataType::Timestamp) => {
            let x = ints(v, len)?;
            let mut out = Vec::with_capacity(len);
            for (i, &d) in x.iter().enumerate() {
                match crate::time::date_to_timestamp(d) {
                    Some(us) => out.push(us),
                    None if !ok(i) => out.push(0),
                    None => {
                        return Err(Error::InvalidInput(crate::value::date_beyond_timestamp(d)))
                    }
                }
            }
            return Ok(Vector::new(VData::Int(out), valid));
        }
        // A TIME's microseconds as a number (the binder's date parts of a TIME;
        // SQL cannot cast a TIME to BIGINT).
        (DataType::Time, DataType::BigInt) => {
            return Ok(Vector::new(VData::Int(ints(v, len)?.into_owned()), valid));
        }
        (DataType::Timestamp, DataType::Date) => {
            let x = ints(v, len)?;
            let out = x
                .iter()
                .map(|&t| crate::time::timestamp_to_date(t))
                .collect();
            return Ok(Vector::new(VData::Int(out), valid));
        }
        _ => {}
    }
    // Integer widening/narrowing and int <-> double, vectorized.
    match (fp, to) {
        (PhysicalType::Int64, DataType::Double) if from.is_integer() => {
            let x = ints(v, len)?;
            return Ok(Vector::new(
                VData::Float(x.iter().map(|&a| a as f64).collect()),
                valid,
            ));
        }
        (PhysicalType::Int64, to) if from.is_integer() && to.is_integer() => {
            let x = ints(v, len)?;
            if let Some((lo, hi)) = to.int_range() {
                if let Some(i) = (0..len).find(|&i| ok(i) && (x[i] < lo || x[i] > hi)) {
                    return Err(Error::InvalidInput(crate::value::int_cast_error(
                        i128::from(x[i]),
                        from,
                        to,
                    )));
                }
            }
            return Ok(Vector::new(VData::Int(x.into_owned()), valid));
        }
        _ => {}
    }
    // Everything else row by row.
    let mut out = Column::new(ColumnData::empty(to.physical()));
    let mut text = String::new();
    for i in 0..len {
        let val = if !ok(i) {
            Value::Null
        } else if to == DataType::Varchar {
            text.clear();
            write_text(&mut text, v, i, from);
            Value::Str(text.as_str().into())
        } else if matches!(v.data, VData::Str(_) | VData::Dict { .. }) {
            parse_str(v.str_at(i), to).map_err(Error::InvalidInput)?
        } else {
            cast_value(&v.value(i, from), from, to).map_err(Error::InvalidInput)?
        };
        push_value(&mut out, &val);
    }
    Ok(Vector::from_column(&out))
}

/// Appends the text form of row `i` (valid) to `out`.
pub fn write_text(out: &mut String, v: &Vector, i: usize, t: DataType) {
    use std::fmt::Write;
    match (&v.data, t) {
        (VData::Str(_) | VData::Dict { .. }, _) => out.push_str(v.str_at(i)),
        (_, DataType::Timestamp) => {
            if let Value::Int(x) = v.value(i, t) {
                crate::time::write_timestamp(out, x)
            }
        }
        (_, DataType::Date) => {
            if let Value::Int(x) = v.value(i, t) {
                crate::time::write_date(out, x)
            }
        }
        (_, DataType::Time) => {
            if let Value::Int(x) = v.value(i, t) {
                crate::time_units::write_time(out, x)
            }
        }
        (
            _,
            DataType::TimestampS
            | DataType::TimestampMs
            | DataType::TimestampNs
            | DataType::TimestampTz,
        ) => {
            if let Value::Int(x) = v.value(i, t) {
                crate::time_units::write(out, t, x)
            }
        }
        (_, DataType::Decimal { scale, .. }) => {
            if let Value::Int(x) = v.value(i, t) {
                crate::decimal::write(out, x, scale)
            }
        }
        (_, DataType::Interval) => {
            if let Value::Ip(x) = v.value(i, t) {
                crate::interval::write(out, crate::interval::Interval::unpack(x))
            }
        }
        _ => match v.value(i, t) {
            Value::Null => out.push_str("NULL"),
            Value::Int(x) => {
                let _ = write!(out, "{x}");
            }
            Value::Float(x) => out.push_str(&format_float(x)),
            Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
            Value::Str(s) => out.push_str(&s),
            Value::Ip(x) => out.push_str(&crate::ip::format(x)),
            v @ Value::List(_) => out.push_str(&crate::value::format_value(&v, t)),
        },
    }
}

/// Appends one value to a column (NULL as a default slot).
pub fn push_value(out: &mut Column, v: &Value) {
    out.push(v);
}

fn push_data(out: &mut ColumnData, v: &Value) {
    out.push_value(v);
}

/// DuckDB's origin for `time_bucket` widths in days or less: 2000-01-03 (a Monday).
const TIME_BUCKET_ORIGIN: i64 = 946_857_600_000_000;

/// `time_bucket(width, ts)` for a width in micros.
pub fn time_bucket(width: i64, ts: i64) -> i64 {
    if crate::time::is_infinite_ts(ts) {
        return ts;
    }
    let off = (ts as i128 - TIME_BUCKET_ORIGIN as i128).div_euclid(width as i128) * width as i128;
    (TIME_BUCKET_ORIGIN as i128 + off) as i64
}

fn scalar_func(f: ScalarFunc, a: &Vector, t: DataType, len: usize) -> Result<Vector> {
    if a.is_null_const() {
        return Ok(Vector::constant(Value::Null));
    }
    let valid = validity(a, len).map(Cow::into_owned);
    match f {
        ScalarFunc::DateTrunc(u) => super::date_parts::eval_trunc(u, a, len, valid),
        ScalarFunc::TimeBucket(w) => {
            let x = ints(a, len)?;
            Ok(Vector::new(
                VData::Int(x.iter().map(|&v| time_bucket(w, v)).collect()),
                valid,
            ))
        }
        ScalarFunc::DatePart(p) => super::date_parts::eval_part(p, a, len, valid),
        ScalarFunc::Length => {
            let out = (0..len)
                .map(|i| a.str_at(i).chars().count() as i64)
                .collect();
            Ok(Vector::new(VData::Int(out), valid))
        }
        ScalarFunc::Lower | ScalarFunc::Upper => {
            let upper = matches!(f, ScalarFunc::Upper);
            let mut out = StringVec::with_capacity(len, len * 16);
            let mut buf = String::new();
            for i in 0..len {
                let s = a.str_at(i);
                if s.is_ascii() {
                    buf.clear();
                    buf.push_str(s);
                    if upper {
                        buf.make_ascii_uppercase();
                    } else {
                        buf.make_ascii_lowercase();
                    }
                    out.push(&buf);
                } else if upper {
                    out.push(&s.to_uppercase());
                } else {
                    out.push(&s.to_lowercase());
                }
            }
            let _ = t;
            Ok(Vector::new(VData::Str(out), valid))
        }
        _ => Err(internal("function kernel not found")),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{eval, select, selection, LikePattern, VData, Vector};
    use crate::column::{Bitmap, Value};
    use crate::plan::{BinaryOp, Expr};
    use crate::schema::DataType;

    /// A BOOLEAN vector from cells: `None` is NULL.
    fn booleans(cells: &[Option<bool>]) -> Vector {
        let values = cells.iter().map(|c| c.unwrap_or(false)).collect();
        let valid = Bitmap::from_bools(cells.iter().map(Option::is_some));
        Vector::new(VData::Bool(values), Some(valid))
    }

    /// AND/OR trees over three BOOLEAN columns and the NULL, TRUE and FALSE
    /// constants (leaves 0-2 are columns, 3-5 constants).
    fn logic_tree() -> impl Strategy<Value = Expr> {
        let leaf = (0usize..6).prop_map(|k| match k {
            0..=2 => Expr::Column {
                index: k,
                name: format!("c{k}"),
                data_type: DataType::Boolean,
            },
            _ => Expr::Literal {
                value: [Value::Null, Value::Bool(true), Value::Bool(false)][k - 3].clone(),
                data_type: DataType::Boolean,
            },
        });
        leaf.prop_recursive(4, 16, 2, |inner| {
            (inner.clone(), inner, any::<bool>()).prop_map(|(l, r, and)| Expr::Binary {
                op: if and { BinaryOp::And } else { BinaryOp::Or },
                left: Box::new(l),
                right: Box::new(r),
                data_type: DataType::Boolean,
            })
        })
    }

    proptest! {
        /// The substring-search path agrees with general wildcard matching.
        #[test]
        fn like_pieces_agree_with_general_matching(
            pattern in "[ab%é]{0,8}",
            s in "[abé]{0,12}",
        ) {
            let p = LikePattern::compile(&pattern, None, false).unwrap();
            prop_assert!(p.pieces.is_some());
            prop_assert_eq!(p.matches(&s), p.matches_general(&s), "{} LIKE {}", s, pattern);
        }
    }

    proptest! {
        /// A filter's AND/OR on truth bytes passes exactly the rows where
        /// three-valued evaluation gives TRUE (NULL drops a row as FALSE does).
        #[test]
        fn filter_logic_on_truth_agrees_with_three_valued_logic(
            e in logic_tree(),
            cells in proptest::collection::vec(
                proptest::collection::vec(proptest::option::of(any::<bool>()), 3),
                1..150,
            ),
        ) {
            let n = cells.len();
            let cols: Vec<Vector> = (0..3)
                .map(|k| booleans(&cells.iter().map(|row| row[k]).collect::<Vec<_>>()))
                .collect();
            let (mut fast, mut reference) = (Vec::new(), Vec::new());
            select(&e, &cols, n, &mut fast).unwrap();
            let v = eval(&e, &cols, n).unwrap();
            selection(&v, n, &mut reference).unwrap();
            prop_assert_eq!(fast, reference);
        }
    }

    #[test]
    fn like_pieces_cases() {
        let m = |p: &str, s: &str| LikePattern::compile(p, None, false).unwrap().matches(s);
        assert!(m("%", ""));
        assert!(m("abc", "abc") && !m("abc", "abcd"));
        assert!(m("a%", "abc") && !m("a%", "ba"));
        assert!(m("%c", "abc") && !m("%c", "cab"));
        assert!(m("%b%", "abc") && !m("%d%", "abc"));
        assert!(!m("a%a", "a") && m("a%a", "aa"));
        assert!(m("a%b%b%c", "abbc") && !m("a%b%b%c", "abc"));
        assert!(m("%é%", "café au lait"));
    }
}
