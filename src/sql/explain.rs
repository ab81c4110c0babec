//! `EXPLAIN` and `EXPLAIN ANALYZE`: the optimized plan as text, one operator per
//! line, with what each scan prunes and how; ANALYZE runs the query and adds rows,
//! time and what was skipped or read. The format is specified in `spec/sql.md`
//! ("EXPLAIN output").

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::column::{Column, ColumnData, Value};
use crate::error::Result;
use crate::exec::physical::{self, Operator, PhysicalPlan};
use crate::exec::{self, nulls_only_columns, ExecOptions, ExecStats, QueryResult};
use crate::plan::{
    AggExpr, AggFunc, BuildSide, Expr, LogicalPlan, Subquery, SubqueryKind, ZonePredicate,
};
use crate::schema::{DataType, TableSchema};
use crate::storage::manifest::Granularity;
use crate::storage::Snapshot;

/// Runs one query: a `SELECT`, or `EXPLAIN [ANALYZE] SELECT ...` whose result is
/// one VARCHAR column `explain` with a row per line. Other statements need a
/// [`Session`](super::Session) (they write or change settings).
pub fn query(snapshot: &Snapshot, sql: &str, opts: &ExecOptions) -> Result<QueryResult> {
    match super::parse_statement(sql)? {
        super::Statement::Query { query, explain } => run(snapshot, &query, explain, opts),
        _ => Err(crate::error::Error::InvalidInput(
            "line 1, column 1: only SELECT and EXPLAIN run on a snapshot; use Db::query or a \
             Session for other statements"
                .into(),
        )),
    }
}

/// What `EXPLAIN` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExplainMode {
    /// `EXPLAIN`: the physical plan, not run.
    Physical,
    /// `EXPLAIN (LOGICAL)`: the optimized logical plan, not run.
    Logical,
    /// `EXPLAIN ANALYZE`: the physical plan run, with measurements.
    Analyze,
}

/// Runs a parsed query; `mode` is set for `EXPLAIN`.
pub fn run(
    snapshot: &Snapshot,
    q: &sqlparser::ast::Query,
    mode: Option<ExplainMode>,
    opts: &ExecOptions,
) -> Result<QueryResult> {
    let plan = super::plan_query_with(snapshot, q, opts)?;
    let text = match mode {
        None => return exec::execute(snapshot, &plan, opts),
        Some(ExplainMode::Physical) => explain(snapshot, &plan, opts)?,
        Some(ExplainMode::Logical) => explain_logical(snapshot, &plan, opts)?,
        Some(ExplainMode::Analyze) => explain_analyze(snapshot, &plan, opts)?,
    };
    Ok(text_result(&text))
}

/// The text as a one-column result, a row per line.
fn text_result(text: &str) -> QueryResult {
    let mut c = Column::new(ColumnData::empty(DataType::Varchar.physical()));
    if let ColumnData::Utf8(v) = &mut c.data {
        for line in text.lines() {
            v.push(line);
        }
    }
    QueryResult {
        columns: vec![("explain".into(), DataType::Varchar)],
        batches: vec![crate::column::Batch { columns: vec![c] }],
    }
}

/// The physical plan, with scan pruning details (nothing is executed).
pub fn explain(snapshot: &Snapshot, plan: &LogicalPlan, opts: &ExecOptions) -> Result<String> {
    let physical = physical::plan(snapshot, plan, opts)?;
    let mut out = String::new();
    render_physical(snapshot, &physical, opts, None, 0, &mut out)?;
    Ok(out)
}

/// The optimized logical plan with scan pruning details (nothing is executed).
pub fn explain_logical(
    snapshot: &Snapshot,
    plan: &LogicalPlan,
    opts: &ExecOptions,
) -> Result<String> {
    let mut out = String::new();
    render(snapshot, plan, opts, None, 0, &mut out)?;
    Ok(out)
}

/// Runs `plan` and renders it with measured rows, times and scan counters.
pub fn explain_analyze(
    snapshot: &Snapshot,
    plan: &LogicalPlan,
    opts: &ExecOptions,
) -> Result<String> {
    let stats = ExecStats::default();
    let start = Instant::now();
    // Subqueries run first and become literals: the plan shown is the one run.
    let plan = exec::resolve_subqueries(snapshot, plan, opts, &stats)?;
    let physical = physical::plan(snapshot, &plan, opts)?;
    let result = exec::execute_physical(snapshot, &physical, opts, &stats)?;
    let total = start.elapsed();
    let mut out = String::new();
    render_physical(snapshot, &physical, opts, Some(&stats), 0, &mut out)?;
    let _ = writeln!(
        out,
        "Total: rows={} time={} peak_memory={}",
        result.num_rows(),
        millis(total),
        crate::value::format_bytes(stats.peak_memory())
    );
    Ok(out)
}

fn millis(d: Duration) -> String {
    format!("{:.3}ms", d.as_secs_f64() * 1000.0)
}

