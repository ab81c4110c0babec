//! The Distinct operator: the first of each set of equal rows of materialized
//! batches, in input order.

use hashbrown::HashSet;

use super::agg;
use super::vector::Vector;
use crate::column::Batch;
use crate::error::Result;

/// The rows of `batches` not equal to an earlier row.
pub(super) fn distinct(batches: Vec<Batch>) -> Result<Vec<Batch>> {
    let mut seen: HashSet<Box<[u8]>> = HashSet::new();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for b in batches {
        let vecs: Vec<Vector> = b.columns.iter().map(Vector::from_column).collect();
        let mut keep = Vec::new();
        for r in 0..b.num_rows() {
            buf.clear();
            for v in &vecs {
                agg::encode(&mut buf, v, r, false);
            }
            if !seen.contains(buf.as_slice()) {
                seen.insert(buf.as_slice().into());
                keep.push(r as u32);
            }
        }
        out.push(b.take(&keep));
    }
    Ok(out)
}
