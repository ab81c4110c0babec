//! The optimizer: filter pushdown (through projections, joins, unions and into
//! subqueries), column pruning (each scan decodes only what is used), the join
//! build side, and scan hints derived from each scan's filter: the time range that
//! prunes partitions and segments, the simple predicates that skip blocks by
//! their zone maps, and those that skip a Parquet read's row groups by their
//! statistics.
//!
//! Hints are conservative: the filter itself is always kept and re-evaluated, so a
//! hint only has to never exclude a row the filter would keep.

use super::logical::{
    AggExpr, AggFunc, BinaryOp, BuildSide, Expr, JoinKind, LogicalPlan, ScalarFunc, Subquery,
};
use super::table_function::TableFunc;
use super::window::{KeyIds, WindowExpr};
use crate::column::Value;
use crate::error::Result;
use crate::index::{Cmp, IndexPredicate, StatsPredicate, ZonePredicate};
use crate::schema::{DataType, TableSchema};
use crate::storage::Snapshot;

/// Optimizes a bound plan (and the plans of its subqueries).
pub fn optimize(plan: LogicalPlan, snapshot: &Snapshot) -> Result<LogicalPlan> {
    let mut plan = optimize_subqueries(plan, snapshot)?;
    super::compare_cast::integer_comparisons(&mut plan)?;
    super::interval_compare::micros_comparisons(&mut plan)?;
    plan = push_filters(plan);
    plan = distinct_as_aggregate(plan);
    plan = merge_projections(plan);
    let width = plan.schema().len();
    let (mut plan, _) = prune(plan, &vec![true; width], false);
    choose_build_sides(&mut plan, snapshot);
    refresh_scan_hints(&mut plan);
    Ok(plan)
}

fn optimize_subqueries(mut plan: LogicalPlan, snapshot: &Snapshot) -> Result<LogicalPlan> {
    if let LogicalPlan::Apply { subquery, .. } = &mut plan {
        subquery.plan = optimize(subquery.plan.take(), snapshot)?;
    }
    if !plan.has_subquery() && !has_apply(&plan) {
        return Ok(plan);
    }
    for e in plan.exprs_mut() {
        if !e.has_subquery() {
            continue;
        }
        e.transform_mut(&mut |x| match x {
            Expr::Subquery(mut s) => {
                s.plan = optimize(s.plan.take(), snapshot)?;
                Ok(Expr::Subquery(s))
            }
            other => Ok(other),
        })?;
    }
    plan.try_map_inputs(&mut |i| optimize_subqueries(i, snapshot))?;
    Ok(plan)
}

/// Whether `plan` holds a dependent join (whose subquery plan is optimized too).
fn has_apply(plan: &LogicalPlan) -> bool {
    matches!(plan, LogicalPlan::Apply { .. }) || plan.inputs().iter().any(|i| has_apply(i))
}

/// The column positions `e` reads.
fn columns_of(e: &Expr) -> Vec<usize> {
    let mut out = Vec::new();
    e.for_each_column(&mut |i| out.push(i));
    out
}

fn and_all(parts: Vec<Expr>) -> Option<Expr> {
    let mut it = parts.into_iter();
    let first = it.next()?;
    Some(it.fold(first, |acc, e| Expr::Binary {
        op: BinaryOp::And,
        left: Box::new(acc),
        right: Box::new(e),
        data_type: crate::schema::DataType::Boolean,
    }))
}

fn filter_over(plan: LogicalPlan, preds: Vec<Expr>) -> LogicalPlan {
    match and_all(preds) {
        Some(p) => LogicalPlan::Filter {
            input: Box::new(plan),
            predicate: p,
        },
        None => plan,
    }
}

/// Pushes every filter as close to its scan as the semantics allow.
fn push_filters(mut plan: LogicalPlan) -> LogicalPlan {
    plan.map_inputs(push_filters);
    match plan {
        LogicalPlan::Filter { input, predicate } => {
            let parts = Expr::conjuncts(&predicate).into_iter().cloned().collect();
            push_into(*input, parts)
        }
        LogicalPlan::Join {
            left,
            right,
            kind: kind @ (JoinKind::Left | JoinKind::Right),
            on,
            filter: Some(f),
            build,
        } => {
            // ON conjuncts of a LEFT JOIN that read only the right side filter the
            // right input (and the other way round for a RIGHT JOIN).
            let nl = left.schema().len();
            let (mut down, mut keep) = (Vec::new(), Vec::new());
            for c in Expr::conjuncts(&f) {
                let cols = columns_of(c);
                let inner_side = if kind == JoinKind::Left {
                    cols.iter().all(|&i| i >= nl)
                } else {
                    cols.iter().all(|&i| i < nl)
                };
                if !cols.is_empty() && inner_side {
                    let mut c = c.clone();
                    if kind == JoinKind::Left {
                        c.remap_columns(&|i| i - nl);
                    }
                    down.push(c);
                } else {
                    keep.push(c.clone());
                }
            }
            let (left, right) = if kind == JoinKind::Left {
                (left, Box::new(push_into(*right, down)))
            } else {
                (Box::new(push_into(*left, down)), right)
            };
            LogicalPlan::Join {
                left,
                right,
                kind,
                on,
                filter: and_all(keep),
                build,
            }
        }
        other => other,
    }
}

