//! Hash joins over materialized inputs: inner, left, right and full outer, semi
//! (`IN`) and null-aware anti (`NOT IN`).
//!
//! The build side is concatenated into one batch; its key columns are evaluated
//! once and every row's key is encoded into one byte buffer. The hash table maps a
//! key to its first build row and rows with equal keys are chained through `next`,
//! so building and probing allocate per batch, not per row. Rows with a NULL key
//! are never inserted and never probed (NULL matches nothing). The rest of an ON
//! condition is evaluated on the key-matched pairs of each probe batch.
//!
//! Memory: the build side and its key table hold a reservation of the query's
//! pool for as long as the join runs, and the probe side's reservation shrinks as
//! its batches are consumed. Output is handed to the caller in batches of at most
//! [`OUTPUT_ROWS`] pairs (a key matching many build rows produces several), so the
//! caller decides whether it is materialized (and counted) or streamed into an
//! aggregate.

use std::borrow::Cow;

use hashbrown::HashTable;

use super::materialized::with_vectors;
use super::memory::{hash_table_bytes, Reservation};
use super::sort::concat;
use super::vector::{self, Vector};
use super::{agg, ExecOptions};
use crate::column::{Batch, Bitmap, Column, ColumnData};
use crate::error::Result;
use crate::plan::{BuildSide, Expr, JoinKind};
use crate::schema::DataType;

/// A row index standing for "no row": its columns are NULL.
pub(super) const PAD: u32 = u32::MAX;
const NONE: u32 = u32::MAX;

/// The most (probe row, build row) pairs in one output batch.
pub(super) const OUTPUT_ROWS: usize = 64 * 1024;

/// Build rows between two updates of the build side's reservation.
const BUILD_STEP: usize = 64 * 1024;

/// Rows between two checks of the cancel flag in the loops over build and probe
/// rows: a few milliseconds of work, so a cancel lands well within 200 ms.
const CANCEL_STEP: usize = 64 * 1024;

/// Checks the cancel flag at every [`CANCEL_STEP`]th row `r`.
fn cancel_point(opts: &ExecOptions, r: usize) -> Result<()> {
    if r % CANCEL_STEP == CANCEL_STEP - 1 {
        opts.check_cancel()?;
    }
    Ok(())
}

/// The build side's keys.
struct KeyTable {
    /// Encoded keys of all build rows, back to back; row `r` is
    /// `bytes[offsets[r]..offsets[r + 1]]`.
    bytes: Vec<u8>,
    offsets: Vec<usize>,
    /// (hash, first row with that key).
    table: HashTable<(u64, u32)>,
    /// The next build row with the same key as row `r`.
    next: Vec<u32>,
    hasher: hashbrown::DefaultHashBuilder,
    /// Whether some build row has a NULL key.
    has_null: bool,
}

