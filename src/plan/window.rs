//! Window functions in the logical plan: what a [`LogicalPlan::Window`] node
//! computes for each of its rows.
//!
//! A window expression names a function, its arguments, the partition keys, the
//! order within a partition and the frame (the rows an aggregate or a value
//! function reads). Every expression here reads the Window node's input columns.
//!
//! [`LogicalPlan::Window`]: super::LogicalPlan::Window

use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};

use super::logical::{AggFunc, BinaryOp, Expr, SortKey};
use crate::column::Value;
use crate::schema::DataType;

/// The functions a window expression computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WindowFunc {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    /// `ntile(n)`: the bucket (1..=n) of the row; the count is `args[0]`.
    Ntile,
    /// `lag(x[, offset[, default]])`: `args` are x, the offset and the default.
    Lag,
    /// `lead(x[, offset[, default]])`.
    Lead,
    FirstValue,
    LastValue,
    /// `nth_value(x, n)`: the n-th row (1-based) of the frame.
    NthValue,
    /// `fill(x [ORDER BY k])`: x, its NULLs replaced by a linear interpolation
    /// (or extrapolation) along k (the window's single ORDER BY key by default)
    /// between the nearest rows of the partition where both are known.
    Fill,
    /// An aggregate over the frame: `count(*)`, `count`, `sum`, `avg`, `min`, `max`.
    Agg(AggFunc),
}

impl WindowFunc {
    pub fn name(self) -> &'static str {
        match self {
            WindowFunc::RowNumber => "row_number",
            WindowFunc::Rank => "rank",
            WindowFunc::DenseRank => "dense_rank",
            WindowFunc::PercentRank => "percent_rank",
            WindowFunc::CumeDist => "cume_dist",
            WindowFunc::Ntile => "ntile",
            WindowFunc::Lag => "lag",
            WindowFunc::Lead => "lead",
            WindowFunc::FirstValue => "first_value",
            WindowFunc::LastValue => "last_value",
            WindowFunc::NthValue => "nth_value",
            WindowFunc::Fill => "fill",
            WindowFunc::Agg(AggFunc::CountStar) => "count_star",
            WindowFunc::Agg(f) => f.name(),
        }
    }

    /// Whether the function reads the frame (the others see the partition and
    /// the peers only, whatever frame is given).
    pub fn uses_frame(self) -> bool {
        matches!(
            self,
            WindowFunc::FirstValue
                | WindowFunc::LastValue
                | WindowFunc::NthValue
                | WindowFunc::Agg(_)
        )
    }
}

/// How frame offsets count: rows, a distance in the ORDER BY value, or peer groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameUnits {
    Rows,
    Range,
    Groups,
}

/// One end of a frame. Offsets are constants checked at bind time: non-negative
/// integers for ROWS and GROUPS; for RANGE, a number (or, over a TIMESTAMP, an
/// interval in microseconds) that is not negative.
#[derive(Clone, Debug, PartialEq)]
pub enum FrameBound {
    UnboundedPreceding,
    Preceding(Value),
    CurrentRow,
    Following(Value),
    UnboundedFollowing,
}

impl fmt::Display for FrameBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = |v: &Value| match v {
            Value::Int(i) => i.to_string(),
            Value::Float(x) => x.to_string(),
            other => format!("{other:?}"),
        };
        match self {
            FrameBound::UnboundedPreceding => write!(f, "UNBOUNDED PRECEDING"),
            FrameBound::Preceding(x) => write!(f, "{} PRECEDING", v(x)),
            FrameBound::CurrentRow => write!(f, "CURRENT ROW"),
            FrameBound::Following(x) => write!(f, "{} FOLLOWING", v(x)),
            FrameBound::UnboundedFollowing => write!(f, "UNBOUNDED FOLLOWING"),
        }
    }
}

/// Rows a frame leaves out of itself: `EXCLUDE CURRENT ROW`, `EXCLUDE GROUP`
/// (the current row and its peers), `EXCLUDE TIES` (its peers but not itself)
/// or `EXCLUDE NO OTHERS` (none, the default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameExclude {
    NoOthers,
    CurrentRow,
    Group,
    Ties,
}

