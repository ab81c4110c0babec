//! The Window operator: window functions over a materialized input.
//!
//! The input is concatenated once. Window expressions that partition and order
//! their rows the same way share one row order (`order.rs`: partitions made
//! contiguous, then the order keys, then input position); other specs are
//! ordered one after the other. Over the sorted rows, `layout.rs` finds the partition and peer-group
//! boundaries and each row's frame, `functions.rs` computes the ranking and value
//! functions and `aggregate.rs` the aggregates over frames. Each result column
//! goes back to the input's row order; the output is the input's columns, then
//! one column per window expression.
//!
//! Memory: the input, its key columns, the row order and every result count
//! against the query's pool (`window` in the error).

mod aggregate;
mod functions;
mod layout;
mod order;

use std::sync::Arc;

use super::materialized::{self, batch_bytes};
use super::memory::MemoryPool;
use super::sort::{self, column_bytes};
use super::vector;
use crate::column::{Batch, Bitmap, Column, ColumnData, Value};
use crate::error::{Error, Result};
use crate::plan::{Expr, WindowExpr, WindowFunc};
use crate::schema::DataType;
use layout::Layout;

/// Runs the window expressions `windows` over `batches` (of `schema`), sorting
/// on up to `threads` threads.
pub(super) fn window(
    batches: Vec<Batch>,
    schema: &[(String, DataType)],
    windows: &[(WindowExpr, String)],
    threads: usize,
    pool: &Arc<MemoryPool>,
) -> Result<Vec<Batch>> {
    let mut mem = pool.reservation("window");
    let input: usize = batches.iter().map(batch_bytes).sum();
    // The batches and their concatenation, briefly both.
    mem.resize(2 * input)?;
    let mut all = sort::concat(batches, schema);
    mem.resize(input)?;
    let n = all.num_rows();
    let mut results: Vec<Option<Column>> = vec![None; windows.len()];
    for j in 0..windows.len() {
        if results[j].is_some() {
            continue;
        }
        let spec = &windows[j].0;
        // Partition ids, the row order, the sorted order keys.
        let part_exprs: Vec<&Expr> = spec.partition_by.iter().collect();
        let order_exprs: Vec<&Expr> = spec.order_by.iter().map(|k| &k.expr).collect();
        let part_cols = eval_columns(&mut all, &part_exprs)?;
        let order_cols = eval_columns(&mut all, &order_exprs)?;
        let key_bytes: usize = part_cols.iter().chain(&order_cols).map(column_bytes).sum();
        mem.grow(key_bytes + 32 * n)?;
        let ids = order::partition_ids(&part_cols, n);
        drop(part_cols);
        let order = order::sort_rows(&ids, &spec.order_by, &order_cols, threads);
        let ord: Vec<Column> = order_cols.iter().map(|c| c.take(&order)).collect();
        drop(order_cols);
        let layout = Layout::new(&ids, &order, &ord);
        drop(ids);
        let mut inverse = vec![0u32; n];
        for (pos, &row) in order.iter().enumerate() {
            inverse[row as usize] = pos as u32;
        }
        for k in j..windows.len() {
            let w = &windows[k].0;
            if results[k].is_some() || !w.same_order(spec) {
                continue;
            }
            let r = evaluate(w, &mut all, &order, &layout, &ord, &mut mem)?;
            let r = r.take(&inverse);
            mem.grow(column_bytes(&r))?;
            results[k] = Some(r);
        }
    }
    for r in results {
        all.columns
            .push(r.ok_or_else(|| Error::Internal("a window expression was not computed".into()))?);
    }
    Ok(vec![all])
}

/// Evaluates `exprs` over every row of `all` into columns.
fn eval_columns(all: &mut Batch, exprs: &[&Expr]) -> Result<Vec<Column>> {
    let used = vec![true; all.columns.len()];
    materialized::with_vectors(all, &used, |vecs, n| {
        exprs
            .iter()
            .map(|e| {
                let v = vector::eval(e, vecs, n)?;
                let mut c = Column::new(ColumnData::empty(e.data_type().physical()));
                v.append_to(&mut c, None, n);
                Ok(c)
            })
            .collect()
    })
}

