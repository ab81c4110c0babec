//! Reading a Parquet file as logdb batches with arrow-rs: its footer once (the
//! schema, mapped by `convert.rs`, and the row groups), then any row group on
//! its own, so that several threads can decode one file.
//!
//! String columns whose chunk in a row group is dictionary-encoded throughout
//! are read as Arrow dictionaries and come out as logdb dictionaries
//! (`dictionary.rs`): the strings are decoded once per chunk, not per row. A row
//! group's statistics are offered per column as logdb values
//! ([`ParquetFile::column_range`]), for skipping row groups a filter rules out.
//!
//! Damaged files give an error naming the file (and the row group, once
//! decoding started). The decoder runs under `caught::catch`: a file that makes
//! it panic is reported as unreadable ("the decoder failed: ...") instead of
//! taking the process down, and nothing is printed about the panic.

use std::fs::File;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use parquet::arrow::arrow_reader::{
    ArrowPredicate, ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions,
    ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder, RowFilter,
};
use parquet::arrow::ProjectionMask;
use parquet::basic::{ColumnOrder, Encoding, SortOrder};
use parquet::file::statistics::Statistics;

use arrow_array::{BooleanArray, RecordBatch};
use arrow_schema::{ArrowError, DataType as ArrowType, Schema, TimeUnit};

use super::caught::catch;
use super::dictionary::{DictionaryCache, ReadColumn};
use crate::column::{Batch, Value};
use crate::error::{Error, Result};
use crate::schema::DataType;

