//! The Window operator: window functions over a materialized input.
//!
//! The input is concatenated once. Window expressions that partition and order
//! their rows the same way share one row order (`order.rs`: partitions made
//! contiguous, then the order keys, then input position); other specs are
//! ordered one after the other. Over the sorted rows, `layout.rs` finds the
//! partition and peer-group boundaries and each row's frame, `functions.rs`
//! computes the ranking and navigation functions and `aggregate.rs` the
//! aggregates over frames. Plain column arguments and keys are read in place;
//! navigation and min/max results are row choices gathered once from the input
//! column, other results are scattered back to the input's row order. The
//! output is the input's columns, then one column per window expression.
//!
//! Memory: the input, computed key and argument columns, the row order, frames,
//! trees and every result count against the query's pool (`window` in the
//! error).

mod aggregate;
mod fill;
mod functions;
mod layout;
mod links;
mod order;

use std::cell::OnceCell;
use std::sync::Arc;

use super::materialized;
use super::memory::MemoryPool;
use super::options::ExecOptions;
use super::sort;
use super::vector;
use crate::column::{Batch, Bitmap, Column, ColumnData, Value};
use crate::error::{Error, Result};
use crate::plan::{AggExpr, AggFunc, Expr, WindowExpr, WindowFunc};
use crate::schema::{DataType, PhysicalType};
use functions::NO_ROW;
use layout::Layout;

/// Runs the window expressions `windows` over `batches` (of `schema`), on up to
/// `opts.threads` threads; cancellation is checked before each spec and each
/// expression. With `top` = k (the filter above keeps only rankings at most k,
/// see [`crate::plan::window_top`]) only the rows that can pass it come out.
pub(super) fn window(
    batches: Vec<Batch>,
    schema: &[(String, DataType)],
    windows: &[(WindowExpr, String)],
    top: Option<usize>,
    opts: &ExecOptions,
    pool: &Arc<MemoryPool>,
) -> Result<Vec<Batch>> {
    let threads = opts.threads;
    let mut mem = pool.reservation("window");
    if let Some(k) = top {
        let input: usize = batches.iter().map(Batch::heap_bytes).sum();
        // The concatenation (the batches themselves are counted by the
        // operator that produced them).
        mem.resize(input)?;
        let all = sort::concat(batches, schema);
        opts.check_cancel()?;
        return top_n(all, windows, k, opts, &mut mem);
    }
    if let Some(streamed) = links::streamed(&batches, schema, windows, threads) {
        return streamed.run(batches, threads, &mut mem);
    }
    let n: usize = batches.iter().map(Batch::num_rows).sum();
    let reads = Reads::new(windows, schema, &batches);
    // Only the columns the expressions read are concatenated; the batches
    // themselves leave as the output, each with its rows' results.
    let mut all = sort::concat_columns(&batches, schema, &reads.concat);
    mem.resize(all.heap_bytes())?;
    let mut results: Vec<Option<Column>> = vec![None; windows.len()];
    for j in 0..windows.len() {
        if results[j].is_some() {
            continue;
        }
        opts.check_cancel()?;
        let spec = &windows[j].0;
        let group: Vec<&WindowExpr> = windows[j..]
            .iter()
            .map(|(w, _)| w)
            .filter(|w| w.same_order(spec))
            .collect();
        let cols = Columns::new(&mut all, &group, &reads.concat, n)?;
        mem.grow(cols.bytes())?;
        // Partition ids, the row order, the sorted order keys.
        mem.grow(24 * n)?;
        let ids = match reads.batch_key(spec) {
            Some(k) => {
                let pieces: Vec<&Column> =
                    batches.iter().filter_map(|b| b.columns.get(k)).collect();
                let (ids, tables) = order::string_ids(&pieces, n, threads);
                // The interning tables, gone by now: checked at their peak.
                let held = mem.size();
                mem.grow(tables)?;
                mem.resize(held)?;
                ids
            }
            None => order::partition_ids(&cols.partition_keys(&all, spec)?, n, threads),
        };
        let ord = cols.order_keys(&all, spec)?;
        if !spec.partition_by.is_empty()
            && crate::plan::navigates_by_links(group.iter().copied())
            && links::in_input_order(&spec.order_by, &ord)
        {
            // Each row's neighbours, then each result.
            mem.grow(8 * n)?;
            for k in j..windows.len() {
                let w = &windows[k].0;
                if results[k].is_some() || !w.same_order(spec) {
                    continue;
                }
                opts.check_cancel()?;
                let r = links::lag_lead(w, &ids, &cols, &all)?;
                mem.grow(r.heap_bytes())?;
                results[k] = Some(r);
            }
            continue;
        }
        let rows = order::sort_rows(&ids, &spec.order_by, &ord, threads, &mut mem)?;
        drop(ids);
        let ctx = Sorted {
            all: &all,
            cols: &cols,
            order: &rows.order,
            starts: &rows.starts,
            inverse: OnceCell::new(),
            ord: &ord,
            order_cols: OnceCell::new(),
            layout: OnceCell::new(),
        };
        for k in j..windows.len() {
            let w = &windows[k].0;
            if results[k].is_some() || !w.same_order(spec) {
                continue;
            }
            opts.check_cancel()?;
            let r = ctx.evaluate(w, &mut mem)?;
            mem.grow(r.heap_bytes())?;
            results[k] = Some(r);
        }
    }
    drop(all);
    let results = results
        .into_iter()
        .map(|r| r.ok_or_else(|| Error::Internal("a window expression was not computed".into())))
        .collect::<Result<Vec<Column>>>()?;
    Ok(with_results(batches, schema, results))
}

