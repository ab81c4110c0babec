//! Binding of the aggregates beyond count/sum/avg/min/max, and of FILTER clauses.

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::{is_decimal, is_null_literal, is_number, is_numeric, Binder, AGG_MARK};
use crate::column::Value;
use crate::error::{Error, Result};
use crate::plan::{AggExpr, AggFunc, Expr, Pattern, ScalarFunc};
use crate::schema::DataType;

impl Binder<'_> {
    /// Binds an aggregate argument in table scope (no nested aggregates).
    pub(super) fn agg_arg(&mut self, e: &ast::Expr) -> Result<Expr> {
        let saved = (self.allow_aggs, self.win.in_aggregate, self.unnest_allowed);
        self.allow_aggs = false;
        self.win.in_aggregate = true;
        self.unnest_allowed = false;
        let r = self.bind_expr(e);
        (self.allow_aggs, self.win.in_aggregate, self.unnest_allowed) = saved;
        r.map_err(|err| match err {
            Error::InvalidInput(m) if m.contains("aggregate functions are not allowed") => {
                self.err(e.span(), "aggregate calls cannot be nested")
            }
            other => other,
        })
    }

    /// A quantile argument: a numeric literal between 0 and 1.
    fn quantile_arg(&mut self, e: &ast::Expr, name: &str) -> Result<f64> {
        if let ast::Expr::Array(_) = e {
            return Err(self.unsupported(
                e.span(),
                format!(
                    "quantiles as a list; use one {name}(x, q) per quantile \
                     (a LIST result needs a LIST type)"
                ),
            ));
        }
        let q = match self.agg_arg(e)? {
            Expr::Literal { value, data_type } if is_number(data_type) => {
                match crate::value::cast_value(&value, data_type, DataType::Double) {
                    Ok(Value::Float(f)) => f,
                    _ => {
                        return Err(self.err(
                            e.span(),
                            format!("the quantile of {name} must be a number literal"),
                        ))
                    }
                }
            }
            _ => {
                return Err(self.err(
                    e.span(),
                    format!("the quantile of {name} must be a number literal"),
                ))
            }
        };
        if !(0.0..=1.0).contains(&q) {
            return Err(self.err(
                e.span(),
                format!("the quantile of {name} must be between 0 and 1, not {q}"),
            ));
        }
        Ok(q)
    }

    /// Binds the aggregates added after the first slice; `None` when `name` is
    /// not one of them.
    pub(super) fn bind_aggregate2(
        &mut self,
        name: &str,
        distinct: bool,
        args: &[&ast::Expr],
        span: Span,
    ) -> Result<Option<Expr>> {
        let Some(func) = aggregate2_func(name) else {
            return Ok(None);
        };
        self.check_aggregates_allowed(span)?;
        if distinct && func != AggFunc::ApproxCountDistinct {
            return Err(self.unsupported(span, format!("DISTINCT in {name}")));
        }
        let quantiles = matches!(
            func,
            AggFunc::QuantileCont | AggFunc::QuantileDisc | AggFunc::ApproxQuantile
        );
        if let (true, Some(ast::Expr::Array(list)), [x, _]) = (quantiles, args.get(1), args) {
            return self
                .quantile_list(func, name, x, &list.elem, span)
                .map(Some);
        }
        let agg = self.aggregate2(func, name, args, span, true)?;
        Ok(Some(self.register_agg(agg, self.fallback)?))
    }

    /// `quantile_cont(x, [q1, q2, ...])` (and the other quantiles): one aggregate
    /// per fraction (they share the sorted values) and a count of x, gathered
    /// into a list (NULL where there are no values).
    fn quantile_list(
        &mut self,
        func: AggFunc,
        name: &str,
        x: &ast::Expr,
        fractions: &[ast::Expr],
        span: Span,
    ) -> Result<Expr> {
        let mut cols = Vec::with_capacity(fractions.len() + 1);
        let mut elem = DataType::Double;
        for q in fractions {
            let agg = self.aggregate2(func, name, &[x, q], span, true)?;
            elem = agg.data_type;
            if cols.is_empty() {
                let count = AggExpr {
                    func: AggFunc::Count,
                    data_type: DataType::BigInt,
                    quantile: 0.0,
                    ..agg.clone()
                };
                cols.push(self.register_agg(count, self.fallback)?);
            }
            cols.push(self.register_agg(agg, self.fallback)?);
        }
        if cols.is_empty() {
            // No fractions: `[]` for a group with values.
            let arg = self.agg_arg(x)?;
            let count = AggExpr {
                func: AggFunc::Count,
                arg: Some(arg),
                distinct: false,
                data_type: DataType::BigInt,
                arg2: None,
                filter: None,
                quantile: 0.0,
            };
            if func == AggFunc::QuantileDisc {
                elem = count.arg.as_ref().map_or(elem, Expr::data_type);
            }
            cols.push(self.register_agg(count, self.fallback)?);
        }
        Ok(Expr::Func {
            func: ScalarFunc::List(crate::plan::ListFunc::Quantiles),
            args: cols,
            data_type: DataType::list_of(elem),
        })
    }

    /// The call `name(args)` of aggregate `func` (one of [`aggregate2_func`]'s),
    /// its arguments bound (`in_select`: as an aggregate of the SELECT, whose
    /// arguments may not hold aggregates; else as a window call's, which may).
    pub(super) fn aggregate2(
        &mut self,
        func: AggFunc,
        name: &str,
        args: &[&ast::Expr],
        span: Span,
        in_select: bool,
    ) -> Result<AggExpr> {
        let want = match (func, name) {
            (AggFunc::CountIf | AggFunc::ApproxCountDistinct | AggFunc::Mad, _) | (_, "median") => {
                1
            }
            _ => 2,
        };
        if args.len() != want {
            return Err(self.err(
                span,
                format!("{name} takes {want} argument(s), got {}", args.len()),
            ));
        }
        let mut x = if in_select {
            self.agg_arg(args[0])?
        } else {
            self.bind_expr(args[0])?
        };
        let at = x.data_type();
        let mut agg = AggExpr {
            func,
            arg: None,
            distinct: false,
            data_type: DataType::BigInt,
            arg2: None,
            filter: None,
            quantile: 0.0,
        };
        match func {
            AggFunc::CountIf => {
                if is_null_literal(&x) {
                    x = Expr::literal(Value::Null, DataType::Boolean);
                } else if at != DataType::Boolean {
                    return Err(self.err(
                        args[0].span(),
                        format!("{name} needs a BOOLEAN argument, not {at}"),
                    ));
                }
            }
            AggFunc::ApproxCountDistinct => {}
            AggFunc::QuantileCont | AggFunc::QuantileDisc | AggFunc::ApproxQuantile => {
                if is_null_literal(&x) {
                    x = Expr::literal(Value::Null, DataType::Double);
                } else if !is_numeric(at)
                    && !matches!(at, DataType::Timestamp | DataType::TimestampTz)
                    && !is_decimal(at)
                {
                    return Err(self.err(
                        args[0].span(),
                        format!("{name} needs a numeric or TIMESTAMP argument, not {at}"),
                    ));
                }
                agg.quantile = if name == "median" {
                    0.5
                } else {
                    self.quantile_arg(args[1], name)?
                };
                if func == AggFunc::ApproxQuantile && is_decimal(at) {
                    x = self.coerce_to(x, DataType::Double, args[0].span())?;
                }
                agg.data_type = match (func, x.data_type()) {
                    (_, t @ (DataType::Timestamp | DataType::TimestampTz)) => t,
                    // A DECIMAL's quantiles keep its type (interpolated ones
                    // truncated to its scale, as DuckDB).
                    (_, t) if is_decimal(t) => t,
                    (AggFunc::QuantileCont, _) => DataType::Double,
                    (_, t) => t,
                };
            }
            AggFunc::Mad => {
                let (y, t) = self.mad_arg(x, args[0].span())?;
                x = y;
                agg.data_type = t;
            }
            _ => {
                // arg_max / arg_min
                agg.arg2 = Some(if in_select {
                    self.agg_arg(args[1])?
                } else {
                    self.bind_expr(args[1])?
                });
                agg.data_type = at;
            }
        }
        agg.arg = Some(x);
        Ok(agg)
    }

    /// The argument of `mad(x)` and the result type: a DOUBLE for numbers, the
    /// type itself for a DECIMAL, an INTERVAL for DATE, TIMESTAMP and TIME.
    fn mad_arg(&self, x: Expr, span: Span) -> Result<(Expr, DataType)> {
        let t = x.data_type();
        if is_null_literal(&x) {
            return Ok((
                Expr::literal(Value::Null, DataType::Double),
                DataType::Double,
            ));
        }
        match t {
            DataType::Date | DataType::Timestamp | DataType::Time => Ok((x, DataType::Interval)),
            t if is_decimal(t) => Ok((x, t)),
            t if is_numeric(t) => {
                Ok((self.coerce_to(x, DataType::Double, span)?, DataType::Double))
            }
            t => Err(self.err(
                span,
                format!("mad needs a number, DATE, TIMESTAMP or TIME argument, not {t}"),
            )),
        }
    }

    /// `percentile_cont(q) WITHIN GROUP (ORDER BY x [DESC])` and `percentile_disc`:
    /// `quantile_cont(x, q)` / `quantile_disc(x, q)` (DESC: q becomes 1 - q for
    /// the interpolated one).
    pub(super) fn bind_within_group(
        &mut self,
        f: &ast::Function,
        name: &str,
        args: &[&ast::Expr],
        span: Span,
    ) -> Result<Expr> {
        let to = match name {
            "percentile_cont" => "quantile_cont",
            "percentile_disc" => "quantile_disc",
            _ => return Err(self.unsupported(span, format!("WITHIN GROUP in {name}"))),
        };
        if f.over.is_some() {
            return Err(self.unsupported(span, format!("{name} as a window function")));
        }
        let [order] = f.within_group.as_slice() else {
            return Err(self.err(span, format!("{name} needs exactly one ORDER BY key")));
        };
        let [q] = args else {
            return Err(self.err(
                span,
                format!("{name} takes 1 argument(s), got {}", args.len()),
            ));
        };
        // NULLs are skipped, so NULLS FIRST/LAST changes nothing.
        let (descending, _) = self.sort_options(order)?;
        let flipped;
        let q: &ast::Expr = if descending {
            if to == "quantile_disc" {
                return Err(self.unsupported(order.expr.span(), "DESC in percentile_disc"));
            }
            let v = self.quantile_arg(q, name)?;
            flipped = ast::Expr::value(ast::Value::Number(format!("{}", 1.0 - v), false));
            &flipped
        } else {
            q
        };
        let before = self.aggs.len();
        let e = self
            .bind_aggregate2(to, false, &[&order.expr, q], span)?
            .ok_or_else(|| Error::Internal(format!("{to} is not an aggregate")))?;
        self.attach_filter(e, f.filter.as_deref(), before)
    }

    /// Applies `FILTER (WHERE cond)` to the aggregate call `e` just bound.
    pub(super) fn attach_filter(
        &mut self,
        e: Expr,
        filter: Option<&ast::Expr>,
        before: usize,
    ) -> Result<Expr> {
        // A PIVOT column's condition joins the call's own FILTER.
        let combined;
        let f = match (filter, &self.agg_filter) {
            (None, None) => return Ok(e),
            (Some(f), None) => f,
            (None, Some(p)) => {
                combined = p.clone();
                &combined
            }
            (Some(f), Some(p)) => {
                combined = ast::Expr::BinaryOp {
                    left: Box::new(ast::Expr::Nested(Box::new(f.clone()))),
                    op: ast::BinaryOperator::And,
                    right: Box::new(ast::Expr::Nested(Box::new(p.clone()))),
                };
                &combined
            }
        };
        let j = match e {
            Expr::Column { index, .. } if index >= AGG_MARK => index - AGG_MARK,
            _ => return Err(self.unsupported(f.span(), "FILTER on a list of quantiles")),
        };
        let cond = self.agg_arg(f)?;
        let cond = self.to_bool(cond, f.span(), "FILTER")?;
        let mut agg = if j >= before && j + 1 == self.aggs.len() {
            // Newly added for this call: replace it.
            self.aggs.pop()
        } else {
            self.aggs.get(j).cloned()
        }
        .ok_or_else(|| Error::Internal("aggregate index out of range".into()))?;
        agg.filter = Some(if is_null_literal(&cond) {
            Expr::literal(Value::Null, DataType::Boolean)
        } else {
            cond
        });
        self.register_agg(agg, self.fallback)
    }
}

