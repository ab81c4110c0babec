//! The `jsonl` format: one JSON object per line, scanned by [`super::json`], its fields
//! mapped to columns as [`super::fields`] describes (schema, inferred types, the
//! canonical mapping, values).
//!
//! A line must be one JSON object followed only by whitespace; anything else is
//! rejected (`not a JSON object`, `trailing text after the JSON object`, `line ends
//! inside the JSON object`, ...), and so is nesting deeper than 128 levels. When a
//! key repeats, the last value wins.
//!
//! The parser allocates nothing per line, decodes only the strings it stores, and
//! predicts each key from the previous line's key order, so a field costs one short
//! comparison.

use std::collections::HashMap;

use super::fields::{parse_int, snake_case, Obs, Plan, Seen, Val};
use super::json::{key_text, ObjectScanner};
use super::lex;
use super::{for_each_line, log_schema, LogParser, ParserOptions, Reject, MAX_LINE_LEN};
use crate::column::BatchBuilder;
use crate::error::Result;
use crate::schema::TableSchema;

/// Distinct unknown keys remembered per parser (so that adversarial input cannot grow
/// the memo without bound).
const MAX_MEMO_KEYS: usize = 4096;

/// The lines of a sample (valid UTF-8, not empty, not over-long), with line ends
/// and a trailing `\r` removed.
pub(crate) fn sample_lines(sample: &[u8]) -> impl Iterator<Item = &str> {
    sample.split(|&c| c == b'\n').filter_map(|l| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        (!l.is_empty() && l.len() <= MAX_LINE_LEN)
            .then(|| std::str::from_utf8(l).ok())
            .flatten()
    })
}

/// Infers the fields of a JSON lines sample: names in order of first appearance and
/// what was seen of each. Lines that are not JSON objects are skipped.
fn infer_json(sample: &[u8]) -> (Vec<String>, Vec<Seen>) {
    let mut names: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut seen: Vec<Seen> = Vec::new();
    let mut scratch = Vec::new();
    let mut keybuf = Vec::new();
    // Observations of one line, applied only when the whole line scans.
    let mut line_obs: Vec<(usize, Option<Val>)> = Vec::new();
    for line in sample_lines(sample) {
        scratch.clear();
        line_obs.clear();
        let mut new_names: Vec<String> = Vec::new();
        let ok = (|| -> Result<(), String> {
            let mut sc = ObjectScanner::start(line)?;
            while let Some(key) = sc.next_key(String::new)? {
                let k = key_text(line, key, &mut keybuf)?.to_string();
                let i = match index.get(&k) {
                    Some(&i) => i,
                    None => match new_names.iter().position(|n| *n == k) {
                        Some(j) => names.len() + j,
                        None => {
                            new_names.push(k);
                            names.len() + new_names.len() - 1
                        }
                    },
                };
                let v = sc.value(true, &mut scratch, String::new)?;
                line_obs.push((i, Some(v)));
            }
            sc.finish(line)
        })();
        if ok.is_err() {
            continue;
        }
        for n in new_names {
            index.insert(n.clone(), names.len());
            names.push(n);
            seen.push(Seen::default());
        }
        let scratch_text = std::str::from_utf8(&scratch).unwrap_or_default();
        for &(i, v) in &line_obs {
            match v {
                Some(Val::Bool(b)) => seen[i].note_value(if b { "true" } else { "false" }),
                Some(Val::Num { src, .. }) | Some(Val::Str(src)) => {
                    seen[i].note_value(src.text(line, scratch_text))
                }
                _ => {}
            }
            let obs = match v {
                Some(Val::Bool(_)) => Obs::Bool,
                Some(Val::Num { src, int }) => {
                    if int && parse_int(src.text(line, scratch_text)).is_some() {
                        Obs::Int
                    } else {
                        Obs::Float
                    }
                }
                Some(Val::Str(src)) => Obs::Text(src.text(line, scratch_text)),
                Some(Val::Raw(_)) => Obs::Nested,
                Some(Val::Null) | None => continue,
            };
            seen[i].observe(obs);
        }
    }
    (names, seen)
}

// ---------------------------------------------------------------------------------
// The parser
// ---------------------------------------------------------------------------------

