//! COPY's files named `data_N.<ext>` in one directory, as DuckDB names them
//! (the file of a PARTITION_BY partition, the files of `FILE_SIZE_BYTES` and of
//! `PER_THREAD_OUTPUT`): a [`FileSeries`] writes rows to its current file and,
//! with a size limit, starts the next one once the current file has passed the
//! limit. The numbers come from a counter the series of one directory share
//! (per-thread writers), so no two files get the same name.
//!
//! Rows are written in slices of [`SLICE_ROWS`], and the size is checked after
//! each: a text file passes the limit by at most a slice's bytes (compressed,
//! roughly: the compressor holds some back). A Parquet file's size is its
//! written row groups: it is checked when a row group ends, and a row group
//! whose estimated (uncompressed) size reaches the limit is ended early, so a
//! file holds a few row groups and passes the limit by less than one, as
//! DuckDB's do.
//!
//! Files are written under temporary names and renamed only when the caller
//! publishes them all ([`Finished`]), so a failed COPY leaves none.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::write_files::{FileWriter, Finished, WriteOptions};
use crate::column::Batch;
use crate::error::Result;
use crate::schema::DataType;

/// Rows written between two checks of a file's size (DuckDB's vector size).
pub const SLICE_ROWS: usize = 2048;

/// The files of one writer in one directory.
pub struct FileSeries {
    dir: PathBuf,
    extension: String,
    columns: Vec<(String, DataType)>,
    options: WriteOptions,
    /// Start a new file once the current one has this many bytes (`None`: one file).
    limit: Option<u64>,
    /// The number of the next file, shared with the other series of `dir`.
    numbers: Arc<AtomicUsize>,
    current: Option<FileWriter>,
    done: Vec<Finished>,
    rows: u64,
}

impl FileSeries {
    /// A series of `columns` in `dir` (which must exist), files named
    /// `data_N.<extension>`; nothing is created before the first row (or
    /// [`FileSeries::ensure_file`]).
    pub fn new(
        dir: &Path,
        columns: &[(String, DataType)],
        extension: &str,
        options: WriteOptions,
        limit: Option<u64>,
        numbers: Arc<AtomicUsize>,
    ) -> FileSeries {
        FileSeries {
            dir: dir.to_path_buf(),
            extension: extension.to_string(),
            columns: columns.to_vec(),
            options,
            limit,
            numbers,
            current: None,
            done: Vec::new(),
            rows: 0,
        }
    }

    /// The file being written, opened under the next number if there is none.
    fn current(&mut self) -> Result<&mut FileWriter> {
        let w = match self.current.take() {
            Some(w) => w,
            None => {
                let n = self.numbers.fetch_add(1, Ordering::Relaxed);
                let path = self.dir.join(format!("data_{n}.{}", self.extension));
                FileWriter::create(&path, &self.columns, self.options.clone())?
            }
        };
        Ok(self.current.insert(w))
    }

    /// Opens a file if none was: an empty result still gets one (its header).
    pub fn ensure_file(&mut self) -> Result<()> {
        if self.current.is_none() && self.done.is_empty() {
            self.current()?;
        }
        Ok(())
    }

    /// Writes the rows of `batch`.
    pub fn write_batch(&mut self, batch: &Batch) -> Result<()> {
        let n = batch.num_rows();
        let Some(limit) = self.limit else {
            if n > 0 {
                self.current()?.write_rows(batch, 0..n)?;
                self.rows += n as u64;
            }
            return Ok(());
        };
        let mut start = 0;
        while start < n {
            let end = (start + SLICE_ROWS).min(n);
            let w = self.current()?;
            w.write_rows(batch, start..end)?;
            if w.buffered_bytes() >= limit {
                // A Parquet row group as big as a file ends early.
                w.flush_buffered()?;
            }
            let full = w.bytes() >= limit;
            self.rows += (end - start) as u64;
            start = end;
            if full {
                self.rotate()?;
            }
        }
        Ok(())
    }

    /// Closes the current file; the next row starts a new one.
    fn rotate(&mut self) -> Result<()> {
        if let Some(w) = self.current.take() {
            self.done.push(w.close()?.0);
        }
        Ok(())
    }

    /// Closes the last file; returns every file (to publish) and the rows.
    pub fn close(mut self) -> Result<(Vec<Finished>, u64)> {
        self.rotate()?;
        Ok((std::mem::take(&mut self.done), self.rows))
    }
}

/// Renames every file to its path.
pub fn publish(files: Vec<Finished>) -> Result<()> {
    for f in files {
        f.publish()?;
    }
    Ok(())
}