impl FrameExclude {
    pub fn name(self) -> &'static str {
        match self {
            FrameExclude::NoOthers => "NO OTHERS",
            FrameExclude::CurrentRow => "CURRENT ROW",
            FrameExclude::Group => "GROUP",
            FrameExclude::Ties => "TIES",
        }
    }
}

/// The rows a frame-reading function sees around the current row.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowFrame {
    pub units: FrameUnits,
    pub start: FrameBound,
    pub end: FrameBound,
    pub exclude: FrameExclude,
}

impl WindowFrame {
    /// SQL's default: with ORDER BY, the partition up to the current row's last
    /// peer; without, the whole partition (every row is a peer).
    pub fn default_frame() -> WindowFrame {
        WindowFrame {
            units: FrameUnits::Range,
            start: FrameBound::UnboundedPreceding,
            end: FrameBound::CurrentRow,
            exclude: FrameExclude::NoOthers,
        }
    }
}

impl fmt::Display for WindowFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = match self.units {
            FrameUnits::Rows => "ROWS",
            FrameUnits::Range => "RANGE",
            FrameUnits::Groups => "GROUPS",
        };
        write!(f, "{units} BETWEEN {} AND {}", self.start, self.end)?;
        if self.exclude != FrameExclude::NoOthers {
            write!(f, " EXCLUDE {}", self.exclude.name())?;
        }
        Ok(())
    }
}

/// The table behind `key_id(s)`: a number per distinct string, the same for
/// every row and thread of one query. The optimizer puts `key_id` in place of a
/// string column that only partition keys read (see `optimize::prune`), so
/// windows partition by integers, and a dictionary-encoded column is numbered
/// once per dictionary entry rather than once per row. The executor fills the
/// table (its state is opaque here); clones share it, and two `KeyIds` are equal
/// only when they are the same table.
#[derive(Clone, Default)]
pub struct KeyIds(pub Arc<OnceLock<Box<dyn Any + Send + Sync>>>);

impl KeyIds {
    /// The executor's state, made by `init` on first use.
    pub fn state<T: Any + Send + Sync>(&self, init: impl FnOnce() -> T) -> Option<&T> {
        self.0.get_or_init(|| Box::new(init())).downcast_ref()
    }
}

impl fmt::Debug for KeyIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyIds")
    }
}

impl PartialEq for KeyIds {
    fn eq(&self, other: &KeyIds) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for KeyIds {}

impl std::hash::Hash for KeyIds {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.0) as *const u8 as usize).hash(state)
    }
}

/// One window function call: `func(args) [FILTER (WHERE filter)] OVER (PARTITION
/// BY partition_by ORDER BY order_by frame)`.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowExpr {
    pub func: WindowFunc,
    pub args: Vec<Expr>,
    /// `ORDER BY` inside the call's parentheses (fill's key).
    pub arg_order: Vec<SortKey>,
    pub partition_by: Vec<Expr>,
    pub order_by: Vec<SortKey>,
    pub frame: WindowFrame,
    /// `FILTER (WHERE ...)` of an aggregate: other rows are left out of frames.
    pub filter: Option<Expr>,
    /// `IGNORE NULLS` of lag, lead, first_value, last_value and nth_value.
    pub ignore_nulls: bool,
    pub data_type: DataType,
}

impl WindowExpr {
    /// The expressions this call evaluates, mutably.
    pub fn exprs_mut(&mut self) -> impl Iterator<Item = &mut Expr> {
        self.args
            .iter_mut()
            .chain(self.arg_order.iter_mut().map(|k| &mut k.expr))
            .chain(self.partition_by.iter_mut())
            .chain(self.order_by.iter_mut().map(|k| &mut k.expr))
            .chain(self.filter.iter_mut())
    }

    /// The expressions this call evaluates.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.args
            .iter()
            .chain(self.arg_order.iter().map(|k| &k.expr))
            .chain(self.partition_by.iter())
            .chain(self.order_by.iter().map(|k| &k.expr))
            .chain(self.filter.iter())
    }

    /// Whether `other` partitions and orders its rows the same way (one sort
    /// serves both).
    pub fn same_order(&self, other: &WindowExpr) -> bool {
        self.partition_by == other.partition_by && self.order_by == other.order_by
    }
}

