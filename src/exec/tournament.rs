//! A tournament of losers: the k-way merge of sorted runs.
//!
//! Each inner node of a complete binary tree over the runs holds the run that
//! lost the match played there; the root's winner is the run whose current key
//! comes first. Taking that key replays only the matches on its run's path to
//! the root, one comparison per level (a binary heap compares twice per level as
//! it sifts down). The caller keeps the runs and their positions; the tree only
//! holds run numbers, and every comparison is the caller's `beats(a, b)`: run
//! `a`'s current key comes before run `b`'s (a used-up run beats none).

use std::ops::Range;
use std::sync::Arc;

use crate::column::{partition_point, StringVec};

/// Marks a node no run has reached yet while the tree is built.
const EMPTY: usize = usize::MAX;

pub(crate) struct Tournament {
    /// Leaves are `k..2k` (run `i` at `k + i`), inner nodes `1..k`; `tree[0]`
    /// is the winner.
    tree: Vec<usize>,
}

impl Tournament {
    /// The tournament of runs `0..k` (`k` at least 1).
    pub fn new(k: usize, beats: impl Fn(usize, usize) -> bool) -> Tournament {
        let mut tree = vec![EMPTY; k.max(1)];
        for i in 0..k {
            // Each run climbs until it meets an empty node, where it waits; the
            // winner of each match played climbs on.
            let mut w = i;
            let mut j = (k + i) / 2;
            while j > 0 {
                if tree[j] == EMPTY {
                    tree[j] = w;
                    w = EMPTY;
                    break;
                }
                if beats(tree[j], w) {
                    std::mem::swap(&mut tree[j], &mut w);
                }
                j /= 2;
            }
            if w != EMPTY {
                tree[0] = w;
            }
        }
        Tournament { tree }
    }

    /// The run whose current key comes first.
    #[inline]
    pub fn winner(&self) -> usize {
        self.tree[0]
    }

    /// Replays the matches on the winner's path after its key moved on (or it
    /// was used up).
    #[inline]
    pub fn replay(&mut self, beats: impl Fn(usize, usize) -> bool) {
        let k = self.tree.len();
        let mut w = self.tree[0];
        let mut j = (k + w) / 2;
        while j > 0 {
            if beats(self.tree[j], w) {
                std::mem::swap(&mut self.tree[j], &mut w);
            }
            j /= 2;
        }
        self.tree[0] = w;
    }
}

/// The strings of several sorted lists in order, each list's part `ranges[i]`:
/// `(list, position, string)` for each entry, the smallest first (equal strings
/// of different lists one after the other).
pub(crate) struct MergedStrings<'a> {
    lists: &'a [Arc<StringVec>],
    ends: Vec<usize>,
    pos: Vec<usize>,
    /// Each list's current string; `None` once it is used up.
    cur: Vec<Option<&'a [u8]>>,
    tree: Tournament,
}

impl<'a> MergedStrings<'a> {
    pub fn new(lists: &'a [Arc<StringVec>], ranges: &[Range<usize>]) -> MergedStrings<'a> {
        let ends: Vec<usize> = ranges.iter().map(|r| r.end).collect();
        let pos: Vec<usize> = ranges.iter().map(|r| r.start).collect();
        let cur: Vec<Option<&'a [u8]>> = (0..lists.len())
            .map(|l| (pos[l] < ends[l]).then(|| lists[l].get(pos[l]).as_bytes()))
            .collect();
        let tree = Tournament::new(lists.len(), |a, b| beats(&cur, a, b));
        MergedStrings {
            lists,
            ends,
            pos,
            cur,
            tree,
        }
    }

    /// Every entry of every list.
    pub fn all(lists: &'a [Arc<StringVec>]) -> MergedStrings<'a> {
        let ranges: Vec<Range<usize>> = lists.iter().map(|l| 0..l.len()).collect();
        MergedStrings::new(lists, &ranges)
    }
}

/// Whether run `a`'s current key comes before run `b`'s (`None`: used up).
#[inline]
pub(crate) fn beats<K: Ord + Copy>(cur: &[Option<K>], a: usize, b: usize) -> bool {
    match (cur[a], cur[b]) {
        (Some(x), Some(y)) => x < y,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

impl<'a> Iterator for MergedStrings<'a> {
    type Item = (usize, usize, &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let w = self.tree.winner();
        let s = self.cur.get(w).copied().flatten()?;
        let at = self.pos[w];
        self.pos[w] += 1;
        self.cur[w] =
            (self.pos[w] < self.ends[w]).then(|| self.lists[w].get(self.pos[w]).as_bytes());
        let cur = &self.cur;
        self.tree.replay(|a, b| beats(cur, a, b));
        Some((w, at, s))
    }
}

/// Cuts the keys of sorted runs into `parts` ranges at keys of the longest run,
/// for merging the ranges apart (on threads): per part, each run's positions in
/// it. `key(r, i)` is run `r`'s key at position `i`; `lens` the runs' lengths.
pub(crate) fn key_ranges<K: Ord>(
    lens: &[usize],
    key: impl Fn(usize, usize) -> K,
    parts: usize,
) -> Vec<Vec<Range<usize>>> {
    let parts = parts.max(1);
    let splits: Vec<K> = match (0..lens.len()).max_by_key(|&r| lens[r]) {
        Some(l) => (1..parts).map(|t| key(l, lens[l] * t / parts)).collect(),
        None => Vec::new(),
    };
    // Per run, the start of each part, and its end.
    let bounds: Vec<Vec<usize>> = (0..lens.len())
        .map(|r| {
            let mut b = vec![0];
            b.extend((splits.iter()).map(|s| partition_point(lens[r], |i| key(r, i) < *s)));
            b.push(lens[r]);
            b
        })
        .collect();
    (0..parts)
        .map(|t| bounds.iter().map(|b| b[t]..b[t + 1]).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Tournament;
    use proptest::prelude::*;

    proptest! {
        /// Merging sorted runs through the tournament gives every element once,
        /// in order.
        #[test]
        fn merges_sorted_runs_in_order(mut runs in prop::collection::vec(prop::collection::vec(0u16..50, 0..20), 1..12)) {
            runs.iter_mut().for_each(|r| r.sort_unstable());
            let mut pos = vec![0usize; runs.len()];
            let beats = |pos: &[usize], a: usize, b: usize| match (runs[a].get(pos[a]), runs[b].get(pos[b])) {
                (Some(x), Some(y)) => x < y,
                (Some(_), None) => true,
                (None, _) => false,
            };
            let mut t = Tournament::new(runs.len(), |a, b| beats(&pos, a, b));
            let mut out = Vec::new();
            loop {
                let w = t.winner();
                let Some(&x) = runs[w].get(pos[w]) else { break };
                out.push(x);
                pos[w] += 1;
                t.replay(|a, b| beats(&pos, a, b));
            }
            let mut want: Vec<u16> = runs.concat();
            want.sort_unstable();
            prop_assert_eq!(out, want);
        }
    }
}
