//! Nested-loop joins over materialized inputs: joins without an equality between
//! their sides (`CROSS JOIN`, comma-separated FROM items, `ON a.x < b.y`), inner,
//! left, right and full outer.
//!
//! The right side is concatenated into one batch; each left batch is paired with
//! it in chunks of at most [`OUTPUT_ROWS`] (left row, right row) pairs. The join's
//! condition is evaluated over a chunk's pairs, gathering only the columns it
//! reads, and the pairs that pass are handed to the caller, so a cross product
//! streamed into an aggregate never holds more than one chunk. Right rows that
//! matched are marked in a bitmap (emitted padded at the end for RIGHT and FULL),
//! left rows after each left batch (LEFT and FULL).
//!
//! Memory: the right side's rows hold their reservation for as long as the join
//! runs, the left side's shrinks as its batches are consumed; the output is
//! counted by the caller (materialized) or not held at all (streamed).

use super::join::{empty_batch, mark, pair_batch, JoinInputs, Matched, OUTPUT_ROWS, PAD};
use super::materialized::with_vectors;
use super::sort::concat;
use super::vector::{self, Vector};
use super::ExecOptions;
use crate::column::Batch;
use crate::error::Result;
use crate::plan::{Expr, JoinKind};

/// Runs a nested-loop join of `inputs` with the condition `filter` (none: every
/// pair), handing its output to `emit` batch by batch; with `row_budget` (a
/// LIMIT above it), stops once that many rows are out.
pub(super) fn nested_loop_join(
    inputs: JoinInputs<'_>,
    kind: JoinKind,
    filter: Option<&Expr>,
    opts: &ExecOptions,
    row_budget: Option<usize>,
    emit: &mut dyn FnMut(Batch) -> Result<()>,
) -> Result<()> {
    let wanted = std::cell::Cell::new(row_budget.unwrap_or(usize::MAX));
    let mut emit = |b: Batch| -> Result<bool> {
        wanted.set(wanted.get().saturating_sub(b.num_rows()));
        emit(b)?;
        Ok(wanted.get() == 0)
    };
    let JoinInputs {
        left,
        left_schema,
        left_mem: mut probe_mem,
        right,
        right_schema,
        right_mem,
    } = inputs;
    let nl = left_schema.len();
    let mut build_mem = right_mem.named("nested loop join");
    let mut b = concat(right, right_schema);
    build_mem.resize(b.heap_bytes())?;
    let nb = b.num_rows();
    let (mut filter_left, mut filter_right) = (Vec::new(), Vec::new());
    if let Some(f) = filter {
        f.for_each_column(&mut |i| {
            if i < nl {
                filter_left.push(i)
            } else {
                filter_right.push(i - nl)
            }
        });
    }
    let (filter_left, filter_right) = (mark(&filter_left), mark(&filter_right));
    let mut right_matched = Matched::new(kind.keeps_right(), nb);
    let mut sel = Vec::new();
    for mut p in left {
        opts.check_cancel()?;
        let n = p.num_rows();
        probe_mem.resize(probe_mem.size().saturating_sub(p.heap_bytes()))?;
        if n == 0 {
            continue;
        }
        let mut hit = Matched::new(kind.keeps_left(), n);
        // The next pair is (left row r, right row m).
        let (mut r, mut m) = (0usize, 0usize);
        while nb > 0 && r < n {
            let most = OUTPUT_ROWS.min(wanted.get());
            let (mut lrow, mut rrow) = (Vec::new(), Vec::new());
            while r < n && lrow.len() < most {
                let take = (nb - m).min(most - lrow.len());
                lrow.extend(std::iter::repeat_n(r as u32, take));
                rrow.extend(m as u32..(m + take) as u32);
                m += take;
                if m == nb {
                    (r, m) = (r + 1, 0);
                }
            }
            if let Some(f) = filter {
                let k = lrow.len();
                with_vectors(&mut p, &filter_left, |lv, _| {
                    with_vectors(&mut b, &filter_right, |rv, _| {
                        let pair: Vec<Vector> = lv
                            .iter()
                            .map(|v| v.gather(&lrow))
                            .chain(rv.iter().map(|v| v.gather(&rrow)))
                            .collect();
                        vector::select(f, &pair, k, &mut sel)
                    })
                })?;
                if sel.len() < k {
                    lrow = sel.iter().map(|&i| lrow[i as usize]).collect();
                    rrow = sel.iter().map(|&i| rrow[i as usize]).collect();
                }
            }
            hit.mark(&lrow);
            right_matched.mark(&rrow);
            // The right side is the "build" side of `pair_batch`.
            if !lrow.is_empty() && emit(pair_batch(&b, &p, &rrow, &lrow, false))? {
                return Ok(());
            }
            opts.check_cancel()?;
        }
        if hit.is_tracked() {
            let lrow = hit.unmatched();
            if !lrow.is_empty() {
                let rrow = vec![PAD; lrow.len()];
                if emit(pair_batch(&b, &p, &rrow, &lrow, false))? {
                    return Ok(());
                }
            }
        }
    }
    if right_matched.is_tracked() {
        let empty = empty_batch(left_schema);
        let rows = right_matched.unmatched();
        for rrow in rows.chunks(OUTPUT_ROWS) {
            opts.check_cancel()?;
            let lrow = vec![PAD; rrow.len()];
            if emit(pair_batch(&b, &empty, rrow, &lrow, false))? {
                return Ok(());
            }
        }
    }
    Ok(())
}
