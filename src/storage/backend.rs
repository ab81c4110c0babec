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
//!
//! Segment files are read in parts ([`Backend::open_read`], [`ReadFile`]): positioned
//! reads into buffers the reader owns, so that opening a segment and answering from
//! its metadata, dictionaries and indexes maps nothing into the process.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::ops::Deref;
use std::os::unix::fs::FileExt;
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

/// A file open for reading at positions (segment files): every read copies the bytes
/// asked for into the caller's buffer (`pread`), so reading parts of a file maps
/// nothing into the process and holds no more of it than the caller keeps. The open
/// file stays readable after it is renamed or removed (a retired segment of a
/// snapshot still in use).
///
/// Each such file holds a descriptor. Once the process holds half of its limit of
/// open files (a snapshot over thousands of segments), files are memory-mapped
/// instead and their descriptors closed: a map holds none, so a query over more
/// segments than the limit still runs.
pub struct ReadFile {
    source: Source,
    len: u64,
    display: PathBuf,
}

enum Source {
    /// A real file, read with `pread`.
    File(File),
    /// A real file mapped whole, its descriptor closed (descriptors ran short).
    Map(memmap2::Mmap),
    /// Bytes already in memory (the in-memory backend, tests, fuzzing).
    Bytes(FileBytes),
}

impl ReadFile {
    /// A file over bytes already in memory; `display` names it in errors.
    pub fn from_bytes(bytes: FileBytes, display: PathBuf) -> ReadFile {
        ReadFile {
            len: bytes.len() as u64,
            source: Source::Bytes(bytes),
            display,
        }
    }

    /// Opens the real file `path` for positioned reads; its length is taken now.
    pub fn open(path: &Path) -> Result<ReadFile> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let map = descriptors_short(&file);
        ReadFile::with_file(path, file, map)
    }

    /// [`ReadFile::open`], mapping the file (and closing its descriptor) if `map`.
    pub fn with_file(path: &Path, file: File, map: bool) -> Result<ReadFile> {
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let source = if map && len > 0 {
            // SAFETY: logdb never modifies a file after it is renamed into place
            // (segments are immutable), so the mapped bytes do not change under us.
            // A file truncated by someone else could still fault on access; that is
            // outside the format's contract (see spec/durability.md).
            let m = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
            Source::Map(m)
        } else {
            Source::File(file)
        };
        Ok(ReadFile {
            source,
            len,
            display: path.to_path_buf(),
        })
    }

    /// Whether the file is memory-mapped (see [`ReadFile`]).
    pub fn is_mapped(&self) -> bool {
        matches!(self.source, Source::Map(_))
    }

    /// The file's length when it was opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills `buf` with the bytes at `offset`. A range past the end, an I/O error or
    /// a file that shrank since it was opened is an error naming the file.
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.check_range(offset, buf.len())?;
        match &self.source {
            Source::File(file) => file.read_exact_at(buf, offset).map_err(|e| {
                if e.kind() == ErrorKind::UnexpectedEof {
                    Error::corrupt(
                        self.display.clone(),
                        format!(
                            "short read of {} bytes at offset {offset}: the file is shorter \
                             than the {} bytes it had when opened (truncated?)",
                            buf.len(),
                            self.len
                        ),
                    )
                } else {
                    Error::io(&self.display, e)
                }
            }),
            Source::Map(m) => {
                copy_at(m, offset, buf);
                Ok(())
            }
            Source::Bytes(b) => {
                copy_at(b, offset, buf);
                Ok(())
            }
        }
    }

    /// Reads `len` bytes at `offset` into `buf`, replacing its contents. The
    /// allocation is reused and only grown bytes are zeroed first, so a reader that
    /// keeps `buf` pays one copy per read.
    pub fn read_into(&self, offset: u64, len: usize, buf: &mut Vec<u8>) -> Result<()> {
        self.check_range(offset, len)?;
        if buf.len() < len {
            buf.resize(len, 0);
        } else {
            buf.truncate(len);
        }
        self.read_exact_at(offset, buf)
    }

    fn check_range(&self, offset: u64, len: usize) -> Result<()> {
        if offset
            .checked_add(len as u64)
            .is_none_or(|end| end > self.len)
        {
            return Err(Error::corrupt(
                self.display.clone(),
                format!(
                    "read of {len} bytes at offset {offset} lies outside the file of {} bytes",
                    self.len
                ),
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for ReadFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ReadFile({}, {} bytes)",
            self.display.display(),
            self.len
        )
    }
}

/// Copies the bytes of `src` at `offset` (checked to lie inside) into `buf`.
fn copy_at(src: &[u8], offset: u64, buf: &mut [u8]) {
    let at = offset as usize;
    buf.copy_from_slice(&src[at..at + buf.len()]);
}

/// Whether this process holds half of its limit of open files or more, judged by
/// `file`'s descriptor: a new descriptor is the lowest free one, so every number
/// below it is open.
fn descriptors_short(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    static LIMIT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let limit = *LIMIT.get_or_init(|| {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the struct owned here.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return 1024;
        }
        lim.rlim_cur
    });
    u64::try_from(file.as_raw_fd()).is_ok_and(|fd| fd >= limit / 2)
}

/// Held while a process is the database's single writer; dropping it releases the lock.
pub type WriterLock = Box<dyn std::any::Any + Send + Sync>;

/// The file operations the storage engine is built on.
pub trait Backend: Send + Sync + fmt::Debug {
    /// Reads a whole file.
    fn read(&self, path: &str) -> Result<FileBytes>;
    /// Opens a file for positioned reads of its parts (segment files). The default
    /// serves the bytes of [`Backend::read`].
    fn open_read(&self, path: &str) -> Result<ReadFile> {
        Ok(ReadFile::from_bytes(
            self.read(path)?,
            self.display_path(path),
        ))
    }
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

/// The real filesystem under a root directory. Segment files are read in parts with
/// positioned reads ([`ReadFile`]); whole-file reads (manifests) are memory maps.
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
    fn open_read(&self, path: &str) -> Result<ReadFile> {
        ReadFile::open(&self.full(path))
    }

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
