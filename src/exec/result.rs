//! The result of a query ([`QueryResult`]: typed columns, batches, a text table) and
//! typed access to it: rows with typed getters and whole columns.
//!
//! ```no_run
//! # use logdb::Db;
//! # let db = Db::open("/tmp/db")?;
//! let r = db.query("SELECT uid, count(*) AS n FROM logs GROUP BY uid")?;
//! for row in r.iter() {
//!     let uid: Option<&str> = row.get(0)?; // NULL -> None
//!     let n: i64 = row.get("n")?;
//!     println!("{uid:?} {n}");
//! }
//! let counts = r.column_by_name("n")?; // one Column across all batches
//! # Ok::<(), logdb::Error>(())
//! ```
//!
//! Getters never convert between types except widening integers (`SMALLINT` and
//! `INTEGER` read as `i64`, any integer as `f64`) and time types read as text:
//! reading a VARCHAR as `i64` is an error naming the column and both types.
//! TIMESTAMP reads as `String` (the text the shell prints, `2024-01-01 00:00:00`),
//! as `i64` microseconds since the epoch (UTC) and, with the `jiff` feature, as
//! `jiff::Timestamp` or `jiff::civil::DateTime` (UTC); IP reads as
//! [`std::net::IpAddr`] or `u128`.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::IpAddr;

use crate::column::{Batch, Column, ColumnData, Value};
use crate::error::{Error, Result};
use crate::schema::DataType;
use crate::value::format_value;

/// The result of a query: typed columns and the rows as batches.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    pub columns: Vec<(String, DataType)>,
    pub batches: Vec<Batch>,
}

impl QueryResult {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(Batch::num_rows).sum()
    }

    /// The Arrow schema of this result (types as spec/export.md gives them:
    /// TIMESTAMP as `Timestamp(Microsecond, "UTC")`, IP as text, ...).
    #[cfg(feature = "arrow")]
    pub fn arrow_schema(&self) -> crate::arrow::ArrowSchemaRef {
        crate::arrow::arrow_schema(&self.columns)
    }

    /// The rows as Arrow record batches, one per result batch.
    ///
    /// ```
    /// # fn main() -> logdb::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// let db = logdb::Db::open(dir.path())?;
    /// let result = db.query("SELECT 1 AS one, 'a' AS s")?;
    /// let batches = result.to_arrow()?;
    /// assert_eq!(batches[0].num_rows(), 1);
    /// assert_eq!(batches[0].schema().field(1).name(), "s");
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "arrow")]
    pub fn to_arrow(&self) -> Result<Vec<crate::arrow::RecordBatch>> {
        let schema = self.arrow_schema();
        let types: Vec<DataType> = self.columns.iter().map(|(_, t)| *t).collect();
        self.batches
            .iter()
            .map(|b| crate::arrow::to_record_batch(&schema, &types, b))
            .collect()
    }

    /// All rows as values (timestamps as `Value::Int` micros, IPs as `Value::Ip`).
    pub fn rows(&self) -> Vec<Vec<Value>> {
        let mut out = Vec::with_capacity(self.num_rows());
        for b in &self.batches {
            for r in 0..b.num_rows() {
                out.push(b.columns.iter().map(|c| c.value(r)).collect());
            }
        }
        out
    }

    /// All rows as text, the way DuckDB prints them (NULL as `NULL`).
    pub fn text_rows(&self) -> Vec<Vec<String>> {
        self.rows()
            .into_iter()
            .map(|r| {
                r.iter()
                    .zip(&self.columns)
                    .map(|(v, (_, t))| format_value(v, *t))
                    .collect()
            })
            .collect()
    }

    /// A plain-text table with a header line.
    pub fn to_table_string(&self) -> String {
        let rows = self.text_rows();
        let mut width: Vec<usize> = self
            .columns
            .iter()
            .map(|(n, _)| n.chars().count())
            .collect();
        for r in &rows {
            for (w, v) in width.iter_mut().zip(r) {
                *w = (*w).max(v.chars().count());
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
            let mut first = true;
            for (c, w) in cells.zip(&width) {
                if !first {
                    out.push_str(" | ");
                }
                first = false;
                let _ = write!(out, "{c:<w$}");
            }
            while out.ends_with(' ') {
                out.pop();
            }
            out.push('\n');
        };
        line(&mut out, &mut self.columns.iter().map(|(n, _)| n.as_str()));
        let sep: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
        line(&mut out, &mut sep.iter().map(String::as_str));
        for r in &rows {
            line(&mut out, &mut r.iter().map(String::as_str));
        }
        let _ = writeln!(out, "({} rows)", rows.len());
        out
    }
}

/// Names a result column: by position (`0`, `1`, ...) or by name (exact match
/// first, then case-insensitive, as in SQL).
pub trait ColumnIndex {
    fn column_index(&self, result: &QueryResult) -> Result<usize>;
}

