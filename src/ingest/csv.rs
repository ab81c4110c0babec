//! The `csv` and `tsv` formats: a header line naming the columns, then one record per
//! line. Columns are named, typed and (for access logs) mapped to the canonical
//! columns as in [`super::fields`]; records keep the header's names (types are
//! inferred from [`ParserOptions::sample`], which these formats require: its first
//! line is the header).
//!
//! # csv (RFC 4180)
//! - Fields are separated by `,`. A field that starts with `"` is quoted: it ends at
//!   the next `"` not doubled (`""` stands for one `"`), must be followed by `,` or the
//!   end of the record, and may hold commas and line breaks. A `"` inside an unquoted
//!   field is rejected ("quote inside unquoted field N").
//! - A quoted field with a line break makes the record span several lines; such a
//!   record counts as **one** line (numbered by its first line), so that
//!   `lines = rows + rejects` still holds.
//! - Known limitation: a record must lie within one chunk. Chunks are cut at line
//!   ends without regard to quotes, so a multi-line record cut by a chunk boundary is
//!   not joined: its first line is rejected ("unterminated quoted field N") and parsing
//!   resumes at the next line (whose remains are then usually rejected too). The same
//!   happens to a stray unbalanced quote, which therefore costs one line, not the rest
//!   of the chunk.
//!
//! # tsv
//! Fields are separated by tabs, without quoting or escapes: a field holds no tab or
//! line break, and `"` is an ordinary character.
//!
//! # Values
//! An empty unquoted field is NULL; a quoted empty field `""` is the empty string in a
//! VARCHAR column (and NULL in others). A record with more or fewer fields than the
//! header is rejected ("expected N fields, found M").
//!
//! # Without a header, or with declared columns
//! `header := false` ([`CsvOptions::header`](super::CsvOptions)): the first line is
//! data; the columns are named `column0`, `column1`, ... (zero-padded to the width of
//! the last number, `column00` .. `column11` for 12 columns, as DuckDB names them)
//! and typed from the whole sample. `names` replace the first names (the header's or
//! these).
//!
//! Declared columns (`columns := {...}`, see `declared.rs`) are taken as they are.
//! The sample's first line must have as many fields. With `header := true` the first
//! line of every file is skipped whatever it holds (and not counted); without
//! `header`, it is a header when one of its values does not fit its column, or when
//! every column is VARCHAR and none of its values is empty (DuckDB's sniff), else
//! data.
//!
//! # The header line
//! The header is not a data line. In a chunk whose first line is line 1 (the start of
//! an input file), the first record is the header: when it is the sample's header it
//! is skipped and **not counted** in the lines `parse_chunk` returns (the importer's
//! line total therefore excludes headers). A different header is rejected ("header
//! differs from the sample's header") and the file's records are still read by the
//! sample's column positions: chunks are parsed independently, so one file's header
//! cannot re-map the columns of its other chunks.

use super::declared::Declared;
use super::fields::{snake_case, Plan, Seen, Src, Val};
use super::{LogParser, ParserOptions, Reject, MAX_LINE_LEN};
use crate::column::BatchBuilder;
use crate::error::{Error, Result};
use crate::schema::{DataType, TableSchema};

pub(crate) struct CsvParser {
    rows: Rows,
    delim: u8,
    quoting: bool,
    header: Header,
    /// Fields per record.
    ncols: usize,
    /// The plan slot of each record field (`None`: ignored).
    col_slot: Vec<Option<usize>>,
    vals: Vec<Val>,
    scratch: Vec<u8>,
}

/// How the fields of a record become a row.
// One per parser (thread): the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
enum Rows {
    /// Columns inferred from the sample, or a given schema's (`fields.rs`).
    Plan(Plan),
    /// Declared columns (`declared.rs`).
    Declared(Declared),
}

/// What the first line of a file is.
enum Header {
    /// A data line (`header := false`, or sniffed so for declared columns).
    None,
    /// The sample's header record, as written (without line end): skipped where
    /// it matches, rejected where it differs.
    Match(Vec<u8>),
    /// A header whatever it holds (declared columns): skipped.
    Skip,
}

/// `column0`, `column1`, ...: the names of `n` columns without a header, as
/// DuckDB gives them: zero-padded to the width of the last number (`column00` ..
/// `column11` for 12 columns).
fn generated_names(n: usize) -> Vec<String> {
    let width = n.saturating_sub(1).to_string().len();
    (0..n).map(|i| format!("column{i:0width$}")).collect()
}

