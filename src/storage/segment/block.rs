//! Decoded blocks in memory: [`BlockValues`] and [`ColumnBlock`], whose buffers a
//! reader reuses from one block to the next, and their conversion to [`Column`]s.

use std::sync::Arc;

use crate::column::{append_validity, Bitmap, Column, ColumnData, StringVec};
use crate::schema::PhysicalType;

/// Decoded values of one block, reused across reads to avoid allocation.
#[derive(Clone, Debug)]
pub enum BlockValues {
    Int64(Vec<i64>),
    Float64(Vec<f64>),
    Bool(Vec<bool>),
    Ip(Vec<u128>),
    Utf8(StringVec),
    /// Dictionary codes and the segment's dictionary (for a block read for a
    /// few rows, the entries those rows use: see
    /// [`Segment::read_block_sparse`](super::Segment::read_block_sparse)).
    Dict {
        codes: Vec<u32>,
        dict: Arc<StringVec>,
    },
}

/// A buffer that [`BlockValues`] holds for one physical type: what a block decoder
/// writes into. Generic code over these buffers is monomorphized, so reusing a
/// buffer costs one variant check per block, never per row.
pub(super) trait BlockBuffer: Default {
    fn into_values(self) -> BlockValues;
    fn in_values(values: &mut BlockValues) -> Option<&mut Self>;
}

