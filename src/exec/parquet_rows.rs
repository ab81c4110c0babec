//! The row groups of a Parquet read: which are read (those whose statistics
//! do not rule out the filter's `StatsPredicate`s), and how each is decoded
//! under the filter above the read ([`RowFilterPlan`]).
//!
//! The filter's conjuncts go into the reader, in order: each is decoded and
//! tested only for the rows the ones before it kept, and the columns the query
//! reads are decoded only for rows passing them all (arrow-rs skips whole pages
//! of other rows without decompressing them). A selective filter so costs the
//! decoding of its own columns, not of every column read. Conjuncts from the
//! first that reads no file column on (only `filename` or hive columns) are
//! evaluated afterwards, so that no conjunct runs on rows an earlier one
//! removed.
//!
//! Used by `ParquetAggregate` (`parquet_aggregate.rs`), by the `TableFunction`
//! source (`read_parquet.rs`) and by EXPLAIN.

use super::vector::{self, VData, Vector};
use crate::arrow::{ParquetFile, ReadColumn, RowGroupReader, RowTest};
use crate::column::Value;
use crate::error::{Error, Result};
use crate::index::stats;
use crate::plan::{AggExpr, Expr, FileRead};
use crate::schema::DataType;

/// The rows arrow-rs decodes at a time: a segment block's worth, so that a
/// batch's buffers stay small enough to be reused by the allocator instead of
/// being mapped and faulted in afresh.
pub const DECODE_ROWS: usize = 8192;

/// The files of a Parquet read and the row groups to decode.
pub struct RowGroups {
    pub files: Vec<ParquetFile>,
    /// `(file, row group)` in file and row-group order: those the statistics
    /// did not rule out.
    pub tasks: Vec<(usize, usize)>,
    /// The row groups of all files.
    pub total: usize,
}

/// Opens every file's footer (each must have the columns the query was bound
/// with) and lists the row groups whose statistics may hold a row passing
/// every conjunct of `read.stats_filter`.
pub fn row_groups(read: &FileRead) -> Result<RowGroups> {
    let mut files = Vec::with_capacity(read.files.len());
    let mut tasks = Vec::new();
    let mut total = 0;
    let bound = &read.columns;
    for (i, path) in read.files.iter().enumerate() {
        let file = ParquetFile::open(path)?;
        if file.columns() != bound.as_slice() {
            return Err(Error::InvalidInput(format!(
                "read_parquet: {} has the columns ({}), unlike the first file's ({})",
                path.display(),
                describe(file.columns()),
                describe(bound),
            )));
        }
        total += file.row_groups();
        for rg in 0..file.row_groups() {
            let keep = read.stats_filter.iter().all(|p| {
                let r = file.column_range(rg, p.column());
                let b = stats::Bounds {
                    min: r.min.as_ref(),
                    max: r.max.as_ref(),
                    all_null: r.all_null,
                };
                stats::may_match(p, &b)
            });
            if keep {
                tasks.push((i, rg));
            }
        }
        files.push(file);
    }
    Ok(RowGroups {
        files,
        tasks,
        total,
    })
}

