//! `WITH RECURSIVE` (`RecursiveCte`): the anchor runs once; its rows are the
//! first working table; the step runs over the working table, and its rows
//! (for UNION: those never produced before, once each) become the next
//! working table and join the result, until an iteration produces none. At
//! most [`MAX_RECURSION`] iterations (fewer under a LIMIT without ORDER BY,
//! which stops it once it has enough rows); the result counts against the memory
//! limit and the cancel flag is checked every iteration, so a recursion that
//! does not end fails with a clear error instead of running forever.

use hashbrown::HashSet;

use super::memory::Reservation;
use crate::column::{Batch, Value};
use crate::error::{Error, Result};
use crate::plan::recursive::WorkSlot;

/// Most iterations of one recursive CTE.
pub const MAX_RECURSION: usize = 100_000;

/// Runs a recursive CTE: `run_child(0)` is the anchor, `run_child(1)` one
/// iteration of the step over the rows put into `slot`. Under a LIMIT without
/// ORDER BY (`row_budget`) it stops once that many rows are out, so a
/// recursion that never ends on its own can still be read from the top.
pub(super) fn run(
    name: &str,
    slot: &WorkSlot,
    distinct: bool,
    row_budget: Option<usize>,
    mem: &mut Reservation,
    check_cancel: &dyn Fn() -> Result<()>,
    run_child: &mut dyn FnMut(usize) -> Result<Vec<Batch>>,
) -> Result<Vec<Batch>> {
    let _running = slot.run();
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut seen_bytes = 0usize;
    let mut out: Vec<Batch> = Vec::new();
    let mut out_bytes = 0usize;
    let mut out_rows = 0usize;
    let mut fresh = keep_new(run_child(0)?, distinct, &mut seen, &mut seen_bytes);
    let mut iterations = 0;
    while fresh.iter().any(|b| b.num_rows() > 0) {
        check_cancel()?;
        out_bytes += fresh.iter().map(Batch::heap_bytes).sum::<usize>();
        mem.resize(out_bytes + seen_bytes)?;
        out_rows += fresh.iter().map(Batch::num_rows).sum::<usize>();
        out.extend(fresh.iter().cloned());
        if row_budget.is_some_and(|n| out_rows >= n) {
            break;
        }
        if iterations == MAX_RECURSION {
            slot.set(Vec::new());
            return Err(Error::InvalidInput(format!(
                "WITH RECURSIVE {name}: still producing rows after {MAX_RECURSION} \
                 iterations; add a condition that ends the recursion"
            )));
        }
        iterations += 1;
        slot.set(fresh);
        let next = run_child(1);
        slot.set(Vec::new());
        fresh = keep_new(next?, distinct, &mut seen, &mut seen_bytes);
    }
    Ok(out)
}

/// `batches` without the rows `seen` already has (and without repeats) when
/// `distinct`; all of them otherwise.
fn keep_new(
    batches: Vec<Batch>,
    distinct: bool,
    seen: &mut HashSet<Vec<u8>>,
    seen_bytes: &mut usize,
) -> Vec<Batch> {
    if !distinct {
        return batches;
    }
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        let mut keep = Vec::new();
        for row in 0..b.num_rows() {
            let key = row_key(&b, row);
            let len = key.len();
            if seen.insert(key) {
                *seen_bytes += len + std::mem::size_of::<Vec<u8>>();
                keep.push(row as u32);
            }
        }
        if keep.len() == b.num_rows() {
            out.push(b);
        } else if !keep.is_empty() {
            out.push(b.take(&keep));
        }
    }
    out
}

/// The bytes of row `row` of `b`, equal exactly when the rows are not distinct
/// (NULLs equal, -0.0 = 0.0, NaN = NaN).
fn row_key(b: &Batch, row: usize) -> Vec<u8> {
    let mut key = Vec::new();
    for c in &b.columns {
        match c.value(row) {
            Value::Null => key.push(0),
            Value::Int(v) => {
                key.push(1);
                key.extend_from_slice(&v.to_le_bytes());
            }
            Value::Float(f) => {
                let f = if f == 0.0 {
                    0.0
                } else if f.is_nan() {
                    f64::NAN
                } else {
                    f
                };
                key.push(2);
                key.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            Value::Bool(v) => key.extend_from_slice(&[3, v as u8]),
            Value::Str(s) => {
                key.push(4);
                key.extend_from_slice(&(s.len() as u64).to_le_bytes());
                key.extend_from_slice(s.as_bytes());
            }
            Value::Ip(v) => {
                key.push(5);
                key.extend_from_slice(&v.to_le_bytes());
            }
            #[allow(unreachable_patterns)]
            other => {
                let text = format!("{other:?}");
                key.push(6);
                key.extend_from_slice(&(text.len() as u64).to_le_bytes());
                key.extend_from_slice(text.as_bytes());
            }
        }
    }
    key
}
