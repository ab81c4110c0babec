//! Group keys for hash aggregation: fixed-width packed keys, interners, and the
//! dense per-segment path.
//!
//! Each group key column becomes a small unsigned *code* (0 is NULL): integers
//! whose range is known from zone maps as `v - min + 1`, booleans as 1/2, strings,
//! doubles and IPs as interned ids + 1, other integers as their 64 bits plus a NULL
//! bit. A [`KeyLayout`] packs the codes into as few `u64` words as their bit
//! widths allow, so a key is usually one `u64`, hashed with a multiply-xorshift
//! mixer and stored inline in the hash table; wider keys live in an arena of words.
//!
//! Dictionary-encoded strings are translated to interned ids once per dictionary
//! entry (a per-segment cache), never per row. Plain strings are interned a
//! block at a time, hashes first, with the table slots of later rows prefetched
//! (the work is bound by memory latency). A key that is one interned column
//! finds its group through an array indexed by its dense code instead of a
//! second hash table.
//!
//! Dense path: when every key of a segment has a small domain (dictionary codes,
//! booleans, integers in a narrow zone-map range, `hour(ts)`, a time bucket over the
//! segment's time span), a row's slot is the mixed-radix number of its per-segment
//! codes, and a flat `slot -> group` array replaces hashing. A slot's group is looked
//! up in the hash table once, the first time the slot is seen in the segment.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;

use super::memory::hash_table_bytes;
use super::unit_dict::UnitDict;
use super::vector::{VData, Vector};
use super::word_table::WordTable;
use crate::column::{Bitmap, Column, ColumnData, StringVec, Value};
use crate::error::{Error, Result};
use crate::schema::{DataType, PhysicalType};

/// An absent entry in id and slot arrays.
pub(crate) const MISSING: u32 = u32::MAX;

/// Dense slot arrays are used up to this many slots per segment.
pub(crate) const DENSE_MAX_SLOTS: u64 = 1 << 18;

/// A 64-bit mixer (murmur3's finalizer): good in both the high bits (hashbrown's
/// control bytes) and the low bits (its bucket index).
#[inline]
pub(crate) fn mix64(x: u64) -> u64 {
    let mut x = x ^ (x >> 33);
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

#[inline]
fn hash_words(w: &[u64]) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15u64;
    for &x in w {
        h = mix64(h ^ x);
    }
    h
}

/// A `BuildHasher` for integer keys (u32/u64 sets): one [`mix64`] per key.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FastHash;

/// The hasher of [`FastHash`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        mix64(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u32(&mut self, x: u32) {
        self.0 = mix64(self.0 ^ x as u64);
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = mix64(self.0 ^ x);
    }
}

impl BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// One slot of a [`StrInterner`]'s table: the string's id, where its bytes are,
/// and 32 bits of its hash, so that a probe reads the bytes of a candidate only
/// when its hash and length match.
#[derive(Clone, Copy)]
struct StrSlot {
    tag: u32,
    /// [`MISSING`] when the slot is free.
    id: u32,
    offset: u32,
    len: u32,
}

const FREE_SLOT: StrSlot = StrSlot {
    tag: 0,
    id: MISSING,
    offset: 0,
    len: 0,
};

/// How many rows ahead [`StrInterner::intern_all`] prefetches table slots
/// (and, half as far ahead, the bytes of the string in a row's first slot).
const PREFETCH_ROWS: usize = 16;

pub(crate) use crate::storage::prefetch;

/// Strings to dense ids (`0..len`), each string stored once: an open-addressing
/// table (linear probing, at most half full) over the strings' bytes.
///
/// Grouping by a string column of many distinct values is bound by memory
/// latency (a table slot and a string's bytes per row), so [`Self::intern_all`]
/// hashes a whole block first and prefetches the slots of later rows while it
/// probes the current one.
#[derive(Clone, Default)]
pub(crate) struct StrInterner {
    slots: Vec<StrSlot>,
    strings: StringVec,
    /// The hash of each string, by id: the table grows without hashing the
    /// strings again.
    id_hashes: Vec<u64>,
    hasher: hashbrown::DefaultHashBuilder,
    /// Scratch: the hashes of a block.
    hashes: Vec<u64>,
}

impl StrInterner {
    #[inline]
    fn hash(&self, s: &str) -> u64 {
        self.hasher.hash_one(s.as_bytes())
    }

    pub fn intern(&mut self, s: &str) -> u32 {
        self.reserve(1);
        let h = self.hash(s);
        self.intern_hashed(s, h)
    }

    /// The ids of the first `len` strings of `strs` into `ids`, [`MISSING`] for
    /// the rows `valid` marks NULL (not interned).
    pub fn intern_all(
        &mut self,
        strs: &StringVec,
        len: usize,
        valid: Option<&Bitmap>,
        ids: &mut Vec<u32>,
    ) {
        ids.clear();
        self.intern_rows(strs, 0..len.min(strs.len()), valid, ids);
    }

    /// The ids of the strings `rows` of `strs` appended to `ids`, [`MISSING`]
    /// for the rows `valid` marks NULL (not interned). The table is made room
    /// for the rows of this call only, so interning a long column a block at a
    /// time keeps it sized by the distinct strings seen, not by the rows.
    pub fn intern_rows(
        &mut self,
        strs: &StringVec,
        rows: std::ops::Range<usize>,
        valid: Option<&Bitmap>,
        ids: &mut Vec<u32>,
    ) {
        let rows = rows.start.min(strs.len())..rows.end.min(strs.len());
        let mut hashes = std::mem::take(&mut self.hashes);
        hashes.clear();
        hashes.extend(rows.clone().map(|r| self.hash(strs.get(r))));
        // No growth below: the slot addresses prefetched stay valid.
        self.reserve(rows.len());
        self.intern_hashed_rows(strs, rows, valid, &hashes, ids);
        self.hashes = hashes;
    }

    /// [`Self::intern_rows`] with the rows' hashes given (`hashes[k]` of row
    /// `rows.start + k`, by this interner's hasher), the table made room for
    /// them already.
    fn intern_hashed_rows(
        &mut self,
        strs: &StringVec,
        rows: std::ops::Range<usize>,
        valid: Option<&Bitmap>,
        hashes: &[u64],
        ids: &mut Vec<u32>,
    ) {
        let is_valid = |r: usize| valid.is_none_or(|b| b.get(r));
        let mask = self.slots.len() - 1;
        ids.reserve(rows.len());
        for (k, r) in rows.enumerate() {
            if let Some(&h) = hashes.get(k + PREFETCH_ROWS) {
                prefetch(&self.slots[h as usize & mask]);
            }
            if let Some(&h) = hashes.get(k + PREFETCH_ROWS / 2) {
                let slot = self.slots[h as usize & mask];
                if slot.id != MISSING && slot.tag == (h >> 32) as u32 {
                    prefetch(
                        self.strings
                            .bytes()
                            .as_ptr()
                            .wrapping_add(slot.offset as usize),
                    );
                }
            }
            ids.push(if is_valid(r) {
                self.intern_hashed(strs.get(r), hashes[k])
            } else {
                MISSING
            });
        }
    }

    /// An empty interner that hashes with `hasher`, so that a caller holding a
    /// clone of it can pass hashes to [`Self::intern_all_hashed`].
    pub fn with_hasher(hasher: hashbrown::DefaultHashBuilder) -> StrInterner {
        StrInterner {
            hasher,
            ..StrInterner::default()
        }
    }

    /// The ids of every string of `strs` (hashed `hashes` by this interner's
    /// hasher) into `ids`. The table is made room for them all: a caller that
    /// interns many strings most of which are known calls it in pieces.
    pub fn intern_all_hashed(&mut self, strs: &StringVec, hashes: &[u64], ids: &mut Vec<u32>) {
        /// Strings made room for at a time: the table grows with the strings
        /// that are new, not by all of them.
        const PIECE: usize = 1024;
        ids.clear();
        let n = strs.len().min(hashes.len());
        debug_assert!((0..n).all(|i| self.hash(strs.get(i)) == hashes[i]));
        for start in (0..n).step_by(PIECE) {
            let rows = start..n.min(start + PIECE);
            self.reserve(rows.len());
            self.intern_hashed_rows(strs, rows.clone(), None, &hashes[rows], ids);
        }
    }

    /// The ids in this interner of every string of `other`, in `other`'s id order.
    pub fn intern_strings_of(&mut self, other: &StrInterner, ids: &mut Vec<u32>) {
        self.intern_all(&other.strings, other.len(), None, ids);
    }

