//! Everything that gives a query more than one table: FROM items (tables, CTEs,
//! subqueries, joins), set operations (`UNION`, `INTERSECT`, `EXCEPT` [ALL]),
//! and subqueries inside expressions.

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::{common_type, is_null_literal, Binder};
use crate::column::Value;
use crate::error::{Error, Result};
use crate::plan::{
    BinaryOp, BuildSide, Expr, JoinKind, LogicalPlan, SortKey, Subquery, SubqueryKind, WindowExpr,
    WindowFrame, WindowFunc,
};
use crate::schema::{DataType, PhysicalType};

/// The columns a query's expressions can name: the FROM clause's output, in order
/// (position `i` is column `i` of the FROM plan).
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    pub cols: Vec<ScopeCol>,
}

#[derive(Clone, Debug)]
pub(crate) struct ScopeCol {
    /// The table name or alias that qualifies the column.
    pub table: Option<String>,
    pub name: String,
    pub data_type: DataType,
    /// The right-hand copy of a USING key: reachable only qualified, not in `*`.
    pub hidden: bool,
}

impl ScopeCol {
    pub fn label(&self) -> String {
        match &self.table {
            Some(t) => format!("{t}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

impl Scope {
    pub fn of_plan(plan: &LogicalPlan, table: Option<&str>) -> Scope {
        Scope {
            cols: plan
                .schema()
                .into_iter()
                .map(|(name, data_type)| ScopeCol {
                    table: table.map(str::to_string),
                    name,
                    data_type,
                    hidden: false,
                })
                .collect(),
        }
    }

    /// The distinct table qualifiers, in order.
    pub fn tables(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.cols {
            if let Some(t) = &c.table {
                if !out.iter().any(|x| x.eq_ignore_ascii_case(t)) {
                    out.push(t);
                }
            }
        }
        out
    }

    /// Visible columns named `name` (any table).
    pub fn find(&self, name: &str) -> Vec<usize> {
        (0..self.cols.len())
            .filter(|&i| !self.cols[i].hidden && self.cols[i].name.eq_ignore_ascii_case(name))
            .collect()
    }

    /// Columns named `name` of table `table` (hidden ones included).
    pub fn find_in(&self, table: &str, name: &str) -> Vec<usize> {
        (0..self.cols.len())
            .filter(|&i| {
                let c = &self.cols[i];
                c.table
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(table))
                    && c.name.eq_ignore_ascii_case(name)
            })
            .collect()
    }

    pub fn has_table(&self, table: &str) -> bool {
        self.tables().iter().any(|t| t.eq_ignore_ascii_case(table))
    }
}

/// A bound FROM clause.
pub(crate) struct FromClause {
    pub plan: LogicalPlan,
    pub scope: Scope,
    pub pending: Vec<Pending>,
}

/// A comma-separated FROM item waiting for its join keys from WHERE.
pub(crate) struct Pending {
    pub plan: LogicalPlan,
    /// Its first column's position in the FROM scope.
    pub offset: usize,
    pub width: usize,
}

/// A column of an enclosing query that a subquery reads: the scope (its
/// position in `Binder::outer`) and the column's position in that scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OuterRef {
    pub level: usize,
    pub index: usize,
}

/// A CTE visible to the query being bound.
#[derive(Clone, Debug)]
pub(crate) struct Cte {
    pub name: String,
    pub plan: LogicalPlan,
    /// The list of enclosing values its `Expr::Param`s index (see
    /// `Binder::params_id`).
    pub owner: usize,
}

/// Whether `plan` reads a value of an enclosing query (an `Expr::Param`).
fn reads_params(plan: &LogicalPlan) -> bool {
    plan.exprs()
        .iter()
        .any(|e| e.exists(&mut |x| matches!(x, Expr::Param { .. })))
        || plan.inputs().into_iter().any(reads_params)
}

/// `Expr::Column` for position `i` of `schema`.
fn col(i: usize, schema: &[(String, DataType)]) -> Expr {
    Expr::Column {
        index: i,
        name: schema[i].0.clone(),
        data_type: schema[i].1,
    }
}

/// Which side of a join an expression reads: `Some(true)` only the left (the
/// first `nl` columns), `Some(false)` only the right, `None` both or neither.
fn side(e: &Expr, nl: usize) -> Option<bool> {
    let (mut l, mut r) = (false, false);
    e.for_each_column(&mut |i| {
        if i < nl {
            l = true
        } else {
            r = true
        }
    });
    match (l, r) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// `a AND b AND ...` (None for no conjuncts).
pub(crate) fn conjoin(mut parts: Vec<Expr>) -> Option<Expr> {
    let first = if parts.is_empty() {
        return None;
    } else {
        parts.remove(0)
    };
    Some(parts.into_iter().fold(first, |acc, e| Expr::Binary {
        op: BinaryOp::And,
        left: Box::new(acc),
        right: Box::new(e),
        data_type: DataType::Boolean,
    }))
}

/// Whether output column `i` of `plan` is a bare NULL literal (its type adapts in
/// a UNION, as in DuckDB).
fn null_column(plan: &LogicalPlan, i: usize) -> bool {
    match plan {
        LogicalPlan::Project { exprs, .. } => exprs.get(i).is_some_and(|(e, _)| is_null_literal(e)),
        LogicalPlan::Sort { input, .. }
        | LogicalPlan::Limit { input, .. }
        | LogicalPlan::Distinct { input } => null_column(input, i),
        _ => false,
    }
}

/// The operands of `UNION BY NAME` (DuckDB): the left side's column names, then
/// the right side's that the left lacks (names compared case-insensitively);
/// each side gives NULL for a name it lacks.
fn by_name_operands(l: LogicalPlan, r: LogicalPlan) -> (LogicalPlan, LogicalPlan) {
    let (ls, rs) = (l.schema(), r.schema());
    let mut names: Vec<String> = ls.iter().map(|(n, _)| n.clone()).collect();
    for (n, _) in &rs {
        if !names.iter().any(|x| x.eq_ignore_ascii_case(n)) {
            names.push(n.clone());
        }
    }
    let project = |p: LogicalPlan, s: &[(String, DataType)]| {
        let exprs = names
            .iter()
            .map(|n| {
                let e = match s.iter().position(|(x, _)| x.eq_ignore_ascii_case(n)) {
                    Some(i) => col(i, s),
                    None => Expr::literal(Value::Null, DataType::Integer),
                };
                (e, n.clone())
            })
            .collect();
        LogicalPlan::Project {
            input: Box::new(p),
            exprs,
        }
    };
    (project(l, &ls), project(r, &rs))
}

/// `plan` with one more column: the row's number among the rows equal to it
/// (`row_number() OVER (PARTITION BY every column)`).
fn numbered(plan: LogicalPlan) -> LogicalPlan {
    let w = WindowExpr {
        func: WindowFunc::RowNumber,
        args: Vec::new(),
        arg_order: Vec::new(),
        partition_by: Expr::columns(&plan.schema())
            .into_iter()
            .map(|(e, _)| e)
            .collect(),
        order_by: Vec::new(),
        frame: WindowFrame::default_frame(),
        filter: None,
        ignore_nulls: false,
        data_type: DataType::BigInt,
    };
    LogicalPlan::Window {
        input: Box::new(plan),
        windows: vec![(w, "row_number".into())],
    }
}

/// `c IS NULL`: with [`not_null_key`], a join key under which NULL equals NULL.
fn null_flag(c: &Expr) -> Expr {
    Expr::IsNull {
        expr: Box::new(c.clone()),
        negated: false,
    }
}

/// `c`, with a NULL replaced by a fixed value of its type (told apart from that
/// value by [`null_flag`]).
fn not_null_key(c: &Expr) -> Expr {
    let t = c.data_type();
    let zero = match t.physical() {
        PhysicalType::Int64 => Value::Int(0),
        PhysicalType::Float64 => Value::Float(0.0),
        PhysicalType::Bool => Value::Bool(false),
        PhysicalType::Utf8 => Value::Str("".into()),
        PhysicalType::Ip => Value::Ip(0),
        PhysicalType::List(_) => Value::List(Vec::new().into()),
    };
    Expr::Case {
        whens: vec![(null_flag(c), Expr::literal(zero, t))],
        else_expr: Some(Box::new(c.clone())),
        data_type: t,
    }
}

/// `left` joined with the rows `right` gives for each of its rows (`right`
/// reads `correlated`, values of `left`, as parameters).
fn lateral_join(
    left: LogicalPlan,
    right: LogicalPlan,
    correlated: Vec<Expr>,
    kind: JoinKind,
) -> LogicalPlan {
    LogicalPlan::Apply {
        input: Box::new(left),
        subquery: Box::new(Subquery {
            plan: right,
            kind: SubqueryKind::Scalar,
            data_type: DataType::Boolean,
            correlated,
        }),
        lateral: Some(kind),
    }
}

/// Renames the output columns of `plan` (`t(a, b)` aliases).
pub(super) fn rename(plan: LogicalPlan, names: &[String]) -> LogicalPlan {
    let schema = plan.schema();
    let exprs = (0..schema.len())
        .map(|i| {
            let name = names.get(i).cloned().unwrap_or_else(|| schema[i].0.clone());
            (col(i, &schema), name)
        })
        .collect();
    LogicalPlan::Project {
        input: Box::new(plan),
        exprs,
    }
}

impl<'a> Binder<'a> {
    /// A binder for a nested query with the same snapshot and CTEs. For a
    /// subquery inside an expression (`expr_subquery`), the current scope becomes
    /// an outer one: naming its columns is a correlated reference.
    pub(super) fn child(&self, expr_subquery: bool) -> Binder<'a> {
        let mut outer = self.outer.clone();
        if expr_subquery {
            outer.push(self.scope.clone());
        }
        // A subquery in an expression reads its own list of enclosing values;
        // FROM items and CTEs share the list of the query they belong to.
        let params = if expr_subquery {
            Default::default()
        } else {
            self.params.clone()
        };
        Binder {
            unnests: Vec::new(),
            unnest_allowed: false,
            snapshot: self.snapshot,
            options: self.options,
            item_filters: Vec::new(),
            agg_filter: None,
            ctes: self.ctes.clone(),
            scope: Scope::default(),
            outer,
            fallback: self.fallback,
            aggs: Vec::new(),
            agg_order: None,
            allow_aggs: false,
            win: Default::default(),
            having: None,
            group_aliases: Vec::new(),
            lateral: Vec::new(),
            params,
            view_depth: self.view_depth,
            left_scope: Scope::default(),
            pending_lateral: None,
        }
    }

    /// Binds a whole query: WITH, the body (a SELECT or set operations), ORDER BY
    /// and LIMIT.
    pub(super) fn query(&mut self, q: &ast::Query) -> Result<LogicalPlan> {
        self.check_query_clauses(q)?;
        if let Some(w) = &q.with {
            for cte in &w.cte_tables {
                if cte.from.is_some() {
                    return Err(self.unsupported(cte.alias.span(), "CTE ... FROM"));
                }
                if w.recursive {
                    if let Some(plan) = self.recursive_cte(cte)? {
                        self.ctes.push(std::sync::Arc::new(Cte {
                            name: cte.alias.name.value.clone(),
                            plan,
                            owner: self.params_id(),
                        }));
                        continue;
                    }
                }
                let mut plan = self.child(false).query(&cte.query)?;
                if !cte.alias.columns.is_empty() {
                    plan = self.alias_columns(plan, &cte.alias)?;
                }
                // Shared, not copied, by the binders of the queries below.
                self.ctes.push(std::sync::Arc::new(Cte {
                    name: cte.alias.name.value.clone(),
                    plan,
                    owner: self.params_id(),
                }));
            }
        }
        match q.body.as_ref() {
            ast::SetExpr::Select(s) => self.select(s, Some(q)),
            body => {
                let plan = self.set_expr(body)?;
                self.order_limit(plan, q)
            }
        }
    }

    pub(super) fn alias_columns(
        &self,
        plan: LogicalPlan,
        alias: &ast::TableAlias,
    ) -> Result<LogicalPlan> {
        let n = plan.schema().len();
        if alias.columns.len() > n {
            return Err(self.err(
                alias.span(),
                format!(
                    "'{}' has {n} columns but {} column names were given",
                    alias.name.value,
                    alias.columns.len()
                ),
            ));
        }
        let names: Vec<String> = alias.columns.iter().map(|c| c.name.value.clone()).collect();
        Ok(rename(plan, &names))
    }

    /// A query body that is not a plain SELECT.
    pub(super) fn set_expr(&mut self, body: &ast::SetExpr) -> Result<LogicalPlan> {
        match body {
            ast::SetExpr::Select(s) => self.child(false).select(s, None),
            ast::SetExpr::Query(q) => self.child(false).query(q),
            ast::SetExpr::SetOperation {
                op,
                set_quantifier,
                left,
                right,
            } => {
                use ast::SetQuantifier as Q;
                let (distinct, by_name) = match set_quantifier {
                    Q::All => (false, false),
                    Q::Distinct | Q::None => (true, false),
                    Q::AllByName => (false, true),
                    Q::ByName | Q::DistinctByName => (true, true),
                };
                if by_name && *op != ast::SetOperator::Union {
                    return Err(self.unsupported(body.span(), format!("{op} BY NAME")));
                }
                let mut l = self.set_expr(left)?;
                let mut r = self.set_expr(right)?;
                if by_name {
                    for (p, side) in [(&l, left), (&r, right)] {
                        let names = p.schema();
                        let twice = (0..names.len()).find(|&i| {
                            names[..i]
                                .iter()
                                .any(|(x, _)| x.eq_ignore_ascii_case(&names[i].0))
                        });
                        if let Some(i) = twice {
                            let n = &names[i].0;
                            return Err(self.err(
                                side.span(),
                                format!(
                                    "UNION BY NAME: column name '{n}' appears twice in one side"
                                ),
                            ));
                        }
                    }
                    (l, r) = by_name_operands(l, r);
                }
                match op {
                    ast::SetOperator::Union => self.union(l, r, distinct, right.span()),
                    ast::SetOperator::Intersect | ast::SetOperator::Except => {
                        let intersect = *op == ast::SetOperator::Intersect;
                        self.intersect_except(l, r, intersect, distinct, right.span())
                    }
                    _ => Err(self.unsupported(body.span(), format!("set operation {op}"))),
                }
            }
            ast::SetExpr::Values(v) => self.child(false).values(v),
            other => Err(self.unsupported(other.span(), "this kind of query (VALUES, ...)")),
        }
    }

    /// `l UNION [ALL] r`: same column count; each column takes the common type.
    fn union(
        &self,
        l: LogicalPlan,
        r: LogicalPlan,
        distinct: bool,
        span: Span,
    ) -> Result<LogicalPlan> {
        let (l, r) = self.set_operands(l, r, "UNION", span)?;
        let mut inputs = Vec::new();
        for p in [l, r] {
            match p {
                LogicalPlan::Union { inputs: more } => inputs.extend(more),
                other => inputs.push(other),
            }
        }
        let plan = LogicalPlan::Union { inputs };
        Ok(if distinct {
            LogicalPlan::Distinct {
                input: Box::new(plan),
            }
        } else {
            plan
        })
    }

    /// `l INTERSECT [ALL] r` and `l EXCEPT [ALL] r` (DuckDB): the rows of `l`
    /// found (not found) in `r`, NULLs equal to NULLs. The plain forms are sets
    /// (a semi or anti join, then DISTINCT); the ALL forms bags: each row is
    /// numbered among its duplicates on both sides and the numbers join too, so
    /// a row appearing m times in `l` and n times in `r` is kept min(m, n)
    /// times (INTERSECT ALL) or max(m - n, 0) times (EXCEPT ALL).
    fn intersect_except(
        &self,
        l: LogicalPlan,
        r: LogicalPlan,
        intersect: bool,
        distinct: bool,
        span: Span,
    ) -> Result<LogicalPlan> {
        let what = if intersect { "INTERSECT" } else { "EXCEPT" };
        let (mut l, mut r) = self.set_operands(l, r, what, span)?;
        let schema = l.schema();
        if !distinct {
            l = numbered(l);
            r = numbered(r);
        }
        let keyed = l.schema();
        let mut on = Vec::new();
        for i in 0..keyed.len() {
            let c = col(i, &keyed);
            on.push((null_flag(&c), null_flag(&c)));
            on.push((not_null_key(&c), not_null_key(&c)));
        }
        let join = LogicalPlan::Join {
            left: Box::new(l),
            right: Box::new(r),
            kind: if intersect {
                JoinKind::Semi
            } else {
                JoinKind::Anti
            },
            on,
            filter: None,
            build: BuildSide::Right,
        };
        Ok(if distinct {
            LogicalPlan::Distinct {
                input: Box::new(join),
            }
        } else {
            LogicalPlan::Project {
                input: Box::new(join),
                exprs: Expr::columns(&schema),
            }
        })
    }

    /// The two operands of a set operation with the same column count, each
    /// column cast to the common type.
    fn set_operands(
        &self,
        l: LogicalPlan,
        r: LogicalPlan,
        what: &str,
        span: Span,
    ) -> Result<(LogicalPlan, LogicalPlan)> {
        let (ls, rs) = (l.schema(), r.schema());
        if ls.len() != rs.len() {
            return Err(self.err(
                span,
                format!(
                    "{what} needs the same number of columns on both sides, got {} and {}",
                    ls.len(),
                    rs.len()
                ),
            ));
        }
        let mut types = Vec::with_capacity(ls.len());
        for i in 0..ls.len() {
            let lt = (!null_column(&l, i)).then_some(ls[i].1);
            let rt = (!null_column(&r, i)).then_some(rs[i].1);
            let t = match (lt, rt) {
                (None, None) => ls[i].1,
                (Some(t), None) | (None, Some(t)) => t,
                (Some(a), Some(b)) => match common_type(a, b) {
                    Some(t) => t,
                    None if a == DataType::Varchar || b == DataType::Varchar => DataType::Varchar,
                    None => {
                        return Err(self.err(
                            span,
                            format!(
                                "{what} column {} ('{}') has incompatible types {a} and {b}",
                                i + 1,
                                ls[i].0
                            ),
                        ))
                    }
                },
            };
            types.push(t);
        }
        let cast = |p: LogicalPlan| -> LogicalPlan {
            let s = p.schema();
            let needs = (0..s.len()).any(|i| s[i].1 != types[i]);
            if !needs {
                return p;
            }
            let exprs = (0..s.len())
                .map(|i| {
                    let e = if s[i].1 == types[i] {
                        col(i, &s)
                    } else if null_column(&p, i) {
                        Expr::literal(Value::Null, types[i])
                    } else {
                        Expr::Cast {
                            expr: Box::new(col(i, &s)),
                            to: types[i],
                        }
                    };
                    (e, s[i].0.clone())
                })
                .collect();
            LogicalPlan::Project {
                input: Box::new(p),
                exprs,
            }
        };
        Ok((cast(l), cast(r)))
    }
    /// ORDER BY and LIMIT over a set operation's output (names from its first
    /// branch).
    fn order_limit(&mut self, mut plan: LogicalPlan, q: &ast::Query) -> Result<LogicalPlan> {
        let schema = plan.schema();
        self.scope = Scope::of_plan(&plan, None);
        let mut keys = Vec::new();
        if let Some(ob) = &q.order_by {
            let exprs = match &ob.kind {
                ast::OrderByKind::Expressions(e) => e,
                ast::OrderByKind::All(_) => {
                    return Err(self.unsupported(q.span(), "ORDER BY ALL"));
                }
            };
            for o in exprs {
                let (descending, nulls_first) = self.sort_options(o)?;
                let expr = match super::ordinal(&o.expr) {
                    Some(n) => {
                        let i =
                            n.checked_sub(1)
                                .filter(|&i| i < schema.len())
                                .ok_or_else(|| {
                                    self.err(
                                        o.expr.span(),
                                        format!(
                                    "ORDER BY position {n} is not in the select list (1 to {})",
                                    schema.len()
                                ),
                                    )
                                })?;
                        col(i, &schema)
                    }
                    None => self.bind_expr(&o.expr)?,
                };
                keys.push(SortKey {
                    expr,
                    descending,
                    nulls_first,
                });
            }
        }
        let limits = self.bind_limit(q)?;
        if !keys.is_empty() {
            plan = LogicalPlan::Sort {
                input: Box::new(plan),
                keys,
                fetch: limits.sort_fetch(),
            };
        }
        Ok(self.apply_limits(plan, limits))
    }

    /// The FROM clause as a plan and the scope its columns form. Items after the
    /// first comma come back separately (`pending`, with their first column's
    /// position): they are joined once WHERE is bound, on its equalities.
    pub(super) fn from(&mut self, from: &[ast::TableWithJoins]) -> Result<FromClause> {
        let Some(first) = from.first() else {
            return Ok(FromClause {
                plan: LogicalPlan::OneRow,
                scope: Scope::default(),
                pending: Vec::new(),
            });
        };
        self.left_scope = Scope::default();
        let (mut plan, mut scope) = self.table_with_joins(first)?;
        let mut pending = Vec::new();
        for item in &from[1..] {
            self.left_scope = scope.clone();
            let (p, s) = self.table_with_joins(item)?;
            if let Some(correlated) = self.pending_lateral.take() {
                // A LATERAL item reads the items before it: those are joined
                // first, then it runs per row of theirs.
                let (before, _) = self.comma_joins(plan, std::mem::take(&mut pending), None)?;
                plan = lateral_join(before, p, correlated, JoinKind::Inner);
                scope.cols.extend(s.cols);
                continue;
            }
            for t in s.tables() {
                if scope.has_table(t) {
                    return Err(self.err(
                        item.relation.span(),
                        format!("duplicate table name or alias '{t}' in FROM; give one an alias"),
                    ));
                }
            }
            pending.push(Pending {
                plan: p,
                offset: scope.cols.len(),
                width: s.cols.len(),
            });
            scope.cols.extend(s.cols);
        }
        Ok(FromClause {
            plan,
            scope,
            pending,
        })
    }

    /// Joins the comma-separated FROM items to the plan, each on the WHERE
    /// equalities between it and the items before it (a cross join without
    /// one); returns the plan and the rest of WHERE.
    pub(super) fn comma_joins(
        &self,
        mut plan: LogicalPlan,
        pending: Vec<Pending>,
        predicate: Option<Expr>,
    ) -> Result<(LogicalPlan, Option<Expr>)> {
        let mut conj: Vec<Option<Expr>> = match &predicate {
            Some(p) => Expr::conjuncts(p)
                .into_iter()
                .map(|c| Some(c.clone()))
                .collect(),
            None => Vec::new(),
        };
        for item in pending {
            let (off, end) = (item.offset, item.offset + item.width);
            let region = |e: &Expr| -> Option<bool> {
                let (mut before, mut inside, mut other) = (false, false, false);
                e.for_each_column(&mut |i| {
                    if i < off {
                        before = true
                    } else if i < end {
                        inside = true
                    } else {
                        other = true
                    }
                });
                match (before, inside, other) {
                    (true, false, false) => Some(true),
                    (false, true, false) => Some(false),
                    _ => None,
                }
            };
            let mut on = Vec::new();
            for slot in conj.iter_mut() {
                let Some(Expr::Binary {
                    op: BinaryOp::Eq,
                    left: a,
                    right: b,
                    ..
                }) = slot.as_ref()
                else {
                    continue;
                };
                let pair = match (region(a), region(b)) {
                    (Some(true), Some(false)) => ((**a).clone(), (**b).clone()),
                    (Some(false), Some(true)) => ((**b).clone(), (**a).clone()),
                    _ => continue,
                };
                let mut r = pair.1;
                r.remap_columns(&|i| i - off);
                on.push((pair.0, r));
                *slot = None;
            }
            plan = LogicalPlan::Join {
                left: Box::new(plan),
                right: Box::new(item.plan),
                kind: JoinKind::Inner,
                on,
                filter: None,
                build: BuildSide::Right,
            };
        }
        Ok((plan, conjoin(conj.into_iter().flatten().collect())))
    }

    fn table_with_joins(&mut self, twj: &ast::TableWithJoins) -> Result<(LogicalPlan, Scope)> {
        let (mut plan, mut scope) = self.table_factor(&twj.relation)?;
        if let Some(correlated) = self.pending_lateral.take() {
            // The first item of a comma-separated FROM item: its caller joins it.
            self.pending_lateral = Some(correlated);
            if !twj.joins.is_empty() {
                return Err(self.unsupported(
                    twj.relation.span(),
                    "a LATERAL subquery followed by joins in the same FROM item",
                ));
            }
            return Ok((plan, scope));
        }
        for j in &twj.joins {
            use ast::JoinOperator as J;
            let (kind, constraint) = match &j.join_operator {
                J::Join(c) | J::Inner(c) => (JoinKind::Inner, c),
                J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, c),
                J::Right(c) | J::RightOuter(c) => (JoinKind::Right, c),
                J::FullOuter(c) => (JoinKind::Full, c),
                J::CrossJoin(ast::JoinConstraint::None) => {
                    (JoinKind::Inner, &ast::JoinConstraint::None)
                }
                _ => return Err(self.unsupported(
                    j.relation.span(),
                    "this kind of JOIN (only [INNER], LEFT, RIGHT, FULL [OUTER] and CROSS JOIN)",
                )),
            };
            if matches!(constraint, ast::JoinConstraint::None)
                && !matches!(j.join_operator, J::CrossJoin(_))
            {
                return Err(self.err(
                    j.relation.span(),
                    format!("{} JOIN needs ON or USING", kind.name()),
                ));
            }
            self.left_scope = scope.clone();
            let (rp, rs) = self.table_factor(&j.relation)?;
            if let Some(correlated) = self.pending_lateral.take() {
                (plan, scope) =
                    self.lateral(plan, scope, rp, rs, correlated, kind, constraint, j)?;
                continue;
            }
            (plan, scope) = self.join(plan, scope, rp, rs, kind, constraint, j.relation.span())?;
        }
        Ok((plan, scope))
    }

    pub(super) fn table_factor(&mut self, tf: &ast::TableFactor) -> Result<(LogicalPlan, Scope)> {
        match tf {
            ast::TableFactor::Table {
                name,
                alias,
                args: Some(args),
                with_hints,
                version: None,
                partitions,
                ..
            } if with_hints.is_empty() && partitions.is_empty() => {
                let plan = self.table_function(name, args, alias.as_ref(), tf.span())?;
                let qualifier = match alias {
                    Some(a) => a.name.value.clone(),
                    None => name.to_string(),
                };
                let scope = Scope::of_plan(&plan, Some(&qualifier));
                Ok((plan, scope))
            }
            ast::TableFactor::UNNEST { .. } => {
                Err(self.unsupported(tf.span(), "unnest (there is no LIST type)"))
            }
            ast::TableFactor::Table {
                name,
                alias,
                args: None,
                with_hints,
                version: None,
                partitions,
                ..
            } if with_hints.is_empty() && partitions.is_empty() => {
                if let Some(plan) = self.information_schema(name) {
                    let plan = plan?;
                    let qualifier = alias
                        .as_ref()
                        .map_or(name.to_string(), |a| a.name.value.clone());
                    let qualifier = qualifier.rsplit('.').next().unwrap_or_default();
                    let plan = match alias.as_ref().filter(|a| !a.columns.is_empty()) {
                        Some(a) => self.alias_columns(plan, a)?,
                        None => plan,
                    };
                    let scope = Scope::of_plan(&plan, Some(qualifier));
                    return Ok((plan, scope));
                }
                let Some(id) = super::unqualified(name) else {
                    return Err(self.unsupported(name.span(), "qualified table names"));
                };
                if id.quote_style == Some('\'') {
                    // `FROM 'access.log'`: a file, read by the reader its name calls for.
                    let func = self.file_by_name(&id.value, tf.span())?;
                    let plan =
                        self.table_function_plan(&id.value, func, alias.as_ref(), tf.span())?;
                    let qualifier = alias
                        .as_ref()
                        .map_or_else(|| file_qualifier(&id.value), |a| a.name.value.clone());
                    let scope = Scope::of_plan(&plan, Some(&qualifier));
                    return Ok((plan, scope));
                }
                let qualifier = alias
                    .as_ref()
                    .map_or(id.value.clone(), |a| a.name.value.clone());
                let cte = self
                    .ctes
                    .iter()
                    .rev()
                    .find(|c| c.name.eq_ignore_ascii_case(&id.value));
                if let Some(c) = cte.filter(|c| c.owner != self.params_id()) {
                    if reads_params(&c.plan) {
                        // Its parameters index the list of the query that
                        // defined it, not this subquery's.
                        return Err(self.unsupported(
                            id.span,
                            "a CTE reading the enclosing query's columns, used in a subquery \
                             inside its query",
                        ));
                    }
                }
                let mut plan = match cte {
                    Some(c) => c.plan.clone(),
                    None => match self.view(id)? {
                        Some(v) => v,
                        None => self.base_table(id)?,
                    },
                };
                if let Some(a) = alias.as_ref().filter(|a| !a.columns.is_empty()) {
                    plan = self.alias_columns(plan, a)?;
                }
                let scope = Scope::of_plan(&plan, Some(&qualifier));
                Ok((plan, scope))
            }
            ast::TableFactor::Derived {
                subquery, alias, ..
            } => {
                // The items before this one are an enclosing scope of the
                // subquery: reading them makes it a LATERAL join.
                let left = std::mem::take(&mut self.left_scope);
                let saved = std::mem::replace(&mut self.scope, left);
                let bound = self.correlated_query(subquery);
                self.scope = saved;
                let (mut plan, correlated) = bound?;
                if !correlated.is_empty() {
                    self.pending_lateral = Some(correlated);
                }
                if let Some(a) = alias.as_ref().filter(|a| !a.columns.is_empty()) {
                    plan = self.alias_columns(plan, a)?;
                }
                let qualifier = alias.as_ref().map(|a| a.name.value.clone());
                let scope = Scope::of_plan(&plan, qualifier.as_deref());
                Ok((plan, scope))
            }
            ast::TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => self.table_with_joins(table_with_joins),
            ast::TableFactor::Pivot { .. } => self.pivot(tf),
            ast::TableFactor::Unpivot { .. } => Err(self.unsupported(
                tf.span(),
                "UNPIVOT; write one SELECT per column joined by UNION ALL",
            )),
            other => Err(self.unsupported(
                other.span(),
                "FROM items other than tables, table functions, subqueries and joins",
            )),
        }
    }

    /// `left JOIN LATERAL right ON cond`: the right side runs per row of the
    /// left (a dependent join); an inner join's condition filters the pairs,
    /// a LEFT join takes only `ON true`.
    #[allow(clippy::too_many_arguments)]
    fn lateral(
        &mut self,
        left: LogicalPlan,
        ls: Scope,
        right: LogicalPlan,
        rs: Scope,
        correlated: Vec<Expr>,
        kind: JoinKind,
        constraint: &ast::JoinConstraint,
        j: &ast::Join,
    ) -> Result<(LogicalPlan, Scope)> {
        let span = j.relation.span();
        let scope = Scope {
            cols: ls.cols.iter().chain(&rs.cols).cloned().collect(),
        };
        let cond = match constraint {
            ast::JoinConstraint::On(cond) => {
                let saved = std::mem::replace(&mut self.scope, scope.clone());
                let bound = self.bind_expr(cond);
                self.scope = saved;
                let bound = self.to_bool(bound?, cond.span(), "ON")?;
                let always = matches!(
                    bound,
                    Expr::Literal {
                        value: Value::Bool(true),
                        ..
                    }
                );
                (!always).then_some(bound)
            }
            ast::JoinConstraint::None => None,
            _ => return Err(self.unsupported(span, "USING or NATURAL with a LATERAL join")),
        };
        let plan = match (kind, cond) {
            (JoinKind::Inner, None) => lateral_join(left, right, correlated, JoinKind::Inner),
            (JoinKind::Inner, Some(c)) => LogicalPlan::Filter {
                input: Box::new(lateral_join(left, right, correlated, JoinKind::Inner)),
                predicate: c,
            },
            (JoinKind::Left, None) => lateral_join(left, right, correlated, JoinKind::Left),
            _ => {
                return Err(self.unsupported(
                    span,
                    "this kind of LATERAL join (only inner joins and LEFT JOIN ... ON true)",
                ))
            }
        };
        Ok((plan, scope))
    }

    /// A scan of every column of a stored table (unused columns are pruned later).
    fn base_table(&self, id: &ast::Ident) -> Result<LogicalPlan> {
        let table = &id.value;
        let entry = self.snapshot.table(table).map_err(|e| match e {
            Error::NotFound(_) | Error::InvalidInput(_) => {
                let mut known: Vec<String> =
                    self.snapshot.manifest().tables.keys().cloned().collect();
                known.extend(self.ctes.iter().map(|c| c.name.clone()));
                self.err(
                    id.span,
                    format!(
                        "unknown table '{table}'; known tables: {}",
                        if known.is_empty() {
                            "(none)".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                )
            }
            other => other,
        })?;
        Ok(LogicalPlan::Scan {
            table: table.clone(),
            schema: entry.schema.clone(),
            columns: (0..entry.schema.fields.len()).collect(),
            time_range: None,
            zone_predicates: Vec::new(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn join(
        &mut self,
        left: LogicalPlan,
        ls: Scope,
        right: LogicalPlan,
        rs: Scope,
        kind: JoinKind,
        constraint: &ast::JoinConstraint,
        span: Span,
    ) -> Result<(LogicalPlan, Scope)> {
        for t in rs.tables() {
            if ls.has_table(t) {
                return Err(self.err(
                    span,
                    format!("duplicate table name or alias '{t}' in FROM; give one an alias"),
                ));
            }
        }
        let nl = ls.cols.len();
        let mut scope = Scope {
            cols: ls.cols.iter().chain(&rs.cols).cloned().collect(),
        };
        let mut on: Vec<(Expr, Expr)> = Vec::new();
        let mut rest: Vec<Expr> = Vec::new();
        let shift = |mut e: Expr| {
            e.remap_columns(&|i| i - nl);
            e
        };
        match constraint {
            ast::JoinConstraint::On(cond) => {
                let saved = std::mem::replace(&mut self.scope, scope.clone());
                let bound = self.bind_expr(cond);
                self.scope = saved;
                let bound = self.to_bool(bound?, cond.span(), "ON")?;
                if kind != JoinKind::Inner && crate::plan::apply::reads_param(&bound) {
                    return Err(self.unsupported(
                        cond.span(),
                        "correlated columns in the condition of a non-inner join",
                    ));
                }
                if bound.has_subquery() && kind != JoinKind::Inner {
                    return Err(self.unsupported(cond.span(), "subqueries in ON of an outer join"));
                }
                for c in Expr::conjuncts(&bound) {
                    // An inner join's conjunct with a subquery filters the pairs.
                    if c.has_subquery() {
                        rest.push(c.clone());
                        continue;
                    }
                    if let Expr::Binary {
                        op: BinaryOp::Eq,
                        left: a,
                        right: b,
                        ..
                    } = c
                    {
                        match (side(a, nl), side(b, nl)) {
                            (Some(true), Some(false)) => {
                                on.push(((**a).clone(), shift((**b).clone())));
                                continue;
                            }
                            (Some(false), Some(true)) => {
                                on.push(((**b).clone(), shift((**a).clone())));
                                continue;
                            }
                            _ => {}
                        }
                    }
                    rest.push(c.clone());
                }
            }
            ast::JoinConstraint::Using(names) => {
                if kind.keeps_right() {
                    // The key would be COALESCE(left.k, right.k).
                    return Err(self.unsupported(span, "USING in a RIGHT or FULL join"));
                }
                for n in names {
                    let Some(ast::ObjectNamePart::Identifier(id)) = n.0.last() else {
                        return Err(self.unsupported(n.span(), "this USING column"));
                    };
                    let pick = |s: &Scope, which: &str| -> Result<usize> {
                        match s.find(&id.value).as_slice() {
                            [i] => Ok(*i),
                            [] => Err(self.err(
                                id.span,
                                format!(
                                    "column '{}' of USING is not in the {which} side of the join",
                                    id.value
                                ),
                            )),
                            _ => Err(self.err(
                                id.span,
                                format!(
                                    "column '{}' of USING is ambiguous in the {which} side",
                                    id.value
                                ),
                            )),
                        }
                    };
                    let li = pick(&ls, "left")?;
                    let ri = pick(&rs, "right")?;
                    let lc = &ls.cols[li];
                    let rc = &rs.cols[ri];
                    let l = Expr::Column {
                        index: li,
                        name: lc.name.clone(),
                        data_type: lc.data_type,
                    };
                    let r = Expr::Column {
                        index: ri,
                        name: rc.name.clone(),
                        data_type: rc.data_type,
                    };
                    let (l, r) = self.coerce_compare(l, r, id.span, id.span)?;
                    on.push((l, r));
                    scope.cols[nl + ri].hidden = true;
                }
            }
            ast::JoinConstraint::Natural => {
                return Err(self.unsupported(span, "NATURAL JOIN"));
            }
            // CROSS JOIN: every pair.
            ast::JoinConstraint::None => {}
        }
        let filter = conjoin(rest);
        let join = |filter| LogicalPlan::Join {
            left: Box::new(left),
            right: Box::new(right),
            kind,
            on,
            filter,
            build: BuildSide::Right,
        };
        let plan = match (kind, filter) {
            // The rest of an inner join's ON is a filter above it; the optimizer
            // pushes the one-sided parts into the inputs.
            (JoinKind::Inner, Some(f)) => LogicalPlan::Filter {
                input: Box::new(join(None)),
                predicate: f,
            },
            (_, f) => join(f),
        };
        Ok((plan, scope))
    }

    /// A subquery inside an expression: `(SELECT ...)`, `[NOT] EXISTS (...)`,
    /// `x [NOT] IN (SELECT ...)`.
    pub(super) fn subquery_expr(
        &mut self,
        q: &ast::Query,
        kind: ast_kind::Kind<'_>,
        span: Span,
    ) -> Result<Expr> {
        let (mut plan, correlated) = self.correlated_query(q)?;
        let schema = plan.schema();
        let one_column = |what: &str| -> Result<()> {
            if schema.len() == 1 {
                Ok(())
            } else {
                Err(self.err(
                    span,
                    format!(
                        "{what} must return exactly one column, not {}",
                        schema.len()
                    ),
                ))
            }
        };
        let (kind, data_type) = match kind {
            ast_kind::Kind::Scalar => {
                one_column("a subquery used as an expression")?;
                (SubqueryKind::Scalar, schema[0].1)
            }
            ast_kind::Kind::Exists(negated) => {
                (SubqueryKind::Exists { negated }, DataType::Boolean)
            }
            ast_kind::Kind::In(x, negated) => {
                one_column("the subquery of IN")?;
                let lhs = self.bind_expr(x)?;
                let (lhs, rhs) = self.coerce_compare(lhs, col(0, &schema), x.span(), q.span())?;
                if rhs.data_type() != schema[0].1 {
                    plan = LogicalPlan::Project {
                        input: Box::new(plan),
                        exprs: vec![(rhs, schema[0].0.clone())],
                    };
                }
                (SubqueryKind::In { expr: lhs, negated }, DataType::Boolean)
            }
        };
        Ok(Expr::Subquery(Box::new(Subquery {
            plan,
            kind,
            data_type,
            correlated,
        })))
    }

    /// The identity of the list of enclosing values this binder's
    /// `Expr::Param`s index (shared with its FROM items and CTEs).
    pub(super) fn params_id(&self) -> usize {
        std::rc::Rc::as_ptr(&self.params) as usize
    }

    /// A subquery of an expression bound with this query's scope as its
    /// nearest enclosing one, and the enclosing values it reads (what its
    /// `Expr::Param`s stand for), as expressions of this query.
    pub(super) fn correlated_query(&mut self, q: &ast::Query) -> Result<(LogicalPlan, Vec<Expr>)> {
        let mut child = self.child(true);
        let plan = child.query(q)?;
        let refs = child.params.borrow().clone();
        let own = self.outer.len();
        let correlated = refs
            .into_iter()
            .map(|r| {
                if r.level == own {
                    self.scope_column(r.index)
                } else {
                    self.outer_param(r)
                }
            })
            .collect();
        Ok((plan, correlated))
    }

    /// The parameter standing for column `r` of an enclosing query (added to
    /// this query's list once).
    fn outer_param(&self, r: OuterRef) -> Expr {
        let mut params = self.params.borrow_mut();
        let slot = match params.iter().position(|p| *p == r) {
            Some(s) => s,
            None => {
                params.push(r);
                params.len() - 1
            }
        };
        let c = &self.outer[r.level].cols[r.index];
        Expr::Param {
            slot,
            name: c.name.clone(),
            data_type: c.data_type,
        }
    }

    /// A column name found in no scope of this query: a correlated reference
    /// (a parameter) if an enclosing query has it, the nearest one first.
    pub(super) fn correlated(
        &self,
        table: Option<&str>,
        name: &str,
        span: Span,
    ) -> Option<Result<Expr>> {
        for level in (0..self.outer.len()).rev() {
            let s = &self.outer[level];
            let found = match table {
                Some(t) => s.find_in(t, name),
                None => s.find(name),
            };
            match found.as_slice() {
                [] => continue,
                [index] => {
                    let index = *index;
                    return Some(Ok(self.outer_param(OuterRef { level, index })));
                }
                many => {
                    let c: Vec<String> = many.iter().map(|&i| s.cols[i].label()).collect();
                    return Some(Err(self.err(
                        span,
                        format!(
                            "ambiguous column name '{name}'; it could be {}",
                            c.join(" or ")
                        ),
                    )));
                }
            }
        }
        None
    }

    /// Turns top-level `x [NOT] IN (SELECT ...)` conjuncts of a WHERE clause into
    /// semi/anti joins over `plan`; the rest becomes a filter below them.
    pub(super) fn where_clause(&self, plan: LogicalPlan, predicate: Expr) -> LogicalPlan {
        let mut rest = Vec::new();
        let mut joins = Vec::new();
        for c in Expr::conjuncts(&predicate) {
            match c {
                Expr::Subquery(s)
                    if matches!(s.kind, SubqueryKind::In { .. }) && !s.is_correlated() =>
                {
                    joins.push((**s).clone())
                }
                other => rest.push(other.clone()),
            }
        }
        let mut plan = match conjoin(rest) {
            Some(p) => LogicalPlan::Filter {
                input: Box::new(plan),
                predicate: p,
            },
            None => plan,
        };
        for s in joins {
            let SubqueryKind::In { expr, negated } = s.kind else {
                continue;
            };
            let rschema = s.plan.schema();
            plan = LogicalPlan::Join {
                left: Box::new(plan),
                right: Box::new(s.plan),
                kind: if negated {
                    JoinKind::Anti
                } else {
                    JoinKind::Semi
                },
                on: vec![(expr, col(0, &rschema))],
                filter: None,
                build: BuildSide::Right,
            };
        }
        plan
    }
}

/// The kinds of expression subqueries, as parsed.
pub(super) mod ast_kind {
    use sqlparser::ast;

    pub enum Kind<'a> {
        Scalar,
        Exists(bool),
        In(&'a ast::Expr, bool),
    }
}

/// The name a file read in FROM is known by (DuckDB: the file name without its
/// extensions): `logs/access.log.gz` is `access`.
fn file_qualifier(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split('.').next().unwrap_or(file).to_string()
}
