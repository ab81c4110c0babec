//! Rows of declared columns (`read_csv(..., columns := {'a': 'BIGINT', ...})`): the
//! fields of a line fill the columns by position, and each value is cast to its
//! column's type as SQL's `CAST(text AS type)` casts text ([`parse_str`]), which is
//! what DuckDB's csv reader does with types the user set. Nothing is inferred,
//! renamed or mapped to canonical columns; there is no time column.
//!
//! An empty (NULL) field is NULL; `""` is the empty string in a VARCHAR column and
//! NULL in the others (as for inferred csv columns). A value that does not convert
//! rejects its line: `column 'a': 'x' is not a BIGINT`.

use super::fields::Val;
use super::lex;
use crate::column::{BatchBuilder, Value};
use crate::error::Result;
use crate::schema::{DataType, Field, TableSchema};
use crate::value::parse_str;

pub(crate) struct Declared {
    schema: TableSchema,
    types: Vec<DataType>,
    /// The converted values of the line being appended (reused).
    outs: Vec<Value>,
}

impl Declared {
    pub(crate) fn new(columns: &[(String, DataType)]) -> Result<Declared> {
        let schema = TableSchema::new(
            columns
                .iter()
                .map(|(n, t)| Field::new(n.clone(), *t))
                .collect(),
        );
        schema.validate()?;
        Ok(Declared {
            types: columns.iter().map(|c| c.1).collect(),
            outs: vec![Value::Null; columns.len()],
            schema,
        })
    }

    pub(crate) fn schema(&self) -> &TableSchema {
        &self.schema
    }

    /// Converts field `i`'s value, or says why it does not fit.
    fn convert(&self, i: usize, v: Val, line: &str, scratch: &str) -> Result<Value, String> {
        let text = match v {
            Val::Str(src) => src.text(line, scratch),
            _ => return Ok(Value::Null),
        };
        let ty = self.types[i];
        if ty == DataType::Varchar {
            // Appended from the text directly.
            return Ok(Value::Null);
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        parse_str(text, ty).map_err(|_| {
            let article = if ty.name().starts_with(['A', 'E', 'I', 'O', 'U']) {
                "an"
            } else {
                "a"
            };
            format!(
                "column '{}': '{}' is not {article} {ty}",
                self.schema.fields[i].name,
                lex::snippet(text)
            )
        })
    }

    /// Whether every value of a line converts, and whether none is NULL or empty
    /// (the header sniff: see `csv.rs`). As in DuckDB's sniff, a DATE value must
    /// be a date alone here (`2024-05-01 10:00:00` converts, but does not fit).
    pub(crate) fn fits(&self, vals: &[Val], line: &str, scratch: &str) -> (bool, bool) {
        let converts = vals.iter().enumerate().all(|(i, &v)| {
            let date_alone = match v {
                Val::Str(src) if self.types[i] == DataType::Date => {
                    !src.text(line, scratch).trim().contains([' ', 'T'])
                }
                _ => true,
            };
            date_alone && self.convert(i, v, line, scratch).is_ok()
        });
        let no_nulls = vals.iter().all(|v| match v {
            Val::Str(src) => src.start < src.end,
            _ => false,
        });
        (converts, no_nulls)
    }

    /// Whether every column is VARCHAR.
    pub(crate) fn all_varchar(&self) -> bool {
        self.types.iter().all(|&t| t == DataType::Varchar)
    }

    /// Converts the values of one line and appends them as a row, or returns why
    /// the line cannot be stored (appending nothing).
    pub(crate) fn append(
        &mut self,
        vals: &[Val],
        line: &str,
        scratch: &str,
        out: &mut BatchBuilder,
    ) -> Result<(), String> {
        for (i, &v) in vals.iter().enumerate() {
            self.outs[i] = self.convert(i, v, line, scratch)?;
        }
        for (i, (&v, o)) in vals.iter().zip(&self.outs).enumerate() {
            match (self.types[i], v, o) {
                (DataType::Varchar, Val::Str(src), _) => out.push_str(i, src.text(line, scratch)),
                (_, _, Value::Int(x)) => out.push_i64(i, *x),
                (_, _, Value::Float(x)) => out.push_f64(i, *x),
                (_, _, Value::Bool(x)) => out.push_bool(i, *x),
                (_, _, Value::Ip(x)) => out.push_ip(i, *x),
                _ => out.push_null(i),
            }
        }
        Ok(())
    }
}
