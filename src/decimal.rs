//! DECIMAL(p,s) values as DuckDB defines them: exact numbers of at most `p` digits,
//! `s` of them after the point, held as the integer `value * 10^s`.
//!
//! logdb keeps that scaled integer in the Int64 physical type. Every DECIMAL of
//! width 18 or less fits; a wider DECIMAL (19..=38) holds the values that fit an
//! `i64` too, and a value that does not is refused with a "not supported yet"
//! error, never wrapped. Intermediate results are computed in `i128`, which holds
//! every 38-digit value, so the checks below see the true result.
//!
//! Rounding is half away from zero everywhere (DuckDB's rule for DECIMAL).

/// The widest DECIMAL.
pub const MAX_WIDTH: u8 = 38;
/// `DECIMAL` without parameters is DECIMAL(18,3).
pub const DEFAULT_WIDTH: u8 = 18;
pub const DEFAULT_SCALE: u8 = 3;

/// `10^n` for `n` up to 38.
pub fn pow10(n: u8) -> i128 {
    10i128.pow(u32::from(n.min(MAX_WIDTH)))
}

/// Checks a declared width and scale (DuckDB's bind errors).
pub fn check_type(width: i64, scale: i64) -> Result<(u8, u8), String> {
    if !(1..=i64::from(MAX_WIDTH)).contains(&width) {
        return Err("DECIMAL type width must be between 1 and 38".into());
    }
    if scale < 0 || scale > width {
        return Err("DECIMAL type scale cannot be greater than width".into());
    }
    Ok((width as u8, scale as u8))
}

/// The SQL spelling of a DECIMAL type.
pub fn type_name(width: u8, scale: u8) -> String {
    format!("DECIMAL({width},{scale})")
}

/// Whether a scaled value fits `width` digits.
fn fits(v: i128, width: u8) -> bool {
    v.unsigned_abs() < pow10(width).unsigned_abs()
}

/// A scaled value that fits its width as the `i64` logdb stores, or the
/// "not supported yet" error for the wider values DuckDB holds in 128 bits.
pub fn narrow(v: i128, width: u8, scale: u8) -> Result<i64, String> {
    i64::try_from(v).map_err(|_| beyond_i64(&format_i128(v, scale), width, scale))
}

/// The error for a value that fits its DECIMAL type but not logdb's 64-bit storage.
pub fn beyond_i64(text: &str, width: u8, scale: u8) -> String {
    format!(
        "not supported yet: DECIMAL values beyond 18 digits ({text} as {})",
        type_name(width, scale)
    )
}

/// `v / d` rounded half away from zero (`d > 0`).
pub fn div_round(v: i128, d: i128) -> i128 {
    let q = v / d;
    let r = v % d;
    if r.unsigned_abs() * 2 >= d.unsigned_abs() {
        q + v.signum()
    } else {
        q
    }
}

/// The type DuckDB gives a number literal written with a point and no exponent
/// (`42.1`, `42.`, `.34`): DECIMAL(digits, digits after the point), every digit
/// counted, leading zeros too. `None` for other spellings and for more than 38
/// digits (such a literal is a DOUBLE).
pub fn literal_type(text: &str) -> Option<(u8, u8)> {
    if !text.contains('.') || text.contains(['e', 'E']) {
        return None;
    }
    let p = Parts::of(text)?;
    let width = p.digits.len().max(1);
    if width > usize::from(MAX_WIDTH) {
        return None;
    }
    Some((width as u8, p.fraction_len as u8))
}

/// The DOUBLE that is exactly the number a decimal literal spells (`2.000`,
/// `0.25`), or `None` when no DOUBLE is (`0.1`) or the text has more than 38 digits.
pub fn exact_f64(text: &str) -> Option<f64> {
    let p = Parts::of(text)?;
    if p.exponent != 0 || p.digits.len() > usize::from(MAX_WIDTH) {
        return None;
    }
    let mut digits: i128 = p.digits.parse().ok()?;
    let mut scale = p.fraction_len as u32;
    while scale > 0 && digits % 10 == 0 {
        digits /= 10;
        scale -= 1;
    }
    // digits / 10^scale = (digits / 5^scale) / 2^scale: exact when 5^scale divides
    // the digits and the quotient is a DOUBLE's integer.
    let five = 5i128.checked_pow(scale)?;
    if digits % five != 0 {
        return None;
    }
    let m = digits / five;
    let x = m as f64;
    if x as i128 != m {
        return None;
    }
    let x = x / 2f64.powi(scale as i32);
    Some(if p.negative { -x } else { x })
}

