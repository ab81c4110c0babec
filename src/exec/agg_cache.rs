//! The aggregate cache: a scan aggregation's merged, unfinished group table over
//! whole segments, kept across queries so that a repeated aggregation (a
//! dashboard's panel, refreshed every few seconds while a log grows) scans only
//! the segments it has not seen.
//!
//! Segments never change once written, so the group table of an aggregation over
//! a set of segments stays true for as long as those segments exist. An entry is
//! keyed by everything that decides the table (table, columns, filters, group
//! keys, aggregates and the key layout's fields) except the comparisons of the time column
//! with literals: a segment whose whole time span satisfies them (a *whole*
//! segment) contributes the same groups whatever the bounds are, so a window that
//! slides forward still finds its entry. A query takes the entry when every
//! segment the entry covers is one of its whole segments, scans the rest (new
//! segments and the partly covered ones at the window's edges), and puts the
//! table of its whole segments back. Entries go least recently used first when
//! the cache is over its size; compaction (new segment ids) or a window that
//! slides past a segment makes a query miss and start a new entry.
//!
//! The cache is per open database ([`crate::db::Db::extension`]) and used only
//! when the session asks (`SET aggregate_cache = true`; `logdb serve` does).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::agg::{AggState, GroupTable};
use super::group::KeyLayout;
use super::physical::ScanInfo;
use super::stream::KeyPlan;
use super::{ExecOptions, ExecStats};
use crate::column::Value;
use crate::error::Result;
use crate::plan::{AggExpr, BinaryOp, Expr};
use crate::storage::segment::Segment;
use crate::storage::Snapshot;

/// Size of the cache when nothing else is said: an eighth of the default
/// `memory_limit` (a sixteenth of the memory this process may use).
pub fn default_cache_bytes() -> usize {
    super::default_memory_limit() / 8
}

/// Group tables of scan aggregations over sets of whole segments, least recently
/// used first out.
pub struct AggregateCache {
    budget: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Per key, tables over disjoint sets of segments (one per unit of a
    /// partition-streaming aggregation).
    entries: HashMap<String, Vec<Entry>>,
    bytes: usize,
    clock: u64,
}

struct Entry {
    /// Sorted ids of the segments the table covers.
    segments: Vec<u64>,
    table: GroupTable,
    bytes: usize,
    used: u64,
}

impl Default for AggregateCache {
    fn default() -> Self {
        AggregateCache::with_budget(default_cache_bytes())
    }
}

impl std::fmt::Debug for AggregateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("AggregateCache")
            .field("budget", &self.budget)
            .field("entries", &inner.entries.len())
            .field("bytes", &inner.bytes)
            .finish()
    }
}

impl AggregateCache {
    /// An empty cache that holds at most `budget` bytes of group tables.
    pub fn with_budget(budget: usize) -> AggregateCache {
        AggregateCache {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Bytes held (approximate, as the tables count themselves).
    pub fn bytes(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }

    /// Whether a table of `bytes` would be kept (at most half the budget).
    pub(super) fn would_keep(&self, bytes: usize) -> bool {
        bytes <= self.budget / 2
    }

    /// Takes the entry under `key` that covers the most segments, all of them in
    /// `whole` (sorted ids): its segment ids and table.
    pub(super) fn take(&self, key: &str, whole: &[u64]) -> Option<(Vec<u64>, GroupTable)> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let list = inner.entries.get_mut(key)?;
        let best = (0..list.len())
            .filter(|&i| is_subset(&list[i].segments, whole))
            .max_by_key(|&i| list[i].segments.len())?;
        let e = list.swap_remove(best);
        if list.is_empty() {
            inner.entries.remove(key);
        }
        inner.bytes -= e.bytes;
        Some((e.segments, e.table))
    }

    /// Keeps `table`, the groups of the segments `segments` (sorted ids), under
    /// `key`, in place of the entries there that share a segment with it, evicting
    /// the least recently used entries to stay within the budget. A table larger
    /// than half the budget is not kept.
    pub(super) fn put(&self, key: String, segments: Vec<u64>, mut table: GroupTable) {
        table.forget_scratch();
        let bytes = table.bytes() + segments.len() * 8 + key.len();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut freed = 0;
        if let Some(list) = inner.entries.get_mut(&key) {
            list.retain(|e| {
                let keep = !shares(&e.segments, &segments);
                if !keep {
                    freed += e.bytes;
                }
                keep
            });
        }
        inner.bytes -= freed;
        if !self.would_keep(bytes) {
            return;
        }
        inner.clock += 1;
        let used = inner.clock;
        while inner.bytes + bytes > self.budget {
            let oldest = (inner.entries.iter())
                .flat_map(|(k, list)| list.iter().enumerate().map(move |(i, e)| (e.used, k, i)))
                .min()
                .map(|(_, k, i)| (k.clone(), i));
            let Some((k, i)) = oldest else {
                break;
            };
            if let Some(list) = inner.entries.get_mut(&k) {
                let e = list.swap_remove(i);
                if list.is_empty() {
                    inner.entries.remove(&k);
                }
                inner.bytes -= e.bytes;
            }
        }
        inner.bytes += bytes;
        inner.entries.entry(key).or_default().push(Entry {
            segments,
            table,
            bytes,
            used,
        });
    }
}

/// A scan aggregation that goes through the database's aggregate cache: each
/// unit's segments (see [`aggregate_units`](super::pipeline::aggregate_units))
/// are split into the whole ones the cache covers (not scanned), the other whole
/// ones, and the partly covered ones.
pub(super) struct CachedAggregate {
    cache: Arc<AggregateCache>,
    key: CacheKey,
}

/// One unit of a cached aggregation, while its segments are scanned.
pub(super) struct CachedUnit {
    /// Sorted ids of the unit's whole segments.
    whole_ids: Vec<u64>,
    /// The cached table of some of them.
    base: Option<GroupTable>,
    /// Whether some segments are only partly covered.
    has_partial: bool,
}

impl CachedAggregate {
    /// The cached form of aggregating `info`'s rows, when the session uses the
    /// cache and the aggregation can be cached.
    pub fn new(
        snapshot: &Snapshot,
        info: &ScanInfo<'_>,
        group: &[(Expr, String)],
        aggs: &[AggExpr],
        keys: &KeyPlan,
        opts: &ExecOptions,
    ) -> Result<Option<CachedAggregate>> {
        let Some(cache) = opts
            .aggregate_cache_store
            .as_ref()
            .filter(|_| opts.aggregate_cache)
        else {
            return Ok(None);
        };
        let time_column = snapshot.table(info.table)?.schema.time_index();
        Ok(
            CacheKey::of(info, time_column, group, aggs, &keys.layout).map(|key| CachedAggregate {
                cache: cache.clone(),
                key,
            }),
        )
    }

