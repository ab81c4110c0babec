//! `PIVOT` in FROM: `t PIVOT (agg [AS a], ... FOR col IN (v [AS name], ...))`,
//! bound as DuckDB defines it: a GROUP BY of every column of `t` that neither the
//! aggregates nor the FOR column read, and one output column per (value,
//! aggregate) pair whose aggregate calls get the extra condition `col = v`
//! (`col IS NULL` for a NULL value) as FILTER: so `count` of a value with no rows
//! is 0 and `sum` NULL, as in DuckDB.
//!
//! `IN (ANY)`, which the `PIVOT t ON col` statement becomes when it has no IN
//! list (`sql/statement/pivot.rs`), takes the column's distinct non-NULL values,
//! found by running a query first (as DuckDB does), ordered by their text. The
//! statement's `GROUP BY` arrives as [`GROUP_BY_MARK`] in the DEFAULT ON NULL slot,
//! which DuckDB's PIVOT does not have.

use std::sync::Arc;

use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use super::from::{Cte, Scope};
use super::{output_name, Binder};
use crate::column::Value;
use crate::error::{Error, Result};
use crate::plan::{Expr, LogicalPlan};
use crate::schema::DataType;

/// The most columns a PIVOT may make (values times aggregates), DuckDB's default
/// `pivot_limit`.
pub const PIVOT_LIMIT: usize = 100_000;

/// The function name under which the PIVOT statement's `GROUP BY g, ...` reaches
/// the binder (in `TableFactor::Pivot::default_on_null`).
pub(crate) const GROUP_BY_MARK: &str = "__logdb_pivot_group_by";

/// The name the pivoted input goes by inside the query a PIVOT is bound as.
const SOURCE: &str = "__logdb_pivot_source";

/// One output value of the FOR columns: the condition that selects its rows and
/// the name of its column(s).
struct PivotValue {
    cond: ast::Expr,
    name: String,
}

