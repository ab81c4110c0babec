//! Zone maps in scans: per-block min/max statistics tested against simple
//! predicates, so blocks that cannot hold a matching row are never decoded.

use super::{Cmp, ZonePredicate};
use crate::column::Value;
use crate::error::Result;
use crate::storage::segment::{Segment, Stats};

/// Per-segment zone-map translation of a predicate (strings become code bounds).
pub enum ZoneTest {
    Int(Cmp, i64),
    Float(Cmp, f64),
    Ip(Cmp, u128),
    /// First code >= literal, first code > literal.
    Code(Cmp, u32, u32),
    Skip,
}

pub fn zone_tests(seg: &Segment, zone: &[ZonePredicate]) -> Result<Vec<(usize, ZoneTest)>> {
    let mut out = Vec::with_capacity(zone.len());
    for z in zone {
        let t = match &z.value {
            Value::Int(v) => ZoneTest::Int(z.cmp, *v),
            Value::Float(v) => ZoneTest::Float(z.cmp, *v),
            Value::Ip(v) => ZoneTest::Ip(z.cmp, *v),
            Value::Str(s) => match seg.dict_range(z.column, s)? {
                Some((lo, hi)) => ZoneTest::Code(z.cmp, lo, hi),
                None => ZoneTest::Skip,
            },
            _ => ZoneTest::Skip,
        };
        out.push((z.column, t));
    }
    Ok(out)
}

fn may_match<T: PartialOrd>(op: Cmp, min: T, max: T, v: T) -> bool {
    match op {
        Cmp::Eq => min <= v && v <= max,
        Cmp::Lt => min < v,
        Cmp::LtEq => min <= v,
        Cmp::Gt => max > v,
        Cmp::GtEq => max >= v,
    }
}

/// Whether block `b` of `seg` may hold rows passing every zone test.
pub fn block_may_match(seg: &Segment, b: usize, tests: &[(usize, ZoneTest)]) -> bool {
    let meta = seg.meta();
    for (col, t) in tests {
        let Some(bm) = meta.columns.get(*col).and_then(|c| c.blocks.get(b)) else {
            continue;
        };
        if bm.null_count == bm.rows && !matches!(t, ZoneTest::Skip) {
            // Only NULLs: a comparison is never TRUE.
            return false;
        }
        let ok = match (t, &bm.stats) {
            (ZoneTest::Int(op, v), Stats::Int { min, max }) => may_match(*op, *min, *max, *v),
            (ZoneTest::Float(op, v), Stats::Float { min, max }) => {
                min.is_nan() || max.is_nan() || v.is_nan() || may_match(*op, *min, *max, *v)
            }
            (ZoneTest::Ip(op, v), Stats::Ip { min, max }) => may_match(*op, *min, *max, *v),
            (ZoneTest::Code(op, lo, hi), Stats::Code { min, max }) => match op {
                Cmp::Eq => lo < hi && *max >= *lo && *min < *hi,
                Cmp::Lt => min < lo,
                Cmp::LtEq => min < hi,
                Cmp::Gt => max >= hi,
                Cmp::GtEq => max >= lo,
            },
            _ => true,
        };
        if !ok {
            return false;
        }
    }
    true
}
