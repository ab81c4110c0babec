//! Writing a result to a file for `COPY ... TO`: CSV or JSON (one object per
//! line, or one array: `ARRAY true`), cell by cell from the column vectors, with
//! the bytes DuckDB's COPY writes
//! (numbers, timestamps, quoting, NULL), optionally compressed (gzip, zstd); or
//! Parquet, batch by batch through `crate::arrow`.
//!
//! The rows go to `<path>.tmp` first, which is renamed to `path` only when
//! every row was written ([`FileWriter::finish`]); a writer dropped before that
//! (an error, a cancelled query) removes its temporary file, so a failed COPY
//! leaves no file, half or whole.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::column::{Batch, ColumnData};
use crate::error::{Error, Result};
use crate::ingest::Compression;
use crate::schema::DataType;

/// The format of a written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteFormat {
    Csv,
    /// One JSON object per line (DuckDB's default for `FORMAT json`).
    Json,
    /// Parquet (the `arrow` feature), with [`WriteOptions::parquet`].
    Parquet,
}

/// How a file is written.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    pub format: WriteFormat,
    /// CSV: a first line of column names.
    pub header: bool,
    /// CSV: the field separator.
    pub delimiter: String,
    /// CSV: the quote character.
    pub quote: char,
    /// CSV: the character put before a quote (or itself) inside a quoted field;
    /// `"` by default whatever the quote is, as in DuckDB.
    pub escape: char,
    /// CSV: the text of a NULL.
    pub null: String,
    /// JSON: one array of the rows (`ARRAY true`) instead of one object per line.
    pub json_array: bool,
    pub compression: Compression,
    /// Parquet: the codec and row group size.
    #[cfg(feature = "arrow")]
    pub parquet: crate::arrow::ParquetOptions,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            format: WriteFormat::Csv,
            header: true,
            delimiter: ",".into(),
            quote: '"',
            escape: '"',
            null: String::new(),
            json_array: false,
            compression: Compression::None,
            #[cfg(feature = "arrow")]
            parquet: crate::arrow::ParquetOptions::default(),
        }
    }
}

/// What a JSON array file (`ARRAY true`) starts with, puts between rows, and
/// ends with.
const JSON_ARRAY_START: &str = "[\n\t";
const JSON_ARRAY_SEPARATOR: &str = ",\n\t";
const JSON_ARRAY_END: &str = "\n]\n";

/// A file being written: rows in, a whole file out at [`FileWriter::finish`].
pub struct FileWriter {
    path: PathBuf,
    tmp: PathBuf,
    out: Option<Sink>,
    options: WriteOptions,
    columns: Vec<(String, DataType)>,
    /// Quoted JSON keys, `"name":`.
    keys: Vec<String>,
    line: String,
    rows: u64,
}

/// Where rows go: text lines or a Parquet writer.
enum Sink {
    Text(Box<dyn FinishWrite>),
    #[cfg(feature = "arrow")]
    Parquet(Box<crate::arrow::ParquetWriter<BufWriter<File>>>),
}

/// The file under a text sink: buffered, counting the bytes that reach it (after
/// any compressor).
struct Counting {
    inner: BufWriter<File>,
    bytes: u64,
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Counting {
    fn into_file(self) -> std::io::Result<File> {
        self.inner.into_inner().map_err(|e| e.into_error())
    }
}

/// A byte sink that has a last step (the compressor's trailer).
trait FinishWrite: Write + Send {
    fn finish_write(self: Box<Self>) -> std::io::Result<File>;
    /// Bytes the file has received so far (a compressor holds some back).
    fn file_bytes(&self) -> u64;
}

impl FinishWrite for Counting {
    fn finish_write(self: Box<Self>) -> std::io::Result<File> {
        self.into_file()
    }

    fn file_bytes(&self) -> u64 {
        self.bytes
    }
}

impl FinishWrite for flate2::write::GzEncoder<Counting> {
    fn finish_write(self: Box<Self>) -> std::io::Result<File> {
        (*self).finish()?.into_file()
    }

    fn file_bytes(&self) -> u64 {
        self.get_ref().bytes
    }
}

impl FinishWrite for zstd::stream::write::Encoder<'static, Counting> {
    fn finish_write(self: Box<Self>) -> std::io::Result<File> {
        (*self).finish()?.into_file()
    }

