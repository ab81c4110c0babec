//! Segment files: open arbitrary bytes, then read every block, dictionary and index
//! bitmap and run `verify`. Only errors are allowed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| logdb_fuzz::check_segment(data));
