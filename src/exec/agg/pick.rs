//! Picks: `any_value(x)` keeps the first non-NULL value a group sees,
//! `first(x)` / `arbitrary(x)` the first value, NULL included, `last(x)` the
//! last value, NULL included.
//!
//! "First" is in the order rows reach the state: scan order within a thread,
//! then the order thread tables merge. Without an ORDER BY the choice is
//! arbitrary (as DuckDB documents for these functions); it is always the value
//! of some row of the group.

use super::{with_seen, Acc, GroupStates, GroupedRows, Primitive};
use crate::column::{Column, ColumnData, StringVec};
use crate::error::Result;
use crate::schema::DataType;

/// A pick of a fixed-size type: per group, whether a row was taken, and its
/// value when that value was not NULL.
#[derive(Clone, Debug)]
pub(super) struct Pick<T> {
    value: Vec<T>,
    valid: Vec<bool>,
    taken: Vec<bool>,
    /// `any_value`: NULLs are passed over.
    skip_nulls: bool,
    /// `last`: every row replaces the value taken before.
    last: bool,
}

impl<T> Pick<T> {
    pub(super) fn new(skip_nulls: bool, last: bool) -> Pick<T> {
        Pick {
            value: Vec::new(),
            valid: Vec::new(),
            taken: Vec::new(),
            skip_nulls,
            last,
        }
    }
}

impl<T: Primitive> GroupStates for Pick<T> {
    fn resize(&mut self, n: usize) {
        self.value.resize(n, T::default());
        self.valid.resize(n, false);
        self.taken.resize(n, false);
    }

    fn empty_like(&self) -> Pick<T> {
        Pick::new(self.skip_nulls, self.last)
    }

    fn group_bytes(&self) -> usize {
        std::mem::size_of::<T>() + 2
    }

    fn update(&mut self, b: &GroupedRows<'_>, _grown: &mut usize) -> Result<()> {
        let v = b.arg;
        let x = T::values(v, b.len)?;
        for (r, g) in b.pairs() {
            if self.taken[g] && !self.last {
                continue;
            }
            let valid = v.is_valid(r);
            if valid || !self.skip_nulls {
                self.taken[g] = true;
                self.valid[g] = valid;
                self.value[g] = x[r];
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: Pick<T>, map: &[u32]) -> Result<()> {
        for (g, &taken) in other.taken.iter().enumerate() {
            let t = map[g] as usize;
            if taken && (!self.taken[t] || self.last) {
                self.taken[t] = true;
                self.valid[t] = other.valid[g];
                self.value[t] = other.value[g];
            }
        }
        Ok(())
    }

    fn finish(&self, _t: DataType, _all: &[Acc]) -> Result<Column> {
        Ok(with_seen(T::column(self.value.clone()), &self.valid))
    }
}

/// A pick of strings: per group, whether a row was taken, and its string
/// (copied out of the batch) when it was not NULL.
#[derive(Clone, Debug)]
pub(super) struct PickStr {
    value: Vec<Option<Box<str>>>,
    taken: Vec<bool>,
    skip_nulls: bool,
    last: bool,
}

impl PickStr {
    pub(super) fn new(skip_nulls: bool, last: bool) -> PickStr {
        PickStr {
            value: Vec::new(),
            taken: Vec::new(),
            skip_nulls,
            last,
        }
    }
}

impl GroupStates for PickStr {
    fn resize(&mut self, n: usize) {
        self.value.resize(n, None);
        self.taken.resize(n, false);
    }

    fn empty_like(&self) -> PickStr {
        PickStr::new(self.skip_nulls, self.last)
    }

    fn group_bytes(&self) -> usize {
        std::mem::size_of::<Option<Box<str>>>() + 1
    }

    fn update(&mut self, b: &GroupedRows<'_>, grown: &mut usize) -> Result<()> {
        let v = b.arg;
        for (r, g) in b.pairs() {
            if self.taken[g] && !self.last {
                continue;
            }
            if v.is_valid(r) {
                let s = v.str_at(r);
                *grown += s.len();
                self.value[g] = Some(s.into());
                self.taken[g] = true;
            } else if !self.skip_nulls {
                self.value[g] = None;
                self.taken[g] = true;
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: PickStr, map: &[u32]) -> Result<()> {
        for (g, (s, taken)) in other.value.into_iter().zip(other.taken).enumerate() {
            let t = map[g] as usize;
            if taken && (!self.taken[t] || self.last) {
                self.taken[t] = true;
                self.value[t] = s;
            }
        }
        Ok(())
    }

    fn finish(&self, _t: DataType, _all: &[Acc]) -> Result<Column> {
        let mut s = StringVec::new();
        for x in &self.value {
            s.push(x.as_deref().unwrap_or(""));
        }
        let seen: Vec<bool> = self.value.iter().map(Option::is_some).collect();
        Ok(with_seen(ColumnData::Utf8(s), &seen))
    }
}
