//! Plain string blocks and per-segment dictionaries.
//!
//! - Strings: `LENGTHS` (0) + u32 byte length + int block of the `n` byte lengths
//!   (u32), then the concatenated UTF-8 bytes (exactly the sum of the lengths).
//! - Dictionary: `SORTED` (0) + the same body as a string block; the strings must be
//!   strictly increasing in byte order, which the decoder verifies.

use std::ops::Range;

use super::int::{decode, encode_u32};
use super::{err, put_sized, DecodeResult, Reader};
use crate::column::{Bitmap, StringVec};

const LENGTHS: u8 = 0;
const SORTED: u8 = 0;

/// Encodes rows `range` of `values` as a plain string block, appending to `out`.
///
/// Panics if `range` is not within `values`.
pub fn encode_strings(values: &StringVec, range: Range<usize>, out: &mut Vec<u8>) {
    out.push(LENGTHS);
    encode_body(values, range, out);
}

fn encode_body(values: &StringVec, range: Range<usize>, out: &mut Vec<u8>) {
    let offsets = &values.offsets()[range.start..=range.end];
    let lengths: Vec<u32> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
    put_sized(out, |o| encode_u32(&lengths, o));
    out.extend_from_slice(
        &values.bytes()[offsets[0] as usize..offsets[offsets.len() - 1] as usize],
    );
}

/// Decodes `n` strings from exactly `src` into `out` (cleared first).
pub fn decode_strings(src: &[u8], n: usize, out: &mut StringVec) -> DecodeResult<()> {
    out.clear();
    let mut r = Reader::new(src);
    match r.u8("string block tag")? {
        LENGTHS => decode_body(&mut r, n, out),
        t => err(format!("unknown string scheme tag {t}")),
    }
}

fn decode_body(r: &mut Reader<'_>, n: usize, out: &mut StringVec) -> DecodeResult<()> {
    let mut lengths: Vec<u32> = Vec::new();
    decode(r.sized("string lengths")?, n, true, &mut lengths)?;
    let bytes = r.rest();
    let text = std::str::from_utf8(bytes)
        .map_err(|e| super::DecodeError(format!("strings are not UTF-8: {e}")))?;
    if out.extend_from_lengths(&lengths, text) {
        return Ok(());
    }
    let total: u64 = lengths.iter().map(|&l| u64::from(l)).sum();
    if total != bytes.len() as u64 {
        return err(format!(
            "string lengths sum to {total} bytes, the block holds {}",
            bytes.len()
        ));
    }
    if u32::try_from(out.bytes().len() as u64 + total).is_err() {
        return err("string block exceeds 4 GiB");
    }
    err("string boundary inside a UTF-8 character")
}

/// Encodes a sorted dictionary (strictly increasing strings) as one blob.
pub fn encode_dictionary(dict: &StringVec, out: &mut Vec<u8>) {
    encode_dictionary_range(dict, 0..dict.len(), out);
}

/// Encodes entries `range` of a sorted dictionary as a dictionary of their own
/// (one page of a paged dictionary).
pub fn encode_dictionary_range(dict: &StringVec, range: Range<usize>, out: &mut Vec<u8>) {
    debug_assert!((range.start + 1..range.end).all(|i| dict.get(i - 1) < dict.get(i)));
    out.push(SORTED);
    encode_body(dict, range, out);
}

/// Decodes a dictionary of `n` strings from exactly `src`, checking strict order.
pub fn decode_dictionary(src: &[u8], n: usize) -> DecodeResult<StringVec> {
    let mut dict = StringVec::new();
    decode_dictionary_into(src, n, &mut dict)?;
    Ok(dict)
}

/// [`decode_dictionary`] appended to `out` (a page of a paged dictionary after
/// the pages before it, with no copy of its own): the order is checked among the
/// new entries; `out` holds a part of them after an error.
pub fn decode_dictionary_into(src: &[u8], n: usize, out: &mut StringVec) -> DecodeResult<()> {
    let start = out.len();
    let mut r = Reader::new(src);
    match r.u8("dictionary tag")? {
        SORTED => decode_body(&mut r, n, out)?,
        t => return err(format!("unknown dictionary tag {t}")),
    }
    if let Some(i) =
        (start + 1..out.len()).find(|&i| out.get(i - 1).as_bytes() >= out.get(i).as_bytes())
    {
        return err(format!(
            "dictionary entries {} and {} are out of order",
            i - 1 - start,
            i - start
        ));
    }
    Ok(())
}

