//! The binder: resolves a parsed `SELECT` against a table schema into a typed
//! [`LogicalPlan`], applying DuckDB's typing rules and reporting every user mistake
//! with its position.

use std::sync::Arc;

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use crate::column::Value;
use crate::error::{Error, Result};
use crate::exec::ExecOptions;
use crate::plan::{
    AggExpr, AggFunc, BinaryOp, DatePart, DiffUnit, Expr, LogicalPlan, ScalarFunc, SortKey,
    TruncUnit,
};
use crate::schema::DataType;
use crate::storage::Snapshot;
use crate::time::{MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_MINUTE, MICROS_PER_SECOND};

mod catalog;
mod dates;
mod decimal;
mod format;
mod from;
mod functions;
mod group_by;
mod intervals;
mod limit;
mod lists;
mod math;
mod operators;
mod ordered_aggregate;
mod pivot;
mod quantified;
mod read_files;
mod recursive;
mod rows;
mod statistics;
mod strings;
mod table_functions;
mod time_of_day;
mod values;
mod views;
mod window;

pub(crate) use views::unqualified;

use decimal::{common_decimal, decimal_arith, is_decimal};
use from::{Cte, Scope};
pub(crate) use limit::LIMIT_PERCENT;
pub(crate) use pivot::GROUP_BY_MARK;
use window::{WindowState, WIN_MARK};

/// Column indexes at or above this mark stand for aggregate calls while a select
/// list is bound; they are rewritten before the plan is built.
const AGG_MARK: usize = 1 << 40;

/// Column indexes from here (below [`AGG_MARK`]) stand for the `unnest` calls of
/// the select list being bound: index `UNNEST_MARK + j` is `Binder::unnests[j]`.
const UNNEST_MARK: usize = 1 << 39;

/// "line L, column C" of a span, or of `fallback` when the span is empty.
pub(crate) fn position(span: Span, fallback: Span) -> String {
    let s = if span.start.line == 0 { fallback } else { span };
    if s.start.line == 0 {
        "line 1, column 1".to_string()
    } else {
        format!("line {}, column {}", s.start.line, s.start.column)
    }
}

fn err_at(span: Span, fallback: Span, msg: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("{}: {msg}", position(span, fallback)))
}

fn unsupported(span: Span, fallback: Span, what: impl std::fmt::Display) -> Error {
    err_at(span, fallback, format!("not supported yet: {what}"))
}

/// Binds one parsed query against the tables of `snapshot`. `options` run the
/// queries binding itself needs (the values of a `PIVOT` without `IN`).
pub fn bind_query(
    query: &ast::Query,
    snapshot: &Snapshot,
    options: &ExecOptions,
) -> Result<LogicalPlan> {
    let mut b = Binder {
        snapshot,
        options,
        item_filters: Vec::new(),
        agg_filter: None,
        ctes: Vec::new(),
        scope: Scope::default(),
        outer: Vec::new(),
        fallback: query.span(),
        aggs: Vec::new(),
        agg_order: None,
        allow_aggs: false,
        win: WindowState::default(),
        having: None,
        group_aliases: Vec::new(),
        lateral: Vec::new(),
        params: Default::default(),
        view_depth: 0,
        left_scope: Scope::default(),
        pending_lateral: None,
        unnests: Vec::new(),
        unnest_allowed: false,
    };
    let plan = b.query(query)?;
    crate::plan::apply::lift_correlated(plan).map_err(|e| match e {
        Error::InvalidInput(m) => err_at(query.span(), query.span(), m),
        other => other,
    })
}

struct Binder<'a> {
    snapshot: &'a Snapshot,
    options: &'a ExecOptions,
    /// A condition per select-list item that every aggregate call in that item
    /// gets as (an extra) FILTER: how a PIVOT's columns are bound.
    item_filters: Vec<Option<ast::Expr>>,
    /// The condition of `item_filters` for the item being bound.
    agg_filter: Option<ast::Expr>,
    /// CTEs visible here (later ones shadow earlier ones).
    ctes: Vec<std::sync::Arc<Cte>>,
    /// The columns of the FROM clause being bound.
    scope: Scope,
    /// The scopes of enclosing queries (to recognize correlated references).
    outer: Vec<Scope>,
    fallback: Span,
    /// Aggregate calls met in the current select list / HAVING / ORDER BY.
    aggs: Vec<AggExpr>,
    /// The ORDER BY inside the order-sensitive aggregate calls of this SELECT
    /// (`string_agg(x, ',' ORDER BY t)`): its input is sorted by it.
    agg_order: Option<Vec<SortKey>>,
    allow_aggs: bool,
    /// Window calls met in the current select list / ORDER BY / QUALIFY.
    win: WindowState,
    /// While binding HAVING: the select-list aliases and the GROUP BY keys.
    having: Option<HavingScope>,
    /// While binding a GROUP BY expression: the select-list names, which may
    /// stand alone there but not inside an expression (DuckDB).
    group_aliases: Vec<String>,
    /// While binding WHERE and the select list: select-list aliases (with their
    /// expressions) that a name which is no column stands for, as in DuckDB
    /// (`SELECT a + 1 AS b FROM t WHERE b > 2`, `SELECT 1 AS x, x + 1`).
    lateral: Vec<(String, ast::Expr)>,
    /// The enclosing queries' columns read by the subquery being bound (shared
    /// with the binders of its FROM items and CTEs): entry `i` is what
    /// `Expr::Param { slot: i }` stands for.
    params: std::rc::Rc<std::cell::RefCell<Vec<from::OuterRef>>>,
    /// How many views deep this query is read.
    view_depth: usize,
    /// While a FROM item is bound: the columns of the items before it, which a
    /// subquery item may read (LATERAL, explicit or implied as in DuckDB).
    left_scope: Scope,
    /// Set by a subquery FROM item that reads `left_scope`: the values it
    /// reads (its `Expr::Param`s); the item is then joined as a dependent join.
    pending_lateral: Option<Vec<Expr>>,
    /// The lists of the `unnest` calls met in the current select list.
    unnests: Vec<Expr>,
    /// Whether an `unnest` call may appear here (the select list).
    unnest_allowed: bool,
}

/// What names in HAVING may mean besides table columns (DuckDB): a select-list
/// alias, unless the name is a table column that is a GROUP BY key.
struct HavingScope {
    aliases: Vec<(String, Expr)>,
    keys: Vec<Expr>,
}

/// A select-list item before planning.
struct Item {
    expr: Expr,
    name: String,
    span: Span,
}

impl<'a> Binder<'a> {
    fn err(&self, span: Span, msg: impl std::fmt::Display) -> Error {
        err_at(span, self.fallback, msg)
    }

    fn unsupported(&self, span: Span, what: impl std::fmt::Display) -> Error {
        unsupported(span, self.fallback, what)
    }

    /// One SELECT; `query` (absent for a UNION branch) supplies ORDER BY and LIMIT.
    fn select(&mut self, select: &ast::Select, query: Option<&ast::Query>) -> Result<LogicalPlan> {
        self.check_select_clauses(select)?;
        self.named_windows(&select.named_window)?;
        let from = self.from(&select.from)?;
        self.scope = from.scope;

        // WHERE, where select-list aliases stand for their expressions.
        self.lateral = select
            .projection
            .iter()
            .filter_map(|item| match item {
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    Some((alias.value.clone(), expr.clone()))
                }
                _ => None,
            })
            .collect();
        let where_expr = match &select.selection {
            Some(w) => {
                let e = self.bind_expr(w)?;
                Some(self.to_bool(e, w.span(), "WHERE")?)
            }
            None => None,
        };
        // In the select list, the aliases of the items before.
        self.lateral.clear();

