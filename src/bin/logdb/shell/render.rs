//! Output modes: how a query result is written.
//!
//! Cells are read straight from the result's column vectors (no per-row `Value`) and
//! formatted into one reused buffer, so exporting millions of rows as CSV allocates
//! per batch, not per cell.

use std::fmt::Write as _;
use std::io::{self, Write};

use logdb::column::{Column, ColumnData, ListVec, Value};
use logdb::exec::write_files::json_string;
use logdb::schema::DataType;
use logdb::QueryResult;

/// An output mode (`-o MODE`, `.mode MODE`, `... FORMAT MODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Box-drawing table, numbers right-aligned, long results shown head and tail.
    Box,
    /// RFC 4180 CSV with a header line; NULL is an empty field.
    Csv,
    /// Tab-separated with a header line; tab, newline, CR and backslash escaped.
    Tsv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// A GitHub-flavoured Markdown table.
    Markdown,
    /// One `column = value` per line, a blank line between rows.
    Line,
    /// A horizontal bar chart of a (label, number) result.
    Bar,
    /// An Arrow IPC stream (binary): for pipes into pyarrow, Polars or pandas.
    Arrow,
}

/// Every mode with its names (the first is the canonical one).
pub const MODES: &[(&[&str], Mode)] = &[
    (&["box", "table", "duckbox"], Mode::Box),
    (&["csv", "csvwithnames"], Mode::Csv),
    (
        &["tsv", "tabs", "tabseparated", "tabseparatedwithnames"],
        Mode::Tsv,
    ),
    (&["json"], Mode::Json),
    (&["jsonl", "ndjson", "jsoneachrow"], Mode::Jsonl),
    (&["markdown", "md"], Mode::Markdown),
    (&["line"], Mode::Line),
    (&["bar", "chart"], Mode::Bar),
    (&["arrow", "arrowstream"], Mode::Arrow),
];

impl Mode {
    /// Parses a mode name, case-insensitively (ClickHouse spellings included).
    pub fn parse(name: &str) -> Result<Mode, String> {
        let lower = name.to_ascii_lowercase();
        MODES
            .iter()
            .find(|(names, _)| names.contains(&lower.as_str()))
            .map(|(_, m)| *m)
            .ok_or_else(|| {
                format!(
                    "unknown output mode '{name}'; known modes: {}",
                    MODES
                        .iter()
                        .map(|(n, _)| n[0])
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }

    pub fn name(self) -> &'static str {
        MODES
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("box", |(n, _)| n[0])
    }
}

/// Layout limits for the terminal-oriented modes.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Box mode shows at most this many rows (head and tail); `None`: all.
    pub max_rows: Option<usize>,
    /// Box and bar modes fit this many columns; `None`: no limit.
    pub width: Option<usize>,
}

/// Writes `result` in `mode`.
pub fn render(
    out: &mut dyn Write,
    result: &QueryResult,
    mode: Mode,
    layout: Layout,
) -> io::Result<()> {
    let table = Table::new(result);
    match mode {
        Mode::Box => render_box(out, &table, layout),
        Mode::Bar => render_bar(out, &table, layout.width.unwrap_or(80)),
        _ => {
            let mut rows = RowWriter::begin(out, &result.columns, mode)?;
            rows.rows(out, result)?;
            rows.end(out)
        }
    }
}

impl Mode {
    /// Whether a result can be written in this mode batch by batch, as it
    /// arrives: every mode but box (column widths) and bar (the largest value).
    pub fn streams(self) -> bool {
        !matches!(self, Mode::Box | Mode::Bar)
    }
}

/// Writes a result in a streaming mode ([`Mode::streams`]) piece by piece: the
/// header, then the rows of each chunk as it arrives, then the end. The bytes are
/// the same as [`render`] writes for the whole result.
pub struct RowWriter {
    mode: Mode,
    columns: Vec<(String, DataType)>,
    /// Quoted column names (json, jsonl).
    keys: Vec<String>,
    /// No row written yet (json separators, line mode's blank lines).
    first: bool,
    line: String,
    cell: String,
    /// Arrow mode: the IPC stream, written into a buffer that is passed on to
    /// `out` after each call.
    #[cfg(feature = "arrow")]
    arrow: Option<logdb::arrow::ipc::IpcStreamWriter<Vec<u8>>>,
}

#[cfg(feature = "arrow")]
fn arrow_error(e: logdb::Error) -> io::Error {
    match e {
        logdb::Error::Io { error, .. } => error,
        other => io::Error::other(other.to_string()),
    }
}

impl RowWriter {
    /// Passes what the Arrow stream wrote on to `out`.
    #[cfg(feature = "arrow")]
    fn drain_arrow(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if let Some(w) = self.arrow.as_mut() {
            out.write_all(w.get_mut())?;
            w.get_mut().clear();
        }
        Ok(())
    }

