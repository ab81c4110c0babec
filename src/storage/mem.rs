//! An in-memory backend that injects faults and simulates power loss.
//!
//! [`MemBackend`] models a filesystem as the [`Backend`] durability contract
//! describes it, so that crash tests can check what survives a power loss:
//!
//! - A file is an *inode* with `current` bytes (what reads see) and `durable` bytes
//!   (what survives a crash). [`Backend::write`] changes `current`;
//!   [`Backend::sync`] copies `current` to `durable`.
//! - Directory entries (path -> inode) live in two namespaces, `current` and
//!   `durable`. `write` (creating a file), `rename` and `remove` change `current`;
//!   [`Backend::sync_dir`] copies the entries of one directory from `current` to
//!   `durable`, including the absence of removed ones.
//! - Directories are simpler: `create_dir_all`, `remove_dir` and renaming a
//!   directory are durable at once (a removed or renamed directory takes the durable
//!   entries inside it along).
//! - [`MemBackend::crash`] is a power loss: the namespace reverts to the durable one
//!   and every file whose bytes were not synced keeps its old bytes, or a torn mix of
//!   old and new sectors, as chosen by a seeded PRNG. Same seed and same operations
//!   give the same result.
//! - [`MemBackend::fail_at`] and [`MemBackend::crash_at`] make the n-th *mutating*
//!   operation (write, sync, sync_dir, rename, remove, remove_dir, create_dir_all)
//!   fail, so a test can count the operations of a workload with
//!   [`MemBackend::op_count`] and then sweep a fault over each of them.
//!
//! Paths are relative, `/`-separated, and not normalized; the root directory is `""`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use super::backend::{parent, Backend, FileBytes, WriterLock};
use crate::error::{Error, Result};

/// What happens to unsynced file bytes in a [`MemBackend::crash`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// Every unsynced file reverts to its durable bytes.
    Drop,
    /// Every unsynced file ends with a torn write: a length between the old and new
    /// lengths, and each `sector`-sized block taken from either the old or the new
    /// bytes (zero-filled past the end of the one chosen). A `sector` of 0 counts as 1.
    Torn { sector: usize },
    /// Each unsynced file gets its own seeded choice among: old bytes, new bytes,
    /// torn with 512-byte sectors, torn with 4096-byte sectors.
    Mixed,
}

/// The error an injected fault produces (see [`MemBackend::fail_at`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The operation fails with no effect: `io::ErrorKind::Other`, "injected EIO".
    Eio,
    /// The operation fails with no effect: `io::ErrorKind::StorageFull`.
    Enospc,
    /// A `write` stores only a prefix of its data (shorter than the data, its length
    /// derived from the operation number) and then fails. Any other operation fails
    /// as with [`FaultKind::Eio`].
    ShortWrite,
}

/// The message of the error returned by every operation after [`MemBackend::crash_at`].
pub const INJECTED_CRASH: &str = "injected crash";

/// An in-memory [`Backend`] with durability, crash and fault simulation.
///
/// Cloning gives another handle to the same filesystem, so a test can keep one while
/// the database owns another.
#[derive(Clone, Default)]
pub struct MemBackend {
    state: Arc<Mutex<State>>,
}

/// A copy of a [`MemBackend`]'s files and directories (see [`MemBackend::snapshot`]).
#[derive(Clone, Debug)]
pub struct MemSnapshot(Fs);

/// The bytes of one file.
#[derive(Clone, Debug)]
struct Inode {
    current: FileBytes,
    durable: FileBytes,
}

