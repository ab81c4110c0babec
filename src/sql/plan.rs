//! The typed logical plan: what the binder produces and the executor runs.
//!
//! Every [`Expr`] carries its result type; column references are positions in the
//! output of the plan node below (for a [`LogicalPlan::Scan`], positions in its
//! `columns` list, not in the table).

use std::fmt;
use std::sync::Arc;

use crate::column::Value;
use crate::schema::{DataType, TableSchema};

/// Binary operators after binding. Arithmetic operands have been cast to a common
/// type; comparison operands to a common type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// `/`: always DOUBLE (DuckDB >= 0.8).
    Div,
    /// `//`: integer division.
    IntDiv,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

impl BinaryOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq
        )
    }

    /// The comparison with its operands swapped (`a < b` is `b > a`).
    pub fn flip(self) -> BinaryOp {
        match self {
            BinaryOp::Lt => BinaryOp::Gt,
            BinaryOp::LtEq => BinaryOp::GtEq,
            BinaryOp::Gt => BinaryOp::Lt,
            BinaryOp::GtEq => BinaryOp::LtEq,
            other => other,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::IntDiv => "//",
            BinaryOp::Mod => "%",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
        }
    }
}

/// Units of `date_trunc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TruncUnit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// Fields of `extract` and the `hour(ts)`-style functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DatePart {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    /// ISO day of week, Sunday = 0 (DuckDB `dayofweek`).
    DayOfWeek,
}

/// Scalar functions; constant arguments (units, widths, patterns) are folded in at
/// bind time. Kernels of the variants after `Length` live in `exec/functions.rs`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ScalarFunc {
    DateTrunc(TruncUnit),
    /// `time_bucket(width, ts)`: buckets of `width` micros aligned to 2000-01-03
    /// (DuckDB's origin for sub-month widths).
    TimeBucket(i64),
    DatePart(DatePart),
    Lower,
    Upper,
    Length,
    /// `strftime(ts, fmt)`: the format was checked at bind time.
    Strftime(Arc<str>),
    /// ClickHouse `toStartOfInterval(ts, INTERVAL n unit)`: buckets aligned to the epoch.
    StartOfInterval(i64),
    /// `substr(s, start[, len])` (characters, DuckDB rules for 0 and negatives).
    Substr,
    /// `concat(...)`: NULL arguments are skipped; others are cast to VARCHAR first.
    Concat,
    /// `a || b`: NULL if either side is NULL.
    ConcatOp,
    StartsWith,
    EndsWith,
    Contains,
    /// `split_part(s, delim, n)`.
    SplitPart,
    /// `regexp_matches(s, pattern)`: whether the pattern matches anywhere.
    RegexpMatches(Pattern),
    /// `regexp_extract(s, pattern[, group])`: '' when there is no match.
    RegexpExtract(Pattern, usize),
    /// `regexp_replace(s, pattern, replacement[, 'g'])`: the replacement in the
    /// `regex` crate's syntax (converted from `\1` at bind time); `true` = all matches.
    RegexpReplace(Pattern, Arc<str>, bool),
    /// `url_param(url, name)` / `extractURLParameter`: NULL when absent.
    UrlParam,
    /// `url_path(url)` / ClickHouse `path`.
    UrlPath,
    /// `domain(url)`: the host, without port ('' when none).
    Domain,
    /// `ip_in_cidr(ip, 'net/bits')`: network and mask over the u128 form.
    IpInCidr(u128, u128),
    /// `round(x, digits)`.
    Round(i32),
}

/// A regular expression compiled once at bind time; compared by its text.
#[derive(Clone, Debug)]
pub struct Pattern(pub Arc<regex::Regex>);

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

impl std::hash::Hash for Pattern {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.as_str().hash(state)
    }
}

