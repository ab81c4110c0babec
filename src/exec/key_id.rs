//! `key_id(s)`: a number per distinct string, shared by every batch and thread
//! of one query (the optimizer's stand-in for a string column that only window
//! partition keys read; see [`crate::plan::KeyIds`]).
//!
//! A dictionary-encoded block is numbered through its dictionary: each entry is
//! interned once, when the dictionary is first seen, and rows only look their
//! code up. The few dictionaries seen last are kept, so scan threads that
//! alternate between segments do not translate one twice. Plain strings are
//! interned row by row. The table is sharded by hash, so that the scan's threads
//! number their blocks at the same time.
//!
//! Before a scan of many segments, [`prepare`] numbers every segment's
//! dictionary at once, shard by shard: one dictionary at a time, each entry
//! probes a table of millions of strings at a random place (a cache miss per
//! entry); shard by shard, the entries of all dictionaries probe one shard's
//! table while it stays in the cache.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::group::StrInterner;
use super::memory::{MemoryPool, Reservation};
use super::vector::{VData, Vector};
use crate::column::{StringVec, Value};
use crate::error::{Error, Result};
use crate::plan::{Expr, KeyIds, ScalarFunc};
use crate::storage::parallel;
use crate::storage::segment::Segment;

/// Dictionaries whose translations are kept.
const KEPT_DICTIONARIES: usize = 8;
/// The table is cut by the top bits of a string's hash into this many shards,
/// each with its own lock, so that scan threads number strings at once; a
/// string's number is its id in its shard, then the shard.
const SHARD_BITS: u32 = 6;
const SHARDS: usize = 1 << SHARD_BITS;
// A dictionary entry's shard is kept in a byte while [`prepare`] numbers.
const _: () = assert!(SHARDS <= 256);

/// The strings of one call bound for one shard: their bytes, hashes and rows.
struct Piece {
    strings: StringVec,
    hashes: Vec<u64>,
    rows: Vec<u32>,
}

/// A dictionary and the number of each of its entries (32 bits: half the
/// memory of the numbers' BIGINT, and a segment's numbers stay in the cache as
/// its blocks are looked up).
type Translated = (Arc<StringVec>, Arc<Vec<u32>>);

/// A number as 32 bits: a table of more distinct strings than that is refused.
fn narrow(number: i64) -> Result<u32> {
    u32::try_from(number).map_err(|_| {
        Error::ResourcesExhausted(format!(
            "key_id (a window's partition keys) numbers at most {} distinct strings",
            u32::MAX
        ))
    })
}

struct State {
    /// The tables' bytes, counted against the query's memory limit (`key_id` in
    /// the error), when the executor gave the pool ([`count_in`]).
    memory: Option<Mutex<Reservation>>,
    shards: Vec<Mutex<StrInterner>>,
    /// The hasher of every shard's table, and of the choice of shard: a string
    /// is hashed once.
    hasher: hashbrown::DefaultHashBuilder,
    /// The dictionaries translated last, with the number of each entry.
    dicts: Mutex<Vec<Translated>>,
    /// The dictionaries [`prepare`] numbered, by address (each held, so no
    /// other dictionary takes its address while it is here).
    prepared: Mutex<HashMap<usize, Translated>>,
    /// Where the next numbering starts among the shards (threads start apart).
    turn: AtomicUsize,
}

impl Default for State {
    fn default() -> State {
        let hasher = hashbrown::DefaultHashBuilder::default();
        State {
            memory: None,
            shards: (0..SHARDS)
                .map(|_| Mutex::new(StrInterner::with_hasher(hasher.clone())))
                .collect(),
            hasher,
            dicts: Mutex::default(),
            prepared: Mutex::default(),
            turn: AtomicUsize::new(0),
        }
    }
}

fn poisoned<T>(_: T) -> Error {
    Error::Internal("key_id: table poisoned".into())
}

