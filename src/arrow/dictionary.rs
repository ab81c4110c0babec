//! Dictionary-encoded strings from Parquet as logdb dictionaries.
//!
//! A column chunk whose data pages are all dictionary-encoded is read as Arrow
//! `Dictionary(Int32, Utf8)` (see `parquet_read.rs`): arrow-rs then decodes only
//! the keys, and every batch of the chunk shares one values array, its
//! dictionary page. That dictionary is converted once per chunk: sorted by
//! bytes with duplicates merged, the form logdb's scans require of a
//! dictionary (comparisons with a literal become code comparisons), with the
//! new code of each Arrow key. IP columns parse each entry once instead of each
//! row.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};

use crate::column::{Bitmap, Column, ColumnData, StringVec};
use crate::schema::DataType;

/// One column of a batch read from Parquet.
#[derive(Debug)]
pub enum ReadColumn {
    /// The values as logdb holds them in memory.
    Plain(Column),
    /// Strings as codes into a dictionary sorted by bytes (no duplicates),
    /// shared by every batch of one column chunk. Codes of NULL rows are 0.
    Dict {
        codes: Vec<u32>,
        dict: Arc<StringVec>,
        validity: Option<Bitmap>,
    },
}

impl ReadColumn {
    pub fn len(&self) -> usize {
        match self {
            ReadColumn::Plain(c) => c.len(),
            ReadColumn::Dict { codes, .. } => codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The column with every string written out.
    pub fn into_column(self) -> Column {
        match self {
            ReadColumn::Plain(c) => c,
            ReadColumn::Dict {
                codes,
                dict,
                validity,
            } => {
                let entry = |c: u32| {
                    if (c as usize) < dict.len() {
                        dict.get(c as usize)
                    } else {
                        ""
                    }
                };
                let bytes: usize = codes.iter().map(|&c| entry(c).len()).sum();
                let mut s = StringVec::with_capacity(codes.len(), bytes);
                for &c in &codes {
                    s.push(entry(c));
                }
                Column {
                    data: ColumnData::Utf8(s),
                    validity,
                }
            }
        }
    }
}

/// A chunk's dictionary, converted.
struct Converted {
    /// The Arrow values it was made from: held, so that the address identifying
    /// them is not reused while this lives.
    source: ArrayRef,
    sorted: Arc<StringVec>,
    /// Arrow key -> code in `sorted`.
    remap: Vec<u32>,
    /// IP columns: each entry of `sorted` parsed (`None`: not an address).
    ips: Vec<Option<u128>>,
}

/// The converted dictionary of the chunk being read, for one column.
#[derive(Default)]
pub struct DictionaryCache {
    current: Option<Converted>,
}

impl DictionaryCache {
    /// Converts the dictionary array `array` (Arrow keys of any integer type
    /// over strings) to a column of type `ty` (VARCHAR or IP).
    pub fn convert(&mut self, array: &dyn Array, ty: DataType) -> Result<ReadColumn, String> {
        let dict = array.as_any_dictionary();
        let values = dict.values();
        let fresh = !self
            .current
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(&c.source, values));
        if fresh {
            self.current = Some(convert_values(values, ty)?);
        }
        let Some(conv) = self.current.as_ref() else {
            return Err("dictionary lost".into());
        };
        let validity = super::convert::validity(array);
        let valid = |i: usize| validity.as_ref().is_none_or(|b| b.get(i));
        let keys = dict.normalized_keys();
        let mut codes = Vec::with_capacity(keys.len());
        for (i, &k) in keys.iter().enumerate() {
            match conv.remap.get(k) {
                Some(&c) => codes.push(c),
                None if !valid(i) => codes.push(0),
                None => return Err(format!("dictionary key {k} at row {i} is out of range")),
            }
        }
        if ty == DataType::Ip {
            let mut out = Vec::with_capacity(codes.len());
            for (i, &c) in codes.iter().enumerate() {
                match conv.ips.get(c as usize).copied().flatten() {
                    Some(ip) => out.push(ip),
                    None if !valid(i) => out.push(0),
                    None => {
                        let s = conv.sorted.get(c as usize);
                        return Err(format!("'{s}' at row {i} is not an IP address"));
                    }
                }
            }
            return Ok(ReadColumn::Plain(Column {
                data: ColumnData::Ip(out),
                validity,
            }));
        }
        Ok(ReadColumn::Dict {
            codes,
            dict: conv.sorted.clone(),
            validity,
        })
    }
}

/// A dictionary's values, sorted and merged, with each old position's new code.
fn convert_values(values: &ArrayRef, ty: DataType) -> Result<Converted, String> {
    let strings = match super::convert::from_array(values.as_ref(), DataType::Varchar)?.data {
        ColumnData::Utf8(s) => s,
        _ => {
            return Err(format!(
                "a dictionary of {} cannot be read as {ty}",
                values.data_type()
            ))
        }
    };
    let (sorted, remap) = sort_dictionary(&strings);
    let ips = if ty == DataType::Ip {
        sorted.iter().map(crate::ip::parse).collect()
    } else {
        Vec::new()
    };
    Ok(Converted {
        source: values.clone(),
        sorted: Arc::new(sorted),
        remap,
        ips,
    })
}

/// `values` sorted by bytes with duplicates merged, and the code in it of each
/// entry of `values`.
pub fn sort_dictionary(values: &StringVec) -> (StringVec, Vec<u32>) {
    let mut order: Vec<u32> = (0..values.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| values.get(a as usize).cmp(values.get(b as usize)));
    let mut sorted = StringVec::with_capacity(values.len(), values.bytes().len());
    let mut remap = vec![0u32; values.len()];
    for &i in &order {
        let s = values.get(i as usize);
        if sorted.is_empty() || sorted.get(sorted.len() - 1) != s {
            sorted.push(s);
        }
        remap[i as usize] = sorted.len() as u32 - 1;
    }
    (sorted, remap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dictionary_is_sorted_with_duplicates_merged() {
        let mut v = StringVec::new();
        for s in ["b", "a", "c", "a", ""] {
            v.push(s);
        }
        let (sorted, remap) = sort_dictionary(&v);
        assert_eq!(sorted.iter().collect::<Vec<_>>(), ["", "a", "b", "c"]);
        assert_eq!(remap, [2, 1, 3, 1, 0]);
    }
}