pub(crate) struct JsonlParser {
    plan: Plan,
    /// Key → slot (`None`: a key to ignore), for keys met so far.
    keys: HashMap<Box<[u8]>, Option<usize>>,
    /// Whether a key not in `keys` may match a slot once snake_cased (given schemas).
    snake_keys: bool,
    /// The slot of the k-th key of the previous line: the likely slot of this line's
    /// k-th key.
    order: Vec<Option<usize>>,
    vals: Vec<Val>,
    scratch: Vec<u8>,
    keybuf: Vec<u8>,
}

impl JsonlParser {
    pub(crate) fn new(options: &ParserOptions) -> Result<JsonlParser> {
        let (plan, snake_keys) = match (&options.schema, &options.sample) {
            (Some(schema), _) => (Plan::for_schema(schema.clone(), options)?, true),
            (None, Some(sample)) => {
                let (names, seen) = infer_json(sample);
                (Plan::inferred("jsonl", &names, &seen, options)?, false)
            }
            (None, None) => (Plan::for_schema(log_schema(Vec::new()), options)?, true),
        };
        let keys = plan
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| (s.key.as_bytes().into(), Some(i)))
            .collect();
        Ok(JsonlParser {
            vals: vec![Val::Null; plan.slots.len()],
            plan,
            keys,
            snake_keys,
            order: Vec::new(),
            scratch: Vec::new(),
            keybuf: Vec::new(),
        })
    }

    /// The slot of the `k`-th key of a line.
    #[inline]
    fn lookup(&mut self, key: &str, k: usize) -> Option<usize> {
        if let Some(&Some(s)) = self.order.get(k) {
            if self.plan.slots[s].key == key {
                return Some(s);
            }
        }
        let slot = match self.keys.get(key.as_bytes()) {
            Some(&s) => s,
            None => {
                let slot = if self.snake_keys {
                    let snake = snake_case(key);
                    self.plan.slots.iter().position(|s| s.key == snake)
                } else {
                    None
                };
                if self.keys.len() < MAX_MEMO_KEYS {
                    self.keys.insert(key.as_bytes().into(), slot);
                }
                slot
            }
        };
        if k < self.order.len() {
            self.order[k] = slot;
        } else if k == self.order.len() && k < 256 {
            self.order.push(slot);
        }
        slot
    }

    fn parse_line(&mut self, line: &str, out: &mut BatchBuilder) -> Result<(), String> {
        self.vals.fill(Val::Null);
        self.scratch.clear();
        let mut sc = ObjectScanner::start(line)?;
        let mut k = 0;
        let mut last: (usize, usize, bool) = (0, 0, false);
        loop {
            let after = || {
                if last.1 > last.0 {
                    format!("field '{}'", lex::snippet(&line[last.0..last.1]))
                } else {
                    "the field".to_string()
                }
            };
            let Some(key) = sc.next_key(after)? else {
                break;
            };
            last = key;
            let mut keybuf = std::mem::take(&mut self.keybuf);
            let slot = match key_text(line, key, &mut keybuf) {
                Ok(name) => {
                    let slot = self.lookup(name, k);
                    Ok(slot)
                }
                Err(e) => Err(e),
            };
            self.keybuf = keybuf;
            let slot = slot?;
            let name = || line[key.0..key.1].to_string();
            let v = sc.value(slot.is_some(), &mut self.scratch, name)?;
            if let Some(s) = slot {
                self.vals[s] = v;
            }
            k += 1;
        }
        sc.finish(line)?;
        let scratch = std::str::from_utf8(&self.scratch)
            .map_err(|_| "invalid escape sequence".to_string())?;
        self.plan.append(&self.vals, line, scratch, out)
    }
}

impl LogParser for JsonlParser {
    fn schema(&self) -> &TableSchema {
        &self.plan.schema
    }

    fn parse_chunk(
        &mut self,
        chunk: &[u8],
        first_line: u64,
        out: &mut BatchBuilder,
        rejects: &mut Vec<Reject>,
    ) -> u64 {
        for_each_line(chunk, first_line, rejects, |line| {
            self.parse_line(line, out)
        })
    }
}
