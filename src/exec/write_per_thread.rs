//! `COPY ... TO 'dir' (PER_THREAD_OUTPUT)`: a result written as one file per
//! writer thread, `dir/data_0.csv` .. `dir/data_<n-1>.csv` as DuckDB lays them
//! out, so that encoding and compressing (Parquet, gzip, zstd) run on every
//! core. The query's batches are dealt to the threads through a bounded queue
//! (whichever thread is free takes the next batch), so each file holds some of
//! the batches, in the order they came; the files together hold every row once.
//! With `FILE_SIZE_BYTES` each thread's file is a series that rotates
//! (`write_rotating.rs`); all threads number their files from one counter.
//!
//! Every file is written under a temporary name; only when every thread has
//! finished are they all renamed ([`PerThreadWriter::finish`]), so a failed
//! COPY leaves no file. A result without rows still gets one file (`data_0`,
//! with its header), as DuckDB writes it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam::channel::{bounded, Sender};

use super::write_files::{Finished, WriteOptions};
use super::write_rotating::{publish, FileSeries};
use crate::column::Batch;
use crate::error::{Error, Result};
use crate::schema::DataType;

/// What a writer thread ends with: its files and rows.
type Written = Result<(Vec<Finished>, u64)>;

/// A per-thread write in progress.
pub struct PerThreadWriter {
    dir: PathBuf,
    columns: Vec<(String, DataType)>,
    extension: String,
    options: WriteOptions,
    numbers: Arc<AtomicUsize>,
    batches: Option<Sender<Batch>>,
    threads: Vec<JoinHandle<Written>>,
    /// Set by a thread that failed: stop handing out batches.
    failed: Arc<AtomicBool>,
}

impl PerThreadWriter {
    /// Starts `threads` writers of `columns` into `dir` (created if missing),
    /// files named `data_N.<extension>`, each rotating at `limit` bytes if set.
    pub fn create(
        dir: &Path,
        columns: &[(String, DataType)],
        extension: &str,
        options: WriteOptions,
        limit: Option<u64>,
        threads: usize,
    ) -> Result<PerThreadWriter> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let threads = threads.max(1);
        let numbers = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicBool::new(false));
        let (tx, rx) = bounded::<Batch>(threads);
        let mut handles = Vec::with_capacity(threads);
        for _ in 0..threads {
            let rx = rx.clone();
            let failed = failed.clone();
            let mut series = FileSeries::new(
                dir,
                columns,
                extension,
                options.clone(),
                limit,
                numbers.clone(),
            );
            let h = std::thread::Builder::new()
                .name("copy-write".into())
                .spawn(move || -> Written {
                    for batch in rx {
                        if let Err(e) = series.write_batch(&batch) {
                            failed.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                    series.close()
                })
                .map_err(|e| Error::Internal(format!("cannot start a writer thread: {e}")))?;
            handles.push(h);
        }
        Ok(PerThreadWriter {
            dir: dir.to_path_buf(),
            columns: columns.to_vec(),
            extension: extension.to_string(),
            options,
            numbers,
            batches: Some(tx),
            threads: handles,
            failed,
        })
    }

    /// Hands `batch` to the next free thread (waiting while all are busy).
    pub fn write_batch(&mut self, batch: Batch) -> Result<()> {
        let sent = match &self.batches {
            Some(tx) if !self.failed.load(Ordering::Relaxed) => tx.send(batch).is_ok(),
            _ => false,
        };
        if sent {
            return Ok(());
        }
        // A thread failed: its error is the COPY's.
        self.batches = None;
        let mut first = None;
        for h in self.threads.drain(..) {
            if let Err(e) = join(h) {
                first.get_or_insert(e);
            }
        }
        Err(first.unwrap_or_else(|| Error::Internal("COPY: the writer threads stopped".into())))
    }

    /// Waits for every thread to write its last rows, then renames all files
    /// (one empty file if no thread wrote any); returns the rows written.
    pub fn finish(mut self) -> Result<u64> {
        self.batches = None;
        let mut files = Vec::new();
        let mut rows = 0;
        let mut first_error = None;
        for h in self.threads.drain(..) {
            match join(h) {
                Ok((f, r)) => {
                    files.extend(f);
                    rows += r;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        if files.is_empty() {
            let mut series = FileSeries::new(
                &self.dir,
                &self.columns,
                &self.extension,
                self.options.clone(),
                None,
                self.numbers.clone(),
            );
            series.ensure_file()?;
            files = series.close()?.0;
        }
        publish(files)?;
        Ok(rows)
    }
}

/// A thread's result (a panic in it is an internal error, not a crash).
fn join(h: JoinHandle<Written>) -> Written {
    h.join()
        .unwrap_or_else(|_| Err(Error::Internal("COPY: a writer thread panicked".into())))
}

impl Drop for PerThreadWriter {
    fn drop(&mut self) {
        // Closing the queue ends the threads; the files they hold are removed
        // with them (not published).
        self.batches = None;
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}
