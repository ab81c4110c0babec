//! Binding the file readers of FROM: `read_log(path, format := 'auto',
//! log_format := '...')`, `read_csv(path, header := true, delim := ',',
//! columns := {'a': 'BIGINT'}, names := ['a'], types := {'a': 'VARCHAR'})`,
//! `read_json(path, format := 'auto' | 'array' | 'newline_delimited')` /
//! `read_ndjson(path)` and a quoted file name
//! (`FROM 'access.log'`, the reader chosen by the name's extension). Every one
//! takes `filename := true` (a last VARCHAR column naming each row's file),
//! `reject_file := 'path'` (rejected lines written there) and `ignore_errors :=
//! false` (the first rejected line fails the query), except read_parquet.
//!
//! The path (a file, a directory, or a glob pattern; `.gz` and `.zst` read
//! through) is expanded here, with import's source expansion, and the head of
//! the first file is read: the schema must be known to bind the rest of the query.
//! It is the schema `logdb import` makes of that file: an access-log format's
//! canonical columns (format detected as import detects it), a records file's
//! own columns with inferred types.

use std::path::PathBuf;

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::Binder;
use crate::column::Value;
use crate::error::{Error, Result};
use crate::exec::table_function::file_read_refused;
use crate::import::{expand_sources, Source};
use crate::ingest::input::{source_name, Sampled, SAMPLE_LINES};
use crate::ingest::{self, detect, json_array, CsvOptions, ParserOptions};
use crate::plan::{FileRead, JsonFormat, TableFunc};
use crate::schema::DataType;

/// The names of the file readers.
pub(super) const READERS: &[&str] = &[
    "read_log",
    "read_csv",
    "read_csv_auto",
    "read_json",
    "read_json_auto",
    "read_ndjson",
    "read_ndjson_auto",
    "read_parquet",
    "parquet_scan",
];

/// The formats `read_log(..., format := ...)` accepts besides `auto`.
const LOG_FORMATS: &[&str] = &[
    "auto", "combined", "common", "nginx", "elb", "alb", "jsonl", "csv", "tsv",
];

/// A named argument's value.
struct Named {
    name: String,
    /// The value of a scalar argument (NULL for a STRUCT or list literal).
    value: Value,
    /// The entries of a STRUCT literal (`{'a': 'BIGINT'}`, keyed) or a list
    /// literal (`['a', 'b']`), which logdb does not evaluate as values: they are
    /// read here, entry by entry.
    items: Option<Vec<Item>>,
    span: Span,
}

/// One entry of a STRUCT or list argument.
struct Item {
    key: Option<String>,
    value: Value,
    span: Span,
}

