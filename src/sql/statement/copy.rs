//! `COPY`, as DuckDB spells it: `COPY (query) TO 'path' (options)`,
//! `COPY table [(cols)] TO 'path' (options)` and `COPY table FROM 'path'
//! (options)`.
//!
//! sqlparser reads PostgreSQL's COPY, whose options are not DuckDB's
//! (`COMPRESSION`, `OVERWRITE_OR_IGNORE`, `PARTITION_BY`), so the statement is
//! recognized here from tokens. The query of `COPY (query) TO` is parsed by the
//! ordinary parser from the statement's text with everything around it blanked
//! out, so its error positions are those of the whole statement.
//!
//! `COPY ... TO` runs the query as a stream (`QueryStream`) and writes each batch
//! as it arrives (`exec/write_files.rs`), into `<path>.tmp` renamed at the end.
//! `COPY ... FROM` appends a file's rows to a table through the readers of
//! `read_csv` / `read_json` / `read_log`, as `INSERT INTO t SELECT * FROM
//! read_...(path, ...)` (columns by position). A csv file of records is read with
//! the table's columns declared (`columns := {...}, ignore_errors := false`), so the
//! first value that does not convert fails the COPY naming its line, before
//! anything is appended. Specified in spec/sql.md, "COPY".

use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use sqlparser::ast;
use sqlparser::dialect::DuckDbDialect;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};

use super::{err_at, resolve_table, results, starting_with, Statement};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::write_files::{FileWriter, WriteFormat, WriteOptions};
use crate::exec::write_partitioned::PartitionedWriter;
use crate::exec::write_per_thread::PerThreadWriter;
use crate::exec::write_rotating::{publish, FileSeries};
use crate::exec::{ExecOptions, QueryResult, QueryStream};
use crate::ingest::{Compression, CANONICAL_COLUMNS};
use crate::schema::{DataType, TableSchema};

/// A parsed `COPY` statement.
#[derive(Clone, Debug)]
pub struct Copy {
    source: Source,
    /// `TO` (write a file) or `FROM` (read one into a table).
    to: bool,
    path: String,
    path_span: Span,
    options: Vec<CopyOption>,
    /// The `COPY` keyword.
    span: Span,
}

#[derive(Clone, Debug)]
enum Source {
    Query(Box<ast::Query>),
    Table {
        name: ast::Ident,
        columns: Vec<ast::Ident>,
    },
}

/// One `NAME [value]` of the option list.
#[derive(Clone, Debug)]
struct CopyOption {
    /// Upper case.
    name: String,
    span: Span,
    value: OptionValue,
}

#[derive(Clone, Debug)]
enum OptionValue {
    /// The name alone (`HEADER`: true).
    None,
    Text(String),
    /// A bare word or number (`csv`, `true`, `1`).
    Word(String),
    /// `(a, b)`: PARTITION_BY's columns.
    List(Vec<String>),
}

impl OptionValue {
    fn text(&self) -> Option<&str> {
        match self {
            OptionValue::Text(s) | OptionValue::Word(s) => Some(s),
            _ => None,
        }
    }
}

/// Recognizes a statement starting with `COPY`; `None` for anything else.
pub(crate) fn parse_copy(sql: &str) -> Option<Result<Statement>> {
    let dialect = DuckDbDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .ok()?;
    let tokens = starting_with(tokens, "COPY")?;
    Some(
        Parser { sql, tokens, i: 1 }
            .copy()
            .map(|c| Statement::Copy(Box::new(c))),
    )
}

