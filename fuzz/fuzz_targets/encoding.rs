//! Every block decoder on arbitrary bytes with a bounded row count. Only errors are
//! allowed, and a successful decode yields exactly the requested number of values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| logdb_fuzz::check_encoding(data));