fn agg_text(a: &AggExpr) -> String {
    match (&a.func, &a.arg) {
        (AggFunc::CountStar, _) => "count(*)".into(),
        (f, Some(arg)) => format!(
            "{}({}{arg})",
            f.name(),
            if a.distinct { "DISTINCT " } else { "" }
        ),
        (f, None) => format!("{}()", f.name()),
    }
}

fn literal(v: &Value, t: DataType) -> String {
    match v {
        Value::Str(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Int(_) if matches!(t, DataType::Date | DataType::Time) || t.is_timestamp() => {
            format!("'{}'", crate::value::format_value(v, t))
        }
        Value::Ip(_) => format!("'{}'", crate::value::format_value(v, t)),
        other => crate::value::format_value(other, t),
    }
}

fn zone_text(z: &ZonePredicate, schema: &TableSchema) -> String {
    let f = &schema.fields[z.column.min(schema.fields.len().saturating_sub(1))];
    format!(
        "{} {} {}",
        f.name,
        z.cmp.symbol(),
        literal(&z.value, f.data_type)
    )
}

fn time_text(range: Option<(i64, i64)>) -> String {
    let Some((lo, hi)) = range else {
        return "all".into();
    };
    let end = |v: i64, open: &str| match v {
        i64::MIN | i64::MAX => open.to_string(),
        v => crate::time::format_timestamp(v),
    };
    format!("[{}, {})", end(lo, "-inf"), end(hi, "+inf"))
}

fn render(
    snapshot: &Snapshot,
    plan: &LogicalPlan,
    opts: &ExecOptions,
    stats: Option<&ExecStats>,
    depth: usize,
    out: &mut String,
) -> Result<()> {
    let pad = "  ".repeat(depth);
    let measured = |node: &LogicalPlan| -> String {
        match stats.and_then(|s| s.operator(node)) {
            Some(o) => format!(" (rows={} time={})", o.rows, millis(o.time)),
            None => String::new(),
        }
    };
    let input: Option<&LogicalPlan> = match plan {
        LogicalPlan::Scan {
            table,
            schema,
            columns,
            time_range,
            zone_predicates,
        } => {
            let _ = writeln!(out, "{pad}Scan: {table}{}", measured(plan));
            render_scan(
                snapshot,
                table,
                schema,
                columns,
                *time_range,
                zone_predicates,
                &[],
                stats,
                &pad,
                out,
            )?;
            None
        }
        LogicalPlan::Filter { input, predicate } => {
            let _ = writeln!(out, "{pad}Filter: {predicate}{}", measured(plan));
            if let LogicalPlan::Scan {
                table,
                schema,
                columns,
                time_range,
                zone_predicates,
            } = input.as_ref()
            {
                let _ = writeln!(out, "{pad}  Scan: {table}{}", measured(input));
                let index = index_texts(plan, schema, opts)?;
                render_scan(
                    snapshot,
                    table,
                    schema,
                    columns,
                    *time_range,
                    zone_predicates,
                    &index,
                    stats,
                    &format!("{pad}  "),
                    out,
                )?;
                None
            } else {
                Some(input)
            }
        }
        LogicalPlan::Project { input, exprs } => {
            let e: Vec<String> = exprs.iter().map(|(e, n)| format!("{e} AS {n}")).collect();
            let _ = writeln!(out, "{pad}Project: {}{}", e.join(", "), measured(plan));
            Some(input)
        }
        LogicalPlan::Aggregate { input, group, aggs } => {
            let g: Vec<String> = group.iter().map(|(e, _)| e.to_string()).collect();
            let a: Vec<String> = aggs.iter().map(|(a, _)| agg_text(a)).collect();
            let index_only =
                opts.use_indexes && physical::index_only_shape(input, group, aggs).is_some();
            let _ = writeln!(
                out,
                "{pad}Aggregate: group=[{}] aggs=[{}] index_only={index_only}{}",
                g.join(", "),
                a.join(", "),
                measured(plan)
            );
            Some(input)
        }
        LogicalPlan::Sort { input, keys, fetch } => {
            let k: Vec<String> = keys
                .iter()
                .map(|k| format!("{}{}", k.expr, if k.descending { " DESC" } else { "" }))
                .collect();
            let fetch = fetch.map_or("all".to_string(), |f| f.to_string());
            let _ = writeln!(
                out,
                "{pad}Sort: [{}] fetch={fetch}{}",
                k.join(", "),
                measured(plan)
            );
            Some(input)
        }
        LogicalPlan::Limit { input, skip, fetch } => {
            let fetch = fetch.map_or("all".to_string(), |f| f.to_string());
            let _ = writeln!(
                out,
                "{pad}Limit: skip={skip} fetch={fetch}{}{}",
                if crate::plan::optimize::two_phase_top_n(plan).is_some() {
                    " top_n_aggregate=two_phase"
                } else {
                    ""
                },
                measured(plan)
            );
            Some(input)
        }
        LogicalPlan::Distinct { input } => {
            let _ = writeln!(out, "{pad}Distinct{}", measured(plan));
            Some(input)
        }
        LogicalPlan::Window { input, .. } | LogicalPlan::Unnest { input, .. } => {
            let _ = writeln!(out, "{pad}{}{}", logical_line(plan), measured(plan));
            Some(input)
        }
        LogicalPlan::Apply {
            input, subquery, ..
        } => {
            let _ = writeln!(out, "{pad}{}{}", logical_line(plan), measured(plan));
            let _ = writeln!(out, "{pad}  Subquery (correlated):");
            render(snapshot, &subquery.plan, opts, stats, depth + 2, out)?;
            Some(input)
        }
        LogicalPlan::Join {
            left,
            right,
            kind,
            on,
            filter,
            build,
        } => {
            let keys: Vec<String> = on.iter().map(|(l, r)| format!("{l} = {r}")).collect();
            let filter = filter
                .as_ref()
                .map_or(String::new(), |f| format!(" filter={f}"));
            let build = match build {
                BuildSide::Left => "left",
                BuildSide::Right => "right",
            };
            let _ = writeln!(
                out,
                "{pad}Join: {} keys=[{}]{filter} build={build}{}",
                kind.name(),
                keys.join(", "),
                measured(plan)
            );
            render(snapshot, left, opts, stats, depth + 1, out)?;
            Some(right)
        }
        LogicalPlan::Union { inputs } => {
            let _ = writeln!(out, "{pad}Union{}", measured(plan));
            for i in inputs {
                render(snapshot, i, opts, stats, depth + 1, out)?;
            }
            None
        }
        LogicalPlan::OneRow => {
            let _ = writeln!(out, "{pad}OneRow{}", measured(plan));
            None
        }
        LogicalPlan::RecursiveCte {
            name,
            anchor,
            step,
            distinct,
            ..
        } => {
            let union = if *distinct { "UNION" } else { "UNION ALL" };
            let _ = writeln!(out, "{pad}RecursiveCte: {name} ({union}){}", measured(plan));
            render(snapshot, anchor, opts, stats, depth + 1, out)?;
            render(snapshot, step, opts, stats, depth + 1, out)?;
            None
        }
        LogicalPlan::WorkTable { name, .. } => {
            let _ = writeln!(out, "{pad}WorkTable: {name}{}", measured(plan));
            None
        }
        LogicalPlan::Values { batches, .. } => {
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            let _ = writeln!(out, "{pad}Values: rows={rows}{}", measured(plan));
            None
        }
        LogicalPlan::TableFunction { func, .. } => {
            let _ = writeln!(
                out,
                "{pad}TableFunction: {} rows={}{}",
                func.describe(),
                func.rows(),
                measured(plan)
            );
            None
        }
    };
    // Subqueries inside this node's expressions (EXPLAIN without ANALYZE).
    for (what, s) in subqueries(plan) {
        let _ = writeln!(out, "{pad}  Subquery: {what}");
        render(snapshot, &s.plan, opts, stats, depth + 2, out)?;
    }
    if let Some(i) = input {
        render(snapshot, i, opts, stats, depth + 1, out)?;
    }
    Ok(())
}

fn group_aggs_text(group: &[(Expr, String)], aggs: &[(AggExpr, String)]) -> String {
    let g: Vec<String> = group.iter().map(|(e, _)| e.to_string()).collect();
    let a: Vec<String> = aggs.iter().map(|(a, _)| agg_text(a)).collect();
    format!("group=[{}] aggs=[{}]", g.join(", "), a.join(", "))
}

fn measured_text(stats: Option<&ExecStats>, node: &LogicalPlan) -> String {
    match stats.and_then(|s| s.operator(node)) {
        Some(o) => format!(" (rows={} time={})", o.rows, millis(o.time)),
        None => String::new(),
    }
}

/// How a Window orders the rows of each distinct spec (partitions and order
/// keys), one line per spec, as `exec/window/order.rs` does it.
fn window_strategies(windows: &[(crate::plan::WindowExpr, String)]) -> Vec<String> {
    let mut specs: Vec<&crate::plan::WindowExpr> = Vec::new();
    for (w, _) in windows {
        if !specs.iter().any(|s| s.same_order(w)) {
            specs.push(w);
        }
    }
    specs
        .iter()
        .map(|w| {
            let parts: Vec<String> = w.partition_by.iter().map(|e| e.to_string()).collect();
            let grouped = match parts.len() {
                0 => "one partition".to_string(),
                _ => format!(
                    "partitions [{}] grouped by a counting sort on their ids (input order kept)",
                    parts.join(", ")
                ),
            };
            let keys = sort_keys_text(&w.order_by);
            let group = windows.iter().map(|(x, _)| x).filter(|x| x.same_order(w));
            match w.order_by.len() {
                0 => format!("rows: {grouped}, not sorted"),
                _ if !parts.is_empty() && crate::plan::navigates_by_links(group) => format!(
                    "rows: each row's neighbours in its partition [{}] read off one pass when \
                     [{keys}] never goes back in input order, else {grouped}, sorted by \
                     [{keys}] only where out of order",
                    parts.join(", ")
                ),
                _ => format!("rows: {grouped}, sorted by [{keys}] only where out of order"),
            }
        })
        .collect()
}

/// The line of a logical operator that a physical operator runs as part of
/// itself (the operators a streaming aggregate takes over).
fn logical_line(plan: &LogicalPlan) -> String {
    match plan {
        LogicalPlan::Project { exprs, .. } => {
            let e: Vec<String> = exprs.iter().map(|(e, n)| format!("{e} AS {n}")).collect();
            format!("Project: {}", e.join(", "))
        }
        LogicalPlan::Filter { predicate, .. } => format!("Filter: {predicate}"),
        LogicalPlan::Sort { keys, fetch, .. } => {
            let k = sort_keys_text(keys);
            match fetch {
                Some(n) => format!("TopN: [{k}] fetch={n}"),
                None => format!("Sort: [{k}]"),
            }
        }
        LogicalPlan::Limit { skip, fetch, .. } => {
            let fetch = fetch.map_or("all".to_string(), |f| f.to_string());
            format!("Limit: skip={skip} fetch={fetch}")
        }
        LogicalPlan::Distinct { .. } => "Distinct".into(),
        LogicalPlan::Window { windows, .. } => {
            let w: Vec<String> = windows.iter().map(|(w, n)| format!("{w} AS {n}")).collect();
            format!("Window: {}", w.join(", "))
        }
        LogicalPlan::Unnest { lists, .. } => {
            let l: Vec<String> = lists.iter().map(|(e, n)| format!("{e} AS {n}")).collect();
            format!("Unnest: {}", l.join(", "))
        }
        LogicalPlan::Apply {
            subquery, lateral, ..
        } => {
            let what = match (lateral, &subquery.kind) {
                (Some(k), _) => format!("LATERAL {}", k.name()),
                (None, SubqueryKind::Scalar) => "scalar".into(),
                (None, SubqueryKind::Exists { negated }) => {
                    format!("{}EXISTS", if *negated { "NOT " } else { "" })
                }
                (None, SubqueryKind::In { expr, negated }) => {
                    format!("{expr} {}IN", if *negated { "NOT " } else { "" })
                }
            };
            let keys: Vec<String> = subquery.correlated.iter().map(|e| e.to_string()).collect();
            format!(
                "Apply: {what} subquery once per distinct [{}]",
                keys.join(", ")
            )
        }
        other => format!("{other:?}").chars().take(40).collect(),
    }
}

fn sort_keys_text(keys: &[crate::plan::SortKey]) -> String {
    let k: Vec<String> = keys
        .iter()
        .map(|k| format!("{}{}", k.expr, if k.descending { " DESC" } else { "" }))
        .collect();
    k.join(", ")
}

/// Renders a physical plan: one operator per line, inputs indented under it.
fn render_physical(
    snapshot: &Snapshot,
    p: &PhysicalPlan<'_>,
    opts: &ExecOptions,
    stats: Option<&ExecStats>,
    depth: usize,
    out: &mut String,
) -> Result<()> {
    let pad = "  ".repeat(depth);
    let measured = measured_text(stats, p.node);
    let name = p.name();
    // The logical nodes this operator runs itself, for their subqueries.
    let mut covered: Vec<&LogicalPlan> = vec![p.node];
    let mut depth = depth;
    match &p.op {
        Operator::ScanProject {
            scan,
            exprs,
            streamed,
            ..
        } => {
            let e: Vec<String> = exprs.iter().map(|(e, n)| format!("{e} AS {n}")).collect();
            let output = streamed_text(*streamed);
            let _ = writeln!(out, "{pad}{name}: {}{output}{measured}", e.join(", "));
            let nulls = nulls_only_columns(scan, exprs, None, opts.use_indexes)?;
            nulls_only_text(scan, &nulls, &pad, out);
            render_scan_chain(snapshot, scan, opts, stats, depth + 1, out, &mut covered)?;
        }
        Operator::ScanAggregate {
            scan, group, aggs, ..
        }
        | Operator::IndexOnlyAggregate {
            scan, group, aggs, ..
        } => {
            let _ = writeln!(
                out,
                "{pad}{name}: {}{measured}",
                group_aggs_text(group, aggs)
            );
            if let Operator::ScanAggregate {
                top: Some(top),
                aggs,
                ..
            }
            | Operator::IndexOnlyAggregate {
                top: Some(top),
                aggs,
                ..
            } = &p.op
            {
                let by = aggs.get(top.agg).map_or("?", |(_, n)| n.as_str());
                let _ = writeln!(
                    out,
                    "{pad}  keys built only for groups that can enter the top {} by {by}",
                    top.unit_limit.unwrap_or(0)
                );
            }
            if let Operator::ScanAggregate {
                info, unread_keys, ..
            } = &p.op
            {
                unread_keys_text(group, unread_keys, &pad, out);
                merged_dictionaries_text(snapshot, info, group, opts, &pad, out)?;
            }
            if name == "ScanAggregate" {
                let nulls = nulls_only_columns(scan, group, Some(aggs), opts.use_indexes)?;
                nulls_only_text(scan, &nulls, &pad, out);
            }
            if name == "ScanAggregate" && opts.aggregate_cache {
                let _ = writeln!(
                    out,
                    "{pad}  aggregate_cache: on (groups of whole segments kept between queries)"
                );
            }
            render_scan_chain(snapshot, scan, opts, stats, depth + 1, out, &mut covered)?;
        }
        Operator::ParquetAggregate {
            read,
            filters,
            group,
            aggs,
        } => {
            let _ = writeln!(
                out,
                "{pad}{name}: {}{measured}",
                group_aggs_text(group, aggs)
            );
            let mut chain = p.node.inputs();
            while let Some(LogicalPlan::Filter { input, .. }) = chain.first().copied() {
                covered.push(chain[0]);
                chain = vec![input.as_ref()];
            }
            let d = format!("{pad}  ");
            let func = crate::plan::TableFunc::ReadFile(Box::new((*read).clone()));
            let _ = writeln!(out, "{d}{} rows={}", func.describe(), func.rows());
            for f in filters {
                let _ = writeln!(out, "{d}  filter: {f}");
            }
            let _ = writeln!(out, "{d}  {}", row_group_text(read)?);
            #[cfg(feature = "arrow")]
            {
                let plan =
                    exec::parquet_rows::RowFilterPlan::for_aggregate(read, filters, group, aggs);
                let names = plan.decoded_names(read);
                let _ = writeln!(out, "{d}  decoded for passing rows: [{}]", names.join(", "));
            }
            if let Some(s) = stats {
                let g = |c: &std::sync::atomic::AtomicU64| ExecStats::get(c);
                let _ = writeln!(
                    out,
                    "{d}  rows: {} decoded, {} passed filter",
                    g(&s.rows_scanned),
                    g(&s.rows_passed)
                );
            }
        }
        Operator::StreamingAggregate(sp) => {
            // The operators it runs above the aggregate, each with where it runs.
            for (node, place) in sp.above() {
                let pad = "  ".repeat(depth);
                let _ = writeln!(
                    out,
                    "{pad}{} [{place}]{}",
                    logical_line(node),
                    measured_text(stats, node)
                );
                covered.push(node);
                depth += 1;
            }
            let agg = sp.aggregate();
            let pad = "  ".repeat(depth);
            let LogicalPlan::Aggregate { input, group, aggs } = agg else {
                return Err(crate::error::Error::Internal(
                    "streaming aggregate without an aggregate".into(),
                ));
            };
            let _ = writeln!(
                out,
                "{pad}{name}: {} units={}{}",
                group_aggs_text(group, aggs),
                sp.units(),
                measured_text(stats, agg)
            );
            covered.push(agg);
            unread_keys_text(group, &sp.unread_keys, &pad, out);
            merged_dictionaries_text(snapshot, sp.info(), group, opts, &pad, out)?;
            render_scan_chain(snapshot, input, opts, stats, depth + 1, out, &mut covered)?;
        }
        Operator::TwoPhaseTopN(two) => {
            let (skip, fetch) = match p.node {
                LogicalPlan::Limit { skip, fetch, .. } => (*skip, *fetch),
                _ => (0, None),
            };
            let fetch = fetch.map_or("all".to_string(), |f| f.to_string());
            let keys: Vec<String> = two.keys.iter().map(|k| k.to_string()).collect();
            let _ = writeln!(
                out,
                "{pad}{name}: skip={skip} fetch={fetch} keys=[{}]{measured}",
                keys.join(", ")
            );
            let _ = writeln!(
                out,
                "{pad}  phase 1: rank the groups by the cheap aggregates"
            );
            let phase1 = physical::plan(snapshot, &two.phase1, opts)?;
            render_physical(snapshot, &phase1, opts, stats, depth + 2, out)?;
            let _ = writeln!(
                out,
                "{pad}  phase 2: the full aggregation over the rows of the phase-1 keys"
            );
        }
        Operator::Filter => {
            if let LogicalPlan::Filter { predicate, .. } = p.node {
                let _ = writeln!(out, "{pad}{name}: {predicate}{measured}");
            }
        }
        Operator::Window { top: None } => {
            let line = logical_line(p.node);
            let _ = writeln!(out, "{pad}{line}{measured}");
            if let LogicalPlan::Window { windows, .. } = p.node {
                for strategy in window_strategies(windows) {
                    let _ = writeln!(out, "{pad}  {strategy}");
                }
            }
        }
        Operator::Project
        | Operator::Sort
        | Operator::TopN
        | Operator::Limit
        | Operator::Unnest
        | Operator::Distinct => {
            let line = logical_line(p.node);
            let _ = writeln!(out, "{pad}{line}{measured}");
        }
        Operator::Window { top: Some(k) } => {
            let line = logical_line(p.node);
            let line = line.strip_prefix("Window: ").unwrap_or(&line);
            let _ = writeln!(
                out,
                "{pad}{name}: first {k} per partition: {line}{measured}"
            );
        }
        Operator::Apply => {
            let line = logical_line(p.node);
            let _ = writeln!(out, "{pad}{line}{measured}");
            if let LogicalPlan::Apply { subquery, .. } = p.node {
                let _ = writeln!(out, "{pad}  Subquery (correlated):");
                let sub = physical::plan(snapshot, &subquery.plan, opts)?;
                render_physical(snapshot, &sub, opts, stats, depth + 2, out)?;
            }
        }
        Operator::HashAggregate { unread_keys } => {
            if let LogicalPlan::Aggregate { group, aggs, .. } = p.node {
                let _ = writeln!(
                    out,
                    "{pad}{name}: {}{measured}",
                    group_aggs_text(group, aggs)
                );
                unread_keys_text(group, unread_keys, &pad, out);
            }
        }
        Operator::HashJoin { streamed } => {
            if let LogicalPlan::Join {
                kind,
                on,
                filter,
                build,
                ..
            } = p.node
            {
                let keys: Vec<String> = on.iter().map(|(l, r)| format!("{l} = {r}")).collect();
                let filter = filter
                    .as_ref()
                    .map_or(String::new(), |f| format!(" filter={f}"));
                let build = match build {
                    BuildSide::Left => "left",
                    BuildSide::Right => "right",
                };
                let output = streamed_text(*streamed);
                let _ = writeln!(
                    out,
                    "{pad}{name}: {} keys=[{}]{filter} build={build}{output}{measured}",
                    kind.name(),
                    keys.join(", "),
                );
            }
        }
        Operator::NestedLoopJoin { streamed } => {
            if let LogicalPlan::Join { kind, filter, .. } = p.node {
                let filter = filter
                    .as_ref()
                    .map_or(String::new(), |f| format!(" filter={f}"));
                let output = streamed_text(*streamed);
                let _ = writeln!(
                    out,
                    "{pad}{name}: {}{filter}{output}{measured}",
                    kind.name()
                );
            }
        }
        Operator::Union | Operator::OneRow => {
            let _ = writeln!(out, "{pad}{name}{measured}");
        }
        Operator::RecursiveCte => {
            if let LogicalPlan::RecursiveCte {
                name: cte,
                distinct,
                ..
            } = p.node
            {
                let union = if *distinct { "UNION" } else { "UNION ALL" };
                let _ = writeln!(
                    out,
                    "{pad}{name}: {cte} ({union}, at most {} iterations){measured}",
                    crate::exec::MAX_RECURSION
                );
            }
        }
        Operator::WorkTable => {
            if let LogicalPlan::WorkTable { name: cte, .. } = p.node {
                let _ = writeln!(
                    out,
                    "{pad}{name}: {cte} (the previous iteration's rows){measured}"
                );
            }
        }
        Operator::Values => {
            if let LogicalPlan::Values { batches, .. } = p.node {
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                let _ = writeln!(out, "{pad}{name}: rows={rows}{measured}");
            }
        }
        Operator::TableFunction {
            streamed,
            func,
            filters,
        } => {
            let _ = writeln!(
                out,
                "{pad}{name}: {} rows={}{}{measured}",
                func.describe(),
                func.rows(),
                streamed_text(*streamed)
            );
            // The filters it took into its reader.
            let mut node = p.node;
            while let LogicalPlan::Filter { input, .. } = node {
                covered.push(node);
                node = input;
            }
            for f in filters {
                let _ = writeln!(out, "{pad}  filter: {f}");
            }
            if let crate::plan::TableFunc::ReadFile(read) = func {
                if read.format == "parquet" {
                    let _ = writeln!(out, "{pad}  {}", row_group_text(read)?);
                }
            }
        }
    }
    let pad = "  ".repeat(depth);
    for node in covered {
        render_subqueries(snapshot, node, opts, stats, &pad, depth, out)?;
    }
    for c in &p.children {
        render_physical(snapshot, c, opts, stats, depth + 1, out)?;
    }
    Ok(())
}

/// The line naming the group keys no operator above reads, which the
/// aggregation groups by without building their values (none: no line).
fn unread_keys_text(group: &[(Expr, String)], unread: &[bool], pad: &str, out: &mut String) {
    let names: Vec<String> = (group.iter().zip(unread))
        .filter(|(_, &u)| u)
        .map(|((e, _), _)| e.to_string())
        .collect();
    if !names.is_empty() {
        let _ = writeln!(
            out,
            "{pad}  keys no operator above reads, not built: [{}]",
            names.join(", ")
        );
    }
}

/// The line naming the string keys an aggregation numbers by their segments'
/// dictionaries merged per unit instead of hashing each string (none: no line).
fn merged_dictionaries_text(
    snapshot: &Snapshot,
    info: &exec::physical::ScanInfo<'_>,
    group: &[(Expr, String)],
    opts: &ExecOptions,
    pad: &str,
    out: &mut String,
) -> Result<()> {
    let keys = exec::unit_dict::string_column_keys(group);
    let time_column = snapshot.table(info.table)?.schema.time_index();
    if keys.is_empty() || !exec::unit_dict::merges_dictionaries(info, time_column, opts) {
        return Ok(());
    }
    let names: Vec<String> = keys.iter().map(|e| e.to_string()).collect();
    let _ = writeln!(
        out,
        "{pad}  string keys numbered by their dictionaries merged per unit: [{}]",
        names.join(", ")
    );
    Ok(())
}

/// The line naming the columns a scan reads for their NULLs only (none: no line).
fn nulls_only_text(chain: &LogicalPlan, columns: &[usize], pad: &str, out: &mut String) {
    let mut node = chain;
    while let LogicalPlan::Filter { input, .. } = node {
        node = input;
    }
    let (LogicalPlan::Scan { schema, .. }, false) = (node, columns.is_empty()) else {
        return;
    };
    let names: Vec<&str> = (columns.iter())
        .filter_map(|&c| schema.fields.get(c).map(|f| f.name.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "{pad}  read for NULLs only (validity decoded, values not): [{}]",
        names.join(", ")
    );
}

/// The index predicates of the `Filter* -> Scan` chain `chain`, as the physical
/// planner finds them for the scan it runs (none when indexes are off).
fn index_texts(
    chain: &LogicalPlan,
    schema: &TableSchema,
    opts: &ExecOptions,
) -> Result<Vec<String>> {
    let info = physical::scan_info(chain, opts.use_indexes)?;
    Ok(info.index.iter().map(|p| p.display(schema)).collect())
}

/// The `Filter* -> Scan` chain of a scan pipeline: its filters, then the scan
/// with its pruning details.
fn render_scan_chain<'a>(
    snapshot: &Snapshot,
    chain: &'a LogicalPlan,
    opts: &ExecOptions,
    stats: Option<&ExecStats>,
    depth: usize,
    out: &mut String,
    covered: &mut Vec<&'a LogicalPlan>,
) -> Result<()> {
    let mut node = chain;
    let mut predicates = Vec::new();
    while let LogicalPlan::Filter { input, predicate } = node {
        covered.push(node);
        predicates.push(predicate);
        node = input;
    }
    let LogicalPlan::Scan {
        table,
        schema,
        columns,
        time_range,
        zone_predicates,
    } = node
    else {
        return Err(crate::error::Error::Internal("not a scan chain".into()));
    };
    let pad = "  ".repeat(depth);
    let _ = writeln!(out, "{pad}Scan: {table}");
    // The filter runs inside the scan pipeline, conjunct by conjunct per block.
    for predicate in &predicates {
        let _ = writeln!(out, "{pad}  filter: {predicate}");
    }
    let index = index_texts(chain, schema, opts)?;
    render_scan(
        snapshot,
        table,
        schema,
        columns,
        *time_range,
        zone_predicates,
        &index,
        stats,
        &pad,
        out,
    )
}

/// The subqueries inside `node`'s expressions (EXPLAIN without ANALYZE; with
/// ANALYZE they ran first and are literals), each with its physical plan.
fn render_subqueries(
    snapshot: &Snapshot,
    node: &LogicalPlan,
    opts: &ExecOptions,
    stats: Option<&ExecStats>,
    pad: &str,
    depth: usize,
    out: &mut String,
) -> Result<()> {
    for (what, s) in subqueries(node) {
        let _ = writeln!(out, "{pad}  Subquery: {what}");
        let sub = physical::plan(snapshot, &s.plan, opts)?;
        render_physical(snapshot, &sub, opts, stats, depth + 2, out)?;
    }
    Ok(())
}

/// The subqueries inside `node`'s expressions, each with what it computes.
fn subqueries(node: &LogicalPlan) -> Vec<(&'static str, Subquery)> {
    let mut subs = Vec::new();
    for e in node.exprs() {
        e.visit(&mut |x| {
            if let Expr::Subquery(s) = x {
                let what = match &s.kind {
                    SubqueryKind::Scalar => "scalar",
                    SubqueryKind::Exists { .. } => "EXISTS",
                    SubqueryKind::In { .. } => "IN",
                };
                subs.push((what, (**s).clone()));
            }
        });
    }
    subs
}

/// The detail lines of a scan.
#[allow(clippy::too_many_arguments)]
fn render_scan(
    snapshot: &Snapshot,
    table: &str,
    schema: &TableSchema,
    columns: &[usize],
    time_range: Option<(i64, i64)>,
    zone: &[ZonePredicate],
    index: &[String],
    stats: Option<&ExecStats>,
    pad: &str,
    out: &mut String,
) -> Result<()> {
    let cols: Vec<&str> = columns
        .iter()
        .filter_map(|&c| schema.fields.get(c).map(|f| f.name.as_str()))
        .collect();
    let entry = snapshot.table(table)?;
    let (lo, hi) = time_range.unwrap_or((i64::MIN, i64::MAX));
    let (mut parts_kept, mut parts_pruned, mut segs_kept, mut segs_pruned) = (0, 0, 0, 0);
    for p in &entry.partitions {
        if p.granularity != Granularity::All && (p.end() <= lo || p.start >= hi) {
            parts_pruned += 1;
            segs_pruned += p.segments.len();
            continue;
        }
        parts_kept += 1;
        for s in &p.segments {
            if entry.schema.time_column.is_some() && (s.max_ts < lo || s.min_ts >= hi) {
                segs_pruned += 1;
            } else {
                segs_kept += 1;
            }
        }
    }
    let z: Vec<String> = zone.iter().map(|z| zone_text(z, schema)).collect();
    let d = format!("{pad}  ");
    let _ = writeln!(out, "{d}columns: [{}]", cols.join(", "));
    let _ = writeln!(out, "{d}time_range: {}", time_text(time_range));
    let _ = writeln!(
        out,
        "{d}partitions: {parts_kept} kept, {parts_pruned} pruned by time"
    );
    let _ = writeln!(
        out,
        "{d}segments: {segs_kept} kept, {segs_pruned} pruned by time"
    );
    let _ = writeln!(out, "{d}zone_predicates: [{}]", z.join(", "));
    let _ = writeln!(out, "{d}index_predicates: [{}]", index.join(", "));
    if let Some(s) = stats {
        let g = |c: &std::sync::atomic::AtomicU64| ExecStats::get(c);
        let _ = writeln!(
            out,
            "{d}segments_scanned: {} ({} skipped by index, {} answered from index)",
            g(&s.segments),
            g(&s.segments_index_skipped),
            g(&s.segments_index_only)
        );
        if s.aggregate_cache.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = writeln!(
                out,
                "{d}aggregate_cache: {} whole segments' groups reused",
                g(&s.segments_cached)
            );
        }
        let _ = writeln!(
            out,
            "{d}blocks: {} read of {} ({} skipped by zone map, {} skipped by index, {} counted from zone maps)",
            g(&s.blocks_read),
            g(&s.blocks),
            g(&s.blocks_zone_skipped),
            g(&s.blocks_index_skipped),
            g(&s.blocks_counted)
        );
        let _ = writeln!(
            out,
            "{d}rows: {} decoded, {} index candidates, {} passed filter",
            g(&s.rows_scanned),
            g(&s.rows_filtered_in),
            g(&s.rows_passed)
        );
        let _ = writeln!(out, "{d}bytes_read: {}", g(&s.bytes_read));
        if g(&s.key_id_dictionaries) > 0 {
            let _ = writeln!(
                out,
                "{d}key_id: {} dictionaries ({} entries) numbered before the scan, shard by shard",
                g(&s.key_id_dictionaries),
                g(&s.key_id_entries)
            );
        }
    }
    Ok(())
}