impl State {
    /// The numbers of `n` strings (`None`: NULL, numbered 0). One pass in
    /// order hashes each string once and copies it to its shard's piece (so the
    /// strings are read in order, not at random); each shard is then locked
    /// once and numbers its piece.
    fn number<'a>(&self, n: usize, get: impl Fn(usize) -> Option<&'a str>) -> Result<Vec<i64>> {
        let shard_of = |h: u64| (h >> (64 - SHARD_BITS)) as usize;
        let hashes: Vec<Option<u64>> = (0..n)
            .map(|i| get(i).map(|s| self.hasher.hash_one(s.as_bytes())))
            .collect();
        let mut sizes = [(0usize, 0usize); SHARDS];
        for (i, h) in hashes.iter().enumerate() {
            if let (Some(h), Some(s)) = (h, get(i)) {
                let size = &mut sizes[shard_of(*h)];
                *size = (size.0 + 1, size.1 + s.len());
            }
        }
        let mut pieces: Vec<Piece> = (sizes.iter())
            .map(|&(rows, bytes)| Piece {
                strings: StringVec::with_capacity(rows, bytes),
                hashes: Vec::with_capacity(rows),
                rows: Vec::with_capacity(rows),
            })
            .collect();
        for (i, h) in hashes.into_iter().enumerate() {
            if let (Some(h), Some(s)) = (h, get(i)) {
                let p = &mut pieces[shard_of(h)];
                p.strings.push(s);
                p.hashes.push(h);
                p.rows.push(i as u32);
            }
        }
        let mut out = vec![0i64; n];
        let first = self.turn.fetch_add(SHARDS / 2 + 1, Ordering::Relaxed);
        let mut ids = Vec::new();
        for k in 0..SHARDS {
            let s = (first + k) % SHARDS;
            let piece = &pieces[s];
            if piece.rows.is_empty() {
                continue;
            }
            let mut table: MutexGuard<'_, StrInterner> = self.shards[s].lock().map_err(poisoned)?;
            let before = table.bytes();
            table.intern_all_hashed(&piece.strings, &piece.hashes, &mut ids);
            let grown = table.bytes().saturating_sub(before);
            drop(table);
            if let (Some(memory), true) = (&self.memory, grown > 0) {
                memory.lock().map_err(poisoned)?.grow(grown)?;
            }
            for (&i, &id) in piece.rows.iter().zip(&ids) {
                out[i as usize] = ((id as i64) << SHARD_BITS) | s as i64;
            }
        }
        Ok(out)
    }

    fn translation(&self, dict: &Arc<StringVec>) -> Result<Arc<Vec<u32>>> {
        let kept = |dicts: &[Translated]| {
            let found = dicts.iter().find(|(d, _)| Arc::ptr_eq(d, dict));
            found.map(|(_, ids)| ids.clone())
        };
        let address = Arc::as_ptr(dict) as usize;
        if let Some((_, ids)) = self.prepared.lock().map_err(poisoned)?.get(&address) {
            return Ok(ids.clone());
        }
        if let Some(ids) = kept(&self.dicts.lock().map_err(poisoned)?) {
            return Ok(ids);
        }
        // Not under the list's lock: two threads may translate one dictionary
        // at once, and both get the same numbers.
        let numbers = self.number(dict.len(), |i| Some(dict.get(i)))?;
        let ids = Arc::new(
            numbers
                .into_iter()
                .map(narrow)
                .collect::<Result<Vec<u32>>>()?,
        );
        let mut dicts = self.dicts.lock().map_err(poisoned)?;
        if kept(&dicts).is_none() {
            if dicts.len() == KEPT_DICTIONARIES {
                dicts.remove(0);
            }
            dicts.push((dict.clone(), ids.clone()));
        }
        Ok(ids)
    }
}

