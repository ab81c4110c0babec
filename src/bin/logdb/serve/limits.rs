//! How many queries run at once, and for how long: a counting gate that a request
//! waits at for a moment before it is told to come back (429), and a watchdog that
//! raises a query's cancel flag when its time is up (504) or the server stops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// At most `max` holders at once.
#[derive(Debug)]
pub struct Slots(Arc<Gate>);

#[derive(Debug)]
struct Gate {
    max: usize,
    used: Mutex<usize>,
    freed: Condvar,
}

/// A held slot, given back when dropped. It may move to another thread (a query
/// that outlives its request keeps its slot until it ends).
pub struct Slot(Arc<Gate>);

impl Gate {
    fn used(&self) -> std::sync::MutexGuard<'_, usize> {
        self.used.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Slots {
    pub fn new(max: usize) -> Slots {
        Slots(Arc::new(Gate {
            max: max.max(1),
            used: Mutex::new(0),
            freed: Condvar::new(),
        }))
    }

    /// Takes a slot, waiting up to `wait` for one to be freed; `None` if none was.
    pub fn acquire(&self, wait: Duration) -> Option<Slot> {
        let deadline = Instant::now() + wait;
        let mut used = self.0.used();
        while *used >= self.0.max {
            let left = deadline.checked_duration_since(Instant::now())?;
            used = self
                .0
                .freed
                .wait_timeout(used, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *used += 1;
        Some(Slot(self.0.clone()))
    }

    /// Slots held right now.
    pub fn in_use(&self) -> usize {
        *self.0.used()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut used = self.0.used();
        *used = used.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

/// Cancel flags of running queries with their deadlines.
#[derive(Debug, Default)]
pub struct Watchdog {
    running: Mutex<Vec<(Instant, Arc<AtomicBool>)>>,
}

/// A registered query; unregistered when dropped.
pub struct Watched<'a> {
    watchdog: &'a Watchdog,
    pub flag: Arc<AtomicBool>,
    deadline: Instant,
}

impl Watched<'_> {
    /// Whether the deadline has passed (so a cancelled query timed out).
    pub fn timed_out(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// When the query's time is up.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

/// How often the watchdog looks at the deadlines: the precision of a timeout.
const TICK: Duration = Duration::from_millis(10);

impl Watchdog {
    /// Registers a query that must finish within `limit`.
    pub fn watch(&self, limit: Duration) -> Watched<'_> {
        let flag = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + limit;
        self.lock().push((deadline, flag.clone()));
        Watched {
            watchdog: self,
            flag,
            deadline,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Instant, Arc<AtomicBool>)>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cancels queries past their deadline until `stop` is set, then cancels all.
    pub fn run(&self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            for (deadline, flag) in self.lock().iter() {
                if *deadline <= now {
                    flag.store(true, Ordering::Relaxed);
                }
            }
            std::thread::sleep(TICK);
        }
        for (_, flag) in self.lock().iter() {
            flag.store(true, Ordering::Relaxed);
        }
    }
}

impl Drop for Watched<'_> {
    fn drop(&mut self) {
        self.watchdog
            .lock()
            .retain(|(_, f)| !Arc::ptr_eq(f, &self.flag));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_gate_turns_away_after_the_wait_and_reopens_on_release() {
        let slots = Slots::new(1);
        let held = slots.acquire(Duration::ZERO).expect("first slot");
        let start = Instant::now();
        assert!(slots.acquire(Duration::from_millis(30)).is_none());
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert_eq!(slots.in_use(), 1);
        drop(held);
        assert!(slots.acquire(Duration::ZERO).is_some());
        assert_eq!(slots.in_use(), 0);
    }

    #[test]
    fn the_watchdog_cancels_late_queries_only_and_everything_on_stop() {
        let dog = Watchdog::default();
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let late = dog.watch(Duration::from_millis(20));
            let patient = dog.watch(Duration::from_secs(3600));
            s.spawn(|| dog.run(&stop));
            std::thread::sleep(Duration::from_millis(100));
            assert!(late.flag.load(Ordering::Relaxed) && late.timed_out());
            assert!(!patient.flag.load(Ordering::Relaxed) && !patient.timed_out());
            stop.store(true, Ordering::Relaxed);
            while !patient.flag.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
            }
        });
        assert!(dog.lock().is_empty(), "finished queries are unregistered");
    }
}