/// Places the conjuncts `preds` (over `plan`'s output) as deep as allowed; what
/// cannot go further becomes a filter. A filter that is already there keeps its
/// conjuncts first (they may guard the new ones, as in `x <> 0 AND 10 // x > 1`).
fn push_into(plan: LogicalPlan, preds: Vec<Expr>) -> LogicalPlan {
    if preds.is_empty() {
        return plan;
    }
    match plan {
        LogicalPlan::Filter { input, predicate } => {
            let mut all: Vec<Expr> = Expr::conjuncts(&predicate).into_iter().cloned().collect();
            all.extend(preds);
            filter_over(*input, all)
        }
        LogicalPlan::Join {
            left,
            right,
            kind,
            on,
            filter,
            build,
        } => {
            let nl = left.schema().len();
            let (mut lp, mut rp, mut keep) = (Vec::new(), Vec::new(), Vec::new());
            let (mut on, mut between) = (on, Vec::new());
            for p in preds {
                let cols = columns_of(&p);
                let all_left = cols.iter().all(|&i| i < nl);
                let all_right = !cols.is_empty() && cols.iter().all(|&i| i >= nl);
                match kind {
                    JoinKind::Semi | JoinKind::Anti => lp.push(p),
                    // A side whose rows may be padded with NULLs is filtered
                    // above the join, never below it.
                    _ if all_left && !kind.keeps_right() => lp.push(p),
                    _ if all_right && !kind.keeps_left() => {
                        let mut p = p;
                        p.remap_columns(&|i| i - nl);
                        rp.push(p);
                    }
                    JoinKind::Inner => match join_key(&p, nl) {
                        Some(key) => on.push(key),
                        None => between.push(p),
                    },
                    _ => keep.push(p),
                }
            }
            // An inner join evaluates the conditions between its sides itself:
            // equalities become hash keys (a cross join with one becomes a hash
            // join), the rest its filter over the pairs.
            let filter = match (filter, and_all(between)) {
                (Some(f), Some(b)) => and_all(vec![f, b]),
                (f, b) => f.or(b),
            };
            let j = LogicalPlan::Join {
                left: Box::new(push_into(*left, lp)),
                right: Box::new(push_into(*right, rp)),
                kind,
                on,
                filter,
                build,
            };
            filter_over(j, keep)
        }
        LogicalPlan::Project { input, exprs } => {
            let inner: Vec<Expr> = preds
                .into_iter()
                .map(|p| {
                    p.transform(&mut |e| match e {
                        Expr::Column { index, .. } => Ok(exprs[index].0.clone()),
                        other => Ok(other),
                    })
                })
                .collect::<Result<_>>()
                .unwrap_or_default();
            LogicalPlan::Project {
                input: Box::new(push_into(*input, inner)),
                exprs,
            }
        }
        LogicalPlan::Sort { input, keys, fetch } if fetch.is_none() => LogicalPlan::Sort {
            input: Box::new(push_into(*input, preds)),
            keys,
            fetch,
        },
        LogicalPlan::Distinct { input } => LogicalPlan::Distinct {
            input: Box::new(push_into(*input, preds)),
        },
        LogicalPlan::Window { input, windows } => {
            // A conjunct reading only columns that every window expression
            // partitions by removes whole partitions: it may run first. Any other
            // would change what the windows see.
            let keys = |i: usize| {
                windows.iter().all(|(w, _)| {
                    w.partition_by
                        .iter()
                        .any(|p| matches!(p, Expr::Column { index, .. } if *index == i))
                })
            };
            let (down, keep): (Vec<Expr>, Vec<Expr>) = preds.into_iter().partition(|p| {
                let cols = columns_of(p);
                !cols.is_empty() && cols.iter().all(|&i| keys(i))
            });
            let w = LogicalPlan::Window {
                input: Box::new(push_into(*input, down)),
                windows,
            };
            filter_over(w, keep)
        }
        LogicalPlan::Union { inputs } => LogicalPlan::Union {
            inputs: inputs
                .into_iter()
                .map(|i| push_into(i, preds.clone()))
                .collect(),
        },
        other => filter_over(other, preds),
    }
}

/// `a = b` with `a` reading only the left side (the first `nl` columns) and `b`
/// only the right, or the other way round, as a join key (right side renumbered).
fn join_key(e: &Expr, nl: usize) -> Option<(Expr, Expr)> {
    let Expr::Binary {
        op: BinaryOp::Eq,
        left: a,
        right: b,
        ..
    } = e
    else {
        return None;
    };
    if a.data_type() != b.data_type() || a.has_subquery() || b.has_subquery() {
        return None;
    }
    let side = |x: &Expr| {
        let cols = columns_of(x);
        if cols.is_empty() {
            None
        } else if cols.iter().all(|&i| i < nl) {
            Some(true)
        } else if cols.iter().all(|&i| i >= nl) {
            Some(false)
        } else {
            None
        }
    };
    let (l, mut r) = match (side(a), side(b)) {
        (Some(true), Some(false)) => ((**a).clone(), (**b).clone()),
        (Some(false), Some(true)) => ((**b).clone(), (**a).clone()),
        _ => return None,
    };
    r.remap_columns(&|i| i - nl);
    Some((l, r))
}

/// `e` with its column references replaced by the projection's expressions.
fn substitute(e: Expr, exprs: &[(Expr, String)]) -> Expr {
    let mut f = |x: Expr| -> Result<Expr> {
        Ok(match x {
            Expr::Column { index, .. } if index < exprs.len() => exprs[index].0.clone(),
            other => other,
        })
    };
    match e.clone().transform(&mut f) {
        Ok(x) => x,
        Err(_) => e,
    }
}

/// Folds a projection into the projection or aggregate above it, so that an
/// aggregate over a subquery on one table still runs in the fused scan pipeline.
/// DISTINCT is a GROUP BY of every column without aggregates: it runs as one
/// (in the scan pipeline when its input is a scan, with its memory counted like
/// any group table) instead of a set of materialized rows.
fn distinct_as_aggregate(mut plan: LogicalPlan) -> LogicalPlan {
    plan.map_inputs(distinct_as_aggregate);
    match plan {
        LogicalPlan::Distinct { input } => LogicalPlan::Aggregate {
            group: Expr::columns(&input.schema()),
            aggs: Vec::new(),
            input,
        },
        other => other,
    }
}

fn merge_projections(mut plan: LogicalPlan) -> LogicalPlan {
    plan.map_inputs(merge_projections);
    match plan {
        LogicalPlan::Project { input, exprs } => match *input {
            LogicalPlan::Project {
                input: inner,
                exprs: inner_exprs,
            } => LogicalPlan::Project {
                input: inner,
                exprs: exprs
                    .into_iter()
                    .map(|(e, n)| (substitute(e, &inner_exprs), n))
                    .collect(),
            },
            other => LogicalPlan::Project {
                input: Box::new(other),
                exprs,
            },
        },
        LogicalPlan::Aggregate { input, group, aggs } => match *input {
            LogicalPlan::Project {
                input: inner,
                exprs: inner_exprs,
            } => LogicalPlan::Aggregate {
                input: inner,
                group: group
                    .into_iter()
                    .map(|(e, n)| (substitute(e, &inner_exprs), n))
                    .collect(),
                aggs: aggs
                    .into_iter()
                    .map(|(mut a, n)| {
                        for e in [&mut a.arg, &mut a.arg2, &mut a.filter]
                            .into_iter()
                            .flatten()
                        {
                            *e = substitute(e.clone(), &inner_exprs);
                        }
                        (a, n)
                    })
                    .collect(),
            },
            other => LogicalPlan::Aggregate {
                input: Box::new(other),
                group,
                aggs,
            },
        },
        other => other,
    }
}

