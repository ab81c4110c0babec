//! The Unnest operator (`SELECT unnest(list) ...`): each input row is repeated
//! once per element of its longest list, the list columns giving one element per
//! row (NULL past a shorter list's end). A row whose lists are all NULL or empty
//! gives no row. Batch by batch; the output counts against the query's memory.

use super::materialized::with_vectors;
use super::memory::Reservation;
use super::vector;
use crate::column::{Batch, Column, ColumnData, Value};
use crate::error::Result;
use crate::plan::Expr;

/// Unnests `lists` (expressions over each batch's columns) of `batches`.
pub(super) fn unnest(
    batches: Vec<Batch>,
    lists: &[(Expr, String)],
    mem: &mut Reservation,
) -> Result<Vec<Batch>> {
    let mut used = Vec::new();
    for (e, _) in lists {
        e.for_each_column(&mut |i| {
            if used.len() <= i {
                used.resize(i + 1, false);
            }
            used[i] = true;
        });
    }
    let mut out = Vec::with_capacity(batches.len());
    for mut b in batches {
        // Each row's lists, as values.
        let rows: Vec<Vec<Option<std::sync::Arc<[Value]>>>> =
            with_vectors(&mut b, &used, |vecs, n| {
                let mut rows = vec![Vec::with_capacity(lists.len()); n];
                for (e, _) in lists {
                    let v = vector::eval(e, vecs, n)?;
                    let t = e.data_type();
                    for (i, row) in rows.iter_mut().enumerate() {
                        row.push(match v.value(i, t) {
                            Value::List(items) => Some(items),
                            _ => None,
                        });
                    }
                }
                Ok(rows)
            })?;
        let mut sel: Vec<u32> = Vec::new();
        let mut cols: Vec<Column> = lists
            .iter()
            .map(|(e, _)| {
                let t = e.data_type();
                Column::new(ColumnData::empty(t.list_elem().unwrap_or(t).physical()))
            })
            .collect();
        for (i, row) in rows.iter().enumerate() {
            let n = row
                .iter()
                .map(|l| l.as_ref().map_or(0, |l| l.len()))
                .max()
                .unwrap_or(0);
            for k in 0..n {
                sel.push(i as u32);
                for (c, l) in cols.iter_mut().zip(row) {
                    c.push(l.as_ref().and_then(|l| l.get(k)).unwrap_or(&Value::Null));
                }
            }
        }
        let mut columns: Vec<Column> = b.columns.iter().map(|c| c.take(&sel)).collect();
        columns.extend(cols);
        let batch = Batch { columns };
        mem.grow(batch.heap_bytes())?;
        out.push(batch);
    }
    Ok(out)
}
