//! The `tsv` log parser on arbitrary bytes: every line is stored or rejected, and the
//! finished batch fits the parser's schema.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| logdb_fuzz::check_parser("tsv", data));
