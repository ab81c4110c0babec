//! Bitmap indexes in scans: the candidate rows of a segment computed from
//! its indexes before any column data is read, and aggregates answered from index
//! cardinalities alone.
//!
//! Every [`IndexPredicate`] is exact (its rows are the union of some keys' bitmaps),
//! so the candidate bitmap of a segment is exactly the rows passing those conjuncts;
//! the filter still re-evaluates them on the candidate rows.

use roaring::RoaringBitmap;

use super::{Cmp, IndexPredicate};
use crate::column::Value;
use crate::error::{Error, Result};
use crate::storage::segment::{IndexKeys, Segment};

/// Above this many keys a range predicate reads the index page by page instead of
/// key by key (each key read decompresses its page).
const KEYS_PER_LOOKUP: usize = 8;

/// A block is read as a point read (its decoded columns kept in the database's block
/// cache, see [`crate::storage::segment::Segment::read_block_sparse`]) when its
/// segment has at most this many index candidates...
pub const POINT_READ_MAX_ROWS: u64 = 64;
/// ... and at most one row in this many of the block is a candidate. Point lookups,
/// which a workload repeats, are cached; selective scans touching most blocks would
/// only churn the cache and pay for the copies.
pub const POINT_READ_RATIO: usize = 64;

/// Whether a block of `rows` rows, `block_candidates` of them index candidates, in a
/// segment whose candidates are `segment_candidates`, is a point read.
pub fn is_point_read(
    segment_candidates: Option<&RoaringBitmap>,
    block_candidates: usize,
    rows: usize,
) -> bool {
    segment_candidates.is_some_and(|c| c.len() <= POINT_READ_MAX_ROWS)
        && block_candidates.saturating_mul(POINT_READ_RATIO) <= rows
}

/// The key positions of column `col`'s index in `seg` that satisfy `op value`.
fn key_range(
    seg: &Segment,
    col: usize,
    cmp: Cmp,
    value: &Value,
) -> Result<Option<std::ops::Range<usize>>> {
    let Some(ix) = seg.index(col)? else {
        return Ok(None);
    };
    let n = ix.keys.len();
    // lower: first key >= value; upper: first key > value.
    let (lower, upper) = match (&ix.keys, value) {
        (IndexKeys::Codes(_), Value::Str(s)) => {
            let (lo, hi) = seg
                .dict_range(col, s)?
                .ok_or_else(|| Error::Internal("indexed column without dictionary".into()))?;
            (lo as usize, hi as usize)
        }
        (IndexKeys::Ints(_) | IndexKeys::Paged(_), Value::Int(v)) => {
            match seg.int_keys_around(col, *v)? {
                Some(bounds) => bounds,
                None => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(match cmp {
        Cmp::Lt => 0..lower,
        Cmp::LtEq => 0..upper,
        Cmp::Gt => upper..n,
        Cmp::GtEq => lower..n,
        Cmp::Eq => lower..upper,
    }))
}

/// The union of the bitmaps of keys `keys` of column `col`.
fn union_keys(seg: &Segment, col: usize, keys: std::ops::Range<usize>) -> Result<RoaringBitmap> {
    let mut out = RoaringBitmap::new();
    if keys.len() <= KEYS_PER_LOOKUP {
        for k in keys {
            out |= seg.index_bitmap(col, k)?;
        }
    } else {
        seg.for_each_bitmap(col, |k, bm| {
            if keys.contains(&k) {
                out |= bm;
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// The rows of `seg` passing one index predicate, or `None` if the segment has no
/// index on its column.
pub fn predicate_rows(seg: &Segment, p: &IndexPredicate) -> Result<Option<RoaringBitmap>> {
    match p {
        IndexPredicate::In { column, values } => {
            if !seg.has_index(*column) {
                return Ok(None);
            }
            let mut out = RoaringBitmap::new();
            for v in values {
                if let Some(bm) = seg.lookup(*column, v)? {
                    out |= bm;
                }
            }
            Ok(Some(out))
        }
        IndexPredicate::Range { column, cmp, value } => match key_range(seg, *column, *cmp, value)?
        {
            Some(keys) => union_keys(seg, *column, keys).map(Some),
            None => Ok(None),
        },
    }
}

/// The candidate rows of `seg`: the intersection of every index predicate's rows;
/// `None` when no predicate could use an index of this segment.
pub fn candidate_rows(seg: &Segment, preds: &[IndexPredicate]) -> Result<Option<RoaringBitmap>> {
    Ok(candidates(seg, preds)?.0)
}

/// [`candidate_rows`], and whether every predicate was answered by an index of
/// this segment: then the bitmap is exactly the rows passing all of them, and the
/// filter need not evaluate them again.
pub fn candidates(
    seg: &Segment,
    preds: &[IndexPredicate],
) -> Result<(Option<RoaringBitmap>, bool)> {
    let mut acc: Option<RoaringBitmap> = None;
    let mut all = true;
    for p in preds {
        if acc.as_ref().is_some_and(RoaringBitmap::is_empty) {
            break;
        }
        match predicate_rows(seg, p)? {
            Some(bm) => {
                acc = Some(match acc {
                    None => bm,
                    Some(a) => a & bm,
                })
            }
            None => all = false,
        }
    }
    Ok((acc, all))
}

/// Row counts per key (position in column `col`'s index: a dictionary code or the
/// position of an integer key) within `rows` (all rows if `None`), keys without rows
/// left out, then the count of rows in `rows` that hold no key (NULLs). Reads only
/// the index.
pub fn key_counts(
    seg: &Segment,
    col: usize,
    rows: Option<&RoaringBitmap>,
) -> Result<(Vec<(usize, u64)>, u64)> {
    let total = rows.map_or(seg.num_rows(), RoaringBitmap::len);
    let mut out = Vec::new();
    let mut sum = 0u64;
    match rows {
        None => {
            let counts = seg
                .index_counts(col)?
                .ok_or_else(|| Error::Internal(format!("column {col} has no index")))?;
            for (k, &c) in counts.iter().enumerate() {
                if c > 0 {
                    out.push((k, c as u64));
                    sum += c as u64;
                }
            }
        }
        Some(r) => {
            seg.for_each_bitmap(col, |k, bm| {
                let c = bm.intersection_len(r);
                if c > 0 {
                    out.push((k, c));
                    sum += c;
                }
                Ok(())
            })?;
        }
    }
    if sum > total {
        return Err(Error::corrupt(
            seg.display_path(),
            format!("index of column {col} counts more rows than the segment holds"),
        ));
    }
    Ok((out, total - sum))
}
