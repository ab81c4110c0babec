//! LIST values: their text form, their order, and casts, as DuckDB has them.
//!
//! A list prints as `[1, 2, NULL]`; a string element is quoted (`'x,y'`, with `\'`
//! and `\\` escapes) only where its bare text would be ambiguous. Lists order
//! element by element, a NULL element after every value, and a list before the
//! longer lists it begins.

use std::cmp::Ordering;

use crate::column::Value;
use crate::schema::DataType;
use crate::value::{cast_value, format_value, parse_str};

/// Appends the text of a list of `elem` values.
pub fn write(out: &mut String, items: &[Value], elem: DataType) {
    out.push('[');
    for (k, v) in items.iter().enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        match v {
            Value::Str(s) if elem == DataType::Varchar => write_string(out, s),
            v => out.push_str(&format_value(v, elem)),
        }
    }
    out.push(']');
}

/// The text of a list of `elem` values.
pub fn format(items: &[Value], elem: DataType) -> String {
    let mut out = String::new();
    write(&mut out, items, elem);
    out
}

fn write_string(out: &mut String, s: &str) {
    let special = |c: char| "'\\[]{}():=\",".contains(c);
    let quote = s.is_empty()
        || s.eq_ignore_ascii_case("null")
        || s.starts_with(char::is_whitespace)
        || s.ends_with(char::is_whitespace)
        || s.contains(special);
    if !quote {
        out.push_str(s);
        return;
    }
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
}

/// The order of two values of one type (lists included); NULL sorts after
/// every value.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.total_cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).total_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.total_cmp(&(*y as f64)),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        (Value::Ip(x), Value::Ip(y)) => x.cmp(y),
        (Value::List(x), Value::List(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                let o = compare_values(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        // Values of one type never mix kinds; a fixed order keeps this total.
        _ => kind(a).cmp(&kind(b)),
    }
}

fn kind(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Int(_) => 1,
        Value::Float(_) => 2,
        Value::Bool(_) => 3,
        Value::Str(_) => 4,
        Value::Ip(_) => 5,
        Value::List(_) => 6,
    }
}

/// Casts a list of `from` elements to type `to`: a list type (each element
/// cast) or VARCHAR (its text).
pub fn cast(items: &[Value], from: DataType, to: DataType) -> Result<Value, String> {
    match to {
        DataType::Varchar => Ok(Value::Str(format(items, from).into())),
        DataType::List(elem) => items
            .iter()
            .map(|v| cast_value(v, from, *elem))
            .collect::<Result<Vec<_>, _>>()
            .map(|v| Value::List(v.into())),
        _ => Err(format!(
            "Conversion Error: Unimplemented type for cast ({}[] -> {to})",
            from
        )),
    }
}

/// Parses a list's text (`[1, 2, NULL]`, `['a,b', c]`, nested lists) into a
/// list of `elem` values.
pub fn parse(text: &str, elem: DataType) -> Result<Value, String> {
    let fail = || {
        format!("Conversion Error: Type VARCHAR with value '{text}' can't be cast to the destination type {elem}[]")
    };
    let inner = text
        .trim()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(fail)?;
    let mut items = Vec::new();
    if inner.trim().is_empty() {
        return Ok(Value::List(items.into()));
    }
    for part in split_top_level(inner).ok_or_else(fail)? {
        let (word, quoted) = part;
        let v = if !quoted && word.eq_ignore_ascii_case("null") {
            Value::Null
        } else if let DataType::List(e) = elem {
            parse(&word, *e)?
        } else {
            parse_str(&word, elem)?
        };
        items.push(v);
    }
    Ok(Value::List(items.into()))
}

/// The comma-separated items of a list's inside, trimmed and unquoted, each with
/// whether it was quoted; `None` for unbalanced brackets or quotes.
fn split_top_level(s: &str) -> Option<Vec<(String, bool)>> {
    let mut items = Vec::new();
    let (mut cur, mut quoted, mut depth) = (String::new(), false, 0usize);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' if depth == 0 => {
                if cur.trim().is_empty() {
                    cur.clear();
                }
                quoted = true;
                loop {
                    match chars.next()? {
                        '\\' => cur.push(chars.next()?),
                        q if q == c => {
                            if chars.peek() == Some(&c) {
                                cur.push(c);
                                chars.next();
                            } else {
                                break;
                            }
                        }
                        x => cur.push(x),
                    }
                }
            }
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth = depth.checked_sub(1)?;
                cur.push(c);
            }
            ',' if depth == 0 => {
                items.push((finish(&cur, quoted), quoted));
                cur.clear();
                quoted = false;
            }
            // Spaces after a quoted element's closing quote.
            c if quoted && depth == 0 && c.is_whitespace() => {}
            c => cur.push(c),
        }
    }
    if depth != 0 {
        return None;
    }
    items.push((finish(&cur, quoted), quoted));
    Some(items)
}

