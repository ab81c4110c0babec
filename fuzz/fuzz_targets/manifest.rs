//! Manifest files: decode arbitrary bytes. Only errors are allowed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| logdb_fuzz::check_manifest(data));