impl State {
    /// Numbers every entry of `dicts`, shard by shard, and keeps each dictionary's numbers for [`State::translation`].
    /// The numbers are those [`State::number`] gives: the same table, the
    /// same hashes. `spare` counts the work's own memory, given back at the end.
    fn number_dictionaries(
        &self,
        dicts: &[Arc<StringVec>],
        threads: usize,
        spare: &mut Reservation,
    ) -> Result<()> {
        let shard_of = |h: u64| (h >> (64 - SHARD_BITS)) as usize;
        // Each dictionary's entries split by shard (their strings copied, in
        // order), and the shard of every entry (to put the numbers back in
        // order). A shard hashes its strings again as it interns them: that
        // costs less than keeping every hash meanwhile.
        let splits = parallel::map((0..dicts.len()).collect(), threads, |j: usize| {
            let d = &dicts[j];
            let shards: Vec<u8> = (d.iter())
                .map(|s| shard_of(self.hasher.hash_one(s.as_bytes())) as u8)
                .collect();
            let mut sizes = [(0usize, 0usize); SHARDS];
            for (i, &s) in shards.iter().enumerate() {
                let size = &mut sizes[s as usize];
                *size = (size.0 + 1, size.1 + d.get(i).len());
            }
            let mut pieces: Vec<StringVec> = (sizes.iter())
                .map(|&(rows, bytes)| StringVec::with_capacity(rows, bytes))
                .collect();
            for (i, &s) in shards.iter().enumerate() {
                pieces[s as usize].push(d.get(i));
            }
            Ok((pieces, shards))
        })?;
        // Shard by shard, every dictionary's piece numbered.
        let mut by_shard: Vec<Vec<(usize, StringVec)>> = (0..SHARDS).map(|_| Vec::new()).collect();
        let mut shards_of = Vec::with_capacity(dicts.len());
        for (j, (pieces, shards)) in splits.into_iter().enumerate() {
            for (s, piece) in pieces.into_iter().enumerate() {
                if !piece.is_empty() {
                    by_shard[s].push((j, piece));
                }
            }
            shards_of.push(shards);
        }
        let numbered = parallel::map(
            by_shard.into_iter().enumerate().collect(),
            threads,
            |(s, pieces): (usize, Vec<(usize, StringVec)>)| {
                let mut table = self.shards[s].lock().map_err(poisoned)?;
                let before = table.bytes();
                let mut out = Vec::with_capacity(pieces.len());
                let mut ids = Vec::new();
                for (j, piece) in pieces {
                    table.intern_all(&piece, piece.len(), None, &mut ids);
                    // The numbers, with the shard in their low bits.
                    let numbers = (ids.iter())
                        .map(|&id| narrow(((id as i64) << SHARD_BITS) | s as i64))
                        .collect::<Result<Vec<u32>>>()?;
                    out.push((j, numbers));
                }
                let grown = table.bytes().saturating_sub(before);
                drop(table);
                if let (Some(memory), true) = (&self.memory, grown > 0) {
                    memory.lock().map_err(poisoned)?.grow(grown)?;
                }
                Ok(out)
            },
        )?;
        // Back in each dictionary's order.
        let mut per_dict: Vec<Vec<Vec<u32>>> = (0..dicts.len())
            .map(|_| (0..SHARDS).map(|_| Vec::new()).collect())
            .collect();
        for (s, pieces) in numbered.into_iter().enumerate() {
            for (j, ids) in pieces {
                per_dict[j][s] = ids;
            }
        }
        let jobs: Vec<_> = per_dict.into_iter().zip(shards_of).enumerate().collect();
        let translated = parallel::map(jobs, threads, |(j, (ids, shards))| {
            let mut counts = [0usize; SHARDS];
            shards.iter().for_each(|&s| counts[s as usize] += 1);
            if (0..SHARDS).any(|s| ids[s].len() != counts[s]) {
                return Err(Error::Internal("key_id: a shard numbered too few".into()));
            }
            let mut next = [0usize; SHARDS];
            let numbers: Vec<u32> = (shards.iter())
                .map(|&s| {
                    let at = &mut next[s as usize];
                    *at += 1;
                    ids[s as usize][*at - 1]
                })
                .collect();
            Ok((j, numbers))
        })?;
        spare.free();
        let kept: usize = translated.iter().map(|(_, n)| n.len() * 4).sum();
        if let Some(memory) = &self.memory {
            memory.lock().map_err(poisoned)?.grow(kept)?;
        }
        let mut prepared = self.prepared.lock().map_err(poisoned)?;
        for (j, numbers) in translated {
            let d = &dicts[j];
            prepared.insert(Arc::as_ptr(d) as usize, (d.clone(), Arc::new(numbers)));
        }
        Ok(())
    }
}

