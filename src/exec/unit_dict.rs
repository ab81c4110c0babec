//! One string column's dictionaries merged across the segments of an aggregation
//! unit: every distinct string of the unit once, in order, and for each
//! segment's dictionary the number (rank) of each of its entries.
//!
//! A GROUP BY on a dictionary-encoded string column numbers its values so that
//! the same string gets the same id in every segment. Interning does it with a
//! hash table probed once per dictionary entry at a random place (a slot and the
//! string's bytes: two cache misses once the unit has a few hundred thousand
//! distinct values). The dictionaries are sorted already, so a k-way merge
//! numbers them reading each one front to back, a string comparison per level of
//! a tournament of the k segments; the key space is cut into one range per
//! thread. The ids are the strings' ranks, so they also order as the strings do.

use std::sync::Arc;

use super::physical::ScanInfo;
use super::tournament::{key_ranges, MergedStrings};
use super::ExecOptions;
use crate::column::{partition_point, StringVec};
use crate::error::Result;
use crate::plan::Expr;
use crate::schema::DataType;
use crate::storage::parallel;

/// Whether an aggregation over the scan `info` numbers its string column keys
/// by their dictionaries merged per unit: every row of every segment is read,
/// or every row within a time range (a filter, whose rows might need few
/// entries, may read only the time column: segments are cut by time, so only
/// the range's edge segments are read in part), and no aggregate cache keeps
/// the tables across queries (whose units differ). The keys so numbered are the
/// group keys that are string columns, where each segment of the unit has a
/// dictionary of the column. `time_column` is the table's.
pub(crate) fn merges_dictionaries(
    info: &ScanInfo<'_>,
    time_column: Option<usize>,
    opts: &ExecOptions,
) -> bool {
    let mut time_only = true;
    for f in &info.filters {
        f.visit(&mut |e| {
            if let Expr::Column { index, .. } = e {
                time_only &=
                    time_column.is_some() && info.columns.get(*index).copied() == time_column;
            }
        });
    }
    !opts.aggregate_cache && time_only
}

/// The group keys [`merges_dictionaries`] numbers: plain string columns.
pub(crate) fn string_column_keys(group: &[(Expr, String)]) -> Vec<&Expr> {
    (group.iter())
        .map(|(e, _)| e)
        .filter(|e| matches!(e, Expr::Column { data_type, .. } if *data_type == DataType::Varchar))
        .collect()
}

/// Below this many entries in all, dictionaries merge on one thread.
const PARALLEL_MERGE_MIN: usize = 1 << 16;

/// The merged dictionaries of one column over a unit's segments.
pub(crate) struct UnitDict {
    /// Every distinct string, in order: id `i` is `strings.get(i)`.
    strings: Arc<StringVec>,
    /// Each segment's dictionary with the id of each of its entries.
    segments: Vec<(Arc<StringVec>, Vec<u32>)>,
}

impl UnitDict {
    /// Merges `dicts` (each strictly ascending, as segment dictionaries are) on
    /// up to `threads` threads.
    pub fn merge(dicts: Vec<Arc<StringVec>>, threads: usize) -> Result<UnitDict> {
        let total: usize = dicts.iter().map(|d| d.len()).sum();
        let parts = if total < PARALLEL_MERGE_MIN {
            1
        } else {
            threads.max(1)
        };
        Self::merge_in_parts(dicts, parts)
    }

    /// [`UnitDict::merge`] with the key space cut into `parts` ranges, each
    /// merged on a thread of its own.
    fn merge_in_parts(dicts: Vec<Arc<StringVec>>, parts: usize) -> Result<UnitDict> {
        if let [only] = dicts.as_slice() {
            return Ok(UnitDict {
                strings: only.clone(),
                segments: vec![(only.clone(), (0..only.len() as u32).collect())],
            });
        }
        let lens: Vec<usize> = dicts.iter().map(|d| d.len()).collect();
        let total: usize = lens.iter().sum();
        if u32::try_from(total).is_err() {
            return Err(crate::error::Error::ResourcesExhausted(format!(
                "a unit's dictionaries hold {total} entries, more than 32-bit ids number"
            )));
        }
        let ranges = key_ranges(&lens, |r, i| dicts[r].get(i).as_bytes(), parts);
        let pieces = parallel::map(ranges, parts, |ranges| Ok(merge_part(&dicts, ranges)))?;
        // A part's ids start after the distinct strings of the parts before it.
        let bytes: usize = pieces.iter().map(|p| p.strings.bytes().len()).sum();
        let distinct: usize = pieces.iter().map(|p| p.strings.len()).sum();
        let mut strings = StringVec::with_capacity(distinct, bytes);
        let mut ids: Vec<Vec<u32>> = lens.iter().map(|&n| Vec::with_capacity(n)).collect();
        for piece in &pieces {
            let base = strings.len() as u32;
            strings.extend(&piece.strings);
            for (out, local) in ids.iter_mut().zip(&piece.ids) {
                out.extend(local.iter().map(|&id| base + id));
            }
        }
        Ok(UnitDict {
            strings: Arc::new(strings),
            segments: dicts.into_iter().zip(ids).collect(),
        })
    }