fn describe(columns: &[(String, DataType)]) -> String {
    columns
        .iter()
        .map(|(n, t)| format!("{n} {t}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How each row group of a Parquet read is decoded under a filter. Column
/// positions here are the read's output positions: the projected file columns
/// (`0..files`), then `filename`, then the hive columns.
pub struct RowFilterPlan {
    /// File columns decoded for the rows passing the filter (ascending).
    decoded: Vec<usize>,
    /// Conjuncts tested in the reader, in order, with the file columns each
    /// reads (ascending).
    pushed: Vec<(Expr, Vec<usize>)>,
    /// Conjuncts evaluated over the decoded rows, in order.
    after: Vec<Expr>,
    /// The read's projected file columns, by position in the file.
    file_columns: Vec<usize>,
    /// All output columns.
    width: usize,
}

impl RowFilterPlan {
    /// The plan for `read` under `filters` (outermost first, as the filter
    /// nodes above the read), decoding the file columns `needed` marks (none
    /// at all for `count(*)`: the reader still counts the rows).
    pub fn new(
        read: &FileRead,
        filters: &[&Expr],
        needed: impl Fn(usize) -> bool,
    ) -> RowFilterPlan {
        let file_columns: Vec<usize> = read
            .projection
            .clone()
            .unwrap_or_else(|| (0..read.columns.len()).collect());
        let files = file_columns.len();
        let width = files + usize::from(read.filename) + read.hive.len();
        let (mut pushed, mut after) = (Vec::new(), Vec::new());
        // The innermost filter applies first.
        for c in filters.iter().rev().flat_map(|f| Expr::conjuncts(f)) {
            let mut cols = Vec::new();
            c.for_each_column(&mut |i| {
                if i < files {
                    cols.push(i);
                }
            });
            cols.sort_unstable();
            cols.dedup();
            if after.is_empty() && !cols.is_empty() {
                pushed.push((c.clone(), cols));
            } else {
                after.push(c.clone());
            }
        }
        let mut used = vec![false; files];
        for (i, u) in used.iter_mut().enumerate() {
            *u = needed(i);
        }
        for c in &after {
            c.for_each_column(&mut |i| {
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
            });
        }
        let decoded: Vec<usize> = (0..files).filter(|&i| used[i]).collect();
        RowFilterPlan {
            decoded,
            pushed,
            after,
            file_columns,
            width,
        }
    }

    /// The plan of an aggregate over `read`: the columns its keys and
    /// aggregates read are decoded, for the rows passing `filters`.
    pub fn for_aggregate(
        read: &FileRead,
        filters: &[&Expr],
        group: &[(Expr, String)],
        aggs: &[(AggExpr, String)],
    ) -> RowFilterPlan {
        let mut used = Vec::new();
        let mut mark = |e: &Expr| {
            e.for_each_column(&mut |i| {
                if used.len() <= i {
                    used.resize(i + 1, false);
                }
                used[i] = true;
            })
        };
        for (e, _) in group {
            mark(e);
        }
        for (a, _) in aggs {
            [&a.arg, &a.arg2, &a.filter]
                .into_iter()
                .flatten()
                .for_each(&mut mark);
        }
        RowFilterPlan::new(read, filters, |i| used.get(i).copied().unwrap_or(false))
    }

    /// The names of the file columns decoded for the rows passing the filter.
    pub fn decoded_names<'r>(&self, read: &'r FileRead) -> Vec<&'r str> {
        self.decoded
            .iter()
            .filter_map(|&i| self.file_columns.get(i))
            .filter_map(|&c| read.columns.get(c))
            .map(|(n, _)| n.as_str())
            .collect()
    }

    /// The conjuncts left for after the reader.
    pub fn after(&self) -> &[Expr] {
        &self.after
    }

    /// Opens row group `rg` of `file` (the read's file number `f`): its batches
    /// hold the [`RowFilterPlan::decoded`] columns of the rows passing the
    /// pushed conjuncts.
    pub fn open(
        &self,
        read: &FileRead,
        file: &ParquetFile,
        f: usize,
        rg: usize,
    ) -> Result<RowGroupReader> {
        let constants = constants(read, f);
        let tests = self
            .pushed
            .iter()
            .map(|(expr, cols)| {
                let (expr, cols) = (expr.clone(), cols.clone());
                let (constants, width, files) =
                    (constants.clone(), self.width, self.file_columns.len());
                let mut sel = Vec::new();
                RowTest {
                    columns: cols.iter().map(|&i| self.file_columns[i]).collect(),
                    test: Box::new(move |decoded: Vec<ReadColumn>| {
                        let len = decoded.first().map_or(0, ReadColumn::len);
                        let mut vecs = vec![Vector::constant(Value::Null); width];
                        for (&i, c) in cols.iter().zip(decoded) {
                            vecs[i] = vector_of(c);
                        }
                        for (k, c) in constants.iter().enumerate() {
                            vecs[files + k] = c.clone();
                        }
                        vector::select(&expr, &vecs, len, &mut sel)?;
                        let mut keep = vec![false; len];
                        for &r in &sel {
                            keep[r as usize] = true;
                        }
                        Ok(keep)
                    }),
                }
            })
            .collect();
        let decoded: Vec<usize> = self.decoded.iter().map(|&i| self.file_columns[i]).collect();
        file.read_row_group_where(rg, DECODE_ROWS, Some(&decoded), tests)
    }

    /// A batch of [`RowFilterPlan::decoded`] columns as vectors over every
    /// output column: the decoded ones, the constants of file `f` (filename,
    /// hive columns), and NULL for the file columns not decoded.
    pub fn vectors(&self, cols: Vec<ReadColumn>, constants: &[Vector]) -> Result<Vec<Vector>> {
        if cols.len() != self.decoded.len() {
            return Err(Error::Internal(format!(
                "a Parquet batch of {} columns, {} expected",
                cols.len(),
                self.decoded.len()
            )));
        }
        let mut vecs = vec![Vector::constant(Value::Null); self.width];
        for (&i, c) in self.decoded.iter().zip(cols) {
            vecs[i] = vector_of(c);
        }
        let files = self.file_columns.len();
        for (k, c) in constants.iter().enumerate() {
            vecs[files + k] = c.clone();
        }
        Ok(vecs)
    }
}

/// The constant output columns of file `f` of `read`: `filename`, then the hive
/// columns.
pub fn constants(read: &FileRead, f: usize) -> Vec<Vector> {
    let mut out = Vec::new();
    if read.filename {
        let name = read.files.get(f).map(|p| p.display().to_string());
        out.push(Vector::constant(
            name.map_or(Value::Null, |n| Value::Str(n.into())),
        ));
    }
    let values = read.hive_values.get(f).map_or(&[][..], Vec::as_slice);
    for k in 0..read.hive.len() {
        out.push(Vector::constant(
            values.get(k).cloned().unwrap_or(Value::Null),
        ));
    }
    out
}

/// A batch's column as a vector (dictionaries kept).
pub fn vector_of(c: ReadColumn) -> Vector {
    match c {
        ReadColumn::Plain(c) => super::materialized::into_vector(c),
        ReadColumn::Dict {
            codes,
            dict,
            validity,
        } => Vector::new(VData::Dict { codes, dict }, validity),
    }
}
