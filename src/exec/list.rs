//! Kernels of the LIST functions ([`ListFunc`]): row by row over values, each
//! row's arguments read as [`Value`]s and the result pushed into a column of the
//! result type. All-constant arguments are folded by the binder.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::vector::Vector;
use crate::column::{Column, ColumnData, Value};
use crate::error::{Error, Result};
use crate::list::compare_values;
use crate::plan::{ListAggregate, ListFunc};
use crate::schema::DataType;

/// Evaluates `f` over `args` (of types `types`) into a vector of type `t`.
pub fn eval(
    f: &ListFunc,
    args: &[Cow<'_, Vector>],
    types: &[DataType],
    t: DataType,
    len: usize,
) -> Result<Vector> {
    let mut out = Column::new(ColumnData::with_capacity(t.physical(), len));
    let mut row = Vec::with_capacity(args.len());
    for i in 0..len {
        row.clear();
        row.extend(args.iter().zip(types).map(|(a, &ty)| a.value(i, ty)));
        out.push(&apply(f, &row, t)?);
    }
    Ok(super::materialized::into_vector(out))
}

/// `f` of one row's arguments (also the binder's folding of constants).
pub fn apply(f: &ListFunc, args: &[Value], t: DataType) -> Result<Value> {
    let list = |k: usize| match args.get(k) {
        Some(Value::List(l)) => Some(&l[..]),
        _ => None,
    };
    let int = |k: usize| match args.get(k) {
        Some(Value::Int(x)) => Some(*x),
        _ => None,
    };
    let text = |k: usize| match args.get(k) {
        Some(Value::Str(s)) => Some(&**s),
        _ => None,
    };
    let of = |items: Vec<Value>| Value::List(items.into());
    Ok(match f {
        ListFunc::Value => of(args.to_vec()),
        ListFunc::Quantiles => match args.first() {
            Some(Value::Int(n)) if *n > 0 => of(args[1..].to_vec()),
            _ => Value::Null,
        },
        ListFunc::Concat => match (list(0), list(1)) {
            (None, None) => Value::Null,
            (a, b) => of([a.unwrap_or(&[]), b.unwrap_or(&[])].concat()),
        },
        ListFunc::ConcatOp => match (list(0), list(1)) {
            (Some(a), Some(b)) => of([a, b].concat()),
            _ => Value::Null,
        },
        ListFunc::StringSplit => match (text(0), args.get(1)) {
            (None, _) => Value::Null,
            (Some(s), Some(Value::Null) | None) => of(vec![Value::Str(s.into())]),
            (Some(s), Some(_)) => of(split(s, text(1).unwrap_or(""))),
        },
        _ if args.iter().any(|a| matches!(a, Value::Null)) && !matches!(f, ListFunc::Slice) => {
            Value::Null
        }
        ListFunc::Extract => match (list(0), int(1)) {
            (Some(l), Some(i)) => position(l.len(), i).map_or(Value::Null, |p| l[p].clone()),
            _ => Value::Null,
        },
        ListFunc::Slice => match list(0) {
            Some(l) => of(slice(l, int(1), int(2)).to_vec()),
            None => Value::Null,
        },
        ListFunc::Length => Value::Int(list(0).map_or(0, <[Value]>::len) as i64),
        ListFunc::Contains => {
            let l = list(0).unwrap_or(&[]);
            Value::Bool(l.iter().any(|x| equal(x, &args[1])))
        }
        ListFunc::Position => {
            let l = list(0).unwrap_or(&[]);
            l.iter()
                .position(|x| equal(x, &args[1]))
                .map_or(Value::Null, |p| Value::Int(p as i64 + 1))
        }
        ListFunc::Sort {
            descending,
            nulls_first,
        } => {
            let mut items = list(0).unwrap_or(&[]).to_vec();
            items.sort_by(|a, b| order(a, b, *descending, *nulls_first));
            of(items)
        }
        ListFunc::Distinct => of(distinct(list(0).unwrap_or(&[]))),
        ListFunc::Unique => Value::Int(distinct(list(0).unwrap_or(&[])).len() as i64),
        ListFunc::Reverse => of(list(0).unwrap_or(&[]).iter().rev().cloned().collect()),
        ListFunc::Flatten => {
            let mut items = Vec::new();
            for inner in list(0).unwrap_or(&[]) {
                if let Value::List(l) = inner {
                    items.extend(l.iter().cloned());
                }
            }
            of(items)
        }
        ListFunc::Aggregate(a) => aggregate(*a, list(0).unwrap_or(&[]), t)?,
        ListFunc::RegexpExtractAll(p, group) => {
            let s = text(0).unwrap_or("");
            match group {
                None => of(Vec::new()),
                Some(g) => of(extract_all(&p.0, s, *g)),
            }
        }
        ListFunc::RegexpSplit(p) => of(regex_split(&p.0, text(0).unwrap_or(""))),
    })
}

/// The 0-based index of 1-based position `i` (negative: from the end) in a list
/// of `n`, `None` outside it.
fn position(n: usize, i: i64) -> Option<usize> {
    let n = n as i64;
    let p = if i > 0 { i - 1 } else { n + i };
    (i != 0 && (0..n).contains(&p)).then_some(p as usize)
}

/// DuckDB's `list_slice(l, begin, end)`: 1-based and inclusive, negative bounds
/// from the end, a missing (NULL) bound open, out-of-range bounds clamped.
fn slice(l: &[Value], begin: Option<i64>, end: Option<i64>) -> &[Value] {
    let n = l.len() as i64;
    let begin = match begin {
        None => 0,
        Some(b) if b < 0 => (n + b).max(0),
        Some(b) => (b - 1).clamp(0, n),
    };
    let end = match end {
        None => n,
        Some(e) if e < 0 => (n + e + 1).max(0),
        Some(e) => e.min(n),
    };
    if begin >= end {
        return &[];
    }
    &l[begin as usize..end as usize]
}

fn equal(a: &Value, b: &Value) -> bool {
    !matches!(a, Value::Null)
        && !matches!(b, Value::Null)
        && compare_values(a, b) == Ordering::Equal
}

fn order(a: &Value, b: &Value, descending: bool, nulls_first: bool) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) if nulls_first => Ordering::Less,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) if nulls_first => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        _ if descending => compare_values(b, a),
        _ => compare_values(a, b),
    }
}

