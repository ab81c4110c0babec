//! The storage seam: the handful of file operations the engine needs.
//!
//! Everything above this trait (segments, manifests, commits) is written against
//! [`Backend`], so that tests can swap the real filesystem ([`FileBackend`]) for an
//! in-memory one that injects faults and simulates power loss
//! ([`super::mem::MemBackend`]).
//!
//! Paths are relative to the database root and use `/` as separator. Durability
//! follows POSIX: file contents are durable after [`Backend::sync`]; the creation,
//! rename or removal of a directory entry is durable after [`Backend::sync_dir`] of
//! the directory holding it.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};

/// The bytes of a whole file: a memory map for real files, a shared buffer in memory.
#[derive(Clone)]
pub struct FileBytes(Arc<dyn AsRef<[u8]> + Send + Sync>);

impl FileBytes {
    pub fn from_vec(v: Vec<u8>) -> FileBytes {
        FileBytes(Arc::new(v))
    }
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        (*self.0).as_ref()
    }
}

impl fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileBytes({} bytes)", self.len())
    }
}

/// Held while a process is the database's single writer; dropping it releases the lock.
pub type WriterLock = Box<dyn std::any::Any + Send + Sync>;

/// The file operations the storage engine is built on.
pub trait Backend: Send + Sync + fmt::Debug {
    /// Reads a whole file.
    fn read(&self, path: &str) -> Result<FileBytes>;
    /// Creates or replaces `path` with `data`. Not durable until [`Backend::sync`].
    fn write(&self, path: &str, data: &[u8]) -> Result<()>;
    /// Makes the contents of `path` durable.
    fn sync(&self, path: &str) -> Result<()>;
    /// Makes the entries of directory `dir` (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &str) -> Result<()>;
    /// Atomically replaces `to` with `from`.
    fn rename(&self, from: &str, to: &str) -> Result<()>;
    /// Removes a file; removing a missing file is not an error.
    fn remove(&self, path: &str) -> Result<()>;
    /// Removes an empty directory; a missing one is not an error.
    fn remove_dir(&self, dir: &str) -> Result<()>;
    /// The names of the entries in `dir` (files and directories), sorted; an empty
    /// list if `dir` does not exist.
    fn list(&self, dir: &str) -> Result<Vec<String>>;
    /// Creates `dir` and its parents.
    fn create_dir_all(&self, dir: &str) -> Result<()>;
    /// Takes the writer lock, failing with [`Error::Locked`] if another holder keeps it.
    fn lock_writer(&self) -> Result<WriterLock>;
    /// A human-readable location of `path`, for error messages.
    fn display_path(&self, path: &str) -> PathBuf;
}

/// Joins two relative paths with `/`.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The parent directory of a relative path (`""` for the root).
pub fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// The real filesystem under a root directory. Files are read through memory maps.
#[derive(Debug)]
pub struct FileBackend {
    root: PathBuf,
}

/// The name of the writer lock file in the database directory.
pub const LOCK_FILE: &str = "LOCK";

/// How long [`FileBackend::lock_writer`] keeps retrying a held lock before it reports
/// [`Error::Locked`].
const LOCK_PATIENCE: Duration = Duration::from_millis(250);
const LOCK_RETRY: Duration = Duration::from_millis(5);

impl FileBackend {
    /// A backend rooted at `root`, which must exist.
    pub fn new(root: impl Into<PathBuf>) -> FileBackend {
        FileBackend { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn full(&self, path: &str) -> PathBuf {
        if path.is_empty() {
            self.root.clone()
        } else {
            self.root.join(path)
        }
    }
}

impl Backend for FileBackend {
    fn read(&self, path: &str) -> Result<FileBytes> {
        let full = self.full(path);
        let file = File::open(&full).map_err(|e| Error::io(&full, e))?;
        let len = file.metadata().map_err(|e| Error::io(&full, e))?.len();
        if len == 0 {
            return Ok(FileBytes::from_vec(Vec::new()));
        }
        // SAFETY: logdb never modifies a file after it is renamed into place (segments
        // and manifests are immutable), so the mapped bytes do not change under us.
        // A file that is truncated by someone else could still fault on access; that
        // is outside the format's contract (see spec/durability.md).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(&full, e))?;
        Ok(FileBytes(Arc::new(map)))
    }

    fn write(&self, path: &str, data: &[u8]) -> Result<()> {
        let full = self.full(path);
        let mut f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&full)
            .map_err(|e| Error::io(&full, e))?;
        f.write_all(data).map_err(|e| Error::io(&full, e))
    }

    fn sync(&self, path: &str) -> Result<()> {
        let full = self.full(path);
        let f = OpenOptions::new()
            .write(true)
            .open(&full)
            .map_err(|e| Error::io(&full, e))?;
        f.sync_all().map_err(|e| Error::io(&full, e))
    }

    fn sync_dir(&self, dir: &str) -> Result<()> {
        let full = self.full(dir);
        let f = File::open(&full).map_err(|e| Error::io(&full, e))?;
        f.sync_all().map_err(|e| Error::io(&full, e))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (a, b) = (self.full(from), self.full(to));
        fs::rename(&a, &b).map_err(|e| Error::io(&a, e))
    }

    fn remove(&self, path: &str) -> Result<()> {
        let full = self.full(path);
        match fs::remove_file(&full) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&full, e)),
            _ => Ok(()),
        }
    }

    fn remove_dir(&self, dir: &str) -> Result<()> {
        let full = self.full(dir);
        match fs::remove_dir(&full) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&full, e)),
            _ => Ok(()),
        }
    }

    fn list(&self, dir: &str) -> Result<Vec<String>> {
        let full = self.full(dir);
        let entries = match fs::read_dir(&full) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&full, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&full, e))?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    fn create_dir_all(&self, dir: &str) -> Result<()> {
        let full = self.full(dir);
        fs::create_dir_all(&full).map_err(|e| Error::io(&full, e))
    }

    fn lock_writer(&self) -> Result<WriterLock> {
        let full = self.full(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&full)
            .map_err(|e| Error::io(&full, e))?;
        // A lock on an open file is shared with every child this process forks until
        // that child execs; a lock just released here can therefore look held for a
        // moment while another thread spawns a process. Retry briefly before reporting.
        let mut waited = Duration::ZERO;
        let locked = loop {
            match file.try_lock() {
                Err(fs::TryLockError::WouldBlock) if waited < LOCK_PATIENCE => {
                    std::thread::sleep(LOCK_RETRY);
                    waited += LOCK_RETRY;
                }
                other => break other,
            }
        };
        match locked {
            Ok(()) => {
                // Best effort: record who holds the lock, for the next writer's error.
                let _ = file.set_len(0);
                let _ = (&file).write_all(format!("pid {}\n", std::process::id()).as_bytes());
                Ok(Box::new(file))
            }
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&full).unwrap_or_default();
                let holder = holder.trim();
                Err(Error::Locked {
                    path: self.root.clone(),
                    detail: if holder.is_empty() {
                        "another process holds LOCK".into()
                    } else {
                        format!("held by {holder}")
                    },
                })
            }
            Err(fs::TryLockError::Error(e)) => Err(Error::io(&full, e)),
        }
    }

    fn display_path(&self, path: &str) -> PathBuf {
        self.full(path)
    }
}