    /// The id of `s` (hash `h`), added if new. The table has room for it.
    #[inline]
    fn intern_hashed(&mut self, s: &str, h: u64) -> u32 {
        let mask = self.slots.len() - 1;
        let tag = (h >> 32) as u32;
        let mut i = h as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot.id == MISSING {
                let id = self.strings.len() as u32;
                let offset = self.strings.bytes().len() as u32;
                self.strings.push(s);
                self.id_hashes.push(h);
                self.slots[i] = StrSlot {
                    tag,
                    id,
                    offset,
                    len: s.len() as u32,
                };
                return id;
            }
            if slot.tag == tag && slot.len as usize == s.len() {
                let start = slot.offset as usize;
                let held = self.strings.bytes().get(start..start + s.len());
                if held.is_some_and(|h| crate::storage::same_bytes(h, s.as_bytes())) {
                    return slot.id;
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Forgets every string, keeping the memory for the next use.
    pub fn clear(&mut self) {
        self.slots.fill(FREE_SLOT);
        self.strings.clear();
        self.id_hashes.clear();
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// Makes room for `n` more strings (the table stays at most half full).
    #[inline]
    pub fn reserve(&mut self, n: usize) {
        let need = (self.strings.len() + n).saturating_mul(2).max(16);
        if need > self.slots.len() {
            self.grow(need);
        }
    }

    /// Rebuilds the table with room for `need / 2` strings.
    #[cold]
    fn grow(&mut self, need: usize) {
        let cap = need.next_power_of_two();
        self.slots.clear();
        self.slots.resize(cap, FREE_SLOT);
        let mask = cap - 1;
        for (id, s) in self.strings.iter().enumerate() {
            let h = self.id_hashes[id];
            let mut i = h as usize & mask;
            while self.slots[i].id != MISSING {
                i = (i + 1) & mask;
            }
            self.slots[i] = StrSlot {
                tag: (h >> 32) as u32,
                id: id as u32,
                offset: self.strings.offsets()[id],
                len: s.len() as u32,
            };
        }
    }

    pub fn get(&self, id: u32) -> &str {
        if (id as usize) < self.strings.len() {
            self.strings.get(id as usize)
        } else {
            ""
        }
    }

    pub fn bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<StrSlot>()
            + self.strings.heap_bytes()
            + self.id_hashes.capacity() * 8
            + self.hashes.capacity() * 8
    }
}

/// 128-bit values (IPs, double bits) to dense ids.
#[derive(Clone, Default)]
pub(crate) struct ValInterner {
    map: HashTable<u32>,
    vals: Vec<u128>,
    /// The values are INTERVALs: equal when their normalized keys are (30 days
    /// = 1 month); the first value seen stands for its group, as in DuckDB.
    intervals: bool,
}

impl ValInterner {
    fn hash(v: u128) -> u64 {
        mix64(v as u64 ^ mix64((v >> 64) as u64))
    }

    /// An interner of INTERVAL values.
    pub fn for_intervals() -> ValInterner {
        ValInterner {
            intervals: true,
            ..ValInterner::default()
        }
    }

    pub fn intern(&mut self, v: u128) -> u32 {
        let norm = |x: u128| {
            if self.intervals {
                crate::interval::Interval::key_of(x)
            } else {
                x
            }
        };
        let k = norm(v);
        let h = Self::hash(k);
        let vals = &self.vals;
        if let Some(&id) = self.map.find(h, |&id| norm(vals[id as usize]) == k) {
            return id;
        }
        let id = self.vals.len() as u32;
        self.vals.push(v);
        let vals = &self.vals;
        self.map
            .insert_unique(h, id, |&id| Self::hash(norm(vals[id as usize])));
        id
    }

    pub fn get(&self, id: u32) -> u128 {
        self.vals.get(id as usize).copied().unwrap_or(0)
    }

    /// An empty interner of the same kind.
    pub fn empty_like(&self) -> ValInterner {
        ValInterner {
            intervals: self.intervals,
            ..ValInterner::default()
        }
    }

    pub fn len(&self) -> usize {
        self.vals.len()
    }

    /// Forgets every value, keeping the memory for the next use.
    pub fn clear(&mut self) {
        self.map.clear();
        self.vals.clear();
    }

    pub fn bytes(&self) -> usize {
        hash_table_bytes(self.map.capacity(), 4) + self.vals.capacity() * 16
    }
}

/// Calls `f` with each of the first `len` positions whose bit is 0 in `b`.
#[inline]
fn for_each_unset(b: &Bitmap, len: usize, mut f: impl FnMut(usize)) {
    for (wi, &word) in b.words().iter().enumerate() {
        let mut zeros = !word;
        while zeros != 0 {
            let r = wi * 64 + zeros.trailing_zeros() as usize;
            if r >= len {
                return;
            }
            f(r);
            zeros &= zeros - 1;
        }
    }
}

/// Bits of a double with -0.0 folded into 0.0 and one NaN (DuckDB groups them so).
#[inline]
pub(crate) fn norm_f64(x: f64) -> u64 {
    if x.is_nan() {
        f64::NAN.to_bits()
    } else if x == 0.0 {
        0
    } else {
        x.to_bits()
    }
}

/// Interned ids of one dictionary's codes, filled on first use, or all at once
/// when the rows looked up reach the dictionary's size (see
/// [`DictCache::note_rows`]).
#[derive(Clone, Default)]
pub(crate) struct DictCache {
    dict: Option<Arc<StringVec>>,
    ids: Vec<u32>,
    /// Rows looked up through this dictionary so far.
    rows: usize,
    /// Every entry of `ids` is filled.
    complete: bool,
}

impl DictCache {
    /// Whether the cache is for `dict`.
    #[inline]
    fn is_for(&self, dict: &Arc<StringVec>) -> bool {
        self.dict.as_ref().is_some_and(|d| Arc::ptr_eq(d, dict))
    }

    /// Points the cache at `dict` with the ids of all its codes given.
    fn preset(&mut self, dict: &Arc<StringVec>, ids: Vec<u32>) {
        self.dict = Some(dict.clone());
        self.ids = ids;
        self.rows = 0;
        self.complete = true;
    }

    /// Points the cache at `dict` (cleared when it is a different dictionary).
    #[inline]
    pub fn reset_for(&mut self, dict: &Arc<StringVec>) {
        if self.is_for(dict) {
            return;
        }
        self.dict = Some(dict.clone());
        self.ids.clear();
        self.ids.resize(dict.len(), MISSING);
        self.rows = 0;
        self.complete = false;
    }

    /// Notes `n` more rows to look up. Once the rows reach the dictionary's size,
    /// most of its entries are likely needed: all of them are translated, in
    /// dictionary order, and [`DictCache::complete_ids`] serves the rest without a
    /// check per row. A selective filter keeps the translation lazy.
    pub fn note_rows(&mut self, n: usize, strs: &mut StrInterner) {
        if self.complete {
            return;
        }
        self.rows += n;
        if self.rows < self.ids.len() {
            return;
        }
        if let Some(d) = &self.dict {
            // Interning is idempotent: entries translated already get their ids
            // again. All at once, so that table slots are prefetched ahead.
            strs.intern_all(d, d.len(), None, &mut self.ids);
        }
        self.complete = true;
    }

    /// The ids of every code, once all are translated.
    #[inline]
    pub fn complete_ids(&self) -> Option<&[u32]> {
        self.complete.then_some(self.ids.as_slice())
    }

    /// The id of code `c` of the current dictionary.
    #[inline]
    pub fn id(&mut self, c: u32, strs: &mut StrInterner) -> u32 {
        let Some(slot) = self.ids.get_mut(c as usize) else {
            // A code past the dictionary (never written by logdb): the empty
            // string, as `Vector::str_at` reads it.
            return strs.intern("");
        };
        if *slot == MISSING {
            let s = self.dict.as_ref().map_or("", |d| d.get(c as usize));
            *slot = strs.intern(s);
        }
        *slot
    }

    pub fn bytes(&self) -> usize {
        self.ids.capacity() * 4
    }
}

/// Which (group, dictionary code) pairs a distinct aggregate has seen in the
/// current segment: a flat bitmap, so that a repeated value costs a bit test
/// instead of a hash-set insert.
#[derive(Clone, Default)]
pub(crate) struct DictSeen {
    dict: Option<Arc<StringVec>>,
    bits: Vec<u64>,
}

impl DictSeen {
    /// Most bits kept (2 MiB).
    pub const MAX_BITS: usize = 1 << 24;

    /// Ready for `groups` groups over `dict` (cleared for a new dictionary).
    pub fn reset_for(&mut self, dict: &Arc<StringVec>, groups: usize) {
        if !self.dict.as_ref().is_some_and(|d| Arc::ptr_eq(d, dict)) {
            self.dict = Some(dict.clone());
            self.bits.clear();
        }
        let need = (groups * dict.len()).div_ceil(64);
        if self.bits.len() < need {
            self.bits.resize(need, 0);
        }
    }

    /// Marks bit `i`; whether it was already set.
    #[inline]
    pub fn test_and_set(&mut self, i: usize) -> bool {
        let (w, b) = (i / 64, 1u64 << (i % 64));
        let was = self.bits[w] & b != 0;
        self.bits[w] |= b;
        was
    }

    pub fn bytes(&self) -> usize {
        self.bits.capacity() * 8
    }
}

/// Which values one distinct set or key column interns.
#[derive(Clone, Default)]
pub struct ValueCoder {
    pub(crate) strs: StrInterner,
    pub(crate) vals: ValInterner,
    pub(crate) cache: DictCache,
    pub(crate) seen: DictSeen,
    /// The merged dictionaries of this key's column over the unit being
    /// aggregated, when given ([`ValueCoder::use_unit`]): a string's id is its
    /// rank there, and `strs` holds only the strings it lacks, numbered after it.
    unit: Option<Arc<UnitDict>>,
}

impl ValueCoder {
    /// Numbers strings by `unit`'s merged dictionaries (before any string is
    /// coded).
    pub(crate) fn use_unit(&mut self, unit: Arc<UnitDict>) {
        debug_assert!(self.strs.len() == 0);
        self.unit = Some(unit);
        self.cache = DictCache::default();
    }

    /// The id of string `s`, added if new.
    #[inline]
    pub(crate) fn str_id(&mut self, s: &str) -> u32 {
        match &self.unit {
            None => self.strs.intern(s),
            Some(u) => match u.find(s) {
                Some(id) => id,
                None => u.len() as u32 + self.strs.intern(s),
            },
        }
    }

    /// The string of id `id` ("" for an id never given).
    #[inline]
    pub(crate) fn str_get(&self, id: u32) -> &str {
        match &self.unit {
            None => self.strs.get(id),
            Some(u) if (id as usize) < u.len() => u.get(id),
            Some(u) => self.strs.get(id - u.len() as u32),
        }
    }

    /// Strings numbered so far (ids are `0..str_count`).
    pub(crate) fn str_count(&self) -> usize {
        self.unit.as_ref().map_or(0, |u| u.len()) + self.strs.len()
    }

    /// Points the dictionary cache at `dict`; under a unit's merged
    /// dictionaries, with the ids of all its codes (the merge's, or each entry
    /// looked up when the merge lacks this dictionary).
    #[inline]
    fn dict_ids_for(&mut self, dict: &Arc<StringVec>) {
        if self.cache.is_for(dict) {
            return;
        }
        let Some(unit) = self.unit.clone() else {
            self.cache.reset_for(dict);
            return;
        };
        let ids = match unit.ids_of(dict) {
            Some(ids) => ids.to_vec(),
            None => dict.iter().map(|s| self.str_id(s)).collect(),
        };
        self.cache.preset(dict, ids);
    }

    /// The id of code `c` of `dict` (a code past it reads as "").
    #[inline]
    fn dict_id(&mut self, dict: &Arc<StringVec>, c: u32) -> u32 {
        self.dict_ids_for(dict);
        if self.unit.is_none() {
            return self.cache.id(c, &mut self.strs);
        }
        match self.cache.ids.get(c as usize) {
            Some(&id) => id,
            None => self.str_id(""),
        }
    }

    /// The code of valid row `i` of `v` (type `t`): integers and double bits as
    /// they are, booleans 0/1, strings and IPs as interned ids.
    #[inline]
    pub fn code(&mut self, v: &Vector, i: usize, t: PhysicalType) -> u64 {
        match &v.data {
            VData::Int(x) => x[i] as u64,
            VData::Float(x) => norm_f64(x[i]),
            VData::Bool(x) => x[i] as u64,
            VData::Ip(x) => self.vals.intern(x[i]) as u64,
            VData::Dict { codes, dict } => self.dict_id(dict, codes[i]) as u64,
            VData::Str(s) => self.str_id(s.get(i)) as u64,
            VData::List(l) => self.str_id(&crate::list::key(&l.get(i))) as u64,
            VData::Const(c) => self.const_code(c, t),
        }
    }

    pub fn const_code(&mut self, c: &Value, t: PhysicalType) -> u64 {
        match c {
            Value::Int(x) if t == PhysicalType::Float64 => norm_f64(*x as f64),
            Value::Int(x) => *x as u64,
            Value::Float(x) => norm_f64(*x),
            Value::Bool(b) => *b as u64,
            Value::Ip(x) => self.vals.intern(*x) as u64,
            Value::Str(s) => self.str_id(s) as u64,
            Value::List(l) => self.str_id(&crate::list::key(l)) as u64,
            Value::Null => 0,
        }
    }

    /// The value of a code.
    pub fn value(&self, code: u64, t: PhysicalType) -> Value {
        match t {
            PhysicalType::Int64 => Value::Int(code as i64),
            PhysicalType::Float64 => Value::Float(f64::from_bits(code)),
            PhysicalType::Bool => Value::Bool(code != 0),
            PhysicalType::Ip => Value::Ip(self.vals.get(code as u32)),
            PhysicalType::Utf8 => Value::Str(self.str_get(code as u32).into()),
            PhysicalType::List(_) => {
                crate::list::from_key(self.str_get(code as u32)).unwrap_or(Value::Null)
            }
        }
    }

    /// Translates a code of `other` (same type) into this coder's code.
    pub fn translate(&mut self, other: &ValueCoder, code: u64, t: PhysicalType) -> u64 {
        match t {
            PhysicalType::Utf8 | PhysicalType::List(_) => {
                self.str_id(other.str_get(code as u32)) as u64
            }
            PhysicalType::Ip => self.vals.intern(other.vals.get(code as u32)) as u64,
            _ => code,
        }
    }

    pub fn bytes(&self) -> usize {
        self.strs.bytes()
            + self.vals.bytes()
            + self.cache.bytes()
            + self.seen.bytes()
            + self.unit.as_ref().map_or(0, |u| u.bytes())
    }

    /// Forgets every value, keeping the interners' memory for the next use.
    pub fn clear(&mut self) {
        self.strs.clear();
        self.vals.clear();
        self.unit = None;
        self.cache = DictCache::default();
        self.seen = DictSeen::default();
    }
}

impl std::fmt::Debug for ValueCoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueCoder")
            .field("strings", &self.strs.strings.len())
            .field("values", &self.vals.vals.len())
            .finish()
    }
}

/// How one key column becomes a code.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyCode {
    /// Integers known to be `min + k * step` in `[min, max]` (time buckets have a
    /// step): 0 = NULL, else `(v - min) / step + 1`.
    Range { min: i64, max: i64, step: i64 },
    /// Any 64-bit integer: its bits in a 64-bit field and NULL in a 1-bit field.
    Raw,
    /// 0 = NULL, 1 = false, 2 = true.
    Bool,
    /// Strings, doubles, IPs: interned id + 1 (0 = NULL), at most `bound` ids.
    Interned { bound: u64, intervals: bool },
}