fn any_null(keys: &[Cow<'_, Vector>], r: usize) -> bool {
    keys.iter().any(|k| !k.is_valid(r))
}

fn encode_key(buf: &mut Vec<u8>, keys: &[Cow<'_, Vector>], r: usize) {
    buf.clear();
    for k in keys {
        agg::encode(buf, k, r, false);
    }
}

impl KeyTable {
    /// Bytes of heap the table holds.
    fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
            + self.offsets.capacity() * 8
            + self.next.capacity() * 4
            + hash_table_bytes(self.table.capacity(), 16)
    }

    /// What a table of `n` rows holds before its keys are encoded.
    fn fixed_bytes(n: usize) -> usize {
        (n + 1) * 8 + n * 4 + hash_table_bytes(n, 16)
    }

    /// Builds the table, keeping `mem` at `base` plus the table's size.
    fn build(
        keys: &[Cow<'_, Vector>],
        n: usize,
        mem: &mut Reservation,
        base: usize,
        opts: &ExecOptions,
    ) -> Result<KeyTable> {
        use std::hash::BuildHasher;
        mem.resize(base + KeyTable::fixed_bytes(n))?;
        let mut t = KeyTable {
            bytes: Vec::new(),
            offsets: Vec::with_capacity(n + 1),
            table: HashTable::with_capacity(n),
            next: vec![NONE; n],
            hasher: hashbrown::DefaultHashBuilder::default(),
            has_null: false,
        };
        t.offsets.push(0);
        let mut buf = Vec::new();
        for r in 0..n {
            if r % BUILD_STEP == BUILD_STEP - 1 {
                mem.resize(base + t.heap_bytes())?;
            }
            cancel_point(opts, r)?;
            if any_null(keys, r) {
                t.has_null = true;
                t.offsets.push(t.bytes.len());
                continue;
            }
            encode_key(&mut buf, keys, r);
            t.bytes.extend_from_slice(&buf);
            t.offsets.push(t.bytes.len());
            let h = t.hasher.hash_one(buf.as_slice());
            let (bytes, offsets) = (&t.bytes, &t.offsets);
            let key_of = |row: u32| &bytes[offsets[row as usize]..offsets[row as usize + 1]];
            match t
                .table
                .find_mut(h, |&(eh, row)| eh == h && key_of(row) == buf.as_slice())
            {
                Some(entry) => {
                    t.next[r] = entry.1;
                    entry.1 = r as u32;
                }
                None => {
                    t.table.insert_unique(h, (h, r as u32), |&(eh, _)| eh);
                }
            }
        }
        mem.resize(base + t.heap_bytes())?;
        Ok(t)
    }

    /// The first build row whose key equals `key` (then follow `next`).
    fn first(&self, key: &[u8]) -> u32 {
        use std::hash::BuildHasher;
        let h = self.hasher.hash_one(key);
        let key_of =
            |row: u32| &self.bytes[self.offsets[row as usize]..self.offsets[row as usize + 1]];
        self.table
            .find(h, |&(eh, row)| eh == h && key_of(row) == key)
            .map_or(NONE, |&(_, row)| row)
    }
}

/// Rows `rows` of `c`, with [`PAD`] giving NULL.
pub(super) fn take_padded(c: &Column, rows: &[u32]) -> Column {
    if !rows.contains(&PAD) {
        return c.take(rows);
    }
    let mut data = ColumnData::empty(c.data.physical());
    let mut validity = Bitmap::new(0, false);
    for &r in rows {
        if r == PAD {
            data.push_default();
            validity.push(false);
        } else {
            data.extend_take(&c.data, &[r]);
            validity.push(c.is_valid(r as usize));
        }
    }
    Column {
        data,
        validity: Some(validity),
    }
}

fn eval_keys<'a>(keys: &[&Expr], vecs: &'a [Vector], n: usize) -> Result<Vec<Cow<'a, Vector>>> {
    keys.iter().map(|k| vector::eval(k, vecs, n)).collect()
}

/// The columns that `exprs` read, as flags.
fn used(exprs: &[&Expr]) -> Vec<bool> {
    let mut cols = Vec::new();
    for e in exprs {
        e.for_each_column(&mut |i| cols.push(i));
    }
    mark(&cols)
}

pub(super) fn mark(cols: &[usize]) -> Vec<bool> {
    let mut out = Vec::new();
    for &i in cols {
        if out.len() <= i {
            out.resize(i + 1, false);
        }
        out[i] = true;
    }
    out
}

/// The inputs of a join, already run, with the reservations that count them.
pub(super) struct JoinInputs<'a> {
    pub left: Vec<Batch>,
    pub left_schema: &'a [(String, DataType)],
    pub left_mem: Reservation,
    pub right: Vec<Batch>,
    pub right_schema: &'a [(String, DataType)],
    pub right_mem: Reservation,
}

/// What a join computes (the logical node's fields).
pub(super) struct JoinSpec<'a> {
    pub kind: JoinKind,
    pub on: &'a [(Expr, Expr)],
    pub filter: Option<&'a Expr>,
    pub build: BuildSide,
}

