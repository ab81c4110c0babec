//! `list(x)` (`array_agg`): a group's values, NULLs included, in the order the
//! rows reach the state; and `first`/`last`/`any_value` of list values.

use super::{Acc, GroupStates, GroupedRows};
use crate::column::{Bitmap, Column, ColumnData, Value};
use crate::error::Result;
use crate::schema::DataType;

/// What the state keeps of a group's values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Keep {
    /// Every value (`list`).
    All,
    /// One value: the first (`skip_nulls`: the first non-NULL) or the last.
    One { skip_nulls: bool, last: bool },
}

/// The values kept per group (`None` until a row is seen).
#[derive(Clone, Debug)]
pub(super) struct ListAgg {
    groups: Vec<Option<Vec<Value>>>,
    keep: Keep,
}

impl ListAgg {
    pub(super) fn new(keep: Keep) -> ListAgg {
        ListAgg {
            groups: Vec::new(),
            keep,
        }
    }

    /// Adds `v` to group `g`; the bytes the state grew by.
    fn add(&mut self, g: usize, v: Value) -> usize {
        let bytes = value_bytes(&v);
        let slot = &mut self.groups[g];
        match (self.keep, slot) {
            (Keep::All, Some(items)) => items.push(v),
            (Keep::One { skip_nulls, last }, Some(items)) => {
                let held_null = items.first().is_none_or(|x| matches!(x, Value::Null));
                let take = if skip_nulls {
                    held_null && !matches!(v, Value::Null)
                } else {
                    last
                };
                if take {
                    *items = vec![v];
                }
                return 0;
            }
            (_, slot) => *slot = Some(vec![v]),
        }
        bytes
    }
}

/// The heap a value holds, roughly.
fn value_bytes(v: &Value) -> usize {
    std::mem::size_of::<Value>()
        + match v {
            Value::Str(s) => s.len(),
            Value::List(items) => items.iter().map(value_bytes).sum(),
            _ => 0,
        }
}

impl GroupStates for ListAgg {
    fn resize(&mut self, n: usize) {
        self.groups.resize(n, None);
    }

    fn empty_like(&self) -> ListAgg {
        ListAgg::new(self.keep)
    }

    fn group_bytes(&self) -> usize {
        std::mem::size_of::<Option<Vec<Value>>>()
    }

    fn update(&mut self, b: &GroupedRows<'_>, grown: &mut usize) -> Result<()> {
        for (r, g) in b.pairs() {
            *grown += self.add(g, b.arg.value(r, b.arg_type));
        }
        Ok(())
    }

    fn merge(&mut self, other: ListAgg, map: &[u32]) -> Result<()> {
        for (g, items) in other.groups.into_iter().enumerate() {
            for v in items.into_iter().flatten() {
                self.add(map[g] as usize, v);
            }
        }
        Ok(())
    }

    fn finish(&self, t: DataType, _all: &[Acc]) -> Result<Column> {
        let n = self.groups.len();
        let mut valid = Bitmap::new(n, true);
        let mut col = Column::new(ColumnData::with_capacity(t.physical(), n));
        for (g, items) in self.groups.iter().enumerate() {
            match (self.keep, items) {
                (Keep::All, Some(items)) => col.data.push_value(&Value::List(items.clone().into())),
                (Keep::One { .. }, Some(items)) if !matches!(items[0], Value::Null) => {
                    col.data.push_value(&items[0])
                }
                _ => {
                    col.data.push_default();
                    valid.set(g, false);
                }
            }
        }
        if valid.count_ones() < n {
            col.validity = Some(valid);
        }
        Ok(col)
    }
}
