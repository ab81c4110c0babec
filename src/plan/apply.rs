//! Correlated subqueries as dependent joins.
//!
//! The binder leaves a correlated subquery inside the expression that uses it
//! (an [`Expr::Subquery`] whose `correlated` list names the enclosing query's
//! values it reads, [`Expr::Param`]s in its plan). [`lift_correlated`] takes
//! each one out of its expression into a [`LogicalPlan::Apply`] below the node
//! that evaluates it; the expression then reads the Apply's extra column.
//! [`bind_params`] replaces a plan's parameters by the values of one tuple of
//! the enclosing query before that plan runs.

use super::logical::{Expr, LogicalPlan, SortKey, Subquery, SubqueryKind};
use crate::column::Value;
use crate::error::{Error, Result};

/// Whether `e` holds a correlated subquery (not looking into subquery plans).
pub fn has_correlated(e: &Expr) -> bool {
    e.exists(&mut |x| matches!(x, Expr::Subquery(s) if s.is_correlated()))
}

/// Whether `e` reads a value of the enclosing query itself (not through the
/// correlated values of a subquery inside it).
pub fn reads_param(e: &Expr) -> bool {
    fn go(e: &Expr) -> std::result::Result<(), ()> {
        match e {
            Expr::Param { .. } => Err(()),
            Expr::Subquery(s) => match &s.kind {
                SubqueryKind::In { expr, .. } => go(expr),
                _ => Ok(()),
            },
            other => other.try_for_each_child(&mut go),
        }
    }
    go(e).is_err()
}

/// `plan` with every correlated subquery in an expression moved into an
/// [`LogicalPlan::Apply`] (inside subquery plans too). An error ("not supported
/// yet: ...") names the clause where a correlated subquery cannot be placed yet.
pub fn lift_correlated(mut plan: LogicalPlan) -> Result<LogicalPlan> {
    plan.try_map_inputs(&mut lift_correlated)?;
    if let LogicalPlan::Apply { subquery, .. } = &mut plan {
        subquery.plan = lift_correlated(subquery.plan.take())?;
    }
    for e in plan.exprs_mut() {
        e.transform_mut(&mut |x| match x {
            Expr::Subquery(mut s) => {
                s.plan = lift_correlated(s.plan.take())?;
                Ok(Expr::Subquery(s))
            }
            other => Ok(other),
        })?;
    }
    if !plan.exprs().iter().any(|e| has_correlated(e)) {
        return Ok(plan);
    }
    lift_node(plan)
}

/// Moves the correlated subqueries of this node's expressions into Apply nodes
/// over its input.
fn lift_node(plan: LogicalPlan) -> Result<LogicalPlan> {
    let unsupported = |what: &str| {
        Err(Error::InvalidInput(format!(
            "not supported yet: correlated subqueries {what}"
        )))
    };
    let width = |p: &LogicalPlan| p.schema().len();
    let keep = |p: LogicalPlan, cols: Vec<usize>| {
        let schema = p.schema();
        let exprs = cols
            .into_iter()
            .map(|i| {
                let e = Expr::Column {
                    index: i,
                    name: schema[i].0.clone(),
                    data_type: schema[i].1,
                };
                (e, schema[i].0.clone())
            })
            .collect();
        LogicalPlan::Project {
            input: Box::new(p),
            exprs,
        }
    };
    Ok(match plan {
        LogicalPlan::Filter {
            input,
            mut predicate,
        } => {
            let w = width(&input);
            let mut subs = Vec::new();
            extract(&mut predicate, w, &mut subs);
            let filter = LogicalPlan::Filter {
                input: Box::new(applied(*input, subs)),
                predicate,
            };
            keep(filter, (0..w).collect())
        }
        LogicalPlan::Project { input, mut exprs } => {
            let w = width(&input);
            let mut subs = Vec::new();
            for (e, _) in &mut exprs {
                extract(e, w, &mut subs);
            }
            LogicalPlan::Project {
                input: Box::new(applied(*input, subs)),
                exprs,
            }
        }
        LogicalPlan::Aggregate {
            input,
            mut group,
            mut aggs,
        } => {
            let w = width(&input);
            let mut subs = Vec::new();
            for (e, _) in &mut group {
                extract(e, w, &mut subs);
            }
            for (a, _) in &mut aggs {
                for e in [&mut a.arg, &mut a.arg2, &mut a.filter]
                    .into_iter()
                    .flatten()
                {
                    extract(e, w, &mut subs);
                }
            }
            LogicalPlan::Aggregate {
                input: Box::new(applied(*input, subs)),
                group,
                aggs,
            }
        }
        LogicalPlan::Sort {
            input,
            mut keys,
            fetch,
        } => {
            let w = width(&input);
            let mut subs = Vec::new();
            for SortKey { expr, .. } in &mut keys {
                extract(expr, w, &mut subs);
            }
            let sort = LogicalPlan::Sort {
                input: Box::new(applied(*input, subs)),
                keys,
                fetch,
            };
            keep(sort, (0..w).collect())
        }
        LogicalPlan::Window { input, mut windows } => {
            let w = width(&input);
            let mut subs = Vec::new();
            for (win, _) in &mut windows {
                for e in win.exprs_mut() {
                    extract(e, w, &mut subs);
                }
            }
            let (n, nw) = (subs.len(), windows.len());
            let window = LogicalPlan::Window {
                input: Box::new(applied(*input, subs)),
                windows,
            };
            keep(window, (0..w).chain(w + n..w + n + nw).collect())
        }
        LogicalPlan::Join { .. } => return unsupported("in a join condition"),
        _ => return unsupported("in this clause"),
    })
}

