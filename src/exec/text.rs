//! Kernels of the basic string functions ([`TextFunc`]): one loop per function
//! over a batch; NULL rows keep the arguments' validity and hold `''` or 0.

use std::borrow::Cow;

use super::functions::substr_range;
use super::text_codes as codes;
use super::text_parts::{self as parts, grapheme_count};
use super::vector::{self, VData, Vector};
use crate::column::{Bitmap, StringVec};
use crate::error::{Error, Result};
use crate::plan::TextFunc;

/// The most bytes one batch of `repeat` results may take (a string column's
/// offsets are 32-bit).
const MAX_REPEATED_BYTES: usize = 1 << 30;

/// Evaluates `f` over `args`; `valid` is the AND of the arguments' validities.
pub fn eval(
    f: TextFunc,
    args: &[Cow<'_, Vector>],
    len: usize,
    valid: Option<Bitmap>,
) -> Result<Vector> {
    let ok = |i: usize| valid.as_ref().is_none_or(|b| b.get(i));
    let s = |k: usize, i: usize| if ok(i) { args[k].str_at(i) } else { "" };
    let ints = |f: fn(&str) -> i64| VData::Int((0..len).map(|i| f(s(0, i))).collect());
    let data = match f {
        TextFunc::Strlen => ints(|v| v.len() as i64),
        TextFunc::BitLength => ints(|v| v.len() as i64 * 8),
        TextFunc::Ascii => ints(|v| v.chars().next().map_or(0, |c| c as i64)),
        TextFunc::Unicode => ints(|v| v.chars().next().map_or(-1, |c| c as i64)),
        TextFunc::LengthGrapheme => ints(grapheme_count),
        TextFunc::ParseFormattedBytes => {
            let mut out = Vec::with_capacity(len);
            for i in 0..len {
                out.push(if ok(i) {
                    codes::parse_formatted_bytes(s(0, i))?
                } else {
                    0
                });
            }
            VData::Int(out)
        }
        TextFunc::Chr => {
            let n = vector::ints(&args[0], len)?;
            let mut out = StringVec::with_capacity(len, len * 2);
            let mut buf = [0u8; 4];
            for i in 0..len {
                if !ok(i) {
                    out.push("");
                    continue;
                }
                let c = u32::try_from(n[i]).ok().and_then(char::from_u32);
                let c = c.ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "Invalid Input Error: Invalid UTF8 Codepoint {}",
                        n[i]
                    ))
                })?;
                out.push(c.encode_utf8(&mut buf));
            }
            VData::Str(out)
        }
        _ => {
            // Integer arguments after the first, and the numbers of `bar`.
            let n = match f {
                TextFunc::Repeat
                | TextFunc::Left
                | TextFunc::Right
                | TextFunc::LeftGrapheme
                | TextFunc::RightGrapheme
                | TextFunc::SubstringGrapheme
                | TextFunc::Slice
                | TextFunc::Extract => Some(vector::ints(&args[1], len)?),
                _ => None,
            };
            let n2 = match f {
                TextFunc::Slice => Some(vector::ints(&args[2], len)?),
                TextFunc::SubstringGrapheme if args.len() > 2 => Some(vector::ints(&args[2], len)?),
                _ => None,
            };
            // The numeric arguments of `bar` and `to_base`.
            let nums = match f {
                TextFunc::Bar => args
                    .iter()
                    .map(|a| vector::floats(a, len))
                    .collect::<Result<Vec<_>>>()?,
                _ => Vec::new(),
            };
            let whole = match f {
                TextFunc::ToBase => args
                    .iter()
                    .map(|a| vector::ints(a, len))
                    .collect::<Result<Vec<_>>>()?,
                _ => Vec::new(),
            };
            let mut out = StringVec::with_capacity(len, len * 16);
            let (mut buf, mut total) = (String::new(), 0usize);
            for i in 0..len {
                buf.clear();
                if ok(i) {
                    let v = if nums.is_empty() && whole.is_empty() {
                        s(0, i)
                    } else {
                        ""
                    };
                    let k = n.as_ref().map_or(0, |n| n[i]);
                    match f {
                        TextFunc::Replace => {
                            let from = s(1, i);
                            if from.is_empty() {
                                buf.push_str(v);
                            } else {
                                buf.push_str(&v.replace(from, s(2, i)));
                            }
                        }
                        TextFunc::Md5 => hex_digest::<md5::Md5>(v, &mut buf),
                        TextFunc::Sha1 => hex_digest::<sha1::Sha1>(v, &mut buf),
                        TextFunc::Sha256 => hex_digest::<sha2::Sha256>(v, &mut buf),
                        TextFunc::Reverse if v.is_ascii() => buf.extend(v.chars().rev()),
                        // Grapheme clusters stay whole (DuckDB): a flag or an
                        // accented letter is not taken apart.
                        TextFunc::Reverse => buf.extend(parts::graphemes_reversed(v)),
                        TextFunc::Repeat => {
                            let times = k.max(0) as u64;
                            let bytes = (v.len() as u64).saturating_mul(times);
                            if bytes > MAX_REPEATED_BYTES as u64 {
                                return Err(Error::ResourcesExhausted(format!(
                                    "repeat result of {bytes} bytes exceeds {} MiB",
                                    MAX_REPEATED_BYTES >> 20
                                )));
                            }
                            for _ in 0..times {
                                buf.push_str(v);
                            }
                        }
                        TextFunc::Left | TextFunc::Right => {
                            buf.push_str(left_right(v, k, f == TextFunc::Left))
                        }
                        TextFunc::LeftGrapheme | TextFunc::RightGrapheme => buf.push_str(
                            parts::grapheme_left_right(v, k, f == TextFunc::LeftGrapheme),
                        ),
                        TextFunc::SubstringGrapheme => {
                            let count = n2.as_ref().map(|n| n[i]);
                            substr_range("offset", k)?;
                            if let Some(c) = count {
                                substr_range("length", c)?;
                            }
                            buf.push_str(parts::grapheme_substring(v, k, count))
                        }
                        TextFunc::Slice => {
                            let end = n2.as_ref().map_or(0, |n| n[i]);
                            buf.push_str(parts::slice(v, k, end))
                        }
                        TextFunc::Extract => {
                            substr_range("offset", k)?;
                            buf.push_str(parts::extract(v, k))
                        }
                        TextFunc::ParseFilename {
                            trim_extension,
                            sep,
                        } => buf.push_str(parts::filename(v, trim_extension, sep)),
                        TextFunc::ParseDirname { sep } => buf.push_str(parts::dirname(v, sep)),
                        TextFunc::ParseDirpath { sep } => buf.push_str(parts::dirpath(v, sep)),
                        TextFunc::RegexpEscape => codes::regexp_escape(v, &mut buf),
                        TextFunc::UrlEncode => codes::url_encode(v, &mut buf),
                        TextFunc::UrlDecode => codes::url_decode(v, &mut buf)?,
                        TextFunc::ToBase => {
                            let min = whole.get(2).map_or(0, |m| m[i]);
                            codes::to_base(whole[0][i], whole[1][i], min, &mut buf)?
                        }
                        TextFunc::Bar => {
                            let width = nums.get(3).map_or(80.0, |w| w[i]);
                            codes::bar(nums[0][i], nums[1][i], nums[2][i], width, &mut buf)?
                        }
                        TextFunc::Trim { leading, trailing } => {
                            let chars = if args.len() > 1 { s(1, i) } else { " " };
                            let strip = |c: char| chars.contains(c);
                            let mut t = v;
                            if leading {
                                t = t.trim_start_matches(strip);
                            }
                            if trailing {
                                t = t.trim_end_matches(strip);
                            }
                            buf.push_str(t);
                        }
                        _ => {}
                    }
                }
                total += buf.len();
                if total > MAX_REPEATED_BYTES {
                    return Err(Error::ResourcesExhausted(format!(
                        "string results of one batch exceed {} MiB",
                        MAX_REPEATED_BYTES >> 20
                    )));
                }
                out.push(&buf);
            }
            VData::Str(out)
        }
    };
    Ok(Vector::new(data, valid))
}

/// `left(s, n)` (`from_left`) or `right(s, n)` as DuckDB: n characters from that
/// end; a negative n drops -n characters from the other end.
fn left_right(s: &str, n: i64, from_left: bool) -> &str {
    let chars = s.chars().count() as i64;
    let keep = if n >= 0 {
        n.min(chars)
    } else {
        (chars + n).max(0)
    };
    // The byte offset after the first `k` characters.
    let at = |k: i64| s.char_indices().nth(k as usize).map_or(s.len(), |(b, _)| b);
    if from_left {
        &s[..at(keep)]
    } else {
        &s[at(chars - keep)..]
    }
}

/// The digest `D` of `s`'s bytes, as lower-case hex, appended to `out`.
fn hex_digest<D: sha2::Digest>(s: &str, out: &mut String) {
    use std::fmt::Write;
    for b in D::digest(s.as_bytes()) {
        let _ = write!(out, "{b:02x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_and_right() {
        assert_eq!(left_right("abcde", -2, true), "abc");
        assert_eq!(left_right("abcde", -2, false), "cde");
        assert_eq!(left_right("héllo", 3, false), "llo");
        assert_eq!(left_right("abc", -10, true), "");
        assert_eq!(left_right("abc", 10, false), "abc");
    }
}
