//! An HTTP request as bytes: request line, headers and body through logdb's HTTP
//! query protocol (`logdb::http`), and the statement run as a read-only
//! `logdb serve` runs it (see src/http.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| logdb_fuzz::check_http_request(data));
