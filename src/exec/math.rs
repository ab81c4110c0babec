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
        SignBit => test(f64::is_sign_negative)?,
        Sinh => unary(f64::sinh)?,
        Cosh => unary(f64::cosh)?,
        Tanh => unary(f64::tanh)?,
        Asinh => unary(f64::asinh)?,
        Acosh => unary(f64::acosh)?,
        Atanh => unary(f64::atanh)?,
        Cot => unary(|v| 1.0 / v.tan())?,
        Gamma => unary(libm::tgamma)?,
        Lgamma => unary(libm::lgamma)?,
        Even => unary(even)?,
        NextAfter => binary(next_after)?,
        Fdiv => binary(|x, y| (x / y).floor())?,
        Fmod => binary(|x, y| x - y * (x / y).floor())?,
        RoundEven => binary(round_even)?,
        BitCount => {
            let x = vector::ints(&args[0], len)?;
            let bits = match types[0] {
                DataType::TinyInt | DataType::UTinyInt => 8,
                DataType::SmallInt | DataType::USmallInt => 16,
                DataType::Integer | DataType::UInteger => 32,
                _ => 64,
            };
            let mask = if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            VData::Int(
                x.iter()
                    .map(|&v| (v as u64 & mask).count_ones() as i64)
                    .collect(),
            )
        }
        Factorial => {
            let x = vector::ints(&args[0], len)?;
            let mut out = Vec::with_capacity(len);
            for i in 0..len {
                if !ok(i) {
                    out.push(0);
                    continue;
                }
                out.push(factorial(x[i])?);
            }
            VData::Int(out)
        }
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

thread_local! {
    /// The state of `random()` on this thread: seeded once from the process's
    /// random hasher keys, the thread and the clock.
    static RANDOM: std::cell::Cell<u64> = std::cell::Cell::new({
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        std::thread::current().id().hash(&mut h);
        h.finish()
    });
}

/// `random()` for `len` rows: uniform doubles in [0, 1) (SplitMix64 steps; not
/// for cryptography).
pub fn random(len: usize) -> Vec<f64> {
    RANDOM.with(|state| {
        let mut s = state.get();
        let out = (0..len)
            .map(|_| {
                s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                (z >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        state.set(s);
        out
    })
}

/// `even(x)`: rounded away from zero to an even integer (`even(0) = 0`).
fn even(x: f64) -> f64 {
    let r = if x >= 0.0 { x.ceil() } else { x.floor() };
    if r % 2.0 == 0.0 {
        r
    } else {
        r + r.signum()
    }
}

/// `nextafter(x, y)`: the next double after x in y's direction (y when equal).
fn next_after(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x < y {
        x.next_up()
    } else if x > y {
        x.next_down()
    } else {
        y
    }
}

/// `round_even(x, n)`: x rounded to n decimals (n < 0: to tens, hundreds, ...),
/// halves to the even neighbour.
fn round_even(x: f64, n: f64) -> f64 {
    let scale = 10f64.powi(n as i32);
    let y = x * scale;
    if !y.is_finite() {
        return x;
    }
    y.round_ties_even() / scale
}

/// `n!` for 0 ≤ n ≤ 20 (1 below 0 is an error, as in DuckDB; above, the value
/// does not fit a BIGINT).
fn factorial(n: i64) -> Result<i64> {
    if n < 0 {
        return Err(Error::InvalidInput(
            "Out of Range Error: factorial of a negative number is undefined".into(),
        ));
    }
    (1..=n)
        .try_fold(1i64, |a, k| a.checked_mul(k))
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "Out of Range Error: factorial({n}) does not fit in a BIGINT \
             (logdb has no 128-bit integers yet)"
            ))
        })
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
    fn random_draws_differ_and_stay_in_the_unit_interval() {
        let r = random(1000);
        assert!(r.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = r.iter().sum::<f64>() / 1000.0;
        assert!((0.4..0.6).contains(&mean), "{mean}");
        assert_ne!(random(1), random(1));
    }

    #[test]
    fn even_nextafter_round_even_and_factorial_follow_duckdb() {
        assert_eq!(
            (even(2.5), even(-2.5), even(3.0), even(-0.1), even(0.0)),
            (4.0, -4.0, 4.0, -2.0, 0.0)
        );
        assert_eq!(next_after(1.0, 2.0), 1.0000000000000002);
        assert_eq!(next_after(1.0, 0.0), 0.9999999999999999);
        assert_eq!(
            (
                round_even(2.5, 0.0),
                round_even(3.5, 0.0),
                round_even(-2.5, 0.0)
            ),
            (2.0, 4.0, -2.0)
        );
        assert_eq!(round_even(45.0, -1.0), 40.0);
        assert_eq!(factorial(20).unwrap(), 2432902008176640000);
        assert!(factorial(21).is_err() && factorial(-1).is_err());
    }

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