/// The filesystem proper.
#[derive(Clone, Debug, Default)]
struct Fs {
    inodes: BTreeMap<u64, Inode>,
    next_inode: u64,
    /// File path -> inode, as reads see it.
    current: BTreeMap<String, u64>,
    /// File path -> inode, as a crash leaves it.
    durable: BTreeMap<String, u64>,
    /// Directories other than the root `""`; always durable.
    dirs: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct State {
    fs: Fs,
    /// Mutating operations since the last reset.
    ops: u64,
    /// Operation number -> fault to inject there.
    faults: BTreeMap<u64, FaultKind>,
    /// Operations from this number on fail as if the process were dead.
    crash_at: Option<u64>,
    /// The generation of the held writer lock, if any.
    lock: Option<u64>,
    lock_generation: u64,
}

impl MemBackend {
    /// An empty filesystem holding only the root directory.
    pub fn new() -> MemBackend {
        MemBackend::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not make every other handle panic too.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the `n`-th mutating operation (counting from 1 since the last reset)
    /// fail with `kind`. Several operations can be armed at once.
    pub fn fail_at(&self, n: u64, kind: FaultKind) {
        self.state().faults.insert(n, kind);
    }

    /// Makes the `n`-th mutating operation and every later one fail with
    /// [`INJECTED_CRASH`] and no effect, until [`MemBackend::crash`] or
    /// [`MemBackend::reset_faults`].
    pub fn crash_at(&self, n: u64) {
        self.state().crash_at = Some(n);
    }

    /// The number of mutating operations attempted since the last reset, including
    /// failed ones.
    pub fn op_count(&self) -> u64 {
        self.state().ops
    }

    /// Disarms all faults and restarts the operation count from 0.
    pub fn reset_faults(&self) {
        let mut st = self.state();
        st.ops = 0;
        st.faults.clear();
        st.crash_at = None;
    }

    /// Simulates a power loss and reboot.
    ///
    /// The namespace reverts to the durable one; files no durable entry names are
    /// gone; each remaining file whose current bytes differ from its durable bytes
    /// ends as `mode` says, using a PRNG seeded with `seed`. Afterwards current and
    /// durable state are equal, the writer lock is free, and faults are reset (see
    /// [`MemBackend::reset_faults`]).
    pub fn crash(&self, seed: u64, mode: CrashMode) {
        let mut st = self.state();
        let mut rng = SplitMix64::new(seed);
        let fs = &mut st.fs;
        fs.current = fs.durable.clone();
        fs.collect_garbage();
        for inode in fs.inodes.values_mut() {
            if inode.current[..] != inode.durable[..] {
                let (old, new) = (&inode.durable[..], &inode.current[..]);
                let after = match mode {
                    CrashMode::Drop => old.to_vec(),
                    CrashMode::Torn { sector } => torn(old, new, sector, &mut rng),
                    CrashMode::Mixed => match rng.below(4) {
                        0 => old.to_vec(),
                        1 => new.to_vec(),
                        2 => torn(old, new, 512, &mut rng),
                        _ => torn(old, new, 4096, &mut rng),
                    },
                };
                inode.durable = FileBytes::from_vec(after);
            }
            inode.current = inode.durable.clone();
        }
        st.lock = None;
        st.ops = 0;
        st.faults.clear();
        st.crash_at = None;
    }

    /// The current files and their lengths, sorted by path.
    pub fn files(&self) -> Vec<(String, usize)> {
        let st = self.state();
        st.fs
            .current
            .iter()
            .map(|(path, ino)| (path.clone(), st.fs.inodes[ino].current.len()))
            .collect()
    }

    /// Changes a file's bytes in place with `f`, as a corruption on disk would: the
    /// result becomes both the current and the durable bytes. Not an operation for
    /// fault counting.
    pub fn corrupt(&self, path: &str, f: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
        let mut st = self.state();
        let ino = st.fs.file(path).ok_or_else(|| not_found(path))?;
        let inode = st.fs.inodes.get_mut(&ino).ok_or_else(|| not_found(path))?;
        let mut bytes = inode.current.to_vec();
        f(&mut bytes);
        inode.current = FileBytes::from_vec(bytes);
        inode.durable = inode.current.clone();
        Ok(())
    }

    /// A copy of all files (current and durable) and directories; cheap, as file
    /// bytes are shared.
    pub fn snapshot(&self) -> MemSnapshot {
        MemSnapshot(self.state().fs.clone())
    }

    /// Replaces all files and directories with `snap`. Faults, the operation count
    /// and the writer lock are left as they are.
    pub fn restore(&self, snap: &MemSnapshot) {
        self.state().fs = snap.0.clone();
    }

    /// Counts a mutating operation and applies armed faults to it: `Err` when it must
    /// fail with no effect, `Ok(true)` for a short write, `Ok(false)` to proceed.
    fn begin_op(st: &mut State, path: &str) -> Result<bool> {
        st.ops += 1;
        let n = st.ops;
        if st.crash_at.is_some_and(|c| n >= c) {
            return Err(Error::io(display(path), io::Error::other(INJECTED_CRASH)));
        }
        match st.faults.get(&n) {
            None => Ok(false),
            Some(FaultKind::ShortWrite) => Ok(true),
            Some(FaultKind::Eio) => Err(Error::io(display(path), injected_eio())),
            Some(FaultKind::Enospc) => Err(Error::io(display(path), injected_enospc())),
        }
    }

    /// [`MemBackend::begin_op`] for operations other than `write`.
    fn begin(st: &mut State, path: &str) -> Result<()> {
        if Self::begin_op(st, path)? {
            return Err(Error::io(display(path), injected_eio()));
        }
        Ok(())
    }
}

impl fmt::Debug for MemBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state();
        f.debug_struct("MemBackend")
            .field("files", &st.fs.current.len())
            .field("dirs", &st.fs.dirs.len())
            .field("ops", &st.ops)
            .finish()
    }
}

