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
//! - [`storage`]: segments, manifests, encodings and the [`storage::backend::Backend`]
//!   seam; [`ingest`]: log-format parsers; [`import`]: the parallel import pipeline.

pub mod column;
pub mod db;
pub mod error;
pub mod exec;
pub mod import;
pub mod index;
pub mod ingest;
pub mod ip;
pub mod plan;
pub mod schema;
pub mod sql;
pub mod storage;
pub mod time;
pub mod value;

pub use column::{Batch, BatchBuilder, Bitmap, Column, ColumnData, StringVec, Value};
pub use db::{Db, DbBuilder, DbOptions, ScanOptions, Snapshot};
pub use error::{Error, Result};
pub use exec::QueryResult;
pub use schema::{DataType, Field, PhysicalType, TableSchema};
