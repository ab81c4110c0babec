//! logdb: an embedded columnar analytics database for web and access logs.

pub mod column;
pub mod db;
pub mod error;
pub mod ingest;
pub mod ip;
pub mod schema;
pub mod storage;
pub mod time;

pub use column::{Batch, BatchBuilder, Bitmap, Column, ColumnData, StringVec, Value};
pub use db::{Db, DbBuilder, DbOptions, ScanOptions, Snapshot};
pub use error::{Error, Result};
pub use schema::{DataType, Field, PhysicalType, TableSchema};
