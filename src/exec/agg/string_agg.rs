//! `string_agg(x, sep)` (`group_concat`, `listagg`): a group's non-NULL values
//! in the order the rows reach the state, joined by a constant separator (a
//! NULL separator makes every result NULL, as in DuckDB).

use super::{Acc, GroupStates, GroupedRows};
use crate::column::{Bitmap, Column, ColumnData, StringVec};
use crate::error::Result;
use crate::schema::DataType;

/// The joined text per group (`None` until a value is seen) and the separator.
#[derive(Clone, Debug)]
pub(super) struct StringAgg {
    text: Vec<Option<String>>,
    /// Read from the second argument (a constant) on the first batch; `Some(None)`
    /// for a NULL separator.
    sep: Option<Option<String>>,
}

impl StringAgg {
    pub(super) fn new() -> StringAgg {
        StringAgg {
            text: Vec::new(),
            sep: None,
        }
    }

    fn append(&mut self, g: usize, s: &str) -> usize {
        let sep = self.sep.as_ref().and_then(|s| s.as_deref()).unwrap_or(",");
        match &mut self.text[g] {
            Some(t) => {
                t.push_str(sep);
                t.push_str(s);
                sep.len() + s.len()
            }
            slot => {
                *slot = Some(s.to_string());
                s.len() + std::mem::size_of::<String>()
            }
        }
    }
}

impl GroupStates for StringAgg {
    fn resize(&mut self, n: usize) {
        self.text.resize(n, None);
    }

    fn empty_like(&self) -> StringAgg {
        StringAgg {
            text: Vec::new(),
            sep: self.sep.clone(),
        }
    }

    fn group_bytes(&self) -> usize {
        std::mem::size_of::<Option<String>>()
    }

    fn update(&mut self, b: &GroupedRows<'_>, grown: &mut usize) -> Result<()> {
        if self.sep.is_none() {
            // The binder makes the separator a constant.
            self.sep = Some(match b.arg2 {
                Some((s, _)) if b.len > 0 && !s.is_valid(0) => None,
                Some((s, _)) if b.len > 0 => Some(s.str_at(0).to_string()),
                _ => Some(",".into()),
            });
        }
        let v = b.arg;
        for (r, g) in b.pairs() {
            if v.is_valid(r) {
                *grown += self.append(g, v.str_at(r));
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: StringAgg, map: &[u32]) -> Result<()> {
        if self.sep.is_none() {
            self.sep = other.sep.clone();
        }
        for (g, t) in other.text.into_iter().enumerate() {
            if let Some(t) = t {
                self.append(map[g] as usize, &t);
            }
        }
        Ok(())
    }

    fn finish(&self, _t: DataType, _all: &[Acc]) -> Result<Column> {
        let mut s = StringVec::new();
        let mut valid = Bitmap::new(self.text.len(), true);
        let null_sep = matches!(self.sep, Some(None));
        for (g, t) in self.text.iter().enumerate() {
            s.push(t.as_deref().unwrap_or(""));
            if t.is_none() || null_sep {
                valid.set(g, false);
            }
        }
        let validity = (valid.count_ones() < self.text.len()).then_some(valid);
        Ok(Column {
            data: ColumnData::Utf8(s),
            validity,
        })
    }
}