/// What the planner knows about one key column's values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyHint {
    /// Integers in `[min, max]`.
    Range(i64, i64),
    /// Integers `min + k * step` in `[min, max]`.
    Stepped(i64, i64, i64),
    /// At most this many distinct non-NULL values (strings, IPs, doubles).
    Distinct(u64),
    Unknown,
}

#[derive(Clone, Copy, Debug)]
struct Field {
    word: usize,
    shift: u32,
    bits: u32,
}

impl Field {
    #[inline]
    fn get(&self, key: &[u64]) -> u64 {
        let w = key[self.word] >> self.shift;
        if self.bits == 64 {
            w
        } else {
            w & ((1u64 << self.bits) - 1)
        }
    }
}

fn bits_for(max_code: u64) -> u32 {
    (64 - max_code.leading_zeros()).max(1)
}

/// How the codes of a group key are packed into words.
#[derive(Clone, Debug)]
pub struct KeyLayout {
    types: Vec<DataType>,
    codes: Vec<KeyCode>,
    /// Per key column: its code field and, for `Raw`, its NULL bit.
    fields: Vec<(Field, Option<Field>)>,
    words: usize,
    /// A small key field (at most [`MAX_PARTITION_BITS`]) whose value picks one
    /// of several hash tables for one-word keys.
    partition: Option<Field>,
}

/// Widest key field used to partition a group hash table.
const MAX_PARTITION_BITS: u32 = 6;

impl KeyLayout {
    /// The layout without the bounds of interned codes: layouts of one shape
    /// pack keys into the same fields, so their group tables merge (the bounds
    /// only sized the fields).
    pub fn shape(&self) -> String {
        let mut l = self.clone();
        for c in &mut l.codes {
            if let KeyCode::Interned { bound, .. } = c {
                *bound = 0;
            }
        }
        format!("{l:?}")
    }

    /// The layout for key columns of `types` with what is known of their values.
    pub fn new(types: &[DataType], hints: &[KeyHint]) -> KeyLayout {
        let mut codes = Vec::with_capacity(types.len());
        for (i, t) in types.iter().enumerate() {
            let hint = hints.get(i).copied().unwrap_or(KeyHint::Unknown);
            codes.push(match (t.physical(), hint) {
                (PhysicalType::Int64, KeyHint::Range(lo, hi))
                    if lo <= hi && (hi as i128 - lo as i128) < (1i128 << 62) =>
                {
                    KeyCode::Range {
                        min: lo,
                        max: hi,
                        step: 1,
                    }
                }
                (PhysicalType::Int64, KeyHint::Stepped(lo, hi, step))
                    if lo <= hi && step > 0 && (hi as i128 - lo as i128) < (1i128 << 62) =>
                {
                    KeyCode::Range {
                        min: lo,
                        max: hi,
                        step,
                    }
                }
                (PhysicalType::Int64, _) => KeyCode::Raw,
                (PhysicalType::Bool, _) => KeyCode::Bool,
                (_, KeyHint::Distinct(n)) => KeyCode::Interned {
                    bound: n.min(u32::MAX as u64),
                    intervals: *t == DataType::Interval,
                },
                _ => KeyCode::Interned {
                    bound: u32::MAX as u64,
                    intervals: *t == DataType::Interval,
                },
            });
        }
        // Field widths: per key its code and, for `Raw`, a NULL bit.
        let widths: Vec<(u32, Option<u32>)> = codes
            .iter()
            .map(|c| match *c {
                KeyCode::Range { min, max, step } => {
                    (bits_for(((max - min) / step) as u64 + 1), None)
                }
                KeyCode::Raw => (64, Some(1)),
                KeyCode::Bool => (2, None),
                KeyCode::Interned { bound, .. } => (bits_for(bound + 1), None),
            })
            .collect();
        // First fit, widest first: fields never straddle words.
        let mut order: Vec<(u32, usize, bool)> = Vec::new();
        for (k, (w, nw)) in widths.iter().enumerate() {
            order.push((*w, k, false));
            if let Some(nw) = nw {
                order.push((*nw, k, true));
            }
        }
        order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut used: Vec<u32> = Vec::new();
        let empty = Field {
            word: 0,
            shift: 0,
            bits: 1,
        };
        let mut fields: Vec<(Field, Option<Field>)> = vec![(empty, None); codes.len()];
        for (bits, k, is_null) in order {
            let word = match used.iter().position(|u| u + bits <= 64) {
                Some(w) => w,
                None => {
                    used.push(0);
                    used.len() - 1
                }
            };
            let f = Field {
                word,
                shift: used[word],
                bits,
            };
            used[word] += bits;
            if is_null {
                fields[k].1 = Some(f);
            } else {
                fields[k].0 = f;
            }
        }
        let words = used.len();
        KeyLayout {
            types: types.to_vec(),
            codes,
            fields,
            words,
            partition: None,
        }
    }

    /// Partitions the group hash table by key `k` (a range-coded key of at most
    /// 64 values, such as `hour(ts)`), for one-word keys. Rows are time-sorted, so
    /// while a block's rows all fall in one hour their probes stay in that hour's
    /// table, which is small enough to stay in cache, instead of spreading over
    /// the whole unit's groups.
    pub fn partition_by(&mut self, k: usize) {
        if let (Some((f, None)), Some(KeyCode::Range { .. }), 1) =
            (self.fields.get(k), self.codes.get(k), self.words)
        {
            if f.bits <= MAX_PARTITION_BITS {
                self.partition = Some(*f);
            }
        }
    }

    pub fn types(&self) -> &[DataType] {
        &self.types
    }

    /// Words per packed key.
    pub fn words(&self) -> usize {
        self.words
    }
}

/// Per-segment information for the dense path: for integer keys, the
/// `(min, max, step)` of the values in this segment (`None`: unknown).
pub type SegmentDomains = Vec<Option<(i64, i64, i64)>>;