/// Hashes a string: FxHash-style multiply-rotate over eight bytes at a time, then a
/// final mix. Keys come from the data, so a pathological input can only slow the
/// build down, never change its result.
#[inline]
fn hash_str(s: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut h = s.len() as u64;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut w = [0u8; 8];
        w[..tail.len()].copy_from_slice(tail);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (h >> 32)
}

/// How many rows ahead [`build_dictionary_within`] hashes (see there).
const PREFETCH_ROWS: usize = 15;

/// An open-addressing set of strings assigning first-seen ids. Each slot holds the
/// high 32 bits of the hash and the id (0 = empty, else id + 1), so probing touches
/// the strings only on a 32-bit hash match, and growing never rehashes strings.
struct Interner<'a> {
    slots: Vec<u64>,
    hashes: Vec<u64>,
    strings: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    fn new() -> Interner<'a> {
        Interner {
            slots: vec![0; 1024],
            hashes: Vec::new(),
            strings: Vec::new(),
        }
    }

    #[inline]
    fn slot_value(h: u64, id: usize) -> u64 {
        (h >> 32) << 32 | (id as u64 + 1)
    }

    /// Prefetches, for a string of hash `h` interned `stage + 1` steps from now:
    /// at stage 2 the slot its probe starts at, at 1 the string entry that slot
    /// names, at 0 that string's bytes (the slot and the entry read by then from
    /// the cache lines fetched the steps before).
    #[inline]
    fn prefetch(&self, h: u64, stage: u8) {
        let slot = &self.slots[h as usize & (self.slots.len() - 1)];
        if stage == 2 {
            return crate::storage::prefetch(slot);
        }
        let slot = *slot;
        let id = (slot as u32).wrapping_sub(1) as usize;
        if slot >> 32 != h >> 32 || id >= self.strings.len() {
            return;
        }
        match stage {
            1 => crate::storage::prefetch(&self.strings[id]),
            _ => crate::storage::prefetch(self.strings[id].as_ptr()),
        }
    }

    #[inline]
    fn intern(&mut self, s: &'a str, h: u64) -> u32 {
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                break;
            }
            if slot >> 32 == h >> 32 {
                let id = (slot as u32 - 1) as usize;
                if crate::storage::same_bytes(self.strings[id].as_bytes(), s.as_bytes()) {
                    return id as u32;
                }
            }
            i = (i + 1) & mask;
        }
        let id = self.strings.len();
        self.slots[i] = Self::slot_value(h, id);
        self.strings.push(s);
        self.hashes.push(h);
        if self.strings.len() * 2 > self.slots.len() {
            self.grow();
        }
        id as u32
    }

    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        let mask = cap - 1;
        self.slots = vec![0; cap];
        for (id, &h) in self.hashes.iter().enumerate() {
            let mut i = h as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = Self::slot_value(h, id);
        }
    }
}

/// Builds a sorted dictionary of the distinct strings of `values` (byte order) and
/// each row's code into it. Rows whose `valid` bit is clear get code 0 and do not
/// contribute their string (rows past the end of `valid` count as present).
pub fn build_dictionary(values: &StringVec, valid: Option<&Bitmap>) -> (StringVec, Vec<u32>) {
    // No limit: never gives up.
    build_dictionary_within(values, valid, usize::MAX).unwrap_or_default()
}

/// Rows from which [`build_dictionary_within`] judges a column by its first eighth.
const EARLY_JUDGE_MIN_ROWS: usize = 8192;

