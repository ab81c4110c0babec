//! Binding of INTERVAL values: `INTERVAL '...'` and `INTERVAL (expr) unit`
//! literals, arithmetic with timestamps, dates, intervals and numbers, and the
//! interval functions (`to_days`, `epoch`, `age`, `date_part` / `date_trunc` /
//! `extract` over an interval), with DuckDB's types and rules.
//!
//! A timestamp plus a literal of whole days and microseconds keeps its old form,
//! `ts + micros` over BIGINT (`Binder::fixed_interval`), which time-range
//! pruning understands; everything else is an `IntervalFunc`.

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::{is_int, is_null_literal, is_number, Binder};
use crate::column::Value;
use crate::error::Result;
use crate::interval::{Interval, Unit};
use crate::plan::{BinaryOp, Expr, IntervalFunc, IntervalPart, ScalarFunc};
use crate::schema::DataType;
use crate::time::MICROS_PER_DAY;

fn func(f: IntervalFunc, args: Vec<Expr>, data_type: DataType) -> Expr {
    Expr::Func {
        func: ScalarFunc::Interval(f),
        args,
        data_type,
    }
}

fn interval_literal(iv: Interval) -> Expr {
    Expr::literal(Value::Ip(iv.pack()), DataType::Interval)
}

fn null(t: DataType) -> Expr {
    Expr::literal(Value::Null, t)
}

/// Whether `unit` keeps a fraction of a DOUBLE count (DuckDB's `to_seconds`,
/// `to_milliseconds`, `to_microseconds`); other units truncate it.
fn fractional(unit: Unit) -> bool {
    matches!(unit, Unit::Second | Unit::Millisecond)
}

