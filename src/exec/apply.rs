//! The Apply operator: a correlated subquery evaluated for the rows of its
//! input (a dependent join). The subquery runs once per distinct tuple of the
//! values it reads from the input (its correlated values, and the operand of
//! an IN), with those values bound as literals; each input row then takes the
//! result of its tuple. As a value (scalar, EXISTS, IN) the result is one more
//! column with the semantics of an uncorrelated subquery (a scalar subquery
//! returning more than one row is an error); as a LATERAL join, the input row
//! is repeated once per subquery row.

use hashbrown::HashMap;

use super::materialized::with_vectors;
use super::memory::Reservation;
use super::vector::{self, push_value};
use super::{agg, ExecOptions, ExecStats};
use crate::column::{Batch, Column, ColumnData, Value};
use crate::error::Result;
use crate::plan::apply::instance;
use crate::plan::{Expr, JoinKind, Subquery, SubqueryKind};
use crate::storage::Snapshot;

/// The result of the subquery for one tuple.
enum Outcome {
    Value(Value),
    Rows(Batch),
}

/// Runs the Apply over its input's `batches`.
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    snapshot: &Snapshot,
    batches: Vec<Batch>,
    subquery: &Subquery,
    lateral: Option<JoinKind>,
    opts: &ExecOptions,
    stats: &ExecStats,
    mem: &mut Reservation,
) -> Result<Vec<Batch>> {
    let mut keys: Vec<&Expr> = subquery.correlated.iter().collect();
    if let SubqueryKind::In { expr, .. } = &subquery.kind {
        keys.push(expr);
    }
    let mut used = Vec::new();
    for k in &keys {
        k.for_each_column(&mut |i| {
            if used.len() <= i {
                used.resize(i + 1, false);
            }
            used[i] = true;
        });
    }
    let sub_columns = subquery.plan.schema();
    let mut seen: HashMap<Box<[u8]>, usize> = HashMap::new();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut out = Vec::with_capacity(batches.len());
    let mut buf = Vec::new();
    for mut b in batches {
        opts.check_cancel()?;
        // The outcome of each row's tuple.
        let rows: Vec<usize> = with_vectors(&mut b, &used, |vecs, n| {
            let vals = keys
                .iter()
                .map(|k| vector::eval(k, vecs, n))
                .collect::<Result<Vec<_>>>()?;
            let mut rows = Vec::with_capacity(n);
            for r in 0..n {
                buf.clear();
                for v in &vals {
                    agg::encode(&mut buf, v, r, false);
                }
                if let Some(&k) = seen.get(buf.as_slice()) {
                    rows.push(k);
                    continue;
                }
                let tuple: Vec<Value> = keys
                    .iter()
                    .zip(&vals)
                    .map(|(k, v)| v.value(r, k.data_type()))
                    .collect();
                let outcome = evaluate(snapshot, subquery, &tuple, lateral.is_some(), opts, stats)?;
                if let Outcome::Rows(rows) = &outcome {
                    mem.grow(rows.heap_bytes())?;
                }
                outcomes.push(outcome);
                seen.insert(buf.as_slice().into(), outcomes.len() - 1);
                rows.push(outcomes.len() - 1);
            }
            Ok(rows)
        })?;
        let batch = match lateral {
            None => {
                let mut c = Column::new(ColumnData::with_capacity(
                    subquery.data_type.physical(),
                    rows.len(),
                ));
                for &k in &rows {
                    match &outcomes[k] {
                        Outcome::Value(v) => push_value(&mut c, v),
                        Outcome::Rows(_) => push_value(&mut c, &Value::Null),
                    }
                }
                b.columns.push(c);
                b
            }
            Some(kind) => {
                let mut left = Vec::new();
                let mut right: Vec<Column> = sub_columns
                    .iter()
                    .map(|(_, t)| Column::new(ColumnData::empty(t.physical())))
                    .collect();
                for (r, &k) in rows.iter().enumerate() {
                    let Outcome::Rows(sub) = &outcomes[k] else {
                        continue;
                    };
                    let m = sub.num_rows();
                    if m == 0 && kind == JoinKind::Left {
                        left.push(r as u32);
                        right.iter_mut().for_each(|c| push_value(c, &Value::Null));
                    }
                    for j in 0..m {
                        left.push(r as u32);
                        for (c, src) in right.iter_mut().zip(&sub.columns) {
                            push_value(c, &src.value(j));
                        }
                    }
                }
                let mut joined = b.take(&left);
                joined.columns.extend(right);
                joined
            }
        };
        mem.grow(batch.heap_bytes())?;
        out.push(batch);
    }
    Ok(out)
}

/// The subquery's result for one tuple of values.
fn evaluate(
    snapshot: &Snapshot,
    subquery: &Subquery,
    tuple: &[Value],
    rows: bool,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<Outcome> {
    let mut s = instance(subquery, tuple)?;
    super::physical::after_subqueries(&mut s.plan);
    if rows {
        let result = super::execute_with_stats(snapshot, &s.plan, opts, stats)?;
        return Ok(Outcome::Rows(Batch::concat(result.batches)));
    }
    let t = s.data_type;
    let e = super::subquery::value_of(snapshot, s, opts, stats)?;
    let v = vector::eval(&e, &[], 1)?.value(0, t);
    Ok(Outcome::Value(v))
}
