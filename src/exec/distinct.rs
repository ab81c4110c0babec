//! The Distinct operator: one row of each set of equal rows. It is a hash
//! aggregate grouping by every column with no aggregates, so its table is the
//! group table (keys interned, memory counted against the limit), and rows come
//! out in the order their first copy came in.

use super::hash_aggregate::HashAggregate;
use super::memory::Reservation;
use crate::column::Batch;
use crate::error::Result;
use crate::plan::Expr;
use crate::schema::DataType;

/// The rows of `batches` not equal to an earlier row.
pub(super) fn distinct(
    batches: Vec<Batch>,
    schema: &[(String, DataType)],
    reservation: Reservation,
) -> Result<Vec<Batch>> {
    let group = Expr::columns(schema);
    let mut agg = HashAggregate::new(&group, &[], reservation);
    for b in batches {
        agg.push(b)?;
    }
    agg.finish(&[])
}