/// Where the record that starts at `chunk[start]` ends (its `\n`, or the end of the
/// chunk), and whether its quotes are balanced there.
fn record_end(chunk: &[u8], start: usize, quoting: bool) -> (usize, bool) {
    let r = scan_record(chunk, start, quoting);
    (r.end, r.complete)
}

/// What [`scan_record`] finds out about one record.
struct RecordScan {
    /// Its `\n`, or the end of the chunk.
    end: usize,
    /// Its quotes are balanced at `end`.
    complete: bool,
    /// Line breaks inside it (quoted ones): 0 for a record on one line.
    breaks: u64,
    /// It holds a `"` (only looked for when quoting).
    quoted: bool,
}

/// Finds the end of the record that starts at `chunk[start]`, counting its line
/// breaks and noting whether it has quotes, in one pass over its bytes.
fn scan_record(chunk: &[u8], start: usize, quoting: bool) -> RecordScan {
    let line_end =
        |from: usize| memchr::memchr(b'\n', &chunk[from..]).map_or(chunk.len(), |i| from + i);
    if !quoting {
        return RecordScan {
            end: line_end(start),
            complete: true,
            breaks: 0,
            quoted: false,
        };
    }
    let mut from = start;
    let mut open = false;
    let mut breaks = 0;
    let mut quoted = false;
    loop {
        let nl = line_end(from);
        let quotes = memchr::memchr_iter(b'"', &chunk[from..nl]).count();
        quoted |= quotes > 0;
        if quotes % 2 == 1 {
            open = !open;
        }
        if !open || nl == chunk.len() || nl - start > MAX_LINE_LEN {
            return RecordScan {
                end: nl,
                complete: !open,
                breaks,
                quoted,
            };
        }
        breaks += 1;
        from = nl + 1;
    }
}

/// Splits a record into fields, calling `each(index, value)` for every field, and
/// returns how many there were. Quoted fields with `""` are decoded onto `scratch`.
fn split_record(
    rec: &str,
    delim: u8,
    quoting: bool,
    scratch: &mut Vec<u8>,
    mut each: impl FnMut(usize, Val),
) -> Result<usize, String> {
    let b = rec.as_bytes();
    let mut p = 0;
    let mut j = 0;
    loop {
        let v = if quoting && b.get(p) == Some(&b'"') {
            let start = p + 1;
            let mut q = start;
            let mut doubled = false;
            let end = loop {
                match memchr::memchr(b'"', &b[q..]) {
                    None => return Err(format!("unterminated quoted field {}", j + 1)),
                    Some(i) if b.get(q + i + 1) == Some(&b'"') => {
                        doubled = true;
                        q += i + 2;
                    }
                    Some(i) => break q + i,
                }
            };
            p = end + 1;
            if p < b.len() && b[p] != delim {
                return Err(format!(
                    "unexpected text after quoted field {}: '{}'",
                    j + 1,
                    super::lex::snippet(&rec[p..])
                ));
            }
            if doubled {
                let s = scratch.len();
                let mut from = start;
                while let Some(i) = memchr::memchr(b'"', &b[from..end]) {
                    // Keep one quote of each pair.
                    scratch.extend_from_slice(&b[from..from + i + 1]);
                    from += i + 2;
                }
                scratch.extend_from_slice(&b[from.min(end)..end]);
                Val::Str(Src {
                    scratch: true,
                    start: s,
                    end: scratch.len(),
                })
            } else {
                Val::Str(Src::line(start, end))
            }
        } else {
            let end = memchr::memchr(delim, &b[p..]).map_or(b.len(), |i| p + i);
            if quoting && memchr::memchr(b'"', &b[p..end]).is_some() {
                return Err(format!("quote inside unquoted field {}", j + 1));
            }
            let v = if end == p {
                Val::Null
            } else {
                Val::Str(Src::line(p, end))
            };
            p = end;
            v
        };
        each(j, v);
        j += 1;
        if p >= b.len() {
            return Ok(j);
        }
        // Skip the delimiter; one at the very end starts an empty last field.
        p += 1;
        if p == b.len() {
            each(j, Val::Null);
            return Ok(j + 1);
        }
    }
}

/// `rec` without a trailing `\r`.
fn strip_cr(rec: &[u8]) -> &[u8] {
    rec.strip_suffix(b"\r").unwrap_or(rec)
}