    fn file_bytes(&self) -> u64 {
        self.get_ref().bytes
    }
}

/// A file written in full and synced under its temporary name, not yet renamed
/// to its path ([`Finished::publish`]); dropped before that, it is removed. A
/// COPY that writes several files publishes them only when all are written.
pub struct Finished {
    tmp: PathBuf,
    path: PathBuf,
}

impl Finished {
    /// Renames the file to its path.
    pub fn publish(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        // Renamed: nothing for Drop to remove.
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Drop for Finished {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

impl FileWriter {
    /// Creates `<path>.tmp` and writes the header. `path` itself is not touched
    /// until [`FileWriter::finish`].
    pub fn create(
        path: &Path,
        columns: &[(String, DataType)],
        options: WriteOptions,
    ) -> Result<FileWriter> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let io_err = |e: std::io::Error| Error::io(&tmp, e);
        let file = File::create(&tmp).map_err(io_err)?;
        let buffered = BufWriter::with_capacity(1 << 16, file);
        if options.format == WriteFormat::Parquet {
            #[cfg(feature = "arrow")]
            {
                let w = crate::arrow::ParquetWriter::new(buffered, path, columns, &options.parquet)
                    .inspect_err(|_| {
                        let _ = std::fs::remove_file(&tmp);
                    })?;
                return Ok(FileWriter {
                    path: path.to_path_buf(),
                    tmp,
                    out: Some(Sink::Parquet(Box::new(w))),
                    options,
                    columns: columns.to_vec(),
                    keys: Vec::new(),
                    line: String::new(),
                    rows: 0,
                });
            }
            #[cfg(not(feature = "arrow"))]
            {
                drop(buffered);
                let _ = std::fs::remove_file(&tmp);
                return Err(Error::InvalidInput(
                    "this logdb was built without the `arrow` feature: Parquet cannot be written"
                        .into(),
                ));
            }
        }
        let buffered = Counting {
            inner: buffered,
            bytes: 0,
        };
        let out: Box<dyn FinishWrite> = match options.compression {
            Compression::None => Box::new(buffered),
            Compression::Gzip => Box::new(flate2::write::GzEncoder::new(
                buffered,
                flate2::Compression::default(),
            )),
            Compression::Zstd => {
                Box::new(zstd::stream::write::Encoder::new(buffered, 3).map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    io_err(e)
                })?)
            }
        };
        let keys = columns
            .iter()
            .map(|(n, _)| {
                let mut k = String::new();
                json_string(&mut k, n);
                k.push(':');
                k
            })
            .collect();
        let mut w = FileWriter {
            path: path.to_path_buf(),
            tmp,
            out: Some(Sink::Text(out)),
            options,
            columns: columns.to_vec(),
            keys,
            line: String::new(),
            rows: 0,
        };
        if w.options.format == WriteFormat::Csv && w.options.header {
            let mut line = std::mem::take(&mut w.line);
            for (i, (name, _)) in w.columns.iter().enumerate() {
                if i > 0 {
                    line.push_str(&w.options.delimiter);
                }
                csv_field(&mut line, name, &w.options);
            }
            line.push('\n');
            w.write_line(&line)?;
            w.line = line;
        }
        if w.json_array() {
            // DuckDB's layout: `[`, the rows one per line after a tab, separated
            // by commas, `]` (so no rows is `[\n\t\n]\n`).
            w.write_line(JSON_ARRAY_START)?;
        }
        Ok(w)
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn json_array(&self) -> bool {
        self.options.format == WriteFormat::Json && self.options.json_array
    }

    fn write_line(&mut self, line: &str) -> Result<()> {
        let Some(Sink::Text(out)) = self.out.as_mut() else {
            return Err(Error::Internal(
                "text written to a finished or binary file".into(),
            ));
        };
        out.write_all(line.as_bytes())
            .map_err(|e| Error::io(&self.tmp, e))
    }

    /// Bytes of the file so far: those written out (after compression; a
    /// compressor holds back up to a few dozen KiB), for Parquet the row groups
    /// written.
    pub fn bytes(&self) -> u64 {
        match &self.out {
            Some(Sink::Text(out)) => out.file_bytes(),
            #[cfg(feature = "arrow")]
            Some(Sink::Parquet(w)) => w.bytes_written(),
            None => 0,
        }
    }

    /// Bytes held for the file and not counted in [`FileWriter::bytes`] yet: a
    /// Parquet row group being built (its estimated size).
    pub fn buffered_bytes(&self) -> u64 {
        match &self.out {
            #[cfg(feature = "arrow")]
            Some(Sink::Parquet(w)) => w.buffered_bytes(),
            _ => 0,
        }
    }

    /// Writes out what [`FileWriter::buffered_bytes`] counts (ends the Parquet
    /// row group being built).
    pub fn flush_buffered(&mut self) -> Result<()> {
        match &mut self.out {
            #[cfg(feature = "arrow")]
            Some(Sink::Parquet(w)) => w.flush(),
            _ => Ok(()),
        }
    }

    /// Writes the rows of `batch` (columns as given to `create`).
    pub fn write_batch(&mut self, batch: Batch) -> Result<()> {
        let n = batch.num_rows();
        #[cfg(feature = "arrow")]
        if let Some(Sink::Parquet(w)) = self.out.as_mut() {
            w.write(batch)?;
            self.rows += n as u64;
            return Ok(());
        }
        self.write_rows(&batch, 0..n)
    }

    /// Writes rows `rows` of `batch`.
    pub fn write_rows(&mut self, batch: &Batch, rows: std::ops::Range<usize>) -> Result<()> {
        #[cfg(feature = "arrow")]
        if let Some(Sink::Parquet(w)) = self.out.as_mut() {
            let part = if rows.start == 0 && rows.end == batch.num_rows() {
                batch.clone()
            } else {
                batch.take(&(rows.start as u32..rows.end as u32).collect::<Vec<_>>())
            };
            w.write(part)?;
            self.rows += rows.len() as u64;
            return Ok(());
        }
        let (first, n) = (rows.start as u64, rows.end);
        let mut line = std::mem::take(&mut self.line);
        let mut cell = String::new();
        // Written in pieces of about 1 MiB.
        let mut r = rows.start;
        while r < n {
            line.clear();
            while r < n && line.len() < 1 << 20 {
                match self.options.format {
                    WriteFormat::Json if self.options.json_array => {
                        if self.rows + r as u64 > first {
                            line.push_str(JSON_ARRAY_SEPARATOR);
                        }
                        self.json_row(&mut line, &mut cell, batch, r);
                    }
                    WriteFormat::Json => {
                        self.json_row(&mut line, &mut cell, batch, r);
                        line.push('\n');
                    }
                    _ => self.csv_row(&mut line, &mut cell, batch, r),
                }
                r += 1;
            }
            self.write_line(&line)?;
        }
        self.line = line;
        self.rows += n as u64 - first;
        Ok(())
    }

    fn csv_row(&self, line: &mut String, cell: &mut String, batch: &Batch, r: usize) {
        for (c, (_, ty)) in self.columns.iter().enumerate() {
            if c > 0 {
                line.push_str(&self.options.delimiter);
            }
            let col = &batch.columns[c];
            if !col.is_valid(r) {
                line.push_str(&self.options.null);
                continue;
            }
            match &col.data {
                ColumnData::Utf8(v) => csv_field(line, v.get(r), &self.options),
                _ => {
                    cell.clear();
                    write_value(cell, &col.data, *ty, r, false);
                    csv_field(line, cell, &self.options);
                }
            }
        }
        line.push('\n');
    }

    fn json_row(&self, line: &mut String, cell: &mut String, batch: &Batch, r: usize) {
        line.push('{');
        for (c, (_, ty)) in self.columns.iter().enumerate() {
            if c > 0 {
                line.push(',');
            }
            line.push_str(&self.keys[c]);
            let col = &batch.columns[c];
            if !col.is_valid(r) {
                line.push_str("null");
                continue;
            }
            match (&col.data, ty) {
                (ColumnData::Utf8(v), _) => json_string(line, v.get(r)),
                (ColumnData::Int64(_), DataType::Date | DataType::Time)
                | (ColumnData::Ip(_), _) => {
                    cell.clear();
                    write_value(cell, &col.data, *ty, r, true);
                    json_string(line, cell);
                }
                (ColumnData::Int64(_), t) if t.is_timestamp() => {
                    cell.clear();
                    write_value(cell, &col.data, *ty, r, true);
                    json_string(line, cell);
                }
                _ => write_value(line, &col.data, *ty, r, true),
            }
        }
        line.push('}');
    }

    /// Ends the file (compressor trailer, flush, fsync) and renames it to its
    /// path; returns the rows written.
    pub fn finish(self) -> Result<u64> {
        let (file, rows) = self.close()?;
        file.publish()?;
        Ok(rows)
    }

    /// Ends the file (compressor trailer, flush, fsync) under its temporary
    /// name; returns it, to be renamed to its path, and the rows written.
    pub fn close(mut self) -> Result<(Finished, u64)> {
        let io_err = |path: &Path, e: std::io::Error| Error::io(path, e);
        let out = self
            .out
            .take()
            .ok_or_else(|| Error::Internal("file finished twice".into()))?;
        let file = match out {
            Sink::Text(mut out) => {
                if self.json_array() {
                    out.write_all(JSON_ARRAY_END.as_bytes())
                        .map_err(|e| io_err(&self.tmp, e))?;
                }
                out.finish_write().map_err(|e| io_err(&self.tmp, e))?
            }
            #[cfg(feature = "arrow")]
            Sink::Parquet(w) => w
                .finish()?
                .into_inner()
                .map_err(|e| io_err(&self.tmp, e.into_error()))?,
        };
        file.sync_all().map_err(|e| io_err(&self.tmp, e))?;
        drop(file);
        // The temporary file is the Finished's to rename or remove now.
        let tmp = std::mem::take(&mut self.tmp);
        Ok((
            Finished {
                tmp,
                path: self.path.clone(),
            },
            self.rows,
        ))
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            drop(self.out.take());
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Appends a non-NULL cell as COPY writes it in csv, unquoted (a partition
/// directory's value).
pub fn write_cell(out: &mut String, data: &ColumnData, ty: DataType, r: usize) {
    match data {
        ColumnData::Utf8(v) => out.push_str(v.get(r)),
        _ => write_value(out, data, ty, r, false),
    }
}

/// Appends a non-NULL, non-string cell as DuckDB's COPY writes it: doubles as
/// DuckDB casts them to VARCHAR in CSV (`1e+20`, `0.1`, `3.0`) and as its JSON
/// writer does in JSON (`100000000000000000000.0`, `1e-7`, `NaN`).
fn write_value(out: &mut String, data: &ColumnData, ty: DataType, r: usize, json: bool) {
    match data {
        ColumnData::Int64(v) => match ty {
            DataType::Timestamp => crate::time::write_timestamp(out, v[r]),
            DataType::Date => crate::time::write_date(out, v[r]),
            DataType::Time => crate::time_units::write_time(out, v[r]),
            t if t.is_timestamp() => crate::time_units::write(out, t, v[r]),
            // JSON: a number, as DuckDB writes it (through DOUBLE); CSV: exact.
            DataType::Decimal { scale, .. } if json => {
                json_double(out, crate::decimal::to_f64(v[r], scale))
            }
            DataType::Decimal { scale, .. } => crate::decimal::write(out, v[r], scale),
            _ => {
                let _ = write!(out, "{}", v[r]);
            }
        },
        ColumnData::Float64(v) if json => json_double(out, v[r]),
        ColumnData::Float64(v) => csv_double(out, v[r]),
        ColumnData::Bool(v) => out.push_str(if v[r] { "true" } else { "false" }),
        ColumnData::Utf8(v) => out.push_str(v.get(r)),
        ColumnData::Ip(v) if ty == DataType::Interval => {
            crate::interval::write(out, crate::interval::Interval::unpack(v[r]))
        }
        ColumnData::Ip(v) => out.push_str(&crate::ip::format(v[r])),
        ColumnData::List(v) => {
            crate::list::write(out, &v.get(r), ty.list_elem().unwrap_or(DataType::Varchar))
        }
    }
}

/// The shortest digits that read back as `x` (finite, not zero) and the
/// decimal exponent of the first: `x = 0.d1d2... * 10^(exp + 1)`.
fn shortest_digits(x: f64) -> (String, i32) {
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// Digits placed at decimal exponent `exp` in fixed notation, `.0` when whole.
fn fixed(out: &mut String, digits: &str, exp: i32) {
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
        return;
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        out.push_str(digits);
        for _ in digits.len()..int_len {
            out.push('0');
        }
        out.push_str(".0");
    } else {
        out.push_str(&digits[..int_len]);
        out.push('.');
        out.push_str(&digits[int_len..]);
    }
}

/// `d.ddd` of scientific notation.
fn mantissa(out: &mut String, digits: &str) {
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
}

/// A DOUBLE as DuckDB casts it to VARCHAR: fixed notation for decimal exponents
/// -4 to 15 (`0.0001`, `1000000000000000.0`), else scientific with a signed
/// exponent of at least two digits (`1e-05`, `1.5e+16`); `nan`, `inf`, `-inf`.
pub fn csv_double(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("nan");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
    } else if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0.0" } else { "0.0" });
    } else {
        if x < 0.0 {
            out.push('-');
        }
        let (digits, exp) = shortest_digits(x);
        if (-4..16).contains(&exp) {
            fixed(out, &digits, exp);
        } else {
            mantissa(out, &digits);
            let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
        }
    }
}

/// A DOUBLE as DuckDB's JSON writer writes it: fixed notation for decimal
/// exponents -6 to 20 (`0.000001`, `100000000000000000000.0`), else scientific
/// without a plus sign (`1e21`, `1.5e-7`); `NaN`, `Infinity`, `-Infinity`.
pub fn json_double(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("NaN");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    } else if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0.0" } else { "0.0" });
    } else {
        if x < 0.0 {
            out.push('-');
        }
        let (digits, exp) = shortest_digits(x);
        if (-6..21).contains(&exp) {
            fixed(out, &digits, exp);
        } else {
            mantissa(out, &digits);
            let _ = write!(out, "e{exp}");
        }
    }
}

