//! A SQL session: statements run against one [`Db`] with session settings
//! (`SET threads = n`, `SET memory_limit = '2GB'`).
//!
//! [`Db::query`] runs one statement in a fresh session; the shell keeps one session
//! for its lifetime so that `SET` sticks.

use crate::db::Db;
use crate::error::Result;
use crate::exec::{ExecOptions, QueryResult};

/// A connection-like handle: a database plus the settings statements run with.
#[derive(Clone, Debug)]
pub struct Session {
    db: Db,
    options: ExecOptions,
}

impl Session {
    /// A session with default settings.
    pub fn new(db: Db) -> Session {
        Session {
            db,
            options: ExecOptions::default(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The settings statements run with.
    pub fn options(&self) -> &ExecOptions {
        &self.options
    }

    /// Mutable settings (e.g. to install a cancel flag or progress counters).
    pub fn options_mut(&mut self) -> &mut ExecOptions {
        &mut self.options
    }

    /// Runs one SQL statement.
    pub fn execute(&mut self, sql: &str) -> Result<QueryResult> {
        let snapshot = self.db.snapshot()?;
        super::explain::query(&snapshot, sql, &self.options)
    }
}
