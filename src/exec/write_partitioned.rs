//! `COPY ... TO 'dir' (PARTITION_BY (cols))`: a result written as one file per
//! distinct value of the partition columns, in Hive-style directories as DuckDB
//! lays them out: `dir/a=1/b=x/data_0.parquet`. Values are written as COPY
//! writes them in csv (timestamps `2024-01-02 03:04:05`, doubles `1.5`), then
//! percent-encoded except for letters, digits and `-_.~` (`a/b` is `a%2Fb`); NULL
//! is `__HIVE_DEFAULT_PARTITION__`. The partition columns are not in the files.
//!
//! Every partition's file is a [`FileSeries`] of its own (one file, `data_0`,
//! or with `FILE_SIZE_BYTES` `data_0`, `data_1`, ... each started when the last
//! passed the size), open until the end; every file stays under its temporary
//! name until all are written; at most [`MAX_OPEN_FILES`] partitions, past
//! which the COPY fails saying so.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use super::write_files::{write_cell, WriteOptions};
use super::write_rotating::{publish, FileSeries};
use crate::column::Batch;
use crate::error::{Error, Result};
use crate::schema::DataType;

/// The most partitions one COPY writes.
pub const MAX_OPEN_FILES: usize = 1000;

/// A partitioned write in progress.
pub struct PartitionedWriter {
    dir: PathBuf,
    /// The partition columns, in PARTITION_BY order: position, name, type.
    keys: Vec<(usize, String, DataType)>,
    /// Positions of the written columns.
    values: Vec<usize>,
    columns: Vec<(String, DataType)>,
    extension: String,
    options: WriteOptions,
    /// A partition's files start anew past this many bytes (`FILE_SIZE_BYTES`).
    limit: Option<u64>,
    writers: HashMap<String, FileSeries>,
}

impl PartitionedWriter {
    /// Starts writing `columns` under `dir` (created if missing), partitioned by
    /// `by` (column names); `extension` names the files (`parquet`, `csv`, ...),
    /// `limit` is the size past which a partition's next file starts.
    pub fn create(
        dir: &Path,
        columns: &[(String, DataType)],
        by: &[String],
        extension: &str,
        options: WriteOptions,
        limit: Option<u64>,
    ) -> Result<PartitionedWriter> {
        let mut keys = Vec::with_capacity(by.len());
        for name in by {
            let Some(i) = columns
                .iter()
                .position(|(c, _)| c.eq_ignore_ascii_case(name))
            else {
                return Err(Error::InvalidInput(format!(
                    "COPY: PARTITION_BY column '{name}' is not in the result (its columns: {})",
                    columns
                        .iter()
                        .map(|(c, _)| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            keys.push((i, columns[i].0.clone(), columns[i].1));
        }
        let values: Vec<usize> = (0..columns.len())
            .filter(|i| !keys.iter().any(|(k, _, _)| k == i))
            .collect();
        if values.is_empty() {
            return Err(Error::InvalidInput(
                "COPY: every column is a PARTITION_BY column; nothing would be written".into(),
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Ok(PartitionedWriter {
            dir: dir.to_path_buf(),
            keys,
            columns: values.iter().map(|&i| columns[i].clone()).collect(),
            values,
            extension: extension.to_string(),
            options,
            limit,
            writers: HashMap::new(),
        })
    }

    /// Writes the rows of `batch`, each to its partition's file.
    pub fn write_batch(&mut self, batch: &Batch) -> Result<()> {
        let mut groups: HashMap<String, Vec<u32>> = HashMap::new();
        let mut key = String::new();
        let mut cell = String::new();
        for r in 0..batch.num_rows() {
            key.clear();
            for (k, (c, name, ty)) in self.keys.iter().enumerate() {
                if k > 0 {
                    key.push('/');
                }
                percent_encode(&mut key, name);
                key.push('=');
                let col = &batch.columns[*c];
                if col.is_valid(r) {
                    cell.clear();
                    write_cell(&mut cell, &col.data, *ty, r);
                    percent_encode(&mut key, &cell);
                } else {
                    key.push_str("__HIVE_DEFAULT_PARTITION__");
                }
            }
            match groups.get_mut(key.as_str()) {
                Some(rows) => rows.push(r as u32),
                None => {
                    groups.insert(key.clone(), vec![r as u32]);
                }
            }
        }
        for (key, rows) in groups {
            if !self.writers.contains_key(&key) {
                if self.writers.len() >= MAX_OPEN_FILES {
                    return Err(Error::ResourcesExhausted(format!(
                        "COPY: more than {MAX_OPEN_FILES} partitions; partition by fewer values"
                    )));
                }
                let dir = self.dir.join(&key);
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                let w = FileSeries::new(
                    &dir,
                    &self.columns,
                    &self.extension,
                    self.options.clone(),
                    self.limit,
                    Arc::new(AtomicUsize::new(0)),
                );
                self.writers.insert(key.clone(), w);
            }
            let part = batch.take(&rows);
            let projected = Batch {
                columns: self
                    .values
                    .iter()
                    .map(|&i| part.columns[i].clone())
                    .collect(),
            };
            if let Some(w) = self.writers.get_mut(&key) {
                w.write_batch(&projected)?;
            }
        }
        Ok(())
    }

    /// Finishes every file, then renames them all; returns the rows written.
    pub fn finish(self) -> Result<u64> {
        let mut files = Vec::new();
        let mut rows = 0;
        for (_, w) in self.writers {
            let (f, r) = w.close()?;
            files.extend(f);
            rows += r;
        }
        publish(files)?;
        Ok(rows)
    }
}

/// Appends `text` percent-encoded: letters, digits and `-_.~` as they are, every
/// other byte of its UTF-8 as `%XX`.
fn percent_encode(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}
