//! A query's result handed over batch by batch while it is produced
//! ([`QueryStream`]), so a program can read a result larger than it could hold.
//! The stream yields each batch as a [`QueryResult`] chunk (typed rows through
//! [`QueryResult::iter`]), or as bare [`Batch`]es through [`QueryStream::batches`].
//!
//! What streams: a plan whose top is the scan pipeline with a projection
//! (`SELECT cols FROM t WHERE ...`, a bare scan), a hash join (its inputs are
//! materialized, its output is not), or a Filter or Project over either. Each
//! segment's rows (a join's output batch) are handed over as soon as they are
//! ready, from the scan's worker threads, so with more than one thread segments
//! may arrive out of table order. Every other plan (ORDER BY, GROUP BY, DISTINCT,
//! LIMIT, UNION, window functions, ...) runs to completion first and its result
//! is then handed over batch by batch; such results are small for analytical
//! queries, and the memory limit applies to them as to [`super::execute`].
//!
//! The producer runs on its own thread and waits while the consumer holds the
//! batches it was given: at most one batch waits between them, and it counts
//! against the query's memory limit until it is taken. Dropping the stream stops
//! the query (at its next hand-over, or through a cancel flag of the stream's own
//! when the caller's options have none).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::memory::Reservation;
use super::physical::{self, Operator, PhysicalPlan};
use super::stack::{FALLBACK_STACK, QUERY_STACK};
use super::{run_plan, run_streamed, subquery, ExecOptions, ExecStats, QueryResult};
use crate::column::Batch;
use crate::error::{Error, Result};
use crate::plan::LogicalPlan;
use crate::schema::DataType;
use crate::storage::Snapshot;

/// Whether the output of `p` is handed over while it is produced (see the module
/// documentation): the scan pipeline with a projection, a hash join, a table
/// function, or a Filter or Project over one.
pub fn streams_output(p: &PhysicalPlan<'_>) -> bool {
    match p.op {
        Operator::ScanProject { .. }
        | Operator::HashJoin { .. }
        | Operator::TableFunction { .. }
        | Operator::NestedLoopJoin { .. } => true,
        Operator::Filter | Operator::Project => p.children.first().is_some_and(streams_output),
        _ => false,
    }
}

/// Runs `plan`, handing its result to `emit` batch by batch: as it is produced
/// when [`streams_output`], else once the plan has run. Returns whether it
/// streamed.
pub fn execute_each(
    snapshot: &Snapshot,
    plan: &LogicalPlan,
    opts: &ExecOptions,
    stats: &ExecStats,
    emit: &mut (dyn FnMut(Batch) -> Result<()> + Send),
) -> Result<bool> {
    let plan = subquery::resolve(snapshot, plan, opts, stats)?;
    let p = physical::plan(snapshot, &plan, opts)?;
    if streams_output(&p) {
        run_streamed(snapshot, &p, opts, stats, emit)?;
        return Ok(true);
    }
    for b in run_plan(snapshot, &p, opts, stats, None)? {
        emit(b)?;
    }
    Ok(false)
}

/// What the producer thread sends: a batch with the reservation that counts it
/// while it waits, or the error that ended the query.
enum Message {
    Batch(Batch, Reservation),
    Failed(Error),
}

/// The result of a query, batch by batch: an iterator of chunks, each a
/// [`QueryResult`] of one batch (see the module documentation for which plans
/// stream).
#[derive(Debug)]
pub struct QueryStream {
    columns: Vec<(String, DataType)>,
    source: Source,
    stats: Arc<ExecStats>,
}

#[derive(Debug)]
enum Source {
    /// A producer thread running the plan.
    Running {
        rx: Option<Receiver<Message>>,
        handle: Option<JoinHandle<()>>,
        /// The query's cancel flag when the stream installed it (the caller set
        /// none): raised when the stream is dropped.
        own_cancel: Option<Arc<AtomicBool>>,
    },
    /// An already computed result (a statement that is not a query).
    Done(std::vec::IntoIter<Batch>),
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Batch(b, _) => write!(f, "Batch({} rows)", b.num_rows()),
            Message::Failed(e) => write!(f, "Failed({e})"),
        }
    }
}