/// The row groups a Parquet read decodes: all of them, or those its
/// statistics filter keeps (the same list the read uses).
fn row_group_text(read: &crate::plan::FileRead) -> Result<String> {
    #[cfg(feature = "arrow")]
    {
        let groups = exec::parquet_rows::row_groups(read)?;
        if read.stats_filter.is_empty() {
            return Ok(format!("row groups: {}", groups.total));
        }
        let conjuncts: Vec<String> = read
            .stats_filter
            .iter()
            .map(|p| {
                let (name, t) = read
                    .columns
                    .get(p.column())
                    .map_or(("?", DataType::Varchar), |(n, t)| (n.as_str(), *t));
                match p {
                    crate::index::StatsPredicate::Cmp { cmp, value, .. } => {
                        format!("{name} {} {}", cmp.symbol(), literal(value, t))
                    }
                    crate::index::StatsPredicate::In { values, .. } => {
                        let v: Vec<String> = values.iter().map(|v| literal(v, t)).collect();
                        format!("{name} IN ({})", v.join(", "))
                    }
                }
            })
            .collect();
        Ok(format!(
            "row groups: {} of {} after statistics [{}]",
            groups.tasks.len(),
            groups.total,
            conjuncts.join(", ")
        ))
    }
    #[cfg(not(feature = "arrow"))]
    {
        let _ = read;
        Ok("row groups: unknown (built without the `arrow` feature)".into())
    }
}

/// What EXPLAIN adds to an operator whose output streams into its parent.
fn streamed_text(streamed: bool) -> &'static str {
    if streamed {
        " output=streamed"
    } else {
        ""
    }
}