/// Whether `plan` is `Filter* -> Scan` (run by the fused scan pipeline).
fn is_scan_chain(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Scan { .. } => true,
        LogicalPlan::Filter { input, .. } => is_scan_chain(input),
        _ => false,
    }
}

/// Drops the output columns of `plan` that `req` does not mark, recursively, and
/// returns the new plan with the map from old to new output positions
/// (`usize::MAX` = dropped). `allow_empty`: the consumer is fused with the scan
/// and can take zero columns; materialized batches need at least one.
/// A window's input with each VARCHAR column that nothing but whole partition
/// keys read (`read_above`: the columns the plan above the window reads)
/// replaced by `key_id(column)`, a BIGINT numbering of its values shared by the
/// whole query, and those keys retyped. Partitions stay the same (the numbering
/// is one-to-one, NULL stays NULL); the window partitions by integers, and the
/// scan numbers a dictionary-encoded column once per dictionary entry instead of
/// handing every row's string up. Only over a scan, where the dictionaries are.
fn number_partition_keys(
    input: LogicalPlan,
    windows: &mut [(WindowExpr, String)],
    read_above: &[bool],
) -> LogicalPlan {
    let over_scan = match &input {
        LogicalPlan::Project { input, .. } => is_scan_chain(input),
        other => is_scan_chain(other),
    };
    let schema = input.schema();
    let numbered: Vec<usize> = (0..schema.len())
        .filter(|&p| {
            over_scan
                && !read_above[p]
                && schema[p].1 == DataType::Varchar
                && only_partition_key(windows, p)
        })
        .collect();
    if numbered.is_empty() {
        return input;
    }
    let (below, mut exprs) = match input {
        LogicalPlan::Project { input, exprs } => (*input, exprs),
        other => (other, plain_columns(&schema, 0..schema.len())),
    };
    for &p in &numbered {
        let placeholder = Expr::Literal {
            value: Value::Null,
            data_type: DataType::Varchar,
        };
        let e = std::mem::replace(&mut exprs[p].0, placeholder);
        exprs[p].0 = Expr::Func {
            func: ScalarFunc::KeyId(KeyIds::default()),
            args: vec![e],
            data_type: DataType::BigInt,
        };
        for (w, _) in windows.iter_mut() {
            for k in &mut w.partition_by {
                if let Expr::Column {
                    index, data_type, ..
                } = k
                {
                    if index == &p {
                        *data_type = DataType::BigInt;
                    }
                }
            }
        }
    }
    LogicalPlan::Project {
        input: Box::new(below),
        exprs,
    }
}

/// Projection items reading the columns `positions` of `schema` as they are.
fn plain_columns(
    schema: &[(String, DataType)],
    positions: impl Iterator<Item = usize>,
) -> Vec<(Expr, String)> {
    positions
        .map(|p| {
            let (name, data_type) = schema[p].clone();
            let e = Expr::Column {
                index: p,
                name: name.clone(),
                data_type,
            };
            (e, name)
        })
        .collect()
}

/// Whether the windows read input column `p` only as a whole partition key (and
/// at least once).
fn only_partition_key(windows: &[(WindowExpr, String)], p: usize) -> bool {
    let is_p = |e: &Expr| matches!(e, Expr::Column { index, .. } if *index == p);
    let mut as_key = false;
    for (w, _) in windows {
        let mut reads = false;
        let mut read = |e: &Expr| e.for_each_column(&mut |i| reads |= i == p);
        for k in &w.partition_by {
            if is_p(k) {
                as_key = true;
            } else {
                read(k);
            }
        }
        w.args.iter().for_each(&mut read);
        w.arg_order.iter().for_each(|k| read(&k.expr));
        w.order_by.iter().for_each(|k| read(&k.expr));
        w.filter.iter().for_each(&mut read);
        if reads {
            return false;
        }
    }
    as_key
}