/// The first record of a sample: its field names and where it ends.
struct Head<'a> {
    /// The header's names (or `column0`, ... without a header), `names` first.
    names: Vec<String>,
    /// The header record as written (without line end).
    header: &'a [u8],
    /// Where the first record ends in the sample.
    end: usize,
    scratch: Vec<u8>,
}

/// Reads the sample's first record: the names of the fields.
fn head<'a>(format: &str, delim: u8, options: &'a ParserOptions) -> Result<Head<'a>> {
    let quoting = delim != b'\t';
    let bad = |what: &str| Error::InvalidInput(format!("{format}: {what}"));
    let has_header = options.csv.header != Some(false);
    let sample = options.sample.as_deref().ok_or_else(|| {
        bad("needs a sample of the input's first lines, starting with the header")
    })?;
    let (first_line, what) = if has_header {
        ("the header", "header")
    } else {
        ("the first line", "first line")
    };
    let (end, complete) = record_end(sample, 0, quoting);
    let header = strip_cr(&sample[..end]);
    if !complete {
        return Err(bad(&format!("unterminated quoted field in {first_line}")));
    }
    let header_text = std::str::from_utf8(header)
        .map_err(|_| bad(&format!("{first_line} is not valid UTF-8")))?;
    if header_text.is_empty() {
        return Err(bad(if has_header {
            "the sample's first line (the header) is empty"
        } else {
            "the sample's first line is empty"
        }));
    }
    let mut scratch = Vec::new();
    let mut srcs = Vec::new();
    split_record(header_text, delim, quoting, &mut scratch, |_, v| {
        srcs.push(v)
    })
    .map_err(|e| bad(&format!("bad {what}: {e}")))?;
    let scratch_text = std::str::from_utf8(&scratch).unwrap_or_default();
    let mut names: Vec<String> = if has_header {
        srcs.iter()
            .map(|v| match v {
                Val::Str(s) => s.text(header_text, scratch_text).to_string(),
                _ => String::new(),
            })
            .collect()
    } else {
        generated_names(srcs.len())
    };
    let given = &options.csv.names;
    if given.len() > names.len() {
        return Err(bad(&format!(
            "names gives {} names, but the file has {} columns",
            given.len(),
            names.len()
        )));
    }
    names[..given.len()].clone_from_slice(given);
    Ok(Head {
        names,
        header,
        end,
        scratch,
    })
}

/// The names of a csv (`delim`; a tab: tsv) input's fields as its parser reads
/// them from `options.sample`: the header's (`column0`, ... without one), with
/// `options.csv.names` first. `read_csv(..., types := {...})` finds its columns
/// among them ([`column_position`]).
pub fn field_names(delim: u8, options: &ParserOptions) -> Result<Vec<String>> {
    let format = if delim == b'\t' { "tsv" } else { "csv" };
    Ok(head(format, delim, options)?.names)
}

/// The position of the field `name` names among `names` (as [`field_names`]
/// gives them): written the same, else the same but for case, else the same
/// column name (snake_case, as the column is named).
pub fn column_position(names: &[String], name: &str) -> Option<usize> {
    names
        .iter()
        .position(|n| n == name)
        .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(name)))
        .or_else(|| {
            let want = snake_case(name);
            names.iter().position(|n| snake_case(n) == want)
        })
}