/// The aggregate of [`Binder::aggregate2`] that `name` calls, if it is one.
pub(super) fn aggregate2_func(name: &str) -> Option<AggFunc> {
    Some(match name {
        "count_if" | "countif" => AggFunc::CountIf,
        "approx_count_distinct" | "uniq" => AggFunc::ApproxCountDistinct,
        "median" | "quantile_cont" => AggFunc::QuantileCont,
        "quantile" | "quantile_disc" => AggFunc::QuantileDisc,
        "approx_quantile" => AggFunc::ApproxQuantile,
        "arg_max" | "argmax" | "max_by" => AggFunc::ArgMax,
        "arg_min" | "argmin" | "min_by" => AggFunc::ArgMin,
        "arg_max_null" => AggFunc::ArgBestNulls {
            max: true,
            nulls_last: false,
        },
        "arg_min_null" => AggFunc::ArgBestNulls {
            max: false,
            nulls_last: false,
        },
        "arg_max_nulls_last" => AggFunc::ArgBestNulls {
            max: true,
            nulls_last: true,
        },
        "arg_min_nulls_last" => AggFunc::ArgBestNulls {
            max: false,
            nulls_last: true,
        },
        "mad" => AggFunc::Mad,
        _ => return None,
    })
}

/// `name = expr` parsed as a named function argument, as the comparison it is.
pub(super) fn named_eq(a: &ast::FunctionArg) -> Option<ast::Expr> {
    let (left, arg) = match a {
        ast::FunctionArg::Named {
            name,
            arg: ast::FunctionArgExpr::Expr(e),
            operator: ast::FunctionArgOperator::Equals,
        } => (ast::Expr::Identifier(name.clone()), e),
        ast::FunctionArg::ExprNamed {
            name,
            arg: ast::FunctionArgExpr::Expr(e),
            operator: ast::FunctionArgOperator::Equals,
        } => (name.clone(), e),
        _ => return None,
    };
    Some(ast::Expr::BinaryOp {
        left: Box::new(left),
        op: ast::BinaryOperator::Eq,
        right: Box::new(arg.clone()),
    })
}