/// `batches` (of `schema`, `n` rows in all), each with its rows of every
/// column of `results` (in input order) appended.
fn with_results(
    batches: Vec<Batch>,
    schema: &[(String, DataType)],
    mut results: Vec<Column>,
) -> Vec<Batch> {
    let single = batches.len() == 1;
    let mut out = Vec::with_capacity(batches.len());
    let mut at = 0;
    for mut b in batches {
        let m = b.num_rows();
        // A column of another physical type than the schema's, as the
        // concatenation makes it.
        for (c, (_, t)) in b.columns.iter_mut().zip(schema) {
            if c.data.physical() != t.physical() {
                let mut x = Column::new(ColumnData::empty(t.physical()));
                vector::Vector::from_column(c).append_to(&mut x, None, m);
                *c = x;
            }
        }
        if single {
            b.columns.append(&mut results);
        } else {
            b.columns
                .extend(results.iter().map(|r| r.slice(at..at + m)));
        }
        at += m;
        out.push(b);
    }
    out
}

/// Which input columns the window expressions read. Those are concatenated
/// (`concat`), except a string column that some spec partitions by alone and
/// nothing else reads: its batches are numbered as they are.
struct Reads {
    concat: Vec<bool>,
    batch_keys: Vec<bool>,
}

impl Reads {
    fn new(
        windows: &[(WindowExpr, String)],
        schema: &[(String, DataType)],
        batches: &[Batch],
    ) -> Reads {
        let width = schema.len();
        let mut concat = vec![false; width];
        let mut keys = vec![false; width];
        let mark = |e: &Expr, v: &mut Vec<bool>| {
            e.for_each_column(&mut |i| {
                if let Some(x) = v.get_mut(i) {
                    *x = true;
                }
            })
        };
        for (w, _) in windows {
            let others = w
                .args
                .iter()
                .chain(w.arg_order.iter().map(|k| &k.expr))
                .chain(w.order_by.iter().map(|k| &k.expr))
                .chain(w.filter.iter());
            for e in others {
                mark(e, &mut concat);
            }
            match Self::string_key(w, schema, batches) {
                Some(k) => keys[k] = true,
                None => w.partition_by.iter().for_each(|e| mark(e, &mut concat)),
            }
        }
        let batch_keys = (0..width).map(|i| keys[i] && !concat[i]).collect();
        Reads { concat, batch_keys }
    }

    /// The column `w` partitions by alone, when it is a string column in every
    /// batch.
    fn string_key(
        w: &WindowExpr,
        schema: &[(String, DataType)],
        batches: &[Batch],
    ) -> Option<usize> {
        match w.partition_by.as_slice() {
            [Expr::Column { index, .. }]
                if schema.get(*index)?.1.physical() == PhysicalType::Utf8
                    && batches.iter().all(|b| {
                        b.columns
                            .get(*index)
                            .is_some_and(|c| matches!(c.data, ColumnData::Utf8(_)))
                    }) =>
            {
                Some(*index)
            }
            _ => None,
        }
    }