impl Binder<'_> {
    /// `FROM 'file'`: the reader for the name's extension (after `.gz` / `.zst`):
    /// `.csv` / `.tsv` read_csv, `.json` / `.jsonl` / `.ndjson` read_json,
    /// anything else read_log with format detection.
    pub(super) fn file_by_name(&self, path: &str, span: Span) -> Result<TableFunc> {
        let name = path.to_ascii_lowercase();
        let name = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".zst"))
            .unwrap_or(&name);
        let reader = match name.rsplit_once('.').map(|(_, ext)| ext) {
            Some("csv" | "tsv") => "read_csv",
            Some("json" | "jsonl" | "ndjson") => "read_json",
            Some("parquet") => "read_parquet",
            _ => "read_log",
        };
        self.file_read(reader, path, Vec::new(), JsonFormat::Auto, span)
    }

    /// `read_log(...)`, `read_csv(...)`, `read_json(...)`: the first argument is
    /// the path, the others are named.
    pub(super) fn file_reader_call(
        &mut self,
        fname: &str,
        args: &[ast::FunctionArg],
        span: Span,
    ) -> Result<TableFunc> {
        let reader = match fname {
            "read_csv" | "read_csv_auto" => "read_csv",
            "read_json" | "read_json_auto" | "read_ndjson" | "read_ndjson_auto" => "read_json",
            "read_parquet" | "parquet_scan" => "read_parquet",
            _ => "read_log",
        };
        let mut path = None;
        let mut named = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let (name, e) = match a {
                ast::FunctionArg::Named {
                    name,
                    arg: ast::FunctionArgExpr::Expr(e),
                    ..
                } => (Some(name.value.clone()), e),
                ast::FunctionArg::ExprNamed {
                    name: ast::Expr::Identifier(name),
                    arg: ast::FunctionArgExpr::Expr(e),
                    ..
                } => (Some(name.value.clone()), e),
                // `header = true`: DuckDB's spelling of a named argument.
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) if i > 0 => match e {
                    ast::Expr::BinaryOp {
                        left,
                        op: ast::BinaryOperator::Eq,
                        right,
                    } => match &**left {
                        ast::Expr::Identifier(id) => (Some(id.value.clone()), &**right),
                        _ => (None, e),
                    },
                    _ => (None, e),
                },
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => (None, e),
                other => {
                    return Err(self.unsupported(other.span(), format!("this argument of {fname}")))
                }
            };
            let mut at = e.span();
            let mut items = None;
            let value = match e {
                ast::Expr::Dictionary(fields) if name.is_some() => {
                    let mut list = Vec::with_capacity(fields.len());
                    for f in fields {
                        let span = f.value.span();
                        at = at.union(&f.key.span).union(&span);
                        list.push(Item {
                            key: Some(f.key.value.clone()),
                            value: self.constant_value(&f.value)?,
                            span,
                        });
                    }
                    items = Some(list);
                    Value::Null
                }
                ast::Expr::Array(a) if name.is_some() => {
                    let mut list = Vec::with_capacity(a.elem.len());
                    for v in &a.elem {
                        list.push(Item {
                            key: None,
                            value: self.constant_value(v)?,
                            span: v.span(),
                        });
                    }
                    items = Some(list);
                    Value::Null
                }
                _ => self.constant_value(e)?,
            };
            match name {
                None if i == 0 => match value {
                    Value::Str(s) => path = Some(s.to_string()),
                    _ => {
                        return Err(self.err(
                            at,
                            format!("the first argument of {fname} is the file path (a string)"),
                        ))
                    }
                },
                None => {
                    return Err(self.err(
                        at,
                        format!("{fname} takes one path; name the other arguments (delim := ',')"),
                    ))
                }
                Some(n) => named.push(Named {
                    name: n.to_ascii_lowercase(),
                    value,
                    items,
                    span: at,
                }),
            }
        }
        let path =
            path.ok_or_else(|| self.err(span, format!("{fname} needs a file path argument")))?;
        // read_ndjson is read_json of newline-delimited records.
        let json_format = if fname.starts_with("read_ndjson") {
            JsonFormat::NewlineDelimited
        } else {
            JsonFormat::Auto
        };
        self.file_read(reader, &path, named, json_format, span)
    }

    /// The value of a constant argument expression.
    fn constant_value(&mut self, e: &ast::Expr) -> Result<Value> {
        let at = e.span();
        let expr = self.child(false).bind_expr(e)?;
        if expr.has_subquery() {
            return Err(self.unsupported(at, "a subquery as a table function argument"));
        }
        if super::is_null_literal(&expr) {
            return Ok(Value::Null);
        }
        self.fold(&expr, at)
    }

    /// Settles what `reader` reads at `path`: the files, the format (detected
    /// from the first file's head for `auto`) and the schema. `json_format` is
    /// read_json's unless its `format` option says otherwise.
    fn file_read(
        &self,
        reader: &'static str,
        path: &str,
        named: Vec<Named>,
        mut json_format: JsonFormat,
        span: Span,
    ) -> Result<TableFunc> {
        if !self.options.allow_file_read {
            return Err(self.err(span, file_read_refused(reader)));
        }
        if reader == "read_parquet" {
            return self.parquet_read(path, named, span);
        }
        if reader != "read_json" {
            // read_log's jsonl is JSON lines only.
            json_format = JsonFormat::NewlineDelimited;
        }
        let mut format = match reader {
            "read_csv" => "csv".to_string(),
            "read_json" => "jsonl".to_string(),
            _ => "auto".to_string(),
        };
        let (mut log_format, mut delimiter) = (None, None);
        let (mut filename, mut reject_file) = (false, None);
        let mut delim_given = false;
        let (mut header, mut declared, mut names) = (None, None, Vec::new());
        let mut types: Option<&Named> = None;
        let mut ignore_errors = true;
        let text = |n: &Named| -> Result<Option<String>> {
            match &n.value {
                Value::Str(s) => Ok(Some(s.to_string())),
                Value::Null => Ok(None),
                _ => Err(self.err(n.span, format!("{reader}: {} takes a string", n.name))),
            }
        };
        let flag = |n: &Named| -> Result<bool> {
            match &n.value {
                Value::Bool(b) => Ok(*b),
                Value::Int(i) => Ok(*i != 0),
                _ => Err(self.err(n.span, format!("{reader}: {} takes true or false", n.name))),
            }
        };
        for n in &named {
            match (reader, n.name.as_str()) {
                (_, "filename") => filename = flag(n)?,
                (_, "reject_file") => reject_file = text(n)?.map(PathBuf::from),
                ("read_log", "format") => {
                    let f = text(n)?
                        .unwrap_or_else(|| "auto".into())
                        .to_ascii_lowercase();
                    if !LOG_FORMATS.contains(&f.as_str()) {
                        return Err(self.err(
                            n.span,
                            format!(
                                "read_log: unknown format '{f}'; known formats: {}",
                                LOG_FORMATS.join(", ")
                            ),
                        ));
                    }
                    format = f;
                }
                ("read_log", "log_format") => {
                    log_format = text(n)?;
                    if format == "auto" {
                        format = "nginx".into();
                    }
                }
                (_, "ignore_errors") => ignore_errors = flag(n)?,
                ("read_csv", "header") => header = Some(flag(n)?),
                ("read_csv", "columns") => declared = Some(self.declared_columns(n)?),
                ("read_csv", "names" | "column_names") => names = self.name_list(n)?,
                ("read_csv", "types" | "dtypes" | "column_types") => types = Some(n),
                ("read_csv", "delim" | "sep" | "delimiter") => {
                    delim_given = true;
                    let d = text(n)?.unwrap_or_else(|| ",".into());
                    let d = match d.as_str() {
                        "\\t" => "\t",
                        d => d,
                    };
                    match d.as_bytes() {
                        [b'\t'] => format = "tsv".into(),
                        [c] if !matches!(c, b'"' | b'\n' | b'\r') => delimiter = Some(*c),
                        _ => {
                            return Err(self.err(
                                n.span,
                                format!("read_csv: delim must be one character, not '{d}'"),
                            ))
                        }
                    }
                }
                ("read_csv", "quote") => {
                    if text(n)?.as_deref().is_some_and(|q| q != "\"") {
                        return Err(
                            self.unsupported(n.span, "read_csv with a quote other than '\"'")
                        );
                    }
                }
                ("read_csv" | "read_json", "auto_detect") => {}
                ("read_json", "format") => {
                    let f = text(n)?.unwrap_or_default().to_ascii_lowercase();
                    json_format = match f.as_str() {
                        "auto" => JsonFormat::Auto,
                        "newline_delimited" | "nd" => JsonFormat::NewlineDelimited,
                        "array" => JsonFormat::Array,
                        "unstructured" => {
                            return Err(self.unsupported(
                                n.span,
                                "read_json format 'unstructured' (records one per line, or \
                                 in one array)",
                            ))
                        }
                        _ => {
                            return Err(self.err(
                                n.span,
                                format!(
                                    "read_json: unknown format '{f}'; known formats: auto, \
                                     newline_delimited, array"
                                ),
                            ))
                        }
                    };
                }
                (_, other) => {
                    let known = match reader {
                        "read_log" => "format, log_format, filename, reject_file, ignore_errors",
                        "read_csv" => {
                            "header, delim (sep), quote, columns, names, types (dtypes, \
                             column_types), filename, reject_file, ignore_errors"
                        }
                        _ => "format, filename, reject_file, ignore_errors",
                    };
                    return Err(self.err(
                        n.span,
                        format!("{reader}: unknown option '{other}'; known options: {known}"),
                    ));
                }
            }
        }
        if let (Some(_), Some(n)) = (&declared, named.iter().find(|n| n.name.contains("names"))) {
            return Err(self.err(
                n.span,
                "read_csv: give the column names once: in columns or in names, not both",
            ));
        }
        if let (Some(_), Some(n)) = (&declared, types) {
            return Err(self.err(
                n.span,
                format!(
                    "read_csv: give the column types once: in columns or in {}, not both",
                    n.name
                ),
            ));
        }
        if format == "nginx" && log_format.is_none() {
            return Err(self.err(
                span,
                "read_log: format 'nginx' needs log_format := '<the nginx log_format string>'",
            ));
        }
        let inputs = expand_sources(&[Source::Path(PathBuf::from(path))])
            .map_err(|e| self.err(span, format!("{reader}: {e}")))?;
        let files: Vec<PathBuf> = inputs
            .iter()
            .filter_map(|s| match s {
                Source::Path(p) => Some(p.clone()),
                Source::Stdin => None,
            })
            .collect();
        let Some(first) = inputs.first() else {
            return Err(self.err(span, format!("{reader}: no files in '{path}'")));
        };
        let fail = |e: Error| self.err(span, format!("{reader}: {e}"));
        let mut sampled = if reader == "read_json" {
            // A JSON array's elements are sampled one per line, as they are read.
            let (input, compression, _) =
                json_array::open(first, json_format.array()).map_err(fail)?;
            Sampled::read(source_name(first), input, compression, detect::DETECT_LINES)
                .map_err(fail)?
        } else {
            Sampled::open(first, detect::DETECT_LINES).map_err(fail)?
        };
        if format == "auto" {
            let d = detect::detect(&sampled.sample, &source_name(first)).map_err(|e| {
                // Detection's advice names import's flags; say it in SQL.
                let m = e.to_string().replace(
                    "pass --format FORMAT (other layouts: --format nginx --log-format '...')",
                    "pass format := 'combined' (or common, elb, alb, ...; other layouts: \
                     log_format := '...')",
                );
                self.err(span, format!("{reader}: {m}"))
            })?;
            format = d.format.to_string();
        }
        let records = matches!(format.as_str(), "jsonl" | "csv" | "tsv");
        if records {
            sampled.extend(SAMPLE_LINES).map_err(fail)?;
        }
        if reader == "read_csv" && !delim_given {
            // DuckDB sniffs the separator: the one the header line holds most of.
            match sniff_delimiter(&sampled.sample) {
                b'\t' => format = "tsv".into(),
                b',' => {}
                d => delimiter = Some(d),
            }
        }
        let mut popts = ParserOptions {
            log_format: log_format.clone(),
            sample: Some(sampled.sample.clone()),
            delimiter,
            csv: CsvOptions {
                header,
                columns: declared,
                names,
                types: Vec::new(),
            },
            ..Default::default()
        };
        if let Some(n) = types {
            let delim = match format.as_str() {
                "tsv" => b'\t',
                _ => delimiter.unwrap_or(b','),
            };
            let fields = ingest::csv_field_names(delim, &popts)
                .map_err(|e| self.err(span, format!("{reader}: {}: {e}", source_name(first))))?;
            popts.csv.types = self.type_overrides(n, &fields, &source_name(first))?;
        }
        let schema = ingest::parser_for(&format, &popts)
            .map_err(|e| self.err(span, format!("{reader}: {}: {e}", source_name(first))))?
            .schema()
            .clone();
        let bytes = files
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        Ok(TableFunc::ReadFile(Box::new(FileRead {
            function: reader,
            pattern: path.to_string(),
            files,
            bytes,
            format,
            log_format,
            json_format,
            delimiter,
            sample: sampled.sample,
            columns: schema
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.data_type))
                .collect(),
            declared: popts.csv.columns.is_some(),
            header: popts.csv.header,
            names: popts.csv.names,
            types: popts.csv.types,
            ignore_errors,
            filename,
            reject_file,
            rows: None,
            projection: None,
            stats_filter: Vec::new(),
            hive: Vec::new(),
            hive_values: Vec::new(),
        })))
    }

    /// `columns := {'name': 'TYPE', ...}`: the declared columns of read_csv.
    fn declared_columns(&self, n: &Named) -> Result<Vec<(String, DataType)>> {
        let usage = "read_csv: columns takes a STRUCT of names and types: \
                     columns := {'a': 'BIGINT', 's': 'VARCHAR'}";
        let items = match &n.items {
            Some(items) if items.iter().all(|i| i.key.is_some()) => items,
            _ => return Err(self.err(n.span, usage)),
        };
        if items.is_empty() {
            return Err(self.err(n.span, "read_csv: columns needs at least one column"));
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Value::Str(t) = &item.value else {
                return Err(self.err(item.span, usage));
            };
            let name = item.key.clone().unwrap_or_default();
            out.push((name, self.declared_type(t, item.span)?));
        }
        Ok(out)
    }

    /// A type named in `columns` (the names and aliases of CREATE TABLE).
    fn declared_type(&self, text: &str, span: Span) -> Result<DataType> {
        let upper = text.trim().to_ascii_uppercase();
        let base = upper.split('(').next().unwrap_or_default().trim();
        let base = match base {
            "TIMESTAMP WITH TIME ZONE" | "TIMESTAMP WITHOUT TIME ZONE" => "TIMESTAMP",
            "DOUBLE PRECISION" => "DOUBLE",
            "CHARACTER VARYING" | "CHAR VARYING" | "CHARACTER" => "VARCHAR",
            b => b,
        };
        if matches!(base, "DECIMAL" | "NUMERIC" | "DEC") {
            return DataType::parse(&upper).map_err(|e| self.err(span, format!("read_csv: {e}")));
        }
        let t = DataType::parse(base).map_err(|e| self.err(span, format!("read_csv: {e}")))?;
        if upper.contains('(') && t != DataType::Varchar {
            return Err(self.err(
                span,
                format!("read_csv: type \"{base}\" does not take any type parameters"),
            ));
        }
        Ok(t)
    }

    /// `types := {'name': 'TYPE', ...}` (some columns by name) or `['T1',
    /// 'T2']` (the first columns by position): the type set for each of the
    /// file's columns (`fields`, in order), if any.
    fn type_overrides(
        &self,
        n: &Named,
        fields: &[String],
        file: &str,
    ) -> Result<Vec<Option<DataType>>> {
        let usage = format!(
            "read_csv: {} takes a STRUCT of column names and types ({0} := {{'a': 'BIGINT'}}) \
             or a list of types by position ({0} := ['BIGINT', 'VARCHAR'])",
            n.name
        );
        let items = match &n.items {
            Some(items)
                if items.iter().all(|i| i.key.is_some())
                    || items.iter().all(|i| i.key.is_none()) =>
            {
                items
            }
            _ => return Err(self.err(n.span, usage)),
        };
        if items.len() > fields.len() && items.iter().all(|i| i.key.is_none()) {
            return Err(self.err(
                n.span,
                format!(
                    "read_csv: {} gives {} types, but {file} has {} columns",
                    n.name,
                    items.len(),
                    fields.len()
                ),
            ));
        }
        let mut out = vec![None; fields.len()];
        for (pos, item) in items.iter().enumerate() {
            let Value::Str(t) = &item.value else {
                return Err(self.err(item.span, usage));
            };
            let ty = self.declared_type(t, item.span)?;
            let i = match &item.key {
                None => pos,
                Some(name) => ingest::csv_column_position(fields, name).ok_or_else(|| {
                    self.err(
                        item.span,
                        format!(
                            "read_csv: {}: no column '{name}' in {file}; its columns: {}",
                            n.name,
                            fields.join(", ")
                        ),
                    )
                })?,
            };
            out[i] = Some(ty);
        }
        // Trailing columns without a type need no entry.
        while out.last() == Some(&None) {
            out.pop();
        }
        Ok(out)
    }

    /// `names := ['a', 'b']`.
    fn name_list(&self, n: &Named) -> Result<Vec<String>> {
        let usage = "read_csv: names takes a list of names: names := ['a', 'b']";
        let Some(items) = &n.items else {
            return Err(self.err(n.span, usage));
        };
        items
            .iter()
            .map(|i| match (&i.key, &i.value) {
                (None, Value::Str(s)) if !s.is_empty() => Ok(s.to_string()),
                _ => Err(self.err(i.span, usage)),
            })
            .collect()
    }

    /// `read_parquet(path)`: the schema from the first file's footer, the row
    /// count from every file's.
    fn parquet_read(&self, path: &str, named: Vec<Named>, span: Span) -> Result<TableFunc> {
        let mut filename = false;
        let mut hive = true;
        for n in &named {
            match n.name.as_str() {
                "hive_partitioning" => {
                    hive = match &n.value {
                        Value::Bool(b) => *b,
                        Value::Int(i) => *i != 0,
                        _ => {
                            return Err(self.err(
                                n.span,
                                "read_parquet: hive_partitioning takes true or false",
                            ))
                        }
                    }
                }
                "filename" => {
                    filename = match &n.value {
                        Value::Bool(b) => *b,
                        Value::Int(i) => *i != 0,
                        _ => {
                            return Err(
                                self.err(n.span, "read_parquet: filename takes true or false")
                            )
                        }
                    }
                }
                // Reading the columns by name or by position gives the same here:
                // every file must have the first file's columns.
                "union_by_name" | "binary_as_string" => {}
                other => {
                    return Err(self.err(
                        n.span,
                        format!(
                            "read_parquet: unknown option '{other}'; known options: filename, \
                             hive_partitioning"
                        ),
                    ))
                }
            }
        }
        let fail = |e: Error| self.err(span, format!("read_parquet: {e}"));
        let inputs = expand_sources(&[Source::Path(PathBuf::from(path))]).map_err(fail)?;
        let is_dir = std::path::Path::new(path).is_dir();
        let files: Vec<PathBuf> = inputs
            .into_iter()
            .filter_map(|s| match s {
                Source::Path(p) => Some(p),
                Source::Stdin => None,
            })
            // A directory's Parquet files, not its other files (an export's manifest).
            .filter(|p| !is_dir || p.extension().is_some_and(|e| e == "parquet"))
            .collect();
        if files.is_empty() {
            return Err(self.err(span, format!("read_parquet: no files in '{path}'")));
        }
        self.parquet_files(path, files, filename, hive, span)
    }

    #[cfg(feature = "arrow")]
    fn parquet_files(
        &self,
        path: &str,
        files: Vec<PathBuf>,
        filename: bool,
        hive: bool,
        span: Span,
    ) -> Result<TableFunc> {
        let fail = |e: Error| self.err(span, format!("read_parquet: {e}"));
        let (hive, hive_values) = if hive {
            hive_partitions(&files)
        } else {
            (Vec::new(), Vec::new())
        };
        let first = crate::arrow::ParquetFile::open(&files[0]).map_err(fail)?;
        let mut rows = first.num_rows();
        let mut bytes = 0;
        for (i, f) in files.iter().enumerate() {
            bytes += std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
            if i > 0 {
                rows += crate::arrow::ParquetFile::open(f).map_err(fail)?.num_rows();
            }
        }
        Ok(TableFunc::ReadFile(Box::new(FileRead {
            function: "read_parquet",
            pattern: path.to_string(),
            files,
            bytes,
            format: "parquet".into(),
            log_format: None,
            json_format: JsonFormat::NewlineDelimited,
            delimiter: None,
            sample: Vec::new(),
            columns: first.columns().to_vec(),
            declared: false,
            header: None,
            names: Vec::new(),
            types: Vec::new(),
            ignore_errors: true,
            filename,
            reject_file: None,
            rows: Some(rows),
            projection: None,
            stats_filter: Vec::new(),
            hive,
            hive_values,
        })))
    }

    #[cfg(not(feature = "arrow"))]
    fn parquet_files(
        &self,
        _: &str,
        _: Vec<PathBuf>,
        _: bool,
        _: bool,
        span: Span,
    ) -> Result<TableFunc> {
        Err(self.err(
            span,
            "read_parquet: this logdb was built without the `arrow` feature",
        ))
    }
}