/// The groups of one aggregation: packed keys, their ids, and the interners.
#[derive(Clone)]
pub struct GroupMap {
    layout: KeyLayout,
    /// Packed keys, `layout.words` per group.
    keys: Vec<u64>,
    len: usize,
    /// Groups by key when a key is one word (key stored inline): one table, or
    /// one per value of the layout's partition field.
    one: Vec<WordTable>,
    /// Groups by key when keys are wider (compared in `keys`).
    many: HashTable<u32>,
    /// Groups by key when the key is one interned column: its codes (id + 1,
    /// 0 for NULL) are dense, so an array replaces the hash table.
    direct: Option<Vec<u32>>,
    /// Interners of `Interned` key columns.
    coders: Vec<ValueCoder>,
    /// Scratch: packed keys and per-column codes of a block.
    packed: Vec<u64>,
    /// Scratch: interned ids of a block's strings.
    ids: Vec<u32>,
    /// The dense path of the current segment.
    domains: SegmentDomains,
    dense: Dense,
}

#[derive(Clone, Default)]
enum Dense {
    /// Not decided yet for this segment (decided at its first block).
    #[default]
    Undecided,
    Off,
    On {
        /// Per key: (kind, number of slots, stride).
        keys: Vec<(DenseKey, u64, u64)>,
        slots: Vec<u32>,
        idx: Vec<u32>,
    },
}

#[derive(Clone, Copy, Debug)]
enum DenseKey {
    /// Dictionary code + 1 (0 = NULL).
    Code,
    /// `(v - min) / step + 1` (0 = NULL).
    Int { min: i64, step: i64 },
    /// 0 NULL, 1 false, 2 true.
    Bool,
    /// One value for the whole segment's block (a constant).
    Const,
}

impl GroupMap {
    pub fn new(layout: KeyLayout) -> GroupMap {
        let direct = (layout.words == 1
            && layout.partition.is_none()
            && matches!(layout.codes.as_slice(), [KeyCode::Interned { .. }]))
        .then(Vec::new);
        let coders = (layout.codes.iter())
            .map(|c| match c {
                KeyCode::Interned {
                    intervals: true, ..
                } => ValueCoder {
                    vals: ValInterner::for_intervals(),
                    ..ValueCoder::default()
                },
                _ => ValueCoder::default(),
            })
            .collect();
        let tables = layout.partition.map_or(1, |f| 1usize << f.bits);
        GroupMap {
            layout,
            keys: Vec::new(),
            len: 0,
            one: (0..tables).map(|_| WordTable::default()).collect(),
            many: HashTable::new(),
            direct,
            coders,
            packed: Vec::new(),
            ids: Vec::new(),
            domains: Vec::new(),
            dense: Dense::Undecided,
        }
    }

    pub fn layout(&self) -> &KeyLayout {
        &self.layout
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Approximate bytes held.
    pub fn bytes(&self) -> usize {
        let dense = match &self.dense {
            Dense::On { slots, idx, .. } => slots.capacity() * 4 + idx.capacity() * 4,
            _ => 0,
        };
        self.keys.capacity() * 8
            + self.one.iter().map(WordTable::bytes).sum::<usize>()
            + hash_table_bytes(self.many.capacity(), 4)
            + self.direct.as_ref().map_or(0, |d| d.capacity() * 4)
            + self.packed.capacity() * 8
            + self.ids.capacity() * 4
            + self.coders.iter().map(ValueCoder::bytes).sum::<usize>()
            + dense
    }

    /// Forgets every group, keeping the memory (tables, key arena, interners)
    /// for the next aggregation with the same layout.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.len = 0;
        self.one.iter_mut().for_each(WordTable::clear);
        self.many.clear();
        if let Some(d) = self.direct.as_mut() {
            d.clear();
        }
        self.coders.iter_mut().for_each(ValueCoder::clear);
        self.domains.clear();
        self.dense = Dense::Undecided;
    }

    /// Numbers each key `k` with `dicts[k]` by that merge of its column's
    /// dictionaries over the unit being aggregated, before any row is grouped:
    /// ids are ranks in the merge, and no string is hashed.
    pub(crate) fn use_unit_dicts(&mut self, dicts: &[Option<Arc<UnitDict>>]) {
        for (coder, d) in self.coders.iter_mut().zip(dicts) {
            if let Some(d) = d {
                coder.use_unit(d.clone());
            }
        }
    }

    /// Starts a segment: integer key domains for the dense path.
    pub fn begin_segment(&mut self, domains: SegmentDomains) {
        self.domains = domains;
        self.dense = Dense::Undecided;
    }

    /// Drops what only the segment being scanned needs (scratch buffers, the
    /// dictionary caches and the dense path), keeping the groups: for a map kept
    /// between queries.
    pub fn forget_scratch(&mut self) {
        self.begin_segment(Vec::new());
        self.packed = Vec::new();
        self.ids = Vec::new();
        for c in &mut self.coders {
            c.cache = DictCache::default();
            c.seen = DictSeen::default();
        }
    }

    /// The group of a packed key, created if new.
    #[inline]
    fn group_of(&mut self, key: &[u64]) -> u32 {
        let w = self.layout.words;
        if let (1, Some(direct)) = (w, self.direct.as_mut()) {
            return direct_group(direct, key[0], &mut self.keys, &mut self.len);
        }
        if w == 1 {
            let k = key[0];
            let h = mix64(k);
            let t = table_index(self.layout.partition, self.one.len(), k, h);
            let (keys, len) = (&mut self.keys, &mut self.len);
            return self.one[t].group_of(k, h, || {
                keys.push(k);
                *len += 1;
                (*len - 1) as u32
            });
        }
        let h = hash_words(key);
        let keys = &self.keys;
        if let Some(&g) = self
            .many
            .find(h, |&g| &keys[g as usize * w..g as usize * w + w] == key)
        {
            return g;
        }
        let g = self.len as u32;
        self.keys.extend_from_slice(key);
        self.len += 1;
        let keys = &self.keys;
        self.many.insert_unique(h, g, |&g| {
            hash_words(&keys[g as usize * w..g as usize * w + w])
        });
        g
    }

    /// The single group of an aggregate without keys.
    pub fn ensure_group(&mut self) -> u32 {
        if self.layout.words == 0 {
            if self.len == 0 {
                self.len = 1;
            }
            return 0;
        }
        let key = vec![0u64; self.layout.words];
        self.group_of(&key)
    }

    /// Group ids of the `len` rows of a block with key vectors `keys`.
    pub fn groups(&mut self, keys: &[&Vector], len: usize, gids: &mut Vec<u32>) -> Result<()> {
        gids.clear();
        if self.layout.words == 0 {
            if len > 0 {
                self.ensure_group();
            }
            gids.resize(len, 0);
            return Ok(());
        }
        if matches!(self.dense, Dense::Undecided) {
            self.dense = self.decide_dense(keys);
        }
        if matches!(self.dense, Dense::On { .. }) {
            if self.dense_groups(keys, len, gids)? {
                return Ok(());
            }
            // A value outside the segment's zone-map domain: hash this segment.
            self.dense = Dense::Off;
            gids.clear();
        }
        self.pack(keys, len)?;
        let w = self.layout.words;
        let packed = std::mem::take(&mut self.packed);
        gids.reserve(len);
        if w == 1 {
            self.one_word_groups(&packed[..len], gids);
        } else if w == 2 {
            // Two words (a raw 64-bit value and its NULL flag): compared as a
            // pair, not as slices (a call per row).
            let mut last: Option<([u64; 2], u32)> = None;
            for key in packed[..2 * len].chunks_exact(2) {
                let pair = [key[0], key[1]];
                match last {
                    Some((l, g)) if l == pair => gids.push(g),
                    _ => {
                        let g = self.group_of(key);
                        gids.push(g);
                        last = Some((pair, g));
                    }
                }
            }
        } else {
            // As for one word: a key equal to the row before's skips the probe.
            let mut last: Option<(usize, u32)> = None;
            for r in 0..len {
                let key = &packed[r * w..r * w + w];
                if let Some((l, g)) = last {
                    if packed[l * w..l * w + w] == *key {
                        gids.push(g);
                        continue;
                    }
                }
                let g = self.group_of(key);
                gids.push(g);
                last = Some((r, g));
            }
        }
        self.packed = packed;
        Ok(())
    }

    /// The groups of one-word keys, created if new: the per-row loop of the hash
    /// path, with the probe inlined (one probe per row, also for a new key).
    fn one_word_groups(&mut self, packed: &[u64], gids: &mut Vec<u32>) {
        if let Some(direct) = self.direct.as_mut() {
            for &k in packed {
                gids.push(direct_group(direct, k, &mut self.keys, &mut self.len));
            }
            return;
        }
        let part = self.layout.partition;
        let tables = self.one.len().max(1);
        let (keys, len) = (&mut self.keys, &mut self.len);
        // The group of the row before: time-ordered rows grouped by a time
        // bucket (or any key in runs) skip the probe while the key repeats.
        let mut last: Option<(u64, u32)> = None;
        for (r, &k) in packed.iter().enumerate() {
            if let Some((lk, g)) = last {
                if lk == k {
                    gids.push(g);
                    continue;
                }
            }
            // The slot of a row ahead is fetched while this one probes.
            if let Some(&ahead) = packed.get(r + PREFETCH_ROWS) {
                let h = mix64(ahead);
                self.one[table_index(part, tables, ahead, h)].prefetch(h);
            }
            let h = mix64(k);
            let g = self.one[table_index(part, tables, k, h)].group_of(k, h, || {
                keys.push(k);
                *len += 1;
                (*len - 1) as u32
            });
            gids.push(g);
            last = Some((k, g));
        }
        self.split_when_large();
    }

    /// Splits the one table of one-word keys into [`SPLIT_TABLES`] by hash once
    /// it holds [`SPLIT_AT_GROUPS`] groups (unless a partition field splits it
    /// already): [`GroupMap::absorb_on`] then merges another map's groups on
    /// several threads, each into its own tables.
    fn split_when_large(&mut self) {
        if self.len >= SPLIT_AT_GROUPS {
            self.split_tables();
        }
    }

    /// Splits the one table of one-word keys by hash (see
    /// [`GroupMap::split_when_large`]); nothing when a partition field splits
    /// it or it is split already.
    fn split_tables(&mut self) {
        if self.layout.partition.is_some() || self.one.len() != 1 {
            return;
        }
        let old = std::mem::take(&mut self.one[0]);
        let mut tables = vec![WordTable::default(); SPLIT_TABLES];
        for (k, g) in old.entries() {
            let h = mix64(k);
            tables[table_index(None, SPLIT_TABLES, k, h)].group_of(k, h, || g);
        }
        self.one = tables;
    }

