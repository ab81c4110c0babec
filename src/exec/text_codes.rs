//! Text in other notations: regular-expression escaping, URL percent-encoding,
//! numbers in a base, byte sizes with units, and bars of block characters.

use crate::error::{Error, Result};

/// `regexp_escape(s)`: every character that is not a letter, digit, `_` or
/// non-ASCII gets a backslash (as RE2's QuoteMeta, which DuckDB uses).
pub fn regexp_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        if !(c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// `url_encode(s)`: every byte but `A-Z a-z 0-9 - _ . ~` as `%XX`.
pub fn url_encode(s: &str, out: &mut String) {
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// `url_decode(s)`: each `%XX` as its byte; a `%` without two hex digits stays.
/// Bytes that do not form UTF-8 are an error.
pub fn url_decode(s: &str, out: &mut String) -> Result<()> {
    let b = s.as_bytes();
    let mut bytes = Vec::with_capacity(b.len());
    let hex = |c: u8| (c as char).to_digit(16);
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).and_then(|&c| hex(c)),
            b.get(i + 2).and_then(|&c| hex(c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                bytes.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                bytes.push(c);
                i += 1;
            }
        }
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::InvalidInput(format!(
            "Invalid Input Error: url_decode('{s}') decodes to bytes that are not UTF-8"
        ))
    })?;
    out.push_str(&text);
    Ok(())
}

/// `to_base(n, radix, min_length)`: n (≥ 0) in base `radix` (2..36), digits
/// upper-case, left-padded with zeros to `min_length`.
pub fn to_base(n: i64, radix: i64, min_length: i64, out: &mut String) -> Result<()> {
    if n < 0 {
        return Err(Error::InvalidInput(
            "Invalid Input Error: 'to_base' number must be greater than or equal to 0".into(),
        ));
    }
    if !(2..=36).contains(&radix) {
        return Err(Error::InvalidInput(
            "Invalid Input Error: 'to_base' radix must be between 2 and 36".into(),
        ));
    }
    if !(0..=64).contains(&min_length) {
        return Err(Error::InvalidInput(
            "Invalid Input Error: 'to_base' min_length must be between 0 and 64".into(),
        ));
    }
    let mut digits = Vec::new();
    let mut v = n as u64;
    loop {
        let d = (v % radix as u64) as u32;
        digits.push(
            std::char::from_digit(d, radix as u32)
                .unwrap_or('0')
                .to_ascii_uppercase(),
        );
        v /= radix as u64;
        if v == 0 {
            break;
        }
    }
    for _ in digits.len() as i64..min_length {
        out.push('0');
    }
    out.extend(digits.iter().rev());
    Ok(())
}

/// `parse_formatted_bytes(s)`: the bytes a size with a unit stands for.
pub fn parse_formatted_bytes(s: &str) -> Result<i64> {
    let bytes = crate::value::parse_byte_size(s)
        .map_err(|e| Error::InvalidInput(format!("Invalid Input Error: {e}")))?;
    if bytes >= i64::MAX as f64 {
        return Err(Error::InvalidInput(format!(
            "Out of Range Error: '{s}' is more bytes than a BIGINT holds"
        )));
    }
    Ok(bytes as i64)
}

/// The most cells a bar may have.
const MAX_BAR_WIDTH: f64 = 1000.0;

/// `bar(x, min, max, width)`: the fraction `(x - min) / (max - min)` of `width`
/// cells (0 at or below min or for a NaN, 1 at or above max) as full blocks and
/// one eighth block, padded with spaces to `width` cells (as DuckDB draws it).
pub fn bar(x: f64, min: f64, max: f64, width: f64, out: &mut String) -> Result<()> {
    const PARTIAL: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    if !width.is_finite() {
        return Err(Error::InvalidInput(
            "Out of Range Error: Max bar width must not be NaN or infinity".into(),
        ));
    }
    if width < 1.0 {
        return Err(Error::InvalidInput(
            "Out of Range Error: Max bar width must be >= 1".into(),
        ));
    }
    if width > MAX_BAR_WIDTH {
        return Err(Error::InvalidInput(format!(
            "Out of Range Error: Max bar width must be <= {MAX_BAR_WIDTH}"
        )));
    }
    let fraction = if x.is_nan() || min.is_nan() || max.is_nan() || x <= min {
        0.0
    } else if x >= max {
        1.0
    } else {
        (x - min) / (max - min)
    };
    if !fraction.is_finite() {
        return Err(Error::InvalidInput(
            "Out of Range Error: Bar function: the fraction of the bar is not finite".into(),
        ));
    }
    let eighths = (fraction * width * 8.0) as usize;
    let mut cells = eighths / 8;
    for _ in 0..cells {
        out.push('█');
    }
    if !eighths.is_multiple_of(8) {
        out.push(PARTIAL[eighths % 8]);
        cells += 1;
    }
    for _ in cells..width as usize {
        out.push(' ');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut String)) -> String {
        let mut s = String::new();
        f(&mut s);
        s
    }

    #[test]
    fn escapes_and_encodings_follow_duckdb() {
        assert_eq!(
            text(|o| regexp_escape("https://duckdb.org/a.b?c=[1]", o)),
            "https\\:\\/\\/duckdb\\.org\\/a\\.b\\?c\\=\\[1\\]"
        );
        assert_eq!(
            text(|o| url_encode("a b/c?d=é", o)),
            "a%20b%2Fc%3Fd%3D%C3%A9"
        );
        assert_eq!(
            text(|o| url_decode("a%20b%2Fc%zz+", o).unwrap()),
            "a b/c%zz+"
        );
        assert_eq!(text(|o| to_base(255, 16, 0, o).unwrap()), "FF");
        assert_eq!(text(|o| to_base(10, 2, 8, o).unwrap()), "00001010");
        assert!(to_base(-1, 16, 0, &mut String::new()).is_err());
        assert_eq!(parse_formatted_bytes("1.5 MB").unwrap(), 1_500_000);
    }

    #[test]
    fn bars_fill_eighths_of_cells() {
        assert_eq!(
            text(|o| bar(3.3, 0.0, 10.0, 10.0, o).unwrap()),
            "███▎      "
        );
        assert_eq!(
            text(|o| bar(-1.0, 0.0, 10.0, 10.0, o).unwrap()),
            " ".repeat(10)
        );
        assert_eq!(
            text(|o| bar(11.0, 0.0, 10.0, 10.0, o).unwrap()),
            "█".repeat(10)
        );
        assert_eq!(
            text(|o| bar(5.0, 0.0, 10.0, 80.0, o).unwrap())
                .chars()
                .count(),
            80
        );
        assert_eq!(text(|o| bar(1.0, 0.0, 1.0, 1.125, o).unwrap()), "█▏");
        assert_eq!(
            text(|o| bar(f64::INFINITY, 0.0, 10.0, 2.0, o).unwrap()),
            "██"
        );
        assert_eq!(
            text(|o| bar(1.0, 0.0, f64::NEG_INFINITY, 2.0, o).unwrap()),
            "██"
        );
        assert!(bar(1.0, f64::NEG_INFINITY, 10.0, 2.0, &mut String::new()).is_err());
        assert!(bar(1.0, 0.0, 10.0, f64::NAN, &mut String::new()).is_err());
    }
}
