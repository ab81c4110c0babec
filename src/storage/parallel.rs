//! Independent, fallible jobs run on several threads, results kept in job order:
//! a commit's (encoding and syncing segment files, syncing directories), and
//! reads of many segments' index pages by a query.
//!
//! A job that waits on the disk (an fsync) leaves its core to the others, so the
//! pool may have more threads than cores. After the first failure no further job
//! starts; the error of the earliest failed job is returned.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Runs `f` on every item on up to `threads` threads (the calling thread alone
/// for one item or one thread) and returns the results in the items' order.
pub(crate) fn map<T, R, F>(items: Vec<T>, threads: usize, f: F) -> Result<Vec<R>>
where
    T: Send,
    R: Send,
    F: Fn(T) -> Result<R> + Sync,
{
    let n = items.len();
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        return items.into_iter().map(f).collect();
    }
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let mut done: Vec<Option<Result<R>>> = (0..n).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    while !failed.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        let item = slots[i].lock().ok().and_then(|mut g| g.take());
                        let Some(item) = item else { continue };
                        let r = f(item);
                        if r.is_err() {
                            failed.store(true, Ordering::Relaxed);
                        }
                        out.push((i, r));
                    }
                    out
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(out) => {
                    for (i, r) in out {
                        done[i] = Some(r);
                    }
                }
                Err(_) => failed.store(true, Ordering::Relaxed),
            }
        }
    });
    let mut results = Vec::with_capacity(n);
    let mut first_error = None;
    let mut missing = false;
    for r in done {
        match r {
            Some(Ok(v)) => results.push(v),
            Some(Err(e)) => {
                first_error.get_or_insert(e);
            }
            // Not started after a failure, or lost to a panicking job.
            None => missing = true,
        }
    }
    match first_error {
        Some(e) => Err(e),
        None if missing => Err(Error::Internal("a storage job panicked".into())),
        None => Ok(results),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order() {
        let out = map((0..100u64).collect(), 4, |x| Ok(x * 2)).unwrap();
        assert_eq!(out, (0..100u64).map(|x| x * 2).collect::<Vec<_>>());
        let empty: Vec<u64> = map(Vec::<u64>::new(), 4, Ok).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn the_earliest_failure_is_returned() {
        let r = map((0..50u64).collect(), 3, |x| {
            if x == 7 || x == 30 {
                Err(Error::InvalidInput(format!("job {x}")))
            } else {
                Ok(x)
            }
        });
        match r {
            Err(Error::InvalidInput(m)) => assert_eq!(m, "job 7"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
