//! Open segments shared by snapshots.
//!
//! A snapshot opens a segment the first time it is used (open file plus parsed
//! footer) and asks this cache first, so reopening a segment costs nothing while it is
//! cached. The cache holds at most a budget of footer and dictionary memory, evicting
//! the least recently used segments beyond it; a snapshot that already holds an
//! evicted segment keeps it until the snapshot is dropped. Memory therefore follows the
//! data a process touches, not the size of the database.
//!
//! Next to it, [`ReadCaches`] keep what point reads ask for again and again:
//! decompressed bitmap index pages (one uid lookup decompresses a 32 KiB page to read
//! one small bitmap) and the decoded column blocks of sparse index-driven reads (a
//! lookup decodes whole 8192-row blocks to return a few rows). They are shared by
//! every snapshot of one [`crate::Db`] and bounded in bytes, apart from the segment
//! cache's budget.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::storage::backend::Backend;
use crate::storage::segment::{ColumnBlock, Segment};

/// Default memory budget for cached open segments.
pub const DEFAULT_SEGMENT_CACHE_BYTES: usize = 256 << 20;

/// Memory budget for decompressed bitmap index pages per database: 32 MiB holds about
/// a thousand 32 KiB pages.
pub const DEFAULT_CHUNK_CACHE_BYTES: usize = 32 << 20;
/// Memory budget for decoded column blocks of sparse (index-driven) reads per
/// database: 32 MiB holds a few hundred 8192-row blocks.
pub const DEFAULT_BLOCK_CACHE_BYTES: usize = 32 << 20;

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
    reads: Arc<ReadCaches>,
}

impl SegmentCache {
    pub fn new(budget: usize) -> SegmentCache {
        SegmentCache {
            budget,
            inner: Mutex::new(Inner::default()),
            reads: Arc::new(ReadCaches::new(
                DEFAULT_CHUNK_CACHE_BYTES,
                DEFAULT_BLOCK_CACHE_BYTES,
            )),
        }
    }

    /// The bytes of footers and dictionaries this cache holds at most.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The point-read caches shared by the segments of this cache.
    pub fn reads(&self) -> &Arc<ReadCaches> {
        &self.reads
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
            let mut guard = self.lock()?;
            let inner = &mut *guard;
            inner.clock += 1;
            let now = inner.clock;
            if let Some((seg, size, used)) = inner.map.get_mut(&id) {
                *used = now;
                // Dictionaries and index directories decoded since the last charge.
                let (seg, old, new) = (seg.clone(), *size, seg.memory_size());
                *size = new;
                inner.bytes = inner.bytes - old + new;
                Self::evict(inner, id, self.budget);
                return Ok(seg);
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
        Self::evict(&mut inner, id, self.budget);
        Ok(seg)
    }

    /// Drops least recently used segments other than `keep` while over `budget`.
    fn evict(inner: &mut Inner, keep: u64, budget: usize) {
        while inner.bytes > budget && inner.map.len() > 1 {
            let Some((&victim, _)) = inner
                .map
                .iter()
                .filter(|(&k, _)| k != keep)
                .min_by_key(|(_, v)| v.2)
            else {
                break;
            };
            if let Some((_, sz, _)) = inner.map.remove(&victim) {
                inner.bytes -= sz;
            }
        }
    }

    /// Drops every segment not in `live` (ids a commit removed), and its chunks.
    pub fn retain(&self, live: impl Fn(u64) -> bool) {
        self.reads.retain(&live);
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

    /// Segments held now and the memory they hold (measured now: what queries
    /// decoded since a segment was last charged included).
    pub fn usage(&self) -> (usize, usize) {
        self.lock().map_or((0, 0), |i| {
            let bytes = i.map.values().map(|(seg, _, _)| seg.memory_size()).sum();
            (i.map.len(), bytes)
        })
    }
}

/// A cache entry: the segment id, then what within the segment (a chunk's byte
/// offset in the file, or column and block). Segment ids are never reused, so a key
/// always names the same bytes.
pub type CacheKey = (u64, u64);

/// Fixed per-entry overhead charged on top of a value's own bytes (map entries, `Arc`).
const ENTRY_OVERHEAD: usize = 96;

/// What a cached value costs in memory, in bytes.
pub trait Charge {
    fn charge(&self) -> usize;
}

impl Charge for Arc<[u8]> {
    fn charge(&self) -> usize {
        self.len()
    }
}

impl Charge for Arc<ColumnBlock> {
    fn charge(&self) -> usize {
        self.memory_size()
    }
}

#[derive(Debug)]
struct LruInner<V> {
    /// Key -> (value, charged bytes, last use).
    map: HashMap<CacheKey, (V, usize, u64)>,
    /// Last use -> key: the eviction order (oldest first).
    order: BTreeMap<u64, CacheKey>,
    bytes: usize,
    clock: u64,
    hits: u64,
    misses: u64,
}

/// A byte-budgeted LRU cache of read-only values (decompressed chunks, decoded
/// blocks). A value larger than the whole budget is never stored; otherwise the least
/// recently used values are evicted until the charged bytes (the value's
/// [`Charge`] plus a fixed entry overhead) fit the budget.
#[derive(Debug)]
pub struct LruCache<V> {
    budget: usize,
    inner: Mutex<LruInner<V>>,
}

/// Decompressed chunks (bitmap index pages), by segment id and chunk offset.
pub type ChunkCache = LruCache<Arc<[u8]>>;
/// Decoded column blocks of sparse reads, by segment id and `column << 32 | block`.
pub type BlockCache = LruCache<Arc<ColumnBlock>>;

/// The caches point reads share across the snapshots of one database.
#[derive(Debug)]
pub struct ReadCaches {
    pub chunks: ChunkCache,
    pub blocks: BlockCache,
}

impl ReadCaches {
    pub fn new(chunk_bytes: usize, block_bytes: usize) -> ReadCaches {
        ReadCaches {
            chunks: ChunkCache::new(chunk_bytes),
            blocks: BlockCache::new(block_bytes),
        }
    }

    /// Drops the entries of every segment not in `live`.
    pub fn retain(&self, live: impl Fn(u64) -> bool) {
        self.chunks.retain(&live);
        self.blocks.retain(&live);
    }
}

/// What an [`LruCache`] holds and has served.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheUsage {
    pub entries: usize,
    pub bytes: usize,
    pub hits: u64,
    pub misses: u64,
}

impl<V: Clone + Charge> LruCache<V> {
    pub fn new(budget: usize) -> LruCache<V> {
        LruCache {
            budget,
            inner: Mutex::new(LruInner {
                map: HashMap::new(),
                order: BTreeMap::new(),
                bytes: 0,
                clock: 0,
                hits: 0,
                misses: 0,
            }),
        }
    }