/// A typed scalar expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Column {
        index: usize,
        name: String,
        data_type: DataType,
    },
    Literal {
        value: Value,
        data_type: DataType,
    },
    Negate(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
        data_type: DataType,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Arc<str>,
        escape: Option<char>,
        case_insensitive: bool,
        negated: bool,
    },
    Case {
        whens: Vec<(Expr, Expr)>,
        else_expr: Option<Box<Expr>>,
        data_type: DataType,
    },
    Cast {
        expr: Box<Expr>,
        to: DataType,
    },
    Func {
        func: ScalarFunc,
        args: Vec<Expr>,
        data_type: DataType,
    },
}

impl Expr {
    /// The result type.
    pub fn data_type(&self) -> DataType {
        match self {
            Expr::Column { data_type, .. }
            | Expr::Literal { data_type, .. }
            | Expr::Binary { data_type, .. }
            | Expr::Case { data_type, .. }
            | Expr::Func { data_type, .. } => *data_type,
            Expr::Negate(e) => e.data_type(),
            Expr::Not(_) | Expr::IsNull { .. } | Expr::InList { .. } | Expr::Like { .. } => {
                DataType::Boolean
            }
            Expr::Cast { to, .. } => *to,
        }
    }

    pub fn literal(value: Value, data_type: DataType) -> Expr {
        Expr::Literal { value, data_type }
    }

    /// Calls `f` on every column index referenced.
    pub fn for_each_column(&self, f: &mut dyn FnMut(usize)) {
        match self {
            Expr::Column { index, .. } => f(*index),
            Expr::Literal { .. } => {}
            Expr::Negate(e) | Expr::Not(e) => e.for_each_column(f),
            Expr::Binary { left, right, .. } => {
                left.for_each_column(f);
                right.for_each_column(f);
            }
            Expr::IsNull { expr, .. } | Expr::Like { expr, .. } | Expr::Cast { expr, .. } => {
                expr.for_each_column(f)
            }
            Expr::InList { expr, list, .. } => {
                expr.for_each_column(f);
                list.iter().for_each(|e| e.for_each_column(f));
            }
            Expr::Case {
                whens, else_expr, ..
            } => {
                for (w, t) in whens {
                    w.for_each_column(f);
                    t.for_each_column(f);
                }
                if let Some(e) = else_expr {
                    e.for_each_column(f);
                }
            }
            Expr::Func { args, .. } => args.iter().for_each(|e| e.for_each_column(f)),
        }
    }

    /// Rewrites every column index through `map`.
    pub fn remap_columns(&mut self, map: &dyn Fn(usize) -> usize) {
        match self {
            Expr::Column { index, .. } => *index = map(*index),
            Expr::Literal { .. } => {}
            Expr::Negate(e) | Expr::Not(e) => e.remap_columns(map),
            Expr::Binary { left, right, .. } => {
                left.remap_columns(map);
                right.remap_columns(map);
            }
            Expr::IsNull { expr, .. } | Expr::Like { expr, .. } | Expr::Cast { expr, .. } => {
                expr.remap_columns(map)
            }
            Expr::InList { expr, list, .. } => {
                expr.remap_columns(map);
                list.iter_mut().for_each(|e| e.remap_columns(map));
            }
            Expr::Case {
                whens, else_expr, ..
            } => {
                for (w, t) in whens {
                    w.remap_columns(map);
                    t.remap_columns(map);
                }
                if let Some(e) = else_expr {
                    e.remap_columns(map);
                }
            }
            Expr::Func { args, .. } => args.iter_mut().for_each(|e| e.remap_columns(map)),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column { name, .. } => write!(f, "{name}"),
            Expr::Literal { value, .. } => match value {
                Value::Null => write!(f, "NULL"),
                Value::Int(v) => write!(f, "{v}"),
                Value::Float(v) => write!(f, "{v}"),
                Value::Bool(v) => write!(f, "{v}"),
                Value::Str(s) => write!(f, "'{s}'"),
                Value::Ip(v) => write!(f, "'{}'", crate::ip::format(*v)),
            },
            Expr::Negate(e) => write!(f, "-({e})"),
            Expr::Not(e) => write!(f, "NOT ({e})"),
            Expr::Binary {
                op, left, right, ..
            } => write!(f, "({left} {} {right})", op.symbol()),
            Expr::IsNull { expr, negated } => {
                write!(f, "({expr} IS {}NULL)", if *negated { "NOT " } else { "" })
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                write!(f, "({expr} {}IN (", if *negated { "NOT " } else { "" })?;
                for (i, e) in list.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{e}")?;
                }
                write!(f, "))")
            }
            Expr::Like {
                expr,
                pattern,
                case_insensitive,
                negated,
                ..
            } => write!(
                f,
                "({expr} {}{} '{pattern}')",
                if *negated { "NOT " } else { "" },
                if *case_insensitive { "ILIKE" } else { "LIKE" }
            ),
            Expr::Case { .. } => write!(f, "CASE ... END"),
            Expr::Cast { expr, to } => write!(f, "CAST({expr} AS {to})"),
            Expr::Func { func, args, .. } => {
                write!(f, "{func:?}(")?;
                for (i, e) in args.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{e}")?;
                }
                write!(f, ")")
            }
        }
    }
}

