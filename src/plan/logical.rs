//! The typed logical plan: what the binder produces and the executor runs.
//!
//! Every [`Expr`] carries its result type; column references are positions in the
//! output of the plan node below (for a [`LogicalPlan::Scan`], positions in its
//! `columns` list, not in the table).

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use crate::column::Value;
pub use crate::index::ZonePredicate;
use crate::plan::literal_set::LiteralSetCache;
use crate::plan::table_function::TableFunc;
use crate::plan::window::WindowExpr;
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
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    Decade,
    Century,
    Millennium,
    /// The Monday that starts the ISO year.
    IsoYear,
}

impl TruncUnit {
    /// A `date_trunc` unit by DuckDB's names (any case); the day-level fields
    /// (`dow`, `doy`, `julian`, ...) truncate to the day, `epoch` to the second.
    pub fn from_name(name: &str) -> Option<TruncUnit> {
        use TruncUnit as U;
        Some(match name.to_ascii_lowercase().as_str() {
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "usecond" | "useconds" => {
                U::Microsecond
            }
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "msecond" | "mseconds" => {
                U::Millisecond
            }
            "second" | "seconds" | "s" | "sec" | "secs" | "epoch" => U::Second,
            "minute" | "minutes" | "m" | "min" | "mins" => U::Minute,
            "hour" | "hours" | "h" | "hr" | "hrs" => U::Hour,
            "day" | "days" | "d" | "dayofmonth" | "dow" | "dayofweek" | "weekday" | "isodow"
            | "doy" | "dayofyear" | "julian" => U::Day,
            "week" | "weeks" | "w" | "weekofyear" | "yearweek" => U::Week,
            "month" | "months" | "mon" | "mons" => U::Month,
            "quarter" | "quarters" => U::Quarter,
            "year" | "years" | "y" | "yr" | "yrs" => U::Year,
            "decade" | "decades" | "dec" | "decs" => U::Decade,
            "century" | "centuries" | "c" | "cent" | "cents" => U::Century,
            "millennium" | "millennia" | "millenium" | "mil" | "mils" => U::Millennium,
            "isoyear" => U::IsoYear,
            _ => return None,
        })
    }
}

/// The third argument of `time_bucket`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BucketShift {
    /// None: DuckDB's default origin.
    None,
    /// An INTERVAL the buckets are shifted by.
    Offset,
    /// A TIMESTAMP a bucket starts at.
    Origin,
}

/// Units of `date_diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiffUnit {
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
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
    /// ISO day of week, Monday = 1 .. Sunday = 7 (`isodow`).
    IsoDayOfWeek,
    /// Day of the year, 1-based (`dayofyear`, `doy`).
    DayOfYear,
    /// ISO 8601 week number, 1..53 (`week`, `weekofyear`).
    Week,
    /// 1..4 (`quarter`).
    Quarter,
    /// The year of the ISO week (`isoyear`).
    IsoYear,
    /// `isoyear * 100 + week` (`yearweek`).
    YearWeek,
    /// 1 for AD years, 0 for BC (`era`).
    Era,
    Decade,
    Century,
    Millennium,
    /// Seconds and fractions of the minute in milliseconds (`milliseconds`).
    Millisecond,
    /// ... in microseconds (`microseconds`).
    Microsecond,
    /// ... in nanoseconds (`nanosecond`).
    Nanosecond,
    /// Seconds since the epoch, a DOUBLE (`epoch`).
    Epoch,
    /// Milliseconds since the epoch, rounded (`epoch_ms`).
    EpochMs,
    EpochUs,
    EpochNs,
    /// The Julian day, a DOUBLE with the time of day as its fraction (`julian`).
    Julian,
    /// The UTC offset in seconds, hours and minutes: always 0 for a TIMESTAMP.
    Timezone,
    TimezoneHour,
    TimezoneMinute,
}

impl DatePart {
    /// A `date_part` field by DuckDB's names (any case).
    pub fn from_name(name: &str) -> Option<DatePart> {
        use DatePart as P;
        Some(match name.to_ascii_lowercase().as_str() {
            "year" | "years" | "y" | "yr" | "yrs" => P::Year,
            "month" | "months" | "mon" | "mons" => P::Month,
            "day" | "days" | "d" | "dayofmonth" => P::Day,
            "hour" | "hours" | "h" | "hr" | "hrs" => P::Hour,
            "minute" | "minutes" | "m" | "min" | "mins" => P::Minute,
            "second" | "seconds" | "s" | "sec" | "secs" => P::Second,
            "dayofweek" | "dow" | "weekday" => P::DayOfWeek,
            "isodow" => P::IsoDayOfWeek,
            "dayofyear" | "doy" => P::DayOfYear,
            "week" | "weeks" | "w" | "weekofyear" => P::Week,
            "quarter" | "quarters" => P::Quarter,
            "isoyear" => P::IsoYear,
            "yearweek" => P::YearWeek,
            "era" => P::Era,
            "decade" | "decades" | "dec" | "decs" => P::Decade,
            "century" | "centuries" | "c" | "cent" | "cents" => P::Century,
            "millennium" | "millennia" | "millenium" | "mil" | "mils" => P::Millennium,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "msecond" | "mseconds" => {
                P::Millisecond
            }
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "usecond" | "useconds" => {
                P::Microsecond
            }
            "epoch" => P::Epoch,
            "julian" => P::Julian,
            "timezone" => P::Timezone,
            "timezone_hour" => P::TimezoneHour,
            "timezone_minute" => P::TimezoneMinute,
            _ => return None,
        })
    }

