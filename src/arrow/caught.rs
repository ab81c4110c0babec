//! arrow-rs code run with its panics caught, and caught quietly. A damaged
//! Parquet file can make the decoder panic (a negative length in the footer,
//! an impossible page); `parquet_read.rs` turns that into an error naming the
//! file. `catch_unwind` alone would still let Rust's default panic hook print
//! "thread 'read-parquet' panicked at ..." to stderr before the clean error.
//!
//! [`catch`] therefore marks the running thread (a thread-local flag) while it
//! runs the closure, and the first call installs, once for the process, a panic
//! hook that says nothing for a panic on a marked thread and hands every other
//! panic to the hook it replaced (the default one, or the program's own), so
//! panics elsewhere are reported as before. A program that sets its own hook
//! later replaces this one: caught panics are then printed by its hook, and
//! still caught.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// This thread is inside [`catch`]: its panics are expected.
    static EXPECTED: Cell<bool> = const { Cell::new(false) };
}

static QUIET_HOOK: Once = Once::new();

/// Runs `f`; a panic in it is returned as its message, without a word on
/// stderr.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !EXPECTED.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let outer = EXPECTED.with(|e| e.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    EXPECTED.with(|e| e.set(outer));
    result.map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_is_an_error_and_the_flag_is_cleared() {
        assert_eq!(catch(|| 7), Ok(7));
        let e = catch(|| -> u32 { panic!("bad page {}", 3) });
        assert_eq!(e, Err("bad page 3".to_string()));
        let e = catch(|| -> u32 { std::panic::panic_any(5u8) });
        assert_eq!(e, Err("no message".to_string()));
        // Nested: the inner call leaves the outer one's mark.
        let r = catch(|| {
            let inner = catch(|| -> u32 { panic!("inner") });
            assert!(EXPECTED.with(Cell::get));
            inner
        });
        assert_eq!(r, Ok(Err("inner".to_string())));
        assert!(!EXPECTED.with(Cell::get));
    }
}
