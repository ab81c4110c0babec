//! The crate's error type.
//!
//! Errors are split by who has to act on them: the user (bad input, a missing table),
//! the data on disk (corruption, an incompatible format), the environment (I/O, a
//! locked database, exhausted resources), or the developers (`Internal`: a broken
//! invariant, always a bug).

use std::path::PathBuf;

/// The result type used throughout logdb.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in logdb.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O error on a named file. The OS message is part of
    /// this error's text and deliberately not also its `source()`: printers that
    /// walk the chain (anyhow's `{:#}`) would print it twice. Match the variant to
    /// reach the `std::io::Error`.
    #[error("I/O error on {}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },

    /// A file's bytes do not match what its checksums, magic or structure promise.
    #[error("corrupt file {}: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },

    /// A file was written by a format version this build cannot read.
    #[error("incompatible format in {}: file is v{found}, this build reads up to v{supported}", path.display())]
    IncompatibleVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    /// Another process holds the database's writer lock.
    #[error("database {} is locked by another writer ({detail})", path.display())]
    Locked { path: PathBuf, detail: String },

    /// A request that does not fit the database's schema or state (unknown table,
    /// wrong column types, a bad option).
    #[error("{0}")]
    InvalidInput(String),

    /// A named object does not exist.
    #[error("{0}")]
    NotFound(String),

    /// A memory, disk or similar limit was reached.
    #[error("resources exhausted: {0}")]
    ResourcesExhausted(String),

    /// The query was cancelled (`ExecOptions::cancel`, Ctrl-C in the shell).
    #[error("query cancelled")]
    Cancelled,

    /// A broken internal invariant: always a bug in logdb.
    #[error("internal error (a bug in logdb, please report it): {0}")]
    Internal(String),
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error,
        }
    }

    /// A corruption error naming the file.
    pub fn corrupt(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.into(),
            detail: detail.into(),
        }
    }

    /// Whether this error means the bytes on disk are damaged.
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            Error::Corrupt { .. } | Error::IncompatibleVersion { .. }
        )
    }
}

/// Shorthand for returning an [`Error::InvalidInput`] built with `format!`.
#[macro_export]
macro_rules! invalid {
    ($($arg:tt)*) => {
        $crate::error::Error::InvalidInput(format!($($arg)*))
    };
}