    fn lock(&self) -> Option<std::sync::MutexGuard<'_, LruInner<V>>> {
        // A poisoned cache only loses its speed-up: callers fall back to reading.
        self.inner.lock().ok()
    }

    /// The cached value of `key`, marking it recently used.
    pub fn get(&self, key: CacheKey) -> Option<V> {
        let mut g = self.lock()?;
        let inner = &mut *g;
        inner.clock += 1;
        let now = inner.clock;
        match inner.map.get_mut(&key) {
            Some((v, _, used)) => {
                inner.order.remove(used);
                *used = now;
                inner.order.insert(now, key);
                inner.hits += 1;
                Some(v.clone())
            }
            None => {
                inner.misses += 1;
                None
            }
        }
    }

    /// Stores `value` under `key` (keeping the present value if there is one) and
    /// evicts the least recently used values beyond the budget.
    pub fn insert(&self, key: CacheKey, value: V) {
        let size = value.charge() + ENTRY_OVERHEAD;
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
        inner.map.insert(key, (value, size, now));
        inner.order.insert(now, key);
        inner.bytes += size;
        while inner.bytes > self.budget {
            let Some((_, victim)) = inner.order.pop_first() else {
                break;
            };
            if let Some((_, sz, _)) = inner.map.remove(&victim) {
                inner.bytes -= sz;
            }
        }
    }

    /// Drops the values of every segment not in `live`.
    pub fn retain(&self, live: impl Fn(u64) -> bool) {
        let Some(mut g) = self.lock() else {
            return;
        };
        let inner = &mut *g;
        let mut freed = 0;
        let order = &mut inner.order;
        inner.map.retain(|k, (_, sz, used)| {
            let keep = live(k.0);
            if !keep {
                freed += *sz;
                order.remove(used);
            }
            keep
        });
        inner.bytes -= freed;
    }

    /// Entries and charged bytes held now, and hits and misses so far.
    pub fn usage(&self) -> CacheUsage {
        self.lock()
            .map_or_else(CacheUsage::default, |i| CacheUsage {
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
    fn lru_cache_stays_within_budget_and_evicts_least_recently_used() {
        let per = 1000 + ENTRY_OVERHEAD;
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
        // A value larger than the whole budget is not stored and evicts nothing.
        cache.insert((4, 0), chunk(4 * per, 5));
        assert!(cache.get((4, 0)).is_none());
        assert_eq!(cache.usage().entries, 3);
        // Many inserts never exceed the budget.
        for i in 0..100u64 {
            cache.insert((5, i * 10_000), chunk(300 + i as usize * 7, 6));
            assert!(cache.usage().bytes <= 3 * per);
        }
        let u = cache.usage();
        assert_eq!((u.hits, u.misses), (4, 2), "{u:?}");
    }

    #[test]
    fn lru_cache_retain_drops_removed_segments() {
        let cache = ChunkCache::new(1 << 20);
        cache.insert((1, 0), chunk(10, 1));
        cache.insert((2, 0), chunk(20, 2));
        cache.insert((2, 64), chunk(30, 3));
        cache.retain(|id| id != 2);
        let u = cache.usage();
        assert_eq!(u.entries, 1);
        assert_eq!(u.bytes, 10 + ENTRY_OVERHEAD);
        assert!(cache.get((2, 0)).is_none());
        assert!(cache.get((1, 0)).is_some());
        // The eviction order forgot the dropped keys too.
        let small = ChunkCache::new(10 + ENTRY_OVERHEAD);
        small.insert((1, 0), chunk(10, 1));
        small.retain(|_| false);
        small.insert((9, 0), chunk(10, 9));
        assert!(small.get((9, 0)).is_some());
    }
}