    /// Whether the part is a DOUBLE (`epoch`, `julian`) rather than a BIGINT.
    pub fn is_double(self) -> bool {
        matches!(self, DatePart::Epoch | DatePart::Julian)
    }

    /// Whether a DATE has the part (DuckDB refuses the time-zone parts of a DATE).
    pub fn applies_to_date(self) -> bool {
        !matches!(
            self,
            DatePart::Timezone | DatePart::TimezoneHour | DatePart::TimezoneMinute
        )
    }
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
    /// `date_part(field, ts)` with the field a VARCHAR evaluated per row -> DOUBLE;
    /// `true`: the value was a DATE (whose time-zone parts are errors).
    DatePartDynamic(bool),
    /// `date_trunc(unit, ts)` with the unit a VARCHAR evaluated per row.
    DateTruncDynamic,
    /// `time_bucket(width, ts[, shift])` with the width an INTERVAL value (months
    /// allowed) and the third argument as `BucketShift` says.
    TimeBucketBy(BucketShift),
    /// `make_timestamp(y, mo, d, h, mi, s)` (BIGINTs and DOUBLE seconds) or
    /// `make_timestamp(micros)`; with `ns`, `make_timestamp_ns(nanos)`.
    MakeTimestamp {
        ns: bool,
    },
    /// `make_time(h, mi, s)` -> TIME.
    MakeTime,
    /// `dayname(ts)` / `monthname(ts)` (`month`): English names, NULL for the
    /// infinite timestamps.
    NameOf {
        month: bool,
    },
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
    /// `date_diff(unit, start, end)` (DuckDB): the number of unit boundaries from
    /// `start` to `end`; weeks are whole 7-day spans of day boundaries.
    DateDiff(DiffUnit),
    /// `make_date(year, month, day)` -> DATE; an impossible date is an error.
    MakeDate,
    /// `last_day(date)`: the last day of the date's month (DATE in, DATE out).
    LastDay,
    /// `timezone(zone, ts)` / `ts AT TIME ZONE zone`: the wall-clock time in `zone`
    /// of the UTC instant `ts`, as a TIMESTAMP (the zone name was checked at bind
    /// time).
    AtTimeZone(Arc<str>),
    /// `to_timestamp(seconds)`: DOUBLE seconds since the epoch to TIMESTAMP
    /// (micros, rounded).
    ToTimestamp,
    /// `format_bytes(n)` (DuckDB): `1.0 KiB`, powers of 1024, one decimal
    /// truncated; `decimal`: `formatReadableDecimalSize(n)`, `1.5 kB`, powers of
    /// 1000.
    FormatBytes {
        decimal: bool,
    },
    /// `json_extract(s, path)` / `->` (`false`: the element as JSON text) and
    /// `json_extract_string` / `->>` (`true`: a JSON string decoded).
    JsonExtract(Arc<[JsonStep]>, bool),
    /// An integer converted to DOUBLE for arithmetic with a decimal literal: an
    /// error beyond ±2^53, where DOUBLE would round (DuckDB computes in DECIMAL).
    ExactDouble,
    /// `trunc(x[, n])`: toward zero, to n digits (DOUBLE) or tens/hundreds (n < 0).
    Trunc(i32),
    /// `instr(s, p)` / `strpos` / `position`: 1-based character position, 0 if absent.
    Instr,
    /// `concat_ws(sep, a, ...)`: NULL arguments after the separator are skipped.
    ConcatWs,
    /// `greatest(a, ...)` / `least(a, ...)` (`greatest`: true / false): the largest
    /// or smallest argument that is not NULL; NULL when all are.
    Extreme {
        greatest: bool,
    },
    /// `format(fmt, ...)` (`{}` fields) or `printf(fmt, ...)` (`printf`: true,
    /// `%` fields): the text of the arguments laid out by the format string,
    /// the first argument.
    Format {
        printf: bool,
    },
    /// `s GLOB pattern` (two VARCHARs): `*`, `?`, `[...]` classes and `\`
    /// escapes, matched by bytes (`exec/glob_match.rs`).
    Glob,
    /// `translate(s, from, to)`: characters of `from` replaced by those of `to` at
    /// the same position, dropped when `to` is shorter.
    Translate,
    /// `lpad(s, n, fill)` / `rpad(s, n, fill)`: s padded with repeats of `fill`
    /// on the left (`true`) or right to n characters, or cut to its first n.
    Pad {
        left: bool,
    },
    /// `levenshtein(a, b)` (characters).
    Levenshtein,
    /// `damerau_levenshtein(a, b)`: edits including transpositions of adjacent
    /// characters (unrestricted).
    DamerauLevenshtein,
    /// `jaro_similarity(a, b)`.
    Jaro,
    /// `jaro_winkler_similarity(a, b)`.
    JaroWinkler,
    /// `s [NOT] [I]LIKE pattern` with a pattern that is not a literal: compiled
    /// per distinct pattern value.
    LikeMatch {
        escape: Option<char>,
        case_insensitive: bool,
        negated: bool,
    },
    /// `random()`: a pseudo-random DOUBLE in [0, 1), drawn per row.
    Random,
    /// `jaccard(a, b)`: the Jaccard similarity of the sets of bytes of a and b.
    Jaccard,
    /// `hamming(a, b)` / `mismatches`: the positions where bytes differ; strings
    /// of different lengths are an error.
    Hamming,
    /// `TRY_CAST(x AS t)`: the cast, NULL where it fails.
    TryCast(DataType),
    /// `strptime(text, fmt)` (`true`: `try_strptime`, NULL where text does not
    /// parse); the format was checked at bind time.
    Strptime(Arc<str>, bool),
    /// A numeric function (`abs`, `sqrt`, `sin`, `gcd`, ...).
    Math(super::MathFunc),
    /// A basic string function (`replace`, `repeat`, `left`, ...).
    Text(super::TextFunc),
    /// An INTERVAL operation (arithmetic, constructors, parts).
    Interval(super::IntervalFunc),
    /// A LIST function (constructors, access, sorting, splitting).
    List(super::ListFunc),
    /// `key_id(s)`: the number of a VARCHAR value in the query's table of
    /// partition keys (BIGINT; NULL stays NULL). Put in by the optimizer only.
    KeyId(super::KeyIds),
}

