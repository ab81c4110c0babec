//! Statements that add or remove rows: `INSERT INTO .. VALUES | SELECT` (cast to
//! the table's types, one `Db::append`), and `DELETE` and `ALTER TABLE .. DROP
//! PARTITION`, which remove whole partitions in one commit
//! (`Db::delete_time_range`). `DELETE .. WHERE` on a plain table and `UPDATE`
//! rewrite the table (`rewrite_rows.rs`).

use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use super::constant::{cast_value, const_value, is_decimal_literal};
use super::results::count_result;
use super::{err_at, resolve_table, table_name};
use crate::column::{Batch, Column, ColumnData, Value};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::vector::push_value;
use crate::exec::{ExecOptions, QueryResult};
use crate::schema::{DataType, TableSchema};

/// DuckDB's NOT NULL message, before the batch reaches `Db::append`.
pub(super) fn check_not_null(schema: &TableSchema, table: &str, batch: &Batch) -> Result<()> {
    for (f, c) in schema.fields.iter().zip(&batch.columns) {
        if !f.nullable && c.null_count() > 0 {
            return Err(Error::InvalidInput(format!(
                "NOT NULL constraint failed: {table}.{}",
                f.name
            )));
        }
    }
    Ok(())
}

pub(super) fn insert(db: &Db, options: &ExecOptions, ins: &ast::Insert) -> Result<QueryResult> {
    let fallback = ins.span();
    let unsupported = |span: Span, what: &str| {
        err_at(
            span,
            fallback,
            format!("not supported yet: {what} in INSERT"),
        )
    };
    if ins.or.is_some() || ins.ignore || ins.overwrite || ins.replace_into {
        return Err(unsupported(fallback, "OR / IGNORE / OVERWRITE / REPLACE"));
    }
    if ins.on.is_some() {
        return Err(unsupported(fallback, "ON CONFLICT"));
    }
    if ins.returning.is_some() {
        return Err(unsupported(fallback, "RETURNING"));
    }
    if !ins.assignments.is_empty() || ins.partitioned.is_some() || ins.table_alias.is_some() {
        return Err(unsupported(fallback, "this form"));
    }
    let ast::TableObject::TableName(name) = &ins.table else {
        return Err(unsupported(fallback, "table functions"));
    };
    let id = table_name(name, fallback)?;
    let (table, schema) = resolve_table(db, &id, fallback)?;

    // Target columns: the listed ones, in order, or all.
    let mut targets: Vec<usize> = Vec::new();
    for c in &ins.columns {
        let (cname, span) = match c.0.as_slice() {
            [ast::ObjectNamePart::Identifier(i)] => (i.value.as_str(), i.span),
            _ => return Err(unsupported(c.span(), "qualified column names")),
        };
        let i = schema
            .column(cname)
            .map_err(|e| err_at(span, fallback, e))?;
        if targets.contains(&i) {
            return Err(err_at(
                span,
                fallback,
                format!("duplicate column name '{cname}' in INSERT"),
            ));
        }
        targets.push(i);
    }
    let all_columns = targets.is_empty();
    if all_columns {
        targets = (0..schema.fields.len()).collect();
    }
    let arity_error = |supplied: usize, span: Span| {
        err_at(
            span,
            fallback,
            if all_columns {
                format!(
                    "table '{table}' has {} columns but {supplied} values were supplied",
                    targets.len()
                )
            } else {
                format!(
                    "INSERT names {} columns but {supplied} values were supplied",
                    targets.len()
                )
            },
        )
    };
    let Some(source) = &ins.source else {
        return Err(unsupported(fallback, "DEFAULT VALUES"));
    };

    // Build the target columns from the source.
    let mut built: Vec<Column> = Vec::with_capacity(targets.len());
    let rows;
    match source.body.as_ref() {
        ast::SetExpr::Values(values) if source.with.is_none() && source.order_by.is_none() => {
            rows = values.rows.len();
            let width = values.rows.first().map_or(0, |r| r.content.len());
            for r in &values.rows {
                if r.content.len() != width {
                    return Err(err_at(
                        r.span(),
                        fallback,
                        "VALUES lists must all be the same length",
                    ));
                }
            }
            if width != targets.len() {
                return Err(arity_error(width, values.span()));
            }
            for (k, &t) in targets.iter().enumerate() {
                let to = schema.fields[t].data_type;
                let mut col = Column::new(ColumnData::empty(to.physical()));
                for r in &values.rows {
                    let e = &r.content[k];
                    let (mut v, from) = const_value(e, fallback)?;
                    // A decimal literal into a DECIMAL column: from its digits, as
                    // DuckDB's exact DECIMAL literal converts (`1.005` is not 1.00).
                    if let (Some((width, scale)), Some(text)) =
                        (to.decimal(), crate::sql::bind::decimal_literal_text(e))
                    {
                        if let Ok(d) = crate::decimal::parse(&text, width, scale) {
                            push_value(&mut col, &Value::Int(d));
                            continue;
                        }
                    }
                    if let (Value::Float(x), true) = (&v, is_decimal_literal(e)) {
                        // DuckDB types 2.5 as DECIMAL, whose cast to an integer rounds
                        // half away from zero (a DOUBLE's rounds half to even).
                        if crate::sql::bind::is_int(to) {
                            v = Value::Float(x.round());
                        }
                    }
                    let v = cast_value(&v, from, to).map_err(|m| {
                        err_at(
                            e.span(),
                            fallback,
                            format!("{m} (column '{}')", schema.fields[t].name),
                        )
                    })?;
                    push_value(&mut col, &v);
                }
                built.push(col);
            }
        }
        _ => {
            let snapshot = db.snapshot()?;
            let plan = crate::sql::plan_query_with(&snapshot, source, options)?;
            let result = crate::exec::execute(&snapshot, &plan, options)?;
            if result.columns.len() != targets.len() {
                return Err(arity_error(result.columns.len(), source.span()));
            }
            rows = result.num_rows();
            for (k, &t) in targets.iter().enumerate() {
                let f = &schema.fields[t];
                let from = result.columns[k].1;
                let mut col = Column::new(ColumnData::empty(f.data_type.physical()));
                for b in &result.batches {
                    cast_into(&mut col, &b.columns[k], from, f.data_type).map_err(|m| {
                        err_at(
                            select_item_span(source, k),
                            fallback,
                            format!("{m} (column '{}' from select item {})", f.name, k + 1),
                        )
                    })?;
                }
                built.push(col);
            }
        }
    }

    // Columns not listed are NULL.
    let mut columns: Vec<Option<Column>> = vec![None; schema.fields.len()];
    for (c, &t) in built.into_iter().zip(&targets) {
        columns[t] = Some(c);
    }
    let columns: Vec<Column> = columns
        .into_iter()
        .zip(&schema.fields)
        .map(|(c, f)| c.unwrap_or_else(|| null_column(f.data_type, rows)))
        .collect();
    let batch = Batch { columns };
    check_not_null(&schema, &table, &batch).map_err(|e| err_at(fallback, fallback, e))?;
    if rows > 0 {
        db.append(&table, &batch).map_err(|e| match e {
            Error::InvalidInput(m) => err_at(fallback, fallback, m),
            other => other,
        })?;
    }
    Ok(count_result(rows as u64))
}