impl Fs {
    fn is_dir(&self, path: &str) -> bool {
        path.is_empty() || self.dirs.contains(path)
    }

    fn file(&self, path: &str) -> Option<u64> {
        self.current.get(path).copied()
    }

    /// Whether `dir` holds any current file or directory.
    fn has_children(&self, dir: &str) -> bool {
        self.current
            .keys()
            .chain(self.dirs.iter())
            .any(|p| parent(p) == dir)
    }

    /// Drops inodes that no namespace names.
    fn collect_garbage(&mut self) {
        let live: BTreeSet<u64> = self
            .current
            .values()
            .chain(self.durable.values())
            .copied()
            .collect();
        self.inodes.retain(|ino, _| live.contains(ino));
    }

    /// Checks that `path` can become a file entry: its parent is a directory and it
    /// is not one itself.
    fn check_new_entry(&self, path: &str) -> Result<()> {
        if !self.is_dir(parent(path)) {
            return Err(not_found(parent(path)));
        }
        if self.is_dir(path) {
            return Err(err(path, io::ErrorKind::IsADirectory, "is a directory"));
        }
        Ok(())
    }

    /// Renames directory `from` (and everything under it) to `to`, durably.
    fn rename_dir(&mut self, from: &str, to: &str) -> Result<()> {
        if self.current.contains_key(to) {
            return Err(err(to, io::ErrorKind::NotADirectory, "not a directory"));
        }
        if to.starts_with(&format!("{from}/")) {
            return Err(err(to, io::ErrorKind::InvalidInput, "inside the source"));
        }
        if self.is_dir(to) && self.has_children(to) {
            return Err(err(to, io::ErrorKind::DirectoryNotEmpty, "not empty"));
        }
        if !self.is_dir(parent(to)) {
            return Err(not_found(parent(to)));
        }
        // An empty `to` may still hold durable entries of removed files: drop them.
        self.durable.retain(|p, _| !is_under(p, to));
        let moved = |p: &str| -> Option<String> {
            if p == from {
                Some(to.to_string())
            } else {
                p.strip_prefix(from)
                    .filter(|rest| rest.starts_with('/'))
                    .map(|rest| format!("{to}{rest}"))
            }
        };
        self.dirs = std::mem::take(&mut self.dirs)
            .into_iter()
            .map(|p| moved(&p).unwrap_or(p))
            .collect();
        for map in [&mut self.current, &mut self.durable] {
            *map = std::mem::take(map)
                .into_iter()
                .map(|(p, ino)| (moved(&p).unwrap_or(p), ino))
                .collect();
        }
        self.collect_garbage();
        Ok(())
    }
}

impl Backend for MemBackend {
    fn read(&self, path: &str) -> Result<FileBytes> {
        let st = self.state();
        let ino = st.fs.file(path).ok_or_else(|| not_found(path))?;
        // Shared, not copied: a later write replaces the inode's bytes, never mutates them.
        Ok(st.fs.inodes[&ino].current.clone())
    }