struct Parser<'a> {
    sql: &'a str,
    tokens: Vec<TokenWithSpan>,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&TokenWithSpan> {
        self.tokens.get(self.i)
    }

    fn span(&self) -> Span {
        self.peek()
            .or_else(|| self.tokens.last())
            .map_or(Span::empty(), |t| t.span)
    }

    fn fail<T>(&self, what: &str) -> Result<T> {
        let found = match self.peek().map(|t| &t.token) {
            None | Some(Token::EOF) => "the end of the statement".to_string(),
            Some(t) => format!("'{t}'"),
        };
        Err(err_at(
            self.span(),
            self.span(),
            format!("COPY: expected {what}, found {found}"),
        ))
    }

    fn word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(TokenWithSpan { token: Token::Word(x), .. })
            if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
    }

    fn token(&self, t: &Token) -> bool {
        self.peek().is_some_and(|x| &x.token == t)
    }

    fn ident(&mut self, what: &str) -> Result<ast::Ident> {
        match self.peek() {
            Some(TokenWithSpan {
                token: Token::Word(w),
                span,
            }) => {
                let id = ast::Ident {
                    value: w.value.clone(),
                    quote_style: w.quote_style,
                    span: *span,
                };
                self.i += 1;
                Ok(id)
            }
            _ => self.fail(what),
        }
    }

    fn copy(mut self) -> Result<Copy> {
        let span = self.tokens[0].span;
        let source = if self.token(&Token::LParen) {
            Source::Query(Box::new(self.query()?))
        } else {
            let name = self.ident("a table name or a (query)")?;
            if self.token(&Token::Period) {
                return Err(err_at(
                    self.span(),
                    span,
                    "not supported yet: qualified table names",
                ));
            }
            let columns = if self.token(&Token::LParen) {
                self.i += 1;
                self.column_list()?
            } else {
                Vec::new()
            };
            Source::Table { name, columns }
        };
        let to = if self.word("TO") {
            true
        } else if self.word("FROM") {
            false
        } else {
            return self.fail("TO or FROM");
        };
        self.i += 1;
        let (path, path_span) = match self.peek() {
            Some(TokenWithSpan {
                token: Token::SingleQuotedString(s),
                span,
            }) => (s.clone(), *span),
            Some(TokenWithSpan {
                token: Token::Word(w),
                span,
            }) if w.quote_style.is_none()
                && (w.value.eq_ignore_ascii_case("STDOUT")
                    || w.value.eq_ignore_ascii_case("STDIN")) =>
            {
                return Err(err_at(
                    *span,
                    *span,
                    "not supported yet: COPY to or from STDOUT/STDIN (name a file)",
                ))
            }
            _ => return self.fail("a file name in single quotes"),
        };
        self.i += 1;
        if matches!(&source, Source::Query(_)) && !to {
            return Err(err_at(
                span,
                span,
                "COPY (query) FROM is not possible: copy into a table",
            ));
        }
        let mut options = Vec::new();
        if self.word("WITH") {
            self.i += 1;
        }
        if self.token(&Token::LParen) {
            self.i += 1;
            if self.token(&Token::RParen) {
                self.i += 1;
            } else {
                loop {
                    options.push(self.option()?);
                    if self.token(&Token::Comma) {
                        self.i += 1;
                    } else if self.token(&Token::RParen) {
                        self.i += 1;
                        break;
                    } else {
                        return self.fail("',' or ')' in the option list");
                    }
                }
            }
        }
        while self.token(&Token::SemiColon) {
            self.i += 1;
        }
        if !matches!(self.peek().map(|t| &t.token), None | Some(Token::EOF)) {
            return self.fail("the end of the statement");
        }
        Ok(Copy {
            source,
            to,
            path,
            path_span,
            options,
            span,
        })
    }

    /// `( query )`: parsed from the statement's text with everything else
    /// blanked, so positions stay those of the statement.
    fn query(&mut self) -> Result<ast::Query> {
        let open = self.i;
        let mut depth = 0usize;
        let mut close = None;
        for (k, t) in self.tokens.iter().enumerate().skip(open) {
            match t.token {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(k);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            return self.fail("')' closing the query");
        };
        let start = offset(self.sql, self.tokens[open].span.end);
        let end = offset(self.sql, self.tokens[close].span.start);
        let blanked: String = self
            .sql
            .char_indices()
            .map(|(b, c)| {
                if (start..end).contains(&b) || c == '\n' {
                    c
                } else {
                    ' '
                }
            })
            .collect();
        self.i = close + 1;
        match super::super::parse_statement(&blanked)? {
            Statement::Query {
                query,
                explain: None,
            } => Ok(*query),
            _ => Err(err_at(
                self.tokens[open].span,
                self.tokens[open].span,
                "COPY (...) TO takes a SELECT query",
            )),
        }
    }

    /// `a, b, c)`: column names up to the closing parenthesis (the opening one
    /// already taken).
    fn column_list(&mut self) -> Result<Vec<ast::Ident>> {
        let mut columns = Vec::new();
        loop {
            columns.push(self.ident("a column name")?);
            if self.token(&Token::Comma) {
                self.i += 1;
            } else if self.token(&Token::RParen) {
                self.i += 1;
                return Ok(columns);
            } else {
                return self.fail("',' or ')'");
            }
        }
    }

    fn option(&mut self) -> Result<CopyOption> {
        let (name, span) = match self.peek() {
            Some(TokenWithSpan {
                token: Token::Word(w),
                span,
            }) => (w.value.to_ascii_uppercase(), *span),
            _ => return self.fail("an option name"),
        };
        self.i += 1;
        if self.token(&Token::Eq) {
            self.i += 1;
        }
        let value = match self.peek().map(|t| t.token.clone()) {
            Some(Token::SingleQuotedString(s)) => {
                self.i += 1;
                OptionValue::Text(s)
            }
            Some(Token::Word(w)) => {
                self.i += 1;
                OptionValue::Word(w.value)
            }
            Some(Token::Number(n, _)) => {
                self.i += 1;
                OptionValue::Word(n)
            }
            Some(Token::Minus) => match self.tokens.get(self.i + 1).map(|t| &t.token) {
                Some(Token::Number(n, _)) => {
                    let n = format!("-{n}");
                    self.i += 2;
                    OptionValue::Word(n)
                }
                _ => return self.fail("a value"),
            },
            Some(Token::LParen) => {
                self.i += 1;
                let names = self.column_list()?;
                OptionValue::List(names.into_iter().map(|c| c.value).collect())
            }
            _ => OptionValue::None,
        };
        Ok(CopyOption { name, span, value })
    }
}