    /// The groups of `keys` (one-word keys of another map, all distinct, in
    /// this map's codes) appended to `map`, created if new, on up to `threads`
    /// threads: each probes and fills its own range of the tables, numbering
    /// the groups it creates `PROVISIONAL | i`; once every thread is done, the
    /// new groups get their numbers after the existing ones, thread by thread.
    fn absorb_words_on(&mut self, keys: &[u64], map: &mut Vec<u32>, threads: usize) {
        let part = self.layout.partition;
        let tables = self.one.len();
        let threads = threads.clamp(1, tables);
        let bounds: Vec<usize> = (0..=threads).map(|c| c * tables / threads).collect();
        let owner = |t: usize| bounds.partition_point(|&b| b <= t) - 1;
        let probe = |c: usize, mine: &mut [WordTable]| -> (Vec<u32>, Vec<u64>) {
            let (lo, hi) = (bounds[c], bounds[c + 1]);
            let (mut ids, mut fresh) = (Vec::new(), Vec::new());
            for (r, &k) in keys.iter().enumerate() {
                if let Some(&ahead) = keys.get(r + PREFETCH_ROWS) {
                    let h = mix64(ahead);
                    let t = table_index(part, tables, ahead, h);
                    if (lo..hi).contains(&t) {
                        mine[t - lo].prefetch(h);
                    }
                }
                let h = mix64(k);
                let t = table_index(part, tables, k, h);
                if !(lo..hi).contains(&t) {
                    continue;
                }
                ids.push(mine[t - lo].group_of(k, h, || {
                    fresh.push(k);
                    PROVISIONAL | (fresh.len() - 1) as u32
                }));
            }
            (ids, fresh)
        };
        let mut shares: Vec<&mut [WordTable]> = Vec::with_capacity(threads);
        let mut rest: &mut [WordTable] = &mut self.one;
        for c in 0..threads {
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut(bounds[c + 1] - bounds[c]);
            shares.push(mine);
            rest = tail;
        }
        let probed: Vec<(Vec<u32>, Vec<u64>)> = std::thread::scope(|s| {
            let probe = &probe;
            let handles: Vec<_> = (shares.iter_mut().enumerate())
                .map(|(c, mine)| s.spawn(move || probe(c, mine)))
                .collect();
            (handles.into_iter())
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        let mut bases = Vec::with_capacity(threads);
        for (_, fresh) in &probed {
            bases.push(self.len as u32);
            self.keys.extend_from_slice(fresh);
            self.len += fresh.len();
        }
        std::thread::scope(|s| {
            for (mine, &base) in shares.into_iter().zip(&bases) {
                s.spawn(move || {
                    mine.iter_mut()
                        .for_each(|t| t.renumber_tagged(PROVISIONAL, base))
                });
            }
        });
        let mut next = vec![0usize; threads];
        map.reserve(keys.len());
        for &k in keys {
            let c = owner(table_index(part, tables, k, mix64(k)));
            let g = probed[c].0[next[c]];
            next[c] += 1;
            map.push(if g & PROVISIONAL != 0 {
                bases[c] + (g & !PROVISIONAL)
            } else {
                g
            });
        }
    }

    fn decide_dense(&self, keys: &[&Vector]) -> Dense {
        let mut out = Vec::with_capacity(keys.len());
        let mut total: u64 = 1;
        for (i, k) in keys.iter().enumerate() {
            let (kind, n) = match &k.data {
                VData::Dict { dict, .. } => (DenseKey::Code, dict.len() as u64 + 1),
                VData::Bool(_) => (DenseKey::Bool, 3),
                // An integer constant may be a time key evaluated once for a block
                // (it differs between blocks): coded over its domain.
                VData::Const(c) if !matches!(c, Value::Int(_)) => (DenseKey::Const, 1),
                VData::Int(_) | VData::Const(_) => match self.domains.get(i).copied().flatten() {
                    Some((min, max, step)) if min <= max && step > 0 => {
                        let n = (max as i128 - min as i128) / step as i128 + 2;
                        if n > DENSE_MAX_SLOTS as i128 {
                            return Dense::Off;
                        }
                        (DenseKey::Int { min, step }, n as u64)
                    }
                    _ => return Dense::Off,
                },
                _ => return Dense::Off,
            };
            total = total.saturating_mul(n);
            if total > DENSE_MAX_SLOTS {
                return Dense::Off;
            }
            out.push((kind, n, 0));
        }
        let mut stride = 1;
        for k in &mut out {
            k.2 = stride;
            stride *= k.1;
        }
        Dense::On {
            keys: out,
            slots: vec![MISSING; total as usize],
            idx: Vec::new(),
        }
    }

    /// The dense path; false if a value falls outside its domain.
    fn dense_groups(&mut self, keys: &[&Vector], len: usize, gids: &mut Vec<u32>) -> Result<bool> {
        let mut dense = std::mem::take(&mut self.dense);
        let r = self.dense_groups_in(&mut dense, keys, len, gids);
        self.dense = dense;
        r
    }

    fn dense_groups_in(
        &mut self,
        dense: &mut Dense,
        keys: &[&Vector],
        len: usize,
        gids: &mut Vec<u32>,
    ) -> Result<bool> {
        let Dense::On {
            keys: dk,
            slots,
            idx,
        } = dense
        else {
            return Ok(false);
        };
        idx.clear();
        idx.resize(len, 0);
        for (k, &(kind, n, stride)) in keys.iter().zip(dk.iter()) {
            let stride = stride as u32;
            let valid = |i: usize| k.validity.as_ref().is_none_or(|b| b.get(i));
            match (&k.data, kind) {
                (VData::Const(Value::Null), DenseKey::Int { .. }) => {}
                (VData::Const(Value::Int(v)), DenseKey::Int { min, step }) => {
                    let d = (*v as i128) - min as i128;
                    if d < 0 || d % step as i128 != 0 || d / step as i128 + 1 >= n as i128 {
                        return Ok(false);
                    }
                    let code = (d / step as i128) as u32 + 1;
                    idx.iter_mut().for_each(|o| *o += code * stride);
                }
                (VData::Const(c), DenseKey::Const) if !matches!(c, Value::Int(_)) => {}
                (VData::Dict { codes, .. }, DenseKey::Code) => {
                    let n = n as u32;
                    for (i, (o, &c)) in idx.iter_mut().zip(codes.iter()).enumerate() {
                        let code = if valid(i) { c.wrapping_add(1) } else { 0 };
                        if code >= n {
                            return Ok(false);
                        }
                        *o += code * stride;
                    }
                }
                (VData::Bool(x), DenseKey::Bool) => {
                    for (i, (o, &b)) in idx.iter_mut().zip(x.iter()).enumerate() {
                        let code = if valid(i) { 1 + b as u32 } else { 0 };
                        *o += code * stride;
                    }
                }
                (VData::Int(x), DenseKey::Int { min, step }) => {
                    // Values are `min + k * step` (time buckets): divide exactly by
                    // a shift and a multiply with the inverse of step's odd part,
                    // and check the product.
                    let step = step as u64;
                    let shift = step.trailing_zeros();
                    let inv = odd_inverse(step >> shift);
                    let all_valid = k.validity.is_none();
                    for (i, (o, &v)) in idx.iter_mut().zip(x.iter()).enumerate() {
                        let code = if all_valid || valid(i) {
                            let d = v.wrapping_sub(min) as u64;
                            let q = (d >> shift).wrapping_mul(inv);
                            if q.wrapping_mul(step) != d || q + 1 >= n {
                                return Ok(false);
                            }
                            q as u32 + 1
                        } else {
                            0
                        };
                        *o += code * stride;
                    }
                }
                _ => return Ok(false),
            }
        }
        gids.reserve(len);
        let mut key = vec![0u64; self.layout.words];
        for (r, &s) in idx.iter().enumerate() {
            let mut g = slots[s as usize];
            if g == MISSING {
                key.iter_mut().for_each(|w| *w = 0);
                for (k, v) in keys.iter().enumerate() {
                    self.pack_one(k, v, r, &mut key)?;
                }
                g = self.group_of(&key);
                slots[s as usize] = g;
            }
            gids.push(g);
        }
        Ok(true)
    }

    /// ORs the code of row `r` of key column `k` into `key`.
    fn pack_one(&mut self, k: usize, v: &Vector, r: usize, key: &mut [u64]) -> Result<()> {
        let (f, null_f) = self.layout.fields[k];
        let code = self.layout.codes[k];
        let t = self.layout.types[k].physical();
        if !v.is_valid(r) {
            if let Some(nf) = null_f {
                key[nf.word] |= 1 << nf.shift;
            }
            return Ok(());
        }
        let c = match code {
            KeyCode::Range { min, max, step } => {
                let x = match &v.data {
                    VData::Int(x) => x[r],
                    VData::Const(Value::Int(x)) => *x,
                    _ => return Err(key_type_error()),
                };
                if x < min || x > max || (x - min) % step != 0 {
                    return Err(out_of_range());
                }
                ((x - min) / step) as u64 + 1
            }
            KeyCode::Raw => match &v.data {
                VData::Int(x) => x[r] as u64,
                VData::Const(Value::Int(x)) => *x as u64,
                _ => return Err(key_type_error()),
            },
            KeyCode::Bool => match &v.data {
                VData::Bool(x) => 1 + x[r] as u64,
                VData::Const(Value::Bool(x)) => 1 + *x as u64,
                _ => return Err(key_type_error()),
            },
            KeyCode::Interned { .. } => {
                let coder = &mut self.coders[k];
                let raw = coder.code(v, r, t);
                match t {
                    // Doubles are interned by their bits.
                    PhysicalType::Float64 => coder.vals.intern(raw as u128) as u64 + 1,
                    _ => raw + 1,
                }
            }
        };
        key[f.word] |= c << f.shift;
        Ok(())
    }

    /// Packs the keys of all rows into `self.packed`.
    fn pack(&mut self, keys: &[&Vector], len: usize) -> Result<()> {
        let w = self.layout.words;
        // Constant keys (literals, time keys of a block within one bucket) are
        // coded once: every row's key starts from them.
        let mut base = vec![0u64; w];
        for (k, v) in keys.iter().enumerate() {
            if matches!(v.data, VData::Const(_)) {
                self.pack_one(k, v, 0, &mut base)?;
            }
        }
        let mut packed = std::mem::take(&mut self.packed);
        packed.clear();
        if w == 1 || base.iter().all(|&x| x == 0) {
            packed.resize(len * w, base[0]);
        } else {
            (0..len).for_each(|_| packed.extend_from_slice(&base));
        }
        for (k, v) in keys.iter().enumerate() {
            let (f, _) = self.layout.fields[k];
            let fast = match (&v.data, self.layout.codes[k]) {
                (VData::Const(_), _) => true,
                (VData::Int(x), KeyCode::Range { min, max, step: 1 }) => {
                    let valid = v.validity.as_ref();
                    for (r, &x) in x.iter().enumerate().take(len) {
                        if valid.is_some_and(|b| !b.get(r)) {
                            continue;
                        }
                        if x < min || x > max {
                            self.packed = packed;
                            return Err(out_of_range());
                        }
                        packed[r * w + f.word] |= ((x - min) as u64 + 1) << f.shift;
                    }
                    true
                }
                (VData::Int(x), KeyCode::Range { min, max, step }) => {
                    // Exact division by step: a shift and a multiply with the
                    // inverse of its odd part; a value off the grid gives a
                    // quotient past the range.
                    let (step, span) = (step as u64, (max - min) as u64);
                    let shift = step.trailing_zeros();
                    let inv = odd_inverse(step >> shift);
                    let qmax = span / step;
                    let valid = v.validity.as_ref();
                    for (r, &x) in x.iter().enumerate().take(len) {
                        if valid.is_some_and(|b| !b.get(r)) {
                            continue;
                        }
                        let d = x.wrapping_sub(min) as u64;
                        let q = (d >> shift).wrapping_mul(inv);
                        if x < min || d & ((1 << shift) - 1) != 0 || q > qmax {
                            self.packed = packed;
                            return Err(out_of_range());
                        }
                        packed[r * w + f.word] |= (q + 1) << f.shift;
                    }
                    true
                }
                (VData::Int(x), KeyCode::Raw) => {
                    // As `pack_one`: the value's bits, or the NULL flag.
                    let (_, null_f) = self.layout.fields[k];
                    let valid = v.validity.as_ref();
                    for (r, &x) in x.iter().enumerate().take(len) {
                        if valid.is_some_and(|b| !b.get(r)) {
                            if let Some(nf) = null_f {
                                packed[r * w + nf.word] |= 1 << nf.shift;
                            }
                            continue;
                        }
                        packed[r * w + f.word] |= (x as u64) << f.shift;
                    }
                    true
                }
                (VData::Str(strs), KeyCode::Interned { .. }) => {
                    let mut ids = std::mem::take(&mut self.ids);
                    let coder = &mut self.coders[k];
                    if coder.unit.is_some() {
                        let valid = v.validity.as_ref();
                        ids.clear();
                        ids.extend((0..len.min(strs.len())).map(|r| match valid {
                            Some(b) if !b.get(r) => MISSING,
                            _ => coder.str_id(strs.get(r)),
                        }));
                    } else {
                        coder
                            .strs
                            .intern_all(strs, len, v.validity.as_ref(), &mut ids);
                    }
                    for (r, &id) in ids.iter().enumerate() {
                        if id != MISSING {
                            packed[r * w + f.word] |= (id as u64 + 1) << f.shift;
                        }
                    }
                    self.ids = ids;
                    true
                }
                (VData::Dict { codes, dict }, KeyCode::Interned { .. }) => {
                    let coder = &mut self.coders[k];
                    coder.dict_ids_for(dict);
                    coder.cache.note_rows(len, &mut coder.strs);
                    let valid = v.validity.as_ref();
                    let codes = &codes[..len.min(codes.len())];
                    if let Some(ids) = coder.cache.complete_ids() {
                        // Every code translated: no check per row. NULL rows get
                        // their code's id too and are cleared afterwards; codes
                        // past the dictionary (never written) take the slow path.
                        let mut past_end = false;
                        for (r, &c) in codes.iter().enumerate() {
                            match ids.get(c as usize) {
                                Some(&id) => packed[r * w + f.word] |= (id as u64 + 1) << f.shift,
                                None => past_end = true,
                            }
                        }
                        if past_end {
                            let n = ids.len();
                            let id = coder.str_id("") as u64;
                            for (r, &c) in codes.iter().enumerate() {
                                if c as usize >= n {
                                    packed[r * w + f.word] |= (id + 1) << f.shift;
                                }
                            }
                        }
                        if let Some(b) = valid {
                            let mask = !(((1u64 << f.bits) - 1) << f.shift);
                            for_each_unset(b, codes.len(), |r| packed[r * w + f.word] &= mask);
                        }
                    } else {
                        for (r, &c) in codes.iter().enumerate() {
                            if valid.is_some_and(|b| !b.get(r)) {
                                continue;
                            }
                            let id = coder.cache.id(c, &mut coder.strs) as u64;
                            packed[r * w + f.word] |= (id + 1) << f.shift;
                        }
                    }
                    true
                }
                _ => false,
            };
            if !fast {
                let mut key = vec![0u64; w];
                for r in 0..len {
                    key.iter_mut().for_each(|x| *x = 0);
                    if let Err(e) = self.pack_one(k, v, r, &mut key) {
                        self.packed = packed;
                        return Err(e);
                    }
                    for (o, x) in packed[r * w..r * w + w].iter_mut().zip(&key) {
                        *o |= x;
                    }
                }
            }
        }
        self.packed = packed;
        Ok(())
    }

    /// The key values of group `g` (for merging and output).
    pub fn key_values(&self, g: usize, out: &mut Vec<Value>) {
        out.clear();
        let w = self.layout.words;
        let key = &self.keys[g * w..g * w + w];
        for (k, (f, nf)) in self.layout.fields.iter().enumerate() {
            let c = f.get(key);
            let t = self.layout.types[k].physical();
            out.push(match self.layout.codes[k] {
                KeyCode::Range { min, step, .. } => {
                    if c == 0 {
                        Value::Null
                    } else {
                        Value::Int(min + (c - 1) as i64 * step)
                    }
                }
                KeyCode::Raw => {
                    if nf.is_some_and(|nf| nf.get(key) == 1) {
                        Value::Null
                    } else {
                        Value::Int(c as i64)
                    }
                }
                KeyCode::Bool => match c {
                    0 => Value::Null,
                    c => Value::Bool(c == 2),
                },
                KeyCode::Interned { .. } => {
                    if c == 0 {
                        Value::Null
                    } else {
                        let coder = &self.coders[k];
                        match t {
                            PhysicalType::Float64 => {
                                Value::Float(f64::from_bits(coder.vals.get((c - 1) as u32) as u64))
                            }
                            _ => coder.value(c - 1, t),
                        }
                    }
                }
            });
        }
    }

    /// The key columns of all groups, in group order.
    pub fn key_columns(&self) -> Vec<Column> {
        self.key_columns_of(None, &[], &mut |_| Ok(()))
            .unwrap_or_default()
    }

    /// The key columns of groups `sel`, in that order (`None`: all groups).
    /// A key marked in `unread` (no operator above reads it) becomes a column
    /// of zero values instead (see [`ColumnData::zeroed`]). `reserve` is told
    /// each column's size before it is allocated (and may refuse it).
    pub fn key_columns_of(
        &self,
        sel: Option<&[u32]>,
        unread: &[bool],
        reserve: &mut dyn FnMut(usize) -> Result<()>,
    ) -> Result<Vec<Column>> {
        let w = self.layout.words;
        let n = sel.map_or(self.len, <[u32]>::len);
        let group = |i: usize| sel.map_or(i, |s| s[i] as usize);
        let mut out = Vec::with_capacity(self.layout.fields.len());
        for (k, (f, nf)) in self.layout.fields.iter().enumerate() {
            let t = self.layout.types[k].physical();
            if unread.get(k).copied().unwrap_or(false) {
                if let Some(zeros) = ColumnData::zeroed(t, n) {
                    out.push(Column::new(zeros));
                    continue;
                }
            }
            let coder = &self.coders[k];
            // Columns are allocated at their final size: strings are measured
            // first (a NULL or the code of no string reads as "").
            let mut data = match t {
                PhysicalType::Utf8 => {
                    let text: usize = (0..n)
                        .map(|i| {
                            let g = group(i);
                            let c = f.get(&self.keys[g * w..g * w + w]);
                            coder.str_get(c.wrapping_sub(1) as u32).len()
                        })
                        .sum();
                    reserve((n + 1) * 4 + text + n / 8)?;
                    ColumnData::Utf8(StringVec::with_capacity(n, text))
                }
                _ => {
                    reserve(n * t.width() + n / 8)?;
                    ColumnData::with_capacity(t, n)
                }
            };
            let mut valid = Bitmap::new(0, true);
            let mut any_null = false;
            for i in 0..n {
                let g = group(i);
                let key = &self.keys[g * w..g * w + w];
                let c = f.get(key);
                let is_null = match self.layout.codes[k] {
                    KeyCode::Raw => nf.is_some_and(|nf| nf.get(key) == 1),
                    _ => c == 0,
                };
                valid.push(!is_null);
                any_null |= is_null;
                if is_null {
                    data.push_default();
                    continue;
                }
                match (&mut data, self.layout.codes[k]) {
                    (ColumnData::Int64(v), KeyCode::Range { min, step, .. }) => {
                        v.push(min.wrapping_add(((c - 1) as i64).wrapping_mul(step)))
                    }
                    (ColumnData::Int64(v), _) => v.push(c as i64),
                    (ColumnData::Bool(v), _) => v.push(c == 2),
                    (ColumnData::Utf8(v), _) => v.push(coder.str_get((c - 1) as u32)),
                    (ColumnData::List(v), _) => {
                        match crate::list::from_key(coder.str_get((c - 1) as u32)) {
                            Some(Value::List(items)) => v.push(&items),
                            _ => v.push(&[]),
                        }
                    }
                    (ColumnData::Ip(v), _) => v.push(coder.vals.get((c - 1) as u32)),
                    (ColumnData::Float64(v), _) => {
                        v.push(f64::from_bits(coder.vals.get((c - 1) as u32) as u64))
                    }
                }
            }
            let mut col = Column::new(data);
            if any_null {
                col.validity = Some(valid);
            }
            out.push(col);
        }
        Ok(out)
    }

    /// Merges `other`'s groups (same layout) into this map; returns the new id of
    /// each of its groups.
    pub fn absorb(&mut self, other: &GroupMap) -> Result<Vec<u32>> {
        self.absorb_on(other, 1)
    }

    /// [`GroupMap::absorb`] on up to `threads` threads: a map of one-word keys
    /// absorbs many groups on several (see [`GroupMap::absorb_words_on`]).
    pub fn absorb_on(&mut self, other: &GroupMap, threads: usize) -> Result<Vec<u32>> {
        let w = self.layout.words;
        if w == 0 {
            return Ok(vec![self.ensure_group(); other.len]);
        }
        // Each interned value of `other` is translated once, not once per group;
        // `None`: the key's codes stay as they are.
        let mut translate: Vec<Option<Vec<u32>>> = Vec::with_capacity(self.layout.codes.len());
        for (k, code) in self.layout.codes.iter().enumerate() {
            let (mine, theirs) = (&mut self.coders[k], &other.coders[k]);
            let same_ids = match (&mine.unit, &theirs.unit) {
                // One merge numbers both and `other` has no string outside it.
                (Some(a), Some(b)) => a.same(b) && theirs.strs.len() == 0,
                _ => false,
            };
            if !matches!(code, KeyCode::Interned { .. }) || same_ids {
                translate.push(None);
                continue;
            }
            translate.push(Some(match self.layout.types[k].physical() {
                PhysicalType::Utf8 => match (&mine.unit, &theirs.unit) {
                    (None, None) => {
                        let mut ids = Vec::new();
                        mine.strs.intern_strings_of(&theirs.strs, &mut ids);
                        ids
                    }
                    // One merge numbers both: its ids stand, the strings
                    // outside it are interned.
                    (Some(a), Some(b)) if a.same(b) => {
                        let n = a.len() as u32;
                        let mut ids: Vec<u32> = (0..n).collect();
                        ids.extend(
                            (0..theirs.strs.len() as u32)
                                .map(|id| n + mine.strs.intern(theirs.strs.get(id))),
                        );
                        ids
                    }
                    _ => (0..theirs.str_count() as u32)
                        .map(|id| mine.str_id(theirs.str_get(id)))
                        .collect(),
                },
                _ => (0..theirs.vals.len() as u32)
                    .map(|id| mine.vals.intern(theirs.vals.get(id)))
                    .collect(),
            }));
        }
        let mut map = Vec::with_capacity(other.len);
        let mut key = vec![0u64; w];
        // One-word keys are translated first, then found with slots prefetched.
        let mut translated = Vec::with_capacity(if w == 1 { other.len } else { 0 });
        for g in 0..other.len {
            key.copy_from_slice(&other.keys[g * w..g * w + w]);
            for (k, tr) in translate.iter().enumerate() {
                let Some(tr) = tr else {
                    continue;
                };
                let (f, _) = self.layout.fields[k];
                let c = f.get(&key);
                if c == 0 {
                    continue;
                }
                let id = tr.get((c - 1) as usize).copied().ok_or_else(|| {
                    Error::Internal("a group key refers to a value never interned".into())
                })? as u64;
                let mask = if f.bits == 64 {
                    u64::MAX
                } else {
                    ((1u64 << f.bits) - 1) << f.shift
                };
                key[f.word] = (key[f.word] & !mask) | ((id + 1) << f.shift);
            }
            if w == 1 {
                translated.push(key[0]);
            } else {
                map.push(self.group_of(&key));
            }
        }
        if w == 1 {
            let parallel = threads > 1
                && self.direct.is_none()
                && translated.len() >= PARALLEL_ABSORB_GROUPS
                && self.len + translated.len() < PROVISIONAL as usize;
            if parallel {
                self.split_tables();
                self.absorb_words_on(&translated, &mut map, threads);
            } else {
                self.one_word_groups(&translated, &mut map);
            }
        }
        Ok(map)
    }
}

/// Which of a map's `tables` one-word tables holds key `k` (hash `h`): the
/// value of the layout's partition field, or, with the table split by hash
/// (see [`GroupMap::split_when_large`]), the hash's top bits.
#[inline(always)]
fn table_index(part: Option<Field>, tables: usize, k: u64, h: u64) -> usize {
    match part {
        // A partition field of b bits has 2^b tables.
        Some(f) => ((k >> f.shift) & ((1 << f.bits) - 1)) as usize % tables,
        None if tables > 1 => (h >> (64 - SPLIT_BITS)) as usize,
        None => 0,
    }
}

/// A map of one-word keys without a partition field splits its table into
/// `2^SPLIT_BITS` by hash ...
const SPLIT_BITS: u32 = 6;
const SPLIT_TABLES: usize = 1 << SPLIT_BITS;
/// ... once it holds this many groups.
const SPLIT_AT_GROUPS: usize = 1 << 16;
/// From this many groups on, [`GroupMap::absorb_on`] uses its threads.
const PARALLEL_ABSORB_GROUPS: usize = 1 << 16;
/// The bit of a group number given before the final number was known (see
/// [`GroupMap::absorb_words_on`]); real group numbers stay below it.
const PROVISIONAL: u32 = 1 << 31;

/// The group of one-word key `k` in a direct map (see [`GroupMap::direct`]),
/// created if new.
#[inline]
fn direct_group(direct: &mut Vec<u32>, k: u64, keys: &mut Vec<u64>, len: &mut usize) -> u32 {
    let i = k as usize;
    if let Some(&g) = direct.get(i) {
        if g != MISSING {
            return g;
        }
    } else {
        direct.resize((i + 1).max(direct.len() * 2), MISSING);
    }
    let g = *len as u32;
    direct[i] = g;
    keys.push(k);
    *len += 1;
    g
}

/// The inverse of odd `x` modulo 2^64 (Newton's iteration doubles the correct
/// bits each step: 3, 6, 12, 24, 48, 96).
fn odd_inverse(x: u64) -> u64 {
    let mut inv = x;
    for _ in 0..5 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(x.wrapping_mul(inv)));
    }
    inv
}

