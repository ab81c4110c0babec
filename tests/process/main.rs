//! Process-level tests: the `logdb` binary run as a user or an operator would
//! (`cargo test --test process`): subcommands, the shell over pipes and a
//! pseudo-terminal, `import --follow`, format detection and records tables,
//! concurrent readers, kill -9, and `logdb serve` with its dashboard in a
//! headless browser.

mod cli;
mod concurrency;
mod copy;
mod devtools;
mod follow;
mod formats;
mod kill9;
mod memory;
#[cfg(feature = "arrow")]
mod parquet;
mod serve;
mod shell;
mod shell_pty;
mod views;