/// The byte offset of a (1-based line, 1-based character column) location.
fn offset(sql: &str, at: Location) -> usize {
    let mut line = 1;
    let mut col = 1;
    for (b, c) in sql.char_indices() {
        if line == at.line && col == at.column {
            return b;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    sql.len()
}

/// Runs a `COPY` statement.
pub(super) fn execute(db: &Db, options: &ExecOptions, copy: &Copy) -> Result<QueryResult> {
    if copy.to {
        copy_to(db, options, copy)
    } else {
        copy_from(db, options, copy)
    }
}

fn bool_option(o: &CopyOption) -> Result<bool> {
    match &o.value {
        OptionValue::None => Ok(true),
        v => match v.text().map(str::to_ascii_lowercase).as_deref() {
            Some("true" | "1" | "on") => Ok(true),
            Some("false" | "0" | "off") => Ok(false),
            _ => Err(err_at(
                o.span,
                o.span,
                format!("COPY option {} takes true or false", o.name),
            )),
        },
    }
}

fn text_option(o: &CopyOption) -> Result<&str> {
    o.value.text().ok_or_else(|| {
        err_at(
            o.span,
            o.span,
            format!("COPY option {} takes a value", o.name),
        )
    })
}

/// One character of `o`'s value.
fn char_option(o: &CopyOption) -> Result<char> {
    let s = text_option(o)?;
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(err_at(
            o.span,
            o.span,
            format!("COPY option {} takes one character, not '{s}'", o.name),
        )),
    }
}

fn unknown_option(o: &CopyOption, known: &str) -> Error {
    err_at(
        o.span,
        o.span,
        format!("unknown COPY option {}; known: {known}", o.name),
    )
}

/// The query whose rows `COPY ... TO` writes.
fn source_query(db: &Db, copy: &Copy) -> Result<ast::Query> {
    match &copy.source {
        Source::Query(q) => Ok((**q).clone()),
        Source::Table { name, columns } => {
            let (key, _) = resolve_table(db, name, copy.span)?;
            let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            let cols = if columns.is_empty() {
                "*".to_string()
            } else {
                columns
                    .iter()
                    .map(|c| quote(&c.value))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            super::super::parse(&format!("SELECT {cols} FROM {}", quote(&key)))
        }
    }
}

fn copy_to(db: &Db, options: &ExecOptions, copy: &Copy) -> Result<QueryResult> {
    const KNOWN: &str = "FORMAT, HEADER, DELIMITER (SEP), QUOTE, ESCAPE, NULL, COMPRESSION, \
                         ROW_GROUP_SIZE, ARRAY, OVERWRITE, OVERWRITE_OR_IGNORE, PARTITION_BY, \
                         PER_THREAD_OUTPUT, FILE_SIZE_BYTES";
    let at = |msg: String| err_at(copy.path_span, copy.span, msg);
    if !options.allow_file_write {
        return Err(err_at(
            copy.span,
            copy.span,
            "COPY ... TO: writing files is disabled here (logdb serve allows it only when \
             started with --allow-file-write)",
        ));
    }
    let mut w = WriteOptions::default();
    // A format named by the extension, as DuckDB picks it.
    let bare = copy
        .path
        .trim_end_matches(".gz")
        .trim_end_matches(".zst")
        .to_ascii_lowercase();
    if bare.ends_with(".json") || bare.ends_with(".jsonl") || bare.ends_with(".ndjson") {
        w.format = WriteFormat::Json;
    } else if bare.ends_with(".parquet") {
        w.format = WriteFormat::Parquet;
    }
    let mut overwrite = false;
    let mut partition_by: Option<Vec<String>> = None;
    let mut compression: Option<&CopyOption> = None;
    let mut row_group_size: Option<&CopyOption> = None;
    let mut array: Option<&CopyOption> = None;
    let mut per_thread: Option<&CopyOption> = None;
    let mut file_size: Option<u64> = None;
    for o in &copy.options {
        match o.name.as_str() {
            "FORMAT" => {
                w.format = match text_option(o)?.to_ascii_lowercase().as_str() {
                    "csv" => WriteFormat::Csv,
                    "json" | "ndjson" | "jsonl" => WriteFormat::Json,
                    "parquet" => WriteFormat::Parquet,
                    other => {
                        return Err(err_at(
                            o.span,
                            o.span,
                            format!("COPY: unknown FORMAT '{other}'; known: csv, json, parquet"),
                        ))
                    }
                }
            }
            "HEADER" => w.header = bool_option(o)?,
            "DELIMITER" | "SEP" | "DELIM" => w.delimiter = text_option(o)?.to_string(),
            "QUOTE" => w.quote = char_option(o)?,
            "ESCAPE" => w.escape = char_option(o)?,
            "NULL" | "NULLSTR" => w.null = text_option(o)?.to_string(),
            "COMPRESSION" | "CODEC" => compression = Some(o),
            "ROW_GROUP_SIZE" => row_group_size = Some(o),
            "ARRAY" => {
                w.json_array = bool_option(o)?;
                array = Some(o);
            }
            "OVERWRITE" | "OVERWRITE_OR_IGNORE" => overwrite = bool_option(o)?,
            "PARTITION_BY" => {
                partition_by = Some(match &o.value {
                    OptionValue::List(names) => names.clone(),
                    OptionValue::Word(name) | OptionValue::Text(name) => vec![name.clone()],
                    OptionValue::None => {
                        return Err(err_at(o.span, o.span, "COPY: PARTITION_BY takes (columns)"))
                    }
                })
            }
            "PER_THREAD_OUTPUT" => per_thread = bool_option(o)?.then_some(o),
            "FILE_SIZE_BYTES" => file_size = Some(size_option(o)?),
            _ => return Err(unknown_option(o, KNOWN)),
        }
    }
    if let Some(o) = array.filter(|_| w.format != WriteFormat::Json) {
        return Err(err_at(
            o.span,
            o.span,
            "COPY: ARRAY is an option of FORMAT json",
        ));
    }
    if w.format == WriteFormat::Parquet {
        parquet_options(&mut w, compression, row_group_size)?;
    } else {
        if let Some(o) = row_group_size {
            return Err(err_at(
                o.span,
                o.span,
                "COPY: ROW_GROUP_SIZE is a Parquet option",
            ));
        }
        w.compression = match compression {
            None => Compression::from_extension(&copy.path).unwrap_or(Compression::None),
            Some(o) => match text_option(o)?.to_ascii_lowercase().as_str() {
                "gzip" => Compression::Gzip,
                "zstd" => Compression::Zstd,
                "none" | "uncompressed" => Compression::None,
                "auto" => Compression::from_extension(&copy.path).unwrap_or(Compression::None),
                other => {
                    return Err(err_at(
                        o.span,
                        o.span,
                        format!("COPY: unknown COMPRESSION '{other}'; known: gzip, zstd, none"),
                    ))
                }
            },
        };
    }
    if w.delimiter.is_empty() {
        return Err(at("COPY: DELIMITER must not be empty".into()));
    }
    let path = Path::new(&copy.path);
    if let Some(by) = partition_by {
        if let Some(o) = per_thread {
            return Err(err_at(
                o.span,
                o.span,
                "COPY: PER_THREAD_OUTPUT and PARTITION_BY cannot be combined",
            ));
        }
        return copy_partitioned(db, options, copy, w, &by, overwrite, file_size);
    }
    if per_thread.is_some() || file_size.is_some() {
        return copy_to_files(
            db,
            options,
            copy,
            w,
            overwrite,
            file_size,
            per_thread.is_some(),
        );
    }
    if path.is_dir() {
        return Err(at(format!("COPY: '{}' is a directory", copy.path)));
    }
    if path.exists() && !overwrite {
        return Err(at(format!(
            "COPY: '{}' exists; add (OVERWRITE) to replace it",
            copy.path
        )));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            return Err(at(format!(
                "COPY: cannot write '{}': directory '{}' does not exist",
                copy.path,
                parent.display()
            )));
        }
    }
    let query = source_query(db, copy)?;
    let snapshot = db.snapshot()?;
    let plan = super::super::plan_query_with(&snapshot, &query, options)?;
    let mut stream = QueryStream::start(snapshot, plan, options.clone())?;
    let mut writer = FileWriter::create(path, stream.columns(), w)?;
    while let Some(batch) = stream.next_batch() {
        writer.write_batch(batch?)?;
        options.check_cancel()?;
    }
    let rows = writer.finish()?;
    Ok(results::count_result(rows))
}

/// The directory a COPY that writes several files writes into: refused when
/// it is a file, or not empty without OVERWRITE / OVERWRITE_OR_IGNORE.
fn output_directory<'a>(copy: &'a Copy, overwrite: bool, what: &str) -> Result<&'a Path> {
    let at = |msg: String| err_at(copy.path_span, copy.span, msg);
    let dir = Path::new(&copy.path);
    if dir.is_file() {
        return Err(at(format!(
            "COPY: '{}' is a file; {what} writes a directory",
            copy.path
        )));
    }
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    if occupied && !overwrite {
        return Err(at(format!(
            "COPY: directory '{}' is not empty; add (OVERWRITE_OR_IGNORE) to write into it",
            copy.path
        )));
    }
    Ok(dir)
}