/// The span of select item `k` when the select list has no `*`.
fn select_item_span(q: &ast::Query, k: usize) -> Span {
    match q.body.as_ref() {
        ast::SetExpr::Select(s)
            if s.projection.iter().all(|p| {
                matches!(
                    p,
                    ast::SelectItem::UnnamedExpr(_) | ast::SelectItem::ExprWithAlias { .. }
                )
            }) =>
        {
            s.projection.get(k).map_or(q.span(), |p| p.span())
        }
        _ => q.span(),
    }
}

fn null_column(t: DataType, rows: usize) -> Column {
    let mut c = Column::new(ColumnData::empty(t.physical()));
    for _ in 0..rows {
        push_value(&mut c, &Value::Null);
    }
    c
}

/// Appends `src` (of type `from`) to `out` (of type `to`) with DuckDB's cast rules:
/// same types are copied, narrower integer types are range-checked, other pairs go
/// value by value through `CAST`.
fn cast_into(
    out: &mut Column,
    src: &Column,
    from: DataType,
    to: DataType,
) -> std::result::Result<(), String> {
    let same_ints = from.is_integer() && to.is_integer();
    if from == to || same_ints {
        if let (Some((lo, hi)), ColumnData::Int64(v)) = (to.int_range(), &src.data) {
            if let Some(i) = (0..v.len()).find(|&i| src.is_valid(i) && (v[i] < lo || v[i] > hi)) {
                return Err(crate::value::int_cast_error(i128::from(v[i]), from, to));
            }
        }
        out.append(src);
        return Ok(());
    }
    for i in 0..src.len() {
        let v = cast_value(&src.value(i), from, to)?;
        push_value(out, &v);
    }
    Ok(())
}

