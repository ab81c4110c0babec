//! Min/max statistics of a range of rows (a Parquet row group's, per column)
//! tested against [`StatsPredicate`]s: a range none of whose possible values can
//! pass is skipped without being read.
//!
//! Bounds need not be exact (a truncated string minimum is still below every
//! value); a missing bound, or one of another type than the literal, keeps the
//! range.

use std::cmp::Ordering;

use super::{Cmp, StatsPredicate};
use crate::column::Value;

/// A column's statistics over a range of rows.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bounds<'a> {
    /// A lower and an upper bound of the non-NULL values.
    pub min: Option<&'a Value>,
    pub max: Option<&'a Value>,
    /// Every value is NULL.
    pub all_null: bool,
}

/// Orders two values of the same kind (integers, strings by bytes); `None` for
/// any other pair.
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Str(x), Value::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        _ => None,
    }
}

/// Whether some value in `[min, max]` may satisfy `<cmp> v`.
fn cmp_may_match(cmp: Cmp, b: &Bounds<'_>, v: &Value) -> bool {
    // `min <op> v` / `max <op> v`, unknown (kept) when a bound is missing or
    // of another kind.
    let lo = b.min.and_then(|m| order(m, v));
    let hi = b.max.and_then(|m| order(m, v));
    match cmp {
        Cmp::Eq => lo != Some(Ordering::Greater) && hi != Some(Ordering::Less),
        Cmp::Lt => lo != Some(Ordering::Greater) && lo != Some(Ordering::Equal),
        Cmp::LtEq => lo != Some(Ordering::Greater),
        Cmp::Gt => hi != Some(Ordering::Less) && hi != Some(Ordering::Equal),
        Cmp::GtEq => hi != Some(Ordering::Less),
    }
}

/// Whether rows with statistics `b` may pass `p`.
pub fn may_match(p: &StatsPredicate, b: &Bounds<'_>) -> bool {
    if b.all_null {
        // Only NULLs: no comparison is TRUE.
        return false;
    }
    match p {
        StatsPredicate::Cmp { cmp, value, .. } => cmp_may_match(*cmp, b, value),
        StatsPredicate::In { values, .. } => values.iter().any(|v| cmp_may_match(Cmp::Eq, b, v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(cmp: Cmp, v: i64) -> StatsPredicate {
        StatsPredicate::Cmp {
            column: 0,
            cmp,
            value: Value::Int(v),
        }
    }

    #[test]
    fn a_range_is_kept_when_some_value_in_it_may_pass() {
        let (lo, hi) = (Value::Int(10), Value::Int(20));
        let b = Bounds {
            min: Some(&lo),
            max: Some(&hi),
            all_null: false,
        };
        let cases = [
            (Cmp::Eq, 9, false),
            (Cmp::Eq, 10, true),
            (Cmp::Eq, 20, true),
            (Cmp::Eq, 21, false),
            (Cmp::Lt, 10, false),
            (Cmp::Lt, 11, true),
            (Cmp::LtEq, 10, true),
            (Cmp::LtEq, 9, false),
            (Cmp::Gt, 20, false),
            (Cmp::Gt, 19, true),
            (Cmp::GtEq, 20, true),
            (Cmp::GtEq, 21, false),
        ];
        for (cmp, v, keep) in cases {
            assert_eq!(may_match(&pred(cmp, v), &b), keep, "{cmp:?} {v}");
        }
        let list = |v: &[i64]| StatsPredicate::In {
            column: 0,
            values: v.iter().map(|&x| Value::Int(x)).collect(),
        };
        assert!(may_match(&list(&[1, 15, 30]), &b));
        assert!(!may_match(&list(&[1, 30]), &b));
    }

    #[test]
    fn missing_bounds_and_other_types_keep_the_range_and_all_null_drops_it() {
        let none = Bounds::default();
        assert!(may_match(&pred(Cmp::Eq, 5), &none));
        let s = Value::Str("m".into());
        let only_min = Bounds {
            min: Some(&s),
            max: None,
            all_null: false,
        };
        assert!(may_match(&pred(Cmp::Lt, 5), &only_min));
        let str_pred = |cmp, v: &str| StatsPredicate::Cmp {
            column: 0,
            cmp,
            value: Value::Str(v.into()),
        };
        assert!(!may_match(&str_pred(Cmp::Lt, "a"), &only_min));
        assert!(may_match(&str_pred(Cmp::Gt, "a"), &only_min));
        let all_null = Bounds {
            all_null: true,
            ..Bounds::default()
        };
        assert!(!may_match(&pred(Cmp::Eq, 5), &all_null));
    }
}