/// The extension of the files a COPY writes into a directory (`data_0.csv.gz`).
fn file_extension(w: &WriteOptions) -> &'static str {
    match (w.format, w.compression) {
        (WriteFormat::Parquet, _) => "parquet",
        (WriteFormat::Json, Compression::Gzip) => "json.gz",
        (WriteFormat::Json, Compression::Zstd) => "json.zst",
        (WriteFormat::Json, Compression::None) => "json",
        (WriteFormat::Csv, Compression::Gzip) => "csv.gz",
        (WriteFormat::Csv, Compression::Zstd) => "csv.zst",
        (WriteFormat::Csv, Compression::None) => "csv",
    }
}

/// `FILE_SIZE_BYTES n`: a number of bytes, or a size with its unit as DuckDB
/// reads memory sizes (`'10MB'`, `'1.5GiB'`, `'300kb'`).
fn size_option(o: &CopyOption) -> Result<u64> {
    let bad = |why: String| {
        err_at(
            o.span,
            o.span,
            format!(
                "COPY: FILE_SIZE_BYTES takes a size in bytes (a number, or '10MB', '1GiB'): \
                 {why}"
            ),
        )
    };
    match &o.value {
        OptionValue::Word(n) => match n.parse::<f64>() {
            Ok(x) if x >= 0.0 && x.is_finite() => Ok(x as u64),
            _ => Err(bad(format!("not '{n}'"))),
        },
        OptionValue::Text(t) if t.trim().starts_with('-') => Err(bad(format!("not '{t}'"))),
        OptionValue::Text(t) => super::settings::parse_memory_limit(t)
            .map(|n| n as u64)
            .map_err(bad),
        _ => Err(bad("no value".into())),
    }
}

