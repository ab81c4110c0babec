//! Hash aggregation: per-group aggregate states over the groups of a
//! [`GroupMap`](super::group::GroupMap).
//!
//! Group ids come from the group map (packed keys, dense per-segment slots); every
//! aggregate keeps its state column-wise in flat vectors indexed by group id.
//! Threads aggregate into their own tables, merged at the end (or at the end of a
//! partition when the aggregation streams). Each table reports its approximate
//! size to the query's memory pool once per block.
//!
//! The states come in families, one file each: counts (`count.rs`), sums and
//! averages (`sum.rs`), extremes (`min_max.rs`), picks of one row's value
//! (`pick.rs`), distinct counts (`distinct.rs`), quantiles (`quantile.rs`, `mad.rs`),
//! variances and regressions (`moments.rs`), products and bit and boolean folds
//! (`fold.rs`), `string_agg` (`string_agg.rs`) and value counts (`mode.rs`);
//! `frames.rs` runs any of them over window frames. Each state type implements `GroupStates`;
//! `Acc` is the enum over them, matched once per aggregate and batch, never per
//! row. `table.rs` holds the group table that drives them, `bound.rs` the top-N
//! bound that lets a streaming aggregation skip groups.

mod bound;
mod count;
mod distinct;
mod fold;
mod frames;
mod list;
mod mad;
mod min_max;
mod mode;
mod moments;
mod pick;
mod quantile;
mod string_agg;
mod sum;
mod table;

use std::borrow::Cow;
use std::cmp::Ordering;

pub use bound::AggBound;
pub use frames::over_frames;
pub use table::{AggState, GroupTable};

use super::group::norm_f64;
use super::vector::{self, VData, Vector};
use crate::column::{Bitmap, Column, ColumnData, Value};
use crate::error::{Error, Result};
use crate::plan::{AggExpr, AggFunc};
use crate::schema::{DataType, PhysicalType};
use count::{Count, CountIf};
use distinct::{ApproxDistinct, CountDistinct};
use fold::{Fold, WeightedAvg};
use list::{Keep, ListAgg};
use mad::Mad;
use min_max::{ArgBest, MinMax, MinMaxStr};
use mode::ValueCounts;
use moments::{CoMoments, Moments};
use pick::{Pick, PickStr};
use quantile::{ApproxQuantile, Quantile, SharedQuantile};
use string_agg::StringAgg;
use sum::{Avg, Sum};

/// Appends the encoding of row `i` of `v` to `buf` (strings as bytes).
#[inline]
pub(crate) fn encode(buf: &mut Vec<u8>, v: &Vector, i: usize, local_dict: bool) {
    if !v.is_valid(i) {
        buf.push(0);
        return;
    }
    buf.push(1);
    match &v.data {
        VData::Int(x) => buf.extend_from_slice(&x[i].to_le_bytes()),
        VData::Float(x) => buf.extend_from_slice(&norm_f64(x[i]).to_le_bytes()),
        VData::Bool(x) => buf.push(x[i] as u8),
        VData::Ip(x) => buf.extend_from_slice(&x[i].to_le_bytes()),
        VData::Dict { codes, .. } if local_dict => buf.extend_from_slice(&codes[i].to_le_bytes()),
        VData::Str(_) | VData::Dict { .. } => push_str(buf, v.str_at(i)),
        VData::List(l) => encode_value(buf, &Value::List(l.get(i).into())),
        VData::Const(c) => encode_value(buf, c),
    }
}

/// A value's bytes in the row encoding (lists: length, then each element with
/// its validity byte).
fn encode_value(buf: &mut Vec<u8>, c: &Value) {
    {
        match c {
            Value::Int(x) => buf.extend_from_slice(&x.to_le_bytes()),
            Value::Float(x) => buf.extend_from_slice(&norm_f64(*x).to_le_bytes()),
            Value::Bool(x) => buf.push(*x as u8),
            Value::Ip(x) => buf.extend_from_slice(&x.to_le_bytes()),
            Value::Str(s) => push_str(buf, s),
            Value::Null => {}
            Value::List(items) => {
                buf.extend_from_slice(&(items.len() as u32).to_le_bytes());
                for x in items.iter() {
                    buf.push(u8::from(!matches!(x, Value::Null)));
                    encode_value(buf, x);
                }
            }
        }
    }
}

#[inline]
fn push_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// What the state of every aggregate family does, over groups numbered from 0.
trait GroupStates: Sized {
    /// Grows to `n` groups; the new ones have seen nothing.
    fn resize(&mut self, n: usize);

    /// An empty state of the same aggregate (same function, type, parameters).
    fn empty_like(&self) -> Self;