/// Numbers up front the dictionaries of the columns `key_id` reads in
/// `segments` (the scan's; `columns` maps the scan's column positions to
/// the table's), when the scan reads them whole: every segment's dictionary
/// of such a column, numbered shard by shard ([`State::number_dictionaries`]).
/// Not done when the scan has index predicates (it may read few rows of few
/// segments), for one segment, or when the work's memory does not fit the
/// limit (the blocks are then numbered dictionary by dictionary as they come).
/// Returns the dictionaries and entries numbered.
pub(super) fn prepare(
    exprs: &[(Expr, String)],
    segments: &[Arc<Segment>],
    columns: &[usize],
    indexed_scan: bool,
    threads: usize,
    pool: &Arc<MemoryPool>,
) -> Result<(u64, u64)> {
    let mut done = (0, 0);
    if indexed_scan || segments.len() < 2 {
        return Ok(done);
    }
    let mut wanted: Vec<(KeyIds, usize)> = Vec::new();
    for (e, _) in exprs {
        e.visit(&mut |x| {
            if let Expr::Func {
                func: ScalarFunc::KeyId(keys),
                args,
                ..
            } = x
            {
                if let [Expr::Column { index, .. }] = args.as_slice() {
                    if let Some(&c) = columns.get(*index) {
                        wanted.push((keys.clone(), c));
                    }
                }
            }
        });
    }
    for (keys, c) in wanted {
        let Some(state) = keys.state(State::default) else {
            continue;
        };
        if !state.prepared.lock().map_err(poisoned)?.is_empty() {
            continue;
        }
        let dicts = parallel::map(segments.to_vec(), threads, |seg: Arc<Segment>| {
            match seg.meta().columns.len() > c {
                true => seg.dictionary(c),
                false => Ok(None),
            }
        })?;
        let dicts: Vec<Arc<StringVec>> = dicts.into_iter().flatten().collect();
        let entries: usize = dicts.iter().map(|d| d.len()).sum();
        // A copy of the strings, a shard and an id each while numbering;
        // the numbers kept.
        let copied: usize = dicts.iter().map(|d| d.heap_bytes()).sum();
        let mut spare = pool.reservation("key_id");
        if dicts.len() < 2 || spare.resize(copied + entries * (1 + 4 + 8)).is_err() {
            continue;
        }
        state.number_dictionaries(&dicts, threads, &mut spare)?;
        done = (done.0 + dicts.len() as u64, done.1 + entries as u64);
    }
    Ok(done)
}

/// Frees the tables of every `key_id` of `exprs`, once the scan that numbers
/// with them is done: its rows hold the numbers, and nothing numbers with
/// them again (a `key_id` is made for one scan below one window; a later run
/// of the plan numbers its own rows anew). The window above then runs
/// without them in memory.
pub(super) fn release(exprs: &[(Expr, String)]) -> Result<()> {
    let mut states = Vec::new();
    for (e, _) in exprs {
        e.visit(&mut |x| {
            if let Expr::Func {
                func: ScalarFunc::KeyId(keys),
                ..
            } = x
            {
                states.push(keys.clone());
            }
        });
    }
    for keys in states {
        let Some(state) = keys.0.get().and_then(|b| b.downcast_ref::<State>()) else {
            continue;
        };
        for shard in &state.shards {
            *shard.lock().map_err(poisoned)? = StrInterner::with_hasher(state.hasher.clone());
        }
        state.dicts.lock().map_err(poisoned)?.clear();
        state.prepared.lock().map_err(poisoned)?.clear();
        if let Some(memory) = &state.memory {
            memory.lock().map_err(poisoned)?.free();
        }
    }
    Ok(())
}

/// Makes every `key_id` table of `exprs` count its bytes in `pool` (before the
/// first value is numbered; a table already in use keeps its way).
pub(super) fn count_in(exprs: &[(Expr, String)], pool: &Arc<MemoryPool>) {
    for (e, _) in exprs {
        e.visit(&mut |x| {
            if let Expr::Func {
                func: ScalarFunc::KeyId(keys),
                ..
            } = x
            {
                keys.state(|| State {
                    memory: Some(Mutex::new(pool.reservation("key_id"))),
                    ..State::default()
                });
            }
        });
    }
}