        // The select list, in table scope, with aggregates and window calls
        // collected.
        self.allow_aggs = true;
        self.win.allowed = true;
        self.unnest_allowed = true;
        let mut items = Vec::new();
        // DuckDB's `FROM t` without a select list selects `*`.
        let star = [ast::SelectItem::Wildcard(Default::default())];
        let projection = match select.flavor {
            ast::SelectFlavor::FromFirstNoSelect if select.projection.is_empty() => &star[..],
            _ => &select.projection[..],
        };
        for (i, item) in projection.iter().enumerate() {
            self.agg_filter = self.item_filters.get(i).cloned().flatten();
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    let expr = self.bind_expr(e)?;
                    items.push(Item {
                        name: output_name(e),
                        expr,
                        span: e.span(),
                    });
                }
                ast::SelectItem::ExprWithAlias { expr: e, alias }
                    if intervals::unit_alias(e, alias).is_some() =>
                {
                    // `INTERVAL '1.5' MILLENNIA`: the parser took the unit for an
                    // alias (DuckDB reads it as the unit).
                    let e = intervals::unit_alias(e, alias).unwrap_or_else(|| e.clone());
                    let expr = self.bind_expr(&e)?;
                    items.push(Item {
                        name: output_name(&e),
                        expr,
                        span: e.span(),
                    });
                }
                ast::SelectItem::ExprWithAlias { expr: e, alias } => {
                    let expr = self.bind_expr(e)?;
                    items.push(Item {
                        name: alias.value.clone(),
                        expr,
                        span: e.span(),
                    });
                    self.lateral.push((alias.value.clone(), e.clone()));
                }
                ast::SelectItem::Wildcard(opts) => {
                    if opts.opt_exclude.is_some()
                        || opts.opt_except.is_some()
                        || opts.opt_replace.is_some()
                        || opts.opt_rename.is_some()
                        || opts.opt_ilike.is_some()
                    {
                        return Err(self.unsupported(item.span(), "options on *"));
                    }
                    for (i, c) in self.scope.cols.iter().enumerate() {
                        if c.hidden {
                            continue;
                        }
                        items.push(Item {
                            expr: Expr::Column {
                                index: i,
                                name: c.name.clone(),
                                data_type: c.data_type,
                            },
                            name: c.name.clone(),
                            span: item.span(),
                        });
                    }
                }
                ast::SelectItem::QualifiedWildcard(kind, opts) => {
                    let table = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n) if n.0.len() == 1 => {
                            n.to_string()
                        }
                        _ => return Err(self.unsupported(item.span(), "this qualified *")),
                    };
                    if opts.opt_exclude.is_some()
                        || opts.opt_except.is_some()
                        || opts.opt_replace.is_some()
                        || opts.opt_rename.is_some()
                        || opts.opt_ilike.is_some()
                    {
                        return Err(self.unsupported(item.span(), "options on *"));
                    }
                    if !self.scope.has_table(&table) {
                        return Err(self.err(
                            item.span(),
                            format!(
                                "unknown table '{table}' in {table}.*; the query reads {}",
                                self.scope.tables().join(", ")
                            ),
                        ));
                    }
                    for (i, c) in self.scope.cols.iter().enumerate() {
                        if c.table
                            .as_deref()
                            .is_some_and(|t| t.eq_ignore_ascii_case(&table))
                        {
                            items.push(Item {
                                expr: Expr::Column {
                                    index: i,
                                    name: c.name.clone(),
                                    data_type: c.data_type,
                                },
                                name: c.name.clone(),
                                span: item.span(),
                            });
                        }
                    }
                }
                other => return Err(self.unsupported(other.span(), "this select item")),
            }
        }

        self.win.allowed = false;
        self.unnest_allowed = false;
        self.agg_filter = None;
        self.lateral.clear();

        // GROUP BY
        let mut group: Vec<(Expr, String)> = Vec::new();
        let has_group_by;
        match &select.group_by {
            ast::GroupByExpr::All(mods) => {
                if !mods.is_empty() {
                    return Err(self.unsupported(select.span(), "GROUP BY ALL modifiers"));
                }
                // DuckDB: every select item without an aggregate is a key.
                for it in items.iter().filter(|it| !contains_agg_mark(&it.expr)) {
                    if !group.iter().any(|(x, _)| *x == it.expr) {
                        group.push((it.expr.clone(), it.name.clone()));
                    }
                }
                has_group_by = !group.is_empty();
            }
            ast::GroupByExpr::Expressions(exprs, mods) => {
                if !mods.is_empty() {
                    return Err(self.unsupported(select.span(), "GROUP BY modifiers"));
                }
                has_group_by = !exprs.is_empty();
                self.allow_aggs = false;
                for g in exprs {
                    let (e, name) = self.bind_group_item(g, &items)?;
                    if !group.iter().any(|(x, _)| *x == e) {
                        group.push((e, name));
                    }
                }
                self.allow_aggs = true;
            }
        }

        // HAVING: select-list aliases visible (a grouped table column wins).
        let having = match &select.having {
            Some(h) => {
                self.having = Some(HavingScope {
                    aliases: items
                        .iter()
                        .filter(|it| !contains_win_mark(&it.expr))
                        .map(|it| (it.name.clone(), it.expr.clone()))
                        .collect(),
                    keys: group.iter().map(|(e, _)| e.clone()).collect(),
                });
                let e = self.bind_expr(h);
                self.having = None;
                let e = self.to_bool(e?, h.span(), "HAVING")?;
                Some((e, h.span()))
            }
            None => None,
        };

        // ORDER BY: each key is an output column (ordinal, alias, or equal to a select
        // expression) or a hidden extra column.
        let distinct = match &select.distinct {
            None | Some(ast::Distinct::All) => false,
            Some(ast::Distinct::Distinct) => true,
            Some(ast::Distinct::On(_)) => {
                return Err(self.unsupported(select.span(), "DISTINCT ON"));
            }
        };
        let visible = items.len();
        let mut sort_keys: Vec<(usize, bool, bool)> = Vec::new();
        if let Some((query, ob)) = query.and_then(|q| q.order_by.as_ref().map(|o| (q, o))) {
            match &ob.kind {
                ast::OrderByKind::Expressions(exprs) => {
                    self.win.allowed = true;
                    for o in exprs {
                        let (descending, nulls_first) = self.sort_options(o)?;
                        let idx = self.bind_order_item(&o.expr, &mut items, visible, distinct);
                        sort_keys.push((idx?, descending, nulls_first));
                    }
                    self.win.allowed = false;
                }
                // DuckDB's ORDER BY ALL: every output column, left to right, with
                // the one set of options.
                ast::OrderByKind::All(options) => {
                    let (descending, nulls_first) = self.order_options(options, query.span())?;
                    sort_keys.extend((0..visible).map(|i| (i, descending, nulls_first)));
                }
            }
        }

        // QUALIFY: window calls allowed, select-list aliases visible.
        let qualify = match &select.qualify {
            Some(q) => {
                self.win.aliases = items[..visible]
                    .iter()
                    .map(|it| (it.name.clone(), it.expr.clone()))
                    .collect();
                self.win.allowed = true;
                let e = self.bind_expr(q);
                self.win.allowed = false;
                self.win.aliases.clear();
                let e = self.to_bool(e?, q.span(), "QUALIFY")?;
                Some((e, q.span()))
            }
            None => None,
        };
        let mut windows = std::mem::take(&mut self.win.calls);
        if windows
            .iter()
            .any(|w| w.exprs().into_iter().any(crate::plan::apply::reads_param))
        {
            return Err(self.unsupported(select.span(), "correlated columns in window functions"));
        }
        if let (Some((_, span)), true) = (&qualify, windows.is_empty()) {
            return Err(self.err(
                *span,
                "at least one window function must appear in the select list or QUALIFY",
            ));
        }

        let is_agg = has_group_by || !self.aggs.is_empty() || having.is_some();

        // Build the plan bottom-up: scan, filter, aggregate, having, project.
        let mut select_exprs: Vec<Expr> = Vec::with_capacity(items.len());
        let having_expr;
        let mut qualify_expr;
        let aggs = std::mem::take(&mut self.aggs);
        let agg_order = self.agg_order.take();
        let mut unnests = std::mem::take(&mut self.unnests);
        let in_unnest = |e: &Expr| {
            e.exists(&mut |x| {
                matches!(x, Expr::Column { index, .. } if (UNNEST_MARK..AGG_MARK).contains(index))
            })
        };
        let agg_exprs = aggs
            .iter()
            .flat_map(|a| [&a.arg, &a.arg2, &a.filter])
            .flatten();
        let win_exprs = windows.iter().flat_map(|w| w.exprs());
        if agg_exprs.chain(win_exprs).any(in_unnest)
            || having.as_ref().is_some_and(|(h, _)| in_unnest(h))
            || qualify.as_ref().is_some_and(|(q, _)| in_unnest(q))
        {
            return Err(self.unsupported(
                select.span(),
                "unnest inside an aggregate, a window \
                 function, HAVING or QUALIFY",
            ));
        }
        if is_agg {
            for it in &items {
                select_exprs.push(self.rewrite_agg(&it.expr, &group, it.span)?);
            }
            for e in &mut unnests {
                self.rewrite_agg_in_place(e, &group, select.span())?;
            }
            having_expr = match &having {
                Some((h, span)) => Some(self.rewrite_agg(h, &group, *span)?),
                None => None,
            };
            for w in &mut windows {
                for e in w.exprs_mut() {
                    self.rewrite_agg_in_place(e, &group, select.span())?;
                }
            }
            qualify_expr = match &qualify {
                Some((q, span)) => Some(self.rewrite_agg(q, &group, *span)?),
                None => None,
            };
        } else {
            qualify_expr = qualify.map(|(q, _)| q);
            select_exprs = items.iter().map(|i| i.expr.clone()).collect();
            having_expr = None;
        }

        let (from_plan, where_expr) = self.comma_joins(from.plan, from.pending, where_expr)?;
        let mut plan = match where_expr {
            Some(w) => self.where_clause(from_plan, w),
            None => from_plan,
        };
        if is_agg {
            let aggs = aggs
                .into_iter()
                .enumerate()
                .map(|(i, a)| (a, format!("agg{i}")))
                .collect();
            if let Some(keys) = agg_order {
                // Ordered aggregates fold their rows in this order: the input
                // is sorted and aggregated as one stream.
                plan = LogicalPlan::Sort {
                    input: Box::new(plan),
                    keys,
                    fetch: None,
                };
            }
            plan = LogicalPlan::Aggregate {
                input: Box::new(plan),
                group,
                aggs,
            };
            if let Some(h) = having_expr {
                plan = LogicalPlan::Filter {
                    input: Box::new(plan),
                    predicate: h,
                };
            }
        }
        if !windows.is_empty() {
            // Window calls become the Window node's columns, after its input's.
            let width = plan.schema().len();
            let place = |e: &mut Expr| {
                e.visit_mut(&mut |x| {
                    if let Expr::Column { index, .. } = x {
                        if *index >= WIN_MARK {
                            *index = *index - WIN_MARK + width;
                        }
                    }
                })
            };
            select_exprs.iter_mut().for_each(place);
            qualify_expr.iter_mut().for_each(place);
            plan = LogicalPlan::Window {
                input: Box::new(plan),
                windows: windows
                    .into_iter()
                    .enumerate()
                    .map(|(j, w)| (w, format!("win{j}")))
                    .collect(),
            };
            if let Some(q) = qualify_expr {
                plan = LogicalPlan::Filter {
                    input: Box::new(plan),
                    predicate: q,
                };
            }
        }
        if !unnests.is_empty() {
            // The unnested lists become the Unnest node's columns, after its
            // input's.
            let mut lists = Vec::with_capacity(unnests.len());
            for (j, e) in unnests.into_iter().enumerate() {
                if contains_win_mark(&e) {
                    return Err(self.unsupported(select.span(), "unnest of a window function"));
                }
                lists.push((e, format!("unnest{j}")));
            }
            let width = plan.schema().len();
            for e in select_exprs.iter_mut() {
                e.visit_mut(&mut |x| {
                    if let Expr::Column { index, .. } = x {
                        if (UNNEST_MARK..AGG_MARK).contains(index) {
                            *index = *index - UNNEST_MARK + width;
                        }
                    }
                })
            }
            plan = LogicalPlan::Unnest {
                input: Box::new(plan),
                lists,
            };
        }
        plan = LogicalPlan::Project {
            input: Box::new(plan),
            exprs: select_exprs
                .into_iter()
                .zip(items.iter().map(|i| i.name.clone()))
                .collect(),
        };
        if distinct {
            plan = LogicalPlan::Distinct {
                input: Box::new(plan),
            };
        }

        let limits = match query {
            Some(q) => self.bind_limit(q)?,
            None => limit::Limits::default(),
        };
        if !sort_keys.is_empty() {
            let schema = plan.schema();
            let keys = sort_keys
                .iter()
                .map(|&(i, descending, nulls_first)| SortKey {
                    expr: Expr::Column {
                        index: i,
                        name: schema[i].0.clone(),
                        data_type: schema[i].1,
                    },
                    descending,
                    nulls_first,
                })
                .collect();
            plan = LogicalPlan::Sort {
                input: Box::new(plan),
                keys,
                fetch: limits.sort_fetch(),
            };
        }
        plan = self.apply_limits(plan, limits);
        if items.len() > visible {
            let schema = plan.schema();
            plan = LogicalPlan::Project {
                input: Box::new(plan),
                exprs: (0..visible)
                    .map(|i| {
                        (
                            Expr::Column {
                                index: i,
                                name: schema[i].0.clone(),
                                data_type: schema[i].1,
                            },
                            schema[i].0.clone(),
                        )
                    })
                    .collect(),
            };
        }
        Ok(plan)
    }

    fn check_query_clauses(&self, query: &ast::Query) -> Result<()> {
        let span = query.span();
        let bad = |what: &str| Err(self.unsupported(span, what));
        if query.fetch.is_some() {
            return bad("FETCH");
        }
        if !query.locks.is_empty() {
            return bad("locking clauses");
        }
        if query.for_clause.is_some() || query.settings.is_some() || query.format_clause.is_some() {
            return bad("FOR / SETTINGS / FORMAT clauses");
        }
        if !query.pipe_operators.is_empty() {
            return bad("pipe operators");
        }
        if let Some(ob) = &query.order_by {
            if ob.interpolate.is_some() {
                return bad("INTERPOLATE");
            }
            // A plain SELECT checks its ORDER BY items where it binds them.
            if let (ast::OrderByKind::Expressions(items), false) = (
                &ob.kind,
                matches!(query.body.as_ref(), ast::SetExpr::Select(_)),
            ) {
                for o in items {
                    self.check_order_literal(&o.expr, None)?;
                }
            }
        }
        if let Some(w) = &query.with {
            for (i, cte) in w.cte_tables.iter().enumerate() {
                let name = &cte.alias.name.value;
                if w.cte_tables[..i]
                    .iter()
                    .any(|c| c.alias.name.value.eq_ignore_ascii_case(name))
                {
                    return Err(self.err(
                        cte.alias.name.span,
                        format!("Duplicate CTE name \"{name}\""),
                    ));
                }
            }
        }
        Ok(())
    }

    /// DuckDB's rules for a literal ORDER BY item: an integer is an output position
    /// (1 to `columns`; negative or too large is an error), any other literal
    /// (text, NULL, a decimal, a boolean) "has no effect" and is refused.
    fn check_order_literal(&self, e: &ast::Expr, columns: Option<usize>) -> Result<()> {
        let out_of_range = || {
            let range = match columns {
                Some(n) => format!("between 1 and {n}"),
                None => "between 1 and the number of output columns".to_string(),
            };
            Err(self.err(
                e.span(),
                format!("ORDER term out of range - should be {range}"),
            ))
        };
        let (negated, v) = match e {
            ast::Expr::Value(v) => (false, &v.value),
            ast::Expr::UnaryOp {
                op: ast::UnaryOperator::Minus,
                expr,
            } => match expr.as_ref() {
                ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
                    (true, &v.value)
                }
                _ => return Ok(()),
            },
            _ => return Ok(()),
        };
        match v {
            ast::Value::Number(n, _) if n.bytes().all(|b| b.is_ascii_digit()) => {
                match n.parse::<usize>() {
                    Ok(k) if !negated && k >= 1 && columns.is_none_or(|c| k <= c) => Ok(()),
                    _ => out_of_range(),
                }
            }
            ast::Value::Placeholder(_) => Ok(()),
            _ => Err(self.err(e.span(), "ORDER BY non-integer literal has no effect")),
        }
    }

    /// `[ASC|DESC] [NULLS FIRST|LAST]` of an ORDER BY item (DuckDB's default:
    /// ascending, NULLS LAST).
    pub(super) fn sort_options(&self, o: &ast::OrderByExpr) -> Result<(bool, bool)> {
        if o.with_fill.is_some() {
            return Err(self.unsupported(o.expr.span(), "WITH FILL"));
        }
        self.order_options(&o.options, o.expr.span())
    }

    fn order_options(&self, o: &ast::OrderByOptions, span: Span) -> Result<(bool, bool)> {
        let descending = match &o.sort {
            None => self.options.default_descending,
            Some(ast::OrderBySort::Asc) => false,
            Some(ast::OrderBySort::Desc) => true,
            Some(ast::OrderBySort::Using(_)) => {
                return Err(self.unsupported(span, "ORDER BY ... USING"));
            }
        };
        let nulls_first = o
            .nulls_first
            .unwrap_or_else(|| self.options.default_null_order.nulls_first(descending));
        Ok((descending, nulls_first))
    }

    fn check_select_clauses(&self, select: &ast::Select) -> Result<()> {
        let span = select.span();
        let bad = |what: &str| Err(self.unsupported(span, what));
        if select.top.is_some() {
            return bad("TOP");
        }
        if select.into.is_some() {
            return bad("SELECT INTO");
        }
        if !select.lateral_views.is_empty() {
            return bad("LATERAL VIEW");
        }
        if select.prewhere.is_some() {
            return bad("PREWHERE");
        }
        if !select.cluster_by.is_empty()
            || !select.distribute_by.is_empty()
            || !select.sort_by.is_empty()
        {
            return bad("CLUSTER BY / DISTRIBUTE BY / SORT BY");
        }
        if !select.connect_by.is_empty() {
            return bad("CONNECT BY");
        }
        if select.exclude.is_some() {
            return bad("EXCLUDE");
        }
        for j in select.from.iter().flat_map(|t| &t.joins) {
            use ast::JoinOperator as J;
            let (J::Join(c)
            | J::Inner(c)
            | J::Left(c)
            | J::LeftOuter(c)
            | J::Right(c)
            | J::RightOuter(c)
            | J::FullOuter(c)) = &j.join_operator
            else {
                continue;
            };
            if let ast::JoinConstraint::Using(names) = c {
                if let Some(n) = names.iter().find(|n| n.0.len() > 1) {
                    return Err(self.err(
                        n.span(),
                        format!("USING names unqualified columns, not {n}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A GROUP BY item: an ordinal, a select alias, or an expression.
    /// An ORDER BY item as an output column position, adding a hidden column when
    /// it is not in the select list.
    fn bind_order_item(
        &mut self,
        o: &ast::Expr,
        items: &mut Vec<Item>,
        visible: usize,
        distinct: bool,
    ) -> Result<usize> {
        self.check_order_literal(o, Some(visible))?;
        if let Some(n) = ordinal(o) {
            return n.checked_sub(1).filter(|&i| i < visible).ok_or_else(|| {
                self.err(
                    o.span(),
                    format!("ORDER BY position {n} is not in the select list (1 to {visible})"),
                )
            });
        }
        if let ast::Expr::Identifier(id) = o {
            if let Some(i) = items[..visible]
                .iter()
                .position(|i| i.name == id.value)
                .or_else(|| {
                    items[..visible]
                        .iter()
                        .position(|i| i.name.eq_ignore_ascii_case(&id.value))
                })
            {
                return Ok(i);
            }
        }
        let e = self.bind_expr(o)?;
        if let Some(i) = items.iter().position(|i| i.expr == e) {
            return Ok(i);
        }
        if distinct {
            return Err(self.err(
                o.span(),
                "for SELECT DISTINCT, ORDER BY expressions must appear in the select list",
            ));
        }
        items.push(Item {
            expr: e,
            name: output_name(o),
            span: o.span(),
        });
        Ok(items.len() - 1)
    }

    /// Rewrites a select-list expression bound in table scope to refer to the
    /// aggregate's output: group keys by position, aggregate calls after them.
    fn rewrite_agg(&self, e: &Expr, group: &[(Expr, String)], span: Span) -> Result<Expr> {
        let mut out = e.clone();
        self.rewrite_agg_in_place(&mut out, group, span)?;
        Ok(out)
    }

    /// [`Self::rewrite_agg`] in place, top-down: a sub-expression equal to a group
    /// key becomes that key's column before its own children are looked at.
    fn rewrite_agg_in_place(
        &self,
        e: &mut Expr,
        group: &[(Expr, String)],
        span: Span,
    ) -> Result<()> {
        if let Some(i) = group.iter().position(|(g, _)| g == e) {
            *e = Expr::Column {
                index: i,
                name: group[i].1.clone(),
                data_type: e.data_type(),
            };
            return Ok(());
        }
        match e {
            Expr::Column { index, .. } if *index >= WIN_MARK => Ok(()),
            Expr::Column { index, .. } if (UNNEST_MARK..AGG_MARK).contains(index) => Ok(()),
            Expr::Column { index, .. } if *index >= AGG_MARK => {
                *index = *index - AGG_MARK + group.len();
                Ok(())
            }
            Expr::Column { name, .. } => Err(self.err(
                span,
                format!(
                    "column '{name}' must appear in the GROUP BY clause or be used in an \
                     aggregate function"
                ),
            )),
            other => {
                other.try_for_each_child_mut(&mut |c| self.rewrite_agg_in_place(c, group, span))
            }
        }
    }

    /// `e` as a condition of `clause`: a BOOLEAN as it is; a number or a
    /// string converted to BOOLEAN as DuckDB does implicitly (`WHERE 1`,
    /// `0 AND x`: zero is FALSE, any other number TRUE; `'true'`); any other
    /// type an error.
    fn to_bool(&self, e: Expr, span: Span, clause: &str) -> Result<Expr> {
        let t = e.data_type();
        if t == DataType::Boolean || is_null_literal(&e) {
            return Ok(e);
        }
        if !(is_number(t) || t == DataType::Varchar) {
            return Err(self.err(span, format!("{clause} needs a BOOLEAN condition, not {t}")));
        }
        if let Expr::Literal { value, data_type } = &e {
            return cast_literal(value, *data_type, DataType::Boolean)
                .map(|v| Expr::literal(v, DataType::Boolean))
                .map_err(|m| self.err(span, m));
        }
        Ok(Expr::Cast {
            expr: Box::new(e),
            to: DataType::Boolean,
        })
    }

    fn scope_column(&self, i: usize) -> Expr {
        let c = &self.scope.cols[i];
        Expr::Column {
            index: i,
            name: c.name.clone(),
            data_type: c.data_type,
        }
    }

    /// A select-list alias `name` in HAVING (outside aggregate arguments), unless
    /// `column` (the table column of that name, if any) is a GROUP BY key.
    fn having_alias(&self, name: &str, column: Option<&Expr>) -> Option<Expr> {
        let h = self.having.as_ref()?;
        if !self.allow_aggs || column.is_some_and(|c| h.keys.contains(c)) {
            return None;
        }
        h.aliases
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, e)| e.clone())
    }

    /// An unqualified column name.
    fn column(&mut self, id: &ast::Ident) -> Result<Expr> {
        match self.scope.find(&id.value).as_slice() {
            [i] => {
                let c = self.scope_column(*i);
                Ok(self.having_alias(&id.value, Some(&c)).unwrap_or(c))
            }
            [] => {
                if let Some(e) = self.having_alias(&id.value, None) {
                    return Ok(e);
                }
                if let Some((_, e)) = self
                    .win
                    .aliases
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&id.value))
                {
                    return Ok(e.clone());
                }
                if let Some(e) = self.alias_in_group_expr(id) {
                    return Err(e);
                }
                if let Some(i) =
                    (self.lateral.iter()).rposition(|(n, _)| n.eq_ignore_ascii_case(&id.value))
                {
                    // Bound with that alias out of reach (no alias stands for itself).
                    let (name, expr) = self.lateral.remove(i);
                    let bound = self.bind_expr(&expr);
                    self.lateral.insert(i, (name, expr));
                    return bound;
                }
                if let Some(e) = self.correlated(None, &id.value, id.span) {
                    return e;
                }
                let tables = self.scope.tables();
                let known: Vec<String> = self
                    .scope
                    .cols
                    .iter()
                    .filter(|c| !c.hidden)
                    .map(|c| {
                        if tables.len() > 1 {
                            c.label()
                        } else {
                            c.name.clone()
                        }
                    })
                    .collect();
                let place = match tables.as_slice() {
                    [t] => format!(" in table '{t}'"),
                    _ => String::new(),
                };
                let aliases = match &self.having {
                    Some(h) if !h.aliases.is_empty() => format!(
                        "; select-list aliases: {}",
                        h.aliases
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    _ => String::new(),
                };
                Err(self.err(
                    id.span,
                    format!(
                        "unknown column '{}'{place}; known columns: {}{aliases}",
                        id.value,
                        if known.is_empty() {
                            "(none)".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ))
            }
            many => {
                let c: Vec<String> = many.iter().map(|&i| self.scope.cols[i].label()).collect();
                Err(self.err(
                    id.span,
                    format!(
                        "ambiguous column name '{}'; it could be {}",
                        id.value,
                        c.join(" or ")
                    ),
                ))
            }
        }
    }

    /// `table.column`.
    fn qualified_column(&self, t: &ast::Ident, c: &ast::Ident) -> Result<Expr> {
        if !self.scope.has_table(&t.value) {
            if let Some(e) = self.correlated(Some(&t.value), &c.value, t.span) {
                return e;
            }
            let tables = self.scope.tables();
            return Err(self.err(
                t.span,
                format!(
                    "unknown table '{}'; the query reads {}",
                    t.value,
                    if tables.is_empty() {
                        "no tables".to_string()
                    } else {
                        tables
                            .iter()
                            .map(|t| format!("'{t}'"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            ));
        }
        match self.scope.find_in(&t.value, &c.value).as_slice() {
            [i] => Ok(self.scope_column(*i)),
            [] => {
                let known: Vec<&str> = self
                    .scope
                    .cols
                    .iter()
                    .filter(|x| {
                        x.table
                            .as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(&t.value))
                    })
                    .map(|x| x.name.as_str())
                    .collect();
                Err(self.err(
                    c.span,
                    format!(
                        "unknown column '{}' in table '{}'; known columns: {}",
                        c.value,
                        t.value,
                        known.join(", ")
                    ),
                ))
            }
            _ => Err(self.err(
                c.span,
                format!("ambiguous column name '{}.{}'", t.value, c.value),
            )),
        }
    }

    fn bind_expr(&mut self, e: &ast::Expr) -> Result<Expr> {
        use ast::Expr as A;
        let span = e.span();
        match e {
            A::Identifier(id) => self.column(id),
            A::CompoundIdentifier(parts) => {
                if parts.len() == 2 {
                    self.qualified_column(&parts[0], &parts[1])
                } else {
                    Err(self.unsupported(span, "qualified names with more than two parts"))
                }
            }
            A::Value(v) => self.bind_value(&v.value, span),
            A::Nested(inner) => self.bind_expr(inner),
            A::TypedString(ts) => {
                let text = match &ts.value.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    _ => return Err(self.err(span, "a typed literal needs a quoted string")),
                };
                let dt = self.map_type(&ts.data_type, span)?;
                cast_literal(&Value::Str(text.as_str().into()), DataType::Varchar, dt)
                    .map(|v| Expr::literal(v, dt))
                    .map_err(|m| self.err(span, m))
            }
            A::Interval(iv) => self.bind_interval(iv, span),
            A::UnaryOp { op, expr } => {
                if *op == ast::UnaryOperator::Minus
                    && is_number_literal(expr, "9223372036854775808")
                {
                    return Ok(Expr::literal(Value::Int(i64::MIN), DataType::BigInt));
                }
                let inner = self.bind_expr(expr)?;
                match op {
                    ast::UnaryOperator::Plus => {
                        self.expect_numeric(&inner, expr.span(), "unary +")?;
                        Ok(inner)
                    }
                    ast::UnaryOperator::Minus => {
                        match &inner {
                            Expr::Literal { value, data_type } if is_number(*data_type) => {
                                match value {
                                    Value::Int(v) => {
                                        return Ok(Expr::literal(
                                            Value::Int(v.checked_neg().ok_or_else(|| {
                                                self.err(span, "integer literal out of range")
                                            })?),
                                            *data_type,
                                        ))
                                    }
                                    Value::Float(v) => {
                                        return Ok(Expr::literal(Value::Float(-v), *data_type))
                                    }
                                    Value::Null => return Ok(inner),
                                    _ => {}
                                }
                            }
                            _ => {}
                        }
                        if inner.data_type() == DataType::Interval {
                            return Ok(self.negate_interval(inner));
                        }
                        self.expect_numeric(&inner, expr.span(), "unary -")?;
                        Ok(Expr::Negate(Box::new(inner)))
                    }
                    ast::UnaryOperator::Not => {
                        let inner = self.to_bool(inner, expr.span(), "NOT")?;
                        Ok(Expr::Not(Box::new(inner)))
                    }
                    other => Err(self.unsupported(span, format!("unary operator {other}"))),
                }
            }
            A::BinaryOp { left, op, right } => self.bind_binary(left, op, right, span),
            A::AnyOp {
                left,
                compare_op,
                right,
                ..
            } => self.quantified(left, compare_op, right, false, span),
            A::AllOp {
                left,
                compare_op,
                right,
            } => self.quantified(left, compare_op, right, true, span),
            A::IsDistinctFrom(a, b) => self.bind_distinct_from(a, b, true),
            A::IsNotDistinctFrom(a, b) => self.bind_distinct_from(a, b, false),
            A::IsNull(x) | A::IsNotNull(x) => {
                let inner = self.bind_expr(x)?;
                Ok(Expr::IsNull {
                    expr: Box::new(inner),
                    negated: matches!(e, A::IsNotNull(_)),
                })
            }
            A::InList {
                expr,
                list,
                negated,
            } => {
                if let Some(row) = rows::row_items(expr) {
                    return self.row_in_list(&row, list, *negated, span);
                }
                let l = self.bind_expr(expr)?;
                let mut items = Vec::with_capacity(list.len());
                let mut target = l.data_type();
                if is_null_literal(&l) {
                    // Take the type of the first non-NULL item.
                    for it in list {
                        let b = self.bind_expr(it)?;
                        if !is_null_literal(&b) {
                            target = b.data_type();
                            break;
                        }
                    }
                }
                let mut l = self.coerce_to(l, target, expr.span())?;
                let bound = list
                    .iter()
                    .map(|it| self.bind_expr(it))
                    .collect::<Result<Vec<_>>>()?;
                // A number widens to the widest numeric type of the list (`x IN
                // (1, 0.5)` compares as DOUBLE), so that every item gets one type.
                for (b, it) in bound.iter().zip(list) {
                    if is_number(l.data_type()) && is_number(b.data_type()) {
                        l = self.coerce_compare(l, b.clone(), expr.span(), it.span())?.0;
                    }
                }
                for (b, it) in bound.into_iter().zip(list) {
                    let (_, r) = self.coerce_compare(l.clone(), b, expr.span(), it.span())?;
                    items.push(r);
                }
                let (l, _) = match items.first() {
                    Some(first) => {
                        self.coerce_compare(l, first.clone(), expr.span(), list[0].span())?
                    }
                    None => (l, Expr::literal(Value::Null, target)),
                };
                Ok(Expr::InList {
                    expr: Box::new(l),
                    list: items,
                    negated: *negated,
                    set: Default::default(),
                })
            }
            A::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.bind_expr(expr)?;
                let lo = self.bind_expr(low)?;
                let hi = self.bind_expr(high)?;
                let ge = self.comparison(BinaryOp::GtEq, x.clone(), lo, expr.span(), low.span())?;
                let le = self.comparison(BinaryOp::LtEq, x, hi, expr.span(), high.span())?;
                let both = Expr::Binary {
                    op: BinaryOp::And,
                    left: Box::new(ge),
                    right: Box::new(le),
                    data_type: DataType::Boolean,
                };
                Ok(if *negated {
                    Expr::Not(Box::new(both))
                } else {
                    both
                })
            }
            A::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
            | A::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if *any {
                    return Err(self.unsupported(span, "LIKE ANY"));
                }
                let x = self.bind_expr(expr)?;
                let x = self.coerce_to(x, DataType::Varchar, expr.span())?;
                let pattern_expr = self.bind_expr(pattern)?;
                let escape = match escape_char {
                    None => None,
                    Some(ec) => match ec.as_ref() {
                        A::Value(v) => match &v.value {
                            ast::Value::SingleQuotedString(s) if s.chars().count() == 1 => {
                                s.chars().next()
                            }
                            ast::Value::SingleQuotedString(s) if s.is_empty() => None,
                            _ => {
                                return Err(self
                                    .err(ec.span(), "the ESCAPE clause needs a single character"))
                            }
                        },
                        _ => {
                            return Err(
                                self.err(ec.span(), "the ESCAPE clause needs a string literal")
                            )
                        }
                    },
                };
                let case_insensitive = matches!(e, A::ILike { .. });
                let pattern_text = match pattern_expr {
                    Expr::Literal {
                        value: Value::Str(s),
                        ..
                    } => s,
                    Expr::Literal {
                        value: Value::Null, ..
                    } => return Ok(Expr::literal(Value::Null, DataType::Boolean)),
                    // A pattern that varies by row is compiled per distinct value.
                    p => {
                        let p = self.coerce_to(p, DataType::Varchar, pattern.span())?;
                        if p.data_type() != DataType::Varchar {
                            return Err(self.err(
                                pattern.span(),
                                format!("a LIKE pattern must be VARCHAR, not {}", p.data_type()),
                            ));
                        }
                        return Ok(Expr::Func {
                            func: ScalarFunc::LikeMatch {
                                escape,
                                case_insensitive,
                                negated: *negated,
                            },
                            args: vec![x, p],
                            data_type: DataType::Boolean,
                        });
                    }
                };
                Ok(Expr::Like {
                    expr: Box::new(x),
                    pattern: pattern_text,
                    escape,
                    case_insensitive,
                    negated: *negated,
                })
            }
            A::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let op = match operand {
                    Some(o) => Some((self.bind_expr(o)?, o.span())),
                    None => None,
                };
                let mut whens = Vec::new();
                let mut results = Vec::new();
                for cw in conditions {
                    let c = self.bind_expr(&cw.condition)?;
                    let c = match &op {
                        Some((o, ospan)) => self.comparison(
                            BinaryOp::Eq,
                            o.clone(),
                            c,
                            *ospan,
                            cw.condition.span(),
                        )?,
                        None => self.to_bool(c, cw.condition.span(), "CASE WHEN")?,
                    };
                    whens.push(c);
                    results.push((self.bind_expr(&cw.result)?, cw.result.span()));
                }
                let els = match else_result {
                    Some(x) => Some((self.bind_expr(x)?, x.span())),
                    None => None,
                };
                let mut t: Option<DataType> = None;
                for (r, rspan) in results.iter().chain(els.iter()) {
                    if is_null_literal(r) {
                        continue;
                    }
                    t = Some(match t {
                        None => r.data_type(),
                        Some(t) => common_type(t, r.data_type()).ok_or_else(|| {
                            self.err(
                                *rspan,
                                format!(
                                    "CASE branches have incompatible types {t} and {}",
                                    r.data_type()
                                ),
                            )
                        })?,
                    });
                }
                let t = t.unwrap_or(DataType::Integer);
                let mut pairs = Vec::new();
                for (w, (r, rspan)) in whens.into_iter().zip(results) {
                    pairs.push((w, self.coerce_to(r, t, rspan)?));
                }
                let else_expr = match els {
                    Some((x, xspan)) => Some(Box::new(self.coerce_to(x, t, xspan)?)),
                    None => None,
                };
                Ok(Expr::Case {
                    whens: pairs,
                    else_expr,
                    data_type: t,
                })
            }
            A::Cast {
                kind,
                expr,
                data_type,
                format,
            } => {
                if format.is_some() {
                    return Err(self.unsupported(span, "CAST ... FORMAT"));
                }
                let to = self.map_type(data_type, span)?;
                // A decimal number literal cast to DECIMAL converts from its digits
                // (DuckDB's literal is an exact DECIMAL; logdb's a DOUBLE, in which
                // `1.005` is 1.00499...).
                if let (Some((width, scale)), Some(text)) =
                    (to.decimal(), decimal_literal_text(expr))
                {
                    return match crate::decimal::parse(&text, width, scale) {
                        Ok(v) => Ok(Expr::literal(Value::Int(v), to)),
                        Err(_) if *kind == ast::CastKind::TryCast => {
                            Ok(Expr::literal(Value::Null, to))
                        }
                        Err(m) if m.starts_with("not supported") => Err(self.err(span, m)),
                        Err(_) => Err(self.err(
                            span,
                            format!(
                                "Conversion Error: Casting value \"{text}\" to type {to} \
                                 failed: value is out of range!"
                            ),
                        )),
                    };
                }
                // ... and to an integer type rounds those digits half away from
                // zero (`2.5::TINYINT` is 3), as DuckDB's DECIMAL cast does.
                if let (true, Some(text)) = (to.is_integer(), decimal_literal_text(expr)) {
                    let scale = text.split('.').nth(1).map_or(0, str::len);
                    let digits = text.chars().filter(char::is_ascii_digit).count();
                    if digits <= 18 {
                        let scale = scale as u8;
                        let (lo, hi) = to.int_range().unwrap_or((i64::MIN, i64::MAX));
                        let tag = crate::value::int_tag(to);
                        let v = crate::decimal::parse(&text, 18, scale)
                            .and_then(|v| crate::decimal::to_int(v, scale, lo, hi, tag));
                        return match v {
                            Ok(v) => Ok(Expr::literal(Value::Int(v), to)),
                            Err(_) if *kind == ast::CastKind::TryCast => {
                                Ok(Expr::literal(Value::Null, to))
                            }
                            Err(m) => Err(self.err(span, m)),
                        };
                    }
                }
                let x = self.bind_expr(expr)?;
                match kind {
                    ast::CastKind::Cast | ast::CastKind::DoubleColon => self.cast(x, to, span),
                    ast::CastKind::TryCast => self.try_cast(x, to, span),
                    _ => Err(self.unsupported(span, "SAFE_CAST")),
                }
            }
            A::Extract { field, expr, .. } => {
                let x = self.bind_expr(expr)?;
                if x.data_type() == DataType::Interval {
                    return self.interval_part(&field.to_string(), x, span);
                }
                let part = self.date_part(field, span)?;
                self.date_part_call(part, x, expr.span(), "EXTRACT")
            }
            A::Function(f) => self.bind_function(f, span),
            A::SimilarTo {
                negated,
                expr,
                pattern,
                escape_char,
            } => {
                if escape_char.is_some() {
                    return Err(self.unsupported(span, "SIMILAR TO ... ESCAPE"));
                }
                self.bind_regex_match(expr, pattern, false, *negated, true)
            }
            // DuckDB's dialect parses `j->'a'` as a lambda; with a literal body it
            // is JSON access.
            A::Lambda(l) => match (&l.params, l.body.as_ref()) {
                (ast::OneOrManyWithParens::One(p), body @ A::Value(_)) if p.data_type.is_none() => {
                    let doc = A::Identifier(p.name.clone());
                    self.bind_json_extract("->", &doc, body, false)
                }
                _ => Err(self.unsupported(span, "lambda functions")),
            },
            A::AtTimeZone {
                timestamp,
                time_zone,
            } => self.at_time_zone(timestamp, time_zone),
            A::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let one = ast::Expr::value(ast::Value::Number("1".into(), false));
                let from = substring_from.as_deref().unwrap_or(&one);
                let mut args: Vec<&ast::Expr> = vec![expr, from];
                args.extend(substring_for.as_deref());
                self.bind_scalar2("substr", &args, span)?
                    .ok_or_else(|| self.unsupported(span, "SUBSTRING"))
            }
            A::Floor { expr, field } | A::Ceil { expr, field } => {
                let name = if matches!(e, A::Floor { .. }) {
                    "floor"
                } else {
                    "ceil"
                };
                if !matches!(
                    field,
                    ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime)
                ) {
                    return Err(self.unsupported(span, format!("{name} with a scale or unit")));
                }
                self.bind_math_function(name, &[expr.as_ref()], span)?
                    .ok_or_else(|| self.unsupported(span, name))
            }
            A::Position { expr, r#in } => self
                .bind_string_function("instr", &[r#in.as_ref(), expr.as_ref()], span)?
                .ok_or_else(|| self.unsupported(span, "POSITION")),
            // `trim(s)`, `trim(s, chars)`, `trim([BOTH | LEADING | TRAILING] [chars] FROM s)`.
            A::Trim {
                expr,
                trim_where,
                trim_what,
                trim_characters,
            } => {
                let name = match trim_where {
                    None | Some(ast::TrimWhereField::Both) => "trim",
                    Some(ast::TrimWhereField::Leading) => "ltrim",
                    Some(ast::TrimWhereField::Trailing) => "rtrim",
                };
                let mut args: Vec<&ast::Expr> = vec![expr.as_ref()];
                match (trim_what, trim_characters.as_deref()) {
                    (Some(w), None) => args.push(w.as_ref()),
                    (None, Some([c])) => args.push(c),
                    (None, None) => {}
                    _ => return Err(self.unsupported(span, "this form of TRIM")),
                }
                self.bind_string_function(name, &args, span)?
                    .ok_or_else(|| self.unsupported(span, "TRIM"))
            }
            A::Wildcard(_) => Err(self.err(span, "* is only allowed in SELECT * and count(*)")),
            A::Subquery(q) => self.subquery_expr(q, from::ast_kind::Kind::Scalar, span),
            A::Exists { subquery, negated } => {
                self.subquery_expr(subquery, from::ast_kind::Kind::Exists(*negated), span)
            }
            A::InSubquery {
                expr,
                subquery,
                negated,
            } => match rows::row_items(expr) {
                Some(row) => {
                    let any = self.row_subquery(&row, BinaryOp::Eq, false, subquery, span)?;
                    Ok(if *negated {
                        Expr::Not(Box::new(any))
                    } else {
                        any
                    })
                }
                None => {
                    self.subquery_expr(subquery, from::ast_kind::Kind::In(expr, *negated), span)
                }
            },
            A::Array(arr) => self.bind_list_literal(&arr.elem, span),
            A::CompoundFieldAccess { root, access_chain } => {
                self.bind_subscripts(root, access_chain, span)
            }
            other => Err(self.unsupported(span, format!("expression {other}"))),
        }
    }

    fn bind_value(&self, v: &ast::Value, span: Span) -> Result<Expr> {
        match v {
            ast::Value::Number(n, _) => {
                // `1_000_000`: DuckDB's digit separators.
                let n = &n.replace('_', "");
                if let Ok(i) = n.parse::<i64>() {
                    let t = if i32::try_from(i).is_ok() {
                        DataType::Integer
                    } else {
                        DataType::BigInt
                    };
                    Ok(Expr::literal(Value::Int(i), t))
                } else if n.bytes().all(|b| b.is_ascii_digit()) {
                    // DuckDB types it HUGEINT; as DOUBLE it would lose digits.
                    Err(self.err(
                        span,
                        format!(
                            "integer literal {n} is out of BIGINT range; HUGEINT values \
                             beyond BIGINT's range are not supported yet"
                        ),
                    ))
                } else if let Some((precision, scale)) = crate::decimal::literal_type(n) {
                    // DuckDB: an exact DECIMAL of the digits written.
                    let t = DataType::Decimal { precision, scale };
                    match crate::decimal::parse(n, precision, scale) {
                        Ok(v) => Ok(Expr::literal(Value::Int(v), t)),
                        // A value beyond logdb's 64-bit DECIMAL is a DOUBLE where
                        // that is the same number (`2.00000000000000000000`).
                        Err(m) => match crate::decimal::exact_f64(n) {
                            Some(f) => Ok(Expr::literal(Value::Float(f), DataType::Double)),
                            None => Err(self.err(span, m)),
                        },
                    }
                } else if let Ok(f) = n.parse::<f64>() {
                    Ok(Expr::literal(Value::Float(f), DataType::Double))
                } else {
                    Err(self.err(span, format!("invalid number {n}")))
                }
            }
            ast::Value::SingleQuotedString(s) => Ok(Expr::literal(
                Value::Str(s.as_str().into()),
                DataType::Varchar,
            )),
            ast::Value::Boolean(b) => Ok(Expr::literal(Value::Bool(*b), DataType::Boolean)),
            ast::Value::Null => Ok(Expr::literal(Value::Null, DataType::Integer)),
            other => Err(self.unsupported(span, format!("literal {other}"))),
        }
    }

    fn map_type(&self, t: &ast::DataType, span: Span) -> Result<DataType> {
        if let ast::DataType::Array(def) = t {
            return match def {
                ast::ArrayElemTypeDef::SquareBracket(inner, None)
                | ast::ArrayElemTypeDef::AngleBracket(inner)
                | ast::ArrayElemTypeDef::Parenthesis(inner) => {
                    Ok(DataType::list_of(self.map_type(inner, span)?))
                }
                _ => Err(self.unsupported(span, format!("type {t} (fixed-size ARRAY)"))),
            };
        }
        let text = t.to_string();
        let base = text.split('(').next().unwrap_or("").trim().to_string();
        let base = match base.to_ascii_uppercase().as_str() {
            "TIMESTAMP WITHOUT TIME ZONE" => "TIMESTAMP".to_string(),
            "CHARACTER VARYING" => "VARCHAR".to_string(),
            "DOUBLE PRECISION" => "DOUBLE".to_string(),
            _ => base,
        };
        if matches!(
            base.to_ascii_uppercase().as_str(),
            "TIMETZ" | "TIME WITH TIME ZONE"
        ) {
            return Err(self.unsupported(span, format!("type {base}")));
        }
        if matches!(
            base.to_ascii_uppercase().as_str(),
            "DECIMAL" | "NUMERIC" | "DEC"
        ) {
            return DataType::parse(&text).map_err(|e| self.err(span, e));
        }
        let t = DataType::parse(&base).map_err(|e| self.err(span, e))?;
        // Only VARCHAR takes a (length) modifier, which is ignored (DuckDB);
        // `INTEGER(1000)` is an error there too.
        if text.contains('(') && t != DataType::Varchar {
            let what = if t == DataType::Timestamp {
                return Err(self.unsupported(span, format!("{text} (a TIMESTAMP precision)")));
            } else {
                format!("Type \"{base}\" does not take any type parameters")
            };
            return Err(self.err(span, what));
        }
        Ok(t)
    }

    fn expect_numeric(&self, e: &Expr, span: Span, what: &str) -> Result<()> {
        if is_numeric(e.data_type()) || is_decimal(e.data_type()) || is_null_literal(e) {
            Ok(())
        } else {
            Err(self.err(
                span,
                format!("{what} needs a numeric argument, not {}", e.data_type()),
            ))
        }
    }

    /// The type of a TIMESTAMP function's result over an argument of type `arg`:
    /// TIMESTAMP WITH TIME ZONE stays so (`date_trunc`, `+ INTERVAL`,
    /// `time_bucket`: the same instant in UTC, as in DuckDB), else TIMESTAMP.
    pub(super) fn timestamp_result(arg: DataType) -> DataType {
        if arg == DataType::TimestampTz {
            DataType::TimestampTz
        } else {
            DataType::Timestamp
        }
    }

    fn expect_timestamp(&self, e: Expr, span: Span, what: &str) -> Result<Expr> {
        if e.data_type() == DataType::Timestamp {
            return Ok(e);
        }
        if e.data_type().is_timestamp() {
            if e.data_type() == DataType::TimestampNs && what == "INTERVAL arithmetic" {
                return Err(self.unsupported(span, "INTERVAL arithmetic on TIMESTAMP_NS"));
            }
            // TIMESTAMP_S / _MS / _NS convert implicitly, as in DuckDB.
            return self.cast(e, DataType::Timestamp, span);
        }
        if is_null_literal(&e) {
            return Ok(Expr::literal(Value::Null, DataType::Timestamp));
        }
        if e.data_type() == DataType::Date {
            // A DATE is midnight UTC of its day (DuckDB promotes it the same way).
            return self.cast(e, DataType::Timestamp, span);
        }
        if let Expr::Literal {
            value: Value::Str(_),
            ..
        } = &e
        {
            return self.coerce_to(e, DataType::Timestamp, span);
        }
        Err(self.err(
            span,
            format!("{what} needs a TIMESTAMP argument, not {}", e.data_type()),
        ))
    }

    /// An explicit CAST; literals are converted at bind time.
    fn cast(&self, x: Expr, to: DataType, span: Span) -> Result<Expr> {
        let from = x.data_type();
        if let Expr::Literal { value, .. } = &x {
            return cast_literal(value, from, to)
                .map(|v| Expr::literal(v, to))
                .map_err(|m| self.err(span, m));
        }
        if from == to {
            return Ok(x);
        }
        if !castable(from, to) {
            return Err(self.err(span, format!("cannot cast {from} to {to}")));
        }
        Ok(Expr::Cast {
            expr: Box::new(x),
            to,
        })
    }

    /// `TRY_CAST(x AS to)`: as `cast`, but a value that does not convert is NULL
    /// (a conversion that does not exist between the types is still an error).
    fn try_cast(&self, x: Expr, to: DataType, span: Span) -> Result<Expr> {
        let from = x.data_type();
        if let Expr::Literal { value, .. } = &x {
            return Ok(match cast_literal(value, from, to) {
                Ok(v) => Expr::literal(v, to),
                Err(_) if castable(from, to) => Expr::literal(Value::Null, to),
                Err(m) => return Err(self.err(span, m)),
            });
        }
        if from == to || to == DataType::Varchar {
            return self.cast(x, to, span);
        }
        if !castable(from, to) {
            return Err(self.err(span, format!("cannot cast {from} to {to}")));
        }
        Ok(Expr::Func {
            func: ScalarFunc::TryCast(to),
            args: vec![x],
            data_type: to,
        })
    }

    /// An implicit conversion to `to` (literals converted now; numeric widening and
    /// strings to timestamps/IPs for literals only).
    fn coerce_to(&self, x: Expr, to: DataType, span: Span) -> Result<Expr> {
        let from = x.data_type();
        if from == to {
            return Ok(x);
        }
        if let Expr::Literal { value, .. } = &x {
            let ok = matches!(value, Value::Null)
                || (is_number(from) && is_number(to))
                || (from == DataType::Varchar
                    && (matches!(
                        to,
                        DataType::Timestamp | DataType::Ip | DataType::Date | DataType::Interval
                    ) || to == DataType::Time
                        || to.is_timestamp())
                    || is_number(to))
                || ((from == DataType::Date || from.is_timestamp()) && to.is_timestamp());
            if ok {
                return cast_literal(value, from, to)
                    .map(|v| Expr::literal(v, to))
                    .map_err(|m| self.err(span, m));
            }
        }
        if is_int(from) && is_int(to) {
            // Same physical representation; widening needs no work.
            return Ok(match x {
                Expr::Column { .. } => x,
                other => Expr::Cast {
                    expr: Box::new(other),
                    to,
                },
            });
        }
        if (is_number(from) && to == DataType::Double)
            || ((from == DataType::Date || from.is_timestamp()) && to.is_timestamp())
            || (is_number(from) && is_decimal(to))
        {
            return Ok(Expr::Cast {
                expr: Box::new(x),
                to,
            });
        }
        Err(self.err(span, format!("cannot convert {from} to {to} implicitly")))
    }

    /// Brings both sides of a comparison to one type.
    fn coerce_compare(&self, l: Expr, r: Expr, ls: Span, rs: Span) -> Result<(Expr, Expr)> {
        let (lt, rt) = (l.data_type(), r.data_type());
        if is_null_literal(&l) && is_null_literal(&r) {
            return Ok((l, r));
        }
        if is_null_literal(&l) {
            return Ok((Expr::literal(Value::Null, rt), r));
        }
        if is_null_literal(&r) {
            return Ok((l, Expr::literal(Value::Null, lt)));
        }
        if lt == rt {
            return Ok((l, r));
        }
        // A number literal that a DECIMAL holds exactly takes the DECIMAL's type, so
        // the column is compared as it is stored (no cast per row, zone maps apply);
        // the answer is the same as in the common type.
        if !matches!(l, Expr::Literal { .. }) {
            if let Some(r) = exact_decimal_literal(&r, lt) {
                return Ok((l, r));
            }
        }
        if !matches!(r, Expr::Literal { .. }) {
            if let Some(l) = exact_decimal_literal(&l, rt) {
                return Ok((l, r));
            }
        }
        if is_number(lt) && is_number(rt) {
            let t = if lt == DataType::Double || rt == DataType::Double {
                DataType::Double
            } else if let Some(t) = common_decimal(lt, rt) {
                t
            } else {
                common_int(lt, rt)
            };
            return Ok((self.coerce_to(l, t, ls)?, self.coerce_to(r, t, rs)?));
        }
        // A string literal takes the other side's type (DuckDB casts it).
        if matches!(
            &r,
            Expr::Literal {
                value: Value::Str(_),
                ..
            }
        ) {
            let r = self.coerce_to(r, lt, rs).map_err(|_| {
                self.err(
                    rs,
                    format!("cannot compare {lt} with {rt}: the literal is not a valid {lt}"),
                )
            })?;
            return Ok((l, r));
        }
        if matches!(
            &l,
            Expr::Literal {
                value: Value::Str(_),
                ..
            }
        ) {
            let l = self.coerce_to(l, rt, ls).map_err(|_| {
                self.err(
                    ls,
                    format!("cannot compare {lt} with {rt}: the literal is not a valid {rt}"),
                )
            })?;
            return Ok((l, r));
        }
        // DATE against TIMESTAMP: the date becomes midnight of its day (DuckDB);
        // TIMESTAMP kinds compare as TIMESTAMP, or TIMESTAMP_NS beside one.
        if let Some(t) = common_time(lt, rt) {
            return Ok((self.coerce_to(l, t, ls)?, self.coerce_to(r, t, rs)?));
        }
        let time_kind =
            |t: DataType| matches!(t, DataType::Date | DataType::Time) || t.is_timestamp();
        if lt == DataType::Varchar && time_kind(rt) {
            return Ok((
                Expr::Cast {
                    expr: Box::new(l),
                    to: rt,
                },
                r,
            ));
        }
        if rt == DataType::Varchar && time_kind(lt) {
            return Ok((
                l,
                Expr::Cast {
                    expr: Box::new(r),
                    to: lt,
                },
            ));
        }
        Err(self.err(ls, format!("cannot compare {lt} with {rt}")))
    }

    fn comparison(&self, op: BinaryOp, l: Expr, r: Expr, ls: Span, rs: Span) -> Result<Expr> {
        let (l, r) = self.coerce_compare(l, r, ls, rs)?;
        if let Some(range) = dates::date_compare_as_range(op, &l, &r) {
            return Ok(range);
        }
        Ok(Expr::Binary {
            op,
            left: Box::new(l),
            right: Box::new(r),
            data_type: DataType::Boolean,
        })
    }

    fn bind_binary(
        &mut self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        span: Span,
    ) -> Result<Expr> {
        use ast::BinaryOperator as B;
        match op {
            B::StringConcat => return self.bind_concat_op(left, right),
            B::PGRegexMatch => return self.bind_regex_match(left, right, false, false, false),
            B::PGRegexIMatch => return self.bind_regex_match(left, right, true, false, false),
            B::PGRegexNotMatch => return self.bind_regex_match(left, right, false, true, false),
            B::PGRegexNotIMatch => return self.bind_regex_match(left, right, true, true, false),
            B::Glob => return self.bind_glob(left, right),
            B::LongArrow => return self.bind_json_extract("->>", left, right, true),
            B::Arrow => return self.bind_json_extract("->", left, right, false),
            B::PGCustomBinaryOperator(v) if matches!(v.as_slice(), [o] if o == "<<=" || o == ">>=") =>
            {
                return self.bind_cidr_contains(left, &v[0], right, span);
            }
            B::PGCustomBinaryOperator(v) if matches!(v.as_slice(), [o] if o == "^@") => {
                return self
                    .bind_scalar2("starts_with", &[left, right], span)?
                    .ok_or_else(|| Error::Internal("starts_with is not bound".into()));
            }
            _ => {}
        }
        let bop = match op {
            B::Plus => BinaryOp::Add,
            B::Minus => BinaryOp::Sub,
            B::Multiply => BinaryOp::Mul,
            B::Divide => BinaryOp::Div,
            B::DuckIntegerDivide | B::MyIntegerDivide => BinaryOp::IntDiv,
            B::Modulo => BinaryOp::Mod,
            B::Eq => BinaryOp::Eq,
            B::NotEq => BinaryOp::NotEq,
            B::Lt => BinaryOp::Lt,
            B::LtEq => BinaryOp::LtEq,
            B::Gt => BinaryOp::Gt,
            B::GtEq => BinaryOp::GtEq,
            B::And => BinaryOp::And,
            B::Or => BinaryOp::Or,
            other => return Err(self.unsupported(span, format!("operator {other}"))),
        };
        if bop.is_comparison() {
            if let (Some(l), Some(r)) = (rows::row_items(left), rows::row_items(right)) {
                return self.row_comparison(bop, &l, &r, span);
            }
        }
        // timestamp +/- INTERVAL of fixed length: plain micros arithmetic.
        let mut prebound = None;
        if matches!(bop, BinaryOp::Add | BinaryOp::Sub) {
            if let ast::Expr::Interval(iv) = right {
                if let Some(micros) = self.fixed_interval(iv, right.span())? {
                    let l = self.bind_expr(left)?;
                    if !matches!(l.data_type(), DataType::Timestamp | DataType::Date) {
                        prebound = Some((l, self.bind_expr(right)?));
                    } else {
                        let l = self.expect_timestamp(l, left.span(), "INTERVAL arithmetic")?;
                        return Ok(Expr::Binary {
                            op: bop,
                            left: Box::new(l),
                            right: Box::new(micros),
                            data_type: DataType::Timestamp,
                        });
                    }
                }
            } else if let (ast::Expr::Interval(iv), BinaryOp::Add) = (left, bop) {
                if let Some(micros) = self.fixed_interval(iv, left.span())? {
                    let r = self.bind_expr(right)?;
                    if !matches!(r.data_type(), DataType::Timestamp | DataType::Date) {
                        prebound = Some((self.bind_expr(left)?, r));
                    } else {
                        let r = self.expect_timestamp(r, right.span(), "INTERVAL arithmetic")?;
                        return Ok(Expr::Binary {
                            op: bop,
                            left: Box::new(r),
                            right: Box::new(micros),
                            data_type: DataType::Timestamp,
                        });
                    }
                }
            }
        }
        let (l, r) = match prebound {
            Some(p) => p,
            None => (self.bind_expr(left)?, self.bind_expr(right)?),
        };
        let (ls, rs) = (left.span(), right.span());
        match bop {
            BinaryOp::And | BinaryOp::Or => {
                let l = self.to_bool(l, ls, bop.symbol())?;
                let r = self.to_bool(r, rs, bop.symbol())?;
                let fix = |e: Expr| {
                    if is_null_literal(&e) {
                        Expr::literal(Value::Null, DataType::Boolean)
                    } else {
                        e
                    }
                };
                Ok(Expr::Binary {
                    op: bop,
                    left: Box::new(fix(l)),
                    right: Box::new(fix(r)),
                    data_type: DataType::Boolean,
                })
            }
            op if op.is_comparison() => self.comparison(op, l, r, ls, rs),
            _ => {
                let (l, r) = match self.interval_arithmetic(bop, l, r, ls, rs)? {
                    Ok(e) => return Ok(e),
                    Err(operands) => operands,
                };
                if matches!(bop, BinaryOp::Add | BinaryOp::Sub)
                    && (l.data_type() == DataType::Date || r.data_type() == DataType::Date)
                {
                    return self.date_arithmetic(bop, l, r, ls, rs);
                }
                let (lt, rt) = (l.data_type(), r.data_type());
                let lnull = is_null_literal(&l);
                let rnull = is_null_literal(&r);
                let num = |e: &Expr, null: bool| is_number(e.data_type()) || null;
                if !num(&l, lnull) || !num(&r, rnull) {
                    let bad = if num(&l, lnull) { (rs, rt) } else { (ls, lt) };
                    return Err(self.err(
                        bad.0,
                        format!(
                            "operator {} needs numeric operands, not {lt} and {rt}",
                            bop.symbol(),
                        ),
                    ));
                }
                let decimal_types = if lt == DataType::Double || rt == DataType::Double {
                    None
                } else {
                    decimal_arith(bop, lt, rt)
                };
                if let Some(types) = decimal_types {
                    let types = types.map_err(|m| self.err(span, m))?;
                    let (l, r) = if lnull || rnull {
                        (
                            Expr::literal(Value::Null, types.left),
                            Expr::literal(Value::Null, types.right),
                        )
                    } else {
                        (
                            self.coerce_to(l, types.left, ls)?,
                            self.coerce_to(r, types.right, rs)?,
                        )
                    };
                    let op = if bop == BinaryOp::IntDiv {
                        // DuckDB divides DECIMALs as DOUBLEs for `//` too.
                        BinaryOp::Div
                    } else {
                        bop
                    };
                    return Ok(Expr::Binary {
                        op,
                        left: Box::new(l),
                        right: Box::new(r),
                        data_type: types.result,
                    });
                }
                let t = if lnull {
                    rt
                } else if rnull {
                    lt
                } else if lt == DataType::Double || rt == DataType::Double {
                    DataType::Double
                } else {
                    // An integer literal adapts to the other side's type when it fits.
                    // (A plain number literal is INTEGER or BIGINT; a literal cast to
                    // another integer type keeps that type.)
                    let lit_fits = |lit: &Expr, t: DataType| match lit {
                        Expr::Literal {
                            value: Value::Int(v),
                            data_type: DataType::Integer | DataType::BigInt,
                        } => t.int_range().is_some_and(|(lo, hi)| *v >= lo && *v <= hi),
                        _ => false,
                    };
                    if matches!(l, Expr::Literal { .. }) && lit_fits(&l, rt) {
                        rt
                    } else if matches!(r, Expr::Literal { .. }) && lit_fits(&r, lt) {
                        lt
                    } else {
                        arith_int(lt, rt)
                    }
                };
                let result = match bop {
                    BinaryOp::Div => DataType::Double,
                    _ => t,
                };
                let operand_t = if bop == BinaryOp::Div {
                    DataType::Double
                } else {
                    t
                };
                let (l, r) = if operand_t == DataType::Double {
                    (
                        self.exact_for_decimal(l, right, ls)?,
                        self.exact_for_decimal(r, left, rs)?,
                    )
                } else {
                    (l, r)
                };
                let l = self.coerce_to(l, operand_t, ls)?;
                let r = self.coerce_to(r, operand_t, rs)?;
                Ok(Expr::Binary {
                    op: bop,
                    left: Box::new(l),
                    right: Box::new(r),
                    data_type: result,
                })
            }
        }
    }

    /// An integer operand of arithmetic with a decimal literal that stayed a
    /// DOUBLE (one wider than logdb's 64-bit DECIMAL holds, such as
    /// `2.00000000000000000000`): DuckDB computes in DECIMAL, exactly; logdb
    /// computes in DOUBLE, which holds integers exactly only up to 2^53. A larger integer is refused
    /// (at bind time for a literal, else per row by `ScalarFunc::ExactDouble`)
    /// rather than answered approximately.
    fn exact_for_decimal(&self, x: Expr, other: &ast::Expr, span: Span) -> Result<Expr> {
        if !is_int(x.data_type()) || !is_decimal_literal(other) {
            return Ok(x);
        }
        if let Expr::Literal {
            value: Value::Int(v),
            ..
        } = &x
        {
            return match crate::exec::functions::exact_double(*v) {
                Ok(_) => Ok(x),
                Err(m) => Err(self.err(span, m)),
            };
        }
        Ok(Expr::Func {
            func: ScalarFunc::ExactDouble,
            args: vec![x],
            data_type: DataType::Double,
        })
    }

    fn interval_micros(&self, iv: &ast::Interval, span: Span) -> Result<i64> {
        if iv.last_field.is_some() || iv.fractional_seconds_precision.is_some() {
            return Err(self.unsupported(span, "INTERVAL ranges"));
        }
        let text = match iv.value.as_ref() {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => s.clone(),
                ast::Value::Number(n, _) => n.clone(),
                _ => return Err(self.err(span, "INTERVAL needs a number or a quoted string")),
            },
            _ => return Err(self.unsupported(span, "INTERVAL with a computed value")),
        };
        let text = match &iv.leading_field {
            Some(f) => format!("{text} {f}"),
            None => text,
        };
        parse_interval(&text).map_err(|m| self.err(span, m))
    }

    fn date_part(&self, field: &ast::DateTimeField, span: Span) -> Result<DatePart> {
        use ast::DateTimeField as F;
        let name = match field {
            F::IsoWeek => "week".to_string(),
            F::Custom(id) => id.value.clone(),
            other => other.to_string(),
        };
        DatePart::from_name(&name)
            .ok_or_else(|| self.unsupported(span, format!("date part {name}")))
    }

    /// `greatest(a, ...)` / `least(a, ...)`: the arguments cast to the type they
    /// share (as CASE branches do).
    fn bind_extreme(&mut self, greatest: bool, args: &[&ast::Expr], span: Span) -> Result<Expr> {
        let name = if greatest { "greatest" } else { "least" };
        if args.is_empty() {
            return Err(self.err(span, format!("{name} takes 1 or more arguments, 0 given")));
        }
        let bound = (args.iter())
            .map(|a| Ok((self.bind_expr(a)?, a.span())))
            .collect::<Result<Vec<_>>>()?;
        let mut t: Option<DataType> = None;
        for (e, espan) in &bound {
            if is_null_literal(e) {
                continue;
            }
            t = Some(match t {
                None => e.data_type(),
                Some(t) => common_type(t, e.data_type()).ok_or_else(|| {
                    self.err(
                        *espan,
                        format!("{name} of incompatible types {t} and {}", e.data_type()),
                    )
                })?,
            });
        }
        let t = t.unwrap_or(DataType::Integer);
        let args = (bound.into_iter())
            .map(|(e, espan)| self.coerce_to(e, t, espan))
            .collect::<Result<Vec<_>>>()?;
        Ok(Expr::Func {
            func: ScalarFunc::Extreme { greatest },
            args,
            data_type: t,
        })
    }

    fn bind_function(&mut self, f: &ast::Function, span: Span) -> Result<Expr> {
        if f.null_treatment.is_some() && f.over.is_none() {
            return Err(self.unsupported(span, "IGNORE NULLS outside a window function"));
        }
        if !matches!(f.parameters, ast::FunctionArguments::None) {
            return Err(self.unsupported(span, "parametric functions"));
        }
        let name = f.name.to_string().to_ascii_lowercase();
        if let Some(now) = self.bind_now(&name, f) {
            return Ok(now);
        }
        if let Some(today) = self.bind_today(&name, f) {
            return Ok(today);
        }
        let list = match &f.args {
            ast::FunctionArguments::List(l) => l,
            ast::FunctionArguments::None => {
                return Err(self.unsupported(span, format!("function {name} without parentheses")))
            }
            ast::FunctionArguments::Subquery(_) => return Err(self.unsupported(span, "subqueries")),
        };
        if !list.clauses.is_empty() && f.over.is_none() {
            self.aggregate_order(&name, list, span)?;
        }
        let distinct = matches!(
            list.duplicate_treatment,
            Some(ast::DuplicateTreatment::Distinct)
        );
        // The dialect parses `f(a = 1)` as a named argument; it is a comparison.
        let compares: Vec<Option<ast::Expr>> = list.args.iter().map(functions::named_eq).collect();
        let mut args: Vec<&ast::Expr> = Vec::new();
        let mut star = false;
        for (a, cmp) in list.args.iter().zip(&compares) {
            match a {
                _ if cmp.is_some() => args.extend(cmp.as_ref()),
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => args.push(e),
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
                _ => return Err(self.unsupported(span, "named or qualified-wildcard arguments")),
            }
        }
        if !f.within_group.is_empty() {
            return self.bind_within_group(f, &name, &args, span);
        }
        if f.over.is_some() {
            // No unnest inside a window call.
            let saved = std::mem::replace(&mut self.unnest_allowed, false);
            let r = self.bind_window(f, &name, &args, star, distinct, span);
            self.unnest_allowed = saved;
            return r;
        }
        if name == "unnest" {
            return self.bind_unnest(&args, span);
        }
        if name == "greatest" || name == "least" {
            return self.bind_extreme(name == "greatest", &args, span);
        }
        if name == "format" || name == "printf" {
            return self.bind_format(name == "printf", &args, span);
        }
        if let Some(case) = null_function_case(&name, &args) {
            return self.bind_expr(&case.map_err(|m| self.err(span, m))?);
        }
        if name == "histogram" {
            return Err(self.unsupported(
                span,
                "histogram returns a MAP; use SELECT x, count(*) ... GROUP BY x",
            ));
        }
        let agg = match name.as_str() {
            // ClickHouse's count() counts rows; so does DuckDB's.
            "count" if args.is_empty() && !distinct => Some(AggFunc::CountStar),
            // ClickHouse: uniqExact(x) = count(DISTINCT x).
            "uniqexact" => Some(AggFunc::Count),
            "count" => Some(if star {
                AggFunc::CountStar
            } else {
                AggFunc::Count
            }),
            "count_star" => Some(AggFunc::CountStar),
            "sum" => Some(AggFunc::Sum),
            "avg" | "mean" => Some(AggFunc::Avg),
            "min" => Some(AggFunc::Min),
            "max" => Some(AggFunc::Max),
            "any_value" => Some(AggFunc::AnyValue),
            "first" | "arbitrary" => Some(AggFunc::First),
            _ => None,
        };
        let before = self.aggs.len();
        if let Some(func) = agg {
            let distinct = distinct || name == "uniqexact";
            let e = self.bind_aggregate(func, distinct, star, &args, span)?;
            return self.attach_filter(e, f.filter.as_deref(), before);
        }
        if let Some(e) = self.bind_aggregate2(&name, distinct, &args, span)? {
            return self.attach_filter(e, f.filter.as_deref(), before);
        }
        if let Some(e) = self.bind_statistic(&name, distinct, &args, span)? {
            return self.attach_filter(e, f.filter.as_deref(), before);
        }
        if let Some(flt) = &f.filter {
            return Err(self.err(
                flt.span(),
                format!("FILTER is only allowed on aggregates, not {name}"),
            ));
        }
        if star {
            return Err(self.err(span, format!("{name}(*) is not a function call")));
        }
        if distinct {
            return Err(self.err(
                span,
                format!("DISTINCT is only allowed in aggregates, not {name}"),
            ));
        }
        if let Some(e) = self.bind_list_function(&name, &args, span)? {
            return Ok(e);
        }
        if let Some(e) = self.bind_date_function(&name, &args, span)? {
            return Ok(e);
        }
        if let Some(e) = self.bind_interval_function(&name, &args, span)? {
            return Ok(e);
        }
        let arity = |n: usize| -> Result<()> {
            if args.len() == n {
                Ok(())
            } else {
                Err(self.err(
                    span,
                    format!("{name} takes {n} argument(s), got {}", args.len()),
                ))
            }
        };
        match name.as_str() {
            "date_trunc" | "datetrunc" => {
                arity(2)?;
                let Some(unit) = self.date_field_arg(args[0], "date_trunc unit")? else {
                    // The unit read per row.
                    return self.date_dynamic(ScalarFunc::DateTruncDynamic, &args, span);
                };
                let x = self.bind_expr(args[1])?;
                if x.data_type() == DataType::Interval {
                    return self.interval_trunc(&unit, x, args[0].span());
                }
                let unit = TruncUnit::from_name(&unit).ok_or_else(|| {
                    self.err(
                        args[0].span(),
                        format!("Conversion Error: extract specifier \"{unit}\" not recognized"),
                    )
                })?;
                let out = Self::timestamp_result(x.data_type());
                let ts = self.expect_timestamp(x, args[1].span(), "date_trunc")?;
                Ok(Expr::Func {
                    func: ScalarFunc::DateTrunc(unit),
                    args: vec![ts],
                    data_type: out,
                })
            }
            "date_diff" | "datediff" => {
                arity(3)?;
                let unit = self.string_arg(args[0], "date_diff unit")?;
                let unit = match unit.to_ascii_lowercase().as_str() {
                    "microsecond" | "microseconds" | "us" | "usec" => DiffUnit::Microsecond,
                    "millisecond" | "milliseconds" | "ms" | "msec" => DiffUnit::Millisecond,
                    "second" | "seconds" | "s" | "sec" | "secs" => DiffUnit::Second,
                    "minute" | "minutes" | "m" | "min" | "mins" => DiffUnit::Minute,
                    "hour" | "hours" | "h" | "hr" | "hrs" => DiffUnit::Hour,
                    "day" | "days" | "d" => DiffUnit::Day,
                    "week" | "weeks" | "w" => DiffUnit::Week,
                    "month" | "months" | "mon" => DiffUnit::Month,
                    "quarter" | "quarters" => DiffUnit::Quarter,
                    "year" | "years" | "y" | "yr" | "yrs" => DiffUnit::Year,
                    other => {
                        return Err(
                            self.unsupported(args[0].span(), format!("date_diff unit '{other}'"))
                        )
                    }
                };
                let mut ts = Vec::with_capacity(2);
                for a in &args[1..] {
                    let e = self.bind_expr(a)?;
                    ts.push(self.expect_timestamp(e, a.span(), "date_diff")?);
                }
                Ok(Expr::Func {
                    func: ScalarFunc::DateDiff(unit),
                    args: ts,
                    data_type: DataType::BigInt,
                })
            }
            "time_bucket" => self.bind_time_bucket(&args, span),
            "tostartofsecond" | "tostartofminute" | "tostartofhour" | "tostartofday" => {
                arity(1)?;
                let unit = match name.as_str() {
                    "tostartofsecond" => TruncUnit::Second,
                    "tostartofminute" => TruncUnit::Minute,
                    "tostartofhour" => TruncUnit::Hour,
                    _ => TruncUnit::Day,
                };
                let ts = self.bind_expr(args[0])?;
                let ts = self.expect_timestamp(ts, args[0].span(), &name)?;
                Ok(Expr::Func {
                    func: ScalarFunc::DateTrunc(unit),
                    args: vec![ts],
                    data_type: DataType::Timestamp,
                })
            }
            "year" | "month" | "day" | "hour" | "minute" | "second" | "dayofweek" | "dow"
            | "isodow" | "dayofyear" | "week" | "weekofyear" | "quarter" | "century" | "decade"
            | "millennium" | "millisecond" | "microsecond" | "nanosecond" | "epoch_ms"
            | "epoch_us" | "epoch_ns" | "epoch" | "isoyear" | "yearweek" | "era" | "weekday"
            | "dayofmonth" | "julian" | "timezone" | "timezone_hour" | "timezone_minute" => {
                arity(1)?;
                let ts = self.bind_expr(args[0])?;
                if ts.data_type() == DataType::Interval {
                    return self.interval_part(&name, ts, span);
                }
                let part = match name.as_str() {
                    "nanosecond" => Some(DatePart::Nanosecond),
                    "epoch_ms" => Some(DatePart::EpochMs),
                    "epoch_us" => Some(DatePart::EpochUs),
                    "epoch_ns" => Some(DatePart::EpochNs),
                    other => DatePart::from_name(other),
                };
                let part = part.ok_or_else(|| {
                    self.unsupported(span, format!("function {name} of a {}", ts.data_type()))
                })?;
                self.date_part_call(part, ts, args[0].span(), &name)
            }
            "date_part" | "datepart" => {
                arity(2)?;
                let Some(p) = self.date_field_arg(args[0], "date_part field")? else {
                    // The field read per row.
                    let x = self.bind_expr(args[1])?;
                    if x.data_type() == DataType::Interval {
                        return Err(self.unsupported(
                            args[0].span(),
                            "date_part of an INTERVAL with a field other than a constant",
                        ));
                    }
                    let of_date = x.data_type() == DataType::Date;
                    return self.date_dynamic(ScalarFunc::DatePartDynamic(of_date), &args, span);
                };
                let x = self.bind_expr(args[1])?;
                if x.data_type() == DataType::Interval {
                    return self.interval_part(&p, x, args[0].span());
                }
                let part = DatePart::from_name(&p).ok_or_else(|| {
                    self.err(
                        args[0].span(),
                        format!("Conversion Error: extract specifier \"{p}\" not recognized"),
                    )
                })?;
                self.date_part_call(part, x, args[1].span(), "date_part")
            }
            "lower" | "lcase" | "upper" | "ucase" | "length" | "len" | "char_length" => {
                arity(1)?;
                let x = self.bind_expr(args[0])?;
                let x = if x.data_type() == DataType::Varchar || is_null_literal(&x) {
                    self.coerce_to(x, DataType::Varchar, args[0].span())
                        .unwrap_or(Expr::literal(Value::Null, DataType::Varchar))
                } else {
                    return Err(self.err(
                        args[0].span(),
                        format!("{name} needs a VARCHAR argument, not {}", x.data_type()),
                    ));
                };
                let (func, t) = match name.as_str() {
                    "lower" | "lcase" => (ScalarFunc::Lower, DataType::Varchar),
                    "upper" | "ucase" => (ScalarFunc::Upper, DataType::Varchar),
                    _ => (ScalarFunc::Length, DataType::BigInt),
                };
                Ok(Expr::Func {
                    func,
                    args: vec![x],
                    data_type: t,
                })
            }
            _ => match self.bind_scalar2(&name, &args, span)? {
                Some(e) => Ok(e),
                None => Err(self.unsupported(f.name.span(), format!("function {name}"))),
            },
        }
    }

    fn string_arg(&self, e: &ast::Expr, what: &str) -> Result<String> {
        match e {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => Ok(s.clone()),
                _ => Err(self.err(e.span(), format!("{what} must be a quoted string"))),
            },
            _ => Err(self.unsupported(e.span(), format!("{what} other than a string literal"))),
        }
    }

    /// A pattern operand (LIKE, regular expressions): its text when it binds to a
    /// string literal, `None` for a NULL literal (the match is then NULL), else a
    /// positioned "not supported yet" naming `what`.
    fn pattern_literal(&mut self, e: &ast::Expr, what: &str) -> Result<Option<Arc<str>>> {
        match self.bind_expr(e)? {
            Expr::Literal {
                value: Value::Str(s),
                ..
            } => Ok(Some(s)),
            Expr::Literal {
                value: Value::Null, ..
            } => Ok(None),
            _ => Err(self.unsupported(e.span(), format!("{what} other than a string literal"))),
        }
    }

    fn bind_aggregate(
        &mut self,
        func: AggFunc,
        distinct: bool,
        star: bool,
        args: &[&ast::Expr],
        span: Span,
    ) -> Result<Expr> {
        self.check_aggregates_allowed(span)?;
        let agg = if func == AggFunc::CountStar {
            if !args.is_empty() || distinct {
                return Err(self.err(span, "count(*) takes no other arguments"));
            }
            AggExpr {
                func,
                arg: None,
                distinct: false,
                data_type: DataType::BigInt,
                arg2: None,
                filter: None,
                quantile: 0.0,
            }
        } else {
            if star || args.len() != 1 {
                return Err(self.err(span, "this aggregate takes exactly one argument"));
            }
            if distinct
                && !matches!(
                    func,
                    AggFunc::Count
                        | AggFunc::Min
                        | AggFunc::Max
                        | AggFunc::AnyValue
                        | AggFunc::First
                )
            {
                return Err(self.unsupported(span, "DISTINCT in aggregates other than count"));
            }
            // No nested aggregates, and no window calls in the argument.
            let in_aggregate = self.win.in_aggregate;
            self.allow_aggs = false;
            self.win.in_aggregate = true;
            let r = self.bind_expr(args[0]);
            self.allow_aggs = true;
            self.win.in_aggregate = in_aggregate;
            let x = r.map_err(|e| match e {
                Error::InvalidInput(m) if m.contains("aggregate functions are not allowed") => {
                    self.err(args[0].span(), "aggregate calls cannot be nested")
                }
                other => other,
            })?;
            let (x, data_type) = self.agg_result(func, x, args[0].span())?;
            AggExpr {
                func,
                arg: Some(x),
                distinct: distinct && func == AggFunc::Count,
                data_type,
                arg2: None,
                filter: None,
                quantile: 0.0,
            }
        };
        self.register_agg(agg, span)
    }

    /// The argument (a NULL literal typed) and result type of `count`, `sum`,
    /// `avg`, `min` or `max` of `x`.
    fn agg_result(&self, func: AggFunc, mut x: Expr, span: Span) -> Result<(Expr, DataType)> {
        let at = x.data_type();
        let data_type = match func {
            AggFunc::Count | AggFunc::CountStar => DataType::BigInt,
            AggFunc::Sum | AggFunc::Avg => {
                if is_null_literal(&x) {
                    x = Expr::literal(Value::Null, DataType::Integer);
                } else if func == AggFunc::Sum && at == DataType::Boolean {
                    // DuckDB sums BOOLEANs as the count of TRUEs (a HUGEINT).
                    x = self.cast(x, DataType::Integer, span)?;
                    return Ok((x, DataType::HugeInt));
                } else if let (Some((_, scale)), AggFunc::Sum) = (at.decimal(), func) {
                    let t = DataType::Decimal {
                        precision: crate::decimal::MAX_WIDTH,
                        scale,
                    };
                    return Ok((x, t));
                } else if is_decimal(at) {
                    // avg of a DECIMAL is a DOUBLE (DuckDB).
                    x = self.coerce_to(x, DataType::Double, span)?;
                } else if !is_numeric(at) {
                    return Err(self.err(
                        span,
                        format!("{} needs a numeric argument, not {at}", func.name()),
                    ));
                }
                if func == AggFunc::Avg || at == DataType::Double {
                    DataType::Double
                } else if at.is_held_narrower() {
                    // DuckDB sums every integer type as HUGEINT; logdb sums the
                    // narrower ones as BIGINT (the same numbers, within 64 bits).
                    DataType::HugeInt
                } else {
                    DataType::BigInt
                }
            }
            _ => at,
        };
        Ok((x, data_type))
    }

    /// Refuses an aggregate call where none may stand (WHERE, GROUP BY, inside
    /// another aggregate's argument).
    fn check_aggregates_allowed(&self, span: Span) -> Result<()> {
        if self.allow_aggs {
            return Ok(());
        }
        Err(self.err(
            span,
            "aggregate functions are not allowed in WHERE or GROUP BY",
        ))
    }

    /// Adds an aggregate call (once) and returns the column standing for it.
    /// An aggregate over the enclosing query's columns only belongs to that
    /// query (DuckDB), which is not supported yet.
    fn register_agg(&mut self, agg: AggExpr, span: Span) -> Result<Expr> {
        let args = [&agg.arg, &agg.arg2].into_iter().flatten();
        let (mut outer, mut own) = (false, false);
        for a in args {
            a.visit(&mut |x| match x {
                Expr::Param { .. } => outer = true,
                Expr::Column { .. } => own = true,
                _ => {}
            });
        }
        if outer && !own {
            return Err(self.unsupported(
                span,
                "an aggregate of the enclosing query's columns inside a subquery",
            ));
        }
        let j = match self.aggs.iter().position(|a| *a == agg) {
            Some(j) => j,
            None => {
                self.aggs.push(agg.clone());
                self.aggs.len() - 1
            }
        };
        Ok(Expr::Column {
            index: AGG_MARK + j,
            name: format!("agg{j}"),
            data_type: agg.data_type,
        })
    }
}

fn contains_win_mark(e: &Expr) -> bool {
    e.exists(&mut |x| matches!(x, Expr::Column { index, .. } if *index >= WIN_MARK))
}

fn contains_agg_mark(e: &Expr) -> bool {
    e.exists(&mut |x| matches!(x, Expr::Column { index, .. } if *index >= AGG_MARK))
}

/// Whether `e` is a number literal with a decimal point and no exponent (a
/// DECIMAL, or a DOUBLE when logdb's DECIMAL cannot hold it).
fn is_decimal_literal(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Value(v) => matches!(&v.value, ast::Value::Number(n, _)
            if n.contains('.') && !n.contains(['e', 'E'])),
        ast::Expr::UnaryOp { expr, .. } | ast::Expr::Nested(expr) => is_decimal_literal(expr),
        _ => false,
    }
}

/// The digits of a decimal number literal without exponent (`1.5`, `-0.25`), as
/// DuckDB reads it into an exact DECIMAL; `None` for any other expression.
pub(crate) fn decimal_literal_text(e: &ast::Expr) -> Option<String> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) if n.contains('.') && !n.contains(['e', 'E']) => {
                Some(n.replace('_', ""))
            }
            _ => None,
        },
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => decimal_literal_text(expr).map(|t| format!("-{t}")),
        ast::Expr::Nested(expr) => decimal_literal_text(expr),
        _ => None,
    }
}