impl fmt::Display for WindowExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<_>>().join(", ");
        let keys = |v: &[SortKey]| {
            list(
                &mut v
                    .iter()
                    .map(|k| format!("{}{}", k.expr, if k.descending { " DESC" } else { "" })),
            )
        };
        write!(
            f,
            "{}({}",
            self.func.name(),
            list(&mut self.args.iter().map(|a| a.to_string()))
        )?;
        if !self.arg_order.is_empty() {
            write!(f, " ORDER BY {}", keys(&self.arg_order))?;
        }
        write!(f, ")")?;
        if self.ignore_nulls {
            write!(f, " IGNORE NULLS")?;
        }
        if let Some(flt) = &self.filter {
            write!(f, " FILTER ({flt})")?;
        }
        write!(f, " OVER (")?;
        let mut parts = Vec::new();
        if !self.partition_by.is_empty() {
            parts.push(format!(
                "PARTITION BY {}",
                list(&mut self.partition_by.iter().map(|e| e.to_string()))
            ));
        }
        if !self.order_by.is_empty() {
            parts.push(format!("ORDER BY {}", keys(&self.order_by)));
        }
        if self.func.uses_frame() {
            parts.push(self.frame.to_string());
        }
        write!(f, "{})", parts.join(" "))
    }
}

/// Most steps a lag or lead may take along each row's neighbour in its
/// partition when it is read off links ([`navigates_by_links`]).
pub const MAX_LINK_STEPS: i64 = 16;

/// Whether the window expressions of one spec (same PARTITION BY and ORDER BY)
/// are all `lag`/`lead` with a literal offset of at most [`MAX_LINK_STEPS`]
/// (or none) and without IGNORE NULLS, over one ORDER BY key. When that key
/// never goes back in the input's order (time-ordered log rows, scanned in
/// time order), each partition's rows already stand in order and the executor
/// reads every row's neighbours off one pass over the partition ids instead of
/// sorting the rows.
pub fn navigates_by_links<'a>(mut group: impl Iterator<Item = &'a WindowExpr>) -> bool {
    group.all(|w| {
        let offset_ok = match w.args.get(1) {
            None => true,
            Some(Expr::Literal {
                value: Value::Int(k),
                ..
            }) => k.unsigned_abs() <= MAX_LINK_STEPS as u64,
            Some(_) => false,
        };
        matches!(w.func, WindowFunc::Lag | WindowFunc::Lead)
            && !w.ignore_nulls
            && w.order_by.len() == 1
            && offset_ok
    })
}

/// The `k` of a filter over a Window node that keeps only rankings at most `k`,
/// when every window expression of the node is `row_number` or `rank` of one
/// spec: then no row outside each partition's first `k` (with `rank`, and the
/// `k`-th's peers) can pass `predicate`, and the node may compute and return
/// only those (the window top-N). `width` is the node's input width (window
/// column `j` is column `width + j`). A conjunct `r <= c`, `r < c`, `r = c` (or
/// flipped) with an integer literal `c` and `r` one of the rankings bounds it.
pub fn window_top(
    predicate: &Expr,
    width: usize,
    windows: &[(WindowExpr, String)],
) -> Option<usize> {
    let first = &windows.first()?.0;
    let ranking = |w: &WindowExpr| matches!(w.func, WindowFunc::RowNumber | WindowFunc::Rank);
    if !windows
        .iter()
        .all(|(w, _)| ranking(w) && w.same_order(first) && w.filter.is_none())
    {
        return None;
    }
    let is_rank = |e: &Expr| matches!(e, Expr::Column { index, .. } if *index >= width && *index < width + windows.len());
    predicate
        .conjuncts()
        .into_iter()
        .filter_map(|c| {
            let Expr::Binary {
                op, left, right, ..
            } = c
            else {
                return None;
            };
            let (op, bound) = match (left.as_ref(), right.as_ref()) {
                (
                    l,
                    Expr::Literal {
                        value: Value::Int(v),
                        ..
                    },
                ) if is_rank(l) => (*op, *v),
                (
                    Expr::Literal {
                        value: Value::Int(v),
                        ..
                    },
                    r,
                ) if is_rank(r) => (op.flip(), *v),
                _ => return None,
            };
            let k = match op {
                BinaryOp::LtEq | BinaryOp::Eq => bound,
                BinaryOp::Lt => bound.saturating_sub(1),
                _ => return None,
            };
            Some(usize::try_from(k.max(0)).unwrap_or(usize::MAX))
        })
        .min()
}
