//! The Limit operator: OFFSET and LIMIT over materialized batches.

use crate::column::Batch;

/// Skips `skip` rows of `batches`, then keeps at most `fetch`.
pub(super) fn limit(batches: Vec<Batch>, skip: usize, fetch: Option<usize>) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut to_skip = skip;
    let mut left = fetch.unwrap_or(usize::MAX);
    for b in batches {
        if left == 0 {
            break;
        }
        let n = b.num_rows();
        if to_skip >= n {
            to_skip -= n;
            continue;
        }
        let take = (n - to_skip).min(left);
        let rows: Vec<u32> = (to_skip as u32..(to_skip + take) as u32).collect();
        out.push(b.take(&rows));
        left -= take;
        to_skip = 0;
    }
    out
}