/// Aggregate functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggFunc {
    CountStar,
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// `count_if(cond)` / ClickHouse `countIf`: rows where `cond` is TRUE.
    CountIf,
    /// `approx_count_distinct(x)` / ClickHouse `uniq`: HyperLogLog.
    ApproxCountDistinct,
    /// `quantile_cont(x, q)` and `median(x)`: exact, interpolated (q in `AggExpr::quantile`).
    QuantileCont,
    /// `approx_quantile(x, q)`: a mergeable compactor sketch (q in `AggExpr::quantile`).
    ApproxQuantile,
    /// `arg_max(arg, val)`: `arg` of the row with the largest `val` (val in `AggExpr::arg2`).
    ArgMax,
    /// `arg_min(arg, val)`.
    ArgMin,
}

/// One aggregate call: `func([DISTINCT] arg)`.
#[derive(Clone, Debug, PartialEq)]
pub struct AggExpr {
    pub func: AggFunc,
    /// `None` only for `count(*)`.
    pub arg: Option<Expr>,
    pub distinct: bool,
    pub data_type: DataType,
    /// The second argument (`val` of `arg_max`/`arg_min`).
    pub arg2: Option<Expr>,
    /// `FILTER (WHERE ...)`: only rows where this is TRUE are aggregated.
    pub filter: Option<Expr>,
    /// The requested quantile of `quantile_cont` / `approx_quantile` (0 otherwise).
    pub quantile: f64,
}

/// A sort key over the input's columns.
#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub expr: Expr,
    pub descending: bool,
    pub nulls_first: bool,
}

/// A simple `column <op> literal` predicate the scan uses to skip blocks by their
/// zone maps (min/max). It is always also evaluated as a filter.
#[derive(Clone, Debug, PartialEq)]
pub struct ZonePredicate {
    /// Table column position.
    pub column: usize,
    pub op: BinaryOp,
    pub value: Value,
}

/// A typed logical plan node.
#[derive(Clone, Debug, PartialEq)]
pub enum LogicalPlan {
    /// Reads `columns` (table positions) of `table`; output column `i` is table
    /// column `columns[i]`.
    Scan {
        table: String,
        schema: TableSchema,
        columns: Vec<usize>,
        /// `[start, end)` on the time column, for partition and segment pruning.
        time_range: Option<(i64, i64)>,
        /// Block-skipping predicates (zone maps).
        zone_predicates: Vec<ZonePredicate>,
    },
    Filter {
        input: Box<LogicalPlan>,
        predicate: Expr,
    },
    Project {
        input: Box<LogicalPlan>,
        exprs: Vec<(Expr, String)>,
    },
    /// Output: the group keys, then the aggregates.
    Aggregate {
        input: Box<LogicalPlan>,
        group: Vec<(Expr, String)>,
        aggs: Vec<(AggExpr, String)>,
    },
    Sort {
        input: Box<LogicalPlan>,
        keys: Vec<SortKey>,
        /// Only the first `fetch` rows are needed (ORDER BY ... LIMIT).
        fetch: Option<usize>,
    },
    Limit {
        input: Box<LogicalPlan>,
        skip: usize,
        fetch: Option<usize>,
    },
    Distinct {
        input: Box<LogicalPlan>,
    },
}

