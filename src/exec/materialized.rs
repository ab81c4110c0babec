//! Filter and Project over materialized batches (the inputs of operators above
//! the scan pipeline: joins, subqueries, unions), and the moves between columns
//! and vectors that operators over batches share.

use super::vector::{self, Vector};
use crate::column::{Batch, Column, ColumnData, Value};
use crate::error::{Error, Result};
use crate::plan::Expr;

/// The Filter operator: the rows of `batches` where `predicate` is TRUE.
pub(super) fn filter(batches: Vec<Batch>, predicate: &Expr) -> Result<Vec<Batch>> {
    let parts = Expr::conjuncts(predicate);
    let used: Vec<Vec<bool>> = parts
        .iter()
        .map(|c| {
            let mut u = Vec::new();
            c.for_each_column(&mut |i| {
                if u.len() <= i {
                    u.resize(i + 1, false);
                }
                u[i] = true;
            });
            u
        })
        .collect();
    let mut out = Vec::with_capacity(batches.len());
    let (mut sel, mut piece) = (Vec::new(), Vec::new());
    for mut b in batches {
        // Conjunct by conjunct on the rows still in, as in the scan pipeline.
        for (c, u) in parts.iter().zip(&used) {
            let n = b.num_rows();
            if n == 0 {
                break;
            }
            if n <= FILTER_PIECE {
                with_vectors(&mut b, u, |vecs, n| vector::select(c, vecs, n, &mut sel))?;
            } else {
                sel.clear();
                for start in (0..n).step_by(FILTER_PIECE) {
                    let rows = start..n.min(start + FILTER_PIECE);
                    let vecs = sliced(&b, u, rows.clone());
                    vector::select(c, &vecs, rows.len(), &mut piece)?;
                    sel.extend(piece.iter().map(|&i| i + start as u32));
                }
            }
            // Most rows kept: moved forward in place (no new memory); few:
            // copied out, so the batch's memory shrinks with them.
            if sel.len() < n / 2 {
                b = b.take(&sel);
            } else if sel.len() < n {
                b.retain(&sel);
            }
        }
        out.push(b);
    }
    Ok(out)
}

/// Rows of a batch a predicate is evaluated over at a time. A batch up to this
/// long (a scan's batch is a whole segment) is evaluated whole, its columns
/// moved into the vectors; a longer one is cut, each piece's columns copied.
/// Copying 16k-row pieces, so that the predicate's intermediate vectors stayed
/// in the L2 cache, cost more than it saved: the filter above sessions over
/// 100M rows took 630-650 ms that way and 480-500 ms evaluated whole.
const FILTER_PIECE: usize = 1 << 20;

/// Copies of the rows `rows` of the columns of `b` that `used` marks, as
/// vectors (the others are NULL placeholders).
pub(super) fn sliced(b: &Batch, used: &[bool], rows: std::ops::Range<usize>) -> Vec<Vector> {
    (b.columns.iter().enumerate())
        .map(|(i, c)| match used.get(i) {
            Some(true) => into_vector(c.slice(rows.clone())),
            _ => Vector::constant(Value::Null),
        })
        .collect()
}

