//! The group table of a hash aggregation: the groups of a
//! [`GroupMap`](crate::exec::group::GroupMap) and one state per aggregate over
//! them, and [`AggState`], a thread's table with its share of the memory pool.

use std::sync::Arc;

use super::quantile::{self, SharedQuantile};
use super::{Acc, AggBound, AggInput};
use crate::column::{Column, StringVec};
use crate::error::{Error, Result};
use crate::exec::group::{GroupMap, KeyLayout, SegmentDomains};
use crate::exec::memory::Reservation;
use crate::exec::unit_dict::UnitDict;
use crate::exec::vector::{self, Vector};
use crate::plan::{AggExpr, AggFunc};

/// A group table: the groups and per-aggregate states.
#[derive(Clone)]
pub struct GroupTable {
    map: GroupMap,
    accs: Vec<Acc>,
    /// Bytes per group of the fixed-size states.
    group_bytes: usize,
    /// Bytes of the states that grow with the values.
    var_bytes: usize,
    /// Scratch: group ids and row numbers of a batch.
    gids: Vec<u32>,
    rows: Vec<u32>,
}

impl GroupTable {
    pub fn new(layout: KeyLayout, aggs: &[AggExpr]) -> GroupTable {
        let mut accs: Vec<Acc> = Vec::with_capacity(aggs.len());
        for (i, a) in aggs.iter().enumerate() {
            // Exact quantiles of one argument (and FILTER) share one value buffer.
            let exact = |f: AggFunc| matches!(f, AggFunc::QuantileCont | AggFunc::QuantileDisc);
            let shared = exact(a.func)
                .then(|| {
                    aggs[..i]
                        .iter()
                        .position(|b| exact(b.func) && b.arg == a.arg && b.filter == a.filter)
                })
                .flatten();
            accs.push(match shared {
                Some(j) => Acc::SharedQuantile(SharedQuantile::new(
                    j,
                    a.quantile,
                    a.func == AggFunc::QuantileDisc,
                )),
                None => Acc::new(a),
            });
        }
        let group_bytes = accs.iter().map(Acc::group_bytes).sum();
        GroupTable {
            map: GroupMap::new(layout),
            accs,
            group_bytes,
            var_bytes: 0,
            gids: Vec::new(),
            rows: Vec::new(),
        }
    }

    pub fn num_groups(&self) -> usize {
        self.map.len()
    }

    /// Approximate bytes held.
    pub fn bytes(&self) -> usize {
        self.map.bytes() + self.map.len() * self.group_bytes + self.var_bytes
    }

    fn grow(&mut self) {
        let n = self.map.len();
        for a in &mut self.accs {
            a.resize(n);
        }
    }

    /// Ensures the single group of an aggregate without GROUP BY exists.
    pub fn ensure_empty_key_group(&mut self) {
        self.map.ensure_group();
        self.grow();
    }

