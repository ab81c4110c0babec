//! Scan hints derived from the WHERE clause: the time range that prunes partitions
//! and segments, and the simple predicates that skip blocks by their zone maps.
//!
//! Both are conservative: the filter itself is always kept and re-evaluated, so a
//! hint only has to never exclude a row the filter would keep.

use super::plan::{BinaryOp, Expr, ZonePredicate};
use crate::column::Value;
use crate::schema::TableSchema;

/// Splits `e` into its top-level AND conjuncts.
pub fn conjuncts(e: &Expr) -> Vec<&Expr> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        match x {
            Expr::Binary {
                op: BinaryOp::And,
                left,
                right,
                ..
            } => {
                stack.push(right);
                stack.push(left);
            }
            other => out.push(other),
        }
    }
    out
}

/// `column <op> literal` (either order) with a non-NULL literal, normalized so the
/// column is on the left.
fn column_vs_literal(e: &Expr) -> Option<(usize, BinaryOp, &Value)> {
    let Expr::Binary {
        op, left, right, ..
    } = e
    else {
        return None;
    };
    if !op.is_comparison() {
        return None;
    }
    match (left.as_ref(), right.as_ref()) {
        (Expr::Column { index, .. }, Expr::Literal { value, .. }) if *value != Value::Null => {
            Some((*index, *op, value))
        }
        (Expr::Literal { value, .. }, Expr::Column { index, .. }) if *value != Value::Null => {
            Some((*index, op.flip(), value))
        }
        _ => None,
    }
}

/// The time range `[start, end)` and the zone-map predicates implied by `predicate`
/// (bound against the table's columns).
pub fn scan_hints(
    predicate: &Expr,
    schema: &TableSchema,
) -> (Option<(i64, i64)>, Vec<ZonePredicate>) {
    let time_col = schema.time_index();
    let (mut lo, mut hi) = (i64::MIN, i64::MAX);
    let mut has_range = false;
    let mut zone = Vec::new();
    for c in conjuncts(predicate) {
        let Some((col, op, value)) = column_vs_literal(c) else {
            continue;
        };
        if Some(col) == time_col {
            if let Value::Int(v) = *value {
                let before = (lo, hi);
                match op {
                    BinaryOp::GtEq => lo = lo.max(v),
                    BinaryOp::Gt => lo = lo.max(v.saturating_add(1)),
                    BinaryOp::Lt => hi = hi.min(v),
                    BinaryOp::LtEq => hi = hi.min(v.saturating_add(1)),
                    BinaryOp::Eq => {
                        lo = lo.max(v);
                        hi = hi.min(v.saturating_add(1));
                    }
                    _ => {}
                }
                has_range |= (lo, hi) != before || op != BinaryOp::NotEq;
            }
        }
        if op != BinaryOp::NotEq {
            zone.push(ZonePredicate {
                column: col,
                op,
                value: value.clone(),
            });
        }
    }
    let range = if has_range {
        // An empty range is kept as is: it prunes everything.
        Some((lo, hi.max(lo)))
    } else {
        None
    };
    (range, zone)
}

/// A WHERE conjunct the scan can answer from a column's bitmap index: the rows it
/// keeps are exactly the union of some keys' bitmaps (NULLs are in no bitmap, and
/// a comparison with a non-NULL literal is never TRUE for NULL).
#[derive(Clone, Debug, PartialEq)]
pub enum IndexPredicate {
    /// `column IN (values)`; `column = value` is a one-value list.
    In { column: usize, values: Vec<Value> },
    /// `column <op> value` with `op` one of `<`, `<=`, `>`, `>=`.
    Range {
        column: usize,
        op: BinaryOp,
        value: Value,
    },
}

impl IndexPredicate {
    /// The table column the predicate is on.
    pub fn column(&self) -> usize {
        match self {
            IndexPredicate::In { column, .. } | IndexPredicate::Range { column, .. } => *column,
        }
    }

    /// The predicate as SQL-like text, with the column named from `schema`.
    pub fn display(&self, schema: &TableSchema) -> String {
        let name = schema
            .fields
            .get(self.column())
            .map_or("?", |f| f.name.as_str());
        let lit = |v: &Value| match v {
            Value::Str(s) => format!("'{s}'"),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            other => format!("{other:?}"),
        };
        match self {
            IndexPredicate::In { values, .. } if values.len() == 1 => {
                format!("{name} = {}", lit(&values[0]))
            }
            IndexPredicate::In { values, .. } => {
                let v: Vec<String> = values.iter().map(lit).collect();
                format!("{name} IN ({})", v.join(", "))
            }
            IndexPredicate::Range { op, value, .. } => {
                format!("{name} {} {}", op.symbol(), lit(value))
            }
        }
    }
}