/// Runs a hash join of `inputs`, handing its output to `emit` batch by batch;
/// with `row_budget` (a LIMIT above it), stops once that many rows are out.
pub(super) fn hash_join(
    inputs: JoinInputs<'_>,
    spec: &JoinSpec<'_>,
    opts: &ExecOptions,
    row_budget: Option<usize>,
    emit: &mut dyn FnMut(Batch) -> Result<()>,
) -> Result<()> {
    // Rows still wanted; `emit` says when there are none left.
    let wanted = std::cell::Cell::new(row_budget.unwrap_or(usize::MAX));
    let mut emit = |b: Batch| -> Result<bool> {
        wanted.set(wanted.get().saturating_sub(b.num_rows()));
        emit(b)?;
        Ok(wanted.get() == 0)
    };
    let JoinSpec {
        kind, on, filter, ..
    } = *spec;
    // Semi and anti joins always build on the right (the subquery).
    let build = match kind {
        JoinKind::Semi | JoinKind::Anti => BuildSide::Right,
        _ => spec.build,
    };
    let build_left = build == BuildSide::Left;
    let JoinInputs {
        left,
        left_schema,
        left_mem,
        right,
        right_schema,
        right_mem,
    } = inputs;
    let (build_batches, build_schema, build_mem, probe_batches, mut probe_mem) = if build_left {
        (left, left_schema, left_mem, right, right_mem)
    } else {
        (right, right_schema, right_mem, left, left_mem)
    };
    let nl = left_schema.len();
    let mut build_mem = build_mem.named("hash join");
    let mut b = concat(build_batches, build_schema);
    let base = b.heap_bytes();
    let nb = b.num_rows();
    let build_keys: Vec<&Expr> = on
        .iter()
        .map(|(l, r)| if build_left { l } else { r })
        .collect();
    let probe_keys: Vec<&Expr> = on
        .iter()
        .map(|(l, r)| if build_left { r } else { l })
        .collect();
    let table = with_vectors(&mut b, &used(&build_keys), |vecs, n| {
        let keys = eval_keys(&build_keys, vecs, n)?;
        KeyTable::build(&keys, n, &mut build_mem, base, opts)
    })?;
    // Columns of the residual condition, per side (positions within each side).
    let (mut filter_left, mut filter_right) = (Vec::new(), Vec::new());
    if let Some(f) = filter {
        f.for_each_column(&mut |i| {
            if i < nl {
                filter_left.push(i)
            } else {
                filter_right.push(i - nl)
            }
        });
    }
    let (filter_build, filter_probe) = if build_left {
        (mark(&filter_left), mark(&filter_right))
    } else {
        (mark(&filter_right), mark(&filter_left))
    };
    let probe_used = used(&probe_keys);

    // Which side keeps its unmatched rows: the build side's are emitted at the
    // end (a bitmap over its rows), the probe side's after each probe batch.
    let (keep_build, keep_probe) = if build_left {
        (kind.keeps_left(), kind.keeps_right())
    } else {
        (kind.keeps_right(), kind.keeps_left())
    };
    let mut build_matched = Matched::new(keep_build, nb);
    let mut buf = Vec::new();
    let mut sel = Vec::new();
    for mut p in probe_batches {
        opts.check_cancel()?;
        let n = p.num_rows();
        probe_mem.resize(probe_mem.size().saturating_sub(p.heap_bytes()))?;
        if n == 0 {
            continue;
        }
        if matches!(kind, JoinKind::Semi | JoinKind::Anti) {
            let keep = with_vectors(&mut p, &probe_used, |vecs, n| {
                let pkeys = eval_keys(&probe_keys, vecs, n)?;
                let mut keep = Vec::new();
                for r in 0..n {
                    cancel_point(opts, r)?;
                    let null = any_null(&pkeys, r);
                    let found = !null && {
                        encode_key(&mut buf, &pkeys, r);
                        table.first(&buf) != NONE
                    };
                    let pass = if kind == JoinKind::Semi {
                        found
                    } else if nb == 0 {
                        // NOT IN over an empty set is TRUE, even for NULL.
                        true
                    } else {
                        !null && !found && !table.has_null
                    };
                    if pass {
                        keep.push(r as u32);
                    }
                }
                Ok(keep)
            })?;
            if emit(if keep.len() == n { p } else { p.take(&keep) })? {
                return Ok(());
            }
            continue;
        }
        // The first build row matching each probe row's key (NONE: no match or
        // a NULL key); the rest of the matches follow `next`.
        let firsts = with_vectors(&mut p, &probe_used, |vecs, n| {
            let pkeys = eval_keys(&probe_keys, vecs, n)?;
            (0..n)
                .map(|r| {
                    cancel_point(opts, r)?;
                    if any_null(&pkeys, r) {
                        return Ok(NONE);
                    }
                    encode_key(&mut buf, &pkeys, r);
                    Ok(table.first(&buf))
                })
                .collect::<Result<Vec<u32>>>()
        })?;
        // Probe rows of an outer join keeping them that matched something.
        let mut hit = Matched::new(keep_probe, n);
        let (mut r, mut m) = (0, firsts[0]);
        while r < n {
            // The next key-matched pairs (probe row, build row), at most
            // OUTPUT_ROWS and no more than are wanted.
            let (mut prow, mut brow) = (Vec::new(), Vec::new());
            let most = OUTPUT_ROWS.min(wanted.get());
            while r < n && prow.len() < most {
                if m == NONE {
                    r += 1;
                    m = firsts.get(r).copied().unwrap_or(NONE);
                } else {
                    prow.push(r as u32);
                    brow.push(m);
                    m = table.next[m as usize];
                }
            }
            if prow.is_empty() {
                break;
            }
            if let Some(f) = filter {
                // Only the columns the condition reads are gathered, for the pairs.
                let m = prow.len();
                with_vectors(&mut b, &filter_build, |bv, _| {
                    with_vectors(&mut p, &filter_probe, |pv, _| {
                        let bg: Vec<Vector> = bv.iter().map(|v| v.gather(&brow)).collect();
                        let pg: Vec<Vector> = pv.iter().map(|v| v.gather(&prow)).collect();
                        let pair: Vec<Vector> = if build_left {
                            bg.into_iter().chain(pg).collect()
                        } else {
                            pg.into_iter().chain(bg).collect()
                        };
                        vector::select(f, &pair, m, &mut sel)
                    })
                })?;
                prow = sel.iter().map(|&i| prow[i as usize]).collect();
                brow = sel.iter().map(|&i| brow[i as usize]).collect();
            }
            build_matched.mark(&brow);
            hit.mark(&prow);
            if !prow.is_empty() && emit(pair_batch(&b, &p, &brow, &prow, build_left))? {
                return Ok(());
            }
            opts.check_cancel()?;
        }
        if hit.is_tracked() {
            // Probe rows that matched nothing.
            let prow = hit.unmatched();
            if !prow.is_empty() {
                let brow = vec![PAD; prow.len()];
                if emit(pair_batch(&b, &p, &brow, &prow, build_left))? {
                    return Ok(());
                }
            }
        }
    }
    drop(table);
    if keep_build {
        // Build rows that matched nothing, the probe side's columns NULL.
        let probe_schema = if build_left {
            right_schema
        } else {
            left_schema
        };
        let empty = empty_batch(probe_schema);
        let brows = build_matched.unmatched();
        for rows in brows.chunks(OUTPUT_ROWS) {
            opts.check_cancel()?;
            let prow = vec![PAD; rows.len()];
            if emit(pair_batch(&b, &empty, rows, &prow, build_left))? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// A batch without rows of the columns of `schema` (the source of padding).
pub(super) fn empty_batch(schema: &[(String, DataType)]) -> Batch {
    Batch {
        columns: schema
            .iter()
            .map(|(_, t)| Column::new(ColumnData::empty(t.physical())))
            .collect(),
    }
}

/// The output rows of build rows `brow` paired with probe rows `prow` (either
/// may be [`PAD`]), left side's columns first.
pub(super) fn pair_batch(
    build: &Batch,
    probe: &Batch,
    brow: &[u32],
    prow: &[u32],
    build_left: bool,
) -> Batch {
    let (lsrc, lrows, rsrc, rrows) = if build_left {
        (build, brow, probe, prow)
    } else {
        (probe, prow, build, brow)
    };
    let mut columns: Vec<Column> = lsrc.columns.iter().map(|c| take_padded(c, lrows)).collect();
    columns.extend(rsrc.columns.iter().map(|c| take_padded(c, rrows)));
    Batch { columns }
}

/// Which rows of one side of an outer join found a partner; nothing is tracked for
/// a side whose unmatched rows the join drops.
pub(super) struct Matched(Vec<bool>);

impl Matched {
    pub(super) fn new(keep_unmatched: bool, rows: usize) -> Matched {
        Matched(if keep_unmatched {
            vec![false; rows]
        } else {
            Vec::new()
        })
    }

    /// Whether any row is tracked.
    pub(super) fn is_tracked(&self) -> bool {
        !self.0.is_empty()
    }

    /// Records that `rows` found a partner.
    pub(super) fn mark(&mut self, rows: &[u32]) {
        if self.is_tracked() {
            for &r in rows {
                self.0[r as usize] = true;
            }
        }
    }

    /// The tracked rows that found no partner, in order.
    pub(super) fn unmatched(&self) -> Vec<u32> {
        (0..self.0.len() as u32)
            .filter(|&r| !self.0[r as usize])
            .collect()
    }
}