    /// The column of the input's batches whose strings are `spec`'s partition
    /// ids, if they are numbered from the batches.
    fn batch_key(&self, spec: &WindowExpr) -> Option<usize> {
        match spec.partition_by.as_slice() {
            [Expr::Column { index, .. }] if self.batch_keys.get(*index) == Some(&true) => {
                Some(*index)
            }
            _ => None,
        }
    }
}

/// The window under a filter keeping rankings at most `k`: every expression is
/// `row_number` or `rank` of one spec, so each partition's first `k` rows by the
/// order keys (with `rank`, also the peers of the `k`-th) are all the filter
/// can keep, and their rankings are those of the whole partition. They are
/// selected per partition, only they are sorted, and only they come out (in
/// the input's order, with their ranking columns).
fn top_n(
    mut all: Batch,
    windows: &[(WindowExpr, String)],
    k: usize,
    opts: &ExecOptions,
    mem: &mut super::memory::Reservation,
) -> Result<Vec<Batch>> {
    let spec = &windows
        .first()
        .ok_or_else(|| Error::Internal("a window top-N without expressions".into()))?
        .0;
    let group: Vec<&WindowExpr> = windows.iter().map(|(w, _)| w).collect();
    let n = all.num_rows();
    let used = vec![true; all.columns.len()];
    let cols = Columns::new(&mut all, &group, &used, n)?;
    mem.grow(cols.bytes())?;
    let part = cols.partition_keys(&all, spec)?;
    let ord = cols.order_keys(&all, spec)?;
    mem.grow(8 * n)?;
    let ids = order::partition_ids(&part, n, opts.threads);
    let ties = windows.iter().any(|(w, _)| w.func != WindowFunc::RowNumber);
    let (order, starts) = order::top_rows(&ids, &spec.order_by, &ord, k, ties, opts.threads, mem)?;
    drop(ids);
    opts.check_cancel()?;
    let sorted: Vec<Column> = ord.iter().map(|c| c.take(&order)).collect();
    let layout = Layout::new(starts, &sorted);
    let m = order.len();
    // Sorted positions by input row, so the rows leave in the input's order.
    let mut by_input: Vec<u32> = (0..m as u32).collect();
    by_input.sort_unstable_by_key(|&i| order[i as usize]);
    let rows: Vec<u32> = by_input.iter().map(|&i| order[i as usize]).collect();
    let mut out = all.take(&rows);
    for (w, _) in windows {
        let ranks = functions::ranking(w.func, &layout, m, None)?;
        out.columns.push(ranks.take(&by_input));
    }
    Ok(vec![out])
}

/// The columns a group of window expressions with one spec reads: plain column
/// references are the input's own columns, other expressions are evaluated once.
struct Columns {
    computed: Vec<(Expr, Column)>,
}

impl Columns {
    /// The group's computed expressions over the `n` rows of `all`, whose
    /// columns `used` marks are there.
    fn new(all: &mut Batch, group: &[&WindowExpr], used: &[bool], n: usize) -> Result<Columns> {
        let mut exprs: Vec<&Expr> = Vec::new();
        for e in group.iter().flat_map(|w| w.exprs()) {
            if !matches!(e, Expr::Column { .. }) && !exprs.contains(&e) {
                exprs.push(e);
            }
        }
        if exprs.is_empty() {
            return Ok(Columns {
                computed: Vec::new(),
            });
        }
        let computed = materialized::with_vectors_of(all, used, n, |vecs, n| {
            exprs
                .iter()
                .map(|e| {
                    let v = vector::eval(e, vecs, n)?;
                    let mut c = Column::new(ColumnData::empty(e.data_type().physical()));
                    v.append_to(&mut c, None, n);
                    Ok(((*e).clone(), c))
                })
                .collect::<Result<Vec<_>>>()
        })?;
        Ok(Columns { computed })
    }

    fn bytes(&self) -> usize {
        self.computed.iter().map(|(_, c)| c.heap_bytes()).sum()
    }

    /// The partition key columns of `spec`, in input order.
    fn partition_keys<'a>(&'a self, all: &'a Batch, spec: &WindowExpr) -> Result<Vec<&'a Column>> {
        spec.partition_by.iter().map(|e| self.get(all, e)).collect()
    }

    /// The order key columns of `spec`, in input order.
    fn order_keys<'a>(&'a self, all: &'a Batch, spec: &WindowExpr) -> Result<Vec<&'a Column>> {
        spec.order_by
            .iter()
            .map(|k| self.get(all, &k.expr))
            .collect()
    }

