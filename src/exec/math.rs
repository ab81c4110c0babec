//! Kernels of the numeric functions ([`MathFunc`]): one loop per function over a
//! batch, NULL rows keeping the arguments' validity. Floating-point results follow
//! IEEE 754 and libm as DuckDB's do (`sqrt(-1)` is NaN, `ln(0)` -infinity); integer
//! results that do not fit their type are errors, as in DuckDB.

use std::borrow::Cow;

use super::vector::{self, VData, Vector};
use crate::column::Bitmap;
use crate::error::{Error, Result};
use crate::plan::MathFunc;
use crate::schema::DataType;

/// Evaluates `f` over `args` (of types `types`) into a vector of type `t`;
/// `valid` is the AND of the arguments' validities.
pub fn eval(
    f: MathFunc,
    args: &[Cow<'_, Vector>],
    types: &[DataType],
    t: DataType,
    len: usize,
    valid: Option<Bitmap>,
) -> Result<Vector> {
    let ok = |i: usize| valid.as_ref().is_none_or(|b| b.get(i));
    let unary = |g: fn(f64) -> f64| -> Result<VData> {
        let x = vector::floats(&args[0], len)?;
        Ok(VData::Float(x.iter().map(|&v| g(v)).collect()))
    };
    let binary = |g: fn(f64, f64) -> f64| -> Result<VData> {
        let x = vector::floats(&args[0], len)?;
        let y = vector::floats(&args[1], len)?;
        Ok(VData::Float(
            x.iter().zip(y.iter()).map(|(&a, &b)| g(a, b)).collect(),
        ))
    };
    let test = |g: fn(f64) -> bool| -> Result<VData> {
        let x = vector::floats(&args[0], len)?;
        Ok(VData::Bool(x.iter().map(|&v| g(v)).collect()))
    };
    use MathFunc::*;
    if let (Floor | Ceil, Some((_, scale))) = (f, types[0].decimal()) {
        return super::decimal::floor_ceil(&args[0], scale, f == Ceil, len, valid);
    }
    let data = match f {
        Abs if types[0] != DataType::Double => {
            let x = vector::ints(&args[0], len)?;
            let (lo, _) = t.int_range().unwrap_or((i64::MIN, i64::MAX));
            if let Some(i) = (0..len).find(|&i| x[i] == lo && ok(i)) {
                return Err(Error::InvalidInput(format!(
                    "Out of Range Error: Overflow on abs({})",
                    x[i]
                )));
            }
            VData::Int(x.iter().map(|v| v.wrapping_abs()).collect())
        }
        Abs => unary(f64::abs)?,
        Sign => {
            let x = vector::floats(&args[0], len)?;
            let s = |v: f64| i64::from(v > 0.0) - i64::from(v < 0.0);
            VData::Int(x.iter().map(|&v| s(v)).collect())
        }
        Floor => unary(f64::floor)?,
        Ceil => unary(f64::ceil)?,
        Sqrt => unary(f64::sqrt)?,
        Cbrt => unary(f64::cbrt)?,
        Exp => unary(f64::exp)?,
        Ln => unary(f64::ln)?,
        Log10 => unary(f64::log10)?,
        Log2 => unary(f64::log2)?,
        LogBase => binary(|b, x| x.log10() / b.log10())?,
        Power => binary(f64::powf)?,
        Degrees => unary(|v| v * (180.0 / std::f64::consts::PI))?,
        Radians => unary(|v| v * (std::f64::consts::PI / 180.0))?,
        Sin => unary(f64::sin)?,
        Cos => unary(f64::cos)?,
        Tan => unary(f64::tan)?,
        Asin => unary(f64::asin)?,
        Acos => unary(f64::acos)?,
        Atan => unary(f64::atan)?,
        Atan2 => binary(f64::atan2)?,
        IsNan => test(f64::is_nan)?,
        IsInf => test(f64::is_infinite)?,
        IsFinite => test(f64::is_finite)?,
        Gcd | Lcm => {
            let a = vector::ints(&args[0], len)?;
            let b = vector::ints(&args[1], len)?;
            let mut out = Vec::with_capacity(len);
            for i in 0..len {
                let r = if f == Gcd {
                    gcd(a[i], b[i]) as i128
                } else {
                    lcm(a[i], b[i])
                };
                match i64::try_from(r) {
                    Ok(r) => out.push(r),
                    Err(_) if !ok(i) => out.push(0),
                    Err(_) => {
                        return Err(Error::InvalidInput(format!(
                            "Out of Range Error: {}({}, {}) is out of the BIGINT range",
                            f.name(),
                            a[i],
                            b[i]
                        )))
                    }
                }
            }
            VData::Int(out)
        }
    };
    Ok(Vector::new(data, valid))
}

/// The greatest common divisor of |a| and |b| (0 for two zeros).
fn gcd(a: i64, b: i64) -> u64 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The least common multiple of |a| and |b| (0 when either is 0), in i128 so
/// that the caller can refuse one beyond BIGINT.
fn lcm(a: i64, b: i64) -> i128 {
    let g = gcd(a, b);
    if g == 0 {
        return 0;
    }
    (a.unsigned_abs() / g) as i128 * b.unsigned_abs() as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcd_and_lcm() {
        assert_eq!(gcd(-12, 18), 6);
        assert_eq!(gcd(0, 0), 0);
        assert_eq!(gcd(i64::MIN, 0), 1 << 63);
        assert_eq!(lcm(-4, 6), 12);
        assert_eq!(lcm(0, 5), 0);
        assert!(lcm(i64::MAX, 2) > i64::MAX as i128);
    }
}