/// Whether `e` is the number literal spelled `text`.
fn is_number_literal(e: &ast::Expr, text: &str) -> bool {
    matches!(e, ast::Expr::Value(v) if matches!(&v.value, ast::Value::Number(n, _) if n == text))
}

fn ordinal(e: &ast::Expr) -> Option<usize> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n.parse::<usize>().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// The output column name of an unaliased select item.
fn output_name(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Identifier(id) => id.value.clone(),
        ast::Expr::CompoundIdentifier(parts) => {
            parts.last().map(|p| p.value.clone()).unwrap_or_default()
        }
        // `ip <<= '10.0.0.0/8'`, not sqlparser's `OPERATOR(<<=)` spelling.
        other => super::frame_exclude::unmark(
            &other
                .to_string()
                .replace("OPERATOR(<<=)", "<<=")
                .replace("OPERATOR(>>=)", ">>="),
        ),
    }
}

pub(crate) fn is_null_literal(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Literal {
            value: Value::Null,
            ..
        }
    )
}

pub(crate) fn is_int(t: DataType) -> bool {
    t.is_integer()
}

pub(crate) fn is_numeric(t: DataType) -> bool {
    is_int(t) || t == DataType::Double
}

/// A number of any kind: an integer, DOUBLE or DECIMAL.
pub(crate) fn is_number(t: DataType) -> bool {
    is_numeric(t) || is_decimal(t)
}