macro_rules! block_buffer {
    ($($buf:ty => $variant:ident),* $(,)?) => {$(
        impl BlockBuffer for $buf {
            fn into_values(self) -> BlockValues {
                BlockValues::$variant(self)
            }
            fn in_values(values: &mut BlockValues) -> Option<&mut Self> {
                match values {
                    BlockValues::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    )*};
}

block_buffer!(
    Vec<i64> => Int64,
    Vec<f64> => Float64,
    Vec<bool> => Bool,
    Vec<u128> => Ip,
    StringVec => Utf8,
);

/// The `B` buffer of `values`, to be overwritten: kept (with its allocation) when
/// `values` already holds a `B`, a new empty one otherwise.
#[inline]
pub(super) fn reuse<B: BlockBuffer>(values: &mut BlockValues) -> &mut B {
    if B::in_values(values).is_none() {
        *values = B::default().into_values();
    }
    match B::in_values(values) {
        Some(b) => b,
        None => unreachable!("a buffer just stored is there"),
    }
}

/// Makes `values` a copy of `src`, reusing its buffer.
fn copy_buffer<B: BlockBuffer + Clone>(values: &mut BlockValues, src: &B) {
    reuse::<B>(values).clone_from(src);
}

/// The dictionary codes buffer of `values` taken out for reuse (empty if `values`
/// holds no codes); `values` is left empty.
pub(super) fn take_codes(values: &mut BlockValues) -> Vec<u32> {
    match std::mem::replace(values, BlockValues::Int64(Vec::new())) {
        BlockValues::Dict { codes, .. } => codes,
        _ => Vec::new(),
    }
}

/// A decoded block: values plus validity (`None` = no NULLs in the block).
#[derive(Clone, Debug)]
pub struct ColumnBlock {
    pub values: BlockValues,
    pub validity: Option<Bitmap>,
}

impl Default for ColumnBlock {
    fn default() -> Self {
        ColumnBlock {
            values: BlockValues::Int64(Vec::new()),
            validity: None,
        }
    }
}

impl ColumnBlock {
    /// The bytes this block's buffers hold (a dictionary is shared, not counted).
    pub fn memory_size(&self) -> usize {
        let values = match &self.values {
            BlockValues::Int64(v) => v.len() * 8,
            BlockValues::Float64(v) => v.len() * 8,
            BlockValues::Bool(v) => v.len(),
            BlockValues::Ip(v) => v.len() * 16,
            BlockValues::Utf8(v) => v.bytes().len() + v.offsets().len() * 4,
            BlockValues::Dict { codes, .. } => codes.len() * 4,
        };
        values + self.validity.as_ref().map_or(0, |v| v.words().len() * 8)
    }

    /// A copy whose dictionary (if any) is replaced by an empty one.
    pub(super) fn without_dictionary(&self) -> ColumnBlock {
        let values = match &self.values {
            BlockValues::Dict { codes, .. } => BlockValues::Dict {
                codes: codes.clone(),
                dict: Arc::new(StringVec::new()),
            },
            v => v.clone(),
        };
        ColumnBlock {
            values,
            validity: self.validity.clone(),
        }
    }

    /// Makes `self` a copy of `src`, reusing its buffers; a dictionary block takes
    /// `dict` as its dictionary.
    pub(super) fn copy_from(&mut self, src: &ColumnBlock, dict: Option<Arc<StringVec>>) {
        match &src.values {
            BlockValues::Int64(v) => copy_buffer(&mut self.values, v),
            BlockValues::Float64(v) => copy_buffer(&mut self.values, v),
            BlockValues::Bool(v) => copy_buffer(&mut self.values, v),
            BlockValues::Ip(v) => copy_buffer(&mut self.values, v),
            BlockValues::Utf8(v) => copy_buffer(&mut self.values, v),
            BlockValues::Dict { codes, dict: d } => {
                let dict = dict.unwrap_or_else(|| d.clone());
                let mut out = take_codes(&mut self.values);
                out.clear();
                out.extend_from_slice(codes);
                self.values = BlockValues::Dict { codes: out, dict };
            }
        }
        self.validity.clone_from(&src.validity);
    }

    pub fn len(&self) -> usize {
        match &self.values {
            BlockValues::Int64(v) => v.len(),
            BlockValues::Float64(v) => v.len(),
            BlockValues::Bool(v) => v.len(),
            BlockValues::Ip(v) => v.len(),
            BlockValues::Utf8(v) => v.len(),
            BlockValues::Dict { codes, .. } => codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes the values `n` rows of the default value of `physical` (0, 0.0,
    /// false, ::, ''), reusing the buffer of that type.
    pub(super) fn fill_default(&mut self, physical: PhysicalType, n: usize) {
        fn fill<T: Clone>(values: &mut BlockValues, v: T, n: usize)
        where
            Vec<T>: BlockBuffer,
        {
            let b = reuse::<Vec<T>>(values);
            b.clear();
            b.resize(n, v);
        }
        match physical {
            PhysicalType::Int64 => fill(&mut self.values, 0i64, n),
            PhysicalType::Float64 => fill(&mut self.values, 0.0f64, n),
            PhysicalType::Bool => fill(&mut self.values, false, n),
            PhysicalType::Ip => fill(&mut self.values, 0u128, n),
            PhysicalType::Utf8 | PhysicalType::List(_) => {
                let mut codes = take_codes(&mut self.values);
                codes.clear();
                codes.resize(n, 0);
                let mut empty = StringVec::new();
                empty.push("");
                self.values = BlockValues::Dict {
                    codes,
                    dict: Arc::new(empty),
                };
            }
        }
    }

    /// The string of row `i`, `None` where it is NULL or the block holds no
    /// strings (a code past the dictionary reads as '').
    #[inline]
    pub fn str_at(&self, i: usize) -> Option<&str> {
        if self.validity.as_ref().is_some_and(|v| !v.get(i)) {
            return None;
        }
        match &self.values {
            BlockValues::Utf8(v) => (i < v.len()).then(|| v.get(i)),
            BlockValues::Dict { codes, dict } => {
                let c = *codes.get(i)? as usize;
                Some(if c < dict.len() { dict.get(c) } else { "" })
            }
            _ => None,
        }
    }

    /// Appends the block to `data`/`validity` that already hold `rows` rows,
    /// materializing dictionary strings once.
    pub fn append_to(&self, data: &mut ColumnData, validity: &mut Option<Bitmap>, rows: usize) {
        match (&mut *data, &self.values) {
            (ColumnData::Int64(a), BlockValues::Int64(b)) => a.extend_from_slice(b),
            (ColumnData::Float64(a), BlockValues::Float64(b)) => a.extend_from_slice(b),
            (ColumnData::Bool(a), BlockValues::Bool(b)) => a.extend_from_slice(b),
            (ColumnData::Ip(a), BlockValues::Ip(b)) => a.extend_from_slice(b),
            (ColumnData::Utf8(a), BlockValues::Utf8(b)) => {
                for s in b.iter() {
                    a.push(s);
                }
            }
            (ColumnData::Utf8(a), BlockValues::Dict { codes, dict }) => {
                for &c in codes {
                    // Codes under NULLs may point past an empty dictionary.
                    a.push(if (c as usize) < dict.len() {
                        dict.get(c as usize)
                    } else {
                        ""
                    });
                }
            }
            (a, _) => panic!(
                "ColumnBlock::append_to: block does not match a {:?} column",
                a.physical()
            ),
        }
        append_validity(validity, rows, self.len(), self.validity.as_ref());
    }

    /// The block as a [`Column`], materializing dictionary strings.
    pub fn to_column(&self) -> Column {
        let data = match &self.values {
            BlockValues::Int64(v) => ColumnData::Int64(v.clone()),
            BlockValues::Float64(v) => ColumnData::Float64(v.clone()),
            BlockValues::Bool(v) => ColumnData::Bool(v.clone()),
            BlockValues::Ip(v) => ColumnData::Ip(v.clone()),
            BlockValues::Utf8(v) => ColumnData::Utf8(v.clone()),
            BlockValues::Dict { codes, dict } => {
                let mut s = StringVec::with_capacity(codes.len(), codes.len() * 16);
                for &c in codes {
                    // Codes under NULLs may point past an empty dictionary.
                    s.push(if (c as usize) < dict.len() {
                        dict.get(c as usize)
                    } else {
                        ""
                    });
                }
                ColumnData::Utf8(s)
            }
        };
        Column {
            data,
            validity: self.validity.clone(),
        }
    }
}