pub(super) fn delete(
    db: &Db,
    options: &ExecOptions,
    d: &ast::Delete,
    with: Option<&ast::With>,
    fallback: Span,
) -> Result<QueryResult> {
    let unsupported = |span: Span, what: &str| {
        err_at(
            span,
            fallback,
            format!("not supported yet: {what} in DELETE"),
        )
    };
    if d.using.is_some() || d.returning.is_some() || !d.order_by.is_empty() || d.limit.is_some() {
        return Err(unsupported(
            fallback,
            "USING / RETURNING / ORDER BY / LIMIT",
        ));
    }
    if !d.tables.is_empty() {
        return Err(unsupported(fallback, "multi-table syntax"));
    }
    let (ast::FromTable::WithFromKeyword(from) | ast::FromTable::WithoutKeyword(from)) = &d.from;
    let [twj] = from.as_slice() else {
        return Err(unsupported(fallback, "more than one table"));
    };
    let ast::TableFactor::Table { name, alias, .. } = &twj.relation else {
        return Err(unsupported(twj.relation.span(), "this table expression"));
    };
    if !twj.joins.is_empty() {
        return Err(unsupported(twj.relation.span(), "JOIN"));
    }
    let id = table_name(name, fallback)?;
    let (table, schema) = resolve_table(db, &id, fallback)?;
    let (start, end) = match &d.selection {
        None => (i64::MIN, i64::MAX),
        Some(w) => {
            let Some(tc) = schema.time_index().map(|i| schema.fields[i].name.clone()) else {
                // A plain table: its rows are rewritten.
                return super::rewrite_rows::delete_where(db, options, twj, w, with, fallback);
            };
            let alias = alias.as_ref().map(|a| a.name.value.as_str());
            let mut range = (i64::MIN, i64::MAX);
            time_bounds(w, &tc, &table, alias, &mut range, fallback)?;
            range
        }
    };
    let stats = db
        .delete_time_range(&table, start, end)
        .map_err(|e| match e {
            Error::InvalidInput(m) => {
                let span = d.selection.as_ref().map_or(fallback, |w| w.span());
                err_at(
                    span,
                    fallback,
                    format!(
                        "DELETE removes whole partitions only: {m}. Supported: time bounds on \
                         partition boundaries, e.g. WHERE ts < TIMESTAMP '2024-05-01'"
                    ),
                )
            }
            other => other,
        })?;
    Ok(count_result(stats.rows))
}

/// Narrows `range` ([start, end)) by a WHERE clause made of comparisons of the time
/// column with timestamp literals, joined by AND.
fn time_bounds(
    e: &ast::Expr,
    time_column: &str,
    table: &str,
    alias: Option<&str>,
    range: &mut (i64, i64),
    fallback: Span,
) -> Result<()> {
    use ast::BinaryOperator as B;
    use ast::Expr as E;
    let explain = || {
        err_at(
            e.span(),
            fallback,
            format!(
                "not supported yet: this DELETE condition. DELETE removes whole partitions: \
                 the condition must compare the time column '{time_column}' with timestamp \
                 literals (<, <=, >, >=, BETWEEN, joined by AND), e.g. WHERE {time_column} < \
                 TIMESTAMP '2024-05-01'"
            ),
        )
    };
    let is_time = |x: &E| match x {
        E::Identifier(i) => i.value.eq_ignore_ascii_case(time_column),
        E::CompoundIdentifier(p) if p.len() == 2 => {
            let q = &p[0].value;
            (q.eq_ignore_ascii_case(table) || alias.is_some_and(|a| q.eq_ignore_ascii_case(a)))
                && p[1].value.eq_ignore_ascii_case(time_column)
        }
        _ => false,
    };
    let lit = |x: &E| -> Result<i64> {
        let (v, t) = const_value(x, fallback).map_err(|_| explain())?;
        match cast_value(&v, t, DataType::Timestamp) {
            Ok(Value::Int(ts)) => Ok(ts),
            Ok(_) => Err(explain()),
            Err(m) => Err(err_at(x.span(), fallback, m)),
        }
    };
    let lower = |range: &mut (i64, i64), ts: i64| range.0 = range.0.max(ts);
    let upper = |range: &mut (i64, i64), ts: i64| range.1 = range.1.min(ts);
    match e {
        E::Nested(inner) => time_bounds(inner, time_column, table, alias, range, fallback),
        E::BinaryOp {
            left,
            op: B::And,
            right,
        } => {
            time_bounds(left, time_column, table, alias, range, fallback)?;
            time_bounds(right, time_column, table, alias, range, fallback)
        }
        E::BinaryOp { left, op, right } => {
            // Normalize to `ts op literal`.
            let (op, value) = if is_time(left) {
                (op.clone(), right)
            } else if is_time(right) {
                let flipped = match op {
                    B::Lt => B::Gt,
                    B::LtEq => B::GtEq,
                    B::Gt => B::Lt,
                    B::GtEq => B::LtEq,
                    _ => return Err(explain()),
                };
                (flipped, left)
            } else {
                return Err(explain());
            };
            let ts = lit(value)?;
            match op {
                B::Lt => upper(range, ts),
                B::LtEq => upper(range, ts.saturating_add(1)),
                B::Gt => lower(range, ts.saturating_add(1)),
                B::GtEq => lower(range, ts),
                _ => return Err(explain()),
            }
            Ok(())
        }
        E::Between {
            expr,
            negated: false,
            low,
            high,
        } if is_time(expr) => {
            lower(range, lit(low)?);
            upper(range, lit(high)?.saturating_add(1));
            Ok(())
        }
        _ => Err(explain()),
    }
}