    fn write(&self, path: &str, data: &[u8]) -> Result<()> {
        let mut st = self.state();
        let short = Self::begin_op(&mut st, path)?;
        st.fs.check_new_entry(path)?;
        let data = if short {
            let n = st.ops;
            let mut rng = SplitMix64::new(n ^ (data.len() as u64).rotate_left(32));
            &data[..rng.below(data.len() as u64) as usize]
        } else {
            data
        };
        let fs = &mut st.fs;
        let bytes = FileBytes::from_vec(data.to_vec());
        match fs.file(path) {
            // Like O_TRUNC: the same inode gets new bytes.
            Some(ino) => {
                if let Some(inode) = fs.inodes.get_mut(&ino) {
                    inode.current = bytes;
                }
            }
            None => {
                let ino = fs.next_inode;
                fs.next_inode += 1;
                let durable = FileBytes::from_vec(Vec::new());
                fs.inodes.insert(
                    ino,
                    Inode {
                        current: bytes,
                        durable,
                    },
                );
                fs.current.insert(path.to_string(), ino);
            }
        }
        if short {
            return Err(Error::io(
                display(path),
                io::Error::other("injected short write"),
            ));
        }
        Ok(())
    }

    fn sync(&self, path: &str) -> Result<()> {
        let mut st = self.state();
        Self::begin(&mut st, path)?;
        let ino = st.fs.file(path).ok_or_else(|| not_found(path))?;
        let inode = st.fs.inodes.get_mut(&ino).ok_or_else(|| not_found(path))?;
        inode.durable = inode.current.clone();
        Ok(())
    }

    fn sync_dir(&self, dir: &str) -> Result<()> {
        let mut st = self.state();
        Self::begin(&mut st, dir)?;
        let fs = &mut st.fs;
        if !fs.is_dir(dir) {
            return Err(not_found(dir));
        }
        fs.durable.retain(|p, _| parent(p) != dir);
        let entries: Vec<(String, u64)> = fs
            .current
            .iter()
            .filter(|(p, _)| parent(p) == dir)
            .map(|(p, ino)| (p.clone(), *ino))
            .collect();
        fs.durable.extend(entries);
        fs.collect_garbage();
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let mut st = self.state();
        Self::begin(&mut st, from)?;
        let fs = &mut st.fs;
        if from == to {
            return if fs.file(from).is_some() || fs.is_dir(from) {
                Ok(())
            } else {
                Err(not_found(from))
            };
        }
        if !from.is_empty() && fs.dirs.contains(from) {
            return fs.rename_dir(from, to);
        }
        let ino = fs.file(from).ok_or_else(|| not_found(from))?;
        fs.check_new_entry(to)?;
        fs.current.remove(from);
        fs.current.insert(to.to_string(), ino);
        fs.collect_garbage();
        Ok(())
    }

    fn remove(&self, path: &str) -> Result<()> {
        let mut st = self.state();
        Self::begin(&mut st, path)?;
        let fs = &mut st.fs;
        if fs.is_dir(path) {
            return Err(err(path, io::ErrorKind::IsADirectory, "is a directory"));
        }
        fs.current.remove(path);
        fs.collect_garbage();
        Ok(())
    }

    fn remove_dir(&self, dir: &str) -> Result<()> {
        let mut st = self.state();
        Self::begin(&mut st, dir)?;
        let fs = &mut st.fs;
        if fs.current.contains_key(dir) {
            return Err(err(dir, io::ErrorKind::NotADirectory, "not a directory"));
        }
        if dir.is_empty() || !fs.dirs.contains(dir) {
            return Ok(());
        }
        if fs.has_children(dir) {
            return Err(err(dir, io::ErrorKind::DirectoryNotEmpty, "not empty"));
        }
        fs.dirs.remove(dir);
        // The removal is durable at once, so entries of files removed from it
        // without a sync_dir go too.
        fs.durable.retain(|p, _| !is_under(p, dir));
        fs.collect_garbage();
        Ok(())
    }

