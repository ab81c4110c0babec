//! The logical plan and the optimizer, below the executor and above storage.
//!
//! - [`logical`]: the typed plan the binder produces ([`LogicalPlan`], [`Expr`]):
//!   every expression carries its type, column references are positions in the
//!   output of the node below.
//! - [`math`]: the numeric functions (`abs`, `sqrt`, `gcd`, ...).
//! - [`statistics`]: the statistical aggregates (variances, covariances,
//!   regressions, products, bit and boolean folds).
//! - [`text`]: the basic string functions (`replace`, `repeat`, `left`, ...).
//! - [`interval`]: the INTERVAL operations (arithmetic, `to_days`, `date_part`, `age`).
//! - [`window`]: the window expressions of a `Window` node (function, partition,
//!   order, frame).
//! - [`table_function`]: the table functions of FROM (`range`, `generate_series`,
//!   the file readers) with their arguments evaluated.
//! - [`apply`]: correlated subqueries moved out of expressions into dependent
//!   joins (`Apply` nodes), and their parameters bound to values.
//! - [`optimize`]: rewrites that keep the meaning (filter pushdown, column pruning,
//!   join sides) and the scan hints the executor uses (time range, zone-map and
//!   index predicates).
//!
//! Nothing here knows SQL text or runs anything: the SQL front end builds plans, the
//! executor's planner turns them into physical operators.

pub mod apply;
pub mod compare_cast;
pub mod interval;
pub mod interval_compare;
pub mod list;
pub mod literal_set;
pub mod logical;
pub mod math;
pub mod optimize;
pub mod recursive;
pub mod statistics;
pub mod table_function;
pub mod text;
pub mod window;

pub use interval::{IntervalFunc, IntervalPart};
pub use list::{ListAggregate, ListFunc};
pub use logical::*;
pub use math::MathFunc;
pub use statistics::{CoMomentStat, FoldFunc, MomentStat};
pub use table_function::{FileRead, JsonFormat, Series, TableFunc};
pub use text::{PathSep, TextFunc};
pub use window::{
    navigates_by_links, window_top, FrameBound, FrameExclude, FrameUnits, KeyIds, WindowExpr,
    WindowFrame, WindowFunc, MAX_LINK_STEPS,
};