    /// Adds the `len` rows of a batch: `keys` are the key vectors, `inputs` the
    /// aggregate inputs.
    fn update(&mut self, keys: &[&Vector], inputs: &[AggInput<'_>], len: usize) -> Result<()> {
        let mut gids = std::mem::take(&mut self.gids);
        let r = self.map.groups(keys, len, &mut gids);
        if let Err(e) = r {
            self.gids = gids;
            return Err(e);
        }
        self.update_groups(gids, inputs, len)
    }

    /// The group of the one-row `keys` (created if new), with every state grown
    /// to hold it.
    fn group_of_row(&mut self, keys: &[&Vector]) -> Result<usize> {
        let mut gids = std::mem::take(&mut self.gids);
        let r = self.map.groups(keys, 1, &mut gids);
        let g = gids.first().copied();
        self.gids = gids;
        r?;
        self.grow();
        g.map(|g| g as usize)
            .ok_or_else(|| Error::Internal("no group for one row of keys".into()))
    }

    /// Like `update`, for rows that all have the keys of the one-row `keys`.
    fn update_one_group(
        &mut self,
        keys: &[&Vector],
        inputs: &[AggInput<'_>],
        len: usize,
    ) -> Result<()> {
        let g = self.group_of_row(keys)? as u32;
        let mut gids = std::mem::take(&mut self.gids);
        gids.clear();
        gids.resize(len, g);
        self.update_groups(gids, inputs, len)
    }

    /// Folds the aggregate inputs of `len` rows into groups `gids` (one per row).
    fn update_groups(&mut self, gids: Vec<u32>, inputs: &[AggInput<'_>], len: usize) -> Result<()> {
        self.grow();
        if self.rows.len() < len {
            self.rows = (0..len as u32).collect();
        }
        let rows = &self.rows[..len];
        let (mut frows, mut fgids) = (Vec::new(), Vec::new());
        let mut grown = 0usize;
        let mut result = Ok(());
        for (a, inp) in self.accs.iter_mut().zip(inputs) {
            let (rs, gs): (&[u32], &[u32]) = match inp.filter {
                None => (rows, &gids),
                Some(f) => {
                    // FILTER (WHERE ...): keep the rows where it is TRUE.
                    let b = match vector::bools(f, len) {
                        Ok(b) => b,
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    };
                    frows.clear();
                    fgids.clear();
                    for (&r, &g) in rows.iter().zip(&gids) {
                        if f.is_valid(r as usize) && b[r as usize] {
                            frows.push(r);
                            fgids.push(g);
                        }
                    }
                    (&frows, &fgids)
                }
            };
            if let Err(e) = a.update(inp, rs, gs, len, &mut grown) {
                result = Err(e);
                break;
            }
        }
        self.var_bytes += grown;
        self.gids = gids;
        result
    }

    /// Adds `n` rows that all have the keys of the one-row `keys`, to a table
    /// whose aggregates are all `count(*)`.
    fn add_rows(&mut self, keys: &[&Vector], n: u64) -> Result<()> {
        let g = self.group_of_row(keys)?;
        for a in &mut self.accs {
            match a {
                Acc::Count(c) => c.add(g, n as i64),
                _ => return Err(Error::Internal("block counts need count(*) only".into())),
            }
        }
        Ok(())
    }

    /// Adds a whole segment whose `rows` rows all have the keys of the one-row
    /// `keys`, from its metadata. The aggregates are `count(*)` (`None` in
    /// `dicts`) and `count(DISTINCT s)` of a dictionary-encoded string column:
    /// a segment's dictionary holds exactly the column's non-NULL values there
    /// (`None` when every row is NULL).
    fn add_segment(
        &mut self,
        keys: &[&Vector],
        rows: u64,
        dicts: &[Option<Arc<StringVec>>],
    ) -> Result<()> {
        let g = self.group_of_row(keys)?;
        let mut grown = 0usize;
        for (a, d) in self.accs.iter_mut().zip(dicts) {
            match (a, d) {
                (Acc::Count(c), _) => c.add(g, rows as i64),
                (Acc::CountDistinct(s), Some(dict)) => grown += s.add_dictionary(g, dict),
                (Acc::CountDistinct(_), None) => {}
                _ => {
                    return Err(Error::Internal(
                        "a segment's metadata answers no such aggregate".into(),
                    ))
                }
            }
        }
        self.var_bytes += grown;
        Ok(())
    }

    /// Merges `other` (with the same aggregates and key layout) into this table,
    /// leaving `other` empty.
    fn merge(&mut self, other: &mut GroupTable, threads: usize) -> Result<()> {
        let map = self.map.absorb_on(&other.map, threads)?;
        self.grow();
        self.var_bytes += other.var_bytes;
        for (a, b) in self.accs.iter_mut().zip(other.accs.iter_mut()) {
            let empty = b.empty_like();
            a.merge(std::mem::replace(b, empty), &map)?;
        }
        other.clear();
        Ok(())
    }

    /// Forgets every group, keeping the memory of the group map (hash tables,
    /// keys, interners) for the next aggregation.
    fn clear(&mut self) {
        self.map.clear();
        for a in &mut self.accs {
            *a = a.empty_like();
        }
        self.var_bytes = 0;
    }

    /// Drops the scratch of the segment last scanned, keeping the groups and
    /// their states (see [`GroupMap::forget_scratch`]).
    pub fn forget_scratch(&mut self) {
        self.map.forget_scratch();
        self.gids = Vec::new();
        self.rows = Vec::new();
    }

    /// The result: key columns, then one column per aggregate. With `bound`,
    /// only the groups that could still enter the top-N it describes; their key
    /// values (strings) are the only ones materialized.
    /// `reserve` is told the size of each result column (before the key
    /// columns are allocated, after the aggregates' are).
    pub fn finish(
        &mut self,
        aggs: &[AggExpr],
        bound: Option<&AggBound>,
        unread: &[bool],
        reserve: &mut dyn FnMut(usize) -> Result<()>,
    ) -> Result<Vec<Column>> {
        quantile::select_quantiles(&mut self.accs);
        let cols = (self.accs.iter().zip(aggs))
            .map(|(a, e)| {
                let c = a.finish(e.data_type, &self.accs)?;
                reserve(c.heap_bytes())?;
                Ok(c)
            })
            .collect::<Result<Vec<Column>>>()?;
        let sel = bound.and_then(|b| b.select(cols.get(b.agg)?));
        let mut out = self.map.key_columns_of(sel.as_deref(), unread, reserve)?;
        match sel {
            Some(rows) => out.extend(cols.iter().map(|c| c.take(&rows))),
            None => out.extend(cols),
        }
        Ok(out)
    }
}

/// A thread's aggregation state: its group table and its share of the memory
/// pool.
pub struct AggState {
    pub table: GroupTable,
    reservation: Option<Reservation>,
}

impl AggState {
    pub fn new(layout: KeyLayout, aggs: &[AggExpr], reservation: Option<Reservation>) -> AggState {
        AggState {
            table: GroupTable::new(layout, aggs),
            reservation,
        }
    }

    /// Replaces the groups with `table`'s (a cached table), counting it.
    pub fn set_table(&mut self, table: GroupTable) -> Result<()> {
        self.table = table;
        self.account()
    }

    /// The group table, its share of the pool given back.
    pub fn into_table(self) -> GroupTable {
        self.table
    }

    /// Adds a whole segment from its metadata (see `GroupTable::add_segment`).
    pub fn add_segment(
        &mut self,
        keys: &[&Vector],
        rows: u64,
        dicts: &[Option<Arc<StringVec>>],
    ) -> Result<()> {
        self.table.add_segment(keys, rows, dicts)?;
        self.account()
    }

    /// Numbers the string keys by merges of their dictionaries over the unit
    /// being aggregated (see [`GroupMap::use_unit_dicts`]).
    pub(crate) fn use_unit_dicts(&mut self, dicts: &[Option<Arc<UnitDict>>]) {
        self.table.map.use_unit_dicts(dicts);
    }

    /// Starts a segment (integer key domains for the dense path).
    pub fn begin_segment(&mut self, domains: SegmentDomains) {
        self.table.map.begin_segment(domains);
    }

    /// Adds a batch's `len` rows (all selected).
    pub fn update(&mut self, keys: &[&Vector], args: &[AggInput<'_>], len: usize) -> Result<()> {
        self.table.update(keys, args, len)?;
        self.account()
    }

    /// Adds `n` rows with the keys of the one-row `keys` (count(*) aggregates only).
    pub fn add_rows(&mut self, keys: &[&Vector], n: u64) -> Result<()> {
        self.table.add_rows(keys, n)?;
        self.account()
    }

    /// Adds a batch's `len` rows that all have the keys of the one-row `keys`.
    pub fn update_one_group(
        &mut self,
        keys: &[&Vector],
        args: &[AggInput<'_>],
        len: usize,
    ) -> Result<()> {
        self.table.update_one_group(keys, args, len)?;
        self.account()
    }

    fn account(&mut self) -> Result<()> {
        if let Some(r) = &mut self.reservation {
            r.resize(self.table.bytes())?;
        }
        Ok(())
    }

    /// Merges another thread's state into this one, leaving `other` empty (its
    /// memory kept for reuse, see [`AggState::clear`]).
    pub fn merge(&mut self, other: &mut AggState) -> Result<()> {
        self.merge_on(other, 1)
    }

    /// [`AggState::merge`], finding `other`'s groups on up to `threads`
    /// threads when there are many.
    pub fn merge_on(&mut self, other: &mut AggState, threads: usize) -> Result<()> {
        self.table.merge(&mut other.table, threads)?;
        other.account()?;
        self.account()
    }

    /// Forgets every group, keeping the group map's memory (and its share of the
    /// pool) so that the next aggregation with the same keys and aggregates
    /// starts without growing its tables again.
    pub fn clear(&mut self) -> Result<()> {
        self.table.clear();
        self.account()
    }

    /// The result columns (keys, then aggregates); with `ensure_group`, an
    /// aggregate without GROUP BY has its one row even over no input.
    pub fn finish(
        &mut self,
        aggs: &[AggExpr],
        ensure_group: bool,
        bound: Option<&AggBound>,
    ) -> Result<Vec<Column>> {
        self.finish_keys(aggs, ensure_group, bound, &[])
    }

    /// [`AggState::finish`], with zero values for the keys marked in `unread`
    /// (keys no operator above reads: see [`GroupMap::key_columns_of`]).
    ///
    /// [`GroupMap::key_columns_of`]: crate::exec::group::GroupMap::key_columns_of
    pub fn finish_keys(
        &mut self,
        aggs: &[AggExpr],
        ensure_group: bool,
        bound: Option<&AggBound>,
        unread: &[bool],
    ) -> Result<Vec<Column>> {
        if ensure_group {
            self.table.ensure_empty_key_group();
        }
        // The result counts with the table until the caller takes it.
        let mut held = self.table.bytes();
        let reservation = &mut self.reservation;
        self.table.finish(aggs, bound, unread, &mut |bytes| {
            held += bytes;
            reservation.as_mut().map_or(Ok(()), |r| r.resize(held))
        })
    }
}
