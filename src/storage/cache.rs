//! Open segments shared by snapshots.
//!
//! A snapshot opens a segment the first time it is used (memory map plus parsed
//! footer) and asks this cache first, so reopening a segment costs nothing while it is
//! cached. The cache holds at most a budget of footer and dictionary memory, evicting
//! the least recently used segments beyond it; a snapshot that already holds an
//! evicted segment keeps it until the snapshot is dropped. Memory therefore follows the
//! data a process touches, not the size of the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::storage::backend::Backend;
use crate::storage::segment::Segment;

/// Default memory budget for cached open segments.
pub const DEFAULT_SEGMENT_CACHE_BYTES: usize = 256 << 20;

#[derive(Debug, Default)]
struct Inner {
    /// Segment id -> (segment, its charged size, last use).
    map: HashMap<u64, (Arc<Segment>, usize, u64)>,
    bytes: usize,
    clock: u64,
}

/// A byte-budgeted LRU cache of open segments, keyed by segment id (ids are never
/// reused, so an id always names the same file contents).
#[derive(Debug)]
pub struct SegmentCache {
    budget: usize,
    inner: Mutex<Inner>,
}

impl SegmentCache {
    pub fn new(budget: usize) -> SegmentCache {
        SegmentCache {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| Error::Internal("segment cache lock poisoned".into()))
    }

    /// The cached segment `id`, or `open()`ed and cached.
    pub fn get_or_open(
        &self,
        id: u64,
        open: impl FnOnce() -> Result<Segment>,
    ) -> Result<Arc<Segment>> {
        {
            let mut inner = self.lock()?;
            inner.clock += 1;
            let now = inner.clock;
            if let Some((seg, _, used)) = inner.map.get_mut(&id) {
                *used = now;
                return Ok(seg.clone());
            }
        }
        // Open without holding the lock: it reads the file.
        let seg = Arc::new(open()?);
        let mut inner = self.lock()?;
        if let Some((existing, _, _)) = inner.map.get(&id) {
            return Ok(existing.clone());
        }
        let size = seg.memory_size();
        inner.clock += 1;
        let now = inner.clock;
        inner.map.insert(id, (seg.clone(), size, now));
        inner.bytes += size;
        while inner.bytes > self.budget && inner.map.len() > 1 {
            let Some((&victim, _)) = inner
                .map
                .iter()
                .filter(|(&k, _)| k != id)
                .min_by_key(|(_, v)| v.2)
            else {
                break;
            };
            if let Some((_, sz, _)) = inner.map.remove(&victim) {
                inner.bytes -= sz;
            }
        }
        Ok(seg)
    }

    /// Drops every segment not in `live` (ids a commit removed).
    pub fn retain(&self, live: impl Fn(u64) -> bool) {
        if let Ok(mut inner) = self.lock() {
            let mut freed = 0;
            inner.map.retain(|&id, (_, sz, _)| {
                let keep = live(id);
                if !keep {
                    freed += *sz;
                }
                keep
            });
            inner.bytes -= freed;
        }
    }

    /// Segments and charged bytes held now.
    pub fn usage(&self) -> (usize, usize) {
        self.lock().map_or((0, 0), |i| (i.map.len(), i.bytes))
    }
}

/// Opens segment `file` through `backend`.
pub fn open_segment(backend: &dyn Backend, file: &str) -> Result<Segment> {
    Segment::open(backend, file)
}
