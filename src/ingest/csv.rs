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
//! # The header line
//! The header is not a data line. In a chunk whose first line is line 1 (the start of
//! an input file), the first record is the header: when it is the sample's header it
//! is skipped and **not counted** in the lines `parse_chunk` returns (the importer's
//! line total therefore excludes headers). A different header is rejected ("header
//! differs from the sample's header") and the file's records are still read by the
//! sample's column positions: chunks are parsed independently, so one file's header
//! cannot re-map the columns of its other chunks.

use super::fields::{snake_case, Plan, Seen, Src, Val};
use super::{LogParser, ParserOptions, Reject, MAX_LINE_LEN};
use crate::column::BatchBuilder;
use crate::error::{Error, Result};
use crate::schema::TableSchema;

pub(crate) struct CsvParser {
    plan: Plan,
    delim: u8,
    quoting: bool,
    /// The sample's header record, as written (without line end).
    header: Vec<u8>,
    /// Fields per record.
    ncols: usize,
    /// The plan slot of each record field (`None`: ignored).
    col_slot: Vec<Option<usize>>,
    vals: Vec<Val>,
    scratch: Vec<u8>,
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

impl CsvParser {
    pub(crate) fn new(delim: u8, options: &ParserOptions) -> Result<CsvParser> {
        let format = if delim == b'\t' { "tsv" } else { "csv" };
        let quoting = delim != b'\t';
        let bad = |what: &str| Error::InvalidInput(format!("{format}: {what}"));
        let sample = options.sample.as_deref().ok_or_else(|| {
            bad("needs a sample of the input's first lines, starting with the header")
        })?;
        let (end, complete) = record_end(sample, 0, quoting);
        let header = strip_cr(&sample[..end]);
        if !complete {
            return Err(bad("unterminated quoted field in the header"));
        }
        let header_text =
            std::str::from_utf8(header).map_err(|_| bad("the header is not valid UTF-8"))?;
        if header_text.is_empty() {
            return Err(bad("the sample's first line (the header) is empty"));
        }
        let mut scratch = Vec::new();
        let mut srcs = Vec::new();
        split_record(header_text, delim, quoting, &mut scratch, |_, v| {
            srcs.push(v)
        })
        .map_err(|e| bad(&format!("bad header: {e}")))?;
        let scratch_text = std::str::from_utf8(&scratch).unwrap_or_default();
        let names: Vec<String> = srcs
            .iter()
            .map(|v| match v {
                Val::Str(s) => s.text(header_text, scratch_text).to_string(),
                _ => String::new(),
            })
            .collect();
        let ncols = names.len();

        // Types from the records after the header.
        let mut seen = vec![Seen::default(); ncols];
        let mut row: Vec<Val> = Vec::with_capacity(ncols);
        let mut pos = end + 1;
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
            plan,
            delim,
            quoting,
            header: header.to_vec(),
            ncols,
            col_slot,
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
            plan,
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
        plan.append(vals, rec, scratch, out)
    }
}

impl LogParser for CsvParser {
    fn schema(&self) -> &TableSchema {
        &self.plan.schema
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
        let mut at_header = first_line == 1;
        // Valid UTF-8 as a whole (the usual case): then so is every record, as records
        // are cut at ASCII line breaks, and none needs checking on its own.
        let text = std::str::from_utf8(chunk).ok();
        while pos < chunk.len() {
            let scan = scan_record(chunk, pos, self.quoting);
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
            if std::mem::take(&mut at_header) && complete && rec == self.header.as_slice() {
                continue;
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
            } else if number == 1 && first_line == 1 {
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
