//! `greatest(a, ...)` and `least(a, ...)`: per row, the largest or smallest of the
//! arguments that are not NULL (NULL only when all are), as DuckDB. The arguments
//! are already of one type (the binder casts them).

use std::borrow::Cow;
use std::cmp::Ordering;

use super::vector::{self, VData, Vector};
use crate::column::{Bitmap, StringVec};
use crate::error::Result;
use crate::schema::{DataType, PhysicalType};

/// Evaluates `greatest` (or `least`) over `args`, of type `t`.
pub fn eval(greatest: bool, args: &[Cow<'_, Vector>], t: DataType, len: usize) -> Result<Vector> {
    let args: Vec<&Vector> = (args.iter())
        .map(|a| a.as_ref())
        .filter(|a| !a.is_null_const())
        .collect();
    let (data, winner) = match t.physical() {
        PhysicalType::List(_) => {
            return Err(crate::error::Error::InvalidInput(
                "not supported yet: greatest/least of LIST values".into(),
            ))
        }
        PhysicalType::Float64 => {
            let v = (args.iter())
                .map(|a| vector::floats(a, len))
                .collect::<Result<Vec<_>>>()?;
            let w = winners(&args, len, greatest, |k, b, i| {
                vector::ord_f64(v[k][i], v[b][i])
            });
            (VData::Float(column_of(&w, |k, i| v[k][i], 0.0)), w)
        }
        PhysicalType::Bool => {
            let v = (args.iter())
                .map(|a| vector::bools(a, len))
                .collect::<Result<Vec<_>>>()?;
            let w = winners(&args, len, greatest, |k, b, i| v[k][i].cmp(&v[b][i]));
            (VData::Bool(column_of(&w, |k, i| v[k][i], false)), w)
        }
        PhysicalType::Ip => {
            let v = (args.iter())
                .map(|a| vector::ips(a, len))
                .collect::<Result<Vec<_>>>()?;
            // Intervals: DuckDB's greatest/least compare (months, days, micros)
            // as they are (not normalized), which is the packed form's order.
            let w = winners(&args, len, greatest, |k, b, i| v[k][i].cmp(&v[b][i]));
            (VData::Ip(column_of(&w, |k, i| v[k][i], 0)), w)
        }
        PhysicalType::Int64 => {
            let v = (args.iter())
                .map(|a| vector::ints(a, len))
                .collect::<Result<Vec<_>>>()?;
            let w = winners(&args, len, greatest, |k, b, i| v[k][i].cmp(&v[b][i]));
            (VData::Int(column_of(&w, |k, i| v[k][i], 0)), w)
        }
        PhysicalType::Utf8 => {
            let w = winners(&args, len, greatest, |k, b, i| {
                args[k].str_at(i).cmp(args[b].str_at(i))
            });
            let mut out = StringVec::with_capacity(len, len * 16);
            for (i, win) in w.iter().enumerate() {
                out.push(win.map_or("", |k| args[k].str_at(i)));
            }
            (VData::Str(out), w)
        }
    };
    let valid = winner.iter().any(Option::is_none).then(|| {
        let mut valid = Bitmap::new(len, false);
        for (i, w) in winner.iter().enumerate() {
            valid.set(i, w.is_some());
        }
        valid
    });
    Ok(Vector::new(data, valid))
}

/// For each row, the argument that wins (`cmp(k, best, row)` orders argument k
/// against the best so far), or `None` when every argument is NULL there.
fn winners(
    args: &[&Vector],
    len: usize,
    greatest: bool,
    cmp: impl Fn(usize, usize, usize) -> Ordering,
) -> Vec<Option<usize>> {
    let wins = if greatest {
        Ordering::Greater
    } else {
        Ordering::Less
    };
    (0..len)
        .map(|i| {
            let mut best = None;
            for (k, a) in args.iter().enumerate() {
                if a.is_valid(i) && best.is_none_or(|b| cmp(k, b, i) == wins) {
                    best = Some(k);
                }
            }
            best
        })
        .collect()
}

/// The winners' values, `none` where every argument is NULL.
fn column_of<T: Copy>(
    winner: &[Option<usize>],
    get: impl Fn(usize, usize) -> T,
    none: T,
) -> Vec<T> {
    (winner.iter().enumerate())
        .map(|(i, w)| w.map_or(none, |k| get(k, i)))
        .collect()
}