fn out_of_range() -> Error {
    Error::Internal("a group key lies outside the range its zone maps promise".into())
}

fn key_type_error() -> Error {
    Error::Internal("a group key vector does not match its type".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: &[i64]) -> Vector {
        Vector::new(VData::Int(v.to_vec()), None)
    }

    #[test]
    fn layout_packs_small_codes_into_one_word() {
        let l = KeyLayout::new(
            &[DataType::Timestamp, DataType::Varchar, DataType::SmallInt],
            &[
                KeyHint::Range(0, 1000),
                KeyHint::Distinct(5000),
                KeyHint::Unknown,
            ],
        );
        assert_eq!(l.words(), 2, "a raw integer needs 65 bits");
        let l = KeyLayout::new(
            &[DataType::Timestamp, DataType::Varchar, DataType::Boolean],
            &[
                KeyHint::Range(0, 1000),
                KeyHint::Distinct(5000),
                KeyHint::Unknown,
            ],
        );
        assert_eq!(l.words(), 1);
    }

    #[test]
    fn the_interner_gives_each_string_one_id_through_growth_and_blocks() {
        let mut strs = StrInterner::default();
        let mut block = StringVec::new();
        for i in 0..5000 {
            block.push(&format!("s{}", i % 1700));
        }
        let nulls = Bitmap::from_words(vec![u64::MAX - 1; 5000usize.div_ceil(64)], 5000);
        let mut ids = Vec::new();
        strs.intern_all(&block, 5000, Some(&nulls), &mut ids);
        assert_eq!(ids.len(), 5000);
        for (r, &id) in ids.iter().enumerate() {
            if r % 64 == 0 {
                assert_eq!(id, MISSING, "row {r} is NULL");
            } else {
                assert_eq!(strs.get(id), format!("s{}", r % 1700));
                assert_eq!(strs.intern(&format!("s{}", r % 1700)), id);
            }
        }
        assert_eq!(strs.len(), 1700);
        assert_eq!(strs.intern(""), 1700);
        assert_eq!(strs.intern("s0"), ids[1700]);
        strs.clear();
        assert_eq!(strs.len(), 0);
        assert_eq!(strs.intern("b"), 0);
        assert_eq!(strs.intern("a"), 1);
        assert_eq!(strs.intern("b"), 0);
    }

    #[test]
    fn one_string_key_finds_its_groups_through_the_direct_map() {
        let mut m = GroupMap::new(KeyLayout::new(&[DataType::Varchar], &[]));
        assert!(m.direct.is_some());
        let mut s = StringVec::new();
        for v in ["x", "y", "x", "", "z", "y"] {
            s.push(v);
        }
        let mut valid = Bitmap::new(6, true);
        valid.set(3, false);
        let keys = Vector::new(VData::Str(s), Some(valid));
        let mut gids = Vec::new();
        m.groups(&[&keys], 6, &mut gids).unwrap();
        assert_eq!(gids, [0, 1, 0, 2, 3, 1]);
        let mut out = Vec::new();
        m.key_values(2, &mut out);
        assert_eq!(out, [Value::Null]);
        m.key_values(3, &mut out);
        assert_eq!(out, [Value::Str("z".into())]);
    }

    #[test]
    fn exact_division_by_inverse() {
        for step in [
            1u64,
            3,
            60_000_000,
            3_600_000_000,
            86_400_000_000,
            604_800_000_000,
        ] {
            let shift = step.trailing_zeros();
            let inv = odd_inverse(step >> shift);
            for k in [0u64, 1, 2, 167, 100_000] {
                let d = k * step;
                assert_eq!((d >> shift).wrapping_mul(inv), k, "{step} * {k}");
            }
            if step > 1 {
                // A non-multiple fails the product check or lands far out of range.
                let d = 5 * step + 1;
                let q = (d >> shift).wrapping_mul(inv);
                assert!(q.wrapping_mul(step) != d || q > 1 << 40, "{step}");
            }
        }
    }

    /// Stepped range codes (time buckets) pack `(v - min) / step + 1` into few
    /// bits, read back exactly, and refuse values off the grid or the range; a
    /// table partitioned by a small key gives the same groups.
    #[test]
    fn stepped_codes_and_partitioned_tables() {
        const DAY: i64 = 86_400_000_000;
        let t0 = 19_000 * DAY;
        let days: Vec<i64> = (0..600).map(|i| t0 + (i % 7) * DAY).collect();
        let hours: Vec<i64> = (0..600).map(|i| (i * 5) % 24).collect();
        let other: Vec<i64> = (0..600).map(|i| (i * 11) % 50).collect();
        let hints = [
            KeyHint::Stepped(t0, t0 + 6 * DAY, DAY),
            KeyHint::Range(0, 23),
            KeyHint::Range(0, 49),
        ];
        let types = [DataType::Timestamp, DataType::BigInt, DataType::BigInt];
        let layout = KeyLayout::new(&types, &hints);
        assert_eq!(layout.fields[0].0.bits, 3, "seven days need 3 bits");
        let mut parted = layout.clone();
        parted.partition_by(1);
        assert!(parted.partition.is_some());
        let (kd, kh, ko) = (ints(&days), ints(&hours), ints(&other));
        let keys = [&kd, &kh, &ko];
        let mut groups = Vec::new();
        for l in [layout, parted] {
            let mut m = GroupMap::new(l);
            let mut gids = Vec::new();
            m.groups(&keys, 600, &mut gids).unwrap();
            let mut out = Vec::new();
            let mut seen = std::collections::BTreeSet::new();
            for (r, &g) in gids.iter().enumerate() {
                m.key_values(g as usize, &mut out);
                let want = vec![
                    Value::Int(days[r]),
                    Value::Int(hours[r]),
                    Value::Int(other[r]),
                ];
                assert_eq!(out, want, "row {r}");
                seen.insert(format!("{out:?}"));
            }
            assert_eq!(m.len(), seen.len());
            groups.push(seen);
        }
        assert_eq!(groups[0], groups[1]);
        // Off the grid, below, above: the zone-map promise is broken.
        let mut m = GroupMap::new(KeyLayout::new(&types[..1], &hints[..1]));
        for bad in [t0 + 1, t0 - DAY, t0 + 7 * DAY] {
            let k = ints(&[bad]);
            let mut gids = Vec::new();
            assert!(m.groups(&[&k], 1, &mut gids).is_err(), "{bad}");
        }
    }

    /// A map absorbing many groups on several threads (its table split by hash,
    /// or by a partition field) numbers them as one thread does: the groups
    /// it had keep their numbers, each absorbed group maps to the group of its
    /// key, and later rows find the groups created on the threads.
    #[test]
    fn absorbing_on_threads_numbers_groups_as_one_thread() {
        let types = [DataType::BigInt, DataType::BigInt];
        let hints = [KeyHint::Range(0, 23), KeyHint::Range(0, 1 << 20)];
        let rows = |from: i64, n: i64| -> (Vec<i64>, Vec<i64>) {
            let r: Vec<i64> = (from..from + n).collect();
            (
                r.iter().map(|i| i % 24).collect(),
                r.iter().map(|i| (i * 7) % (1 << 20)).collect(),
            )
        };
        let mut parted = KeyLayout::new(&types, &hints);
        parted.partition_by(0);
        assert!(parted.partition.is_some());
        for layout in [KeyLayout::new(&types, &hints), parted] {
            let fill = |from: i64, n: i64| {
                let mut m = GroupMap::new(layout.clone());
                let (a, b) = rows(from, n);
                let mut gids = Vec::new();
                for (a, b) in a.chunks(4096).zip(b.chunks(4096)) {
                    m.groups(&[&ints(a), &ints(b)], a.len(), &mut gids).unwrap();
                }
                m
            };
            // 100k groups, then 150k of which 50k are known.
            let (mine, theirs) = (fill(0, 100_000), fill(50_000, 150_000));
            let theirs_keys = theirs.key_columns();
            let mine_keys = mine.key_columns();
            for threads in [1, 2, 3] {
                let mut m = mine.clone();
                let map = m.absorb_on(&theirs, threads).unwrap();
                assert_eq!(m.len(), 200_000, "{threads} threads");
                let keys = m.key_columns();
                for (g, &to) in map.iter().enumerate() {
                    for (k, t) in keys.iter().zip(&theirs_keys) {
                        assert_eq!(k.value(to as usize), t.value(g), "group {g}");
                    }
                }
                for (k, was) in keys.iter().zip(&mine_keys) {
                    assert!((0..100_000).all(|g| k.value(g) == was.value(g)));
                }
                // Rows after the merge find the absorbed groups.
                let (a, b) = rows(120_000, 10);
                let mut gids = Vec::new();
                m.groups(&[&ints(&a), &ints(&b)], 10, &mut gids).unwrap();
                assert_eq!(gids, map[70_000..70_010]);
            }
        }
    }

    /// Groups numbered by a unit's merged dictionaries are the groups interning
    /// finds: two segments on two maps merged, NULLs, a code past its
    /// dictionary, plain strings outside the merge and a segment whose
    /// dictionary the merge lacks.
    #[test]
    fn unit_dictionaries_group_as_interning_does() {
        let dict = |words: &[&str]| {
            let mut s = StringVec::new();
            words.iter().for_each(|w| s.push(w));
            Arc::new(s)
        };
        let (d1, d2, d3) = (
            dict(&["a", "c", "e"]),
            dict(&["b", "c", "f"]),
            dict(&["c", "zz"]),
        );
        let unit = Arc::new(UnitDict::merge(vec![d1.clone(), d2.clone()], 1).unwrap());
        let codes = |d: &Arc<StringVec>, codes: Vec<u32>| {
            let mut valid = Bitmap::new(codes.len(), true);
            valid.set(1, false);
            Vector::new(
                VData::Dict {
                    codes,
                    dict: d.clone(),
                },
                Some(valid),
            )
        };
        let plain = {
            let mut s = StringVec::new();
            ["q", "a", "", "f"].iter().for_each(|w| s.push(w));
            Vector::new(VData::Str(s), None)
        };
        let layout = KeyLayout::new(&[DataType::Varchar], &[KeyHint::Distinct(9)]);
        let groups = |with_unit: bool| -> Vec<Option<String>> {
            let mut maps = [GroupMap::new(layout.clone()), GroupMap::new(layout.clone())];
            if with_unit {
                maps.iter_mut()
                    .for_each(|m| m.use_unit_dicts(&[Some(unit.clone())]));
            }
            let mut gids = Vec::new();
            let [a, b] = &mut maps;
            a.groups(&[&codes(&d1, vec![0, 1, 2, 2, 0])], 5, &mut gids)
                .unwrap();
            b.groups(&[&codes(&d2, vec![2, 0, 1, 7, 0])], 5, &mut gids)
                .unwrap();
            b.groups(&[&plain], 4, &mut gids).unwrap();
            b.groups(&[&codes(&d3, vec![1, 1, 0])], 3, &mut gids)
                .unwrap();
            a.absorb(b).unwrap();
            let col = &a.key_columns()[0];
            let mut out: Vec<Option<String>> = (0..col.len())
                .map(|i| match col.value(i) {
                    Value::Str(s) => Some(s.to_string()),
                    _ => None,
                })
                .collect();
            out.sort();
            out
        };
        let want: Vec<Option<String>> = [None, Some(""), Some("a"), Some("b"), Some("c")]
            .into_iter()
            .chain(["e", "f", "q", "zz"].map(Some))
            .map(|s| s.map(str::to_string))
            .collect();
        assert_eq!(groups(false), want);
        assert_eq!(groups(true), want);
    }

    /// The dense and the hash paths give the same groups as a map of values.
    #[test]
    fn dense_and_hash_paths_agree_with_a_value_map() {
        let dict = Arc::new({
            let mut s = StringVec::new();
            for x in ["a", "b", "c"] {
                s.push(x);
            }
            s
        });
        let n = 1000;
        let codes: Vec<u32> = (0..n).map(|i| (i * 7 % 3) as u32).collect();
        let nums: Vec<i64> = (0..n).map(|i| 100 + (i as i64 * 13) % 40).collect();
        let mut valid = Bitmap::new(n, true);
        for i in (0..n).step_by(17) {
            valid.set(i, false);
        }
        let kd = Vector::new(
            VData::Dict {
                codes,
                dict: dict.clone(),
            },
            Some(valid),
        );
        let ki = ints(&nums);
        let types = [DataType::Varchar, DataType::Integer];
        for (hints, domains) in [
            (
                vec![KeyHint::Distinct(3), KeyHint::Range(100, 139)],
                vec![None, Some((100, 139, 1))],
            ),
            (vec![KeyHint::Unknown, KeyHint::Unknown], vec![None, None]),
        ] {
            let mut m = GroupMap::new(KeyLayout::new(&types, &hints));
            m.begin_segment(domains);
            let mut gids = Vec::new();
            m.groups(&[&kd, &ki], n, &mut gids).unwrap();
            let mut seen: std::collections::HashMap<String, u32> = Default::default();
            let mut vals = Vec::new();
            for r in 0..n {
                let want = vec![kd.value(r, DataType::Varchar), Value::Int(nums[r])];
                let g = *seen.entry(format!("{want:?}")).or_insert(gids[r]);
                assert_eq!(g, gids[r], "row {r}");
                m.key_values(g as usize, &mut vals);
                assert_eq!(vals, want, "row {r}");
            }
            assert_eq!(m.len(), seen.len());
            let cols = m.key_columns();
            for g in 0..m.len() {
                m.key_values(g, &mut vals);
                let from_cols: Vec<Value> = cols.iter().map(|c| c.value(g)).collect();
                assert_eq!(from_cols, vals);
            }
        }
    }
}
