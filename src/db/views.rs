//! Views in the catalog: created, replaced and dropped as one commit each, like
//! tables. A view is stored as its query's SQL text; the SQL layer binds it
//! wherever the view is read.

use super::Db;
use crate::error::{Error, Result};
use crate::storage::manifest::ViewEntry;

impl Db {
    /// Creates view `name` (or, with `replace`, replaces a view of that name).
    /// A table of that name is an error.
    pub fn create_view(&self, name: &str, view: ViewEntry, replace: bool) -> Result<()> {
        crate::schema::validate_table_name(name)?;
        let _g = self.write_guard()?;
        let mut txn = self.begin()?;
        let m = &mut txn.manifest;
        if m.tables.keys().any(|t| t.eq_ignore_ascii_case(name)) {
            return Err(Error::InvalidInput(format!(
                "Catalog Error: a table named '{name}' already exists"
            )));
        }
        let old = m
            .views
            .keys()
            .find(|v| v.eq_ignore_ascii_case(name))
            .cloned();
        if let Some(old) = old {
            if !replace {
                return Err(Error::InvalidInput(format!(
                    "Catalog Error: view '{name}' already exists"
                )));
            }
            m.views.remove(&old);
        }
        m.views.insert(name.to_string(), view);
        self.commit(txn)?;
        Ok(())
    }

    /// Drops view `name` (any case); `false` when there is none.
    pub fn drop_view(&self, name: &str) -> Result<bool> {
        let _g = self.write_guard()?;
        let mut txn = self.begin()?;
        let key = txn
            .manifest
            .views
            .keys()
            .find(|v| v.eq_ignore_ascii_case(name))
            .cloned();
        let Some(key) = key else {
            return Ok(false);
        };
        txn.manifest.views.remove(&key);
        self.commit(txn)?;
        Ok(true)
    }

    /// The names of the views, sorted.
    pub fn view_names(&self) -> Result<Vec<String>> {
        Ok(self.snapshot()?.manifest().views.keys().cloned().collect())
    }
}