/// What a row group's statistics say about one column, as logdb values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnRange {
    /// A lower and an upper bound of the column's non-NULL values (`None`:
    /// unknown).
    pub min: Option<Value>,
    pub max: Option<Value>,
    /// The column holds only NULLs in this row group.
    pub all_null: bool,
}

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

    /// Rows of row group `rg`, by the footer.
    pub fn row_group_rows(&self, rg: usize) -> u64 {
        let groups = self.metadata.metadata().row_groups();
        groups.get(rg).map_or(0, |g| g.num_rows().max(0) as u64)
    }

    /// The rows of row group `rg` as logdb batches of at most `batch_rows`, of
    /// the columns at `projection` (positions in [`ParquetFile::columns`],
    /// ascending; `None`: all). The other columns are not decoded.
    pub fn read_row_group(
        &self,
        rg: usize,
        batch_rows: usize,
        projection: Option<&[usize]>,
    ) -> Result<RowGroupReader> {
        self.read_row_group_where(rg, batch_rows, projection, Vec::new())
    }

    /// [`ParquetFile::read_row_group`] of the rows passing every test of
    /// `tests`, run in order before the projected columns are decoded: each
    /// test's columns are decoded only for the rows the tests before it kept,
    /// and the projected columns only for the rows all of them kept (pages
    /// without such rows are not even decompressed). Runs the tests at once
    /// (arrow-rs evaluates them as the reader is built); an error a test
    /// returns is returned as it is.
    pub fn read_row_group_where(
        &self,
        rg: usize,
        batch_rows: usize,
        projection: Option<&[usize]>,
        tests: Vec<RowTest>,
    ) -> Result<RowGroupReader> {
        let all: Vec<usize> = (0..self.columns.len()).collect();
        let projection = projection.unwrap_or(&all);
        let listed = std::iter::once(projection).chain(tests.iter().map(|t| t.columns.as_slice()));
        for cols in listed {
            if cols.windows(2).any(|w| w[0] >= w[1])
                || cols.iter().any(|&i| i >= self.columns.len())
            {
                return Err(Error::Internal(format!(
                    "columns {cols:?} of {} read from {}",
                    self.columns.len(),
                    self.path.display()
                )));
            }
        }
        let mut wanted: Vec<usize> = projection.to_vec();
        for t in &tests {
            wanted.extend(&t.columns);
        }
        wanted.sort_unstable();
        wanted.dedup();
        let metadata = self.with_dictionaries(rg, &wanted)?;
        let failed: Arc<std::sync::Mutex<Option<Error>>> = Arc::default();
        let schema = self.metadata.metadata().file_metadata().schema_descr_ptr();
        let predicates: Vec<Box<dyn ArrowPredicate>> = tests
            .into_iter()
            .map(|t| {
                let mask = ProjectionMask::roots(&schema, t.columns.iter().copied());
                let mut batch = BatchConverter::new(self, rg, &t.columns);
                let (mut test, failed) = (t.test, failed.clone());
                Box::new(ArrowPredicateFn::new(mask, move |rb: RecordBatch| {
                    let outcome = batch.convert(&rb).and_then(&mut test);
                    match outcome {
                        Ok(keep) if keep.len() == rb.num_rows() => Ok(BooleanArray::from(keep)),
                        Ok(keep) => Err(ArrowError::ComputeError(format!(
                            "a row test answered {} rows of {}",
                            keep.len(),
                            rb.num_rows()
                        ))),
                        Err(e) => {
                            let text = e.to_string();
                            let mut slot = failed.lock().unwrap_or_else(|p| p.into_inner());
                            slot.get_or_insert(e);
                            Err(ArrowError::ComputeError(text))
                        }
                    }
                })) as Box<dyn ArrowPredicate>
            })
            .collect();
        let inner =
            self.record_batches_projected(metadata, rg, batch_rows, Some(projection), predicates);
        let inner = match inner {
            Ok(inner) => inner,
            Err(e) => {
                let mut slot = failed.lock().unwrap_or_else(|p| p.into_inner());
                return Err(slot.take().unwrap_or(e));
            }
        };
        Ok(RowGroupReader {
            inner,
            batch: BatchConverter::new(self, rg, projection),
        })
    }

    /// The rows of row group `rg` as Arrow record batches (in the file's types).
    pub fn record_batches(&self, rg: usize) -> Result<RecordBatches> {
        self.record_batches_projected(self.metadata.clone(), rg, 64 * 1024, None, Vec::new())
    }

    /// Whether column `c`'s chunk in row group `rg` has a dictionary and only
    /// dictionary-encoded data pages (by the page encoding statistics; without
    /// them, no).
    fn all_dictionary(&self, rg: usize, c: usize) -> bool {
        let Some(chunk) = self
            .metadata
            .metadata()
            .row_groups()
            .get(rg)
            .and_then(|g| g.columns().get(c))
        else {
            return false;
        };
        chunk.dictionary_page_offset().is_some()
            && chunk.page_encoding_stats_mask().is_some_and(|m| {
                m.is_only(Encoding::RLE_DICTIONARY) || m.is_only(Encoding::PLAIN_DICTIONARY)
            })
    }

    /// The reader metadata for row group `rg`: the file's, with the string
    /// columns of `projection` whose chunk is all dictionary-encoded read as
    /// Arrow dictionaries.
    fn with_dictionaries(&self, rg: usize, projection: &[usize]) -> Result<ArrowReaderMetadata> {
        let schema = self.metadata.schema();
        let dict: Vec<usize> = projection
            .iter()
            .copied()
            .filter(|&c| {
                schema.fields().get(c).is_some_and(|f| {
                    matches!(f.data_type(), ArrowType::Utf8 | ArrowType::LargeUtf8)
                }) && self.all_dictionary(rg, c)
            })
            .collect();
        if dict.is_empty() {
            return Ok(self.metadata.clone());
        }
        let fields: Vec<_> = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(c, f)| {
                if dict.contains(&c) {
                    let t = ArrowType::Dictionary(
                        Box::new(ArrowType::Int32),
                        Box::new(f.data_type().clone()),
                    );
                    Arc::new(f.as_ref().clone().with_data_type(t))
                } else {
                    f.clone()
                }
            })
            .collect();
        let hint = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        let options = ArrowReaderOptions::new().with_schema(hint);
        let path = &self.path;
        catch(|| ArrowReaderMetadata::try_new(self.metadata.metadata().clone(), options))
            .map_err(|p| unreadable(path, panicked(p)))?
            .map_err(|e| unreadable(path, format!("row group {rg}: {e}")))
    }

    /// What row group `rg`'s statistics say about column `c` (a position in
    /// [`ParquetFile::columns`]). Bounds are given only where they are sure to
    /// order as logdb orders the column's values: signed integers, timestamps
    /// and dates, and strings with statistics in the current (unsigned byte
    /// order) form; never for IP text, floats, decimals or unsigned integers.
    pub fn column_range(&self, rg: usize, c: usize) -> ColumnRange {
        let meta = self.metadata.metadata();
        let (Some(group), Some((_, ty)), Some(field)) = (
            meta.row_groups().get(rg),
            self.columns.get(c),
            self.metadata.schema().fields().get(c),
        ) else {
            return ColumnRange::default();
        };
        let Some(stats) = group.columns().get(c).and_then(|ch| ch.statistics()) else {
            return ColumnRange::default();
        };
        let rows = group.num_rows().max(0) as u64;
        let all_null = rows > 0 && stats.null_count_opt() == Some(rows);
        let order = meta
            .file_metadata()
            .column_orders()
            .and_then(|o| o.get(c).copied())
            .unwrap_or(ColumnOrder::UNDEFINED);
        let (min, max) = bounds(stats, field.data_type(), *ty, order);
        ColumnRange { min, max, all_null }
    }

    fn record_batches_projected(
        &self,
        metadata: ArrowReaderMetadata,
        rg: usize,
        batch_rows: usize,
        projection: Option<&[usize]>,
        predicates: Vec<Box<dyn ArrowPredicate>>,
    ) -> Result<RecordBatches> {
        let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let reader = catch(|| {
            let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata)
                .with_row_groups(vec![rg])
                .with_batch_size(batch_rows.max(1));
            if !predicates.is_empty() {
                builder = builder.with_row_filter(RowFilter::new(predicates));
            }
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

/// A test of rows run while a row group is read (see
/// [`ParquetFile::read_row_group_where`]): the columns it reads (positions in
/// [`ParquetFile::columns`], ascending), and which rows of a batch of them pass.
pub struct RowTest {
    pub columns: Vec<usize>,
    #[allow(clippy::type_complexity)]
    pub test: Box<dyn FnMut(Vec<ReadColumn>) -> Result<Vec<bool>> + Send>,
}

/// Arrow record batches of some columns of a row group as logdb columns, each
/// column chunk's dictionary converted once.
struct BatchConverter {
    path: PathBuf,
    rg: usize,
    columns: Vec<(String, DataType)>,
    dictionaries: Vec<DictionaryCache>,
}

impl BatchConverter {
    fn new(file: &ParquetFile, rg: usize, columns: &[usize]) -> BatchConverter {
        BatchConverter {
            path: file.path.clone(),
            rg,
            columns: columns.iter().map(|&i| file.columns[i].clone()).collect(),
            dictionaries: columns.iter().map(|_| DictionaryCache::default()).collect(),
        }
    }

    fn convert(&mut self, rb: &RecordBatch) -> Result<Vec<ReadColumn>> {
        let (path, rg) = (&self.path, self.rg);
        if rb.num_columns() != self.columns.len() {
            return Err(Error::Internal(format!(
                "{}: row group {rg} decoded {} columns, not {}",
                path.display(),
                rb.num_columns(),
                self.columns.len()
            )));
        }
        let mut out = Vec::with_capacity(rb.num_columns());
        for ((a, (name, ty)), dict) in rb
            .columns()
            .iter()
            .zip(&self.columns)
            .zip(&mut self.dictionaries)
        {
            let col = match a.data_type() {
                ArrowType::Dictionary(..) if matches!(ty, DataType::Varchar | DataType::Ip) => {
                    dict.convert(a.as_ref(), *ty)
                }
                _ => super::convert::from_array(a.as_ref(), *ty).map(ReadColumn::Plain),
            };
            out.push(col.map_err(|e| {
                Error::InvalidInput(format!(
                    "{}: row group {rg}, column '{name}': {e}",
                    path.display()
                ))
            })?);
        }
        Ok(out)
    }
}

/// The bounds of a chunk's statistics as values of logdb type `ty`, for a
/// column read as Arrow type `arrow` (see [`ParquetFile::column_range`]).
fn bounds(
    stats: &Statistics,
    arrow: &ArrowType,
    ty: DataType,
    order: ColumnOrder,
) -> (Option<Value>, Option<Value>) {
    let signed = matches!(
        order,
        ColumnOrder::TYPE_DEFINED_ORDER(SortOrder::SIGNED) | ColumnOrder::UNDEFINED
    );
    let int = |v: Option<i64>, f: &dyn Fn(i64) -> Option<i64>| v.and_then(f).map(Value::Int);
    let same = |x: i64| Some(x);
    match (stats, arrow, ty) {
        (
            Statistics::Int32(s),
            ArrowType::Int8 | ArrowType::Int16 | ArrowType::Int32 | ArrowType::Date32,
            _,
        ) if signed => (
            int(s.min_opt().map(|&x| x as i64), &same),
            int(s.max_opt().map(|&x| x as i64), &same),
        ),
        (Statistics::Int64(s), ArrowType::Int64, _) if signed => (
            int(s.min_opt().copied(), &same),
            int(s.max_opt().copied(), &same),
        ),
        (Statistics::Int64(s), ArrowType::Date64, _) if signed => {
            let day = |x: i64| Some(x.div_euclid(86_400_000));
            (
                int(s.min_opt().copied(), &day),
                int(s.max_opt().copied(), &day),
            )
        }
        (Statistics::Int64(s), ArrowType::Timestamp(unit, _), _) if signed => {
            // As `convert.rs` converts the values (a non-decreasing mapping, so
            // bounds stay bounds).
            let micros = |x: i64| match unit {
                TimeUnit::Second => x.checked_mul(1_000_000),
                TimeUnit::Millisecond => x.checked_mul(1_000),
                TimeUnit::Microsecond => Some(x),
                TimeUnit::Nanosecond => Some(x / 1_000),
            };
            (
                int(s.min_opt().copied(), &micros),
                int(s.max_opt().copied(), &micros),
            )
        }
        (Statistics::ByteArray(s), ArrowType::Utf8 | ArrowType::LargeUtf8, DataType::Varchar)
            if !stats.is_min_max_deprecated()
                && order == ColumnOrder::TYPE_DEFINED_ORDER(SortOrder::UNSIGNED) =>
        {
            let text = |b: Option<&parquet::data_type::ByteArray>| {
                b.and_then(|b| std::str::from_utf8(b.data()).ok())
                    .map(|t| Value::Str(t.into()))
            };
            (text(s.min_opt()), text(s.max_opt()))
        }
        _ => (None, None),
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
    batch: BatchConverter,
}

impl RowGroupReader {
    /// The next batch with dictionary-encoded strings kept as dictionaries,
    /// and its number of rows (a read of no columns still counts its rows).
    pub fn next_columns(&mut self) -> Option<Result<(Vec<ReadColumn>, usize)>> {
        Some(
            self.inner
                .next()?
                .and_then(|rb| Ok((self.batch.convert(&rb)?, rb.num_rows()))),
        )
    }
}

impl Iterator for RowGroupReader {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        Some(self.next_columns()?.map(|(cols, _)| Batch {
            columns: cols.into_iter().map(ReadColumn::into_column).collect(),
        }))
    }
}
