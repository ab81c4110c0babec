//! SQL text: parse, plan and execute against a small in-memory database; results
//! must not depend on index use, and no error may be internal (see src/sql.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| logdb_fuzz::check_sql(data));
