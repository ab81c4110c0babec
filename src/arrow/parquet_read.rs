//! Reading a Parquet file as logdb batches with arrow-rs: its footer once (the
//! schema, mapped by `convert.rs`, and the row groups), then any row group on
//! its own, so that several threads can decode one file.
//!
//! Damaged files give an error naming the file (and the row group, once
//! decoding started). The decoder runs under `caught::catch`: a file that makes
//! it panic is reported as unreadable ("the decoder failed: ...") instead of
//! taking the process down, and nothing is printed about the panic.

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;

use arrow_array::RecordBatch;

use super::caught::catch;
use crate::column::Batch;
use crate::error::{Error, Result};
use crate::schema::DataType;

/// An open Parquet file: its footer, read and checked.
#[derive(Clone)]
pub struct ParquetFile {
    path: PathBuf,
    metadata: ArrowReaderMetadata,
    columns: Vec<(String, DataType)>,
}

impl std::fmt::Debug for ParquetFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ParquetFile({})", self.path.display())
    }
}

fn unreadable(path: &Path, detail: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!(
        "{}: not a readable Parquet file: {detail}",
        path.display()
    ))
}

/// The detail of a decoder that panicked on a damaged file.
fn panicked(message: String) -> String {
    format!("the decoder failed: {message}")
}

impl ParquetFile {
    /// Reads the footer of the file at `path`.
    pub fn open(path: &Path) -> Result<ParquetFile> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let metadata = catch(|| ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()))
            .map_err(|p| unreadable(path, panicked(p)))?
            .map_err(|e| unreadable(path, e))?;
        let columns = super::convert::logdb_columns(metadata.schema())
            .map_err(|e| Error::InvalidInput(format!("{}: {e}", path.display())))?;
        Ok(ParquetFile {
            path: path.to_path_buf(),
            metadata,
            columns,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The columns the file is read as.
    pub fn columns(&self) -> &[(String, DataType)] {
        &self.columns
    }

    /// Rows, by the footer.
    pub fn num_rows(&self) -> u64 {
        self.metadata.metadata().file_metadata().num_rows().max(0) as u64
    }

    pub fn row_groups(&self) -> usize {
        self.metadata.metadata().num_row_groups()
    }

    /// The rows of row group `rg` as logdb batches of at most `batch_rows`, of
    /// the columns at `projection` (positions in [`ParquetFile::columns`]; `None`:
    /// all). The other columns are not decoded.
    pub fn read_row_group(
        &self,
        rg: usize,
        batch_rows: usize,
        projection: Option<&[usize]>,
    ) -> Result<RowGroupReader> {
        let all: Vec<usize> = (0..self.columns.len()).collect();
        let projection = projection.unwrap_or(&all);
        if let Some(&bad) = projection.iter().find(|&&i| i >= self.columns.len()) {
            return Err(Error::Internal(format!(
                "column {bad} of {} read from {}",
                self.columns.len(),
                self.path.display()
            )));
        }
        Ok(RowGroupReader {
            inner: self.record_batches_projected(rg, batch_rows, Some(projection))?,
            columns: projection
                .iter()
                .map(|&i| self.columns[i].clone())
                .collect(),
        })
    }

    /// The rows of row group `rg` as Arrow record batches (in the file's types).
    pub fn record_batches(&self, rg: usize) -> Result<RecordBatches> {
        self.record_batches_projected(rg, 64 * 1024, None)
    }

    fn record_batches_projected(
        &self,
        rg: usize,
        batch_rows: usize,
        projection: Option<&[usize]>,
    ) -> Result<RecordBatches> {
        let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let reader = catch(|| {
            let builder =
                ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.metadata.clone())
                    .with_row_groups(vec![rg])
                    .with_batch_size(batch_rows.max(1));
            match projection {
                // logdb reads only flat files: a top-level field is one leaf.
                Some(p) => {
                    let mask = ProjectionMask::roots(
                        self.metadata.metadata().file_metadata().schema_descr(),
                        p.iter().copied(),
                    );
                    builder.with_projection(mask).build()
                }
                None => builder.build(),
            }
        })
        .map_err(|p| unreadable(&self.path, panicked(p)))?
        .map_err(|e| unreadable(&self.path, format!("row group {rg}: {e}")))?;
        Ok(RecordBatches {
            file: self.clone(),
            rg,
            reader: Some(reader),
        })
    }
}

/// The Arrow record batches of one row group.
pub struct RecordBatches {
    file: ParquetFile,
    rg: usize,
    reader: Option<ParquetRecordBatchReader>,
}

impl Iterator for RecordBatches {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        let reader = self.reader.as_mut()?;
        let path = &self.file.path;
        let rg = self.rg;
        let next = match catch(|| reader.next()) {
            Ok(next) => next,
            Err(p) => {
                self.reader = None;
                return Some(Err(unreadable(
                    path,
                    format!("row group {rg}: {}", panicked(p)),
                )));
            }
        };
        match next? {
            Ok(rb) => Some(Ok(rb)),
            Err(e) => {
                self.reader = None;
                Some(Err(unreadable(path, format!("row group {rg}: {e}"))))
            }
        }
    }
}

/// The batches of one row group, as logdb batches of the columns read.
pub struct RowGroupReader {
    inner: RecordBatches,
    columns: Vec<(String, DataType)>,
}

impl Iterator for RowGroupReader {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        let rb = match self.inner.next()? {
            Ok(rb) => rb,
            Err(e) => return Some(Err(e)),
        };
        let path = &self.inner.file.path;
        let rg = self.inner.rg;
        let columns = &self.columns;
        let what = |c: usize| {
            format!(
                "{}: row group {rg}, column '{}'",
                path.display(),
                columns[c].0
            )
        };
        let types: Vec<DataType> = columns.iter().map(|(_, t)| *t).collect();
        Some(super::convert::from_arrays(rb.columns(), &types, &what))
    }
}
