//! `WITH RECURSIVE name [(cols)] AS (anchor UNION [ALL] step)`: the anchor is
//! bound first; the step is bound with `name` standing for the previous
//! iteration's rows (a `WorkTable`), its columns cast to the anchor's types.
//! A CTE of a WITH RECURSIVE that does not name itself is an ordinary CTE.

use std::ops::ControlFlow;

use sqlparser::ast;
use sqlparser::ast::Spanned;

use super::from::Cte;
use super::Binder;
use crate::error::Result;
use crate::plan::recursive::WorkSlot;
use crate::plan::{Expr, JoinKind, LogicalPlan};

/// Whether `query` names the relation `name` anywhere (FROM items, joins,
/// subqueries).
fn names_relation<V: ast::Visit>(query: &V, name: &str) -> bool {
    ast::visit_relations(query, |r| {
        let last =
            r.0.last()
                .and_then(|p| p.as_ident())
                .map(|i| i.value.as_str());
        if r.0.len() == 1 && last.is_some_and(|l| l.eq_ignore_ascii_case(name)) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}

/// Whether `plan` reads a work table.
fn reads_work_table(plan: &LogicalPlan) -> bool {
    matches!(plan, LogicalPlan::WorkTable { .. }) || plan.inputs().into_iter().any(reads_work_table)
}

/// Whether some part of `plan` runs before the recursion starts (an expression
/// subquery, or the subquery side of a semi or anti join) and reads the work
/// table.
fn work_table_in_subquery(plan: &LogicalPlan) -> bool {
    let in_exprs = plan
        .exprs()
        .into_iter()
        .any(|e| e.exists(&mut |x| matches!(x, Expr::Subquery(s) if reads_work_table(&s.plan))));
    let in_semi = matches!(
        plan,
        LogicalPlan::Join { right, kind: JoinKind::Semi | JoinKind::Anti, .. }
            if reads_work_table(right)
    );
    in_exprs || in_semi || plan.inputs().into_iter().any(work_table_in_subquery)
}

impl Binder<'_> {
    /// The plan of a recursive CTE; `None` when `cte` does not name itself.
    pub(super) fn recursive_cte(&mut self, cte: &ast::Cte) -> Result<Option<LogicalPlan>> {
        let name = cte.alias.name.value.clone();
        let q = cte.query.as_ref();
        if !names_relation(q, &name) {
            return Ok(None);
        }
        let ast::SetExpr::SetOperation {
            op: ast::SetOperator::Union,
            set_quantifier,
            left,
            right,
        } = q.body.as_ref()
        else {
            return Err(self.unsupported(
                q.span(),
                "a recursive CTE that is not `anchor UNION [ALL] recursive part`",
            ));
        };
        if q.order_by.is_some() || q.limit_clause.is_some() || q.with.is_some() {
            return Err(self.unsupported(
                q.span(),
                "WITH, ORDER BY or LIMIT around the UNION of a recursive CTE",
            ));
        }
        let distinct = match set_quantifier {
            ast::SetQuantifier::All => false,
            ast::SetQuantifier::Distinct | ast::SetQuantifier::None => true,
            _ => return Err(self.unsupported(q.span(), "UNION BY NAME in a recursive CTE")),
        };
        if names_relation(left.as_ref(), &name) {
            return Err(self.unsupported(
                left.span(),
                format!("a reference to the recursive CTE {name} in its first part"),
            ));
        }
        let mut anchor = self.set_expr(left)?;
        if !cte.alias.columns.is_empty() {
            anchor = self.alias_columns(anchor, &cte.alias)?;
        }
        let columns = anchor.schema();
        let slot = WorkSlot::default();
        self.ctes.push(std::sync::Arc::new(Cte {
            name: name.clone(),
            plan: LogicalPlan::WorkTable {
                name: name.clone(),
                slot: slot.clone(),
                columns: columns.clone(),
            },
            owner: self.params_id(),
        }));
        let step = self.set_expr(right);
        self.ctes.pop();
        let step = step?;
        let step_columns = step.schema();
        if step_columns.len() != columns.len() {
            return Err(self.err(
                right.span(),
                format!(
                    "the recursive part of {name} has {} columns, its first part {}",
                    step_columns.len(),
                    columns.len()
                ),
            ));
        }
        if work_table_in_subquery(&step) {
            return Err(self.unsupported(
                right.span(),
                format!("a subquery over the recursive CTE {name} in its recursive part"),
            ));
        }
        let step = if step_columns
            .iter()
            .zip(&columns)
            .all(|((_, a), (_, b))| a == b)
        {
            step
        } else {
            let mut exprs = Vec::with_capacity(columns.len());
            for (i, ((_, from), (n, to))) in step_columns.iter().zip(&columns).enumerate() {
                let c = Expr::Column {
                    index: i,
                    name: n.clone(),
                    data_type: *from,
                };
                let e = if from == to {
                    c
                } else {
                    self.cast(c, *to, right.span())?
                };
                exprs.push((e, n.clone()));
            }
            LogicalPlan::Project {
                input: Box::new(step),
                exprs,
            }
        };
        Ok(Some(LogicalPlan::RecursiveCte {
            name,
            slot,
            anchor: Box::new(anchor),
            step: Box::new(step),
            distinct,
        }))
    }
}
