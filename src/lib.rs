#![doc = include_str!("../README.md")]
//!
//! # Core concepts
//!
//! - [`Db`]: a database directory; opened through [`Db::builder`]. One writer process
//!   at a time, any number of readers.
//! - [`TableSchema`]: typed, nullable columns ([`DataType`]); a log table names its
//!   time column (partitioning, ordering) and its bitmap-indexed columns.
//! - [`Batch`] / [`BatchBuilder`]: columns in memory, appended with [`Db::append`] as
//!   one durable commit.
//! - [`Snapshot`]: a consistent view at one commit: [`Snapshot::scan`] reads chosen
//!   columns block by block with time pruning, [`Snapshot::lookup`] finds rows through
//!   an index, [`Snapshot::value_counts`] counts per value from the index alone.
//! - [`Db::query`] runs SQL into a [`QueryResult`] (rows with typed getters,
//!   [`Row::get`]); [`Db::query_stream`] hands a result over batch by batch
//!   ([`QueryStream`]); [`Session`] keeps settings (`SET memory_limit`) across
//!   statements; [`Db::prepare`] makes a [`PreparedStatement`] with parameters.
//! - [`import()`] reads log files ([`Source`], [`ImportOptions`]) on every core;
//!   [`Appender`] parses lines pushed from memory.
//! - [`prelude`]: all of the above in one `use`.
//! - [`storage`]: segments, manifests, encodings and the [`storage::backend::Backend`]
//!   seam; [`ingest`]: log-format parsers; [`mod@import`]: the parallel import
//!   pipeline.

#[cfg(feature = "arrow")]
pub mod arrow;
#[cfg(feature = "arrow")]
pub mod arrow_import;
pub mod column;
pub mod db;
pub mod decimal;
pub mod error;
pub mod exec;
#[cfg(feature = "arrow")]
pub mod export;
pub mod http;
pub mod import;
pub mod index;
pub mod ingest;
pub mod interval;
pub mod ip;
pub mod list;
pub mod plan;
pub mod schema;
pub mod sql;
pub mod storage;
pub mod time;
pub mod time_units;
pub mod value;

pub use column::{Batch, BatchBuilder, Bitmap, Column, ColumnData, ListVec, StringVec, Value};
pub use db::{Db, DbBuilder, DbOptions, ScanOptions, Snapshot};
pub use error::{Error, Result};
pub use exec::{ExecOptions, FromValue, QueryResult, QueryStream, Row, Rows};
pub use import::{import, Appender, ImportObserver, ImportOptions, ImportStats, Quiet, Source};
pub use ingest::ParserOptions;
pub use schema::{DataType, Field, PhysicalType, TableSchema};
pub use sql::{PreparedStatement, Session};

/// What a program using logdb needs, in one import: `use logdb::prelude::*;`
/// (the database handle, schemas and batches, SQL sessions and results, and the
/// import pipeline). Errors are [`crate::Error`] and [`crate::Result`], left out
/// so that `Result` keeps meaning the standard one.
///
/// ```
/// use logdb::prelude::*;
///
/// # fn main() -> logdb::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let db = Db::open(dir.path())?;
/// let mut app = Appender::new(&db, "logs", "combined", &Default::default())?;
/// app.push(b"10.0.0.1 - - [01/May/2024:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl/8\"\n")?;
/// app.flush()?;
/// let mut session = Session::new(db.clone());
/// session.execute("SET threads = 1")?;
/// for chunk in session.query_stream("SELECT ts, uri FROM logs")? {
///     let chunk: QueryResult = chunk?;
///     let row: Row = chunk.iter().next().unwrap();
///     assert_eq!(row.get::<String>("ts")?, "2024-05-01 10:00:00");
/// }
/// # Ok(())
/// # }
/// ```
pub mod prelude {
    pub use crate::{
        import, Appender, Batch, BatchBuilder, DataType, Db, Field, ImportOptions,
        PreparedStatement, QueryResult, QueryStream, Quiet, Row, ScanOptions, Session, Snapshot,
        Source, TableSchema, Value,
    };
}