    /// Bytes per group of the fixed-size state.
    fn group_bytes(&self) -> usize;

    /// Folds in a batch's rows. Adds to `grown` the bytes of state that grows
    /// with the values (sets, buffers, strings).
    fn update(&mut self, b: &GroupedRows<'_>, grown: &mut usize) -> Result<()>;

    /// Folds `other`'s group `g` into this state's group `map[g]`.
    fn merge(&mut self, other: Self, map: &[u32]) -> Result<()>;

    /// One value per group, of result type `t`; `all` are the states of every
    /// aggregate of the table (a shared quantile reads another's values).
    fn finish(&self, t: DataType, all: &[Acc]) -> Result<Column>;
}

/// A batch's rows for one aggregate: row `rows[i]` of the argument goes to group
/// `gids[i]`.
struct GroupedRows<'a> {
    /// The argument (not a NULL constant).
    arg: &'a Vector,
    /// The second argument and its type (arg_max's value).
    arg2: Option<(&'a Vector, DataType)>,
    /// The type of the argument.
    arg_type: DataType,
    rows: &'a [u32],
    gids: &'a [u32],
    /// The number of rows of the batch (the argument's length).
    len: usize,
}

impl GroupedRows<'_> {
    /// Each (row, group) pair.
    #[inline]
    fn pairs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.rows
            .iter()
            .zip(self.gids)
            .map(|(&r, &g)| (r as usize, g as usize))
    }
}

/// A fixed-size value kept per group (sums, extremes): how to read a vector's
/// values as a slice of it, how two compare, and the column they finish into.
trait Primitive: Copy + Default + std::fmt::Debug {
    fn values(v: &Vector, len: usize) -> Result<Cow<'_, [Self]>>;
    fn compare(a: Self, b: Self) -> Ordering;
    fn column(v: Vec<Self>) -> ColumnData;
}

/// Implements [`Primitive`] for `$t`: the vector accessor of its values, the
/// order of two values, the column variant.
macro_rules! primitive {
    ($t:ty, $values:path, $compare:expr, $column:path) => {
        impl Primitive for $t {
            #[inline]
            fn values(v: &Vector, len: usize) -> Result<Cow<'_, [$t]>> {
                $values(v, len)
            }
            #[inline]
            fn compare(a: $t, b: $t) -> Ordering {
                $compare(a, b)
            }
            fn column(v: Vec<$t>) -> ColumnData {
                $column(v)
            }
        }
    };
}

primitive!(i64, vector::ints, |a: i64, b| a.cmp(&b), ColumnData::Int64);
primitive!(f64, vector::floats, vector::ord_f64, ColumnData::Float64);
primitive!(
    bool,
    vector::bools,
    |a: bool, b| a.cmp(&b),
    ColumnData::Bool
);
primitive!(u128, vector::ips, |a: u128, b| a.cmp(&b), ColumnData::Ip);

/// A packed INTERVAL ordered as SQL orders intervals (normalized: 30 days =
/// 1 month), for `min` / `max`.
#[derive(Clone, Copy, Default, Debug)]
struct IntervalVal(u128);

impl Primitive for IntervalVal {
    fn values(v: &Vector, len: usize) -> Result<Cow<'_, [IntervalVal]>> {
        Ok(Cow::Owned(
            vector::ips(v, len)?
                .iter()
                .map(|&x| IntervalVal(x))
                .collect(),
        ))
    }
    fn compare(a: IntervalVal, b: IntervalVal) -> Ordering {
        let key = crate::interval::Interval::key_of;
        key(a.0).cmp(&key(b.0))
    }
    fn column(v: Vec<IntervalVal>) -> ColumnData {
        ColumnData::Ip(v.into_iter().map(|x| x.0).collect())
    }
}

/// A column of `data` that is NULL where `seen` is false.
fn with_seen(data: ColumnData, seen: &[bool]) -> Column {
    Column {
        data,
        validity: seen
            .iter()
            .any(|s| !s)
            .then(|| Bitmap::from_words(words_of(seen), seen.len())),
    }
}

fn words_of(bits: &[bool]) -> Vec<u64> {
    let mut w = vec![0u64; bits.len().div_ceil(64)];
    for (i, &b) in bits.iter().enumerate() {
        if b {
            w[i / 64] |= 1 << (i % 64);
        }
    }
    w
}