impl Binder<'_> {
    /// Binds `TableFactor::Pivot` (see the module docs).
    pub(super) fn pivot(&mut self, tf: &ast::TableFactor) -> Result<(LogicalPlan, Scope)> {
        let ast::TableFactor::Pivot {
            table,
            aggregate_functions: aggs,
            value_column,
            value_source,
            default_on_null,
            alias,
        } = tf
        else {
            return Err(Error::Internal("pivot called on another FROM item".into()));
        };
        let span = tf.span();
        let explicit_groups = match default_on_null {
            None => None,
            Some(ast::Expr::Function(f)) if f.name.to_string() == GROUP_BY_MARK => {
                Some(marked_groups(f))
            }
            Some(e) => return Err(self.unsupported(e.span(), "DEFAULT ON NULL in PIVOT")),
        };
        if aggs.is_empty() || value_column.is_empty() {
            return Err(Error::Internal(
                "PIVOT without aggregates or columns".into(),
            ));
        }

        let (source, scope) = self.table_factor(table)?;
        let (source, names) = visible_columns(source, &scope);

        // The columns the aggregates and the FOR columns read are not grouped by.
        let mut used = Vec::new();
        for a in aggs {
            self.pivot_names(&a.expr, &mut used)?;
            // DuckDB drops such a FILTER in favour of the value's condition.
            if let Some(at) = own_filter(&a.expr) {
                return Err(self.unsupported(at, "FILTER on a PIVOT aggregate"));
            }
        }
        for a in aggs {
            self.check_aggregate(&a.expr, &scope)?;
        }
        let columns: Vec<&ast::Expr> = value_column.iter().map(for_column).collect();
        for (c, full) in columns.iter().zip(value_column) {
            let before = used.len();
            self.pivot_names(c, &mut used)?;
            if used.len() == before {
                return Err(self.err(c.span(), "a PIVOT column must read a column of the input"));
            }
            if matches!(
                full,
                ast::Expr::InSubquery { .. } | ast::Expr::InList { negated: true, .. }
            ) {
                return Err(self.unsupported(full.span(), "this PIVOT ... IN; list the values"));
            }
        }
        let groups: Vec<(String, Span)> = match explicit_groups {
            Some(g) => g,
            None => names
                .iter()
                .filter(|n| !used.iter().any(|u: &String| u.eq_ignore_ascii_case(n)))
                .map(|n| (n.clone(), Span::empty()))
                .collect(),
        };

        let values = match value_source {
            ast::PivotValueSource::List(list) => self.listed_values(&columns, list)?,
            ast::PivotValueSource::Any(order) if order.is_empty() => {
                self.any_values(&source, &scope, value_column, aggs.len(), span)?
            }
            ast::PivotValueSource::Any(order) => {
                return Err(self.unsupported(order[0].span(), "ORDER BY in PIVOT ... IN (ANY)"))
            }
            ast::PivotValueSource::Subquery(q) => {
                return Err(
                    self.unsupported(q.span(), "a subquery in PIVOT ... IN; list the values")
                )
            }
        };
        check_limit(values.len(), aggs.len()).map_err(|m| self.err(span, m))?;

        // The query it is bound as: SELECT g, ..., agg AS "v_a", ... FROM source
        // GROUP BY g, ..., each item's aggregates filtered by its value's condition.
        let mut taken: Vec<String> = Vec::new();
        let mut projection = Vec::new();
        let mut filters = Vec::new();
        for (g, gspan) in &groups {
            let id = ident(g, *gspan);
            projection.push(ast::SelectItem::ExprWithAlias {
                expr: ast::Expr::Identifier(id),
                alias: quoted(&unique(g, &mut taken)),
            });
            filters.push(None);
        }
        for v in &values {
            for a in aggs {
                let name = if aggs.len() == 1 && a.alias.is_none() {
                    v.name.clone()
                } else {
                    let agg = match &a.alias {
                        Some(al) => al.value.clone(),
                        None => aggregate_name(&a.expr),
                    };
                    format!("{}_{agg}", v.name)
                };
                projection.push(ast::SelectItem::ExprWithAlias {
                    expr: a.expr.clone(),
                    alias: quoted(&unique(&name, &mut taken)),
                });
                filters.push(Some(v.cond.clone()));
            }
        }
        if projection.is_empty() {
            return Err(self.err(span, "PIVOT has no columns to output"));
        }
        let mut select = template_select()?;
        select.projection = projection;
        select.group_by = ast::GroupByExpr::Expressions(
            groups
                .iter()
                .map(|(g, s)| ast::Expr::Identifier(ident(g, *s)))
                .collect(),
            Vec::new(),
        );
        // A stored table keeps its name (for error messages); anything else is
        // named for the occasion.
        let source_name = match table.as_ref() {
            ast::TableFactor::Table {
                name, alias: None, ..
            } if name.0.len() == 1 => match &name.0[0] {
                ast::ObjectNamePart::Identifier(id) => id.value.clone(),
                _ => SOURCE.to_string(),
            },
            _ => SOURCE.to_string(),
        };
        if let ast::TableFactor::Table { name, .. } = &mut select.from[0].relation {
            *name = ast::ObjectName::from(vec![quoted(&source_name)]);
        }
        let mut b = self.child(false);
        b.ctes.push(Arc::new(Cte {
            name: source_name,
            plan: source,
            owner: b.params_id(),
        }));
        b.item_filters = filters;
        let mut plan = b.select(&select, None)?;

        if let Some(a) = alias.as_ref().filter(|a| !a.columns.is_empty()) {
            plan = self.alias_columns(plan, a)?;
        }
        let qualifier = alias.as_ref().map(|a| a.name.value.clone());
        let scope = Scope::of_plan(&plan, qualifier.as_deref());
        Ok((plan, scope))
    }

    /// A PIVOT aggregate must call an aggregate function, and no window function.
    fn check_aggregate(&self, e: &ast::Expr, scope: &Scope) -> Result<()> {
        use std::ops::ControlFlow;
        let over = ast::visit_expressions(e, |x| match x {
            ast::Expr::Function(f) if f.over.is_some() => ControlFlow::Break(x.span()),
            _ => ControlFlow::Continue(()),
        });
        if let ControlFlow::Break(at) = over {
            return Err(self.unsupported(at, "window functions in a PIVOT aggregate"));
        }
        let mut probe = self.child(false);
        probe.scope = scope.clone();
        probe.allow_aggs = true;
        probe.bind_expr(e)?;
        if probe.aggs.is_empty() {
            return Err(self.err(
                e.span(),
                "a PIVOT aggregate must call an aggregate function (count, sum, ...)",
            ));
        }
        if probe.aggs.len() > 1 {
            return Err(self.err(
                e.span(),
                "a PIVOT aggregate must contain exactly one aggregate call (DuckDB)",
            ));
        }
        Ok(())
    }

    /// Adds the column names `e` reads to `used`; qualified names are refused
    /// (DuckDB: the pivoted input is one relation).
    fn pivot_names(&self, e: &ast::Expr, used: &mut Vec<String>) -> Result<()> {
        use std::ops::ControlFlow;
        let r = ast::visit_expressions(e, |x| match x {
            ast::Expr::Identifier(id) => {
                used.push(id.value.clone());
                ControlFlow::Continue(())
            }
            ast::Expr::CompoundIdentifier(_) => ControlFlow::Break(x.span()),
            _ => ControlFlow::Continue(()),
        });
        match r {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(s) => Err(self.err(
                s,
                "PIVOT expressions cannot contain qualified columns; name the column alone",
            )),
        }
    }

    /// The values of `IN (v [AS name], ...)`: literals, or tuples of literals for
    /// `FOR (a, b)`.
    fn listed_values(
        &mut self,
        columns: &[&ast::Expr],
        list: &[ast::ExprWithAlias],
    ) -> Result<Vec<PivotValue>> {
        let mut out: Vec<PivotValue> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for item in list {
            let parts: Vec<&ast::Expr> = match (&item.expr, columns.len()) {
                (e, 1) => vec![e],
                (ast::Expr::Tuple(t), n) if t.len() == n => t.iter().collect(),
                (e, n) => {
                    return Err(self.err(
                        e.span(),
                        format!("PIVOT ... FOR has {n} columns: each IN value needs {n} parts"),
                    ))
                }
            };
            let mut conds = Vec::new();
            let mut names = Vec::new();
            for (c, v) in columns.iter().zip(&parts) {
                names.push(self.literal_name(v)?);
                conds.push(condition(c, v));
            }
            let text = names.join("_");
            if seen.contains(&text) {
                return Err(self.err(
                    item.expr.span(),
                    format!("the value \"{text}\" was specified more than once in PIVOT ... IN"),
                ));
            }
            seen.push(text.clone());
            out.push(PivotValue {
                cond: conjoin(conds),
                name: item.alias.as_ref().map_or(text, |a| a.value.clone()),
            });
        }
        Ok(out)
    }

    /// The column name DuckDB gives an IN value: a number as written, a string's
    /// text (`''` when empty), `NULL`, and other constants as they print.
    fn literal_name(&mut self, e: &ast::Expr) -> Result<String> {
        let number = |v: &ast::Expr| match v {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => Some(n.clone()),
                _ => None,
            },
            _ => None,
        };
        match e {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => return Ok(n.clone()),
                ast::Value::SingleQuotedString(s) if s.is_empty() => return Ok("''".into()),
                ast::Value::SingleQuotedString(s) => return Ok(s.clone()),
                ast::Value::Null => return Ok("NULL".into()),
                _ => {}
            },
            ast::Expr::UnaryOp {
                op: ast::UnaryOperator::Minus,
                expr,
            } => {
                if let Some(n) = number(expr) {
                    return Ok(format!("-{n}"));
                }
            }
            _ => {}
        }
        match self.child(false).bind_expr(e) {
            Ok(Expr::Literal { value, data_type }) => Ok(value_name(&value, data_type)),
            Ok(_) | Err(_) => Err(self.unsupported(
                e.span(),
                "a PIVOT ... IN value that is not a constant (write a literal)",
            )),
        }
    }

    /// `IN (ANY)`: every FOR column's distinct non-NULL values (its own IN list
    /// when the statement gave one), ordered by their text, combined in order.
    fn any_values(
        &mut self,
        source: &LogicalPlan,
        scope: &Scope,
        value_column: &[ast::Expr],
        aggs: usize,
        span: Span,
    ) -> Result<Vec<PivotValue>> {
        let mut per_column: Vec<Vec<PivotValue>> = Vec::new();
        for c in value_column {
            let values = match c {
                ast::Expr::InList {
                    expr,
                    list,
                    negated: false,
                } => {
                    let list: Vec<ast::ExprWithAlias> = list
                        .iter()
                        .map(|e| ast::ExprWithAlias {
                            expr: e.clone(),
                            alias: None,
                        })
                        .collect();
                    self.listed_values(&[expr.as_ref()], &list)?
                }
                _ => self.distinct_values(source, scope, c)?,
            };
            per_column.push(values);
        }
        let count = per_column
            .iter()
            .try_fold(1usize, |n, v| n.checked_mul(v.len()))
            .unwrap_or(usize::MAX);
        check_limit(count, aggs).map_err(|m| self.err(span, m))?;
        let mut out = vec![PivotValue {
            cond: ast::Expr::value(ast::Value::Boolean(true)),
            name: String::new(),
        }];
        for (k, values) in per_column.iter().enumerate() {
            let mut next = Vec::with_capacity(out.len() * values.len());
            for prefix in &out {
                for v in values {
                    next.push(PivotValue {
                        cond: if k == 0 {
                            v.cond.clone()
                        } else {
                            conjoin(vec![prefix.cond.clone(), v.cond.clone()])
                        },
                        name: if k == 0 {
                            v.name.clone()
                        } else {
                            format!("{}_{}", prefix.name, v.name)
                        },
                    });
                }
            }
            out = next;
        }
        Ok(out)
    }

    /// Runs `SELECT DISTINCT c FROM source` and turns its non-NULL values into
    /// conditions on `c`, ordered by their text (DuckDB's order).
    fn distinct_values(
        &mut self,
        source: &LogicalPlan,
        scope: &Scope,
        c: &ast::Expr,
    ) -> Result<Vec<PivotValue>> {
        let mut b = self.child(false);
        b.scope = scope.clone();
        let e = b.bind_expr(c)?;
        let t = e.data_type();
        let name = output_name(c);
        let plan = LogicalPlan::Aggregate {
            input: Box::new(LogicalPlan::Project {
                input: Box::new(source.clone()),
                exprs: vec![(e, name.clone())],
            }),
            group: vec![(
                Expr::Column {
                    index: 0,
                    name: name.clone(),
                    data_type: t,
                },
                name,
            )],
            aggs: Vec::new(),
        };
        let plan = crate::plan::optimize::optimize(plan, self.snapshot)?;
        let result = crate::exec::execute(self.snapshot, &plan, self.options)?;
        let mut values: Vec<(String, Value)> = result
            .rows()
            .into_iter()
            .filter_map(|mut row| row.pop())
            .filter(|v| !matches!(v, Value::Null))
            .map(|v| (value_name(&v, t), v))
            .collect();
        values.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Ok(values
            .into_iter()
            .map(|(name, v)| PivotValue {
                cond: condition(c, &literal(&v, t)),
                name,
            })
            .collect())
    }
}

