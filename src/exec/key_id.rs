//! `key_id(s)`: a number per distinct string, shared by every batch and thread
//! of one query (the optimizer's stand-in for a string column that only window
//! partition keys read; see [`crate::plan::KeyIds`]).
//!
//! A dictionary-encoded block is numbered through its dictionary: each entry is
//! interned once, when the dictionary is first seen, and rows only look their
//! code up. The few dictionaries seen last are kept, so scan threads that
//! alternate between segments do not translate one twice. Plain strings are
//! interned row by row.

use std::sync::{Arc, Mutex};

use super::group::{StrInterner, MISSING};
use super::vector::{VData, Vector};
use crate::column::{StringVec, Value};
use crate::error::{Error, Result};
use crate::plan::KeyIds;

/// Dictionaries whose translations are kept.
const KEPT_DICTIONARIES: usize = 8;

#[derive(Default)]
struct Table {
    strs: StrInterner,
    /// The dictionaries translated last, with the id of each entry.
    dicts: Vec<(Arc<StringVec>, Arc<Vec<u32>>)>,
}

impl Table {
    fn translation(&mut self, dict: &Arc<StringVec>) -> Arc<Vec<u32>> {
        if let Some((_, ids)) = self.dicts.iter().find(|(d, _)| Arc::ptr_eq(d, dict)) {
            return ids.clone();
        }
        let mut ids = Vec::with_capacity(dict.len());
        self.strs.intern_all(dict, dict.len(), None, &mut ids);
        let ids = Arc::new(ids);
        if self.dicts.len() == KEPT_DICTIONARIES {
            self.dicts.remove(0);
        }
        self.dicts.push((dict.clone(), ids.clone()));
        ids
    }
}

#[derive(Default)]
struct State(Mutex<Table>);

/// The ids of the first `len` values of `a` (VARCHAR) in the table of `keys`.
pub(super) fn eval(keys: &KeyIds, a: &Vector, len: usize) -> Result<Vector> {
    let state = keys
        .state(State::default)
        .ok_or_else(|| Error::Internal("key_id: a table of another kind".into()))?;
    let lock = || {
        state
            .0
            .lock()
            .map_err(|_| Error::Internal("key_id: table poisoned".into()))
    };
    let out: Vec<i64> = match &a.data {
        VData::Dict { codes, dict } => {
            let ids = lock()?.translation(dict);
            let mut out = Vec::with_capacity(len);
            let mut past_end = None;
            for &c in codes.iter().take(len) {
                let id = match ids.get(c as usize) {
                    Some(&id) => id,
                    // A code past the dictionary reads as '' (as `Vector::str_at`).
                    None => match past_end {
                        Some(id) => id,
                        None => *past_end.insert(lock()?.strs.intern("")),
                    },
                };
                out.push(id as i64);
            }
            out
        }
        VData::Str(s) => {
            let mut ids = Vec::with_capacity(len);
            lock()?
                .strs
                .intern_rows(s, 0..len, a.validity.as_ref(), &mut ids);
            ids.resize(len, MISSING);
            ids.into_iter()
                .map(|id| if id == MISSING { 0 } else { id as i64 })
                .collect()
        }
        VData::Const(Value::Str(s)) => {
            let id = lock()?.strs.intern(s);
            return Ok(Vector::constant(Value::Int(id as i64)));
        }
        VData::Const(Value::Null) => return Ok(Vector::constant(Value::Null)),
        _ => return Err(Error::Internal("key_id of a value that is not VARCHAR".into())),
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
            let v = Vector::new(VData::Dict { codes: vec![0], dict: other }, None);
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
}