/// One step of a JSON path (`$.key`, `$[n]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum JsonStep {
    Key(Arc<str>),
    Index(u64),
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
        /// `list` as a hash set, built by the executor on first use when the list
        /// is long and all literals.
        set: LiteralSetCache,
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
    /// A subquery used as a value. An uncorrelated one the executor runs once
    /// before the query and replaces by a literal (or a literal IN list); a
    /// correlated one (non-empty `correlated`) is lifted out of the expression
    /// into a [`LogicalPlan::Apply`] below the node that evaluates it.
    Subquery(Box<Subquery>),
    /// Inside a correlated subquery's plan: a value of the enclosing query, entry
    /// `slot` of the `correlated` list of the innermost subquery around it.
    /// [`LogicalPlan::Apply`] replaces it by a literal before the plan runs.
    Param {
        slot: usize,
        name: String,
        data_type: DataType,
    },
}

/// A subquery inside an expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Subquery {
    pub plan: LogicalPlan,
    pub kind: SubqueryKind,
    /// BOOLEAN for EXISTS and IN; the subquery's column type for a scalar subquery.
    pub data_type: DataType,
    /// The enclosing query's values the plan reads (empty: uncorrelated): entry
    /// `i`, an expression over the enclosing node's input, is what
    /// `Expr::Param { slot: i }` in the plan stands for.
    pub correlated: Vec<Expr>,
}

impl Subquery {
    /// Whether the plan reads values of the enclosing query.
    pub fn is_correlated(&self) -> bool {
        !self.correlated.is_empty()
    }
}

/// What a subquery in an expression computes.
#[derive(Clone, Debug, PartialEq)]
pub enum SubqueryKind {
    /// `(SELECT one column)`: its single value; NULL for no rows, an error for more
    /// than one (DuckDB 2.0).
    Scalar,
    /// `[NOT] EXISTS (SELECT ...)`.
    Exists { negated: bool },
    /// `expr [NOT] IN (SELECT one column)`, with SQL's NULL semantics.
    In { expr: Expr, negated: bool },
}

impl Expr {
    /// One column reference per column of `schema`, named as the column.
    pub fn columns(schema: &[(String, DataType)]) -> Vec<(Expr, String)> {
        schema
            .iter()
            .enumerate()
            .map(|(index, (name, data_type))| {
                let e = Expr::Column {
                    index,
                    name: name.clone(),
                    data_type: *data_type,
                };
                (e, name.clone())
            })
            .collect()
    }

