//! The `TableFunction` operator: a table function of FROM (`range`,
//! `generate_series`, the file readers of `read_files.rs`) producing its rows batch by batch while the query runs, so
//! that `count(*) FROM range(100000000)` never holds more than one batch and a
//! LIMIT stops it early.
//!
//! Each function is a [`BatchSource`] opened from its [`TableFunc`]; a file reader
//! (`read_csv`, `read_log`) is one more source: a variant of `TableFunc` and an
//! `open` arm here.

use super::read_files::FileSource;
use super::ExecOptions;
use crate::column::{Batch, Column, ColumnData};
use crate::error::{Error, Result};
use crate::plan::{Expr, Series, TableFunc};

/// The most rows a table function puts in one batch.
pub const BATCH_ROWS: usize = 64 * 1024;

/// Where a table function's rows come from: its batches, in order, each with the
/// columns of the function's schema.
pub trait BatchSource: Send {
    /// The next batch of at most `max_rows` rows (`max_rows > 0`), or `None` once
    /// the function has no more rows.
    fn next_batch(&mut self, max_rows: usize) -> Result<Option<Batch>>;
}

/// The source of `func`'s rows passing `filters` (the filter nodes over it,
/// outermost first; only a Parquet read takes any).
pub fn open(
    func: &TableFunc,
    filters: &[&Expr],
    opts: &ExecOptions,
) -> Result<Box<dyn BatchSource>> {
    let parquet = matches!(func, TableFunc::ReadFile(r) if r.format == "parquet");
    if !filters.is_empty() && !parquet {
        return Err(Error::Internal(format!(
            "{} cannot filter its rows",
            func.name()
        )));
    }
    Ok(match func {
        TableFunc::ReadFile(r) => {
            if !opts.allow_file_read {
                return Err(file_read_refused(r.function));
            }
            if r.format == "parquet" {
                #[cfg(feature = "arrow")]
                return Ok(Box::new(super::read_parquet::ParquetSource::open(
                    r, filters, opts,
                )?));
                #[cfg(not(feature = "arrow"))]
                return Err(Error::InvalidInput(
                    "this logdb was built without the `arrow` feature: Parquet cannot be read"
                        .into(),
                ));
            }
            Box::new(FileSource::open(r, opts)?)
        }
        TableFunc::Series(s) => Box::new(SeriesSource {
            len: s.len(),
            series: s.clone(),
            next: 0,
        }),
    })
}

/// Runs `func` (its rows passing `filters`), handing its batches to `emit` one by one and stopping once
/// `row_budget` rows are out (a LIMIT above); the cancel flag is checked before
/// each batch.
pub fn run(
    func: &TableFunc,
    filters: &[&Expr],
    opts: &ExecOptions,
    row_budget: Option<usize>,
    emit: &mut dyn FnMut(Batch) -> Result<()>,
) -> Result<()> {
    let mut left = row_budget.unwrap_or(usize::MAX);
    run_until(func, filters, opts, &mut |batch| {
        left = left.saturating_sub(batch.num_rows());
        emit(batch)?;
        Ok(left)
    })
}

/// Runs `func`, handing its batches to `emit`, which answers how many more rows
/// it wants: 0 stops the function (its source is dropped, so a file reader stops
/// reading). The cancel flag is checked before each batch.
pub fn run_until(
    func: &TableFunc,
    filters: &[&Expr],
    opts: &ExecOptions,
    emit: &mut dyn FnMut(Batch) -> Result<usize>,
) -> Result<()> {
    let mut source = open(func, filters, opts)?;
    let mut left = usize::MAX;
    while left > 0 {
        opts.check_cancel()?;
        let Some(batch) = source.next_batch(left.min(BATCH_ROWS))? else {
            break;
        };
        left = emit(batch)?;
    }
    Ok(())
}

/// The error when reading files is off ([`ExecOptions::allow_file_read`]).
pub fn file_read_refused(function: &str) -> Error {
    Error::InvalidInput(format!(
        "{function}: reading files is disabled here (logdb serve allows it only when \
         started with --allow-file-read)"
    ))
}

/// `range` / `generate_series`: value `k` is `start + k * step`.
struct SeriesSource {
    series: Series,
    len: u64,
    /// The index of the next value.
    next: u64,
}

impl BatchSource for SeriesSource {
    fn next_batch(&mut self, max_rows: usize) -> Result<Option<Batch>> {
        let n = (self.len - self.next).min(max_rows as u64);
        if n == 0 {
            return Ok(None);
        }
        let (first, step) = (self.series.value(self.next), self.series.step);
        // Consecutive values differ by `step`; wrapping adds stay exact because
        // every value of the series fits in an i64.
        let mut values = Vec::with_capacity(n as usize);
        let mut v = first;
        for _ in 0..n {
            values.push(v);
            v = v.wrapping_add(step);
        }
        self.next += n;
        Ok(Some(Batch {
            columns: vec![Column::new(ColumnData::Int64(values))],
        }))
    }
}