/// The byte width class of an integer type (1: 8 bits ... 5: 128 bits).
fn int_rank(t: DataType) -> u8 {
    use DataType as D;
    match t {
        D::TinyInt | D::UTinyInt => 1,
        D::SmallInt | D::USmallInt => 2,
        D::Integer | D::UInteger => 3,
        D::BigInt | D::UBigInt => 4,
        D::HugeInt | D::UHugeInt => 5,
        _ => 0,
    }
}

/// The signed integer type one width class above unsigned `t` (UTINYINT ->
/// SMALLINT, ..., UBIGINT -> HUGEINT), which holds all of `t`'s values.
fn signed_above(t: DataType) -> DataType {
    match int_rank(t) {
        1 => DataType::SmallInt,
        2 => DataType::Integer,
        3 => DataType::BigInt,
        _ => DataType::HugeInt,
    }
}

/// The type two integer types compare and unite in (CASE, UNION, IN): the wider
/// one when they have the same signedness, else the narrowest signed type holding
/// both (DuckDB's rules; UHUGEINT with a signed type is HUGEINT here, which holds
/// every UHUGEINT value this build can represent).
fn common_int(a: DataType, b: DataType) -> DataType {
    if a.is_unsigned() == b.is_unsigned() {
        return if int_rank(a) >= int_rank(b) { a } else { b };
    }
    let (s, u) = if a.is_unsigned() { (b, a) } else { (a, b) };
    if int_rank(s) > int_rank(u) {
        s
    } else {
        signed_above(u)
    }
}