/// The distinct non-NULL values, in the order they first appear.
fn distinct(l: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in l {
        let seen = out.iter().any(|o| equal(o, v));
        if !matches!(v, Value::Null) && !seen {
            out.push(v.clone());
        }
    }
    out
}

fn aggregate(a: ListAggregate, l: &[Value], t: DataType) -> Result<Value> {
    let values = l.iter().filter(|v| !matches!(v, Value::Null));
    Ok(match a {
        ListAggregate::Count => Value::Int(values.count() as i64),
        ListAggregate::First => l.first().cloned().unwrap_or(Value::Null),
        ListAggregate::Last => l.last().cloned().unwrap_or(Value::Null),
        ListAggregate::Min => values
            .min_by(|a, b| compare_values(a, b))
            .cloned()
            .unwrap_or(Value::Null),
        ListAggregate::Max => values
            .max_by(|a, b| compare_values(a, b))
            .cloned()
            .unwrap_or(Value::Null),
        ListAggregate::Sum if t == DataType::Double => {
            let mut any = false;
            let mut sum = 0.0;
            for v in values {
                any = true;
                sum += number(v);
            }
            if any {
                Value::Float(sum)
            } else {
                Value::Null
            }
        }
        ListAggregate::Sum => {
            let mut sum: Option<i64> = None;
            for v in values {
                let x = if let Value::Int(x) = v { *x } else { 0 };
                sum = Some(sum.unwrap_or(0).checked_add(x).ok_or_else(|| {
                    Error::InvalidInput(
                        "Out of Range Error: Overflow in list_sum: the result does not fit in \
                         64 bits"
                            .into(),
                    )
                })?);
            }
            sum.map_or(Value::Null, Value::Int)
        }
        ListAggregate::Avg => {
            let xs: Vec<f64> = values.map(number).collect();
            if xs.is_empty() {
                Value::Null
            } else {
                Value::Float(xs.iter().sum::<f64>() / xs.len() as f64)
            }
        }
    })
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Int(x) => *x as f64,
        Value::Float(x) => *x,
        _ => 0.0,
    }
}