/// Converts a DuckDB (RE2) replacement (`\1`, `\\`) into the `regex` crate's
/// (`${1}`, `$$` for a literal `$`). A group reference is one digit (`\19` is group
/// 1, then `9`); one beyond the pattern's `groups` is refused with its number, as
/// DuckDB refuses it.
fn replacement(s: &str, groups: usize) -> std::result::Result<String, u32> {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match it.next() {
                Some(d) if d.is_ascii_digit() => {
                    let group = d.to_digit(10).unwrap_or(0);
                    if group as usize > groups {
                        return Err(group);
                    }
                    out.push_str("${");
                    out.push(d);
                    out.push('}');
                }
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    Ok(out)
}

impl Binder<'_> {
    /// An argument that must be VARCHAR (a NULL literal becomes a VARCHAR NULL).
    pub(super) fn varchar_arg(
        &mut self,
        name: &str,
        args: &[&ast::Expr],
        k: usize,
    ) -> Result<Expr> {
        let x = self.bind_expr(args[k])?;
        if is_null_literal(&x) {
            return Ok(Expr::literal(Value::Null, DataType::Varchar));
        }
        if x.data_type() != DataType::Varchar {
            return Err(self.err(
                args[k].span(),
                format!(
                    "{name} needs a VARCHAR as argument {}, not {}",
                    k + 1,
                    x.data_type()
                ),
            ));
        }
        Ok(x)
    }

    /// An argument that must be an integer (widened to BIGINT).
    pub(super) fn int_arg(&mut self, name: &str, args: &[&ast::Expr], k: usize) -> Result<Expr> {
        let x = self.bind_expr(args[k])?;
        if is_null_literal(&x) {
            return Ok(Expr::literal(Value::Null, DataType::BigInt));
        }
        if !super::is_int(x.data_type()) {
            return Err(self.err(
                args[k].span(),
                format!(
                    "{name} needs an integer as argument {}, not {}",
                    k + 1,
                    x.data_type()
                ),
            ));
        }
        self.coerce_to(x, DataType::BigInt, args[k].span())
    }

    /// A literal text argument (patterns, formats, CIDRs).
    pub(super) fn literal_text(
        &mut self,
        name: &str,
        args: &[&ast::Expr],
        k: usize,
    ) -> Result<Option<String>> {
        match self.bind_expr(args[k])? {
            Expr::Literal {
                value: Value::Str(s),
                ..
            } => Ok(Some(s.to_string())),
            Expr::Literal {
                value: Value::Null, ..
            } => Ok(None),
            _ => Err(self.unsupported(
                args[k].span(),
                format!("{name} with argument {} other than a string literal", k + 1),
            )),
        }
    }

    /// Any value as VARCHAR text (cast when needed).
    pub(super) fn as_text(&mut self, e: &ast::Expr) -> Result<Expr> {
        let x = self.bind_expr(e)?;
        if x.data_type() == DataType::Varchar {
            return Ok(x);
        }
        if is_null_literal(&x) {
            return Ok(Expr::literal(Value::Null, DataType::Varchar));
        }
        self.cast(x, DataType::Varchar, e.span())
    }

    /// `a || b`: string concatenation, NULL if either side is NULL.
    pub(super) fn bind_concat_op(&mut self, l: &ast::Expr, r: &ast::Expr) -> Result<Expr> {
        if let Some(e) = self.bind_list_concat(l, r)? {
            return Ok(e);
        }
        let a = self.as_text(l)?;
        let b = self.as_text(r)?;
        Ok(Expr::Func {
            func: ScalarFunc::ConcatOp,
            args: vec![a, b],
            data_type: DataType::Varchar,
        })
    }

    /// `now()` / `current_timestamp`: the query's start time, as a literal.
    pub(super) fn bind_now(&self, name: &str, f: &ast::Function) -> Option<Expr> {
        let empty = match &f.args {
            ast::FunctionArguments::None => true,
            ast::FunctionArguments::List(l) => l.args.is_empty(),
            ast::FunctionArguments::Subquery(_) => false,
        };
        if !empty || !matches!(name, "now" | "current_timestamp" | "get_current_timestamp") {
            return None;
        }
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        Some(Expr::literal(Value::Int(micros), DataType::Timestamp))
    }

    fn ip_in_cidr(&mut self, name: &str, args: &[&ast::Expr]) -> Result<Expr> {
        let ip = self.bind_expr(args[0])?;
        let ip = if is_null_literal(&ip) {
            Expr::literal(Value::Null, DataType::Ip)
        } else if ip.data_type() == DataType::Ip {
            ip
        } else if let Expr::Literal {
            value: Value::Str(_),
            ..
        } = &ip
        {
            self.coerce_to(ip, DataType::Ip, args[0].span())?
        } else {
            return Err(self.err(
                args[0].span(),
                format!("{name} needs an IP as argument 1, not {}", ip.data_type()),
            ));
        };
        let Some(text) = self.literal_text(name, args, 1)? else {
            return Ok(Expr::literal(Value::Null, DataType::Boolean));
        };
        let (net, mask) = crate::ip::parse_cidr(&text).map_err(|m| self.err(args[1].span(), m))?;
        Ok(Expr::Func {
            func: ScalarFunc::IpInCidr(net, mask),
            args: vec![ip],
            data_type: DataType::Boolean,
        })
    }

    /// Binds the scalar functions added after the first slice; `None` when `name`
    /// is not one of them.
    pub(super) fn bind_scalar2(
        &mut self,
        name: &str,
        args: &[&ast::Expr],
        span: Span,
    ) -> Result<Option<Expr>> {
        let (lo, hi) = match name {
            "strftime"
            | "strptime"
            | "try_strptime"
            | "tostartofinterval"
            | "starts_with"
            | "ends_with"
            | "prefix"
            | "suffix"
            | "contains"
            | "regexp_matches"
            | "url_param"
            | "extracturlparameter"
            | "ip_in_cidr"
            | "isipaddressinrange" => (2, 2),
            "substr" | "substring" | "regexp_extract" => (2, 3),
            "split_part" => (3, 3),
            "regexp_replace" => (3, 4),
            "url_path" | "path" | "domain" => (1, 1),
            "to_timestamp"
            | "format_bytes"
            | "formatreadablesize"
            | "formatreadabledecimalsize"
            | "pg_size_pretty"
            | "tostartoffiveminutes"
            | "tostartoffiveminute"
            | "tostartoftenminutes"
            | "tostartoffifteenminutes" => (1, 1),
            "json_extract" | "json_extract_string" | "json_extract_path_text" => (2, 2),
            "round" | "trunc" => (1, 2),
            "concat" => (1, usize::MAX),
            _ => {
                return match self.bind_string_function(name, args, span)? {
                    Some(e) => Ok(Some(e)),
                    None => self.bind_math_function(name, args, span),
                }
            }
        };
        if args.len() < lo || args.len() > hi {
            let want = if lo == hi {
                lo.to_string()
            } else if hi == usize::MAX {
                format!("at least {lo}")
            } else {
                format!("{lo} to {hi}")
            };
            return Err(self.err(
                span,
                format!("{name} takes {want} argument(s), got {}", args.len()),
            ));
        }
        let func = |func: ScalarFunc, args: Vec<Expr>, data_type: DataType| {
            Ok(Some(Expr::Func {
                func,
                args,
                data_type,
            }))
        };
        let null = |t: DataType| Ok(Some(Expr::literal(Value::Null, t)));
        match name {
            "strftime" => {
                let ts = self.bind_expr(args[0])?;
                let ns = ts.data_type() == DataType::TimestampNs;
                let ts = self.expect_timestamp(ts, args[0].span(), "strftime")?;
                let Some(fmt) = self.literal_text(name, args, 1)? else {
                    return null(DataType::Varchar);
                };
                let items =
                    crate::time::parse_format(&fmt).map_err(|m| self.err(args[1].span(), m))?;
                if ns && items.contains(&crate::time::FmtItem::Spec('n', false)) {
                    // The kernel sees microseconds.
                    return Err(self.unsupported(args[1].span(), "%n of a TIMESTAMP_NS"));
                }
                func(
                    ScalarFunc::Strftime(fmt.into()),
                    vec![ts],
                    DataType::Varchar,
                )
            }
            "strptime" | "try_strptime" => {
                let text = self.varchar_arg(name, args, 0)?;
                let Some(fmt) = self.literal_text(name, args, 1)? else {
                    return null(DataType::Timestamp);
                };
                if fmt.is_empty() {
                    return Err(self.err(
                        args[1].span(),
                        "Failed to parse format specifier : Empty format string",
                    ));
                }
                let items =
                    crate::time::parse_format(&fmt).map_err(|m| self.err(args[1].span(), m))?;
                if items
                    .iter()
                    .any(|i| matches!(i, crate::time::FmtItem::Spec('z' | 'Z', _)))
                {
                    return Err(self.unsupported(
                        args[1].span(),
                        "%z / %Z in strptime (DuckDB returns TIMESTAMP WITH TIME ZONE)",
                    ));
                }
                let unread = items.iter().find_map(|i| match i {
                    crate::time::FmtItem::Spec(c, _) if crate::time::NOT_PARSED.contains(*c) => {
                        Some(*c)
                    }
                    _ => None,
                });
                if let Some(c) = unread {
                    return Err(self.unsupported(args[1].span(), format!("%{c} in strptime")));
                }
                if crate::time::mixes_week_fields(&items) {
                    return Err(self.unsupported(
                        args[1].span(),
                        "strptime formats mixing %U, %W, %V/%G and %j, or %V/%G with %Y/%y",
                    ));
                }
                func(
                    ScalarFunc::Strptime(fmt.into(), name == "try_strptime"),
                    vec![text],
                    DataType::Timestamp,
                )
            }
            "tostartofinterval" => {
                let ts = self.bind_expr(args[0])?;
                let ts = self.expect_timestamp(ts, args[0].span(), "toStartOfInterval")?;
                let width = match args[1] {
                    ast::Expr::Interval(iv) => self.interval_micros(iv, args[1].span())?,
                    other => {
                        return Err(self.err(
                            other.span(),
                            "toStartOfInterval needs an INTERVAL as argument 2",
                        ))
                    }
                };
                if width <= 0 {
                    return Err(self.err(args[1].span(), "the interval must be positive"));
                }
                func(
                    ScalarFunc::StartOfInterval(width),
                    vec![ts],
                    DataType::Timestamp,
                )
            }
            "substr" | "substring" => {
                let mut a = vec![
                    self.varchar_arg(name, args, 0)?,
                    self.int_arg(name, args, 1)?,
                ];
                if args.len() == 3 {
                    a.push(self.int_arg(name, args, 2)?);
                }
                func(ScalarFunc::Substr, a, DataType::Varchar)
            }
            "concat" => {
                let a = args
                    .iter()
                    .map(|e| self.as_text(e))
                    .collect::<Result<Vec<_>>>()?;
                func(ScalarFunc::Concat, a, DataType::Varchar)
            }
            "starts_with" | "ends_with" | "prefix" | "suffix" | "contains" => {
                // DuckDB's `contains` is also the list and map function: with an
                // untyped NULL needle and no VARCHAR-typed haystack it cannot pick one.
                if name == "contains" {
                    let (h, n) = (self.bind_expr(args[0])?, self.bind_expr(args[1])?);
                    let untyped =
                        |e: &Expr| is_null_literal(e) && e.data_type() == DataType::Integer;
                    let text_literal = matches!(args[0], ast::Expr::Value(v)
                        if matches!(v.value, ast::Value::SingleQuotedString(_)));
                    if untyped(&n) && (untyped(&h) || text_literal) {
                        return Err(self.err(
                            span,
                            "Could not choose a best candidate function for contains: add \
                             an explicit type cast (NULL::VARCHAR)",
                        ));
                    }
                }
                let a = vec![
                    self.varchar_arg(name, args, 0)?,
                    self.varchar_arg(name, args, 1)?,
                ];
                let f = match name {
                    "starts_with" | "prefix" => ScalarFunc::StartsWith,
                    "ends_with" | "suffix" => ScalarFunc::EndsWith,
                    _ => ScalarFunc::Contains,
                };
                func(f, a, DataType::Boolean)
            }
            "split_part" => {
                let a = vec![
                    self.varchar_arg(name, args, 0)?,
                    self.varchar_arg(name, args, 1)?,
                    self.int_arg(name, args, 2)?,
                ];
                func(ScalarFunc::SplitPart, a, DataType::Varchar)
            }
            "regexp_matches" | "regexp_extract" | "regexp_replace" => {
                if let (Some(ast::Expr::Array(_)), "regexp_extract") = (args.get(2), name) {
                    return Err(self.unsupported(
                        args[2].span(),
                        "regexp_extract with a list of group names (a STRUCT result)",
                    ));
                }
                let s = self.varchar_arg(name, args, 0)?;
                let Some(pat) = self.literal_text(name, args, 1)? else {
                    return null(if name == "regexp_matches" {
                        DataType::Boolean
                    } else {
                        DataType::Varchar
                    });
                };
                // Options: 'g' (replace all), 'i' (case-insensitive), 'c' (sensitive).
                let opts = if name == "regexp_replace" && args.len() == 4 {
                    self.literal_text(name, args, 3)?.unwrap_or_default()
                } else {
                    String::new()
                };
                if let Some(c) = opts.chars().find(|c| !"gic".contains(*c)) {
                    return Err(self.unsupported(args[3].span(), format!("regexp option '{c}'")));
                }
                let re = regex::RegexBuilder::new(&pat)
                    .case_insensitive(opts.contains('i'))
                    .build()
                    .map_err(|e| {
                        self.err(args[1].span(), format!("invalid regular expression: {e}"))
                    })?;
                let p = Pattern(std::sync::Arc::new(re));
                match name {
                    "regexp_matches" => {
                        func(ScalarFunc::RegexpMatches(p), vec![s], DataType::Boolean)
                    }
                    "regexp_extract" => {
                        let g = if args.len() == 3 {
                            match self.bind_expr(args[2])? {
                                Expr::Literal {
                                    value: Value::Int(g),
                                    data_type,
                                } if data_type.is_integer()
                                    && g >= 0
                                    && (g as usize) < p.0.captures_len() =>
                                {
                                    g as usize
                                }
                                _ => {
                                    return Err(self.err(
                                        args[2].span(),
                                        format!(
                                            "regexp_extract group must be an integer literal \
                                             from 0 to {}",
                                            p.0.captures_len() - 1
                                        ),
                                    ))
                                }
                            }
                        } else {
                            0
                        };
                        func(ScalarFunc::RegexpExtract(p, g), vec![s], DataType::Varchar)
                    }
                    _ => {
                        let Some(repl) = self.literal_text(name, args, 2)? else {
                            return null(DataType::Varchar);
                        };
                        let groups = p.0.captures_len() - 1;
                        let repl = replacement(&repl, groups).map_err(|g| {
                            self.err(
                                args[2].span(),
                                format!(
                                    "regexp_replace: the replacement refers to group \\{g}, but \
                                     the pattern has {groups} group(s)"
                                ),
                            )
                        })?;
                        func(
                            ScalarFunc::RegexpReplace(p, repl.into(), opts.contains('g')),
                            vec![s],
                            DataType::Varchar,
                        )
                    }
                }
            }
            "url_param" | "extracturlparameter" => {
                let a = vec![
                    self.varchar_arg(name, args, 0)?,
                    self.varchar_arg(name, args, 1)?,
                ];
                func(ScalarFunc::UrlParam, a, DataType::Varchar)
            }
            "url_path" | "path" | "domain" => {
                let a = vec![self.varchar_arg(name, args, 0)?];
                let f = if name == "domain" {
                    ScalarFunc::Domain
                } else {
                    ScalarFunc::UrlPath
                };
                func(f, a, DataType::Varchar)
            }
            "ip_in_cidr" | "isipaddressinrange" => Ok(Some(self.ip_in_cidr(name, args)?)),
            "json_extract" | "json_extract_string" | "json_extract_path_text" => {
                let as_string = name != "json_extract";
                Ok(Some(
                    self.bind_json_extract(name, args[0], args[1], as_string)?,
                ))
            }
            "tostartoffiveminutes"
            | "tostartoffiveminute"
            | "tostartoftenminutes"
            | "tostartoffifteenminutes" => {
                let minutes = match name {
                    "tostartoftenminutes" => 10,
                    "tostartoffifteenminutes" => 15,
                    _ => 5,
                };
                let ts = self.bind_expr(args[0])?;
                let ts = self.expect_timestamp(ts, args[0].span(), name)?;
                func(
                    ScalarFunc::StartOfInterval(minutes * crate::time::MICROS_PER_MINUTE),
                    vec![ts],
                    DataType::Timestamp,
                )
            }
            "to_timestamp" => {
                // DuckDB: TIMESTAMP WITH TIME ZONE.
                let x = self.bind_expr(args[0])?;
                if is_null_literal(&x) {
                    return null(DataType::TimestampTz);
                }
                if !is_number(x.data_type()) {
                    return Err(self.err(
                        args[0].span(),
                        format!(
                            "to_timestamp needs numeric epoch seconds, not {}",
                            x.data_type()
                        ),
                    ));
                }
                let x = self.coerce_to(x, DataType::Double, args[0].span())?;
                func(ScalarFunc::ToTimestamp, vec![x], DataType::TimestampTz)
            }
            "format_bytes"
            | "formatreadablesize"
            | "pg_size_pretty"
            | "formatreadabledecimalsize" => {
                let x = self.int_arg(name, args, 0)?;
                let decimal = name == "formatreadabledecimalsize";
                func(
                    ScalarFunc::FormatBytes { decimal },
                    vec![x],
                    DataType::Varchar,
                )
            }
            "round" | "trunc" => {
                let x = self.bind_expr(args[0])?;
                if is_null_literal(&x) {
                    return null(DataType::Double);
                }
                let t = x.data_type();
                if !is_numeric(t) && t.decimal().is_none() {
                    return Err(self.err(
                        args[0].span(),
                        format!("{name} needs a numeric argument 1, not {t}"),
                    ));
                }
                let digits = if args.len() == 2 {
                    match self.bind_expr(args[1])? {
                        Expr::Literal {
                            value: Value::Int(d),
                            data_type,
                        } if data_type.is_integer() => d.clamp(-100_000, 100_000) as i32,
                        _ => {
                            return Err(self.unsupported(
                                args[1].span(),
                                format!("{name} with digits other than an integer literal"),
                            ))
                        }
                    }
                } else {
                    0
                };
                let f = if name == "round" {
                    ScalarFunc::Round(digits)
                } else {
                    ScalarFunc::Trunc(digits)
                };
                // A DECIMAL keeps its width and takes the digits as its scale (none
                // for negative digits, at most its own scale), as in DuckDB.
                let t = match t {
                    DataType::Decimal { precision, scale } => DataType::Decimal {
                        precision,
                        scale: digits.clamp(0, i32::from(scale)) as u8,
                    },
                    t => t,
                };
                func(f, vec![x], t)
            }
            _ => Ok(None),
        }
    }
}
