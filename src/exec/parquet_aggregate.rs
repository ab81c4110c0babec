//! The ParquetAggregate operator: an aggregate over Parquet files read in
//! place (`Aggregate -> Filter* -> read_parquet`), run like the scan pipeline's
//! ScanAggregate. Row groups are morsels claimed in order by N worker threads;
//! each worker decodes its row group batch by batch, filters the batch and
//! folds it into its own hash aggregate; the per-thread tables are merged at the
//! end.
//!
//! The filter runs inside the reader (`parquet_rows.rs`): the columns the keys
//! and aggregates read are decoded only for the rows passing it.
//! Dictionary-encoded string chunks stay dictionaries (`VData::Dict`): group
//! keys, comparisons, IN lists and LIKE work on codes, once per dictionary
//! entry. A row group's integer statistics give the dense path of the group
//! map its key domains, as zone maps do for segments. Row groups that the
//! statistics rule out are never read (`read_parquet::row_groups`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::agg::AggState;
use super::group::{KeyLayout, SegmentDomains};
use super::hash_aggregate::update_aggregate;
use super::parquet_rows::{constants, row_groups, RowFilterPlan, RowGroups};
use super::pipeline::{run_workers, FirstError};
use super::scan::filter_block;
use super::vector::VData;
use super::{ExecOptions, ExecStats};
use crate::arrow::ParquetFile;
use crate::column::{Batch, StringVec, Value};
use crate::error::{Error, Result};
use crate::plan::{AggExpr, Expr, FileRead};
use crate::schema::DataType;

/// What a ParquetAggregate runs: the read, the filters above it (innermost
/// last), the group keys and the aggregates.
pub(super) struct ParquetAggregate<'a> {
    pub read: &'a FileRead,
    pub filters: &'a [&'a Expr],
    pub group: &'a [(Expr, String)],
    pub aggs: &'a [(AggExpr, String)],
}

/// Runs the aggregate; its result is one batch (keys, then aggregates).
pub(super) fn run(
    p: &ParquetAggregate<'_>,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<Vec<Batch>> {
    if !opts.allow_file_read {
        return Err(super::table_function::file_read_refused(p.read.function));
    }
    let RowGroups { files, tasks, .. } = row_groups(p.read)?;
    let filter = RowFilterPlan::for_aggregate(p.read, p.filters, p.group, p.aggs);
    let agg_exprs: Vec<AggExpr> = p.aggs.iter().map(|(a, _)| a.clone()).collect();
    let key_types: Vec<DataType> = p.group.iter().map(|(e, _)| e.data_type()).collect();
    let layout = KeyLayout::new(&key_types, &[]);
    let pool = stats.memory(opts.memory_limit);
    let new_state = || {
        AggState::new(
            layout.clone(),
            &agg_exprs,
            Some(pool.reservation("hash aggregate")),
        )
    };
    if let Some(progress) = &opts.progress {
        progress
            .segments_total
            .fetch_add(tasks.len() as u64, Ordering::Relaxed);
    }
    let threads = opts.threads.max(1).min(tasks.len().max(1));
    let next = AtomicUsize::new(0);
    let first_error = FirstError::default();
    let states: Mutex<Vec<AggState>> = Mutex::new(Vec::new());
    let worker = |tick: &dyn Fn()| {
        let mut st = new_state();
        let r = (|| -> Result<()> {
            let mut sel = Vec::new();
            loop {
                if first_error.is_set() {
                    return Ok(());
                }
                opts.check_cancel()?;
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(f, rg)) = tasks.get(k) else {
                    return Ok(());
                };
                tick();
                row_group(p, &filter, &files[f], f, rg, &mut st, &mut sel, opts, stats)?;
                if let Some(progress) = &opts.progress {
                    progress.segments_done.fetch_add(1, Ordering::Relaxed);
                }
            }
        })();
        if let Err(e) = r {
            first_error.set(e);
        }
        states.lock().unwrap_or_else(|p| p.into_inner()).push(st);
    };
    run_workers(threads, worker);
    first_error.into_result()?;
    let mut states = states.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut merged = states.pop().unwrap_or_else(new_state);
    for mut s in states {
        merged.merge(&mut s)?;
    }
    let columns = merged.finish(&agg_exprs, p.group.is_empty(), None)?;
    Ok(vec![Batch { columns }])
}

/// Decodes row group `rg` of `file` (the `f`th) and folds the rows passing the
/// filter into `st`.
#[allow(clippy::too_many_arguments)]
fn row_group(
    p: &ParquetAggregate<'_>,
    filter: &RowFilterPlan,
    file: &ParquetFile,
    f: usize,
    rg: usize,
    st: &mut AggState,
    sel: &mut Vec<u32>,
    opts: &ExecOptions,
    stats: &ExecStats,
) -> Result<()> {
    let domains = key_domains(p, file, rg);
    let constants = constants(p.read, f);
    ExecStats::add(&stats.rows_scanned, file.row_group_rows(rg));
    let mut reader = filter.open(p.read, file, f, rg)?;
    let after: Vec<&Expr> = filter.after().iter().collect();
    // The dictionaries of the batch before: the dense group path codes keys by
    // dictionary position, so it starts over whenever a dictionary changes.
    let mut dicts: Option<Vec<*const StringVec>> = None;
    while let Some(batch) = reader.next_columns() {
        opts.check_cancel()?;
        let (cols, len) = batch?;
        if cols.iter().any(|c| c.len() != len) {
            return Err(Error::Internal(format!(
                "{}: row group {rg} decoded columns of different lengths",
                file.path().display()
            )));
        }
        let vecs = filter.vectors(cols, &constants)?;
        let now: Vec<*const StringVec> = vecs
            .iter()
            .map(|v| match &v.data {
                VData::Dict { dict, .. } => Arc::as_ptr(dict),
                _ => std::ptr::null(),
            })
            .collect();
        if dicts.as_ref() != Some(&now) {
            st.begin_segment(domains.clone());
            dicts = Some(now);
        }
        if let Some(progress) = &opts.progress {
            progress
                .rows_scanned
                .fetch_add(len as u64, Ordering::Relaxed);
        }
        let Some((vecs, len)) = filter_block(&vecs, len, None, &after, sel, Some(stats))? else {
            continue;
        };
        update_aggregate(st, p.group, None, p.aggs, &vecs, len)?;
    }
    Ok(())
}

/// Per group key, the range of its values in row group `rg` when the key is an
/// integer file column with statistics (for the dense group path).
fn key_domains(p: &ParquetAggregate<'_>, file: &ParquetFile, rg: usize) -> SegmentDomains {
    let read = p.read;
    let read_now = read
        .projection
        .as_ref()
        .map_or(read.columns.len(), Vec::len);
    p.group
        .iter()
        .map(|(e, _)| {
            let Expr::Column {
                index, data_type, ..
            } = e
            else {
                return None;
            };
            if *index >= read_now
                || !matches!(
                    data_type,
                    DataType::BigInt | DataType::Integer | DataType::SmallInt | DataType::Date
                )
            {
                return None;
            }
            let c = read.projection.as_ref().map_or(*index, |p| p[*index]);
            match file.column_range(rg, c) {
                crate::arrow::ColumnRange {
                    min: Some(Value::Int(lo)),
                    max: Some(Value::Int(hi)),
                    ..
                } => Some((lo, hi, 1)),
                _ => None,
            }
        })
        .collect()
}