/// The pieces of `s` between occurrences of `sep`; an empty `sep` gives the
/// characters.
fn split(s: &str, sep: &str) -> Vec<Value> {
    if sep.is_empty() {
        return s
            .chars()
            .map(|c| Value::Str(c.to_string().into()))
            .collect();
    }
    s.split(sep).map(|x| Value::Str(x.into())).collect()
}

/// The pieces of `s` between matches of `re`; an empty match at either end
/// splits nothing (so an empty pattern splits into characters).
fn regex_split(re: &regex::Regex, s: &str) -> Vec<Value> {
    // The scan of DuckDB's split: from each position, the leftmost match ends a
    // piece; an empty match right at the position takes one character as its own
    // piece instead (so `(,|)` splits between characters too), and a scan that
    // ends so at the end of the text adds no empty last piece.
    let mut out = Vec::new();
    let mut start = 0;
    let mut ended_by_character = false;
    while let Some(m) = re.find_at(s, start) {
        if m.is_empty() && m.start() == start {
            let Some(c) = s[start..].chars().next() else {
                break;
            };
            out.push(Value::Str(s[start..start + c.len_utf8()].into()));
            start += c.len_utf8();
            ended_by_character = true;
        } else {
            out.push(Value::Str(s[start..m.start()].into()));
            start = m.end();
            ended_by_character = false;
        }
    }
    if start < s.len() || !ended_by_character {
        out.push(Value::Str(s[start..].into()));
    }
    out
}

/// Group `g` of every match of `re` in `s`, scanning as RE2 does: after an empty
/// match the scan moves on one character, and an empty match right after a
/// non-empty one is kept. A group that took no part is NULL.
fn extract_all(re: &regex::Regex, s: &str, g: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos <= s.len() {
        let Some(caps) = re.captures_at(s, pos) else {
            break;
        };
        let Some(m) = caps.get(0) else { break };
        out.push(
            caps.get(g)
                .map_or(Value::Null, |x| Value::Str(x.as_str().into())),
        );
        pos = if m.is_empty() {
            match s[m.end()..].chars().next() {
                Some(c) => m.end() + c.len_utf8(),
                None => break,
            }
        } else {
            m.end()
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[Value]) -> Vec<String> {
        v.iter()
            .map(|x| match x {
                Value::Str(s) => s.to_string(),
                _ => "NULL".into(),
            })
            .collect()
    }

    #[test]
    fn extract_all_scans_empty_matches_like_re2() {
        let re = regex::Regex::new("a*").unwrap();
        assert_eq!(strs(&extract_all(&re, "aabca", 0)), ["aa", "", "", "a", ""]);
        assert_eq!(strs(&extract_all(&re, "baac", 0)), ["", "aa", "", ""]);
        let re = regex::Regex::new("(\\d+)?").unwrap();
        assert_eq!(
            strs(&extract_all(&re, "a 2b", 1)),
            ["NULL", "NULL", "2", "NULL", "NULL"]
        );
    }

    #[test]
    fn slices_and_positions() {
        let l: Vec<Value> = (1..=3).map(Value::Int).collect();
        assert_eq!(slice(&l, Some(2), None), &l[1..]);
        assert_eq!(slice(&l, None, Some(2)), &l[..2]);
        assert_eq!(slice(&l, Some(-2), None), &l[1..]);
        assert_eq!(slice(&l, Some(0), Some(1)), &l[..1]);
        assert_eq!(position(3, -1), Some(2));
        assert_eq!(position(3, 0), None);
        assert_eq!(position(3, 4), None);
    }
}
