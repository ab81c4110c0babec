//! Scalar function kernels beyond the first slice: string, regex, URL, IP, time
//! formatting and rounding.
//!
//! Each kernel dispatches once on the function and argument layout, then loops over
//! rows. String kernels over a dictionary-encoded input whose dictionary is smaller
//! than the batch compute each dictionary entry once and look codes up. Regular
//! expressions and formats are prepared at bind time (or once per batch for
//! formats), never per row. NULL in any argument gives NULL, except `concat`, which
//! skips NULL arguments (DuckDB).

use std::borrow::Cow;

use super::vector::{self, VData, Vector};
use crate::column::{Bitmap, Column, ColumnData, StringVec, Value};
use crate::error::{Error, Result};
use crate::plan::{DiffUnit, ScalarFunc};
use crate::schema::DataType;
use crate::time::{civil_from_days, parse_format, strftime, MICROS_PER_DAY, MICROS_PER_SECOND};
use crate::value::cast_value;

/// Whether `f`'s kernel is in this module.
pub fn is_extended(f: &ScalarFunc) -> bool {
    !matches!(
        f,
        ScalarFunc::DateTrunc(_)
            | ScalarFunc::TimeBucket(_)
            | ScalarFunc::DatePart(_)
            | ScalarFunc::Lower
            | ScalarFunc::Upper
            | ScalarFunc::Length
    )
}

fn internal(msg: &str) -> Error {
    Error::Internal(format!("function evaluation: {msg}"))
}