/// Where the FILTER clause of an aggregate call in `e` is, if it has one.
fn own_filter(e: &ast::Expr) -> Option<Span> {
    use std::ops::ControlFlow;
    match ast::visit_expressions(e, |x| match x {
        ast::Expr::Function(f) if f.filter.is_some() => {
            ControlFlow::Break(f.filter.as_ref().map_or(x.span(), |f| f.span()))
        }
        _ => ControlFlow::Continue(()),
    }) {
        ControlFlow::Break(s) => Some(s),
        ControlFlow::Continue(()) => None,
    }
}

/// The column a FOR item pivots on (the statement's `ON col IN (...)` carries
/// its list with it).
fn for_column(e: &ast::Expr) -> &ast::Expr {
    match e {
        ast::Expr::InList {
            expr,
            negated: false,
            ..
        } => expr,
        other => other,
    }
}

/// The statement's GROUP BY columns out of [`GROUP_BY_MARK`]`(g, ...)`.
fn marked_groups(f: &ast::Function) -> Vec<(String, Span)> {
    let ast::FunctionArguments::List(l) = &f.args else {
        return Vec::new();
    };
    l.args
        .iter()
        .filter_map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Identifier(id))) => {
                Some((id.value.clone(), id.span))
            }
            _ => None,
        })
        .collect()
}

