//! The results of statements other than queries, shaped as DuckDB returns them: a
//! `Count` of rows for INSERT, DELETE and CREATE TABLE, a `Success` column for DROP,
//! ALTER, SET and RESET, and VARCHAR tables for SHOW TABLES and DESCRIBE.

use crate::column::{Batch, Column, ColumnData, Value};
use crate::exec::vector::push_value;
use crate::exec::QueryResult;
use crate::schema::DataType;

fn int_column(values: &[i64]) -> Column {
    Column::new(ColumnData::Int64(values.to_vec()))
}

/// DuckDB's result for INSERT and DELETE: one BIGINT column `Count`.
pub(super) fn count_result(n: u64) -> QueryResult {
    QueryResult {
        columns: vec![("Count".into(), DataType::BigInt)],
        batches: vec![Batch {
            columns: vec![int_column(&[n.min(i64::MAX as u64) as i64])],
        }],
    }
}

/// DuckDB's result for CREATE TABLE: a `Count` column and no rows.
pub(super) fn empty_count() -> QueryResult {
    QueryResult {
        columns: vec![("Count".into(), DataType::BigInt)],
        batches: Vec::new(),
    }
}

/// DuckDB's result for DROP, ALTER, SET and RESET: a `Success` column and no rows.
pub(super) fn success() -> QueryResult {
    QueryResult {
        columns: vec![("Success".into(), DataType::Boolean)],
        batches: Vec::new(),
    }
}

/// A result of VARCHAR columns (NULL where a cell is `None`).
pub(super) fn text_result(names: &[&str], rows: &[Vec<Option<String>>]) -> QueryResult {
    let mut columns: Vec<Column> = names
        .iter()
        .map(|_| Column::new(ColumnData::empty(DataType::Varchar.physical())))
        .collect();
    for row in rows {
        for (c, cell) in columns.iter_mut().zip(row) {
            match cell {
                Some(s) => push_value(c, &Value::Str(s.as_str().into())),
                None => push_value(c, &Value::Null),
            }
        }
    }
    QueryResult {
        columns: names
            .iter()
            .map(|n| (n.to_string(), DataType::Varchar))
            .collect(),
        batches: vec![Batch { columns }],
    }
}