/// The AND of the validities of `args` (`None` = all valid).
fn all_valid(args: &[Cow<'_, Vector>], len: usize) -> Option<Bitmap> {
    let mut out: Option<Bitmap> = None;
    for a in args {
        let b = match &a.data {
            VData::Const(Value::Null) => Bitmap::new(len, false),
            VData::Const(_) => continue,
            _ => match &a.validity {
                Some(b) => b.clone(),
                None => continue,
            },
        };
        out = Some(match out {
            None => b,
            Some(o) => {
                let words = o
                    .words()
                    .iter()
                    .zip(b.words())
                    .map(|(x, y)| x & y)
                    .collect();
                Bitmap::from_words(words, len)
            }
        });
    }
    out
}

/// Applies `f` to each string of `a` (row `i` also passed for other arguments),
/// writing into `buf`; `f` returns false for a NULL result.
fn map_str(
    a: &Vector,
    len: usize,
    valid: Option<Bitmap>,
    per_row_args: bool,
    mut f: impl FnMut(&str, usize, &mut String) -> bool,
) -> Vector {
    let mut out = StringVec::with_capacity(len, len * 16);
    let mut validity = valid;
    let mut buf = String::new();
    let ok = |v: &Option<Bitmap>, i: usize| v.as_ref().is_none_or(|b| b.get(i));
    match &a.data {
        VData::Dict { codes, dict } if !per_row_args && dict.len() < len => {
            // Once per dictionary entry.
            let mut res = StringVec::with_capacity(dict.len(), dict.len() * 16);
            let mut res_ok = Vec::with_capacity(dict.len());
            for s in dict.iter() {
                buf.clear();
                res_ok.push(f(s, 0, &mut buf));
                res.push(&buf);
            }
            for (i, &c) in codes.iter().enumerate().take(len) {
                let c = c as usize;
                let good = c < res.len() && res_ok[c];
                out.push(if good { res.get(c) } else { "" });
                if !good && ok(&validity, i) {
                    validity
                        .get_or_insert_with(|| Bitmap::new(len, true))
                        .set(i, false);
                }
            }
        }
        _ => {
            for i in 0..len {
                buf.clear();
                if ok(&validity, i) && !f(a.str_at(i), i, &mut buf) {
                    validity
                        .get_or_insert_with(|| Bitmap::new(len, true))
                        .set(i, false);
                    buf.clear();
                }
                out.push(&buf);
            }
        }
    }
    Vector::new(VData::Str(out), validity)
}

/// Applies a string predicate per row (or per dictionary entry).
fn map_bool(
    a: &Vector,
    len: usize,
    valid: Option<Bitmap>,
    per_row_args: bool,
    mut f: impl FnMut(&str, usize) -> bool,
) -> Vector {
    let out: Vec<bool> = match &a.data {
        VData::Dict { codes, dict } if !per_row_args && dict.len() < len => {
            let m: Vec<bool> = dict.iter().map(|s| f(s, 0)).collect();
            codes
                .iter()
                .take(len)
                .map(|&c| m.get(c as usize).copied().unwrap_or(false))
                .collect()
        }
        _ => (0..len).map(|i| f(a.str_at(i), i)).collect(),
    };
    Vector::new(VData::Bool(out), valid)
}

fn is_const(v: &Vector) -> bool {
    matches!(v.data, VData::Const(_))
}

/// Evaluates an extended function over its evaluated arguments.
pub fn eval(
    f: &ScalarFunc,
    args: &[Cow<'_, Vector>],
    types: &[DataType],
    t: DataType,
    len: usize,
) -> Result<Vector> {
    if let ScalarFunc::List(l) = f {
        return super::list::eval(l, args, types, t, len);
    }
    if matches!(f, ScalarFunc::Concat) {
        return Ok(concat(args, types, len));
    }
    if matches!(f, ScalarFunc::Random) {
        return Ok(Vector::new(VData::Float(super::math::random(len)), None));
    }
    if matches!(f, ScalarFunc::ConcatWs) {
        return super::strings::eval(f, args, types, len, None);
    }
    if let ScalarFunc::Extreme { greatest } = f {
        return super::extreme::eval(*greatest, args, t, len);
    }
    if let ScalarFunc::Format { printf } = f {
        let style = if *printf {
            super::format::Style::Printf
        } else {
            super::format::Style::Fmt
        };
        return super::format::eval(style, args, types, len);
    }
    if args.iter().any(|a| a.is_null_const()) {
        return Ok(Vector::constant(Value::Null));
    }
    let a = args.first().ok_or_else(|| internal("no arguments"))?;
    if let ScalarFunc::KeyId(keys) = f {
        return super::key_id::eval(keys, a, len);
    }
    let valid = all_valid(args, len);
    let rest_const = args[1..].iter().all(|v| is_const(v));
    let arg_str = |k: usize, i: usize| args.get(k).map_or("", |v| v.str_at(i));
    Ok(match f {
        ScalarFunc::LikeMatch {
            escape,
            case_insensitive,
            negated,
        } => {
            let mut compiled: Option<(String, vector::LikePattern)> = None;
            let mut out = Vec::with_capacity(len);
            for i in 0..len {
                if !valid.as_ref().is_none_or(|b| b.get(i)) {
                    out.push(false);
                    continue;
                }
                let p = arg_str(1, i);
                if compiled.as_ref().is_none_or(|(text, _)| text != p) {
                    let m = vector::LikePattern::compile(p, *escape, *case_insensitive)?;
                    compiled = Some((p.to_string(), m));
                }
                let m = compiled.as_ref().map(|(_, m)| m.matches(arg_str(0, i)));
                out.push(m.unwrap_or(false) != *negated);
            }
            Vector::new(VData::Bool(out), valid)
        }
        ScalarFunc::NameOf { month } => super::date_parts::eval_name(*month, a, len, valid)?,
        ScalarFunc::Strftime(fmt) => {
            let items = parse_format(fmt).map_err(Error::InvalidInput)?;
            let x = vector::ints(a, len)?;
            let mut out = StringVec::with_capacity(len, len * 20);
            let mut buf = String::new();
            for &ts in x.iter() {
                buf.clear();
                strftime(&mut buf, ts, &items);
                out.push(&buf);
            }
            Vector::new(VData::Str(out), valid)
        }
        ScalarFunc::StartOfInterval(w) => {
            let x = vector::ints(a, len)?;
            let w = (*w).max(1);
            Vector::new(
                VData::Int(x.iter().map(|&v| v.div_euclid(w) * w).collect()),
                valid,
            )
        }
        ScalarFunc::Substr => {
            let start = vector::ints(&args[1], len)?;
            let count = match args.get(2) {
                Some(c) => Some(vector::ints(c, len)?),
                None => None,
            };
            for i in (0..len).filter(|&i| valid.as_ref().is_none_or(|b| b.get(i))) {
                substr_range("offset", start[i])?;
                if let Some(c) = &count {
                    substr_range("length", c[i])?;
                }
            }
            map_str(a, len, valid, !rest_const, |s, i, out| {
                out.push_str(substr(s, start[i], count.as_ref().map(|c| c[i])));
                true
            })
        }
        ScalarFunc::ConcatOp => {
            let b = &args[1];
            map_str(a, len, valid, true, |s, i, out| {
                out.push_str(s);
                vector::write_text(out, b, i, types[1]);
                true
            })
        }
        ScalarFunc::StartsWith | ScalarFunc::EndsWith | ScalarFunc::Contains => {
            map_bool(a, len, valid, !rest_const, |s, i| {
                let p = arg_str(1, i);
                match f {
                    ScalarFunc::StartsWith => s.starts_with(p),
                    ScalarFunc::EndsWith => s.ends_with(p),
                    _ => memchr::memmem::find(s.as_bytes(), p.as_bytes()).is_some(),
                }
            })
        }
        ScalarFunc::SplitPart => {
            let n = vector::ints(&args[2], len)?;
            map_str(a, len, valid, !rest_const, |s, i, out| {
                out.push_str(split_part(s, arg_str(1, i), n[i]));
                true
            })
        }
        ScalarFunc::RegexpMatches(p) => map_bool(a, len, valid, false, |s, _| p.0.is_match(s)),
        ScalarFunc::Glob => {
            // Each distinct pattern is parsed once (a constant one once per batch).
            let mut last: Option<(String, super::glob_match::GlobPattern)> = None;
            map_bool(a, len, valid, !rest_const, |s, i| {
                let text = arg_str(1, i);
                if last.as_ref().is_none_or(|(t, _)| t != text) {
                    last = Some((text.to_string(), super::glob_match::GlobPattern::new(text)));
                }
                last.as_ref().is_some_and(|(_, g)| g.matches(s))
            })
        }
        ScalarFunc::RegexpExtract(p, g) => map_str(a, len, valid, false, |s, _, out| {
            if let Some(m) = p.0.captures(s).and_then(|c| c.get(*g)) {
                out.push_str(m.as_str());
            }
            true
        }),
        ScalarFunc::RegexpReplace(p, repl, all) => map_str(a, len, valid, false, |s, _, out| {
            let r = if *all {
                p.0.replace_all(s, &**repl)
            } else {
                p.0.replace(s, &**repl)
            };
            out.push_str(&r);
            true
        }),
        ScalarFunc::UrlParam => map_str(a, len, valid, !rest_const, |s, i, out| {
            let (_, q) = crate::ingest::url::split_target(s);
            match q.and_then(|q| crate::ingest::url::query_param(q, arg_str(1, i))) {
                Some(v) => {
                    out.push_str(&v);
                    true
                }
                None => false,
            }
        }),
        ScalarFunc::UrlPath => map_str(a, len, valid, false, |s, _, out| {
            out.push_str(crate::ingest::url::split_target(s).0);
            true
        }),
        ScalarFunc::Domain => map_str(a, len, valid, false, |s, _, out| {
            out.push_str(domain(s));
            true
        }),
        ScalarFunc::IpInCidr(net, mask) => {
            let x = vector::ips(a, len)?;
            Vector::new(
                VData::Bool(x.iter().map(|&ip| ip & mask == *net).collect()),
                valid,
            )
        }
        ScalarFunc::Round(d) => round(a, types[0], t, *d, len, valid, false)?,
        ScalarFunc::Trunc(d) => round(a, types[0], t, *d, len, valid, true)?,
        ScalarFunc::ExactDouble => {
            let x = vector::ints(a, len)?;
            let mut out = Vec::with_capacity(len);
            for (i, &v) in x.iter().enumerate() {
                let ok = valid.as_ref().is_none_or(|b| b.get(i));
                out.push(if ok {
                    exact_double(v).map_err(Error::InvalidInput)?
                } else {
                    0.0
                });
            }
            Vector::new(VData::Float(out), valid)
        }
        ScalarFunc::Strptime(fmt, try_parse) => {
            let items = parse_format(fmt).map_err(Error::InvalidInput)?;
            let mut out = Vec::with_capacity(len);
            let mut validity = valid;
            for i in 0..len {
                if !validity.as_ref().is_none_or(|b| b.get(i)) {
                    out.push(0);
                    continue;
                }
                match crate::time::strptime(a.str_at(i), &items, fmt) {
                    Ok(ts) => out.push(ts),
                    Err(_) if *try_parse => {
                        validity
                            .get_or_insert_with(|| Bitmap::new(len, true))
                            .set(i, false);
                        out.push(0);
                    }
                    Err(m) => return Err(Error::InvalidInput(m)),
                }
            }
            Vector::new(VData::Int(out), validity)
        }
        ScalarFunc::TryCast(to) => {
            let from = types[0];
            let mut out = Column::new(ColumnData::empty(to.physical()));
            for i in 0..len {
                let v = if a.is_valid(i) {
                    cast_value(&a.value(i, from), from, *to).unwrap_or(Value::Null)
                } else {
                    Value::Null
                };
                vector::push_value(&mut out, &v);
            }
            Vector::from_column(&out)
        }
        ScalarFunc::Instr
        | ScalarFunc::Translate
        | ScalarFunc::Pad { .. }
        | ScalarFunc::Levenshtein
        | ScalarFunc::DamerauLevenshtein
        | ScalarFunc::Jaro
        | ScalarFunc::JaroWinkler
        | ScalarFunc::Jaccard
        | ScalarFunc::Hamming => super::strings::eval(f, args, types, len, valid)?,
        ScalarFunc::Math(m) => super::math::eval(*m, args, types, t, len, valid)?,
        ScalarFunc::Text(x) => super::text::eval(*x, args, len, valid)?,
        ScalarFunc::Interval(x) => super::interval::eval(*x, args, types, len, valid)?,
        ScalarFunc::DateDiff(unit) => {
            // An infinite end point has no difference: NULL (DuckDB).
            let (x, y) = (vector::ints(a, len)?, vector::ints(&args[1], len)?);
            let mut out = Vec::with_capacity(len);
            let mut valid = valid;
            for (i, (&s, &e)) in x.iter().zip(y.iter()).enumerate() {
                if crate::time::is_infinite_ts(s) || crate::time::is_infinite_ts(e) {
                    valid
                        .get_or_insert_with(|| Bitmap::new(len, true))
                        .set(i, false);
                    out.push(0);
                } else {
                    out.push(date_diff(*unit, s, e)?);
                }
            }
            Vector::new(VData::Int(out), valid)
        }
        ScalarFunc::ToTimestamp => {
            let x = vector::floats(a, len)?;
            let mut out = Vec::with_capacity(len);
            for (i, &secs) in x.iter().enumerate() {
                let micros = (secs * 1e6).round();
                let ok = valid.as_ref().is_none_or(|b| b.get(i));
                if ok && !(-9.2e18..9.2e18).contains(&micros) {
                    return Err(Error::InvalidInput(format!(
                        "Conversion Error: epoch seconds {secs} out of range for TIMESTAMP"
                    )));
                }
                out.push(if ok { micros as i64 } else { 0 });
            }
            Vector::new(VData::Int(out), valid)
        }
        ScalarFunc::FormatBytes { decimal } => {
            let x = vector::ints(a, len)?;
            let mut out = StringVec::with_capacity(len, len * 10);
            let mut buf = String::new();
            for &n in x.iter() {
                buf.clear();
                format_bytes(n, *decimal, &mut buf);
                out.push(&buf);
            }
            Vector::new(VData::Str(out), valid)
        }
        ScalarFunc::JsonExtract(path, as_string) => {
            let mut failed = None;
            let v = map_str(a, len, valid, false, |s, _, out| {
                if failed.is_some() {
                    return false;
                }
                match super::json_path::extract(s, path, *as_string, out) {
                    Ok(found) => found.is_some(),
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            });
            if let Some(e) = failed {
                return Err(Error::InvalidInput(e));
            }
            v
        }
        ScalarFunc::TimeBucketBy(shift) => super::time_bucket::eval(*shift, args, len, valid)?,
        ScalarFunc::DatePartDynamic(_) | ScalarFunc::DateTruncDynamic => {
            super::date_parts::eval_dynamic(f, args, len, valid)?
        }
        ScalarFunc::MakeDate
        | ScalarFunc::MakeTimestamp { .. }
        | ScalarFunc::MakeTime
        | ScalarFunc::LastDay
        | ScalarFunc::AtTimeZone(_) => super::date::eval(f, args, len, valid)?,
        _ => return Err(internal("not an extended function")),
    })
}

/// An integer as DOUBLE for arithmetic with a decimal literal: refused beyond
/// ±2^53, where DOUBLE would round it (DuckDB computes such arithmetic in DECIMAL).
pub fn exact_double(v: i64) -> std::result::Result<f64, String> {
    const EXACT: u64 = 1 << 53;
    if v.unsigned_abs() > EXACT {
        return Err(format!(
            "Out of Range Error: {v} is beyond ±2^53 and would lose digits as DOUBLE in \
             arithmetic with a decimal literal (logdb has no DECIMAL type); CAST it to \
             DOUBLE to accept rounding"
        ));
    }
    Ok(v as f64)
}

/// DuckDB's bounds on a `substr` offset or length (32-bit, either sign).
pub(super) fn substr_range(what: &str, v: i64) -> Result<()> {
    if v > u32::MAX as i64 {
        return Err(Error::InvalidInput(format!(
            "Out of Range Error: Substring {what} outside of supported range (> 4294967295)"
        )));
    }
    if v < -(1i64 << 32) {
        return Err(Error::InvalidInput(format!(
            "Out of Range Error: Substring {what} outside of supported range (< -4294967296)"
        )));
    }
    Ok(())
}

/// DuckDB's `format_bytes`: below 1024 `N bytes` (`1 byte`), else the largest
/// power of 1024 up to PiB with one decimal, truncated (`1.4 KiB` for 1500).
pub fn format_bytes(n: i64, decimal: bool, out: &mut String) {
    use std::fmt::Write;
    let (base, units) = if decimal {
        (1000, ["bytes", "kB", "MB", "GB", "TB", "PB"])
    } else {
        (1024, ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"])
    };
    const UNITS: usize = 6;
    if n < 0 {
        out.push('-');
    }
    let bytes = n.unsigned_abs();
    let mut parts = [0u64; UNITS];
    parts[0] = bytes;
    for i in 1..UNITS {
        parts[i] = parts[i - 1] / base;
        parts[i - 1] %= base;
    }
    for i in (1..UNITS).rev() {
        if parts[i] > 0 {
            let tenths = parts[i - 1] * 10 / base;
            let _ = write!(out, "{}.{} {}", parts[i], tenths, units[i]);
            return;
        }
    }
    let _ = write!(
        out,
        "{} {}",
        bytes,
        if bytes == 1 { "byte" } else { "bytes" }
    );
}

/// `date_diff(unit, start, end)` of two timestamps (micros): the unit boundaries
/// crossed from `start` to `end` (negative when `end` is earlier), as DuckDB
/// counts them; weeks are whole 7-day spans of day boundaries.
fn date_diff(unit: DiffUnit, start: i64, end: i64) -> Result<i64> {
    let spans = |width: i64| end.div_euclid(width) as i128 - start.div_euclid(width) as i128;
    let months = |ts: i64| {
        let (y, m, _) = civil_from_days(ts.div_euclid(MICROS_PER_DAY));
        y as i128 * 12 + (m as i128 - 1)
    };
    let d: i128 = match unit {
        DiffUnit::Microsecond => end as i128 - start as i128,
        DiffUnit::Millisecond => spans(1_000),
        DiffUnit::Second => spans(MICROS_PER_SECOND),
        DiffUnit::Minute => spans(60 * MICROS_PER_SECOND),
        DiffUnit::Hour => spans(3_600 * MICROS_PER_SECOND),
        DiffUnit::Day => spans(MICROS_PER_DAY),
        DiffUnit::Week => spans(MICROS_PER_DAY) / 7,
        DiffUnit::Month => months(end) - months(start),
        DiffUnit::Quarter => months(end).div_euclid(3) - months(start).div_euclid(3),
        DiffUnit::Year => months(end).div_euclid(12) - months(start).div_euclid(12),
    };
    i64::try_from(d).map_err(|_| {
        Error::InvalidInput(format!(
            "Out of Range Error: date_diff in {unit:?} does not fit in BIGINT"
        ))
    })
}

fn concat(args: &[Cow<'_, Vector>], types: &[DataType], len: usize) -> Vector {
    let mut out = StringVec::with_capacity(len, len * 24);
    let mut buf = String::new();
    for i in 0..len {
        buf.clear();
        for (a, &t) in args.iter().zip(types) {
            if a.is_valid(i) {
                vector::write_text(&mut buf, a, i, t);
            }
        }
        out.push(&buf);
    }
    Vector::new(VData::Str(out), None)
}

/// DuckDB's `substr`: 1-based character positions; a start <= 0 still counts
/// positions before the string, a negative start counts from the end, and a
/// negative length takes characters before the start.
pub fn substr(s: &str, start: i64, count: Option<i64>) -> &str {
    let n = if s.is_ascii() {
        s.len() as i64
    } else {
        s.chars().count() as i64
    };
    let Some((lo, hi)) = substr_window(n, start, count) else {
        return "";
    };
    if s.is_ascii() {
        return &s[lo..hi];
    }
    let mut idx = s
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(s.len()));
    let b0 = idx.nth(lo).unwrap_or(s.len());
    let b1 = if hi > lo {
        idx.nth(hi - lo - 1).unwrap_or(s.len())
    } else {
        b0
    };
    &s[b0..b1]
}

/// `round(v, d)` of a DOUBLE by its exact decimal value, halves away from zero
/// (DuckDB 2.0: `round(42.12345, 4)` is 42.1234, since the double below
/// 42.12345 is nearer). `v * 10^d` decides unless it lands next to a half,
/// where the exact binary value is compared with the half in integers.
fn round_decimals(v: f64, d: usize, m: f64) -> f64 {
    let y = v * m;
    let frac = (y - y.trunc()).abs();
    if (frac - 0.5).abs() > 1e-6 || y.abs() > 1e15 {
        return y.round() / m;
    }
    // |y| is within 1e-6 of n + 1/2, so its floor is the exact value's floor.
    let n = y.abs().floor() as u128;
    let up = match above_half(v.abs(), d, n) {
        Some(up) => up,
        None => return round_by_digits(v, d, m),
    };
    ((n + u128::from(up)) as f64 / m).copysign(v)
}

/// Whether the finite `a >= 0` times `10^d` is at least `n + 1/2`, exactly:
/// with `a = mant * 2^exp`, compares `mant * 10^d * 2^(exp+1)` with `2n + 1`.
/// `None` when `10^d` does not fit the arithmetic (d > 22).
fn above_half(a: f64, d: usize, n: u128) -> Option<bool> {
    let bits = a.to_bits();
    let field = ((bits >> 52) & 0x7ff) as i32;
    let fraction = u128::from(bits & ((1 << 52) - 1));
    let (mant, exp) = if field == 0 {
        (fraction, -1074)
    } else {
        (fraction | 1 << 52, field - 1075)
    };
    // mant < 2^53 and 10^22 < 2^74: the product fits in 127 bits.
    let lhs = mant.checked_mul(10u128.checked_pow(u32::try_from(d).ok()?)?)?;
    let half = 2 * n + 1;
    let shift = exp + 1;
    if shift >= 0 {
        // Shifting left by `shift`: past 127 bits the product is above any half.
        return Some(match lhs.checked_shl(shift as u32) {
            Some(l) if l >> shift == lhs => l >= half,
            _ => true,
        });
    }
    // Compare lhs with half * 2^k; a shift past 127 bits is above any lhs.
    let k = shift.unsigned_abs();
    Some(k < 128 && half <= u128::MAX >> k && lhs >= half << k)
}

/// The slow exact path of [`round_decimals`] for scales beyond 10^22: every
/// digit of the double, and the one after the d-th decimal.
fn round_by_digits(v: f64, d: usize, m: f64) -> f64 {
    let exact = format!("{:.1100}", v.abs());
    let Some(point) = exact.find('.') else {
        return (v * m).round() / m;
    };
    let kept = &exact[..point + 1 + d];
    let next = exact.as_bytes().get(point + 1 + d).copied().unwrap_or(b'0');
    let mut r: f64 = kept.parse().unwrap_or(v.abs());
    if next >= b'5' {
        r = ((r * m).round() + 1.0) / m;
    }
    r.copysign(v)
}

/// The 0-based, half-open range of the `n` units (characters, grapheme
/// clusters) of a string that `substr(start, count)` takes (`None`: nothing).
pub(super) fn substr_window(n: i64, start: i64, count: Option<i64>) -> Option<(usize, usize)> {
    let start = if start < 0 {
        n.saturating_add(start).saturating_add(1)
    } else {
        start
    };
    let (lo, hi) = match count {
        // DuckDB's default length is 2^32 - 1 (it shows with far-off negative starts).
        None => (start, start.saturating_add(u32::MAX as i64)),
        Some(c) if c >= 0 => (start, start.saturating_add(c)),
        Some(c) => (start.saturating_add(c), start),
    };
    let lo = lo.max(1);
    let hi = hi.min(n + 1);
    (lo < hi).then(|| ((lo - 1) as usize, (hi - 1) as usize))
}

/// DuckDB's `split_part`: 1-based, negative from the end, out of range ''. An empty
/// delimiter splits into characters.
pub fn split_part<'a>(s: &'a str, delim: &str, n: i64) -> &'a str {
    if n == 0 {
        return "";
    }
    if delim.is_empty() {
        let k = s.chars().count() as i64;
        let i = if n > 0 { n - 1 } else { k + n };
        if i < 0 || i >= k {
            return "";
        }
        return substr(s, i + 1, Some(1));
    }
    if n > 0 {
        s.split(delim).nth((n - 1) as usize).unwrap_or("")
    } else {
        s.rsplit(delim).nth((-n - 1) as usize).unwrap_or("")
    }
}

/// The host of a URL (ClickHouse `domain`): after `scheme://` (or `//`), before
/// the port, path, query or fragment; '' when there is none.
pub fn domain(url: &str) -> &str {
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => match url.strip_prefix("//") {
            Some(r) => r,
            None => return "",
        },
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..end];
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    if host.starts_with('[') {
        return host.find(']').map_or(host, |e| &host[..=e]);
    }
    host.split(':').next().unwrap_or("")
}

/// `round(x, d)` and `trunc(x, d)` (`toward_zero`) as DuckDB computes them: a
/// DOUBLE is scaled by `10^|d|` (`std::pow`), rounded half away from zero (or
/// truncated) and scaled back; a scale that overflows gives x itself (round:
/// 0 for d < 0); NaN and infinities stay as they are. Integers keep their type; d < 0 rounds to tens, hundreds, ...
fn round(
    a: &Vector,
    at: DataType,
    t: DataType,
    d: i32,
    len: usize,
    valid: Option<Bitmap>,
    toward_zero: bool,
) -> Result<Vector> {
    if let Some((_, scale)) = at.decimal() {
        return super::decimal::round(a, scale, d, toward_zero, len, valid);
    }
    let whole = |v: f64| if toward_zero { v.trunc() } else { v.round() };
    if at == DataType::Double {
        let x = vector::floats(a, len)?;
        let m = 10f64.powf(d.unsigned_abs() as f64);
        let out = x
            .iter()
            .map(|&v| {
                if d == 0 || !v.is_finite() {
                    return whole(v);
                }
                let r = if d > 0 && !toward_zero {
                    round_decimals(v, d as usize, m)
                } else if d > 0 {
                    whole(v * m) / m
                } else {
                    whole(v / m) * m
                };
                // DuckDB: round gives 0 for an overflowing negative scale, trunc x.
                match (r.is_finite(), d > 0 || toward_zero) {
                    (true, _) => r,
                    (false, true) => v,
                    (false, false) => 0.0,
                }
            })
            .collect();
        return Ok(Vector::new(VData::Float(out), valid));
    }
    let x = vector::ints(a, len)?;
    if d >= 0 {
        return Ok(Vector::new(VData::Int(x.into_owned()), valid));
    }
    // Integers to tens, hundreds, ...: half away from zero (or toward zero).
    let p = 10i128.checked_pow(d.unsigned_abs()).unwrap_or(i128::MAX);
    let (lo, hi) = t.int_range().unwrap_or((i64::MIN, i64::MAX));
    let half = if toward_zero { 0 } else { p / 2 };
    let mut out = Vec::with_capacity(len);
    for (i, &v) in x.iter().enumerate() {
        let v = v as i128;
        let r = (v.abs() + half) / p * p * v.signum();
        let ok = valid.as_ref().is_none_or(|b| b.get(i));
        if ok && (r < lo as i128 || r > hi as i128) {
            return Err(Error::InvalidInput(format!(
                "Out of Range Error: round({v}, {d}) does not fit in {t}"
            )));
        }
        out.push(r as i64);
    }
    Ok(Vector::new(VData::Int(out), valid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substr_follows_duckdb() {
        assert_eq!(substr("hello", 2, Some(3)), "ell");
        assert_eq!(substr("hello", 0, Some(2)), "h");
        assert_eq!(substr("hello", -3, None), "llo");
        assert_eq!(substr("hello", -3, Some(2)), "ll");
        assert_eq!(substr("hello", 2, Some(-1)), "h");
        assert_eq!(substr("héllo", 2, Some(2)), "él");
        assert_eq!(substr("hello", i64::MIN, Some(i64::MAX)), "hell");
        assert_eq!(substr("hello", i64::MAX, Some(i64::MIN)), "hello");
    }

    #[test]
    fn split_and_domain() {
        assert_eq!(split_part("a,b,c", ",", 2), "b");
        assert_eq!(split_part("a,b,c", ",", -1), "c");
        assert_eq!(split_part("a,b,c", ",", 5), "");
        assert_eq!(split_part("abc", "", 1), "a");
        assert_eq!(domain("https://user@Example.com:8080/x?y"), "Example.com");
        assert_eq!(domain("/relative"), "");
        assert_eq!(domain("http://[::1]:80/"), "[::1]");
    }

    #[test]
    fn round_uses_the_exact_value_of_a_double() {
        assert_eq!(round_decimals(42.12345, 4, 1e4), 42.1234);
        assert_eq!(round_decimals(0.125, 2, 1e2), 0.13);
        assert_eq!(round_decimals(-0.125, 2, 1e2), -0.13);
        assert_eq!(round_decimals(2.675, 2, 1e2), 2.67);
        assert_eq!(round_decimals(1.005, 2, 1e2), 1.0);
        assert_eq!(round_decimals(1.23456, 2, 1e2), 1.23);
    }

    #[test]
    fn format_bytes_as_duckdb() {
        let f = |n| {
            let mut s = String::new();
            format_bytes(n, false, &mut s);
            s
        };
        let d = |n| {
            let mut s = String::new();
            format_bytes(n, true, &mut s);
            s
        };
        assert_eq!(
            (d(500), d(1500), d(1_500_000), d(-1500)),
            (
                "500 bytes".into(),
                "1.5 kB".into(),
                "1.5 MB".into(),
                "-1.5 kB".into()
            )
        );
        assert_eq!(f(0), "0 bytes");
        assert_eq!(f(1), "1 byte");
        assert_eq!(f(1500), "1.4 KiB");
        assert_eq!(f(1_048_575), "1023.9 KiB");
        assert_eq!(f(-1024), "-1.0 KiB");
        assert_eq!(f(i64::MAX), "8191.9 PiB");
        assert_eq!(f(i64::MIN), "-8192.0 PiB");
    }
}