/// An integer literal argument (the binder allows only literals there).
fn literal_int(e: Option<&Expr>, what: &str) -> Result<Option<i64>> {
    match e {
        Some(Expr::Literal {
            value: Value::Int(v),
            ..
        }) => Ok(Some(*v)),
        Some(Expr::Literal {
            value: Value::Null, ..
        }) => Ok(None),
        _ => Err(Error::Internal(format!("{what} is not an integer literal"))),
    }
}

/// One window expression over the sorted rows, in sorted order.
fn evaluate(
    w: &WindowExpr,
    all: &mut Batch,
    order: &[u32],
    layout: &Layout,
    order_cols: &[Column],
    mem: &mut super::memory::Reservation,
) -> Result<Column> {
    let n = order.len();
    let sorted_arg = |all: &mut Batch, k: usize| -> Result<Column> {
        let e = w
            .args
            .get(k)
            .ok_or_else(|| Error::Internal(format!("{} lacks argument {k}", w.func.name())))?;
        let c = eval_columns(all, &[e])?.remove(0);
        Ok(c.take(order))
    };
    let frames = |mem: &mut super::memory::Reservation| -> Result<Vec<(u32, u32)>> {
        mem.grow(aggregate::tree_bytes(n))?;
        layout::frames(layout, &w.frame, &w.order_by, order_cols)
    };
    match w.func {
        WindowFunc::RowNumber
        | WindowFunc::Rank
        | WindowFunc::DenseRank
        | WindowFunc::PercentRank
        | WindowFunc::CumeDist => functions::ranking(w.func, layout, n, None),
        WindowFunc::Ntile => {
            let buckets = literal_int(w.args.first(), "the ntile count")?;
            functions::ranking(w.func, layout, n, buckets)
        }
        WindowFunc::Lag | WindowFunc::Lead => {
            let values = sorted_arg(all, 0)?;
            let offset = match w.args.get(1) {
                Some(e) => literal_int(Some(e), "the lag/lead offset")?,
                None => Some(1),
            };
            let Some(offset) = offset else {
                // A NULL offset: NULL everywhere.
                return Ok(functions::gather(&values, &vec![None; n], None));
            };
            let default = match w.args.get(2) {
                Some(_) => Some(sorted_arg(all, 2)?),
                None => None,
            };
            Ok(functions::lag_lead(
                layout,
                &values,
                offset,
                w.func == WindowFunc::Lead,
                default.as_ref(),
                w.ignore_nulls,
            ))
        }
        WindowFunc::FirstValue | WindowFunc::LastValue | WindowFunc::NthValue => {
            let values = sorted_arg(all, 0)?;
            let nth = match w.func {
                WindowFunc::NthValue => literal_int(w.args.get(1), "the nth_value index")?,
                _ => Some(1),
            };
            let Some(nth) = nth.filter(|&k| k >= 1) else {
                return Ok(functions::gather(&values, &vec![None; n], None));
            };
            let frames = frames(mem)?;
            Ok(functions::frame_value(
                w.func,
                &values,
                &frames,
                nth as usize,
                w.ignore_nulls,
            ))
        }
        WindowFunc::Agg(func) => {
            let arg = match w.args.first() {
                Some(_) => Some(sorted_arg(all, 0)?),
                None => None,
            };
            let include = match &w.filter {
                Some(f) => {
                    let c = eval_columns(all, &[f])?.remove(0).take(order);
                    let mut b = Bitmap::new(n, false);
                    if let ColumnData::Bool(v) = &c.data {
                        for (i, &t) in v.iter().enumerate() {
                            if t && c.is_valid(i) {
                                b.set(i, true);
                            }
                        }
                    }
                    Some(b)
                }
                None => None,
            };
            let frames = frames(mem)?;
            aggregate::aggregate(func, arg.as_ref(), include.as_ref(), &frames)
        }
    }
}