/// The numbers of the first `len` values of `a` (VARCHAR) in the table of `keys`.
pub(super) fn eval(keys: &KeyIds, a: &Vector, len: usize) -> Result<Vector> {
    let state = keys
        .state(State::default)
        .ok_or_else(|| Error::Internal("key_id: a table of another kind".into()))?;
    let out: Vec<i64> = match &a.data {
        VData::Dict { codes, dict } => {
            let ids = state.translation(dict)?;
            let codes = &codes[..len.min(codes.len())];
            if codes.iter().all(|&c| (c as usize) < ids.len()) {
                let out = codes.iter().map(|&c| ids[c as usize] as i64).collect();
                return Ok(Vector::new(VData::Int(out), a.validity.clone()));
            }
            let mut out = Vec::with_capacity(len);
            let mut past_end = None;
            for &c in codes.iter().take(len) {
                let id = match ids.get(c as usize) {
                    Some(&id) => id as i64,
                    // A code past the dictionary reads as '' (as `Vector::str_at`).
                    None => match past_end {
                        Some(id) => id,
                        None => *past_end.insert(state.number(1, |_| Some(""))?[0]),
                    },
                };
                out.push(id);
            }
            out
        }
        VData::Str(s) => {
            let valid = |i: usize| a.validity.as_ref().is_none_or(|v| v.get(i));
            state.number(len.min(s.len()), |i| valid(i).then(|| s.get(i)))?
        }
        VData::Const(Value::Str(s)) => {
            let id = state.number(1, |_| Some(s))?[0];
            return Ok(Vector::constant(Value::Int(id)));
        }
        VData::Const(Value::Null) => return Ok(Vector::constant(Value::Null)),
        _ => {
            return Err(Error::Internal(
                "key_id of a value that is not VARCHAR".into(),
            ))
        }
    };
    Ok(Vector::new(VData::Int(out), a.validity.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::Bitmap;

    fn strings(items: &[&str]) -> StringVec {
        let mut v = StringVec::new();
        for s in items {
            v.push(s);
        }
        v
    }

    fn ints(v: &Vector) -> Vec<Option<i64>> {
        let VData::Int(x) = &v.data else {
            panic!("{v:?}")
        };
        (0..x.len())
            .map(|i| v.is_valid(i).then_some(x[i]))
            .collect()
    }

    /// Plain strings, dictionaries (one seen again after others), constants and
    /// NULLs: equal strings get equal numbers, different ones different numbers.
    #[test]
    fn one_number_per_string_across_encodings() {
        let keys = KeyIds::default();
        let mut valid = Bitmap::new(4, true);
        valid.set(1, false);
        let plain = Vector::new(VData::Str(strings(&["b", "x", "a", "b"])), Some(valid));
        let p = ints(&eval(&keys, &plain, 4).unwrap());
        assert_eq!(p[1], None);
        assert_eq!(p[0], p[3]);
        assert_ne!(p[0], p[2]);
        let dict = Arc::new(strings(&["a", "b", "c"]));
        let coded = |codes: Vec<u32>| VData::Dict {
            codes,
            dict: dict.clone(),
        };
        // Code 7 is past the dictionary: it reads as ''.
        let d = ints(&eval(&keys, &Vector::new(coded(vec![2, 0, 1, 7]), None), 4).unwrap());
        assert_eq!((d[1], d[2]), (p[2], p[0]));
        let c = d[0];
        assert!(c != p[0] && c != p[2] && c != d[3]);
        for i in 0..KEPT_DICTIONARIES + 1 {
            let other = Arc::new(strings(&[&format!("k{i}")]));
            let v = Vector::new(
                VData::Dict {
                    codes: vec![0],
                    dict: other,
                },
                None,
            );
            eval(&keys, &v, 1).unwrap();
        }
        let again = ints(&eval(&keys, &Vector::new(coded(vec![2]), None), 1).unwrap());
        assert_eq!(again[0], c);
        let k = eval(&keys, &Vector::constant(Value::Str("a".into())), 3).unwrap();
        assert!(matches!(k.data, VData::Const(Value::Int(n)) if Some(n) == p[2]));
        // Another table numbers on its own.
        assert_ne!(keys, KeyIds::default());
        assert_eq!(keys, keys.clone());
    }

    /// Dictionaries numbered up front, shard by shard, get the numbers the
    /// table gives the same strings as plain strings and in dictionaries it
    /// meets later; `release` empties the table and gives its memory back.
    #[test]
    fn a_dictionary_translation_holds_32_bit_numbers_or_refuses() {
        assert_eq!(narrow(u32::MAX as i64).unwrap(), u32::MAX);
        let e = narrow(u32::MAX as i64 + 1).unwrap_err();
        assert!(matches!(e, Error::ResourcesExhausted(_)), "{e}");
    }

    #[test]
    fn dictionaries_numbered_up_front_agree_with_numbering_as_they_come() {
        let words: Vec<String> = (0..3000)
            .map(|i| format!("user-{}", i * 7 % 2000))
            .collect();
        let dict = |range: std::ops::Range<usize>| {
            let mut w: Vec<&str> = words[range].iter().map(|s| s.as_str()).collect();
            w.sort();
            w.dedup();
            Arc::new(strings(&w))
        };
        let dicts = vec![dict(0..1200), dict(800..2400), dict(2000..3000)];
        let keys = KeyIds::default();
        let pool = MemoryPool::new(1 << 30);
        let exprs = vec![(
            Expr::Func {
                func: ScalarFunc::KeyId(keys.clone()),
                args: vec![],
                data_type: crate::schema::DataType::BigInt,
            },
            "k".to_string(),
        )];
        count_in(&exprs, &pool);
        let state = keys.state(State::default).unwrap();
        let mut spare = pool.reservation("key_id");
        spare.resize(1 << 20).unwrap();
        state.number_dictionaries(&dicts, 2, &mut spare).unwrap();
        assert_eq!(state.prepared.lock().unwrap().len(), 3);
        let mut seen: HashMap<String, i64> = HashMap::new();
        let mut check = |text: &str, n: i64| {
            let first = *seen.entry(text.to_string()).or_insert(n);
            assert_eq!(first, n, "{text}");
        };
        // Every entry of a dictionary, looked up as a block's codes.
        let mut check_dict = |d: &Arc<StringVec>| {
            let codes: Vec<u32> = (0..d.len() as u32).collect();
            let v = Vector::new(
                VData::Dict {
                    codes,
                    dict: d.clone(),
                },
                None,
            );
            let numbers = ints(&eval(&keys, &v, d.len()).unwrap());
            for (i, n) in numbers.into_iter().enumerate() {
                check(d.get(i), n.unwrap());
            }
        };
        dicts.iter().for_each(&mut check_dict);
        // A dictionary met later and plain strings: the same table.
        check_dict(&dict(500..2900));
        let plain: Vec<&str> = words.iter().map(|s| s.as_str()).collect();
        let v = Vector::new(VData::Str(strings(&plain)), None);
        for (w, n) in plain
            .iter()
            .zip(ints(&eval(&keys, &v, plain.len()).unwrap()))
        {
            check(w, n.unwrap());
        }
        // One number per string.
        let distinct: std::collections::HashSet<i64> = seen.values().copied().collect();
        assert_eq!((seen.len(), distinct.len()), (2000, 2000));

        assert!(pool.used() > 0);
        drop(spare);
        release(&exprs).unwrap();
        assert_eq!(pool.used(), 0);
        assert!(state.prepared.lock().unwrap().is_empty());
        assert!(state.shards.iter().all(|s| s.lock().unwrap().len() == 0));
    }
}

#[cfg(test)]
mod memory_tests {
    use super::*;
    use crate::schema::DataType;

    /// The tables count against the query's memory limit: numbering more
    /// distinct strings than it allows fails with the limit's error.
    #[test]
    fn the_tables_count_against_the_memory_limit() {
        let keys = KeyIds::default();
        let column = Expr::Column {
            index: 0,
            name: "uid".into(),
            data_type: DataType::Varchar,
        };
        let exprs = vec![(
            Expr::Func {
                func: ScalarFunc::KeyId(keys.clone()),
                args: vec![column],
                data_type: DataType::BigInt,
            },
            "uid".to_string(),
        )];
        count_in(&exprs, &MemoryPool::new(1 << 20));
        let mut many = StringVec::new();
        for i in 0..200_000 {
            many.push(&format!("user-{i}"));
        }
        let err = eval(&keys, &Vector::new(VData::Str(many), None), 200_000).unwrap_err();
        assert!(err.to_string().contains("key_id"), "{err}");
        // Few strings fit.
        let keys = KeyIds::default();
        let mut exprs = exprs;
        if let Expr::Func { func, .. } = &mut exprs[0].0 {
            *func = ScalarFunc::KeyId(keys.clone());
        }
        count_in(&exprs, &MemoryPool::new(1 << 20));
        let few = Vector::new(VData::Str(StringVec::new()), None);
        assert!(eval(&keys, &few, 0).is_ok());
    }
}
