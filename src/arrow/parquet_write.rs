//! Writing logdb batches as a Parquet file with arrow-rs: the types of
//! `convert.rs`, row groups of [`ParquetOptions::row_group_rows`] rows,
//! dictionary encoding where it pays (arrow-rs falls back to plain pages for a
//! column whose dictionary outgrows its page limit, so low-cardinality strings
//! such as method or status text get dictionaries and unique ones do not), and
//! min/max statistics per column chunk and page.

use std::io::Write;
use std::path::{Path, PathBuf};

use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::column::Batch;
use crate::error::{Error, Result};
use crate::schema::DataType;

/// The codec of a written file's pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParquetCompression {
    Uncompressed,
    /// DuckDB's and Spark's default.
    Snappy,
    Zstd,
    Gzip,
    Lz4Raw,
}

impl ParquetCompression {
    /// A codec by the name COPY's COMPRESSION option gives.
    pub fn from_name(name: &str) -> Option<ParquetCompression> {
        Some(match name.to_ascii_lowercase().as_str() {
            "uncompressed" | "none" => ParquetCompression::Uncompressed,
            "snappy" => ParquetCompression::Snappy,
            "zstd" => ParquetCompression::Zstd,
            "gzip" => ParquetCompression::Gzip,
            "lz4" | "lz4_raw" => ParquetCompression::Lz4Raw,
            _ => return None,
        })
    }

    fn codec(self) -> Compression {
        match self {
            ParquetCompression::Uncompressed => Compression::UNCOMPRESSED,
            ParquetCompression::Snappy => Compression::SNAPPY,
            ParquetCompression::Zstd => Compression::ZSTD(ZstdLevel::default()),
            ParquetCompression::Gzip => Compression::GZIP(GzipLevel::default()),
            ParquetCompression::Lz4Raw => Compression::LZ4_RAW,
        }
    }
}

/// How a Parquet file is written.
#[derive(Clone, Debug)]
pub struct ParquetOptions {
    pub compression: ParquetCompression,
    /// Rows per row group: the unit engines split a file into tasks by.
    pub row_group_rows: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            compression: ParquetCompression::Snappy,
            // DuckDB writes row groups of 122,880 rows; Spark and Trino prefer
            // bigger ones (their defaults target 128 MiB). A million rows of
            // access-log columns is 20-60 MiB compressed.
            row_group_rows: 1 << 20,
        }
    }
}

/// A Parquet file being written to `W`: batches in, the footer at
/// [`ParquetWriter::finish`].
pub struct ParquetWriter<W: Write + Send> {
    inner: ArrowWriter<W>,
    schema: SchemaRef,
    types: Vec<DataType>,
    /// The file, for errors.
    path: PathBuf,
}

impl<W: Write + Send> ParquetWriter<W> {
    /// Starts a file of `columns` on `out`; `path` names it in errors.
    pub fn new(
        out: W,
        path: &Path,
        columns: &[(String, DataType)],
        options: &ParquetOptions,
    ) -> Result<ParquetWriter<W>> {
        let schema = super::convert::arrow_schema(columns);
        let props = WriterProperties::builder()
            .set_compression(options.compression.codec())
            .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_created_by(format!("logdb version {}", env!("CARGO_PKG_VERSION")))
            .build();
        let inner = ArrowWriter::try_new(out, schema.clone(), Some(props))
            .map_err(|e| write_error(path, e))?;
        Ok(ParquetWriter {
            inner,
            schema,
            types: columns.iter().map(|(_, t)| *t).collect(),
            path: path.to_path_buf(),
        })
    }

    /// Appends the rows of `batch` (columns as given to `new`).
    pub fn write(&mut self, batch: Batch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let rb = super::convert::into_record_batch(&self.schema, &self.types, batch)?;
        self.inner
            .write(&rb)
            .map_err(|e| write_error(&self.path, e))
    }

    /// Bytes of the file so far: its header and the row groups written.
    pub fn bytes_written(&self) -> u64 {
        self.inner.bytes_written() as u64
    }

    /// The estimated encoded size of the row group being built (before page
    /// compression, so usually more than it will take).
    pub fn buffered_bytes(&self) -> u64 {
        self.inner.in_progress_size() as u64
    }

    /// Writes the row group being built, however few rows it has.
    pub fn flush(&mut self) -> Result<()> {
        self.inner.flush().map_err(|e| write_error(&self.path, e))
    }

    /// Writes the last row group and the footer; gives the sink back.
    pub fn finish(self) -> Result<W> {
        let path = self.path;
        self.inner.into_inner().map_err(|e| write_error(&path, e))
    }
}

fn write_error(path: &Path, e: parquet::errors::ParquetError) -> Error {
    match e {
        parquet::errors::ParquetError::External(inner) => {
            match inner.downcast::<std::io::Error>() {
                Ok(io) => Error::io(path, *io),
                Err(other) => {
                    Error::InvalidInput(format!("{}: writing Parquet: {other}", path.display()))
                }
            }
        }
        other => Error::InvalidInput(format!("{}: writing Parquet: {other}", path.display())),
    }
}