/// The type DuckDB computes `a + b` (and `-`, `*`, `//`, `%`) in for two integer
/// types: the wider one when they have the same signedness; with mixed signs the
/// signed one when it is wider, else BIGINT (HUGEINT beside UBIGINT, DOUBLE
/// beside UHUGEINT).
fn arith_int(a: DataType, b: DataType) -> DataType {
    if a.is_unsigned() == b.is_unsigned() {
        return if int_rank(a) >= int_rank(b) { a } else { b };
    }
    let (s, u) = if a.is_unsigned() { (b, a) } else { (a, b) };
    match u {
        _ if int_rank(s) > int_rank(u) => s,
        DataType::UHugeInt => DataType::Double,
        DataType::UBigInt => DataType::HugeInt,
        _ => DataType::BigInt,
    }
}

/// `coalesce(a, b, ...)` (`ifnull`: two arguments), `nullif(a, b)` and
/// `if(c, a, b)` as the CASE expressions they abbreviate (the
/// standard's definitions), or `None` for another function.
fn null_function_case(
    name: &str,
    args: &[&ast::Expr],
) -> Option<std::result::Result<ast::Expr, String>> {
    let when = |condition: ast::Expr, result: ast::Expr| ast::CaseWhen { condition, result };
    let case = |conditions: Vec<ast::CaseWhen>, else_result: ast::Expr| ast::Expr::Case {
        case_token: ast::helpers::attached_token::AttachedToken::empty(),
        end_token: ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions,
        else_result: Some(Box::new(else_result)),
    };
    let count_error = |want: &str| {
        Some(Err(format!(
            "{name} takes {want} arguments, {} given",
            args.len()
        )))
    };
    match name {
        "coalesce" | "ifnull" => {
            let two = name != "coalesce";
            if args.is_empty() || (two && args.len() != 2) {
                return count_error(if two { "2" } else { "1 or more" });
            }
            let (last, first) = args.split_last()?;
            let conditions = first
                .iter()
                .map(|a| when(ast::Expr::IsNotNull(Box::new((*a).clone())), (*a).clone()))
                .collect::<Vec<_>>();
            Some(Ok(if conditions.is_empty() {
                (*last).clone()
            } else {
                case(conditions, (*last).clone())
            }))
        }
        // DuckDB's and ClickHouse's `if(cond, a, b)`: NULL cond takes b.
        "if" => {
            let [c, a, b] = args else {
                return count_error("3");
            };
            // DuckDB casts the condition (`if(1, a, b)` is a).
            let cond = ast::Expr::Cast {
                kind: ast::CastKind::Cast,
                expr: Box::new((*c).clone()),
                data_type: ast::DataType::Boolean,
                format: None,
            };
            Some(Ok(case(vec![when(cond, (*a).clone())], (*b).clone())))
        }
        "nullif" => {
            let [a, b] = args else {
                return count_error("2");
            };
            let equal = ast::Expr::BinaryOp {
                left: Box::new((*a).clone()),
                op: ast::BinaryOperator::Eq,
                right: Box::new((*b).clone()),
            };
            let null = ast::Expr::Value(ast::Value::Null.into());
            Some(Ok(case(vec![when(equal, null)], (*a).clone())))
        }
        _ => None,
    }
}