    /// The column of `e` (one of the group's expressions), in input order.
    fn get<'a>(&'a self, all: &'a Batch, e: &Expr) -> Result<&'a Column> {
        let found = match e {
            Expr::Column { index, .. } => all.columns.get(*index),
            _ => self.computed.iter().find(|(x, _)| x == e).map(|(_, c)| c),
        };
        found.ok_or_else(|| Error::Internal(format!("window: no column for {e}")))
    }
}

/// One spec's rows in order: what its window expressions are evaluated over.
/// What only some functions read (the sorted order keys, peer groups, the
/// inverse permutation) is made when one first does.
struct Sorted<'a> {
    all: &'a Batch,
    cols: &'a Columns,
    /// Input position of each sorted row.
    order: &'a [u32],
    /// Where each partition starts among the sorted rows, then `n`.
    starts: &'a [u32],
    /// Sorted position of each input row.
    inverse: OnceCell<Vec<u32>>,
    /// The ORDER BY keys, in input order.
    ord: &'a [&'a Column],
    /// The ORDER BY keys, sorted.
    order_cols: OnceCell<Vec<Column>>,
    /// Partition and peer-group boundaries.
    layout: OnceCell<Layout>,
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

impl Sorted<'_> {
    /// Argument `k` of `w`, in input order.
    fn arg(&self, w: &WindowExpr, k: usize) -> Result<&Column> {
        let e = w
            .args
            .get(k)
            .ok_or_else(|| Error::Internal(format!("{} lacks argument {k}", w.func.name())))?;
        self.cols.get(self.all, e)
    }

    /// Rows chosen per sorted position (as sorted positions) turned into the
    /// values of `src` per input row; `default` (input order) where none is.
    fn pick(&self, src: &Column, rows: &[Option<u32>], default: Option<&Column>) -> Column {
        let mut by_input = vec![NO_ROW; rows.len()];
        for (i, r) in rows.iter().enumerate() {
            if let Some(j) = r {
                by_input[self.order[i] as usize] = self.order[*j as usize];
            }
        }
        functions::gather(src, &by_input, default)
    }

    /// The ORDER BY keys in sorted order.
    fn order_cols(&self) -> &[Column] {
        self.order_cols
            .get_or_init(|| self.ord.iter().map(|c| c.take(self.order)).collect())
    }

    /// Partition and peer-group boundaries of the sorted rows.
    fn layout(&self) -> &Layout {
        self.layout
            .get_or_init(|| Layout::new(self.starts.to_vec(), self.order_cols()))
    }

    /// One window expression, its result in input order.
    fn evaluate(&self, w: &WindowExpr, mem: &mut super::memory::Reservation) -> Result<Column> {
        let n = self.order.len();
        let frames = |mem: &mut super::memory::Reservation| -> Result<Vec<layout::Frame>> {
            mem.grow(aggregate::tree_bytes(n))?;
            layout::frames(self.layout(), &w.frame, &w.order_by, self.order_cols())
        };
        let in_input_order = |c: Column| c.take(self.inverse());
        match w.func {
            WindowFunc::RowNumber
            | WindowFunc::Rank
            | WindowFunc::DenseRank
            | WindowFunc::PercentRank
            | WindowFunc::CumeDist => {
                functions::ranking(w.func, self.layout(), n, None).map(in_input_order)
            }
            WindowFunc::Ntile => {
                let buckets = literal_int(w.args.first(), "the ntile count")?;
                functions::ranking(w.func, self.layout(), n, buckets).map(in_input_order)
            }
            WindowFunc::Lag | WindowFunc::Lead => {
                let values = self.arg(w, 0)?;
                let offset = match w.args.get(1) {
                    Some(e) => literal_int(Some(e), "the lag/lead offset")?,
                    None => Some(1),
                };
                let Some(offset) = offset else {
                    // A NULL offset: NULL everywhere.
                    return Ok(functions::gather(values, &vec![NO_ROW; n], None));
                };
                let default = match w.args.get(2) {
                    Some(_) => Some(self.arg(w, 2)?),
                    None => None,
                };
                let rows = functions::lag_lead(
                    self.starts,
                    self.order,
                    &self.valid(values, w.ignore_nulls),
                    offset,
                    w.func == WindowFunc::Lead,
                );
                Ok(functions::gather(values, &rows, default))
            }
            WindowFunc::FirstValue | WindowFunc::LastValue | WindowFunc::NthValue => {
                let values = self.arg(w, 0)?;
                let nth = match w.func {
                    WindowFunc::NthValue => literal_int(w.args.get(1), "the nth_value index")?,
                    _ => Some(1),
                };
                let Some(nth) = nth.filter(|&k| k >= 1) else {
                    return Ok(functions::gather(values, &vec![NO_ROW; n], None));
                };
                let frames = frames(mem)?;
                let rows = functions::frame_value(
                    w.func,
                    &self.valid(values, w.ignore_nulls),
                    &frames,
                    nth as usize,
                );
                Ok(self.pick(values, &rows, None))
            }
            WindowFunc::Fill => {
                let values = self.arg(w, 0)?;
                let key = w
                    .arg_order
                    .first()
                    .or(w.order_by.first())
                    .ok_or_else(|| Error::Internal("fill without an ORDER BY key".into()))?;
                let keys = self.cols.get(self.all, &key.expr)?;
                mem.grow(16 * n + values.heap_bytes())?;
                fill::fill(self.starts, self.order, values, keys, w.data_type)
            }
            WindowFunc::Agg(func) => {
                let arg = match w.args.first() {
                    Some(_) => Some(self.arg(w, 0)?),
                    None => None,
                };
                // Rows a frame counts: FILTER TRUE and a non-NULL argument
                // (`list` keeps NULLs).
                let arg_nulls_count = func == AggFunc::List;
                let filter = match &w.filter {
                    Some(f) => Some(self.cols.get(self.all, f)?),
                    None => None,
                };
                let mut counted = Bitmap::new(n, true);
                for (i, &row) in self.order.iter().enumerate() {
                    let row = row as usize;
                    let kept = filter.is_none_or(|c| {
                        c.is_valid(row) && matches!(&c.data, ColumnData::Bool(v) if v[row])
                    });
                    if !kept || !(arg_nulls_count || arg.is_none_or(|c| c.is_valid(row))) {
                        counted.set(i, false);
                    }
                }
                let frames = frames(mem)?;
                if !aggregate::has_tree(func) {
                    // Any other aggregate: its group state over each frame.
                    // A quantile's fraction is its second, literal argument.
                    let quantile = match (func, w.args.get(1)) {
                        (
                            AggFunc::QuantileCont | AggFunc::QuantileDisc | AggFunc::ApproxQuantile,
                            Some(Expr::Literal {
                                value: Value::Float(q),
                                ..
                            }),
                        ) => Some(*q),
                        _ => None,
                    };
                    let a = AggExpr {
                        func,
                        arg: w.args.first().cloned(),
                        distinct: false,
                        data_type: w.data_type,
                        arg2: w.args.get(1).cloned().filter(|_| quantile.is_none()),
                        filter: None,
                        quantile: quantile.unwrap_or(0.0),
                    };
                    let arg2 = match w.args.get(1) {
                        Some(_) if quantile.is_none() => Some(self.arg(w, 1)?),
                        _ => None,
                    };
                    let c = super::agg::over_frames(&a, arg, arg2, self.order, &counted, &frames)?;
                    return Ok(in_input_order(c));
                }
                match aggregate::aggregate(func, arg, self.order, &counted, &frames)? {
                    aggregate::Output::Sorted(c) => Ok(in_input_order(c)),
                    aggregate::Output::Rows(rows) => {
                        let src = arg
                            .ok_or_else(|| Error::Internal("min/max without an argument".into()))?;
                        Ok(self.pick(src, &rows, None))
                    }
                }
            }
        }
    }

    /// Sorted position of each input row.
    fn inverse(&self) -> &[u32] {
        self.inverse.get_or_init(|| {
            let mut inverse = vec![0u32; self.order.len()];
            for (pos, &row) in self.order.iter().enumerate() {
                inverse[row as usize] = pos as u32;
            }
            inverse
        })
    }

    /// Which sorted rows count for a navigation function: all of them, or with
    /// IGNORE NULLS those whose value is not NULL.
    fn valid(&self, values: &Column, ignore_nulls: bool) -> Option<Bitmap> {
        ignore_nulls.then(|| {
            let mut b = Bitmap::new(self.order.len(), true);
            for (i, &row) in self.order.iter().enumerate() {
                if !values.is_valid(row as usize) {
                    b.set(i, false);
                }
            }
            b
        })
    }
}