/// The source without the hidden right-hand copies of USING keys.
fn visible_columns(source: LogicalPlan, scope: &Scope) -> (LogicalPlan, Vec<String>) {
    let names = scope
        .cols
        .iter()
        .filter(|c| !c.hidden)
        .map(|c| c.name.clone())
        .collect();
    if !scope.cols.iter().any(|c| c.hidden) {
        return (source, names);
    }
    let exprs = scope
        .cols
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.hidden)
        .map(|(i, c)| {
            (
                Expr::Column {
                    index: i,
                    name: c.name.clone(),
                    data_type: c.data_type,
                },
                c.name.clone(),
            )
        })
        .collect();
    let plan = LogicalPlan::Project {
        input: Box::new(source),
        exprs,
    };
    (plan, names)
}

/// `Err` with DuckDB's limit when `values` x `aggs` columns are too many.
fn check_limit(values: usize, aggs: usize) -> std::result::Result<(), String> {
    let n = values.saturating_mul(aggs);
    if n > PIVOT_LIMIT {
        return Err(format!(
            "PIVOT would make {n} columns ({values} values x {aggs} aggregates), more than \
             the limit of {PIVOT_LIMIT} (DuckDB's pivot_limit); list fewer values with IN"
        ));
    }
    Ok(())
}

