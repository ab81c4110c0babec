//! DECIMAL kernels over batches: casts to and from DECIMAL, and the errors of
//! DECIMAL arithmetic. Values are the scaled integers of `crate::decimal`; the
//! binder has already brought operands to the scales an operator needs.

use super::vector::{ints, VData, Vector};
use crate::column::{Bitmap, StringVec};
use crate::decimal;
use crate::error::{Error, Result};
use crate::schema::DataType;

/// `CAST(v AS to)` when `from` or `to` is a DECIMAL and the other side is a
/// number, a boolean or text; `None` for the casts this file does not handle.
pub fn cast(v: &Vector, from: DataType, to: DataType, len: usize) -> Result<Option<Vector>> {
    let valid = validity(v, len);
    let ok = |i: usize| v.is_valid(i);
    let each = |f: &dyn Fn(i64) -> std::result::Result<i64, String>| -> Result<Vec<i64>> {
        let x = ints(v, len)?;
        let mut out = Vec::with_capacity(len);
        for (i, &a) in x.iter().enumerate() {
            out.push(if ok(i) {
                f(a).map_err(Error::InvalidInput)?
            } else {
                0
            });
        }
        Ok(out)
    };
    let data = match (from, to) {
        (DataType::Decimal { scale: s, .. }, DataType::Decimal { precision, scale }) => {
            VData::Int(each(&|a| decimal::rescale(a, s, precision, scale))?)
        }
        (DataType::Decimal { scale: s, .. }, DataType::Double) => {
            let x = ints(v, len)?;
            VData::Float(x.iter().map(|&a| decimal::to_f64(a, s)).collect())
        }
        (DataType::Decimal { .. }, DataType::Boolean) => {
            let x = ints(v, len)?;
            VData::Bool(x.iter().map(|&a| a != 0).collect())
        }
        (DataType::Decimal { scale: s, .. }, DataType::Varchar) => {
            let x = ints(v, len)?;
            let mut out = StringVec::with_capacity(len, len * 8);
            let mut buf = String::new();
            for (i, &a) in x.iter().enumerate() {
                buf.clear();
                if ok(i) {
                    decimal::write(&mut buf, a, s);
                }
                out.push(&buf);
            }
            VData::Str(out)
        }
        (DataType::Decimal { scale: s, .. }, to) if to.is_integer() => {
            let (lo, hi) = to.int_range().unwrap_or((i64::MIN, i64::MAX));
            let tag = crate::value::int_tag(to);
            VData::Int(each(&|a| decimal::to_int(a, s, lo, hi, tag))?)
        }
        (from, DataType::Decimal { precision, scale }) if from.is_integer() => {
            VData::Int(each(&|a| decimal::from_int(a, precision, scale))?)
        }
        (DataType::Double, DataType::Decimal { precision, scale }) => {
            let x = super::vector::floats(v, len)?;
            let mut out = Vec::with_capacity(len);
            for (i, &a) in x.iter().enumerate() {
                out.push(if ok(i) {
                    decimal::from_f64(a, precision, scale).map_err(Error::InvalidInput)?
                } else {
                    0
                });
            }
            VData::Int(out)
        }
        _ => return Ok(None),
    };
    Ok(Some(Vector::new(data, valid)))
}

fn validity(v: &Vector, len: usize) -> Option<Bitmap> {
    match &v.data {
        VData::Const(crate::column::Value::Null) => Some(Bitmap::new(len, false)),
        VData::Const(_) => None,
        _ => v.validity.clone(),
    }
}

/// The error of a DECIMAL operation (result type `t`) whose result does not fit:
/// DuckDB's own error for a product of at most 18 digits (DuckDB computes it in
/// 64 bits too), else logdb's 64-bit limit.
pub fn overflow(what: &str, t: DataType, a: i64, b: i64) -> Error {
    let (width, scale) = t.decimal().unwrap_or((decimal::MAX_WIDTH, 0));
    if what == "multiplication" && width <= 18 {
        return Error::InvalidInput(format!(
            "Out of Range Error: Overflow in multiplication of DECIMAL(18) ({a} * {b}). You \
             might want to add an explicit cast to a bigger decimal."
        ));
    }
    Error::InvalidInput(decimal::beyond_i64(
        &format!("the {what} of {a} and {b} as scaled integers"),
        width,
        scale,
    ))
}

/// The range of a DECIMAL's scaled values when they fit 64 bits (width 18 or
/// less), else the `i64` range.
pub fn value_range(t: DataType) -> Option<(i64, i64)> {
    let (width, _) = t.decimal()?;
    if width > 18 {
        return Some((i64::MIN, i64::MAX));
    }
    let max = decimal::pow10(width) as i64 - 1;
    Some((-max, max))
}

/// `round(x, digits)` / `trunc(x, digits)` of DECIMALs of scale `scale`: the result
/// has scale `digits` clamped to `0..=scale` (rounded to tens, hundreds, ... for
/// negative digits); rounding is half away from zero.
pub fn round(
    v: &Vector,
    scale: u8,
    digits: i32,
    toward_zero: bool,
    len: usize,
    valid: Option<Bitmap>,
) -> Result<Vector> {
    let x = ints(v, len)?;
    if digits >= i32::from(scale) {
        return Ok(Vector::new(VData::Int(x.into_owned()), valid));
    }
    // Drop `scale - digits` digits; negative digits zero that many integer digits.
    // Dropping 20 or more digits of an i64 leaves 0 whatever the unit, so 38 will do.
    let unit = decimal::pow10((i32::from(scale) - digits).min(38) as u8);
    let back = decimal::pow10((-digits).clamp(0, 38) as u8);
    let mut out = Vec::with_capacity(len);
    for (i, &a) in x.iter().enumerate() {
        let a = i128::from(a);
        let q = if toward_zero {
            a / unit
        } else {
            decimal::div_round(a, unit)
        };
        let r = q.checked_mul(back).and_then(|r| i64::try_from(r).ok());
        match r {
            Some(r) => out.push(r),
            None if !v.is_valid(i) => out.push(0),
            None => {
                return Err(Error::InvalidInput(format!(
                    "Out of Range Error: round({}, {digits}) does not fit 64 bits",
                    decimal::format(a as i64, scale)
                )))
            }
        }
    }
    Ok(Vector::new(VData::Int(out), valid))
}

/// `floor(x)` / `ceil(x)` of DECIMALs of scale `scale`, as DECIMALs of scale 0.
pub fn floor_ceil(
    v: &Vector,
    scale: u8,
    ceil: bool,
    len: usize,
    valid: Option<Bitmap>,
) -> Result<Vector> {
    let x = ints(v, len)?;
    let unit = decimal::pow10(scale);
    let out = x
        .iter()
        .map(|&a| {
            let a = i128::from(a);
            let q = a.div_euclid(unit);
            let q = if ceil && a.rem_euclid(unit) != 0 {
                q + 1
            } else {
                q
            };
            // |q| <= |a|: it fits.
            q as i64
        })
        .collect();
    Ok(Vector::new(VData::Int(out), valid))
}