fn prune(plan: LogicalPlan, req: &[bool], allow_empty: bool) -> (LogicalPlan, Vec<usize>) {
    let mark = |req: &mut Vec<bool>, e: &Expr| {
        e.for_each_column(&mut |i| {
            if let Some(r) = req.get_mut(i) {
                *r = true;
            }
        })
    };
    let remap = |e: &mut Expr, map: &[usize]| e.remap_columns(&|i| map[i]);
    let identity = |n: usize| (0..n).collect::<Vec<_>>();
    match plan {
        LogicalPlan::Scan {
            table,
            schema,
            columns,
            time_range,
            zone_predicates,
        } => {
            let mut keep: Vec<usize> = (0..columns.len()).filter(|&i| req[i]).collect();
            if keep.is_empty() && !allow_empty && !columns.is_empty() {
                keep.push(0);
            }
            let mut map = vec![usize::MAX; columns.len()];
            for (pos, &i) in keep.iter().enumerate() {
                map[i] = pos;
            }
            let plan = LogicalPlan::Scan {
                table,
                schema,
                columns: keep.iter().map(|&i| columns[i]).collect(),
                time_range,
                zone_predicates,
            };
            (plan, map)
        }
        LogicalPlan::Filter {
            input,
            mut predicate,
        } => {
            let mut r = req.to_vec();
            mark(&mut r, &predicate);
            let (input, map) = prune(*input, &r, allow_empty);
            remap(&mut predicate, &map);
            (
                LogicalPlan::Filter {
                    input: Box::new(input),
                    predicate,
                },
                map,
            )
        }
        LogicalPlan::Project { input, exprs } => {
            let mut keep: Vec<usize> = (0..exprs.len()).filter(|&i| req[i]).collect();
            if keep.is_empty() && !allow_empty && !exprs.is_empty() {
                keep.push(0);
            }
            let mut r = vec![false; input.schema().len()];
            for &i in &keep {
                mark(&mut r, &exprs[i].0);
            }
            let fused = is_scan_chain(&input);
            let (input, cmap) = prune(*input, &r, fused);
            let mut map = vec![usize::MAX; exprs.len()];
            let mut out = Vec::with_capacity(keep.len());
            for (pos, &i) in keep.iter().enumerate() {
                let (mut e, n) = exprs[i].clone();
                remap(&mut e, &cmap);
                out.push((e, n));
                map[i] = pos;
            }
            (
                LogicalPlan::Project {
                    input: Box::new(input),
                    exprs: out,
                },
                map,
            )
        }
        LogicalPlan::Aggregate {
            input,
            mut group,
            mut aggs,
        } => {
            let width = group.len() + aggs.len();
            let mut r = vec![false; input.schema().len()];
            for (g, _) in &group {
                mark(&mut r, g);
            }
            for (a, _) in &aggs {
                for e in [&a.arg, &a.arg2, &a.filter].into_iter().flatten() {
                    mark(&mut r, e);
                }
            }
            let fused = is_scan_chain(&input);
            let (input, cmap) = prune(*input, &r, fused);
            for (g, _) in &mut group {
                remap(g, &cmap);
            }
            for (a, _) in &mut aggs {
                for e in [&mut a.arg, &mut a.arg2, &mut a.filter]
                    .into_iter()
                    .flatten()
                {
                    remap(e, &cmap);
                }
            }
            (
                LogicalPlan::Aggregate {
                    input: Box::new(input),
                    group,
                    aggs,
                },
                identity(width),
            )
        }
        LogicalPlan::Sort {
            input,
            mut keys,
            fetch,
        } => {
            let mut r = req.to_vec();
            for k in &keys {
                mark(&mut r, &k.expr);
            }
            let (input, map) = prune(*input, &r, false);
            for k in &mut keys {
                remap(&mut k.expr, &map);
            }
            (
                LogicalPlan::Sort {
                    input: Box::new(input),
                    keys,
                    fetch,
                },
                map,
            )
        }
        LogicalPlan::Window { input, windows } => {
            let width = input.schema().len();
            let kept: Vec<usize> = (0..windows.len())
                .filter(|&j| req.get(width + j).copied().unwrap_or(false))
                .collect();
            let mut r: Vec<bool> = (0..width).map(|i| req[i]).collect();
            for &j in &kept {
                for e in windows[j].0.exprs() {
                    mark(&mut r, e);
                }
            }
            let (input, cmap) = prune(*input, &r, false);
            let new_width = input.schema().len();
            let mut map: Vec<usize> = cmap.clone();
            map.resize(width + windows.len(), usize::MAX);
            if kept.is_empty() {
                // No window column is read above: the node goes.
                return (input, map);
            }
            let mut out = Vec::with_capacity(kept.len());
            for (pos, &j) in kept.iter().enumerate() {
                let (mut w, n) = windows[j].clone();
                for e in w.exprs_mut() {
                    remap(e, &cmap);
                }
                out.push((w, n));
                map[width + j] = new_width + pos;
            }
            let mut read_above = vec![false; new_width];
            for i in (0..width).filter(|&i| req[i]) {
                if let Some(r) = read_above.get_mut(cmap[i]) {
                    *r = true;
                }
            }
            let input = number_partition_keys(input, &mut out, &read_above);
            let window = LogicalPlan::Window {
                input: Box::new(input),
                windows: out,
            };
            // Input columns only the windows read (their keys and arguments) end
            // here: a projection of plain columns drops them, so the operators
            // above neither carry nor copy them.
            if read_above.iter().all(|&r| r) {
                return (window, map);
            }
            let schema = window.schema();
            let keep: Vec<usize> = (0..new_width)
                .filter(|&p| read_above[p])
                .chain(new_width..schema.len())
                .collect();
            let mut moved = vec![usize::MAX; schema.len()];
            for (to, &from) in keep.iter().enumerate() {
                moved[from] = to;
            }
            let exprs = plain_columns(&schema, keep.iter().copied());
            let map = map
                .into_iter()
                .map(|m| moved.get(m).copied().unwrap_or(usize::MAX))
                .collect();
            (
                LogicalPlan::Project {
                    input: Box::new(window),
                    exprs,
                },
                map,
            )
        }
        LogicalPlan::Unnest { input, lists } => {
            // Every list stays (it decides how many rows there are).
            let width = input.schema().len();
            let mut r: Vec<bool> = (0..width).map(|i| req[i]).collect();
            for (e, _) in &lists {
                mark(&mut r, e);
            }
            let (input, cmap) = prune(*input, &r, false);
            let new_width = input.schema().len();
            let mut map = cmap.clone();
            map.extend((0..lists.len()).map(|j| new_width + j));
            let lists = lists
                .into_iter()
                .map(|(mut e, n)| {
                    remap(&mut e, &cmap);
                    (e, n)
                })
                .collect();
            (
                LogicalPlan::Unnest {
                    input: Box::new(input),
                    lists,
                },
                map,
            )
        }
        LogicalPlan::Limit { input, skip, fetch } => {
            let (input, map) = prune(*input, req, false);
            (
                LogicalPlan::Limit {
                    input: Box::new(input),
                    skip,
                    fetch,
                },
                map,
            )
        }
        LogicalPlan::Distinct { input } => {
            let width = input.schema().len();
            let (input, map) = prune(*input, &vec![true; width], false);
            (
                LogicalPlan::Distinct {
                    input: Box::new(input),
                },
                map,
            )
        }
        LogicalPlan::Join {
            left,
            right,
            kind,
            mut on,
            mut filter,
            build,
        } => {
            let nl = left.schema().len();
            let nr = right.schema().len();
            let outer_cols = kind.both_sides();
            let mut lr: Vec<bool> = (0..nl)
                .map(|i| req.get(i).copied().unwrap_or(false))
                .collect();
            let mut rr: Vec<bool> = (0..nr)
                .map(|i| outer_cols && req.get(nl + i).copied().unwrap_or(false))
                .collect();
            for (l, r) in &on {
                mark(&mut lr, l);
                mark(&mut rr, r);
            }
            if let Some(f) = &filter {
                f.for_each_column(&mut |i| {
                    if i < nl {
                        lr[i] = true;
                    } else if let Some(x) = rr.get_mut(i - nl) {
                        *x = true;
                    }
                });
            }
            let (left, lmap) = prune(*left, &lr, false);
            let (right, rmap) = prune(*right, &rr, false);
            let new_nl = left.schema().len();
            for (l, r) in &mut on {
                remap(l, &lmap);
                remap(r, &rmap);
            }
            let full = |i: usize| {
                if i < nl {
                    lmap[i]
                } else {
                    new_nl + rmap[i - nl]
                }
            };
            if let Some(f) = &mut filter {
                f.remap_columns(&full);
            }
            let width = if outer_cols { nl + nr } else { nl };
            let map = (0..width)
                .map(|i| {
                    let m = if i < nl { lmap[i] } else { rmap[i - nl] };
                    if m == usize::MAX {
                        usize::MAX
                    } else {
                        full(i)
                    }
                })
                .collect();
            (
                LogicalPlan::Join {
                    left: Box::new(left),
                    right: Box::new(right),
                    kind,
                    on,
                    filter,
                    build,
                },
                map,
            )
        }
        LogicalPlan::Union { inputs } => {
            let width = inputs.first().map_or(0, |i| i.schema().len());
            let inputs = inputs
                .into_iter()
                .map(|i| prune(i, &vec![true; width], false).0)
                .collect();
            (LogicalPlan::Union { inputs }, identity(width))
        }
        LogicalPlan::OneRow => (LogicalPlan::OneRow, vec![0]),
        LogicalPlan::TableFunction {
            func: TableFunc::ReadFile(mut read),
            mut columns,
        } => {
            // The file's columns nothing above uses are not decoded (Parquet) or
            // not built (line formats: every line is still parsed and checked, so
            // the rows and rejects do not depend on the columns asked for); at
            // least one is kept (batches need a column to count rows). `filename` and the
            // hive columns after them stay.
            let width = columns.len();
            let read_now: Vec<usize> = read
                .projection
                .clone()
                .unwrap_or_else(|| (0..read.columns.len()).collect());
            let n = read_now.len();
            let mut keep: Vec<usize> = (0..n).filter(|&i| req[i]).collect();
            if keep.is_empty() && n > 0 {
                keep.push(0);
            }
            let mut map = vec![usize::MAX; width];
            for (new, &old) in keep.iter().enumerate() {
                map[old] = new;
            }
            for (k, m) in map.iter_mut().enumerate().skip(n) {
                *m = keep.len() + (k - n);
            }
            if keep.len() < n {
                read.projection = Some(keep.iter().map(|&i| read_now[i]).collect());
                let rest = columns.split_off(n);
                columns = keep.iter().map(|&i| columns[i].clone()).collect();
                columns.extend(rest);
            }
            (
                LogicalPlan::TableFunction {
                    func: TableFunc::ReadFile(read),
                    columns,
                },
                map,
            )
        }
        v @ (LogicalPlan::Values { .. }
        | LogicalPlan::TableFunction { .. }
        | LogicalPlan::WorkTable { .. }) => {
            let width = v.schema().len();
            (v, identity(width))
        }
        LogicalPlan::Apply {
            input,
            mut subquery,
            lateral,
        } => {
            // The input's columns read above or by the subquery's values stay;
            // the subquery's own columns all stay.
            let width = input.schema().len();
            let total = width
                + match lateral {
                    Some(_) => subquery.plan.schema().len(),
                    None => 1,
                };
            let mut r: Vec<bool> = (0..width)
                .map(|i| req.get(i).copied().unwrap_or(true))
                .collect();
            let mut apply = LogicalPlan::Apply {
                input: Box::new(LogicalPlan::OneRow),
                subquery: Box::new(Subquery {
                    plan: LogicalPlan::OneRow,
                    kind: subquery.kind.clone(),
                    data_type: subquery.data_type,
                    correlated: std::mem::take(&mut subquery.correlated),
                }),
                lateral,
            };
            for e in apply.exprs() {
                mark(&mut r, e);
            }
            let (input, cmap) = prune(*input, &r, false);
            let new_width = input.schema().len();
            for e in apply.exprs_mut() {
                remap(e, &cmap);
            }
            if let LogicalPlan::Apply {
                input: slot,
                subquery: s,
                ..
            } = &mut apply
            {
                **slot = input;
                s.plan = subquery.plan.take();
            }
            let mut map = cmap;
            map.extend((0..total - width).map(|k| new_width + k));
            (apply, map)
        }
        // Every column of both parts feeds the next iteration: none is dropped.
        LogicalPlan::RecursiveCte {
            name,
            slot,
            anchor,
            step,
            distinct,
        } => {
            let width = anchor.schema().len();
            let anchor = Box::new(prune(*anchor, &vec![true; width], false).0);
            let step = Box::new(prune(*step, &vec![true; width], false).0);
            let cte = LogicalPlan::RecursiveCte {
                name,
                slot,
                anchor,
                step,
                distinct,
            };
            (cte, identity(width))
        }
    }
}

