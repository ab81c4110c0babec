//! Binding of window functions: `f(args) [FILTER (WHERE ..)] OVER (...)` and
//! `OVER w`, the named windows of the `WINDOW` clause, frames, and the
//! select-list aliases QUALIFY may name.
//!
//! While a select list, ORDER BY or QUALIFY is bound, each window call becomes a
//! column at or above [`WIN_MARK`] (as aggregate calls become columns at or above
//! `AGG_MARK`); `select` places a `Window` node above the aggregate (if any) and
//! rewrites those columns to the node's outputs.

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::functions::aggregate2_func;
use super::{is_int, is_null_literal, is_number, is_numeric, Binder};
use crate::column::Value;
use crate::error::{Error, Result};
use crate::plan::{
    AggFunc, Expr, FrameBound, FrameExclude, FrameUnits, SortKey, WindowExpr, WindowFrame,
    WindowFunc,
};
use crate::schema::DataType;
use crate::sql::frame_exclude;

/// Column indexes at or above this mark stand for window calls while a select
/// list is bound (above `AGG_MARK`, so aggregate rewrites leave them alone).
pub(super) const WIN_MARK: usize = 1 << 41;

/// The window calls of the SELECT being bound and what they may refer to.
#[derive(Default)]
pub(super) struct WindowState {
    /// Window calls met so far (each once).
    pub calls: Vec<WindowExpr>,
    /// Whether a window call may appear here (select list, ORDER BY, QUALIFY).
    pub allowed: bool,
    /// Whether the arguments of a window call are being bound.
    nested: bool,
    /// Whether the arguments of an aggregate call are being bound (no window call
    /// may appear there).
    pub in_aggregate: bool,
    /// The `WINDOW name AS (...)` definitions.
    pub named: Vec<(String, ast::WindowSpec)>,
    /// Select-list aliases that names may fall back to (QUALIFY).
    pub aliases: Vec<(String, Expr)>,
}

/// The window spec a call's OVER clause refers to, with the named window it
/// builds on merged in.
struct Spec {
    partition_by: Vec<ast::Expr>,
    order_by: Vec<ast::OrderByExpr>,
    frame: Option<ast::WindowFrame>,
    /// The frame's EXCLUDE clause (`frame_exclude.rs`), with its position.
    exclude: Option<(FrameExclude, Span)>,
}