/// `COPY ... TO 'dir' (PER_THREAD_OUTPUT)` and `(FILE_SIZE_BYTES n)`: a
/// directory of files `data_N.<ext>`, one per writer thread
/// (`exec/write_per_thread.rs`) and/or a new one each time a file passes the
/// size (`exec/write_rotating.rs`).
fn copy_to_files(
    db: &Db,
    options: &ExecOptions,
    copy: &Copy,
    w: WriteOptions,
    overwrite: bool,
    limit: Option<u64>,
    per_thread: bool,
) -> Result<QueryResult> {
    let what = if per_thread {
        "PER_THREAD_OUTPUT"
    } else {
        "FILE_SIZE_BYTES"
    };
    let dir = output_directory(copy, overwrite, what)?;
    let created = !dir.exists();
    let written = write_files(db, options, copy, w, dir, limit, per_thread);
    if written.is_err() && created {
        // Nothing was published in it: no empty directory is left either.
        let _ = std::fs::remove_dir(dir);
    }
    Ok(results::count_result(written?))
}

/// The rows of `copy`'s query written into `dir` as [`copy_to_files`] says.
fn write_files(
    db: &Db,
    options: &ExecOptions,
    copy: &Copy,
    w: WriteOptions,
    dir: &Path,
    limit: Option<u64>,
    per_thread: bool,
) -> Result<u64> {
    let extension = file_extension(&w);
    let query = source_query(db, copy)?;
    let snapshot = db.snapshot()?;
    let plan = super::super::plan_query_with(&snapshot, &query, options)?;
    let mut stream = QueryStream::start(snapshot, plan, options.clone())?;
    let columns = stream.columns().to_vec();
    Ok(if per_thread {
        let mut writer =
            PerThreadWriter::create(dir, &columns, extension, w, limit, options.threads)?;
        while let Some(batch) = stream.next_batch() {
            writer.write_batch(batch?)?;
            options.check_cancel()?;
        }
        writer.finish()?
    } else {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let numbers = Arc::new(AtomicUsize::new(0));
        let mut series = FileSeries::new(dir, &columns, extension, w, limit, numbers);
        while let Some(batch) = stream.next_batch() {
            series.write_batch(&batch?)?;
            options.check_cancel()?;
        }
        series.ensure_file()?;
        let (files, rows) = series.close()?;
        publish(files)?;
        rows
    })
}