/// Parses text as DECIMAL(width,scale) (CAST from VARCHAR): surrounding
/// whitespace, a sign, digits with single `_` between them, an optional point and
/// an optional exponent `e[+-]N`; digits past the scale round half away from zero.
pub fn parse(text: &str, width: u8, scale: u8) -> Result<i64, String> {
    let bad = || {
        format!(
            "Conversion Error: Could not convert string \"{text}\" to {}",
            type_name(width, scale)
        )
    };
    let p = Parts::of(text.trim()).ok_or_else(bad)?;
    // value = digits * 10^(exponent - fraction digits); scaled = value * 10^scale.
    let digits = p.digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    let shift = p
        .exponent
        .saturating_sub(p.fraction_len as i64)
        .saturating_add(i64::from(scale));
    let n = digits.len() as i64;
    // The digits kept (those left of the scaled value's point) and the first one dropped.
    let keep = n.saturating_add(shift.min(0)).max(0) as usize;
    let (kept, round_up) = if shift >= 0 {
        (digits, false)
    } else {
        (
            &digits[..keep],
            digits.as_bytes().get(keep).is_some_and(|&d| d >= b'5'),
        )
    };
    let zeros = shift.max(0);
    if kept.len() as i64 + zeros > i64::from(width) {
        return Err(bad());
    }
    let mut v: i128 = 0;
    for d in kept.bytes() {
        v = v * 10 + i128::from(d - b'0');
    }
    v = v * pow10(zeros as u8) + i128::from(round_up);
    if !fits(v, width) {
        return Err(bad());
    }
    narrow(if p.negative { -v } else { v }, width, scale)
}

/// The pieces of a decimal number's text.
struct Parts {
    negative: bool,
    /// The integer and fraction digits, in order, without `_`.
    digits: String,
    fraction_len: usize,
    exponent: i64,
}

/// Whether `b[*i]` is a minus sign; a sign of either kind is stepped over.
fn sign(b: &[u8], i: &mut usize) -> bool {
    match b.get(*i) {
        Some(b'-') => {
            *i += 1;
            true
        }
        Some(b'+') => {
            *i += 1;
            false
        }
        _ => false,
    }
}

impl Parts {
    fn of(s: &str) -> Option<Parts> {
        let b = s.as_bytes();
        let mut i = 0;
        let negative = sign(b, &mut i);
        let mut digits = String::new();
        let int_len = digit_run(b, &mut i, &mut digits)?;
        let mut fraction_len = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            fraction_len = digit_run(b, &mut i, &mut digits)?;
        }
        if int_len + fraction_len == 0 {
            return None;
        }
        let mut exponent = 0i64;
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            let neg = sign(b, &mut i);
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                // Far beyond any width: the value is 0 or too large either way.
                exponent = (exponent * 10 + i64::from(b[i] - b'0')).min(1_000_000);
                i += 1;
            }
            if i == start {
                return None;
            }
            if neg {
                exponent = -exponent;
            }
            // DuckDB reads the exponent as a 16-bit integer.
            if !(i64::from(i16::MIN)..=i64::from(i16::MAX)).contains(&exponent) {
                return None;
            }
        }
        (i == b.len()).then_some(Parts {
            negative,
            digits,
            fraction_len,
            exponent,
        })
    }
}

