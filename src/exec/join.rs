//! Hash joins over materialized inputs: inner, left outer, semi (`IN`) and
//! null-aware anti (`NOT IN`).
//!
//! The build side is concatenated into one batch; its key columns are evaluated
//! once and every row's key is encoded into one byte buffer. The hash table maps a
//! key to its first build row and rows with equal keys are chained through `next`,
//! so building and probing allocate per batch, not per row. Rows with a NULL key
//! are never inserted and never probed (NULL matches nothing). The rest of an ON
//! condition is evaluated on the key-matched pairs of each probe batch.

use std::borrow::Cow;

use hashbrown::HashTable;

use super::materialized::with_vectors;
use super::sort::concat;
use super::vector::{self, Vector};
use super::{agg, ExecOptions};
use crate::column::{Batch, Bitmap, Column, ColumnData};
use crate::error::{Error, Result};
use crate::plan::{BuildSide, Expr, JoinKind};
use crate::schema::DataType;

/// A row index standing for "no row": its columns are NULL.
const PAD: u32 = u32::MAX;
const NONE: u32 = u32::MAX;

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
    fn build(keys: &[Cow<'_, Vector>], n: usize) -> KeyTable {
        use std::hash::BuildHasher;
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
        t
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
fn take_padded(c: &Column, rows: &[u32]) -> Column {
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

fn approx_bytes(b: &Batch) -> usize {
    b.columns
        .iter()
        .map(|c| match &c.data {
            ColumnData::Int64(v) => v.len() * 8,
            ColumnData::Float64(v) => v.len() * 8,
            ColumnData::Bool(v) => v.len(),
            ColumnData::Ip(v) => v.len() * 16,
            ColumnData::Utf8(v) => v.bytes().len() + v.len() * 4,
        })
        .sum()
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

fn mark(cols: &[usize]) -> Vec<bool> {
    let mut out = Vec::new();
    for &i in cols {
        if out.len() <= i {
            out.resize(i + 1, false);
        }
        out[i] = true;
    }
    out
}

/// The inputs of a join, already run.
pub(super) struct JoinInputs<'a> {
    pub left: Vec<Batch>,
    pub left_schema: &'a [(String, DataType)],
    pub right: Vec<Batch>,
    pub right_schema: &'a [(String, DataType)],
}

/// Runs a hash join of `inputs` and returns the output batches.
pub(super) fn hash_join(
    inputs: JoinInputs<'_>,
    kind: JoinKind,
    on: &[(Expr, Expr)],
    filter: Option<&Expr>,
    build: BuildSide,
    opts: &ExecOptions,
) -> Result<Vec<Batch>> {
    // Semi and anti joins always build on the right (the subquery).
    let build = match kind {
        JoinKind::Semi | JoinKind::Anti => BuildSide::Right,
        _ => build,
    };
    let build_left = build == BuildSide::Left;
    let (build_batches, build_schema, probe_batches) = if build_left {
        (inputs.left, inputs.left_schema, inputs.right)
    } else {
        (inputs.right, inputs.right_schema, inputs.left)
    };
    let mut b = concat(build_batches, build_schema);
    let bytes = approx_bytes(&b);
    if bytes > opts.memory_limit {
        return Err(Error::ResourcesExhausted(format!(
            "the hash join's build side needs about {bytes} bytes, over the memory limit of {} \
             bytes",
            opts.memory_limit
        )));
    }
    let nb = b.num_rows();
    let nl = inputs.left_schema.len();
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
        Ok(KeyTable::build(&keys, n))
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

    let mut out = Vec::new();
    let mut build_matched = if build_left && kind == JoinKind::Left {
        vec![false; nb]
    } else {
        Vec::new()
    };
    let mut buf = Vec::new();
    let mut sel = Vec::new();
    for mut p in probe_batches {
        if opts
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
        {
            return Err(Error::Cancelled);
        }
        let n = p.num_rows();
        if n == 0 {
            continue;
        }
        if matches!(kind, JoinKind::Semi | JoinKind::Anti) {
            let keep = with_vectors(&mut p, &probe_used, |vecs, n| {
                let pkeys = eval_keys(&probe_keys, vecs, n)?;
                let mut keep = Vec::new();
                for r in 0..n {
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
            out.push(if keep.len() == n { p } else { p.take(&keep) });
            continue;
        }
        // Key-matched pairs (probe row, build row).
        let (prow, brow) = with_vectors(&mut p, &probe_used, |vecs, n| {
            let pkeys = eval_keys(&probe_keys, vecs, n)?;
            let (mut prow, mut brow) = (Vec::new(), Vec::new());
            for r in 0..n {
                if any_null(&pkeys, r) {
                    continue;
                }
                encode_key(&mut buf, &pkeys, r);
                let mut m = table.first(&buf);
                while m != NONE {
                    prow.push(r as u32);
                    brow.push(m);
                    m = table.next[m as usize];
                }
            }
            Ok((prow, brow))
        })?;
        let (mut lrows, mut rrows) = if build_left {
            (brow, prow)
        } else {
            (prow, brow)
        };
        if let Some(f) = filter {
            // Only the columns the condition reads are gathered, for the pairs.
            let (build_rows, probe_rows) = if build_left {
                (&lrows, &rrows)
            } else {
                (&rrows, &lrows)
            };
            let m = lrows.len();
            with_vectors(&mut b, &filter_build, |bv, _| {
                with_vectors(&mut p, &filter_probe, |pv, _| {
                    let bg: Vec<Vector> = bv.iter().map(|v| v.gather(build_rows)).collect();
                    let pg: Vec<Vector> = pv.iter().map(|v| v.gather(probe_rows)).collect();
                    let pair: Vec<Vector> = if build_left {
                        bg.into_iter().chain(pg).collect()
                    } else {
                        pg.into_iter().chain(bg).collect()
                    };
                    let v = vector::eval(f, &pair, m)?;
                    vector::selection(&v, m, &mut sel)
                })
            })?;
            lrows = sel.iter().map(|&i| lrows[i as usize]).collect();
            rrows = sel.iter().map(|&i| rrows[i as usize]).collect();
        }
        if kind == JoinKind::Left {
            if build_left {
                for &r in &lrows {
                    build_matched[r as usize] = true;
                }
            } else {
                let mut hit = vec![false; n];
                for &r in &lrows {
                    hit[r as usize] = true;
                }
                for (r, h) in hit.iter().enumerate() {
                    if !h {
                        lrows.push(r as u32);
                        rrows.push(PAD);
                    }
                }
            }
        }
        let (lsrc, rsrc) = if build_left { (&b, &p) } else { (&p, &b) };
        let mut columns: Vec<Column> = lsrc
            .columns
            .iter()
            .map(|c| take_padded(c, &lrows))
            .collect();
        columns.extend(rsrc.columns.iter().map(|c| take_padded(c, &rrows)));
        out.push(Batch { columns });
    }
    if build_left && kind == JoinKind::Left {
        // Left rows (the build side here) that matched nothing.
        let lrows: Vec<u32> = (0..nb as u32)
            .filter(|&r| !build_matched[r as usize])
            .collect();
        if !lrows.is_empty() {
            let rrows = vec![PAD; lrows.len()];
            let mut columns: Vec<Column> =
                b.columns.iter().map(|c| take_padded(c, &lrows)).collect();
            for (_, t) in inputs.right_schema {
                let empty = Column::new(ColumnData::empty(t.physical()));
                columns.push(take_padded(&empty, &rrows));
            }
            out.push(Batch { columns });
        }
    }
    Ok(out)
}