/// [`filter`] on up to `threads` threads, each over a contiguous share of the
/// batches (by rows); the output keeps the batches' order.
pub(super) fn filter_on(
    batches: Vec<Batch>,
    predicate: &Expr,
    threads: usize,
) -> Result<Vec<Batch>> {
    /// Below this many rows per thread, one thread filters everything.
    const MIN_SHARE: usize = 1 << 16;
    let rows: usize = batches.iter().map(Batch::num_rows).sum();
    let shares = threads.min(rows / MIN_SHARE).min(batches.len()).max(1);
    if shares == 1 {
        return filter(batches, predicate);
    }
    let mut groups: Vec<Vec<Batch>> = (0..shares).map(|_| Vec::new()).collect();
    let mut before = 0usize;
    for b in batches {
        let k = (before * shares / rows).min(shares - 1);
        before += b.num_rows();
        groups[k].push(b);
    }
    let parts: Vec<Result<Vec<Batch>>> = std::thread::scope(|s| {
        let handles: Vec<_> = groups
            .into_iter()
            .map(|g| s.spawn(move || filter(g, predicate)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut out = Vec::new();
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// The Project operator: `exprs` over every row of `batches`. A column that
/// only a bare reference reads is moved to the output, not copied.
pub(super) fn project_batches(batches: Vec<Batch>, exprs: &[(Expr, String)]) -> Result<Vec<Batch>> {
    let mut reads: Vec<usize> = Vec::new();
    for (e, _) in exprs {
        e.for_each_column(&mut |i| {
            if reads.len() <= i {
                reads.resize(i + 1, 0);
            }
            reads[i] += 1;
        });
    }
    let moved: Vec<Option<usize>> = exprs
        .iter()
        .map(|(e, _)| match e {
            Expr::Column { index, .. } if reads[*index] == 1 => Some(*index),
            _ => None,
        })
        .collect();
    let mut used = vec![false; reads.len()];
    for (e, _) in exprs
        .iter()
        .zip(&moved)
        .filter(|(_, m)| m.is_none())
        .map(|(e, _)| e)
    {
        e.for_each_column(&mut |i| used[i] = true);
    }
    let mut out = Vec::with_capacity(batches.len());
    for mut b in batches {
        let mut computed: Vec<Option<Column>> = with_vectors(&mut b, &used, |vecs, n| {
            (exprs.iter().zip(&moved))
                .map(|((e, _), m)| match m {
                    Some(_) => Ok(None),
                    None => {
                        let v = vector::eval(e, vecs, n)?;
                        let mut c = Column::new(ColumnData::empty(e.data_type().physical()));
                        v.append_to(&mut c, None, n);
                        Ok(Some(c))
                    }
                })
                .collect()
        })?;
        let mut columns: Vec<Option<Column>> = b.columns.into_iter().map(Some).collect();
        let projected = (computed.iter_mut().zip(&moved))
            .map(|(c, m)| match m {
                Some(i) => columns[*i].take(),
                None => c.take(),
            })
            .collect::<Option<Vec<Column>>>()
            .ok_or_else(|| Error::Internal("a projected column is missing".into()))?;
        out.push(Batch { columns: projected });
    }
    Ok(out)
}

/// Evaluates `exprs` and gathers rows `sel` (or all) into a batch.
pub(super) fn project(
    exprs: &[(Expr, String)],
    cols: &[Vector],
    len: usize,
    sel: Option<&[u32]>,
) -> Result<Batch> {
    let mut out = Vec::with_capacity(exprs.len());
    for (e, _) in exprs {
        let v = vector::eval(e, cols, len)?;
        let mut c = Column::new(ColumnData::empty(e.data_type().physical()));
        v.append_to(&mut c, sel, len);
        out.push(c);
    }
    Ok(Batch { columns: out })
}

/// Moves a column's buffers into a vector (no copy).
pub(super) fn into_vector(c: Column) -> Vector {
    let data = match c.data {
        ColumnData::Int64(v) => vector::VData::Int(v),
        ColumnData::Float64(v) => vector::VData::Float(v),
        ColumnData::Bool(v) => vector::VData::Bool(v),
        ColumnData::Ip(v) => vector::VData::Ip(v),
        ColumnData::Utf8(v) => vector::VData::Str(v),
        ColumnData::List(v) => vector::VData::List(v),
    };
    Vector::new(data, c.validity)
}

/// Moves a vector made by [`into_vector`] back into a column.
fn into_column(v: Vector) -> Result<Column> {
    let data = match v.data {
        vector::VData::Int(v) => ColumnData::Int64(v),
        vector::VData::Float(v) => ColumnData::Float64(v),
        vector::VData::Bool(v) => ColumnData::Bool(v),
        vector::VData::Ip(v) => ColumnData::Ip(v),
        vector::VData::Str(v) => ColumnData::Utf8(v),
        vector::VData::List(v) => ColumnData::List(v),
        _ => return Err(Error::Internal("into_column: not a plain vector".into())),
    };
    Ok(Column {
        data,
        validity: v.validity,
    })
}

/// Lends the columns of `b` that `used` marks to `f` as vectors (the others are
/// NULL placeholders), without copying them.
pub(super) fn with_vectors<R>(
    b: &mut Batch,
    used: &[bool],
    f: impl FnOnce(&[Vector], usize) -> Result<R>,
) -> Result<R> {
    let n = b.num_rows();
    with_vectors_of(b, used, n, f)
}

/// [`with_vectors`] over a batch of `n` rows whose unused columns may be
/// left empty.
pub(super) fn with_vectors_of<R>(
    b: &mut Batch,
    used: &[bool],
    n: usize,
    f: impl FnOnce(&[Vector], usize) -> Result<R>,
) -> Result<R> {
    let vecs: Vec<Vector> = b
        .columns
        .iter_mut()
        .enumerate()
        .map(|(i, c)| {
            if used.get(i).copied().unwrap_or(false) {
                let taken = std::mem::replace(c, Column::new(ColumnData::Bool(Vec::new())));
                into_vector(taken)
            } else {
                Vector::constant(Value::Null)
            }
        })
        .collect();
    let r = f(&vecs, n);
    for (i, v) in vecs.into_iter().enumerate() {
        if used.get(i).copied().unwrap_or(false) {
            b.columns[i] = into_column(v)?;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::Bitmap;
    use crate::plan::BinaryOp;
    use crate::schema::DataType;

    /// A batch longer than [`FILTER_PIECE`] (cut into pieces, each copied) and
    /// the same rows in short batches (evaluated whole) keep the same rows, with
    /// their NULLs: `x IS NULL OR x % 7 > 3` over rows of x and a payload.
    #[test]
    fn long_batches_cut_into_pieces_filter_as_short_ones() {
        let n = FILTER_PIECE + 1000;
        let mut valid = Bitmap::new(n, true);
        (0..n).step_by(11).for_each(|i| valid.set(i, false));
        let long = Batch {
            columns: vec![
                Column {
                    data: ColumnData::Int64((0..n as i64).collect()),
                    validity: Some(valid),
                },
                Column::new(ColumnData::Int64((0..n as i64).map(|i| -i).collect())),
            ],
        };
        let x = || {
            Box::new(Expr::Column {
                index: 0,
                name: "x".into(),
                data_type: DataType::BigInt,
            })
        };
        let int = |v: i64| {
            Box::new(Expr::Literal {
                value: Value::Int(v),
                data_type: DataType::BigInt,
            })
        };
        let modulo = Expr::Binary {
            op: BinaryOp::Mod,
            left: x(),
            right: int(7),
            data_type: DataType::BigInt,
        };
        let predicate = Expr::Binary {
            op: BinaryOp::Or,
            left: Box::new(Expr::IsNull {
                expr: x(),
                negated: false,
            }),
            right: Box::new(Expr::Binary {
                op: BinaryOp::Gt,
                left: Box::new(modulo),
                right: int(3),
                data_type: DataType::Boolean,
            }),
            data_type: DataType::Boolean,
        };
        let short: Vec<Batch> = (0..n)
            .step_by(4096)
            .map(|s| {
                let rows: Vec<u32> = (s as u32..n.min(s + 4096) as u32).collect();
                long.take(&rows)
            })
            .collect();
        let rows = |batches: Vec<Batch>| -> Vec<(Value, Value)> {
            let out = filter(batches, &predicate).unwrap();
            out.iter()
                .flat_map(|b| {
                    (0..b.num_rows()).map(|r| (b.columns[0].value(r), b.columns[1].value(r)))
                })
                .collect()
        };
        let (cut, whole) = (rows(vec![long.clone()]), rows(short));
        assert_eq!(cut, whole);
        let expected = (0..n as i64).filter(|i| i % 11 == 0 || i % 7 > 3).count();
        assert_eq!(cut.len(), expected);
        assert_eq!(cut[0], (Value::Null, Value::Int(0)));
    }
}