/// Replaces each correlated subquery in `e` (innermost first) by a column after
/// the input's `width` columns, collecting the subqueries in that order.
fn extract(e: &mut Expr, width: usize, subs: &mut Vec<Subquery>) {
    let _ = e.transform_mut(&mut |x| match x {
        Expr::Subquery(s) if s.is_correlated() => {
            let column = Expr::Column {
                index: width + subs.len(),
                name: "subquery".into(),
                data_type: s.data_type,
            };
            subs.push(*s);
            Ok(column)
        }
        other => Ok(other),
    });
}

/// `input` under one Apply per subquery, in order (each sees the columns the
/// ones below it added).
fn applied(input: LogicalPlan, subs: Vec<Subquery>) -> LogicalPlan {
    subs.into_iter().fold(input, |input, s| LogicalPlan::Apply {
        input: Box::new(input),
        subquery: Box::new(s),
        lateral: None,
    })
}

/// Replaces the parameters of a correlated subquery's plan (those of this
/// level: not inside the plans of subqueries nested in it, whose parameters are
/// their own) by `values`, typed as the parameters are.
pub fn bind_params(plan: &mut LogicalPlan, values: &[Value]) -> Result<()> {
    for e in plan.exprs_mut() {
        e.transform_mut(&mut |x| match x {
            Expr::Param {
                slot, data_type, ..
            } => match values.get(slot) {
                Some(v) => Ok(Expr::literal(v.clone(), data_type)),
                None => Err(Error::Internal(format!(
                    "correlated value {slot} has no value"
                ))),
            },
            other => Ok(other),
        })?;
    }
    for i in plan.inputs_mut() {
        bind_params(i, values)?;
    }
    Ok(())
}

/// The subquery of an Apply for one tuple: its plan with `values` bound and its
/// IN operand (the tuple's last value, when there is one) a literal.
pub fn instance(s: &Subquery, values: &[Value]) -> Result<Subquery> {
    let n = s.correlated.len();
    let mut plan = s.plan.clone();
    bind_params(&mut plan, &values[..n.min(values.len())])?;
    let kind = match &s.kind {
        SubqueryKind::In { expr, negated } => SubqueryKind::In {
            expr: Expr::literal(
                values.get(n).cloned().unwrap_or(Value::Null),
                expr.data_type(),
            ),
            negated: *negated,
        },
        other => other.clone(),
    };
    Ok(Subquery {
        plan,
        kind,
        data_type: s.data_type,
        correlated: Vec::new(),
    })
}