impl ColumnIndex for usize {
    fn column_index(&self, result: &QueryResult) -> Result<usize> {
        if *self < result.columns.len() {
            Ok(*self)
        } else {
            Err(Error::InvalidInput(format!(
                "no column {} in the result: it has {} column{} ({})",
                self,
                result.columns.len(),
                if result.columns.len() == 1 { "" } else { "s" },
                column_names(result)
            )))
        }
    }
}

impl ColumnIndex for &str {
    fn column_index(&self, result: &QueryResult) -> Result<usize> {
        let cols = &result.columns;
        cols.iter()
            .position(|(n, _)| n == self)
            .or_else(|| cols.iter().position(|(n, _)| n.eq_ignore_ascii_case(self)))
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "no column '{self}' in the result; columns: {}",
                    column_names(result)
                ))
            })
    }
}

impl ColumnIndex for String {
    fn column_index(&self, result: &QueryResult) -> Result<usize> {
        self.as_str().column_index(result)
    }
}

fn column_names(result: &QueryResult) -> String {
    result
        .columns
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Rust type a result cell can be read as. `Option<T>` reads NULL as `None`;
/// the other types fail on NULL.
pub trait FromValue<'a>: Sized {
    /// Reads row `row` of `column`, whose SQL type is `t`. Called only for
    /// non-NULL cells, except for `Option<T>` and [`Value`].
    fn from_cell(column: &'a Column, row: usize, t: DataType) -> std::result::Result<Self, String>;

    /// Whether NULL reads as a value of this type (`Option<T>`, [`Value`]).
    fn accepts_null() -> bool {
        false
    }
}

fn mismatch<T>(t: DataType, want: &str) -> std::result::Result<T, String> {
    Err(format!("is {t} and cannot be read as {want}"))
}

impl<'a> FromValue<'a> for i64 {
    fn from_cell(c: &'a Column, row: usize, t: DataType) -> std::result::Result<Self, String> {
        match &c.data {
            ColumnData::Int64(v) if t.decimal().is_none() => Ok(v[row]),
            _ => mismatch(t, "i64"),
        }
    }
}

impl<'a> FromValue<'a> for i32 {
    fn from_cell(c: &'a Column, row: usize, t: DataType) -> std::result::Result<Self, String> {
        match (&c.data, t) {
            (ColumnData::Int64(v), DataType::Integer | DataType::SmallInt | DataType::BigInt) => {
                i32::try_from(v[row]).map_err(|_| format!("value {} does not fit in i32", v[row]))
            }
            _ => mismatch(t, "i32"),
        }
    }
}

impl<'a> FromValue<'a> for i16 {
    fn from_cell(c: &'a Column, row: usize, t: DataType) -> std::result::Result<Self, String> {
        match (&c.data, t) {
            (ColumnData::Int64(v), DataType::Integer | DataType::SmallInt | DataType::BigInt) => {
                i16::try_from(v[row]).map_err(|_| format!("value {} does not fit in i16", v[row]))
            }
            _ => mismatch(t, "i16"),
        }
    }
}

impl<'a> FromValue<'a> for u64 {
    fn from_cell(c: &'a Column, row: usize, t: DataType) -> std::result::Result<Self, String> {
        match (&c.data, t) {
            (ColumnData::Int64(v), DataType::Integer | DataType::SmallInt | DataType::BigInt) => {
                u64::try_from(v[row]).map_err(|_| format!("value {} is negative", v[row]))
            }
            _ => mismatch(t, "u64"),
        }
    }
}

impl<'a> FromValue<'a> for f64 {
    fn from_cell(c: &'a Column, row: usize, t: DataType) -> std::result::Result<Self, String> {
        match (&c.data, t) {
            (ColumnData::Float64(v), _) => Ok(v[row]),
            (ColumnData::Int64(v), DataType::Integer | DataType::SmallInt | DataType::BigInt) => {
                Ok(v[row] as f64)
            }
            (ColumnData::Int64(v), DataType::Decimal { scale, .. }) => {
                Ok(crate::decimal::to_f64(v[row], scale))
            }
            _ => mismatch(t, "f64"),
        }
    }
}

impl<'a> FromValue<'a> for bool {
    fn from_cell(c: &'a Column, row: usize, t: DataType) -> std::result::Result<Self, String> {
        match &c.data {
            ColumnData::Bool(v) => Ok(v[row]),
            _ => mismatch(t, "bool"),
        }
    }
}

impl<'a> FromValue<'a> for &'a str {
    fn from_cell(c: &'a Column, row: usize, t: DataType) -> std::result::Result<Self, String> {
        match &c.data {
            ColumnData::Utf8(v) => Ok(v.get(row)),
            _ => mismatch(t, "&str"),
        }
    }
}