/// An estimate of the rows `plan` produces (for the join build side).
pub fn estimate_rows(plan: &LogicalPlan, snapshot: &Snapshot) -> u64 {
    match plan {
        LogicalPlan::Scan {
            table, time_range, ..
        } => {
            let (lo, hi) = time_range.unwrap_or((i64::MIN, i64::MAX));
            snapshot.table(table).map_or(0, |e| {
                e.partitions
                    .iter()
                    .flat_map(|p| &p.segments)
                    .filter(|s| time_range.is_none() || (s.max_ts >= lo && s.min_ts < hi))
                    .map(|s| s.rows)
                    .sum()
            })
        }
        LogicalPlan::Filter { input, .. }
        | LogicalPlan::Project { input, .. }
        | LogicalPlan::Sort { input, .. }
        | LogicalPlan::Window { input, .. }
        | LogicalPlan::Unnest { input, .. }
        | LogicalPlan::Distinct { input } => estimate_rows(input, snapshot),
        LogicalPlan::Aggregate { input, group, .. } => {
            if group.is_empty() {
                1
            } else {
                estimate_rows(input, snapshot)
            }
        }
        LogicalPlan::Limit { input, skip, fetch } => {
            let n = estimate_rows(input, snapshot);
            fetch.map_or(n, |f| n.min(f.saturating_add(*skip) as u64))
        }
        LogicalPlan::Join {
            left, right, kind, ..
        } => {
            let l = estimate_rows(left, snapshot);
            match kind {
                JoinKind::Semi | JoinKind::Anti => l,
                _ => l.max(estimate_rows(right, snapshot)),
            }
        }
        LogicalPlan::Union { inputs } => inputs.iter().map(|i| estimate_rows(i, snapshot)).sum(),
        LogicalPlan::OneRow => 1,
        LogicalPlan::Values { batches, .. } => batches.iter().map(|b| b.num_rows() as u64).sum(),
        LogicalPlan::TableFunction { func, .. } => func.rows(),
        LogicalPlan::RecursiveCte { anchor, .. } => estimate_rows(anchor, snapshot).max(1000),
        LogicalPlan::WorkTable { .. } => 1000,
        LogicalPlan::Apply { input, lateral, .. } => {
            let n = estimate_rows(input, snapshot);
            if lateral.is_some() {
                n.saturating_mul(10)
            } else {
                n
            }
        }
    }
}