/// An integer or DOUBLE literal as a literal of DECIMAL type `t`, when it converts
/// without rounding (`1.25` for DECIMAL(10,2), not `1.255`).
fn exact_decimal_literal(lit: &Expr, t: DataType) -> Option<Expr> {
    use crate::decimal;
    let (width, scale) = t.decimal()?;
    let Expr::Literal { value, data_type } = lit else {
        return None;
    };
    let v = match value {
        Value::Int(x) if is_int(*data_type) => decimal::from_int(*x, width, scale).ok()?,
        Value::Float(x) if *data_type == DataType::Double => {
            let v = decimal::from_f64(*x, width, scale).ok()?;
            // Below 2^53 the division is exact to the nearest double, so equality
            // means `x` is the number `v / 10^scale`.
            if v.unsigned_abs() >= 1 << 53 || decimal::to_f64(v, scale) != *x {
                return None;
            }
            v
        }
        _ => return None,
    };
    Some(Expr::literal(Value::Int(v), t))
}

/// The type both branches of a CASE can take.
fn common_type(a: DataType, b: DataType) -> Option<DataType> {
    if a == b {
        return Some(a);
    }
    if let Some(t) = common_time(a, b) {
        // DuckDB unites TIMESTAMP WITH TIME ZONE with TIMESTAMP and DATE as
        // TIMESTAMP WITH TIME ZONE (comparisons need no such cast: the instants
        // are the same, so the time column stays as stored).
        let tz = a == DataType::TimestampTz || b == DataType::TimestampTz;
        return Some(if tz && t == DataType::Timestamp {
            DataType::TimestampTz
        } else {
            t
        });
    }
    if is_number(a) && is_number(b) {
        return Some(if a == DataType::Double || b == DataType::Double {
            DataType::Double
        } else if let Some(t) = common_decimal(a, b) {
            t
        } else {
            common_int(a, b)
        });
    }
    None
}