impl<'a> FromValue<'a> for String {
    /// A VARCHAR, or a time type as the text the shell prints.
    fn from_cell(c: &'a Column, row: usize, t: DataType) -> std::result::Result<Self, String> {
        match &c.data {
            ColumnData::Utf8(v) => Ok(v.get(row).to_string()),
            _ => super::result_time::time_text(c, row, t).map_or_else(|| mismatch(t, "String"), Ok),
        }
    }
}

impl<'a> FromValue<'a> for u128 {
    fn from_cell(c: &'a Column, row: usize, t: DataType) -> std::result::Result<Self, String> {
        match &c.data {
            ColumnData::Ip(v) => Ok(v[row]),
            _ => mismatch(t, "u128 (an IP)"),
        }
    }
}

impl<'a> FromValue<'a> for IpAddr {
    fn from_cell(c: &'a Column, row: usize, t: DataType) -> std::result::Result<Self, String> {
        match &c.data {
            ColumnData::Ip(v) => Ok(crate::ip::from_u128(v[row])),
            _ => mismatch(t, "IpAddr"),
        }
    }
}

impl<'a> FromValue<'a> for Value {
    fn from_cell(c: &'a Column, row: usize, _: DataType) -> std::result::Result<Self, String> {
        Ok(c.value(row))
    }

    fn accepts_null() -> bool {
        true
    }
}

impl<'a, T: FromValue<'a>> FromValue<'a> for Option<T> {
    fn from_cell(c: &'a Column, row: usize, t: DataType) -> std::result::Result<Self, String> {
        if c.is_valid(row) {
            T::from_cell(c, row, t).map(Some)
        } else {
            Ok(None)
        }
    }

    fn accepts_null() -> bool {
        true
    }
}

/// One row of a [`QueryResult`].
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    result: &'a QueryResult,
    batch: &'a Batch,
    row: usize,
}

impl<'a> Row<'a> {
    /// The cell of column `idx` (a position or a name) as `T`; see [`FromValue`].
    pub fn get<T: FromValue<'a>>(&self, idx: impl ColumnIndex) -> Result<T> {
        let i = idx.column_index(self.result)?;
        let (name, t) = &self.result.columns[i];
        let column =
            self.batch.columns.get(i).ok_or_else(|| {
                Error::Internal(format!("result batch lacks column {i} ('{name}')"))
            })?;
        if !T::accepts_null() && !column.is_valid(self.row) {
            return Err(Error::InvalidInput(format!(
                "column '{name}' is NULL in this row; read it as Option<_>"
            )));
        }
        T::from_cell(column, self.row, *t)
            .map_err(|m| Error::InvalidInput(format!("column '{name}' {m}")))
    }

    /// The cell as a [`Value`] (timestamps as `Value::Int` micros).
    pub fn value(&self, idx: impl ColumnIndex) -> Result<Value> {
        self.get(idx)
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.result.columns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.result.columns.is_empty()
    }
}

/// The rows of a [`QueryResult`], batch after batch.
#[derive(Clone, Debug)]
pub struct Rows<'a> {
    result: &'a QueryResult,
    batch: usize,
    row: usize,
}

impl<'a> Iterator for Rows<'a> {
    type Item = Row<'a>;

    fn next(&mut self) -> Option<Row<'a>> {
        while let Some(b) = self.result.batches.get(self.batch) {
            if self.row < b.num_rows() {
                let row = Row {
                    result: self.result,
                    batch: b,
                    row: self.row,
                };
                self.row += 1;
                return Some(row);
            }
            self.batch += 1;
            self.row = 0;
        }
        None
    }
}

impl QueryResult {
    /// The rows, with typed getters ([`Row::get`]).
    pub fn iter(&self) -> Rows<'_> {
        Rows {
            result: self,
            batch: 0,
            row: 0,
        }
    }

    /// The position of a column by name (exact, then case-insensitive).
    pub fn column_index(&self, name: &str) -> Result<usize> {
        name.column_index(self)
    }

    /// The whole column `idx` (position or name) across all batches: borrowed when
    /// the result is one batch, concatenated otherwise.
    pub fn column(&self, idx: impl ColumnIndex) -> Result<Cow<'_, Column>> {
        let i = idx.column_index(self)?;
        let t = self.columns[i].1;
        let mut parts = self.batches.iter().filter_map(|b| b.columns.get(i));
        if self.batches.len() == 1 {
            if let Some(c) = parts.next() {
                return Ok(Cow::Borrowed(c));
            }
        }
        let mut out = Column::new(ColumnData::empty(t.physical()));
        for c in parts {
            out.append(c);
        }
        Ok(Cow::Owned(out))
    }

    /// [`QueryResult::column`] by name.
    pub fn column_by_name(&self, name: &str) -> Result<Cow<'_, Column>> {
        self.column(name)
    }
}

impl<'a> IntoIterator for &'a QueryResult {
    type Item = Row<'a>;
    type IntoIter = Rows<'a>;

    fn into_iter(self) -> Rows<'a> {
        self.iter()
    }
}