    /// The top-level AND conjuncts of this expression, left to right.
    pub fn conjuncts(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(x) = stack.pop() {
            match x {
                Expr::Binary {
                    op: BinaryOp::And,
                    left,
                    right,
                    ..
                } => {
                    stack.push(right);
                    stack.push(left);
                }
                other => out.push(other),
            }
        }
        out
    }

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
            Expr::Subquery(s) => s.data_type,
            Expr::Param { data_type, .. } => *data_type,
        }
    }

    pub fn literal(value: Value, data_type: DataType) -> Expr {
        Expr::Literal { value, data_type }
    }

    /// Calls `f` on every column index referenced.
    pub fn for_each_column(&self, f: &mut dyn FnMut(usize)) {
        self.visit(&mut |e| {
            if let Expr::Column { index, .. } = e {
                f(*index)
            }
        });
    }

    /// Rewrites every column index through `map`.
    pub fn remap_columns(&mut self, map: &dyn Fn(usize) -> usize) {
        self.visit_mut(&mut |e| {
            if let Expr::Column { index, .. } = e {
                *index = map(*index)
            }
        });
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column { name, .. } => write!(f, "{name}"),
            Expr::Param { name, .. } => write!(f, "outer.{name}"),
            Expr::Literal {
                value: Value::Ip(v),
                data_type: DataType::Interval,
            } => write!(
                f,
                "INTERVAL '{}'",
                crate::interval::format(crate::interval::Interval::unpack(*v))
            ),
            Expr::Literal {
                value: value @ Value::Int(_),
                data_type: data_type @ DataType::Decimal { .. },
            } => write!(f, "{}", crate::value::format_value(value, *data_type)),
            Expr::Literal {
                value: value @ Value::Int(_),
                data_type,
            } if data_type.is_timestamp()
                || matches!(data_type, DataType::Date | DataType::Time) =>
            {
                write!(f, "'{}'", crate::value::format_value(value, *data_type))
            }
            Expr::Literal { value, .. } => match value {
                Value::Null => write!(f, "NULL"),
                Value::Int(v) => write!(f, "{v}"),
                Value::Float(v) => write!(f, "{v}"),
                Value::Bool(v) => write!(f, "{v}"),
                Value::Str(s) => write!(f, "'{s}'"),
                Value::Ip(v) => write!(f, "'{}'", crate::ip::format(*v)),
                Value::List(_) => {
                    write!(f, "{}", crate::value::format_value(value, self.data_type()))
                }
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
                ..
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
            Expr::Func {
                func: ScalarFunc::KeyId(_),
                args,
                ..
            } if args.len() == 1 => write!(f, "key_id({})", args[0]),
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
            Expr::Subquery(s) => match &s.kind {
                SubqueryKind::Scalar => write!(f, "(SELECT ...)"),
                SubqueryKind::Exists { negated } => {
                    write!(
                        f,
                        "{}EXISTS (SELECT ...)",
                        if *negated { "NOT " } else { "" }
                    )
                }
                SubqueryKind::In { expr, negated } => write!(
                    f,
                    "({expr} {}IN (SELECT ...))",
                    if *negated { "NOT " } else { "" }
                ),
            },
        }
    }
}

impl Expr {
    /// Whether the expression holds a subquery (which the executor resolves first).
    pub fn has_subquery(&self) -> bool {
        self.exists(&mut |e| matches!(e, Expr::Subquery(_)))
    }