impl Binder<'_> {
    /// `INTERVAL ...` as an INTERVAL expression.
    pub(super) fn bind_interval(&mut self, iv: &ast::Interval, span: Span) -> Result<Expr> {
        if iv.last_field.is_some() || iv.fractional_seconds_precision.is_some() {
            return Err(self.unsupported(span, "INTERVAL ranges"));
        }
        let unit = match &iv.leading_field {
            Some(f) => Some(
                Unit::parse(&f.to_string())
                    .ok_or_else(|| self.unsupported(span, format!("INTERVAL unit {f}")))?,
            ),
            None => None,
        };
        let text = match iv.value.as_ref() {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => Some(s.clone()),
                ast::Value::Number(n, _) => Some(n.clone()),
                ast::Value::Null => return Ok(null(DataType::Interval)),
                _ => return Err(self.err(span, "INTERVAL needs a number or a quoted string")),
            },
            _ => None,
        };
        let number = matches!(
            iv.value.as_ref(),
            ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..))
        );
        match (text, unit) {
            (Some(_), None) if number => Err(self.err(
                span,
                "Conversion Error: Unimplemented type for cast (INTEGER -> INTERVAL); \
                 write INTERVAL n unit or INTERVAL 'text'",
            )),
            (Some(t), None) => crate::interval::parse(&t)
                .map(interval_literal)
                .map_err(|m| self.err(span, m)),
            (Some(t), Some(unit)) => {
                let x: f64 = t.trim().parse().map_err(|_| {
                    self.err(
                        span,
                        format!("Conversion Error: could not convert string '{t}' to DOUBLE"),
                    )
                })?;
                let iv = if fractional(unit) {
                    unit.of_f64(x)
                } else {
                    let n = x.trunc();
                    (n.abs() < 9.2e18).then(|| unit.of_int(n as i64)).flatten()
                };
                iv.map(interval_literal)
                    .ok_or_else(|| self.err(span, format!("INTERVAL {t} {unit:?} is out of range")))
            }
            (None, Some(unit)) => {
                let n = self.bind_expr(&iv.value)?;
                self.interval_of(unit, n, iv.value.span(), false)
            }
            (None, None) => Err(self.unsupported(span, "INTERVAL (expr) without a unit")),
        }
    }

    /// `n` units as an INTERVAL (`to_days(n)`, `INTERVAL (n) DAY`). `strict`:
    /// refuse a fractional count for a unit that takes only integers (the
    /// `to_*` functions), instead of truncating it (the INTERVAL syntax).
    fn interval_of(&self, unit: Unit, n: Expr, span: Span, strict: bool) -> Result<Expr> {
        if is_null_literal(&n) {
            return Ok(null(DataType::Interval));
        }
        let t = n.data_type();
        if is_int(t) {
            let n = self.coerce_to(n, DataType::BigInt, span)?;
            return Ok(self.fold_interval(func(
                IntervalFunc::FromInt(unit),
                vec![n],
                DataType::Interval,
            )));
        }
        if !is_number(t) {
            return Err(self.err(span, format!("an interval count must be a number, not {t}")));
        }
        if strict && !fractional(unit) {
            return Err(self.err(
                span,
                format!(
                    "Binder Error: No function matches the given name and argument types '{}({t})'",
                    to_name(unit)
                ),
            ));
        }
        let x = self.cast(n, DataType::Double, span)?;
        if fractional(unit) {
            return Ok(self.fold_interval(func(
                IntervalFunc::FromDouble(unit),
                vec![x],
                DataType::Interval,
            )));
        }
        let whole = Expr::Func {
            func: ScalarFunc::Trunc(0),
            args: vec![x],
            data_type: DataType::Double,
        };
        let n = self.cast(whole, DataType::BigInt, span)?;
        Ok(self.fold_interval(func(
            IntervalFunc::FromInt(unit),
            vec![n],
            DataType::Interval,
        )))
    }

    /// A constant expression evaluated now (errors are left for run time).
    fn fold_interval(&self, e: Expr) -> Expr {
        let constant = match &e {
            Expr::Func { args, .. } => args.iter().all(|a| matches!(a, Expr::Literal { .. })),
            _ => false,
        };
        if !constant {
            return e;
        }
        let t = e.data_type();
        match crate::exec::vector::eval(&e, &[], 1) {
            Ok(v) => Expr::literal(v.value(0, t), t),
            Err(_) => e,
        }
    }

    /// `ts ± INTERVAL` whose interval is a literal of days and microseconds only,
    /// or `INTERVAL (n) unit` for a unit of at most a day: its length in micros
    /// (BIGINT), so the sum stays plain arithmetic that pruning understands.
    /// `None` for intervals with months (or computed month counts).
    pub(super) fn fixed_interval(
        &mut self,
        iv: &ast::Interval,
        span: Span,
    ) -> Result<Option<Expr>> {
        let literal = matches!(iv.value.as_ref(), ast::Expr::Value(_));
        if !literal {
            let month_unit = iv
                .leading_field
                .as_ref()
                .and_then(|f| Unit::parse(&f.to_string()))
                .is_some_and(|u| u.months().is_some());
            if month_unit {
                return Ok(None);
            }
            return self.interval_expr(iv, span).map(Some);
        }
        let e = self.bind_interval(iv, span)?;
        let Expr::Literal {
            value: Value::Ip(x),
            ..
        } = e
        else {
            return Ok(None);
        };
        let iv = Interval::unpack(x);
        if iv.months != 0 {
            return Ok(None);
        }
        let micros = i64::from(iv.days)
            .checked_mul(MICROS_PER_DAY)
            .and_then(|d| d.checked_add(iv.micros));
        Ok(micros.map(|m| Expr::literal(Value::Int(m), DataType::BigInt)))
    }

    /// Arithmetic with an INTERVAL operand, and TIMESTAMP - TIMESTAMP; `None`
    /// when no operand is an interval or a pair of timestamps.
    pub(super) fn interval_arithmetic(
        &self,
        op: BinaryOp,
        l: Expr,
        r: Expr,
        ls: Span,
        rs: Span,
    ) -> Result<std::result::Result<Expr, (Expr, Expr)>> {
        use DataType as D;
        let (lt, rt) = (l.data_type(), r.data_type());
        // TIMESTAMP_S / _MS / _NS convert to TIMESTAMP first (an interval on
        // nanoseconds is refused there).
        let time = |t: DataType| t == D::Date || t.is_timestamp();
        let (li, ri) = (lt == D::Interval, rt == D::Interval);
        if !li && !ri {
            if op == BinaryOp::Sub
                && ((matches!(lt, D::Timestamp | D::TimestampTz) && time(rt))
                    || (matches!(rt, D::Timestamp | D::TimestampTz) && time(lt)))
            {
                let l = self.expect_timestamp(l, ls, "-")?;
                let r = self.expect_timestamp(r, rs, "-")?;
                return Ok(Ok(func(
                    IntervalFunc::TimestampDiff,
                    vec![l, r],
                    D::Interval,
                )));
            }
            return Ok(Err((l, r)));
        }
        let bad = || {
            self.err(
                ls.union(&rs),
                format!(
                    "Binder Error: No function matches the given name and argument types \
                     '{}({lt}, {rt})'",
                    op.symbol()
                ),
            )
        };
        let (lnull, rnull) = (is_null_literal(&l), is_null_literal(&r));
        Ok(Ok(match op {
            BinaryOp::Add | BinaryOp::Sub if li && (ri || rnull) || ri && lnull => {
                if lnull || rnull {
                    return Ok(Ok(null(D::Interval)));
                }
                func(
                    IntervalFunc::Add {
                        negate: op == BinaryOp::Sub,
                    },
                    vec![l, r],
                    D::Interval,
                )
            }
            BinaryOp::Add | BinaryOp::Sub if li && (time(rt) || rnull) && op == BinaryOp::Add => {
                let out = Self::timestamp_result(rt);
                let r = self.expect_timestamp(r, rs, "INTERVAL arithmetic")?;
                func(
                    IntervalFunc::AddToTimestamp { negate: false },
                    vec![r, l],
                    out,
                )
            }
            BinaryOp::Add | BinaryOp::Sub if ri && (time(lt) || lnull) => {
                let out = Self::timestamp_result(lt);
                let l = self.expect_timestamp(l, ls, "INTERVAL arithmetic")?;
                func(
                    IntervalFunc::AddToTimestamp {
                        negate: op == BinaryOp::Sub,
                    },
                    vec![l, r],
                    out,
                )
            }
            BinaryOp::Mul | BinaryOp::Div => {
                let (iv, n, ns) = if li { (l, r, rs) } else { (r, l, ls) };
                let nt = n.data_type();
                if (!li && op == BinaryOp::Div) || (li && ri) {
                    return Err(bad());
                }
                if is_null_literal(&n) {
                    return Ok(Ok(null(D::Interval)));
                }
                if is_int(nt) && op == BinaryOp::Mul {
                    let n = self.coerce_to(n, D::BigInt, ns)?;
                    func(IntervalFunc::MulInt, vec![iv, n], D::Interval)
                } else if is_number(nt) {
                    let x = self.cast(n, D::Double, ns)?;
                    func(
                        IntervalFunc::MulDouble {
                            divide: op == BinaryOp::Div,
                        },
                        vec![iv, x],
                        D::Interval,
                    )
                } else {
                    return Err(bad());
                }
            }
            _ => return Err(bad()),
        }))
    }

    /// `-interval`.
    pub(super) fn negate_interval(&self, x: Expr) -> Expr {
        if is_null_literal(&x) {
            return x;
        }
        self.fold_interval(func(IntervalFunc::Negate, vec![x], DataType::Interval))
    }

    /// `date_part(part, iv)` / `extract(part FROM iv)`.
    pub(super) fn interval_part(&self, part: &str, x: Expr, span: Span) -> Result<Expr> {
        if part.eq_ignore_ascii_case("epoch") {
            return Ok(func(IntervalFunc::Epoch, vec![x], DataType::Double));
        }
        let scaled = match part.to_ascii_lowercase().as_str() {
            "epoch_ms" => Some(IntervalPart::EpochMs),
            "epoch_us" => Some(IntervalPart::EpochUs),
            "epoch_ns" => Some(IntervalPart::EpochNs),
            "nanosecond" | "nanoseconds" | "ns" => Some(IntervalPart::Nanosecond),
            _ => None,
        };
        if let Some(p) = scaled {
            return Ok(func(IntervalFunc::Part(p), vec![x], DataType::BigInt));
        }
        let p = IntervalPart::parse(part).ok_or_else(|| {
            self.err(
                span,
                format!("Not implemented Error: \"interval\" units \"{part}\" not recognized"),
            )
        })?;
        Ok(func(IntervalFunc::Part(p), vec![x], DataType::BigInt))
    }

    /// `date_trunc(unit, iv)`.
    pub(super) fn interval_trunc(&self, unit: &str, x: Expr, span: Span) -> Result<Expr> {
        let alias = match unit.to_ascii_lowercase().as_str() {
            "isoyear" => "year",
            "yearweek" => "week",
            "dayofmonth" | "dayofweek" | "dayofyear" | "isodow" | "dow" | "doy" => "day",
            "epoch" => "second",
            _ => unit,
        };
        let u = Unit::parse(alias).ok_or_else(|| {
            self.err(
                span,
                format!("Not implemented Error: \"interval\" units \"{unit}\" not recognized"),
            )
        })?;
        Ok(func(IntervalFunc::Trunc(u), vec![x], DataType::Interval))
    }

    /// The interval functions (`to_days`, `epoch` of an interval, `age`); `None`
    /// for other names.
    pub(super) fn bind_interval_function(
        &mut self,
        name: &str,
        args: &[&ast::Expr],
        span: Span,
    ) -> Result<Option<Expr>> {
        let unit = match name {
            "to_millennia" => Some(Unit::Millennium),
            "to_centuries" => Some(Unit::Century),
            "to_decades" => Some(Unit::Decade),
            "to_years" => Some(Unit::Year),
            "to_quarters" => Some(Unit::Quarter),
            "to_months" => Some(Unit::Month),
            "to_weeks" => Some(Unit::Week),
            "to_days" => Some(Unit::Day),
            "to_hours" => Some(Unit::Hour),
            "to_minutes" => Some(Unit::Minute),
            "to_seconds" => Some(Unit::Second),
            "to_milliseconds" => Some(Unit::Millisecond),
            "to_microseconds" => Some(Unit::Microsecond),
            _ => None,
        };
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(self.err(
                    span,
                    format!("{name} takes {n} argument(s), got {}", args.len()),
                ))
            }
        };
        if let Some(unit) = unit {
            arity(1)?;
            let n = self.bind_expr(args[0])?;
            return self.interval_of(unit, n, args[0].span(), true).map(Some);
        }
        match name {
            "epoch" => {
                arity(1)?;
                let x = self.bind_expr(args[0])?;
                if x.data_type() != DataType::Interval {
                    return Ok(None);
                }
                Ok(Some(func(IntervalFunc::Epoch, vec![x], DataType::Double)))
            }
            "age" => {
                let mut ts = Vec::with_capacity(2);
                if args.is_empty() || args.len() > 2 {
                    return Err(self.err(span, "age takes 1 or 2 arguments"));
                }
                if args.len() == 1 {
                    // age(ts) is the age at midnight of the current date (UTC).
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_micros() as i64);
                    let midnight = now.div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY;
                    ts.push(Expr::literal(Value::Int(midnight), DataType::Timestamp));
                }
                for a in args {
                    let e = self.bind_expr(a)?;
                    ts.push(self.expect_timestamp(e, a.span(), "age")?);
                }
                if ts.iter().any(is_null_literal) {
                    return Ok(Some(null(DataType::Interval)));
                }
                Ok(Some(func(IntervalFunc::Age, ts, DataType::Interval)))
            }
            _ => Ok(None),
        }
    }
}