pub(super) fn alter_table(db: &Db, at: &ast::AlterTable, fallback: Span) -> Result<QueryResult> {
    match at.operations.as_slice() {
        [ast::AlterTableOperation::DropPartitions {
            partitions,
            if_exists,
        }] => {
            let id = table_name(&at.name, fallback)?;
            let mut keys = Vec::new();
            for p in partitions {
                match p {
                    ast::Expr::Value(v) => {
                        match &v.value {
                            ast::Value::SingleQuotedString(s) => keys.push((s.clone(), v.span)),
                            _ => return Err(err_at(
                                v.span,
                                fallback,
                                "a partition key is a string like '2024-05-01' or '2024-05-01T13'",
                            )),
                        }
                    }
                    other => {
                        return Err(err_at(
                            other.span(),
                            fallback,
                            "a partition key is a string like '2024-05-01' or '2024-05-01T13'",
                        ))
                    }
                }
            }
            drop_partitions(db, &id, &keys, *if_exists)
        }
        _ => Err(err_at(
            fallback,
            fallback,
            "not supported yet: ALTER TABLE other than DROP PARTITION 'key'",
        )),
    }
}

/// The time range of a partition key: `2024-05-01` (a day) or `2024-05-01T13` (an
/// hour).
fn partition_range(key: &str) -> Option<(i64, i64)> {
    use crate::time::{MICROS_PER_DAY, MICROS_PER_HOUR};
    let (day, hour) = match key.split_once('T') {
        Some((d, h)) => (d, Some(h)),
        None => (key, None),
    };
    if day.len() != 10 {
        return None;
    }
    let start = crate::time::parse_timestamp(day)?;
    match hour {
        None => Some((start, start.checked_add(MICROS_PER_DAY)?)),
        Some(h) if h.len() == 2 && h.bytes().all(|b| b.is_ascii_digit()) => {
            let h: i64 = h.parse().ok()?;
            if h > 23 {
                return None;
            }
            let s = start.checked_add(h * MICROS_PER_HOUR)?;
            Some((s, s.checked_add(MICROS_PER_HOUR)?))
        }
        Some(_) => None,
    }
}

pub(super) fn drop_partitions(
    db: &Db,
    id: &ast::Ident,
    keys: &[(String, Span)],
    if_exists: bool,
) -> Result<QueryResult> {
    let fallback = id.span;
    let (table, schema) = resolve_table(db, id, fallback)?;
    if schema.time_column.is_none() {
        return Err(err_at(
            id.span,
            fallback,
            format!("table '{table}' has no time column, so no partitions to drop"),
        ));
    }
    let mut ranges = Vec::new();
    for (k, span) in keys {
        let r = partition_range(k).ok_or_else(|| {
            err_at(
                *span,
                fallback,
                format!("invalid partition key '{k}': expected 'YYYY-MM-DD' or 'YYYY-MM-DDTHH'"),
            )
        })?;
        ranges.push((k, *span, r));
    }
    let mut rows = 0;
    for (k, span, (start, end)) in ranges {
        let stats = db
            .delete_time_range(&table, start, end)
            .map_err(|e| match e {
                Error::InvalidInput(m) => err_at(span, fallback, m),
                other => other,
            })?;
        if stats.partitions == 0 && !if_exists {
            return Err(err_at(
                span,
                fallback,
                format!("table '{table}' has no partition '{k}'"),
            ));
        }
        rows += stats.rows;
    }
    Ok(count_result(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_keys() {
        let day = crate::time::parse_timestamp("2024-05-01").unwrap();
        let h = crate::time::MICROS_PER_HOUR;
        assert_eq!(partition_range("2024-05-01"), Some((day, day + 24 * h)));
        assert_eq!(
            partition_range("2024-05-01T13"),
            Some((day + 13 * h, day + 14 * h))
        );
        for bad in [
            "2024-05-01T24",
            "2024-05-01T1",
            "2024-5-1",
            "May 1",
            "2024-05-01 13",
            "é",
        ] {
            assert_eq!(partition_range(bad), None, "{bad}");
        }
    }
}
