//! `information_schema.tables` and `information_schema.columns`: the catalog as
//! rows (a subset of DuckDB's columns, same names and types), built from the
//! snapshot the query reads.

use sqlparser::ast;
use sqlparser::ast::Spanned;

use super::Binder;
use crate::column::{Batch, Column, ColumnData, Value};
use crate::error::Result;
use crate::exec::vector::push_value;
use crate::plan::LogicalPlan;
use crate::schema::DataType;

/// The catalog name logdb reports (DuckDB: the database's name).
pub(super) const CATALOG: &str = "logdb";
/// The one schema (DuckDB's default).
const SCHEMA: &str = "main";

impl Binder<'_> {
    /// The rows of `information_schema.<view>`; `None` when `name` is not such a
    /// view.
    pub(super) fn information_schema(&self, name: &ast::ObjectName) -> Option<Result<LogicalPlan>> {
        let [schema, view] = name.0.as_slice() else {
            return None;
        };
        let (Some(schema), Some(view)) = (schema.as_ident(), view.as_ident()) else {
            return None;
        };
        if !schema.value.eq_ignore_ascii_case("information_schema") {
            return None;
        }
        let tables = &self.snapshot.manifest().tables;
        let text = |s: &str| Value::Str(s.into());
        let (columns, rows): (Vec<(&str, DataType)>, Vec<Vec<Value>>) =
            match view.value.to_ascii_lowercase().as_str() {
                "tables" => (
                    vec![
                        ("table_catalog", DataType::Varchar),
                        ("table_schema", DataType::Varchar),
                        ("table_name", DataType::Varchar),
                        ("table_type", DataType::Varchar),
                        ("is_insertable_into", DataType::Varchar),
                        ("is_typed", DataType::Varchar),
                    ],
                    (tables.keys().map(|t| (t, "BASE TABLE", "YES")))
                        .chain((self.snapshot.manifest().views.keys()).map(|v| (v, "VIEW", "NO")))
                        .map(|(t, kind, insertable)| {
                            vec![
                                text(CATALOG),
                                text(SCHEMA),
                                text(t),
                                text(kind),
                                text(insertable),
                                text("NO"),
                            ]
                        })
                        .collect(),
                ),
                "columns" => (
                    vec![
                        ("table_catalog", DataType::Varchar),
                        ("table_schema", DataType::Varchar),
                        ("table_name", DataType::Varchar),
                        ("column_name", DataType::Varchar),
                        ("ordinal_position", DataType::Integer),
                        ("column_default", DataType::Varchar),
                        ("is_nullable", DataType::Varchar),
                        ("data_type", DataType::Varchar),
                        ("numeric_precision", DataType::Integer),
                        ("numeric_precision_radix", DataType::Integer),
                        ("numeric_scale", DataType::Integer),
                    ],
                    tables
                        .iter()
                        .flat_map(|(t, entry)| {
                            entry.schema.fields.iter().enumerate().map(move |(i, f)| {
                                // DuckDB: bits of precision for integers, 53 for DOUBLE.
                                let precision = match f.data_type {
                                    DataType::TinyInt | DataType::UTinyInt => Some(8),
                                    DataType::SmallInt | DataType::USmallInt => Some(16),
                                    DataType::UInteger => Some(32),
                                    DataType::UBigInt => Some(64),
                                    DataType::HugeInt | DataType::UHugeInt => Some(128),
                                    DataType::Integer => Some(32),
                                    DataType::BigInt => Some(64),
                                    DataType::Double => Some(53),
                                    _ => None,
                                };
                                let int = |v: Option<i64>| v.map_or(Value::Null, Value::Int);
                                let scale = match f.data_type {
                                    DataType::Double => None,
                                    _ => precision.map(|_| 0),
                                };
                                vec![
                                    text(CATALOG),
                                    text(SCHEMA),
                                    text(t),
                                    text(&f.name),
                                    Value::Int(i as i64 + 1),
                                    Value::Null,
                                    text(if f.nullable { "YES" } else { "NO" }),
                                    text(&f.data_type.name()),
                                    int(precision),
                                    int(precision.map(|_| 2)),
                                    int(scale),
                                ]
                            })
                        })
                        .collect(),
                ),
                _ => {
                    return Some(Err(self.unsupported(
                        name.span(),
                        format!(
                            "information_schema.{}; there are information_schema.tables and \
                             information_schema.columns",
                            view.value
                        ),
                    )))
                }
            };
        let mut cols: Vec<Column> = columns
            .iter()
            .map(|(_, t)| Column::new(ColumnData::empty(t.physical())))
            .collect();
        for row in &rows {
            for (c, v) in cols.iter_mut().zip(row) {
                push_value(c, v);
            }
        }
        let batches = if rows.is_empty() {
            Vec::new()
        } else {
            vec![Batch { columns: cols }]
        };
        Some(Ok(LogicalPlan::Values {
            columns: columns
                .into_iter()
                .map(|(n, t)| (n.to_string(), t))
                .collect(),
            batches,
        }))
    }
}