/// How the scan can use one WHERE conjunct.
#[derive(Clone, Debug, PartialEq)]
pub enum ConjunctUse {
    /// Answered exactly by a bitmap index.
    Index(IndexPredicate),
    /// A comparison of the time column with a literal: exact for segments that lie
    /// wholly inside the scan's time range.
    Time,
    /// Needs the column data.
    Other,
}

/// Whether `e` is a column reference, seen through casts between integer types
/// (lossless widening), returning the scan column position.
fn plain_column(e: &Expr) -> Option<(usize, crate::schema::DataType)> {
    match e {
        Expr::Column {
            index, data_type, ..
        } => Some((*index, *data_type)),
        Expr::Cast { expr, to } if is_integer(*to) => {
            plain_column(expr).filter(|(_, t)| is_integer(*t))
        }
        _ => None,
    }
}

fn is_integer(t: crate::schema::DataType) -> bool {
    use crate::schema::DataType;
    matches!(t, DataType::BigInt | DataType::Integer | DataType::SmallInt)
}

/// An index key value for a column of type `t`, or `None` if `v` cannot be one.
fn key_value(v: &Value, t: crate::schema::DataType) -> Option<Value> {
    use crate::schema::DataType;
    match (v, t) {
        (Value::Str(_), DataType::Varchar) => Some(v.clone()),
        (Value::Int(_), t) if is_integer(t) => Some(v.clone()),
        (Value::Bool(_), DataType::Boolean) => Some(v.clone()),
        _ => None,
    }
}

/// Classifies one conjunct of a scan's filter. `columns` maps scan column positions
/// (what the filter references) to table positions.
pub fn classify_conjunct(e: &Expr, columns: &[usize], schema: &TableSchema) -> ConjunctUse {
    let indexed = |pos: usize| {
        columns
            .get(pos)
            .copied()
            .filter(|&c| schema.is_indexed(c))
            .map(|c| (c, schema.fields[c].data_type))
    };
    match e {
        Expr::Binary {
            op, left, right, ..
        } if op.is_comparison() && *op != BinaryOp::NotEq => {
            let (col, op, lit) = match (left.as_ref(), right.as_ref()) {
                (l, Expr::Literal { value, .. }) => (plain_column(l), *op, value),
                (Expr::Literal { value, .. }, r) => (plain_column(r), op.flip(), value),
                _ => return ConjunctUse::Other,
            };
            let Some((pos, _)) = col else {
                return ConjunctUse::Other;
            };
            let table_col = columns.get(pos).copied();
            if table_col.is_some()
                && table_col == schema.time_index()
                && matches!(lit, Value::Int(_))
                && matches!(left.as_ref(), Expr::Column { .. } | Expr::Literal { .. })
                && matches!(right.as_ref(), Expr::Column { .. } | Expr::Literal { .. })
            {
                return ConjunctUse::Time;
            }
            let Some((c, t)) = indexed(pos) else {
                return ConjunctUse::Other;
            };
            let Some(value) = key_value(lit, t) else {
                return ConjunctUse::Other;
            };
            if op == BinaryOp::Eq {
                ConjunctUse::Index(IndexPredicate::In {
                    column: c,
                    values: vec![value],
                })
            } else if t == crate::schema::DataType::Boolean {
                ConjunctUse::Other
            } else {
                ConjunctUse::Index(IndexPredicate::Range {
                    column: c,
                    op,
                    value,
                })
            }
        }
        Expr::InList {
            expr,
            list,
            negated: false,
        } => {
            let Some((c, t)) = plain_column(expr).and_then(|(pos, _)| indexed(pos)) else {
                return ConjunctUse::Other;
            };
            let mut values = Vec::with_capacity(list.len());
            for item in list {
                match item {
                    // `x IN (.., NULL)` is never TRUE because of the NULL.
                    Expr::Literal {
                        value: Value::Null, ..
                    } => {}
                    Expr::Literal { value, .. } => match key_value(value, t) {
                        Some(v) => values.push(v),
                        None => return ConjunctUse::Other,
                    },
                    _ => return ConjunctUse::Other,
                }
            }
            ConjunctUse::Index(IndexPredicate::In { column: c, values })
        }
        _ => ConjunctUse::Other,
    }
}
