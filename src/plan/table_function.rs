//! Table functions in FROM (`range(10)`, `generate_series(a, b, step)`): what a
//! call produces, with its arguments evaluated at bind time. The binder builds a
//! [`TableFunc`] (`sql/bind/table_functions.rs`), the plan carries it in a
//! [`crate::plan::LogicalPlan::TableFunction`] node, and the executor turns it into a
//! source of batches (`exec/table_function.rs`). A new table function (a file
//! reader) is a new variant here, its binding there and its source in exec.

use std::path::PathBuf;

use crate::schema::DataType;

/// A table function call, ready to run.
#[derive(Clone, Debug, PartialEq)]
pub enum TableFunc {
    /// `range` / `generate_series`: one column of evenly spaced values.
    Series(Series),
    /// `read_log` / `read_csv` / `read_json` and `FROM 'file'`: the rows of files.
    ReadFile(Box<FileRead>),
}

impl TableFunc {
    /// The function's name as written in SQL.
    pub fn name(&self) -> &'static str {
        match self {
            TableFunc::Series(s) => s.name(),
            TableFunc::ReadFile(r) => r.function,
        }
    }

    /// How many rows the call produces (exact for a series, estimated from the
    /// sample's line length for a file), for join sides and EXPLAIN.
    pub fn rows(&self) -> u64 {
        match self {
            TableFunc::Series(s) => s.len(),
            TableFunc::ReadFile(r) => r.estimated_rows(),
        }
    }

    /// The call with its evaluated arguments, as EXPLAIN prints it.
    pub fn describe(&self) -> String {
        match self {
            TableFunc::Series(s) => {
                let arg = |v: i64| match s.data_type {
                    DataType::Timestamp => format!("'{}'", crate::time::format_timestamp(v)),
                    _ => v.to_string(),
                };
                let step = match s.data_type {
                    DataType::Timestamp => format!("{} us", s.step),
                    _ => s.step.to_string(),
                };
                format!("{}({}, {}, {step})", s.name(), arg(s.start), arg(s.stop))
            }
            TableFunc::ReadFile(r) => {
                let files = match r.files.len() {
                    1 => "1 file".to_string(),
                    n => format!("{n} files"),
                };
                let read = match &r.projection {
                    Some(p) => format!(", {} of {} columns", p.len(), r.columns.len()),
                    None => String::new(),
                };
                let format = match (r.format.as_str(), r.json_format) {
                    ("jsonl", JsonFormat::Array) => "json_array",
                    ("jsonl", JsonFormat::Auto) => "json_auto",
                    (f, _) => f,
                };
                format!(
                    "{}('{}', format={format}, {files}{read})",
                    r.function,
                    r.pattern.replace('\'', "''"),
                )
            }
        }
    }
}

/// A file reader: the files a path, directory or glob named (expanded when the
/// query was bound), how to parse them (an ingest format and its options), and
/// the schema detection and inference settled from the head of the first file.
#[derive(Clone, Debug, PartialEq)]
pub struct FileRead {
    /// `read_log`, `read_csv` or `read_json`, as EXPLAIN names the reader.
    pub function: &'static str,
    /// The path or pattern as written.
    pub pattern: String,
    /// The files to read, in order.
    pub files: Vec<PathBuf>,
    /// Their total size in bytes (compressed), for the row estimate.
    pub bytes: u64,
    /// The ingest format (`combined`, `nginx`, `csv`, `jsonl`, ...).
    pub format: String,
    /// The nginx `log_format` (format `nginx`).
    pub log_format: Option<String>,
    /// How read_json's files hold their records (the other readers: lines as
    /// they are, [`JsonFormat::NewlineDelimited`]).
    pub json_format: JsonFormat,
    /// The field separator of `csv` (`,` unless `delim` says otherwise).
    pub delimiter: Option<u8>,
    /// The first lines of the first file, from which a records format infers its
    /// columns (its header, for csv); the parser gets the same sample when the
    /// query runs, so it produces the bound schema.
    pub sample: Vec<u8>,
    /// The columns the parser produces, in order.
    pub columns: Vec<(String, DataType)>,
    /// `columns` are the user's (`read_csv(..., columns := {...})`): the parser
    /// takes them as they are instead of inferring them from `sample`.
    pub declared: bool,
    /// csv: whether the first line of each file is a header (`None`: the
    /// reader's default, see `ingest::CsvOptions`).
    pub header: Option<bool>,
    /// csv: names for the first columns (`names := [...]`).
    pub names: Vec<String>,
    /// csv: types for some of the file's columns, by position (`types :=
    /// {...}` or `[...]`); the others inferred.
    pub types: Vec<Option<DataType>>,
    /// Rejected lines are skipped and counted in a notice (true, logdb's
    /// default), or the first one fails the query (`ignore_errors := false`).
    pub ignore_errors: bool,
    /// A last VARCHAR column `filename` with each row's file.
    pub filename: bool,
    /// Where rejected lines are written (a path the user named).
    pub reject_file: Option<PathBuf>,
    /// The rows, where the files say (Parquet footers).
    pub rows: Option<u64>,
    /// The columns read, by position in `columns`, when the optimizer found
    /// some unused (Parquet only: the others are not decoded). The output is
    /// these columns, then `filename`, then the hive columns.
    pub projection: Option<Vec<usize>>,
    /// Conjuncts of the filter above the read that a Parquet row group's
    /// statistics can rule out (columns by position in `columns`), set by the
    /// optimizer: row groups none of whose rows can pass are not read.
    pub stats_filter: Vec<crate::index::StatsPredicate>,
    /// Hive partition columns (`day=2024-01-01` directories), after the
    /// filename column: their names and types.
    pub hive: Vec<(String, DataType)>,
    /// Per file, the value of each hive column (`Value::Null` for
    /// `__HIVE_DEFAULT_PARTITION__`; a DATE as `Value::Int` days).
    pub hive_values: Vec<Vec<crate::column::Value>>,
}

