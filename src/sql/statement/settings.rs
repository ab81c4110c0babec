//! Session settings: `SET name = value`, `RESET name | ALL` and `SELECT
//! current_setting('name')` over the [`ExecOptions`] of a session.

use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use super::constant::{cast_value, const_value, option_text};
use super::err_at;
use super::results::success;
use crate::column::{Batch, Column, ColumnData, Value};
use crate::error::Result;
use crate::exec::vector::push_value;
use crate::exec::{ExecOptions, ExplainOutput, NullOrder, QueryResult};
use crate::schema::DataType;

/// The session settings `SET` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setting {
    Threads,
    MemoryLimit,
    UseIndexes,
    TimeZone,
    AggregateCache,
    DefaultOrder,
    DefaultNullOrder,
    Verification,
    VerifyParallelism,
    ExplainOutput,
    ScalarSubqueryError,
}

const ALL: [Setting; 11] = [
    Setting::Threads,
    Setting::MemoryLimit,
    Setting::UseIndexes,
    Setting::TimeZone,
    Setting::AggregateCache,
    Setting::DefaultOrder,
    Setting::DefaultNullOrder,
    Setting::Verification,
    Setting::VerifyParallelism,
    Setting::ExplainOutput,
    Setting::ScalarSubqueryError,
];

const SETTINGS: &str = "aggregate_cache, default_null_order, default_order, explain_output, \
     memory_limit, scalar_subquery_error_on_multiple_rows, threads, TimeZone, use_indexes, \
     verification, verify_parallelism";

/// Most threads `SET threads` accepts.
const MAX_THREADS: i64 = 1024;

fn setting_by_name(name: &str) -> Option<Setting> {
    match name.to_ascii_lowercase().as_str() {
        "threads" | "worker_threads" => Some(Setting::Threads),
        "memory_limit" | "max_memory" => Some(Setting::MemoryLimit),
        "use_indexes" => Some(Setting::UseIndexes),
        "timezone" => Some(Setting::TimeZone),
        "aggregate_cache" => Some(Setting::AggregateCache),
        "default_order" => Some(Setting::DefaultOrder),
        "default_null_order" | "null_order" => Some(Setting::DefaultNullOrder),
        "verification" => Some(Setting::Verification),
        "verify_parallelism" => Some(Setting::VerifyParallelism),
        "explain_output" => Some(Setting::ExplainOutput),
        "scalar_subquery_error_on_multiple_rows" => Some(Setting::ScalarSubqueryError),
        _ => None,
    }
}

/// Whether `name` is a setting `SET` knows.
pub(super) fn is_setting(name: &str) -> bool {
    setting_by_name(name).is_some()
}

fn setting_of(name: &ast::ObjectName, fallback: Span) -> Result<Setting> {
    let text = name.to_string();
    setting_by_name(&text).ok_or_else(|| {
        err_at(
            name.span(),
            fallback,
            format!("unrecognized configuration parameter '{text}'; known settings: {SETTINGS}"),
        )
    })
}

fn reset_setting(options: &mut ExecOptions, s: Setting) {
    let d = ExecOptions::default();
    match s {
        Setting::Threads => options.threads = d.threads,
        Setting::MemoryLimit => options.memory_limit = d.memory_limit,
        Setting::UseIndexes => options.use_indexes = d.use_indexes,
        Setting::TimeZone => options.time_zone = d.time_zone,
        Setting::AggregateCache => options.aggregate_cache = d.aggregate_cache,
        Setting::DefaultOrder => options.default_descending = d.default_descending,
        Setting::DefaultNullOrder => options.default_null_order = d.default_null_order,
        Setting::Verification => options.verification = d.verification,
        Setting::VerifyParallelism => options.verify_parallelism = d.verify_parallelism,
        Setting::ExplainOutput => options.explain_output = d.explain_output,
        Setting::ScalarSubqueryError => {
            options.scalar_subquery_error_on_multiple_rows =
                d.scalar_subquery_error_on_multiple_rows
        }
    }
}

fn reset_all(options: &mut ExecOptions) {
    for s in ALL {
        reset_setting(options, s);
    }
}

/// `RESET name` or `RESET ALL`: back to the defaults.
pub(super) fn reset(
    options: &mut ExecOptions,
    r: &ast::Reset,
    fallback: Span,
) -> Result<QueryResult> {
    match r {
        ast::Reset::ALL => reset_all(options),
        ast::Reset::ConfigurationParameter(name) => {
            let setting = setting_of(name, fallback)?;
            reset_setting(options, setting);
        }
        ast::Reset::SessionAuthorization => {
            return Err(err_at(
                fallback,
                fallback,
                "not supported yet: RESET SESSION AUTHORIZATION",
            ))
        }
    }
    Ok(success())
}

