//! Row values: `(a, b)` and `ROW(a, b)` compared as a whole, with DuckDB's rules.
//!
//! Two rows written out (`(a, b) < (c, d)`, `(a, b) IN ((1, 2), (3, 4))`)
//! compare as DuckDB's STRUCTs: element by element, the first difference
//! deciding, with NULL equal to NULL and sorting after every value; the answer
//! is never NULL.
//!
//! A row against a subquery of as many columns (`(a, b) IN (SELECT x, y ...)`,
//! `(a, b) < ANY (SELECT ...)`) compares with each of its rows: `=` and `<>`
//! element by element with SQL's NULL logic (`(1, NULL) = (1, 2)` is NULL),
//! the ordering operators as STRUCTs (as above). ANY is TRUE when one
//! comparison is TRUE, else NULL when one is NULL, else FALSE; ALL is FALSE
//! when one is FALSE, else NULL when one is NULL, else TRUE (TRUE over no
//! rows). The subquery runs as a correlated one whose parameters are the row's
//! values: it aggregates the comparisons into that one answer. A subquery that
//! reads the enclosing query's columns itself is not supported yet (nor in
//! DuckDB 1.5).

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::quantified::{binary, boolean};
use super::Binder;
use crate::error::Result;
use crate::plan::{AggExpr, AggFunc, BinaryOp, Expr, LogicalPlan, Subquery, SubqueryKind};
use crate::schema::DataType;

/// The values of a row written as `(a, b, ...)` or `ROW(a, ...)`; `None` for
/// anything else.
pub(super) fn row_items(e: &ast::Expr) -> Option<Vec<&ast::Expr>> {
    match e {
        ast::Expr::Tuple(items) => Some(items.iter().collect()),
        ast::Expr::Nested(inner) if matches!(inner.as_ref(), ast::Expr::Tuple(_)) => {
            row_items(inner)
        }
        ast::Expr::Function(f)
            if f.name.0.len() == 1
                && f.name.to_string().eq_ignore_ascii_case("row")
                && f.over.is_none()
                && f.filter.is_none()
                && f.within_group.is_empty()
                && matches!(f.parameters, ast::FunctionArguments::None) =>
        {
            let ast::FunctionArguments::List(list) = &f.args else {
                return None;
            };
            if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
                return None;
            }
            list.args
                .iter()
                .map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => Some(x),
                    _ => None,
                })
                .collect()
        }
        _ => None,
    }
}

fn is_null(e: &Expr) -> Expr {
    Expr::IsNull {
        expr: Box::new(e.clone()),
        negated: false,
    }
}

/// `l` and `r` are equal, NULL equal to NULL (never NULL).
fn same(l: &Expr, r: &Expr) -> Expr {
    Expr::Case {
        whens: vec![(is_null(l), is_null(r)), (is_null(r), boolean(Some(false)))],
        else_expr: Some(Box::new(binary(BinaryOp::Eq, l.clone(), r.clone()))),
        data_type: DataType::Boolean,
    }
}

/// `l` sorts before `r`, NULL after every value (never NULL).
fn before(l: &Expr, r: &Expr) -> Expr {
    Expr::Case {
        whens: vec![
            (is_null(l), boolean(Some(false))),
            (is_null(r), boolean(Some(true))),
        ],
        else_expr: Some(Box::new(binary(BinaryOp::Lt, l.clone(), r.clone()))),
        data_type: DataType::Boolean,
    }
}

/// The comparison of two rows of coerced elements: STRUCT order for the
/// ordering operators and, with `struct_eq`, for `=` / `<>`; otherwise `=`
/// / `<>` with SQL's NULL logic per element.
fn compare_rows(op: BinaryOp, pairs: &[(Expr, Expr)], struct_eq: bool) -> Expr {
    match op {
        BinaryOp::Eq | BinaryOp::NotEq => {
            let eq = pairs
                .iter()
                .map(|(l, r)| {
                    if struct_eq {
                        same(l, r)
                    } else {
                        binary(BinaryOp::Eq, l.clone(), r.clone())
                    }
                })
                .reduce(|a, b| binary(BinaryOp::And, a, b))
                .unwrap_or_else(|| boolean(Some(true)));
            if op == BinaryOp::Eq {
                eq
            } else {
                Expr::Not(Box::new(eq))
            }
        }
        _ => {
            // Built from the last element: `before_i OR (same_i AND rest)`.
            let or_equal = matches!(op, BinaryOp::LtEq | BinaryOp::GtEq);
            let flip = matches!(op, BinaryOp::Gt | BinaryOp::GtEq);
            let mut acc = boolean(Some(or_equal));
            for (l, r) in pairs.iter().rev() {
                let b = if flip { before(r, l) } else { before(l, r) };
                acc = binary(BinaryOp::Or, b, binary(BinaryOp::And, same(l, r), acc));
            }
            acc
        }
    }
}

