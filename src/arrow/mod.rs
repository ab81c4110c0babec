//! Parquet and Arrow through arrow-rs (the `arrow` cargo feature): logdb
//! columns as Arrow arrays and back (`convert.rs`), Parquet files written
//! (`parquet_write.rs`) and read row group by row group (`parquet_read.rs`, with
//! dictionary-encoded strings kept as dictionaries by `dictionary.rs`; the
//! decoder's panics on damaged files are caught quietly by `caught.rs`), and
//! Arrow IPC streams (`ipc.rs`). Nothing here knows SQL or the database: the
//! callers (COPY, `read_parquet`, `logdb export`, the shell's `-o arrow`) hand it
//! batches and paths.

mod caught;
pub mod convert;
pub mod dictionary;
pub mod ipc;
pub mod parquet_read;
pub mod parquet_write;

pub use convert::{arrow_schema, from_array, to_array, to_record_batch};
pub use dictionary::ReadColumn;
pub use parquet_read::{ColumnRange, ParquetFile, RecordBatches, RowGroupReader, RowTest};
pub use parquet_write::{ParquetCompression, ParquetOptions, ParquetWriter};

/// Re-exported so that users of the Rust API need no arrow crates of their own
/// in matching versions.
pub use arrow_array::RecordBatch;
pub use arrow_schema::{Schema as ArrowSchema, SchemaRef as ArrowSchemaRef};
