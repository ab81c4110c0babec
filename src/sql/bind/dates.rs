//! Binding of DATE values and time zones: date arithmetic and casts, the DATE
//! functions (`make_date`, `last_day`, `today`, ClickHouse's `toDate`, ...),
//! `AT TIME ZONE` / `timezone()`, and the rewrite of `CAST(ts AS DATE) <op> DATE
//! '...'` into a range on `ts` that partition pruning and zone maps can use.
//!
//! Functions that take a TIMESTAMP also take a DATE (midnight UTC) through
//! [`Binder::expect_timestamp`], so `extract`, `date_trunc`, `strftime` and
//! `date_diff` need nothing here.

use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use super::{is_int, is_null_literal, Binder};
use crate::column::Value;
use crate::error::Result;
use crate::plan::{BinaryOp, BucketShift, DatePart, Expr, ScalarFunc, TruncUnit};
use crate::schema::DataType;
use crate::time::MICROS_PER_DAY;

impl Binder<'_> {
    /// `current_date` / `today()`: the UTC date at the query's start, as a literal.
    pub(super) fn bind_today(&self, name: &str, f: &ast::Function) -> Option<Expr> {
        let empty = match &f.args {
            ast::FunctionArguments::None => true,
            ast::FunctionArguments::List(l) => l.args.is_empty(),
            ast::FunctionArguments::Subquery(_) => false,
        };
        if !empty || !matches!(name, "current_date" | "today") {
            return None;
        }
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        Some(Expr::literal(
            Value::Int(micros.div_euclid(MICROS_PER_DAY)),
            DataType::Date,
        ))
    }

    /// The DATE and time-zone functions; `None` for other names.
    pub(super) fn bind_date_function(
        &mut self,
        name: &str,
        args: &[&ast::Expr],
        span: Span,
    ) -> Result<Option<Expr>> {
        let n = match name {
            "todate" | "last_day" | "dayname" | "monthname" | "toyyyymm" | "toyyyymmdd"
            | "tostartofmonth" | "tostartofyear" | "typeof" => 1,
            // timezone(ts) is the date part (0 for a TIMESTAMP).
            "timezone" if args.len() == 1 => return Ok(None),
            "timezone" => 2,
            "make_date" | "make_time" => 3,
            "make_timestamp" if args.len() == 6 => 6,
            "make_timestamp" | "make_timestamp_ns" => 1,
            _ => return Ok(None),
        };
        if args.len() != n {
            return Err(self.err(
                span,
                format!("{name} takes {n} argument(s), got {}", args.len()),
            ));
        }
        let func = |func: ScalarFunc, args: Vec<Expr>, data_type: DataType| Expr::Func {
            func,
            args,
            data_type,
        };
        Ok(Some(match name {
            "typeof" => {
                // A decimal literal's type is known from its digits, also for the
                // wide values logdb cannot hold yet.
                let shape = crate::sql::bind::decimal_literal_text(args[0])
                    .and_then(|text| crate::decimal::literal_type(&text));
                if let Some((width, scale)) = shape {
                    let name = crate::decimal::type_name(width, scale);
                    return Ok(Some(Expr::literal(
                        Value::Str(name.as_str().into()),
                        DataType::Varchar,
                    )));
                }
                let x = self.bind_expr(args[0])?;
                let t = if is_null_literal(&x) {
                    "NULL".into()
                } else {
                    x.data_type().name()
                };
                Expr::literal(Value::Str(t.as_ref().into()), DataType::Varchar)
            }
            "todate" => {
                let x = self.bind_expr(args[0])?;
                self.cast(x, DataType::Date, args[0].span())?
            }
            "make_date" => {
                let mut parts = Vec::with_capacity(3);
                for a in args {
                    let x = self.bind_expr(a)?;
                    let x = if is_null_literal(&x) {
                        Expr::literal(Value::Null, DataType::BigInt)
                    } else if is_int(x.data_type()) {
                        self.coerce_to(x, DataType::BigInt, a.span())?
                    } else {
                        return Err(self.err(
                            a.span(),
                            format!("make_date needs integer arguments, not {}", x.data_type()),
                        ));
                    };
                    parts.push(x);
                }
                func(ScalarFunc::MakeDate, parts, DataType::Date)
            }
            "make_timestamp" | "make_timestamp_ns" | "make_time" => {
                // BIGINT parts; the last part of make_time / make_timestamp(6) is
                // DOUBLE seconds.
                let mut parts = Vec::with_capacity(n);
                for (k, a) in args.iter().enumerate() {
                    let x = self.bind_expr(a)?;
                    let seconds = n > 1 && k == n - 1;
                    let want = if seconds {
                        DataType::Double
                    } else {
                        DataType::BigInt
                    };
                    let numeric = is_int(x.data_type())
                        || (seconds
                            && (x.data_type() == DataType::Double
                                || x.data_type().decimal().is_some()));
                    parts.push(if is_null_literal(&x) {
                        Expr::literal(Value::Null, want)
                    } else if numeric {
                        self.coerce_to(x, want, a.span())?
                    } else {
                        return Err(self.err(
                            a.span(),
                            format!("{name} needs numeric arguments, not {}", x.data_type()),
                        ));
                    });
                }
                let (f, t) = match name {
                    "make_time" => (ScalarFunc::MakeTime, DataType::Time),
                    "make_timestamp_ns" => (
                        ScalarFunc::MakeTimestamp { ns: true },
                        DataType::TimestampNs,
                    ),
                    _ => (ScalarFunc::MakeTimestamp { ns: false }, DataType::Timestamp),
                };
                func(f, parts, t)
            }
            "last_day" => {
                let d = self.date_arg(name, args[0])?;
                func(ScalarFunc::LastDay, vec![d], DataType::Date)
            }
            "dayname" | "monthname" => {
                let ts = self.bind_expr(args[0])?;
                let ts = self.expect_timestamp(ts, args[0].span(), name)?;
                func(
                    ScalarFunc::NameOf {
                        month: name == "monthname",
                    },
                    vec![ts],
                    DataType::Varchar,
                )
            }
            "toyyyymm" | "toyyyymmdd" => {
                // ClickHouse: year * 100 + month (* 100 + day), a number.
                let ts = self.bind_expr(args[0])?;
                let ts = self.expect_timestamp(ts, args[0].span(), name)?;
                let part =
                    |p: DatePart| func(ScalarFunc::DatePart(p), vec![ts.clone()], DataType::BigInt);
                let scaled = |e: Expr, p: DatePart| Expr::Binary {
                    op: BinaryOp::Add,
                    left: Box::new(Expr::Binary {
                        op: BinaryOp::Mul,
                        left: Box::new(e),
                        right: Box::new(Expr::literal(Value::Int(100), DataType::BigInt)),
                        data_type: DataType::BigInt,
                    }),
                    right: Box::new(part(p)),
                    data_type: DataType::BigInt,
                };
                let ym = scaled(part(DatePart::Year), DatePart::Month);
                if name == "toyyyymm" {
                    ym
                } else {
                    scaled(ym, DatePart::Day)
                }
            }
            "tostartofmonth" | "tostartofyear" => {
                // ClickHouse returns a Date for these (toStartOfDay stays a DateTime).
                let unit = if name == "tostartofmonth" {
                    TruncUnit::Month
                } else {
                    TruncUnit::Year
                };
                let ts = self.bind_expr(args[0])?;
                let ts = self.expect_timestamp(ts, args[0].span(), name)?;
                Expr::Cast {
                    expr: Box::new(func(
                        ScalarFunc::DateTrunc(unit),
                        vec![ts],
                        DataType::Timestamp,
                    )),
                    to: DataType::Date,
                }
            }
            "timezone" => return self.at_time_zone(args[1], args[0]).map(Some),
            _ => return Ok(None),
        }))
    }

    /// The field or unit of `date_part` / `date_trunc` when it is a string literal;
    /// `None` when it is any other expression (read per row).
    pub(super) fn date_field_arg(&self, e: &ast::Expr, _what: &str) -> Result<Option<String>> {
        Ok(match e {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        })
    }

    /// `date_part(field, x)` / `date_trunc(unit, x)` with the field or unit an
    /// expression: a VARCHAR read per row (`f` is the dynamic kernel).
    pub(super) fn date_dynamic(
        &mut self,
        f: ScalarFunc,
        args: &[&ast::Expr],
        _span: Span,
    ) -> Result<Expr> {
        let t = match f {
            ScalarFunc::DatePartDynamic(_) => DataType::Double,
            _ => DataType::Timestamp,
        };
        let field = self.bind_expr(args[0])?;
        let x = self.bind_expr(args[1])?;
        if is_null_literal(&field) {
            return Ok(Expr::literal(Value::Null, t));
        }
        if field.data_type() != DataType::Varchar {
            return Err(self.err(
                args[0].span(),
                format!(
                    "the field of date_part / date_trunc must be a VARCHAR, not {}",
                    field.data_type()
                ),
            ));
        }
        let x = self.expect_timestamp(x, args[1].span(), "date_part")?;
        Ok(Expr::Func {
            func: f,
            args: vec![field, x],
            data_type: t,
        })
    }

    /// `time_bucket(width, x[, offset | origin])`. A constant width without months
    /// over a TIMESTAMP is `ScalarFunc::TimeBucket` (which streaming aggregation
    /// recognizes); everything else the general kernel. A DATE gives a DATE.
    pub(super) fn bind_time_bucket(&mut self, args: &[&ast::Expr], span: Span) -> Result<Expr> {
        if !(2..=3).contains(&args.len()) {
            return Err(self.err(
                span,
                format!("time_bucket takes 2 or 3 arguments, got {}", args.len()),
            ));
        }
        if let (2, ast::Expr::Interval(iv)) = (args.len(), args[0]) {
            // Months and computed intervals take the general path below.
            if let Ok(width) = self.interval_micros(iv, args[0].span()) {
                if width <= 0 {
                    return Err(self.err(args[0].span(), "time_bucket width must be positive"));
                }
                let ts = self.bind_expr(args[1])?;
                if ts.data_type() != DataType::Date {
                    let out = Self::timestamp_result(ts.data_type());
                    let ts = self.expect_timestamp(ts, args[1].span(), "time_bucket")?;
                    return Ok(Expr::Func {
                        func: ScalarFunc::TimeBucket(width),
                        args: vec![ts],
                        data_type: out,
                    });
                }
            }
        }
        let width = self.bind_expr(args[0])?;
        let x = self.bind_expr(args[1])?;
        let is_date = x.data_type() == DataType::Date;
        let out = if is_date {
            DataType::Date
        } else {
            Self::timestamp_result(x.data_type())
        };
        let shift = match args.get(2) {
            Some(a) => Some((self.bind_expr(a)?, a.span())),
            None => None,
        };
        if is_null_literal(&width)
            || is_null_literal(&x)
            || shift.as_ref().is_some_and(|(e, _)| is_null_literal(e))
        {
            return Ok(Expr::literal(Value::Null, out));
        }
        let width = self.coerce_to(width, DataType::Interval, args[0].span())?;
        let ts = self.expect_timestamp(x, args[1].span(), "time_bucket")?;
        let (kind, fargs) = match shift {
            None => (BucketShift::None, vec![width, ts]),
            Some((e, _)) if e.data_type() == DataType::Interval => {
                (BucketShift::Offset, vec![width, ts, e])
            }
            Some((e, s)) => {
                let origin = self.expect_timestamp(e, s, "time_bucket")?;
                (BucketShift::Origin, vec![width, ts, origin])
            }
        };
        let f = Expr::Func {
            func: ScalarFunc::TimeBucketBy(kind),
            args: fargs,
            data_type: DataType::Timestamp,
        };
        Ok(if is_date {
            Expr::Cast {
                expr: Box::new(f),
                to: DataType::Date,
            }
        } else {
            f
        })
    }

    /// A DATE argument (a TIMESTAMP is cast to its date, a string literal parsed).
    fn date_arg(&mut self, name: &str, e: &ast::Expr) -> Result<Expr> {
        let x = self.bind_expr(e)?;
        match x.data_type() {
            _ if is_null_literal(&x) => Ok(Expr::literal(Value::Null, DataType::Date)),
            DataType::Date => Ok(x),
            DataType::Timestamp | DataType::TimestampTz => self.cast(x, DataType::Date, e.span()),
            DataType::Varchar if matches!(x, Expr::Literal { .. }) => {
                self.cast(x, DataType::Date, e.span())
            }
            t => Err(self.err(
                e.span(),
                format!("{name} needs a DATE or TIMESTAMP argument, not {t}"),
            )),
        }
    }

    /// `ts AT TIME ZONE zone` / `timezone(zone, ts)`: the wall-clock time in `zone`
    /// of the UTC instant `ts`. The zone must be a string literal naming a tz
    /// database zone.
    pub(super) fn at_time_zone(&mut self, ts: &ast::Expr, zone: &ast::Expr) -> Result<Expr> {
        let z = self.bind_expr(zone)?;
        let name = match &z {
            Expr::Literal {
                value: Value::Str(s),
                ..
            } => s.clone(),
            Expr::Literal {
                value: Value::Null, ..
            } => return Ok(Expr::literal(Value::Null, DataType::Timestamp)),
            _ => {
                return Err(self.unsupported(zone.span(), "a time zone other than a string literal"))
            }
        };
        crate::exec::date::time_zone(&name).map_err(|e| self.err(zone.span(), e))?;
        let x = self.bind_expr(ts)?;
        let x = self.expect_timestamp(x, ts.span(), "AT TIME ZONE")?;
        Ok(Expr::Func {
            func: ScalarFunc::AtTimeZone(name),
            args: vec![x],
            data_type: DataType::Timestamp,
        })
    }

    /// `date ± integer` -> DATE, `integer + date` -> DATE, `date - date` -> BIGINT
    /// (days), as DuckDB types them. Called when either operand is a DATE.
    pub(super) fn date_arithmetic(
        &self,
        op: BinaryOp,
        l: Expr,
        r: Expr,
        ls: Span,
        rs: Span,
    ) -> Result<Expr> {
        let (lt, rt) = (l.data_type(), r.data_type());
        let int_like = |e: &Expr| is_int(e.data_type()) || is_null_literal(e);
        let days = |e: Expr, s: Span| {
            if is_null_literal(&e) {
                Ok(Expr::literal(Value::Null, DataType::BigInt))
            } else {
                self.coerce_to(e, DataType::BigInt, s)
            }
        };
        let bin = |op, left, right, data_type| Expr::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
            data_type,
        };
        match (op, lt, rt) {
            (BinaryOp::Add | BinaryOp::Sub, DataType::Date, _)
                if int_like(&r) && rt != DataType::Date =>
            {
                Ok(bin(op, l, days(r, rs)?, DataType::Date))
            }
            (BinaryOp::Add, _, DataType::Date) if int_like(&l) && lt != DataType::Date => {
                Ok(bin(op, r, days(l, ls)?, DataType::Date))
            }
            (BinaryOp::Sub, DataType::Date, DataType::Date) => Ok(bin(op, l, r, DataType::BigInt)),
            // DATE + TIME is the TIMESTAMP of that time on that day (DuckDB).
            (BinaryOp::Add, DataType::Date, DataType::Time) => Ok(bin(
                op,
                self.cast(l, DataType::Timestamp, ls)?,
                r,
                DataType::Timestamp,
            )),
            (BinaryOp::Add, DataType::Time, DataType::Date) => Ok(bin(
                op,
                self.cast(r, DataType::Timestamp, rs)?,
                l,
                DataType::Timestamp,
            )),
            _ => Err(self.err(
                if lt == DataType::Date { rs } else { ls },
                format!(
                    "operator {} is not defined for {lt} and {rt}; DATE takes + and - with \
                     an integer number of days or an INTERVAL, and DATE - DATE gives days",
                    op.symbol()
                ),
            )),
        }
    }
}