impl CsvParser {
    pub(crate) fn new(delim: u8, options: &ParserOptions) -> Result<CsvParser> {
        let format = if delim == b'\t' { "tsv" } else { "csv" };
        let quoting = delim != b'\t';
        let bad = |what: &str| Error::InvalidInput(format!("{format}: {what}"));
        if let Some(columns) = &options.csv.columns {
            let sample = options.sample.as_deref().unwrap_or_default();
            return CsvParser::declared(format, delim, columns, sample, options.csv.header);
        }
        let has_header = options.csv.header != Some(false);
        let Head {
            names,
            header,
            end,
            mut scratch,
        } = head(format, delim, options)?;
        let ncols = names.len();
        if options.csv.types.len() > ncols {
            return Err(bad(&format!(
                "types gives {} types, but the file has {ncols} columns",
                options.csv.types.len()
            )));
        }
        let sample = options.sample.as_deref().unwrap_or_default();

        // Types from the records after the header (from the first one without).
        let mut seen = vec![Seen::default(); ncols];
        let mut row: Vec<Val> = Vec::with_capacity(ncols);
        let mut pos = if has_header { end + 1 } else { 0 };
        while pos < sample.len() {
            let (end, complete) = record_end(sample, pos, quoting);
            let rec = strip_cr(&sample[pos..end]);
            pos = end + 1;
            let Some(rec) = complete.then(|| std::str::from_utf8(rec).ok()).flatten() else {
                continue;
            };
            scratch.clear();
            row.clear();
            let n = split_record(rec, delim, quoting, &mut scratch, |_, v| row.push(v));
            if n != Ok(ncols) {
                continue;
            }
            let scratch_text = std::str::from_utf8(&scratch).unwrap_or_default();
            for (s, v) in seen.iter_mut().zip(&row) {
                if let Val::Str(src) = v {
                    s.observe_text(src.text(rec, scratch_text));
                }
            }
        }
        let (plan, col_slot) = match &options.schema {
            Some(schema) => {
                let plan = Plan::for_schema(schema.clone(), options)?;
                let col_slot = names
                    .iter()
                    .map(|n| {
                        let snake = snake_case(n);
                        plan.slots
                            .iter()
                            .position(|s| s.key == *n)
                            .or_else(|| plan.slots.iter().position(|s| s.key == snake))
                    })
                    .collect();
                (plan, col_slot)
            }
            None => {
                let plan = Plan::inferred(format, &names, &seen, options)?;
                (plan, (0..ncols).map(Some).collect())
            }
        };
        Ok(CsvParser {
            vals: vec![Val::Null; plan.slots.len()],
            rows: Rows::Plan(plan),
            delim,
            quoting,
            header: if has_header {
                Header::Match(header.to_vec())
            } else {
                Header::None
            },
            ncols,
            col_slot,
            scratch: Vec::new(),
        })
    }

    /// A parser of declared columns. The sample's first line must have as many
    /// fields as there are columns. Whether it is a header, when `header` does not
    /// say, is sniffed as DuckDB sniffs it: a header when one of its values does
    /// not convert to its column's type, or when every column is VARCHAR and none
    /// of its values is empty; otherwise a data line.
    fn declared(
        format: &str,
        delim: u8,
        columns: &[(String, DataType)],
        sample: &[u8],
        header: Option<bool>,
    ) -> Result<CsvParser> {
        let bad = |what: &str| Error::InvalidInput(format!("{format}: {what}"));
        let quoting = delim != b'\t';
        let rows = Declared::new(columns).map_err(|e| bad(&format!("columns: {e}")))?;
        let ncols = columns.len();
        let (end, complete) = record_end(sample, 0, quoting);
        let first = std::str::from_utf8(strip_cr(&sample[..end]))
            .ok()
            .filter(|t| complete && !t.is_empty());
        let mut scratch = Vec::new();
        let mut vals = Vec::with_capacity(ncols);
        let split = first.and_then(|t| {
            split_record(t, delim, quoting, &mut scratch, |_, v| vals.push(v))
                .ok()
                .map(|n| (t, n))
        });
        if let Some((_, n)) = split {
            if n != ncols {
                return Err(bad(&format!(
                    "columns declares {ncols} column{}, but the first line has {n} field{}",
                    if ncols == 1 { "" } else { "s" },
                    if n == 1 { "" } else { "s" },
                )));
            }
        }
        let is_header = header.unwrap_or_else(|| {
            split.is_some_and(|(t, _)| {
                let s = std::str::from_utf8(&scratch).unwrap_or_default();
                let (converts, no_nulls) = rows.fits(&vals, t, s);
                !converts || (rows.all_varchar() && no_nulls)
            })
        });
        Ok(CsvParser {
            rows: Rows::Declared(rows),
            delim,
            quoting,
            header: if is_header {
                Header::Skip
            } else {
                Header::None
            },
            ncols,
            col_slot: (0..ncols).map(Some).collect(),
            vals: vec![Val::Null; ncols],
            scratch: Vec::new(),
        })
    }

    /// Parses one record. `quoted`: it may hold a `"` (without one, no field is
    /// quoted and the checks for quotes are skipped).
    fn parse_record(
        &mut self,
        rec: &str,
        quoted: bool,
        out: &mut BatchBuilder,
    ) -> Result<(), String> {
        let CsvParser {
            rows,
            delim,
            quoting,
            ncols,
            col_slot,
            vals,
            scratch,
            ..
        } = self;
        vals.fill(Val::Null);
        scratch.clear();
        let n = split_record(rec, *delim, *quoting && quoted, scratch, |j, v| {
            if let Some(&Some(s)) = col_slot.get(j) {
                vals[s] = v;
            }
        })?;
        if n != *ncols {
            return Err(format!("expected {ncols} fields, found {n}"));
        }
        let scratch =
            std::str::from_utf8(scratch).map_err(|_| "invalid UTF-8 in a field".to_string())?;
        match rows {
            Rows::Plan(plan) => plan.append(vals, rec, scratch, out),
            Rows::Declared(d) => d.append(vals, rec, scratch, out),
        }
    }
}

