//! The rows of Parquet files for `read_parquet` and `FROM 'x.parquet'`: a
//! [`BatchSource`] that decodes row groups on the query's threads and hands the
//! batches out in file and row-group order, with the filter over the read
//! pushed into the reader (`parquet_rows.rs`: which row groups, and which rows
//! of each, are decoded).
//!
//! Each row group is a task. A worker takes the next task, announces it with a
//! bounded channel of its own, and fills that channel with the row group's
//! batches; [`ParquetSource::next_batch`] drains the tasks' channels in task
//! order. Memory stays at a few batches per thread whatever the files' size, and
//! a LIMIT that stops asking stops the decoding (the workers end when the source
//! is dropped).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam::channel::{bounded, Receiver, Sender};

use super::parquet_rows::{row_groups, RowFilterPlan, RowGroups};
use super::read_files::{filename_column, split_rows};
use super::table_function::BatchSource;
use super::ExecOptions;
use crate::arrow::ParquetFile;
use crate::column::{Batch, Column, ColumnData, Value};
use crate::error::{Error, Result};
use crate::plan::{Expr, FileRead};

/// One row group of one file.
struct Task {
    file: usize,
    row_group: usize,
}

type Batches = Receiver<Result<Batch>>;

/// A running read of a [`FileRead`] over Parquet files.
pub struct ParquetSource {
    /// The conjuncts evaluated after the reader (see [`RowFilterPlan`]).
    after: Vec<Expr>,
    names: Vec<String>,
    filename: bool,
    hive: Vec<(String, crate::schema::DataType)>,
    hive_values: Vec<Vec<Value>>,
    tasks: Vec<Task>,
    started: Option<Receiver<(usize, Batches)>>,
    waiting: BTreeMap<usize, Batches>,
    next_task: usize,
    current: Option<Batches>,
    /// A batch not yet handed out in full: its rows from `offset` on.
    pending: Option<(Batch, usize)>,
    threads: Vec<JoinHandle<()>>,
}

impl ParquetSource {
    /// Opens every file's footer (each must have the columns the query was
    /// bound with) and starts the decoding threads. Only the rows passing
    /// `filters` (the filter nodes over the read, outermost first) come out.
    pub fn open(read: &FileRead, filters: &[&Expr], opts: &ExecOptions) -> Result<ParquetSource> {
        let RowGroups { files, tasks, .. } = row_groups(read)?;
        let filter = Arc::new(RowFilterPlan::new(read, filters, |_| true));
        let read_now = Arc::new(read.clone());
        let tasks: Vec<Task> = tasks
            .into_iter()
            .map(|(file, row_group)| Task { file, row_group })
            .collect();
        let threads = opts.threads.clamp(1, tasks.len().max(1));
        let (started_tx, started_rx) = bounded(threads * 2);
        let next = Arc::new(AtomicUsize::new(0));
        let files = Arc::new(files);
        let plan: Arc<Vec<(usize, usize)>> =
            Arc::new(tasks.iter().map(|t| (t.file, t.row_group)).collect());
        let mut handles = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (files, plan, next, tx) = (
                files.clone(),
                plan.clone(),
                next.clone(),
                started_tx.clone(),
            );
            let (read, filter) = (read_now.clone(), filter.clone());
            let h = std::thread::Builder::new()
                .name("read-parquet".into())
                .spawn(move || decode(&read, &filter, &files, &plan, &next, &tx))
                .map_err(|e| Error::Internal(format!("cannot start a Parquet thread: {e}")))?;
            handles.push(h);
        }
        Ok(ParquetSource {
            after: filter.after().to_vec(),
            names: read.files.iter().map(|p| p.display().to_string()).collect(),
            filename: read.filename,
            hive: read.hive.clone(),
            hive_values: read.hive_values.clone(),
            tasks,
            started: Some(started_rx),
            waiting: BTreeMap::new(),
            next_task: 0,
            current: None,
            pending: None,
            threads: handles,
        })
    }

    /// The channel of the next task in order, or `None` when all are done.
    fn next_channel(&mut self) -> Result<Option<Batches>> {
        if self.next_task >= self.tasks.len() {
            return Ok(None);
        }
        loop {
            if let Some(rx) = self.waiting.remove(&self.next_task) {
                self.next_task += 1;
                return Ok(Some(rx));
            }
            let started = self.started.as_ref().ok_or_else(|| {
                Error::Internal("read_parquet: the decoding threads ended early".into())
            })?;
            match started.recv() {
                Ok((k, rx)) => {
                    self.waiting.insert(k, rx);
                }
                Err(_) => {
                    return Err(Error::Internal(format!(
                        "read_parquet: row group task {} never started",
                        self.next_task
                    )))
                }
            }
        }
    }

    /// `out` with the filename and hive columns if asked.
    fn extend(&self, mut out: Batch) -> Batch {
        let n = out.num_rows();
        let file = self.tasks[self.next_task - 1].file;
        if self.filename {
            out.columns.push(filename_column(&self.names[file], n));
        }
        let values = self.hive_values.get(file).map_or(&[][..], |v| v.as_slice());
        for (value, (_, ty)) in values.iter().zip(&self.hive) {
            out.columns.push(constant(value, *ty, n));
        }
        out
    }
}