/// [`build_dictionary`], or `None` as soon as more than `max_distinct` distinct
/// strings are seen (a nearly unique column is then not worth a dictionary, and
/// giving up early spares interning the rest and sorting them).
///
/// Also `None` when the first eighth of the rows (of at least
/// [`EARLY_JUDGE_MIN_ROWS`]) already holds more distinct strings than an eighth of
/// rows drawn at random from `max_distinct` equally common values would show,
/// `D (1 - e^(-m/D))` for `m` rows and `D` values: at that pace the column passes
/// `max_distinct`. Values that repeat close together (time-ordered logs) show fewer
/// distinct strings early, so such a column is built in full; one that cycles
/// through more than an eighth of its rows' worth of values is stored plain,
/// which costs bytes, never correctness.
pub fn build_dictionary_within(
    values: &StringVec,
    valid: Option<&Bitmap>,
    max_distinct: usize,
) -> Option<(StringVec, Vec<u32>)> {
    const NULL: u32 = u32::MAX;
    let n = values.len();
    let mut set = Interner::new();
    let mut codes: Vec<u32> = Vec::with_capacity(n);
    let judge_at = if n >= EARLY_JUDGE_MIN_ROWS && max_distinct < n {
        n / 8
    } else {
        usize::MAX
    };
    let is_null = |i: usize| valid.is_some_and(|v| i < v.len() && !v.get(i));
    // Bound by memory latency (a slot, a string entry and its bytes per row, at
    // random places): rows are hashed PREFETCH_ROWS ahead, and each of the three
    // is prefetched a third of that distance after the one before.
    const STEP: usize = PREFETCH_ROWS / 3;
    let mut ring = [0u64; PREFETCH_ROWS];
    let hash_at = |i: usize| match is_null(i) {
        true => 0,
        false => hash_str(values.get(i).as_bytes()),
    };
    for (i, h) in ring.iter_mut().enumerate().take(n) {
        *h = hash_at(i);
    }
    for i in 0..n {
        if i == judge_at {
            let (m, d) = (i as f64, max_distinct.max(1) as f64);
            if set.strings.len() as f64 > d * (1.0 - (-m / d).exp()) {
                return None;
            }
        }
        let h = ring[i % PREFETCH_ROWS];
        if i + PREFETCH_ROWS < n {
            ring[i % PREFETCH_ROWS] = hash_at(i + PREFETCH_ROWS);
        }
        // The ring now holds rows i + 1 ..= i + PREFETCH_ROWS.
        for stage in 0..3u8 {
            let ahead = i + STEP * (stage as usize + 1);
            if ahead < n && !is_null(ahead) {
                set.prefetch(ring[ahead % PREFETCH_ROWS], stage);
            }
        }
        if is_null(i) {
            codes.push(NULL);
        } else {
            codes.push(set.intern(values.get(i), h));
            if set.strings.len() > max_distinct {
                return None;
            }
        }
    }
    let distinct = set.strings;

    // Sort the distinct strings once and map first-seen ids to ranks.
    let mut order: Vec<u32> = (0..distinct.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| distinct[a as usize].cmp(distinct[b as usize]));
    let mut rank = vec![0u32; distinct.len()];
    let bytes: usize = distinct.iter().map(|s| s.len()).sum();
    let mut dict = StringVec::with_capacity(distinct.len(), bytes);
    for (r, &id) in order.iter().enumerate() {
        rank[id as usize] = r as u32;
        dict.push(distinct[id as usize]);
    }
    for c in &mut codes {
        *c = if *c == NULL { 0 } else { rank[*c as usize] };
    }
    Some((dict, codes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(items: &[&str]) -> StringVec {
        let mut v = StringVec::new();
        for s in items {
            v.push(s);
        }
        v
    }

    /// A block's strings decode appended to what the vector holds; lengths
    /// that end a string inside a UTF-8 character, or do not sum to the block's
    /// bytes, are refused and leave the vector as it was.
    #[test]
    fn string_blocks_decode_whole_or_not_at_all() {
        let values = sv(&["é", "", "ab", "ü€"]);
        let mut block = Vec::new();
        encode_strings(&values, 0..4, &mut block);
        let mut out = sv(&["x"]);
        decode_body(&mut Reader::new(&block[1..]), 4, &mut out).unwrap();
        assert_eq!(out, sv(&["x", "é", "", "ab", "ü€"]));
        let bad = |lengths: &[u32], text: &str| {
            let mut block = Vec::new();
            put_sized(&mut block, |o| encode_u32(lengths, o));
            block.extend_from_slice(text.as_bytes());
            let mut out = sv(&["x"]);
            let e = decode_body(&mut Reader::new(&block), lengths.len(), &mut out).unwrap_err();
            assert_eq!(out, sv(&["x"]));
            e.0
        };
        assert!(bad(&[1, 2], "éa").contains("inside a UTF-8"));
        assert!(bad(&[1, 1], "ab c").contains("sum to 2 bytes"));
    }

    #[test]
    fn dictionary_sorts_and_skips_nulls() {
        let values = sv(&["b", "a", "", "b", "c", "zz"]);
        let mut valid = Bitmap::new(6, true);
        valid.set(2, false);
        valid.set(5, false);
        let (dict, codes) = build_dictionary(&values, Some(&valid));
        assert_eq!(dict, sv(&["a", "b", "c"]));
        assert_eq!(codes, [1, 0, 0, 1, 2, 0]);
        let (dict, codes) = build_dictionary(&values, None);
        assert_eq!(dict, sv(&["", "a", "b", "c", "zz"]));
        assert_eq!(codes, [2, 1, 0, 2, 3, 4]);
    }

    #[test]
    fn dictionary_gives_up_past_the_limit() {
        let values = sv(&["b", "a", "b", "c"]);
        assert!(build_dictionary_within(&values, None, 2).is_none());
        let (dict, codes) = build_dictionary_within(&values, None, 3).unwrap();
        assert_eq!(dict, sv(&["a", "b", "c"]));
        assert_eq!(codes, [1, 0, 1, 2]);
    }

    #[test]
    fn a_nearly_unique_column_is_judged_by_its_first_eighth() {
        let n = 16_384;
        let unique: Vec<String> = (0..n).map(|i| format!("row {i}")).collect();
        let refs: Vec<&str> = unique.iter().map(String::as_str).collect();
        assert!(build_dictionary_within(&sv(&refs), None, n / 2).is_none());
        // Values drawn at random from n/4: built in full.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let quarter: Vec<String> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("v{}", x % (n as u64 / 4))
            })
            .collect();
        let refs: Vec<&str> = quarter.iter().map(String::as_str).collect();
        let (dict, codes) = build_dictionary_within(&sv(&refs), None, n / 2).unwrap();
        assert!(dict.len() > n / 5 && dict.len() <= n / 4, "{}", dict.len());
        assert_eq!(codes.len(), n);
        // 60% distinct but every value repeated right away at first: built until
        // the limit stops it.
        let clustered: Vec<String> = (0..n)
            .map(|i| {
                if i < n / 4 {
                    format!("a{}", i / 2)
                } else {
                    format!("b{i}")
                }
            })
            .collect();
        let refs: Vec<&str> = clustered.iter().map(String::as_str).collect();
        assert!(build_dictionary_within(&sv(&refs), None, n / 2).is_none());
        assert!(build_dictionary_within(&sv(&refs), None, n).is_some());
    }

    #[test]
    fn dictionary_blob_checks_order() {
        let mut out = Vec::new();
        encode_dictionary(&sv(&["a", "b"]), &mut out);
        assert_eq!(decode_dictionary(&out, 2).unwrap(), sv(&["a", "b"]));
        // The same body with swapped entries is rejected.
        let mut bad = Vec::new();
        out.clear();
        encode_strings(&sv(&["b", "a"]), 0..2, &mut bad);
        assert!(decode_dictionary(&bad, 2).is_err());
        bad.clear();
        encode_strings(&sv(&["a", "a"]), 0..2, &mut bad);
        assert!(decode_dictionary(&bad, 2).is_err());
    }

    #[test]
    fn strings_range_and_boundaries() {
        let values = sv(&["x", "héllo", "", "wörld", "y"]);
        let mut out = Vec::new();
        encode_strings(&values, 1..4, &mut out);
        let mut back = StringVec::new();
        decode_strings(&out, 3, &mut back).unwrap();
        assert_eq!(back, sv(&["héllo", "", "wörld"]));
        // Split "é" across two strings: lengths [2, 12] over "héllowörld" bytes.
        let mut forged = vec![LENGTHS];
        put_sized(&mut forged, |o| encode_u32(&[2, 10], o));
        forged.extend_from_slice("héllowörld".as_bytes());
        assert!(decode_strings(&forged, 2, &mut back).is_err());
    }
}
