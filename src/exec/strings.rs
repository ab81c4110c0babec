//! String functions over characters: search (`instr`), joining (`concat_ws`),
//! `translate`, padding (`lpad`, `rpad`), and the edit distances and similarities (`levenshtein`,
//! `damerau_levenshtein`, `jaro_similarity`, `jaro_winkler_similarity`), as DuckDB
//! defines them. Positions count characters; distances and similarities compare
//! bytes, as DuckDB's do (`levenshtein('héllo', 'hello')` is 2).

use std::borrow::Cow;

use super::vector::{self, VData, Vector};
use crate::column::{Bitmap, StringVec};
use crate::error::{Error, Result};
use crate::plan::ScalarFunc;
use crate::schema::DataType;

/// Evaluates one of this module's functions; `valid` is the AND of the
/// arguments' validities (except for `concat_ws`, which skips NULLs itself).
pub fn eval(
    f: &ScalarFunc,
    args: &[Cow<'_, Vector>],
    types: &[DataType],
    len: usize,
    valid: Option<Bitmap>,
) -> Result<Vector> {
    let s = |k: usize, i: usize| args[k].str_at(i);
    let ok = |i: usize| valid.as_ref().is_none_or(|b| b.get(i));
    Ok(match f {
        ScalarFunc::Instr => {
            let out = (0..len)
                .map(|i| if ok(i) { instr(s(0, i), s(1, i)) } else { 0 })
                .collect();
            Vector::new(VData::Int(out), valid)
        }
        ScalarFunc::Levenshtein | ScalarFunc::DamerauLevenshtein => {
            let out = (0..len)
                .map(|i| {
                    if !ok(i) {
                        return 0;
                    }
                    let (a, b) = (s(0, i).as_bytes(), s(1, i).as_bytes());
                    let d = if matches!(f, ScalarFunc::Levenshtein) {
                        levenshtein(a, b)
                    } else {
                        damerau_levenshtein(a, b)
                    };
                    d as i64
                })
                .collect();
            Vector::new(VData::Int(out), valid)
        }
        ScalarFunc::Jaccard => {
            let mut out = Vec::with_capacity(len);
            for i in 0..len {
                out.push(if ok(i) {
                    jaccard(s(0, i), s(1, i))?
                } else {
                    0.0
                });
            }
            Vector::new(VData::Float(out), valid)
        }
        ScalarFunc::Hamming => {
            let mut out = Vec::with_capacity(len);
            for i in 0..len {
                out.push(if ok(i) { hamming(s(0, i), s(1, i))? } else { 0 });
            }
            Vector::new(VData::Int(out), valid)
        }
        ScalarFunc::Jaro | ScalarFunc::JaroWinkler => {
            let cutoff = match args.get(2) {
                Some(c) => Some(vector::floats(c, len)?),
                None => None,
            };
            let out = (0..len)
                .map(|i| {
                    if !ok(i) {
                        return 0.0;
                    }
                    let (a, b) = (s(0, i).as_bytes(), s(1, i).as_bytes());
                    let score = if matches!(f, ScalarFunc::Jaro) {
                        jaro(a, b)
                    } else {
                        jaro_winkler(a, b)
                    };
                    match &cutoff {
                        Some(c) if score < c[i] => 0.0,
                        _ => score,
                    }
                })
                .collect();
            Vector::new(VData::Float(out), valid)
        }
        ScalarFunc::Translate => {
            let mut out = StringVec::with_capacity(len, len * 16);
            let mut buf = String::new();
            for i in 0..len {
                buf.clear();
                if ok(i) {
                    translate(s(0, i), s(1, i), s(2, i), &mut buf);
                }
                out.push(&buf);
            }
            Vector::new(VData::Str(out), valid)
        }
        ScalarFunc::Pad { left } => {
            let n = vector::ints(&args[1], len)?;
            let mut out = StringVec::with_capacity(len, len * 16);
            let (mut buf, mut total) = (String::new(), 0);
            for i in 0..len {
                buf.clear();
                if ok(i) {
                    pad(s(0, i), n[i], s(2, i), *left, &mut buf)?;
                }
                out.push(&buf);
                total += buf.len();
                if total > MAX_PADDED_BYTES {
                    return Err(Error::ResourcesExhausted(format!(
                        "{} results of one batch exceed {} MiB",
                        if *left { "lpad" } else { "rpad" },
                        MAX_PADDED_BYTES >> 20
                    )));
                }
            }
            Vector::new(VData::Str(out), valid)
        }
        ScalarFunc::ConcatWs => concat_ws(args, types, len),
        _ => {
            return Err(Error::Internal(format!(
                "{f:?} is not a function of exec::strings"
            )))
        }
    })
}

/// The most bytes the padded strings of one batch may take (a string column's
/// offsets are 32-bit).
const MAX_PADDED_BYTES: usize = 1 << 30;

/// `lpad(s, n, fill)` / `rpad` into `buf` (DuckDB): s cut to its first n
/// characters, or padded to n characters with repeats of fill, on the left
/// (`left`) or right. n must fit in INTEGER; n ≤ 0 gives `''`; padding with an
/// empty fill is an error.
fn pad(s: &str, n: i64, fill: &str, left: bool, buf: &mut String) -> Result<()> {
    let name = if left { "lpad" } else { "rpad" };
    if i32::try_from(n).is_err() {
        return Err(Error::InvalidInput(format!(
            "Out of Range Error: {name} length {n} is outside the INTEGER range"
        )));
    }
    let n = n.max(0) as usize;
    // The byte length of s's first n characters, and how many it has.
    let (cut, chars) = match s.char_indices().nth(n) {
        Some((at, _)) => (at, n),
        None => (s.len(), s.chars().count()),
    };
    let missing = n - chars;
    if missing > 0 && fill.is_empty() {
        return Err(Error::InvalidInput(format!(
            "Invalid Input Error: Insufficient padding in {}.",
            name.to_ascii_uppercase()
        )));
    }
    if !left {
        buf.push_str(&s[..cut]);
    }
    if missing > 0 {
        // The padding must not outgrow a batch: checked here too, before it is built.
        let fill_chars = fill.chars().count();
        let bytes = (missing / fill_chars) * fill.len();
        if bytes > MAX_PADDED_BYTES {
            return Err(Error::ResourcesExhausted(format!(
                "{name} result of {n} characters exceeds {} MiB",
                MAX_PADDED_BYTES >> 20
            )));
        }
        buf.extend(fill.chars().cycle().take(missing));
    }
    if left {
        buf.push_str(&s[..cut]);
    }
    Ok(())
}

/// `concat_ws(sep, a, ...)`: NULL when the separator is NULL; NULL arguments after
/// it are skipped (no separator for them); others are written as text.
fn concat_ws(args: &[Cow<'_, Vector>], types: &[DataType], len: usize) -> Vector {
    let mut out = StringVec::with_capacity(len, len * 24);
    let mut validity: Option<Bitmap> = None;
    let mut buf = String::new();
    for i in 0..len {
        buf.clear();
        if !args[0].is_valid(i) {
            validity
                .get_or_insert_with(|| Bitmap::new(len, true))
                .set(i, false);
            out.push("");
            continue;
        }
        let sep = args[0].str_at(i);
        let mut first = true;
        for (a, &t) in args.iter().zip(types).skip(1) {
            if a.is_valid(i) {
                if !first {
                    buf.push_str(sep);
                }
                first = false;
                vector::write_text(&mut buf, a, i, t);
            }
        }
        out.push(&buf);
    }
    Vector::new(VData::Str(out), validity)
}

/// 1-based character position of the first `needle` in `s`; 0 when absent, 1 for
/// an empty needle.
pub fn instr(s: &str, needle: &str) -> i64 {
    match memchr::memmem::find(s.as_bytes(), needle.as_bytes()) {
        None => 0,
        Some(b) => s[..b].chars().count() as i64 + 1,
    }
}

/// Each character of `from` in `s` becomes the character of `to` at the same
/// position, or is dropped when `to` is shorter; the first occurrence in `from`
/// decides.
pub fn translate(s: &str, from: &str, to: &str, out: &mut String) {
    let to: Vec<char> = to.chars().collect();
    for c in s.chars() {
        match from.chars().position(|f| f == c) {
            None => out.push(c),
            Some(k) => {
                if let Some(&r) = to.get(k) {
                    out.push(r);
                }
            }
        }
    }
}

/// Insertions, deletions and substitutions turning `a` into `b`.
pub fn levenshtein(a: &[u8], b: &[u8]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Levenshtein with transpositions of adjacent characters, unrestricted (a
/// transposed pair may be edited again: `ca` -> `abc` is 2), as DuckDB.
pub fn damerau_levenshtein(a: &[u8], b: &[u8]) -> usize {
    let (n, m) = (a.len(), b.len());
    let inf = n + m;
    // d[i + 1][j + 1] is the distance of a[..i] and b[..j]; row/column 0 is `inf`.
    let w = m + 2;
    let mut d = vec![0usize; (n + 2) * w];
    d[0] = inf;
    for i in 0..=n {
        d[(i + 1) * w] = inf;
        d[(i + 1) * w + 1] = i;
    }
    for j in 0..=m {
        d[j + 1] = inf;
        d[w + j + 1] = j;
    }
    let mut last_row = [0usize; 256];
    for i in 1..=n {
        let mut last_col = 0;
        for j in 1..=m {
            let i1 = last_row[b[j - 1] as usize];
            let j1 = last_col;
            let cost = if a[i - 1] == b[j - 1] {
                last_col = j;
                0
            } else {
                1
            };
            let v = (d[i * w + j] + cost)
                .min(d[(i + 1) * w + j] + 1)
                .min(d[i * w + j + 1] + 1)
                .min(d[i1 * w + j1] + (i - i1 - 1) + 1 + (j - j1 - 1));
            d[(i + 1) * w + j + 1] = v;
        }
        last_row[a[i - 1] as usize] = i;
    }
    d[(n + 1) * w + m + 1]
}

/// The Jaccard similarity of the byte sets of `a` and `b`: |A ∩ B| / |A ∪ B|;
/// an empty string is an error (DuckDB).
pub fn jaccard(a: &str, b: &str) -> Result<f64> {
    if a.is_empty() || b.is_empty() {
        return Err(Error::InvalidInput(
            "Invalid Input Error: Jaccard Function: An argument too short!".into(),
        ));
    }
    let set = |s: &str| {
        let mut bits = [0u64; 4];
        for &c in s.as_bytes() {
            bits[(c / 64) as usize] |= 1 << (c % 64);
        }
        bits
    };
    let (x, y) = (set(a), set(b));
    let both: u32 = x.iter().zip(&y).map(|(p, q)| (p & q).count_ones()).sum();
    let either: u32 = x.iter().zip(&y).map(|(p, q)| (p | q).count_ones()).sum();
    Ok(both as f64 / either as f64)
}

/// The byte positions where `a` and `b` differ; different lengths or empty
/// strings are an error (DuckDB).
pub fn hamming(a: &str, b: &str) -> Result<i64> {
    if a.is_empty() || b.is_empty() {
        return Err(Error::InvalidInput(
            "Invalid Input Error: Mismatch Function: Strings must be of length > 0!".into(),
        ));
    }
    if a.len() != b.len() {
        return Err(Error::InvalidInput(
            "Invalid Input Error: Mismatch Function: Strings must be of equal length!".into(),
        ));
    }
    Ok(a.bytes().zip(b.bytes()).filter(|(x, y)| x != y).count() as i64)
}

/// The Jaro similarity: matches within half the longer length (less one), and
/// half the transpositions among them; 0 when either string is empty.
pub fn jaro(a: &[u8], b: &[u8]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut b_used = vec![false; b.len()];
    let mut a_matched = Vec::new();
    for (i, &c) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        if let Some(j) = (lo..hi).find(|&j| !b_used[j] && b[j] == c) {
            b_used[j] = true;
            a_matched.push(c);
        }
    }
    let m = a_matched.len();
    if m == 0 {
        return 0.0;
    }
    let b_matched = b.iter().zip(&b_used).filter(|(_, &u)| u).map(|(&c, _)| c);
    let half_t = a_matched
        .iter()
        .zip(b_matched)
        .filter(|(x, y)| **x != *y)
        .count()
        / 2;
    let m = m as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - half_t as f64) / m) / 3.0
}

/// Jaro-Winkler: Jaro plus 0.1 per common prefix character (at most 4) times the
/// distance to 1, applied when the Jaro similarity passes 0.7.
pub fn jaro_winkler(a: &[u8], b: &[u8]) -> f64 {
    let j = jaro(a, b);
    if j <= 0.7 {
        return j;
    }
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
    j + prefix as f64 * 0.1 * (1.0 - j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_refuses_a_result_beyond_the_batch_limit_before_building_it() {
        let mut buf = String::new();
        let e = pad("a", i32::MAX as i64, "x", true, &mut buf).unwrap_err();
        assert!(matches!(e, Error::ResourcesExhausted(_)), "{e}");
        assert!(buf.is_empty());
        pad("ab", 5, "xyz", false, &mut buf).unwrap();
        assert_eq!(buf, "abxyz");
    }

    fn chars(s: &str) -> &[u8] {
        s.as_bytes()
    }

    #[test]
    fn distances_as_duckdb() {
        assert_eq!(levenshtein(chars("kitten"), chars("sitting")), 3);
        assert_eq!(levenshtein(chars("héllo"), chars("hello")), 2);
        assert_eq!(damerau_levenshtein(chars("ca"), chars("abc")), 2);
        assert_eq!(damerau_levenshtein(chars("abcd"), chars("acbd")), 1);
        assert_eq!(damerau_levenshtein(chars(""), chars("x")), 1);
        assert!((jaro(chars("CRATE"), chars("TRACE")) - 0.7333333333333334).abs() < 1e-12);
        assert!(
            (jaro_winkler(chars("martha"), chars("marhta")) - 0.9611111111111111).abs() < 1e-12
        );
        assert!(
            (jaro_winkler(chars("dixon"), chars("dicksonx")) - 0.8133333333333332).abs() < 1e-12
        );
        assert_eq!(jaro(chars(""), chars("")), 0.0);
    }

    #[test]
    fn instr_and_translate() {
        assert_eq!(instr("héllo", "l"), 3);
        assert_eq!(instr("abc", "z"), 0);
        assert_eq!(instr("", ""), 1);
        let mut s = String::new();
        translate("12345", "143", "ax", &mut s);
        assert_eq!(s, "a2x5");
    }
}