/// `CAST(ts AS DATE) <op> DATE 'd'` as the equivalent range on `ts` (`ts >= d AND
/// ts < d + 1 day` for `=`), so that time pruning and zone maps apply; `None` for
/// any other comparison.
pub(super) fn date_compare_as_range(op: BinaryOp, l: &Expr, r: &Expr) -> Option<Expr> {
    let (op, cast, day) = match (l, r) {
        (
            Expr::Cast {
                expr,
                to: DataType::Date,
            },
            Expr::Literal {
                value: Value::Int(d),
                data_type: DataType::Date,
            },
        ) => (op, expr, *d),
        (
            Expr::Literal {
                value: Value::Int(d),
                data_type: DataType::Date,
            },
            Expr::Cast {
                expr,
                to: DataType::Date,
            },
        ) => (op.flip(), expr, *d),
        _ => return None,
    };
    if cast.data_type() != DataType::Timestamp {
        return None;
    }
    // Day d covers [d * DAY, (d + 1) * DAY); every DATE fits, see DataType::int_range.
    let start = day.checked_mul(MICROS_PER_DAY)?;
    let end = start.checked_add(MICROS_PER_DAY)?;
    let cmp = |op, micros| Expr::Binary {
        op,
        left: cast.clone(),
        right: Box::new(Expr::literal(Value::Int(micros), DataType::Timestamp)),
        data_type: DataType::Boolean,
    };
    Some(match op {
        BinaryOp::Eq => Expr::Binary {
            op: BinaryOp::And,
            left: Box::new(cmp(BinaryOp::GtEq, start)),
            right: Box::new(cmp(BinaryOp::Lt, end)),
            data_type: DataType::Boolean,
        },
        BinaryOp::Lt => cmp(BinaryOp::Lt, start),
        BinaryOp::LtEq => cmp(BinaryOp::Lt, end),
        BinaryOp::Gt => cmp(BinaryOp::GtEq, end),
        BinaryOp::GtEq => cmp(BinaryOp::GtEq, start),
        _ => return None,
    })
}
