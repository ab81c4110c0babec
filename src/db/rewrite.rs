//! Rewriting a plain table (one without a time column) whole: SQL `UPDATE`, and
//! `DELETE` with a condition, compute the table's new rows from a snapshot and
//! hand them here. The new rows replace the old ones in one commit, so after a
//! crash the table holds either all old rows or all new ones.

use super::{AppendStats, Db};
use crate::column::Batch;
use crate::error::{Error, Result};
use crate::storage::manifest::TableEntry;
use crate::storage::Snapshot;

/// The segment files of a table, in manifest order.
fn segment_files(t: &TableEntry) -> Vec<&str> {
    t.partitions
        .iter()
        .flat_map(|p| p.segments.iter().map(|s| s.file.as_str()))
        .collect()
}

impl Db {
    /// Replaces every row of plain table `table` by `rows`, in one commit. `read`
    /// is the snapshot the rows were computed from: when the table changed since
    /// (another write committed in between), nothing is written and the call
    /// fails, so no concurrent write is lost. Schema, options and import
    /// checkpoints stay as they are.
    pub fn replace_table_rows(
        &self,
        read: &Snapshot,
        table: &str,
        rows: &Batch,
    ) -> Result<AppendStats> {
        let _g = self.write_guard()?;
        let mut txn = self.begin()?;
        let key = txn.manifest.table_key(table)?;
        let t = &txn.manifest.tables[&key];
        if t.schema.time_index().is_some() {
            return Err(Error::InvalidInput(format!(
                "table '{key}' is a log table; its rows are replaced a partition at a time"
            )));
        }
        let before = read.manifest().tables.get(&key).map(segment_files);
        if before.as_deref() != Some(segment_files(t).as_slice())
            || read.manifest().tables[&key].schema != t.schema
        {
            return Err(Error::InvalidInput(format!(
                "table '{key}' changed while the statement ran; nothing was written, run it again"
            )));
        }
        rows.validate(&t.schema)?;
        let t = txn
            .manifest
            .tables
            .get_mut(&key)
            .ok_or_else(|| Error::Internal("table vanished".into()))?;
        let removed: Vec<String> = t
            .partitions
            .drain(..)
            .flat_map(|p| p.segments.into_iter().map(|s| s.file))
            .collect();
        txn.removed = removed;
        let mut stats = self.add_rows(&mut txn, &key, rows)?;
        stats.generation = self.commit(txn)?;
        Ok(stats)
    }
}
