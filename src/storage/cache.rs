//! Open segments shared by snapshots.
//!
//! A snapshot opens a segment the first time it is used (memory map plus parsed
//! footer) and asks this cache first, so reopening a segment costs nothing while it is
//! cached. The cache holds at most a budget of footer and dictionary memory, evicting
//! the least recently used segments beyond it; a snapshot that already holds an
//! evicted segment keeps it until the snapshot is dropped. Memory therefore follows the
//! data a process touches, not the size of the database.
//!
//! Next to it, a [`ChunkCache`] keeps decompressed chunks that point reads ask for
//! again and again: bitmap index pages (one uid lookup decompresses a 32 KiB page to
//! read one small bitmap) and the column blocks of sparse index-driven reads. Both
//! caches are shared by every snapshot of one [`crate::Db`] and bounded in bytes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::storage::backend::Backend;
use crate::storage::segment::Segment;

/// Default memory budget for cached open segments.
pub const DEFAULT_SEGMENT_CACHE_BYTES: usize = 256 << 20;

/// Memory budget for decompressed chunks (index pages and sparsely read column
/// blocks) per database: 32 MiB holds about a thousand 32 KiB index pages.
pub const DEFAULT_CHUNK_CACHE_BYTES: usize = 32 << 20;

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
    chunks: Arc<ChunkCache>,
}

impl SegmentCache {
    pub fn new(budget: usize) -> SegmentCache {
        SegmentCache {
            budget,
            inner: Mutex::new(Inner::default()),
            chunks: Arc::new(ChunkCache::new(DEFAULT_CHUNK_CACHE_BYTES)),
        }
    }