    /// Calls `f` on each direct sub-expression, left to right, stopping at the
    /// first error. A subquery's children are its correlated values and its `IN`
    /// operand: the walk does not enter subquery plans.
    ///
    /// This and [`Expr::try_for_each_child_mut`] are the only places that know
    /// which fields of each variant are sub-expressions; every walk
    /// ([`Expr::visit`], [`Expr::exists`], [`Expr::transform`], ...) is built on
    /// them.
    pub fn try_for_each_child<E>(
        &self,
        f: &mut dyn FnMut(&Expr) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Expr::Column { .. } | Expr::Literal { .. } | Expr::Param { .. } => Ok(()),
            Expr::Negate(e) | Expr::Not(e) => f(e),
            Expr::Binary { left, right, .. } => {
                f(left)?;
                f(right)
            }
            Expr::IsNull { expr, .. } | Expr::Like { expr, .. } | Expr::Cast { expr, .. } => {
                f(expr)
            }
            Expr::InList { expr, list, .. } => {
                f(expr)?;
                list.iter().try_for_each(f)
            }
            Expr::Case {
                whens, else_expr, ..
            } => {
                for (w, t) in whens {
                    f(w)?;
                    f(t)?;
                }
                else_expr.iter().try_for_each(|e| f(e))
            }
            Expr::Func { args, .. } => args.iter().try_for_each(f),
            Expr::Subquery(s) => {
                s.correlated.iter().try_for_each(&mut *f)?;
                match &s.kind {
                    SubqueryKind::In { expr, .. } => f(expr),
                    SubqueryKind::Scalar | SubqueryKind::Exists { .. } => Ok(()),
                }
            }
        }
    }

    /// [`Expr::try_for_each_child`], with mutable access to each child.
    pub fn try_for_each_child_mut<E>(
        &mut self,
        f: &mut dyn FnMut(&mut Expr) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Expr::Column { .. } | Expr::Literal { .. } | Expr::Param { .. } => Ok(()),
            Expr::Negate(e) | Expr::Not(e) => f(e),
            Expr::Binary { left, right, .. } => {
                f(left)?;
                f(right)
            }
            Expr::IsNull { expr, .. } | Expr::Like { expr, .. } | Expr::Cast { expr, .. } => {
                f(expr)
            }
            Expr::InList {
                expr, list, set, ..
            } => {
                // The items may change: a set built from them no longer holds.
                *set = LiteralSetCache::default();
                f(expr)?;
                list.iter_mut().try_for_each(f)
            }
            Expr::Case {
                whens, else_expr, ..
            } => {
                for (w, t) in whens {
                    f(w)?;
                    f(t)?;
                }
                else_expr.iter_mut().try_for_each(|e| f(e))
            }
            Expr::Func { args, .. } => args.iter_mut().try_for_each(f),
            Expr::Subquery(s) => {
                s.correlated.iter_mut().try_for_each(&mut *f)?;
                match &mut s.kind {
                    SubqueryKind::In { expr, .. } => f(expr),
                    SubqueryKind::Scalar | SubqueryKind::Exists { .. } => Ok(()),
                }
            }
        }
    }

    /// Calls `f` on this expression and then on every sub-expression, depth first
    /// (not into subquery plans).
    pub fn visit(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        let _ = self.try_for_each_child::<Infallible>(&mut |c| {
            c.visit(f);
            Ok(())
        });
    }

    /// Calls `f` on every sub-expression (children first), then on this one.
    pub fn visit_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        let _ = self.try_for_each_child_mut::<Infallible>(&mut |c| {
            c.visit_mut(f);
            Ok(())
        });
        f(self);
    }

    /// Whether this expression or any sub-expression satisfies `pred`; stops at
    /// the first that does.
    pub fn exists(&self, pred: &mut dyn FnMut(&Expr) -> bool) -> bool {
        fn go(e: &Expr, pred: &mut dyn FnMut(&Expr) -> bool) -> Result<(), ()> {
            if pred(e) {
                return Err(());
            }
            e.try_for_each_child(&mut |c| go(c, pred))
        }
        go(self, pred).is_err()
    }

    /// Rewrites the expression bottom-up: `f` may replace any node (children first).
    pub fn transform(
        mut self,
        f: &mut dyn FnMut(Expr) -> crate::error::Result<Expr>,
    ) -> crate::error::Result<Expr> {
        self.try_for_each_child_mut(&mut |c| c.transform_mut(f))?;
        f(self)
    }

    /// [`Expr::transform`] of this expression in place.
    pub fn transform_mut(
        &mut self,
        f: &mut dyn FnMut(Expr) -> crate::error::Result<Expr>,
    ) -> crate::error::Result<()> {
        let taken = std::mem::replace(self, Expr::literal(Value::Null, DataType::Boolean));
        *self = taken.transform(f)?;
        Ok(())
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
    /// `quantile_disc(x, q)` / `quantile(x, q)`: exact, the value at position
    /// `max(ceil(q * n) - 1, 0)` of the sorted values (q in `AggExpr::quantile`).
    QuantileDisc,
    /// `mad(x)`: the median absolute deviation, `median(|x - median(x)|)`
    /// (DATE, TIMESTAMP and TIME give an INTERVAL).
    Mad,
    /// `approx_quantile(x, q)`: a mergeable compactor sketch (q in `AggExpr::quantile`).
    ApproxQuantile,
    /// `arg_max(arg, val)`: `arg` of the row with the largest `val` (val in `AggExpr::arg2`).
    ArgMax,
    /// `arg_min(arg, val)`.
    ArgMin,
    /// `arg_max_null` / `arg_min_null(arg, val)` (`nulls_last` false): as
    /// arg_max / arg_min, but a NULL `arg` is a value like any other;
    /// `arg_max_nulls_last` / `arg_min_nulls_last` (`nulls_last`): also a
    /// NULL `val` counts, after every other (the first such row is taken when no
    /// row has a `val`).
    ArgBestNulls {
        max: bool,
        nulls_last: bool,
    },
    /// `any_value(x)`: the first non-NULL value a group sees.
    AnyValue,
    /// `first(x)` / `arbitrary(x)`: the first value a group sees, NULL included.
    First,
    /// `last(x)`: the last value a group sees, NULL included.
    Last,
    /// A statistic of x's moments (`var_samp`, `stddev_pop`, `skewness`, ...).
    Moment(super::MomentStat),
    /// A statistic of the joint moments of (y, x), x in `AggExpr::arg2`
    /// (`covar_pop`, `corr`, `regr_slope`, ...).
    CoMoment(super::CoMomentStat),
    /// A fold of x (`product`, `bool_and`, `bit_or`, ...).
    Fold(super::FoldFunc),
    /// `string_agg(x, sep)` / `group_concat` / `listagg`: the non-NULL values
    /// joined by `sep` (a constant string in `AggExpr::arg2`).
    StringAgg,
    /// `mode(x)`: the most frequent non-NULL value (the first seen among equals).
    Mode,
    /// `entropy(x)`: the Shannon entropy (base 2) of x's values, NULL counted as
    /// a value.
    Entropy,
    /// `weighted_avg(x, w)` / `wavg`: `sum(x * w) / sum(w)` over rows where both
    /// are not NULL, w in `AggExpr::arg2`.
    WeightedAvg,
    /// `list(x)` / `array_agg`: the values (NULLs included) as a LIST.
    List,
}