/// `COPY ... TO 'dir' (PARTITION_BY (cols))`: a directory of files, one per
/// partition (`exec/write_partitioned.rs`), or several with FILE_SIZE_BYTES.
fn copy_partitioned(
    db: &Db,
    options: &ExecOptions,
    copy: &Copy,
    w: WriteOptions,
    by: &[String],
    overwrite: bool,
    limit: Option<u64>,
) -> Result<QueryResult> {
    let at = |msg: String| err_at(copy.path_span, copy.span, msg);
    let dir = output_directory(copy, overwrite, "PARTITION_BY")?;
    let extension = file_extension(&w);
    let query = source_query(db, copy)?;
    let snapshot = db.snapshot()?;
    let plan = super::super::plan_query_with(&snapshot, &query, options)?;
    let mut stream = QueryStream::start(snapshot, plan, options.clone())?;
    let mut writer = PartitionedWriter::create(dir, stream.columns(), by, extension, w, limit)
        .map_err(|e| match e {
            Error::InvalidInput(m) => at(m),
            other => other,
        })?;
    while let Some(batch) = stream.next_batch() {
        writer.write_batch(&batch?)?;
        options.check_cancel()?;
    }
    let rows = writer.finish()?;
    Ok(results::count_result(rows))
}

/// The codec and row group size of a Parquet COPY.
#[cfg(feature = "arrow")]
fn parquet_options(
    w: &mut WriteOptions,
    compression: Option<&CopyOption>,
    row_group_size: Option<&CopyOption>,
) -> Result<()> {
    use crate::arrow::ParquetCompression;
    if let Some(o) = compression {
        let name = text_option(o)?;
        w.parquet.compression = ParquetCompression::from_name(name).ok_or_else(|| {
            err_at(
                o.span,
                o.span,
                format!(
                    "COPY: unknown Parquet COMPRESSION '{name}'; known: snappy, zstd, gzip, \
                     lz4_raw, uncompressed"
                ),
            )
        })?;
    }
    if let Some(o) = row_group_size {
        w.parquet.row_group_rows = o
            .value
            .text()
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                err_at(
                    o.span,
                    o.span,
                    "COPY: ROW_GROUP_SIZE takes a positive number of rows",
                )
            })?;
    }
    Ok(())
}