/// Reads digits with single `_` between them into `out`; the count of digits read,
/// or `None` for a misplaced `_`.
fn digit_run(b: &[u8], i: &mut usize, out: &mut String) -> Option<usize> {
    let mut n = 0;
    while *i < b.len() {
        match b[*i] {
            d @ b'0'..=b'9' => {
                out.push(d as char);
                n += 1;
            }
            b'_' if n > 0 && b.get(*i + 1).is_some_and(u8::is_ascii_digit) => {}
            b'_' => return None,
            _ => break,
        }
        *i += 1;
    }
    Some(n)
}

/// Appends a scaled value as text: exactly `scale` digits after the point.
pub fn write(out: &mut String, v: i64, scale: u8) {
    out.push_str(&format_i128(i128::from(v), scale));
}

/// A scaled value as text: exactly `scale` digits after the point.
pub fn format(v: i64, scale: u8) -> String {
    format_i128(i128::from(v), scale)
}

fn format_i128(v: i128, scale: u8) -> String {
    let digits = v.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let mut out = String::with_capacity(digits.len() + scale + 3);
    if v < 0 {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    }
    out
}

/// A DECIMAL(_,from_scale) value as DECIMAL(width,scale) (rounding when the scale
/// shrinks); `None` when it does not fit `width` digits.
pub fn rescale_checked(v: i64, from_scale: u8, width: u8, scale: u8) -> Option<i128> {
    let v = i128::from(v);
    let r = if scale >= from_scale {
        v.checked_mul(pow10(scale - from_scale))?
    } else {
        div_round(v, pow10(from_scale - scale))
    };
    fits(r, width).then_some(r)
}

/// CAST between DECIMAL types.
pub fn rescale(v: i64, from_scale: u8, width: u8, scale: u8) -> Result<i64, String> {
    match rescale_checked(v, from_scale, width, scale) {
        Some(r) => narrow(r, width, scale),
        None => Err(format!(
            "Conversion Error: Casting value \"{}\" to type {} failed: value is out of range!",
            format(v, from_scale),
            type_name(width, scale)
        )),
    }
}

/// A scaled 128-bit integer of scale `from_scale` (negative: tens, hundreds, ...;
/// Arrow's Decimal128) as DECIMAL(width,scale), rounding when the scale shrinks.
pub fn from_scaled_i128(v: i128, from_scale: i32, width: u8, scale: u8) -> Result<i64, String> {
    let diff = i32::from(scale) - from_scale;
    let r = if diff >= 0 {
        u8::try_from(diff)
            .ok()
            .filter(|d| *d <= MAX_WIDTH)
            .and_then(|d| v.checked_mul(pow10(d)))
    } else if -diff > i32::from(MAX_WIDTH) {
        // Every 128-bit value is below 10^39 / 2: it rounds to 0.
        Some(0)
    } else {
        Some(div_round(v, pow10((-diff) as u8)))
    };
    match r {
        Some(r) if fits(r, width) => narrow(r, width, scale),
        _ => Err(format!(
            "Conversion Error: value {v} with scale {from_scale} is out of range for {}",
            type_name(width, scale)
        )),
    }
}

/// CAST from an integer.
pub fn from_int(v: i64, width: u8, scale: u8) -> Result<i64, String> {
    match i128::from(v).checked_mul(pow10(scale)) {
        Some(r) if fits(r, width) => narrow(r, width, scale),
        _ => Err(format!(
            "Conversion Error: Could not cast value {v} to {}",
            type_name(width, scale)
        )),
    }
}

/// CAST from a DOUBLE: `x * 10^scale` rounded half away from zero.
pub fn from_f64(x: f64, width: u8, scale: u8) -> Result<i64, String> {
    let scaled = (x * 10f64.powi(i32::from(scale))).round();
    let limit = 10f64.powi(i32::from(width));
    if !scaled.is_finite() || scaled <= -limit || scaled >= limit {
        let shown = if x.is_nan() {
            "nan".to_string()
        } else if x.is_infinite() {
            if x > 0.0 { "inf" } else { "-inf" }.to_string()
        } else {
            format!("{x:.6}")
        };
        return Err(format!(
            "Conversion Error: Could not cast value {shown} to {}",
            type_name(width, scale)
        ));
    }
    // |scaled| < 10^38 < 2^127: the conversion is exact.
    narrow(scaled as i128, width, scale)
}