impl Binder<'_> {
    /// Records the `WINDOW` clause of a SELECT.
    pub(super) fn named_windows(&mut self, defs: &[ast::NamedWindowDefinition]) -> Result<()> {
        self.win.named.clear();
        for ast::NamedWindowDefinition(name, expr) in defs {
            if self
                .win
                .named
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(&name.value))
            {
                return Err(self.err(
                    name.span,
                    format!("window \"{}\" is already defined", name.value),
                ));
            }
            let spec = match expr {
                ast::NamedWindowExpr::WindowSpec(s) => s.clone(),
                ast::NamedWindowExpr::NamedWindow(other) => self.named_window(other)?.clone(),
            };
            self.win.named.push((name.value.clone(), spec));
        }
        Ok(())
    }

    fn named_window(&self, name: &ast::Ident) -> Result<&ast::WindowSpec> {
        self.win
            .named
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name.value))
            .map(|(_, s)| s)
            .ok_or_else(|| {
                self.err(
                    name.span,
                    format!("window \"{}\" is not defined", name.value),
                )
            })
    }

    /// The spec of an OVER clause, a named window's parts first.
    fn spec(&self, over: &ast::WindowType, span: Span) -> Result<Spec> {
        let (base, own) = match over {
            ast::WindowType::NamedWindow(name) => (Some(self.named_window(name)?), None),
            ast::WindowType::WindowSpec(s) => match &s.window_name {
                Some(name) => (Some(self.named_window(name)?), Some(s)),
                None => (None, Some(s)),
            },
        };
        if let (
            Some(b),
            Some(ast::WindowSpec {
                window_name: Some(name),
                ..
            }),
        ) = (base, own)
        {
            // DuckDB: `OVER (w ...)` copies w, which must not have a frame.
            if b.window_frame.is_some() {
                return Err(self.err(
                    span,
                    format!(
                        "cannot copy window \"{}\" because it has a frame clause",
                        name.value
                    ),
                ));
            }
        }
        let mut spec = Spec {
            partition_by: Vec::new(),
            order_by: Vec::new(),
            frame: None,
            exclude: None,
        };
        if let Some(b) = base {
            spec.partition_by = b.partition_by.clone();
            spec.order_by = b.order_by.clone();
            spec.exclude = frame_exclude::take(&mut spec.order_by);
            spec.frame = b.window_frame.clone();
        }
        if let Some(o) = own {
            let mut o = o.clone();
            let exclude = frame_exclude::take(&mut o.order_by);
            if exclude.is_some() {
                spec.exclude = exclude;
            }
            if base.is_some() && !o.partition_by.is_empty() {
                return Err(self.err(
                    span,
                    "cannot override the PARTITION BY clause of a named window",
                ));
            }
            if base.is_some() && !o.order_by.is_empty() && !spec.order_by.is_empty() {
                return Err(self.err(
                    span,
                    "cannot override the ORDER BY clause of a named window",
                ));
            }
            if !o.partition_by.is_empty() {
                spec.partition_by = o.partition_by;
            }
            if !o.order_by.is_empty() {
                spec.order_by = o.order_by;
            }
            if o.window_frame.is_some() {
                spec.frame = o.window_frame;
                spec.exclude = exclude;
            }
        }
        Ok(spec)
    }

    /// A window function call (`f.over` is set): returns the column standing for it.
    pub(super) fn bind_window(
        &mut self,
        f: &ast::Function,
        name: &str,
        args: &[&ast::Expr],
        star: bool,
        distinct: bool,
        span: Span,
    ) -> Result<Expr> {
        if self.win.nested {
            return Err(self.err(span, "window function calls cannot be nested"));
        }
        if self.win.in_aggregate {
            return Err(self.err(
                span,
                "aggregate function calls cannot contain window function calls",
            ));
        }
        if !self.win.allowed {
            return Err(self.err(
                span,
                "window functions are only allowed in the select list, ORDER BY and QUALIFY",
            ));
        }
        let over = f
            .over
            .as_ref()
            .ok_or_else(|| Error::Internal("a window call without OVER".into()))?;
        let func = match name {
            "row_number" => WindowFunc::RowNumber,
            "rank" => WindowFunc::Rank,
            "dense_rank" => WindowFunc::DenseRank,
            "percent_rank" => WindowFunc::PercentRank,
            "cume_dist" => WindowFunc::CumeDist,
            "ntile" => WindowFunc::Ntile,
            "lag" => WindowFunc::Lag,
            "lead" => WindowFunc::Lead,
            "first_value" | "first" => WindowFunc::FirstValue,
            "last_value" | "last" => WindowFunc::LastValue,
            "nth_value" => WindowFunc::NthValue,
            "fill" => WindowFunc::Fill,
            "count" if star => WindowFunc::Agg(AggFunc::CountStar),
            "count_star" => WindowFunc::Agg(AggFunc::CountStar),
            "count" => WindowFunc::Agg(AggFunc::Count),
            "sum" => WindowFunc::Agg(AggFunc::Sum),
            "avg" | "mean" => WindowFunc::Agg(AggFunc::Avg),
            "min" => WindowFunc::Agg(AggFunc::Min),
            "max" => WindowFunc::Agg(AggFunc::Max),
            "any_value" => WindowFunc::Agg(AggFunc::AnyValue),
            other => match self
                .statistic_func(other)
                .or_else(|| aggregate2_func(other))
            {
                Some(agg) => WindowFunc::Agg(agg),
                None => {
                    return Err(self.unsupported(f.name.span(), format!("window function {other}")))
                }
            },
        };
        if distinct {
            return Err(self.unsupported(span, "DISTINCT in window functions"));
        }
        if star && func != WindowFunc::Agg(AggFunc::CountStar) {
            return Err(self.err(span, format!("{name}(*) is not a function call")));
        }
        if matches!(func, WindowFunc::Agg(_)) && has_null_treatment(f) {
            return Err(self.err(
                span,
                "RESPECT/IGNORE NULLS is not supported for windowed aggregates",
            ));
        }
        let ignore_nulls = self.null_treatment(f, func == WindowFunc::Fill, span)?;
        if ignore_nulls
            && !matches!(
                func,
                WindowFunc::Lag
                    | WindowFunc::Lead
                    | WindowFunc::FirstValue
                    | WindowFunc::LastValue
                    | WindowFunc::NthValue
            )
        {
            return Err(self.err(span, format!("IGNORE NULLS is not allowed for {name}")));
        }
        if f.filter.is_some() && !matches!(func, WindowFunc::Agg(_)) {
            return Err(self.err(
                span,
                format!("FILTER is only allowed on aggregates, not {name}"),
            ));
        }
        let spec = self.spec(over, span)?;

        self.win.nested = true;
        let bound = self.window_parts(func, name, args, &spec, f.filter.as_deref(), span);
        self.win.nested = false;
        let (args, data_type, partition_by, order_by, filter) = bound?;
        let arg_order = match func {
            WindowFunc::Fill => self.fill_key(f, &order_by, span)?,
            _ => Vec::new(),
        };
        let mut frame = self.frame(spec.frame.as_ref(), &order_by, span)?;
        // Functions that read no frame ignore its EXCLUDE too (DuckDB).
        if let Some((exclude, _)) = spec.exclude.filter(|_| func.uses_frame()) {
            frame.exclude = exclude;
        }
        let call = WindowExpr {
            func,
            args,
            arg_order,
            partition_by,
            order_by,
            frame,
            filter,
            ignore_nulls,
            data_type,
        };
        let j = match self.win.calls.iter().position(|c| *c == call) {
            Some(j) => j,
            None => {
                self.win.calls.push(call);
                self.win.calls.len() - 1
            }
        };
        Ok(Expr::Column {
            index: WIN_MARK + j,
            name: format!("win{j}"),
            data_type,
        })
    }

    /// `IGNORE NULLS` (after the call or inside its parentheses); an ORDER BY
    /// inside them is allowed when `order` says so (and bound elsewhere).
    fn null_treatment(&self, f: &ast::Function, order: bool, span: Span) -> Result<bool> {
        let mut ignore = matches!(f.null_treatment, Some(ast::NullTreatment::IgnoreNulls));
        if let ast::FunctionArguments::List(l) = &f.args {
            for c in &l.clauses {
                match c {
                    ast::FunctionArgumentClause::IgnoreOrRespectNulls(t) => {
                        ignore = matches!(t, ast::NullTreatment::IgnoreNulls)
                    }
                    ast::FunctionArgumentClause::OrderBy(_) if order => {}
                    _ => return Err(self.unsupported(span, "clauses inside a function call")),
                }
            }
        }
        Ok(ignore)
    }

    /// The key `fill` interpolates along: the ORDER BY inside its parentheses,
    /// else the window's; exactly one key of a type with a subtraction.
    fn fill_key(
        &mut self,
        f: &ast::Function,
        order_by: &[SortKey],
        span: Span,
    ) -> Result<Vec<SortKey>> {
        let own = match &f.args {
            ast::FunctionArguments::List(l) => l.clauses.iter().find_map(|c| match c {
                ast::FunctionArgumentClause::OrderBy(o) => Some(o),
                _ => None,
            }),
            _ => None,
        };
        let keys = match own {
            Some(order) => {
                let mut keys = Vec::with_capacity(order.len());
                self.win.nested = true;
                let bound = (|| {
                    for o in order {
                        let (descending, nulls_first) = self.sort_options(o)?;
                        keys.push(SortKey {
                            expr: self.bind_expr(&o.expr)?,
                            descending,
                            nulls_first,
                        });
                    }
                    Ok::<(), Error>(())
                })();
                self.win.nested = false;
                bound?;
                keys
            }
            None => order_by.to_vec(),
        };
        if keys.len() != 1 {
            return Err(self.err(
                span,
                "FILL functions must have only one ORDER BY expression",
            ));
        }
        if !subtractable(keys[0].expr.data_type()) {
            return Err(self.err(span, "FILL ordering must support subtraction"));
        }
        Ok(keys)
    }

    /// Arguments, result type, partition keys, order keys and FILTER of a call.
    #[allow(clippy::type_complexity)]
    fn window_parts(
        &mut self,
        func: WindowFunc,
        name: &str,
        args: &[&ast::Expr],
        spec: &Spec,
        filter: Option<&ast::Expr>,
        span: Span,
    ) -> Result<(Vec<Expr>, DataType, Vec<Expr>, Vec<SortKey>, Option<Expr>)> {
        if let Some(agg) = self.window_statistic(name, args, span)? {
            let bound = agg.arg.into_iter().chain(agg.arg2).collect();
            return self.window_rest(bound, agg.data_type, spec, filter);
        }
        if let Some(f2) = aggregate2_func(name) {
            let agg = self.aggregate2(f2, name, args, span, false)?;
            // A quantile's fraction travels as a second, literal argument.
            let second = match f2 {
                AggFunc::QuantileCont | AggFunc::QuantileDisc | AggFunc::ApproxQuantile => {
                    Some(Expr::literal(Value::Float(agg.quantile), DataType::Double))
                }
                _ => agg.arg2,
            };
            let bound = agg.arg.into_iter().chain(second).collect();
            return self.window_rest(bound, agg.data_type, spec, filter);
        }
        let (min, max) = match func {
            WindowFunc::RowNumber
            | WindowFunc::Rank
            | WindowFunc::DenseRank
            | WindowFunc::PercentRank
            | WindowFunc::CumeDist
            | WindowFunc::Agg(AggFunc::CountStar) => (0, 0),
            WindowFunc::Ntile
            | WindowFunc::Fill
            | WindowFunc::FirstValue
            | WindowFunc::LastValue
            | WindowFunc::Agg(_) => (1, 1),
            WindowFunc::NthValue => (2, 2),
            WindowFunc::Lag | WindowFunc::Lead => (1, 3),
        };
        if args.len() < min || args.len() > max {
            let want = if min == max {
                min.to_string()
            } else {
                format!("{min} to {max}")
            };
            return Err(self.err(
                span,
                format!("{name} takes {want} argument(s), got {}", args.len()),
            ));
        }
        let mut bound = Vec::with_capacity(args.len());
        for a in args {
            bound.push(self.bind_expr(a)?);
        }
        let data_type = match func {
            WindowFunc::RowNumber | WindowFunc::Rank | WindowFunc::DenseRank => DataType::BigInt,
            WindowFunc::PercentRank | WindowFunc::CumeDist => DataType::Double,
            WindowFunc::Ntile => {
                bound[0] = self.int_constant(bound[0].clone(), args[0].span(), "ntile's count")?;
                DataType::BigInt
            }
            WindowFunc::NthValue => {
                bound[1] =
                    self.int_constant(bound[1].clone(), args[1].span(), "nth_value's index")?;
                bound[0].data_type()
            }
            WindowFunc::Lag | WindowFunc::Lead => {
                if bound.len() > 1 {
                    bound[1] = self.int_constant(bound[1].clone(), args[1].span(), "the offset")?;
                }
                let mut t = bound[0].data_type();
                if bound.len() > 2 {
                    if is_null_literal(&bound[0]) {
                        t = bound[2].data_type();
                        bound[0] = Expr::literal(Value::Null, t);
                    }
                    bound[2] = self.cast(bound[2].clone(), t, args[2].span())?;
                }
                t
            }
            WindowFunc::FirstValue | WindowFunc::LastValue => bound[0].data_type(),
            WindowFunc::Fill => {
                if is_null_literal(&bound[0]) {
                    bound[0] = Expr::literal(Value::Null, DataType::Integer);
                }
                let t = bound[0].data_type();
                if !subtractable(t) {
                    return Err(self.err(span, "FILL argument must support subtraction"));
                }
                t
            }
            WindowFunc::Agg(AggFunc::CountStar) => DataType::BigInt,
            WindowFunc::Agg(agg) => {
                let (x, t) = self.agg_result(agg, bound[0].clone(), args[0].span())?;
                bound[0] = x;
                t
            }
        };
        self.window_rest(bound, data_type, spec, filter)
    }

    /// The partition keys, order keys and FILTER of a call whose arguments are
    /// bound, with them.
    #[allow(clippy::type_complexity)]
    fn window_rest(
        &mut self,
        bound: Vec<Expr>,
        data_type: DataType,
        spec: &Spec,
        filter: Option<&ast::Expr>,
    ) -> Result<(Vec<Expr>, DataType, Vec<Expr>, Vec<SortKey>, Option<Expr>)> {
        let mut partition_by = Vec::with_capacity(spec.partition_by.len());
        for p in &spec.partition_by {
            partition_by.push(self.bind_expr(p)?);
        }
        let mut order_by = Vec::with_capacity(spec.order_by.len());
        for o in &spec.order_by {
            let (descending, nulls_first) = self.sort_options(o)?;
            order_by.push(SortKey {
                expr: self.bind_expr(&o.expr)?,
                descending,
                nulls_first,
            });
        }
        let filter = match filter {
            Some(flt) => {
                let c = self.bind_expr(flt)?;
                Some(self.to_bool(c, flt.span(), "FILTER")?)
            }
            None => None,
        };
        Ok((bound, data_type, partition_by, order_by, filter))
    }

    /// A constant integer argument (or NULL); other expressions are not supported.
    fn int_constant(&self, e: Expr, span: Span, what: &str) -> Result<Expr> {
        match e {
            Expr::Literal {
                value: Value::Null, ..
            } => Ok(Expr::literal(Value::Null, DataType::BigInt)),
            Expr::Literal {
                value: value @ Value::Int(_),
                data_type,
            } if is_int(data_type) => Ok(Expr::literal(value, DataType::BigInt)),
            e if is_int(e.data_type()) => {
                Err(self.unsupported(span, format!("{what} other than a constant")))
            }
            e => Err(self.err(
                span,
                format!("{what} must be an integer, not {}", e.data_type()),
            )),
        }
    }

    /// The frame clause (SQL's default when absent), checked as DuckDB does.
    fn frame(
        &self,
        frame: Option<&ast::WindowFrame>,
        order_by: &[SortKey],
        span: Span,
    ) -> Result<WindowFrame> {
        let Some(f) = frame else {
            return Ok(WindowFrame::default_frame());
        };
        let units = match f.units {
            ast::WindowFrameUnits::Rows => FrameUnits::Rows,
            ast::WindowFrameUnits::Range => FrameUnits::Range,
            ast::WindowFrameUnits::Groups => FrameUnits::Groups,
        };
        let start = self.frame_bound(&f.start_bound, units, order_by)?;
        let end = match &f.end_bound {
            Some(b) => self.frame_bound(b, units, order_by)?,
            None => FrameBound::CurrentRow,
        };
        if start == FrameBound::UnboundedFollowing {
            return Err(self.err(span, "frame start cannot be UNBOUNDED FOLLOWING"));
        }
        if end == FrameBound::UnboundedPreceding {
            return Err(self.err(span, "frame end cannot be UNBOUNDED PRECEDING"));
        }
        if matches!(start, FrameBound::Following(_))
            && matches!(end, FrameBound::Preceding(_) | FrameBound::CurrentRow)
        {
            return Err(self.err(
                span,
                "a frame starting from a following row cannot have preceding rows",
            ));
        }
        if matches!(start, FrameBound::CurrentRow) && matches!(end, FrameBound::Preceding(_)) {
            return Err(self.err(
                span,
                "a frame starting from the current row cannot have preceding rows",
            ));
        }
        Ok(WindowFrame {
            units,
            start,
            end,
            exclude: FrameExclude::NoOthers,
        })
    }

    fn frame_bound(
        &self,
        b: &ast::WindowFrameBound,
        units: FrameUnits,
        order_by: &[SortKey],
    ) -> Result<FrameBound> {
        let (offset, preceding) = match b {
            ast::WindowFrameBound::CurrentRow => return Ok(FrameBound::CurrentRow),
            ast::WindowFrameBound::Preceding(None) => return Ok(FrameBound::UnboundedPreceding),
            ast::WindowFrameBound::Following(None) => return Ok(FrameBound::UnboundedFollowing),
            ast::WindowFrameBound::Preceding(Some(e)) => (e.as_ref(), true),
            ast::WindowFrameBound::Following(Some(e)) => (e.as_ref(), false),
        };
        let at = offset.span();
        let value = match units {
            FrameUnits::Rows | FrameUnits::Groups => match self.constant(offset)? {
                Some((Value::Int(v), t)) if is_int(t) => Value::Int(v),
                _ => return Err(self.unsupported(at, "frame offsets other than an integer")),
            },
            FrameUnits::Range => {
                let [key] = order_by else {
                    return Err(self.err(
                        at,
                        "RANGE frames with an offset need exactly one ORDER BY expression",
                    ));
                };
                let kt = key.expr.data_type();
                match (kt, offset) {
                    (DataType::Timestamp, ast::Expr::Interval(iv)) => {
                        Value::Int(self.interval_micros(iv, at)?)
                    }
                    (DataType::Timestamp, _) => {
                        return Err(
                            self.err(at, "a RANGE offset over a TIMESTAMP must be an INTERVAL")
                        )
                    }
                    (t, _) if is_int(t) => match self.constant(offset)? {
                        Some((Value::Int(v), ot)) if is_int(ot) => Value::Int(v),
                        _ => {
                            return Err(self.unsupported(
                                at,
                                format!("RANGE offsets over {t} other than an integer"),
                            ))
                        }
                    },
                    (t, _) if is_numeric(t) => {
                        match self.constant(offset)?.filter(|(_, ot)| is_number(*ot)) {
                            Some((v, ot)) => crate::value::cast_value(&v, ot, DataType::Double)
                                .map_err(|m| self.err(at, m))?,
                            _ => {
                                return Err(
                                    self.unsupported(at, "RANGE offsets other than a number")
                                )
                            }
                        }
                    }
                    (t, _) => {
                        return Err(
                            self.unsupported(at, format!("RANGE frames with an offset over {t}"))
                        )
                    }
                }
            }
        };
        let negative = match &value {
            Value::Int(v) => *v < 0,
            Value::Float(v) => *v < 0.0 || v.is_nan(),
            _ => false,
        };
        if negative {
            return Err(self.err(at, "frame offsets must not be negative"));
        }
        Ok(if preceding {
            FrameBound::Preceding(value)
        } else {
            FrameBound::Following(value)
        })
    }

    /// The value and type of a constant expression (`None` when it is not a
    /// literal).
    fn constant(&self, e: &ast::Expr) -> Result<Option<(Value, DataType)>> {
        let mut b = self.child(false);
        Ok(match b.bind_expr(e) {
            Ok(Expr::Literal { value, data_type }) => Some((value, data_type)),
            Ok(_) | Err(_) => None,
        })
    }
}

/// Whether the call says IGNORE NULLS or RESPECT NULLS (after the call or inside its
/// parentheses).
fn has_null_treatment(f: &ast::Function) -> bool {
    f.null_treatment.is_some()
        || matches!(&f.args, ast::FunctionArguments::List(l) if l.clauses.iter().any(|c| {
            matches!(c, ast::FunctionArgumentClause::IgnoreOrRespectNulls(_))
        }))
}

/// Whether `fill` can interpolate values of type `t` (or along keys of it):
/// numbers, DATE, TIMESTAMP and TIME.
fn subtractable(t: DataType) -> bool {
    is_number(t) || matches!(t, DataType::Date | DataType::Timestamp | DataType::Time)
}