impl AggFunc {
    /// The function's SQL name (the first of its spellings).
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::CountStar | AggFunc::Count => "count",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::CountIf => "count_if",
            AggFunc::ApproxCountDistinct => "approx_count_distinct",
            AggFunc::QuantileCont => "quantile_cont",
            AggFunc::QuantileDisc => "quantile_disc",
            AggFunc::ApproxQuantile => "approx_quantile",
            AggFunc::Mad => "mad",
            AggFunc::ArgMax => "arg_max",
            AggFunc::ArgMin => "arg_min",
            AggFunc::ArgBestNulls { max, nulls_last } => match (max, nulls_last) {
                (true, false) => "arg_max_null",
                (false, false) => "arg_min_null",
                (true, true) => "arg_max_nulls_last",
                (false, true) => "arg_min_nulls_last",
            },
            AggFunc::AnyValue => "any_value",
            AggFunc::First => "first",
            AggFunc::Last => "last",
            AggFunc::Moment(s) => s.name(),
            AggFunc::CoMoment(s) => s.name(),
            AggFunc::Fold(f) => f.name(),
            AggFunc::StringAgg => "string_agg",
            AggFunc::Mode => "mode",
            AggFunc::Entropy => "entropy",
            AggFunc::WeightedAvg => "weighted_avg",
            AggFunc::List => "list",
        }
    }
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
    /// Window functions. Output: the input's columns, then one column per window
    /// expression (its rows in the input's order).
    Window {
        input: Box<LogicalPlan>,
        windows: Vec<(WindowExpr, String)>,
    },
    /// `unnest(list)` in a select list. Output: the input's columns, then one
    /// column per list expression; each input row becomes as many rows as its
    /// longest list has elements (none for NULL or empty lists), the shorter
    /// lists padded with NULLs.
    Unnest {
        input: Box<LogicalPlan>,
        lists: Vec<(Expr, String)>,
    },
    /// A join. Output: the left columns, then the right columns (Inner, Left,
    /// Right, Full); only the left columns (Semi and Anti). With equality keys it
    /// runs as a hash join; without (a cross join, `ON a.x < b.y`) as a nested
    /// loop over pairs.
    Join {
        left: Box<LogicalPlan>,
        right: Box<LogicalPlan>,
        kind: JoinKind,
        /// Equality keys: an expression over the left output and one over the right
        /// output, of the same type. NULL keys never match. Empty: every pair is
        /// a candidate (only Inner, Left, Right and Full).
        on: Vec<(Expr, Expr)>,
        /// The rest of the ON condition, over the left columns then the right
        /// columns, evaluated on key-matched pairs.
        filter: Option<Expr>,
        /// The side the hash table is built on.
        build: BuildSide,
    },
    /// `UNION ALL`: the inputs' rows one after the other. Every input has the same
    /// column types; names come from the first.
    Union {
        inputs: Vec<LogicalPlan>,
    },
    /// One row without columns (`SELECT` without `FROM`); it outputs a single
    /// placeholder BOOLEAN column that nothing refers to.
    OneRow,
    /// Rows computed before the query ran (a subquery's result, held for a join).
    Values {
        columns: Vec<(String, DataType)>,
        batches: Vec<crate::column::Batch>,
    },
    /// A table function in FROM (`range(10)`): rows produced while the query runs,
    /// batch by batch. `columns` are the output names and types.
    TableFunction {
        func: TableFunc,
        columns: Vec<(String, DataType)>,
    },
    /// `WITH RECURSIVE t AS (anchor UNION [ALL] step)`: the anchor's rows, then
    /// the step's rows run again and again over the rows of the iteration
    /// before (its `WorkTable`s read them) until an iteration adds none. With
    /// `distinct` (UNION), rows already produced are dropped. Output: the
    /// anchor's columns.
    RecursiveCte {
        name: String,
        slot: super::recursive::WorkSlot,
        anchor: Box<LogicalPlan>,
        step: Box<LogicalPlan>,
        distinct: bool,
    },
    /// Inside a `RecursiveCte`'s step: the rows of the previous iteration.
    WorkTable {
        name: String,
        slot: super::recursive::WorkSlot,
        columns: Vec<(String, DataType)>,
    },
    /// A dependent join: the correlated `subquery` evaluated for the rows of
    /// `input` (once per distinct tuple of its correlated values and IN
    /// operand, those values standing in for its `Expr::Param`s). Output: the
    /// input's columns, then the subquery's value (scalar, EXISTS, IN) as one
    /// column; for a LATERAL join (`lateral`: Inner or Left), the subquery's
    /// columns, one row per pair (a Left join pads an input row without
    /// subquery rows with NULLs).
    Apply {
        input: Box<LogicalPlan>,
        subquery: Box<Subquery>,
        lateral: Option<JoinKind>,
    },
}

/// Join semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JoinKind {
    Inner,
    /// `LEFT [OUTER] JOIN`: unmatched left rows are kept, padded with NULLs.
    Left,
    /// `RIGHT [OUTER] JOIN`: unmatched right rows are kept, padded with NULLs.
    Right,
    /// `FULL [OUTER] JOIN`: unmatched rows of both sides are kept.
    Full,
    /// Left rows with at least one match (`x IN (SELECT ...)`).
    Semi,
    /// `x NOT IN (SELECT ...)`: left rows matching nothing, with SQL's NULL rules
    /// (no rows at all if the right side has a NULL key, none with a NULL left key
    /// unless the right side is empty).
    Anti,
}

impl JoinKind {
    /// Whether the output has the right side's columns too (all but semi/anti).
    pub fn both_sides(self) -> bool {
        !matches!(self, JoinKind::Semi | JoinKind::Anti)
    }

    /// Whether left rows without a match are kept (padded with NULLs).
    pub fn keeps_left(self) -> bool {
        matches!(self, JoinKind::Left | JoinKind::Full)
    }

    /// Whether right rows without a match are kept (padded with NULLs).
    pub fn keeps_right(self) -> bool {
        matches!(self, JoinKind::Right | JoinKind::Full)
    }

    pub fn name(self) -> &'static str {
        match self {
            JoinKind::Inner => "INNER",
            JoinKind::Left => "LEFT",
            JoinKind::Right => "RIGHT",
            JoinKind::Full => "FULL",
            JoinKind::Semi => "SEMI",
            JoinKind::Anti => "ANTI",
        }
    }
}