fn finish(cur: &str, quoted: bool) -> String {
    if quoted {
        cur.to_string()
    } else {
        cur.trim().to_string()
    }
}

/// A list as text that tells every two lists apart and reads back with
/// [`from_key`] knowing only the elements' physical type: the form in which
/// hash tables (GROUP BY, window partitions) keep list keys.
pub fn key(items: &[Value]) -> String {
    let mut out = String::new();
    write_key(&mut out, items);
    out
}

fn write_key(out: &mut String, items: &[Value]) {
    use std::fmt::Write;
    out.push('[');
    for v in items {
        match v {
            Value::Null => out.push('N'),
            Value::Int(x) => {
                let _ = write!(out, "i{x}");
            }
            Value::Float(x) => {
                let _ = write!(out, "f{:x}", x.to_bits());
            }
            Value::Bool(b) => out.push(if *b { 't' } else { 'b' }),
            Value::Ip(x) => {
                let _ = write!(out, "p{x:x}");
            }
            Value::Str(s) => {
                let _ = write!(out, "s{}:{s}", s.len());
            }
            Value::List(l) => write_key(out, l),
        }
        out.push(',');
    }
    out.push(']');
}

/// Reads a list written by [`key`]; `None` if `text` is not such a list.
pub fn from_key(text: &str) -> Option<Value> {
    let (v, rest) = read_key(text)?;
    rest.is_empty().then_some(v)
}

fn read_key(text: &str) -> Option<(Value, &str)> {
    let mut rest = text.strip_prefix('[')?;
    let mut items = Vec::new();
    loop {
        if let Some(r) = rest.strip_prefix(']') {
            return Some((Value::List(items.into()), r));
        }
        let (v, r) = match rest.as_bytes().first()? {
            b'N' => (Value::Null, &rest[1..]),
            b't' => (Value::Bool(true), &rest[1..]),
            b'b' => (Value::Bool(false), &rest[1..]),
            b'[' => read_key(rest)?,
            b's' => {
                let (n, r) = rest[1..].split_once(':')?;
                let n: usize = n.parse().ok()?;
                (Value::Str(r.get(..n)?.into()), r.get(n..)?)
            }
            tag => {
                let end = rest.find(',')?;
                let body = &rest[1..end];
                let v = match tag {
                    b'i' => Value::Int(body.parse().ok()?),
                    b'f' => Value::Float(f64::from_bits(u64::from_str_radix(body, 16).ok()?)),
                    b'p' => Value::Ip(u128::from_str_radix(body, 16).ok()?),
                    _ => return None,
                };
                (v, &rest[end..])
            }
        };
        items.push(v);
        rest = r.strip_prefix(',')?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    #[test]
    fn strings_are_quoted_only_where_ambiguous() {
        let items = [s("a b"), s(""), s("x,y"), s("it's"), Value::Null, s("NULL")];
        assert_eq!(
            format(&items, DataType::Varchar),
            r"[a b, '', 'x,y', 'it\'s', NULL, 'NULL']"
        );
    }

    #[test]
    fn text_round_trips() {
        let items = [s("a b"), s(""), s("x,y"), s("it's"), Value::Null, s("NULL")];
        let text = format(&items, DataType::Varchar);
        assert_eq!(
            parse(&text, DataType::Varchar),
            Ok(Value::List(items.to_vec().into()))
        );
        let nested = DataType::list_of(DataType::Integer);
        let v = parse("[[1, 2], [], NULL]", nested).unwrap();
        let Value::List(outer) = &v else { panic!() };
        assert_eq!(outer.len(), 3);
        assert_eq!(format(outer, nested), "[[1, 2], [], NULL]");
        assert!(parse("[1, 2", DataType::Integer).is_err());
    }

    #[test]
    fn keys_read_back() {
        let inner = Value::List(vec![s("a,]b"), Value::Null].into());
        let items = vec![
            Value::Int(-3),
            Value::Float(1.5),
            Value::Bool(false),
            Value::Ip(7),
            s(""),
            inner,
            Value::Null,
        ];
        let k = key(&items);
        assert_eq!(from_key(&k), Some(Value::List(items.into())));
        assert_eq!(from_key("[i1"), None);
    }

    #[test]
    fn order_is_elementwise_with_nulls_last() {
        let l = |v: &[Value]| Value::List(v.to_vec().into());
        let (one, two, three) = (Value::Int(1), Value::Int(2), Value::Int(3));
        assert_eq!(
            compare_values(&l(&[one.clone(), two.clone()]), &l(&[one.clone(), three])),
            Ordering::Less
        );
        assert_eq!(
            compare_values(
                &l(std::slice::from_ref(&one)),
                &l(&[one.clone(), two.clone()])
            ),
            Ordering::Less
        );
        assert_eq!(
            compare_values(&l(&[Value::Null]), &l(&[two])),
            Ordering::Greater
        );
    }
}