impl LogParser for CsvParser {
    fn schema(&self) -> &TableSchema {
        match &self.rows {
            Rows::Plan(plan) => &plan.schema,
            Rows::Declared(d) => d.schema(),
        }
    }

    fn parse_chunk(
        &mut self,
        chunk: &[u8],
        first_line: u64,
        out: &mut BatchBuilder,
        rejects: &mut Vec<Reject>,
    ) -> u64 {
        let mut seen = 0u64;
        let mut line = first_line;
        let mut pos = 0;
        let mut at_header = first_line == 1 && !matches!(self.header, Header::None);
        // Valid UTF-8 as a whole (the usual case): then so is every record, as records
        // are cut at ASCII line breaks, and none needs checking on its own.
        let text = simdutf8::basic::from_utf8(chunk).ok();
        // The chunk's next `"` at or after `pos`: records that end before it are
        // cut at their line break and split without looking for quotes (a file
        // without quotes is searched for them once per chunk, not per field).
        let find_quote =
            |from: usize| memchr::memchr(b'"', &chunk[from..]).map_or(chunk.len(), |i| from + i);
        let mut next_quote = if self.quoting {
            find_quote(0)
        } else {
            chunk.len()
        };
        while pos < chunk.len() {
            if next_quote < pos {
                next_quote = find_quote(pos);
            }
            let scan = match memchr::memchr(b'\n', &chunk[pos..]).map_or(chunk.len(), |i| pos + i) {
                nl if nl < next_quote || next_quote == chunk.len() => RecordScan {
                    end: nl,
                    complete: true,
                    breaks: 0,
                    quoted: false,
                },
                _ => scan_record(chunk, pos, self.quoting),
            };
            let complete = scan.complete;
            // An unterminated record: only its first line is consumed.
            let (end, breaks) = if complete {
                (scan.end, scan.breaks)
            } else {
                (
                    memchr::memchr(b'\n', &chunk[pos..]).map_or(chunk.len(), |i| pos + i),
                    0,
                )
            };
            let number = line;
            line += 1 + breaks;
            let rec_start = pos;
            let rec = strip_cr(&chunk[pos..end]);
            pos = end + 1;
            if std::mem::take(&mut at_header) {
                match &self.header {
                    Header::Skip => continue,
                    Header::Match(h) if complete && rec == h.as_slice() => continue,
                    _ => {}
                }
            }
            seen += 1;
            let outcome = if !complete {
                // Name the first fault of the line (a stray quote, or the field that
                // opens the unterminated quote).
                self.scratch.clear();
                let fault = std::str::from_utf8(rec)
                    .ok()
                    .and_then(|l| split_record(l, b',', true, &mut self.scratch, |_, _| {}).err());
                Err(fault.unwrap_or_else(|| "unterminated quoted field".to_string()))
            } else if number == 1 && first_line == 1 && matches!(self.header, Header::Match(_)) {
                Err("header differs from the sample's header".to_string())
            } else if rec.len() > MAX_LINE_LEN {
                Err("line longer than 1 MiB".to_string())
            } else if rec.is_empty() {
                Err("empty line".to_string())
            } else {
                let checked = match text.and_then(|t| t.get(rec_start..rec_start + rec.len())) {
                    Some(t) => Ok(t),
                    None => std::str::from_utf8(rec)
                        .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to())),
                };
                match checked {
                    Ok(t) => self.parse_record(t, scan.quoted, out),
                    Err(e) => Err(e),
                }
            };
            if let Err(reason) = outcome {
                rejects.push(Reject {
                    line: number,
                    reason,
                });
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::CsvOptions;

    #[test]
    fn generated_names_are_padded_as_duckdb_pads_them() {
        assert_eq!(generated_names(3), ["column0", "column1", "column2"]);
        assert_eq!(generated_names(10)[9], "column9");
        assert_eq!(generated_names(11)[..2], ["column00", "column01"]);
        assert_eq!(generated_names(12)[11], "column11");
        assert_eq!(generated_names(101)[100], "column100");
    }

    /// The rows `sample` gives with declared columns of `types`.
    fn declared_rows(sample: &str, types: &[DataType], header: Option<bool>) -> usize {
        let options = ParserOptions {
            sample: Some(sample.as_bytes().to_vec()),
            csv: CsvOptions {
                header,
                columns: Some(
                    types
                        .iter()
                        .enumerate()
                        .map(|(i, &t)| (format!("c{i}"), t))
                        .collect(),
                ),
                names: Vec::new(),
                types: Vec::new(),
            },
            ..Default::default()
        };
        let mut p = CsvParser::new(b',', &options).unwrap();
        let mut out = BatchBuilder::new(p.schema());
        let mut rejects = Vec::new();
        let lines = p.parse_chunk(sample.as_bytes(), 1, &mut out, &mut rejects);
        assert_eq!(lines as usize, out.len() + rejects.len(), "{sample:?}");
        out.len()
    }

    #[test]
    fn declared_columns_sniff_the_header_as_duckdb_does() {
        use DataType::{BigInt, Date, Varchar};
        // A value that does not convert: a header.
        assert_eq!(declared_rows("a,b\n1,y\n", &[BigInt, Varchar], None), 1);
        // Values that do: data.
        assert_eq!(declared_rows("1,b\n1,y\n", &[BigInt, Varchar], None), 2);
        // All VARCHAR: a header unless a value is empty.
        assert_eq!(declared_rows("1,2\n3,4\n", &[Varchar, Varchar], None), 1);
        assert_eq!(declared_rows(",y\nx,y\n", &[Varchar, Varchar], None), 2);
        // A DATE with a time converts, but does not make the line data.
        let dated = "1,2024-05-01 10:00:00\n2,2024-05-02 10:00:00\n";
        assert_eq!(declared_rows(dated, &[Varchar, Date], None), 1);
        assert_eq!(declared_rows(dated, &[Varchar, Date], Some(false)), 2);
        // Said: skipped whatever it holds, or read (and here rejected).
        assert_eq!(
            declared_rows("1,b\n1,y\n", &[BigInt, Varchar], Some(true)),
            1
        );
        assert_eq!(
            declared_rows("a,b\n1,y\n", &[BigInt, Varchar], Some(false)),
            1
        );
    }

    fn fields(rec: &str) -> Result<Vec<String>, String> {
        let mut scratch = Vec::new();
        let mut v = Vec::new();
        split_record(rec, b',', true, &mut scratch, |_, x| v.push(x))?;
        let s = std::str::from_utf8(&scratch).unwrap().to_string();
        Ok(v.into_iter()
            .map(|x| match x {
                Val::Str(src) => src.text(rec, &s).to_string(),
                _ => "<null>".to_string(),
            })
            .collect())
    }

    #[test]
    fn rfc4180_fields() {
        assert_eq!(
            fields("a,\"b,c\",,\"\"").unwrap(),
            ["a", "b,c", "<null>", ""]
        );
        assert_eq!(
            fields("\"x \"\"q\"\" y\",z,").unwrap(),
            ["x \"q\" y", "z", "<null>"]
        );
        assert_eq!(fields("\"line\nbreak\"").unwrap(), ["line\nbreak"]);
        assert_eq!(fields("\"\"\"\"").unwrap(), ["\""]);
        assert!(fields("a\"b").is_err());
        assert!(fields("\"a\"b").is_err());
        assert!(fields("\"a").is_err());
    }

    #[test]
    fn record_ends() {
        let chunk = b"a,\"b\nc\",d\ne\n\"open\nx";
        assert_eq!(record_end(chunk, 0, true), (9, true));
        assert_eq!(record_end(chunk, 10, true), (11, true));
        assert_eq!(record_end(chunk, 12, true), (19, false));
    }

    #[test]
    fn record_scans_count_breaks_and_note_quotes() {
        let chunk = b"a,\"b\nc\n\",d\ne,f\n\"g\",h";
        let r = scan_record(chunk, 0, true);
        assert_eq!((r.end, r.complete, r.breaks, r.quoted), (10, true, 2, true));
        let r = scan_record(chunk, 11, true);
        assert_eq!(
            (r.end, r.complete, r.breaks, r.quoted),
            (14, true, 0, false)
        );
        let r = scan_record(chunk, 15, true);
        assert_eq!((r.end, r.complete, r.breaks, r.quoted), (20, true, 0, true));
        let r = scan_record(chunk, 15, false);
        assert_eq!((r.end, r.breaks, r.quoted), (20, 0, false));
    }
}
