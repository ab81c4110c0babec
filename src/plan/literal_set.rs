//! The items of a literal `IN (...)` list as a hash set, so that testing a row
//! costs one lookup however long the list is.
//!
//! An [`Expr::InList`](super::Expr::InList) carries a [`LiteralSetCache`]: the
//! executor builds the set on first use (once per plan, shared by every thread and
//! every batch), and any rewrite of the list through the expression walker drops
//! it. Lists that are short, or hold anything but literals, are evaluated as a
//! chain of comparisons instead.

use std::sync::{Arc, OnceLock};

use hashbrown::HashSet;

use crate::column::Value;
use crate::schema::{DataType, PhysicalType};

use super::Expr;

/// Lists shorter than this are compared item by item (vectorized comparisons
/// beat hashing there).
pub const MIN_SET_ITEMS: usize = 16;

/// The non-NULL items of a literal list, by physical type, and whether a NULL was
/// among them. Equality is SQL's (and DuckDB's) for each type: `-0.0 = 0.0`, NaN
/// equals NaN, strings compare by bytes.
#[derive(Debug, Default)]
pub struct LiteralSet {
    pub ints: HashSet<i64>,
    /// Canonical bit patterns (see [`float_key`]).
    pub floats: HashSet<u64>,
    pub bools: [bool; 2],
    pub ips: HashSet<u128>,
    pub strs: HashSet<Box<str>>,
    pub has_null: bool,
}

/// The set key of a double: one pattern for both zeros and one for every NaN.
#[inline]
pub fn float_key(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

impl LiteralSet {
    /// The set of `list`, compared as `t`; `None` when the list is short or an item
    /// is not a literal of `t`'s physical type.
    pub fn of(list: &[Expr], t: DataType) -> Option<LiteralSet> {
        // Intervals compare normalized; a set of raw values would not.
        if list.len() < MIN_SET_ITEMS || t == DataType::Interval {
            return None;
        }
        let mut set = LiteralSet::default();
        for item in list {
            let Expr::Literal { value, .. } = item else {
                return None;
            };
            match (t.physical(), value) {
                (_, Value::Null) => set.has_null = true,
                (PhysicalType::Int64, Value::Int(v)) => {
                    set.ints.insert(*v);
                }
                (PhysicalType::Float64, Value::Float(v)) => {
                    set.floats.insert(float_key(*v));
                }
                (PhysicalType::Float64, Value::Int(v)) => {
                    set.floats.insert(float_key(*v as f64));
                }
                (PhysicalType::Bool, Value::Bool(v)) => set.bools[*v as usize] = true,
                (PhysicalType::Ip, Value::Ip(v)) => {
                    set.ips.insert(*v);
                }
                (PhysicalType::Utf8, Value::Str(v)) => {
                    set.strs.insert(Box::from(&**v));
                }
                _ => return None,
            }
        }
        Some(set)
    }
}

/// A [`LiteralSet`] built at most once, on first use. Clones share it; it takes no
/// part in comparing expressions (it follows from the list).
#[derive(Clone, Default)]
pub struct LiteralSetCache(Arc<OnceLock<Option<LiteralSet>>>);

impl LiteralSetCache {
    /// The set of `list` compared as `t`, built on the first call.
    pub fn get(&self, list: &[Expr], t: DataType) -> Option<&LiteralSet> {
        self.0.get_or_init(|| LiteralSet::of(list, t)).as_ref()
    }
}

impl std::fmt::Debug for LiteralSetCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiteralSetCache")
    }
}

impl PartialEq for LiteralSetCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
