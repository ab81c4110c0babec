//! Constant expressions in statements: the literals of VALUES lists, `SET` values,
//! `WITH (..)` options and DELETE bounds, evaluated and cast with DuckDB's rules, and
//! SQL type names mapped to logdb types.

use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use super::err_at;
use crate::column::Value;
use crate::error::Result;
use crate::schema::DataType;

/// Maps a SQL type to a logdb type: the logdb types and the usual aliases
/// (INT, INT4, INT8, TEXT, STRING, FLOAT8, REAL, ...) and DECIMAL(p,s); a length
/// like VARCHAR(20) is accepted and ignored.
pub(super) fn map_type(t: &ast::DataType, span: Span, fallback: Span) -> Result<DataType> {
    let text = t.to_string().to_ascii_uppercase();
    let base = text.split('(').next().unwrap_or("").trim();
    let mapped = match base {
        "DOUBLE PRECISION" => Ok(DataType::Double),
        "CHARACTER VARYING" | "CHAR VARYING" | "CHARACTER" => Ok(DataType::Varchar),
        "TIMESTAMP WITHOUT TIME ZONE" => Ok(DataType::Timestamp),
        "TIMESTAMP WITH TIME ZONE" => Ok(DataType::TimestampTz),
        // DECIMAL(p,s) keeps its parameters.
        "DECIMAL" | "NUMERIC" | "DEC" => DataType::parse(&text),
        other => DataType::parse(other),
    };
    mapped.map_err(|e| err_at(span, fallback, e))
}

/// The text of a WITH option value: 'text', a name, or a number.
pub(super) fn option_text(e: &ast::Expr) -> Option<String> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                Some(s.clone())
            }
            ast::Value::Number(n, _) => Some(n.clone()),
            _ => None,
        },
        ast::Expr::Identifier(id) => Some(id.value.clone()),
        _ => None,
    }
}

/// Evaluates a constant expression of a VALUES list: literals, `-x`, `TIMESTAMP
/// '...'`, `CAST(.. AS t)` / `..::t` and parentheses.
pub(super) fn const_value(e: &ast::Expr, fallback: Span) -> Result<(Value, DataType)> {
    use ast::Expr as E;
    match e {
        E::Value(v) => match &v.value {
            ast::Value::Number(n, _) => number(n).map_err(|m| err_at(v.span, fallback, m)),
            ast::Value::SingleQuotedString(s) => {
                Ok((Value::Str(s.as_str().into()), DataType::Varchar))
            }
            ast::Value::Boolean(b) => Ok((Value::Bool(*b), DataType::Boolean)),
            ast::Value::Null => Ok((Value::Null, DataType::Integer)),
            ast::Value::Placeholder(p) => Err(err_at(
                v.span,
                fallback,
                format!("parameter {p} has no value (prepare the statement and pass parameters)"),
            )),
            other => Err(err_at(
                v.span,
                fallback,
                format!("not supported yet: literal {other}"),
            )),
        },
        E::Nested(inner) => const_value(inner, fallback),
        E::UnaryOp { op, expr } => {
            let (v, t) = const_value(expr, fallback)?;
            match (op, v) {
                (ast::UnaryOperator::Plus, v @ (Value::Int(_) | Value::Float(_))) => Ok((v, t)),
                (ast::UnaryOperator::Minus, Value::Int(x)) => match x.checked_neg() {
                    Some(n) => Ok((Value::Int(n), t)),
                    None => Err(err_at(e.span(), fallback, "Overflow in negation")),
                },
                (ast::UnaryOperator::Minus, Value::Float(x)) => Ok((Value::Float(-x), t)),
                (_, Value::Null) => Ok((Value::Null, t)),
                _ => Err(err_at(
                    e.span(),
                    fallback,
                    format!("not supported yet: expression {e} in VALUES"),
                )),
            }
        }
        E::TypedString(ts) => {
            let to = map_type(&ts.data_type, e.span(), fallback)?;
            let text = match &ts.value.value {
                ast::Value::SingleQuotedString(s) => s.clone(),
                other => other.to_string(),
            };
            let v =
                crate::value::parse_str(&text, to).map_err(|m| err_at(e.span(), fallback, m))?;
            Ok((v, to))
        }
        E::Cast {
            kind: ast::CastKind::Cast | ast::CastKind::DoubleColon,
            expr,
            data_type,
            format: None,
        } => {
            let (v, from) = const_value(expr, fallback)?;
            let to = map_type(data_type, e.span(), fallback)?;
            let v = cast_value(&v, from, to).map_err(|m| err_at(e.span(), fallback, m))?;
            Ok((v, to))
        }
        other => Err(err_at(
            other.span(),
            fallback,
            format!(
                "not supported yet: expression {other} in VALUES (use literals, CAST, or \
                 INSERT .. SELECT)"
            ),
        )),
    }
}

/// `CAST(v AS to)` for a value of type `from`, refusing the pairs DuckDB has no
/// cast for (TIMESTAMP or IP to numbers and back).
pub(super) fn cast_value(
    v: &Value,
    from: DataType,
    to: DataType,
) -> std::result::Result<Value, String> {
    if !matches!(v, Value::Null) && !crate::sql::bind::castable(from, to) {
        return Err(format!(
            "Conversion Error: Unimplemented type for cast ({from} -> {to})"
        ));
    }
    crate::value::cast_value(v, from, to)
}

/// Whether `e` is a literal like `2.5` or `-2.5` (DuckDB: a DECIMAL).
pub(super) fn is_decimal_literal(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Value(v) => {
            matches!(&v.value, ast::Value::Number(n, _) if n.contains('.') && !n.contains(['e', 'E']))
        }
        ast::Expr::Nested(x) | ast::Expr::UnaryOp { expr: x, .. } => is_decimal_literal(x),
        _ => false,
    }
}

/// A numeric literal as the binder types it: INTEGER when it fits in 32 bits,
/// else BIGINT; with a point and no exponent a DECIMAL of the digits written;
/// else DOUBLE.
fn number(n: &str) -> std::result::Result<(Value, DataType), String> {
    let n = &n.replace('_', "");
    if let Ok(i) = n.parse::<i64>() {
        let t = if i32::try_from(i).is_ok() {
            DataType::Integer
        } else {
            DataType::BigInt
        };
        return Ok((Value::Int(i), t));
    }
    if let Some((precision, scale)) = crate::decimal::literal_type(n) {
        return match crate::decimal::parse(n, precision, scale) {
            Ok(v) => Ok((Value::Int(v), DataType::Decimal { precision, scale })),
            Err(m) => crate::decimal::exact_f64(n)
                .map(|f| (Value::Float(f), DataType::Double))
                .ok_or(m),
        };
    }
    n.parse::<f64>()
        .map(|f| (Value::Float(f), DataType::Double))
        .map_err(|_| format!("invalid number {n}"))
}
