//! A SQL session: statements run against one [`Db`] with session settings
//! (`SET threads = n`, `SET memory_limit = '2GB'`).
//!
//! [`Db::query`] runs one statement in a fresh session; the shell keeps one session
//! for its lifetime so that `SET` sticks.

use super::statement::{self, Prepared, PreparedStatement};
use crate::column::Value;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::exec::stack::on_query_stack;
use crate::exec::{ExecOptions, QueryResult, QueryStream};

impl Db {
    /// Runs one SQL statement (`SELECT`, `EXPLAIN`, `CREATE TABLE`, `INSERT`, ...;
    /// see `spec/sql.md`) in a fresh [`Session`] with default settings; queries read
    /// the latest committed state.
    pub fn query(&self, sql: &str) -> Result<QueryResult> {
        Session::new(self.clone()).execute(sql)
    }

    /// Runs one SQL statement like [`Db::query`] and hands its result over batch
    /// by batch while it is produced: a `SELECT` whose plan is a scan with filters
    /// and a projection, or a join, streams (its rows are never all held); other
    /// plans run to completion first. See [`QueryStream`].
    ///
    /// ```
    /// # fn main() -> logdb::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let db = logdb::Db::open(dir.path())?;
    /// db.query("CREATE TABLE t (i BIGINT, s VARCHAR)")?;
    /// db.query("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, NULL)")?;
    /// let mut seen = 0;
    /// for chunk in db.query_stream("SELECT i, s FROM t WHERE i > 1")? {
    ///     for row in chunk?.iter() {
    ///         let (_i, _s): (i64, Option<&str>) = (row.get("i")?, row.get("s")?);
    ///         seen += 1;
    ///     }
    /// }
    /// assert_eq!(seen, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn query_stream(&self, sql: &str) -> Result<QueryStream> {
        Session::new(self.clone()).query_stream(sql)
    }

    /// Parses `sql` once into a statement with parameters (`$1`, `?`) that
    /// [`PreparedStatement::query`] runs with values, in a session with default
    /// settings.
    pub fn prepare(&self, sql: &str) -> Result<PreparedStatement> {
        Session::new(self.clone()).prepare(sql)
    }
}

/// A connection-like handle: a database plus the settings statements run with.
#[derive(Clone, Debug)]
pub struct Session {
    db: Db,
    options: ExecOptions,
    /// Statements prepared by SQL `PREPARE`.
    prepared: Prepared,
}

impl Session {
    /// A session with default settings.
    pub fn new(db: Db) -> Session {
        let options = ExecOptions {
            aggregate_cache_store: Some(db.extension()),
            ..ExecOptions::default()
        };
        Session {
            db,
            options,
            prepared: Prepared::default(),
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

    /// The notices of the statements run since the last call (lines a file
    /// reader rejected: how many, and where the first one is), oldest first.
    pub fn take_notices(&mut self) -> Vec<String> {
        self.options.notices.take()
    }

    /// Runs one SQL statement: a query, DDL, DML, or `SET`/`RESET` (which change
    /// this session's settings).
    pub fn execute(&mut self, sql: &str) -> Result<QueryResult> {
        let (db, options, prepared) = (&self.db, &mut self.options, &mut self.prepared);
        on_query_stack(sql.len(), move || {
            let statement = parse_without_params(sql)?;
            prepared.run(db, options, statement)
        })
    }

    /// Runs one SQL statement with this session's settings, handing its result
    /// over batch by batch ([`Db::query_stream`]). A `SELECT` runs on a thread of
    /// its own, against the snapshot current when this is called; any other
    /// statement runs here, and its (small) result is then handed over.
    pub fn query_stream(&mut self, sql: &str) -> Result<QueryStream> {
        let (db, options, prepared) = (&self.db, &mut self.options, &mut self.prepared);
        on_query_stack(sql.len(), move || {
            let statement = parse_without_params(sql)?;
            match statement::streamable_query(db, options, &statement)? {
                Some((snapshot, plan)) => QueryStream::start(snapshot, plan, options.clone()),
                None => {
                    let r = prepared.run(db, options, statement)?;
                    Ok(QueryStream::from_batches(r.columns, r.batches))
                }
            }
        })
    }

    /// Parses `sql` once into a statement with parameters (`$1`, `$2`, ... or `?`).
    /// The prepared statement runs with a copy of this session's current settings
    /// ([`PreparedStatement::query`]) or with the session's settings at run time
    /// ([`Session::execute_prepared`]). `SET` and `RESET` cannot be prepared.
    pub fn prepare(&self, sql: &str) -> Result<PreparedStatement> {
        let mut statement = super::parse_statement(sql)?;
        if let super::Statement::Other(s) = &statement {
            if matches!(
                s.as_ref(),
                sqlparser::ast::Statement::Set(_) | sqlparser::ast::Statement::Reset(_)
            ) {
                return Err(Error::InvalidInput(
                    "line 1, column 1: SET and RESET cannot be prepared; run them with \
                     Session::execute"
                        .into(),
                ));
            }
        }
        let params = statement::find_params(&mut statement)?;
        Ok(PreparedStatement {
            db: self.db.clone(),
            options: self.options.clone(),
            sql: sql.to_string(),
            statement,
            params,
        })
    }

    /// Runs a prepared statement with `params` and this session's settings.
    pub fn execute_prepared(
        &mut self,
        prepared: &PreparedStatement,
        params: &[Value],
    ) -> Result<QueryResult> {
        prepared.run(&mut self.options, params)
    }
}

/// Parses one statement, refusing parameters (they need a prepared statement).
fn parse_without_params(sql: &str) -> Result<super::Statement> {
    let mut statement = super::parse_statement(sql)?;
    let params = statement::find_params(&mut statement)?;
    if params.count() > 0 {
        return Err(Error::InvalidInput(format!(
            "line 1, column 1: the statement has {} parameter(s); prepare it \
             (Db::prepare, Session::prepare) and pass their values",
            params.count()
        )));
    }
    Ok(statement)
}