    /// Writes the header of `mode` for a result with `columns`.
    pub fn begin(
        out: &mut dyn Write,
        columns: &[(String, DataType)],
        mode: Mode,
    ) -> io::Result<RowWriter> {
        let mut w = RowWriter {
            mode,
            columns: columns.to_vec(),
            keys: Vec::new(),
            first: true,
            line: String::new(),
            cell: String::new(),
            #[cfg(feature = "arrow")]
            arrow: None,
        };
        match mode {
            Mode::Csv => w.header_delimited(out, ',', csv_field)?,
            Mode::Tsv => w.header_delimited(out, '\t', tsv_field)?,
            Mode::Json | Mode::Jsonl => {
                w.keys = columns
                    .iter()
                    .map(|(n, _)| {
                        let mut k = String::new();
                        json_string(&mut k, n);
                        k
                    })
                    .collect();
                if mode == Mode::Json {
                    out.write_all(b"[")?;
                }
            }
            Mode::Markdown => w.header_markdown(out)?,
            #[cfg(feature = "arrow")]
            Mode::Arrow => {
                w.arrow = Some(
                    logdb::arrow::ipc::IpcStreamWriter::new(Vec::new(), columns)
                        .map_err(arrow_error)?,
                );
                w.drain_arrow(out)?;
            }
            #[cfg(not(feature = "arrow"))]
            Mode::Arrow => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "this logdb was built without the `arrow` feature: no Arrow output",
                ))
            }
            Mode::Line | Mode::Box | Mode::Bar => {}
        }
        Ok(w)
    }

    /// Writes the rows of `chunk` (a result with the columns given to `begin`).
    pub fn rows(&mut self, out: &mut dyn Write, chunk: &QueryResult) -> io::Result<()> {
        let t = Table::new(chunk);
        match self.mode {
            Mode::Csv => self.rows_delimited(out, &t, ',', csv_field),
            Mode::Tsv => self.rows_delimited(out, &t, '\t', tsv_field),
            Mode::Json => self.rows_json(out, &t, false),
            Mode::Jsonl => self.rows_json(out, &t, true),
            Mode::Markdown => self.rows_markdown(out, &t),
            Mode::Line => self.rows_line(out, &t),
            #[cfg(feature = "arrow")]
            Mode::Arrow => {
                for b in &chunk.batches {
                    if let Some(w) = self.arrow.as_mut() {
                        w.write(b).map_err(arrow_error)?;
                    }
                    self.drain_arrow(out)?;
                }
                Ok(())
            }
            Mode::Box | Mode::Bar => Ok(()),
            #[cfg(not(feature = "arrow"))]
            Mode::Arrow => Ok(()),
        }
    }

    /// Writes what follows the last row.
    pub fn end(self, out: &mut dyn Write) -> io::Result<()> {
        if self.mode == Mode::Json {
            out.write_all(b"]\n")?;
        }
        #[cfg(feature = "arrow")]
        if let Some(w) = self.arrow {
            out.write_all(&w.finish().map_err(arrow_error)?)?;
        }
        Ok(())
    }
}

/// Random access to the rows of a result spread over batches.
struct Table<'a> {
    result: &'a QueryResult,
    /// Row index at which each batch starts, plus the total at the end.
    starts: Vec<usize>,
}