/// The type a DATE and a TIMESTAMP kind, or two TIMESTAMP kinds, compare and unite
/// in: TIMESTAMP_NS beside a TIMESTAMP_NS (no nanoseconds lost), else TIMESTAMP.
/// `None` for other pairs.
fn common_time(a: DataType, b: DataType) -> Option<DataType> {
    let kind = |t: DataType| t == DataType::Date || t.is_timestamp();
    if a == b || !kind(a) || !kind(b) {
        return None;
    }
    Some(
        if a == DataType::TimestampNs || b == DataType::TimestampNs {
            DataType::TimestampNs
        } else {
            DataType::Timestamp
        },
    )
}

/// Whether the executor can cast `from` to `to` at run time.
pub(crate) fn castable(from: DataType, to: DataType) -> bool {
    use DataType as D;
    if from == to || to == D::Varchar {
        return true;
    }
    match from {
        D::Double | D::Decimal { .. } => is_number(to) || to == D::Boolean,
        t if t.is_integer() => is_number(to) || to == D::Boolean,
        D::Boolean => is_int(to) || to == D::Double || is_decimal(to),
        D::Varchar => true,
        t if t.is_timestamp() => to == D::Date || to == D::Time || to.is_timestamp(),
        D::Date => to.is_timestamp(),
        D::List(e) => matches!(to, D::List(t) if castable(*e, *t)),
        _ => false,
    }
}