/// `INTERVAL 'n'` followed by an unquoted alias that names an interval unit
/// (`INTERVAL '1.5' MILLENNIA`, which the parser reads as an alias): the
/// interval with that unit.
pub(super) fn unit_alias(e: &ast::Expr, alias: &ast::Ident) -> Option<ast::Expr> {
    let ast::Expr::Interval(iv) = e else {
        return None;
    };
    if iv.leading_field.is_some() || alias.quote_style.is_some() {
        return None;
    }
    // Only DuckDB's unit keywords (not abbreviations such as `d`, which are
    // aliases there too).
    const KEYWORDS: &[&str] = &[
        "year",
        "years",
        "month",
        "months",
        "day",
        "days",
        "hour",
        "hours",
        "minute",
        "minutes",
        "second",
        "seconds",
        "millisecond",
        "milliseconds",
        "microsecond",
        "microseconds",
        "week",
        "weeks",
        "quarter",
        "quarters",
        "decade",
        "decades",
        "century",
        "centuries",
        "millennium",
        "millennia",
    ];
    if !KEYWORDS.contains(&alias.value.to_ascii_lowercase().as_str()) {
        return None;
    }
    let mut iv = iv.clone();
    iv.leading_field = Some(ast::DateTimeField::Custom(alias.clone()));
    Some(ast::Expr::Interval(iv))
}

/// The function that builds an interval of `unit`s.
fn to_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Millennium => "to_millennia",
        Unit::Century => "to_centuries",
        Unit::Decade => "to_decades",
        Unit::Year => "to_years",
        Unit::Quarter => "to_quarters",
        Unit::Month => "to_months",
        Unit::Week => "to_weeks",
        Unit::Day => "to_days",
        Unit::Hour => "to_hours",
        Unit::Minute => "to_minutes",
        Unit::Second => "to_seconds",
        Unit::Millisecond => "to_milliseconds",
        Unit::Microsecond => "to_microseconds",
    }
}