/// One cell, borrowed from its column.
#[derive(Clone, Copy)]
enum Cell<'a> {
    Null,
    Int(i64),
    Timestamp(i64),
    /// Days since 1970-01-01.
    Date(i64),
    /// A DECIMAL's scaled integer and its scale.
    Decimal(i64, u8),
    /// A TIME (microseconds since midnight).
    Time(i64),
    /// A TIMESTAMP_S, _MS or _NS value and its type.
    TimestampUnit(i64, DataType),
    Float(f64),
    Bool(bool),
    Text(&'a str),
    Ip(u128),
    /// A packed INTERVAL.
    Interval(u128),
    /// List `.1` of a vector of lists, and the elements' type.
    List(&'a ListVec, usize, DataType),
}

impl<'a> Table<'a> {
    fn new(result: &'a QueryResult) -> Table<'a> {
        let mut starts = Vec::with_capacity(result.batches.len() + 1);
        let mut n = 0;
        for b in &result.batches {
            starts.push(n);
            n += b.num_rows();
        }
        starts.push(n);
        Table { result, starts }
    }

    fn rows(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    fn columns(&self) -> &'a [(String, DataType)] {
        &self.result.columns
    }

    /// Calls `f` with every row's batch columns and row index within the batch.
    fn for_each_row(
        &self,
        mut f: impl FnMut(&'a [Column], usize) -> io::Result<()>,
    ) -> io::Result<()> {
        for b in &self.result.batches {
            for r in 0..b.num_rows() {
                f(&b.columns, r)?;
            }
        }
        Ok(())
    }

    fn row(&self, i: usize) -> (&'a [Column], usize) {
        let b = self.starts.partition_point(|&s| s <= i) - 1;
        (&self.result.batches[b].columns, i - self.starts[b])
    }

    fn cell(&self, cols: &'a [Column], c: usize, r: usize) -> Cell<'a> {
        let col = &cols[c];
        if !col.is_valid(r) {
            return Cell::Null;
        }
        match &col.data {
            ColumnData::Int64(v) if self.columns()[c].1 == DataType::Timestamp => {
                Cell::Timestamp(v[r])
            }
            ColumnData::Int64(v) if self.columns()[c].1 == DataType::Date => Cell::Date(v[r]),
            ColumnData::Int64(v) if self.columns()[c].1 == DataType::Time => Cell::Time(v[r]),
            ColumnData::Int64(v) if self.columns()[c].1.is_timestamp() => {
                Cell::TimestampUnit(v[r], self.columns()[c].1)
            }
            ColumnData::Int64(v) if self.columns()[c].1.decimal().is_some() => {
                Cell::Decimal(v[r], self.columns()[c].1.decimal().map_or(0, |(_, s)| s))
            }
            ColumnData::Int64(v) => Cell::Int(v[r]),
            ColumnData::Float64(v) => Cell::Float(v[r]),
            ColumnData::Bool(v) => Cell::Bool(v[r]),
            ColumnData::Utf8(v) => Cell::Text(v.get(r)),
            ColumnData::Ip(v) if self.columns()[c].1 == DataType::Interval => Cell::Interval(v[r]),
            ColumnData::Ip(v) => Cell::Ip(v[r]),
            ColumnData::List(v) => Cell::List(
                v,
                r,
                self.columns()[c].1.list_elem().unwrap_or(DataType::Varchar),
            ),
        }
    }
}

/// Appends a non-NULL cell as text (NULL appends `null_text`).
fn write_cell(buf: &mut String, cell: Cell<'_>, null_text: &str) {
    match cell {
        Cell::Null => buf.push_str(null_text),
        Cell::Int(x) => {
            let _ = write!(buf, "{x}");
        }
        Cell::Timestamp(t) => logdb::time::write_timestamp(buf, t),
        Cell::Date(d) => logdb::time::write_date(buf, d),
        Cell::Time(t) => logdb::time_units::write_time(buf, t),
        Cell::TimestampUnit(x, t) => logdb::time_units::write(buf, t, x),
        Cell::Decimal(x, scale) => logdb::decimal::write(buf, x, scale),
        Cell::Float(x) => buf.push_str(&logdb::value::format_float(x)),
        Cell::Bool(b) => buf.push_str(if b { "true" } else { "false" }),
        Cell::Text(s) => buf.push_str(s),
        Cell::Ip(ip) => buf.push_str(&logdb::ip::format(ip)),
        Cell::Interval(x) => logdb::interval::write(buf, logdb::interval::Interval::unpack(x)),
        Cell::List(l, r, elem) => logdb::list::write(buf, &l.get(r), elem),
    }
}

fn is_numeric(t: DataType) -> bool {
    t.is_integer() || matches!(t, DataType::Double | DataType::Decimal { .. })
}

/// Type names as DuckDB's box shows them.
fn type_label(t: DataType) -> std::borrow::Cow<'static, str> {
    std::borrow::Cow::Borrowed(match t {
        DataType::Decimal { precision, scale } => {
            return format!("decimal({precision},{scale})").into()
        }
        DataType::List(e) => return format!("{}[]", type_label(*e)).into(),
        DataType::Timestamp => "timestamp",
        DataType::BigInt => "int64",
        DataType::Integer => "int32",
        DataType::SmallInt => "int16",
        DataType::Double => "double",
        DataType::Boolean => "boolean",
        DataType::Varchar => "varchar",
        DataType::Ip => "ip",
        DataType::Interval => "interval",
        DataType::Date => "date",
        DataType::TinyInt => "int8",
        DataType::UTinyInt => "uint8",
        DataType::USmallInt => "uint16",
        DataType::UInteger => "uint32",
        DataType::UBigInt => "uint64",
        DataType::HugeInt => "int128",
        DataType::UHugeInt => "uint128",
        DataType::Time => "time",
        DataType::TimestampS => "timestamp_s",
        DataType::TimestampMs => "timestamp_ms",
        DataType::TimestampNs => "timestamp_ns",
        DataType::TimestampTz => "timestamp with time zone",
    })
}

fn width_of(s: &str) -> usize {
    s.chars().count()
}

/// Control characters would break the box: show them escaped.
fn visible(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Cuts `s` to `w` characters, ending with `…` when cut.
fn truncate(s: &str, w: usize) -> String {
    if width_of(s) <= w {
        return s.to_string();
    }
    let mut out: String = s.chars().take(w.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn render_box(out: &mut dyn Write, t: &Table<'_>, layout: Layout) -> io::Result<()> {
    let cols = t.columns();
    let n = t.rows();
    // Which rows to show: all, or the first and last halves of max_rows.
    let (head, tail) = match layout.max_rows {
        Some(m) if n > m => {
            let head = m.div_ceil(2);
            (head, m - head)
        }
        _ => (n, 0),
    };
    let shown: Vec<usize> = (0..head).chain(n - tail..n).collect();
    let mut cells: Vec<Vec<String>> = Vec::with_capacity(shown.len());
    let mut buf = String::new();
    for &i in &shown {
        let (batch, r) = t.row(i);
        let row = (0..cols.len())
            .map(|c| {
                buf.clear();
                write_cell(&mut buf, t.cell(batch, c, r), "NULL");
                visible(&buf)
            })
            .collect();
        cells.push(row);
    }
    let mut widths: Vec<usize> = cols
        .iter()
        .map(|(name, ty)| width_of(name).max(type_label(*ty).len()))
        .collect();
    for row in &cells {
        for (w, v) in widths.iter_mut().zip(row) {
            *w = (*w).max(width_of(v));
        }
    }
    if let Some(limit) = layout.width {
        // Borders take 3 characters per column plus one; shrink the widest columns.
        let available = limit.saturating_sub(3 * cols.len() + 1);
        let floor = 8;
        while widths.iter().sum::<usize>() > available {
            let Some((i, &w)) = widths.iter().enumerate().max_by_key(|(_, w)| **w) else {
                break;
            };
            if w <= floor {
                break;
            }
            widths[i] = w - 1;
        }
    }
    let rule = |out: &mut dyn Write, l: &str, m: &str, r: &str| -> io::Result<()> {
        let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
        writeln!(out, "{l}{}{r}", parts.join(m))
    };
    let centered = |out: &mut dyn Write, texts: &mut dyn Iterator<Item = &str>| {
        let mut line = String::from("│");
        for (text, &w) in texts.zip(&widths) {
            let text = truncate(text, w);
            let pad = w - width_of(&text);
            let left = pad / 2;
            let _ = write!(
                line,
                " {}{text}{} │",
                " ".repeat(left),
                " ".repeat(pad - left)
            );
        }
        writeln!(out, "{line}")
    };
    rule(out, "┌", "┬", "┐")?;
    centered(out, &mut cols.iter().map(|(n, _)| n.as_str()))?;
    let labels: Vec<_> = cols.iter().map(|(_, t)| type_label(*t)).collect();
    centered(out, &mut labels.iter().map(|l| l.as_ref()))?;
    rule(out, "├", "┼", "┤")?;
    let data_line = |out: &mut dyn Write, row: &[String]| -> io::Result<()> {
        let mut line = String::from("│");
        for ((v, &w), (_, ty)) in row.iter().zip(&widths).zip(cols) {
            let v = truncate(v, w);
            let pad = " ".repeat(w - width_of(&v));
            if is_numeric(*ty) {
                let _ = write!(line, " {pad}{v} │");
            } else {
                let _ = write!(line, " {v}{pad} │");
            }
        }
        writeln!(out, "{line}")
    };
    for row in &cells[..head] {
        data_line(out, row)?;
    }
    if tail > 0 || head < n {
        let dots: Vec<String> = cols.iter().map(|_| "·".to_string()).collect();
        for _ in 0..3 {
            data_line(out, &dots)?;
        }
    }
    for row in &cells[head..] {
        data_line(out, row)?;
    }
    rule(out, "└", "┴", "┘")?;
    if shown.len() < n {
        writeln!(out, "… {n} rows ({} shown)", shown.len())?;
    }
    Ok(())
}

fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

impl RowWriter {
    fn header_delimited(
        &mut self,
        out: &mut dyn Write,
        sep: char,
        field: fn(&mut String, &str),
    ) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        for (i, (name, _)) in self.columns.iter().enumerate() {
            if i > 0 {
                line.push(sep);
            }
            field(line, name);
        }
        writeln!(out, "{line}")
    }

    /// A line per row, fields joined by `sep` and escaped by `field`.
    fn rows_delimited(
        &mut self,
        out: &mut dyn Write,
        t: &Table<'_>,
        sep: char,
        field: fn(&mut String, &str),
    ) -> io::Result<()> {
        let n = self.columns.len();
        let (line, cell) = (&mut self.line, &mut self.cell);
        t.for_each_row(|batch, r| {
            line.clear();
            for c in 0..n {
                if c > 0 {
                    line.push(sep);
                }
                cell.clear();
                write_cell(cell, t.cell(batch, c, r), "");
                field(line, cell);
            }
            line.push('\n');
            out.write_all(line.as_bytes())
        })
    }

    /// `[{...},\n{...}]` (json, the brackets from `begin` and `end`) or one
    /// object per line (jsonl).
    fn rows_json(&mut self, out: &mut dyn Write, t: &Table<'_>, lines: bool) -> io::Result<()> {
        let (line, scratch, first, keys) =
            (&mut self.line, &mut self.cell, &mut self.first, &self.keys);
        t.for_each_row(|batch, r| {
            line.clear();
            if !lines && !*first {
                line.push_str(",\n");
            }
            *first = false;
            line.push('{');
            for (c, key) in keys.iter().enumerate() {
                if c > 0 {
                    line.push(',');
                }
                line.push_str(key);
                line.push(':');
                json_value(line, t.cell(batch, c, r), scratch);
            }
            line.push('}');
            if lines {
                line.push('\n');
            }
            out.write_all(line.as_bytes())
        })
    }

    fn header_markdown(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let mut line = String::from("|");
        for (name, _) in &self.columns {
            line.push(' ');
            markdown_field(&mut line, name);
            line.push_str(" |");
        }
        writeln!(out, "{line}")?;
        line.clear();
        line.push('|');
        for (_, ty) in &self.columns {
            line.push_str(if is_numeric(*ty) { "---:|" } else { "---|" });
        }
        writeln!(out, "{line}")
    }

    fn rows_markdown(&mut self, out: &mut dyn Write, t: &Table<'_>) -> io::Result<()> {
        let n = self.columns.len();
        let (line, cell) = (&mut self.line, &mut self.cell);
        t.for_each_row(|batch, r| {
            line.clear();
            line.push('|');
            for c in 0..n {
                cell.clear();
                write_cell(cell, t.cell(batch, c, r), "NULL");
                line.push(' ');
                markdown_field(line, cell);
                line.push_str(" |");
            }
            line.push('\n');
            out.write_all(line.as_bytes())
        })
    }

    /// DuckDB's `.mode line`: names right-aligned to the longest, a blank line
    /// between rows.
    fn rows_line(&mut self, out: &mut dyn Write, t: &Table<'_>) -> io::Result<()> {
        let cols = &self.columns;
        let w = cols.iter().map(|(n, _)| width_of(n)).max().unwrap_or(0);
        let (line, cell, first) = (&mut self.line, &mut self.cell, &mut self.first);
        t.for_each_row(|batch, r| {
            line.clear();
            if !*first {
                line.push('\n');
            }
            *first = false;
            for (c, (name, _)) in cols.iter().enumerate() {
                cell.clear();
                write_cell(cell, t.cell(batch, c, r), "NULL");
                let _ = writeln!(line, "{name:>w$} = {cell}");
            }
            out.write_all(line.as_bytes())
        })
    }
}

fn tsv_field(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
}

fn json_value(out: &mut String, cell: Cell<'_>, scratch: &mut String) {
    match cell {
        Cell::Null => out.push_str("null"),
        Cell::Int(x) => {
            let _ = write!(out, "{x}");
        }
        // JSON has no NaN or infinity; DuckDB's shell writes them as JavaScript
        // spells them (what most JSON readers accept).
        Cell::Float(x) if x.is_nan() => out.push_str("NaN"),
        Cell::Float(x) if x.is_infinite() => {
            out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" })
        }
        Cell::Float(x) => {
            let _ = write!(out, "{x}");
        }
        // A number, exactly as written.
        Cell::Decimal(x, scale) => logdb::decimal::write(out, x, scale),
        Cell::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Cell::Text(s) => json_string(out, s),
        Cell::List(l, r, elem) => json_list(out, &l.get(r), elem),
        other => {
            scratch.clear();
            write_cell(scratch, other, "");
            json_string(out, scratch);
        }
    }
}

/// A list as a JSON array: numbers, booleans and nested lists as themselves, other
/// values as their text.
fn json_list(out: &mut String, items: &[Value], elem: DataType) {
    out.push('[');
    for (k, v) in items.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        let mut scratch = String::new();
        let cell = match (v, elem) {
            (Value::Null, _) => Cell::Null,
            (Value::Int(x), t) if t.is_integer() => Cell::Int(*x),
            (Value::Int(x), DataType::Decimal { scale, .. }) => Cell::Decimal(*x, scale),
            (Value::Float(x), _) => Cell::Float(*x),
            (Value::Bool(b), _) => Cell::Bool(*b),
            (Value::List(l), DataType::List(e)) => {
                json_list(out, l, *e);
                continue;
            }
            (Value::Str(s), _) => {
                json_string(out, s);
                continue;
            }
            (v, t) => {
                json_string(out, &logdb::value::format_value(v, t));
                continue;
            }
        };
        json_value(out, cell, &mut scratch);
    }
    out.push(']');
}

fn markdown_field(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '|' => out.push_str("\\|"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c => out.push(c),
        }
    }
}

/// A bar per row: label, a bar scaled to the largest value, the value.
fn render_bar(out: &mut dyn Write, t: &Table<'_>, width: usize) -> io::Result<()> {
    let cols = t.columns();
    if cols.len() != 2 || !is_numeric(cols[1].1) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "bar mode needs two columns, a label and a number; this result has {}",
                cols.iter()
                    .map(|(n, t)| format!("{n} {t}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let mut rows: Vec<(String, Option<f64>, String)> = Vec::with_capacity(t.rows());
    t.for_each_row(|batch, r| {
        let mut label = String::new();
        write_cell(&mut label, t.cell(batch, 0, r), "NULL");
        let cell = t.cell(batch, 1, r);
        let value = match cell {
            Cell::Int(x) => Some(x as f64),
            Cell::Decimal(x, scale) => Some(logdb::decimal::to_f64(x, scale)),
            Cell::Float(x) if x.is_finite() => Some(x),
            _ => None,
        };
        let mut text = String::new();
        write_cell(&mut text, cell, "NULL");
        rows.push((truncate(&visible(&label), 40), value, text));
        Ok(())
    })?;
    let lw = rows.iter().map(|r| width_of(&r.0)).max().unwrap_or(0);
    let vw = rows.iter().map(|r| r.2.len()).max().unwrap_or(0);
    let max = rows.iter().filter_map(|r| r.1).fold(0.0f64, f64::max);
    let bar_width = width.saturating_sub(lw + vw + 4).max(10);
    for (label, value, text) in &rows {
        // Eighths of a block for a smooth end.
        let eighths = match value {
            Some(v) if *v > 0.0 && max > 0.0 => {
                ((v / max) * (bar_width * 8) as f64).round() as usize
            }
            _ => 0,
        };
        let mut bar = "█".repeat(eighths / 8);
        const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
        bar.push_str(PARTS[eighths % 8]);
        let pad = bar_width - width_of(&bar).min(bar_width);
        let lpad = lw - width_of(label);
        writeln!(
            out,
            "{label}{} │{bar}{} {text:>vw$}",
            " ".repeat(lpad),
            " ".repeat(pad)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use logdb::column::{Batch, StringVec};

    fn result() -> QueryResult {
        let mut s = StringVec::new();
        for v in ["/a", "x,\"y\"", "tab\there"] {
            s.push(v);
        }
        let mut status = Column::new(ColumnData::Int64(vec![200, 404, 500]));
        status.validity = Some(logdb::column::Bitmap::from_words(vec![0b011], 3));
        QueryResult {
            columns: vec![
                ("uri".into(), DataType::Varchar),
                ("status".into(), DataType::BigInt),
            ],
            batches: vec![Batch {
                columns: vec![Column::new(ColumnData::Utf8(s)), status],
            }],
        }
    }

    fn text(mode: Mode, max_rows: Option<usize>) -> String {
        let mut out = Vec::new();
        render(
            &mut out,
            &result(),
            mode,
            Layout {
                max_rows,
                width: None,
            },
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_quotes_and_nulls() {
        assert_eq!(
            text(Mode::Csv, None),
            "uri,status\n/a,200\n\"x,\"\"y\"\"\",404\ntab\there,\n"
        );
    }

    #[test]
    fn tsv_escapes() {
        assert_eq!(
            text(Mode::Tsv, None),
            "uri\tstatus\n/a\t200\nx,\"y\"\t404\ntab\\there\t\n"
        );
    }

    #[test]
    fn json_and_jsonl() {
        let j = text(Mode::Json, None);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v[1]["uri"], "x,\"y\"");
        assert_eq!(v[2]["status"], serde_json::Value::Null);
        let l = text(Mode::Jsonl, None);
        assert_eq!(l.lines().count(), 3);
        for line in l.lines() {
            let _: serde_json::Value = serde_json::from_str(line).unwrap();
        }
    }

    #[test]
    fn box_right_aligns_numbers_and_elides_the_middle() {
        let b = text(Mode::Box, None);
        assert!(b.contains("│ /a        │    200 │"), "{b}");
        assert!(b.contains("│ tab\\there │   NULL │"), "{b}");
        let cut = text(Mode::Box, Some(2));
        assert!(cut.contains("… 3 rows (2 shown)"), "{cut}");
        assert!(!cut.contains("404"), "{cut}");
        assert!(cut.contains("·"), "{cut}");
    }

    #[test]
    fn bar_needs_label_and_number() {
        let b = text(Mode::Bar, None);
        assert_eq!(b.lines().count(), 3);
        assert!(b.lines().nth(1).unwrap().contains('█'));
        let mut out = Vec::new();
        let mut r = result();
        r.columns[1].1 = DataType::Varchar;
        r.batches[0].columns[1] = Column::new(ColumnData::Utf8(StringVec::new()));
        assert!(render(
            &mut out,
            &r,
            Mode::Bar,
            Layout {
                max_rows: None,
                width: None
            }
        )
        .is_err());
    }

    /// Rows written chunk by chunk are the bytes of the whole result at once.
    #[test]
    fn streamed_rows_are_the_rendered_bytes() {
        let whole = result();
        let layout = Layout {
            max_rows: None,
            width: None,
        };
        for mode in [
            Mode::Csv,
            Mode::Tsv,
            Mode::Json,
            Mode::Jsonl,
            Mode::Markdown,
            Mode::Line,
        ] {
            let mut expected = Vec::new();
            render(&mut expected, &whole, mode, layout).unwrap();
            let mut out = Vec::new();
            let mut w = RowWriter::begin(&mut out, &whole.columns, mode).unwrap();
            // Every row its own chunk, and an empty chunk between them.
            for r in 0..3u32 {
                let batch = &whole.batches[0];
                let one = QueryResult {
                    columns: whole.columns.clone(),
                    batches: vec![batch.take(&[r])],
                };
                w.rows(&mut out, &one).unwrap();
                let none = QueryResult {
                    columns: whole.columns.clone(),
                    batches: vec![],
                };
                w.rows(&mut out, &none).unwrap();
            }
            w.end(&mut out).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(expected).unwrap(),
                "{mode:?}"
            );
        }
    }

    #[test]
    fn modes_parse_by_any_name() {
        assert_eq!(Mode::parse("CSV").unwrap(), Mode::Csv);
        assert_eq!(Mode::parse("JSONEachRow").unwrap(), Mode::Jsonl);
        let e = Mode::parse("xml").unwrap_err();
        assert!(e.contains("known modes: box, csv"), "{e}");
    }
}
