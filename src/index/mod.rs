//! Index access for scans, below the planner and the executor: which rows of a
//! segment a predicate can keep, decided from the segment's bitmap indexes
//! ([`bitmap`]) and its per-block zone maps ([`zone`]) before any column data is
//! read. Predicates here are plain `column <cmp> value` facts with their own
//! comparison type; nothing in this module knows SQL or plans.

pub mod bitmap;
pub mod stats;
pub mod zone;

use crate::column::Value;
use crate::schema::TableSchema;

/// The comparisons an index or a zone map can answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmp {
    Eq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl Cmp {
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Lt => "<",
            Cmp::LtEq => "<=",
            Cmp::Gt => ">",
            Cmp::GtEq => ">=",
        }
    }
}

/// A predicate a scan can answer from a column's bitmap index: the rows it keeps
/// are exactly the union of some keys' bitmaps (NULLs are in no bitmap, and a
/// comparison with a non-NULL literal is never TRUE for NULL).
#[derive(Clone, Debug, PartialEq)]
pub enum IndexPredicate {
    /// `column IN (values)`; `column = value` is a one-value list.
    In { column: usize, values: Vec<Value> },
    /// `column <cmp> value` with `cmp` one of `<`, `<=`, `>`, `>=`.
    Range {
        column: usize,
        cmp: Cmp,
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
            IndexPredicate::Range { cmp, value, .. } => {
                format!("{name} {} {}", cmp.symbol(), lit(value))
            }
        }
    }
}

/// A simple `column <cmp> literal` predicate a scan uses to skip blocks by their
/// zone maps (min/max). It is always also evaluated as a filter.
#[derive(Clone, Debug, PartialEq)]
pub struct ZonePredicate {
    /// Table column position.
    pub column: usize,
    pub cmp: Cmp,
    pub value: Value,
}

/// A conjunct a file reader tests against a column's min/max statistics to skip
/// a range of rows that cannot hold a match (a Parquet row group). It is never
/// TRUE for NULL, and it is always also evaluated as a filter.
#[derive(Clone, Debug, PartialEq)]
pub enum StatsPredicate {
    /// `column <cmp> value`.
    Cmp {
        column: usize,
        cmp: Cmp,
        value: Value,
    },
    /// `column IN (values)`, none of them NULL.
    In { column: usize, values: Vec<Value> },
}

impl StatsPredicate {
    /// The column the predicate is on.
    pub fn column(&self) -> usize {
        match self {
            StatsPredicate::Cmp { column, .. } | StatsPredicate::In { column, .. } => *column,
        }
    }
}