/// Converts a literal to `to` as CAST would (DuckDB rules: doubles round half to even
/// from zero, out-of-range integers are errors).
pub(crate) fn cast_literal(
    v: &Value,
    from: DataType,
    to: DataType,
) -> std::result::Result<Value, String> {
    crate::value::cast_value(v, from, to)
}

/// Parses `5 minutes`, `1 hour 30 minutes`, `2 days`, `90 s` into microseconds.
pub(crate) fn parse_interval(text: &str) -> std::result::Result<i64, String> {
    let mut total: i64 = 0;
    let mut words = text.split_whitespace().peekable();
    if words.peek().is_none() {
        return Err(format!("invalid INTERVAL '{text}'"));
    }
    while let Some(num) = words.next() {
        // Allow "5minutes" by splitting digits from letters.
        let (n, unit) = match num.find(|c: char| c.is_ascii_alphabetic()) {
            Some(p) if p > 0 => (&num[..p], num[p..].to_string()),
            _ => (
                num,
                words
                    .next()
                    .ok_or_else(|| format!("invalid INTERVAL '{text}': missing unit"))?
                    .to_string(),
            ),
        };
        let n: f64 = n
            .parse()
            .map_err(|_| format!("invalid INTERVAL '{text}': '{n}' is not a number"))?;
        let per = match unit.to_ascii_lowercase().as_str() {
            "microsecond" | "microseconds" | "us" => 1,
            "millisecond" | "milliseconds" | "ms" => 1000,
            "second" | "seconds" | "sec" | "secs" | "s" => MICROS_PER_SECOND,
            "minute" | "minutes" | "min" | "mins" | "m" => MICROS_PER_MINUTE,
            "hour" | "hours" | "h" => MICROS_PER_HOUR,
            "day" | "days" | "d" => MICROS_PER_DAY,
            "week" | "weeks" | "w" => 7 * MICROS_PER_DAY,
            "month" | "months" | "year" | "years" => {
                return Err(format!(
                    "not supported yet: INTERVAL in months or years ('{text}')"
                ))
            }
            other => return Err(format!("invalid INTERVAL unit '{other}'")),
        };
        let micros = n * per as f64;
        if !micros.is_finite() || micros.abs() > 9.0e18 {
            return Err(format!("INTERVAL '{text}' is out of range"));
        }
        total = total
            .checked_add(micros.round() as i64)
            .ok_or_else(|| format!("INTERVAL '{text}' is out of range"))?;
    }
    Ok(total)
}