/// A CSV field as DuckDB's COPY writes it: quoted when it holds the delimiter,
/// the quote character, CR or LF, or equals the NULL text (an empty
/// string with the default NULL text: `""`); quotes and escapes inside get the
/// escape character before them (by default `"`: doubled).
fn csv_field(out: &mut String, s: &str, options: &WriteOptions) {
    let (q, e) = (options.quote, options.escape);
    let needs = s == options.null
        || s.contains(q)
        || s.contains(['\n', '\r'])
        || (!options.delimiter.is_empty() && s.contains(options.delimiter.as_str()));
    if !needs {
        out.push_str(s);
        return;
    }
    out.push(q);
    for ch in s.chars() {
        if ch == q || ch == e {
            out.push(e);
        }
        out.push(ch);
    }
    out.push(q);
}

/// A JSON string: `"`, `\` and control characters escaped as DuckDB does.
pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(x: f64) -> String {
        let mut s = String::new();
        csv_double(&mut s, x);
        s
    }

    fn json(x: f64) -> String {
        let mut s = String::new();
        json_double(&mut s, x);
        s
    }

    /// Expected texts from DuckDB 1.x (`x::VARCHAR` and `COPY ... (FORMAT json)`).
    #[test]
    fn doubles_print_as_duckdb_writes_them() {
        for (x, c, j) in [
            (1e20, "1e+20", "100000000000000000000.0"),
            (1.5, "1.5", "1.5"),
            (0.1, "0.1", "0.1"),
            (1e-7, "1e-07", "1e-7"),
            (1e300, "1e+300", "1e300"),
            (3.0, "3.0", "3.0"),
            (123456789.123, "123456789.123", "123456789.123"),
            (1e16, "1e+16", "10000000000000000.0"),
            (1e15, "1000000000000000.0", "1000000000000000.0"),
            (2.5e-5, "2.5e-05", "0.000025"),
            (0.0001, "0.0001", "0.0001"),
            (1e21, "1e+21", "1e21"),
            (1.5e-7, "1.5e-07", "1.5e-7"),
            (1e-6, "1e-06", "0.000001"),
            (
                12345678901234567890.0,
                "1.2345678901234567e+19",
                "12345678901234567000.0",
            ),
            (5e-324, "5e-324", "5e-324"),
            (-2.5, "-2.5", "-2.5"),
        ] {
            assert_eq!(csv(x), c, "{x}");
            assert_eq!(json(x), j, "{x}");
        }
        assert_eq!(csv(f64::NAN), "nan");
        assert_eq!(json(f64::NEG_INFINITY), "-Infinity");
    }
}