impl LogicalPlan {
    /// The output columns: names and types.
    pub fn schema(&self) -> Vec<(String, DataType)> {
        match self {
            LogicalPlan::Scan {
                schema, columns, ..
            } => columns
                .iter()
                .map(|&c| (schema.fields[c].name.clone(), schema.fields[c].data_type))
                .collect(),
            LogicalPlan::Filter { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. }
            | LogicalPlan::Distinct { input } => input.schema(),
            LogicalPlan::Project { exprs, .. } => exprs
                .iter()
                .map(|(e, n)| (n.clone(), e.data_type()))
                .collect(),
            LogicalPlan::Aggregate { group, aggs, .. } => group
                .iter()
                .map(|(e, n)| (n.clone(), e.data_type()))
                .chain(aggs.iter().map(|(a, n)| (n.clone(), a.data_type)))
                .collect(),
        }
    }

    /// An indented one-node-per-line rendering (EXPLAIN).
    pub fn display_indent(&self) -> String {
        let mut out = String::new();
        self.fmt_indent(&mut out, 0);
        out
    }

    fn fmt_indent(&self, out: &mut String, depth: usize) {
        use std::fmt::Write;
        let pad = "  ".repeat(depth);
        let input = match self {
            LogicalPlan::Scan {
                table,
                schema,
                columns,
                time_range,
                zone_predicates,
            } => {
                let cols: Vec<&str> = columns
                    .iter()
                    .map(|&c| schema.fields[c].name.as_str())
                    .collect();
                let _ = writeln!(
                    out,
                    "{pad}Scan: {table} columns=[{}] time_range={time_range:?} zone_predicates={}",
                    cols.join(", "),
                    zone_predicates.len()
                );
                None
            }
            LogicalPlan::Filter { input, predicate } => {
                let _ = writeln!(out, "{pad}Filter: {predicate}");
                Some(input)
            }
            LogicalPlan::Project { input, exprs } => {
                let e: Vec<String> = exprs.iter().map(|(e, n)| format!("{e} AS {n}")).collect();
                let _ = writeln!(out, "{pad}Project: {}", e.join(", "));
                Some(input)
            }
            LogicalPlan::Aggregate { input, group, aggs } => {
                let g: Vec<String> = group.iter().map(|(e, _)| e.to_string()).collect();
                let a: Vec<&str> = aggs.iter().map(|(_, n)| n.as_str()).collect();
                let _ = writeln!(
                    out,
                    "{pad}Aggregate: group=[{}] aggs=[{}]",
                    g.join(", "),
                    a.join(", ")
                );
                Some(input)
            }
            LogicalPlan::Sort { input, keys, fetch } => {
                let k: Vec<String> = keys
                    .iter()
                    .map(|k| format!("{}{}", k.expr, if k.descending { " DESC" } else { "" }))
                    .collect();
                let _ = writeln!(out, "{pad}Sort: [{}] fetch={fetch:?}", k.join(", "));
                Some(input)
            }
            LogicalPlan::Limit { input, skip, fetch } => {
                let _ = writeln!(out, "{pad}Limit: skip={skip} fetch={fetch:?}");
                Some(input)
            }
            LogicalPlan::Distinct { input } => {
                let _ = writeln!(out, "{pad}Distinct");
                Some(input)
            }
        };
        if let Some(i) = input {
            i.fmt_indent(out, depth + 1);
        }
    }
}