impl QueryStream {
    /// Starts running `plan` (optimized) against `snapshot` on a thread of its
    /// own; its batches come out of the iterator.
    pub fn start(
        snapshot: Snapshot,
        plan: LogicalPlan,
        mut opts: ExecOptions,
    ) -> Result<QueryStream> {
        let columns = plan.schema();
        let own_cancel = match opts.cancel {
            Some(_) => None,
            None => {
                let flag = Arc::new(AtomicBool::new(false));
                opts.cancel = Some(flag.clone());
                Some(flag)
            }
        };
        let stats = Arc::new(ExecStats::default());
        let (tx, rx) = sync_channel::<Message>(1);
        let job = {
            let stats = stats.clone();
            move || produce(&snapshot, &plan, &opts, &stats, tx)
        };
        // Kept here until a thread takes it, so a failed spawn can try again with
        // a smaller stack.
        let job = Arc::new(Mutex::new(Some(job)));
        let mut handle = None;
        let mut failure = None;
        for size in [QUERY_STACK, FALLBACK_STACK] {
            let mine = job.clone();
            let spawned = std::thread::Builder::new()
                .name("logdb-stream".into())
                .stack_size(size)
                .spawn(move || {
                    let run = mine.lock().ok().and_then(|mut j| j.take());
                    if let Some(run) = run {
                        run();
                    }
                });
            match spawned {
                Ok(h) => {
                    handle = Some(h);
                    break;
                }
                Err(e) => failure = Some(e),
            }
        }
        if handle.is_none() {
            return Err(Error::ResourcesExhausted(format!(
                "cannot start the thread of a streamed query: {}",
                failure.map_or_else(String::new, |e| e.to_string())
            )));
        }
        Ok(QueryStream {
            columns,
            source: Source::Running {
                rx: Some(rx),
                handle,
                own_cancel,
            },
            stats,
        })
    }

    /// A stream over an already computed result.
    pub fn from_batches(columns: Vec<(String, DataType)>, batches: Vec<Batch>) -> QueryStream {
        QueryStream {
            columns,
            source: Source::Done(batches.into_iter()),
            stats: Arc::new(ExecStats::default()),
        }
    }

    /// The result's columns: names and types.
    pub fn columns(&self) -> &[(String, DataType)] {
        &self.columns
    }

    /// The most bytes of operator state the query held at once so far, batches
    /// waiting to be taken included (batches already taken are the caller's).
    pub fn peak_memory(&self) -> u64 {
        self.stats.peak_memory()
    }

    /// Stops the producer: a closed channel fails its next hand-over, and the
    /// stream's own cancel flag stops a plan still running before its first.
    /// Waits for the thread when that flag made sure it ends promptly; with the
    /// caller's flag (which it may share with other queries) the thread is left
    /// to end at its next hand-over.
    fn stop(&mut self) {
        if let Source::Running {
            rx,
            handle,
            own_cancel,
        } = &mut self.source
        {
            drop(rx.take());
            match own_cancel {
                Some(flag) => {
                    flag.store(true, Ordering::Relaxed);
                    if let Some(h) = handle.take() {
                        let _ = h.join();
                    }
                }
                None => drop(handle.take()),
            }
        }
    }
}

/// Runs the plan on the producer thread, sending batches and the final error.
fn produce(
    snapshot: &Snapshot,
    plan: &LogicalPlan,
    opts: &ExecOptions,
    stats: &ExecStats,
    tx: SyncSender<Message>,
) {
    let pool = stats.memory(opts.memory_limit);
    let mut send = |b: Batch| -> Result<()> {
        let mut mem = pool.reservation("streamed result");
        mem.resize(b.heap_bytes())?;
        // The receiver is gone: the stream was dropped.
        tx.send(Message::Batch(b, mem))
            .map_err(|_| Error::Cancelled)
    };
    if let Err(e) = execute_each(snapshot, plan, opts, stats, &mut send) {
        let _ = tx.send(Message::Failed(e));
    }
}

impl QueryStream {
    /// The next batch of the result, `None` at its end (or after an error).
    pub fn next_batch(&mut self) -> Option<Result<Batch>> {
        match &mut self.source {
            Source::Done(batches) => batches.next().map(Ok),
            Source::Running { rx, .. } => {
                let message = rx.as_ref()?.recv();
                match message {
                    // The batch is the caller's now: it no longer counts.
                    Ok(Message::Batch(b, _counted_until_now)) => Some(Ok(b)),
                    Ok(Message::Failed(e)) => {
                        self.stop();
                        Some(Err(e))
                    }
                    // The producer's end: a normal one, or a panic (a bug), which
                    // must not pass for the end of the result.
                    Err(_) => {
                        let ended = match &mut self.source {
                            Source::Running { handle, .. } => handle.take().map(JoinHandle::join),
                            Source::Done(_) => None,
                        };
                        self.stop();
                        match ended {
                            Some(Err(_)) => Some(Err(Error::Internal(
                                "the thread of a streamed query panicked".into(),
                            ))),
                            _ => None,
                        }
                    }
                }
            }
        }
    }

    /// The stream as an iterator of bare batches.
    pub fn batches(self) -> Batches {
        Batches(self)
    }
}

impl Iterator for QueryStream {
    type Item = Result<QueryResult>;

    fn next(&mut self) -> Option<Result<QueryResult>> {
        let batch = self.next_batch()?;
        Some(batch.map(|b| QueryResult {
            columns: self.columns.clone(),
            batches: vec![b],
        }))
    }
}

/// A [`QueryStream`] as an iterator of `Result<Batch>`.
#[derive(Debug)]
pub struct Batches(QueryStream);

impl Batches {
    /// The result's columns: names and types.
    pub fn columns(&self) -> &[(String, DataType)] {
        self.0.columns()
    }
}

impl Iterator for Batches {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        self.0.next_batch()
    }
}

impl Drop for QueryStream {
    fn drop(&mut self) {
        self.stop();
    }
}