impl Binder<'_> {
    /// Binds both rows' values and brings each pair to one type.
    fn row_pairs(
        &mut self,
        left: &[&ast::Expr],
        right: &[&ast::Expr],
        span: Span,
    ) -> Result<Vec<(Expr, Expr)>> {
        if left.len() != right.len() {
            return Err(self.err(
                span,
                format!(
                    "cannot compare a row of {} values with a row of {}",
                    left.len(),
                    right.len()
                ),
            ));
        }
        let mut pairs = Vec::with_capacity(left.len());
        for (l, r) in left.iter().zip(right) {
            let (lb, rb) = (self.bind_expr(l)?, self.bind_expr(r)?);
            pairs.push(self.coerce_compare(lb, rb, l.span(), r.span())?);
        }
        Ok(pairs)
    }

    /// `(a, b) <op> (c, d)`: STRUCT comparison.
    pub(super) fn row_comparison(
        &mut self,
        op: BinaryOp,
        left: &[&ast::Expr],
        right: &[&ast::Expr],
        span: Span,
    ) -> Result<Expr> {
        let pairs = self.row_pairs(left, right, span)?;
        Ok(compare_rows(op, &pairs, true))
    }

    /// `(a, b) [NOT] IN ((c, d), ...)`: TRUE when the row equals one of the
    /// list's as a STRUCT.
    pub(super) fn row_in_list(
        &mut self,
        left: &[&ast::Expr],
        list: &[ast::Expr],
        negated: bool,
        span: Span,
    ) -> Result<Expr> {
        let mut any = None;
        for item in list {
            let Some(right) = row_items(item) else {
                return Err(self.err(
                    item.span(),
                    format!("cannot compare a row of {} values with a value", left.len()),
                ));
            };
            let pairs = self.row_pairs(left, &right, item.span().union(&span))?;
            let eq = compare_rows(BinaryOp::Eq, &pairs, true);
            any = Some(match any {
                None => eq,
                Some(a) => binary(BinaryOp::Or, a, eq),
            });
        }
        let any = any.unwrap_or_else(|| boolean(Some(false)));
        Ok(if negated {
            Expr::Not(Box::new(any))
        } else {
            any
        })
    }

    /// `row <op> ANY|ALL (SELECT ...)` (`IN` is `= ANY`), the subquery
    /// returning as many columns as the row has values.
    pub(super) fn row_subquery(
        &mut self,
        left: &[&ast::Expr],
        op: BinaryOp,
        all: bool,
        q: &ast::Query,
        span: Span,
    ) -> Result<Expr> {
        let (plan, mut correlated) = self.correlated_query(q)?;
        let schema = plan.schema();
        if schema.len() != left.len() {
            return Err(self.err(
                span,
                format!(
                    "the subquery returns {} columns, but the row it is compared with has {} values",
                    schema.len(),
                    left.len()
                ),
            ));
        }
        if !correlated.is_empty() {
            // As DuckDB 1.5, which refuses it too.
            return Err(self.unsupported(
                q.span(),
                "a correlated subquery compared with a row of values",
            ));
        }
        let base = correlated.len();
        let mut pairs = Vec::with_capacity(left.len());
        for (i, (l, (name, t))) in left.iter().zip(&schema).enumerate() {
            let value = self.bind_expr(l)?;
            let param = Expr::Param {
                slot: base + i,
                name: format!("row value {}", i + 1),
                data_type: value.data_type(),
            };
            correlated.push(value);
            let column = Expr::Column {
                index: i,
                name: name.clone(),
                data_type: *t,
            };
            pairs.push(self.coerce_compare(param, column, l.span(), q.span())?);
        }
        let cmp = compare_rows(op, &pairs, false);
        let agg = |func, arg: Option<Expr>, data_type| AggExpr {
            func,
            arg,
            distinct: false,
            data_type,
            arg2: None,
            filter: None,
            quantile: 0.0,
        };
        let input = LogicalPlan::Project {
            input: Box::new(plan),
            exprs: vec![(cmp, "cmp".into())],
        };
        let c = Expr::columns(&input.schema()).remove(0).0;
        let decisive = if all { AggFunc::Min } else { AggFunc::Max };
        let stats = LogicalPlan::Aggregate {
            input: Box::new(input),
            group: Vec::new(),
            aggs: vec![
                (
                    agg(decisive, Some(c.clone()), DataType::Boolean),
                    "decided".into(),
                ),
                (
                    agg(AggFunc::CountStar, None, DataType::BigInt),
                    "rows".into(),
                ),
                (
                    agg(AggFunc::Count, Some(c), DataType::BigInt),
                    "known".into(),
                ),
            ],
        };
        let out = Expr::columns(&stats.schema());
        let (decided, rows, known) = (out[0].0.clone(), out[1].0.clone(), out[2].0.clone());
        // ANY: TRUE once one is TRUE; ALL: FALSE once one is FALSE.
        let decided = if all {
            Expr::Not(Box::new(decided))
        } else {
            decided
        };
        let answer = Expr::Case {
            whens: vec![
                (decided, boolean(Some(!all))),
                (binary(BinaryOp::Gt, rows, known), boolean(None)),
            ],
            else_expr: Some(Box::new(boolean(Some(all)))),
            data_type: DataType::Boolean,
        };
        Ok(Expr::Subquery(Box::new(Subquery {
            plan: LogicalPlan::Project {
                input: Box::new(stats),
                exprs: vec![(answer, "answer".into())],
            },
            kind: SubqueryKind::Scalar,
            data_type: DataType::Boolean,
            correlated,
        })))
    }
}