    /// Distinct strings (ids are `0..len`).
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// The string of id `id` (`id < len`).
    #[inline]
    pub fn get(&self, id: u32) -> &str {
        self.strings.get(id as usize)
    }

    /// The id of `s`, when the unit has it.
    pub fn find(&self, s: &str) -> Option<u32> {
        let i = partition_point(self.len(), |i| self.get(i as u32).as_bytes() < s.as_bytes());
        (i < self.len() && self.get(i as u32) == s).then_some(i as u32)
    }

    /// The ids of the entries of `dict`, when it is one of the merged
    /// dictionaries (the same allocation).
    pub fn ids_of(&self, dict: &Arc<StringVec>) -> Option<&[u32]> {
        (self.segments.iter())
            .find(|(d, _)| Arc::ptr_eq(d, dict))
            .map(|(_, ids)| ids.as_slice())
    }

    /// Whether `self` and `other` are the same merge (their ids agree).
    pub fn same(self: &Arc<Self>, other: &Arc<UnitDict>) -> bool {
        Arc::ptr_eq(self, other)
    }

    /// Approximate bytes held beyond the segments' own dictionaries.
    pub fn bytes(&self) -> usize {
        let strings = if self.segments.len() == 1 {
            0
        } else {
            self.strings.heap_bytes()
        };
        strings
            + self
                .segments
                .iter()
                .map(|(_, ids)| ids.capacity() * 4)
                .sum::<usize>()
    }
}

/// One key range of every dictionary merged: its distinct strings and, per
/// dictionary, the ids (from 0) of its entries in the range.
struct Piece {
    strings: StringVec,
    ids: Vec<Vec<u32>>,
}

fn merge_part(dicts: &[Arc<StringVec>], ranges: Vec<std::ops::Range<usize>>) -> Piece {
    let mut ids: Vec<Vec<u32>> = ranges.iter().map(|r| Vec::with_capacity(r.len())).collect();
    let entries: usize = ranges.iter().map(|r| r.len()).sum();
    let mut strings = StringVec::with_capacity(entries, 0);
    let mut last: Option<&[u8]> = None;
    for (w, i, s) in MergedStrings::new(dicts, &ranges) {
        if last != Some(s) {
            strings.push(dicts[w].get(i));
            last = Some(s);
        }
        ids[w].push(strings.len() as u32 - 1);
    }
    Piece { strings, ids }
}

#[cfg(test)]
mod tests {
    use super::UnitDict;
    use crate::column::StringVec;
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    proptest! {
        /// Every entry of every dictionary gets the rank of its string among all
        /// the distinct strings, on one thread and on several.
        #[test]
        fn ids_are_ranks_of_the_merged_strings(
            sets in prop::collection::vec(prop::collection::btree_set("[a-d]{0,4}", 0..40), 1..7),
            threads in 1usize..4,
        ) {
            let dicts: Vec<Arc<StringVec>> = sets
                .iter()
                .map(|set| {
                    let mut d = StringVec::new();
                    set.iter().for_each(|s| d.push(s));
                    Arc::new(d)
                })
                .collect();
            let all: BTreeSet<&String> = sets.iter().flatten().collect();
            let all: Vec<&String> = all.into_iter().collect();
            for parts in [1, threads] {
                let u = UnitDict::merge_in_parts(dicts.clone(), parts).unwrap();
                prop_assert_eq!(u.len(), all.len());
                for (i, s) in all.iter().enumerate() {
                    prop_assert_eq!(u.get(i as u32), s.as_str());
                    prop_assert_eq!(u.find(s), Some(i as u32));
                }
                prop_assert_eq!(u.find("zz"), None);
                for (d, set) in dicts.iter().zip(&sets) {
                    let ids = u.ids_of(d).unwrap();
                    prop_assert_eq!(ids.len(), set.len());
                    for (e, id) in set.iter().zip(ids) {
                        prop_assert_eq!(u.get(*id), e.as_str());
                    }
                }
            }
        }
    }
}