/// CAST to DOUBLE.
pub fn to_f64(v: i64, scale: u8) -> f64 {
    v as f64 / 10f64.powi(i32::from(scale))
}

/// CAST to an integer type with range `lo..=hi` (named `tag` in the error, DuckDB's
/// INT16/INT32/INT64): rounds half away from zero.
pub fn to_int(v: i64, scale: u8, lo: i64, hi: i64, tag: &str) -> Result<i64, String> {
    let r = div_round(i128::from(v), pow10(scale));
    if r < i128::from(lo) || r > i128::from(hi) {
        return Err(format!(
            "Conversion Error: Failed to cast decimal value {r} to type {tag}"
        ));
    }
    Ok(r as i64)
}

/// The integer digits a DECIMAL needs to hold every value of an integer type of
/// range `lo..=hi` (SMALLINT 5, INTEGER 10, BIGINT 19: DuckDB's DECIMAL(w,0)).
pub fn int_width(hi: i64) -> u8 {
    hi.unsigned_abs().to_string().len() as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str, w: u8, sc: u8) -> Result<String, String> {
        parse(s, w, sc).map(|v| format(v, sc))
    }

    #[test]
    fn literal_types_as_duckdb() {
        assert_eq!(literal_type("42.1"), Some((3, 1)));
        assert_eq!(literal_type("42."), Some((2, 0)));
        assert_eq!(literal_type(".34"), Some((2, 2)));
        assert_eq!(literal_type("00.34"), Some((4, 2)));
        assert_eq!(literal_type("1_000.5"), Some((5, 1)));
        assert_eq!(literal_type("42"), None);
        assert_eq!(literal_type("4.23e1"), None);
        assert_eq!(
            literal_type(&format!("{}.5", "1".repeat(37))),
            Some((38, 1))
        );
        assert_eq!(literal_type(&format!("{}.5", "1".repeat(38))), None);
        assert_eq!(exact_f64("2.00000000000000000000"), Some(2.0));
        assert_eq!(exact_f64("-0.250"), Some(-0.25));
        assert_eq!(exact_f64("0.1"), None);
        assert_eq!(exact_f64("102398294123451814.12345"), None);
        assert_eq!(exact_f64("10000000000000000000000.0"), Some(1e22));
        assert_eq!(exact_f64("100000000000000000000000.0"), None);
    }

    #[test]
    fn parses_as_duckdb() {
        assert_eq!(p("0.125", 9, 2).unwrap(), "0.13");
        assert_eq!(p("-0.125", 9, 2).unwrap(), "-0.13");
        assert_eq!(p("0.135", 9, 2).unwrap(), "0.14");
        assert_eq!(p("  +.5", 9, 2).unwrap(), "0.50");
        assert_eq!(p("5.", 9, 2).unwrap(), "5.00");
        assert_eq!(p("1.5E2", 9, 2).unwrap(), "150.00");
        assert_eq!(p("1_000", 9, 2).unwrap(), "1000.00");
        assert_eq!(p("1.5_5", 9, 2).unwrap(), "1.55");
        assert_eq!(p("00012.50", 9, 2).unwrap(), "12.50");
        assert_eq!(p("1e-400", 9, 2).unwrap(), "0.00");
        assert_eq!(p("1e-32768", 9, 2).unwrap(), "0.00");
        assert_eq!(p("0e32767", 9, 2).unwrap(), "0.00");
        assert!(p("1e-32769", 9, 2).is_err());
        assert!(p("0e32768", 9, 2).is_err());
        assert_eq!(p("-0", 9, 2).unwrap(), "0.00");
        assert_eq!(p("0.995", 9, 2).unwrap(), "1.00");
        assert_eq!(p("9999999.995", 10, 2).unwrap(), "10000000.00");
        assert_eq!(p("+1234.56789e-1", 38, 5).unwrap(), "123.45679");
        assert_eq!(p("+1234.56789e-1", 38, 0).unwrap(), "123");
        assert_eq!(
            p("0.0000000000000000000000000000000000000000001", 9, 2).unwrap(),
            "0.00"
        );
        for bad in [
            ".",
            "",
            "1e",
            "1e+",
            "0x10",
            "-",
            "+",
            "1.2.3",
            "1e2.5",
            "1 e2",
            "e5",
            ".e1",
            "_1",
            "1_",
            "1__0",
            "1._5",
            "1e1_0",
            "1e38",
            "9999999.995",
            "abc",
        ] {
            let e = p(bad, 9, 2).unwrap_err();
            assert_eq!(
                e,
                format!("Conversion Error: Could not convert string \"{bad}\" to DECIMAL(9,2)")
            );
        }
        assert!(p("9.99", 1, 0).is_err());
        assert!(p("99.95", 3, 1).is_err());
        // Fits DECIMAL(38,0) but not 64 bits.
        assert!(p("1e20", 38, 0)
            .unwrap_err()
            .starts_with("not supported yet"));
    }

    #[test]
    fn casts_as_duckdb() {
        assert_eq!(from_f64(0.125, 4, 2), Ok(13));
        assert_eq!(from_f64(-0.125, 4, 2), Ok(-13));
        assert_eq!(from_f64(1.005, 4, 2), Ok(100));
        assert_eq!(from_f64(2.5, 4, 0), Ok(3));
        assert_eq!(
            from_f64(1e10, 4, 1).unwrap_err(),
            "Conversion Error: Could not cast value 10000000000.000000 to DECIMAL(4,1)"
        );
        assert!(from_f64(f64::NAN, 38, 0).unwrap_err().contains("value nan"));
        assert_eq!(
            from_int(123456, 4, 1).unwrap_err(),
            "Conversion Error: Could not cast value 123456 to DECIMAL(4,1)"
        );
        assert_eq!(
            rescale(99999, 2, 4, 1).unwrap_err(),
            "Conversion Error: Casting value \"999.99\" to type DECIMAL(4,1) failed: value is out of range!"
        );
        assert_eq!(rescale(125, 2, 4, 1), Ok(13));
        assert_eq!(to_int(125, 1, -100, 100, "INT16"), Ok(13));
        assert_eq!(to_int(-125, 1, -100, 100, "INT16"), Ok(-13));
        assert_eq!(
            to_int(327675, 1, -32768, 32767, "INT16").unwrap_err(),
            "Conversion Error: Failed to cast decimal value 32768 to type INT16"
        );
        assert_eq!(format(-5, 1), "-0.5");
        assert_eq!(format(5, 0), "5");
        assert_eq!(format(0, 3), "0.000");
        assert_eq!(format(i64::MIN, 2), "-92233720368547758.08");
        assert_eq!(int_width(i32::MAX as i64), 10);
        assert_eq!(int_width(i64::MAX), 19);
        assert_eq!(int_width(i16::MAX as i64), 5);
    }

    proptest! {
        /// Text out and back in is the identity, at every scale.
        #[test]
        fn format_parse_round_trip(v in any::<i64>(), scale in 0u8..=18) {
            let text = format(v, scale);
            prop_assert_eq!(parse(&text, 38, scale), Ok(v));
        }

        /// Raising the scale and lowering it back is the identity; lowering rounds
        /// as the text parser rounds the same digits.
        #[test]
        fn rescale_round_trip(v in -999_999_999_999i64..999_999_999_999, s in 0u8..=6, up in 0u8..=6) {
            let wide = rescale(v, s, 38, s + up).unwrap();
            prop_assert_eq!(rescale(wide, s + up, 38, s), Ok(v));
            let down = s.saturating_sub(up);
            prop_assert_eq!(rescale(v, s, 38, down), parse(&format(v, s), 38, down));
        }

        /// DOUBLE -> DECIMAL -> DOUBLE keeps a value with few digits.
        #[test]
        fn double_round_trip(v in -99_999_999i64..99_999_999, s in 0u8..=4) {
            let x = to_f64(v, s);
            prop_assert_eq!(from_f64(x, 18, s), Ok(v));
        }
    }
}
