//! In-process integration tests: the library's public API, one binary for all of them
//! (`cargo test --test library`). Each module is one area; `common` holds the shared
//! fixtures (log-like tables, a small PRNG) and the run-and-assert helpers.

mod common;

mod aggregate_cache;
mod architecture;
mod cancel;
mod corruption;
mod crash;
mod encoding_props;
mod fuzz_regressions;
mod golden;
mod hostile;
mod import;
mod io_faults;
mod lookup_cache;
mod mem_backend;
mod memory;
#[cfg(feature = "arrow")]
mod parquet;
mod parsers_jsonl_csv;
mod parsers_real;
mod physical_plan;
mod pragma;
mod read_files;
mod resources;
mod slt;
mod sql;
mod sql_index;
mod statements;
mod storage;
mod stream;
mod topn_agg;
mod window;