    /// The decompressed-chunk cache shared by the segments of this cache.
    pub fn chunks(&self) -> &Arc<ChunkCache> {
        &self.chunks
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

    /// Drops every segment not in `live` (ids a commit removed), and its chunks.
    pub fn retain(&self, live: impl Fn(u64) -> bool) {
        self.chunks.retain(&live);
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

/// Which chunk: the segment id and the chunk's byte offset in the segment file
/// (chunks of one file never overlap, and segment ids are never reused).
pub type ChunkKey = (u64, u64);

/// Fixed per-entry overhead charged on top of a chunk's bytes (map entries, `Arc`).
const CHUNK_ENTRY_OVERHEAD: usize = 96;

#[derive(Debug, Default)]
struct ChunkInner {
    /// Key -> (bytes, last use).
    map: HashMap<ChunkKey, (Arc<[u8]>, u64)>,
    /// Last use -> key: the eviction order (oldest first).
    order: BTreeMap<u64, ChunkKey>,
    bytes: usize,
    clock: u64,
    hits: u64,
    misses: u64,
}

/// A byte-budgeted LRU cache of decompressed chunks. A chunk larger than the whole
/// budget is never stored; otherwise the least recently used chunks are evicted until
/// the charged bytes (chunk length plus a fixed entry overhead) fit the budget.
#[derive(Debug)]
pub struct ChunkCache {
    budget: usize,
    inner: Mutex<ChunkInner>,
}

/// What a [`ChunkCache`] holds and has served.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChunkCacheUsage {
    pub entries: usize,
    pub bytes: usize,
    pub hits: u64,
    pub misses: u64,
}

impl ChunkCache {
    pub fn new(budget: usize) -> ChunkCache {
        ChunkCache {
            budget,
            inner: Mutex::new(ChunkInner::default()),
        }
    }

    fn lock(&self) -> Option<std::sync::MutexGuard<'_, ChunkInner>> {
        // A poisoned cache only loses its speed-up: callers fall back to reading.
        self.inner.lock().ok()
    }

    fn charge(len: usize) -> usize {
        len + CHUNK_ENTRY_OVERHEAD
    }

    /// The cached bytes of `key`, marking them recently used.
    pub fn get(&self, key: ChunkKey) -> Option<Arc<[u8]>> {
        let mut g = self.lock()?;
        let inner = &mut *g;
        inner.clock += 1;
        let now = inner.clock;
        match inner.map.get_mut(&key) {
            Some((bytes, used)) => {
                inner.order.remove(used);
                *used = now;
                inner.order.insert(now, key);
                inner.hits += 1;
                Some(bytes.clone())
            }
            None => {
                inner.misses += 1;
                None
            }
        }
    }

    /// Stores `bytes` under `key` (replacing nothing if present) and evicts the least
    /// recently used chunks beyond the budget.
    pub fn insert(&self, key: ChunkKey, bytes: Arc<[u8]>) {
        let size = Self::charge(bytes.len());
        if size > self.budget {
            return;
        }
        let Some(mut g) = self.lock() else {
            return;
        };
        let inner = &mut *g;
        if inner.map.contains_key(&key) {
            return;
        }
        inner.clock += 1;
        let now = inner.clock;
        inner.map.insert(key, (bytes, now));
        inner.order.insert(now, key);
        inner.bytes += size;
        while inner.bytes > self.budget {
            let Some((_, victim)) = inner.order.pop_first() else {
                break;
            };
            if let Some((b, _)) = inner.map.remove(&victim) {
                inner.bytes -= Self::charge(b.len());
            }
        }
    }

    /// Drops the chunks of every segment not in `live`.
    pub fn retain(&self, live: impl Fn(u64) -> bool) {
        let Some(mut g) = self.lock() else {
            return;
        };
        let inner = &mut *g;
        let mut freed = 0;
        let order = &mut inner.order;
        inner.map.retain(|k, (b, used)| {
            let keep = live(k.0);
            if !keep {
                freed += Self::charge(b.len());
                order.remove(used);
            }
            keep
        });
        inner.bytes -= freed;
    }

    /// Entries and charged bytes held now, and hits and misses so far.
    pub fn usage(&self) -> ChunkCacheUsage {
        self.lock()
            .map_or_else(ChunkCacheUsage::default, |i| ChunkCacheUsage {
                entries: i.map.len(),
                bytes: i.bytes,
                hits: i.hits,
                misses: i.misses,
            })
    }
}

/// Opens segment `file` through `backend`.
pub fn open_segment(backend: &dyn Backend, file: &str) -> Result<Segment> {
    Segment::open(backend, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(n: usize, fill: u8) -> Arc<[u8]> {
        vec![fill; n].into()
    }

    #[test]
    fn chunk_cache_stays_within_budget_and_evicts_least_recently_used() {
        let per = ChunkCache::charge(1000);
        let cache = ChunkCache::new(3 * per);
        cache.insert((1, 0), chunk(1000, 1));
        cache.insert((1, 1000), chunk(1000, 2));
        cache.insert((2, 0), chunk(1000, 3));
        assert_eq!(cache.usage().entries, 3);
        // Touch (1, 0) so that (1, 1000) is now the least recently used.
        assert_eq!(cache.get((1, 0)).as_deref(), Some(&[1u8; 1000][..]));
        cache.insert((3, 0), chunk(1000, 4));
        let u = cache.usage();
        assert_eq!(u.entries, 3);
        assert!(u.bytes <= 3 * per);
        assert!(cache.get((1, 1000)).is_none(), "LRU entry was not evicted");
        assert!(cache.get((1, 0)).is_some());
        assert!(cache.get((2, 0)).is_some());
        assert_eq!(cache.get((3, 0)).as_deref(), Some(&[4u8; 1000][..]));
        // A chunk larger than the whole budget is not stored and evicts nothing.
        cache.insert((4, 0), chunk(4 * per, 5));
        assert!(cache.get((4, 0)).is_none());
        assert_eq!(cache.usage().entries, 3);
        // Many inserts never exceed the budget.
        for i in 0..100u64 {
            cache.insert((5, i * 10_000), chunk(300 + i as usize * 7, 6));
            assert!(cache.usage().bytes <= 3 * per);
        }
    }

    #[test]
    fn chunk_cache_retain_drops_removed_segments() {
        let cache = ChunkCache::new(1 << 20);
        cache.insert((1, 0), chunk(10, 1));
        cache.insert((2, 0), chunk(20, 2));
        cache.insert((2, 64), chunk(30, 3));
        cache.retain(|id| id != 2);
        let u = cache.usage();
        assert_eq!(u.entries, 1);
        assert_eq!(u.bytes, ChunkCache::charge(10));
        assert!(cache.get((2, 0)).is_none());
        assert!(cache.get((1, 0)).is_some());
        // The eviction order forgot the dropped keys too.
        let small = ChunkCache::new(ChunkCache::charge(10));
        small.insert((1, 0), chunk(10, 1));
        small.retain(|_| false);
        small.insert((9, 0), chunk(10, 9));
        assert!(small.get((9, 0)).is_some());
    }
}