#[cfg(not(feature = "arrow"))]
fn parquet_options(
    _: &mut WriteOptions,
    _: Option<&CopyOption>,
    _: Option<&CopyOption>,
) -> Result<()> {
    Err(Error::InvalidInput(
        "this logdb was built without the `arrow` feature: Parquet cannot be written".into(),
    ))
}

fn copy_from(db: &Db, options: &ExecOptions, copy: &Copy) -> Result<QueryResult> {
    let Source::Table { name, columns } = &copy.source else {
        return Err(err_at(copy.span, copy.span, "COPY ... FROM needs a table"));
    };
    if let Some(c) = columns.first() {
        return Err(err_at(
            c.span,
            copy.span,
            "not supported yet: a column list in COPY ... FROM",
        ));
    }
    let (key, table) = resolve_table(db, name, copy.span)?;
    let lower = copy
        .path
        .trim_end_matches(".gz")
        .trim_end_matches(".zst")
        .to_ascii_lowercase();
    let mut reader =
        if lower.ends_with(".json") || lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            "read_json"
        } else if lower.ends_with(".csv") || lower.ends_with(".tsv") {
            "read_csv"
        } else if lower.ends_with(".parquet") {
            "read_parquet"
        } else {
            "read_log"
        };
    let mut args = vec![sql_text(&copy.path)];
    let mut array = None;
    for o in &copy.options {
        match o.name.as_str() {
            "FORMAT" => {
                let f = text_option(o)?.to_ascii_lowercase();
                match f.as_str() {
                    "csv" => reader = "read_csv",
                    "json" | "ndjson" | "jsonl" => reader = "read_json",
                    "parquet" => reader = "read_parquet",
                    _ => {
                        reader = "read_log";
                        args.push(format!("format = {}", sql_text(&f)));
                    }
                }
            }
            "HEADER" => args.push(format!("header = {}", bool_option(o)?)),
            "DELIMITER" | "SEP" | "DELIM" => {
                args.push(format!("delim = {}", sql_text(text_option(o)?)))
            }
            "ARRAY" => array = Some((o, bool_option(o)?)),
            _ => {
                return Err(unknown_option(o, "FORMAT, HEADER, DELIMITER (SEP), ARRAY"));
            }
        }
    }
    if let Some((o, array)) = array {
        if reader != "read_json" {
            return Err(err_at(
                o.span,
                o.span,
                "COPY: ARRAY is an option of FORMAT json",
            ));
        }
        let layout = if array { "array" } else { "newline_delimited" };
        args.push(format!("format = '{layout}'"));
    }
    if !options.allow_file_read {
        return Err(err_at(
            copy.span,
            copy.span,
            "COPY ... FROM: reading files is disabled here (logdb serve allows it only when \
             started with --allow-file-read)",
        ));
    }
    let mut opts = options.clone();
    let fail = |e: Error| match e {
        // Errors of the generated statements carry their positions: name the COPY's.
        Error::InvalidInput(m) if m.starts_with("line ") => {
            let rest = m.split_once(": ").map_or(m.as_str(), |(_, r)| r);
            err_at(
                copy.path_span,
                copy.span,
                format!("COPY {} FROM '{}': {rest}", name.value, copy.path),
            )
        }
        other => other,
    };
    // A csv file of records is read with the table's columns declared, so a value
    // that does not convert is a rejected line, and any rejected line fails the
    // COPY naming it (DuckDB fails on such a line too). An access log in csv keeps
    // its canonical columns.
    let mut file_types = None;
    if reader == "read_csv" {
        let probe = super::super::parse(&format!("SELECT * FROM read_csv({})", args.join(", ")))
            .map_err(fail)?;
        let snapshot = db.snapshot()?;
        let inferred = crate::sql::plan_query_with(&snapshot, &probe, &opts)
            .map_err(fail)?
            .schema();
        let canonical = CANONICAL_COLUMNS
            .iter()
            .zip(&inferred)
            .all(|(&(n, t), (name, ty))| n == name && t == *ty);
        if inferred.len() == table.fields.len() && !canonical {
            let declared: Vec<String> = table
                .fields
                .iter()
                .map(|f| format!("{}: {}", sql_text(&f.name), sql_text(&f.data_type.name())))
                .collect();
            args.push(format!("columns = {{{}}}", declared.join(", ")));
            args.push("ignore_errors = false".into());
            file_types = Some(inferred);
        }
    }
    let sql = format!(
        "INSERT INTO \"{}\" SELECT * FROM {reader}({})",
        key.replace('"', "\"\""),
        args.join(", ")
    );
    let statement = super::super::parse_statement(&sql)?;
    super::execute(db, &mut opts, &statement).map_err(|e| match (e, &file_types) {
        (Error::InvalidInput(m), Some(types)) if m.starts_with("read_csv: ") => {
            bad_line(copy, &name.value, &table, types, &m["read_csv: ".len()..])
        }
        (e, _) => fail(e),
    })
}

/// `s` as a SQL string literal.
fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The error of a COPY FROM whose csv reader failed on a line (`<file>: line N:
/// <reason>`): the file (unless it is the COPY's path), the line and the reason,
/// and for a value that did not convert the type the file's column has.
fn bad_line(
    copy: &Copy,
    table_name: &str,
    table: &TableSchema,
    file_types: &[(String, DataType)],
    message: &str,
) -> Error {
    let message = message
        .strip_prefix(copy.path.as_str())
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message);
    // "line N: column 'c': ..." names the table's column (the declared names).
    let column = message.split_once(": column '").and_then(|(_, rest)| {
        table
            .fields
            .iter()
            .position(|f| rest.starts_with(&format!("{}': ", f.name)))
    });
    let file_type = column
        .and_then(|i| {
            file_types
                .get(i)
                .map(|c| c.1)
                .filter(|&t| t != table.fields[i].data_type)
        })
        .map(|t| format!(" (the file's column is {t})"))
        .unwrap_or_default();
    err_at(
        copy.path_span,
        copy.span,
        format!(
            "COPY {table_name} FROM '{}': {message}{file_type}",
            copy.path
        ),
    )
}