/// `SET name = value` (`DEFAULT` resets).
pub(super) fn set(
    options: &mut ExecOptions,
    variable: &ast::ObjectName,
    values: &[ast::Expr],
    fallback: Span,
) -> Result<QueryResult> {
    let setting = setting_of(variable, fallback)?;
    let [value] = values else {
        return Err(err_at(
            fallback,
            fallback,
            format!("SET {variable} takes one value"),
        ));
    };
    if matches!(value, ast::Expr::Identifier(i) if i.value.eq_ignore_ascii_case("default")) {
        reset_setting(options, setting);
        return Ok(success());
    }
    let span = value.span();
    let (v, _) = const_value(value, fallback).map_err(|_| {
        err_at(
            span,
            fallback,
            format!("SET {variable} needs a literal value"),
        )
    })?;
    match setting {
        Setting::Threads => {
            let n = match &v {
                Value::Int(n) => Some(*n),
                Value::Float(f) if f.is_finite() => Some(f.round() as i64),
                Value::Str(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            match n {
                Some(n) if (1..=MAX_THREADS).contains(&n) => options.threads = n as usize,
                Some(_) => {
                    return Err(err_at(
                        span,
                        fallback,
                        format!("threads must be between 1 and {MAX_THREADS}"),
                    ))
                }
                None => return Err(err_at(span, fallback, "threads needs an integer")),
            }
        }
        Setting::MemoryLimit => {
            let text = match &v {
                Value::Str(s) => s.to_string(),
                Value::Int(n) => n.to_string(),
                Value::Float(f) => f.to_string(),
                _ => String::new(),
            };
            options.memory_limit =
                parse_memory_limit(&text).map_err(|m| err_at(span, fallback, m))?;
        }
        Setting::UseIndexes => {
            options.use_indexes = match cast_value(&v, value_type(&v), DataType::Boolean) {
                Ok(Value::Bool(b)) => b,
                _ => return Err(err_at(span, fallback, "use_indexes needs true or false")),
            }
        }
        Setting::AggregateCache
        | Setting::Verification
        | Setting::VerifyParallelism
        | Setting::ScalarSubqueryError => {
            let b = match cast_value(&v, value_type(&v), DataType::Boolean) {
                Ok(Value::Bool(b)) => b,
                _ => {
                    return Err(err_at(
                        span,
                        fallback,
                        format!("{variable} needs true or false"),
                    ))
                }
            };
            match setting {
                Setting::AggregateCache => options.aggregate_cache = b,
                Setting::Verification => options.verification = b,
                Setting::ScalarSubqueryError => options.scalar_subquery_error_on_multiple_rows = b,
                _ => options.verify_parallelism = b,
            }
        }
        Setting::ExplainOutput => {
            let parsed = match &v {
                Value::Str(s) => ExplainOutput::parse(s),
                _ => None,
            };
            options.explain_output = parsed.ok_or_else(|| {
                err_at(
                    span,
                    fallback,
                    "explain_output needs 'PHYSICAL_ONLY', 'OPTIMIZED_ONLY' or 'ALL'",
                )
            })?;
        }
        Setting::DefaultOrder => {
            let text = match &v {
                Value::Str(s) => s.trim().to_ascii_lowercase(),
                _ => String::new(),
            };
            options.default_descending = match text.as_str() {
                "asc" | "ascending" => false,
                "desc" | "descending" => true,
                _ => {
                    return Err(err_at(
                        span,
                        fallback,
                        "default_order needs 'ASC' or 'DESC'",
                    ))
                }
            }
        }
        Setting::DefaultNullOrder => {
            let parsed = match &v {
                Value::Str(s) => NullOrder::parse(s),
                _ => None,
            };
            options.default_null_order = parsed.ok_or_else(|| {
                err_at(
                    span,
                    fallback,
                    "default_null_order needs 'NULLS_FIRST', 'NULLS_LAST', \
                     'NULLS_FIRST_ON_ASC_LAST_ON_DESC' (or 'sqlite', 'mysql') or \
                     'NULLS_LAST_ON_ASC_FIRST_ON_DESC' (or 'postgres')",
                )
            })?;
        }
        Setting::TimeZone => {
            let Value::Str(name) = &v else {
                return Err(err_at(
                    span,
                    fallback,
                    "TimeZone needs a zone name in quotes",
                ));
            };
            // Checked against the tz database now, so a typo fails at SET.
            crate::exec::date::time_zone(name.trim()).map_err(|e| err_at(span, fallback, e))?;
            options.time_zone = name.trim().into();
        }
    }
    Ok(success())
}

fn value_type(v: &Value) -> DataType {
    match v {
        Value::Null | Value::Int(_) => DataType::BigInt,
        Value::Float(_) => DataType::Double,
        Value::Bool(_) => DataType::Boolean,
        Value::Str(_) => DataType::Varchar,
        Value::Ip(_) => DataType::Ip,
        Value::List(_) => DataType::list_of(DataType::Varchar),
    }
}

/// Parses a memory size the way DuckDB does: a number (decimals allowed) and a
/// unit, `B`, `KB`/`MB`/`GB`/`TB` (powers of 1000, also `K`, `M`, `G`, `T`) or
/// `KiB`/`MiB`/`GiB`/`TiB` (powers of 1024), case-insensitive; `-1` means no limit.
pub fn parse_memory_limit(text: &str) -> std::result::Result<usize, String> {
    let t = text.trim();
    if t == "-1" {
        return Ok(usize::MAX);
    }
    let bytes = crate::value::parse_byte_size(t).map_err(|e| {
        if e.contains("number") {
            format!("invalid memory limit '{text}': expected a number and a unit like '2GB'")
        } else {
            e.replacen("Unknown unit", "unknown unit", 1)
        }
    })?;
    if !bytes.is_finite() || bytes < 1.0 {
        return Err(format!(
            "invalid memory limit '{text}': must be at least 1 byte"
        ));
    }
    Ok(if bytes >= usize::MAX as f64 {
        usize::MAX
    } else {
        bytes as usize
    })
}

/// `SELECT current_setting('name')` (the whole query): the setting's value.
pub(super) fn current_setting(
    query: &ast::Query,
    options: &ExecOptions,
) -> Result<Option<QueryResult>> {
    let ast::SetExpr::Select(s) = query.body.as_ref() else {
        return Ok(None);
    };
    if !s.from.is_empty() || s.selection.is_some() || query.with.is_some() {
        return Ok(None);
    }
    let [item] = s.projection.as_slice() else {
        return Ok(None);
    };
    let (e, alias) = match item {
        ast::SelectItem::UnnamedExpr(e) => (e, None),
        ast::SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
        _ => return Ok(None),
    };
    let ast::Expr::Function(f) = e else {
        return Ok(None);
    };
    if !f.name.to_string().eq_ignore_ascii_case("current_setting") {
        return Ok(None);
    }
    let arg = match &f.args {
        ast::FunctionArguments::List(l) if l.args.len() == 1 => match &l.args[0] {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)) => option_text(a),
            _ => None,
        },
        _ => None,
    };
    let Some(name) = arg else {
        return Err(err_at(
            e.span(),
            query.span(),
            "current_setting needs one string literal argument",
        ));
    };
    let setting = setting_by_name(&name).ok_or_else(|| {
        err_at(
            e.span(),
            query.span(),
            format!("unrecognized configuration parameter '{name}'; known settings: {SETTINGS}"),
        )
    })?;
    let col_name = alias.unwrap_or_else(|| format!("current_setting('{name}')"));
    let (t, v) = match setting {
        Setting::Threads => (DataType::BigInt, Value::Int(options.threads as i64)),
        Setting::MemoryLimit => (
            DataType::Varchar,
            Value::Str(crate::value::format_bytes(options.memory_limit as u64).into()),
        ),
        Setting::UseIndexes => (DataType::Boolean, Value::Bool(options.use_indexes)),
        Setting::AggregateCache => (DataType::Boolean, Value::Bool(options.aggregate_cache)),
        Setting::Verification => (DataType::Boolean, Value::Bool(options.verification)),
        Setting::VerifyParallelism => (DataType::Boolean, Value::Bool(options.verify_parallelism)),
        Setting::ScalarSubqueryError => (
            DataType::Boolean,
            Value::Bool(options.scalar_subquery_error_on_multiple_rows),
        ),
        Setting::ExplainOutput => (
            DataType::Varchar,
            Value::Str(options.explain_output.name().into()),
        ),
        Setting::DefaultOrder => (
            DataType::Varchar,
            Value::Str(
                if options.default_descending {
                    "DESC"
                } else {
                    "ASC"
                }
                .into(),
            ),
        ),
        Setting::DefaultNullOrder => (
            DataType::Varchar,
            Value::Str(options.default_null_order.name().into()),
        ),
        Setting::TimeZone => (
            DataType::Varchar,
            Value::Str(options.time_zone.as_ref().into()),
        ),
    };
    let mut c = Column::new(ColumnData::empty(t.physical()));
    push_value(&mut c, &v);
    Ok(Some(QueryResult {
        columns: vec![(col_name, t)],
        batches: vec![Batch { columns: vec![c] }],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_limits_parse_like_duckdb() {
        assert_eq!(parse_memory_limit("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_memory_limit(" 1.5 gib "), Ok(3 << 29));
        assert_eq!(parse_memory_limit("10K"), Ok(10_000));
        assert_eq!(parse_memory_limit("7 bytes"), Ok(7));
        assert_eq!(parse_memory_limit("-1"), Ok(usize::MAX));
        assert_eq!(parse_memory_limit("99999999TiB"), Ok(usize::MAX));
        for bad in [
            "", "GB", "100", "0GB", "0.1B", "1.2.3GB", "-5GB", "5 XB", "1e3GB",
        ] {
            assert!(parse_memory_limit(bad).is_err(), "{bad}");
        }
    }
}
