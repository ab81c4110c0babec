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
    let mut valid = Bitmap::new(len, false);
    let mut any_null = false;
    // For each row, the index of the argument that wins (or None).
    let mut winner: Vec<Option<usize>> = vec![None; len];
    let wins = |o: Ordering| {
        if greatest {
            o == Ordering::Greater
        } else {
            o == Ordering::Less
        }
    };
    let mut pick = |cmp: &dyn Fn(usize, usize, usize) -> Ordering| {
        for (i, w) in winner.iter_mut().enumerate() {
            for (k, a) in args.iter().enumerate() {
                if !a.is_valid(i) {
                    continue;
                }
                match *w {
                    Some(best) if !wins(cmp(k, best, i)) => {}
                    _ => *w = Some(k),
                }
            }
        }
    };
    let data = match t.physical() {
        PhysicalType::Float64 => {
            let v = (args.iter())
                .map(|a| vector::floats(a, len))
                .collect::<Result<Vec<_>>>()?;
            pick(&|k, b, i| vector::ord_f64(v[k][i], v[b][i]));
            VData::Float(column_of(&winner, |k, i| v[k][i], 0.0))
        }
        PhysicalType::Bool => {
            let v = (args.iter())
                .map(|a| vector::bools(a, len))
                .collect::<Result<Vec<_>>>()?;
            pick(&|k, b, i| v[k][i].cmp(&v[b][i]));
            VData::Bool(column_of(&winner, |k, i| v[k][i], false))
        }
        PhysicalType::Ip => {
            let v = (args.iter())
                .map(|a| vector::ips(a, len))
                .collect::<Result<Vec<_>>>()?;
            pick(&|k, b, i| v[k][i].cmp(&v[b][i]));
            VData::Ip(column_of(&winner, |k, i| v[k][i], 0))
        }
        PhysicalType::Int64 => {
            let v = (args.iter())
                .map(|a| vector::ints(a, len))
                .collect::<Result<Vec<_>>>()?;
            pick(&|k, b, i| v[k][i].cmp(&v[b][i]));
            VData::Int(column_of(&winner, |k, i| v[k][i], 0))
        }
        PhysicalType::Utf8 => {
            pick(&|k, b, i| args[k].str_at(i).cmp(args[b].str_at(i)));
            let mut out = StringVec::with_capacity(len, len * 16);
            for (i, w) in winner.iter().enumerate() {
                out.push(w.map_or("", |k| args[k].str_at(i)));
            }
            VData::Str(out)
        }
    };
    for (i, w) in winner.iter().enumerate() {
        match w {
            Some(_) => valid.set(i, true),
            None => any_null = true,
        }
    }
    Ok(Vector::new(data, any_null.then_some(valid)))
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