/// A column of `n` copies of `value` (a hive partition column's).
fn constant(value: &Value, ty: crate::schema::DataType, n: usize) -> Column {
    let mut data = ColumnData::with_capacity(ty.physical(), n);
    for _ in 0..n {
        match (&mut data, value) {
            (ColumnData::Int64(v), Value::Int(x)) => v.push(*x),
            (ColumnData::Utf8(v), Value::Str(s)) => v.push(s),
            (d, _) => d.push_default(),
        }
    }
    let validity = matches!(value, Value::Null).then(|| crate::column::Bitmap::new(n, false));
    Column { data, validity }
}

/// A decoding thread: takes tasks in order until none is left or the source is
/// gone.
fn decode(
    read: &FileRead,
    filter: &RowFilterPlan,
    files: &[ParquetFile],
    plan: &[(usize, usize)],
    next: &AtomicUsize,
    started: &Sender<(usize, Batches)>,
) {
    loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        let Some(&(file, rg)) = plan.get(k) else {
            return;
        };
        let (tx, rx) = bounded(2);
        if started.send((k, rx)).is_err() {
            return;
        }
        match filter.open(read, &files[file], file, rg) {
            Ok(reader) => {
                for batch in reader {
                    let failed = batch.is_err();
                    if tx.send(batch).is_err() || failed {
                        break;
                    }
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
    }
}

impl BatchSource for ParquetSource {
    fn next_batch(&mut self, max_rows: usize) -> Result<Option<Batch>> {
        loop {
            if let Some((batch, offset)) = self.pending.take() {
                let (out, rest) = split_rows(batch, offset, max_rows);
                self.pending = rest;
                return Ok(Some(out));
            }
            if self.current.is_none() {
                match self.next_channel()? {
                    Some(rx) => self.current = Some(rx),
                    None => return Ok(None),
                }
            }
            let Some(rx) = self.current.as_ref() else {
                continue;
            };
            match rx.recv() {
                Ok(batch) => {
                    let mut batches = vec![self.extend(batch?)];
                    for c in &self.after {
                        batches = super::materialized::filter(batches, c)?;
                    }
                    if let Some(batch) = batches.pop().filter(|b| b.num_rows() > 0) {
                        self.pending = Some((batch, 0));
                    }
                }
                // The row group is done.
                Err(_) => self.current = None,
            }
        }
    }
}

impl Drop for ParquetSource {
    fn drop(&mut self) {
        // Closing the channels ends the workers: their next send fails.
        self.started = None;
        self.current = None;
        self.waiting.clear();
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}
