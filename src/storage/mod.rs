//! The storage engine: backends, encodings, segments, manifests and commits.

pub mod backend;
pub mod cache;
pub mod check;
pub mod commit;
pub mod encoding;
pub mod manifest;
pub mod mem;
pub(crate) mod parallel;
pub mod segment;
pub mod snapshot;
pub mod wire;

pub use snapshot::{ColumnSize, PartitionInfo, ScanOptions, SegmentInfo, Snapshot, TableInfo};
