//! Arrow and Parquet into tables: [`append_record_batch`] (the Rust API's
//! RecordBatch in) and [`import_parquet`] (`logdb import --format parquet`).
//!
//! Columns are matched by name. A table column the input lacks is NULL; an
//! input column the table lacks is an error naming it. Values convert as
//! `convert.rs` reads them, and text into an IP column is parsed (an export's
//! `client_ip` comes back as an IP). Rows whose time column is NULL cannot be
//! stored in a log table: they are rejected and counted, so that rows read =
//! rows stored + rows rejected holds as for log lines.

use std::path::{Path, PathBuf};

use crate::arrow::convert::from_array;
use crate::arrow::{ParquetFile, RecordBatch};
use crate::column::{Batch, Column, ColumnData};
use crate::db::{AppendStats, Db};
use crate::error::{Error, Result};
use crate::import::{table_name_from, ImportObserver, ImportStats};
use crate::schema::{DataType, Field, TableSchema};

/// Rows gathered before a commit.
const COMMIT_ROWS: usize = 1 << 20;

/// Appends the rows of `batch` to `table` in one commit (columns matched by
/// name; see the module documentation). Rows with a NULL time are an error
/// here: a caller of the API decides what to do with them.
pub fn append_record_batch(db: &Db, table: &str, batch: &RecordBatch) -> Result<AppendStats> {
    let schema = db.snapshot()?.table(table)?.schema.clone();
    let (batch, rejected) = to_table_batch(&schema, batch, &|c| format!("column '{c}'"))?;
    if rejected > 0 {
        let tc = schema.time_column.as_deref().unwrap_or("?");
        return Err(Error::InvalidInput(format!(
            "{rejected} rows have a NULL {tc}, the table's time column"
        )));
    }
    db.append(table, &batch)
}

