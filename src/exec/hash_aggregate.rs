//! The HashAggregate operator over batches from another operator (an aggregate
//! whose input is not a scan: a join, a subquery, a union), and the step it shares
//! with the scan pipeline: evaluating a batch's group keys and aggregate
//! arguments and folding them into an [`AggState`].

use std::borrow::Cow;

use super::agg::{AggInput, AggState};
use super::group::KeyLayout;
use super::materialized::{into_vector, sliced};
use super::memory::Reservation;
use super::scan::Sink;
use super::vector::{self, Vector};
use crate::column::Batch;
use crate::error::Result;
use crate::plan::{AggExpr, Expr};
use crate::schema::DataType;

/// Below this many rows in all, [`HashAggregate::push_all`] folds on one thread.
const PARALLEL_MIN_ROWS: usize = 1 << 17;
/// Rows a thread evaluates at a time in [`HashAggregate::push_all`].
const PIECE_ROWS: usize = 1 << 16;

/// Hash aggregation over batches that arrive one at a time (an aggregate whose
/// input is not a scan: a join, a subquery, a union), with the same group table as
/// the pipeline.
pub(super) struct HashAggregate<'a> {
    group: &'a [(Expr, String)],
    aggs: &'a [(AggExpr, String)],
    agg_exprs: Vec<AggExpr>,
    layout: KeyLayout,
    state: AggState,
}

impl<'a> HashAggregate<'a> {
    pub fn new(
        group: &'a [(Expr, String)],
        aggs: &'a [(AggExpr, String)],
        reservation: Reservation,
    ) -> HashAggregate<'a> {
        let agg_exprs: Vec<AggExpr> = aggs.iter().map(|(a, _)| a.clone()).collect();
        let key_types: Vec<DataType> = group.iter().map(|(e, _)| e.data_type()).collect();
        let layout = KeyLayout::new(&key_types, &[]);
        let state = AggState::new(layout.clone(), &agg_exprs, Some(reservation));
        HashAggregate {
            group,
            aggs,
            agg_exprs,
            layout,
            state,
        }
    }

    /// Folds a batch in.
    pub fn push(&mut self, b: Batch) -> Result<()> {
        let len = b.num_rows();
        if len == 0 {
            return Ok(());
        }
        let vecs: Vec<Vector> = b.columns.into_iter().map(into_vector).collect();
        update_aggregate(&mut self.state, self.group, None, self.aggs, &vecs, len)
    }

    /// Folds in every row of `batches`, on up to `threads` threads when they are
    /// many: each thread folds a contiguous share of the rows (in pieces of at most
    /// [`PIECE_ROWS`]) into a table of its own (`reservation` gives each its share
    /// of the pool), and the tables merge in row order, so groups, `first()` and
    /// `string_agg` see the rows in the order one thread would.
    pub fn push_all(
        &mut self,
        batches: Vec<Batch>,
        threads: usize,
        reservation: &(dyn Fn() -> Reservation + Sync),
    ) -> Result<()> {
        let rows: usize = batches.iter().map(Batch::num_rows).sum();
        let threads = threads.min(rows / PARALLEL_MIN_ROWS).max(1);
        if threads == 1 {
            return batches.into_iter().try_for_each(|b| self.push(b));
        }
        // (batch, first row, rows) pieces in row order, cut into one run per thread.
        let mut pieces = Vec::new();
        for (i, b) in batches.iter().enumerate() {
            let n = b.num_rows();
            pieces.extend(
                (0..n)
                    .step_by(PIECE_ROWS)
                    .map(|s| (i, s, PIECE_ROWS.min(n - s))),
            );
        }
        let share = rows.div_ceil(threads);
        let mut runs: Vec<Vec<(usize, usize, usize)>> = vec![Vec::new()];
        let mut in_run = 0;
        for p in pieces {
            if in_run >= share {
                runs.push(Vec::new());
                in_run = 0;
            }
            in_run += p.2;
            if let Some(r) = runs.last_mut() {
                r.push(p);
            }
        }
        // The columns a piece copies: those the keys and aggregates read.
        let mut used = vec![false; batches.first().map_or(0, |b| b.columns.len())];
        let mut mark = |e: &Expr| {
            e.for_each_column(&mut |i| {
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
            })
        };
        Sink::Aggregate(self.group, self.aggs).for_each_expr(&mut mark);
        let used = &used;
        let layout = &self.layout;
        let fold = |run: &[(usize, usize, usize)]| -> Result<AggState> {
            let mut st = AggState::new(layout.clone(), &self.agg_exprs, Some(reservation()));
            for &(i, start, n) in run {
                let b = &batches[i];
                let piece = if start == 0 && n == b.num_rows() {
                    b.columns
                        .iter()
                        .map(Vector::from_column)
                        .collect::<Vec<_>>()
                } else {
                    sliced(b, used, start..start + n)
                };
                update_aggregate(&mut st, self.group, None, self.aggs, &piece, n)?;
            }
            Ok(st)
        };
        let states: Vec<Result<AggState>> = std::thread::scope(|s| {
            let handles: Vec<_> = runs[1..].iter().map(|r| s.spawn(|| fold(r))).collect();
            let mut out = vec![fold(&runs[0])];
            out.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
            );
            out
        });
        for st in states {
            self.state.merge(&mut st?)?;
        }
        Ok(())
    }

    /// The groups, as one batch; the keys marked in `unread` (no operator
    /// above reads them) as zero values.
    pub fn finish(mut self, unread: &[bool]) -> Result<Vec<Batch>> {
        let cols = self
            .state
            .finish_keys(&self.agg_exprs, self.group.is_empty(), None, unread)?;
        Ok(vec![Batch { columns: cols }])
    }
}

/// Evaluates the group keys and aggregate arguments over `len` rows of `vecs` and
/// folds them into `st`. Keys given in `fixed` (one-row vectors) have that value
/// in every row; when all are, the rows are one group.
pub(super) fn update_aggregate(
    st: &mut AggState,
    group: &[(Expr, String)],
    fixed: Option<&[Option<Vector>]>,
    aggs: &[(AggExpr, String)],
    vecs: &[Vector],
    len: usize,
) -> Result<()> {
    let one = fixed.is_some_and(|f| f.iter().all(Option::is_some));
    let keys: Vec<Cow<'_, Vector>> = group
        .iter()
        .enumerate()
        .map(
            |(k, (e, _))| match fixed.and_then(|f| f.get(k)).and_then(Option::as_ref) {
                Some(v) if one => Ok(Cow::Borrowed(v)),
                Some(v) => Ok(Cow::Owned(Vector::constant(v.value(0, e.data_type())))),
                None => vector::eval(e, vecs, len),
            },
        )
        .collect::<Result<_>>()?;
    let opt = |e: &Option<Expr>| e.as_ref().map(|e| vector::eval(e, vecs, len)).transpose();
    let args: Vec<[Option<_>; 3]> = aggs
        .iter()
        .map(|(a, _)| Ok([opt(&a.arg)?, opt(&a.arg2)?, opt(&a.filter)?]))
        .collect::<Result<_>>()?;
    let key_refs: Vec<&Vector> = keys.iter().map(|k| k.as_ref()).collect();
    let inputs: Vec<AggInput<'_>> = aggs
        .iter()
        .zip(&args)
        .map(|((a, _), [x, y, f])| AggInput::new(a, x.as_deref(), y.as_deref(), f.as_deref()))
        .collect();
    if one {
        st.update_one_group(&key_refs, &inputs, len)
    } else {
        st.update(&key_refs, &inputs, len)
    }
}