/// Builds each inner/left join's hash table on its smaller input (semi and anti
/// joins always build on the subquery, the right side).
fn choose_build_sides(plan: &mut LogicalPlan, snapshot: &Snapshot) {
    if let LogicalPlan::Join {
        left,
        right,
        kind: JoinKind::Inner | JoinKind::Left | JoinKind::Right | JoinKind::Full,
        build,
        ..
    } = plan
    {
        *build = if estimate_rows(left, snapshot) < estimate_rows(right, snapshot) {
            BuildSide::Left
        } else {
            BuildSide::Right
        };
    }
    for i in plan.inputs_mut() {
        choose_build_sides(i, snapshot);
    }
}

/// Recomputes every scan's time range and zone predicates from the filter right
/// above it (after pushdown, pruning, or once subqueries became literals).
pub fn refresh_scan_hints(plan: &mut LogicalPlan) {
    match plan {
        LogicalPlan::Filter { input, predicate } => {
            if let LogicalPlan::Scan {
                schema,
                columns,
                time_range,
                zone_predicates,
                ..
            } = input.as_mut()
            {
                let mut p = predicate.clone();
                let cols = columns.clone();
                p.remap_columns(&|i| cols.get(i).copied().unwrap_or(usize::MAX));
                let (t, z) = scan_hints(&p, schema);
                *time_range = t;
                *zone_predicates = z;
                return;
            }
            if let LogicalPlan::TableFunction {
                func: TableFunc::ReadFile(read),
                ..
            } = input.as_mut()
            {
                if read.format == "parquet" {
                    read.stats_filter = stats_hints(predicate, read);
                }
                return;
            }
            refresh_scan_hints(input);
        }
        LogicalPlan::TableFunction {
            func: TableFunc::ReadFile(read),
            ..
        } => read.stats_filter.clear(),
        LogicalPlan::Scan {
            time_range,
            zone_predicates,
            ..
        } => {
            *time_range = None;
            zone_predicates.clear();
        }
        other => {
            for i in other.inputs_mut() {
                refresh_scan_hints(i);
            }
        }
    }
}

/// `column <op> literal` (either order) with a non-NULL literal, normalized so the
/// column is on the left.
fn column_vs_literal(e: &Expr) -> Option<(usize, BinaryOp, &Value)> {
    let Expr::Binary {
        op, left, right, ..
    } = e
    else {
        return None;
    };
    // Intervals compare normalized, which raw min/max statistics do not follow.
    if !op.is_comparison() || left.data_type() == DataType::Interval {
        return None;
    }
    match (left.as_ref(), right.as_ref()) {
        (Expr::Column { index, .. }, Expr::Literal { value, .. }) if *value != Value::Null => {
            Some((*index, *op, value))
        }
        (Expr::Literal { value, .. }, Expr::Column { index, .. }) if *value != Value::Null => {
            Some((*index, op.flip(), value))
        }
        _ => None,
    }
}

/// The time range `[start, end)` and the zone-map predicates implied by `predicate`
/// (bound against the table's columns).
pub fn scan_hints(
    predicate: &Expr,
    schema: &TableSchema,
) -> (Option<(i64, i64)>, Vec<ZonePredicate>) {
    let time_col = schema.time_index();
    let (mut lo, mut hi) = (i64::MIN, i64::MAX);
    let mut has_range = false;
    let mut zone = Vec::new();
    for c in Expr::conjuncts(predicate) {
        let Some((col, op, value)) = column_vs_literal(c) else {
            continue;
        };
        if Some(col) == time_col {
            if let Value::Int(v) = *value {
                let before = (lo, hi);
                match op {
                    BinaryOp::GtEq => lo = lo.max(v),
                    BinaryOp::Gt => lo = lo.max(v.saturating_add(1)),
                    BinaryOp::Lt => hi = hi.min(v),
                    BinaryOp::LtEq => hi = hi.min(v.saturating_add(1)),
                    BinaryOp::Eq => {
                        lo = lo.max(v);
                        hi = hi.min(v.saturating_add(1));
                    }
                    _ => {}
                }
                has_range |= (lo, hi) != before || op != BinaryOp::NotEq;
            }
        }
        if let Some(cmp) = index_cmp(op) {
            zone.push(ZonePredicate {
                column: col,
                cmp,
                value: value.clone(),
            });
        }
    }
    let range = if has_range {
        // An empty range is kept as is: it prunes everything.
        Some((lo, hi.max(lo)))
    } else {
        None
    };
    (range, zone)
}

/// The conjuncts of `predicate` (over the output of `read`, a Parquet read) that
/// row-group statistics can rule out: `column <cmp> literal` and `column IN
/// (literals)` on a file column, by its position in the file's columns.
fn stats_hints(predicate: &Expr, read: &super::table_function::FileRead) -> Vec<StatsPredicate> {
    let read_now = read
        .projection
        .as_ref()
        .map_or(read.columns.len(), Vec::len);
    // The output's first columns are the file's (as projected); `filename` and
    // the hive columns after them have no statistics.
    let file_column =
        |i: usize| (i < read_now).then(|| read.projection.as_ref().map_or(i, |p| p[i]));
    let mut out = Vec::new();
    for c in Expr::conjuncts(predicate) {
        if let Some((col, op, value)) = column_vs_literal(c) {
            if let (Some(column), Some(cmp)) = (file_column(col), index_cmp(op)) {
                out.push(StatsPredicate::Cmp {
                    column,
                    cmp,
                    value: value.clone(),
                });
            }
            continue;
        }
        if let Expr::InList {
            expr,
            list,
            negated: false,
            ..
        } = c
        {
            let Expr::Column { index, .. } = expr.as_ref() else {
                continue;
            };
            let values: Option<Vec<Value>> = list
                .iter()
                .map(|e| match e {
                    Expr::Literal { value, .. } if *value != Value::Null => Some(value.clone()),
                    _ => None,
                })
                .collect();
            if let (Some(column), Some(values)) = (file_column(*index), values) {
                out.push(StatsPredicate::In { column, values });
            }
        }
    }
    out
}

