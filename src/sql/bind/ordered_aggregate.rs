//! `ORDER BY` inside an aggregate call: `string_agg(path, ' > ' ORDER BY ts)`,
//! `first(status ORDER BY ts DESC)`, `last(x ORDER BY t)`.
//!
//! An order-sensitive aggregate with an ORDER BY makes the SELECT sort its input
//! by those keys and aggregate it as one ordered stream (a Sort under the
//! Aggregate in the plan, which EXPLAIN shows), so every such aggregate of the
//! SELECT must use the same ORDER BY. For aggregates whose answer does not
//! depend on the order (sum, count, min, ...) the ORDER BY is ignored, as in
//! DuckDB. With DISTINCT, each ORDER BY expression must be an argument or
//! depend on the arguments alone, without volatile functions (DuckDB's rule).

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::Binder;
use crate::error::Result;
use crate::plan::SortKey;

/// Whether the answer of aggregate `name` depends on the order of its rows.
fn order_sensitive(name: &str) -> bool {
    matches!(
        name,
        "first"
            | "arbitrary"
            | "last"
            | "any_value"
            | "string_agg"
            | "group_concat"
            | "listagg"
            | "arg_max"
            | "argmax"
            | "max_by"
            | "arg_min"
            | "argmin"
            | "min_by"
            | "arg_max_null"
            | "arg_min_null"
            | "arg_max_nulls_last"
            | "arg_min_nulls_last"
            | "mode"
    )
}

/// Whether ORDER BY expression `e` of a DISTINCT aggregate is one of its
/// arguments, or depends on the arguments' columns alone with nothing volatile
/// there or in the arguments.
fn follows_arguments(e: &ast::Expr, args: &[ast::FunctionArg]) -> bool {
    let args: Vec<&ast::Expr> = args
        .iter()
        .filter_map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => Some(x),
            _ => None,
        })
        .collect();
    if args.contains(&e) {
        return true;
    }
    let (order_columns, order_volatile) = columns_of(e);
    let mut arg_columns = Vec::new();
    for a in &args {
        let (columns, volatile) = columns_of(a);
        if volatile {
            return false;
        }
        arg_columns.extend(columns);
    }
    !order_volatile && order_columns.iter().all(|c| arg_columns.contains(c))
}

/// The column names `e` reads (lower-cased, qualified names joined by dots) and
/// whether it calls a volatile function.
fn columns_of(e: &ast::Expr) -> (Vec<String>, bool) {
    let mut columns = Vec::new();
    let mut volatile = false;
    let _ = ast::visit_expressions(e, |x| {
        match x {
            ast::Expr::Identifier(i) => columns.push(i.value.to_lowercase()),
            ast::Expr::CompoundIdentifier(parts) => columns.push(
                parts
                    .iter()
                    .map(|p| p.value.to_lowercase())
                    .collect::<Vec<_>>()
                    .join("."),
            ),
            ast::Expr::Function(f) => {
                let name = f.name.to_string().to_lowercase();
                volatile |= matches!(
                    name.as_str(),
                    "random" | "gen_random_uuid" | "uuid" | "uuidv4" | "uuidv7" | "nextval"
                );
            }
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    (columns, volatile)
}

impl Binder<'_> {
    /// Takes the clauses inside the call of aggregate `name`: an ORDER BY is
    /// recorded as the SELECT's aggregate order (or ignored where the order
    /// cannot change the answer); any other clause is not supported.
    pub(super) fn aggregate_order(
        &mut self,
        name: &str,
        list: &ast::FunctionArgumentList,
        span: Span,
    ) -> Result<()> {
        for c in &list.clauses {
            let ast::FunctionArgumentClause::OrderBy(order) = c else {
                return Err(
                    self.unsupported(span, "clauses inside a function call other than ORDER BY")
                );
            };
            if matches!(
                list.duplicate_treatment,
                Some(ast::DuplicateTreatment::Distinct)
            ) {
                if let Some(o) = order
                    .iter()
                    .find(|o| !follows_arguments(&o.expr, &list.args))
                {
                    return Err(self.err(
                        o.expr.span(),
                        "In a DISTINCT aggregate, ORDER BY expressions must appear in the \
                         argument list",
                    ));
                }
            }
            if !order_sensitive(name) {
                continue;
            }
            let mut keys = Vec::with_capacity(order.len());
            for o in order {
                let (descending, nulls_first) = self.sort_options(o)?;
                let expr = self.agg_arg(&o.expr)?;
                keys.push(SortKey {
                    expr,
                    descending,
                    nulls_first,
                });
            }
            match &self.agg_order {
                Some(k) if *k != keys => {
                    return Err(self.unsupported(
                        order.first().map_or(span, |o| o.expr.span()),
                        "aggregates of one SELECT ordered by different ORDER BY lists",
                    ))
                }
                _ => self.agg_order = Some(keys),
            }
        }
        Ok(())
    }
}