/// The Hive partition columns of `files`, as DuckDB detects them: the
/// `key=value` directories of each file's path, when every file has the same
/// keys in the same order (else none). A column is BIGINT when every value is
/// an integer, DATE when every value is `YYYY-MM-DD`, else VARCHAR; values are
/// percent-decoded, and `__HIVE_DEFAULT_PARTITION__` is NULL.
#[cfg(feature = "arrow")]
fn hive_partitions(files: &[PathBuf]) -> (Vec<(String, DataType)>, Vec<Vec<Value>>) {
    let parts = |p: &PathBuf| -> Vec<(String, Option<String>)> {
        p.parent()
            .into_iter()
            .flat_map(|d| d.components())
            .filter_map(|c| {
                let c = c.as_os_str().to_str()?;
                let (k, v) = c.split_once('=')?;
                let v = (v != "__HIVE_DEFAULT_PARTITION__").then(|| percent_decode(v));
                Some((percent_decode(k), v))
            })
            .collect()
    };
    let all: Vec<_> = files.iter().map(parts).collect();
    let keys: Vec<String> = all
        .first()
        .map(|p| p.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    let same_keys = |p: &Vec<(String, Option<String>)>| {
        p.len() == keys.len() && p.iter().zip(&keys).all(|((k, _), key)| k == key)
    };
    if keys.is_empty() || !all.iter().all(same_keys) {
        return (Vec::new(), Vec::new());
    }
    let mut columns = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let values = || all.iter().filter_map(|p| p[i].1.as_deref());
        let ty = if values().all(|v| v.parse::<i64>().is_ok()) {
            DataType::BigInt
        } else if values().all(|v| v.len() == 10 && crate::time::parse_date(v).is_some()) {
            DataType::Date
        } else {
            DataType::Varchar
        };
        columns.push((key.clone(), ty));
    }
    let values = all
        .iter()
        .map(|p| {
            p.iter()
                .zip(&columns)
                .map(|((_, v), (_, ty))| match (v, ty) {
                    (None, _) => Value::Null,
                    (Some(v), DataType::BigInt) => v.parse::<i64>().map_or(Value::Null, Value::Int),
                    (Some(v), DataType::Date) => {
                        crate::time::parse_date(v).map_or(Value::Null, Value::Int)
                    }
                    (Some(v), _) => Value::Str(v.as_str().into()),
                })
                .collect()
        })
        .collect();
    (columns, values)
}

/// `%XX` escapes replaced by their bytes (anything else kept as written).
#[cfg(feature = "arrow")]
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The separator of a csv file by its first line: the most frequent of `,`,
/// tab, `;` and `|` (`,` when none occurs).
fn sniff_delimiter(sample: &[u8]) -> u8 {
    let line = &sample[..memchr::memchr(b'\n', sample).unwrap_or(sample.len())];
    let mut best = (0, b',');
    for d in [b',', b'\t', b';', b'|'] {
        let n = line.iter().filter(|&&c| c == d).count();
        if n > best.0 {
            best = (n, d);
        }
    }
    best.1
}