/// The index comparison of a comparison operator (`<>` and the other operators
/// have none).
pub fn index_cmp(op: BinaryOp) -> Option<Cmp> {
    Some(match op {
        BinaryOp::Eq => Cmp::Eq,
        BinaryOp::Lt => Cmp::Lt,
        BinaryOp::LtEq => Cmp::LtEq,
        BinaryOp::Gt => Cmp::Gt,
        BinaryOp::GtEq => Cmp::GtEq,
        _ => return None,
    })
}

/// How the scan can use one WHERE conjunct.
#[derive(Clone, Debug, PartialEq)]
pub enum ConjunctUse {
    /// Answered exactly by a bitmap index.
    Index(IndexPredicate),
    /// A comparison of the time column with a literal: exact for segments that lie
    /// wholly inside the scan's time range.
    Time,
    /// Needs the column data.
    Other,
}

/// Whether `e` is a column reference, seen through casts between integer types
/// (lossless widening), returning the scan column position.
fn plain_column(e: &Expr) -> Option<(usize, crate::schema::DataType)> {
    match e {
        Expr::Column {
            index, data_type, ..
        } => Some((*index, *data_type)),
        Expr::Cast { expr, to } if is_integer(*to) => {
            plain_column(expr).filter(|(_, t)| is_integer(*t))
        }
        _ => None,
    }
}

fn is_integer(t: crate::schema::DataType) -> bool {
    t.is_integer()
}

/// An index key value for a column of type `t`, or `None` if `v` cannot be one.
fn key_value(v: &Value, t: crate::schema::DataType) -> Option<Value> {
    use crate::schema::DataType;
    match (v, t) {
        (Value::Str(_), DataType::Varchar) => Some(v.clone()),
        (Value::Int(_), t) if is_integer(t) => Some(v.clone()),
        (Value::Bool(_), DataType::Boolean) => Some(v.clone()),
        _ => None,
    }
}

/// Classifies one conjunct of a scan's filter. `columns` maps scan column positions
/// (what the filter references) to table positions.
pub fn classify_conjunct(e: &Expr, columns: &[usize], schema: &TableSchema) -> ConjunctUse {
    let indexed = |pos: usize| {
        columns
            .get(pos)
            .copied()
            .filter(|&c| schema.is_indexed(c))
            .map(|c| (c, schema.fields[c].data_type))
    };
    match e {
        Expr::Binary {
            op, left, right, ..
        } if op.is_comparison() && *op != BinaryOp::NotEq => {
            let (col, op, lit) = match (left.as_ref(), right.as_ref()) {
                (l, Expr::Literal { value, .. }) => (plain_column(l), *op, value),
                (Expr::Literal { value, .. }, r) => (plain_column(r), op.flip(), value),
                _ => return ConjunctUse::Other,
            };
            let Some((pos, _)) = col else {
                return ConjunctUse::Other;
            };
            let table_col = columns.get(pos).copied();
            if table_col.is_some()
                && table_col == schema.time_index()
                && matches!(lit, Value::Int(_))
                && matches!(left.as_ref(), Expr::Column { .. } | Expr::Literal { .. })
                && matches!(right.as_ref(), Expr::Column { .. } | Expr::Literal { .. })
            {
                return ConjunctUse::Time;
            }
            let Some((c, t)) = indexed(pos) else {
                return ConjunctUse::Other;
            };
            let Some(value) = key_value(lit, t) else {
                return ConjunctUse::Other;
            };
            if op == BinaryOp::Eq {
                ConjunctUse::Index(IndexPredicate::In {
                    column: c,
                    values: vec![value],
                })
            } else if t == crate::schema::DataType::Boolean {
                ConjunctUse::Other
            } else if let Some(cmp) = index_cmp(op) {
                ConjunctUse::Index(IndexPredicate::Range {
                    column: c,
                    cmp,
                    value,
                })
            } else {
                ConjunctUse::Other
            }
        }
        Expr::InList {
            expr,
            list,
            negated: false,
            ..
        } => {
            let Some((c, t)) = plain_column(expr).and_then(|(pos, _)| indexed(pos)) else {
                return ConjunctUse::Other;
            };
            let mut values = Vec::with_capacity(list.len());
            for item in list {
                match item {
                    // `x IN (.., NULL)` is never TRUE because of the NULL.
                    Expr::Literal {
                        value: Value::Null, ..
                    } => {}
                    Expr::Literal { value, .. } => match key_value(value, t) {
                        Some(v) => values.push(v),
                        None => return ConjunctUse::Other,
                    },
                    _ => return ConjunctUse::Other,
                }
            }
            ConjunctUse::Index(IndexPredicate::In { column: c, values })
        }
        _ => ConjunctUse::Other,
    }
}

/// The largest `OFFSET + LIMIT` for which a top-N aggregation runs in two phases.
pub const TOP_N_MAX_ROWS: usize = 1000;

/// A top-N aggregation split in two phases (see [`two_phase_top_n`]).
#[derive(Clone, Debug)]
pub struct TwoPhaseTopN {
    /// Phase 1: the group keys (one column each, in group order) of the top
    /// `OFFSET + LIMIT` groups, ranked with the cheap aggregates only.
    pub phase1: LogicalPlan,
    /// The group key expressions, over the output of the aggregate's input.
    pub keys: Vec<Expr>,
}

/// Whether an aggregate keeps per-value state (so that computing it for groups
/// that are then dropped by a LIMIT is wasted work).
fn is_expensive(a: &AggExpr) -> bool {
    a.distinct
        || !matches!(
            a.func,
            AggFunc::CountStar
                | AggFunc::Count
                | AggFunc::Sum
                | AggFunc::Avg
                | AggFunc::Min
                | AggFunc::Max
                | AggFunc::CountIf
                | AggFunc::AnyValue
                | AggFunc::First
        )
}