/// `batch` as a batch of `schema`'s columns, without the rows whose time column
/// is NULL (their count is returned). `what` names a column in errors.
fn to_table_batch(
    schema: &TableSchema,
    batch: &RecordBatch,
    what: &dyn Fn(&str) -> String,
) -> Result<(Batch, u64)> {
    let rb_schema = batch.schema();
    for f in rb_schema.fields() {
        if schema.index_of(f.name()).is_none() {
            return Err(Error::InvalidInput(format!(
                "{}: the table has no such column (its columns: {})",
                what(f.name()),
                schema
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let n = batch.num_rows();
    let mut columns = Vec::with_capacity(schema.fields.len());
    for field in &schema.fields {
        let col = match rb_schema.index_of(&field.name) {
            Ok(i) => from_array(batch.column(i).as_ref(), field.data_type).map_err(|e| {
                Error::InvalidInput(format!(
                    "{}: {e} (the table's column is {})",
                    what(&field.name),
                    field.data_type
                ))
            })?,
            Err(_) => null_column(field.data_type, n),
        };
        columns.push(col);
    }
    let mut out = Batch { columns };
    let mut rejected = 0;
    if let Some(t) = schema.time_index() {
        if out.columns[t].null_count() > 0 {
            let keep: Vec<u32> = (0..n as u32)
                .filter(|&r| out.columns[t].is_valid(r as usize))
                .collect();
            rejected = (n - keep.len()) as u64;
            out = out.take(&keep);
            out.columns[t].validity = None;
        }
    }
    out.validate(schema)?;
    Ok((out, rejected))
}

fn null_column(ty: DataType, n: usize) -> Column {
    let mut data = ColumnData::with_capacity(ty.physical(), n);
    for _ in 0..n {
        data.push_default();
    }
    Column {
        data,
        validity: Some(crate::column::Bitmap::new(n, false)),
    }
}

/// The schema a new table gets for a Parquet file's columns: a log table's
/// (time column `ts`, the log indexes) when the columns are the canonical
/// access-log columns (IP as text included: an export of a log table), else a
/// records table with the first TIMESTAMP column as its time column.
fn new_table_schema(columns: &[(String, DataType)]) -> TableSchema {
    let canonical = crate::ingest::CANONICAL_COLUMNS;
    let is_log = columns.len() >= canonical.len()
        && canonical.iter().zip(columns).all(|(&(n, t), (cn, ct))| {
            n == cn && (t == *ct || (t == DataType::Ip && *ct == DataType::Varchar))
        });
    if is_log {
        let extra = columns[canonical.len()..]
            .iter()
            .map(|(n, t)| Field::new(n, *t))
            .collect();
        return crate::ingest::log_schema(extra);
    }
    let time = columns
        .iter()
        .find(|(_, t)| *t == DataType::Timestamp)
        .map(|(n, _)| n.clone());
    let fields = columns
        .iter()
        .map(|(n, t)| {
            if Some(n) == time.as_ref() {
                Field::not_null(n, *t)
            } else {
                Field::new(n, *t)
            }
        })
        .collect();
    let schema = TableSchema::new(fields);
    match time {
        Some(t) => schema.with_time_column(t),
        None => schema,
    }
}

/// Imports Parquet `files` into `table` (`None`: `logs` for an access-log
/// export, else a table named after the first file), creating it if needed.
pub fn import_parquet(
    db: &Db,
    files: &[PathBuf],
    table: Option<&str>,
    observer: &mut dyn ImportObserver,
) -> Result<ImportStats> {
    let Some(first) = files.first() else {
        return Err(Error::InvalidInput("import: no Parquet files given".into()));
    };
    let opened = ParquetFile::open(first)?;
    let fresh = new_table_schema(opened.columns());
    let table = match table {
        Some(t) => t.to_string(),
        None if crate::ingest::is_log_schema(&fresh) => "logs".to_string(),
        None => {
            let name =
                table_name_from(&first.to_string_lossy()).unwrap_or_else(|| "parquet".into());
            observer.note(&format!(
                "table: {name} (named after the input; choose one with --table)"
            ));
            name
        }
    };
    let snapshot = db.snapshot()?;
    let schema = match snapshot.table(&table) {
        Ok(e) => e.schema.clone(),
        Err(Error::NotFound(_)) => {
            db.create_table(&table, fresh.clone())?;
            fresh
        }
        Err(e) => return Err(e),
    };
    let mut stats = ImportStats {
        format: "parquet".into(),
        table: table.clone(),
        ..Default::default()
    };
    let mut pending: Vec<Batch> = Vec::new();
    for path in files {
        let file = if path == first {
            opened.clone()
        } else {
            ParquetFile::open(path)?
        };
        stats.files += 1;
        stats.bytes_read += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut row = 0u64;
        for rg in 0..file.row_groups() {
            for rb in file.record_batches(rg)? {
                let rb = rb?;
                let what = |c: &str| format!("{}: column '{c}'", path.display());
                let (batch, rejected) = to_table_batch(&schema, &rb, &what)?;
                if rejected > 0 {
                    let tc = schema.time_column.as_deref().unwrap_or("?");
                    observer.reject(
                        &path.display().to_string(),
                        row + 1,
                        &format!("NULL {tc} in {rejected} rows of this batch"),
                        b"",
                    );
                }
                row += rb.num_rows() as u64;
                stats.lines += rb.num_rows() as u64;
                stats.rejected += rejected;
                pending.push(batch);
                if pending.iter().map(Batch::num_rows).sum::<usize>() >= COMMIT_ROWS {
                    commit(db, &table, &mut pending, &mut stats, observer)?;
                }
            }
        }
        observer.progress(&stats, None);
    }
    commit(db, &table, &mut pending, &mut stats, observer)?;
    Ok(stats)
}

fn commit(
    db: &Db,
    table: &str,
    pending: &mut Vec<Batch>,
    stats: &mut ImportStats,
    observer: &mut dyn ImportObserver,
) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let batch = Batch::concat(std::mem::take(pending));
    db.append(table, &batch)?;
    stats.rows += batch.num_rows() as u64;
    stats.commits += 1;
    observer.committed(stats);
    Ok(())
}

/// Whether `path` names a Parquet file by its extension.
pub fn is_parquet_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}
