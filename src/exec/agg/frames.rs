//! Any aggregate over window frames, with the group states of this module: the
//! rows of each frame form one group. The window operator uses segment trees
//! for count, sum, avg, min and max; this serves the rest (variances,
//! `string_agg`, `mode`, `bool_and`, ...), in time proportional to the summed
//! frame sizes, so it is bounded.

use super::{Acc, AggInput};
use crate::column::{Bitmap, Column};
use crate::error::{Error, Result};
use crate::exec::vector::Vector;
use crate::plan::AggExpr;

/// Rows folded per batch of frames (bounds the row and group lists).
const CHUNK_PAIRS: usize = 1 << 20;

/// The most rows all frames of one window call may hold together.
pub const MAX_FRAME_ROWS: usize = 1 << 29;

/// `a` over each frame: for sorted position `i`, the rows `order[k]` for `k` in
/// the runs `frames[i]` (sorted positions, end exclusive; empty runs are
/// `(x, x)`) where `counted` is set. `arg`
/// and `arg2` are in input order; the result is in sorted order.
pub fn over_frames(
    a: &AggExpr,
    arg: Option<&Column>,
    arg2: Option<&Column>,
    order: &[u32],
    counted: &Bitmap,
    frames: &[[(u32, u32); 3]],
) -> Result<Column> {
    let total: usize = frames
        .iter()
        .flatten()
        .map(|&(s, e)| e.saturating_sub(s) as usize)
        .sum();
    if total > MAX_FRAME_ROWS {
        return Err(Error::ResourcesExhausted(format!(
            "{} over window frames of {total} rows in all (more than {MAX_FRAME_ROWS}); \
             narrow the frames or the partitions",
            a.func.name()
        )));
    }
    let argv = arg.map(Vector::from_column);
    let arg2v = arg2.map(Vector::from_column);
    let input = AggInput::new(a, argv.as_ref(), arg2v.as_ref(), None);
    let len = order.len();
    let n = frames.len();
    let mut out: Option<Column> = None;
    let (mut rows, mut gids) = (Vec::new(), Vec::new());
    let mut c0 = 0;
    while c0 < n {
        rows.clear();
        gids.clear();
        let mut c1 = c0;
        while c1 < n && (c1 == c0 || rows.len() < CHUNK_PAIRS) {
            for &(s, e) in &frames[c1] {
                for k in s..e {
                    if counted.get(k as usize) {
                        rows.push(order[k as usize]);
                        gids.push((c1 - c0) as u32);
                    }
                }
            }
            c1 += 1;
        }
        let mut acc = Acc::new(a);
        acc.resize(c1 - c0);
        let mut grown = 0;
        acc.update(&input, &rows, &gids, len, &mut grown)?;
        super::quantile::select_quantiles(std::slice::from_mut(&mut acc));
        let col = acc.finish(a.data_type, std::slice::from_ref(&acc))?;
        match &mut out {
            Some(o) => o.append(&col),
            None => out = Some(col),
        }
        c0 = c1;
    }
    match out {
        Some(o) => Ok(o),
        None => {
            let mut acc = Acc::new(a);
            acc.resize(0);
            acc.finish(a.data_type, std::slice::from_ref(&acc))
        }
    }
}
