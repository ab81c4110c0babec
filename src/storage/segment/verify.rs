//! Verifying a segment for `logdb check`: every checksum, block and dictionary
//! decoded, zone maps and the time range recomputed, and every index compared with
//! the column data.

use super::block::{BlockValues, ColumnBlock};
use super::format::{ColumnStorage, IndexKeys, IndexMeta, Stats};
use super::reader::{ReadBuf, Segment};
use super::writer::block_stats;
use crate::column::ColumnData;
use crate::error::Result;

impl Segment {
    /// Verifies every checksum, decodes every block and dictionary, checks zone maps
    /// and that each index agrees with the column data. Returns the first problem.
    pub fn verify(&self) -> Result<()> {
        let mut block = ColumnBlock::default();
        let mut scratch = ReadBuf::default();
        for (c, cm) in self.meta.columns.iter().enumerate() {
            self.dictionary(c)?;
            for (b, bm) in cm.blocks.iter().enumerate() {
                self.read_block(c, b, &mut block, &mut scratch)?;
                let col = block.to_column();
                let codes = match &block.values {
                    BlockValues::Dict { codes, .. } => Some(codes.as_slice()),
                    _ => None,
                };
                let stats = if matches!(
                    cm.storage,
                    ColumnStorage::Plain | ColumnStorage::Joined { .. }
                ) {
                    Stats::None
                } else {
                    block_stats(&col.data, codes, 0..col.len(), col.validity.as_ref())
                };
                let same = match (stats, bm.stats) {
                    (Stats::Float { min: a, max: b }, Stats::Float { min: c, max: d }) => {
                        a.to_bits() == c.to_bits() && b.to_bits() == d.to_bits()
                    }
                    (x, y) => x == y,
                };
                if !same {
                    return Err(self.corrupt(format!(
                        "column '{}' block {b}: zone map disagrees with the data",
                        cm.field.name
                    )));
                }
            }
            if let Some(t) = self.meta.time_column.filter(|&t| t == c) {
                let ts = self.read_columns(&[t])?;
                if let ColumnData::Int64(v) = &ts[0].data {
                    let sorted = v.windows(2).all(|w| w[0] <= w[1]);
                    let range_ok = v.is_empty()
                        || (v[0] == self.meta.min_ts && v[v.len() - 1] == self.meta.max_ts);
                    if !sorted || !range_ok || ts[0].null_count() > 0 {
                        return Err(self.corrupt(
                            "time column is not sorted or disagrees with the segment's time range",
                        ));
                    }
                }
            }
        }
        for e in &self.meta.indexes {
            let Some(ix) = self.index(e.column)? else {
                continue;
            };
            let name = &self.meta.columns[ix.column].field.name;
            // Loaded first, so that every bitmap is checked against its count.
            self.index_counts(ix.column)?;
            let keys = self.row_keys(ix)?;
            let mut total = 0u64;
            self.for_each_bitmap(ix.column, |k, bm| {
                if let Some(row) = bm.iter().find(|&r| keys[r as usize] != k as u32) {
                    return Err(self.corrupt(format!(
                        "index of column '{name}': row {row} does not hold {:?}",
                        self.index_value(ix.column, k)?
                    )));
                }
                total += bm.len();
                Ok(())
            })?;
            let non_null = keys.iter().filter(|&&k| k != u32::MAX).count() as u64;
            if total != non_null {
                return Err(self.corrupt(format!(
                    "index of column '{name}' covers {total} rows, the column has {non_null} non-NULL values"
                )));
            }
        }
        Ok(())
    }

    /// For every row, the position of its value among the index keys (`u32::MAX` for
    /// NULL), read from the column data.
    fn row_keys(&self, ix: &IndexMeta) -> Result<Vec<u32>> {
        let mut keys = Vec::with_capacity(self.meta.rows as usize);
        let mut block = ColumnBlock::default();
        let mut scratch = ReadBuf::default();
        let name = &self.meta.columns[ix.column].field.name;
        // Integer keys, page by page when they are in pages (each page checked).
        let mut ints = Vec::new();
        if !matches!(ix.keys, IndexKeys::Codes(_)) {
            ints.reserve(ix.keys.len());
            self.for_each_int_key(ix.column, |_, v| {
                ints.push(v);
                Ok(())
            })?;
        }
        for b in 0..self.meta.columns[ix.column].blocks.len() {
            self.read_block(ix.column, b, &mut block, &mut scratch)?;
            let valid = |i: usize| block.validity.as_ref().is_none_or(|v| v.get(i));
            match (&block.values, &ix.keys) {
                (BlockValues::Dict { codes, .. }, IndexKeys::Codes(_)) => keys.extend(
                    codes
                        .iter()
                        .enumerate()
                        .map(|(i, &c)| if valid(i) { c } else { u32::MAX }),
                ),
                (BlockValues::Int64(v), IndexKeys::Ints(_) | IndexKeys::Paged(_)) => {
                    let k = &ints;
                    for (i, x) in v.iter().enumerate() {
                        keys.push(if valid(i) {
                            k.binary_search(x).map_err(|_| {
                                self.corrupt(format!("index of column '{name}' lacks value {x}"))
                            })? as u32
                        } else {
                            u32::MAX
                        });
                    }
                }
                (BlockValues::Bool(v), IndexKeys::Ints(_) | IndexKeys::Paged(_)) => {
                    let k = &ints;
                    for (i, &x) in v.iter().enumerate() {
                        keys.push(if valid(i) {
                            k.binary_search(&(x as i64)).map_err(|_| {
                                self.corrupt(format!("index of column '{name}' lacks value {x}"))
                            })? as u32
                        } else {
                            u32::MAX
                        });
                    }
                }
                _ => {
                    return Err(
                        self.corrupt(format!("index of column '{name}' does not fit its storage"))
                    )
                }
            }
        }
        Ok(keys)
    }
}