    fn list(&self, dir: &str) -> Result<Vec<String>> {
        let st = self.state();
        let fs = &st.fs;
        if fs.current.contains_key(dir) {
            return Err(err(dir, io::ErrorKind::NotADirectory, "not a directory"));
        }
        let name = |p: &String| {
            if parent(p) != dir {
                return None;
            }
            let start = if dir.is_empty() { 0 } else { dir.len() + 1 };
            p.get(start..).map(str::to_string)
        };
        let mut names: Vec<String> = fs
            .current
            .keys()
            .chain(fs.dirs.iter())
            .filter_map(name)
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn create_dir_all(&self, dir: &str) -> Result<()> {
        let mut st = self.state();
        Self::begin(&mut st, dir)?;
        let fs = &mut st.fs;
        let prefixes: Vec<&str> = dir
            .match_indices('/')
            .map(|(i, _)| &dir[..i])
            .chain((!dir.is_empty()).then_some(dir))
            .collect();
        if let Some(file) = prefixes.iter().find(|p| fs.current.contains_key(**p)) {
            return Err(err(file, io::ErrorKind::NotADirectory, "not a directory"));
        }
        fs.dirs.extend(prefixes.into_iter().map(str::to_string));
        Ok(())
    }

    fn lock_writer(&self) -> Result<WriterLock> {
        let mut st = self.state();
        if st.lock.is_some() {
            return Err(Error::Locked {
                path: display(""),
                detail: "another handle holds the in-memory writer lock".into(),
            });
        }
        st.lock_generation += 1;
        let generation = st.lock_generation;
        st.lock = Some(generation);
        Ok(Box::new(MemLock {
            state: Arc::clone(&self.state),
            generation,
        }))
    }

    fn display_path(&self, path: &str) -> PathBuf {
        display(path)
    }
}

/// The writer lock of a [`MemBackend`]; released on drop unless a crash already
/// released it (a later holder's lock has another generation and is left alone).
struct MemLock {
    state: Arc<Mutex<State>>,
    generation: u64,
}

impl Drop for MemLock {
    fn drop(&mut self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.lock == Some(self.generation) {
            st.lock = None;
        }
    }
}

fn display(path: &str) -> PathBuf {
    PathBuf::from(format!("mem://{path}"))
}

fn err(path: &str, kind: io::ErrorKind, msg: &str) -> Error {
    Error::io(display(path), io::Error::new(kind, msg))
}

fn not_found(path: &str) -> Error {
    err(path, io::ErrorKind::NotFound, "no such file or directory")
}

fn injected_eio() -> io::Error {
    io::Error::other("injected EIO")
}

fn injected_enospc() -> io::Error {
    io::Error::new(io::ErrorKind::StorageFull, "injected ENOSPC")
}

/// Whether `path` is strictly inside directory `dir`.
fn is_under(path: &str, dir: &str) -> bool {
    dir.is_empty() || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// A torn write of `new` over `old`: a length between theirs, each sector from one
/// or the other (zero past its end).
fn torn(old: &[u8], new: &[u8], sector: usize, rng: &mut SplitMix64) -> Vec<u8> {
    let sector = sector.max(1);
    let (lo, hi) = (old.len().min(new.len()), old.len().max(new.len()));
    let len = lo + rng.below((hi - lo) as u64 + 1) as usize;
    let mut out = vec![0u8; len];
    for (i, chunk) in out.chunks_mut(sector).enumerate() {
        let src = if rng.next_u64() & 1 == 0 { old } else { new };
        let start = i * sector;
        let avail = src.get(start..).unwrap_or(&[]);
        let n = avail.len().min(chunk.len());
        chunk[..n].copy_from_slice(&avail[..n]);
    }
    out
}

/// The splitmix64 generator: tiny, fast, and good enough to pick crash outcomes.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (0 when `n` is 0); the modulo bias is irrelevant here.
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_known_values() {
        // Reference outputs of splitmix64 seeded with 0.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn torn_bounds() {
        let mut rng = SplitMix64::new(7);
        for _ in 0..100 {
            let t = torn(&[1; 10], &[2; 3], 4, &mut rng);
            assert!((3..=10).contains(&t.len()));
        }
        assert!(torn(&[], &[], 512, &mut rng).is_empty());
    }
}