/// `c = v`, or `c IS NULL` for a NULL value (the rows of that value).
fn condition(c: &ast::Expr, v: &ast::Expr) -> ast::Expr {
    let is_null = matches!(v, ast::Expr::Value(x) if x.value == ast::Value::Null);
    if is_null {
        return ast::Expr::IsNull(Box::new(c.clone()));
    }
    ast::Expr::BinaryOp {
        left: Box::new(ast::Expr::Nested(Box::new(c.clone()))),
        op: ast::BinaryOperator::Eq,
        right: Box::new(v.clone()),
    }
}

fn conjoin(mut conds: Vec<ast::Expr>) -> ast::Expr {
    let first = conds.remove(0);
    conds.into_iter().fold(first, |acc, c| ast::Expr::BinaryOp {
        left: Box::new(acc),
        op: ast::BinaryOperator::And,
        right: Box::new(c),
    })
}

/// A value's text as a column name (DuckDB's cast to VARCHAR; `''` when empty).
fn value_name(v: &Value, t: DataType) -> String {
    match v {
        Value::Str(s) if s.is_empty() => "''".into(),
        _ => crate::value::format_value(v, t),
    }
}

/// A literal that compares equal to `v` of type `t` (strings are cast to the
/// column's type where the binder compares them).
fn literal(v: &Value, t: DataType) -> ast::Expr {
    let value = match v {
        Value::Bool(b) => ast::Value::Boolean(*b),
        Value::Int(i) if t.is_integer() => ast::Value::Number(i.to_string(), false),
        Value::Float(f) if f.is_finite() => ast::Value::Number(format!("{f:?}"), false),
        other => ast::Value::SingleQuotedString(crate::value::format_value(other, t)),
    };
    ast::Expr::value(value)
}

/// DuckDB's name of an aggregate without alias: `count_star()` for `count(*)`,
/// else the call as written.
fn aggregate_name(e: &ast::Expr) -> String {
    if let ast::Expr::Function(f) = e {
        let star = matches!(&f.args, ast::FunctionArguments::List(l)
            if l.args.len() == 1
                && matches!(l.args[0], ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)));
        if star && f.name.to_string().eq_ignore_ascii_case("count") && f.filter.is_none() {
            return "count_star()".into();
        }
    }
    output_name(e)
}

/// `name`, or `name_1`, `name_2`, ... when an earlier column (any case) has it.
fn unique(name: &str, taken: &mut Vec<String>) -> String {
    let free = |n: &str, taken: &[String]| !taken.iter().any(|t| t.eq_ignore_ascii_case(n));
    let mut out = name.to_string();
    let mut k = 1;
    while !free(&out, taken) {
        out = format!("{name}_{k}");
        k += 1;
    }
    taken.push(out.clone());
    out
}

fn ident(name: &str, span: Span) -> ast::Ident {
    let mut id = ast::Ident::with_quote('"', name);
    id.span = span;
    id
}

fn quoted(name: &str) -> ast::Ident {
    ast::Ident::with_quote('"', name)
}

/// `SELECT 1 FROM <SOURCE>`, to fill in.
fn template_select() -> Result<ast::Select> {
    let sql = format!("SELECT 1 FROM {SOURCE}");
    let dialect = sqlparser::dialect::DuckDbDialect {};
    let mut statements = sqlparser::parser::Parser::parse_sql(&dialect, &sql)
        .map_err(|e| Error::Internal(format!("PIVOT template: {e}")))?;
    match statements.pop() {
        Some(ast::Statement::Query(q)) => match *q.body {
            ast::SetExpr::Select(s) => Ok(*s),
            _ => Err(Error::Internal("PIVOT template is not a SELECT".into())),
        },
        _ => Err(Error::Internal("PIVOT template is not a query".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_unique_ignoring_case_as_duckdb_does() {
        let mut taken = Vec::new();
        let got: Vec<String> = ["GET", "get", "get_1", "Get"]
            .iter()
            .map(|n| unique(n, &mut taken))
            .collect();
        assert_eq!(got, ["GET", "get_1", "get_1_1", "Get_2"]);
    }

    #[test]
    fn the_column_limit_counts_values_times_aggregates() {
        assert!(check_limit(PIVOT_LIMIT, 1).is_ok());
        assert!(check_limit(PIVOT_LIMIT / 2 + 1, 2).is_err());
        assert!(check_limit(usize::MAX, 2).is_err());
    }
}