/// Which input of a join the hash table is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuildSide {
    Left,
    Right,
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
            LogicalPlan::Join {
                left, right, kind, ..
            } => {
                let mut s = left.schema();
                if kind.both_sides() {
                    s.extend(right.schema());
                }
                s
            }
            LogicalPlan::Window { input, windows } => {
                let mut s = input.schema();
                s.extend(windows.iter().map(|(w, n)| (n.clone(), w.data_type)));
                s
            }
            LogicalPlan::Unnest { input, lists } => {
                let mut s = input.schema();
                s.extend(lists.iter().map(|(e, n)| {
                    let t = e.data_type();
                    (n.clone(), t.list_elem().unwrap_or(t))
                }));
                s
            }
            LogicalPlan::Union { inputs } => inputs.first().map_or(Vec::new(), |i| i.schema()),
            LogicalPlan::OneRow => vec![("one_row".into(), DataType::Boolean)],
            LogicalPlan::Values { columns, .. }
            | LogicalPlan::TableFunction { columns, .. }
            | LogicalPlan::WorkTable { columns, .. } => columns.clone(),
            LogicalPlan::RecursiveCte { anchor, .. } => anchor.schema(),
            LogicalPlan::Apply {
                input,
                subquery,
                lateral,
            } => {
                let mut s = input.schema();
                if lateral.is_some() {
                    s.extend(subquery.plan.schema());
                } else {
                    s.push(("subquery".into(), subquery.data_type));
                }
                s
            }
        }
    }

    /// The inputs of this node.
    pub fn inputs(&self) -> Vec<&LogicalPlan> {
        match self {
            LogicalPlan::Scan { .. }
            | LogicalPlan::OneRow
            | LogicalPlan::Values { .. }
            | LogicalPlan::WorkTable { .. }
            | LogicalPlan::TableFunction { .. } => Vec::new(),
            LogicalPlan::Filter { input, .. }
            | LogicalPlan::Project { input, .. }
            | LogicalPlan::Aggregate { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. }
            | LogicalPlan::Window { input, .. }
            | LogicalPlan::Unnest { input, .. }
            | LogicalPlan::Apply { input, .. }
            | LogicalPlan::Distinct { input } => vec![input],
            LogicalPlan::Join { left, right, .. } => vec![left, right],
            LogicalPlan::Union { inputs } => inputs.iter().collect(),
            LogicalPlan::RecursiveCte { anchor, step, .. } => vec![anchor, step],
        }
    }

    /// The inputs of this node, mutably.
    pub fn inputs_mut(&mut self) -> Vec<&mut LogicalPlan> {
        match self {
            LogicalPlan::Scan { .. }
            | LogicalPlan::OneRow
            | LogicalPlan::Values { .. }
            | LogicalPlan::WorkTable { .. }
            | LogicalPlan::TableFunction { .. } => Vec::new(),
            LogicalPlan::Filter { input, .. }
            | LogicalPlan::Project { input, .. }
            | LogicalPlan::Aggregate { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. }
            | LogicalPlan::Window { input, .. }
            | LogicalPlan::Unnest { input, .. }
            | LogicalPlan::Apply { input, .. }
            | LogicalPlan::Distinct { input } => vec![input],
            LogicalPlan::Join { left, right, .. } => vec![left, right],
            LogicalPlan::Union { inputs } => inputs.iter_mut().collect(),
            LogicalPlan::RecursiveCte { anchor, step, .. } => vec![anchor, step],
        }
    }

    /// Replaces each input by `f` of it, in order; stops at the first error
    /// (the inputs not reached yet are then left as [`LogicalPlan::OneRow`]).
    pub fn try_map_inputs(
        &mut self,
        f: &mut dyn FnMut(LogicalPlan) -> crate::error::Result<LogicalPlan>,
    ) -> crate::error::Result<()> {
        for slot in self.inputs_mut() {
            *slot = f(slot.take())?;
        }
        Ok(())
    }

    /// Replaces each input by `f` of it, in order.
    pub fn map_inputs(&mut self, mut f: impl FnMut(LogicalPlan) -> LogicalPlan) {
        for slot in self.inputs_mut() {
            *slot = f(slot.take());
        }
    }

    /// Moves this plan out, leaving [`LogicalPlan::OneRow`] in its place.
    pub fn take(&mut self) -> LogicalPlan {
        std::mem::replace(self, LogicalPlan::OneRow)
    }

    /// The expressions this node evaluates (not those of its inputs), mutably.
    pub fn exprs_mut(&mut self) -> Vec<&mut Expr> {
        let mut out = Vec::new();
        match self {
            LogicalPlan::Filter { predicate, .. } => out.push(predicate),
            LogicalPlan::Project { exprs, .. } => out.extend(exprs.iter_mut().map(|(e, _)| e)),
            LogicalPlan::Aggregate { group, aggs, .. } => {
                out.extend(group.iter_mut().map(|(e, _)| e));
                for (a, _) in aggs {
                    out.extend(
                        [&mut a.arg, &mut a.arg2, &mut a.filter]
                            .into_iter()
                            .flatten(),
                    );
                }
            }
            LogicalPlan::Sort { keys, .. } => out.extend(keys.iter_mut().map(|k| &mut k.expr)),
            LogicalPlan::Window { windows, .. } => {
                out.extend(windows.iter_mut().flat_map(|(w, _)| w.exprs_mut()))
            }
            LogicalPlan::Unnest { lists, .. } => out.extend(lists.iter_mut().map(|(e, _)| e)),
            LogicalPlan::Join { on, filter, .. } => {
                for (l, r) in on {
                    out.push(l);
                    out.push(r);
                }
                out.extend(filter);
            }
            LogicalPlan::Apply { subquery, .. } => {
                let s = &mut **subquery;
                out.extend(s.correlated.iter_mut());
                if let SubqueryKind::In { expr, .. } = &mut s.kind {
                    out.push(expr);
                }
            }
            _ => {}
        }
        out
    }

    /// Whether this plan (any node, any expression) holds a subquery expression.
    pub fn has_subquery(&self) -> bool {
        self.exprs().iter().any(|e| e.has_subquery())
            || self.inputs().iter().any(|i| i.has_subquery())
    }

    /// The expressions this node evaluates (not those of its inputs).
    pub fn exprs(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        match self {
            LogicalPlan::Filter { predicate, .. } => out.push(predicate),
            LogicalPlan::Project { exprs, .. } => out.extend(exprs.iter().map(|(e, _)| e)),
            LogicalPlan::Aggregate { group, aggs, .. } => {
                out.extend(group.iter().map(|(e, _)| e));
                for (a, _) in aggs {
                    out.extend([&a.arg, &a.arg2, &a.filter].into_iter().flatten());
                }
            }
            LogicalPlan::Sort { keys, .. } => out.extend(keys.iter().map(|k| &k.expr)),
            LogicalPlan::Window { windows, .. } => {
                out.extend(windows.iter().flat_map(|(w, _)| w.exprs()))
            }
            LogicalPlan::Unnest { lists, .. } => out.extend(lists.iter().map(|(e, _)| e)),
            LogicalPlan::Join { on, filter, .. } => {
                for (l, r) in on {
                    out.push(l);
                    out.push(r);
                }
                out.extend(filter);
            }
            LogicalPlan::Apply { subquery, .. } => {
                out.extend(subquery.correlated.iter());
                if let SubqueryKind::In { expr, .. } = &subquery.kind {
                    out.push(expr);
                }
            }
            _ => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(index: usize) -> Expr {
        Expr::Column {
            index,
            name: format!("c{index}"),
            data_type: DataType::BigInt,
        }
    }

    fn int(v: i64) -> Expr {
        Expr::literal(Value::Int(v), DataType::BigInt)
    }

    fn add(l: Expr, r: Expr) -> Expr {
        Expr::Binary {
            op: BinaryOp::Add,
            left: Box::new(l),
            right: Box::new(r),
            data_type: DataType::BigInt,
        }
    }

    /// `CASE WHEN c0 IN (c1, 2) THEN c2 + 1 ELSE -c3 END`.
    fn sample() -> Expr {
        Expr::Case {
            whens: vec![(
                Expr::InList {
                    expr: Box::new(col(0)),
                    list: vec![col(1), int(2)],
                    negated: false,
                    set: Default::default(),
                },
                add(col(2), int(1)),
            )],
            else_expr: Some(Box::new(Expr::Negate(Box::new(col(3))))),
            data_type: DataType::BigInt,
        }
    }

    fn columns(e: &Expr) -> Vec<usize> {
        let mut out = Vec::new();
        e.for_each_column(&mut |i| out.push(i));
        out
    }

    #[test]
    fn visit_reaches_every_node_parents_first() {
        let mut kinds = Vec::new();
        sample().visit(&mut |e| {
            kinds.push(match e {
                Expr::Case { .. } => "case",
                Expr::InList { .. } => "in",
                Expr::Binary { .. } => "+",
                Expr::Negate(_) => "-",
                Expr::Column { .. } => "col",
                Expr::Literal { .. } => "lit",
                _ => "other",
            })
        });
        assert_eq!(
            kinds,
            ["case", "in", "col", "col", "lit", "+", "col", "lit", "-", "col"]
        );
        assert_eq!(columns(&sample()), [0, 1, 2, 3]);
    }

    #[test]
    fn remap_and_transform_rewrite_every_column() {
        let mut e = sample();
        e.remap_columns(&|i| i + 10);
        assert_eq!(columns(&e), [10, 11, 12, 13]);
        // Bottom-up: the rewritten children are what the parent sees.
        let folded = add(int(1), add(int(2), int(3)))
            .transform(&mut |x| match x {
                Expr::Binary { left, right, .. } => match (*left, *right) {
                    (
                        Expr::Literal {
                            value: Value::Int(a),
                            ..
                        },
                        Expr::Literal {
                            value: Value::Int(b),
                            ..
                        },
                    ) => Ok(int(a + b)),
                    _ => unreachable!("children are folded first"),
                },
                other => Ok(other),
            })
            .unwrap();
        assert_eq!(folded, int(6));
    }

    #[test]
    fn exists_stops_at_the_first_match_and_transform_stops_at_the_first_error() {
        let mut seen = 0;
        assert!(sample().exists(&mut |e| {
            seen += 1;
            matches!(e, Expr::Column { index: 1, .. })
        }));
        assert_eq!(seen, 4, "case, in, c0, c1");
        assert!(!sample().exists(&mut |e| matches!(e, Expr::Subquery(_))));
        let err = sample().transform(&mut |x| match x {
            Expr::Column { index: 2, .. } => Err(crate::error::Error::InvalidInput("c2".into())),
            other => Ok(other),
        });
        assert!(err.is_err());
    }
}
