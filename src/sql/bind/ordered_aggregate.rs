//! `ORDER BY` inside an aggregate call: `string_agg(path, ' > ' ORDER BY ts)`,
//! `first(status ORDER BY ts DESC)`, `last(x ORDER BY t)`.
//!
//! An order-sensitive aggregate with an ORDER BY makes the SELECT sort its input
//! by those keys and aggregate it as one ordered stream (a Sort under the
//! Aggregate in the plan, which EXPLAIN shows), so every such aggregate of the
//! SELECT must use the same ORDER BY. For aggregates whose answer does not
//! depend on the order (sum, count, min, ...) the ORDER BY is ignored, as in
//! DuckDB.

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

impl Binder<'_> {
    /// Takes the clauses inside the call of aggregate `name`: an ORDER BY is
    /// recorded as the SELECT's aggregate order (or ignored where the order
    /// cannot change the answer); any other clause is not supported.
    pub(super) fn aggregate_order(
        &mut self,
        name: &str,
        clauses: &[ast::FunctionArgumentClause],
        span: Span,
    ) -> Result<()> {
        for c in clauses {
            let ast::FunctionArgumentClause::OrderBy(order) = c else {
                return Err(
                    self.unsupported(span, "clauses inside a function call other than ORDER BY")
                );
            };
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