/// Declares [`Acc`] with one variant per state type, and the [`GroupStates`]
/// methods of `Acc`, each handing over to the state of the variant it holds.
macro_rules! states {
    ($($(#[$doc:meta])* $variant:ident($state:ty),)*) => {
        /// Per-group state of one aggregate, stored column-wise over group ids.
        #[derive(Clone, Debug)]
        enum Acc {
            $($(#[$doc])* $variant($state),)*
        }

        impl Acc {
            fn resize(&mut self, n: usize) {
                match self {
                    $(Acc::$variant(s) => s.resize(n),)*
                }
            }

            /// An empty state of the same aggregate.
            fn empty_like(&self) -> Acc {
                match self {
                    $(Acc::$variant(s) => Acc::$variant(s.empty_like()),)*
                }
            }

            /// Bytes per group of the fixed-size state.
            fn group_bytes(&self) -> usize {
                match self {
                    $(Acc::$variant(s) => s.group_bytes(),)*
                }
            }

            fn update_rows(&mut self, b: &GroupedRows<'_>, grown: &mut usize) -> Result<()> {
                match self {
                    $(Acc::$variant(s) => s.update(b, grown),)*
                }
            }

            /// Folds `other`'s group `g` into this state's group `map[g]`.
            fn merge(&mut self, other: Acc, map: &[u32]) -> Result<()> {
                match (self, other) {
                    $((Acc::$variant(a), Acc::$variant(b)) => a.merge(b, map),)*
                    _ => Err(Error::Internal("merging different aggregate states".into())),
                }
            }

            /// One value per group, of result type `t` (`all`: see
            /// [`GroupStates::finish`]).
            fn finish(&self, t: DataType, all: &[Acc]) -> Result<Column> {
                match self {
                    $(Acc::$variant(s) => s.finish(t, all),)*
                }
            }
        }
    };
}

states! {
    /// `count(*)`, `count(x)`.
    Count(Count),
    CountIf(CountIf),
    SumInt(Sum<i64>),
    SumFloat(Sum<f64>),
    AvgInt(Avg<i128>),
    AvgFloat(Avg<f64>),
    MinMaxInt(MinMax<i64>),
    MinMaxFloat(MinMax<f64>),
    MinMaxBool(MinMax<bool>),
    MinMaxIp(MinMax<u128>),
    MinMaxInterval(MinMax<IntervalVal>),
    MinMaxStr(MinMaxStr),
    /// `arg_max`, `arg_min`.
    ArgBest(ArgBest),
    /// `any_value`, `first`, `arbitrary`.
    PickInt(Pick<i64>),
    PickFloat(Pick<f64>),
    PickBool(Pick<bool>),
    PickIp(Pick<u128>),
    PickStr(PickStr),
    CountDistinct(CountDistinct),
    ApproxDistinct(ApproxDistinct),
    Quantile(Quantile),
    /// A `quantile_cont` reading the values of an earlier one.
    SharedQuantile(SharedQuantile),
    ApproxQuantile(ApproxQuantile),
    /// `mad`.
    Mad(Mad),
    Moments(Moments),
    CoMoments(CoMoments),
    Fold(Fold),
    WeightedAvg(WeightedAvg),
    StringAgg(StringAgg),
    /// `list`, and the picks of list values.
    List(ListAgg),
    /// `mode`, `entropy`.
    ValueCounts(ValueCounts),
}

impl Acc {
    /// The state of aggregate `a` (an exact quantile that shares another's
    /// values is made by [`GroupTable::new`]).
    fn new(a: &AggExpr) -> Acc {
        let at = a.arg.as_ref().map_or(DataType::BigInt, |e| e.data_type());
        let is_max = a.func == AggFunc::Max;
        match a.func {
            AggFunc::CountStar => Acc::Count(Count::default()),
            AggFunc::CountIf => Acc::CountIf(CountIf::default()),
            AggFunc::ApproxCountDistinct => Acc::ApproxDistinct(ApproxDistinct::default()),
            AggFunc::QuantileCont => Acc::Quantile(Quantile::new(a.quantile, false)),
            AggFunc::QuantileDisc => Acc::Quantile(Quantile::new(a.quantile, true)),
            AggFunc::ApproxQuantile => Acc::ApproxQuantile(ApproxQuantile::new(a.quantile)),
            AggFunc::Mad => Acc::Mad(Mad::new(at)),
            AggFunc::ArgMax => Acc::ArgBest(ArgBest::new(true)),
            AggFunc::ArgMin => Acc::ArgBest(ArgBest::new(false)),
            AggFunc::ArgBestNulls { max, nulls_last } => {
                Acc::ArgBest(ArgBest::new(max).with_nulls(nulls_last))
            }
            AggFunc::Count if a.distinct && at == DataType::Interval => {
                Acc::CountDistinct(CountDistinct::for_intervals())
            }
            AggFunc::Count if a.distinct => Acc::CountDistinct(CountDistinct::new(at.physical())),
            AggFunc::Count => Acc::Count(Count::default()),
            AggFunc::Sum if at == DataType::Double => Acc::SumFloat(Sum::default()),
            AggFunc::Sum => Acc::SumInt(Sum::default()),
            AggFunc::Avg if at == DataType::Double => Acc::AvgFloat(Avg::default()),
            AggFunc::Avg => Acc::AvgInt(Avg::default()),
            AggFunc::Min | AggFunc::Max if at == DataType::Interval => {
                Acc::MinMaxInterval(MinMax::new(is_max))
            }
            AggFunc::Min | AggFunc::Max => match at.physical() {
                // Refused by the binder; kept total.
                PhysicalType::List(_) => Acc::List(ListAgg::new(Keep::One {
                    skip_nulls: true,
                    last: false,
                })),
                PhysicalType::Int64 => Acc::MinMaxInt(MinMax::new(is_max)),
                PhysicalType::Float64 => Acc::MinMaxFloat(MinMax::new(is_max)),
                PhysicalType::Bool => Acc::MinMaxBool(MinMax::new(is_max)),
                PhysicalType::Ip => Acc::MinMaxIp(MinMax::new(is_max)),
                PhysicalType::Utf8 => Acc::MinMaxStr(MinMaxStr::new(is_max)),
            },
            AggFunc::AnyValue | AggFunc::First | AggFunc::Last => {
                let skip_nulls = a.func == AggFunc::AnyValue;
                let last = a.func == AggFunc::Last;
                match at.physical() {
                    PhysicalType::List(_) => {
                        Acc::List(ListAgg::new(Keep::One { skip_nulls, last }))
                    }
                    PhysicalType::Int64 => Acc::PickInt(Pick::new(skip_nulls, last)),
                    PhysicalType::Float64 => Acc::PickFloat(Pick::new(skip_nulls, last)),
                    PhysicalType::Bool => Acc::PickBool(Pick::new(skip_nulls, last)),
                    PhysicalType::Ip => Acc::PickIp(Pick::new(skip_nulls, last)),
                    PhysicalType::Utf8 => Acc::PickStr(PickStr::new(skip_nulls, last)),
                }
            }
            AggFunc::Moment(stat) => Acc::Moments(Moments::new(stat)),
            AggFunc::CoMoment(stat) => Acc::CoMoments(CoMoments::new(stat)),
            AggFunc::Fold(f) => Acc::Fold(Fold::new(f)),
            AggFunc::WeightedAvg => Acc::WeightedAvg(WeightedAvg::default()),
            AggFunc::StringAgg => Acc::StringAgg(StringAgg::new()),
            AggFunc::List => Acc::List(ListAgg::new(Keep::All)),
            AggFunc::Mode => Acc::ValueCounts(ValueCounts::new(true)),
            AggFunc::Entropy => Acc::ValueCounts(ValueCounts::new(false)),
        }
    }

    /// Adds rows `rows` (with groups `gids`) of `input`'s argument (none for
    /// count(*)). Adds to `grown` the bytes of state that grows with the values.
    fn update(
        &mut self,
        input: &AggInput<'_>,
        rows: &[u32],
        gids: &[u32],
        len: usize,
        grown: &mut usize,
    ) -> Result<()> {
        let Some(arg) = input.arg else {
            if let Acc::Count(c) = self {
                c.count_rows(gids);
            }
            return Ok(());
        };
        if arg.is_null_const() {
            return Ok(());
        }
        let b = GroupedRows {
            arg,
            arg2: input.arg2,
            arg_type: input.types.0,
            rows,
            gids,
            len,
        };
        self.update_rows(&b, grown)
    }
}

/// One aggregate's evaluated inputs for a batch.
#[derive(Clone, Copy)]
pub struct AggInput<'a> {
    /// The argument (None for count(*)).
    pub arg: Option<&'a Vector>,
    /// The second argument and its type (arg_max's value).
    pub arg2: Option<(&'a Vector, DataType)>,
    /// The FILTER condition.
    pub filter: Option<&'a Vector>,
    /// The types of the argument and the result.
    pub types: (DataType, DataType),
}

impl<'a> AggInput<'a> {
    pub fn new(
        a: &AggExpr,
        arg: Option<&'a Vector>,
        arg2: Option<&'a Vector>,
        filter: Option<&'a Vector>,
    ) -> AggInput<'a> {
        let at = a.arg.as_ref().map_or(DataType::BigInt, |e| e.data_type());
        let vt = a.arg2.as_ref().map_or(DataType::BigInt, |e| e.data_type());
        AggInput {
            arg,
            arg2: arg2.map(|v| (v, vt)),
            filter,
            types: (at, a.data_type),
        }
    }
}