    /// Splits a unit's segments and takes the cached table of its whole ones:
    /// the unit, and the segments to scan (whole ones the table does not cover,
    /// then the partly covered ones).
    pub fn prepare(
        &self,
        segments: &[Arc<Segment>],
        stats: &ExecStats,
    ) -> (CachedUnit, [Vec<Arc<Segment>>; 2]) {
        let (whole, partial): (Vec<_>, Vec<_>) =
            segments.iter().cloned().partition(|s| self.key.is_whole(s));
        let mut whole_ids: Vec<u64> = whole.iter().map(|s| s.meta().segment_id).collect();
        whole_ids.sort_unstable();
        let (have, base) = match self.cache.take(&self.key.key, &whole_ids) {
            Some((ids, table)) => (ids, Some(table)),
            None => (Vec::new(), None),
        };
        stats.aggregate_cache.store(true, Ordering::Relaxed);
        ExecStats::add(&stats.segments_cached, have.len() as u64);
        let scan_whole = (whole.into_iter())
            .filter(|s| have.binary_search(&s.meta().segment_id).is_err())
            .collect();
        let unit = CachedUnit {
            whole_ids,
            base,
            has_partial: !partial.is_empty(),
        };
        (unit, [scan_whole, partial])
    }

    /// The state to finish for a unit: the cached table plus `fresh` (the
    /// scanned whole segments), which goes back to the cache, plus `partial`
    /// (the partly covered ones) in a copy when there are any. `empty` makes a
    /// state without groups.
    pub fn finish_unit(
        &self,
        unit: CachedUnit,
        fresh: Vec<AggState>,
        partial: Vec<AggState>,
        empty: &dyn Fn() -> AggState,
        finish: &mut dyn FnMut(&mut AggState) -> Result<()>,
    ) -> Result<()> {
        let mut whole = empty();
        if let Some(table) = unit.base {
            whole.set_table(table)?;
        }
        for mut f in fresh {
            whole.merge(&mut f)?;
        }
        // A table the cache would not keep is not copied either: the partly
        // covered segments go into it, as without the cache.
        let keep = !unit.whole_ids.is_empty() && self.cache.would_keep(whole.table.bytes());
        if !unit.has_partial || !keep {
            for mut p in partial {
                whole.merge(&mut p)?;
            }
            finish(&mut whole)?;
        } else {
            let mut all = empty();
            all.set_table(whole.table.clone())?;
            for mut p in partial {
                all.merge(&mut p)?;
            }
            finish(&mut all)?;
        }
        if keep {
            self.cache
                .put(self.key.key.clone(), unit.whole_ids, whole.into_table());
        }
        Ok(())
    }
}

/// Whether every id of `small` is in `big` (both sorted).
fn is_subset(small: &[u64], big: &[u64]) -> bool {
    let mut it = big.iter();
    small.iter().all(|s| it.any(|b| b == s))
}

/// Whether sorted `a` and `b` have an id in common.
fn shares(a: &[u64], b: &[u64]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// A scan aggregation as the cache sees it: its key, and the comparisons of the
/// time column with literals that a segment must satisfy over its whole time span
/// to be served from or added to the cache.
pub(super) struct CacheKey {
    pub key: String,
    bounds: Vec<(BinaryOp, i64)>,
    time_column: Option<usize>,
}

impl CacheKey {
    /// The key of aggregating `info`'s rows by `group` into `aggs` with keys laid
    /// out as `layout`, or `None` when the result may differ between two runs
    /// over the same segments (a subquery).
    pub fn of(
        info: &ScanInfo<'_>,
        time_column: Option<usize>,
        group: &[(Expr, String)],
        aggs: &[AggExpr],
        layout: &KeyLayout,
    ) -> Option<CacheKey> {
        let group: Vec<&Expr> = group.iter().map(|(e, _)| e).collect();
        let args = aggs
            .iter()
            .flat_map(|a| [&a.arg, &a.arg2, &a.filter])
            .flatten();
        if (info.filters.iter().copied())
            .chain(group.iter().copied())
            .chain(args)
            .any(Expr::has_subquery)
        {
            return None;
        }
        let mut bounds = Vec::new();
        let mut rest = Vec::new();
        for f in &info.filters {
            for c in Expr::conjuncts(f) {
                match time_bound(c, time_column) {
                    Some(b) => bounds.push(b),
                    None => rest.push(c),
                }
            }
        }
        let key = format!(
            "{}\u{0}{:?}\u{0}{rest:?}\u{0}{group:?}\u{0}{aggs:?}\u{0}{}",
            info.table,
            info.columns,
            layout.shape()
        );
        Some(CacheKey {
            key,
            bounds,
            time_column,
        })
    }

    /// Whether every row of `seg` satisfies the time bounds (then the rest of the
    /// key alone decides its groups).
    pub fn is_whole(&self, seg: &Segment) -> bool {
        if self.bounds.is_empty() {
            return true;
        }
        let meta = seg.meta();
        let Some(tc) = self.time_column else {
            return false;
        };
        let no_nulls = meta.time_column == Some(tc)
            && meta
                .columns
                .get(tc)
                .is_some_and(|c| c.blocks.iter().all(|b| b.null_count == 0));
        no_nulls
            && meta.min_ts <= meta.max_ts
            && self
                .bounds
                .iter()
                .all(|&(op, v)| holds(op, meta.min_ts, v) && holds(op, meta.max_ts, v))
    }
}

/// `time_column <op> literal` (either order), normalized to the column's side.
fn time_bound(c: &Expr, time_column: Option<usize>) -> Option<(BinaryOp, i64)> {
    let Expr::Binary {
        op, left, right, ..
    } = c
    else {
        return None;
    };
    let (index, op, value) = match (left.as_ref(), right.as_ref()) {
        (Expr::Column { index, .. }, Expr::Literal { value, .. }) => (*index, *op, value),
        (Expr::Literal { value, .. }, Expr::Column { index, .. }) => (*index, op.flip(), value),
        _ => return None,
    };
    match value {
        Value::Int(v) if Some(index) == time_column && op.is_comparison() => Some((op, *v)),
        _ => None,
    }
}

/// `x <op> v` for the comparison `op`.
fn holds(op: BinaryOp, x: i64, v: i64) -> bool {
    match op {
        BinaryOp::Eq => x == v,
        BinaryOp::NotEq => x != v,
        BinaryOp::Lt => x < v,
        BinaryOp::LtEq => x <= v,
        BinaryOp::Gt => x > v,
        BinaryOp::GtEq => x >= v,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_of_sorted_ids() {
        assert!(is_subset(&[], &[1, 2]));
        assert!(is_subset(&[2, 5], &[1, 2, 3, 5]));
        assert!(!is_subset(&[2, 4], &[1, 2, 3, 5]));
        assert!(!is_subset(&[1], &[]));
    }

    #[test]
    fn sorted_ids_in_common() {
        assert!(shares(&[1, 4, 9], &[2, 4]));
        assert!(!shares(&[1, 3], &[2, 4]));
        assert!(!shares(&[], &[1]));
    }

    #[test]
    fn a_bound_holds_at_both_ends_or_not_at_all() {
        assert!(holds(BinaryOp::GtEq, 5, 5) && !holds(BinaryOp::Gt, 5, 5));
        assert!(holds(BinaryOp::Lt, 4, 5) && !holds(BinaryOp::LtEq, 6, 5));
        assert!(!holds(BinaryOp::Add, 1, 1));
    }
}