/// read_json's `format`: how a file holds its JSON records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonFormat {
    /// One record per line (`newline_delimited`; read_ndjson).
    NewlineDelimited,
    /// One top-level array of records (`array`).
    Array,
    /// Per file: an array when its first byte other than whitespace is `[`, else
    /// newline-delimited (`auto`, DuckDB's default).
    Auto,
}

impl JsonFormat {
    /// Whether a file is read as an array: yes, no, or `None` (detect it).
    pub fn array(self) -> Option<bool> {
        match self {
            JsonFormat::NewlineDelimited => Some(false),
            JsonFormat::Array => Some(true),
            JsonFormat::Auto => None,
        }
    }
}

impl FileRead {
    /// Rows expected: the files' size over the mean line length of the sample.
    pub fn estimated_rows(&self) -> u64 {
        if let Some(rows) = self.rows {
            return rows;
        }
        let lines = memchr_count(&self.sample).max(1);
        let per_line = (self.sample.len() as u64 / lines).max(1);
        self.bytes / per_line
    }
}

fn memchr_count(data: &[u8]) -> u64 {
    data.iter().filter(|&&b| b == b'\n').count() as u64
}

/// `range(start, stop, step)` (stop excluded) or `generate_series(start, stop,
/// step)` (stop included), over BIGINT or TIMESTAMP (micros, a fixed-length
/// INTERVAL step). `step` is never 0. A NULL argument gives no rows (`empty`).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub start: i64,
    pub stop: i64,
    pub step: i64,
    /// `generate_series`: the stop value is part of the series.
    pub inclusive: bool,
    /// BIGINT or TIMESTAMP.
    pub data_type: DataType,
    /// A NULL argument: no rows.
    pub empty: bool,
}

impl Series {
    pub fn name(&self) -> &'static str {
        if self.inclusive {
            "generate_series"
        } else {
            "range"
        }
    }

    /// The number of values: `start + k * step` for `k` in `0..len()`, none past
    /// `stop` (computed in 128 bits, so no bound overflows).
    pub fn len(&self) -> u64 {
        if self.empty || self.step == 0 {
            return 0;
        }
        let (start, stop, step) = (self.start as i128, self.stop as i128, self.step as i128);
        let span = if step > 0 { stop - start } else { start - stop };
        let step = step.abs();
        let n = if self.inclusive {
            if span < 0 {
                0
            } else {
                span / step + 1
            }
        } else if span <= 0 {
            0
        } else {
            (span + step - 1) / step
        };
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value number `k` (`k < len()`).
    pub fn value(&self, k: u64) -> i64 {
        (self.start as i128 + k as i128 * self.step as i128) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(start: i64, stop: i64, step: i64, inclusive: bool) -> Vec<i64> {
        let s = Series {
            start,
            stop,
            step,
            inclusive,
            data_type: DataType::BigInt,
            empty: false,
        };
        (0..s.len()).map(|k| s.value(k)).collect()
    }

    #[test]
    fn ranges_exclude_and_series_include_the_stop() {
        assert_eq!(series(0, 3, 1, false), [0, 1, 2]);
        assert_eq!(series(0, 3, 1, true), [0, 1, 2, 3]);
        assert_eq!(series(0, 10, 3, false), [0, 3, 6, 9]);
        assert_eq!(series(0, 9, 3, false), [0, 3, 6]);
        assert_eq!(series(0, 9, 3, true), [0, 3, 6, 9]);
        assert_eq!(series(5, 2, -1, false), [5, 4, 3]);
        assert_eq!(series(5, 2, -1, true), [5, 4, 3, 2]);
        assert!(series(10, 0, 1, false).is_empty());
        assert!(series(0, 10, -1, true).is_empty());
        assert_eq!(series(1, 1, 1, true), [1]);
        assert!(series(1, 1, 1, false).is_empty());
    }

    #[test]
    fn bounds_at_the_ends_of_i64_do_not_overflow() {
        assert_eq!(
            series(i64::MIN, i64::MAX, 1 << 62, false),
            [i64::MIN, -(1 << 62), 0, 1 << 62]
        );
        assert_eq!(
            series(i64::MAX - 1, i64::MAX, 1, true),
            [i64::MAX - 1, i64::MAX]
        );
        assert_eq!(series(i64::MAX, i64::MIN, i64::MIN, true), [i64::MAX, -1]);
        let all = Series {
            start: i64::MIN,
            stop: i64::MAX,
            step: 1,
            inclusive: true,
            data_type: DataType::BigInt,
            empty: false,
        };
        assert_eq!(all.len(), u64::MAX);
    }
}
