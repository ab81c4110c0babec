//! Stacks deep enough for any statement logdb accepts.
//!
//! Parsing, binding, planning and evaluating recurse over expression trees, which a
//! statement can make up to [`crate::sql::MAX_EXPRESSION_DEPTH`] deep (flat chains of
//! operators included). A long statement therefore runs on a thread with a large
//! stack, and so do the executor's worker threads; the stack is reserved address
//! space, touched only as deep as the recursion goes.

use crate::error::{Error, Result};

/// The stack of a statement's thread and of the executor's workers.
pub const QUERY_STACK: usize = 1 << 30;

/// The stack tried where the system will not reserve [`QUERY_STACK`] (strict
/// overcommit): still deep enough for the limit's worth of nesting.
pub const FALLBACK_STACK: usize = QUERY_STACK / 16;

/// Statements at least this long (in bytes) run on a [`QUERY_STACK`] thread: below
/// it, no expression can nest deeper than a caller's ordinary stack allows (every
/// level costs at least one character).
pub const LONG_STATEMENT: usize = 256;

/// Runs `f` on a thread with a [`QUERY_STACK`] stack, or on this thread when `len`
/// (the statement's length) is below [`LONG_STATEMENT`]. Where the system will not
/// reserve that much (strict overcommit), a smaller stack is tried, then this thread.
pub fn on_query_stack<T: Send>(len: usize, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    if len < LONG_STATEMENT {
        return f();
    }
    let f = std::sync::Mutex::new(Some(f));
    let take = || f.lock().ok().and_then(|mut f| f.take());
    for size in [QUERY_STACK, FALLBACK_STACK] {
        let ran = std::thread::scope(|scope| {
            let handle = std::thread::Builder::new()
                .name("logdb-statement".into())
                .stack_size(size)
                .spawn_scoped(scope, || take().map(|f| f()))
                .ok()?;
            Some(
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            )
        });
        if let Some(Some(result)) = ran {
            return result;
        }
    }
    match take() {
        Some(f) => f(),
        None => Err(Error::Internal(
            "a statement thread ended without running".into(),
        )),
    }
}