/// Recognizes `Limit(Sort(Project?(Filter?(Aggregate(scan chain)))))` with a small
/// `OFFSET + LIMIT`, whose ORDER BY keys and HAVING read only group keys and cheap
/// aggregates while the aggregate list has expensive ones (quantiles, DISTINCT,
/// sketches, arg_max/arg_min). Such a query runs in two phases: phase 1 aggregates
/// with the cheap aggregates only and keeps the top `OFFSET + LIMIT` group keys;
/// phase 2 runs the original plan with the aggregate's input filtered to those
/// keys (one IN list per key: a superset of the groups when there are several
/// keys, which the final sort and limit, on exact values, make harmless).
///
/// Returns `None` when the plan does not have that shape.
pub fn two_phase_top_n(plan: &LogicalPlan) -> Option<TwoPhaseTopN> {
    let LogicalPlan::Limit {
        input,
        skip,
        fetch: Some(fetch),
    } = plan
    else {
        return None;
    };
    let n = skip.checked_add(*fetch)?;
    if n > TOP_N_MAX_ROWS || plan.has_subquery() {
        return None;
    }
    let LogicalPlan::Sort {
        input: sort_in,
        keys,
        ..
    } = input.as_ref()
    else {
        return None;
    };
    let (project, below) = match sort_in.as_ref() {
        LogicalPlan::Project { input, exprs } => (Some(exprs), input.as_ref()),
        other => (None, other),
    };
    let (having, agg) = match below {
        LogicalPlan::Filter { input, predicate } => (Some(predicate), input.as_ref()),
        other => (None, other),
    };
    let LogicalPlan::Aggregate {
        input: agg_in,
        group,
        aggs,
    } = agg
    else {
        return None;
    };
    if group.is_empty() || !is_scan_chain(agg_in) || !aggs.iter().any(|(a, _)| is_expensive(a)) {
        return None;
    }
    // A DOUBLE key would need NaN and -0.0 to match themselves in an IN list.
    if group
        .iter()
        .any(|(g, _)| g.data_type() == crate::schema::DataType::Double)
    {
        return None;
    }
    // Aggregate output positions in phase 1 (usize::MAX: an expensive aggregate).
    let ng = group.len();
    let mut map: Vec<usize> = (0..ng).collect();
    let mut cheap = Vec::new();
    for (a, name) in aggs {
        if is_expensive(a) {
            map.push(usize::MAX);
        } else {
            map.push(ng + cheap.len());
            cheap.push((a.clone(), name.clone()));
        }
    }
    let reads_cheap = |e: &Expr| {
        let mut ok = true;
        e.for_each_column(&mut |i| ok &= map.get(i).is_some_and(|&m| m != usize::MAX));
        ok
    };
    if having.is_some_and(|h| !reads_cheap(h)) {
        return None;
    }
    let mut phase1 = LogicalPlan::Aggregate {
        input: agg_in.clone(),
        group: group.clone(),
        aggs: cheap,
    };
    if let Some(h) = having {
        let mut h = h.clone();
        h.remap_columns(&|i| map[i]);
        phase1 = LogicalPlan::Filter {
            input: Box::new(phase1),
            predicate: h,
        };
    }
    let key_column = |i: usize| Expr::Column {
        index: i,
        name: group[i].1.clone(),
        data_type: group[i].0.data_type(),
    };
    let mut sort_keys = keys.clone();
    let key_positions: Vec<usize> = match project {
        Some(exprs) => {
            // Every projected expression an ORDER BY key reads must be cheap.
            for k in keys {
                let mut ok = true;
                k.expr.for_each_column(&mut |i| {
                    ok &= exprs.get(i).is_some_and(|(e, _)| reads_cheap(e))
                });
                if !ok {
                    return None;
                }
            }
            let mut out: Vec<(Expr, String)> = exprs
                .iter()
                .map(|(e, name)| {
                    if reads_cheap(e) {
                        let mut e = e.clone();
                        e.remap_columns(&|i| map[i]);
                        (e, name.clone())
                    } else {
                        // Not read by the ranking: a placeholder of the same type.
                        (Expr::literal(Value::Null, e.data_type()), name.clone())
                    }
                })
                .collect();
            let first = out.len();
            out.extend((0..ng).map(|i| (key_column(i), group[i].1.clone())));
            phase1 = LogicalPlan::Project {
                input: Box::new(phase1),
                exprs: out,
            };
            (first..first + ng).collect()
        }
        None => {
            for k in &mut sort_keys {
                if !reads_cheap(&k.expr) {
                    return None;
                }
                k.expr.remap_columns(&|i| map[i]);
            }
            (0..ng).collect()
        }
    };
    let phase1 = LogicalPlan::Limit {
        input: Box::new(LogicalPlan::Sort {
            input: Box::new(phase1),
            keys: sort_keys,
            fetch: Some(n),
        }),
        skip: 0,
        fetch: Some(n),
    };
    let phase1 = LogicalPlan::Project {
        input: Box::new(phase1),
        exprs: key_positions
            .iter()
            .enumerate()
            .map(|(g, &pos)| {
                let e = Expr::Column {
                    index: pos,
                    name: group[g].1.clone(),
                    data_type: group[g].0.data_type(),
                };
                (e, group[g].1.clone())
            })
            .collect(),
    };
    let width = phase1.schema().len();
    let (mut phase1, _) = prune(phase1, &vec![true; width], false);
    refresh_scan_hints(&mut phase1);
    Some(TwoPhaseTopN {
        phase1,
        keys: group.iter().map(|(g, _)| g.clone()).collect(),
    })
}

/// Phase 2 of a two-phase top-N aggregation: the input of `plan`'s LIMIT (the
/// sort) with `predicate`, over the aggregate's input, added to the filter above
/// the scan; scan hints are refreshed so that the bitmap indexes apply to it.
/// `None` when `plan` is not a shape [`two_phase_top_n`] accepts.
pub fn top_n_phase2(plan: &LogicalPlan, predicate: Expr) -> Option<LogicalPlan> {
    let LogicalPlan::Limit { input, .. } = plan else {
        return None;
    };
    let mut sort = input.as_ref().clone();
    let mut node = &mut sort;
    loop {
        node = match node {
            LogicalPlan::Aggregate { input, .. } => {
                let taken = input.take();
                **input = match taken {
                    LogicalPlan::Filter {
                        input: scan,
                        predicate: p,
                    } => filter_over(*scan, vec![p, predicate]),
                    other => filter_over(other, vec![predicate]),
                };
                break;
            }
            LogicalPlan::Sort { input, .. }
            | LogicalPlan::Project { input, .. }
            | LogicalPlan::Filter { input, .. } => input.as_mut(),
            _ => return None,
        };
    }
    refresh_scan_hints(&mut sort);
    Some(sort)
}
