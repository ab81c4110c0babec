//! Views and schema-qualified names in FROM. A view is read by binding its
//! stored query in place of a table (with no access to the reading query's
//! CTEs or columns), its column names given by the view's column list.

use sqlparser::ast;

use super::Binder;
use crate::error::Result;
use crate::plan::LogicalPlan;

/// How deep views may read views (a view that reads itself stops here).
const MAX_VIEW_DEPTH: usize = 32;

/// The table name of `name` when it is unqualified or qualified by the one
/// schema: `t`, `main.t`, `memory.main.t` (DuckDB's in-memory catalog) or
/// `logdb.main.t` (the catalog name logdb reports).
pub(crate) fn unqualified(name: &ast::ObjectName) -> Option<&ast::Ident> {
    let ids: Vec<&ast::Ident> = name.0.iter().map(|p| p.as_ident()).collect::<Option<_>>()?;
    let is = |id: &ast::Ident, what: &str| id.value.eq_ignore_ascii_case(what);
    match ids.as_slice() {
        [t] => Some(t),
        [s, t] if is(s, "main") => Some(t),
        [c, s, t] if is(s, "main") && (is(c, "memory") || is(c, super::catalog::CATALOG)) => {
            Some(t)
        }
        _ => None,
    }
}

impl Binder<'_> {
    /// The plan of view `id`, or `None` when no view has that name.
    pub(super) fn view(&self, id: &ast::Ident) -> Result<Option<LogicalPlan>> {
        let views = &self.snapshot.manifest().views;
        let Some(view) = views.get(&id.value).or_else(|| {
            views
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&id.value))
                .map(|(_, v)| v)
        }) else {
            return Ok(None);
        };
        if self.view_depth >= MAX_VIEW_DEPTH {
            return Err(self.err(
                id.span,
                format!(
                    "views nest more than {MAX_VIEW_DEPTH} deep at '{}' (does a view read itself?)",
                    id.value
                ),
            ));
        }
        let query = crate::sql::parse(&view.sql).map_err(|e| {
            self.err(
                id.span,
                format!("the query of view '{}' does not parse: {e}", id.value),
            )
        })?;
        let mut b = self.child(false);
        b.ctes.clear();
        b.outer.clear();
        b.params = Default::default();
        b.view_depth = self.view_depth + 1;
        b.fallback = id.span;
        let plan = b.query(&query).map_err(|e| match e {
            crate::error::Error::InvalidInput(m) => {
                self.err(id.span, format!("in view '{}': {m}", id.value))
            }
            other => other,
        })?;
        let width = plan.schema().len();
        if view.columns.len() > width {
            return Err(self.err(
                id.span,
                format!(
                    "view '{}' names {} columns but its query now has {width}",
                    id.value,
                    view.columns.len()
                ),
            ));
        }
        Ok(Some(super::from::rename(plan, &view.columns)))
    }
}
